#include "db/command_stats.hpp"

#include <algorithm>
#include <bit>

#include "commands/command_table.hpp"

namespace lfdb::db {
namespace {
std::atomic<std::uint64_t> g_serial{1};
}  // namespace

CommandStats::CommandStats() : serial_(g_serial.fetch_add(1, std::memory_order_relaxed)) {}

CommandStats::Row& CommandStats::row(std::uint16_t index) {
  // The block this thread counts into, for the CommandStats it last counted for (a server
  // process has one; tests may make several, one after another).
  thread_local std::uint64_t t_serial = 0;
  thread_local Row* t_rows = nullptr;
  if (t_serial != serial_) {
    auto rows = std::make_unique<Row[]>(commands::command_count());
    t_rows = rows.get();
    t_serial = serial_;
    lf::MutexLock lock(mu_);
    blocks_.push_back(std::move(rows));
  }
  return t_rows[index];
}

void CommandStats::record(std::uint16_t index, std::uint64_t usec, bool failed) {
  Row& r = row(index);
  r.calls.fetch_add(1, std::memory_order_relaxed);
  r.usec.fetch_add(usec, std::memory_order_relaxed);
  if (latency_tracking_.load(std::memory_order_relaxed)) {
    const std::size_t b = std::min<std::size_t>(
        kBuckets - 1, static_cast<std::size_t>(std::bit_width(usec == 0 ? 0 : usec - 1)));
    r.buckets[b].fetch_add(1, std::memory_order_relaxed);
  }
  if (failed) r.failed.fetch_add(1, std::memory_order_relaxed);
}

std::uint64_t CommandStats::Totals::percentile(double p) const {
  std::uint64_t all = 0;
  for (std::uint64_t n : buckets) all += n;
  if (all == 0) return 0;
  const double want = p / 100.0 * static_cast<double>(all);
  std::uint64_t seen = 0;
  for (std::size_t b = 0; b < kBuckets; ++b) {
    seen += buckets[b];
    if (seen > 0 && static_cast<double>(seen) >= want) return std::uint64_t{1} << b;
  }
  return std::uint64_t{1} << (kBuckets - 1);
}

void CommandStats::reject(std::uint16_t index) {
  row(index).rejected.fetch_add(1, std::memory_order_relaxed);
}

void CommandStats::fail(std::uint16_t index) {
  row(index).failed.fetch_add(1, std::memory_order_relaxed);
}

std::vector<CommandStats::Totals> CommandStats::totals() {
  std::vector<Totals> t(commands::command_count());
  lf::MutexLock lock(mu_);
  for (const auto& b : blocks_) {
    for (std::size_t i = 0; i < t.size(); ++i) {
      t[i].calls += b[i].calls.load(std::memory_order_relaxed);
      t[i].usec += b[i].usec.load(std::memory_order_relaxed);
      t[i].rejected += b[i].rejected.load(std::memory_order_relaxed);
      t[i].failed += b[i].failed.load(std::memory_order_relaxed);
      for (std::size_t k = 0; k < kBuckets; ++k) {
        t[i].buckets[k] += b[i].buckets[k].load(std::memory_order_relaxed);
      }
    }
  }
  return t;
}

void CommandStats::reset() {
  const std::size_t n = commands::command_count();
  lf::MutexLock lock(mu_);
  for (const auto& b : blocks_) {
    for (std::size_t i = 0; i < n; ++i) {
      b[i].calls.store(0, std::memory_order_relaxed);
      b[i].usec.store(0, std::memory_order_relaxed);
      b[i].rejected.store(0, std::memory_order_relaxed);
      b[i].failed.store(0, std::memory_order_relaxed);
      for (auto& k : b[i].buckets) k.store(0, std::memory_order_relaxed);
    }
  }
}

}  // namespace lfdb::db
