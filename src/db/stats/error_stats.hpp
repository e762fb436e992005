// ErrorStats: the one place every error reply of lfdb-server is counted, for INFO stats
// (total_error_replies) and INFO errorstats (errorstat_<PREFIX>:count=N).
//
// Who calls count(): the session for what it answers itself (the front door's refusals, a
// handler's error reply, EXEC's abort, the error a blocked client is woken with, a protocol
// error) and the scripts' glue for the errors redis.call / redis.pcall produce inside a script,
// as Redis counts them where they are made (docs/introspection.md, "Error statistics").
//
// The prefix is Redis's: the error's first word when a space ends it within the first 32 bytes
// of the reply (with its '-'), else ERR. At most kMaxPrefixes distinct prefixes are kept: one more
// replaces them all with ERRORSTATS_DISABLED (count 1), and no prefix is counted again until
// CONFIG RESETSTAT (the rule Redis adopted in 7.2, so a client inventing error codes cannot
// grow the server's memory without bound; 7.0 had no limit). total_error_replies counts on.
//
// Cost: only error replies come here; a command that succeeds never does.
// Thread-safety: the total is striped per thread (atomics); the prefixes are guarded by mu_.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "db/stats.hpp"
#include "lf/mutex.hpp"

namespace lfdb::db {

class ErrorStats {
 public:
  static constexpr std::size_t kMaxPrefixes = 128;
  static constexpr std::string_view kDisabled = "ERRORSTATS_DISABLED";

  // One error reply: its text, with or without the leading '-' (what follows the first line,
  // if anything, is not looked at).
  void count(std::string_view error);
  // The prefix count() files an error under.
  static std::string_view prefix_of(std::string_view error);

  std::uint64_t total() const { return total_.sum(); }
  // (prefix, count) in byte order, as INFO errorstats lists them.
  std::vector<std::pair<std::string, std::uint64_t>> prefixes() const;
  void reset();

 private:
  StripedCounter total_;
  mutable lf::Mutex mu_;
  std::map<std::string, std::uint64_t, std::less<>> prefixes_ LF_GUARDED_BY(mu_);
  bool disabled_ LF_GUARDED_BY(mu_) = false;
};

}  // namespace lfdb::db
