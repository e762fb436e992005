#include "lf/monitor.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <deque>
#include <numeric>
#include <optional>
#include <random>
#include <thread>
#include <vector>

#include "lf/spawn.hpp"

namespace {

using namespace std::chrono_literals;

struct Accounts {
  static constexpr long kInitial = 1000;
  std::array<long, 16> balance{};
  Accounts() { balance.fill(kInitial); }
  long total() const { return std::accumulate(balance.begin(), balance.end(), 0L); }
};

TEST(Monitor, ContendedTransfersKeepTheTotal) {
  constexpr int kThreads = 8;
  constexpr int kTransfers = 20000;
  const long expected_total = Accounts::kInitial * 16;
  auto accounts = lf::make_monitor<Accounts>();
  auto finished = lf::make_monitor<int>(0);

  std::vector<lf::SpawnedThread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.push_back(lf::spawn(
        [](std::shared_ptr<lf::Monitor<Accounts>> accounts,
           std::shared_ptr<lf::Monitor<int>> finished, unsigned seed, int transfers) {
          std::minstd_rand rng(seed);
          for (int i = 0; i < transfers; ++i) {
            std::size_t from = rng() % 16;
            std::size_t to = rng() % 16;
            long amount = static_cast<long>(rng() % 50);
            accounts->with([&](Accounts& a) {
              // Between these two writes the total is off; no other thread can see it.
              if (a.balance[from] < amount) return;
              a.balance[from] -= amount;
              a.balance[to] += amount;
            });
          }
          finished->with_notify_all([](int& n) { ++n; });
        },
        accounts, finished, static_cast<unsigned>(t + 1), kTransfers));
  }

  int audits = 0;
  bool all_done = false;
  while (!all_done) {
    auto [total, min] = accounts->with([](const Accounts& a) {
      return std::pair(a.total(), *std::min_element(a.balance.begin(), a.balance.end()));
    });
    ASSERT_EQ(total, expected_total);
    ASSERT_GE(min, 0);
    ++audits;
    all_done = finished->with([](int n) { return n == kThreads; });
  }
  threads.clear();
  EXPECT_GT(audits, 0);
  EXPECT_EQ(accounts->with([](const Accounts& a) { return a.total(); }), expected_total);
}

TEST(Monitor, WaitUntilRunsFnOnTheStateThePredicateApproved) {
  struct Queue {
    std::deque<int> items;
    bool done = false;
  };
  constexpr int kItems = 5000;
  auto queue = lf::make_monitor<Queue>();
  auto out = lf::make_monitor<long>(0);
  lf::SpawnedThread consumer = lf::spawn(
      [](std::shared_ptr<lf::Monitor<Queue>> queue, std::shared_ptr<lf::Monitor<long>> out) {
        long sum = 0;
        for (;;) {
          std::optional<int> item = queue->wait_until(
              [](const Queue& q) { return q.done || !q.items.empty(); },
              [](Queue& q) -> std::optional<int> {
                // The predicate held when this runs, under the same lock: no re-check race.
                if (q.items.empty()) return std::nullopt;
                int v = q.items.front();
                q.items.pop_front();
                return v;
              });
          if (!item) break;
          sum += *item;
        }
        out->with([sum](long& o) { o = sum; });
      },
      queue, out);
  for (int i = 1; i <= kItems; ++i) {
    queue->with_notify_one([i](Queue& q) { q.items.push_back(i); });
  }
  queue->with_notify_all([](Queue& q) { q.done = true; });
  consumer.join();
  EXPECT_EQ(out->with([](long o) { return o; }), long{kItems} * (kItems + 1) / 2);
}

TEST(Monitor, DeadlineWaitGivesUpWithoutRunningFn) {
  lf::Monitor<int> m(0);
  bool ran = false;
  auto start = std::chrono::steady_clock::now();
  std::optional<int> r = m.wait_for(
      20ms, [](const int& v) { return v == 1; },
      [&ran](int& v) {
        ran = true;
        return v;
      });
  EXPECT_FALSE(r.has_value());
  EXPECT_FALSE(ran);
  bool void_ran = m.wait_until(
      std::chrono::steady_clock::now() + 5ms, [](const int& v) { return v == 1; }, [](int&) {});
  EXPECT_FALSE(void_ran);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
}

TEST(Monitor, DeadlineWaitReturnsFnResultOnceThePredicateHolds) {
  auto m = lf::make_monitor<int>(0);
  auto setter = lf::spawn(
      [](std::shared_ptr<lf::Monitor<int>> m) {
        std::this_thread::sleep_for(10ms);
        m->with_notify_all([](int& v) { v = 41; });
      },
      m);
  std::optional<int> r = m->wait_for(
      5s, [](const int& v) { return v == 41; }, [](int& v) { return ++v; });
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(*r, 42);
  EXPECT_TRUE(m->wait_for(
      5s, [](const int& v) { return v == 42; }, [](int&) {}));
}

TEST(Monitor, ConstMonitorReadsThroughConstWith) {
  const lf::Monitor<std::vector<int>> m(3, 7);
  EXPECT_EQ(m.with([](const std::vector<int>& v) { return v.size(); }), 3u);
  EXPECT_EQ(m.with([](const std::vector<int>& v) { return v[2]; }), 7);
}

TEST(Monitor, NotifyAllAfterPlainWithWakesWaiters) {
  constexpr int kWaiters = 4;
  auto flag = lf::make_monitor<bool>(false);
  auto woken = lf::make_monitor<int>(0);
  std::vector<lf::SpawnedThread> waiters;
  for (int i = 0; i < kWaiters; ++i) {
    waiters.push_back(lf::spawn(
        [](std::shared_ptr<lf::Monitor<bool>> flag, std::shared_ptr<lf::Monitor<int>> woken) {
          flag->wait_until([](const bool& f) { return f; }, [](bool&) {});
          woken->with([](int& n) { ++n; });
        },
        flag, woken));
  }
  flag->with([](bool& f) { f = true; });
  flag->notify_all();
  waiters.clear();
  EXPECT_EQ(woken->with([](int n) { return n; }), kWaiters);
}

}  // namespace
