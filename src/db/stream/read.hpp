// XREAD's and XREADGROUP's parsed arguments and the two halves of the command: serving what is
// there now, and blocking until an XADD (or a group's destruction, or the stream's deletion)
// can answer. Shared by the handlers (cmd_read.cpp) and the blocked readers' serving
// (block_read.cpp).
//
// Thread-safety: under the keys' colors, as every handler.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "db/blocking/waiter.hpp"
#include "db/command_context.hpp"
#include "db/stream/stream.hpp"

namespace lfdb::db::stream {

struct ReadArgs {
  bool group_read = false;      // XREADGROUP
  bool block = false;
  std::int64_t deadline = 0;    // BLOCK's, absolute ms; 0: forever
  std::int64_t count = 0;       // 0: no limit
  std::size_t streams_at = 0;   // argv index of the first key
  std::size_t nstreams = 0;
  bool has_group = false;
  bool noack = false;
  std::string_view group, consumer;
  std::vector<StreamId> ids;    // per stream: entries after it ("$" resolved; ">" is max())
};

// Reads the options into a (whose group_read the caller sets: XREADGROUP). False with the error
// written.
bool parse_read(CommandContext& c, ReadArgs& a);
// Writes the reply and returns true when any stream had something for the reader.
bool serve_read(CommandContext& c, const ReadArgs& a);
// Registers the reader as blocked (true), or false where blocking is not offered (MULTI,
// scripts: the caller answers as the non-blocking form).
bool block_read(CommandContext& c, const ReadArgs& a);

// New entries after `after` (a plain reader: g == nullptr; a group's consumer otherwise):
// the entries array, and for a group the pending and position changes, logged.
std::size_t serve_new(CommandContext& c, std::string_view key, const ReadArgs& a, Stream& s,
                      Group* g, Consumer* cons, StreamId after, std::int64_t count);

// The ready-keys pass's side (blocking/registry.cpp), under the key's color: what a blocked
// reader gets from `key` now (a pure look), then, once the waiter is claimed, its reply.
enum class Blocked : std::uint8_t { kWait, kReady, kNoGroup, kGone };
Blocked blocked_state(CommandContext& c, const blocking::Waiter& w, std::string_view key);
void serve_blocked(CommandContext& c, const blocking::Waiter& w, std::string_view key, Blocked b);

}  // namespace lfdb::db::stream
