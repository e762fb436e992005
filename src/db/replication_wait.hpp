// WAIT numreplicas timeout: a client waits, parked like a blocked command (no thread held),
// until that many replicas have acknowledged its last write (REPLCONF ACK offsets the
// dispatcher keeps), or until the timeout.
//
// AckWaits holds the parked WAITs and one timer thread, which looks at the replicas' acks every
// few milliseconds while any WAIT is parked (a replica acknowledges within about 10 ms of
// applying, and at least every second) and settles each WAIT that is satisfied or timed out:
// it claims the WAIT's blocking::Waiter, writes the reply (the number of replicas that
// acknowledged) and finishes it, which carries the connection on (docs/blocking.md).
//
// Thread-safety: a monitor (mu_); the waiters' hand-over is the Waiter's claim and meeting.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "db/blocking/registry.hpp"
#include "db/blocking/waiter.hpp"
#include "db/command_context.hpp"
#include "lf/mutex.hpp"

namespace lfdb::db {

class Replication;

class AckWaits {
 public:
  explicit AckWaits(Replication& repl) : repl_(repl) {}
  ~AckWaits() { stop(); }
  AckWaits(const AckWaits&) = delete;
  AckWaits& operator=(const AckWaits&) = delete;

  // Parks w until `needed` replicas acknowledged `offset` (or its deadline_ms passes).
  void add(const std::shared_ptr<blocking::Waiter>& w, std::uint64_t offset, std::int64_t needed);
  // Shutdown: every parked WAIT is settled (its connection closes), the thread stops.
  void stop();
  // CLIENT UNBLOCK (TIMEOUT: the count acknowledged so far, as Redis answers; ERROR: -UNBLOCKED)
  // and CLIENT KILL (kClose): true if the client was parked in WAIT. The client is woken by the
  // caller's blocking::wake_pending().
  bool settle(std::uint64_t client_id, blocking::Settle how);
  // Parked WAITs: INFO's blocked_clients counts them, as Redis does.
  std::uint64_t parked() const { return parked_.load(std::memory_order_relaxed); }

 private:
  struct Entry {
    std::shared_ptr<blocking::Waiter> waiter;
    std::uint64_t offset;
    std::int64_t needed;
  };
  void run();

  Replication& repl_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Entry> entries_;  // guarded by mu_
  // The parked WAITs by client id (CLIENT UNBLOCK / KILL), until settled; guarded by mu_.
  std::unordered_map<std::uint64_t, Entry> by_client_;
  std::atomic<std::uint64_t> parked_{0};  // registered and not yet settled
  bool stopping_ = false;       // guarded by mu_
  std::thread thread_;          // started by the first add (under mu_), joined by stop()
};

// The WAIT command (a connection command: it reads the connection's last write offset).
void wait_cmd(SessionContext& c);

}  // namespace lfdb::db
