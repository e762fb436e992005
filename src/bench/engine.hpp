// bench::run_load: drives a workload's terminals over many connections from a few threads.
//
// Each worker thread owns an lf::Reactor (single-threaded mode, level-triggered epoll) with its
// share of the connections registered as event handlers, so one thread serves thousands of
// terminals and no thread exists per connection. A connection keeps a ring of the operations it
// has in flight (one for the OLTP workloads, up to --pipeline for getset) and hands each reply
// to its Terminal.
//   closed loop: a connection starts its next operation when one finishes.
//   open loop:   a timerfd in the same reactor releases operations on the OpenLoopPacer's
//                timetable to free connections; latency counts from the due time.
// The main thread sets the timetable, prints a progress line a second and merges the results.
//
// Thread-safety: run_load is called from one thread. Inside, workers share only the run's
// immutable timetable, a few atomics (stop, tickets) and their own statistics, which the
// reporter reads under each worker's lock.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "bench/options.hpp"
#include "bench/terminal.hpp"
#include "lf/histogram.hpp"
#include "lf/net.hpp"

namespace bench {

using CountMap = std::map<std::string, std::uint64_t, std::less<>>;

// What one second (or the whole run) produced.
struct Interval {
  double elapsed_s = 0;   // since the load started (warm-up included)
  bool warmup = false;
  std::uint64_t ops = 0;
  std::uint64_t errors = 0;
  double seconds = 0;     // length of the interval
  lf::Histogram latency;  // ns
};

struct RunStats {
  double seconds = 0;              // the measured window
  std::uint64_t ops = 0;           // measured operations finished (errors included)
  std::uint64_t errors = 0;        // measured operations that failed
  std::uint64_t retries = 0;       // WATCH conflicts (EXEC nil) in measured operations
  std::uint64_t replies = 0;       // replies received, all phases: commands answered
  std::uint64_t warmup_ops = 0;
  CountMap outcomes;               // normal endings by name
  CountMap error_kinds;            // failures by kind (operations, and connections lost)
  std::uint64_t connections = 0;   // opened
  std::uint64_t connections_lost = 0;
  std::uint64_t unfinished = 0;    // operations abandoned with their connection
  // Open loop: how far behind the timetable operations started (client or server too slow).
  std::uint64_t late_starts = 0;   // started more than 1 ms after their due time
  std::uint64_t max_start_lag_ns = 0;
  lf::Histogram latency;           // ns, measured operations
  bool interrupted = false;
};

using ProgressFn = std::function<void(const Interval&)>;

// Connects opt.connections terminals to `addr`, runs the load and returns what was measured.
// `progress` (may be empty) is called about once a second from the calling thread. Setting
// `stop` (e.g. from a signal handler) ends the run early: no new operations, the ones in flight
// finish. Fails only when the run could not start (a connection refused, too few descriptors).
lf::Result<RunStats> run_load(const Options& opt, const lf::InetAddr& addr, Workload& workload,
                              const ProgressFn& progress, const std::atomic<bool>& stop);

// Raises RLIMIT_NOFILE so `needed` descriptors fit; an error says how many are allowed.
lf::Status raise_fd_limit(std::uint64_t needed);

}  // namespace bench
