// The stream's blocks and their entry encoding (stream.hpp). One entry in a block's bytes:
//   u8 flags (kDeleted, kSameFields) | varint ms - first.ms | varint seq delta | [varint nfields,
//   (str field, str value) x n]  or, with kSameFields, (str value) x master fields
// where str is a varint length and the bytes, and the seq delta is seq - first.seq when the ms
// equal the block's first id's, else seq itself (so it is never negative). The flags byte has a
// fixed size, so a deletion flips it in place.
#include "db/stream/stream.hpp"

#include <atomic>
#include <charconv>
#include <cstring>

#include "db/log_records.hpp"

namespace lfdb::db::stream {
namespace {

constexpr std::uint8_t kDeleted = 1, kSameFields = 2;

void put_varint(std::string& out, std::uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

void put_str(std::string& out, std::string_view s) {
  put_varint(out, s.size());
  out.append(s);
}

char* store_varint(char* p, std::uint64_t v) {
  while (v >= 0x80) {
    *p++ = static_cast<char>((v & 0x7F) | 0x80);
    v >>= 7;
  }
  *p++ = static_cast<char>(v);
  return p;
}

char* store_str(char* p, std::string_view s) {
  p = store_varint(p, s.size());
  if (!s.empty()) std::memcpy(p, s.data(), s.size());
  return p + s.size();
}

// A bounds-checked reader over bytes: every read fails rather than run past the end.
struct Reader {
  std::string_view b;
  std::size_t pos = 0;
  bool varint(std::uint64_t& v) {
    v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos >= b.size()) return false;
      const auto c = static_cast<std::uint8_t>(b[pos++]);
      v |= static_cast<std::uint64_t>(c & 0x7F) << shift;
      if ((c & 0x80) == 0) return shift < 63 || c <= 1;
    }
    return false;
  }
  bool str(std::string_view& s) {
    std::uint64_t n = 0;
    if (!varint(n) || n > b.size() - pos) return false;
    s = b.substr(pos, n);
    pos += n;
    return true;
  }
  bool u8(std::uint8_t& v) {
    if (pos >= b.size()) return false;
    v = static_cast<std::uint8_t>(b[pos++]);
    return true;
  }
  bool done() const { return pos == b.size(); }
};

}  // namespace

bool StreamId::incr() {
  if (seq != ~std::uint64_t{0}) {
    ++seq;
    return true;
  }
  if (ms == ~std::uint64_t{0}) return false;
  ++ms;
  seq = 0;
  return true;
}

bool StreamId::decr() {
  if (seq != 0) {
    --seq;
    return true;
  }
  if (ms == 0) return false;
  --ms;
  seq = ~std::uint64_t{0};
  return true;
}

std::string_view StreamId::text(Text& buf) const {
  auto r = std::to_chars(buf.data(), buf.data() + 24, ms);
  *r.ptr++ = '-';
  r = std::to_chars(r.ptr, buf.data() + buf.size(), seq);
  return {buf.data(), static_cast<std::size_t>(r.ptr - buf.data())};
}

namespace {
// string2ull: digits only, no sign, no leading spaces, fits 64 bits.
bool parse_u64(std::string_view s, std::uint64_t& v) {
  if (s.empty() || s.size() > 20) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}
}  // namespace

bool parse_id(std::string_view s, StreamId& id, std::uint64_t missing_seq, bool strict,
              bool* seq_given) {
  if (s.size() > 127) return false;
  if (strict && (s == "-" || s == "+")) return false;
  if (seq_given != nullptr) *seq_given = true;
  if (s == "-") {
    id = StreamId{};
    return true;
  }
  if (s == "+") {
    id = StreamId::max();
    return true;
  }
  const std::size_t dash = s.find('-');
  std::uint64_t ms = 0, seq = missing_seq;
  if (!parse_u64(s.substr(0, dash), ms)) return false;
  if (dash != std::string_view::npos) {
    const std::string_view tail = s.substr(dash + 1);
    if (seq_given != nullptr && tail == "*") {
      seq = 0;
      *seq_given = false;
    } else if (!parse_u64(tail, seq)) {
      return false;
    }
  }
  id = StreamId{ms, seq};
  return true;
}

// ---- groups ----

Consumer* Group::find_consumer(std::string_view name) {
  auto it = consumers.find(name);
  return it == consumers.end() ? nullptr : it->second.get();
}

Consumer* Group::create_consumer(std::string_view name, std::int64_t now_ms) {
  if (consumers.find(name) != consumers.end()) return nullptr;
  auto c = std::make_unique<Consumer>();
  c->name.assign(name);
  c->seen_time = now_ms;
  Consumer* raw = c.get();
  consumers.emplace(std::string(name), std::move(c));
  return raw;
}

void Group::ack(std::map<StreamId, Nack>::iterator it) {
  if (it->second.consumer != nullptr) it->second.consumer->pel.erase(it->first);
  pel.erase(it);
}

std::size_t Group::delete_consumer(std::string_view name) {
  auto it = consumers.find(name);
  if (it == consumers.end()) return 0;
  const std::size_t n = it->second->pel.size();
  for (const StreamId& id : it->second->pel) pel.erase(id);
  consumers.erase(it);
  return n;
}

// ---- blocks ----

// One entry's header as decoded in place: where it starts and ends, its flags and id, and its
// pairs (values only when it has the block's master fields).
struct Stream::Decoded {
  const char* at = nullptr;   // the flags byte
  const char* body = nullptr; // the pairs
  const char* end = nullptr;  // the next entry
  std::uint8_t flags = 0;
  std::uint32_t pairs = 0;
  StreamId id;

  bool live() const { return (flags & kDeleted) == 0; }
};

struct Stream::Block {
  StreamId first;
  std::uint32_t live = 0;
  std::uint32_t deleted = 0;
  std::string master;  // the master field names: str x n
  std::uint32_t master_count = 0;
  std::string data;    // the entries

  std::uint32_t total() const { return live + deleted; }
  const char* begin() const { return data.data(); }
  const char* end() const { return data.data() + data.size(); }

  // Decodes the entry at p into d; returns where the next one starts. The block's bytes were
  // written by add() or checked by the snapshot decoder, so the reads need no bounds checks.
  const char* decode(const char* p, Decoded& d) const {
    d.at = p;
    d.flags = static_cast<std::uint8_t>(*p++);
    const std::uint64_t dms = load_varint(p);
    const std::uint64_t dseq = load_varint(p);
    d.id.ms = first.ms + dms;
    d.id.seq = dms == 0 ? first.seq + dseq : dseq;
    const bool same = (d.flags & kSameFields) != 0;
    d.pairs = same ? master_count : static_cast<std::uint32_t>(load_varint(p));
    d.body = p;
    for (std::uint32_t i = 0; i < d.pairs; ++i) {
      if (!same) p += load_varint(p);  // the name
      p += load_varint(p);             // the value
    }
    d.end = p;
    return p;
  }

  EntryRef ref(const Decoded& d) const {
    EntryRef e;
    e.id = d.id;
    e.pairs = d.pairs;
    if ((d.flags & kSameFields) != 0) {
      e.names = master.data();
      e.names_size = master.size();
    }
    e.body = d.body;
    e.body_size = static_cast<std::size_t>(d.end - d.body);
    return e;
  }

  // The start of every entry (deleted ones too), for reverse walks.
  void offsets(std::vector<const char*>& out) const {
    out.clear();
    out.reserve(total());
    Decoded d;
    for (const char* p = begin(); p < end();) {
      out.push_back(p);
      p = decode(p, d);
    }
  }

  StreamId last_id() const {
    Decoded d;
    d.id = first;
    for (const char* p = begin(); p < end();) p = decode(p, d);
    return d.id;
  }

  bool same_as_master(std::span<const std::string_view> fields) const {
    if (fields.size() / 2 != master_count) return false;
    const char* m = master.data();
    for (std::size_t i = 0; i < fields.size(); i += 2) {
      const std::size_t n = load_varint(m);
      if (std::string_view(m, n) != fields[i]) return false;
      m += n;
    }
    return true;
  }

  // Appends one entry, its bytes written in place (one resize, not a push per byte).
  void add(StreamId id, std::span<const std::string_view> fields) {
    const bool same = same_as_master(fields);
    std::size_t bound = 1 + 3 * 10;
    for (std::size_t i = 0; i < fields.size(); i += 2) {
      bound += 10 + fields[i + 1].size() + (same ? 0 : 10 + fields[i].size());
    }
    const std::size_t at = data.size();
    data.resize(at + bound);
    char* const start = data.data() + at;
    char* p = start;
    *p++ = static_cast<char>(same ? kSameFields : 0);
    const std::uint64_t dms = id.ms - first.ms;
    p = store_varint(p, dms);
    p = store_varint(p, dms == 0 ? id.seq - first.seq : id.seq);
    if (!same) p = store_varint(p, fields.size() / 2);
    for (std::size_t i = 0; i < fields.size(); i += 2) {
      if (!same) p = store_str(p, fields[i]);
      p = store_str(p, fields[i + 1]);
    }
    data.resize(at + static_cast<std::size_t>(p - start));
    ++live;
  }
};

namespace {
std::atomic<std::uint64_t> g_block_entries{100};
std::atomic<std::uint64_t> g_block_bytes{4096};
constexpr std::uint64_t kMaxBlockBytes = std::uint64_t{1} << 30;
}  // namespace

void Stream::set_block_limits(std::uint64_t entries, std::uint64_t bytes) {
  g_block_entries.store(entries, std::memory_order_relaxed);
  g_block_bytes.store(bytes == 0 || bytes > kMaxBlockBytes ? kMaxBlockBytes : bytes,
                      std::memory_order_relaxed);
}
std::uint64_t Stream::block_entries() { return g_block_entries.load(std::memory_order_relaxed); }
std::uint64_t Stream::block_bytes_limit() { return g_block_bytes.load(std::memory_order_relaxed); }

Stream::Stream() = default;
Stream::~Stream() = default;

void Stream::append(StreamId id, std::span<const std::string_view> fields) {
  std::size_t bytes = 0;
  for (std::string_view f : fields) bytes += f.size();
  Block* b = blocks_.empty() ? nullptr : blocks_.rbegin()->second.get();
  const std::uint64_t max_entries = block_entries();
  if (b != nullptr && (b->data.size() + b->master.size() + bytes >= block_bytes_limit() ||
                       (max_entries != 0 && b->total() >= max_entries))) {
    b->data.shrink_to_fit();  // a full block keeps no spare capacity
    b = nullptr;
  }
  if (b == nullptr) {
    auto nb = std::make_unique<Block>();
    nb->first = id;
    for (std::size_t i = 0; i < fields.size(); i += 2) put_str(nb->master, fields[i]);
    nb->master_count = static_cast<std::uint32_t>(fields.size() / 2);
    b = nb.get();
    blocks_.emplace(id, std::move(nb));
  }
  b->add(id, fields);
  ++length_;
  ++entries_added_;
  last_id_ = id;
  last_live_ = id;
  if (length_ == 1) first_id_ = id;
}

namespace {
template <typename Map>
auto block_for(Map& blocks, StreamId id) {
  auto it = blocks.upper_bound(id);
  if (it == blocks.begin()) return blocks.end();
  return std::prev(it);
}
}  // namespace

bool Stream::contains(StreamId id) const {
  auto it = block_for(blocks_, id);
  if (it == blocks_.end()) return false;
  const Block& b = *it->second;
  Decoded d;
  for (const char* p = b.begin(); p < b.end();) {
    p = b.decode(p, d);
    if (d.id == id) return d.live();
    if (d.id > id) return false;
  }
  return false;
}

bool Stream::erase(StreamId id) {
  auto it = block_for(blocks_, id);
  if (it == blocks_.end()) return false;
  Block& b = *it->second;
  Decoded d;
  for (const char* p = b.begin(); p < b.end();) {
    p = b.decode(p, d);
    if (d.id > id) return false;
    if (d.id != id) continue;
    if (!d.live()) return false;
    b.data[static_cast<std::size_t>(d.at - b.begin())] = static_cast<char>(d.flags | kDeleted);
    --b.live;
    ++b.deleted;
    --length_;
    if (b.live == 0) blocks_.erase(it);
    if (length_ == 0) {
      first_id_ = StreamId{};
      last_live_ = StreamId{};
    } else {
      if (id == first_id_) update_first_id();
      if (id == last_live_) last_live_ = find_last_live();
    }
    return true;
  }
  return false;
}

void Stream::update_first_id() {
  first_id_ = StreamId{};
  scan(StreamId{}, StreamId::max(), false, [&](const EntryRef& e) {
    first_id_ = e.id;
    return false;
  });
}

StreamId Stream::find_last_live() const {
  StreamId out;
  scan(StreamId{}, StreamId::max(), true, [&](const EntryRef& e) {
    out = e.id;
    return false;
  });
  return out;
}

void Stream::scan(StreamId lo, StreamId hi, bool rev, EntryVisitor& v) const {
  if (lo > hi || blocks_.empty()) return;
  Decoded d;
  if (!rev) {
    auto it = block_for(blocks_, lo);
    if (it == blocks_.end()) it = blocks_.begin();
    for (; it != blocks_.end() && it->first <= hi; ++it) {
      const Block& b = *it->second;
      for (const char* p = b.begin(); p < b.end();) {
        p = b.decode(p, d);
        if (d.id > hi) return;
        if (!d.live() || d.id < lo) continue;
        if (!v.entry(b.ref(d))) return;
      }
    }
    return;
  }
  auto it = block_for(blocks_, hi);
  if (it == blocks_.end()) return;
  std::vector<const char*> offs;
  for (;;) {
    const Block& b = *it->second;
    b.offsets(offs);
    for (auto o = offs.rbegin(); o != offs.rend(); ++o) {
      b.decode(*o, d);
      if (d.id < lo) return;
      if (!d.live() || d.id > hi) continue;
      if (!v.entry(b.ref(d))) return;
    }
    if (it == blocks_.begin()) return;
    --it;
  }
}

void Stream::range(StreamId lo, StreamId hi, bool rev,
                   const std::function<bool(StreamId, const FieldList&)>& fn) const {
  FieldList fields;
  scan(lo, hi, rev, [&](const EntryRef& e) {
    fields.clear();
    e.each([&](std::string_view f, std::string_view v) { fields.emplace_back(f, v); });
    return fn(e.id, fields);
  });
}

std::uint64_t Stream::trim(const TrimSpec& t) {
  if (t.strategy == TrimSpec::Strategy::kNone) return 0;
  const bool by_len = t.strategy == TrimSpec::Strategy::kMaxLen;
  std::uint64_t deleted = 0;
  while (!blocks_.empty()) {
    if (by_len && length_ <= t.maxlen) break;
    auto it = blocks_.begin();
    Block& b = *it->second;
    const std::uint64_t entries = b.live;
    if (t.limit != 0 && deleted + entries > static_cast<std::uint64_t>(t.limit)) break;
    const bool whole = by_len ? length_ - entries >= t.maxlen : b.last_id() < t.minid;
    if (whole) {
      length_ -= entries;
      deleted += entries;
      blocks_.erase(it);
      continue;
    }
    if (t.approx) break;
    Decoded d;
    for (const char* p = b.begin(); p < b.end();) {
      p = b.decode(p, d);
      if (by_len ? length_ <= t.maxlen : d.id >= t.minid) break;
      if (d.live()) {
        b.data[static_cast<std::size_t>(d.at - b.begin())] = static_cast<char>(d.flags | kDeleted);
        --b.live;
        ++b.deleted;
        --length_;
        ++deleted;
      }
    }
    if (b.live == 0) blocks_.erase(it);
    break;
  }
  if (length_ == 0) {
    first_id_ = StreamId{};
    last_live_ = StreamId{};
  } else if (deleted != 0) {
    update_first_id();
  }
  return deleted;
}

Group* Stream::find_group(std::string_view name) {
  auto it = groups_.find(name);
  return it == groups_.end() ? nullptr : it->second.get();
}

bool Stream::range_has_tombstones(StreamId lo, StreamId hi) const {
  if (length_ == 0 || max_deleted_.is_zero()) return false;
  if (first_id_ > max_deleted_) return false;
  return lo <= max_deleted_ && max_deleted_ <= hi;
}

std::int64_t Stream::estimate_distance(StreamId id) const {
  if (entries_added_ == 0) return 0;
  const auto added = static_cast<std::int64_t>(entries_added_);
  if (length_ == 0 && id <= last_id_) return added;
  if (id == last_id_) return added;
  if (id > last_id_) return kInvalidEntriesRead;
  if (max_deleted_.is_zero() || max_deleted_ < first_id_) {
    if (id < first_id_) return added - static_cast<std::int64_t>(length_);
    if (id == first_id_) return added - static_cast<std::int64_t>(length_) + 1;
  }
  return kInvalidEntriesRead;
}

bool Stream::lag(const Group& g, std::int64_t& out) const {
  if (entries_added_ == 0) {
    out = 0;
    return true;
  }
  if (g.entries_read != kInvalidEntriesRead && !range_has_tombstones(g.last_id, StreamId::max())) {
    out = static_cast<std::int64_t>(entries_added_) - g.entries_read;
    return true;
  }
  const std::int64_t read = estimate_distance(g.last_id);
  if (read == kInvalidEntriesRead) return false;
  out = static_cast<std::int64_t>(entries_added_) - read;
  return true;
}

std::size_t Stream::block_bytes() const {
  std::size_t n = 0;
  for (const auto& [id, b] : blocks_) n += sizeof(Block) + b->data.capacity() + b->master.capacity();
  return n;
}

// ---- snapshot form ----
// varint length, entries_added; ids last, first, max_deleted (4 varints); varint entry count;
// per entry: varint ms delta from the previous id, varint seq (seq delta when ms equal),
// varint nfields, (str, str) x n; varint groups; per group: str name, 2 varints last id,
// varint entries_read + 1, varint consumers, per consumer: str name, varint seen time; varint
// pel size, per pending entry: 2 varints id, varint time, varint count, varint consumer index
// + 1 (every pending entry has a consumer).

namespace {
void put_id(std::string& out, StreamId id) {
  put_varint(out, id.ms);
  put_varint(out, id.seq);
}
bool get_id(Reader& r, StreamId& id) { return r.varint(id.ms) && r.varint(id.seq); }
}  // namespace

void encode(const Stream& s, std::string& out) {
  put_varint(out, s.length());
  put_varint(out, s.entries_added());
  put_id(out, s.last_id());
  put_id(out, s.max_deleted_id());
  StreamId prev;
  s.range(StreamId{}, StreamId::max(), false, [&](StreamId id, const FieldList& f) {
    const std::uint64_t dms = id.ms - prev.ms;
    put_varint(out, dms);
    put_varint(out, dms == 0 ? id.seq - prev.seq : id.seq);
    put_varint(out, f.size());
    for (const auto& [k, v] : f) {
      put_str(out, k);
      put_str(out, v);
    }
    prev = id;
    return true;
  });
  put_varint(out, s.groups().size());
  for (const auto& [name, g] : s.groups()) {
    put_str(out, name);
    put_id(out, g->last_id);
    put_varint(out, static_cast<std::uint64_t>(g->entries_read + 1));
    // Consumers first, so that pending entries can name them by index.
    put_varint(out, g->consumers.size());
    std::map<const Consumer*, std::uint64_t> index;
    for (const auto& [cname, c] : g->consumers) {
      index.emplace(c.get(), index.size() + 1);
      put_str(out, cname);
      put_varint(out, static_cast<std::uint64_t>(c->seen_time));
    }
    put_varint(out, g->pel.size());
    for (const auto& [id, n] : g->pel) {
      put_id(out, id);
      put_varint(out, static_cast<std::uint64_t>(n.delivery_time));
      put_varint(out, n.delivery_count);
      auto ci = index.find(n.consumer);
      put_varint(out, ci == index.end() ? 0 : ci->second);
    }
  }
}

std::unique_ptr<Stream> decode(std::string_view in, std::string& why) {
  Reader r{in, 0};
  auto s = std::make_unique<Stream>();
  std::uint64_t length = 0, added = 0;
  StreamId last, maxdel;
  if (!r.varint(length) || !r.varint(added) || !get_id(r, last) || !get_id(r, maxdel)) {
    why = "bad stream header";
    return nullptr;
  }
  // Each entry takes at least 3 bytes: a length beyond the bytes is damage.
  if (length > in.size() || added < length) {
    why = "bad stream length";
    return nullptr;
  }
  StreamId prev;
  std::vector<std::string_view> fields;
  for (std::uint64_t i = 0; i < length; ++i) {
    std::uint64_t dms = 0, seq = 0, n = 0;
    if (!r.varint(dms) || !r.varint(seq) || !r.varint(n) || n > in.size() - r.pos) {
      why = "bad stream entry";
      return nullptr;
    }
    StreamId id;
    if (dms > ~std::uint64_t{0} - prev.ms) {
      why = "bad stream id";
      return nullptr;
    }
    id.ms = prev.ms + dms;
    if (dms == 0) {
      if (seq > ~std::uint64_t{0} - prev.seq) {
        why = "bad stream id";
        return nullptr;
      }
      id.seq = prev.seq + seq;
    } else {
      id.seq = seq;
    }
    if ((i > 0 || !id.is_zero()) && !(i == 0 || id > prev)) {
      why = "stream ids out of order";
      return nullptr;
    }
    if (id.is_zero() || id > last) {
      why = "bad stream id";
      return nullptr;
    }
    fields.clear();
    for (std::uint64_t k = 0; k < 2 * n; ++k) {
      std::string_view f;
      if (!r.str(f)) {
        why = "bad stream field";
        return nullptr;
      }
      fields.push_back(f);
    }
    if (n == 0) {
      why = "bad stream entry";
      return nullptr;
    }
    s->append(id, fields);
    prev = id;
  }
  s->set_last_id(last);
  s->set_entries_added(added);
  s->set_max_deleted_id(maxdel);
  std::uint64_t ngroups = 0;
  if (!r.varint(ngroups) || ngroups > in.size()) {
    why = "bad stream groups";
    return nullptr;
  }
  for (std::uint64_t gi = 0; gi < ngroups; ++gi) {
    std::string_view name;
    auto g = std::make_unique<Group>();
    std::uint64_t er = 0, nc = 0, np = 0;
    if (!r.str(name) || !get_id(r, g->last_id) || !r.varint(er) || !r.varint(nc) ||
        nc > in.size() || er > static_cast<std::uint64_t>(INT64_MAX)) {
      why = "bad stream group";
      return nullptr;
    }
    g->entries_read = static_cast<std::int64_t>(er) - 1;
    std::vector<Consumer*> by_index;
    for (std::uint64_t ci = 0; ci < nc; ++ci) {
      std::string_view cname;
      std::uint64_t seen = 0;
      if (!r.str(cname) || !r.varint(seen)) {
        why = "bad stream consumer";
        return nullptr;
      }
      Consumer* c = g->create_consumer(cname, static_cast<std::int64_t>(seen));
      if (c == nullptr) {
        why = "repeated stream consumer";
        return nullptr;
      }
      by_index.push_back(c);
    }
    if (!r.varint(np) || np > in.size()) {
      why = "bad stream pending list";
      return nullptr;
    }
    for (std::uint64_t pi = 0; pi < np; ++pi) {
      StreamId id;
      std::uint64_t time = 0, count = 0, ci = 0;
      if (!get_id(r, id) || !r.varint(time) || !r.varint(count) || !r.varint(ci) ||
          ci == 0 || ci > by_index.size() || g->pel.count(id) != 0) {
        why = "bad stream pending entry";
        return nullptr;
      }
      Nack& n = g->pel[id];
      n.delivery_time = static_cast<std::int64_t>(time);
      n.delivery_count = count;
      n.consumer = by_index[ci - 1];
      n.consumer->pel.insert(id);
    }
    if (!s->groups().emplace(std::string(name), std::move(g)).second) {
      why = "repeated stream group";
      return nullptr;
    }
  }
  if (!r.done()) {
    why = "trailing bytes in stream";
    return nullptr;
  }
  return s;
}

// Entries as XADD with their ids, then XSETID for the counters, then each group, its
// consumers and its pending entries (XCLAIM ... FORCE keeps their times and counts). An empty
// stream is an XADD trimmed to nothing at once, as Redis rewrites one.
void rewrite_commands(std::string_view key, const Stream& s, std::string& out) {
  const std::string last = s.last_id().str();
  std::vector<std::string_view> args;
  if (s.length() == 0) {
    StreamId first = s.last_id();
    if (first.is_zero()) first.seq = 1;
    const std::string id = first.str();
    encode_command(out, {"XADD", key, "MAXLEN", "0", id, "x", "y"});
  }
  std::string idbuf;
  s.range(StreamId{}, StreamId::max(), false, [&](StreamId id, const FieldList& f) {
    idbuf = id.str();
    args.assign({"XADD", key, idbuf});
    for (const auto& [k, v] : f) {
      args.push_back(k);
      args.push_back(v);
    }
    encode_command(out, args);
    return true;
  });
  const std::string added = std::to_string(s.entries_added());
  const std::string maxdel = s.max_deleted_id().str();
  encode_command(out, {"XSETID", key, last, "ENTRIESADDED", added, "MAXDELETEDID", maxdel});
  for (const auto& [name, g] : s.groups()) {
    const std::string gid = g->last_id.str();
    const std::string read = std::to_string(g->entries_read);
    encode_command(out, {"XGROUP", "CREATE", key, name, gid, "ENTRIESREAD", read});
    for (const auto& [cname, c] : g->consumers) {
      encode_command(out, {"XGROUP", "CREATECONSUMER", key, name, cname});
    }
    for (const auto& [id, n] : g->pel) {
      const std::string ids = id.str();
      const std::string time = std::to_string(n.delivery_time);
      const std::string count = std::to_string(n.delivery_count);
      encode_command(out, {"XCLAIM", key, name, n.consumer->name, "0", ids, "TIME", time,
                           "RETRYCOUNT", count, "FORCE", "JUSTID"});
    }
  }
}

}  // namespace lfdb::db::stream
