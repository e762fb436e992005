#include "lf/unbound_thread_set.hpp"

#include <gtest/gtest.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <random>
#include <thread>
#include <tuple>
#include <utility>

namespace {

using namespace std::chrono_literals;

struct Pair {
  int a = -1, b = -1;
  Pair() { EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, &a), 0); }
  ~Pair() {
    ::close(a);
    ::close(b);
  }
  void poke() { EXPECT_EQ(::write(b, "x", 1), 1); }
};

// Blocks in handle_event until released: keeps its thread in the processing state.
class Blocker : public lf::EventHandler {
 public:
  explicit Blocker(int fd, bool hands_off = false) : fd_(fd), hands_off_(hands_off) {}
  lf::Disposition handle_event(int, lf::EventMask) override {
    char c;
    while (::read(fd_, &c, 1) > 0) {
    }
    if (hands_off_) gave_up_role.store(lf::UnboundThreadSet::promote_new_leader());  // "this will take long"
    entered.fetch_add(1);
    while (!release.load()) std::this_thread::sleep_for(1ms);
    return lf::Disposition::kResume;
  }
  int get_handle() const override { return fd_; }
  std::atomic<int> entered{0};
  std::atomic<bool> release{false};
  std::atomic<bool> gave_up_role{false};  // what promote_new_leader() returned

 private:
  int fd_;
  bool hands_off_;
};

template <class F>
bool eventually(F f, std::chrono::milliseconds limit = 5s) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (f()) return true;
    std::this_thread::sleep_for(1ms);
  }
  return f();
}

int count_state(const lf::UnboundThreadSet& set, lf::ThreadState s) {
  int n = 0;
  for (auto& t : set.threads()) n += t.state == s;
  return n;
}

std::vector<int> promotion_order(lf::Promotion policy) {
  auto reactor = std::move(lf::Reactor::create().value());
  lf::UnboundThreadSet set(*reactor, policy);
  std::mutex mu;
  std::vector<int> order;
  set.set_promotion_observer([&](int tag) {
    std::lock_guard<std::mutex> g(mu);
    order.push_back(tag);
  });
  Pair pairs[3];
  std::vector<std::unique_ptr<Blocker>> blockers;
  for (auto& p : pairs) {
    blockers.push_back(std::make_unique<Blocker>(p.a));
    EXPECT_TRUE(reactor->register_handler(blockers.back().get(), lf::kReadEvent).ok());
  }
  const int priorities[4] = {0, 5, 9, 7};
  std::vector<std::thread> threads;
  threads.emplace_back([&] { (void)set.join(lf::kInfinite, priorities[0], 0); });
  EXPECT_TRUE(eventually([&] { return set.leaders_now() == 1; }));
  for (int t = 1; t <= 3; ++t) {
    threads.emplace_back([&, t] { (void)set.join(lf::kInfinite, priorities[t], t); });
    EXPECT_TRUE(eventually([&] { return set.follower_count() == static_cast<std::size_t>(t); }));
  }
  for (int i = 0; i < 3; ++i) {
    pairs[i].poke();
    EXPECT_TRUE(eventually([&] { return blockers[static_cast<std::size_t>(i)]->entered.load() == 1; }));
    EXPECT_TRUE(eventually([&] { return set.leaders_now() == 1; }));
  }
  EXPECT_EQ(count_state(set, lf::ThreadState::kProcessing), 3);
  EXPECT_EQ(count_state(set, lf::ThreadState::kLeader), 1);
  for (auto& b : blockers) b->release.store(true);
  set.shutdown();
  for (auto& t : threads) t.join();
  reactor.reset();  // closes the blockers while they exist
  std::lock_guard<std::mutex> g(mu);
  return std::vector<int>(order.begin(), order.begin() + std::min<std::size_t>(3, order.size()));
}

TEST(UnboundThreadSet, FifoPromotesTheLongestWaitingFollower) {
  EXPECT_EQ(promotion_order(lf::Promotion::kFifo), (std::vector<int>{1, 2, 3}));
}

TEST(UnboundThreadSet, LifoPromotesTheMostRecentFollower) {
  EXPECT_EQ(promotion_order(lf::Promotion::kLifo), (std::vector<int>{3, 2, 1}));
}

TEST(UnboundThreadSet, PriorityPromotesTheHighestPriorityFollower) {
  // Followers 1, 2, 3 have priorities 5, 9, 7.
  EXPECT_EQ(promotion_order(lf::Promotion::kPriority), (std::vector<int>{2, 3, 1}));
}

// Reads what is there and counts it; a per-handler flag catches two threads in one handler.
// Reads until the socket would block, or (`quota` > 0) at most `quota` bytes per dispatch, as
// lfdb's connections read one buffer per dispatch; a reader that stops early while input may
// remain asks for another turn (the edge-triggered set's rule; a no-op need for one-shot).
class Drainer : public lf::EventHandler {
 public:
  Drainer(int fd, std::atomic<int>& violations, lf::Reactor& r, int quota = 0)
      : fd_(fd), violations_(violations), r_(r), quota_(quota) {}
  lf::Disposition handle_event(int, lf::EventMask) override {
    if (inside_.exchange(true)) violations_.fetch_add(1);
    char buf[512];
    ssize_t n;
    if (quota_ > 0) {
      n = ::read(fd_, buf, static_cast<std::size_t>(quota_));
      if (n > 0) bytes.fetch_add(static_cast<int>(n));
      if (n == quota_ && r_.edge_triggered()) (void)r_.notify(id_, lf::kReadEvent);
    } else {
      while ((n = ::read(fd_, buf, sizeof buf)) > 0) bytes.fetch_add(static_cast<int>(n));
    }
    inside_.store(false);
    return lf::Disposition::kResume;
  }
  int get_handle() const override { return fd_; }
  lf::EventMask on_registered(lf::HandlerId id) override {
    id_ = id;
    return 0;
  }
  std::atomic<int> bytes{0};

 private:
  int fd_;
  std::atomic<int>& violations_;
  lf::Reactor& r_;
  const int quota_;
  lf::HandlerId id_;
  std::atomic<bool> inside_{false};
};

// Both shared handle sets, with readers that drain and readers that stop after a byte or two.
TEST(UnboundThreadSet, StressNeverMoreThanOneLeaderAndNoEventLost) {
  for (auto [batch, per_turn, lazy, kind, quota] :
       {std::tuple{1, 1, false, lf::HandleSetKind::kEpollOneShot, 0},
        std::tuple{64, 1, false, lf::HandleSetKind::kEpollOneShot, 0},
        std::tuple{64, 8, false, lf::HandleSetKind::kEpollOneShot, 0},
        std::tuple{1, 1, true, lf::HandleSetKind::kEpollOneShot, 0},
        std::tuple{64, 8, true, lf::HandleSetKind::kEpollOneShot, 2},
        std::tuple{1, 1, false, lf::HandleSetKind::kEpollEdge, 0},
        std::tuple{64, 1, false, lf::HandleSetKind::kEpollEdge, 1},
        std::tuple{64, 8, false, lf::HandleSetKind::kEpollEdge, 0},
        std::tuple{1, 1, true, lf::HandleSetKind::kEpollEdge, 2},
        std::tuple{64, 8, true, lf::HandleSetKind::kEpollEdge, 1},
        std::tuple{1, 1, false, lf::HandleSetKind::kIoUring, 0},
        std::tuple{64, 1, false, lf::HandleSetKind::kIoUring, 1},
        std::tuple{64, 8, true, lf::HandleSetKind::kIoUring, 1}}) {
    SCOPED_TRACE(std::string(lf::to_string(kind)) + " batch " + std::to_string(batch) + " per_turn " +
                 std::to_string(per_turn) + (lazy ? " lazy" : "") + " quota " + std::to_string(quota));
    lf::ReactorOptions ro;
    ro.max_events_per_wait = batch;
    ro.handle_set = kind;
    auto created = lf::Reactor::create(ro);
    if (kind == lf::HandleSetKind::kIoUring && !created.ok()) continue;  // not built in or refused here
    auto reactor = std::move(created.value());
    lf::UnboundThreadSet set(*reactor, lf::Promotion::kLifo, per_turn);
    set.set_lazy_promotion(lazy);
    std::atomic<int> violations{0};
    constexpr int kHandles = 100;
    std::vector<std::unique_ptr<Pair>> pairs;
    std::vector<std::unique_ptr<Drainer>> drainers;
    for (int i = 0; i < kHandles; ++i) {
      pairs.push_back(std::make_unique<Pair>());
      drainers.push_back(std::make_unique<Drainer>(pairs.back()->a, violations, *reactor, quota));
      ASSERT_TRUE(reactor->register_handler(drainers.back().get(), lf::kReadEvent).ok());
    }
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t) threads.emplace_back([&, t] { (void)set.join(lf::kInfinite, 0, t); });
    std::atomic<bool> stop{false};
    std::atomic<int> max_leaders{0};
    std::thread sampler([&] {
      while (!stop.load()) {
        int leaders = count_state(set, lf::ThreadState::kLeader);
        if (leaders > max_leaders.load()) max_leaders.store(leaders);
        std::this_thread::yield();
      }
    });
    constexpr int kWritesPerWriter = 3000;
    std::vector<std::thread> writers;
    for (int w = 0; w < 2; ++w) {
      writers.emplace_back([&, w] {
        std::mt19937 rng(static_cast<unsigned>(w));
        for (int i = 0; i < kWritesPerWriter; ++i) pairs[rng() % kHandles]->poke();
      });
    }
    for (auto& w : writers) w.join();
    EXPECT_TRUE(eventually([&] {
      int sum = 0;
      for (auto& d : drainers) sum += d->bytes.load();
      return sum == 2 * kWritesPerWriter;
    }, 20s));
    stop.store(true);
    sampler.join();
    set.shutdown();
    for (auto& t : threads) t.join();
    EXPECT_LE(max_leaders.load(), 1);
    EXPECT_EQ(violations.load(), 0);
    lf::ThreadStatsSnapshot totals = set.totals();
    EXPECT_GT(totals.events, 0u);
    reactor.reset();
  }
}

TEST(UnboundThreadSet, ShutdownWithThreadsInEveryStateReturnsWithinASecond) {
  auto reactor = std::move(lf::Reactor::create().value());
  lf::UnboundThreadSet set(*reactor);
  Pair p;
  struct Sleeper : lf::EventHandler {
    int fd;
    std::atomic<bool> entered{false};
    lf::Disposition handle_event(int, lf::EventMask) override {
      char c;
      while (::read(fd, &c, 1) > 0) {
      }
      entered.store(true);
      std::this_thread::sleep_for(200ms);  // still processing when shutdown comes
      return lf::Disposition::kResume;
    }
    int get_handle() const override { return fd; }
  } sleeper;
  sleeper.fd = p.a;
  ASSERT_TRUE(reactor->register_handler(&sleeper, lf::kReadEvent).ok());
  struct ResetFirst {
    std::unique_ptr<lf::Reactor>& r;
    ~ResetFirst() { r.reset(); }
  } reset_first{reactor};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) threads.emplace_back([&, t] { (void)set.join(lf::kInfinite, 0, t); });
  ASSERT_TRUE(eventually([&] { return set.follower_count() == 3; }));
  p.poke();
  ASSERT_TRUE(eventually([&] { return sleeper.entered.load(); }));
  ASSERT_TRUE(eventually([&] {
    return count_state(set, lf::ThreadState::kProcessing) == 1 &&
           count_state(set, lf::ThreadState::kLeader) == 1 && set.follower_count() == 2;
  }));
  auto t0 = std::chrono::steady_clock::now();
  set.shutdown();
  for (auto& t : threads) t.join();
  // A liveness bound from the spec, not a performance target.
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);
  EXPECT_EQ(set.threads().size(), 0u);
  reactor.reset();
}

TEST(UnboundThreadSet, JoinTimesOutAndHandsLeadershipOn) {
  auto reactor = std::move(lf::Reactor::create().value());
  lf::UnboundThreadSet set(*reactor);
  std::thread follower([&] { (void)set.join(lf::kInfinite, 0, 1); });
  lf::Status st = set.join(50ms, 0, 0);
  EXPECT_FALSE(st.ok());
  // Whoever was leader, the remaining thread must lead now.
  EXPECT_TRUE(eventually([&] { return set.leaders_now() == 1; }));
  EXPECT_FALSE(lf::UnboundThreadSet::promote_new_leader());  // this thread holds no role any more
  set.shutdown();
  follower.join();
}

// Reads what is there and counts its dispatches on the dispatching thread, as a handler that
// defers work to the before-block hook keeps it in thread-local state.
thread_local int t_deferred = 0;

class Counter : public lf::EventHandler {
 public:
  explicit Counter(int fd, std::atomic<int>* total = nullptr) : fd_(fd), total_(total) {}
  lf::Disposition handle_event(int, lf::EventMask) override {
    char c;
    while (::read(fd_, &c, 1) > 0) {
    }
    ++t_deferred;
    if (total_ != nullptr) total_->fetch_add(1);
    return lf::Disposition::kResume;
  }
  int get_handle() const override { return fd_; }

 private:
  int fd_;
  std::atomic<int>* total_;
};

TEST(UnboundThreadSet, BeforeBlockHookRunsOnceForEveryEventTheThreadTookBeforeBlocking) {
  Pair pairs[3];
  std::vector<std::unique_ptr<Counter>> handlers;  // outlive the reactor (it closes them)
  auto reactor = std::move(lf::Reactor::create().value());
  // One event per turn: the three events take three turns, but the thread never blocks
  // between them, so their deferred work is finished together.
  lf::UnboundThreadSet set(*reactor, lf::Promotion::kLifo, /*events_per_turn=*/1);
  std::mutex mu;
  std::vector<int> batches;  // events finished by each hook call that had any
  set.set_before_block_hook([&] {
    if (t_deferred == 0) return;
    std::lock_guard<std::mutex> g(mu);
    batches.push_back(std::exchange(t_deferred, 0));
  });
  for (auto& p : pairs) {
    handlers.push_back(std::make_unique<Counter>(p.a));
    ASSERT_TRUE(reactor->register_handler(handlers.back().get(), lf::kReadEvent).ok());
    p.poke();  // all three ready before the only thread leads: one epoll_wait returns them
  }
  std::thread t([&] { (void)set.join(lf::kInfinite, 0, 0); });
  auto finished = [&] {
    std::lock_guard<std::mutex> g(mu);
    int n = 0;
    for (int e : batches) n += e;
    return n;
  };
  ASSERT_TRUE(eventually([&] { return finished() == 3; }));
  {
    std::lock_guard<std::mutex> g(mu);
    EXPECT_EQ(batches, std::vector<int>{3});
  }
  pairs[1].poke();
  ASSERT_TRUE(eventually([&] { return finished() == 4; }));
  {
    std::lock_guard<std::mutex> g(mu);
    EXPECT_EQ(batches, (std::vector<int>{3, 1}));
  }
  set.shutdown();
  t.join();
}

// With several threads, eager or lazy promotion, no thread may sleep (as a follower or in the
// handle set) or leave with work deferred: once the events stop, all of it is finished.
TEST(UnboundThreadSet, NoThreadBlocksWithDeferredWork) {
  for (bool lazy : {false, true}) {
    SCOPED_TRACE(lazy ? "lazy promotion" : "eager promotion");
    constexpr int kPairs = 8;
    Pair pairs[kPairs];
    std::vector<std::unique_ptr<Counter>> handlers;
    auto reactor = std::move(lf::Reactor::create().value());
    lf::UnboundThreadSet set(*reactor, lf::Promotion::kLifo, /*events_per_turn=*/2);
    std::atomic<int> finished{0};
    set.set_before_block_hook([&] { finished.fetch_add(std::exchange(t_deferred, 0)); });
    set.set_lazy_promotion(lazy);
    for (auto& p : pairs) {
      handlers.push_back(std::make_unique<Counter>(p.a));
      ASSERT_TRUE(reactor->register_handler(handlers.back().get(), lf::kReadEvent).ok());
    }
    std::vector<std::thread> threads;
    for (int i = 0; i < 3; ++i) threads.emplace_back([&, i] { (void)set.join(lf::kInfinite, 0, i); });
    std::mt19937 rng(7);
    for (int round = 0; round < 200; ++round) {
      const int n = 1 + static_cast<int>(rng() % kPairs);
      for (int i = 0; i < n; ++i) pairs[rng() % kPairs].poke();
      // Once every poke is read, every dispatch (counted before its handler runs) must be
      // finished by a hook call: a thread asleep with deferred work never lets this hold.
      auto drained = [&] {
        for (auto& p : pairs) {
          int unread = 0;
          if (::ioctl(p.a, FIONREAD, &unread) != 0 || unread != 0) return false;
        }
        return true;
      };
      ASSERT_TRUE(eventually([&] {
        return drained() && static_cast<std::uint64_t>(finished.load()) == reactor->stats().dispatched;
      })) << "round " << round << ": dispatched " << reactor->stats().dispatched << ", finished "
          << finished.load();
    }
    set.shutdown();
    for (auto& t : threads) t.join();
    EXPECT_EQ(static_cast<std::uint64_t>(finished.load()), reactor->stats().dispatched);
  }
}

TEST(UnboundThreadSet, LazyPromotionWakesAFollowerOnlyForABacklog) {
  Pair one, blocker_pair, more[3];
  std::atomic<int> since_turn{0};
  Counter single(one.a, &since_turn);
  Blocker blocker(blocker_pair.a);
  std::vector<std::unique_ptr<Counter>> backlog;
  auto reactor = std::move(lf::Reactor::create().value());
  lf::UnboundThreadSet set(*reactor, lf::Promotion::kLifo, /*events_per_turn=*/1);
  set.set_lazy_promotion(true);
  std::atomic<int> promotions{0};
  set.set_promotion_observer([&](int) { promotions.fetch_add(1); });
  ASSERT_TRUE(reactor->register_handler(&single, lf::kReadEvent).ok());
  ASSERT_TRUE(reactor->register_handler(&blocker, lf::kReadEvent).ok());
  for (auto& p : more) {
    backlog.push_back(std::make_unique<Counter>(p.a, &since_turn));
    ASSERT_TRUE(reactor->register_handler(backlog.back().get(), lf::kReadEvent).ok());
  }
  std::thread a([&] { (void)set.join(lf::kInfinite, 0, 0); });
  std::thread b([&] { (void)set.join(lf::kInfinite, 0, 1); });
  ASSERT_TRUE(eventually([&] { return set.leaders_now() == 1 && set.follower_count() == 1; }));
  // One ready event at a time: the leader keeps leading, the follower is never woken.
  for (int i = 1; i <= 20; ++i) {
    one.poke();
    ASSERT_TRUE(eventually([&] { return since_turn.load() == i; }));
  }
  EXPECT_EQ(promotions.load(), 0);
  // A backlog: three events become ready while the only leader is busy; when it takes one of
  // them the other two are left over, so it promotes the follower.
  blocker_pair.poke();
  ASSERT_TRUE(eventually([&] { return blocker.entered.load() == 1; }));
  for (auto& p : more) p.poke();
  blocker.release.store(true);
  ASSERT_TRUE(eventually([&] { return since_turn.load() == 23; }));
  EXPECT_GE(promotions.load(), 1);
  set.shutdown();
  a.join();
  b.join();
}

// Under lazy promotion a leader that took the only ready event keeps the role while it
// processes; a handler that will run long calls promote_new_leader(), so another connection is
// served while it runs. Without the promotion the second event would wait for the blocker.
TEST(UnboundThreadSet, ALongHandlerPromotesANewLeader) {
  for (bool hands_off : {true, false}) {
    SCOPED_TRACE(hands_off ? "promotes" : "keeps the role");
    Pair slow_pair, quick_pair;
    std::atomic<int> quick_count{0};
    Blocker slow(slow_pair.a, hands_off);
    Counter quick(quick_pair.a, &quick_count);
    auto reactor = std::move(lf::Reactor::create().value());
    lf::UnboundThreadSet set(*reactor, lf::Promotion::kLifo, /*events_per_turn=*/1);
    set.set_lazy_promotion(true);
    ASSERT_TRUE(reactor->register_handler(&slow, lf::kReadEvent).ok());
    ASSERT_TRUE(reactor->register_handler(&quick, lf::kReadEvent).ok());
    std::thread a([&] { (void)set.join(lf::kInfinite, 0, 0); });
    std::thread b([&] { (void)set.join(lf::kInfinite, 0, 1); });
    ASSERT_TRUE(eventually([&] { return set.leaders_now() == 1 && set.follower_count() == 1; }));
    slow_pair.poke();
    ASSERT_TRUE(eventually([&] { return slow.entered.load() == 1; }));
    quick_pair.poke();
    if (hands_off) {
      EXPECT_TRUE(eventually([&] { return quick_count.load() == 1; }));  // served meanwhile
    } else {
      // Nobody watches the handle set while the blocker runs: still unserved a while later.
      EXPECT_FALSE(eventually([&] { return quick_count.load() == 1; }, 300ms));
    }
    EXPECT_EQ(slow.gave_up_role.load(), hands_off);  // it held the role, and gave it up
    slow.release.store(true);
    ASSERT_TRUE(eventually([&] { return quick_count.load() == 1; }));
    set.shutdown();
    a.join();
    b.join();
  }
}

// Eager promotion promoted a follower before the handler ran: a handler's promote_new_leader()
// finds no role to give up, and says so.
TEST(UnboundThreadSet, PromoteNewLeaderFromAHandlerIsANoOpUnderEagerPromotion) {
  Pair slow_pair;
  Blocker slow(slow_pair.a, /*hands_off=*/true);
  auto reactor = std::move(lf::Reactor::create().value());
  lf::UnboundThreadSet set(*reactor, lf::Promotion::kLifo, /*events_per_turn=*/1);
  std::atomic<int> promotions{0};
  set.set_promotion_observer([&](int) { promotions.fetch_add(1); });
  ASSERT_TRUE(reactor->register_handler(&slow, lf::kReadEvent).ok());
  std::thread a([&] { (void)set.join(lf::kInfinite, 0, 0); });
  std::thread b([&] { (void)set.join(lf::kInfinite, 0, 1); });
  ASSERT_TRUE(eventually([&] { return set.leaders_now() == 1 && set.follower_count() == 1; }));
  slow_pair.poke();
  ASSERT_TRUE(eventually([&] { return slow.entered.load() == 1; }));
  EXPECT_FALSE(slow.gave_up_role.load());
  EXPECT_EQ(promotions.load(), 1);  // the one before the handler ran
  EXPECT_TRUE(eventually([&] { return set.leaders_now() == 1; }));  // the promoted follower leads
  slow.release.store(true);
  set.shutdown();
  a.join();
  b.join();
}

// Sets a flag when dispatched and wakes the thread that waits for it in join_until().
class Answer : public lf::EventHandler {
 public:
  Answer(int fd, lf::UnboundThreadSet& set, lf::UnboundThreadSet::Waiter& waiter)
      : fd_(fd), set_(set), waiter_(waiter) {}
  lf::Disposition handle_event(int, lf::EventMask) override {
    char c;
    while (::read(fd_, &c, 1) > 0) {
    }
    dispatched_on = lf::current_tid();
    answered.store(true);
    set_.wake(waiter_);
    return lf::Disposition::kResume;
  }
  int get_handle() const override { return fd_; }
  std::atomic<bool> answered{false};
  std::atomic<pid_t> dispatched_on{0};

 private:
  int fd_;
  lf::UnboundThreadSet& set_;
  lf::UnboundThreadSet::Waiter& waiter_;
};

// The predicate wait of the hybrid bound set: the only thread in the set waits for an answer
// that only an event can bring, so it must lead the handle set meanwhile and dispatch it.
TEST(UnboundThreadSet, JoinUntilLeadsTheHandleSetUntilItsConditionHolds) {
  Pair p;
  auto reactor = std::move(lf::Reactor::create().value());
  lf::UnboundThreadSet set(*reactor);
  lf::UnboundThreadSet::Waiter self;
  Answer answer(p.a, set, self);
  ASSERT_TRUE(reactor->register_handler(&answer, lf::kReadEvent).ok());
  std::atomic<pid_t> waiter_tid{0};
  lf::Status st;
  std::thread t([&] {
    waiter_tid = lf::current_tid();
    st = set.join_until(self, [&] { return answer.answered.load(); }, lf::deadline_after(20s));
  });
  ASSERT_TRUE(eventually([&] { return set.leaders_now() == 1; }));
  p.poke();
  t.join();
  EXPECT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(answer.dispatched_on.load(), waiter_tid.load());
  EXPECT_EQ(set.threads().size(), 0u);  // it left the set
  EXPECT_EQ(set.leaders_now(), 0);
  reactor.reset();
}

// Made true from outside while the waiter leads (blocked in the handle set, not on its
// condition variable): wake() must reach it there.
TEST(UnboundThreadSet, WakeReachesAWaiterThatLeads) {
  auto reactor = std::move(lf::Reactor::create().value());
  lf::UnboundThreadSet set(*reactor);
  lf::UnboundThreadSet::Waiter self;
  std::atomic<bool> done{false};
  lf::Status st = lf::Status::error("not returned");
  std::thread t([&] { st = set.join_until(self, [&] { return done.load(); }, lf::deadline_after(20s)); });
  ASSERT_TRUE(eventually([&] { return set.leaders_now() == 1; }));
  done.store(true);
  set.wake(self);
  t.join();  // `self` outlives the wake-up
  EXPECT_TRUE(st.ok()) << st.message();
}

// ...and a waiter that follows: it wakes, finds its condition true and leaves, and the leader
// keeps leading.
TEST(UnboundThreadSet, WakeReachesAWaiterThatFollows) {
  auto reactor = std::move(lf::Reactor::create().value());
  lf::UnboundThreadSet set(*reactor);
  std::thread leader([&] { (void)set.join(lf::kInfinite, 0, 0); });
  ASSERT_TRUE(eventually([&] { return set.leaders_now() == 1; }));
  lf::UnboundThreadSet::Waiter self;
  std::atomic<bool> done{false};
  lf::Status st = lf::Status::error("not returned");
  std::thread t([&] { st = set.join_until(self, [&] { return done.load(); }, lf::deadline_after(20s)); });
  ASSERT_TRUE(eventually([&] { return set.follower_count() == 1; }));
  done.store(true);
  set.wake(self);
  t.join();
  EXPECT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(set.follower_count(), 0u);
  EXPECT_EQ(set.leaders_now(), 1);
  set.shutdown();
  leader.join();
}

TEST(UnboundThreadSet, JoinUntilTimesOutOrEndsAtShutdown) {
  auto reactor = std::move(lf::Reactor::create().value());
  lf::UnboundThreadSet set(*reactor);
  lf::UnboundThreadSet::Waiter self;
  lf::Status st = set.join_until(self, [] { return false; }, lf::deadline_after(30ms));
  EXPECT_FALSE(st.ok());
  EXPECT_EQ(st.sys_errno(), ETIMEDOUT);
  std::thread t([&] { st = set.join_until(self, [] { return false; }, lf::TimePoint::max()); });
  ASSERT_TRUE(eventually([&] { return set.leaders_now() == 1; }));
  set.shutdown();
  t.join();
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.sys_errno(), ETIMEDOUT);
}

}  // namespace
