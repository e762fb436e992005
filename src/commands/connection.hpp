// The parts of the connection commands both tiers answer themselves (HELLO, AUTH, CLIENT
// SETNAME, SELECT; who may connect and authenticate is in access.hpp): parsed and replied to here, once, so lfdb-server and lfdb-gateway give the
// same replies and errors. What each tier then does with them (its own client state) stays in
// the tier.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "resp/writer.hpp"

namespace lfdb::commands {

// The Redis version lfdb answers as (HELLO, INFO redis_version): the one whose behaviour it keeps.
inline constexpr const char* kRedisCompat = "7.0.15";

inline constexpr std::string_view kErrNoAuth = "NOAUTH Authentication required.";
inline constexpr std::string_view kErrBadClientName =
    "ERR Client names cannot contain spaces, newlines or special characters.";
inline constexpr std::string_view kErrHelloNoAuth =
    "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO "
    "AUTH <user> <pass> option can be used to authenticate the client and select the RESP "
    "protocol version at the same time";
inline constexpr std::string_view kErrAuthNoPassword =
    "ERR AUTH <password> called without any password configured for the default user. Are you "
    "sure your configuration is correct?";

// Client names are printable ASCII without spaces (CLIENT SETNAME, HELLO SETNAME).
bool valid_client_name(std::string_view name);

// HELLO [protover [AUTH username password] [SETNAME clientname]].
struct HelloRequest {
  resp::Protocol protocol = resp::Protocol::kResp2;
  bool auth = false;
  std::string_view user, password;
  bool setname = false;
  std::string_view name;
};
// Parses argv (the connection's current protocol is the default); "" or Redis's error reply.
std::string parse_hello(std::span<const std::string_view> argv, resp::Protocol current,
                        HelloRequest& out);

// HELLO's reply: the map a client reads the server's identity and its own from.
struct HelloReply {
  resp::Protocol protocol = resp::Protocol::kResp2;
  std::int64_t client_id = 0;
  std::string_view role = "master";
  std::string_view mode = "standalone";  // lfdb-gateway: "proxy"
};
void write_hello(resp::Writer& w, const HelloReply& r);

// SELECT's argument: "" and the index, or Redis's error reply.
std::string parse_db_index(std::string_view arg, std::int64_t& index);

// Client-side caching's frames, the same from both tiers: RESP3 `>2 invalidate [keys]` (keys ==
// nullptr: null, everything), under RESP2 the message on __redis__:invalidate a redirected
// client's subscriber connection gets; and `>2 tracking-redir-broken <id>`.
std::string encode_invalidate(resp::Protocol protocol, const std::vector<std::string_view>* keys);
std::string encode_redir_broken(std::uint64_t id);

}  // namespace lfdb::commands
