// The completion handle set (lf::UringProactor): echo over real sockets on 127.0.0.1, many
// connections, closes while a recv is pending, fd reuse, a stress run (run under TSan too),
// moving the listener, a UNIX domain socket, and a handler that serves the set from inside.
// Skips with the reason where io_uring is unavailable.
#include "lf/uring_proactor.hpp"

#include "lf/unbound_thread_set.hpp"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;

// Everything a handler saw, checked by the tests; `busy` catches two threads in one handler.
struct Record {
  std::atomic<int> handlers{0}, closes{0}, overlaps{0};
  std::atomic<int> promoted{0};  // LONG handlers whose promote_new_leader() gave the role up
  std::atomic<int> served{0};    // handlers a SERVE handler ran nested (serve_while_processing)
  std::atomic<bool> long_running{false}, release_long{false};
  std::mutex mu;
  std::vector<lf::HandlerId> ids;  // by creation order
  std::vector<int> fds;
};

class Echo final : public lf::ProactorHandler {
 public:
  Echo(Record& r, lf::HandlerId id) : r_(r), id_(id) {}
  void on_data(lf::ProactorIo& io, std::string_view bytes) override {
    if (busy_.exchange(true)) r_.overlaps.fetch_add(1);
    EXPECT_TRUE(io.id() == id_) << "a completion reached the wrong handler";
    {
      std::lock_guard<std::mutex> l(r_.mu);
      if (fd_ < 0) {
        fd_ = io.fd();
        r_.fds.push_back(fd_);
      }
    }
    if (bytes == "QUIT\n") {
      io.close();
    } else if (bytes == "LONG\n") {
      // A long handler: it gives the leader role up, then holds this thread until the test
      // lets it go (liveness bound only), and answers.
      r_.promoted.fetch_add(lf::UnboundThreadSet::promote_new_leader() ? 1 : 0);
      r_.long_running.store(true);
      for (int i = 0; i < 20000 && !r_.release_long.load(); ++i) std::this_thread::sleep_for(1ms);
      io.send("DONE\n");
    } else if (bytes == "SERVE\n") {
      // A handler that keeps its thread (a busy script): it serves the set from inside itself
      // meanwhile, as lfdb-server's busy scripts do, until the test lets it go.
      r_.long_running.store(true);
      for (int i = 0; i < 20000 && !r_.release_long.load(); ++i) {
        r_.served.fetch_add(lf::UnboundThreadSet::serve_while_processing());
        std::this_thread::sleep_for(1ms);
      }
      io.send("DONE\n");
    } else {
      io.send(bytes);
    }
    std::this_thread::yield();  // widen the window another thread would need to overlap
    busy_.store(false);
  }
  void on_close() override {
    EXPECT_EQ(closes_.fetch_add(1), 0) << "on_close twice";
    r_.closes.fetch_add(1);
  }

 private:
  Record& r_;
  lf::HandlerId id_;
  std::atomic<bool> busy_{false};
  std::atomic<int> closes_{0};
  int fd_ = -1;
};

std::unique_ptr<lf::UringProactor> make(Record& r, int threads, unsigned buffers = 64, unsigned size = 1024,
                                        std::size_t output_limit = 1 << 20, const std::string& unix_socket = "") {
  lf::ProactorOptions o;
  o.unix_socket = unix_socket;
  o.threads = threads;
  o.output_limit = output_limit;
  o.buffers = buffers;
  o.buffer_size = size;
  o.max_connections = 512;
  auto p = lf::UringProactor::create(o, [&r](lf::HandlerId id, int) {
    r.handlers.fetch_add(1);
    std::lock_guard<std::mutex> l(r.mu);
    r.ids.push_back(id);
    return std::make_unique<Echo>(r, id);
  });
  if (!p.ok()) return nullptr;
  if (!p.value()->start().ok()) return nullptr;
  return std::move(p.value());
}

// Skips the test (with the reason) where the proactor cannot run.
#define MAKE_OR_SKIP(var, ...)                                                         \
  auto var = make(__VA_ARGS__);                                                        \
  if (!var) {                                                                          \
    lf::ProactorOptions probe;                                                         \
    auto why = lf::UringProactor::create(probe, [](lf::HandlerId, int) { return nullptr; }); \
    GTEST_SKIP() << "io_uring unavailable: " << why.status().message();                \
  }

struct Client {
  int fd = -1;
  explicit Client(std::uint16_t port) : Client(lf::InetAddr::resolve("127.0.0.1", port).value()) {}
  explicit Client(const lf::InetAddr& addr) {
    auto s = lf::Connector::connect(addr);
    if (s.ok()) fd = ::dup(s.value().handle());
  }
  ~Client() {
    if (fd >= 0) ::close(fd);
  }
  bool send_all(std::string_view b) {
    while (!b.empty()) {
      ssize_t n = ::send(fd, b.data(), b.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      b.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }
  // Up to n bytes, waiting at most `limit` (a liveness bound, not a timing assertion).
  std::string recv_n(std::size_t n, std::chrono::milliseconds limit = 10s) {
    std::string got;
    auto deadline = std::chrono::steady_clock::now() + limit;
    char buf[65536];
    while (got.size() < n && std::chrono::steady_clock::now() < deadline) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      ssize_t r = ::recv(fd, buf, std::min(sizeof buf, n - got.size()), 0);
      if (r <= 0) break;
      got.append(buf, static_cast<std::size_t>(r));
    }
    return got;
  }
  // True once the server closed its end (recv returns 0), within `limit`.
  bool sees_eof(std::chrono::milliseconds limit = 10s) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    char buf[4096];
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      ssize_t r = ::recv(fd, buf, sizeof buf, 0);
      if (r == 0) return true;
      if (r < 0) return errno == ECONNRESET;
    }
    return false;
  }
};

template <typename Pred>
bool eventually(Pred p, std::chrono::milliseconds limit = 10s) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (p()) return true;
    std::this_thread::sleep_for(1ms);
  }
  return p();
}

std::string pattern(std::size_t n, int seed) {
  std::string s(n, 'a');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (i * 7 + static_cast<std::size_t>(seed)) % 26);
  return s;
}

TEST(UringProactor, EchoesSmallAndLargeMessagesExactly) {
  Record r;
  MAKE_OR_SKIP(p, r, 2);
  Client c(p->port());
  ASSERT_GE(c.fd, 0);
  for (std::size_t n : {1u, 64u, 1024u, 1025u, 200000u}) {  // 200 KB: many buffers, partial sends
    std::string msg = pattern(n, static_cast<int>(n));
    std::thread sender([&] { EXPECT_TRUE(c.send_all(msg)); });
    std::string got = c.recv_n(n);
    sender.join();
    ASSERT_EQ(got.size(), n);
    EXPECT_TRUE(got == msg) << "bytes differ at size " << n;
  }
  EXPECT_EQ(r.overlaps.load(), 0);
}

TEST(UringProactor, ManyConnectionsEachGetTheirOwnBytes) {
  Record r;
  MAKE_OR_SKIP(p, r, 4, 256, 512);
  constexpr int kConns = 100;
  std::vector<std::unique_ptr<Client>> cs;
  for (int i = 0; i < kConns; ++i) {
    cs.push_back(std::make_unique<Client>(p->port()));
    ASSERT_GE(cs.back()->fd, 0);
  }
  for (int round = 0; round < 20; ++round) {
    for (int i = 0; i < kConns; ++i) ASSERT_TRUE(cs[i]->send_all(pattern(100, i * 31 + round)));
    for (int i = 0; i < kConns; ++i) ASSERT_EQ(cs[i]->recv_n(100), pattern(100, i * 31 + round)) << "conn " << i;
  }
  EXPECT_EQ(r.handlers.load(), kConns);
  EXPECT_EQ(r.overlaps.load(), 0);
  cs.clear();
  EXPECT_TRUE(eventually([&] { return r.closes.load() == kConns; })) << r.closes.load();
}

TEST(UringProactor, CloseWhileARecvIsPending) {
  Record r;
  MAKE_OR_SKIP(p, r, 2);
  // The server closes it: close(id) cancels the armed recv; the client sees the end.
  Client a(p->port());
  ASSERT_TRUE(a.send_all("hi"));
  ASSERT_EQ(a.recv_n(2), "hi");
  lf::HandlerId id;
  {
    std::lock_guard<std::mutex> l(r.mu);
    id = r.ids.at(0);
  }
  EXPECT_TRUE(p->close(id));
  EXPECT_TRUE(a.sees_eof());
  EXPECT_TRUE(eventually([&] { return r.closes.load() == 1; }));
  EXPECT_FALSE(p->close(id)) << "a closed handler's id must not name anything";
  // The client closes it: the pending recv ends with the end of stream.
  Client b(p->port());
  ASSERT_TRUE(b.send_all("yo"));
  ASSERT_EQ(b.recv_n(2), "yo");
  ::close(b.fd);
  b.fd = -1;
  EXPECT_TRUE(eventually([&] { return r.closes.load() == 2; }));
  // The handler closes itself from on_data.
  Client c(p->port());
  ASSERT_TRUE(c.send_all("QUIT\n"));
  EXPECT_TRUE(c.sees_eof());
  EXPECT_TRUE(eventually([&] { return r.closes.load() == 3; }));
  EXPECT_EQ(r.handlers.load(), 3);
}

TEST(UringProactor, FdReuseNeverReachesTheOldHandler) {
  Record r;
  MAKE_OR_SKIP(p, r, 2);
  std::set<int> fds_seen;
  int reused = 0;
  for (int i = 0; i < 20; ++i) {
    Client c(p->port());
    std::string msg = pattern(50, i);
    ASSERT_TRUE(c.send_all(msg));
    ASSERT_EQ(c.recv_n(50), msg);
    lf::HandlerId id;
    int fd;
    {
      std::lock_guard<std::mutex> l(r.mu);
      id = r.ids.back();
      fd = r.fds.back();
    }
    if (!fds_seen.insert(fd).second) ++reused;
    ASSERT_TRUE(p->close(id));  // the server closes, so the next accept may get the same fd
    ASSERT_TRUE(c.sees_eof());
    ASSERT_TRUE(eventually([&] { return r.closes.load() == i + 1; }));
    EXPECT_FALSE(p->close(id));
  }
  EXPECT_GT(reused, 0) << "the kernel never gave a closed fd number back: nothing was tested";
  std::set<std::uint64_t> ids;
  for (auto id : r.ids) ids.insert(id.raw());
  EXPECT_EQ(ids.size(), r.ids.size()) << "a HandlerId was given twice";
  EXPECT_EQ(r.overlaps.load(), 0);
}

TEST(UringProactor, APeerThatDoesNotReadStopsTheReceivingUntilItDoes) {
  Record r;
  MAKE_OR_SKIP(p, r, 2, 64, 1024, 64 * 1024);
  Client c(p->port());
  ASSERT_GE(c.fd, 0);
  int small = 16 * 1024;  // small socket buffers, so the server's sends back up quickly
  ASSERT_EQ(::setsockopt(c.fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small), 0);
  // More than the kernel's socket buffers take (the server's send buffer grows to 4 MiB), so
  // what is left backs up in the server. Twice that is enough: the small receive window makes
  // the echo slow (16 MiB took over 30 s on a loaded machine), and the deadline below only
  // guards against a stall.
  const std::string big = pattern(8 << 20, 3);
  std::thread sender([&] { EXPECT_TRUE(c.send_all(big)); });
  // Not reading: the echo backs up past the limit and the server stops receiving.
  EXPECT_TRUE(eventually([&] { return p->stats().recv_pauses > 0; })) << "no back-pressure";
  std::string got = c.recv_n(big.size(), 120s);
  sender.join();
  ASSERT_EQ(got.size(), big.size());
  EXPECT_TRUE(got == big) << "the echo after a pause came back different";
  EXPECT_EQ(r.overlaps.load(), 0);
}

// A churn of connections: `clients` threads each open `conns_each` connections in turn and run
// `talk(client, t, c)` on each (it answers how many exchanges saw bytes that were not theirs),
// while a thread closes a live handler every `period` (the `stride` picks which). Returns the
// count of bad exchanges and of connections that could not be made.
template <class Proactor, class Talk>
int churn_with_server_closes(Proactor& p, Record& r, int clients, int conns_each, std::size_t stride,
                             std::chrono::milliseconds period, Talk talk) {
  std::atomic<int> bad{0};
  std::atomic<bool> done{false};
  std::thread closer([&] {
    std::size_t k = 0;
    while (!done.load()) {
      lf::HandlerId id;
      {
        std::lock_guard<std::mutex> l(r.mu);
        if (!r.ids.empty()) id = r.ids[(k * stride) % r.ids.size()];
      }
      ++k;
      if (id.valid()) (void)p.close(id);
      std::this_thread::sleep_for(period);
    }
  });
  std::vector<std::thread> ts;
  for (int t = 0; t < clients; ++t) {
    ts.emplace_back([&, t] {
      for (int c = 0; c < conns_each; ++c) {
        Client cl(p.port());
        bad.fetch_add(cl.fd < 0 ? 1 : talk(cl, t, c));
      }
    });
  }
  for (auto& t : ts) t.join();
  done.store(true);
  closer.join();
  return bad.load();
}

TEST(UringProactor, StressChurnWithServerCloses) {
  Record r;
  MAKE_OR_SKIP(p, r, 4, 128, 256);  // few small buffers: recvs also run out and are posted again
  constexpr int kClients = 8, kConnsEach = 25, kMsgs = 20;
  const int bad = churn_with_server_closes(*p, r, kClients, kConnsEach, 7919, 2ms, [](Client& cl, int t, int c) {
    int wrong = 0;
    for (int m = 0; m < kMsgs; ++m) {
      std::string msg = pattern(static_cast<std::size_t>(100 + (m * 97) % 900), t * 1000 + c * 10 + m);
      if (!cl.send_all(msg)) break;  // closed by the closer: fine
      std::string got = cl.recv_n(msg.size());
      if (got.size() < msg.size()) break;  // closed mid-way: only a prefix may come
      if (got != msg) ++wrong;             // but never someone else's bytes
    }
    return wrong;
  });
  EXPECT_EQ(bad, 0);
  EXPECT_EQ(r.overlaps.load(), 0);
  EXPECT_EQ(r.handlers.load(), kClients * kConnsEach);
  EXPECT_TRUE(eventually([&] { return r.closes.load() == kClients * kConnsEach; })) << r.closes.load();
}

// The fast path wakes nobody: connections in lockstep, each turn reaping several recvs (and
// then the sends), and the leader runs them all itself; a follower is woken only for work it
// can take (notify, close, a long handler), and this echo asks for none.
TEST(UringProactor, LockstepTrafficWakesNoFollower) {
  Record r;
  MAKE_OR_SKIP(p, r, 2);
  constexpr int kConns = 16, kRounds = 100;
  std::vector<std::unique_ptr<Client>> cs;
  for (int i = 0; i < kConns; ++i) {
    cs.push_back(std::make_unique<Client>(p->port()));
    ASSERT_GE(cs.back()->fd, 0);
  }
  for (int round = 0; round < kRounds; ++round) {
    for (int i = 0; i < kConns; ++i) ASSERT_TRUE(cs[i]->send_all(pattern(64, i + round)));
    for (int i = 0; i < kConns; ++i) ASSERT_EQ(cs[i]->recv_n(64), pattern(64, i + round)) << "conn " << i;
  }
  lf::ProactorStats st = p->stats();
  EXPECT_EQ(st.follower_wakes, 0u) << "a follower was woken with no work of its own";
  EXPECT_EQ(st.promotions, 0u);
  EXPECT_LT(st.leader_turns, st.completions) << "each turn reaped one completion: nothing was batched";
  EXPECT_EQ(r.overlaps.load(), 0);
}

// A handler that runs long gives the leader role up (UnboundThreadSet::promote_new_leader()):
// the other connections are served meanwhile by the other thread, and the long one's reply
// still comes, after it.
TEST(UringProactor, ALongHandlerHandsTheRoleOn) {
  Record r;
  MAKE_OR_SKIP(p, r, 2);
  Client slow(p->port()), other(p->port());
  ASSERT_GE(slow.fd, 0);
  ASSERT_GE(other.fd, 0);
  ASSERT_TRUE(other.send_all("warm"));
  ASSERT_EQ(other.recv_n(4), "warm");
  ASSERT_TRUE(slow.send_all("LONG\n"));
  ASSERT_TRUE(eventually([&] { return r.long_running.load(); }));
  for (int i = 0; i < 20; ++i) {  // served while the long handler holds its thread
    std::string msg = pattern(40, i);
    ASSERT_TRUE(other.send_all(msg));
    ASSERT_EQ(other.recv_n(40), msg) << "nobody led while a handler ran long";
  }
  EXPECT_FALSE(r.release_long.load());
  r.release_long.store(true);
  EXPECT_EQ(slow.recv_n(5), "DONE\n");
  EXPECT_EQ(r.promoted.load(), 1);
  EXPECT_GE(p->stats().promotions, 1u);
  // Still echoing afterwards, on both.
  ASSERT_TRUE(slow.send_all("after"));
  EXPECT_EQ(slow.recv_n(5), "after");
  EXPECT_EQ(r.overlaps.load(), 0);
}

// Long handlers in a churn of connections: the role and the rest of a leader's turn go to the
// other threads many times, while fd numbers are reused and the server closes handlers.
TEST(UringProactor, StressLongHandlersAndServerCloses) {
  Record r;
  r.release_long.store(true);  // LONG returns at once, after giving the role up
  MAKE_OR_SKIP(p, r, 3, 128, 256);
  constexpr int kClients = 6, kConnsEach = 20, kMsgs = 15;
  const int bad = churn_with_server_closes(*p, r, kClients, kConnsEach, 104729, 3ms, [](Client& cl, int t, int c) {
    int wrong = 0;
    for (int m = 0; m < kMsgs; ++m) {
      const bool is_long = (m + t) % 3 == 0;
      std::string msg = is_long ? std::string("LONG\n") : pattern(static_cast<std::size_t>(50 + m * 13), t * 997 + c * 31 + m);
      std::string want = is_long ? std::string("DONE\n") : msg;
      if (!cl.send_all(msg)) break;
      std::string got = cl.recv_n(want.size());
      if (got.size() < want.size()) break;  // closed by the closer
      if (got != want) ++wrong;
    }
    return wrong;
  });
  EXPECT_EQ(bad, 0);
  EXPECT_EQ(r.overlaps.load(), 0);
  EXPECT_GT(p->stats().promotions, 0u);
  EXPECT_EQ(r.handlers.load(), kClients * kConnsEach);
  EXPECT_TRUE(eventually([&] { return r.closes.load() == kClients * kConnsEach; })) << r.closes.load();
}

// rebind: the listener moves to another port while connections stay; the old port refuses
// connections once rebind returned; a port that is taken fails and changes nothing.
TEST(UringProactor, RebindMovesTheListenerAndKeepsTheConnections) {
  Record r;
  MAKE_OR_SKIP(p, r, 2);
  const std::uint16_t first = p->port();
  Client before(first);
  ASSERT_GE(before.fd, 0);
  ASSERT_TRUE(before.send_all("one"));
  ASSERT_EQ(before.recv_n(3), "one");
  ASSERT_TRUE(p->rebind("127.0.0.1", 0).ok());
  const std::uint16_t second = p->port();
  EXPECT_NE(second, first);
  EXPECT_FALSE(lf::Connector::connect(lf::InetAddr::resolve("127.0.0.1", first).value()).ok())
      << "the old port still takes connections";
  Client after(second);
  ASSERT_GE(after.fd, 0);
  ASSERT_TRUE(after.send_all("two"));
  EXPECT_EQ(after.recv_n(3), "two");
  ASSERT_TRUE(before.send_all("three"));
  EXPECT_EQ(before.recv_n(5), "three");
  // A port another socket listens on: refused, and it still listens where it was.
  lf::Acceptor taken;
  ASSERT_TRUE(taken.open(lf::InetAddr::resolve("127.0.0.1", 0).value()).ok());
  EXPECT_FALSE(p->rebind("127.0.0.1", taken.local_addr().port()).ok());
  EXPECT_EQ(p->port(), second);
  Client again(second);
  ASSERT_GE(again.fd, 0);
  ASSERT_TRUE(again.send_all("four"));
  EXPECT_EQ(again.recv_n(4), "four");
  // Back and forth a few times: each retired socket is closed once its accept ended.
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(p->rebind("127.0.0.1", 0).ok());
  Client last(p->port());
  ASSERT_GE(last.fd, 0);
  ASSERT_TRUE(last.send_all("five"));
  EXPECT_EQ(last.recv_n(4), "five");
  EXPECT_EQ(r.overlaps.load(), 0);
}

// ProactorOptions::unix_socket: a second listener, served like the TCP one; its file goes
// when the proactor does.
TEST(UringProactor, ListensOnAUnixSocketToo) {
  Record r;
  const std::string path = "/tmp/lf-uring-proactor-" + std::to_string(::getpid()) + ".sock";
  {
    MAKE_OR_SKIP(p, r, 2, 64, 1024, 1 << 20, path);
    Client local(lf::InetAddr::unix_socket(path).value());
    ASSERT_GE(local.fd, 0) << "nothing listens at " << path;
    Client tcp(p->port());
    ASSERT_GE(tcp.fd, 0);
    for (int i = 0; i < 5; ++i) {
      const std::string msg = pattern(100 + static_cast<std::size_t>(i), i);
      ASSERT_TRUE(local.send_all(msg));
      EXPECT_EQ(local.recv_n(msg.size()), msg);
      ASSERT_TRUE(tcp.send_all(msg));
      EXPECT_EQ(tcp.recv_n(msg.size()), msg);
    }
    // Still there after the TCP listener moved.
    ASSERT_TRUE(p->rebind("127.0.0.1", 0).ok());
    Client second(lf::InetAddr::unix_socket(path).value());
    ASSERT_GE(second.fd, 0);
    ASSERT_TRUE(second.send_all("hi"));
    EXPECT_EQ(second.recv_n(2), "hi");
  }
  EXPECT_NE(::access(path.c_str(), F_OK), 0) << "the socket's file outlived the proactor";
}

// Every thread in a handler that keeps it (one thread, one SERVE): the handler serves the
// set from inside itself (UnboundThreadSet::serve_while_processing), so another connection
// (and a new one) is still answered, nested; the long handler's reply comes after.
TEST(UringProactor, AHandlerThatKeepsTheOnlyThreadServesTheOthers) {
  Record r;
  MAKE_OR_SKIP(p, r, 1);
  Client slow(p->port()), other(p->port());
  ASSERT_GE(slow.fd, 0);
  ASSERT_GE(other.fd, 0);
  ASSERT_TRUE(other.send_all("warm"));
  ASSERT_EQ(other.recv_n(4), "warm");
  ASSERT_TRUE(slow.send_all("SERVE\n"));
  ASSERT_TRUE(eventually([&] { return r.long_running.load(); }));
  for (int i = 0; i < 10; ++i) {
    const std::string msg = pattern(30, i);
    ASSERT_TRUE(other.send_all(msg));
    ASSERT_EQ(other.recv_n(30), msg) << "nobody served the set while its only thread was busy";
  }
  Client late(p->port());  // accepted while the only thread is busy
  ASSERT_GE(late.fd, 0);
  ASSERT_TRUE(late.send_all("late"));
  EXPECT_EQ(late.recv_n(4), "late");
  EXPECT_GT(r.served.load(), 0);
  r.release_long.store(true);
  EXPECT_EQ(slow.recv_n(5), "DONE\n");
  ASSERT_TRUE(slow.send_all("after"));
  EXPECT_EQ(slow.recv_n(5), "after");
  EXPECT_EQ(r.overlaps.load(), 0);
}

}  // namespace
