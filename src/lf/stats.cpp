#include "lf/stats.hpp"

#include <dlfcn.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

namespace lf {

namespace {
struct alignas(64) TrafficSlot {
  std::atomic<std::uint64_t> in{0}, out{0};
};
constexpr std::size_t kTrafficSlots = 16;
TrafficSlot g_traffic[kTrafficSlots];

TrafficSlot& my_traffic_slot() {
  static std::atomic<std::size_t> next{0};
  thread_local TrafficSlot& mine = g_traffic[next.fetch_add(1, std::memory_order_relaxed) % kTrafficSlots];
  return mine;
}
}  // namespace

void count_session_input(std::size_t bytes) {
  my_traffic_slot().in.fetch_add(bytes, std::memory_order_relaxed);
}

void count_session_output(std::size_t bytes) {
  if (bytes != 0) my_traffic_slot().out.fetch_add(bytes, std::memory_order_relaxed);
}

SessionTraffic session_traffic() {
  SessionTraffic t;
  for (const TrafficSlot& s : g_traffic) {
    t.in += s.in.load(std::memory_order_relaxed);
    t.out += s.out.load(std::memory_order_relaxed);
  }
  return t;
}

void ThreadStats::refresh_rusage() {
  rusage ru{};
  if (::getrusage(RUSAGE_THREAD, &ru) == 0) {
    voluntary_cs.store(static_cast<std::uint64_t>(ru.ru_nvcsw), std::memory_order_relaxed);
    involuntary_cs.store(static_cast<std::uint64_t>(ru.ru_nivcsw), std::memory_order_relaxed);
  }
}

ThreadStatsSnapshot ThreadStatsSnapshot::of(const ThreadStats& s, std::string role) {
  ThreadStatsSnapshot o;
  o.tid = s.tid.load(std::memory_order_relaxed);
  o.role = std::move(role);
  o.events = s.events.load(std::memory_order_relaxed);
  o.promotions = s.promotions.load(std::memory_order_relaxed);
  o.follower_waits = s.follower_waits.load(std::memory_order_relaxed);
  o.queue_waits = s.queue_waits.load(std::memory_order_relaxed);
  o.voluntary_cs = s.voluntary_cs.load(std::memory_order_relaxed);
  o.involuntary_cs = s.involuntary_cs.load(std::memory_order_relaxed);
  // A live thread's /proc entry is exact and current; prefer it to the last rusage snapshot.
  std::uint64_t v, iv;
  if (o.tid != 0 && read_thread_context_switches(o.tid, v, iv)) {
    o.voluntary_cs = v;
    o.involuntary_cs = iv;
  }
  return o;
}

ThreadStatsSnapshot& ThreadStatsSnapshot::operator+=(const ThreadStatsSnapshot& o) {
  events += o.events;
  promotions += o.promotions;
  follower_waits += o.follower_waits;
  queue_waits += o.queue_waits;
  voluntary_cs += o.voluntary_cs;
  involuntary_cs += o.involuntary_cs;
  return *this;
}

static bool read_cs_file(const char* path, std::uint64_t& voluntary, std::uint64_t& involuntary) {
  std::FILE* f = std::fopen(path, "r");
  if (f == nullptr) return false;
  char line[256];
  int found = 0;
  while (std::fgets(line, sizeof line, f) != nullptr) {
    unsigned long long v;
    if (std::sscanf(line, "voluntary_ctxt_switches: %llu", &v) == 1) {
      voluntary = v;
      ++found;
    } else if (std::sscanf(line, "nonvoluntary_ctxt_switches: %llu", &v) == 1) {
      involuntary = v;
      ++found;
    }
  }
  std::fclose(f);
  return found == 2;
}

bool read_thread_context_switches(pid_t tid, std::uint64_t& voluntary, std::uint64_t& involuntary) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/self/task/%d/status", static_cast<int>(tid));
  return read_cs_file(path, voluntary, involuntary);
}

bool read_process_context_switches(std::uint64_t& voluntary, std::uint64_t& involuntary) {
  // /proc/self/status counts only the main thread; getrusage(RUSAGE_SELF) sums all threads.
  rusage ru{};
  if (::getrusage(RUSAGE_SELF, &ru) != 0) return false;
  voluntary = static_cast<std::uint64_t>(ru.ru_nvcsw);
  involuntary = static_cast<std::uint64_t>(ru.ru_nivcsw);
  return true;
}

std::int64_t alloc_count() {
  using Fn = std::uint64_t (*)();
  static Fn fn = reinterpret_cast<Fn>(::dlsym(RTLD_DEFAULT, "lf_alloc_count"));
  return fn != nullptr ? static_cast<std::int64_t>(fn()) : -1;
}

pid_t current_tid() { return static_cast<pid_t>(::syscall(SYS_gettid)); }

}  // namespace lf
