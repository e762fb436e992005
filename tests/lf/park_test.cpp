// Parking under every concurrency model: a session hands some of its requests to other threads
// (SessionAction::kPark) and is carried on by them (SessionHost::unpark). The connection must
// stay in order, exactly once, never served by two threads at once, and never stall — whether
// the unpark comes before or after the parking dispatch has returned.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <functional>
#include <mutex>
#include <random>
#include <thread>

#include "lf/concurrency_model.hpp"
#include "host_cases.hpp"
#include "lf/net.hpp"

namespace {

#ifdef LF_SANITIZED
constexpr int kMessages = 60;
#else
constexpr int kMessages = 300;
#endif
constexpr int kConnections = 40;

// Other threads that run parked work (standing in for the hue scheduler's drainers).
class Workers {
 public:
  explicit Workers(int n) {
    for (int i = 0; i < n; ++i) threads_.emplace_back([this] { run(); });
  }
  ~Workers() {
    {
      std::lock_guard<std::mutex> l(mu_);
      done_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
  }
  // Waits until no parked work is queued or running: the last unpark may still be carrying its
  // connection on after the client got its reply, and must finish before the model stops
  // (the server quiesces its scheduler first for the same reason).
  void quiesce() {
    std::unique_lock<std::mutex> l(mu_);
    idle_.wait(l, [&] { return q_.empty() && running_ == 0; });
  }
  void post(std::function<void()> fn) {
    {
      std::lock_guard<std::mutex> l(mu_);
      q_.push_back(std::move(fn));
    }
    cv_.notify_one();
  }

 private:
  void run() {
    std::mt19937 rng(std::random_device{}());
    for (;;) {
      std::function<void()> fn;
      {
        std::unique_lock<std::mutex> l(mu_);
        cv_.wait(l, [&] { return done_ || !q_.empty(); });
        if (q_.empty()) return;
        fn = std::move(q_.front());
        q_.pop_front();
        ++running_;
      }
      if (rng() % 4 == 0) std::this_thread::yield();  // vary which side of the rendezvous wins
      fn();
      std::lock_guard<std::mutex> l(mu_);
      --running_;
      idle_.notify_all();
    }
  }
  std::mutex mu_;
  std::condition_variable cv_, idle_;
  int running_ = 0;
  std::deque<std::function<void()>> q_;
  bool done_ = false;
  std::vector<std::thread> threads_;
};

struct Counters {
  std::atomic<std::uint64_t> handled{0}, parked{0}, violations{0};
};

// Messages are 8 bytes: [u32 connection-local seq][u32 filler]. Every third one parks.
class ParkingSession final : public lf::Session {
 public:
  ParkingSession(Counters& c, Workers& w) : c_(c), w_(w) {}
  lf::SessionAction on_input(lf::InputBuffer& in, std::string& out) override {
    if (inside_.exchange(true)) c_.violations.fetch_add(1);
    out.append(pending_);
    pending_.clear();
    while (in.size() >= 8) {
      std::uint32_t seq;
      std::memcpy(&seq, in.view().data(), 4);
      if (seq != next_) c_.violations.fetch_add(1);
      next_ = seq + 1;
      std::string msg(in.view().substr(0, 8));
      in.consume(8);
      c_.handled.fetch_add(1);
      if (seq % 3 == 0) {
        c_.parked.fetch_add(1);
        inside_.store(false);
        // From here on the worker owns the session until it calls unpark().
        w_.post([this, msg] {
          pending_.append(msg);
          host()->unpark();
        });
        return lf::SessionAction::kPark;
      }
      out.append(msg);
    }
    inside_.store(false);
    return lf::SessionAction::kContinue;
  }

 private:
  Counters& c_;
  Workers& w_;
  std::atomic<bool> inside_{false};
  std::uint32_t next_ = 0;
  std::string pending_;
};

class ParkingService final : public lf::Service {
 public:
  explicit ParkingService(Workers& w) : w_(w) {}
  Counters counters;
  std::unique_ptr<lf::Session> open_session(const lf::InetAddr&) override {
    return std::make_unique<ParkingSession>(counters, w_);
  }

 private:
  Workers& w_;
};

class Park : public ::testing::TestWithParam<lf_test::HostCase> {
 protected:
  void SetUp() override {
    if (const std::string why = lf_test::host_case_unavailable(GetParam()); !why.empty()) GTEST_SKIP() << why;
  }
};

TEST_P(Park, PipelinesSurviveParkingInOrderExactlyOnce) {
  Workers workers(2);
  ParkingService service(workers);
  lf::ModelOptions o;
  o.handle_set = GetParam().handle_set;
  o.threads = 4;
  o.read_chunk = 64;  // several messages per read, and some split
  auto model = lf::ConcurrencyModel::create(GetParam().model, o, service);
  ASSERT_TRUE(model.ok());
  ASSERT_TRUE(model.value()->start().ok());
  std::atomic<int> failures{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t) {
    clients.emplace_back([&, t] {
      auto addr = lf::InetAddr::resolve("127.0.0.1", model.value()->port());
      std::vector<lf::SockStream> conns;
      for (int i = 0; i < kConnections / 4; ++i) conns.push_back(std::move(lf::Connector::connect(*addr).value()));
      std::mt19937 rng(static_cast<unsigned>(t));
      std::vector<std::uint32_t> seq(conns.size(), 0);
      for (int sent = 0; sent < kMessages;) {
        const int burst = std::min(kMessages - sent, 1 + static_cast<int>(rng() % 16));
        for (std::size_t i = 0; i < conns.size(); ++i) {
          std::string batch;
          for (int m = 0; m < burst; ++m) {
            std::uint32_t s = seq[i]++, filler = static_cast<std::uint32_t>(rng());
            batch.append(reinterpret_cast<const char*>(&s), 4);
            batch.append(reinterpret_cast<const char*>(&filler), 4);
          }
          std::string echo(batch.size(), '\0');
          if (!conns[i].send_all(batch).ok() || !conns[i].recv_exact(echo.data(), echo.size()).ok() ||
              echo != batch) {
            failures.fetch_add(1);
            return;
          }
        }
        sent += burst;
      }
    });
  }
  for (auto& c : clients) c.join();
  workers.quiesce();
  model.value()->stop();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(service.counters.violations.load(), 0u);
  EXPECT_EQ(service.counters.handled.load(), static_cast<std::uint64_t>(kConnections) * kMessages);
  EXPECT_GT(service.counters.parked.load(), 0u);
}

INSTANTIATE_TEST_SUITE_P(AllModels, Park, ::testing::ValuesIn(lf_test::host_cases()),
                         [](const auto& info) { return lf_test::host_case_name(info.param); });

}  // namespace
