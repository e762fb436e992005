// Whether the command running on this thread was called by a script (redis.call / redis.pcall),
// for the few commands whose reply Redis makes deterministic for scripts: SORT of a set without
// a sort order (BY a constant) sorts it ALPHA, so a script's effect does not depend on the set's
// internal order.
//
// Thread-safety: thread-local; the script glue sets it around the handler it calls on its own
// thread (db/scripting.cpp).
#pragma once

namespace lfdb::db {

inline thread_local bool t_in_script_call = false;

}  // namespace lfdb::db
