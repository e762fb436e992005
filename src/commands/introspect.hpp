// What COMMAND GETKEYS / GETKEYSANDFLAGS / LIST FILTERBY and COMMAND INFO say about a command,
// read from the command table alone, so that lfdb-server and lfdb-gateway answer them alike
// (the gateway answers COMMAND GETKEYS itself: it routes by the very same key positions).
//
// Thread-safety: pure functions over the immutable table.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "commands/command_table.hpp"

namespace lfdb::commands {

// The positions of the keys of the command argv names (argv[0] is the command's name), as
// COMMAND GETKEYS reports them, or Redis's error (without the leading '-') when argv names no
// command, has the wrong number of arguments, or has no key arguments.
struct KeyPositions {
  const CommandSpec* spec = nullptr;
  std::vector<std::size_t> positions;
  std::string error;  // empty on success
};
KeyPositions key_positions(std::span<const std::string_view> argv);

// A key's access flags (COMMAND GETKEYSANDFLAGS, ACL's %R~ / %W~) are its key spec's:
// key_specs.hpp.

// COMMAND INFO's `movablekeys`: the command's keys are not a fixed range of positions, so only
// its arguments tell them (a key count: EVAL, ZUNIONSTORE; a keyword: SORT's STORE, XREAD's
// STREAMS, GEORADIUS's STORE, MIGRATE's KEYS), as Redis marks them.
bool movable_keys(const CommandSpec& spec);

// The ACL categories of a command, without the '@' (Redis's names: "read", "write", "fast",
// "slow", "string", "sortedset", ...): COMMAND INFO shows them and COMMAND LIST FILTERBY ACLCAT
// selects by them.
std::vector<std::string> acl_categories(const CommandSpec& spec);

}  // namespace lfdb::commands
