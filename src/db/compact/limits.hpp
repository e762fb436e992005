// Where the compact encodings end: Redis's hash-max-listpack-entries/value and
// zset-max-listpack-entries/value, set-max-intset-entries, and how large a list's node grows
// (list-max-listpack-size) and how much of it stays plain (list-compress-depth), as CONFIG SET leaves them.
//
// A container past a limit converts to its full structure for good (Redis never converts back);
// the limits are read on every write that grows a compact container, so they are atomics,
// relaxed, written at start and by CONFIG SET (db/config.cpp), process-wide as the parameters
// are.
//
// Thread-safety: atomics only.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace lfdb::db::compact {

struct EncodingLimits {
  std::atomic<std::size_t> zset_entries{128};  // zset-max-listpack-entries
  std::atomic<std::size_t> zset_value{64};     // zset-max-listpack-value (bytes of a member)
  std::atomic<std::size_t> hash_entries{512};  // hash-max-listpack-entries
  std::atomic<std::size_t> hash_value{64};     // hash-max-listpack-value (bytes of a field or value)
  // list-max-listpack-size: positive, elements a node holds; negative, its bytes: -1 4 KB,
  // -2 8 KB, -3 16 KB, -4 32 KB, -5 (and below) 64 KB.
  std::atomic<std::int64_t> list_fill{-2};
  std::atomic<std::size_t> set_entries{512};   // set-max-intset-entries
  // list-compress-depth: nodes kept plain at each end of a list; 0, no compression.
  std::atomic<std::size_t> list_depth{0};

  std::size_t zset_max_entries() const { return zset_entries.load(std::memory_order_relaxed); }
  std::size_t zset_max_value() const { return zset_value.load(std::memory_order_relaxed); }
  std::size_t hash_max_entries() const { return hash_entries.load(std::memory_order_relaxed); }
  std::size_t hash_max_value() const { return hash_value.load(std::memory_order_relaxed); }
  std::int64_t list_max_fill() const { return list_fill.load(std::memory_order_relaxed); }
  std::size_t set_max_intset_entries() const { return set_entries.load(std::memory_order_relaxed); }
  std::size_t list_compress_depth() const { return list_depth.load(std::memory_order_relaxed); }
};

inline EncodingLimits& limits() {
  static EncodingLimits l;
  return l;
}

}  // namespace lfdb::db::compact
