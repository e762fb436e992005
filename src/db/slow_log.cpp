#include "db/slow_log.hpp"

#include <ctime>

namespace lfdb::db {
namespace {
constexpr std::size_t kMaxArgs = 32;
constexpr std::size_t kMaxArgBytes = 128;
}  // namespace

void SlowLog::set_max_len(std::int64_t n) {
  max_len_.store(n, std::memory_order_relaxed);
  lf::MutexLock lock(mu_);
  while (entries_.size() > static_cast<std::size_t>(n)) entries_.pop_back();
}

void SlowLog::record(std::uint64_t usec, std::span<const std::string_view> argv, std::string addr,
                     std::string name) {
  if (!wanted(usec)) return;
  Entry e;
  e.time_s = static_cast<std::int64_t>(std::time(nullptr));
  e.usec = usec;
  const std::size_t shown = argv.size() > kMaxArgs ? kMaxArgs - 1 : argv.size();
  for (std::size_t i = 0; i < shown; ++i) {
    const std::string_view a = argv[i];
    if (a.size() <= kMaxArgBytes) {
      e.args.emplace_back(a);
    } else {
      e.args.push_back(std::string(a.substr(0, kMaxArgBytes)) + "... (" +
                       std::to_string(a.size() - kMaxArgBytes) + " more bytes)");
    }
  }
  if (shown < argv.size()) {
    e.args.push_back("... (" + std::to_string(argv.size() - shown) + " more arguments)");
  }
  e.addr = std::move(addr);
  e.name = std::move(name);
  const auto max = static_cast<std::size_t>(max_len_.load(std::memory_order_relaxed));
  lf::MutexLock lock(mu_);
  e.id = next_id_++;
  entries_.push_front(std::move(e));
  while (entries_.size() > max) entries_.pop_back();
}

std::vector<SlowLog::Entry> SlowLog::newest(std::size_t count) {
  lf::MutexLock lock(mu_);
  const std::size_t n = std::min(count, entries_.size());
  return {entries_.begin(), entries_.begin() + static_cast<std::ptrdiff_t>(n)};
}

std::size_t SlowLog::size() {
  lf::MutexLock lock(mu_);
  return entries_.size();
}

void SlowLog::reset() {
  lf::MutexLock lock(mu_);
  entries_.clear();
}

}  // namespace lfdb::db
