// PinnedTransaction: a client's transaction state at the gateway, its transitions, and how it
// notices that its pinned connection failed. The connections are real ones (a back-end on a
// listening socket of this process, a real handle set), never stand-ins.
#include "gateway/pinned_transaction.hpp"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>

#include "gateway/upstream.hpp"

namespace lfdb::gateway {
namespace {

using std::chrono::milliseconds;
using Loss = PinnedTransaction::Loss;

// A back-end: a listening socket nobody accepts on (connects complete in the kernel's backlog).
class Listener {
 public:
  Listener() : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    EXPECT_EQ(::listen(fd_, 64), 0);
    socklen_t len = sizeof a;
    EXPECT_EQ(::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len), 0);
    port_ = ntohs(a.sin_port);
  }
  ~Listener() { ::close(fd_); }
  std::uint16_t port() const { return port_; }

 private:
  int fd_;
  std::uint16_t port_ = 0;
};

struct Fixture {
  Listener listener;
  Config cfg;
  UpstreamContext ctx;
  // Destroyed in reverse order: the handle set (which closes the connections still registered)
  // before the back-end that owns them.
  std::unique_ptr<Backend> backend;
  std::unique_ptr<lf::Reactor> reactor;

  Fixture() {
    cfg.tx_connections = 2;
    cfg.server_failure_limit = 0;
    auto r = lf::Reactor::create();
    EXPECT_TRUE(r.ok());
    reactor = std::move(r.value());
    ctx.reactor = reactor.get();
    ctx.config = &cfg;
    backend = std::make_unique<Backend>(ctx, Endpoint{"127.0.0.1", listener.port(), ""}, 0, true);
  }

  UpstreamConn& dedicated() {
    UpstreamConn* c = backend->acquire_dedicated(resp::Protocol::kResp2);
    EXPECT_NE(c, nullptr);
    return *c;
  }

  // The connection goes up (a request starts the connect) and then fails, as when the
  // back-end dies: its incarnation changes.
  static void connect_and_fail(UpstreamConn& c) {
    const std::string_view ping[] = {"PING"};
    Pending p;
    p.kind = PendingKind::kSwallow;
    std::string why;
    ASSERT_TRUE(c.enqueue(ping, p, why)) << why;
    const std::uint64_t before = c.incarnation();
    c.fail("ERR test: the back-end went away");
    ASSERT_NE(c.incarnation(), before);
  }
};

TEST(PinnedTransaction, StartsWithNothing) {
  PinnedTransaction tx;
  EXPECT_FALSE(tx.in_multi());
  EXPECT_FALSE(tx.multi_sent());
  EXPECT_FALSE(tx.pinned());
  EXPECT_FALSE(tx.lost());
  EXPECT_FALSE(tx.must_abort());
  EXPECT_FALSE(tx.waiting());
  EXPECT_TRUE(tx.cleanup_command().empty());
  EXPECT_EQ(tx.end(), nullptr);
}

TEST(PinnedTransaction, MultiBeforeTheShardIsKnownQueuesKeylessCommands) {
  PinnedTransaction tx;
  tx.begin_multi();
  EXPECT_TRUE(tx.in_multi());
  EXPECT_FALSE(tx.multi_sent());  // answered by the gateway, not sent anywhere yet
  {
    std::string a = "ECHO", b = "hello";  // the views die with the request buffer: copies are kept
    const std::string_view argv[] = {a, b};
    tx.queue_unpinned(argv);
    a.assign("XXXX");
    b.assign("xxxxx");
  }
  ASSERT_EQ(tx.unpinned().size(), 1u);
  EXPECT_EQ(tx.unpinned()[0], (std::vector<std::string>{"ECHO", "hello"}));
  EXPECT_FALSE(tx.must_abort());
  tx.refuse();  // e.g. CROSSSLOT: EXEC will abort
  EXPECT_TRUE(tx.must_abort());
  EXPECT_EQ(tx.end(), nullptr);
  EXPECT_FALSE(tx.in_multi());
  EXPECT_FALSE(tx.must_abort());
  EXPECT_TRUE(tx.unpinned().empty());
}

TEST(PinnedTransaction, ARefusalOutsideMultiKeepsNothing) {
  PinnedTransaction tx;
  tx.refuse();
  tx.begin_multi();
  EXPECT_FALSE(tx.must_abort());
}

TEST(PinnedTransaction, CleanupCommandFollowsWhatTheBackEndHolds) {
  Fixture f;
  UpstreamConn& c = f.dedicated();
  PinnedTransaction tx;
  tx.pin(c, 3, lf::Clock::now());
  EXPECT_TRUE(tx.pinned());
  EXPECT_EQ(tx.connection(), &c);
  EXPECT_EQ(tx.shard(), 3);
  EXPECT_EQ(tx.cleanup_command(), "UNWATCH");  // WATCH only
  tx.begin_multi();
  EXPECT_EQ(tx.cleanup_command(), "UNWATCH");  // MULTI not sent yet
  tx.note_multi_sent();
  EXPECT_TRUE(tx.multi_sent());
  EXPECT_EQ(tx.cleanup_command(), "DISCARD");
  EXPECT_EQ(tx.end(), &c);  // for its pool
  EXPECT_FALSE(tx.pinned());
  EXPECT_FALSE(tx.in_multi());
  EXPECT_EQ(tx.shard(), -1);
  f.backend->release_dedicated(&c);
}

TEST(PinnedTransaction, AFailedPinnedConnectionLosesTheTransaction) {
  Fixture f;
  UpstreamConn& c = f.dedicated();
  PinnedTransaction tx;
  tx.pin(c, 0, lf::Clock::now());
  tx.begin_multi();
  tx.note_multi_sent();
  EXPECT_FALSE(tx.lost());
  Fixture::connect_and_fail(c);  // the back-end forgot MULTI and WATCH with the connection
  EXPECT_TRUE(tx.lost());
  EXPECT_EQ(tx.loss(), Loss::kConnection);
  EXPECT_TRUE(tx.must_abort());
  EXPECT_TRUE(tx.cleanup_command().empty());  // nothing left to clean on the back-end
  EXPECT_EQ(tx.end(), &c);
  EXPECT_FALSE(tx.lost());
  // Pinned again (the connection reconnects on its next request): a fresh incarnation.
  tx.pin(c, 0, lf::Clock::now());
  EXPECT_FALSE(tx.lost());
  EXPECT_EQ(tx.cleanup_command(), "UNWATCH");
  tx.end();
  f.backend->release_dedicated(&c);
}

TEST(PinnedTransaction, ACommandThatCouldNotBeSentLosesItToo) {
  Fixture f;
  UpstreamConn& c = f.dedicated();
  PinnedTransaction tx;
  tx.pin(c, 0, lf::Clock::now());
  tx.lose(Loss::kConnection);
  EXPECT_TRUE(tx.lost());
  EXPECT_TRUE(tx.cleanup_command().empty());
  tx.end();
  f.backend->release_dedicated(&c);
}

TEST(PinnedTransaction, ReleasingTheConnectionKeepsTheLoss) {
  Fixture f;
  UpstreamConn& c = f.dedicated();
  PinnedTransaction tx;
  tx.pin(c, 0, lf::Clock::now());
  tx.begin_multi();
  tx.lose(Loss::kConnection);
  EXPECT_EQ(tx.release_connection(), &c);
  EXPECT_FALSE(tx.pinned());
  EXPECT_TRUE(tx.in_multi());
  EXPECT_TRUE(tx.lost());  // until the client ends the transaction
  EXPECT_TRUE(tx.must_abort());
  EXPECT_EQ(tx.end(), nullptr);
  EXPECT_FALSE(tx.lost());
  f.backend->release_dedicated(&c);
}

TEST(PinnedTransaction, WaitingForAConnectionHasOneDeadline) {
  PinnedTransaction tx;
  const lf::TimePoint t0 = lf::Clock::now();
  EXPECT_TRUE(tx.may_wait(t0));
  tx.start_wait(2, t0, milliseconds(700));
  EXPECT_TRUE(tx.waiting());
  EXPECT_EQ(tx.wait_shard(), 2);
  EXPECT_EQ(tx.wait_deadline(), t0 + milliseconds(700));
  tx.start_wait(2, t0 + milliseconds(500), milliseconds(700));  // a retry keeps the first deadline
  EXPECT_EQ(tx.wait_deadline(), t0 + milliseconds(700));
  EXPECT_TRUE(tx.may_wait(t0 + milliseconds(699)));
  EXPECT_FALSE(tx.may_wait(t0 + milliseconds(700)));
  tx.retry_later();
  EXPECT_TRUE(tx.take_retry());
  EXPECT_FALSE(tx.take_retry());  // taken once
  tx.end_wait();
  EXPECT_FALSE(tx.waiting());
  EXPECT_EQ(tx.wait_shard(), -1);
  EXPECT_TRUE(tx.may_wait(t0 + milliseconds(10000)));
}

TEST(PinnedTransaction, IdlenessCountsFromTheLastCommandWhilePinned) {
  Fixture f;
  UpstreamConn& c = f.dedicated();
  PinnedTransaction tx;
  const lf::TimePoint t0 = lf::Clock::now();
  const lf::Duration limit = milliseconds(5000);
  EXPECT_EQ(tx.idle_deadline(limit), lf::TimePoint::max());  // not pinned: nothing to lose
  tx.pin(c, 0, t0);
  EXPECT_EQ(tx.idle_deadline(limit), t0 + limit);
  tx.touch(t0 + milliseconds(3000));  // a command
  EXPECT_EQ(tx.idle_deadline(limit), t0 + milliseconds(8000));
  EXPECT_EQ(tx.idle_deadline(lf::Duration::zero()), lf::TimePoint::max());  // 0: no idle timeout
  tx.end();
  f.backend->release_dedicated(&c);
}

TEST(PinnedTransaction, AnIdleTransactionIsLostUntilTheClientEndsIt) {
  Fixture f;
  UpstreamConn& c = f.dedicated();
  PinnedTransaction tx;
  tx.pin(c, 0, lf::Clock::now());
  tx.begin_multi();
  tx.note_multi_sent();
  // The gateway discards it on the back-end (the clean-up command) and frees the connection.
  EXPECT_EQ(tx.cleanup_command(), "DISCARD");
  tx.lose(Loss::kIdle);
  EXPECT_EQ(tx.release_connection(), &c);
  f.backend->release_dedicated(&c);
  EXPECT_FALSE(tx.pinned());
  EXPECT_TRUE(tx.in_multi());
  EXPECT_EQ(tx.loss(), Loss::kIdle);
  EXPECT_TRUE(tx.must_abort());  // EXEC aborts: nothing of it runs
  EXPECT_TRUE(tx.cleanup_command().empty());
  EXPECT_EQ(tx.idle_deadline(milliseconds(5000)), lf::TimePoint::max());
  tx.lose(Loss::kConnection);  // the first reason stays
  EXPECT_EQ(tx.loss(), Loss::kIdle);
  EXPECT_EQ(tx.end(), nullptr);
  EXPECT_EQ(tx.loss(), Loss::kNone);
  EXPECT_FALSE(tx.in_multi());
}

}  // namespace
}  // namespace lfdb::gateway
