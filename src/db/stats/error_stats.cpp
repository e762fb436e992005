#include "db/stats/error_stats.hpp"

#include <cstdio>

namespace lfdb::db {

std::string_view ErrorStats::prefix_of(std::string_view error) {
  if (error.empty() || error[0] != '-') {
    // Without its '-': look at it as the reply it becomes.
    const std::size_t space = error.substr(0, 31).find(' ');
    if (space == std::string_view::npos || space == 0) return "ERR";
    return error.substr(0, space);
  }
  const std::size_t space = error.substr(0, 32).find(' ');
  if (space == std::string_view::npos || space == 1) return "ERR";
  return error.substr(1, space - 1);
}

void ErrorStats::count(std::string_view error) {
  total_.add();
  const std::string_view prefix = prefix_of(error);
  lf::MutexLock lock(mu_);
  if (disabled_) return;
  if (auto it = prefixes_.find(prefix); it != prefixes_.end()) {
    ++it->second;
    return;
  }
  if (prefixes_.size() < kMaxPrefixes) {
    prefixes_.emplace(std::string(prefix), 1);
    return;
  }
  std::string seen;
  for (const auto& [p, n] : prefixes_) seen += " " + p;
  std::fprintf(stderr,
               "lfdb-server: errorstats stopped counting by prefix: %zu distinct error prefixes "
               "reached (CONFIG RESETSTAT starts again); they were:%s\n",
               kMaxPrefixes, seen.c_str());
  prefixes_.clear();
  prefixes_.emplace(std::string(kDisabled), 1);
  disabled_ = true;
}

std::vector<std::pair<std::string, std::uint64_t>> ErrorStats::prefixes() const {
  lf::MutexLock lock(mu_);
  return {prefixes_.begin(), prefixes_.end()};
}

void ErrorStats::reset() {
  total_.reset();
  lf::MutexLock lock(mu_);
  prefixes_.clear();
  disabled_ = false;
}

}  // namespace lfdb::db
