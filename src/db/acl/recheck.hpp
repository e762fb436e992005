// What a change of a user's rules does to what its connections started before it: EXEC checks
// each queued command again (Redis 7.0 refuses the ones the rules no longer allow, with an
// error of its own, and runs the rest), and ACL SETUSER closes the user's subscribers holding a
// subscription the new rules refuse.
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "db/acl/user.hpp"

namespace lfdb::db::acl {

// EXEC's error for a queued command the user's rules, changed since it was queued, refuse.
std::string exec_denied_message(Denied d);

// Whether `u` may subscribe to `name` (a pattern subscription is allowed only by the same
// pattern, literally: Redis's rule).
bool channel_allowed(const User& u, std::string_view name, bool pattern);
// Whether every channel `before` allowed is still allowed by `after`: then no subscriber of the
// user can have lost one (Redis's shortcut before it looks at each subscriber).
bool keeps_channels(const User& before, const User& after);

}  // namespace lfdb::db::acl
