// A stream: an append-only sequence of entries, each an id (ms-seq) and field/value pairs, plus
// its consumer groups.
//
// Layout (docs/streams.md): entries live in blocks of at most stream-node-max-entries entries
// and about stream-node-max-bytes bytes (100 and 4096, as Redis's); a block is one byte string of encoded entries whose ids are deltas against
// the block's first id, and an entry whose field names equal the block's first entry's (the
// block's "master" fields) stores only its values. Blocks sit in an ordered map keyed by their
// first id, so an append touches only the last block and a range read finds its first block in
// O(log blocks): neither depends on the stream's length. A deleted entry is flagged in place
// (its bytes stay until its whole block goes), as Redis's listpacks do; a block with no live
// entry left is dropped.
//
// Thread-safety: none; a Stream is a value inside a partition, touched only under its color.
#pragma once

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace lfdb::db::stream {

struct StreamId {
  std::uint64_t ms = 0;
  std::uint64_t seq = 0;
  auto operator<=>(const StreamId&) const = default;
  static constexpr StreamId max() { return {~std::uint64_t{0}, ~std::uint64_t{0}}; }
  bool is_zero() const { return ms == 0 && seq == 0; }
  bool is_max() const { return *this == max(); }
  // The next / previous id; false (and unchanged) at the ends.
  bool incr();
  bool decr();
  // "ms-seq". text() writes it into the caller's buffer (replies and log records format an id
  // per entry: an id of 16 characters and more would cost a heap string each time).
  using Text = std::array<char, 48>;
  std::string_view text(Text& buf) const;
  std::string str() const { Text buf; return std::string(text(buf)); }
};

// One entry as read: its id and fields (views valid until the stream changes).
using FieldList = std::vector<std::pair<std::string_view, std::string_view>>;

// A varint as the blocks store it, from bytes the stream wrote or its decoder checked (so no
// bounds checks): 7 bits a byte, low bits first.
inline std::uint64_t load_varint(const char*& p) {
  std::uint64_t v = static_cast<std::uint8_t>(*p++);
  if (v < 0x80) return v;
  v &= 0x7F;
  for (int shift = 7;; shift += 7) {
    const auto c = static_cast<std::uint8_t>(*p++);
    v |= static_cast<std::uint64_t>(c & 0x7F) << shift;
    if ((c & 0x80) == 0) return v;
  }
}

// A live entry where it lies in its block, for readers that copy it out (replies, records)
// without building a field list: its id, its field/value pairs, and their bytes. Valid until
// the stream changes.
struct EntryRef {
  StreamId id;
  std::uint32_t pairs = 0;
  const char* names = nullptr;  // the block's master field names (str x pairs), or nullptr:
                                // the names are inline, before each value
  const char* body = nullptr;   // the pairs' bytes: (str value) or (str name, str value) x pairs
  std::size_t body_size = 0;
  std::size_t names_size = 0;   // bytes of `names`

  // Calls fn(field, value) for each pair, in order.
  template <typename Fn>
  void each(Fn&& fn) const {
    const char* m = names;
    const char* d = body;
    for (std::uint32_t i = 0; i < pairs; ++i) {
      const char*& np = m != nullptr ? m : d;
      const std::size_t nl = load_varint(np);
      const std::string_view f(np, nl);
      np += nl;
      const std::size_t vl = load_varint(d);
      const std::string_view v(d, vl);
      d += vl;
      fn(f, v);
    }
  }
};

// What a walk over entries calls per live entry; false stops the walk.
class EntryVisitor {
 public:
  virtual bool entry(const EntryRef& e) = 0;

 protected:
  ~EntryVisitor() = default;
};

// A consumer group's pending entry: delivered, not yet acknowledged.
struct Consumer;
struct Nack {
  std::int64_t delivery_time = 0;  // ms since the epoch
  std::uint64_t delivery_count = 0;
  Consumer* consumer = nullptr;
};

struct Consumer {
  std::string name;
  std::int64_t seen_time = 0;
  std::set<StreamId> pel;  // this consumer's part of the group's pending entries
};

inline constexpr std::int64_t kInvalidEntriesRead = -1;

struct Group {
  StreamId last_id;
  std::int64_t entries_read = kInvalidEntriesRead;
  std::map<StreamId, Nack> pel;
  std::map<std::string, std::unique_ptr<Consumer>, std::less<>> consumers;

  Consumer* find_consumer(std::string_view name);
  // Creates the consumer (seen now); nullptr when it exists.
  Consumer* create_consumer(std::string_view name, std::int64_t now_ms);
  // Drops the pending entry `id` from the group and its consumer.
  void ack(std::map<StreamId, Nack>::iterator it);
  // Removes the consumer and its pending entries; returns how many it had.
  std::size_t delete_consumer(std::string_view name);
};

struct TrimSpec {
  enum class Strategy : std::uint8_t { kNone, kMaxLen, kMinId };
  Strategy strategy = Strategy::kNone;
  bool approx = false;
  std::int64_t limit = 0;  // 0: no limit
  std::uint64_t maxlen = 0;
  StreamId minid;
};

class Stream {
 public:
  // A block's bounds: stream-node-max-entries (0: none) and stream-node-max-bytes (0: 1 GiB),
  // set by CONFIG SET; read by every append. Relaxed atomics: a bound, not a protocol.
  static void set_block_limits(std::uint64_t entries, std::uint64_t bytes);
  static std::uint64_t block_entries();
  static std::uint64_t block_bytes_limit();

  Stream();
  ~Stream();
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  std::uint64_t length() const { return length_; }
  StreamId last_id() const { return last_id_; }
  StreamId first_id() const { return first_id_; }  // 0-0 when empty
  StreamId max_deleted_id() const { return max_deleted_; }
  std::uint64_t entries_added() const { return entries_added_; }
  std::size_t blocks() const { return blocks_.size(); }

  // Appends an entry with id > last_id() (the caller checked); fields: name, value, name, ...
  void append(StreamId id, std::span<const std::string_view> fields);
  // Deletes one entry; false when there is none with that id.
  bool erase(StreamId id);
  bool contains(StreamId id) const;
  // The last live entry's id (0-0 when empty): kept, since every XREADGROUP asks.
  StreamId last_live_id() const { return last_live_; }
  // Trims from the head as Redis's streamTrim: whole blocks, then (unless approx) entries.
  std::uint64_t trim(const TrimSpec& t);

  // Visits the live entries in [lo, hi], ascending or (rev) descending, in place in their
  // blocks (one decoding per entry, nothing copied), until the visitor returns false.
  void scan(StreamId lo, StreamId hi, bool rev, EntryVisitor& v) const;
  template <typename Fn>  // fn(const EntryRef&) -> bool
    requires(!std::is_base_of_v<EntryVisitor, std::remove_cvref_t<Fn>>)
  void scan(StreamId lo, StreamId hi, bool rev, Fn&& fn) const {
    struct Adapter final : EntryVisitor {
      Fn& f;
      explicit Adapter(Fn& fn) : f(fn) {}
      bool entry(const EntryRef& e) override { return f(e); }
    } a(fn);
    scan(lo, hi, rev, static_cast<EntryVisitor&>(a));
  }
  // The same walk with each entry's fields as a list (snapshots, log rewrite, DUMP).
  void range(StreamId lo, StreamId hi, bool rev,
             const std::function<bool(StreamId, const FieldList&)>& fn) const;

  // XSETID's changes (checked by the caller).
  void set_last_id(StreamId id) { last_id_ = id; }
  void set_entries_added(std::uint64_t n) { entries_added_ = n; }
  void set_max_deleted_id(StreamId id) { max_deleted_ = id; }

  // Consumer groups, by name in byte order.
  std::map<std::string, std::unique_ptr<Group>, std::less<>>& groups() { return groups_; }
  const std::map<std::string, std::unique_ptr<Group>, std::less<>>& groups() const { return groups_; }
  Group* find_group(std::string_view name);

  // Redis's entries-read estimate for an id and a group's lag (-1 / false: unknown).
  std::int64_t estimate_distance(StreamId id) const;
  bool range_has_tombstones(StreamId lo, StreamId hi) const;
  bool lag(const Group& g, std::int64_t& out) const;

  // Bytes held by the blocks (MEMORY USAGE, docs).
  std::size_t block_bytes() const;

 private:
  struct Block;
  struct Decoded;
  void update_first_id();
  StreamId find_last_live() const;

  std::map<StreamId, std::unique_ptr<Block>> blocks_;  // by each block's first id
  std::uint64_t length_ = 0;
  std::uint64_t entries_added_ = 0;
  StreamId last_id_;
  StreamId first_id_;
  StreamId last_live_;
  StreamId max_deleted_;
  std::map<std::string, std::unique_ptr<Group>, std::less<>> groups_;
};

// "ms-seq" parsing with Redis's rules. `missing_seq` fills a bare "ms"; strict refuses "-"
// and "+"; seq_given (XADD only) reports "ms-*" as false. False: invalid.
bool parse_id(std::string_view s, StreamId& id, std::uint64_t missing_seq, bool strict,
              bool* seq_given = nullptr);

// The snapshot form of a stream (entries, metadata, groups) and its decoder, which refuses
// anything damaged (why says what) rather than trusting counts and offsets.
void encode(const Stream& s, std::string& out);
std::unique_ptr<Stream> decode(std::string_view in, std::string& why);

// The commands that rebuild a stream (log rewrite), appended to out as RESP multibulks.
void rewrite_commands(std::string_view key, const Stream& s, std::string& out);

}  // namespace lfdb::db::stream
