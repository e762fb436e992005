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

 private:
  std::atomic<std::uint64_t> v_{0};
};

}  // namespace lfdb::dispatch
