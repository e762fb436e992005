// A key's access clock: 32 bits kept in the padding of its Value after `type` (no byte added
// per key; docs/memory.md has the layout). What they mean depends on the policy:
//
//   LRU (every policy but the two LFU ones): the low 32 bits of the last access's wall clock in
//     milliseconds. Idle time = now - stamp, modulo 2^32 (so it wraps after 49.7 days, where
//     Redis's 24-bit seconds clock wraps after 194 days).
//   LFU (allkeys-lfu, volatile-lfu): bits 8..23 the minute of the last decrement (16 bits, as
//     Redis's), bits 0..7 a logarithmic access counter that starts at 5 for a new key; a hit
//     adds one with probability 1 / ((counter - 5) * lfu-log-factor + 1) and every
//     lfu-decay-time minutes without access take one off.
//
// Readers of a color run next to each other, so two GETs may stamp one key at once: the field
// is read and written through std::atomic_ref, relaxed (a lost LFU increment is harmless).
//
// Thread-safety: see above; otherwise the key's partition's rules (its color's holder).
#pragma once

#include <atomic>
#include <cstdint>

#include "db/memory/settings.hpp"

namespace lfdb::db::memory {

inline constexpr std::uint32_t kLfuInitial = 5;

inline std::uint32_t lru_stamp(std::int64_t now_ms) { return static_cast<std::uint32_t>(now_ms); }
inline std::uint32_t minutes16(std::int64_t now_ms) {
  return static_cast<std::uint32_t>(now_ms / 60000) & 0xFFFF;
}

// The stamp a new key starts with under the current policy.
inline std::uint32_t initial_stamp(std::int64_t now_ms) {
  if (is_lfu(live().policy.load(std::memory_order_relaxed))) {
    return (minutes16(now_ms) << 8) | kLfuInitial;
  }
  return lru_stamp(now_ms);
}

// The LFU counter after its decay (what OBJECT FREQ answers), from an LFU stamp.
std::uint32_t lfu_decayed(std::uint32_t stamp, std::int64_t now_ms);
// One access under LFU: decay, then the logarithmic increment; the new stamp.
std::uint32_t lfu_hit(std::uint32_t stamp, std::int64_t now_ms);

// Milliseconds since the last access, from an LRU stamp.
inline std::uint64_t idle_ms(std::uint32_t stamp, std::int64_t now_ms) {
  return static_cast<std::uint32_t>(lru_stamp(now_ms) - stamp);
}

// A hit on the key whose access field is `field`.
inline void touch(std::uint32_t& field, std::int64_t now_ms) {
  std::atomic_ref<std::uint32_t> a(field);
  if (is_lfu(live().policy.load(std::memory_order_relaxed))) {
    a.store(lfu_hit(a.load(std::memory_order_relaxed), now_ms), std::memory_order_relaxed);
  } else {
    a.store(lru_stamp(now_ms), std::memory_order_relaxed);
  }
}
inline std::uint32_t read(const std::uint32_t& field) {
  return std::atomic_ref<std::uint32_t>(const_cast<std::uint32_t&>(field)).load(std::memory_order_relaxed);
}

}  // namespace lfdb::db::memory
