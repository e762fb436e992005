#include "lf/spawn.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <deque>
#include <set>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "lf/mailbox.hpp"

namespace {

using namespace std::chrono_literals;

struct Report {
  int number = 0;
  std::string text;
  std::vector<int> list;
  long immutable_sum = 0;
  std::string unique_text;
  using sendable_value = void;
};
using Reports = lf::Mailbox<Report>;

TEST(Spawn, PassesEveryKindOfSendable) {
  auto reports = std::make_shared<Reports>();
  auto counter = lf::make_monitor<int>(0);
  std::string text = "copied";
  lf::Unique<std::string> owned = lf::make_unique_msg<std::string>("handed over");
  auto shared = lf::make_immutable<std::vector<long>>(std::vector<long>{1, 2, 3});

  auto worker = lf::spawn(
      [](int number, std::string text, std::vector<int> list, lf::Immutable<std::vector<long>> im,
         lf::Unique<std::string> owned, std::shared_ptr<lf::Monitor<int>> counter,
         std::shared_ptr<Reports> reports) {
        text += " and changed";  // the thread's own copy
        long sum = 0;
        for (long v : *im) sum += v;
        counter->with([](int& c) { c += 10; });
        reports->send(Report{number, std::move(text), std::move(list), sum, owned.take()});
      },
      7, text, std::vector<int>{4, 5}, shared, std::move(owned), counter, reports);

  EXPECT_TRUE(owned.empty()) << "spawn takes a Unique away from its caller";
  Report got;
  ASSERT_TRUE(reports->receive_for(5s, [&](Report r) { got = std::move(r); }));
  worker.join();
  EXPECT_EQ(got.number, 7);
  EXPECT_EQ(got.text, "copied and changed");
  EXPECT_EQ(text, "copied") << "the caller's string was copied, not shared";
  EXPECT_EQ(got.list, (std::vector<int>{4, 5}));
  EXPECT_EQ(got.immutable_sum, 6);
  EXPECT_EQ(got.unique_text, "handed over");
  EXPECT_EQ(counter->with([](int c) { return c; }), 10);
}

void add_to(std::shared_ptr<lf::Monitor<int>> target, int amount) {
  target->with([amount](int& v) { v += amount; });
}

TEST(Spawn, AcceptsAFunctionPointer) {
  auto target = lf::make_monitor<int>(1);
  lf::spawn(&add_to, target, 41).join();
  lf::spawn(add_to, target, 1).join();
  EXPECT_EQ(target->with([](int v) { return v; }), 43);
}

// A function object with state may be spawned when it is itself a value.
struct Greeter {
  std::string greeting;
  using sendable_value = void;
  void operator()(std::shared_ptr<lf::Mailbox<std::string>> out, std::string name) const {
    out->send(greeting + ", " + name);
  }
};

TEST(Spawn, AcceptsASendableFunctionObject) {
  auto out = std::make_shared<lf::Mailbox<std::string>>();
  auto t = lf::spawn(Greeter{"hello"}, out, std::string("lfdb"));
  std::string got;
  ASSERT_TRUE(out->receive_for(5s, [&](std::string s) { got = std::move(s); }));
  EXPECT_EQ(got, "hello, lfdb");
}

TEST(Spawn, DestroyingTheHandleStopsAndJoins) {
  auto ticks = lf::make_monitor<long>(0);
  {
    auto t = lf::spawn(
        [](std::stop_token stop, std::shared_ptr<lf::Monitor<long>> ticks) {
          while (!stop.stop_requested()) {
            ticks->with_notify_all([](long& n) { ++n; });
            std::this_thread::sleep_for(1ms);
          }
        },
        ticks);
    EXPECT_TRUE(t.joinable());
    ASSERT_TRUE(ticks->wait_for(5s, [](const long& n) { return n > 0; }, [](long&) {}));
  }
  // Joined: the count no longer moves.
  long after = ticks->with([](long n) { return n; });
  std::this_thread::sleep_for(5ms);
  EXPECT_EQ(ticks->with([](long n) { return n; }), after);
  EXPECT_GT(after, 0);
}

// The dispatcher's shape: the main thread and a worker share only a WorkQueue (a monitor); the
// worker's TransportManager reaches it as a Unique and from then on is the worker's alone, so it
// needs no lock. The main thread prunes its candidates against the in-progress list directly,
// under the WorkQueue's lock, instead of asking the worker by message.
class WorkQueue {
 public:
  using sendable_monitor = void;

  // Returns the candidates not already in progress, and marks them in progress.
  std::vector<std::string> prune_and_enqueue(std::vector<std::string> candidates) {
    return state_.with_notify_one([&](State& s) {
      std::vector<std::string> fresh;
      for (auto& c : candidates) {
        if (s.in_progress.insert(c).second) {
          s.pending.push_back(c);
          fresh.push_back(std::move(c));
        }
      }
      return fresh;
    });
  }
  // Blocks for the next script; std::nullopt once stopped and empty.
  std::optional<std::string> next() {
    return state_.wait_until([](const State& s) { return s.stopped || !s.pending.empty(); },
                             [](State& s) -> std::optional<std::string> {
                               if (s.pending.empty()) return std::nullopt;
                               std::string name = std::move(s.pending.front());
                               s.pending.pop_front();
                               return name;
                             });
  }
  void done(const std::string& name) {
    state_.with([&](State& s) { s.in_progress.erase(name); });
  }
  void stop() {
    state_.with_notify_all([](State& s) { s.stopped = true; });
  }

 private:
  struct State {
    std::deque<std::string> pending;
    std::set<std::string> in_progress;
    bool stopped = false;
  };
  lf::Monitor<State> state_;
};

// Worker-local: never shared, so plain members.
struct TransportManager {
  std::vector<std::string> delivered;
};

TEST(Spawn, DispatcherShapeSharesOnlyTheWorkQueue) {
  auto queue = std::make_shared<WorkQueue>();
  auto results = std::make_shared<lf::Mailbox<lf::Unique<TransportManager>>>();
  auto worker = lf::spawn(
      [](std::shared_ptr<WorkQueue> queue, lf::Unique<TransportManager> transport,
         std::shared_ptr<lf::Mailbox<lf::Unique<TransportManager>>> results) {
        while (auto name = queue->next()) {
          transport->delivered.push_back(*name);
          queue->done(*name);
        }
        // Hand the manager back only to let the test look at it.
        results->send(std::move(transport));
      },
      queue, lf::make_unique_msg<TransportManager>(), results);

  // The same files show up in several directory listings; each is delivered once while the
  // earlier copy is still in progress.
  std::vector<std::string> first = queue->prune_and_enqueue({"a", "b", "c"});
  EXPECT_EQ(first, (std::vector<std::string>{"a", "b", "c"}));
  queue->prune_and_enqueue({"a", "b", "c", "d"});
  queue->stop();

  std::vector<std::string> delivered;
  ASSERT_TRUE(results->receive_for(
      5s, [&](lf::Unique<TransportManager> t) { delivered = std::move(t->delivered); }));
  std::set<std::string> unique_names(delivered.begin(), delivered.end());
  EXPECT_TRUE(unique_names.count("d") == 1);
  EXPECT_EQ(unique_names.size(), 4u);
}

}  // namespace
