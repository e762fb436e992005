#include "db/memory/access_clock.hpp"

#include <random>

namespace lfdb::db::memory {

std::uint32_t lfu_decayed(std::uint32_t stamp, std::int64_t now_ms) {
  const std::uint32_t counter = stamp & 0xFF;
  const int period = live().lfu_decay_time.load(std::memory_order_relaxed);
  if (period <= 0) return counter;
  const std::uint32_t last = (stamp >> 8) & 0xFFFF;
  const std::uint32_t now = minutes16(now_ms);
  const std::uint32_t elapsed = now >= last ? now - last : 0x10000 - last + now;
  const std::uint32_t periods = elapsed / static_cast<std::uint32_t>(period);
  return periods >= counter ? 0 : counter - periods;
}

std::uint32_t lfu_hit(std::uint32_t stamp, std::int64_t now_ms) {
  std::uint32_t counter = lfu_decayed(stamp, now_ms);
  if (counter < 255) {
    // One engine per thread: a hit must not contend with hits on other threads.
    thread_local std::minstd_rand rng(std::random_device{}());
    const double r = std::uniform_real_distribution<double>(0.0, 1.0)(rng);
    const double base = counter > kLfuInitial ? static_cast<double>(counter - kLfuInitial) : 0.0;
    const double factor = live().lfu_log_factor.load(std::memory_order_relaxed);
    if (r < 1.0 / (base * factor + 1.0)) ++counter;
  }
  return (minutes16(now_ms) << 8) | counter;
}

}  // namespace lfdb::db::memory
