// The memory limit and how it is kept: maxmemory, maxmemory-policy, maxmemory-samples,
// maxmemory-eviction-tenacity, lfu-log-factor, lfu-decay-time (docs/memory.md).
//
// `Limits` is a value (the command line, the config file). `live()` is the process's current
// setting, read on every key access (the access clocks) and every write (the limit): atomics,
// relaxed, written by CONFIG SET (which runs as a writer of the "config" global) and at start.
//
// Thread-safety: Limits is a value; LiveLimits's members are atomics.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

namespace lfdb::db::memory {

enum class Policy : std::uint8_t {
  kNoEviction,
  kAllKeysLru,
  kAllKeysLfu,
  kAllKeysRandom,
  kVolatileLru,
  kVolatileLfu,
  kVolatileRandom,
  kVolatileTtl,
};
const char* to_string(Policy p);
bool parse_policy(std::string_view s, Policy& out);  // case-insensitive, Redis's names
inline bool is_lfu(Policy p) { return p == Policy::kAllKeysLfu || p == Policy::kVolatileLfu; }
inline bool is_volatile(Policy p) {
  return p == Policy::kVolatileLru || p == Policy::kVolatileLfu || p == Policy::kVolatileRandom ||
         p == Policy::kVolatileTtl;
}

struct Limits {
  std::uint64_t maxmemory = 0;  // 0: no limit
  Policy policy = Policy::kNoEviction;
  int samples = 5;           // keys sampled per partition per eviction round (1..INT_MAX)
  int tenacity = 10;         // 0..100: how long one write may keep evicting
  int lfu_log_factor = 10;   // how slowly the LFU counter saturates
  int lfu_decay_time = 1;    // minutes for the LFU counter to halve... to drop by one (0: never)
};

// The parameters this room owns, as CONFIG GET names them.
bool is_param(std::string_view name);
// Checks and applies one parameter to `to`; false with Redis's reason (the text after
// "... - " in CONFIG SET's error).
bool parse_param(std::string_view name, const std::string& value, Limits& to, std::string& why);
// The value as CONFIG GET shows it.
std::string format_param(std::string_view name, const Limits& from);
inline constexpr std::string_view kParams[] = {"maxmemory", "maxmemory-policy", "maxmemory-samples",
                                               "maxmemory-eviction-tenacity", "lfu-log-factor",
                                               "lfu-decay-time"};

struct LiveLimits {
  std::atomic<std::uint64_t> maxmemory{0};
  std::atomic<Policy> policy{Policy::kNoEviction};
  std::atomic<int> samples{5};
  std::atomic<int> tenacity{10};
  std::atomic<int> lfu_log_factor{10};
  std::atomic<int> lfu_decay_time{1};

  void store(const Limits& l);
  Limits load() const;
};
LiveLimits& live();

}  // namespace lfdb::db::memory
