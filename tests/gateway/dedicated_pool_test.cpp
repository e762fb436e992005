// A back-end's pool of dedicated (MULTI/WATCH) connections: turns in arrival order. A released
// connection is handed to the longest-waiting client, which is woken to retry; nobody takes it
// meanwhile, the releasing client included. The clients are real handlers in a real handle set.
#include <gtest/gtest.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <memory>

#include "gateway/upstream.hpp"

namespace lfdb::gateway {
namespace {

using std::chrono::milliseconds;

// A client as the pool sees it: a registered handler that can be woken.
class Client final : public lf::EventHandler {
 public:
  Client() : fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {}
  ~Client() override { ::close(fd_); }
  int get_handle() const override { return fd_; }
  lf::EventMask on_registered(lf::HandlerId id) override {
    id_ = id;
    return 0;
  }
  lf::Disposition handle_event(int, lf::EventMask events) override {
    if (events & lf::kReadEvent) ++woken;
    return lf::Disposition::kResume;
  }
  lf::HandlerId id() const { return id_; }
  int woken = 0;

 private:
  int fd_;
  lf::HandlerId id_;
};

struct Pool {
  Config cfg;
  UpstreamContext ctx;
  std::unique_ptr<Backend> backend;
  std::unique_ptr<lf::Reactor> reactor;
  Client a, b, c;

  explicit Pool(int connections) {
    cfg.tx_connections = connections;
    reactor = std::move(lf::Reactor::create().value());
    ctx.reactor = reactor.get();
    ctx.config = &cfg;
    backend = std::make_unique<Backend>(ctx, Endpoint{"127.0.0.1", 1, ""}, 0, true);
    for (Client* k : {&a, &b, &c}) EXPECT_TRUE(reactor->register_handler(k, 0).ok());
  }
  UpstreamConn* acquire(Client& k, bool may_wait = true) {
    return backend->acquire_dedicated(resp::Protocol::kResp2, k.id(), may_wait);
  }
  void run() {
    for (int i = 0; i < 3; ++i) (void)reactor->handle_events(milliseconds(5));
  }
};

TEST(DedicatedPool, AReleasedConnectionGoesToTheLongestWaitingClient) {
  Pool p(1);
  UpstreamConn* conn = p.acquire(p.a);
  ASSERT_NE(conn, nullptr);
  EXPECT_EQ(p.acquire(p.b), nullptr);  // exhausted: b waits
  EXPECT_EQ(p.acquire(p.c), nullptr);  // c waits behind b
  p.backend->release_dedicated(conn);
  p.run();
  EXPECT_EQ(p.b.woken, 1);  // b's turn
  EXPECT_EQ(p.c.woken, 0);
  // The releasing client comes straight back (a pipelined WATCH after its EXEC): it queues.
  EXPECT_EQ(p.acquire(p.a), nullptr);
  EXPECT_EQ(p.acquire(p.c), nullptr);  // c is not b either
  EXPECT_EQ(p.acquire(p.b), conn);     // b retries and finds it handed to it
  p.backend->release_dedicated(conn);
  p.run();
  EXPECT_EQ(p.c.woken, 1);  // then c (queued before a came back)
  EXPECT_EQ(p.a.woken, 0);
  EXPECT_EQ(p.acquire(p.c), conn);
  p.backend->release_dedicated(conn);
  p.run();
  EXPECT_EQ(p.a.woken, 1);
  EXPECT_EQ(p.acquire(p.a), conn);
  p.backend->release_dedicated(conn);
  // Nobody waits: it goes idle, and the next client takes it at once.
  EXPECT_EQ(p.acquire(p.b, /*may_wait=*/false), conn);
  p.backend->release_dedicated(conn);
}

TEST(DedicatedPool, AClientThatStopsWaitingPassesItsTurnOn) {
  Pool p(1);
  UpstreamConn* conn = p.acquire(p.a);
  ASSERT_NE(conn, nullptr);
  EXPECT_EQ(p.acquire(p.b), nullptr);
  EXPECT_EQ(p.acquire(p.c), nullptr);
  p.backend->release_dedicated(conn);  // handed to b ...
  p.backend->cancel_wait(p.b.id());    // ... whose wait timed out meanwhile: on to c
  p.run();
  EXPECT_EQ(p.c.woken, 1);
  EXPECT_EQ(p.acquire(p.b, false), nullptr);
  EXPECT_EQ(p.acquire(p.c), conn);
  // A waiting client that is gone cannot be woken: the connection goes to the next one.
  EXPECT_EQ(p.acquire(p.b), nullptr);
  EXPECT_EQ(p.acquire(p.a), nullptr);
  ASSERT_TRUE(p.reactor->remove_handler(p.b.id()).ok());
  p.backend->release_dedicated(conn);
  p.run();
  EXPECT_EQ(p.a.woken, 1);
  EXPECT_EQ(p.acquire(p.a), conn);
  p.backend->release_dedicated(conn);
}

TEST(DedicatedPool, WaitersOfTheOtherProtocolDoNotHoldBackIdleConnections) {
  Pool p(2);
  UpstreamConn* r2 = p.acquire(p.a);
  UpstreamConn* r3 = p.backend->acquire_dedicated(resp::Protocol::kResp3, p.b.id(), true);
  ASSERT_NE(r2, nullptr);
  ASSERT_NE(r3, nullptr);
  EXPECT_EQ(p.backend->acquire_dedicated(resp::Protocol::kResp3, p.c.id(), true), nullptr);  // c waits for RESP3
  p.backend->release_dedicated(r2);  // a RESP2 connection: not for c
  p.run();
  EXPECT_EQ(p.c.woken, 0);
  EXPECT_EQ(p.acquire(p.a, false), r2);  // RESP2 clients take it, c's wait is for another kind
  p.backend->release_dedicated(r3);
  p.run();
  EXPECT_EQ(p.c.woken, 1);
  EXPECT_EQ(p.backend->acquire_dedicated(resp::Protocol::kResp3, p.c.id(), true), r3);
  p.backend->release_dedicated(r2);
  p.backend->release_dedicated(r3);
}

}  // namespace
}  // namespace lfdb::gateway
