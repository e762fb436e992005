// lf::hue::Scheduler, behaviour one scenario at a time: submit never blocks, per-color order,
// distinct colors in parallel, writers of globals against readers, undeclared hues, multi-color
// invocations, tasks that submit (a pipeline's continuation), quiesce and statistics.
#include "lf/hue.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <thread>
#include <vector>

#include "hue_test_util.hpp"

namespace {

using lf::hue::HueId;
using lf::hue::HueMatrix;
using lf::hue::HueTable;
using lf::hue::RunClass;
using lf::hue::Scheduler;
using lf::hue::Submitted;
using lf::hue::Touches;
using hue_test::wait_for;

struct Server {
  HueTable t;
  HueId get = t.add("GET", Touches().reads("keyspace").reads_context()).value();
  HueId set = t.add("SET", Touches().reads("keyspace").writes_context()).value();
  HueId dbsize = t.add("DBSIZE", Touches().reads("keyspace")).value();
  HueId flushall = t.add("FLUSHALL", Touches().writes("keyspace")).value();
  HueId stat = t.add("STAT", Touches().writes("stats")).value();
  HueId ping = t.add("PING", Touches()).value();
  HueId mset = t.add("MSET", Touches().reads("keyspace").writes_context()).value();
  HueId keys = t.add("KEYS", Touches().reads("keyspace").reads_context()).value();
  HueMatrix m = t.build().value();
};

// A hash whose color is `color` in `s`.
std::uint64_t hash_of_color(const Scheduler& s, std::uint32_t color) {
  for (std::uint64_t h = 0;; ++h) {
    if (s.color_of(h) == color) return h;
  }
}

// Runs a task of `hue` on another thread and keeps it inside until release().
class Held {
 public:
  Held(Scheduler& s, HueId hue, std::uint64_t hash) {
    thread_ = std::thread([this, &s, hue, hash] {
      result_ = s.submit(hue, hash, [this] {
        inside_.store(true);
        EXPECT_TRUE(wait_for([this] { return release_.load(); }));
      });
    });
    EXPECT_TRUE(wait_for([this] { return inside_.load(); }));
  }
  ~Held() { release(); }
  void release() {
    release_.store(true);
    if (thread_.joinable()) thread_.join();
  }
  std::thread::id id() const { return thread_.get_id(); }
  Submitted result() const { return result_; }

 private:
  std::atomic<bool> inside_{false};
  std::atomic<bool> release_{false};
  Submitted result_ = Submitted::kQueued;
  std::thread thread_;
};

TEST(HueScheduler, ClassesFollowTheMatrix) {
  Server sv;
  Scheduler s(sv.m, 16);
  EXPECT_EQ(s.colors(), 16u);
  EXPECT_EQ(s.run_class(sv.get), RunClass::kColor);
  EXPECT_EQ(s.run_class(sv.dbsize), RunClass::kColor);
  EXPECT_EQ(s.run_class(sv.flushall), RunClass::kGlobal);
  EXPECT_EQ(s.run_class(sv.stat), RunClass::kGlobal);
  EXPECT_EQ(s.run_class(sv.ping), RunClass::kFree);
  Scheduler odd(sv.m, 1000);
  EXPECT_EQ(odd.colors(), 1024u);
}

TEST(HueScheduler, UncontendedInvocationsRunInline) {
  Server sv;
  Scheduler s(sv.m, 16);
  int ran = 0;
  EXPECT_EQ(s.submit(sv.set, 1, [&] { ++ran; }), Submitted::kInline);
  EXPECT_EQ(s.submit(sv.get, 1, [&] { ++ran; }), Submitted::kInline);
  EXPECT_EQ(s.submit(sv.flushall, 1, [&] { ++ran; }), Submitted::kInline);
  const std::uint64_t two[] = {1, 2};
  EXPECT_EQ(s.submit_multi(sv.mset, two, [&] { ++ran; }), Submitted::kInline);
  EXPECT_EQ(s.submit_all_colors(sv.keys, [&] { ++ran; }), Submitted::kInline);
  EXPECT_EQ(ran, 5);
}

TEST(HueScheduler, SubmitNeverBlocksAndTheUnblockingThreadRunsTheQueuedTask) {
  Server sv;
  Scheduler s(sv.m, 16);
  const std::uint64_t key = hash_of_color(s, 3);
  Held held(s, sv.set, key);
  std::atomic<int> ran{0};
  std::thread::id ran_on;
  const auto before = std::chrono::steady_clock::now();
  const Submitted r = s.submit(sv.set, key, [&] {
    ran_on = std::this_thread::get_id();
    ran.fetch_add(1);
  });
  const auto took = std::chrono::steady_clock::now() - before;
  EXPECT_EQ(r, Submitted::kQueued);
  EXPECT_EQ(ran.load(), 0);
  EXPECT_LT(took, std::chrono::seconds(1));
  // Readers of the same key conflict too; a free hue and another color do not.
  EXPECT_EQ(s.submit(sv.get, key, [&] { ran.fetch_add(1); }), Submitted::kQueued);
  EXPECT_EQ(s.submit(sv.ping, key, [&] { ran.fetch_add(100); }), Submitted::kInline);
  EXPECT_EQ(s.submit(sv.set, hash_of_color(s, 4), [&] { ran.fetch_add(100); }),
            Submitted::kInline);
  EXPECT_EQ(ran.load(), 200);
  const std::thread::id holder = held.id();
  held.release();
  EXPECT_EQ(ran.load(), 202);
  EXPECT_EQ(ran_on, holder);  // no thread was spawned: the holder drained the color
  EXPECT_TRUE(s.quiesce().ok());
}

TEST(HueScheduler, SameColorStartsInSubmissionOrder) {
  Server sv;
  Scheduler s(sv.m, 16);
  const std::uint64_t key = hash_of_color(s, 5);
  constexpr int kN = 200;
  std::vector<int> order;  // no lock: these bodies never overlap (TSan checks it)
  {
    Held held(s, sv.set, key);
    const HueId cycle[] = {sv.get, sv.set, sv.dbsize, sv.get, sv.get, sv.flushall, sv.set};
    for (int i = 0; i < kN; ++i) {
      const HueId hue = cycle[i % 7];
      // All queue behind the held SET; its thread then drains the color one head at a time.
      EXPECT_EQ(s.submit(hue, key, [&order, i] { order.push_back(i); }), Submitted::kQueued);
    }
  }
  ASSERT_TRUE(s.quiesce().ok());
  ASSERT_EQ(order.size(), static_cast<std::size_t>(kN));
  for (int i = 0; i < kN; ++i) EXPECT_EQ(order[i], i);
}

TEST(HueScheduler, DistinctColorsRunInParallel) {
  Server sv;
  Scheduler s(sv.m, 16);
  std::atomic<int> inside{0};
  std::atomic<int> met{0};
  auto body = [&] {
    inside.fetch_add(1);
    // Both tasks must be inside at once for this to return true: a scheduler that serialized
    // distinct colors fails here after the timeout instead of hanging.
    if (wait_for([&] { return inside.load() == 2; }, std::chrono::seconds(20))) met.fetch_add(1);
  };
  std::thread a([&] { EXPECT_EQ(s.submit(sv.set, hash_of_color(s, 1), body), Submitted::kInline); });
  std::thread b([&] { EXPECT_EQ(s.submit(sv.set, hash_of_color(s, 2), body), Submitted::kInline); });
  a.join();
  b.join();
  EXPECT_EQ(met.load(), 2);
}

TEST(HueScheduler, ReadersOfOneColorShareIt) {
  Server sv;
  Scheduler s(sv.m, 16);
  const std::uint64_t key = hash_of_color(s, 7);
  std::atomic<int> inside{0};
  std::atomic<int> met{0};
  auto body = [&] {
    inside.fetch_add(1);
    if (wait_for([&] { return inside.load() == 2; }, std::chrono::seconds(20))) met.fetch_add(1);
  };
  std::thread a([&] { s.submit(sv.get, key, body); });
  std::thread b([&] { s.submit(sv.get, key, body); });
  a.join();
  b.join();
  EXPECT_EQ(met.load(), 2);
}

TEST(HueScheduler, WriterOfAGlobalWaitsForReadersAndHoldsBackNewOnes) {
  Server sv;
  Scheduler s(sv.m, 16);
  std::atomic<int> ticket{0};
  int flush_at = -1, set_at = -1;
  {
    Held reader(s, sv.get, hash_of_color(s, 1));
    EXPECT_EQ(s.submit(sv.flushall, hash_of_color(s, 2), [&] { flush_at = ticket++; }),
              Submitted::kQueued);
    // A reader on any other color now waits for the writer: writers are not starved.
    EXPECT_EQ(s.submit(sv.set, hash_of_color(s, 3), [&] { set_at = ticket++; }),
              Submitted::kQueued);
    // What does not conflict with FLUSHALL still runs: another global, a free hue.
    int others = 0;
    EXPECT_EQ(s.submit(sv.stat, hash_of_color(s, 4), [&] { ++others; }), Submitted::kInline);
    EXPECT_EQ(s.submit(sv.ping, hash_of_color(s, 3), [&] { ++others; }), Submitted::kInline);
    EXPECT_EQ(others, 2);
    EXPECT_EQ(ticket.load(), 0);
  }
  ASSERT_TRUE(s.quiesce().ok());
  EXPECT_EQ(flush_at, 0);
  EXPECT_EQ(set_at, 1);
  EXPECT_GE(s.stats().gate_waits, 1u);
}

TEST(HueScheduler, GlobalHueConflictingOnlyWithItselfRunsAlongsideOthers) {
  Server sv;
  Scheduler s(sv.m, 16);
  Held flush(s, sv.flushall, hash_of_color(s, 1));
  int ran = 0;
  EXPECT_EQ(s.submit(sv.stat, hash_of_color(s, 2), [&] { ++ran; }), Submitted::kInline);
  {
    Held stat(s, sv.stat, hash_of_color(s, 3));
    EXPECT_EQ(s.submit(sv.stat, hash_of_color(s, 4), [&] { ++ran; }), Submitted::kQueued);
  }
  flush.release();
  ASSERT_TRUE(s.quiesce().ok());
  EXPECT_EQ(ran, 2);
}

TEST(HueScheduler, UndeclaredHueRunsAlone) {
  HueTable t;
  const HueId get = t.add("GET", Touches().reads_context()).value();
  const HueId ping = t.add("PING", Touches()).value();
  const HueId debug = t.add_undeclared("DEBUG").value();
  const HueMatrix m = t.build().value();
  Scheduler s(m, 16);
  EXPECT_EQ(s.run_class(ping), RunClass::kColor);  // nothing is free next to an undeclared hue
  EXPECT_EQ(s.run_class(debug), RunClass::kGlobal);
  std::atomic<int> ran{0};
  {
    Held held(s, debug, 1);
    EXPECT_EQ(s.submit(get, 2, [&] { ran++; }), Submitted::kQueued);
    EXPECT_EQ(s.submit(ping, 3, [&] { ran++; }), Submitted::kQueued);
    EXPECT_EQ(s.submit(debug, 4, [&] { ran++; }), Submitted::kQueued);
  }
  {
    Held held(s, ping, 1);
    EXPECT_EQ(s.submit(debug, 4, [&] { ran++; }), Submitted::kQueued);
  }
  ASSERT_TRUE(s.quiesce().ok());
  EXPECT_EQ(ran.load(), 4);
}

TEST(HueScheduler, MultiColorInvocationKeepsItsPlaceOnColorsItHolds) {
  Server sv;
  Scheduler s(sv.m, 16);
  const std::uint64_t low = hash_of_color(s, 2), high = hash_of_color(s, 9);
  std::vector<int> order;
  {
    Held held(s, sv.set, high);
    const std::uint64_t both[] = {high, low, low};
    // Takes color 2, then waits for color 9.
    EXPECT_EQ(s.submit_multi(sv.mset, both, [&] { order.push_back(0); }), Submitted::kQueued);
    // Color 2 is taken by the waiting MSET: a later SET there queues behind it.
    EXPECT_EQ(s.submit(sv.set, low, [&] { order.push_back(1); }), Submitted::kQueued);
    EXPECT_EQ(s.submit(sv.get, low, [&] { order.push_back(2); }), Submitted::kQueued);
  }
  ASSERT_TRUE(s.quiesce().ok());
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2}));
  EXPECT_EQ(s.stats()[RunClass::kMultiColor].queued_runs, 1u);
}

TEST(HueScheduler, DuplicateColorsCollapse) {
  Server sv;
  Scheduler s(sv.m, 16);
  const std::uint64_t same[] = {7, 7, 7};
  int ran = 0;
  EXPECT_EQ(s.submit_multi(sv.mset, same, [&] { ++ran; }), Submitted::kInline);
  EXPECT_EQ(s.submit_multi(sv.mset, {}, [&] { ++ran; }), Submitted::kInline);
  EXPECT_EQ(ran, 2);
  EXPECT_EQ(s.stats()[RunClass::kColor].inline_runs, 2u);
}

TEST(HueScheduler, AllColorsInvocationWaitsForWritersAndSharesWithReaders) {
  Server sv;
  Scheduler s(sv.m, 16);
  std::atomic<int> ran{0};
  {
    Held reader(s, sv.get, hash_of_color(s, 11));
    EXPECT_EQ(s.submit_all_colors(sv.keys, [&] { ran++; }), Submitted::kInline);
  }
  {
    Held writer(s, sv.set, hash_of_color(s, 11));
    EXPECT_EQ(s.submit_all_colors(sv.keys, [&] { ran++; }), Submitted::kQueued);
    EXPECT_EQ(ran.load(), 1);
  }
  ASSERT_TRUE(s.quiesce().ok());
  EXPECT_EQ(ran.load(), 2);
}

TEST(HueScheduler, TaskThatSubmitsRunsConflictingWorkAfterItReturns) {
  Server sv;
  Scheduler s(sv.m, 16);
  const std::uint64_t a = hash_of_color(s, 1), b = hash_of_color(s, 2);
  std::vector<int> order;
  std::vector<std::thread::id> threads;
  Submitted same = Submitted::kInline, other = Submitted::kQueued;
  EXPECT_EQ(s.submit(sv.set, a,
                     [&] {
                       same = s.submit(sv.set, a, [&] {
                         order.push_back(2);
                         threads.push_back(std::this_thread::get_id());
                       });
                       other = s.submit(sv.set, b, [&] { order.push_back(1); });
                       order.push_back(0);
                     }),
            Submitted::kInline);
  EXPECT_EQ(same, Submitted::kQueued);  // conflicts with the task that submitted it
  EXPECT_EQ(other, Submitted::kInline);
  // The queued one ran once the outer task returned, before the outermost submit returned.
  EXPECT_EQ(order, (std::vector<int>{1, 0, 2}));
  ASSERT_EQ(threads.size(), 1u);
  EXPECT_EQ(threads[0], std::this_thread::get_id());
}

// Trap 1 of docs/hue.md: a connection's pipeline continues inside the task of the command that
// had to wait, so the commands take effect in the order sent, on whichever thread runs them.
TEST(HueScheduler, PipelineContinuesOnTheThreadThatRunsTheWaitingCommand) {
  Server sv;
  Scheduler s(sv.m, 16);
  struct Command {
    HueId hue;
    std::uint64_t key;
  };
  std::vector<Command> pipeline;
  for (int i = 0; i < 40; ++i) {
    pipeline.push_back(Command{i % 3 == 0 ? sv.get : sv.set, hash_of_color(s, (i * 5) % 16)});
  }
  pipeline[1].key = hash_of_color(s, 13);  // the held color: the pipeline suspends there
  std::vector<int> executed;
  std::vector<std::thread::id> ran_on;
  std::function<void(std::size_t)> send = [&](std::size_t i) {
    if (i == pipeline.size()) return;
    s.submit(pipeline[i].hue, pipeline[i].key, [&, i] {
      executed.push_back(static_cast<int>(i));
      ran_on.push_back(std::this_thread::get_id());
      send(i + 1);  // the continuation: the connection's next command
    });
  };
  std::thread::id holder;
  {
    Held held(s, sv.set, hash_of_color(s, 13));
    holder = held.id();
    send(0);
    EXPECT_EQ(executed.size(), 1u);  // command 1 waits for color 13, and the rest with it
  }
  ASSERT_TRUE(s.quiesce().ok());
  ASSERT_EQ(executed.size(), pipeline.size());
  for (std::size_t i = 0; i < executed.size(); ++i) EXPECT_EQ(executed[i], static_cast<int>(i));
  EXPECT_EQ(ran_on[1], holder);
}

TEST(HueScheduler, QuiesceFromInsideATaskIsRefused) {
  Server sv;
  Scheduler s(sv.m, 16);
  lf::Status inner;
  s.submit(sv.set, 1, [&] { inner = s.quiesce(); });
  EXPECT_FALSE(inner.ok());
  EXPECT_TRUE(s.quiesce().ok());
}

TEST(HueScheduler, StatisticsCountInlineAndQueuedRuns) {
  Server sv;
  Scheduler s(sv.m, 16);
  const std::uint64_t key = hash_of_color(s, 6);
  s.submit(sv.ping, key, [] {});
  s.submit(sv.set, key, [] {});
  {
    Held held(s, sv.set, key);
    for (int i = 0; i < 5; ++i) s.submit(sv.get, key, [] {});
    s.submit(sv.flushall, key, [] {});
  }
  ASSERT_TRUE(s.quiesce().ok());
  const auto st = s.stats();
  EXPECT_EQ(st[RunClass::kFree].inline_runs, 1u);
  EXPECT_EQ(st[RunClass::kColor].inline_runs, 2u);  // the SET and the held SET
  EXPECT_EQ(st[RunClass::kColor].queued_runs, 5u);
  EXPECT_EQ(st[RunClass::kGlobal].queued_runs, 1u);
  EXPECT_GE(st.max_color_queue_depth, 6u);
  EXPECT_EQ(st.submitted, 9u);
  EXPECT_EQ(st.finished, 9u);
  EXPECT_GT(st[RunClass::kColor].wait_ns_max, 0u);
  EXPECT_NE(st.to_string().find("multi-color"), std::string::npos);
}

TEST(HueScheduler, TryRunRunsOnlyWhatNeedsNoWaitAndLeavesTheRestUntouched) {
  Server sv;
  Scheduler s(sv.m, 16);
  const std::uint64_t busy = hash_of_color(s, 3), idle = hash_of_color(s, 4);
  int ran = 0;
  lf::hue::Task t([&] { ++ran; });
  EXPECT_TRUE(s.try_run(sv.set, busy, t));
  EXPECT_EQ(ran, 1);
  {
    Held held(s, sv.set, busy);
    lf::hue::Task w([&] { ran += 10; });
    EXPECT_FALSE(s.try_run(sv.set, busy, w));  // writer against a writer on its color
    EXPECT_FALSE(s.try_run(sv.get, busy, w));  // reader against a writer
    const std::uint64_t both[] = {idle, busy};
    EXPECT_FALSE(s.try_run_multi(sv.mset, both, w));  // gives back the idle color it took
    EXPECT_TRUE(s.try_run(sv.set, idle, w));   // the idle color was really given back
    EXPECT_EQ(ran, 11);
    lf::hue::Task g([&] { ran += 100; });
    EXPECT_FALSE(s.try_run(sv.flushall, idle, g));  // writers of globals never run here
    EXPECT_TRUE(static_cast<bool>(g));              // ... and keep their task
    EXPECT_EQ(s.submit(sv.get, busy, std::move(g)), Submitted::kQueued);
  }
  ASSERT_TRUE(s.quiesce().ok());
  EXPECT_EQ(ran, 111);
  const auto st = s.stats();
  EXPECT_EQ(st.submitted, st.finished);  // failed attempts are not left counted as started
}

TEST(HueScheduler, SubmitOnColorTargetsThatColor) {
  Server sv;
  Scheduler s(sv.m, 16);
  const std::uint64_t key = hash_of_color(s, 9);
  std::atomic<int> ran{0};
  {
    Held held(s, sv.set, key);
    EXPECT_EQ(s.submit_on_color(sv.set, 9, [&] { ran.fetch_add(1); }), Submitted::kQueued);
    EXPECT_EQ(s.submit_on_color(sv.set, 10, [&] { ran.fetch_add(1); }), Submitted::kInline);
  }
  ASSERT_TRUE(s.quiesce().ok());
  EXPECT_EQ(ran.load(), 2);
}

}  // namespace
