// Backend health: how connection failures count toward ejection. A back-end's connections all
// fail together when it dies; that is one failure, not one per connection.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "gateway/reply_slot.hpp"
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

// A back-end that accepts connections (the kernel's backlog) and never answers: hung.
class SilentListener {
 public:
  SilentListener() : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    EXPECT_EQ(::listen(fd_, 64), 0);
    socklen_t len = sizeof a;
    EXPECT_EQ(::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len), 0);
    port_ = ntohs(a.sin_port);
  }
  ~SilentListener() { ::close(fd_); }
  std::uint16_t port() const { return port_; }

 private:
  int fd_;
  std::uint16_t port_ = 0;
};

// Where the replies of a client's requests land: the gateway's ReplySink interface, recording.
class RecordingSink final : public ReplySink {
 public:
  void on_reply(const Pending& p, const resp::Frame& reply, bool) override {
    replies.emplace_back(p.part, std::string(reply.bytes()));
  }
  void retain() override { ++refs; }
  void release() override { --refs; }
  std::vector<std::pair<std::uint32_t, std::string>> replies;
  int refs = 0;
};

struct Hung {
  SilentListener listener;
  Config cfg;
  UpstreamContext ctx;
  std::unique_ptr<Backend> backend;  // destroyed after the handle set (see pinned_transaction_test)
  std::unique_ptr<lf::Reactor> reactor;
  Hung() {
    cfg.timeout = milliseconds(300);
    cfg.liveness_timeout = milliseconds(300);
    cfg.connect_timeout = milliseconds(60000);  // connects complete at once here; never the cause
    cfg.server_failure_limit = 0;
    reactor = std::move(lf::Reactor::create().value());
    ctx.reactor = reactor.get();
    ctx.config = &cfg;
    backend = std::make_unique<Backend>(ctx, Endpoint{"127.0.0.1", listener.port(), ""}, 0, true);
  }
  // Runs the handle set a little (connects complete, requests leave).
  void pump() {
    for (int i = 0; i < 5; ++i) (void)reactor->handle_events(milliseconds(10));
  }
  // Real time passes: the connections judge lateness by the clock (waits are lower bounds only).
  static void wait(lf::Duration d) { std::this_thread::sleep_for(d); }
};

TEST(BackendHealth, LateRequestsFailAloneAndTheConnectionLivesOn) {
  Hung h;
  UpstreamConn& c = h.backend->shared(resp::Protocol::kResp2, 0);
  RecordingSink sink;
  std::string why;
  const std::string_view get[] = {"GET", "k"};
  const lf::TimePoint sent = lf::Clock::now();
  for (std::uint32_t i = 0; i < 3; ++i) {
    Pending p;
    p.sink = &sink;
    p.part = i;
    ASSERT_TRUE(c.enqueue(get, p, why)) << why;
  }
  c.flush();
  h.pump();
  const std::uint64_t incarnation = c.incarnation();
  // Within the timeout nothing happens.
  EXPECT_FALSE(c.tick(sent, true));
  EXPECT_TRUE(sink.replies.empty());
  // Past it, with nothing received: each request fails alone, in order, and the connection stays.
  Hung::wait(milliseconds(350));
  EXPECT_TRUE(c.tick(lf::Clock::now(), true));
  ASSERT_EQ(sink.replies.size(), 3u);
  for (std::uint32_t i = 0; i < 3; ++i) {
    EXPECT_EQ(sink.replies[i].first, i);
    EXPECT_NE(sink.replies[i].second.find("timed out (no reply within 300 ms)"), std::string::npos)
        << sink.replies[i].second;
  }
  EXPECT_EQ(sink.refs, 0);  // every reference the queue held was given back
  EXPECT_EQ(h.backend->timeouts.load(), 3u);
  EXPECT_EQ(c.incarnation(), incarnation);  // not failed, not reconnected
  EXPECT_EQ(h.backend->failures.load(), 0u);
  EXPECT_EQ(c.in_flight(), 3u);  // their places stay: a reply that comes late is dropped
  // Another tick fails nothing twice.
  EXPECT_TRUE(c.tick(lf::Clock::now(), true));
  EXPECT_EQ(sink.replies.size(), 3u);
  // While it is stalled, a new request fails at once rather than wait for the timeout.
  Pending p;
  p.sink = &sink;
  EXPECT_FALSE(c.enqueue(get, p, why));
  EXPECT_NE(why.find("is not answering"), std::string::npos) << why;
}

TEST(BackendHealth, AStalledBackEndThatAnswersNoPingIsFailed) {
  Hung h;
  UpstreamConn& c = h.backend->shared(resp::Protocol::kResp2, 0);
  RecordingSink sink;
  std::string why;
  const std::string_view get[] = {"GET", "k"};
  Pending p;
  p.sink = &sink;
  ASSERT_TRUE(c.enqueue(get, p, why)) << why;
  c.flush();
  h.pump();
  const std::uint64_t incarnation = c.incarnation();
  // Stalled: the request fails alone, and the back-end is asked for a sign of life.
  Hung::wait(milliseconds(350));
  h.backend->tick(lf::Clock::now());
  EXPECT_EQ(sink.replies.size(), 1u);
  EXPECT_EQ(h.backend->probes.load(), 1u);
  EXPECT_EQ(h.backend->failures.load(), 0u);
  h.pump();  // the probe's connection and its PING
  h.backend->tick(lf::Clock::now());  // no second PING while one waits
  EXPECT_EQ(h.backend->probes.load(), 1u);
  EXPECT_EQ(c.incarnation(), incarnation);
  // No answer within liveness_timeout: the probe and the stalled connection fail (one failure).
  Hung::wait(milliseconds(350));
  h.backend->tick(lf::Clock::now());
  EXPECT_EQ(h.backend->probes_failed.load(), 1u);
  EXPECT_NE(c.incarnation(), incarnation);
  EXPECT_EQ(h.backend->failures.load(), 1u);
  EXPECT_EQ(sink.refs, 0);
}

}  // namespace
}  // namespace lfdb::gateway
