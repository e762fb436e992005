// The pops a blocking command makes, whether it is served at once (its handler) or later by a
// writer's ready-keys pass (Registry::serve): one function, so both give the same reply and
// leave the same log record. Replies and errors are Redis 7.0's (t_list.c, t_zset.c).
//
// Thread-safety: called by the invocation that holds the colors of `key` (and of the
// destination, for a move).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "db/blocking/waiter.hpp"
#include "db/command_context.hpp"

namespace lfdb::db::blocking {

struct Request {
  Op op = Op::kPop;
  bool left = true;
  bool to_left = true;
  std::int64_t count = 1;
  std::string_view dest;
};

enum class Popped : std::uint8_t {
  kServed,     // the reply is written, the record logged
  kNothing,    // no such key (or not the kind this request takes: it waits on)
  kWrongType,  // the handler's check: the key holds another type (WRONGTYPE written)
  kDestWrong,  // a move whose destination holds another type (WRONGTYPE written, nothing popped)
};

// Pops for `r` from `key` into `out`, appending the record to `log` (nullptr: no log).
// `strict`: a key of another type is an error (the command's own check); otherwise it is
// skipped (a writer serving waiters: a list's waiters ignore a sorted set, as Redis 7.0 does).
Popped pop_for(CommandContext& c, const Request& r, std::string_view key, std::string* log,
               bool strict);

// The reply of a wait that ended with nothing: nil (a move) or the null array.
void write_timeout(resp::Writer& out, Op op);

}  // namespace lfdb::db::blocking
