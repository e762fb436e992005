// lf::Outbox: posting to a connection from any thread. The unit tests drive it over a recording
// host; the model tests run a small broadcast service under every concurrency model: publisher
// connections post every message they send to every subscriber's outbox, from whichever thread
// serves the publisher, and each subscriber's serving thread drains its outbox. Every subscriber
// must see every publisher's messages exactly once and in order, and a subscriber that does not
// read is closed at its limit while the others still get everything.
#include "lf/outbox.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

#include <sys/socket.h>

#include "lf/concurrency_model.hpp"
#include "host_cases.hpp"
#include "lf/mutex.hpp"
#include "lf/net.hpp"

namespace {

class RecordingHost final : public lf::SessionHost {
 public:
  void unpark() override {}
  void request_close() override { closes.fetch_add(1); }
  void wake() override { wakes.fetch_add(1); }
  void prepare_wake() override { prepared.fetch_add(1); }
  std::atomic<int> wakes{0}, closes{0}, prepared{0};
};

lf::Frame frame(std::string s) { return lf::make_immutable<std::string>(std::move(s)); }

TEST(Outbox, DrainsInPostOrderAndWakesOncePerBatch) {
  RecordingHost host;
  auto box = lf::Outbox::open(host);
  EXPECT_EQ(host.prepared.load(), 1);
  EXPECT_EQ(box->post(frame("a")), lf::Outbox::Posted::kQueued);
  EXPECT_EQ(box->post(frame("bc")), lf::Outbox::Posted::kQueued);
  EXPECT_EQ(host.wakes.load(), 1);  // the second post found a wake on its way
  EXPECT_EQ(box->queued_bytes(), 3u);
  std::string out = "reply;";
  EXPECT_EQ(box->drain(out), 2u);
  EXPECT_EQ(out, "reply;abc");
  EXPECT_EQ(box->queued_bytes(), 0u);
  EXPECT_EQ(box->post(frame("d")), lf::Outbox::Posted::kQueued);
  EXPECT_EQ(host.wakes.load(), 2);  // drained: the next post wakes again
}

TEST(Outbox, OneFrameIsSharedNotCopied) {
  RecordingHost h1, h2;
  auto b1 = lf::Outbox::open(h1), b2 = lf::Outbox::open(h2);
  lf::Frame f = frame(std::string(1000, 'x'));
  b1->post(f);
  b2->post(f);
  EXPECT_EQ(f.use_count(), 3);
  std::string out;
  b1->drain(out);
  EXPECT_EQ(f.use_count(), 2);
}

TEST(Outbox, HardLimitOverflowsFreesAndClosesTheConnection) {
  RecordingHost host;
  auto box = lf::Outbox::open(host, {.hard_bytes = 10});
  lf::Frame f = frame("12345");
  EXPECT_EQ(box->post(f), lf::Outbox::Posted::kQueued);
  EXPECT_EQ(box->post(f), lf::Outbox::Posted::kQueued);  // exactly at the limit
  EXPECT_EQ(box->post(f), lf::Outbox::Posted::kOverflowed);
  EXPECT_EQ(host.closes.load(), 1);
  EXPECT_TRUE(box->overflowed());
  EXPECT_EQ(box->queued_bytes(), 0u);
  EXPECT_EQ(f.use_count(), 1);  // the queued copies are gone already
  EXPECT_EQ(box->post(f), lf::Outbox::Posted::kClosed);
  EXPECT_EQ(host.closes.load(), 1);
}

TEST(Outbox, SoftLimitOverflowsOnlyAfterItsTime) {
  RecordingHost host;
  auto box = lf::Outbox::open(host, {.soft_bytes = 4, .soft_for = std::chrono::milliseconds(50)});
  EXPECT_EQ(box->post(frame("123")), lf::Outbox::Posted::kQueued);
  EXPECT_EQ(box->post(frame("456")), lf::Outbox::Posted::kQueued);  // past soft: the clock starts
  std::string out;
  box->drain(out);  // below again: the clock stops
  EXPECT_EQ(box->post(frame("12345")), lf::Outbox::Posted::kQueued);
  std::this_thread::sleep_for(std::chrono::milliseconds(80));
  EXPECT_EQ(box->post(frame("6")), lf::Outbox::Posted::kOverflowed);
  EXPECT_EQ(host.closes.load(), 1);
}

TEST(Outbox, ClosedOutboxDropsAndNeverTouchesTheHost) {
  RecordingHost host;
  auto box = lf::Outbox::open(host);
  box->post(frame("x"));
  box->close();
  EXPECT_EQ(box->post(frame("y")), lf::Outbox::Posted::kClosed);
  EXPECT_EQ(host.wakes.load(), 1);
  std::string out;
  EXPECT_EQ(box->drain(out), 0u);
}

// A meter shared by several outboxes holds what they queue together: posts add, a drain, an
// overflow and closing take off, and a post refused (closed) adds nothing.
TEST(Outbox, MeterFollowsTheQueuedBytesOfEveryOutbox) {
  RecordingHost h1, h2, h3;
  auto meter = std::make_shared<lf::OutboxMeter>();
  auto b1 = lf::Outbox::open(h1, {}, meter);
  auto b2 = lf::Outbox::open(h2, {.hard_bytes = 10}, meter);
  auto b3 = lf::Outbox::open(h3, {}, meter);
  b1->post(frame("abc"));
  b1->post(frame("de"));
  b2->post(frame("12345678"));
  b3->post(frame("xyz"));
  EXPECT_EQ(meter->bytes(), 16u);
  std::string out;
  b1->drain(out);
  EXPECT_EQ(meter->bytes(), 11u);
  EXPECT_EQ(b2->post(frame("9ab")), lf::Outbox::Posted::kOverflowed);  // its 8 bytes are freed
  EXPECT_EQ(meter->bytes(), 3u);
  EXPECT_EQ(b2->post(frame("c")), lf::Outbox::Posted::kClosed);
  EXPECT_EQ(meter->bytes(), 3u);
  b3->close();
  EXPECT_EQ(meter->bytes(), 0u);
  b3->close();  // twice (the evictor, then the session ending): nothing taken off twice
  EXPECT_EQ(b3->post(frame("q")), lf::Outbox::Posted::kClosed);
  EXPECT_EQ(meter->bytes(), 0u);
  b1->post(frame("z"));
  EXPECT_EQ(meter->bytes(), 1u);
}

// Posters on many threads and a drainer: once all are done and the rest drained, the meter is 0
// (each change is made under the outbox's lock with its own count).
TEST(Outbox, MeterIsExactUnderConcurrentPostsAndDrains) {
  RecordingHost host;
  auto meter = std::make_shared<lf::OutboxMeter>();
  auto box = lf::Outbox::open(host, {}, meter);
  std::atomic<bool> done{false};
  std::thread drainer([&] {
    std::string out;
    while (!done.load()) {
      box->drain(out);
      out.clear();
    }
  });
  std::vector<std::thread> posters;
  for (int t = 0; t < 4; ++t) {
    posters.emplace_back([&] {
      for (int i = 0; i < 5000; ++i) box->post(frame("message"));
    });
  }
  for (auto& p : posters) p.join();
  done.store(true);
  drainer.join();
  EXPECT_EQ(meter->bytes(), box->queued_bytes());
  std::string out;
  box->drain(out);
  EXPECT_EQ(meter->bytes(), 0u);
}

// ---- under every model ----------------------------------------------------------------------

#ifdef LF_SANITIZED
constexpr std::uint32_t kMessages = 300;
#else
constexpr std::uint32_t kMessages = 2000;
#endif

// The subscribers, shared by every session (a monitor).
struct Registry {
  lf::Mutex mu;
  std::vector<std::shared_ptr<lf::Outbox>> boxes LF_GUARDED_BY(mu);
  lf::OutboxLimits limits;  // immutable once the model runs
  std::atomic<int> overflows{0};

  void publish(const lf::Frame& f) {
    lf::MutexLock l(mu);
    for (auto& b : boxes) {
      if (b->post(f) == lf::Outbox::Posted::kOverflowed) overflows.fetch_add(1);
    }
  }
};

// Requests: "S" subscribes (answered "+"; "F" subscribes with no limit), "P" + 8 bytes publishes the 8 bytes to every
// subscriber, "E" is answered "e" (a reply of the subscriber's own, ordered with its frames).
class BroadcastSession final : public lf::Session {
 public:
  explicit BroadcastSession(Registry& r) : r_(r) {}
  ~BroadcastSession() override {
    if (!box_) return;
    box_->close();
    lf::MutexLock l(r_.mu);
    std::erase(r_.boxes, box_);
  }
  lf::SessionAction on_input(lf::InputBuffer& in, std::string& out) override {
    if (box_) box_->drain(out);
    while (!in.empty()) {
      const char op = in.view()[0];
      if (op == 'P') {
        if (in.size() < 9) break;
        r_.publish(lf::make_immutable<std::string>(in.view().substr(1, 8)));
        in.consume(9);
      } else if (op == 'S' || op == 'F') {
        box_ = lf::Outbox::open(*host(), op == 'S' ? r_.limits : lf::OutboxLimits{});
        {
          lf::MutexLock l(r_.mu);
          r_.boxes.push_back(box_);
        }
        out.push_back('+');
        in.consume(1);
      } else {
        if (box_) box_->drain(out);
        out.push_back('e');
        in.consume(1);
      }
    }
    return lf::SessionAction::kContinue;
  }

 private:
  Registry& r_;
  std::shared_ptr<lf::Outbox> box_;
};

class BroadcastService final : public lf::Service {
 public:
  Registry registry;
  std::unique_ptr<lf::Session> open_session(const lf::InetAddr&) override {
    return std::make_unique<BroadcastSession>(registry);
  }
};

lf::SockStream subscribe(std::uint16_t port, std::string_view how = "S") {
  auto addr = lf::InetAddr::resolve("127.0.0.1", port);
  lf::SockStream s = std::move(lf::Connector::connect(*addr).value());
  char ok = 0;
  EXPECT_TRUE(s.send_all(how).ok());
  EXPECT_TRUE(s.recv_exact(&ok, 1).ok());
  EXPECT_EQ(ok, '+');
  return s;
}

void publish_all(std::uint16_t port, std::uint32_t publisher, std::uint32_t n) {
  auto addr = lf::InetAddr::resolve("127.0.0.1", port);
  lf::SockStream s = std::move(lf::Connector::connect(*addr).value());
  std::string batch;
  for (std::uint32_t seq = 0; seq < n; ++seq) {
    batch.push_back('P');
    batch.append(reinterpret_cast<const char*>(&publisher), 4);
    batch.append(reinterpret_cast<const char*>(&seq), 4);
    if (batch.size() > 4096 || seq + 1 == n) {
      ASSERT_TRUE(s.send_all(batch).ok());
      batch.clear();
    }
  }
  // One echo round trip: every publish before it has been posted when "e" comes back.
  char e = 0;
  ASSERT_TRUE(s.send_all("E").ok());
  ASSERT_TRUE(s.recv_exact(&e, 1).ok());
}

class OutboxModels : public ::testing::TestWithParam<lf_test::HostCase> {
 protected:
  void SetUp() override {
    if (const std::string why = lf_test::host_case_unavailable(GetParam()); !why.empty()) GTEST_SKIP() << why;
  }
};

TEST_P(OutboxModels, EverySubscriberSeesEachPublisherInOrder) {
  BroadcastService service;
  lf::ModelOptions o;
  o.handle_set = GetParam().handle_set;
  o.threads = 4;
  auto model = lf::ConcurrencyModel::create(GetParam().model, o, service);
  ASSERT_TRUE(model.ok());
  ASSERT_TRUE(model.value()->start().ok());
  const std::uint16_t port = model.value()->port();
  constexpr int kSubscribers = 6, kPublishers = 3;
  std::vector<lf::SockStream> subs;
  for (int i = 0; i < kSubscribers; ++i) subs.push_back(subscribe(port));
  std::vector<std::thread> pubs;
  for (std::uint32_t p = 0; p < kPublishers; ++p) {
    pubs.emplace_back([&, p] { publish_all(port, p, kMessages); });
  }
  std::atomic<int> bad{0};
  std::vector<std::thread> readers;
  for (auto& s : subs) {
    readers.emplace_back([&] {
      std::vector<std::uint32_t> next(kPublishers, 0);
      for (std::uint32_t i = 0; i < kPublishers * kMessages; ++i) {
        std::uint32_t m[2];
        if (!s.recv_exact(m, 8).ok() || m[0] >= kPublishers || m[1] != next[m[0]]++) {
          bad.fetch_add(1);
          return;
        }
      }
      // The subscriber's own reply comes after every frame drained before it.
      char e = 0;
      if (!s.send_all("E").ok() || !s.recv_exact(&e, 1).ok() || e != 'e') bad.fetch_add(1);
    });
  }
  for (auto& t : pubs) t.join();
  for (auto& t : readers) t.join();
  EXPECT_EQ(bad.load(), 0);
  subs.clear();
  model.value()->stop();
}

TEST_P(OutboxModels, ASubscriberThatDoesNotReadIsClosedAtItsLimit) {
  BroadcastService service;
  service.registry.limits.hard_bytes = 256 * 1024;
  lf::ModelOptions o;
  o.handle_set = GetParam().handle_set;
  o.threads = 4;
  auto model = lf::ConcurrencyModel::create(GetParam().model, o, service);
  ASSERT_TRUE(model.ok());
  ASSERT_TRUE(model.value()->start().ok());
  const std::uint16_t port = model.value()->port();
  lf::SockStream slow = subscribe(port);
  // The slow one's receive buffer pinned small (no autotuning): what the kernel can hold for it
  // is then the server's send buffer (tcp_wmem's maximum, 4 MiB by default) and this.
  const int small = 16 * 1024;
  ASSERT_EQ(::setsockopt(slow.handle(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small), 0);
  lf::SockStream fast = subscribe(port, "F");  // a reader, but one the publisher may outrun
  // Far more than the kernel buffers of the slow connection and its limit together.
  constexpr std::uint32_t kMany = 1u << 21;  // 2 Mi messages of 8 bytes: 16 MiB
  std::atomic<bool> fast_ok{true};
  std::thread reader([&] {
    std::vector<char> buf(1 << 16);
    std::uint64_t want = std::uint64_t{kMany} * 8, got = 0;
    std::uint32_t next = 0;
    std::string carry;
    while (got < want) {
      lf::IoResult r = fast.recv(buf.data(), buf.size());
      if (r.n <= 0) {
        fast_ok = false;
        return;
      }
      carry.append(buf.data(), static_cast<std::size_t>(r.n));
      got += static_cast<std::uint64_t>(r.n);
      std::size_t at = 0;
      for (; at + 8 <= carry.size(); at += 8) {
        std::uint32_t seq;
        std::memcpy(&seq, carry.data() + at + 4, 4);
        if (seq != next++) fast_ok = false;
      }
      carry.erase(0, at);
    }
  });
  publish_all(port, 0, kMany);
  reader.join();
  EXPECT_TRUE(fast_ok.load());
  EXPECT_EQ(service.registry.overflows.load(), 1);
  // The server closed the slow one: its session is gone, the fast one's stays. (Reading the slow
  // one to its end instead takes tens of seconds: the kernel sends the megabytes queued for it
  // at the pace of zero-window probing's backoff.)
  auto subscribers = [&] {
    lf::MutexLock l(service.registry.mu);
    return service.registry.boxes.size();
  };
  for (int i = 0; i < 3000 && subscribers() != 1; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(subscribers(), 1u);
  model.value()->stop();
}

INSTANTIATE_TEST_SUITE_P(AllModels, OutboxModels, ::testing::ValuesIn(lf_test::host_cases()),
                         [](const auto& info) { return lf_test::host_case_name(info.param); });

}  // namespace
