// Every concurrency model under stress: 8 server threads, 120 connections, pipelined messages
// of random sizes. Each message must be handled exactly once, in order, and never by two threads
// at once for the same connection; every echoed byte must match (checksummed on both sides).
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>

#include <atomic>
#include <chrono>
#include <cstring>
#include <random>
#include <thread>

#include "lf/concurrency_model.hpp"
#include "lf/mutex.hpp"
#include "lf/net.hpp"
#include "lf/uring_proactor.hpp"

namespace {

#ifdef LF_SANITIZED
constexpr int kMessagesPerConnection = 40;
#else
constexpr int kMessagesPerConnection = 200;
#endif
constexpr int kConnections = 120;
constexpr int kClientThreads = 4;

std::uint32_t checksum(const char* p, std::size_t n) {
  std::uint32_t h = 2166136261u;
  for (std::size_t i = 0; i < n; ++i) h = (h ^ static_cast<unsigned char>(p[i])) * 16777619u;
  return h;
}

// Frame: [u32 length of payload][u32 seq][u32 checksum of payload][payload].
struct Counters {
  std::atomic<std::uint64_t> handled{0};
  std::atomic<std::uint64_t> violations{0};
};

class FrameSession final : public lf::Session {
 public:
  explicit FrameSession(Counters& c) : c_(c) {}
  lf::SessionAction on_input(lf::InputBuffer& in, std::string& out) override {
    if (inside_.exchange(true)) c_.violations.fetch_add(1);  // two threads in one session
    for (;;) {
      std::string_view v = in.view();
      if (v.size() < 12) break;
      std::uint32_t len, seq, sum;
      std::memcpy(&len, v.data(), 4);
      std::memcpy(&seq, v.data() + 4, 4);
      std::memcpy(&sum, v.data() + 8, 4);
      if (v.size() < 12 + len) break;
      if (seq != next_seq_ || checksum(v.data() + 12, len) != sum) c_.violations.fetch_add(1);
      next_seq_ = seq + 1;
      out.append(v.data(), 12 + len);
      in.consume(12 + len);
      c_.handled.fetch_add(1);
    }
    inside_.store(false);
    return lf::SessionAction::kContinue;
  }

 private:
  Counters& c_;
  std::atomic<bool> inside_{false};
  std::uint32_t next_seq_ = 0;
};

class FrameService final : public lf::Service {
 public:
  Counters counters;
  std::unique_ptr<lf::Session> open_session(const lf::InetAddr&) override {
    return std::make_unique<FrameSession>(counters);
  }
};

void client(std::uint16_t port, int first, int count, std::atomic<int>& failures) {
  auto addr = lf::InetAddr::resolve("127.0.0.1", port);
  std::vector<lf::SockStream> conns;
  for (int i = 0; i < count; ++i) {
    auto s = lf::Connector::connect(*addr);
    if (!s.ok()) {
      failures.fetch_add(1);
      return;
    }
    conns.push_back(std::move(s.value()));
  }
  std::mt19937 rng(static_cast<unsigned>(first));
  std::vector<std::uint32_t> seq(static_cast<std::size_t>(count), 0);
  std::string batch, echo;
  int remaining = kMessagesPerConnection;
  while (remaining > 0) {
    int burst = std::min(remaining, 1 + static_cast<int>(rng() % 8));
    for (int i = 0; i < count; ++i) {
      batch.clear();
      for (int m = 0; m < burst; ++m) {
        std::uint32_t len = rng() % 2048;
        std::string payload(len, '\0');
        for (auto& ch : payload) ch = static_cast<char>(rng());
        std::uint32_t sum = checksum(payload.data(), len);
        std::uint32_t s = seq[static_cast<std::size_t>(i)]++;
        batch.append(reinterpret_cast<const char*>(&len), 4);
        batch.append(reinterpret_cast<const char*>(&s), 4);
        batch.append(reinterpret_cast<const char*>(&sum), 4);
        batch.append(payload);
      }
      auto& c = conns[static_cast<std::size_t>(i)];
      if (!c.send_all(batch).ok()) {
        failures.fetch_add(1);
        return;
      }
      echo.resize(batch.size());
      if (!c.recv_exact(echo.data(), echo.size()).ok() || echo != batch) {
        failures.fetch_add(1);
        return;
      }
    }
    remaining -= burst;
  }
}

// A model, and the handle set its threads share (lf and lf-multi run under both).
struct ModelCase {
  lf::ModelKind model;
  lf::HandleSetKind handle_set;
};

std::vector<ModelCase> all_cases() {
  std::vector<ModelCase> cases;
  for (lf::ModelKind m : lf::all_models()) {
    cases.push_back({m, lf::HandleSetKind::kEpollOneShot});
    if (m == lf::ModelKind::kLeaderFollowers || m == lf::ModelKind::kLeaderFollowersMulti) {
      cases.push_back({m, lf::HandleSetKind::kEpollEdge});
      cases.push_back({m, lf::HandleSetKind::kIoUring});
    }
  }
  // The completion handle set hosts the lf model's sessions itself (src/lf/uring_connection.hpp).
  cases.push_back({lf::ModelKind::kLeaderFollowers, lf::HandleSetKind::kUringCompletion});
  return cases;
}

// Why the completion handle set cannot run here ("" if it can): liburing not built in, or a
// kernel without io_uring or provided buffer rings.
std::string uring_completion_unavailable() {
  lf::ProactorOptions po;
  auto p = lf::UringProactor::create(po, [](lf::HandlerId, int) { return nullptr; });
  return p.ok() ? std::string() : p.status().message();
}

lf::Result<lf::SockStream> connect_to(std::uint16_t port) {
  return lf::Connector::connect(*lf::InetAddr::resolve("127.0.0.1", port), std::chrono::seconds(2));
}

class ModelStress : public ::testing::TestWithParam<ModelCase> {
 protected:
  void SetUp() override {
    if (GetParam().handle_set == lf::HandleSetKind::kUringCompletion) {
      if (const std::string why = uring_completion_unavailable(); !why.empty()) GTEST_SKIP() << why;
      return;
    }
    if (GetParam().handle_set != lf::HandleSetKind::kIoUring) return;
    lf::ReactorOptions ro;
    ro.handle_set = lf::HandleSetKind::kIoUring;
    auto r = lf::Reactor::create(ro);  // only where liburing was built in and the kernel allows it
    if (!r.ok()) GTEST_SKIP() << r.status().message();
  }
  lf::ModelOptions options() const {
    lf::ModelOptions o;
    o.handle_set = GetParam().handle_set;
    return o;
  }
  lf::ModelKind model_kind() const { return GetParam().model; }
  // A model of this case's kind with two threads serving `service`, started (null, with the
  // failure recorded, when it could not be).
  std::unique_ptr<lf::ConcurrencyModel> start_two_threads(lf::Service& service) const {
    lf::ModelOptions o = options();
    o.threads = 2;
    auto model = lf::ConcurrencyModel::create(model_kind(), o, service);
    if (!model.ok()) {
      ADD_FAILURE() << model.status().message();
      return nullptr;
    }
    if (!model.value()->start().ok()) {
      ADD_FAILURE() << "the model did not start";
      return nullptr;
    }
    return std::move(model.value());
  }
};

TEST_P(ModelStress, EveryMessageHandledOnceInOrder) {
  FrameService service;
  lf::ModelOptions o = options();
  o.threads = 8;
  o.read_chunk = 1024;  // small reads: frames split across reads all the time
  o.events_per_turn = 4;
  auto model = lf::ConcurrencyModel::create(model_kind(), o, service);
  ASSERT_TRUE(model.ok()) << model.status().message();
  ASSERT_TRUE(model.value()->start().ok());
  std::atomic<int> failures{0};
  std::vector<std::thread> clients;
  int per = kConnections / kClientThreads;
  for (int t = 0; t < kClientThreads; ++t) {
    clients.emplace_back(client, model.value()->port(), t * per, per, std::ref(failures));
  }
  for (auto& c : clients) c.join();
  lf::ModelStats st = model.value()->stats();
  model.value()->stop();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(service.counters.violations.load(), 0u);
  EXPECT_EQ(service.counters.handled.load(),
            static_cast<std::uint64_t>(kConnections) * kMessagesPerConnection);
  EXPECT_EQ(st.accepted, static_cast<std::uint64_t>(kConnections));
}

TEST_P(ModelStress, StopsWithClientsConnectedAndLeaksNothing) {
  FrameService service;
  lf::ModelOptions o = options();
  o.threads = 4;
  auto model = lf::ConcurrencyModel::create(model_kind(), o, service);
  ASSERT_TRUE(model.ok());
  ASSERT_TRUE(model.value()->start().ok());
  auto addr = lf::InetAddr::resolve("127.0.0.1", model.value()->port());
  std::vector<lf::SockStream> idle;
  for (int i = 0; i < 20; ++i) idle.push_back(std::move(lf::Connector::connect(*addr).value()));
  // One connection mid-request: half a frame sent.
  std::uint32_t len = 100, seq = 0, sum = 0;
  std::string half(reinterpret_cast<const char*>(&len), 4);
  half.append(reinterpret_cast<const char*>(&seq), 4).append(reinterpret_cast<const char*>(&sum), 4).append(10, 'x');
  ASSERT_TRUE(idle[0].send_all(half).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  auto t0 = std::chrono::steady_clock::now();
  model.value()->stop();
  auto elapsed = std::chrono::steady_clock::now() - t0;
  // A liveness bound (the spec: stop returns within a second), not a performance target.
  EXPECT_LT(elapsed, std::chrono::seconds(1));
  EXPECT_EQ(model.value()->stats().open_connections, 0u);
}

// A service that turns every peer away but the ones it admits: the refused connection gets the
// refusal's bytes, then end of stream, and no session is ever opened for it.
class RefusingService final : public lf::Service {
 public:
  std::atomic<int> opened{0};
  std::atomic<bool> refuse{true};
  std::string_view refusal(const lf::InetAddr&) override {
    return refuse.load() ? std::string_view("-DENIED go away\r\n") : std::string_view();
  }
  std::unique_ptr<lf::Session> open_session(const lf::InetAddr&) override {
    opened.fetch_add(1);
    return std::make_unique<FrameSession>(counters_);
  }

 private:
  Counters counters_;
};

TEST_P(ModelStress, ARefusedConnectionGetsTheRefusalAndIsClosed) {
  RefusingService service;
  auto model = start_two_threads(service);
  ASSERT_TRUE(model);
  auto refused = connect_to(model->port());
  ASSERT_TRUE(refused.ok());
  // Nothing sent: the refusal comes unasked, then the end of the stream.
  std::string got(17, '\0');
  ASSERT_TRUE(refused.value().recv_exact(got.data(), got.size()).ok());
  EXPECT_EQ(got, "-DENIED go away\r\n");
  char more = 0;
  EXPECT_FALSE(refused.value().recv_exact(&more, 1).ok());
  // Admitted again: an ordinary session echoes a frame.
  service.refuse.store(false);
  auto admitted = connect_to(model->port());
  ASSERT_TRUE(admitted.ok());
  std::string frame(12, '\0');  // an empty payload: length 0, seq 0, checksum of nothing
  const std::uint32_t sum = checksum(nullptr, 0);
  std::memcpy(frame.data() + 8, &sum, 4);
  ASSERT_TRUE(admitted.value().send_all(frame).ok());
  std::string echo(12, '\0');
  ASSERT_TRUE(admitted.value().recv_exact(echo.data(), echo.size()).ok());
  EXPECT_EQ(echo, frame);
  const lf::ModelStats st = model->stats();
  model->stop();
  EXPECT_EQ(service.opened.load(), 1);
  EXPECT_EQ(st.rejected, 1u);
  EXPECT_EQ(st.accepted, 1u);
}

// kYield: a session whose replies are much larger than its requests (a pipeline of large GETs)
// yields them in pieces; the model sends each piece and runs the session over the input it kept,
// and while the client does not read, runs nothing more. Every reply arrives whole, in order,
// and the session never had more than a piece (plus one reply) built at once.
class AmplifyingSession final : public lf::Session {
 public:
  static constexpr std::size_t kReply = 100 * 1024;
  explicit AmplifyingSession(std::atomic<std::size_t>& most) : most_(most) {}
  lf::SessionAction on_input(lf::InputBuffer& in, std::string& out) override {
    while (in.size() >= 4) {
      std::uint32_t seq;
      std::memcpy(&seq, in.view().data(), 4);
      in.consume(4);
      out.append(kReply, static_cast<char>('a' + seq % 26));
      std::size_t m = most_.load();
      while (out.size() > m && !most_.compare_exchange_weak(m, out.size())) {
      }
      if (out.size() >= lf::kReplyFlushBytes && in.size() >= 4) return lf::SessionAction::kYield;
    }
    return lf::SessionAction::kContinue;
  }

 private:
  std::atomic<std::size_t>& most_;
};

class AmplifyingService final : public lf::Service {
 public:
  std::atomic<std::size_t> most{0};
  std::unique_ptr<lf::Session> open_session(const lf::InetAddr&) override {
    return std::make_unique<AmplifyingSession>(most);
  }
};

TEST_P(ModelStress, AYieldingSessionSendsItsRepliesInPiecesToASlowReader) {
  AmplifyingService service;
  auto model = start_two_threads(service);
  ASSERT_TRUE(model);
  auto c = connect_to(model->port());
  ASSERT_TRUE(c.ok());
  constexpr std::uint32_t kRequests = 200;  // 20 MB of replies for 800 bytes of requests
  std::string requests;
  for (std::uint32_t i = 0; i < kRequests; ++i) requests.append(reinterpret_cast<const char*>(&i), 4);
  ASSERT_TRUE(c.value().send_all(requests).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // not reading: the model waits
  std::string reply(AmplifyingSession::kReply, '\0');
  for (std::uint32_t i = 0; i < kRequests; ++i) {
    ASSERT_TRUE(c.value().recv_exact(reply.data(), reply.size()).ok()) << "reply " << i;
    ASSERT_EQ(reply, std::string(reply.size(), static_cast<char>('a' + i % 26))) << "reply " << i;
  }
  model->stop();
  EXPECT_LE(service.most.load(), lf::kReplyFlushBytes + AmplifyingSession::kReply);
}

// Session::reads_while_output_waits: a session that asks to be read on while its replies wait
// echoes what it reads, yielding every kReplyFlushBytes. A client that writes 24 MB before it
// reads a byte (a pipeline sent whole, as redis-py's) gets all of it back, in order; with
// back-pressure the model stopped reading once the socket held the first replies, and both
// sides blocked in their sends (the client's send timeout turns that into a failure here).
class ReadOnEchoSession final : public lf::Session {
 public:
  lf::SessionAction on_input(lf::InputBuffer& in, std::string& out) override {
    while (!in.empty()) {
      const std::size_t n = std::min<std::size_t>(in.size(), 4096);
      out.append(in.view().substr(0, n));
      in.consume(n);
      if (out.size() >= lf::kReplyFlushBytes && !in.empty()) return lf::SessionAction::kYield;
    }
    return lf::SessionAction::kContinue;
  }
  bool reads_while_output_waits() const override { return true; }
};

class ReadOnEchoService final : public lf::Service {
 public:
  std::unique_ptr<lf::Session> open_session(const lf::InetAddr&) override {
    return std::make_unique<ReadOnEchoSession>();
  }
};

TEST_P(ModelStress, ASessionReadOnTakesAPipelineSentWholeBeforeAnyRead) {
  ReadOnEchoService service;
  auto model = start_two_threads(service);
  ASSERT_TRUE(model);
  auto c = connect_to(model->port());
  ASSERT_TRUE(c.ok());
  const timeval limit{30, 0};  // a deadlock fails the send instead of hanging the test
  ASSERT_EQ(::setsockopt(c.value().handle(), SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit), 0);
  ASSERT_EQ(::setsockopt(c.value().handle(), SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit), 0);
  std::string sent(24u << 20, '\0');
  std::mt19937 rng(7);
  for (char& ch : sent) ch = static_cast<char>(rng());
  ASSERT_TRUE(c.value().send_all(sent).ok()) << "the model stopped reading while replies waited";
  std::string back(sent.size(), '\0');
  ASSERT_TRUE(c.value().recv_exact(back.data(), back.size()).ok());
  EXPECT_TRUE(back == sent);
  model->stop();
}

// One frame there and back over `c`: the connection is served.
bool echoes(lf::SockStream& c, std::uint32_t seq) {
  const std::string payload = "frame " + std::to_string(seq);
  const auto len = static_cast<std::uint32_t>(payload.size());
  const std::uint32_t sum = checksum(payload.data(), len);
  std::string frame;
  frame.append(reinterpret_cast<const char*>(&len), 4);
  frame.append(reinterpret_cast<const char*>(&seq), 4);
  frame.append(reinterpret_cast<const char*>(&sum), 4);
  frame.append(payload);
  std::string back(frame.size(), '\0');
  return c.send_all(frame).ok() && c.recv_exact(back.data(), back.size()).ok() && back == frame;
}

// CONFIG SET port's ground: rebind moves the listening socket while the model runs. A port
// in use changes nothing; a free one is listened on at once and the old one is closed when
// rebind returns; connections accepted before go on being served throughout.
TEST_P(ModelStress, RebindMovesTheListenerAndKeepsTheConnections) {
  FrameService service;
  auto model = lf::ConcurrencyModel::create(model_kind(), options(), service);
  ASSERT_TRUE(model.ok());
  lf::ConcurrencyModel& m = *model.value();
  ASSERT_TRUE(m.start().ok());
  const std::uint16_t first = m.port();
  auto kept = connect_to(first);
  ASSERT_TRUE(kept.ok());
  ASSERT_TRUE(echoes(kept.value(), 0));

  lf::Acceptor taken;  // another listener holds this port
  ASSERT_TRUE(taken.open(*lf::InetAddr::resolve("127.0.0.1", 0)).ok());
  EXPECT_FALSE(m.rebind("127.0.0.1", taken.local_addr().port()).ok());
  EXPECT_EQ(m.port(), first);
  auto still = connect_to(first);
  ASSERT_TRUE(still.ok()) << "the failed rebind closed the listener";
  EXPECT_TRUE(echoes(still.value(), 0));
  EXPECT_FALSE(m.rebind("no.such.host.invalid", 0).ok());
  EXPECT_EQ(m.port(), first);

  std::uint16_t before = first;
  for (int round = 0; round < 3; ++round) {  // the retired listeners are freed on the way
    ASSERT_TRUE(m.rebind("127.0.0.1", 0).ok());
    const std::uint16_t now = m.port();
    ASSERT_NE(now, before);
    auto fresh = connect_to(now);
    ASSERT_TRUE(fresh.ok()) << "round " << round;
    EXPECT_TRUE(echoes(fresh.value(), 0));
    EXPECT_FALSE(connect_to(before).ok()) << "the old port still listens, round " << round;
    EXPECT_TRUE(echoes(kept.value(), static_cast<std::uint32_t>(round + 1)));
    before = now;
  }
  m.stop();
  EXPECT_EQ(service.counters.violations.load(), 0u);
}

// A service that remembers the peer each session was opened for (then echoes as FrameService).
class PeerService final : public lf::Service {
 public:
  Counters counters;
  std::unique_ptr<lf::Session> open_session(const lf::InetAddr& peer) override {
    lf::MutexLock lock(mu);
    peers.push_back(peer.to_string());
    return std::make_unique<FrameSession>(counters);
  }
  lf::Mutex mu;
  std::vector<std::string> peers LF_GUARDED_BY(mu);
};

// ModelOptions::unix_socket: a UNIX domain socket served beside the TCP port by every model and
// handle set, its file made with the mode asked for in place of one left behind, kept by a
// rebind, named as the sessions' peer, and removed when the model stops.
TEST_P(ModelStress, AUnixSocketIsServedBesideTcpAndRemovedAtStop) {
  PeerService service;
  lf::ModelOptions o = options();
  o.unix_socket = ::testing::TempDir() + "lf-models-" + std::to_string(::getpid()) + ".sock";
  o.unix_socket_perm = 0700;
  const std::string path = o.unix_socket;
  auto model = lf::ConcurrencyModel::create(model_kind(), o, service);
  ASSERT_TRUE(model.ok());
  { std::ofstream stale(path); stale << "left by an earlier run\n"; }
  ASSERT_TRUE(model.value()->start().ok());
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  auto local = lf::InetAddr::unix_socket(path);
  ASSERT_TRUE(local.ok());
  EXPECT_EQ(local->to_string(), path + ":0");
  auto c = lf::Connector::connect(*local);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_TRUE(echoes(c.value(), 0));
  auto tcp = connect_to(model.value()->port());
  ASSERT_TRUE(tcp.ok());
  EXPECT_TRUE(echoes(tcp.value(), 0));
  EXPECT_TRUE(echoes(c.value(), 1));
  ASSERT_TRUE(model.value()->rebind("127.0.0.1", 0).ok());  // TCP moves; the socket stays
  auto again = lf::Connector::connect(*local);
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_TRUE(echoes(again.value(), 0));
  {
    lf::MutexLock lock(service.mu);
    EXPECT_EQ(std::count(service.peers.begin(), service.peers.end(), path + ":0"), 2);
    EXPECT_EQ(service.peers.size(), 3u);
  }
  model.value()->stop();
  EXPECT_NE(::stat(path.c_str(), &st), 0) << "the socket file outlived the model";
  EXPECT_FALSE(lf::Connector::connect(*local).ok());
  EXPECT_EQ(service.counters.violations.load(), 0u);
}

TEST(UnixSocketAddr, APathThatDoesNotFitIsRefused) {
  EXPECT_FALSE(lf::InetAddr::unix_socket("").ok());
  EXPECT_FALSE(lf::InetAddr::unix_socket("/" + std::string(200, 'x')).ok());
  auto a = lf::InetAddr::unix_socket("/tmp/x.sock");
  ASSERT_TRUE(a.ok());
  EXPECT_TRUE(a->is_unix_socket());
  EXPECT_EQ(a->port(), 0);
  EXPECT_FALSE(lf::InetAddr::resolve("127.0.0.1", 1)->is_unix_socket());
}

// Connections that come and go, so the server reuses their descriptors (and the completion
// handle set its slots) all the time: each new connection's session starts from sequence 0, so
// a byte routed to the session of an earlier connection on the same descriptor is a violation.
TEST_P(ModelStress, ChurnNeverReachesAnEarlierConnectionsSession) {
  FrameService service;
  lf::ModelOptions o = options();
  o.threads = 4;
  auto model = lf::ConcurrencyModel::create(model_kind(), o, service);
  ASSERT_TRUE(model.ok());
  ASSERT_TRUE(model.value()->start().ok());
  constexpr int kThreads = 4, kRounds = 150;
  std::atomic<int> failures{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < kThreads; ++t) {
    clients.emplace_back([&, t] {
      for (int r = 0; r < kRounds; ++r) {
        auto c = connect_to(model.value()->port());
        if (!c.ok() || !echoes(c.value(), 0) || !echoes(c.value(), 1)) failures.fetch_add(1);
        if (r % 3 == t % 3 && c.ok()) {  // some leave with a frame half sent
          const std::uint32_t len = 50;
          (void)c.value().send_all(std::string_view(reinterpret_cast<const char*>(&len), 4));
        }
      }
    });
  }
  for (auto& c : clients) c.join();
  model.value()->stop();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(service.counters.violations.load(), 0u);
  EXPECT_EQ(service.counters.handled.load(), static_cast<std::uint64_t>(kThreads) * kRounds * 2);
}

INSTANTIATE_TEST_SUITE_P(AllModels, ModelStress, ::testing::ValuesIn(all_cases()),
                         [](const auto& info) {
                           std::string n = lf::to_string(info.param.model);
                           if (info.param.handle_set == lf::HandleSetKind::kEpollEdge) n += "_et";
                           if (info.param.handle_set == lf::HandleSetKind::kIoUring) n += "_io_uring";
                           if (info.param.handle_set == lf::HandleSetKind::kUringCompletion) n += "_uring_completion";
                           for (auto& ch : n) if (ch == '-') ch = '_';
                           return n;
                         });

TEST(ModelNames, ParseAndPrint) {
  lf::ModelKind k;
  for (auto m : lf::all_models()) {
    ASSERT_TRUE(lf::parse_model(lf::to_string(m), k));
    EXPECT_EQ(k, m);
  }
  EXPECT_FALSE(lf::parse_model("threads", k));
  lf::HandleSetKind h;
  for (auto kind : {lf::HandleSetKind::kEpollOneShot, lf::HandleSetKind::kEpollEdge, lf::HandleSetKind::kIoUring,
                    lf::HandleSetKind::kUringCompletion}) {
    ASSERT_TRUE(lf::parse_handle_set(lf::to_string(kind), h));
    EXPECT_EQ(h, kind);
  }
  EXPECT_FALSE(lf::parse_handle_set("epoll", h));
}

// The completion handle set runs the lf model only: the others are refused with the reason,
// never run on something else.
TEST(ModelNames, UringCompletionIsRefusedWithModelsOtherThanLf) {
  class Nothing final : public lf::Service {
   public:
    std::unique_ptr<lf::Session> open_session(const lf::InetAddr&) override { return nullptr; }
  } service;
  lf::ModelOptions o;
  o.handle_set = lf::HandleSetKind::kUringCompletion;
  for (lf::ModelKind m : lf::all_models()) {
    if (m == lf::ModelKind::kLeaderFollowers) continue;
    auto model = lf::ConcurrencyModel::create(m, o, service);
    ASSERT_FALSE(model.ok()) << lf::to_string(m);
    EXPECT_NE(model.status().message().find("uring-completion"), std::string::npos) << model.status().message();
  }
  lf::ReactorOptions ro;
  ro.handle_set = lf::HandleSetKind::kUringCompletion;
  EXPECT_FALSE(lf::Reactor::create(ro).ok());
}

}  // namespace

namespace {

// Lazy promotion on the completion handle set: a thread that goes on to process keeps no
// follower awake, so a handler about to run long says so (UnboundThreadSet::promote_new_leader,
// as lfdb-server's scripts do) and a follower leads meanwhile. The long handler waits for
// another connection to be served; without the promotion nobody would serve it until the long
// handler gave up (its bound, 10 s, is for liveness only) and long_saw_it stays false.
struct LongAndShort {
  std::atomic<bool> short_served{false};
  std::atomic<bool> long_saw_it{false};
};

class LongOrShortSession final : public lf::Session {
 public:
  explicit LongOrShortSession(LongAndShort& s) : s_(s) {}
  lf::SessionAction on_input(lf::InputBuffer& in, std::string& out) override {
    while (!in.empty()) {
      const char op = in.view()[0];
      in.consume(1);
      if (op == 'P') {
        out.push_back('p');
      } else if (op == 'L') {
        (void)lf::UnboundThreadSet::promote_new_leader();
        const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (!s_.short_served.load() && std::chrono::steady_clock::now() < until) {
          std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        s_.long_saw_it.store(s_.short_served.load());
        out.push_back('l');
      } else {
        s_.short_served.store(true);
        out.push_back('s');
      }
    }
    return lf::SessionAction::kContinue;
  }

 private:
  LongAndShort& s_;
};

class LongOrShortService final : public lf::Service {
 public:
  LongAndShort state;
  std::unique_ptr<lf::Session> open_session(const lf::InetAddr&) override {
    return std::make_unique<LongOrShortSession>(state);
  }
};

TEST(UringCompletionLazy, ALongHandlerThatSaysSoHandsTheQueueOn) {
  if (const std::string why = uring_completion_unavailable(); !why.empty()) GTEST_SKIP() << why;
  LongOrShortService service;
  lf::ModelOptions o;
  o.handle_set = lf::HandleSetKind::kUringCompletion;
  o.threads = 2;
  o.lazy_promotion = true;
  auto model = lf::ConcurrencyModel::create(lf::ModelKind::kLeaderFollowers, o, service);
  ASSERT_TRUE(model.ok());
  ASSERT_TRUE(model.value()->start().ok());
  auto slow = connect_to(model.value()->port());
  auto quick = connect_to(model.value()->port());
  ASSERT_TRUE(slow.ok() && quick.ok());
  char c = 0;
  for (auto* conn : {&slow.value(), &quick.value()}) {  // both served once: the model runs
    ASSERT_TRUE(conn->send_all("P").ok());
    ASSERT_TRUE(conn->recv_exact(&c, 1).ok());
  }
  // Time for the second thread to start and wait as a follower (else it would come to lead
  // by itself, and this would not test the promotion).
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  ASSERT_TRUE(slow.value().send_all("L").ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the long handler is running
  ASSERT_TRUE(quick.value().send_all("S").ok());
  ASSERT_TRUE(quick.value().recv_exact(&c, 1).ok());
  EXPECT_EQ(c, 's');
  ASSERT_TRUE(slow.value().recv_exact(&c, 1).ok());
  EXPECT_EQ(c, 'l');
  EXPECT_TRUE(service.state.long_saw_it.load());
  model.value()->stop();
}

}  // namespace
