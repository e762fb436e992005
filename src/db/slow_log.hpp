// SlowLog: Redis's SLOWLOG. A command whose handler ran slowlog-log-slower-than microseconds or
// more (never, when negative) is kept with its id, time, duration, arguments (at most 32, each
// at most 128 bytes, as Redis trims them), client address and name; the newest
// slowlog-max-len entries stay.
//
// Thread-safety: a monitor (sendable_monitor): the entries are guarded by mu_; the settings are
// atomics read without the lock, so a command that is not slow pays two relaxed loads.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "lf/mutex.hpp"

namespace lfdb::db {

class SlowLog {
 public:
  using sendable_monitor = void;

  struct Entry {
    std::uint64_t id = 0;
    std::int64_t time_s = 0;
    std::uint64_t usec = 0;
    std::vector<std::string> args;
    std::string addr, name;
  };

  void set_threshold_us(std::int64_t us) { threshold_us_.store(us, std::memory_order_relaxed); }
  void set_max_len(std::int64_t n);
  bool wanted(std::uint64_t usec) const {
    const std::int64_t t = threshold_us_.load(std::memory_order_relaxed);
    return t >= 0 && usec >= static_cast<std::uint64_t>(t);
  }
  void record(std::uint64_t usec, std::span<const std::string_view> argv, std::string addr,
              std::string name);

  std::vector<Entry> newest(std::size_t count);  // newest first
  std::size_t size();
  void reset();

 private:
  std::atomic<std::int64_t> threshold_us_{10000};  // Redis's defaults
  std::atomic<std::int64_t> max_len_{128};
  lf::Mutex mu_;
  std::deque<Entry> entries_ LF_GUARDED_BY(mu_);  // newest first
  std::uint64_t next_id_ LF_GUARDED_BY(mu_) = 0;
};

}  // namespace lfdb::db
