// Replies at the end of a turn (lf::detail::ReplyBatch): a leader that takes several ready
// connections in one turn sends none of their replies before it has run them all, so no client
// is woken while the turn still has connections to serve. Real sockets, the lf model.
#include <gtest/gtest.h>
#include <linux/sockios.h>
#include <poll.h>
#include <sys/ioctl.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "lf/concurrency_model.hpp"
#include "lf/net.hpp"

namespace {

constexpr int kClients = 8;

struct Shared {
  Shared() {
    for (std::atomic<int>& fd : server_fds) fd.store(-1);
  }
  std::vector<int> client_fds;  // the clients' ends, set before any request is sent
  std::vector<std::atomic<int>> server_fds = std::vector<std::atomic<int>>(kClients);  // ours
  std::atomic<bool> holding{false};  // the server's thread is in the hold
  std::atomic<bool> release{false};
  std::atomic<int> saw_reply_early{0};  // a session that found another client's reply arrived
  std::atomic<int> handled{0};
};

// '#': holds the server's thread until the test releases it (so that the clients' requests
// are all ready when it next waits: one turn). 'a' + i: client i's request; before answering
// it, looks whether any other client already has a reply to read.
class BatchSession final : public lf::Session {
 public:
  explicit BatchSession(Shared& s) : s_(s) {}
  lf::SessionAction on_input(lf::InputBuffer& in, std::string& out) override {
    for (char c : in.view()) {
      if (c == '#') {
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        s_.holding.store(true);
        while (!s_.release.load() && std::chrono::steady_clock::now() < deadline) {
          std::this_thread::yield();
        }
        out.push_back('!');
        continue;
      }
      const int me = c - 'a';
      s_.server_fds[static_cast<std::size_t>(me)].store(host()->handle());
      // A reply was sent if it is still in its socket's send queue, or else has reached the
      // client (which reads nothing until the end). Loopback may deliver it after the send
      // returns, so both are looked at, in this order.
      for (int i = 0; i < kClients; ++i) {
        if (i == me) continue;
        int queued = 0;
        const int fd = s_.server_fds[static_cast<std::size_t>(i)].load();
        if (fd >= 0 && ::ioctl(fd, SIOCOUTQ, &queued) == 0 && queued > 0) {
          s_.saw_reply_early.fetch_add(1);
          continue;
        }
        pollfd p{s_.client_fds[static_cast<std::size_t>(i)], POLLIN, 0};
        if (::poll(&p, 1, 0) == 1) s_.saw_reply_early.fetch_add(1);
      }
      s_.handled.fetch_add(1);
      out.push_back(static_cast<char>('A' + me));
    }
    in.consume(in.size());
    return lf::SessionAction::kContinue;
  }

 private:
  Shared& s_;
};

class BatchService final : public lf::Service {
 public:
  Shared shared;
  std::unique_ptr<lf::Session> open_session(const lf::InetAddr&) override {
    return std::make_unique<BatchSession>(shared);
  }
};

TEST(ReplyBatch, NoReplyOfATurnLeavesBeforeItsLastDispatch) {
  BatchService service;
  lf::ModelOptions o;
  o.threads = 1;  // one leader: the clients' requests all land in its next turn
  o.events_per_turn = 64;
  o.lazy_promotion = true;
  auto model = lf::ConcurrencyModel::create(lf::ModelKind::kLeaderFollowers, o, service);
  ASSERT_TRUE(model.ok()) << model.status().message();
  ASSERT_TRUE(model.value()->start().ok());
  auto addr = lf::InetAddr::resolve("127.0.0.1", model.value()->port());
  ASSERT_TRUE(addr.ok());

  std::vector<lf::SockStream> clients;
  for (int i = 0; i < kClients; ++i) {
    auto s = lf::Connector::connect(*addr);
    ASSERT_TRUE(s.ok()) << s.status().message();
    service.shared.client_fds.push_back(s.value().handle());
    clients.push_back(std::move(s.value()));
  }
  auto holder = lf::Connector::connect(*addr);
  ASSERT_TRUE(holder.ok());
  // Every connection accepted and served once (a turn of its own each), so the next requests
  // find them registered.
  for (int i = 0; i < kClients; ++i) {
    ASSERT_TRUE(clients[static_cast<std::size_t>(i)].send_all(std::string(1, static_cast<char>('a' + i))).ok());
    char r = 0;
    ASSERT_TRUE(clients[static_cast<std::size_t>(i)].recv_exact(&r, 1).ok());
    ASSERT_EQ(r, 'A' + i);
  }
  service.shared.saw_reply_early.store(0);

  ASSERT_TRUE(holder.value().send_all("#").ok());
  // Once the thread is in the hold, the requests below all wait for its next turn.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!service.shared.holding.load() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
  ASSERT_TRUE(service.shared.holding.load());
  for (int i = 0; i < kClients; ++i) {
    ASSERT_TRUE(clients[static_cast<std::size_t>(i)].send_all(std::string(1, static_cast<char>('a' + i))).ok());
  }
  service.shared.release.store(true);
  char h = 0;
  ASSERT_TRUE(holder.value().recv_exact(&h, 1).ok());
  EXPECT_EQ(h, '!');
  for (int i = 0; i < kClients; ++i) {
    char r = 0;
    ASSERT_TRUE(clients[static_cast<std::size_t>(i)].recv_exact(&r, 1).ok());
    EXPECT_EQ(r, 'A' + i);
  }
  model.value()->stop();
  EXPECT_EQ(service.shared.handled.load(), 2 * kClients);
  // Each client's request was served while every other reply of the turn was still unsent.
  EXPECT_EQ(service.shared.saw_reply_early.load(), 0);
}

}  // namespace
