// What a change of a user's rules does to what its connections started before it: EXEC checks
// each queued command again (Redis 7.0 refuses the ones the rules no longer allow, with an
// error of its own, and runs the rest).
//
// Thread-safety: pure functions.
#pragma once

#include <string>

#include "db/acl/user.hpp"

namespace lfdb::db::acl {

// EXEC's error for a queued command the user's rules, changed since it was queued, refuse.
std::string exec_denied_message(Denied d);

}  // namespace lfdb::db::acl
