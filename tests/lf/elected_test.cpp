#include "lf/elected.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <barrier>
#include <chrono>
#include <thread>
#include <vector>

namespace {

TEST(Elected, ExactlyOneOfConcurrentCallersRunsTheTask) {
  constexpr int kThreads = 8;
  constexpr int kRounds = 200;
  lf::Elected elected;
  for (int round = 0; round < kRounds; ++round) {
    std::atomic<int> ran{0};
    std::atomic<int> returned_without_task{0};
    std::atomic<bool> release{false};
    std::barrier start(kThreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&] {
        start.arrive_and_wait();
        if (auto guard = elected.try_elect()) {
          ran.fetch_add(1);
          // Hold the election until every loser has returned, so a late caller cannot win a
          // second election in the same round.
          while (!release.load()) std::this_thread::yield();
        } else {
          if (returned_without_task.fetch_add(1) + 1 == kThreads - 1) release.store(true);
        }
      });
    }
    for (auto& th : threads) th.join();
    ASSERT_EQ(ran.load(), 1) << "round " << round;
    ASSERT_EQ(returned_without_task.load(), kThreads - 1);
  }
  EXPECT_EQ(elected.elections(), static_cast<std::uint64_t>(kRounds));
}

TEST(Elected, LosersDoNotBlockWhileTheWinnerIsBusy) {
  lf::Elected elected;
  auto winner = elected.try_elect();
  ASSERT_TRUE(winner);
  // A loser returns immediately even though the winner never releases during the loop.
  for (int i = 0; i < 1000; ++i) EXPECT_FALSE(elected.try_elect());
  winner.release();
  EXPECT_TRUE(elected.try_elect());
}

TEST(Elected, GuardMovesKeepOneHolder) {
  lf::Elected elected;
  lf::ElectedGuard a = elected.try_elect();
  lf::ElectedGuard b = std::move(a);
  EXPECT_FALSE(a);
  EXPECT_TRUE(b);
  EXPECT_TRUE(elected.busy());
  b = lf::ElectedGuard();
  EXPECT_FALSE(elected.busy());
}

}  // namespace
