// detail::LeaderRole, the leader role both thread sets share: the promotion protocols, the
// outcomes of a follower's wait, and the scoped leader-state token.
#include "lf/detail/leader_role.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;
using lf::detail::Follower;
using lf::detail::LeaderRole;

template <class F>
bool eventually(F f, std::chrono::milliseconds limit = 5s) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (f()) return true;
    std::this_thread::sleep_for(1ms);
  }
  return f();
}

// Three followers arrive in order 1, 2, 3 with priorities 5, 9, 7; the leader promotes three
// times, each new leader promoting the next. Returns the tags in promotion order.
std::vector<int> promotion_order(lf::Promotion protocol) {
  LeaderRole role(protocol);
  Follower leader, f[3];
  std::vector<int> order;
  const int priorities[3] = {5, 9, 7};
  std::vector<std::thread> threads;
  {
    lf::MutexLock lock(role.mu);
    role.take(leader);
  }
  for (int i = 0; i < 3; ++i) {
    f[i].tag = i + 1;
    f[i].priority = priorities[i];
    threads.emplace_back([&, i] {
      lf::MutexLock lock(role.mu);
      EXPECT_EQ(role.follow(f[i], lf::TimePoint::max(), [] { return false; }), LeaderRole::Followed::kPromoted);
      EXPECT_TRUE(role.held_by(f[i]));
      order.push_back(f[i].tag);
      role.promote_new_leader();  // hands on to the next one (or leaves the role vacant)
    });
    EXPECT_TRUE(eventually([&] {
      lf::MutexLock lock(role.mu);
      return role.follower_count() == static_cast<std::size_t>(i + 1);
    }));
  }
  {
    lf::MutexLock lock(role.mu);
    role.promote_new_leader();
  }
  for (auto& t : threads) t.join();
  lf::MutexLock lock(role.mu);
  EXPECT_TRUE(role.vacant());
  return order;
}

TEST(LeaderRole, FifoPromotesTheLongestWaiting) {
  EXPECT_EQ(promotion_order(lf::Promotion::kFifo), (std::vector<int>{1, 2, 3}));
}

TEST(LeaderRole, LifoPromotesTheMostRecent) {
  EXPECT_EQ(promotion_order(lf::Promotion::kLifo), (std::vector<int>{3, 2, 1}));
}

TEST(LeaderRole, PriorityPromotesTheHighestFirst) {
  EXPECT_EQ(promotion_order(lf::Promotion::kPriority), (std::vector<int>{2, 3, 1}));
}

TEST(LeaderRole, PromotingWithNoFollowerLeavesTheRoleVacant) {
  LeaderRole role(lf::Promotion::kLifo);
  Follower a;
  lf::MutexLock lock(role.mu);
  role.take(a);
  EXPECT_TRUE(role.held_by(a));
  EXPECT_EQ(role.promote_new_leader(), nullptr);
  EXPECT_TRUE(role.vacant());
}

TEST(LeaderRole, AFollowerStopsWhenItsConditionHoldsOrItsDeadlinePasses) {
  LeaderRole role(lf::Promotion::kFifo);
  Follower leader, waiter;
  std::atomic<bool> answered{false};
  {
    lf::MutexLock lock(role.mu);
    role.take(leader);
    // Nobody promotes and nothing answers: the deadline ends the wait, the list is left clean.
    EXPECT_EQ(role.follow(waiter, lf::Clock::now() + 20ms, [] { return false; }),
              LeaderRole::Followed::kTimedOut);
    EXPECT_EQ(role.follower_count(), 0u);
  }
  std::thread t([&] {
    lf::MutexLock lock(role.mu);
    EXPECT_EQ(role.follow(waiter, lf::TimePoint::max(), [&] { return answered.load(); }),
              LeaderRole::Followed::kStopped);
    EXPECT_EQ(role.follower_count(), 0u);
    EXPECT_TRUE(role.held_by(leader));  // the role never moved
  });
  ASSERT_TRUE(eventually([&] {
    lf::MutexLock lock(role.mu);
    return role.follower_count() == 1;
  }));
  {
    lf::MutexLock lock(role.mu);
    answered.store(true);
    waiter.cv.notify_one();  // what a handoff does
  }
  t.join();
}

TEST(LeaderRole, TheLeaderStateIsScopedAndSingle) {
  LeaderRole role(lf::Promotion::kLifo);
  lf::MutexLock lock(role.mu);
  EXPECT_EQ(role.leading_now(), 0);
  {
    LeaderRole::Leading leading(role);
    EXPECT_EQ(role.leading_now(), 1);
  }
  EXPECT_EQ(role.leading_now(), 0);
}

TEST(LeaderRoleDeathTest, TwoLeadersAbort) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  LeaderRole role(lf::Promotion::kLifo);
  EXPECT_DEATH(
      {
        lf::MutexLock lock(role.mu);
        LeaderRole::Leading first(role);
        LeaderRole::Leading second(role);
      },
      "two leaders in one thread set");
}

}  // namespace
