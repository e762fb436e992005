// The key table: a partition's index from key to Entry, the product's own structure in place of
// a node-per-key std::unordered_map (docs/memory.md, "The layout of a key").
//
// Shape (extendible hashing over open-addressing segments, as Dragonfly's dashtable is):
// - A key's node is one allocation: its Entry, then the key's length and bytes, inline. A short
//   key costs no second allocation, and a node never moves, so an Entry* or a key's view stays
//   valid until that key is erased (handlers hold two entries at once; the expires index holds
//   views of the keys).
// - A directory of 2^depth pointers, indexed by the hash's top `depth` bits, points at
//   segments. A segment has local depth d <= depth and holds exactly the keys whose hash starts
//   with its d-bit prefix; the directory entries of that prefix all point at it.
// - A segment is cap_ eight-byte slots (kSlots once the table has split), linear probing: a slot is the node's address (48 bits)
//   and 16 bits of the key's hash, the tag. The tag also gives the key's home slot, so a probe
//   compares key bytes only when the tags agree, and deletion shifts later slots back without
//   rehashing any key (no tombstones).
// - Growth is per segment: the segment that passes its load limit splits in two by the next hash
//   bit (the directory doubles first when the segment was at full depth: pointers only). No
//   insert ever rehashes more than one segment's keys, however large the table.
// - Small tables stay small. A server has a table per database and color, thousands of them, most
//   empty or nearly so: an empty table allocates nothing (it reads one shared, never-written
//   empty segment), and a table's only segment starts at kMinSlots slots and about doubles
//   (grown_slots: sizes that fill an allocator size class) up to kSlots before the first split. All segments of a table have the same number of slots (cap_), so a
//   random slot of a random segment stays a fair draw. A table emptied by erases gives its
//   segments back.
// - The hash is given by the caller (hash_of(key), xxh3 of the whole key): a command hashes its
//   key once and hands the hash to every lookup it makes.
//
// SCAN: a cursor is a position in the hash space. scan() visits the whole segment holding that
// position and returns the position where the segment's range ends. Splits only divide ranges
// and never move a key to a position below the segment it left, so a key present for the whole
// iteration is returned at least once (exactly once while the table only grows).
//
// Random keys (RANDOMKEY, eviction's samples): a segment picked uniformly from the list of
// segments, then a slot picked uniformly; an empty slot starts over. Every key is equally likely
// (every segment has cap_ slots).
//
// Thread-safety: none inside; the owner (a Partition: its color's invocation) serializes.
#pragma once

#include <xxhash.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string_view>
#include <vector>

#include "db/entry.hpp"

namespace lfdb::db {

// The key table's hash of a key: xxh3 of all its bytes (the colors hash only a key's hash tag;
// for a key without one the two are the same number).
inline std::uint64_t hash_of(std::string_view key) { return XXH3_64bits(key.data(), key.size()); }

// One key: its Entry and, after it in the same allocation, the key's length and bytes. The
// length is one byte for a key shorter than 255 bytes (nearly all keys), else the byte 255 and
// four bytes of length: a node of a key of up to 15 bytes is 48 bytes, jemalloc's 48 class
// (with a four-byte length it took keys of up to 12: `counter:NNNNNN` made 64).
class KeyNode {
 public:
  Entry entry;

  std::string_view key() const {
    if (len_ != kLongKey) return {reinterpret_cast<const char*>(&len_ + 1), len_};
    std::uint32_t n = 0;
    std::memcpy(&n, &len_ + 1, sizeof n);
    return {reinterpret_cast<const char*>(&len_ + 1) + sizeof n, n};
  }
  // The node whose entry e is (the entry is a node's first member; the expires index keeps
  // entries, and finds their keys through this).
  static KeyNode* of(const Entry* e) { return reinterpret_cast<KeyNode*>(const_cast<Entry*>(e)); }
  // A node for key with an empty entry; destroy() is its only way out.
  static KeyNode* make(std::string_view key);
  static void destroy(KeyNode* n);
  // The bytes the allocator is asked for, for a key of n bytes (MEMORY USAGE).
  static std::size_t alloc_size(std::size_t n);

 private:
  KeyNode() = default;
  ~KeyNode() = default;
  static constexpr std::uint8_t kLongKey = 255;  // len_ for a longer key: the length follows

  std::uint8_t len_ = 0;  // the key's length, or kLongKey
};

class KeyTable {
 public:
  static constexpr std::size_t kSlots = 254;  // a full segment with its header is 2 KB: a size class
  static constexpr std::size_t kMaxLoad = kSlots * 4 / 5;  // split past this many keys
  static constexpr std::size_t kMinSlots = 4;  // a first segment's slots (48 bytes with its header)
  // The only segment's next size: each step fills one of jemalloc's size classes exactly
  // (4 slots 48 bytes, 8 80, 18 160, 38 320, 78 640, 158 1280, then kSlots 2048), so no
  // step pays for bytes it cannot use.
  static constexpr std::size_t grown_slots(std::size_t slots) {
    return slots < 8 ? 8 : slots < 158 ? slots * 2 + 2 : kSlots;
  }

  KeyTable();
  ~KeyTable();
  KeyTable(KeyTable&& o) noexcept;
  KeyTable& operator=(KeyTable&& o) noexcept;
  KeyTable(const KeyTable&) = delete;
  KeyTable& operator=(const KeyTable&) = delete;

  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  // The node of key (hash == hash_of(key)), or nullptr.
  KeyNode* find(std::string_view key, std::uint64_t hash) const;
  // A new node for a key that is not in the table (the caller checked with find()).
  KeyNode* insert(std::string_view key, std::uint64_t hash);
  // Erases a node of this table, given its key's hash.
  void erase(KeyNode* n, std::uint64_t hash);
  void erase(KeyNode* n) { erase(n, hash_of(n->key())); }
  // Every node freed; the table is as new (no segment of its own).
  void clear();
  void swap(KeyTable& o) noexcept;

  // Brings the slots of hash's home into cache ahead of a find() (a pipelined batch).
  void prefetch(std::uint64_t hash) const;
  // Then, once those slots are in, the node a find() of hash would compare first: the first
  // slot from its home with its tag (a key present or, rarely, another with the same tag).
  void prefetch_node(std::uint64_t hash) const;

  // A uniformly random node, or nullptr when the table is empty. `next` gives 64 random bits.
  template <class Rng>
  KeyNode* random(Rng& next) const {
    if (size_ == 0) return nullptr;
    for (int tries = 0; tries < 1024; ++tries) {
      const Segment* s = segments_[static_cast<std::size_t>(next() % segments_.size())];
      const std::uint64_t slot = s->slots()[static_cast<std::size_t>(next() % cap_)];
      if (slot != 0) return node_of(slot);
    }
    return first_from(static_cast<std::size_t>(next() % segments_.size()),
                      static_cast<std::size_t>(next() % cap_));
  }

  // Where a key sits: its node, its segment (an index into the list of segments) and slot, as
  // pick() found it. erase_at() erases there without hashing or probing; the node must still be
  // in the table with no insert since (another erase may have shifted it: then it is found).
  struct Pick {
    KeyNode* node = nullptr;
    std::uint32_t segment = 0;
    std::uint32_t slot = 0;
  };
  static constexpr int kMaxPicks = 64;
  // Eviction's samples: fills out[0..n) (n <= kMaxPicks) with keys drawn as random() draws them
  // (each key equally likely, repeats possible) and returns how many (0 for an empty table, else
  // n). The n draws run side by side: every draw's slot is prefetched before any is read, and
  // every found node before the caller reads it, so the cache misses of a sample overlap
  // instead of costing one after another (docs/memory.md, "Numbers").
  template <class Rng>
  int pick(Rng& next, Pick* out, int n) const {
    if (size_ == 0 || n <= 0) return 0;
    if (n > kMaxPicks) n = kMaxPicks;
    int todo[kMaxPicks];
    int left = n;
    for (int i = 0; i < n; ++i) todo[i] = i;
    const auto segs = static_cast<std::uint64_t>(segments_.size());
    for (int round = 0; left > 0 && round < 64; ++round) {
      for (int k = 0; k < left; ++k) {
        // One 64-bit draw gives both indexes (multiply-shift: no division).
        const std::uint64_t r = next();
        Pick& p = out[todo[k]];
        p.segment = static_cast<std::uint32_t>(((r >> 32) * segs) >> 32);
        p.slot = static_cast<std::uint32_t>(((r & 0xFFFFFFFF) * cap_) >> 32);
        __builtin_prefetch(&segments_[p.segment]->slots()[p.slot]);
      }
      int still = 0;
      for (int k = 0; k < left; ++k) {
        Pick& p = out[todo[k]];
        const std::uint64_t slot = segments_[p.segment]->slots()[p.slot];
        if (slot == 0) {
          todo[still++] = todo[k];  // an empty slot: drawn again next round
          continue;
        }
        p.node = node_of(slot);
        __builtin_prefetch(p.node);
      }
      left = still;
    }
    for (int k = 0; k < left; ++k) out[todo[k]] = first_pick(static_cast<std::size_t>(next() % segments_.size()));
    return n;
  }
  // Erases p's node: at p's place when it is still there (no erase since moved it), as erase()
  // without hashing its key or probing for it; else as erase().
  void erase_at(const Pick& p);

  // SCAN: calls fn(KeyNode&) for every key of the segment holding hash position `cursor`;
  // returns the position where that segment's range ends, or 0 past the last one.
  template <class Fn>
  std::uint64_t scan(std::uint64_t cursor, Fn&& fn) const {
    const Segment* s = segment_of(cursor);
    const std::uint64_t* slots = s->slots();
    for (std::size_t i = 0; i < cap_; ++i) {
      if (slots[i] != 0) fn(*node_of(slots[i]));
    }
    return range_end(*s, cursor);
  }

  // Iteration in no particular order (snapshots, KEYS): `for (const auto& [key, e] : table)`.
  struct Item {
    std::string_view first;
    Entry& second;
  };
  class Iterator {
   public:
    Item operator*() const {
      KeyNode* n = node();
      return {n->key(), n->entry};
    }
    KeyNode* node() const { return node_of(t_->segments_[seg_]->slots()[slot_]); }
    Iterator& operator++() {
      ++slot_;
      settle();
      return *this;
    }
    bool operator==(const Iterator& o) const { return seg_ == o.seg_ && slot_ == o.slot_; }

   private:
    friend class KeyTable;
    Iterator(const KeyTable* t, std::size_t seg, std::size_t slot) : t_(t), seg_(seg), slot_(slot) {
      settle();
    }
    void settle();
    const KeyTable* t_;
    std::size_t seg_;
    std::size_t slot_;
  };
  Iterator begin() const { return Iterator(this, 0, 0); }
  Iterator end() const { return Iterator(this, segments_.size(), 0); }

  // For tests and MEMORY figures: segments, the directory's depth, slots in all.
  std::size_t segments() const { return segments_.size(); }
  unsigned depth() const { return depth_; }
  std::size_t capacity() const { return segments_.size() * cap_; }
  // Checks every invariant (each key reachable from its hash, depths and prefixes consistent);
  // for tests.
  bool valid() const;

 private:
  // A segment's header; its slots follow it in the same allocation (cap_ of them).
  struct Segment {
    std::uint32_t depth = 0;  // local depth: the prefix length its keys share
    std::uint32_t size = 0;
    std::uint64_t prefix = 0;  // the `depth` top bits its keys' hashes share
    std::uint64_t* slots() { return reinterpret_cast<std::uint64_t*>(this + 1); }
    const std::uint64_t* slots() const { return reinterpret_cast<const std::uint64_t*>(this + 1); }
  };
  static_assert(sizeof(Segment) + KeyTable::kSlots * 8 == 2048, "a full segment is one 2 KB size class");

  static constexpr std::uint64_t kPtrMask = (std::uint64_t{1} << 48) - 1;
  static KeyNode* node_of(std::uint64_t slot) { return reinterpret_cast<KeyNode*>(slot & kPtrMask); }
  static std::uint64_t tag_of(std::uint64_t hash) { return hash & 0xFFFF; }
  std::size_t home_of_tag(std::uint64_t tag) const { return static_cast<std::size_t>((tag * cap_) >> 16); }
  std::size_t next(std::size_t i) const { return i + 1 == cap_ ? 0 : i + 1; }
  Segment* segment_of(std::uint64_t hash) const {
    return depth_ == 0 ? first_ : dir_[static_cast<std::size_t>(hash >> (64 - depth_))];
  }
  static Segment* new_segment(std::size_t slots);
  static void delete_segment(Segment* s);
  static Segment* shared_empty();
  static std::uint64_t range_end(const Segment& s, std::uint64_t cursor);
  KeyNode* first_from(std::size_t seg, std::size_t slot) const;
  Pick first_pick(std::size_t seg) const;  // the first key from segment seg on, with its place
  void remove_at(Segment& s, std::size_t i);  // empties slot i of s (backward shift), frees its node
  void place(Segment& s, KeyNode* n, std::uint64_t hash) const;
  void grow();
  void split(Segment* s);
  void free_all();

  Segment* first_;                  // the segment of every hash while depth_ == 0
  std::vector<Segment*> dir_;       // 2^depth_ entries once depth_ > 0 (empty before)
  std::vector<Segment*> segments_;  // each segment once (owned); none for an empty table
  std::size_t cap_ = kMinSlots;     // slots in each segment
  unsigned depth_ = 0;
  std::size_t size_ = 0;
};

}  // namespace lfdb::db
