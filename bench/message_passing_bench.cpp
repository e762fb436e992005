// The cost of message passing against sharing (docs/claims.md, row 11): one counter, updated
// either by the threads that want it changed (sharing: an lf::Mutex, or an atomic) or only by the
// thread that owns it, the others sending it lf::Mailbox messages (message passing). Numbers are
// printed, never asserted.
//
// Built with -DLF_BUILD_BENCHMARKS=ON (target lf_message_passing_bench), or by hand:
//   cmake --build build --target lf
//   g++-12 -O2 -DNDEBUG -std=c++20 -Iinclude bench/message_passing_bench.cpp build/lib/liblf.a
//       -lbenchmark -lpthread -o build/message_passing_bench && build/message_passing_bench
//
// The rows, each ns per update: real time (a wait for another thread counts, and so does the
// machine's load) and CPU time (Google Benchmark's: the benchmark's threads; proc_cpu_ns: the
// whole process, owner thread included; switches: context switches per update):
//   BM_SharedMutex/threads:T     T threads increment one counter under one lf::Mutex
//   BM_SharedAtomic/threads:T    T threads fetch_add one std::atomic (the floor of sharing)
//   BM_MailboxStream             one sender, one owner thread: send(Incr) without waiting; the
//                                time includes the owner draining the last message
//   BM_MailboxRoundTrip          one sender, one owner: send(Incr) and wait for the owner's
//                                answer on a second mailbox (an update whose result the sender
//                                needs, so each costs a hand-off each way)
//   BM_SharedMutexRead           the same question answered by locking and reading
#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdint>
#include <thread>

#include <sys/resource.h>

#include "lf/mailbox.hpp"
#include "lf/mutex.hpp"
#include "lf/thread_annotations.hpp"

namespace {

struct Counter {
  lf::Mutex mu;
  std::int64_t value LF_GUARDED_BY(mu) = 0;
};

// The whole process's CPU time and context switches, for the rows with an owner thread (Google
// Benchmark's CPU column counts only the benchmark's own threads).
struct ProcessUsage {
  double cpu_ns = 0;
  double switches = 0;
  static ProcessUsage now() {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    auto ns = [](const timeval& tv) { return tv.tv_sec * 1e9 + tv.tv_usec * 1e3; };
    return {ns(ru.ru_utime) + ns(ru.ru_stime), static_cast<double>(ru.ru_nvcsw + ru.ru_nivcsw)};
  }
  // Per-operation counters over [*this, now()].
  void report(benchmark::State& state) const {
    ProcessUsage end = now();
    auto ops = static_cast<double>(state.iterations());
    state.counters["proc_cpu_ns"] = (end.cpu_ns - cpu_ns) / ops;
    state.counters["switches"] = (end.switches - switches) / ops;
  }
};

Counter g_counter;                       // shared by the BM_SharedMutex threads
std::atomic<std::int64_t> g_atomic{0};  // shared by the BM_SharedAtomic threads

void BM_SharedMutex(benchmark::State& state) {
  for (auto _ : state) {
    lf::MutexLock lock(g_counter.mu);
    ++g_counter.value;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SharedMutex)->Threads(1)->Threads(2)->Threads(4)->UseRealTime();

void BM_SharedAtomic(benchmark::State& state) {
  for (auto _ : state) g_atomic.fetch_add(1, std::memory_order_relaxed);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SharedAtomic)->Threads(1)->Threads(2)->Threads(4)->UseRealTime();

// The messages: values, so lf::Sendable.
struct Incr {
  using sendable_value = void;  // plain data
  std::int64_t by = 1;
};
struct Stop {
  using sendable_value = void;
};
struct Value {
  using sendable_value = void;
  std::int64_t value = 0;
};

void BM_MailboxStream(benchmark::State& state) {
  ProcessUsage start = ProcessUsage::now();
  lf::Mailbox<Incr, Stop> box;
  std::int64_t owned = 0;  // touched by the owner thread only until join()
  std::thread owner([&] {
    bool more = true;
    while (more && box.receive(lf::overloaded{[&](Incr m) { owned += m.by; },
                                              [&](Stop) { more = false; }})) {
    }
  });
  for (auto _ : state) box.send(Incr{});
  box.send(Stop{});
  owner.join();  // the owner has applied every update: part of the measured cost
  start.report(state);
  if (owned != static_cast<std::int64_t>(state.iterations())) state.SkipWithError("lost updates");
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_MailboxStream)->UseRealTime();

void BM_MailboxRoundTrip(benchmark::State& state) {
  ProcessUsage start = ProcessUsage::now();
  lf::Mailbox<Incr, Stop> to_owner;
  lf::Mailbox<Value> from_owner;
  std::thread owner([&] {
    std::int64_t owned = 0;
    bool more = true;
    while (more && to_owner.receive(lf::overloaded{
                       [&](Incr m) {
                         owned += m.by;
                         from_owner.send(Value{owned});
                       },
                       [&](Stop) { more = false; }})) {
    }
  });
  std::int64_t last = 0;
  for (auto _ : state) {
    to_owner.send(Incr{});
    from_owner.receive([&](Value v) { last = v.value; });
  }
  to_owner.send(Stop{});
  owner.join();
  start.report(state);
  if (last != static_cast<std::int64_t>(state.iterations())) state.SkipWithError("lost updates");
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_MailboxRoundTrip)->UseRealTime();

void BM_SharedMutexRead(benchmark::State& state) {
  std::int64_t last = 0;
  for (auto _ : state) {
    lf::MutexLock lock(g_counter.mu);
    last = ++g_counter.value;
  }
  benchmark::DoNotOptimize(last);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SharedMutexRead)->Threads(1)->Threads(2)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
