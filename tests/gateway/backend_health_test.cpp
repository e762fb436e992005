// Backend health: how connection failures count toward ejection. A back-end's connections all
// fail together when it dies; that is one failure, not one per connection.
#include <gtest/gtest.h>

#include "gateway/upstream.hpp"

namespace lfdb::gateway {
namespace {

using std::chrono::milliseconds;

struct Fixture {
  Config cfg;
  UpstreamContext ctx;
  std::unique_ptr<Backend> backend;
  explicit Fixture(int limit) {
    cfg.server_failure_limit = limit;
    cfg.server_retry_timeout = milliseconds(3000);
    cfg.connections_per_backend = 2;
    ctx.config = &cfg;
    backend = std::make_unique<Backend>(ctx, Endpoint{"127.0.0.1", 1, ""}, 0, true);
  }
};

TEST(BackendHealth, ConnectionsFailingTogetherCountOnce) {
  Fixture f(2);
  Backend& b = *f.backend;
  const lf::TimePoint t0 = lf::Clock::now();
  // The back-end dies: both shared connections see it within a millisecond.
  EXPECT_EQ(b.on_failure(t0), milliseconds(100));
  EXPECT_EQ(b.on_failure(t0 + milliseconds(1)), milliseconds(99));  // retries with the first
  EXPECT_FALSE(b.ejected(t0 + milliseconds(1)));
  EXPECT_EQ(b.failures.load(), 1u);
  EXPECT_EQ(b.connection_failures.load(), 2u);
  // The retry round fails: that is the second failure, and the limit ejects it.
  const lf::TimePoint t1 = t0 + milliseconds(100);
  EXPECT_EQ(b.on_failure(t1), milliseconds(3000));
  EXPECT_TRUE(b.ejected(t1));
  EXPECT_EQ(b.ejections.load(), 1u);
  // The other connection's attempt of the same round: not another failure, not another ejection.
  EXPECT_EQ(b.on_failure(t1 + milliseconds(2)), milliseconds(2998));
  EXPECT_EQ(b.failures.load(), 2u);
  EXPECT_EQ(b.connection_failures.load(), 4u);
  EXPECT_EQ(b.ejections.load(), 1u);
  EXPECT_FALSE(b.ejected(t1 + milliseconds(3000)));  // readmitted for a retry
}

TEST(BackendHealth, BackoffDoublesPerRoundAndASuccessStartsOver) {
  Fixture f(0);  // never eject
  Backend& b = *f.backend;
  lf::TimePoint t = lf::Clock::now();
  const int expect_ms[] = {100, 200, 400, 800, 1600, 3000, 3000};
  for (int want : expect_ms) {
    EXPECT_EQ(b.on_failure(t), milliseconds(want));
    EXPECT_EQ(b.on_failure(t), milliseconds(want));  // a second connection, same round
    t += milliseconds(want);
  }
  EXPECT_EQ(b.failures.load(), 7u);
  EXPECT_FALSE(b.ejected(t));
  b.on_connected();
  EXPECT_EQ(b.reconnects.load(), 1u);
  // A new outage right after the success is a new first failure, even within the old backoff.
  EXPECT_EQ(b.on_failure(t), milliseconds(100));
  EXPECT_EQ(b.failures.load(), 8u);
}

TEST(BackendHealth, SeparateOutagesEachCount) {
  Fixture f(3);
  Backend& b = *f.backend;
  const lf::TimePoint t0 = lf::Clock::now();
  (void)b.on_failure(t0);
  b.on_connected();
  (void)b.on_failure(t0 + milliseconds(10));
  b.on_connected();
  (void)b.on_failure(t0 + milliseconds(20));
  // Consecutive counts restart at each success: never three in a row, never ejected.
  EXPECT_FALSE(b.ejected(t0 + milliseconds(20)));
  EXPECT_EQ(b.failures.load(), 3u);
}

}  // namespace
}  // namespace lfdb::gateway
