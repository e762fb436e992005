// An ACL selector (Redis 7.0): the commands a user may run (a bit per command-table index,
// plus the first arguments it may give an otherwise denied command: `+select|0`), the key
// patterns with their read/write permissions and the channel patterns. Every user has a root
// selector, the rules given outside parentheses; `(...)` rules add selectors of their own, and a
// command is allowed when any one selector allows all of it (its command, every key with the
// access the command's key specs ask for, every channel).
//
// Thread-safety: a value type; published inside an immutable User (db/acl/user.hpp).
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

// Why a command is refused, Redis's ACL_DENIED_* (kNone: allowed), in Redis's order: with
// several selectors the refusal reported is the greatest (then the one at the latest argument).
enum class Denied : std::uint8_t { kNone, kCommand, kKey, kChannel };

struct Selector {
  bool future_commands = false;  // +@all / allcommands: commands added later are allowed too
  bool all_keys = false;
  bool all_channels = false;
  std::vector<bool> allowed;                         // by command-table index
  std::vector<std::vector<std::string>> first_args;  // by index: allowed argv[1]s (lower case)
  std::vector<KeyPattern> keys;
  std::vector<std::string> channels;

  Selector();
  // Applies one command, key or channel rule; "" or Redis's reason ("Syntax error", ...).
  std::string apply_rule(std::string_view op);
  // Every command, key and channel.
  bool unrestricted() const;
  // Reads every key: allkeys, or a `*` pattern with read permission (Redis's test for SORT's
  // BY and GET patterns, whose keys no check sees).
  bool reads_every_key() const;

  // GETUSER's commands, keys and channels fields.
  std::string describe_commands() const;
  std::string describe_keys() const;
  std::string describe_channels() const;
  // ACL LIST's words for it: keys, channels, then the command rules.
  std::string describe() const;

  Denied check(const commands::CommandSpec& spec, std::uint16_t index,
               std::span<const std::string_view> argv, std::size_t& at) const;
  // Whether it allows subscribing to `name` (a pattern subscription is allowed only by the
  // same pattern, literally: Redis's rule).
  bool channel_allowed(std::string_view name, bool pattern) const;
};

// acl-pubsub-default: whether a new selector (a new user's root, a `(...)` rule) and `reset`
// start with every channel (allchannels) or none (resetchannels, Redis 7.0's default). Set at
// start and by CONFIG SET; users made before keep what they have.
// Thread-safety: one relaxed atomic; a SETUSER racing a CONFIG SET sees either value.
void set_new_selectors_all_channels(bool all);
bool new_selectors_all_channels();

}  // namespace lfdb::db::acl
