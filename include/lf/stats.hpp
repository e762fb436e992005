// Per-thread statistics of the concurrency models: each thread counts its own events,
// promotions and waits in relaxed atomics that any thread may read; context switches
// come from getrusage(RUSAGE_THREAD), which only the thread itself can ask for, so it refreshes
// its snapshot when it leaves a thread set and whenever a reader bumps the refresh epoch.
// Thread-safety: the owning thread writes; anyone reads (values may be slightly stale).
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace lf {

struct ThreadStats {
  std::atomic<pid_t> tid{0};
  std::atomic<std::uint64_t> events{0};          // events this thread dispatched
  std::atomic<std::uint64_t> promotions{0};      // followers this thread promoted to leader
  std::atomic<std::uint64_t> follower_waits{0};  // times it slept as a follower
  std::atomic<std::uint64_t> queue_waits{0};     // times work waited in a queue (hsha, colors)
  std::atomic<std::uint64_t> voluntary_cs{0};    // getrusage(RUSAGE_THREAD) snapshot
  std::atomic<std::uint64_t> involuntary_cs{0};

  void refresh_rusage();  // only from the owning thread
  void bump(std::atomic<std::uint64_t>& c) { c.store(c.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed); }
};

// The bytes sessions read from their connections and the replies they produced, summed over
// every model and thread of the process (lfdb-server's INFO total_net_input_bytes and
// total_net_output_bytes). Counted where the connections read and where sessions hand over
// their output; each thread adds to its own cache line, a reader sums them.
struct SessionTraffic {
  std::uint64_t in = 0, out = 0;
};
void count_session_input(std::size_t bytes);
void count_session_output(std::size_t bytes);
SessionTraffic session_traffic();

// A plain copy of ThreadStats (or a sum of several).
struct ThreadStatsSnapshot {
  pid_t tid = 0;
  std::string role;  // "leader/follower", "reactor", "worker", "connection", ...
  std::uint64_t events = 0, promotions = 0, follower_waits = 0, queue_waits = 0,
                voluntary_cs = 0, involuntary_cs = 0;

  static ThreadStatsSnapshot of(const ThreadStats& s, std::string role);
  ThreadStatsSnapshot& operator+=(const ThreadStatsSnapshot& o);
};

// Context switches of a thread of this process, read from /proc (works for any thread, at any
// time; used by reports when the thread cannot be asked to call getrusage itself).
bool read_thread_context_switches(pid_t tid, std::uint64_t& voluntary, std::uint64_t& involuntary);
// The same for the whole process (all threads, live and exited).
bool read_process_context_switches(std::uint64_t& voluntary, std::uint64_t& involuntary);

// Heap allocations so far, when the process runs with build/lib/liblf_alloccount.so preloaded;
// -1 otherwise.
std::int64_t alloc_count();

pid_t current_tid();

}  // namespace lf
