#include "db/command_stats.hpp"

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
  if (failed) r.failed.fetch_add(1, std::memory_order_relaxed);
}

void CommandStats::reject(std::uint16_t index) {
  row(index).rejected.fetch_add(1, std::memory_order_relaxed);
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
    }
  }
}

}  // namespace lfdb::db
