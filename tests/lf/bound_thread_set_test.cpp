#include "lf/bound_thread_set.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <mutex>
#include <thread>

#include "lf/net.hpp"

namespace {

using namespace std::chrono_literals;

// Wire format on the multiplexed stream, both ways: [u64 id][u32 length][payload].
std::string frame(std::uint64_t id, std::string_view payload) {
  std::string f(reinterpret_cast<const char*>(&id), 8);
  auto len = static_cast<std::uint32_t>(payload.size());
  f.append(reinterpret_cast<const char*>(&len), 4);
  f.append(payload);
  return f;
}

class SocketReplyStream : public lf::ReplyStream {
 public:
  explicit SocketReplyStream(lf::SockStream& s) : s_(s) {}
  lf::Result<std::uint64_t> read_header() override {
    char h[12];
    lf::Status st = s_.recv_exact(h, sizeof h);
    if (!st.ok()) return st;
    std::uint64_t id;
    std::memcpy(&id, h, 8);
    std::memcpy(&len_, h + 8, 4);
    return id;
  }
  lf::Status read_body(std::string& into) override {
    into.resize(len_);
    return s_.recv_exact(into.data(), len_);
  }

 private:
  lf::SockStream& s_;
  std::uint32_t len_ = 0;
};

// A back-end on the other end: collects `batch` requests, then answers them (in reverse order
// when `reverse`), each reply = "re:" + payload.
void backend(lf::SockStream& s, int total, int batch, bool reverse) {
  std::vector<std::pair<std::uint64_t, std::string>> pending;
  for (int done = 0; done < total;) {
    char h[12];
    if (!s.recv_exact(h, 12).ok()) return;
    std::uint64_t id;
    std::uint32_t len;
    std::memcpy(&id, h, 8);
    std::memcpy(&len, h + 8, 4);
    std::string body(len, '\0');
    if (!s.recv_exact(body.data(), len).ok()) return;
    pending.emplace_back(id, body);
    if (static_cast<int>(pending.size()) == batch || done + static_cast<int>(pending.size()) == total) {
      if (reverse) std::reverse(pending.begin(), pending.end());
      std::string out;
      for (auto& [rid, b] : pending) out += frame(rid, "re:" + b);
      if (!s.send_all(out).ok()) return;
      done += static_cast<int>(pending.size());
      pending.clear();
    }
  }
}

struct MuxPair {
  lf::SockStream client, server;
  MuxPair() {
    int fds[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
    client = lf::SockStream(fds[0]);
    server = lf::SockStream(fds[1]);
  }
};

TEST(BoundThreadSet, EveryThreadGetsItsOwnReplyOutOfOrder) {
  MuxPair mux;
  SocketReplyStream stream(mux.client);
  lf::BoundThreadSet set(stream);
  constexpr int kThreads = 6, kRequests = 200;
  std::thread server(backend, std::ref(mux.server), kThreads * kRequests, kThreads, true);
  std::mutex send_mu;
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      lf::ThreadContext ctx;
      for (int i = 0; i < kRequests; ++i) {
        std::uint64_t id = static_cast<std::uint64_t>(t) * 1000000 + static_cast<std::uint64_t>(i);
        std::string payload = "t" + std::to_string(t) + "-" + std::to_string(i);
        ctx.set_request_id(id);
        ASSERT_TRUE(set.expecting_response(&ctx).ok());  // before sending
        {
          std::lock_guard<std::mutex> g(send_mu);
          ASSERT_TRUE(mux.client.send_all(frame(id, payload)).ok());
        }
        lf::Status st = set.wait(&ctx, 20s);
        if (!st.ok() || ctx.response() != "re:" + payload) wrong.fetch_add(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  server.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(set.reply_handoffs() + set.own_replies(), static_cast<std::uint64_t>(kThreads * kRequests));
  EXPECT_GT(set.reply_handoffs(), 0u);  // reversed batches force handoffs
}

TEST(BoundThreadSet, NoHandoffWhenRepliesComeInOrderToOneThread) {
  MuxPair mux;
  SocketReplyStream stream(mux.client);
  lf::BoundThreadSet set(stream);
  constexpr int kRequests = 500;
  std::thread server(backend, std::ref(mux.server), kRequests, 1, false);
  lf::ThreadContext ctx;
  for (int i = 0; i < kRequests; ++i) {
    ctx.set_request_id(static_cast<std::uint64_t>(i));
    ASSERT_TRUE(set.expecting_response(&ctx).ok());
    ASSERT_TRUE(mux.client.send_all(frame(static_cast<std::uint64_t>(i), "x")).ok());
    ASSERT_TRUE(set.wait(&ctx, 20s).ok());
    ASSERT_EQ(ctx.response(), "re:x");
  }
  server.join();
  EXPECT_EQ(set.reply_handoffs(), 0u);
  EXPECT_EQ(set.own_replies(), static_cast<std::uint64_t>(kRequests));
}

TEST(BoundThreadSet, StreamFailureFailsEveryWaiter) {
  MuxPair mux;
  SocketReplyStream stream(mux.client);
  lf::BoundThreadSet set(stream);
  std::atomic<int> failed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&, t] {
      lf::ThreadContext ctx;
      ctx.set_request_id(static_cast<std::uint64_t>(t));
      ASSERT_TRUE(set.expecting_response(&ctx).ok());
      if (!set.wait(&ctx, 20s).ok()) failed.fetch_add(1);
    });
  }
  std::this_thread::sleep_for(50ms);
  mux.server.close();  // the back-end dies
  for (auto& t : threads) t.join();
  EXPECT_EQ(failed.load(), 3);
}

// Hybrid: the multiplexed connection is one handler in the pool's handle set; its replies are
// delivered to waiting threads, and waiting threads lead the whole set.
class MuxReader : public lf::EventHandler {
 public:
  MuxReader(int fd, lf::BoundThreadSet& set) : fd_(fd), set_(set) {}
  lf::Disposition handle_event(int, lf::EventMask) override {
    char buf[4096];
    ssize_t n;
    while ((n = ::read(fd_, buf, sizeof buf)) > 0) in_.append(buf, static_cast<std::size_t>(n));
    while (in_.size() >= 12) {
      std::uint64_t id;
      std::uint32_t len;
      std::memcpy(&id, in_.data(), 8);
      std::memcpy(&len, in_.data() + 8, 4);
      if (in_.size() < 12 + len) break;
      set_.deliver(id, std::string_view(in_).substr(12, len));
      in_.erase(0, 12 + len);
    }
    return lf::Disposition::kResume;
  }
  int get_handle() const override { return fd_; }

 private:
  int fd_;
  lf::BoundThreadSet& set_;
  std::string in_;
};

TEST(BoundThreadSet, HybridWaitersKeepServingOtherHandles) {
  auto reactor = std::move(lf::Reactor::create().value());
  lf::UnboundThreadSet pool(*reactor);
  lf::BoundThreadSet bound(pool);
  int mux_fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, mux_fds), 0);
  lf::SockStream backend_end(mux_fds[1]);
  (void)backend_end.set_nonblocking(false);
  MuxReader mux_reader(mux_fds[0], bound);
  ASSERT_TRUE(reactor->register_handler(&mux_reader, lf::kReadEvent).ok());

  // The back-end answers nothing until the "go" handle has been processed by the pool.
  std::atomic<bool> go{false};
  constexpr int kThreads = 3;
  std::thread server([&] {
    std::vector<std::uint64_t> ids;
    for (int i = 0; i < kThreads; ++i) {
      char h[12];
      if (!backend_end.recv_exact(h, 12).ok()) return;
      std::uint64_t id;
      std::uint32_t len;
      std::memcpy(&id, h, 8);
      std::memcpy(&len, h + 8, 4);
      std::string body(len, '\0');
      (void)backend_end.recv_exact(body.data(), len);
      ids.push_back(id);
    }
    while (!go.load()) std::this_thread::sleep_for(1ms);
    for (auto id : ids) (void)backend_end.send_all(frame(id, "done"));
  });

  // A client request handler: forwards to the back-end and waits for the reply (hybrid).
  std::mutex send_mu;
  std::atomic<int> answered{0}, waiting{0};
  struct Client : lf::EventHandler {
    int fd;
    std::uint64_t id;
    lf::BoundThreadSet* bound;
    std::mutex* send_mu;
    lf::SockStream* to_backend_writer;
    int mux_fd;
    std::atomic<int>* answered;
    std::atomic<int>* waiting;
    lf::Disposition handle_event(int, lf::EventMask) override {
      char c;
      while (::read(fd, &c, 1) > 0) {
      }
      lf::ThreadContext ctx;
      ctx.set_request_id(id);
      EXPECT_TRUE(bound->expecting_response(&ctx).ok());
      {
        std::lock_guard<std::mutex> g(*send_mu);
        std::string f = frame(id, "q");
        EXPECT_EQ(::send(mux_fd, f.data(), f.size(), MSG_NOSIGNAL), static_cast<ssize_t>(f.size()));
      }
      waiting->fetch_add(1);
      lf::Status st = bound->wait(&ctx, 10s);
      EXPECT_TRUE(st.ok()) << st.message();
      if (st.ok() && ctx.response() == "done") answered->fetch_add(1);
      return lf::Disposition::kResume;
    }
    int get_handle() const override { return fd; }
  };
  int client_fds[kThreads][2];
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < kThreads; ++i) {
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, client_fds[i]), 0);
    auto c = std::make_unique<Client>();
    c->fd = client_fds[i][0];
    c->id = static_cast<std::uint64_t>(100 + i);
    c->bound = &bound;
    c->send_mu = &send_mu;
    c->mux_fd = mux_fds[0];
    c->answered = &answered;
    c->waiting = &waiting;
    ASSERT_TRUE(reactor->register_handler(c.get(), lf::kReadEvent).ok());
    clients.push_back(std::move(c));
  }
  struct Go : lf::EventHandler {
    int fd;
    std::atomic<bool>* go;
    lf::Disposition handle_event(int, lf::EventMask) override {
      char c;
      while (::read(fd, &c, 1) > 0) {
      }
      go->store(true);
      return lf::Disposition::kResume;
    }
    int get_handle() const override { return fd; }
  } go_handler;
  int go_fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, go_fds), 0);
  go_handler.fd = go_fds[0];
  go_handler.go = &go;
  ASSERT_TRUE(reactor->register_handler(&go_handler, lf::kReadEvent).ok());

  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) threads.emplace_back([&, t] { (void)pool.join(lf::kInfinite, 0, t); });
  for (int i = 0; i < kThreads; ++i) ASSERT_EQ(::write(client_fds[i][1], "r", 1), 1);
  // Every pool thread is now inside a client handler, waiting for the back-end.
  auto end = std::chrono::steady_clock::now() + 10s;
  while (waiting.load() < kThreads && std::chrono::steady_clock::now() < end) std::this_thread::sleep_for(1ms);
  if (waiting.load() < kThreads) {
    for (auto& ti : pool.threads()) std::fprintf(stderr, "thread %d: %s\n", ti.tag, lf::to_string(ti.state));
    auto rs = reactor->stats();
    std::fprintf(stderr, "followers %zu leaders %d demuxed %llu dispatched %llu stale %llu\n", pool.follower_count(), pool.leaders_now(),
                 (unsigned long long)rs.demuxed, (unsigned long long)rs.dispatched, (unsigned long long)rs.stale);
  }
  ASSERT_EQ(waiting.load(), kThreads);
  // A new event on another handle: only a waiting thread leading the handle set can process it.
  ASSERT_EQ(::write(go_fds[1], "g", 1), 1);
  while (answered.load() < kThreads && std::chrono::steady_clock::now() < end) std::this_thread::sleep_for(1ms);
  EXPECT_EQ(answered.load(), kThreads);
  EXPECT_TRUE(go.load());
  pool.shutdown();
  for (auto& t : threads) t.join();
  server.join();
  reactor.reset();
  for (auto& f : client_fds) {
    ::close(f[0]);
    ::close(f[1]);
  }
  ::close(go_fds[0]);
  ::close(go_fds[1]);
  ::close(mux_fds[0]);
}

}  // namespace
