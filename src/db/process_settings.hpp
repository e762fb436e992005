// The parameters that act on lfdb-server's process rather than its data: pidfile, logfile and
// oom-score-adj (db/config_table.hpp has their rows). main.cpp applies them at start; CONFIG SET
// oom-score-adj(-values) applies again through Server::apply_setting.
//
// Thread-safety: apply_oom_score serializes itself; the others run once, from main's thread.
#pragma once

#include <string>

#include "lf/status.hpp"

namespace lfdb::db {

// `logfile`: "" keeps stdout/stderr; a path: both are appended there from now on.
lf::Status open_logfile(const std::string& path);
// `pidfile`: writes this process's id, "" does nothing; false when it cannot (a warning, as
// Redis gives one: the server still starts).
bool write_pidfile(const std::string& path);
void remove_pidfile(const std::string& path);
// `oom-score-adj` (no | yes | relative | absolute) with `oom-score-adj-values` ("<primary>
// <replica> <background>"): writes /proc/self/oom_score_adj, relative to the score the process
// started with unless absolute; "no" puts that score back. False when the kernel refused.
bool apply_oom_score(const std::string& mode, const std::string& values, bool replica);

}  // namespace lfdb::db
