#include "lf/reactor.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>

namespace {

struct Pair {
  int a = -1, b = -1;
  Pair() { EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, &a), 0); }
  ~Pair() { close_all(); }
  void close_all() {
    if (a >= 0) ::close(a);
    if (b >= 0) ::close(b);
    a = b = -1;
  }
  void poke() { ASSERT_EQ(::write(b, "x", 1), 1); }
};

// Counts its dispatches; drains what it can read.
class Counter : public lf::EventHandler {
 public:
  explicit Counter(int fd) : fd_(fd) {}
  lf::Disposition handle_event(int, lf::EventMask ev) override {
    events.fetch_add(1);
    last = ev;
    if (ev & lf::kReadEvent) {
      char buf[256];
      while (::read(fd_, buf, sizeof buf) > 0) {
      }
    }
    return lf::Disposition::kResume;
  }
  int get_handle() const override { return fd_; }
  void handle_close(int) override { closes.fetch_add(1); }
  std::atomic<int> events{0}, closes{0};
  std::atomic<lf::EventMask> last{0};

 private:
  int fd_;
};

// The io_uring handle set exists only where liburing was found at build time and the kernel
// allows io_uring; its cases are skipped elsewhere (with the reason).
std::string io_uring_unusable() {
  lf::ReactorOptions o;
  o.handle_set = lf::HandleSetKind::kIoUring;
  auto r = lf::Reactor::create(o);
  return r.ok() ? std::string() : r.status().message();
}

std::string handle_set_name(lf::HandleSetKind k) {
  std::string n = lf::to_string(k);
  for (auto& ch : n) if (ch == '-') ch = '_';
  return n;
}

std::unique_ptr<lf::Reactor> make(bool shared, lf::HandleSetKind kind) {
  lf::ReactorOptions o;
  o.shared = shared;
  o.handle_set = kind;
  return std::move(lf::Reactor::create(o).value());
}

// Every safety rule holds for each shared handle set: one-shot, edge-triggered and io_uring.
class Reactor : public ::testing::TestWithParam<lf::HandleSetKind> {
 protected:
  void SetUp() override {
    if (GetParam() == lf::HandleSetKind::kIoUring) {
      std::string why = io_uring_unusable();
      if (!why.empty()) GTEST_SKIP() << why;
    }
  }
  std::unique_ptr<lf::Reactor> make(bool shared = true) const { return ::make(shared, GetParam()); }
};

TEST_P(Reactor, DispatchesReadEvents) {
  auto r = make();
  Pair p;
  Counter h(p.a);
  auto id = r->register_handler(&h, lf::kReadEvent);
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(r->handle_events(std::chrono::milliseconds(10)), 0);
  p.poke();
  EXPECT_EQ(r->handle_events(std::chrono::seconds(5)), 1);
  EXPECT_EQ(h.events.load(), 1);
  EXPECT_TRUE(h.last.load() & lf::kReadEvent);
  ASSERT_TRUE(r->remove_handler(*id).ok());
  EXPECT_EQ(h.closes.load(), 1);
  EXPECT_FALSE(r->remove_handler(*id).ok());  // a stale id is refused
}

TEST_P(Reactor, SuspendedHandlerGetsNothingUntilResumed) {
  for (bool shared : {true, false}) {
    auto r = make(shared);
    Pair p;
    Counter h(p.a);
    auto id = r->register_handler(&h, lf::kReadEvent);
    ASSERT_TRUE(r->suspend_handler(*id).ok());
    p.poke();
    ASSERT_TRUE(r->notify(*id, lf::kWriteEvent).ok());  // no write interest: only the notification brings it
    EXPECT_EQ(r->handle_events(std::chrono::milliseconds(50)), 0);
    EXPECT_EQ(h.events.load(), 0);
    ASSERT_TRUE(r->resume_handler(*id).ok());
    EXPECT_EQ(r->handle_events(std::chrono::seconds(5)), 1);
    EXPECT_EQ(h.events.load(), 1);
    EXPECT_TRUE(h.last.load() & lf::kWriteEvent);  // the notification waited for the resume
    r.reset();  // closes h while it still exists
  }
}

TEST_P(Reactor, TimersFireAndCancel) {
  auto r = make();
  Pair p;
  Counter h(p.a);
  auto id = r->register_handler(&h, lf::kReadEvent);
  auto t1 = r->schedule_timer(*id, std::chrono::milliseconds(20));
  auto t2 = r->schedule_timer(*id, std::chrono::milliseconds(30));
  ASSERT_TRUE(t1.ok() && t2.ok());
  EXPECT_TRUE(r->cancel_timer(*t2));
  EXPECT_EQ(r->handle_events(std::chrono::seconds(5)), 1);
  EXPECT_EQ(h.last.load(), lf::kTimeoutEvent);
  EXPECT_EQ(r->handle_events(std::chrono::milliseconds(80)), 0);  // the cancelled one never fires
  EXPECT_EQ(h.events.load(), 1);
  r.reset();
}

// A timer scheduled by another thread just as the waiter chose how long to sleep (here, from the
// hook that runs between that choice and the sleep) still fires on time: the waiter looks again
// after publishing its deadline. Were it missed, the wait would last the whole 30 s.
TEST_P(Reactor, TimerScheduledWhileTheWaiterChoosesItsSleepIsNotMissed) {
  auto r = make();
  Pair p;
  Counter h(p.a);
  auto id = r->register_handler(&h, lf::kReadEvent);
  bool scheduled = false;
  r->set_before_block_hook([&] {
    if (scheduled) return;
    scheduled = true;
    std::thread other([&] { ASSERT_TRUE(r->schedule_timer(*id, std::chrono::milliseconds(1)).ok()); });
    other.join();
  });
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(r->handle_events(std::chrono::seconds(30)), 1);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(10));
  EXPECT_EQ(h.last.load(), lf::kTimeoutEvent);
  r.reset();
}

TEST_P(Reactor, TimerDoesNotDispatchOnSuspendedHandler) {
  auto r = make();
  Pair p;
  Counter h(p.a);
  auto id = r->register_handler(&h, lf::kReadEvent);
  ASSERT_TRUE(r->suspend_handler(*id).ok());
  ASSERT_TRUE(r->schedule_timer(*id, std::chrono::milliseconds(5)).ok());
  EXPECT_EQ(r->handle_events(std::chrono::milliseconds(60)), 0);
  EXPECT_EQ(h.events.load(), 0);
  ASSERT_TRUE(r->resume_handler(*id).ok());
  EXPECT_EQ(r->handle_events(std::chrono::seconds(5)), 1);
  EXPECT_EQ(h.last.load(), lf::kTimeoutEvent);
  r.reset();
}

TEST_P(Reactor, ReusedFdNeverReachesTheOldHandler) {
  lf::ReactorOptions o;
  o.max_events_per_wait = 64;
  o.handle_set = GetParam();
  auto r = std::move(lf::Reactor::create(o).value());
  // Two handlers ready in one epoll batch: dispatching the first removes the second and opens a
  // new socket that gets the same fd number; the batch's stale event must not reach anyone.
  Pair p1, p2;
  Counter old_handler(p2.a);
  struct Remover : lf::EventHandler {
    lf::Reactor* r;
    lf::HandlerId victim;
    Pair* victim_pair;
    int fd;
    std::unique_ptr<Pair> replacement;
    std::unique_ptr<Counter> new_handler;
    lf::Disposition handle_event(int, lf::EventMask) override {
      if (!victim.valid()) return lf::Disposition::kResume;
      EXPECT_TRUE(r->remove_handler(victim).ok());
      int old_fd = victim_pair->a;
      ::close(victim_pair->a);
      victim_pair->a = -1;
      replacement = std::make_unique<Pair>();
      EXPECT_EQ(replacement->a, old_fd);  // the OS hands out the lowest free fd
      new_handler = std::make_unique<Counter>(replacement->a);
      EXPECT_TRUE(r->register_handler(new_handler.get(), lf::kReadEvent).ok());
      victim = lf::HandlerId{};
      char buf[8];
      while (::read(fd, buf, sizeof buf) > 0) {
      }
      return lf::Disposition::kResume;
    }
    int get_handle() const override { return fd; }
  } remover;
  remover.r = r.get();
  remover.victim_pair = &p2;
  remover.fd = p1.a;
  auto victim = r->register_handler(&old_handler, lf::kReadEvent);
  remover.victim = *victim;
  ASSERT_TRUE(r->register_handler(&remover, lf::kReadEvent).ok());
  p2.poke();
  p1.poke();
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  // Both are ready; whichever order epoll reports them in, the old handler must see at most the
  // event from before its removal, and nothing after.
  int old_events_before = -1;
  for (int i = 0; i < 3; ++i) {
    r->handle_events(std::chrono::milliseconds(20));
    if (!remover.victim.valid() && old_events_before < 0) old_events_before = old_handler.events.load();
  }
  ASSERT_GE(old_events_before, 0);
  EXPECT_EQ(old_handler.events.load(), old_events_before);
  EXPECT_EQ(old_handler.closes.load(), 1);
  ASSERT_NE(remover.new_handler, nullptr);
  EXPECT_EQ(remover.new_handler->events.load(), 0);  // nothing was written to the new socket
  remover.replacement->poke();
  r->handle_events(std::chrono::seconds(5));
  EXPECT_EQ(remover.new_handler->events.load(), 1);
  EXPECT_EQ(old_handler.events.load(), old_events_before);
  r.reset();
}

TEST_P(Reactor, HandlerRemovedWhileProcessingIsNeverDispatchedAgain) {
  auto r = make();
  Pair p;
  struct Slow : lf::EventHandler {
    int fd;
    std::atomic<bool> entered{false}, release{false};
    std::atomic<int> events{0}, closes{0}, events_at_close{-1};
    lf::Disposition handle_event(int, lf::EventMask) override {
      events.fetch_add(1);
      entered.store(true);
      while (!release.load()) std::this_thread::yield();
      return lf::Disposition::kResume;
    }
    int get_handle() const override { return fd; }
    void handle_close(int) override {
      events_at_close.store(events.load());
      closes.fetch_add(1);
    }
  } h;
  h.fd = p.a;
  auto id = r->register_handler(&h, lf::kReadEvent);
  p.poke();
  std::thread processor([&] { r->handle_events(std::chrono::seconds(5)); });
  while (!h.entered.load()) std::this_thread::yield();
  ASSERT_TRUE(r->remove_handler(*id).ok());
  EXPECT_EQ(h.closes.load(), 0);  // deferred: a thread is still inside handle_event
  p.poke();
  h.release.store(true);
  processor.join();
  EXPECT_EQ(h.closes.load(), 1);
  EXPECT_EQ(h.events_at_close.load(), 1);
  for (int i = 0; i < 3; ++i) r->handle_events(std::chrono::milliseconds(10));
  EXPECT_EQ(h.events.load(), 1);
}

TEST_P(Reactor, RemoveAndResumeRaceLeavesOneOutcome) {
  // remove_handler and resume_handler from two threads on the same handler, many times: either
  // resume wins and then remove closes it, or remove wins and resume is refused; never both, and
  // handle_close runs exactly once.
  auto r = make();
  for (int i = 0; i < 300; ++i) {
    Pair p;
    Counter h(p.a);
    auto id = r->register_handler(&h, lf::kReadEvent);
    ASSERT_TRUE(r->suspend_handler(*id).ok());
    std::atomic<bool> go{false};
    lf::Status resumed;
    std::thread t([&] {
      while (!go.load()) {
      }
      resumed = r->resume_handler(*id);
    });
    go.store(true);
    ASSERT_TRUE(r->remove_handler(*id).ok());
    t.join();
    EXPECT_EQ(h.closes.load(), 1);
    p.poke();
    r->handle_events(std::chrono::milliseconds(0));
    EXPECT_EQ(h.events.load(), 0);
  }
  EXPECT_EQ(r->handler_count(), 0u);
}

TEST_P(Reactor, NotifyWakesTheWaiterAndShutdownEndsIt) {
  auto r = make();
  std::thread waker([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    r->notify();
  });
  EXPECT_EQ(r->handle_events(std::chrono::seconds(10)), 0);
  waker.join();
  r->shutdown();
  EXPECT_EQ(r->handle_events(std::chrono::seconds(10)), -1);
}

// A handler that another thread reached before it had an id (and so could not notify it) says
// what it missed from on_registered: it is dispatched with that, with no I/O on its handle.
TEST_P(Reactor, EventsMissedBeforeRegistrationAreDelivered) {
  auto r = make();
  Pair p;
  struct Missed : Counter {
    using Counter::Counter;
    lf::EventMask on_registered(lf::HandlerId) override { return lf::kReadEvent; }
  } h(p.a);
  ASSERT_TRUE(r->register_handler(&h, lf::kReadEvent).ok());
  for (int i = 0; i < 100 && h.events.load() == 0; ++i) r->handle_events(std::chrono::milliseconds(20));
  EXPECT_EQ(h.events.load(), 1);
  EXPECT_TRUE(h.last.load() & lf::kReadEvent);
  r->handle_events(std::chrono::milliseconds(50));  // and only once
  EXPECT_EQ(h.events.load(), 1);
  r.reset();  // closes the handler while it still exists
}

TEST_P(Reactor, DestructorClosesRemainingHandlers) {
  Pair p;
  Counter h(p.a);
  {
    auto r = make();
    ASSERT_TRUE(r->register_handler(&h, lf::kReadEvent).ok());
  }
  EXPECT_EQ(h.closes.load(), 1);
}

// Input that arrives after a handler's last read and before its dispatch returns is never lost,
// and never dispatched on a second thread meanwhile, while another thread leads the handle set.
// (One-shot: the handle is disarmed, re-arming reports it. Edge-triggered: epoll reports it
// once, to the leader, while the handler is taken; the slot keeps it for the releasing thread.)
TEST_P(Reactor, InputArrivingAfterTheLastReadIsNotLost) {
  auto r = make();
  Pair p;
  struct Late : lf::EventHandler {
    int fd = -1;
    Pair* pair = nullptr;
    std::atomic<int> inside{0}, violations{0}, bytes{0};
    std::atomic<bool> entered{false}, others_led{false};
    lf::Disposition handle_event(int, lf::EventMask) override {
      if (inside.fetch_add(1) != 0) violations.fetch_add(1);
      char buf[64];
      ssize_t n;
      while ((n = ::read(fd, buf, sizeof buf)) > 0) bytes.fetch_add(static_cast<int>(n));
      if (!entered.exchange(true)) {
        pair->poke();  // after the last read, while this dispatch still owns the handler
        for (int i = 0; i < 10000 && !others_led.load(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
      inside.fetch_sub(1);
      return lf::Disposition::kResume;
    }
    int get_handle() const override { return fd; }
  } h;
  h.fd = p.a;
  h.pair = &p;
  ASSERT_TRUE(r->register_handler(&h, lf::kReadEvent).ok());
  p.poke();
  std::thread processor([&] { r->handle_events(std::chrono::seconds(10)); });
  for (int i = 0; i < 10000 && !h.entered.load(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  for (int i = 0; i < 3; ++i) r->handle_events(std::chrono::milliseconds(20));  // lead meanwhile
  h.others_led.store(true);
  processor.join();
  for (int i = 0; i < 100 && h.bytes.load() < 2; ++i) r->handle_events(std::chrono::milliseconds(20));
  EXPECT_EQ(h.bytes.load(), 2);
  EXPECT_EQ(h.violations.load(), 0);
  r.reset();
}

// The edge-triggered slot states, under both handle sets that use them (epoll-et, io_uring).
class ReactorEdge : public ::testing::TestWithParam<lf::HandleSetKind> {
 protected:
  void SetUp() override {
    if (GetParam() == lf::HandleSetKind::kIoUring) {
      std::string why = io_uring_unusable();
      if (!why.empty()) GTEST_SKIP() << why;
    }
  }
};

// Edge-triggered only: the state machine at work, counted. A second thread takes the late
// input's event while the handler is taken (kept), and the first runs it again (redispatched).
TEST_P(ReactorEdge, MoreArrivedWhileTakenIsRunAgainByTheSameThread) {
  auto r = ::make(true, GetParam());
  ASSERT_TRUE(r->edge_triggered());
  Pair p;
  struct Taken : lf::EventHandler {
    int fd = -1;
    std::atomic<bool> entered{false}, release{false};
    std::atomic<int> events{0}, bytes{0}, inside{0}, violations{0};
    std::thread::id first_thread, last_thread;
    lf::Disposition handle_event(int, lf::EventMask) override {
      if (inside.fetch_add(1) != 0) violations.fetch_add(1);
      if (events.fetch_add(1) == 0) first_thread = std::this_thread::get_id();
      last_thread = std::this_thread::get_id();
      char buf[64];
      ssize_t n;
      while ((n = ::read(fd, buf, sizeof buf)) > 0) bytes.fetch_add(static_cast<int>(n));
      entered.store(true);
      while (!release.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      inside.fetch_sub(1);
      return lf::Disposition::kResume;
    }
    int get_handle() const override { return fd; }
  } h;
  h.fd = p.a;
  ASSERT_TRUE(r->register_handler(&h, lf::kReadEvent).ok());
  p.poke();
  std::thread processor([&] { r->handle_events(std::chrono::seconds(5)); });
  for (int i = 0; i < 5000 && !h.entered.load(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  ASSERT_TRUE(h.entered.load());
  p.poke();  // arrives while the handler is taken
  // This thread leads: it takes the event, finds the handler taken and leaves it in the slot.
  for (int i = 0; i < 50 && r->stats().kept == 0; ++i) r->handle_events(std::chrono::milliseconds(20));
  EXPECT_EQ(r->stats().kept, 1u);
  EXPECT_EQ(h.events.load(), 1);
  h.release.store(true);
  processor.join();
  EXPECT_EQ(h.events.load(), 2);
  EXPECT_EQ(h.bytes.load(), 2);
  EXPECT_EQ(h.violations.load(), 0);
  EXPECT_EQ(r->stats().redispatched, 1u);
  EXPECT_EQ(h.last_thread, h.first_thread);
  EXPECT_EQ(r->stats().rearms, 0u);  // registered once: nothing re-armed
  r.reset();
}

// Edge-triggered: a handler that leaves input unread says so with notify from its dispatch,
// and is run again for it by the same thread (epoll would not report that input again).
TEST_P(ReactorEdge, NotifyFromOwnDispatchRunsItAgain) {
  auto r = ::make(true, GetParam());
  Pair p;
  struct OneByteAtATime : lf::EventHandler {
    int fd = -1;
    lf::Reactor* r = nullptr;
    lf::HandlerId id;
    std::atomic<int> bytes{0};
    lf::EventMask on_registered(lf::HandlerId i) override {
      id = i;
      return 0;
    }
    lf::Disposition handle_event(int, lf::EventMask) override {
      char c;
      if (::read(fd, &c, 1) == 1) {
        bytes.fetch_add(1);
        EXPECT_TRUE(r->notify(id, lf::kReadEvent).ok());
      }
      return lf::Disposition::kResume;
    }
    int get_handle() const override { return fd; }
  } h;
  h.fd = p.a;
  h.r = r.get();
  ASSERT_TRUE(r->register_handler(&h, lf::kReadEvent).ok());
  ASSERT_EQ(::write(p.b, "abcdefghijklmnopqrst", 20), 20);  // more than one turn's worth of reruns
  for (int i = 0; i < 100 && h.bytes.load() < 20; ++i) r->handle_events(std::chrono::milliseconds(20));
  EXPECT_EQ(h.bytes.load(), 20);
  r.reset();
}

INSTANTIATE_TEST_SUITE_P(HandleSets, Reactor,
                         ::testing::Values(lf::HandleSetKind::kEpollOneShot, lf::HandleSetKind::kEpollEdge,
                                           lf::HandleSetKind::kIoUring),
                         [](const auto& info) { return handle_set_name(info.param); });
INSTANTIATE_TEST_SUITE_P(EdgeSets, ReactorEdge,
                         ::testing::Values(lf::HandleSetKind::kEpollEdge, lf::HandleSetKind::kIoUring),
                         [](const auto& info) { return handle_set_name(info.param); });

// Asked for where it cannot run, the io_uring handle set says why instead of running another.
TEST(ReactorIoUring, CreatesOrSaysWhyNot) {
  lf::ReactorOptions o;
  o.handle_set = lf::HandleSetKind::kIoUring;
  auto r = lf::Reactor::create(o);
  if (r.ok()) {
    EXPECT_TRUE(r.value()->edge_triggered());
  } else {
    EXPECT_NE(r.status().message().find("io_uring"), std::string::npos) << r.status().message();
  }
}

}  // namespace
