// What the allocator says: the bytes the process has allocated (used_memory), the resident set
// (used_memory_rss), and the allocator's own report and purge (MEMORY MALLOC-STATS, PURGE).
//
// lfdb-server links jemalloc (Debian's libjemalloc-dev), whose `stats.allocated` counts every
// live allocation of every thread, the Lua states and the C libraries included; reading it
// after an `epoch` refresh costs a few microseconds (docs/memory.md has the measurement), so
// `Gauge` below reads it at most once per refresh interval and the writers share that figure.
// Builds without jemalloc (the sanitizers bring their own allocator; unit tests) read the
// sanitizer's count, or glibc's mallinfo2(): the same questions, another allocator's answer.
//
// Thread-safety: every function may be called from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "dispatch/replica_bytes.hpp"

namespace lfdb::db::memory {

const char* allocator_name();          // "jemalloc-5.3.0", "libc", "sanitizer"
std::uint64_t allocated_bytes();       // fresh: the allocator's live bytes now
std::uint64_t resident_bytes();        // the process's RSS (/proc/self/statm)
std::string malloc_stats();            // the allocator's own text report
bool purge();                          // give unused pages back to the OS; false: not supported
// Off: the calling thread stops caching freed blocks and returns those it holds to its arena
// (jemalloc's thread.tcache.enabled), for a thread that will allocate little from now on:
// main() while the server serves. A thread's cache is trimmed only as that thread allocates, so
// an idle thread's stays full for good (about 0.5 MB after the server's start). On again: main()
// before the shutdown, which frees the whole keyspace. No-op without jemalloc.
void set_thread_cache(bool on);
// jemalloc's allocated / active / resident / retained after one refresh (0 without jemalloc).
struct AllocatorFigures {
  std::uint64_t allocated = 0, active = 0, resident = 0, retained = 0;
};
AllocatorFigures allocator_figures();

// The calling thread's bytes freed less bytes allocated since it started (jemalloc's
// thread.deallocated - thread.allocated, read through the pointers jemalloc hands out: two loads,
// no mallctl). The difference of two readings is exactly what the code between them gave back
// to used_memory, by the allocator's own count: what eviction frees, where object_size.hpp's
// estimate (MEMORY USAGE) is only an estimate. has_thread_counters() is false without jemalloc
// (the sanitizers' allocator, unit tests): callers then fall back to the estimate.
bool has_thread_counters();
std::int64_t thread_net_freed();

// used_memory as the eviction sees it: the allocator's figure, refreshed every `kRefreshNs` or
// once writers have brought `kRefreshBytes` of arguments since the last refresh, whichever
// comes first, so a write pays an atomic add and a clock read; the peak follows it. An
// eviction that freed bytes takes them off at once (forget()), so the next write does not
// evict again for memory already given back.
class Gauge {
 public:
  static constexpr std::int64_t kRefreshNs = 1'000'000;  // 1 ms
  static constexpr std::uint64_t kRefreshBytes = 64 << 10;
  // What eviction weighs: the cached figure less releasing and not_counted(). Cached, refreshed
  // when stale.
  std::uint64_t used(std::uint64_t incoming = 0);
  std::uint64_t fresh();    // refreshed now: all of used_memory (INFO's figure)
  std::uint64_t fresh_for_eviction() { return less_not_counted(fresh()); }  // refreshed, as used()
  // The bytes Redis leaves out of eviction (mem_not_counted_for_evict): the replication
  // backlog's blocks held only for replicas that have not been sent them (dispatch::Backlog),
  // as Redis 7.0 leaves out its replicas' share of the replication buffer. Evicting keys to make
  // room for a stalled replica's stream would empty the data set for nothing: the replica is
  // dropped at client-output-buffer-limit replica instead. One relaxed load.
  std::uint64_t not_counted() const;
  std::uint64_t peak() const { return peak_.load(std::memory_order_relaxed); }
  void forget(std::uint64_t freed);
  // A write's own net allocation (thread_net_freed() around its handler, negated), so writers
  // between two refreshes see each other's growth: without it a burst of small writes within
  // the refresh interval ran a few KB past maxmemory unseen (Redis's unit/maxmemory allows 4 KB).
  void add(std::int64_t bytes);
  void reset_peak() { peak_.store(used_.load(std::memory_order_relaxed), std::memory_order_relaxed); }
  // Bytes that clients evicted by maxmemory-clients still hold until their own threads close
  // them (ClientRegistry::evict_over adds, remove takes off). Redis frees an evicted client at
  // once; lfdb's closes on the client's thread a few ms later, and the drains of other commands
  // in between evicted keys for memory already on its way out (unit/maxmemory's
  // eviction-by-client-buffers tests). used() leaves them out; INFO's used_memory does not.
  void releasing(std::int64_t delta) { releasing_.fetch_add(delta, std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> used_{0};
  std::atomic<std::uint64_t> peak_{0};
  std::atomic<std::int64_t> refreshed_ns_{0};
  std::atomic<std::uint64_t> since_refresh_{0};  // argument bytes written since the refresh
  std::atomic<bool> refreshing_{false};  // one refresher at a time; the others use the cache
  std::atomic<std::int64_t> releasing_{0};
  // v less the evicted clients' bytes on their way out and the replicas' held stream.
  std::uint64_t less_not_counted(std::uint64_t v) const {
    const std::int64_t r = releasing_.load(std::memory_order_relaxed);
    const std::uint64_t n = not_counted() + (r > 0 ? static_cast<std::uint64_t>(r) : 0);
    return v > n ? v - n : 0;
  }
};
Gauge& gauge();
// The one cell the dispatcher writes its replicas' bytes to (dispatch::DispatcherOptions), for
// Gauge::not_counted(): process-wide, as used_memory is.
const std::shared_ptr<dispatch::ReplicaBytes>& replica_bytes_cell();

}  // namespace lfdb::db::memory
