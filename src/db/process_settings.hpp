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
// had when lfdb took control unless absolute; "no" puts that score back. False when the kernel
// refused.
// The base is read again each time lfdb takes control (from "no"), as Redis does.
bool apply_oom_score(const std::string& mode, const std::string& values, bool replica);
// A background child's score (the third value), computed by the parent before it forks; and
// the child's own write of it, with no lock nor allocation (the fork copied none of the other
// threads). kNoOomScore: leave the child's inherited score.
inline constexpr int kNoOomScore = -100000;
int oom_score_for_child(const std::string& mode, const std::string& values);
void set_own_oom_score(int score);

}  // namespace lfdb::db
