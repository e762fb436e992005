// The ACL file (Redis 7.0's `aclfile`): one `user <name> <rule> ...` line per user, words split
// on single spaces, as ACL SAVE writes it and ACL LOAD / the server's start read it. A file
// with any bad line loads nothing: every line's error is gathered, in Redis's words, and the
// users already active stay. `user` lines of the config file go through the same rules
// (user_from_words).
//
// Thread-safety: pure functions on values; the registry publishes what a load returns.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "db/acl/user.hpp"

namespace lfdb::db::acl {

// The users the file names, in its order, or Redis's error text (without "ERR "): per line
// errors then the closing warning, or the file that could not be opened.
std::string load_acl_file(const std::string& path, std::vector<std::shared_ptr<User>>& out);

// Writes ACL LIST's lines to a temporary file beside `path`, flushed, then renamed over it: a
// crash midway leaves the old file whole. "" or why not (for the server's log).
std::string save_acl_file(const std::string& path, std::span<const std::shared_ptr<const User>> users);

// A config file's `user <name> <rules...>` (words already split): the user, or Redis's reason.
std::string user_from_words(std::string_view name, std::span<const std::string_view> rules,
                            std::shared_ptr<User>& out);

// Whether a user name has no blank or NUL (ACL SETUSER's and the file's rule).
bool valid_user_name(std::string_view name);

}  // namespace lfdb::db::acl
