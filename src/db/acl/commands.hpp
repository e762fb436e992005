// The ACL command (SETUSER, GETUSER, DELUSER, USERS, LIST, WHOAMI, CAT, GENPASS, DRYRUN, LOG,
// SAVE, LOAD, HELP) and the ACL LOG entries the front door, AUTH and scripts add.
//
// Thread-safety: handlers run as the command table declares them (acl-read / acl-write /
// free); the registry and the log guard themselves.
#pragma once

#include <span>
#include <string_view>

#include "db/acl/user.hpp"
#include "db/command_context.hpp"

namespace lfdb::db {
class Server;
struct ClientState;

// An ACL LOG entry for a refused command, key or channel; context: toplevel, multi or lua.
void log_acl_denial(Server& server, ClientState& client, acl::Denied d, std::string_view context,
                    const commands::CommandSpec& spec, std::span<const std::string_view> argv,
                    std::size_t at);
// An ACL LOG entry for a failed AUTH / HELLO AUTH as `user`.
void log_auth_failure(Server& server, ClientState& client, std::string_view user);

std::span<const HandlerEntry> acl_handlers();
}  // namespace lfdb::db
