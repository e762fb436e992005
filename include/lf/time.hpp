// Time helpers shared by liblf: one monotonic clock and a "no timeout" value.
// Thread-safety: values only.
#pragma once

#include <chrono>
#include <cstdint>

namespace lf {

using Clock = std::chrono::steady_clock;
using Duration = std::chrono::nanoseconds;
using TimePoint = Clock::time_point;

inline constexpr Duration kInfinite = Duration::max();

// Deadline `d` from now, saturating instead of overflowing for kInfinite.
inline TimePoint deadline_after(Duration d) {
  if (d == kInfinite) return TimePoint::max();
  return Clock::now() + d;
}

// Milliseconds until `deadline` for epoll_wait: -1 means wait forever, rounded up so a short
// positive remainder does not become a busy loop of zero-timeout waits.
inline int epoll_timeout_ms(TimePoint deadline) {
  if (deadline == TimePoint::max()) return -1;
  auto now = Clock::now();
  if (deadline <= now) return 0;
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(deadline - now).count();
  std::int64_t ms = (us + 999) / 1000;
  return ms > 0x7fffffff ? 0x7fffffff : static_cast<int>(ms);
}

}  // namespace lf
