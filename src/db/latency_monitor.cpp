#include "db/latency_monitor.hpp"

#include <ctime>

namespace lfdb::db {

void LatencyMonitor::record(std::string_view event, std::uint64_t ms) {
  if (!wanted(ms)) return;
  const std::int64_t now = static_cast<std::int64_t>(std::time(nullptr));
  lf::MutexLock lock(mu_);
  auto it = events_.find(event);
  if (it == events_.end()) it = events_.emplace(std::string(event), Event{}).first;
  Event& e = it->second;
  if (ms > e.max_ms) e.max_ms = ms;
  if (!e.samples.empty() && e.samples.back().time_s == now) {  // one sample a second: its worst
    if (ms > e.samples.back().ms) e.samples.back().ms = ms;
    return;
  }
  if (e.samples.size() == kSamples) e.samples.erase(e.samples.begin());
  e.samples.push_back({now, ms});
}

std::map<std::string, LatencyMonitor::Event> LatencyMonitor::events() {
  lf::MutexLock lock(mu_);
  return {events_.begin(), events_.end()};
}

std::size_t LatencyMonitor::reset(const std::vector<std::string>& names) {
  lf::MutexLock lock(mu_);
  if (names.empty()) {
    const std::size_t n = events_.size();
    events_.clear();
    return n;
  }
  std::size_t n = 0;
  for (const std::string& name : names) n += events_.erase(name);
  return n;
}

}  // namespace lfdb::db
