// The fast path does not allocate: an invocation that conflicts with nothing running and finds
// no queue runs with zero heap allocations (the Task keeps its captures inline, the scheduler's
// per-color state is preallocated). This binary replaces operator new to count; sanitizer
// builds have their own allocator, so the count is only taken in plain builds.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>

#include "lf/hue.hpp"

#if !defined(LF_SANITIZED)
namespace {
std::atomic<std::uint64_t> g_allocations{0};
}  // namespace

void* operator new(std::size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
#endif

namespace {

using lf::hue::HueId;
using lf::hue::HueTable;
using lf::hue::Scheduler;
using lf::hue::Submitted;
using lf::hue::Touches;

TEST(HueAlloc, FastPathDoesNotAllocate) {
#if defined(LF_SANITIZED)
  GTEST_SKIP() << "allocation counting needs the plain allocator";
#else
  HueTable t;
  const HueId get = t.add("GET", Touches().reads("keyspace").reads_context()).value();
  const HueId set = t.add("SET", Touches().reads("keyspace").writes_context()).value();
  const HueId flushall = t.add("FLUSHALL", Touches().writes("keyspace")).value();
  const HueId ping = t.add("PING", Touches()).value();
  const HueId mset = t.add("MSET", Touches().reads("keyspace").writes_context()).value();
  Scheduler s(t.build().value(), 1024);
  std::uint64_t sum = 0;
  auto round = [&](std::uint64_t i) {
    std::uint64_t* out = &sum;
    const std::uint64_t keys[] = {i, i * 7 + 1, i * 13 + 2};
    int inline_runs = 0;
    inline_runs += s.submit(set, i, [out, i] { *out += i; }) == Submitted::kInline;
    inline_runs += s.submit(get, i, [out] { *out += 1; }) == Submitted::kInline;
    inline_runs += s.submit(ping, i, [out] { *out += 1; }) == Submitted::kInline;
    inline_runs += s.submit_multi(mset, keys, [out] { *out += 3; }) == Submitted::kInline;
    if (i % 64 == 0) inline_runs += s.submit(flushall, i, [out] { *out = 0; }) == Submitted::kInline;
    return inline_runs;
  };
  round(0);  // warm-up: the running-globals list reserves its first slot
  const std::uint64_t before = g_allocations.load();
  int inline_runs = 0;
  for (std::uint64_t i = 1; i <= 10000; ++i) inline_runs += round(i);
  const std::uint64_t allocations = g_allocations.load() - before;
  EXPECT_EQ(allocations, 0u);
  EXPECT_EQ(inline_runs, 4 * 10000 + 10000 / 64);
  EXPECT_GT(sum, 0u);
#endif
}

}  // namespace
