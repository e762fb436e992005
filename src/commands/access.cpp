#include "commands/access.hpp"

#include <arpa/inet.h>

namespace lfdb::commands {

// Redis 7.0's refusal, the error string exactly as redis-server sends it (the integration
// tests compare it with a live redis-server's).
const std::string_view kProtectedModeDenied =
    "-DENIED Redis is running in protected mode because protected mode is enabled and no "
    "password is set for the default user. In this mode connections are only accepted from the "
    "loopback interface. If you want to connect from external computers to Redis you may adopt "
    "one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG "
    "SET protected-mode no' from the loopback interface by connecting to Redis from the same host "
    "the server is running, however MAKE SURE Redis is not publicly accessible from internet if "
    "you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just "
    "disable the protected mode by editing the Redis configuration file, and setting the "
    "protected mode option to 'no', and then restarting the server. 3) If you started the server "
    "manually just for testing, restart it with the '--protected-mode no' option. 4) Setup a an "
    "authentication password for the default user. NOTE: You only need to do one of the above "
    "things in order for the server to start accepting connections from the outside.\r\n";

bool password_matches(std::string_view given, std::string_view password) {
  // Every byte of the guess is compared (against the password repeated), and the differences
  // are OR-ed together with no early exit: the loop runs given.size() times whatever matches.
  if (password.empty()) return given.empty();
  unsigned diff = given.size() == password.size() ? 0u : 1u;
  std::size_t j = 0;  // i modulo the password's length (a branch on lengths only)
  for (std::size_t i = 0; i < given.size(); ++i) {
    diff |= static_cast<unsigned char>(given[i]) ^ static_cast<unsigned char>(password[j]);
    j = j + 1 == password.size() ? 0 : j + 1;
  }
  return diff == 0;
}

bool credentials_match(std::string_view user, std::string_view given, std::string_view password) {
  const bool pass_ok = password.empty() || password_matches(given, password);
  return user == "default" && pass_ok;
}

bool is_local_client(const lf::InetAddr& peer) {
  return peer.is_unix_socket() || peer.is_loopback_host();
}

}  // namespace lfdb::commands
