// Rendezvous: two parties meet once per round, in either order, without a lock and without
// either of them waiting. The first to arrive leaves at once; the second learns that it came
// second, takes over whatever the first left behind, and carries on — it is the one that
// continues the work both were part of.
//
// lfdb parks a connection while a task on another thread finishes the connection's command
// (a command queued for its colors, the elected flusher's fsync): the submitter arrives when it
// is about to park, the task when it has finished. If the task was first, the submitter goes on
// inline; if the submitter was first, it has parked, and the task unparks the connection.
//
// Thread-safety: exactly two arrivals per round, one by each party; everything a party wrote
// before arrive() is visible to the other party once the second arrive() returns true. A round
// ends with the second arrival, so the next one can begin only after the second party carries
// on (through the unpark, or program order on the submitter's own thread).
#pragma once

#include <atomic>

namespace lf {

class Rendezvous {
 public:
  // true: the other party has arrived already, so this one carries on; false: this one is
  // first and must leave everything it shares with the other party alone from now on.
  bool arrive() noexcept {
    if (arrived_.fetch_add(1, std::memory_order_acq_rel) == 0) return false;
    // Both have arrived: the round is over. Only this party touches the counter until the
    // next round begins, after it has carried on.
    arrived_.store(0, std::memory_order_relaxed);
    return true;
  }

 private:
  std::atomic<int> arrived_{0};
};

}  // namespace lf
