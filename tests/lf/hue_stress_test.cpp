// lf::hue::Scheduler under load: many threads submit a mix of hues over a few colors, every task
// checks with the Oracle that nothing the matrix forbids is running beside it, touches plain
// (unsynchronized) per-color and per-global data as a handler would (TSan flags any overlap the
// scheduler lets through), and sometimes submits a continuation from inside itself. At the end
// every task must have run exactly once and the scheduler must quiesce (no deadlock, nothing
// lost). FIFO per color is checked for hues that pairwise conflict (their bodies are serialized,
// so body order is start order).
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#include "hue_test_util.hpp"
#include "lf/hue.hpp"

namespace {

using lf::hue::Access;
using lf::hue::HueId;
using lf::hue::HueMatrix;
using lf::hue::HueTable;
using lf::hue::RunClass;
using lf::hue::Scheduler;
using lf::hue::Touches;
using hue_test::Oracle;

enum class Kind { kSingle, kMulti, kAllColors };

struct Entry {
  HueId hue;
  int weight;
  Kind kind = Kind::kSingle;
};

struct Config {
  int threads = 8;
  int per_thread = 1500 * hue_test::kScale;
  std::uint32_t colors = 16;
  int nested_percent = 5;
  std::uint64_t seed = 1;
  // 0: open loop (submit as fast as possible; queues grow long). N: a submitter, like a client
  // connection, keeps at most N of its tasks outstanding, so colors keep emptying and the inline
  // paths race the queued ones. A stall here is a lost wake-up: nobody is left to run the queue.
  int max_outstanding = 0;
};

class Stress {
 public:
  Stress(const HueMatrix& m, std::vector<Entry> mix, Config cfg)
      : m_(m),
        mix_(std::move(mix)),
        cfg_(cfg),
        sched_(m, cfg.colors),
        oracle_(m),
        runs_(static_cast<std::size_t>(cfg.threads) * cfg.per_thread * 2),
        last_(static_cast<std::size_t>(cfg.threads) * cfg.colors),
        outstanding_(static_cast<std::size_t>(cfg.threads)),
        ctx_data_(cfg.colors, 0),
        global_data_(m.globals().size(), 0) {
    for (auto& r : runs_) r.store(0);
    for (auto& l : last_) l.store(-1);
    for (auto& o : outstanding_) o.store(0);
    // Hues that conflict pairwise (and with themselves) on a shared color: their bodies never
    // overlap there, so body order must equal submission order.
    for (HueId h = 0; h < m.size(); ++h) {
      bool all = m.bits(h, h) != 0;
      for (HueId o : ordered_) all = all && m.bits(h, o) != 0;
      if (all) ordered_.push_back(h);
    }
  }

  void run() {
    std::vector<std::thread> threads;
    for (int t = 0; t < cfg_.threads; ++t) threads.emplace_back([this, t] { submitter(t); });
    for (auto& th : threads) th.join();
    ASSERT_TRUE(sched_.quiesce_for(std::chrono::seconds(120)))
        << "not quiescent: a deadlock or a lost wake-up\n"
        << sched_.stats().to_string();
    EXPECT_EQ(oracle_.violations(), 0) << oracle_.first_violation();
    EXPECT_EQ(fifo_violations_.load(), 0);
    EXPECT_EQ(stalls_.load(), 0) << "a submitter's tasks never completed";
    const int issued = next_id_.load();
    int once = 0;
    for (int id = 0; id < issued; ++id) once += runs_[static_cast<std::size_t>(id)].load() == 1;
    EXPECT_EQ(once, issued) << "every task runs exactly once";
    const auto st = sched_.stats();
    EXPECT_EQ(st.submitted, static_cast<std::uint64_t>(issued));
    EXPECT_EQ(st.finished, static_cast<std::uint64_t>(issued));
    std::printf("%s  oracle: at most %zu inside at once\n", st.to_string().c_str(),
                oracle_.max_running());
  }

  Scheduler& scheduler() { return sched_; }

 private:
  struct Call {
    HueId hue;
    Kind kind;
    std::vector<std::uint64_t> hashes;
    int thread;
    int seq;
  };

  void submitter(int t) {
    std::mt19937_64 rng(cfg_.seed * 1000 + static_cast<std::uint64_t>(t));
    int total = 0;
    for (const Entry& e : mix_) total += e.weight;
    for (int seq = 0; seq < cfg_.per_thread; ++seq) {
      int pick = static_cast<int>(rng() % static_cast<std::uint64_t>(total));
      const Entry* e = &mix_[0];
      for (const Entry& cand : mix_) {
        if (pick < cand.weight) {
          e = &cand;
          break;
        }
        pick -= cand.weight;
      }
      if (cfg_.max_outstanding > 0) {
        auto& mine = outstanding_[static_cast<std::size_t>(t)];
        if (!hue_test::wait_for([&] { return mine.load() < cfg_.max_outstanding; },
                                std::chrono::seconds(60))) {
          stalls_.fetch_add(1);
          return;
        }
      }
      Call call{e->hue, e->kind, {}, t, seq};
      const int keys = e->kind == Kind::kMulti ? 2 + static_cast<int>(rng() % 3) : 1;
      for (int k = 0; k < keys; ++k) call.hashes.push_back(rng() % (cfg_.colors * 4));
      submit(std::move(call));
    }
  }

  void submit(Call call) {
    const int id = next_id_.fetch_add(1);
    outstanding_[static_cast<std::size_t>(call.thread)].fetch_add(1);
    const HueId hue = call.hue;
    const Kind kind = call.kind;
    std::vector<std::uint64_t> hashes = call.hashes;
    auto task = [this, id, call = std::move(call)]() mutable { body(id, call); };
    switch (kind) {
      case Kind::kSingle:
        sched_.submit(hue, hashes[0], std::move(task));
        break;
      case Kind::kMulti:
        sched_.submit_multi(hue, hashes, std::move(task));
        break;
      case Kind::kAllColors:
        sched_.submit_all_colors(hue, std::move(task));
        break;
    }
  }

  std::vector<std::uint32_t> colors_of(const Call& c) {
    std::vector<std::uint32_t> out;
    if (c.kind == Kind::kAllColors) {
      for (std::uint32_t i = 0; i < sched_.colors(); ++i) out.push_back(i);
      return out;
    }
    for (std::uint64_t h : c.hashes) out.push_back(sched_.color_of(h));
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
  }

  void body(int id, Call& call) {
    const std::vector<std::uint32_t> colors = colors_of(call);
    const std::uint64_t token = oracle_.enter(call.hue, colors);
    runs_[static_cast<std::size_t>(id)].fetch_add(1);
    // A multi-color invocation is ordered on its lowest color, where it was submitted.
    if (call.seq >= 0 && std::find(ordered_.begin(), ordered_.end(), call.hue) != ordered_.end()) {
      auto& last = last_[static_cast<std::size_t>(call.thread) * cfg_.colors + colors[0]];
      if (last.exchange(call.seq) > call.seq) fifo_violations_.fetch_add(1);
    }
    touch(call.hue, colors);
    std::mt19937 rng(static_cast<unsigned>(id));
    const unsigned spin = rng() % 64;
    std::uint64_t x = id;
    for (unsigned i = 0; i < spin; ++i) x = x * 6364136223846793005ull + 1;
    sink_.fetch_add(x & 1, std::memory_order_relaxed);  // keeps the spin from being optimized out
    if (rng() % 16 == 0) std::this_thread::yield();
    oracle_.leave(token);
    if (static_cast<int>(rng() % 100) < cfg_.nested_percent && call.kind == Kind::kSingle) {
      // A continuation submitted from inside the task: its own FIFO sequence is unknown here.
      Call next{call.hue, Kind::kSingle, call.hashes, call.thread, -1};
      submit(std::move(next));
    }
    outstanding_[static_cast<std::size_t>(call.thread)].fetch_sub(1);
  }

  // Plain memory accesses shaped like the declarations: TSan reports any two the scheduler let
  // overlap without ordering them.
  void touch(HueId hue, const std::vector<std::uint32_t>& colors) {
    const lf::hue::HueInfo& info = m_.hue(hue);
    std::uint64_t sink = 0;
    if (!info.declared) {
      for (auto& g : global_data_) ++g;
      for (auto& c : ctx_data_) ++c;
      return;
    }
    for (std::uint32_t g : info.writes) ++global_data_[g];
    for (std::uint32_t g : info.reads) sink += global_data_[g];
    for (std::uint32_t c : colors) {
      if (info.context == Access::kWrite) ++ctx_data_[c];
      if (info.context == Access::kRead) sink += ctx_data_[c];
    }
    sink_.fetch_add(sink & 1, std::memory_order_relaxed);
  }

  const HueMatrix& m_;
  std::vector<Entry> mix_;
  Config cfg_;
  Scheduler sched_;
  Oracle oracle_;
  std::vector<std::atomic<int>> runs_;
  std::vector<std::atomic<int>> last_;
  std::vector<std::atomic<int>> outstanding_;  // per submitter: submitted, not yet finished
  std::atomic<int> stalls_{0};
  std::vector<HueId> ordered_;
  std::vector<std::uint64_t> ctx_data_;     // guarded by the scheduler, per color
  std::vector<std::uint64_t> global_data_;  // guarded by the scheduler, per global
  std::atomic<std::uint64_t> sink_{0};
  std::atomic<int> next_id_{0};
  std::atomic<int> fifo_violations_{0};
};

struct Server {
  HueTable t;
  HueId get = t.add("GET", Touches().reads("keyspace").reads_context()).value();
  HueId set = t.add("SET", Touches().reads("keyspace").writes_context()).value();
  HueId incr = t.add("INCR", Touches().reads("keyspace").writes_context()).value();
  HueId dbsize = t.add("DBSIZE", Touches().reads("keyspace")).value();
  HueId flushall = t.add("FLUSHALL", Touches().writes("keyspace")).value();
  HueId stat = t.add("STAT", Touches().writes("stats")).value();
  HueId info = t.add("INFO", Touches().reads("stats")).value();
  HueId ping = t.add("PING", Touches()).value();
  HueId mset = t.add("MSET", Touches().reads("keyspace").writes_context()).value();
  HueId keys = t.add("KEYS", Touches().reads("keyspace").reads_context()).value();
  HueMatrix m = t.build().value();
};

TEST(HueStress, ServerMixNeverViolatesTheMatrix) {
  Server sv;
  Stress s(sv.m,
           {{sv.get, 30},
            {sv.set, 25},
            {sv.incr, 10},
            {sv.mset, 10, Kind::kMulti},
            {sv.dbsize, 5},
            {sv.flushall, 1},
            {sv.stat, 5},
            {sv.info, 4},
            {sv.ping, 8},
            {sv.keys, 2, Kind::kAllColors}},
           Config{});
  s.run();
}

TEST(HueStress, ServerMixClosedLoop) {
  Server sv;
  Config cfg;
  cfg.seed = 6;
  cfg.max_outstanding = 2;
  Stress s(sv.m,
           {{sv.get, 30},
            {sv.set, 25},
            {sv.incr, 10},
            {sv.mset, 10, Kind::kMulti},
            {sv.dbsize, 5},
            {sv.flushall, 2},
            {sv.stat, 5},
            {sv.info, 4},
            {sv.ping, 8},
            {sv.keys, 1, Kind::kAllColors}},
           cfg);
  s.run();
}

TEST(HueStress, MultiColorClosedLoop) {
  Server sv;
  Config cfg;
  cfg.colors = 8;
  cfg.seed = 7;
  cfg.max_outstanding = 1;
  Stress s(sv.m, {{sv.mset, 60, Kind::kMulti}, {sv.set, 30}, {sv.get, 8}, {sv.flushall, 2}}, cfg);
  s.run();
}

TEST(HueStress, ExclusiveGlobalWriterNeverOverlapsReaders) {
  Server sv;
  Config cfg;
  cfg.seed = 2;
  Stress s(sv.m, {{sv.get, 40}, {sv.set, 40}, {sv.dbsize, 10}, {sv.flushall, 10}}, cfg);
  s.run();
}

TEST(HueStress, OverlappingMultiColorInvocationsNeverDeadlock) {
  Server sv;
  Config cfg;
  cfg.colors = 8;
  cfg.seed = 3;
  Stress s(sv.m,
           {{sv.mset, 70, Kind::kMulti},
            {sv.set, 20},
            {sv.get, 5},
            {sv.flushall, 2},
            {sv.keys, 3, Kind::kAllColors}},
           cfg);
  s.run();
}

TEST(HueStress, SameColorHeavyContention) {
  Server sv;
  Config cfg;
  cfg.colors = 2;
  cfg.seed = 4;
  Stress s(sv.m, {{sv.set, 50}, {sv.get, 40}, {sv.flushall, 2}, {sv.mset, 8, Kind::kMulti}}, cfg);
  s.run();
}

TEST(HueStress, UndeclaredHandlerRunsAloneUnderLoad) {
  HueTable t;
  const HueId get = t.add("GET", Touches().reads("keyspace").reads_context()).value();
  const HueId set = t.add("SET", Touches().reads("keyspace").writes_context()).value();
  const HueId ping = t.add("PING", Touches()).value();
  const HueId debug = t.add_undeclared("DEBUG").value();
  const HueId flushall = t.add("FLUSHALL", Touches().writes("keyspace")).value();
  const HueMatrix m = t.build().value();
  Config cfg;
  cfg.seed = 5;
  Stress s(m, {{get, 40}, {set, 40}, {ping, 10}, {debug, 3}, {flushall, 2}}, cfg);
  s.run();
}

// Any declarations at all: the scheduler must enforce exactly what their matrix says.
TEST(HueStress, RandomTablesAreEnforcedAsTheirMatrixSays) {
  for (std::uint64_t seed = 10; seed < 14; ++seed) {
    std::mt19937_64 rng(seed);
    HueTable t;
    std::vector<Entry> mix;
    const char* globals[] = {"g0", "g1", "g2"};
    for (int h = 0; h < 7; ++h) {
      const std::string name = "H" + std::to_string(h);
      HueId id;
      if (rng() % 12 == 0) {
        id = t.add_undeclared(name).value();
      } else {
        Touches touches;
        const auto ctx = rng() % 3;
        if (ctx == 1) touches.reads_context();
        if (ctx == 2) touches.writes_context();
        for (const char* g : globals) {
          const auto r = rng() % 10;
          if (r < 3) touches.reads(g);
          if (r == 3) touches.writes(g);
        }
        id = t.add(name, touches).value();
      }
      const auto k = rng() % 10;
      mix.push_back(Entry{id, 1 + static_cast<int>(rng() % 10),
                          k == 0   ? Kind::kAllColors
                          : k < 3 ? Kind::kMulti
                                  : Kind::kSingle});
    }
    const HueMatrix m = t.build().value();
    SCOPED_TRACE("seed " + std::to_string(seed) + "\n" + m.to_string());
    Config cfg;
    cfg.seed = seed;
    cfg.per_thread = 500 * hue_test::kScale;
    cfg.max_outstanding = seed % 2 == 0 ? 0 : 2;
    Stress s(m, mix, cfg);
    s.run();
  }
}

}  // namespace
