// Who may talk to a tier, the rules lfdb-server and lfdb-gateway share (as Redis 7.0 has them):
//
//   - the password: compared in a time that depends on the guess only, never on how much of
//     the password it got right (nor on the password's length);
//   - the unauthenticated output limit: a client that has not authenticated while a password
//     is required, and whose replies not yet sent pass kUnauthenticatedOutputLimit bytes, is
//     dropped with none of them sent. A guesser that pipelines AUTH attempts is cut off after
//     about 256 of them; a client that authenticates first never meets the rule (one test of a
//     flag per command while unauthenticated, nothing after);
//   - protected mode: with protected-mode on and no password set, only clients connecting from
//     127.0.0.1 are served; any other is sent kProtectedModeDenied and closed before a session
//     is opened (as Redis, the listening address plays no part, and 127.0.0.2 is not "local").
//
// Thread-safety: constants and pure functions.
#pragma once

#include <netinet/in.h>

#include <cstddef>
#include <string_view>

#include "lf/net.hpp"

namespace lfdb::commands {

inline constexpr std::string_view kWrongPass =
    "WRONGPASS invalid username-password pair or user is disabled.";

// Redis keeps a client's first 16 KiB of replies in its fixed buffer; an unauthenticated client
// that needs more than that is closed.
inline constexpr std::size_t kUnauthenticatedOutputLimit = 16 * 1024;

// The whole line sent to a client refused by protected mode (Redis's text, byte for byte).
extern const std::string_view kProtectedModeDenied;

// Whether `given` is `password`, in a time that depends on given.size() only.
bool password_matches(std::string_view given, std::string_view password);

// The user/password pair of AUTH and HELLO AUTH: lfdb knows the user "default" only; without a
// password set every password is accepted for it (as Redis's nopass default user).
bool credentials_match(std::string_view user, std::string_view given, std::string_view password);

// Protected mode's idea of a local client, Redis's: a peer on the UNIX domain socket, or a TCP
// peer whose address is 127.0.0.1 or ::1 (127.0.0.2 is not).
bool is_local_client(const lf::InetAddr& peer);

}  // namespace lfdb::commands
