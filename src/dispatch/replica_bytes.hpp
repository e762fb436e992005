// The bytes the replication backlog holds only for replicas (dispatch::Backlog::replica_bytes():
// the blocks past repl-backlog-size that a connected replica has not been sent). Written by the
// dispatcher thread; read by the server's memory accounting on every write that checks maxmemory
// (db/memory/allocator.hpp), so an atomic rather than the dispatcher's published view and its lock.
//
// Thread-safety: a monitor in lf's terms (every member is one atomic operation): a
// std::shared_ptr to it may cross threads.
#pragma once

#include <atomic>
#include <cstdint>

namespace lfdb::dispatch {

class ReplicaBytes {
 public:
  using sendable_monitor = void;
  void set(std::uint64_t v) { v_.store(v, std::memory_order_relaxed); }
  std::uint64_t get() const { return v_.load(std::memory_order_relaxed); }
  // Segments sealed and sent to the dispatcher, not yet in the backlog (the log's flusher adds,
  // the dispatcher takes off): the stream on its way, left out of eviction as Redis leaves out
  // its AOF buffer, so a dispatcher a few ms behind does not make writers evict.
  void add_in_flight(std::int64_t bytes) { in_flight_.fetch_add(bytes, std::memory_order_relaxed); }
  // What eviction leaves out: the held blocks and the segments on their way.
  std::uint64_t not_counted() const {
    const std::int64_t f = in_flight_.load(std::memory_order_relaxed);
    return get() + static_cast<std::uint64_t>(f > 0 ? f : 0);
  }

 private:
  std::atomic<std::uint64_t> v_{0};
  std::atomic<std::int64_t> in_flight_{0};
};

}  // namespace lfdb::dispatch
