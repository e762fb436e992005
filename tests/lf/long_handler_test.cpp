// Handlers that turn out long (lfdb-server's runaway scripts): what they give back, and how one
// can serve its handle set from inside itself when no thread is left to.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "lf/reactor.hpp"
#include "lf/unbound_thread_set.hpp"

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

void drain(int fd) {
  char c;
  while (::read(fd, &c, 1) > 0) {
  }
}

template <class F>
bool eventually(F f, std::chrono::milliseconds limit = 10s) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (f()) return true;
    std::this_thread::sleep_for(1ms);
  }
  return f();
}

// Says it will take long (promote_new_leader), then holds its thread until released.
class Long : public lf::EventHandler {
 public:
  explicit Long(int fd) : fd_(fd) {}
  lf::Disposition handle_event(int, lf::EventMask) override {
    drain(fd_);
    (void)lf::UnboundThreadSet::promote_new_leader();
    entered.fetch_add(1);
    while (!release.load()) std::this_thread::sleep_for(1ms);
    return lf::Disposition::kResume;
  }
  int get_handle() const override { return fd_; }
  std::atomic<int> entered{0};
  std::atomic<bool> release{false};

 private:
  int fd_;
};

// Records the thread it ran on.
class Quick : public lf::EventHandler {
 public:
  explicit Quick(int fd) : fd_(fd) {}
  lf::Disposition handle_event(int, lf::EventMask) override {
    drain(fd_);
    thread = std::this_thread::get_id();
    count.fetch_add(1);
    return lf::Disposition::kResume;
  }
  int get_handle() const override { return fd_; }
  std::atomic<int> count{0};
  std::thread::id thread;

 private:
  int fd_;
};

// Runs until `other` has been dispatched, serving its thread's handle set from inside itself.
class Server : public lf::EventHandler {
 public:
  Server(int fd, const Quick& other) : fd_(fd), other_(other) {}
  lf::Disposition handle_event(int, lf::EventMask) override {
    drain(fd_);
    thread = std::this_thread::get_id();
    entered.store(true);
    const auto end = std::chrono::steady_clock::now() + 10s;
    while (other_.count.load() == 0 && std::chrono::steady_clock::now() < end) {
      served += lf::UnboundThreadSet::serve_while_processing();
      std::this_thread::sleep_for(1ms);
    }
    return lf::Disposition::kResume;
  }
  int get_handle() const override { return fd_; }
  std::atomic<bool> entered{false};
  std::thread::id thread;
  int served = 0;

 private:
  int fd_;
  const Quick& other_;
};

// A leader takes both ready events in one turn (events_per_turn 8) and the first it processes
// turns out long: the other goes back to the handle set and another thread takes it, instead of
// waiting behind the long one (before, it waited until the long one returned).
TEST(LongHandler, GivesBackTheRestOfItsTurn) {
  for (bool lazy : {false, true}) {
    SCOPED_TRACE(lazy ? "lazy promotion" : "eager promotion");
    Pair p1, p2;
    Long h1(p1.a), h2(p2.a);
    auto reactor = std::move(lf::Reactor::create().value());
    lf::UnboundThreadSet set(*reactor, lf::Promotion::kLifo, /*events_per_turn=*/8);
    set.set_lazy_promotion(lazy);
    ASSERT_TRUE(reactor->register_handler(&h1, lf::kReadEvent).ok());
    ASSERT_TRUE(reactor->register_handler(&h2, lf::kReadEvent).ok());
    p1.poke();
    p2.poke();  // both ready before any thread leads: the first leader takes both
    std::thread a([&] { (void)set.join(lf::kInfinite, 0, 0); });
    ASSERT_TRUE(eventually([&] { return h1.entered.load() + h2.entered.load() >= 1; }));
    std::thread b([&] { (void)set.join(lf::kInfinite, 0, 1); });
    EXPECT_TRUE(eventually([&] { return h1.entered.load() == 1 && h2.entered.load() == 1; }));
    h1.release.store(true);
    h2.release.store(true);
    set.shutdown();
    a.join();
    b.join();
  }
}

// The only thread of the set is inside a long handler: it leads one turn from inside it and
// dispatches the other connection's event nested, on its own thread.
TEST(LongHandler, ServesItsSetWhenNoThreadIsLeft) {
  Pair p1, p2;
  Quick quick(p2.a);
  Server server(p1.a, quick);
  auto reactor = std::move(lf::Reactor::create().value());
  lf::UnboundThreadSet set(*reactor, lf::Promotion::kLifo, 1);
  ASSERT_TRUE(reactor->register_handler(&server, lf::kReadEvent).ok());
  ASSERT_TRUE(reactor->register_handler(&quick, lf::kReadEvent).ok());
  std::thread a([&] { (void)set.join(lf::kInfinite, 0, 0); });
  p1.poke();
  ASSERT_TRUE(eventually([&] { return server.entered.load(); }));
  p2.poke();
  ASSERT_TRUE(eventually([&] { return quick.count.load() == 1; }));
  set.shutdown();
  a.join();
  EXPECT_EQ(quick.thread, server.thread);
  EXPECT_EQ(server.served, 1);
}

// With a thread free to lead, a long handler serves nothing: the free thread does.
TEST(LongHandler, ServesNothingWhileAnotherThreadLeads) {
  Pair p1, p2;
  Quick quick(p2.a);
  Server server(p1.a, quick);
  auto reactor = std::move(lf::Reactor::create().value());
  lf::UnboundThreadSet set(*reactor, lf::Promotion::kLifo, 1);
  ASSERT_TRUE(reactor->register_handler(&server, lf::kReadEvent).ok());
  ASSERT_TRUE(reactor->register_handler(&quick, lf::kReadEvent).ok());
  std::thread a([&] { (void)set.join(lf::kInfinite, 0, 0); });
  std::thread b([&] { (void)set.join(lf::kInfinite, 0, 1); });
  p1.poke();
  ASSERT_TRUE(eventually([&] { return server.entered.load(); }));
  ASSERT_TRUE(eventually([&] { return set.leaders_now() == 1; }));
  p2.poke();
  ASSERT_TRUE(eventually([&] { return quick.count.load() == 1; }));
  set.shutdown();
  a.join();
  b.join();
  EXPECT_NE(quick.thread, server.thread);
  EXPECT_EQ(server.served, 0);
}

// The single-threaded reactor: the same from inside a dispatch of handle_events.
TEST(LongHandler, ServesASingleThreadedReactor) {
  Pair p1, p2;
  Quick quick(p2.a);
  Server server(p1.a, quick);
  lf::ReactorOptions o;
  o.shared = false;
  auto reactor = std::move(lf::Reactor::create(o).value());
  ASSERT_TRUE(reactor->register_handler(&server, lf::kReadEvent).ok());
  ASSERT_TRUE(reactor->register_handler(&quick, lf::kReadEvent).ok());
  std::thread a([&] {
    while (reactor->handle_events(lf::kInfinite) >= 0) {
    }
  });
  p1.poke();
  ASSERT_TRUE(eventually([&] { return server.entered.load(); }));
  p2.poke();
  ASSERT_TRUE(eventually([&] { return quick.count.load() == 1; }));
  reactor->shutdown();
  a.join();
  EXPECT_EQ(quick.thread, server.thread);
  EXPECT_GE(server.served, 1);
}

}  // namespace
