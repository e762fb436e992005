// Server statistics for INFO. Hot counters are striped per thread (each thread bumps its own
// cache line; INFO sums), so counting a command costs one uncontended atomic add.
//
// Thread-safety: ServerStats's members are atomics; RateSampler says its own.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

#include "lf/stats.hpp"

namespace lfdb::db {

class StripedCounter {
 public:
  void add(std::uint64_t n = 1) {
    slots_[slot()].v.fetch_add(n, std::memory_order_relaxed);
  }
  std::uint64_t sum() const {
    std::uint64_t s = 0;
    for (const auto& x : slots_) s += x.v.load(std::memory_order_relaxed);
    return s;
  }
  void reset() {
    for (auto& x : slots_) x.v.store(0, std::memory_order_relaxed);
  }

 private:
  static constexpr std::size_t kSlots = 16;
  struct alignas(64) Slot {
    std::atomic<std::uint64_t> v{0};
  };
  static std::size_t slot() {
    static std::atomic<std::size_t> next{0};
    thread_local const std::size_t mine = next.fetch_add(1, std::memory_order_relaxed) % kSlots;
    return mine;
  }
  std::array<Slot, kSlots> slots_;
};

// INFO's instantaneous_ops_per_sec: a counter's rate per second, the mean of the last kSamples
// rates measured between calls of sample() (the server's ticker, every 1/hz: Redis samples in
// its cron likewise and reports the same mean).
//
// Thread-safety: sample() is called by one thread only (the ticker), which owns every field
// but rate_; rate_ is an atomic that INFO reads from any thread.
class RateSampler {
 public:
  // Called every tick; takes a sample about every 100 ms, as Redis does whatever its hz:
  // shorter intervals, measured in whole milliseconds, would make the rate jump.
  void sample(std::uint64_t total, std::int64_t now_ms) {
    if (last_ms_ != 0 && now_ms - last_ms_ < kIntervalMs) return;
    if (last_ms_ != 0) {
      // CONFIG RESETSTAT sets the counter back: that interval counts as idle.
      const std::uint64_t done = total >= last_total_ ? total - last_total_ : 0;
      rates_[next_] = done * 1000 / static_cast<std::uint64_t>(now_ms - last_ms_);
      next_ = (next_ + 1) % kSamples;
      std::uint64_t sum = 0;
      for (const std::uint64_t r : rates_) sum += r;
      rate_.store(sum / kSamples, std::memory_order_relaxed);
    }
    last_ms_ = now_ms;
    last_total_ = total;
  }
  std::uint64_t per_second() const { return rate_.load(std::memory_order_relaxed); }

 private:
  static constexpr std::size_t kSamples = 16;
  static constexpr std::int64_t kIntervalMs = 90;  // about 100: a 10 hz tick a little early still counts
  std::int64_t last_ms_ = 0;                     // the sampling thread's
  std::uint64_t last_total_ = 0;                 // the sampling thread's
  std::array<std::uint64_t, kSamples> rates_{};  // the sampling thread's
  std::size_t next_ = 0;                         // the sampling thread's
  std::atomic<std::uint64_t> rate_{0};
};

// keyspace_hits / keyspace_misses: the lookups of reading invocations (Redis counts its read
// lookups; lfdb's readers are the invocations that only read, CommandContext::find). One pair
// for the process: the lookups are counted where there may be no Server (the data handlers
// run over a bare Keyspace in unit tests and fuzzers).
struct KeyspaceLookups {
  StripedCounter hits;
  StripedCounter misses;
};
inline KeyspaceLookups& keyspace_lookups() {
  static KeyspaceLookups lookups;
  return lookups;
}

struct ServerStats {
  StripedCounter commands;           // total_commands_processed
  StripedCounter parked;             // commands that waited for their color (connection parked)
  std::atomic<std::uint64_t> connections{0};   // total_connections_received
  std::atomic<std::uint64_t> expired_keys{0};
  std::atomic<std::uint64_t> expiry_cycles{0};
  // maxmemory drains run by other colors for a command past the limit (Server::drain_over_limit)
  std::atomic<std::uint64_t> eviction_drains{0};
  std::atomic<std::uint64_t> protocol_errors{0};
  // The process's session traffic (lf::session_traffic) at the last CONFIG RESETSTAT: INFO's
  // total_net_input_bytes / total_net_output_bytes count from there.
  std::atomic<std::uint64_t> net_in_base{0}, net_out_base{0};

  void reset() {
    commands.reset();
    parked.reset();
    keyspace_lookups().hits.reset();
    keyspace_lookups().misses.reset();
    connections = 0;
    expired_keys = 0;
    expiry_cycles = 0;
    eviction_drains = 0;
    protocol_errors = 0;
    const lf::SessionTraffic t = lf::session_traffic();
    net_in_base = t.in;
    net_out_base = t.out;
  }
  lf::SessionTraffic traffic() const {
    const lf::SessionTraffic t = lf::session_traffic();
    // A RESETSTAT between the sum and the loads may leave a base above the sum: none yet.
    const std::uint64_t in_base = net_in_base.load(), out_base = net_out_base.load();
    return {t.in > in_base ? t.in - in_base : 0, t.out > out_base ? t.out - out_base : 0};
  }
};

}  // namespace lfdb::db
