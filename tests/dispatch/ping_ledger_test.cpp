// The PING ledger: Redis offsets (PINGs counted) to log offsets and back.
#include <gtest/gtest.h>

#include "dispatch/ping_ledger.hpp"

namespace lfdb::dispatch {
namespace {

constexpr std::uint64_t kP = PingLedger::kPing.size();  // 14

TEST(PingLedger, WithoutPingsOffsetsAreTheLogs) {
  PingLedger l;
  std::uint64_t log = 0, k = 0;
  ASSERT_TRUE(l.to_log(100, 0, 200, log, k));
  EXPECT_EQ(log, 100u);
  EXPECT_EQ(k, 0u);
  EXPECT_FALSE(l.to_log(300, 0, 200, log, k));  // beyond what is held
  EXPECT_EQ(l.first_from(50), 0u);
}

TEST(PingLedger, EachPingShiftsWhatFollowsIt) {
  PingLedger l;
  l.add(100);  // ping 0, before log byte 100
  l.add(100);  // ping 1, at the same place (an idle primary)
  l.add(250);  // ping 2
  std::uint64_t log = 0, k = 0;
  ASSERT_TRUE(l.to_log(50, 0, 1000, log, k));
  EXPECT_EQ(log, 50u);
  EXPECT_EQ(k, 0u);
  // At log 100 before, between and after the two pings there.
  ASSERT_TRUE(l.to_log(100, 0, 1000, log, k));
  EXPECT_EQ(std::make_pair(log, k), std::make_pair(std::uint64_t{100}, std::uint64_t{0}));
  ASSERT_TRUE(l.to_log(100 + kP, 0, 1000, log, k));
  EXPECT_EQ(std::make_pair(log, k), std::make_pair(std::uint64_t{100}, std::uint64_t{1}));
  ASSERT_TRUE(l.to_log(100 + 2 * kP, 0, 1000, log, k));
  EXPECT_EQ(std::make_pair(log, k), std::make_pair(std::uint64_t{100}, std::uint64_t{2}));
  EXPECT_FALSE(l.to_log(100 + 5, 0, 1000, log, k));  // inside a PING
  ASSERT_TRUE(l.to_log(300 + 3 * kP, 0, 1000, log, k));
  EXPECT_EQ(std::make_pair(log, k), std::make_pair(std::uint64_t{300}, std::uint64_t{3}));
  for (std::uint64_t at : {0u, 100u, 180u, 250u, 400u}) {  // round trip
    const std::uint64_t i = l.first_from(at);
    ASSERT_TRUE(l.to_log(PingLedger::redis_offset(at, i), 0, 1000, log, k)) << at;
    EXPECT_EQ(log, at);
    EXPECT_EQ(k, i);
  }
}

TEST(PingLedger, DroppedPingsEndWhatCanBeResumed) {
  PingLedger l;
  l.add(100);
  l.add(200);
  l.drop_before(150);
  EXPECT_EQ(l.base(), 1u);
  EXPECT_EQ(l.end_index(), 2u);
  std::uint64_t log = 0, k = 0;
  EXPECT_FALSE(l.to_log(50, 0, 1000, log, k));  // before the dropped ping: its count is unknown
  ASSERT_TRUE(l.to_log(180 + kP, 0, 1000, log, k));
  EXPECT_EQ(log, 180u);
  EXPECT_EQ(k, 1u);
  for (int i = 0; i < 300; ++i) l.add(1000 + static_cast<std::uint64_t>(i));
  EXPECT_EQ(l.end_index() - l.base(), PingLedger::kMax);
}

}  // namespace
}  // namespace lfdb::dispatch
