// Redis 7.0's key specifications, per command: where each kind of key argument is found
// (begin_search, then find_keys) and what the command does to it (the flags). ACL's %R~ / %W~
// checks, COMMAND GETKEYSANDFLAGS and COMMAND INFO read a key's access from here.
//
// Thread-safety: immutable static data (the per-command index is built once, on first use, by a
// function-local static); every function is pure.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "commands/command_table.hpp"

namespace lfdb::commands {

// Redis's key-spec flags, in the order COMMAND INFO lists them.
enum KeyFlag : std::uint16_t {
  kKeyRO = 1u << 0,        // the key's value is read, not changed
  kKeyRW = 1u << 1,        // read and changed
  kKeyOW = 1u << 2,        // overwritten: its old value is not read
  kKeyRM = 1u << 3,        // removed
  kKeyAccess = 1u << 4,    // the user sees data of the key (needs %R~)
  kKeyUpdate = 1u << 5,    // data is changed (needs %W~)
  kKeyInsert = 1u << 6,    // data is added (needs %W~)
  kKeyDelete = 1u << 7,    // data is removed (needs %W~)
  kKeyNotKey = 1u << 8,    // looks like a key, is not one (a channel, in Redis's cluster commands)
  kKeyIncomplete = 1u << 9,     // the spec may not find every key
  kKeyVariableFlags = 1u << 10, // the arguments decide (BITFIELD's GET only reads)
};

struct BeginSearch {
  enum class Type : std::uint8_t { kIndex, kKeyword, kUnknown };
  Type type = Type::kUnknown;
  int at = 0;                  // kIndex: the index; kKeyword: where the search starts (< 0: from
                               // the end, searching backwards)
  std::string_view keyword{};  // kKeyword, upper case as COMMAND INFO shows it
};

struct FindKeys {
  enum class Type : std::uint8_t { kRange, kKeynum, kUnknown };
  Type type = Type::kUnknown;
  // kRange: lastkey (relative to the first key; < 0 from the end), keystep, limit (> 1: only
  // the first 1/limit of what follows). kKeynum: keynumidx, firstkey (both relative to the
  // begin), keystep.
  int a = 0, b = 0, c = 0;
};

struct KeySpec {
  std::uint16_t flags = 0;
  BeginSearch begin;
  FindKeys find;
};

// The command's key specs, in Redis's order; empty for a command without keys.
std::span<const KeySpec> key_specs(const CommandSpec& spec);

// The flags of the key spec that finds the key at `position` of argv (argv[0] is the name; a
// subcommand's positions count from the container). A position no spec finds is the last
// spec's with an unknown search (SORT's STORE destination); 0 when there is none. A
// VARIABLE_FLAGS spec's flags are decided by the arguments (SET ... GET, BITFIELD), as Redis
// decides them; INCOMPLETE is left out (it speaks of the spec, not of a key found).
std::uint16_t key_flags_at(const CommandSpec& spec, std::span<const std::string_view> argv,
                           std::size_t position);

// Appends the positions of the keys the table's first/last/step do not name: those found by key
// specs that begin at an option's keyword (GEORADIUS's STORE / STOREDIST) and SORT's STORE
// destination (its spec's search is unknown: Redis finds it by reading the options);
// for_each_key already follows XREAD's STREAMS and MIGRATE's KEYS, so those add nothing here.
void option_keyword_keys(const CommandSpec& spec, std::span<const std::string_view> argv,
                         std::vector<std::size_t>& out);

// SORT key [BY p] [LIMIT o c] [GET p ...] [ASC|DESC] [ALPHA] [STORE dest]: the position of the
// last STORE's destination (options skipped with their arguments, as Redis reads them), 0 when
// there is none.
std::size_t sort_store_position(std::span<const std::string_view> argv);

// Flag names as COMMAND INFO and GETKEYSANDFLAGS show them ("RW", "access", "variable_flags").
std::vector<std::string_view> key_flag_names(std::uint16_t flags);

}  // namespace lfdb::commands
