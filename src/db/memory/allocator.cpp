#include "db/memory/allocator.hpp"

#include <malloc.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>

// jemalloc's control interface, weak: present when the program links jemalloc (lfdb-server
// does), null otherwise (unit tests, sanitizer builds).
extern "C" {
int mallctl(const char* name, void* oldp, size_t* oldlenp, void* newp, size_t newlen) __attribute__((weak));
void malloc_stats_print(void (*write_cb)(void*, const char*), void* cbopaque, const char* opts) __attribute__((weak));
size_t __sanitizer_get_current_allocated_bytes() __attribute__((weak));
}

namespace lfdb::db::memory {
namespace {

bool have_jemalloc() { return mallctl != nullptr; }

std::uint64_t je_read(const char* name) {
  size_t v = 0;
  size_t len = sizeof v;
  if (mallctl(name, &v, &len, nullptr, 0) != 0) return 0;
  return v;
}

void je_refresh() {
  std::uint64_t epoch = 1;
  size_t len = sizeof epoch;
  (void)mallctl("epoch", &epoch, &len, &epoch, len);
}

std::int64_t mono_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch()).count();
}

// jemalloc's stats.allocated counts a block as allocated while it sits in a thread's cache
// (tcache): freed by the program but kept for that thread's next malloc, and a cache that runs
// empty is refilled by a batch of blocks at once. So the figure jumped by up to a few hundred KB
// with no byte of data more or less (a first write after FLUSHALL read 237 KB over a limit set
// 100 KB above the INFO figure just before), where Redis's used_memory counts only what the
// program holds. The bytes the caches hold (stats.arenas.<all>.tcache_bytes, from the same
// refresh) are taken off: what is left is what the program holds.
std::uint64_t je_program_bytes() {
  const std::uint64_t allocated = je_read("stats.allocated");
  const std::uint64_t cached = je_read("stats.arenas.4096.tcache_bytes");  // 4096: MALLCTL_ARENAS_ALL
  return allocated > cached ? allocated - cached : 0;
}

}  // namespace

const char* allocator_name() {
  if (have_jemalloc()) {
    static const std::string name = [] {
      const char* v = nullptr;
      size_t len = sizeof v;
      if (mallctl("version", &v, &len, nullptr, 0) != 0 || v == nullptr) return std::string("jemalloc");
      std::string s = "jemalloc-";
      s += v;
      const auto dash = s.find('-', 9);  // "5.3.0-0-g54eaed1d...": keep "5.3.0"
      return dash == std::string::npos ? s : s.substr(0, dash);
    }();
    return name.c_str();
  }
  if (__sanitizer_get_current_allocated_bytes != nullptr) return "sanitizer";
  return "libc";
}

std::uint64_t allocated_bytes() {
  if (have_jemalloc()) {
    je_refresh();
    return je_program_bytes();
  }
  if (__sanitizer_get_current_allocated_bytes != nullptr) return __sanitizer_get_current_allocated_bytes();
  const struct mallinfo2 mi = ::mallinfo2();
  return mi.uordblks + mi.hblkhd;
}

AllocatorFigures allocator_figures() {
  AllocatorFigures f;
  if (!have_jemalloc()) return f;
  je_refresh();
  f.allocated = je_read("stats.allocated");
  f.active = je_read("stats.active");
  f.resident = je_read("stats.resident");
  f.retained = je_read("stats.retained");
  return f;
}

std::uint64_t resident_bytes() {
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) return 0;
  unsigned long long size = 0, rss = 0;
  const int n = std::fscanf(f, "%llu %llu", &size, &rss);
  std::fclose(f);
  if (n != 2) return 0;
  return rss * static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
}

std::string malloc_stats() {
  if (malloc_stats_print == nullptr) return "Stats not supported for the current allocator";
  std::string out;
  malloc_stats_print([](void* o, const char* s) { static_cast<std::string*>(o)->append(s); }, &out, nullptr);
  return out;
}

bool purge() {
  if (!have_jemalloc()) return false;
  // arena.<MALLCTL_ARENAS_ALL>.purge: every arena gives its dirty pages back.
  char name[64];
  std::snprintf(name, sizeof name, "arena.%u.purge", 4096u);
  return mallctl(name, nullptr, nullptr, nullptr, 0) == 0;
}

namespace {
struct ThreadCounters {
  const std::uint64_t* allocated = nullptr;
  const std::uint64_t* deallocated = nullptr;
};
// jemalloc's thread.allocatedp / thread.deallocatedp: pointers to the thread's own counters,
// asked once per thread (a mallctl each), then read directly.
const ThreadCounters& thread_counters() {
  thread_local const ThreadCounters c = [] {
    ThreadCounters t;
    if (!have_jemalloc()) return t;
    std::uint64_t* a = nullptr;
    std::uint64_t* d = nullptr;
    size_t len = sizeof a;
    if (mallctl("thread.allocatedp", &a, &len, nullptr, 0) != 0) return t;
    len = sizeof d;
    if (mallctl("thread.deallocatedp", &d, &len, nullptr, 0) != 0) return t;
    t.allocated = a;
    t.deallocated = d;
    return t;
  }();
  return c;
}
}  // namespace

bool has_thread_counters() { return thread_counters().allocated != nullptr; }

std::int64_t thread_net_freed() {
  const ThreadCounters& c = thread_counters();
  if (c.allocated == nullptr) return 0;
  return static_cast<std::int64_t>(*c.deallocated - *c.allocated);
}

void set_thread_cache(bool on) {
  if (!have_jemalloc()) return;
  (void)mallctl("thread.tcache.enabled", nullptr, nullptr, &on, sizeof on);
}

std::uint64_t Gauge::used(std::uint64_t incoming) {
  const std::uint64_t since =
      incoming == 0 ? since_refresh_.load(std::memory_order_relaxed)
                    : since_refresh_.fetch_add(incoming, std::memory_order_relaxed) + incoming;
  if ((since < kRefreshBytes && mono_ns() - refreshed_ns_.load(std::memory_order_relaxed) < kRefreshNs) ||
      refreshing_.exchange(true, std::memory_order_acquire)) {
    return less_not_counted(used_.load(std::memory_order_relaxed));
  }
  const std::uint64_t v = fresh();
  refreshing_.store(false, std::memory_order_release);
  return less_not_counted(v);
}

const std::shared_ptr<dispatch::ReplicaBytes>& replica_bytes_cell() {
  static const std::shared_ptr<dispatch::ReplicaBytes> cell = std::make_shared<dispatch::ReplicaBytes>();
  return cell;
}

std::uint64_t Gauge::not_counted() const { return replica_bytes_cell()->not_counted(); }

std::uint64_t Gauge::fresh() {
  const std::uint64_t v = allocated_bytes();
  used_.store(v, std::memory_order_relaxed);
  std::uint64_t p = peak_.load(std::memory_order_relaxed);
  while (v > p && !peak_.compare_exchange_weak(p, v, std::memory_order_relaxed)) {
  }
  refreshed_ns_.store(mono_ns(), std::memory_order_relaxed);
  since_refresh_.store(0, std::memory_order_relaxed);
  return v;
}

void Gauge::forget(std::uint64_t freed) {
  std::uint64_t cur = used_.load(std::memory_order_relaxed);
  while (!used_.compare_exchange_weak(cur, cur > freed ? cur - freed : 0, std::memory_order_relaxed)) {
  }
}

void Gauge::add(std::int64_t bytes) {
  if (bytes < 0) return forget(static_cast<std::uint64_t>(-bytes));
  used_.fetch_add(static_cast<std::uint64_t>(bytes), std::memory_order_relaxed);
}

Gauge& gauge() {
  static Gauge g;
  return g;
}

}  // namespace lfdb::db::memory
