// The open-loop timetable, driven by a fake clock: operations come due at start + k / rate,
// a run that falls behind starts the overdue ones late but charges each from its due time, and
// a stalled server therefore shows up as latency on every operation that came due during the
// stall (no coordinated omission).
#include <gtest/gtest.h>

#include <vector>

#include "bench/pacer.hpp"

namespace {

using bench::charged_latency_ns;
using bench::OpenLoopPacer;
using std::chrono::milliseconds;
using std::chrono::nanoseconds;

// A clock that moves only when told to.
struct FakeClock {
  lf::TimePoint now = lf::TimePoint{} + std::chrono::hours(1);
  void advance(lf::Duration d) { now += d; }
};

TEST(OpenLoopPacer, ReleasesOnTheTimetable) {
  FakeClock clock;
  const lf::TimePoint t0 = clock.now;
  OpenLoopPacer p(t0, 1000.0);  // one every millisecond
  lf::TimePoint intended;
  clock.advance(-nanoseconds(1));
  EXPECT_FALSE(p.release(clock.now, intended));  // nothing due before the start
  EXPECT_EQ(p.next_due(), t0);
  clock.now = t0 + milliseconds(10);
  EXPECT_EQ(p.backlog(clock.now), 11u);  // ops 0..10 are due
  for (int k = 0; k <= 10; ++k) {
    ASSERT_TRUE(p.release(clock.now, intended)) << k;
    EXPECT_EQ(intended, t0 + milliseconds(k)) << k;  // its own due time, not "now"
  }
  EXPECT_FALSE(p.release(clock.now, intended));
  EXPECT_EQ(p.backlog(clock.now), 0u);
  EXPECT_EQ(p.next_due(), t0 + milliseconds(11));
  EXPECT_EQ(p.released(), 11u);
}

TEST(OpenLoopPacer, FractionalRatesDoNotDrift) {
  const lf::TimePoint t0{};
  OpenLoopPacer p(t0, 3.0);  // every 333.33... ms
  EXPECT_EQ(p.due_time(1), t0 + nanoseconds(333333333));
  EXPECT_EQ(p.due_time(2), t0 + nanoseconds(666666666));
  // Computed from k, not summed interval by interval: op 3,000,000 is due at exactly 1e6 s.
  EXPECT_LE(std::chrono::abs(p.due_time(3000000) - (t0 + std::chrono::seconds(1000000))), nanoseconds(1));
}

TEST(OpenLoopPacer, StopsAtTheEndAndAtTheLimit) {
  FakeClock clock;
  const lf::TimePoint t0 = clock.now;
  OpenLoopPacer p(t0, 100.0);  // every 10 ms
  p.stop_at(t0 + milliseconds(50));  // ops due at 0, 10, 20, 30, 40 ms
  clock.advance(std::chrono::seconds(5));  // far behind: everything is overdue
  EXPECT_EQ(p.backlog(clock.now), 5u);
  lf::TimePoint intended;
  int n = 0;
  while (p.release(clock.now, intended)) ++n;
  EXPECT_EQ(n, 5);  // the overdue ones before the end still run, none due after it
  EXPECT_TRUE(p.exhausted());
  EXPECT_EQ(p.next_due(), lf::TimePoint::max());

  OpenLoopPacer q(t0, 100.0, 3);
  n = 0;
  while (q.release(clock.now, intended)) ++n;
  EXPECT_EQ(n, 3);
  EXPECT_TRUE(q.exhausted());
}

// One connection, a server that answers in 2 ms but stalls from 100 ms to 600 ms. The engine's
// loop in miniature: when the connection is free it takes the next due operation.
TEST(OpenLoopPacer, ChargesTheWaitWhenBehind) {
  FakeClock clock;
  const lf::TimePoint t0 = clock.now;
  const auto service = milliseconds(2);
  const lf::TimePoint stall_from = t0 + milliseconds(100), stall_to = t0 + milliseconds(600);
  OpenLoopPacer p(t0, 100.0);  // every 10 ms
  p.stop_at(t0 + std::chrono::seconds(1));

  std::vector<std::uint64_t> open_ns, closed_ns;  // from the due time / from the send time
  std::vector<lf::TimePoint> due_times;
  while (!p.exhausted()) {
    lf::TimePoint intended;
    if (!p.release(clock.now, intended)) {
      clock.now = p.next_due();  // idle until the next one is due (the engine's timer)
      continue;
    }
    lf::TimePoint sent = clock.now;
    lf::TimePoint done = sent + service;
    if (sent >= stall_from && sent < stall_to) done = stall_to + service;
    clock.now = done;
    open_ns.push_back(charged_latency_ns(intended, done));
    closed_ns.push_back(charged_latency_ns(sent, done));
    due_times.push_back(intended);
  }
  ASSERT_EQ(open_ns.size(), 100u);  // every op of the timetable ran: none was skipped
  // Op 10 was sent at 100 ms into the stall and answered at 602 ms.
  EXPECT_EQ(due_times[10], t0 + milliseconds(100));
  EXPECT_EQ(open_ns[10], static_cast<std::uint64_t>(nanoseconds(milliseconds(502)).count()));
  // Ops 11..: they came due during the stall and waited for the connection; each is charged
  // from its due time, so each shows at least the rest of the stall.
  for (std::size_t k = 11; k < 60; ++k) {
    auto floor_ns = static_cast<std::uint64_t>((stall_to + service - due_times[k]).count());
    EXPECT_GE(open_ns[k], floor_ns) << k;
  }
  auto slow = [](const std::vector<std::uint64_t>& v) {
    int n = 0;
    for (auto x : v) n += x >= 100000000;  // >= 100 ms
    return n;
  };
  // Measured from the send time (coordinated omission) only one request looks slow; measured
  // from the due time, every one that came due in the first 400 ms of the stall does.
  EXPECT_EQ(slow(closed_ns), 1);
  EXPECT_GE(slow(open_ns), 40);
  EXPECT_EQ(charged_latency_ns(t0 + milliseconds(5), t0), 0u);  // never negative
}

}  // namespace
