// Micro-benchmarks of lf::hue::Scheduler. Numbers are printed, never asserted.
//
// Not wired into the main build (bench/CMakeLists.txt is ready for when it is). By hand:
//   cmake --build build -j2
//   g++-12 -O2 -DNDEBUG -std=c++20 -Iinclude bench/hue_bench.cpp build/lib/liblf.a
//       -lbenchmark -lpthread -o build/hue_bench && build/hue_bench
//
// Single-thread costs: ns per submit() on the uncontended fast path, per class.
// Two-thread throughput: tasks per second with two submitting threads on distinct colors, on the
// same color, readers sharing a color, and the global-mutex baseline (--data global); and the
// multi-color policy measured both ways (ordered colors, as implemented, vs an exclusive global).
#include <benchmark/benchmark.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "lf/hue.hpp"

namespace {

using lf::hue::HueId;
using lf::hue::HueMatrix;
using lf::hue::HueTable;
using lf::hue::Scheduler;
using lf::hue::Touches;

struct Table {
  HueTable t;
  HueId get = t.add("GET", Touches().reads("keyspace").reads_context()).value();
  HueId set = t.add("SET", Touches().reads("keyspace").writes_context()).value();
  HueId flushall = t.add("FLUSHALL", Touches().writes("keyspace")).value();
  HueId ping = t.add("PING", Touches()).value();
  HueId mset = t.add("MSET", Touches().reads("keyspace").writes_context()).value();
  // The exclusive alternative for multi-key commands: run alone, like FLUSHALL.
  HueId mset_exclusive = t.add("MSET_X", Touches().writes("keyspace")).value();
  HueMatrix m = t.build().value();
};

// A table without any writer of a global: SET then takes no reservation at all.
struct ContextOnlyTable {
  HueTable t;
  HueId set = t.add("SET", Touches().writes_context()).value();
  HueMatrix m = t.build().value();
};

std::uint64_t g_sink = 0;

void BM_SubmitFree(benchmark::State& state) {
  Table tb;
  Scheduler s(tb.m, 1024);
  std::uint64_t i = 0;
  for (auto _ : state) s.submit(tb.ping, ++i, [&] { ++g_sink; });
}
BENCHMARK(BM_SubmitFree);

void BM_SubmitColorContextOnly(benchmark::State& state) {
  ContextOnlyTable tb;
  Scheduler s(tb.m, 1024);
  std::uint64_t i = 0;
  for (auto _ : state) s.submit(tb.set, ++i, [&] { ++g_sink; });
}
BENCHMARK(BM_SubmitColorContextOnly);

// SET reads 'keyspace', which FLUSHALL writes: one reservation on the home color per run.
void BM_SubmitColorWithReservation(benchmark::State& state) {
  Table tb;
  Scheduler s(tb.m, 1024);
  std::uint64_t i = 0;
  for (auto _ : state) s.submit(tb.set, ++i, [&] { ++g_sink; });
}
BENCHMARK(BM_SubmitColorWithReservation);

void BM_SubmitMultiColor(benchmark::State& state) {
  Table tb;
  Scheduler s(tb.m, 1024);
  const auto keys = static_cast<std::size_t>(state.range(0));
  std::vector<std::uint64_t> hashes(keys);
  std::uint64_t i = 0;
  for (auto _ : state) {
    for (std::size_t k = 0; k < keys; ++k) hashes[k] = ++i;
    s.submit_multi(tb.mset, hashes, [&] { ++g_sink; });
  }
}
BENCHMARK(BM_SubmitMultiColor)->Arg(2)->Arg(4)->Arg(8);

// A writer of a global scans every color's reservation counter: the price of readers that share
// no cache line.
void BM_SubmitGlobalWriter(benchmark::State& state) {
  Table tb;
  Scheduler s(tb.m, static_cast<std::uint32_t>(state.range(0)));
  std::uint64_t i = 0;
  for (auto _ : state) s.submit(tb.flushall, ++i, [&] { ++g_sink; });
}
BENCHMARK(BM_SubmitGlobalWriter)->Arg(16)->Arg(1024);

void BM_StdMutexBaseline(benchmark::State& state) {
  std::mutex mu;
  for (auto _ : state) {
    std::lock_guard<std::mutex> l(mu);
    ++g_sink;
  }
}
BENCHMARK(BM_StdMutexBaseline);

// ---- two submitting threads --------------------------------------------------------------

constexpr int kTasksPerThread = 200000;
int g_work_iters = 40;  // 40: ~25 ns of work inside each task; 400: ~250 ns, a real handler

// Each task does a little work on its color's slot (plain memory: the scheduler guards it).
struct Slots {
  std::vector<std::uint64_t> v = std::vector<std::uint64_t>(1024 * 8, 0);
  void work(std::uint32_t color) {
    std::uint64_t x = v[color * 8];
    for (int i = 0; i < g_work_iters; ++i) x = x * 6364136223846793005ull + 1;
    v[color * 8] = x;
  }
  std::uint64_t read(std::uint32_t color) const {
    std::uint64_t x = v[color * 8];
    for (int i = 0; i < g_work_iters; ++i) x = x * 6364136223846793005ull + 1;
    return x;
  }
};

enum Mode : int {
  kDistinctColors,
  kSameColorWriters,
  kSameColorReaders,
  kGlobalMutex,
  kMixOrderedMulti,
  kMixExclusiveMulti,
  kNoSync  // each thread works on its own slot with no scheduler: the machine's parallelism
};

void run_two_threads(Mode mode, Table& tb, Scheduler& s, Slots& slots, std::mutex& global) {
  auto submitter = [&](int t) {
    std::uint64_t seed = static_cast<std::uint64_t>(t) * 7919 + 1;
    for (int i = 0; i < kTasksPerThread; ++i) {
      switch (mode) {
        case kDistinctColors: {
          const std::uint64_t h = static_cast<std::uint64_t>(t);  // colors 0 and 1: distinct
          const std::uint32_t c = s.color_of(h);
          s.submit(tb.set, h, [&slots, c] { slots.work(c); });
          break;
        }
        case kSameColorWriters: {
          const std::uint32_t c = s.color_of(0);
          s.submit(tb.set, 0, [&slots, c] { slots.work(c); });
          break;
        }
        case kSameColorReaders: {
          const std::uint32_t c = s.color_of(0);
          s.submit(tb.get, 0, [&slots, c] { benchmark::DoNotOptimize(slots.read(c)); });
          break;
        }
        case kGlobalMutex: {
          const std::uint32_t c = static_cast<std::uint32_t>(t);
          std::lock_guard<std::mutex> l(global);
          slots.work(c);
          break;
        }
        case kNoSync:
          slots.work(static_cast<std::uint32_t>(t) * 64);
          break;
        case kMixOrderedMulti:
        case kMixExclusiveMulti: {
          seed = seed * 6364136223846793005ull + 1442695040888963407ull;
          if ((seed >> 33) % 5 == 0) {  // 20% MSET of 4 random keys
            std::uint64_t keys[4];
            for (auto& k : keys) {
              seed = seed * 6364136223846793005ull + 1442695040888963407ull;
              k = seed >> 20;
            }
            if (mode == kMixOrderedMulti) {
              s.submit_multi(tb.mset, keys, [&slots, &s, keys] {
                for (auto k : keys) slots.work(s.color_of(k));
              });
            } else {
              s.submit(tb.mset_exclusive, keys[0], [&slots, &s, keys] {
                for (auto k : keys) slots.work(s.color_of(k));
              });
            }
          } else {
            const std::uint64_t h = seed >> 20;
            const std::uint32_t c = s.color_of(h);
            s.submit(tb.set, h, [&slots, c] { slots.work(c); });
          }
          break;
        }
      }
    }
  };
  std::thread a(submitter, 0), b(submitter, 1);
  a.join();
  b.join();
  (void)s.quiesce();
}

void BM_TwoThreads(benchmark::State& state) {
  const Mode mode = static_cast<Mode>(state.range(0));
  g_work_iters = static_cast<int>(state.range(1));
  Table tb;
  Scheduler s(tb.m, 1024);
  Slots slots;
  std::mutex global;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    run_two_threads(mode, tb, s, slots, global);
    state.SetIterationTime(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  state.SetItemsProcessed(state.iterations() * 2 * kTasksPerThread);
  const auto st = s.stats();
  std::uint64_t queued = 0;
  for (const auto& c : st.by_class) queued += c.queued_runs;
  state.counters["queued%"] =
      st.submitted == 0 ? 0.0 : 100.0 * static_cast<double>(queued) / static_cast<double>(st.submitted);
}
BENCHMARK(BM_TwoThreads)
    ->ArgNames({"mode", "work"})
    ->ArgsProduct({{kDistinctColors, kSameColorWriters, kSameColorReaders, kGlobalMutex,
                    kMixOrderedMulti, kMixExclusiveMulti, kNoSync},
                   {40, 400}})
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond)
    ->Iterations(3);

}  // namespace

BENCHMARK_MAIN();
