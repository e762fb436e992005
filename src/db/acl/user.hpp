// An ACL user (Redis 7.0's root selector): on/off, passwords (SHA-256, hex), the commands it may
// run (a bit per command-table index, plus the first arguments it may give an otherwise denied
// command: `+select|0`), the key patterns with their read/write permissions and the channel
// patterns. ACL SETUSER's rules are applied to a copy (apply_rule); the registry publishes the
// copy as a new immutable User, which sessions hold as a snapshot (shared_ptr to const).
//
// Thread-safety: a published User is never changed. apply_rule works on an unpublished copy.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "commands/command_table.hpp"

namespace lfdb::db::acl {

inline constexpr std::uint8_t kKeyRead = 1, kKeyWrite = 2;

struct KeyPattern {
  std::string pattern;
  std::uint8_t perms = 0;  // kKeyRead | kKeyWrite
};

struct User {
  std::string name;
  std::uint64_t id = 0;   // unique per creation: a deleted-and-recreated name is another user
  bool enabled = false;
  bool nopass = false;
  int sanitize = 0;       // 0: neither flag, 1: sanitize-payload, 2: skip-sanitize-payload
  bool future_commands = false;  // +@all / allcommands: commands added later are allowed too
  bool all_keys = false;
  bool all_channels = false;
  // The hot path's one test: every command, key and channel allowed.
  bool unrestricted = false;
  std::vector<std::string> passwords;     // SHA-256 of each, lower-case hex, in insertion order
  std::vector<bool> allowed;              // by command-table index
  std::vector<std::vector<std::string>> first_args;  // by index: allowed argv[1]s (lower case)
  std::vector<KeyPattern> keys;
  std::vector<std::string> channels;

  explicit User(std::string n);
  // Applies one ACL SETUSER rule; "" or Redis's reason ("Syntax error", ...).
  std::string apply_rule(std::string_view op);
  void refresh();  // recomputes `unrestricted` after rules

  bool password_ok(std::string_view given) const;
  // The description parts of ACL GETUSER / ACL LIST.
  std::vector<std::string_view> flags() const;
  std::string describe_commands() const;
  std::string describe_keys() const;
  std::string describe_channels() const;
  std::string describe() const;  // ACL LIST's line after "user <name> "
};

std::string sha256_hex(std::string_view s);

// Why a command is refused, Redis's ACL_DENIED_* (kNone: allowed). `at` is the argument
// index of the refused key or channel.
enum class Denied : std::uint8_t { kNone, kCommand, kKey, kChannel };
Denied check(const User& u, const commands::CommandSpec& spec, std::uint16_t index,
             std::span<const std::string_view> argv, std::size_t& at);
// Redis's words for a refusal, as the NOPERM error ends and ACL DRYRUN says it.
std::string denied_message(Denied d, const commands::CommandSpec& spec,
                           std::span<const std::string_view> argv, std::size_t at, bool dryrun);
std::string full_name(const commands::CommandSpec& spec);  // "client|kill"

}  // namespace lfdb::db::acl
