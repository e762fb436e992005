// The blocking commands and their non-blocking multi-key forms: BLPOP BRPOP BRPOPLPUSH BLMOVE
// BLMPOP LMPOP BZPOPMIN BZPOPMAX BZMPOP ZMPOP. Each first tries its keys in the order given
// (the first that can serve does, a key of another type is WRONGTYPE); with nothing to serve
// it registers a waiter on its keys while its invocation still holds their colors, and
// replies nothing: the session parks until the waiter is settled (registry.hpp). Inside MULTI
// and scripts (the session offers no blocking there) it answers at once, as Redis does: nil.
// Argument checks and error texts are Redis 7.0's (t_list.c, t_zset.c, timeout.c).
#include <climits>
#include <cmath>
#include <memory>

#include "db/blocking/pop.hpp"
#include "db/blocking/registry.hpp"
#include "db/command_context.hpp"
#include "db/server.hpp"

namespace lfdb::db {
namespace {

using blocking::Op;
using blocking::Popped;
using blocking::Request;

constexpr std::string_view kErrTimeoutFloat = "ERR timeout is not a float or out of range";
constexpr std::string_view kErrTimeoutNegative = "ERR timeout is negative";
constexpr std::string_view kErrTimeoutRange = "ERR timeout is out of range";
constexpr std::string_view kErrNumkeys = "ERR numkeys should be greater than 0";
constexpr std::string_view kErrCount = "ERR count should be greater than 0";

// Seconds with decimals; 0 waits forever. `deadline` is absolute (ms), 0 for forever.
bool parse_timeout(CommandContext& c, std::string_view s, std::int64_t& deadline) {
  long double secs = 0;
  if (!parse_long_double(s, secs)) {
    c.out.error(kErrTimeoutFloat);
    return false;
  }
  const long double ms = secs * 1000.0L;
  if (ms >= static_cast<long double>(LLONG_MAX) || ms <= static_cast<long double>(LLONG_MIN)) {
    c.out.error(ms < 0 ? kErrTimeoutNegative : kErrTimeoutRange);
    return false;
  }
  // Rounded up to whole milliseconds, as Redis 7.0 does since 7.0.8: 0.001 s is 1 ms even
  // though 0.001 * 1000 comes out a hair under 1 in binary, and 0.0001 s is 1 ms, not forever.
  const auto tval = static_cast<std::int64_t>(std::ceil(ms));
  if (tval < 0) {
    c.out.error(kErrTimeoutNegative);
    return false;
  }
  if (tval > 0 && tval > LLONG_MAX - c.now_ms) {
    c.out.error(kErrTimeoutRange);
    return false;
  }
  deadline = tval > 0 ? c.now_ms + tval : 0;
  return true;
}

// Serves from the first key that can, else blocks (or answers nil where blocking is refused).
void pop_or_block(CommandContext& c, const Request& r, std::span<const std::string_view> keys,
                  std::int64_t deadline) {
  for (std::string_view key : keys) {
    const Popped p = blocking::pop_for(c, r, key, t_invocation_log.records, /*strict=*/true);
    if (p != Popped::kNothing) return;  // served, or WRONGTYPE written
    if (r.op == Op::kMove) break;        // one source only
  }
  blocking::Offer* offer = blocking::t_offer;
  if (offer == nullptr || offer->spec != c.spec || c.server == nullptr) {
    return blocking::write_timeout(c.out, r.op);  // MULTI, scripts: the non-blocking answer
  }
  auto w = std::make_shared<blocking::Waiter>();
  w->op = r.op;
  w->left = r.left;
  w->to_left = r.to_left;
  w->count = r.count;
  w->db = c.db;
  for (std::string_view k : keys) {
    bool seen = false;
    for (const std::string& have : w->keys) seen = seen || have == k;
    if (!seen) w->keys.emplace_back(k);  // a key named twice waits once
  }
  w->dest = std::string(r.dest);
  w->client_id = offer->client_id;
  w->fd = offer->fd;
  w->protocol = c.out.resp3() ? resp::Protocol::kResp3 : resp::Protocol::kResp2;
  w->deadline_ms = deadline;
  w->sleeper = offer->sleeper;
  c.server->blocking().add(w);
  offer->waiter = std::move(w);
}

bool parse_side(std::string_view s, bool& left) {
  if (iequal(s, "left")) left = true;
  else if (iequal(s, "right")) left = false;
  else return false;
  return true;
}

// BLPOP/BRPOP/BZPOPMIN/BZPOPMAX key [key ...] timeout
void keys_then_timeout(CommandContext& c, Op op, bool left) {
  std::int64_t deadline = 0;
  if (!parse_timeout(c, c.arg(c.argc() - 1), deadline)) return;
  Request r;
  r.op = op;
  r.left = left;
  pop_or_block(c, r, c.argv.subspan(1, c.argc() - 2), deadline);
}
void blpop_cmd(CommandContext& c) { keys_then_timeout(c, Op::kPop, true); }
void brpop_cmd(CommandContext& c) { keys_then_timeout(c, Op::kPop, false); }
void bzpopmin_cmd(CommandContext& c) { keys_then_timeout(c, Op::kZPop, true); }
void bzpopmax_cmd(CommandContext& c) { keys_then_timeout(c, Op::kZPop, false); }

void move_then_block(CommandContext& c, bool from_left, bool to_left, std::string_view timeout) {
  std::int64_t deadline = 0;
  if (!parse_timeout(c, timeout, deadline)) return;
  Request r;
  r.op = Op::kMove;
  r.left = from_left;
  r.to_left = to_left;
  r.dest = c.arg(2);
  pop_or_block(c, r, c.argv.subspan(1, 1), deadline);
}
// BRPOPLPUSH source destination timeout
void brpoplpush_cmd(CommandContext& c) { move_then_block(c, false, true, c.arg(3)); }
// BLMOVE source destination LEFT|RIGHT LEFT|RIGHT timeout
void blmove_cmd(CommandContext& c) {
  bool from_left = false, to_left = false;
  if (!parse_side(c.arg(3), from_left) || !parse_side(c.arg(4), to_left)) {
    return c.out.error(kErrSyntax);
  }
  move_then_block(c, from_left, to_left, c.arg(5));
}

// [B]LMPOP / [B]ZMPOP: numkeys key... LEFT|RIGHT (MIN|MAX) [COUNT count], numkeys at `at`.
void mpop(CommandContext& c, std::size_t at, bool zset, bool block, std::int64_t deadline) {
  std::int64_t numkeys = 0;
  if (!parse_int(c.arg(at), numkeys) || numkeys < 1) return c.out.error(kErrNumkeys);
  const std::size_t where_at = at + 1 + static_cast<std::size_t>(numkeys);
  if (numkeys > static_cast<std::int64_t>(c.argc()) || where_at >= c.argc()) {
    return c.out.error(kErrSyntax);
  }
  Request r;
  r.op = zset ? Op::kZMPop : Op::kMPop;
  const std::string_view where = c.arg(where_at);
  if (zset) {
    if (iequal(where, "min")) r.left = true;
    else if (iequal(where, "max")) r.left = false;
    else return c.out.error(kErrSyntax);
  } else if (!parse_side(where, r.left)) {
    return c.out.error(kErrSyntax);
  }
  std::int64_t count = -1;
  for (std::size_t j = where_at + 1; j < c.argc(); ++j) {
    const bool more = j + 1 < c.argc();
    if (count == -1 && iequal(c.arg(j), "count") && more) {
      ++j;
      if (!parse_int(c.arg(j), count) || count < 1) return c.out.error(kErrCount);
    } else {
      return c.out.error(kErrSyntax);
    }
  }
  r.count = count == -1 ? 1 : count;
  const auto keys = c.argv.subspan(at + 1, static_cast<std::size_t>(numkeys));
  if (block) return pop_or_block(c, r, keys, deadline);
  for (std::string_view key : keys) {
    if (blocking::pop_for(c, r, key, t_invocation_log.records, /*strict=*/true) != Popped::kNothing) {
      return;
    }
  }
  c.out.null_array();
}
void lmpop_cmd(CommandContext& c) { mpop(c, 1, false, false, 0); }
void zmpop_cmd(CommandContext& c) { mpop(c, 1, true, false, 0); }
void blmpop_cmd(CommandContext& c) {
  std::int64_t deadline = 0;
  if (!parse_timeout(c, c.arg(1), deadline)) return;
  mpop(c, 2, false, true, deadline);
}
void bzmpop_cmd(CommandContext& c) {
  std::int64_t deadline = 0;
  if (!parse_timeout(c, c.arg(1), deadline)) return;
  mpop(c, 2, true, true, deadline);
}

constexpr HandlerEntry kBlockingHandlers[] = {
    {"blpop", blpop_cmd},       {"brpop", brpop_cmd},       {"brpoplpush", brpoplpush_cmd},
    {"blmove", blmove_cmd},     {"blmpop", blmpop_cmd},     {"lmpop", lmpop_cmd},
    {"bzpopmin", bzpopmin_cmd}, {"bzpopmax", bzpopmax_cmd}, {"bzmpop", bzmpop_cmd},
    {"zmpop", zmpop_cmd},
};

}  // namespace

std::span<const HandlerEntry> blocking_handlers() { return kBlockingHandlers; }

}  // namespace lfdb::db
