#include "db/dump/rdb_value.hpp"

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cmath>
#include <cstring>
#include <memory>
#include <vector>

#include "db/command_context.hpp"
#include "db/dump/rdb_format.hpp"

namespace lfdb::db::dump {
namespace {

// Redis's RDB object types (rdb.h).
enum RdbType : unsigned char {
  kString = 0, kList = 1, kSet = 2, kZSet = 3, kHash = 4, kZSet2 = 5,
  kListZiplist = 10, kSetIntset = 11, kZSetZiplist = 12, kHashZiplist = 13, kListQuicklist = 14, kStreamListpacks = 15, kHashListpack = 16,
  kZSetListpack = 17, kListQuicklist2 = 18, kStreamListpacks2 = 19,
};
constexpr std::uint64_t kQuicklistPlain = 1, kQuicklistPacked = 2;
constexpr std::size_t kListNodeBytes = 8192;     // list-max-listpack-size -2
constexpr std::uint64_t kStreamNodeEntries = 100;  // stream-node-max-entries
constexpr unsigned kStreamDeleted = 1, kStreamSameFields = 2;

const std::string kErrPayload = "ERR DUMP payload version or checksum are wrong";
const std::string kErrBadFormat = "ERR Bad data format";

void put_double(std::string& out, double d) {
  const auto u = std::bit_cast<std::uint64_t>(d);
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((u >> (8 * i)) & 0xff));
}

void put_le64(std::string& out, std::uint64_t u) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((u >> (8 * i)) & 0xff));
}

// A stream id as Redis keys its rax of listpacks: ms then seq, both big endian.
void put_raw_id(std::string& out, stream::StreamId id) {
  for (int i = 7; i >= 0; --i) out.push_back(static_cast<char>((id.ms >> (8 * i)) & 0xff));
  for (int i = 7; i >= 0; --i) out.push_back(static_cast<char>((id.seq >> (8 * i)) & 0xff));
}

bool read_raw_id(Reader& r, stream::StreamId& id) {
  std::string_view raw;
  if (!r.bytes(16, raw)) return false;
  id = {};
  for (int i = 0; i < 8; ++i) id.ms = (id.ms << 8) | static_cast<unsigned char>(raw[static_cast<std::size_t>(i)]);
  for (int i = 8; i < 16; ++i) id.seq = (id.seq << 8) | static_cast<unsigned char>(raw[static_cast<std::size_t>(i)]);
  return true;
}

// What Redis 7.0.15's quicklist adds to an element's length when it asks whether a node may
// take it (a fixed overestimate of the length prefix and back length): the nodes a DUMP writes
// end where redis-server's end for a list built by RPUSH, so the payloads are the same bytes.
constexpr std::size_t kListEntryEstimate = 8;

void encode_list(const List& l, std::string& out) {
  out.push_back(static_cast<char>(kListQuicklist2));
  struct Settle {  // the walk below opens compressed nodes; they close when it is done
    const List& l;
    ~Settle() { l.settle(); }
  } settle{l};
  std::vector<std::string> nodes;
  ListpackWriter w;
  for (std::string_view e : l) {
    if (w.count() > 0 && w.bytes() + e.size() + kListEntryEstimate > kListNodeBytes) {
      nodes.push_back(w.finish());
      w = ListpackWriter();
    }
    w.add(e);
  }
  nodes.push_back(w.finish());
  put_length(out, nodes.size());
  for (const std::string& n : nodes) {
    put_length(out, kQuicklistPacked);
    // Redis writes each node LZF-compressed: a node compressed in memory (list-compress-depth)
    // as it is, any other one by rdbcompression's rule. Both give the same bytes (one algorithm,
    // one input), so the payload does not depend on the depth.
    put_lzf_string(out, n);
  }
}

void encode_set(const Value& v, std::string& out) {
  const Set& s = *v.set();
  if (s.intset()) {  // the encoding the set has now, as Redis writes it
    std::vector<std::int64_t> ints;
    ints.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) ints.push_back(s.ints().at(i));
    out.push_back(static_cast<char>(kSetIntset));
    // An intset is a string payload in RDB, so Redis writes it by the string rule: LZF when it
    // is over 20 bytes and that saves 4 (64-bit members' repeated high bytes do; a run of
    // consecutive 16- or 32-bit members saves less and stays plain).
    put_lzf_string(out, intset_encode(std::move(ints), static_cast<int>(s.ints().width())));
    return;
  }
  out.push_back(static_cast<char>(kSet));
  put_length(out, s.size());
  for (Set::Member m : s) put_string(out, m.view());
}

void encode_hash(const Hash& h, std::string& out) {
  if (h.packed()) {  // the encoding the hash has now, as Redis writes it
    ListpackWriter w;
    for (const auto& [f, val] : h) {
      w.add(f);
      w.add(val);
    }
    out.push_back(static_cast<char>(kHashListpack));
    put_lzf_string(out, w.finish());  // a string payload: the string rule, as Redis writes it
    return;
  }
  out.push_back(static_cast<char>(kHash));
  put_length(out, h.size());
  for (const auto& [f, val] : h) {
    put_string(out, f);
    put_string(out, val);
  }
}

void encode_zset(const Value& v, std::string& out) {
  const ZSet& z = *v.zset();
  if (z.packed()) {  // the encoding the set has now, as Redis writes it
    ListpackWriter w;
    for (ZSet::Ref n = z.first(); n; n = n.next()) {
      w.add(n.member());
      w.add(format_score(n.score()));
    }
    out.push_back(static_cast<char>(kZSetListpack));
    put_lzf_string(out, w.finish());  // a string payload: the string rule, as Redis writes it
    return;
  }
  out.push_back(static_cast<char>(kZSet2));
  put_length(out, z.size());
  // From the highest score down, as Redis writes them (a loader inserts each at the head).
  for (ZSet::Ref n = z.last(); n; n = n.prev()) {
    put_string(out, n.member());
    put_double(out, n.score());
  }
}

// One stream node as Redis lays it out: a master entry (live count, deleted count, the first
// entry's field names, a 0), then each entry as flags, id deltas against the node's first id,
// its values (fields too unless they are the master's) and its element count.
struct StreamNodeWriter {
  stream::StreamId master;
  std::vector<std::string> master_fields;
  std::vector<std::pair<stream::StreamId, std::vector<std::string>>> entries;  // fields, values
};

std::string finish_node(const StreamNodeWriter& n) {
  ListpackWriter w;
  w.add_int(static_cast<std::int64_t>(n.entries.size()));
  w.add_int(0);
  w.add_int(static_cast<std::int64_t>(n.master_fields.size()));
  for (const std::string& f : n.master_fields) w.add(f);
  w.add_int(0);
  for (const auto& [id, kv] : n.entries) {
    bool same = kv.size() == 2 * n.master_fields.size();
    for (std::size_t i = 0; same && i < n.master_fields.size(); ++i) same = kv[2 * i] == n.master_fields[i];
    w.add_int(same ? kStreamSameFields : 0);
    w.add_int(static_cast<std::int64_t>(id.ms - n.master.ms));
    w.add_int(static_cast<std::int64_t>(id.seq - n.master.seq));
    const std::size_t fields = kv.size() / 2;
    if (same) {
      for (std::size_t i = 1; i < kv.size(); i += 2) w.add(kv[i]);
      w.add_int(static_cast<std::int64_t>(fields + 3));
    } else {
      w.add_int(static_cast<std::int64_t>(fields));
      for (const std::string& s : kv) w.add(s);
      w.add_int(static_cast<std::int64_t>(2 * fields + 4));
    }
  }
  return w.finish();
}

void encode_stream(const stream::Stream& s, std::string& out) {
  out.push_back(static_cast<char>(kStreamListpacks2));
  std::vector<StreamNodeWriter> nodes;
  s.range({}, stream::StreamId::max(), false, [&](stream::StreamId id, const stream::FieldList& f) {
    if (nodes.empty() || nodes.back().entries.size() >= kStreamNodeEntries) {
      nodes.emplace_back();
      nodes.back().master = id;
      for (const auto& [name, value] : f) nodes.back().master_fields.emplace_back(name);
    }
    std::vector<std::string> kv;
    for (const auto& [name, value] : f) {
      kv.emplace_back(name);
      kv.emplace_back(value);
    }
    nodes.back().entries.emplace_back(id, std::move(kv));
    return true;
  });
  put_length(out, nodes.size());
  for (const StreamNodeWriter& n : nodes) {
    std::string key;
    put_raw_id(key, n.master);
    put_raw_string(out, key);  // 16 bytes: never compressed
    put_lzf_string(out, finish_node(n));
  }
  put_length(out, s.length());
  put_length(out, s.last_id().ms);
  put_length(out, s.last_id().seq);
  put_length(out, s.first_id().ms);
  put_length(out, s.first_id().seq);
  put_length(out, s.max_deleted_id().ms);
  put_length(out, s.max_deleted_id().seq);
  put_length(out, s.entries_added());
  put_length(out, s.groups().size());
  for (const auto& [name, g] : s.groups()) {
    put_string(out, name);  // Redis's raw-string rule: an integer, LZF or plain
    put_length(out, g->last_id.ms);
    put_length(out, g->last_id.seq);
    put_length(out, static_cast<std::uint64_t>(g->entries_read));
    put_length(out, g->pel.size());
    for (const auto& [id, nack] : g->pel) {
      put_raw_id(out, id);
      put_le64(out, static_cast<std::uint64_t>(nack.delivery_time));
      put_length(out, nack.delivery_count);
    }
    put_length(out, g->consumers.size());
    for (const auto& [cname, c] : g->consumers) {
      put_string(out, cname);
      put_le64(out, static_cast<std::uint64_t>(c->seen_time));
      put_length(out, c->pel.size());
      for (const stream::StreamId& id : c->pel) put_raw_id(out, id);
    }
  }
}

// ---- decoding ----

bool read_double_text(Reader& r, double& d) {  // RDB_TYPE_ZSET's scores
  unsigned char n = 0;
  if (!r.byte(n)) return false;
  if (n == 253) return false;  // NaN: refused, as Redis refuses NaN scores
  if (n == 254) return d = INFINITY, true;
  if (n == 255) return d = -INFINITY, true;
  std::string_view raw;
  if (!r.bytes(n, raw)) return false;
  return parse_double(raw, d);
}

bool read_double_binary(Reader& r, double& d) {
  std::uint64_t u = 0;
  if (!r.le(8, u)) return false;
  d = std::bit_cast<double>(u);
  return !std::isnan(d);
}

// The elements of a listpack (Redis 7) or a ziplist (before 7.0) held in one RDB string.
bool read_packed(Reader& r, bool ziplist, std::vector<std::string>& elems) {
  std::string blob;
  if (!r.string(blob)) return false;
  return ziplist ? ziplist_decode(blob, elems) : listpack_decode(blob, elems);
}

bool decode_list(Reader& r, unsigned char type, Value& v) {
  v.reset(std::make_unique<List>());
  if (type == kListZiplist) {
    std::vector<std::string> elems;
    if (!read_packed(r, true, elems)) return false;
    for (std::string& e : elems) v.list()->push_back(e);
    return !v.list()->empty();
  }
  std::uint64_t n = 0;
  if (!r.length(n) || n == 0) return false;
  for (std::uint64_t i = 0; i < n; ++i) {
    if (type == kList) {
      std::string e;
      if (!r.string(e)) return false;
      v.list()->push_back(e);
      continue;
    }
    std::uint64_t container = kQuicklistPacked;
    if (type == kListQuicklist2 && !r.length(container)) return false;
    if (container == kQuicklistPlain) {
      std::string e;
      if (!r.string(e)) return false;
      v.list()->push_back(e);
      continue;
    }
    std::vector<std::string> elems;
    if (container != kQuicklistPacked || !read_packed(r, type == kListQuicklist, elems)) return false;
    for (std::string& e : elems) v.list()->push_back(e);
  }
  return !v.list()->empty();
}

bool decode_set(Reader& r, unsigned char type, Value& v) {
  v.make_set();
  if (type == kSetIntset) {
    std::string blob;
    std::vector<std::int64_t> ints;
    std::size_t width = 2;
    if (!r.string(blob) || !intset_decode(blob, ints, width)) return false;
    // At once, sized once, at the payload's width (Redis keeps the intset's bytes, and with
    // them a width no member needs any more: DUMP gives the same payload back); an intset
    // past set-max-intset-entries becomes a table, as Redis's load converts it.
    const std::size_t n = ints.size();
    return v.set()->add_ints(ints, width) == n && n > 0;
  }
  std::uint64_t n = 0;
  if (!r.length(n) || n == 0) return false;
  for (std::uint64_t i = 0; i < n; ++i) {
    std::string m;
    if (!r.string(m) || !v.set()->add(m)) return false;  // repeats: damage
  }
  return true;
}

bool decode_hash(Reader& r, unsigned char type, Value& v) {
  v.make_hash();
  if (type == kHashListpack || type == kHashZiplist) {
    std::vector<std::string> elems;
    if (!read_packed(r, type == kHashZiplist, elems) || elems.empty() || elems.size() % 2 != 0) {
      return false;
    }
    for (std::size_t i = 0; i < elems.size(); i += 2) {
      if (!v.hash()->set(elems[i], elems[i + 1])) return false;  // a repeated field: damage
    }
    return true;
  }
  std::uint64_t n = 0;
  if (!r.length(n) || n == 0) return false;
  for (std::uint64_t i = 0; i < n; ++i) {
    std::string f, val;
    // Packed while it fits (rdbLoadObject's choice); a repeated field is damage.
    if (!r.string(f) || !r.string(val) || !v.hash()->set(f, val)) {
      return false;
    }
  }
  return true;
}

bool decode_zset(Reader& r, unsigned char type, Value& v) {
  v.make_zset();
  if (type == kZSetListpack || type == kZSetZiplist) {
    std::vector<std::string> elems;
    if (!read_packed(r, type == kZSetZiplist, elems) || elems.empty() || elems.size() % 2 != 0) {
      return false;
    }
    for (std::size_t i = 0; i < elems.size(); i += 2) {
      double d = 0;
      if (!parse_double(elems[i + 1], d) || !v.zset()->set(elems[i], d)) return false;
    }
    return true;
  }
  std::uint64_t n = 0;
  if (!r.length(n) || n == 0) return false;
  // Built as a skip list when the count says it will be one, then packed if it fits after all
  // (a long member, say, may have left): Redis converts a loaded sorted set the same way.
  v.make_zset(static_cast<std::size_t>(std::min<std::uint64_t>(n, SIZE_MAX)), 0);
  for (std::uint64_t i = 0; i < n; ++i) {
    std::string m;
    double d = 0;
    if (!r.string(m)) return false;
    if (!(type == kZSet2 ? read_double_binary(r, d) : read_double_text(r, d))) return false;
    if (!v.zset()->set(m, d)) return false;  // a repeated member
  }
  v.zset()->compact_if_small();
  return true;
}

bool to_int(const std::string& s, std::int64_t& v) { return parse_int(s, v); }

// One stream node's listpack, appended to s; `prev` is the last id appended so far.
bool decode_stream_node(stream::StreamId master, const std::vector<std::string>& lp,
                        stream::Stream& s, stream::StreamId& prev, bool& any) {
  std::size_t i = 0;
  auto next_int = [&](std::int64_t& v) { return i < lp.size() && to_int(lp[i++], v); };
  std::int64_t count = 0, deleted = 0, nmaster = 0, zero = -1;
  if (!next_int(count) || !next_int(deleted) || !next_int(nmaster) || nmaster < 0 ||
      static_cast<std::uint64_t>(nmaster) > lp.size() - i) {
    return false;
  }
  const std::size_t master_at = i;
  i += static_cast<std::size_t>(nmaster);
  if (!next_int(zero) || zero != 0) return false;
  std::vector<std::string_view> fields;
  std::int64_t live = 0;
  while (i < lp.size()) {
    std::int64_t flags = 0, dms = 0, dseq = 0, nf = 0, lpcount = 0;
    if (!next_int(flags) || !next_int(dms) || !next_int(dseq)) return false;
    const bool same = (flags & kStreamSameFields) != 0;
    fields.clear();
    if (same) {
      if (static_cast<std::uint64_t>(nmaster) > lp.size() - i) return false;
      for (std::int64_t k = 0; k < nmaster; ++k) {
        fields.push_back(lp[master_at + static_cast<std::size_t>(k)]);
        fields.push_back(lp[i++]);
      }
    } else {
      if (!next_int(nf) || nf <= 0 || static_cast<std::uint64_t>(nf) > (lp.size() - i) / 2) return false;
      for (std::int64_t k = 0; k < 2 * nf; ++k) fields.push_back(lp[i++]);
    }
    if (!next_int(lpcount)) return false;
    const stream::StreamId id{master.ms + static_cast<std::uint64_t>(dms),
                              master.seq + static_cast<std::uint64_t>(dseq)};
    if (any && !(id > prev)) return false;
    prev = id;
    any = true;
    if ((flags & kStreamDeleted) != 0) continue;
    if (fields.empty() || id.is_zero()) return false;
    s.append(id, fields);
    ++live;
  }
  return live == count;
}

bool decode_stream(Reader& r, unsigned char type, Value& v) {
  v.reset(std::make_unique<stream::Stream>());
  stream::Stream& s = *v.stream();
  std::uint64_t nodes = 0;
  if (!r.length(nodes)) return false;
  stream::StreamId prev;
  bool any = false;
  for (std::uint64_t k = 0; k < nodes; ++k) {
    std::string key, blob;
    std::vector<std::string> lp;
    if (!r.string(key) || key.size() != 16 || !r.string(blob) || !listpack_decode(blob, lp) || lp.empty()) {
      return false;
    }
    Reader kr{key};
    stream::StreamId master;
    (void)read_raw_id(kr, master);
    if (!decode_stream_node(master, lp, s, prev, any)) return false;
  }
  std::uint64_t length = 0;
  stream::StreamId last, first, maxdel;
  std::uint64_t added = 0;
  if (!r.length(length) || !r.length(last.ms) || !r.length(last.seq)) return false;
  if (type == kStreamListpacks2) {
    if (!r.length(first.ms) || !r.length(first.seq) || !r.length(maxdel.ms) ||
        !r.length(maxdel.seq) || !r.length(added)) {
      return false;
    }
  } else {
    added = length;  // before 7.0 only the length was kept
  }
  if (length != s.length() || (s.length() > 0 && s.last_id() > last) || added < length) return false;
  s.set_last_id(last);
  s.set_entries_added(added);
  s.set_max_deleted_id(maxdel);
  std::uint64_t ngroups = 0;
  if (!r.length(ngroups)) return false;
  for (std::uint64_t gi = 0; gi < ngroups; ++gi) {
    std::string name;
    auto g = std::make_unique<stream::Group>();
    if (!r.string(name) || !r.length(g->last_id.ms) || !r.length(g->last_id.seq)) return false;
    if (type == kStreamListpacks2) {
      std::uint64_t er = 0;
      if (!r.length(er)) return false;
      g->entries_read = static_cast<std::int64_t>(er);
      if (g->entries_read < stream::kInvalidEntriesRead) return false;
    } else {
      g->entries_read = s.estimate_distance(g->last_id);
    }
    std::uint64_t npel = 0;
    if (!r.length(npel)) return false;
    for (std::uint64_t pi = 0; pi < npel; ++pi) {
      stream::StreamId id;
      std::uint64_t time = 0, count = 0;
      if (!read_raw_id(r, id) || !r.le(8, time) || !r.length(count) || g->pel.count(id) != 0) return false;
      stream::Nack& n = g->pel[id];
      n.delivery_time = static_cast<std::int64_t>(time);
      n.delivery_count = count;
    }
    std::uint64_t nconsumers = 0;
    if (!r.length(nconsumers)) return false;
    for (std::uint64_t ci = 0; ci < nconsumers; ++ci) {
      std::string cname;
      std::uint64_t seen = 0, cpel = 0;
      if (!r.string(cname) || !r.le(8, seen) || !r.length(cpel)) return false;
      stream::Consumer* c = g->create_consumer(cname, static_cast<std::int64_t>(seen));
      if (c == nullptr) return false;
      for (std::uint64_t k = 0; k < cpel; ++k) {
        stream::StreamId id;
        if (!read_raw_id(r, id)) return false;
        auto it = g->pel.find(id);
        if (it == g->pel.end() || it->second.consumer != nullptr) return false;
        it->second.consumer = c;
        c->pel.insert(id);
      }
    }
    for (const auto& [id, n] : g->pel) {
      if (n.consumer == nullptr) return false;  // a pending entry nobody owns
    }
    if (!s.groups().emplace(std::move(name), std::move(g)).second) return false;
  }
  return true;
}

}  // namespace

std::string dump_value(const Value& v) {
  std::string out;
  put_value(out, v);
  seal_payload(out);
  return out;
}

void put_value(std::string& out, const Value& v) {
  switch (v.type()) {
    case Type::kString:
      out.push_back(static_cast<char>(kString));
      put_string(out, v.str());
      break;
    case Type::kList: encode_list(*v.list(), out); break;
    case Type::kSet: encode_set(v, out); break;
    case Type::kHash: encode_hash(*v.hash(), out); break;
    case Type::kZSet: encode_zset(v, out); break;
    case Type::kStream: encode_stream(*v.stream(), out); break;
  }
}

bool restore_value(std::string_view payload, Value& out, std::string& err) {
  std::string_view body;
  if (!open_payload(payload, body)) {
    err = kErrPayload;
    return false;
  }
  // The value is read from the whole payload, as Redis reads it: a value that runs into the
  // trailer takes those bytes (Redis 7.0 accepts such payloads, so lfdb does too).
  (void)body;
  Reader r{payload};
  unsigned char type = 0;
  bool ok = r.byte(type);
  Value v;
  if (ok) {
    switch (type) {
      case kString: {
        std::string s;
        ok = r.string(s);
        v.str() = s;
        break;
      }
      case kList: case kListZiplist: case kListQuicklist: case kListQuicklist2:
        ok = decode_list(r, type, v);
        break;
      case kSet: case kSetIntset: ok = decode_set(r, type, v); break;
      case kHash: case kHashZiplist: case kHashListpack: ok = decode_hash(r, type, v); break;
      case kZSet: case kZSet2: case kZSetZiplist: case kZSetListpack: ok = decode_zset(r, type, v); break;
      case kStreamListpacks: case kStreamListpacks2: ok = decode_stream(r, type, v); break;
      default: ok = false;  // modules, zipmaps, types newer than 7.0
    }
  }
  if (!ok) {
    err = kErrBadFormat;
    return false;
  }
  out = std::move(v);
  return true;
}

}  // namespace lfdb::db::dump
