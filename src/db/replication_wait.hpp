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
#include <vector>

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
  bool stopping_ = false;       // guarded by mu_
  std::thread thread_;          // started by the first add (under mu_), joined by stop()
};

// The WAIT command (a connection command: it reads the connection's last write offset).
void wait_cmd(SessionContext& c);

}  // namespace lfdb::db
