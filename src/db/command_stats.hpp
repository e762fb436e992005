// CommandStats: INFO commandstats (cmdstat_<name>:calls=,usec=,usec_per_call=,rejected_calls=,
// failed_calls=), INFO latencystats and LATENCY HISTOGRAM (each command's calls by duration,
// in power-of-two buckets of microseconds), per command of the table (by its dense index).
//
// Counting is per thread: each thread that runs commands gets a row block of its own on its
// first count, so counting a call is a few uncontended atomic adds on lines no other thread
// writes. INFO and CONFIG RESETSTAT walk every block.
//
// Thread-safety: the list of blocks is guarded by mu_; a block's counters are atomics written
// by their own thread (and zeroed by reset()), read by INFO from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "lf/mutex.hpp"

namespace lfdb::db {

class CommandStats {
 public:
  // Bucket b counts the calls that took at most 2^b microseconds (and more than 2^(b-1)).
  static constexpr std::size_t kBuckets = 40;
  struct Totals {
    std::uint64_t calls = 0, usec = 0, rejected = 0, failed = 0;
    std::uint64_t buckets[kBuckets] = {};
    // The upper bound (microseconds) of the bucket the p-th percentile (0 <= p <= 100) falls in
    // (p 0: the fastest call's); 0 with no call in any bucket.
    std::uint64_t percentile(double p) const;
  };

  CommandStats();
  // A command that ran (failed: its reply was an error) and how long its handler took; its
  // duration goes into the buckets only while latency tracking is on (Redis's latency-tracking).
  void record(std::uint16_t index, std::uint64_t usec, bool failed);
  // A command refused before it ran (NOAUTH, READONLY, MISCONF, BUSY ...).
  void reject(std::uint16_t index);
  // A call recorded already that ends in an error later (a blocked command woken with one).
  void fail(std::uint16_t index);
  // By command index (commands::spec_at).
  std::vector<Totals> totals();
  void reset();
  void set_latency_tracking(bool on) { latency_tracking_.store(on, std::memory_order_relaxed); }

 private:
  struct Row {
    std::atomic<std::uint64_t> calls{0}, usec{0}, rejected{0}, failed{0};
    std::atomic<std::uint64_t> buckets[kBuckets] = {};
  };
  Row& row(std::uint16_t index);

  std::atomic<bool> latency_tracking_{true};  // CONFIG SET latency-tracking; relaxed: a flag
  const std::uint64_t serial_;  // tells this instance's thread-local block from another's
  lf::Mutex mu_;
  std::vector<std::unique_ptr<Row[]>> blocks_ LF_GUARDED_BY(mu_);
};

}  // namespace lfdb::db
