// An ACL user (Redis 7.0): on/off, passwords (SHA-256, hex), its root selector and the
// selectors added with `(...)` rules (db/acl/selector.hpp). ACL SETUSER's rules are applied to
// a copy (apply_rule); the registry publishes the copy as a new immutable User, which sessions
// hold as a snapshot (shared_ptr to const).
//
// Thread-safety: a published User is never changed. apply_rule works on an unpublished copy.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "commands/command_table.hpp"
#include "db/acl/selector.hpp"

namespace lfdb::db::acl {

struct User {
  std::string name;
  std::uint64_t id = 0;   // unique per creation: a deleted-and-recreated name is another user
  bool enabled = false;
  bool nopass = false;
  int sanitize = 0;       // 0: neither flag, 1: sanitize-payload, 2: skip-sanitize-payload
  // The hot path's one test: the root selector allows every command, key and channel.
  bool unrestricted = false;
  std::vector<std::string> passwords;     // SHA-256 of each, lower-case hex, in insertion order
  Selector root;                          // the rules given outside parentheses
  std::vector<Selector> selectors;        // the `(...)` ones, in the order they were added

  explicit User(std::string n);
  // Applies one ACL SETUSER rule (a `(...)` selector as one rule); "" or Redis's reason
  // ("Syntax error", ...).
  std::string apply_rule(std::string_view op);
  void refresh();  // recomputes `unrestricted` after rules

  bool password_ok(std::string_view given) const;
  // The flags of ACL GETUSER / ACL LIST.
  std::vector<std::string_view> flags() const;
  std::string describe() const;  // ACL LIST's line after "user <name> "
};

// SETUSER's (and a `user` line's) rules with a selector written over several arguments joined
// into one, as Redis joins them: false when a `(` is never closed, `bad` its index.
bool merge_selector_args(std::span<const std::string_view> args, std::vector<std::string>& out,
                         std::size_t& bad);

std::string sha256_hex(std::string_view s);

// Whether some selector of `u` allows the command; else Redis's pick of the refusal (`at` the
// argument index of the refused key or channel).
Denied check(const User& u, const commands::CommandSpec& spec, std::uint16_t index,
             std::span<const std::string_view> argv, std::size_t& at);
// Whether some selector of `u` that allows the whole command also reads every key: SORT's BY
// and GET patterns (keys built from the elements) are refused otherwise, as Redis 7.0 does.
bool reads_every_key(const User& u, const commands::CommandSpec& spec, std::uint16_t index,
                     std::span<const std::string_view> argv);
// Redis's words for a refusal, as the NOPERM error ends and ACL DRYRUN says it.
std::string denied_message(Denied d, const commands::CommandSpec& spec,
                           std::span<const std::string_view> argv, std::size_t at, bool dryrun);
std::string full_name(const commands::CommandSpec& spec);  // "client|kill"

}  // namespace lfdb::db::acl
