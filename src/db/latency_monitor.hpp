// LatencyMonitor: Redis's latency monitor. Once latency-monitor-threshold is above 0, an event
// (a command that ran that many milliseconds or more: "command", or "fast-command" for the
// commands flagged fast; a key-expiry sweep: "expire-cycle") is kept with its time, as the
// last 160 samples of its kind (one per second: the worst of that second) and the worst ever,
// for LATENCY LATEST / HISTORY / RESET / DOCTOR / GRAPH.
//
// Thread-safety: a monitor (sendable_monitor): the events are guarded by mu_; the threshold is
// an atomic read without the lock, so a server with the monitor off pays one relaxed load.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "lf/mutex.hpp"

namespace lfdb::db {

class LatencyMonitor {
 public:
  using sendable_monitor = void;
  static constexpr std::size_t kSamples = 160;

  struct Sample {
    std::int64_t time_s = 0;
    std::uint64_t ms = 0;
  };
  struct Event {
    std::vector<Sample> samples;  // oldest first, at most kSamples
    std::uint64_t max_ms = 0;
  };

  void set_threshold_ms(std::int64_t ms) { threshold_ms_.store(ms, std::memory_order_relaxed); }
  // Keeps the event if it took at least the threshold (and the monitor is on).
  void record(std::string_view event, std::uint64_t ms);
  bool wanted(std::uint64_t ms) const {
    const std::int64_t t = threshold_ms_.load(std::memory_order_relaxed);
    return t > 0 && ms >= static_cast<std::uint64_t>(t);
  }

  std::map<std::string, Event> events();
  // Forgets the events named (all of them when none is): how many there were.
  std::size_t reset(const std::vector<std::string>& names);

 private:
  std::atomic<std::int64_t> threshold_ms_{0};
  lf::Mutex mu_;
  std::map<std::string, Event, std::less<>> events_ LF_GUARDED_BY(mu_);
};

}  // namespace lfdb::db
