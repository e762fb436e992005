// lf::Rendezvous: per round, exactly one of the two parties learns it came second, whatever the
// order of arrival, and it sees everything the first party wrote before arriving (TSan checks
// the ordering: the payload below is a plain field).
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "lf/rendezvous.hpp"

namespace {

TEST(Rendezvous, FirstLeavesSecondCarriesOn) {
  lf::Rendezvous r;
  EXPECT_FALSE(r.arrive());
  EXPECT_TRUE(r.arrive());
  // A new round starts afresh.
  EXPECT_FALSE(r.arrive());
  EXPECT_TRUE(r.arrive());
}

// The shape lfdb-server uses: a submitter hands work to a task on another thread and arrives;
// the task does the work and arrives; whoever is second carries on and starts the next round.
TEST(Rendezvous, ExactlyOneCarriesOnPerRoundAcrossThreads) {
#ifdef LF_SANITIZED
  constexpr int kRounds = 2000;
#else
  constexpr int kRounds = 10000;
#endif
  lf::Rendezvous meeting;
  std::atomic<int> round_go{-1};  // the task may start round N once this reads N
  int payload = 0;                // written by the task, read by whoever carries on: no atomics
  std::atomic<int> carried_by_task{0};
  std::atomic<int> carried_on{-1};  // the last round someone carried on

  std::thread task([&] {
    for (int n = 0; n < kRounds; ++n) {
      while (round_go.load(std::memory_order_acquire) < n) std::this_thread::yield();
      payload = n;  // the task's work
      if (meeting.arrive()) {
        // The submitter arrived first and left: the task carries on.
        EXPECT_EQ(payload, n);
        carried_by_task.fetch_add(1, std::memory_order_relaxed);
        carried_on.store(n, std::memory_order_release);
      }
    }
  });
  int carried_by_submitter = 0;
  for (int n = 0; n < kRounds; ++n) {
    round_go.store(n, std::memory_order_release);
    if (n % 3 == 0) std::this_thread::yield();  // vary who arrives first
    if (meeting.arrive()) {
      EXPECT_EQ(payload, n);  // the task's write is visible to the one that carries on
      ++carried_by_submitter;
    } else {
      // The submitter "parks": wait for the task to carry the round on.
      while (carried_on.load(std::memory_order_acquire) < n) std::this_thread::yield();
    }
    carried_on.store(n, std::memory_order_release);
  }
  task.join();
  EXPECT_EQ(carried_by_submitter + carried_by_task.load(), kRounds);
}

}  // namespace
