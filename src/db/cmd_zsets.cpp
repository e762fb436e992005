// Sorted set commands over ZSet (zset.hpp: a skip list with spans plus a member index). Each
// handler runs holding its keys' colors (command_context.hpp); ZUNIONSTORE and ZINTERSTORE hold
// the destination's and every source's color, taken in the scheduler's fixed order. A sorted
// set is never empty: the key goes with its last member. Arguments (ranges, options) are
// checked before the key, as Redis does, and every check comes before the first change.
// Replies and error texts are Redis 7.0's (t_zset.c): scores are doubles in RESP3, and
// WITHSCORES pairs are [member, score] arrays there.
//
// ZADD INCR and ZINCRBY compute a float: they are logged as ZADD of the resulting score with
// full precision (log_records.cpp), so replay does not depend on redoing the arithmetic.
#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "db/command_context.hpp"
#include "db/pubsub/notify.hpp"
#include "db/scan.hpp"

namespace lfdb::db {
namespace {

using Ref = ZSet::Ref;

constexpr std::string_view kErrMinMaxFloat = "ERR min or max is not a float";
constexpr std::string_view kErrLexRange = "ERR min or max not valid string range item";

ZSet* zset_at(CommandContext& c, std::string_view key, bool& wrong) {
  Entry* e = c.find(key);
  wrong = e != nullptr && e->value.type() != Type::kZSet;
  return e != nullptr && !wrong ? e->value.zset() : nullptr;
}

// The key's sorted set, created for `elements` members of up to `longest` bytes when missing
// (the encoding it starts in depends on them: ZSet's constructor).
Value& zset_for_write(CommandContext& c, std::string_view key, std::size_t elements, std::size_t longest,
                      bool& created) {
  Entry& e = c.part(key).find_or_create(key, c.now_ms, created);
  if (created) {
    e.value.make_zset(elements, longest);
  }
  return e.value;
}

void removed_from(CommandContext& c, std::string_view key, const ZSet& z) {
  Partition& p = c.part(key);
  if (z.empty()) {
    p.erase(key, c.now_ms);
    pubsub::event(pubsub::kEvGeneric, "del", key);
  } else {
    p.modified(key);
  }
}

// Member/score pairs: flat in RESP2, [member, score] arrays in RESP3.
void reply_pairs(CommandContext& c, const std::vector<Ref>& nodes, bool withscores) {
  const bool nested = withscores && c.out.resp3();
  c.out.array_header(withscores && !nested ? nodes.size() * 2 : nodes.size());
  for (Ref n : nodes) {
    if (nested) c.out.array_header(2);
    c.out.bulk(n.member());
    if (withscores) c.out.double_value(n.score());
  }
}

// The destination of a *STORE command becomes `z` (deleted when z is empty, whatever it held;
// no deadline), notified as `event` (or "del"); returns its size.
std::int64_t store_zset(CommandContext& c, std::string_view dst, std::unique_ptr<ZSet> z,
                        std::string_view event) {
  Partition& p = c.part(dst);
  const bool existed = p.erase(dst, c.now_ms);
  const auto n = static_cast<std::int64_t>(z->size());
  if (n == 0) {
    if (existed) pubsub::event(pubsub::kEvGeneric, "del", dst);
    return 0;
  }
  z->compact_if_small();  // zsetConvertToListpackIfNeeded
  bool created = false;
  Entry& e = p.find_or_create(dst, c.now_ms, created);
  e.value.reset(std::move(z));
  p.modified(dst);
  pubsub::event(pubsub::kEvZset, event, dst);
  return n;
}

// LRANGE's index rule over a sorted set; false when the range is empty.
bool rank_range(std::int64_t start, std::int64_t end, std::size_t size, std::size_t& from,
                std::size_t& to) {
  const auto n = static_cast<std::int64_t>(size);
  if (start < 0) start += n;
  if (end < 0) end += n;
  if (start < 0) start = 0;
  if (start > end || start >= n) return false;
  if (end >= n) end = n - 1;
  from = static_cast<std::size_t>(start);
  to = static_cast<std::size_t>(end);
  return true;
}

bool parse_score_range(std::string_view min, std::string_view max, ScoreRange& r) {
  return parse_score_bound(min, r.min, r.min_ex) && parse_score_bound(max, r.max, r.max_ex);
}

enum ZaddFlags : unsigned { kZaddNx = 1, kZaddXx = 2, kZaddGt = 4, kZaddLt = 8, kCh = 16, kIncr = 32 };

// ZADD key [NX|XX] [GT|LT] [CH] [INCR] score member [score member ...] (zaddGenericCommand);
// ZINCRBY is ZADD INCR.
void zadd_generic(CommandContext& c, unsigned flags) {
  std::size_t i = 2;
  if (!(flags & kIncr)) {
    for (; i < c.argc(); ++i) {
      const std::string_view o = c.arg(i);
      if (iequal(o, "nx")) flags |= kZaddNx;
      else if (iequal(o, "xx")) flags |= kZaddXx;
      else if (iequal(o, "gt")) flags |= kZaddGt;
      else if (iequal(o, "lt")) flags |= kZaddLt;
      else if (iequal(o, "ch")) flags |= kCh;
      else if (iequal(o, "incr")) flags |= kIncr;
      else break;
    }
  }
  const std::size_t args = c.argc() - i;
  if (args == 0 || args % 2 != 0) return c.out.error(kErrSyntax);
  const std::size_t elements = args / 2;
  if ((flags & kZaddNx) && (flags & kZaddXx)) {
    return c.out.error("ERR XX and NX options at the same time are not compatible");
  }
  if (((flags & kZaddGt) && (flags & kZaddNx)) || ((flags & kZaddLt) && (flags & kZaddNx)) ||
      ((flags & kZaddGt) && (flags & kZaddLt))) {
    return c.out.error("ERR GT, LT, and/or NX options at the same time are not compatible");
  }
  if ((flags & kIncr) && elements > 1) {
    return c.out.error("ERR INCR option supports a single increment-element pair");
  }
  std::vector<double> scores(elements);
  std::size_t longest = 0;
  for (std::size_t j = 0; j < elements; ++j) {
    if (!parse_double(c.arg(i + 2 * j), scores[j])) return c.out.error(kErrNotFloat);
    longest = std::max(longest, c.arg(i + 2 * j + 1).size());
  }
  const std::string_view key = c.arg(1);
  bool wrong = false;
  const ZSet* cur = zset_at(c, key, wrong);
  if (wrong) return c.out.error(kErrWrongType);
  const bool incr = flags & kIncr;
  if (cur == nullptr && (flags & kZaddXx)) return incr ? c.out.null() : c.out.integer(0);
  bool created = false;
  // Redis sizes a new set for the whole command (zsetTypeCreate).
  Value& v = zset_for_write(c, key, elements, longest, created);
  ZSet& z = *v.zset();
  std::int64_t added = 0, updated = 0, processed = 0;
  double last = 0;
  bool nan = false;
  for (std::size_t j = 0; j < elements && !nan; ++j) {
    const std::string_view member = c.arg(i + 2 * j + 1);
    double score = scores[j];
    if (Ref n = z.find(member)) {
      if (flags & kZaddNx) continue;
      if (incr) {
        score += n.score();
        if (std::isnan(score)) {
          nan = true;
          break;
        }
      }
      if (((flags & kZaddLt) && score >= n.score()) || ((flags & kZaddGt) && score <= n.score())) continue;
      last = score;
      ++processed;
      if (score != n.score()) {
        z.set(member, score);
        ++updated;
      }
    } else {
      if (flags & kZaddXx) continue;
      z.set(member, score);
      last = score;
      ++added;
      ++processed;
    }
  }
  if (added > 0 || updated > 0) {
    c.part(key).modified(key);
    pubsub::event(pubsub::kEvZset, incr ? "zincr" : "zadd", key);
  }
  if (z.empty()) c.part(key).erase(key, c.now_ms);  // a new key that got nothing
  if (nan) return c.out.error("ERR resulting score is not a number (NaN)");
  if (incr) return processed > 0 ? c.out.double_value(last) : c.out.null();
  c.out.integer((flags & kCh) ? added + updated : added);
}
void zadd_cmd(CommandContext& c) { zadd_generic(c, 0); }
void zincrby_cmd(CommandContext& c) { zadd_generic(c, kIncr); }

void zrem_cmd(CommandContext& c) {
  const std::string_view key = c.arg(1);
  bool wrong = false;
  ZSet* z = zset_at(c, key, wrong);
  if (wrong) return c.out.error(kErrWrongType);
  if (z == nullptr) return c.out.integer(0);
  std::int64_t removed = 0;
  for (std::size_t i = 2; i < c.argc() && !z->empty(); ++i) removed += z->erase(c.arg(i)) ? 1 : 0;
  if (removed > 0) {
    pubsub::event(pubsub::kEvZset, "zrem", key);
    removed_from(c, key, *z);
  }
  c.out.integer(removed);
}

void zscore_cmd(CommandContext& c) {
  bool wrong = false;
  const ZSet* z = zset_at(c, c.arg(1), wrong);
  if (wrong) return c.out.error(kErrWrongType);
  Ref n = z ? z->find(c.arg(2)) : Ref();
  if (!n) return c.out.null();
  c.out.double_value(n.score());
}

void zmscore_cmd(CommandContext& c) {
  bool wrong = false;
  const ZSet* z = zset_at(c, c.arg(1), wrong);
  if (wrong) return c.out.error(kErrWrongType);
  c.out.array_header(c.argc() - 2);
  for (std::size_t i = 2; i < c.argc(); ++i) {
    Ref n = z ? z->find(c.arg(i)) : Ref();
    if (!n) c.out.null();
    else c.out.double_value(n.score());
  }
}

void zcard_cmd(CommandContext& c) {
  bool wrong = false;
  const ZSet* z = zset_at(c, c.arg(1), wrong);
  if (wrong) return c.out.error(kErrWrongType);
  c.out.integer(z ? static_cast<std::int64_t>(z->size()) : 0);
}

// Elements between two nodes of z (inclusive, first <= last), or 0 when either is missing.
std::int64_t count_between(const ZSet& z, Ref first, Ref last) {
  if (!first || !last) return 0;
  const std::size_t a = z.rank(first), b = z.rank(last);
  return b >= a ? static_cast<std::int64_t>(b - a + 1) : 0;
}

void zcount_cmd(CommandContext& c) {
  ScoreRange r;
  if (!parse_score_range(c.arg(2), c.arg(3), r)) return c.out.error(kErrMinMaxFloat);
  bool wrong = false;
  const ZSet* z = zset_at(c, c.arg(1), wrong);
  if (wrong) return c.out.error(kErrWrongType);
  c.out.integer(z ? count_between(*z, z->first_in(r), z->last_in(r)) : 0);
}

void zlexcount_cmd(CommandContext& c) {
  LexRange r;
  if (!parse_lex_range(c.arg(2), c.arg(3), r)) return c.out.error(kErrLexRange);
  bool wrong = false;
  const ZSet* z = zset_at(c, c.arg(1), wrong);
  if (wrong) return c.out.error(kErrWrongType);
  c.out.integer(z ? count_between(*z, z->first_in(r), z->last_in(r)) : 0);
}

void zrank_generic(CommandContext& c, bool rev) {
  bool wrong = false;
  const ZSet* z = zset_at(c, c.arg(1), wrong);
  if (wrong) return c.out.error(kErrWrongType);
  Ref n = z ? z->find(c.arg(2)) : Ref();
  if (!n) return c.out.null();
  const std::size_t r = z->rank(n);
  c.out.integer(static_cast<std::int64_t>(rev ? z->size() - 1 - r : r));
}
void zrank_cmd(CommandContext& c) { zrank_generic(c, false); }
void zrevrank_cmd(CommandContext& c) { zrank_generic(c, true); }

enum class By { kAuto, kRank, kScore, kLex };
enum class Dir { kAuto, kForward, kReverse };

// What a range compares a node by.
double key_of(Ref n, const ScoreRange&) { return n.score(); }
std::string_view key_of(Ref n, const LexRange&) { return n.member(); }

// The nodes a range by score or lex selects, in the walk's order, after LIMIT.
template <typename Range>
std::vector<Ref> walk(const ZSet& z, const Range& r, bool reverse, std::int64_t offset,
                              std::int64_t limit) {
  std::vector<Ref> out;
  if (offset < 0) return out;  // Redis's `while (ln && offset--)` runs off the end
  Ref n = reverse ? z.last_in(r) : z.first_in(r);
  for (; n && offset > 0; --offset) n = reverse ? n.prev() : n.next();
  while (n && limit != 0) {
    if (reverse ? !r.above_min(key_of(n, r)) : !r.below_max(key_of(n, r))) break;
    out.push_back(n);
    if (limit > 0) --limit;
    n = reverse ? n.prev() : n.next();
  }
  return out;
}

// ZRANGE and its legacy forms (zrangeGenericCommand): `by`/`dir` fixed by the legacy command,
// or kAuto for ZRANGE, which takes BYSCORE, BYLEX and REV as options.
// ZRANGESTORE stores the range instead (`store`: the source is argv[2], the range follows it,
// and WITHSCORES is not an option).
void zrange_generic(CommandContext& c, By by, Dir dir, bool store = false) {
  const std::size_t src = store ? 2 : 1;
  bool withscores = false;
  std::int64_t offset = 0, limit = -1;
  for (std::size_t j = src + 3; j < c.argc(); ++j) {
    const std::string_view o = c.arg(j);
    const std::size_t left = c.argc() - j - 1;
    if (!store && iequal(o, "withscores")) {
      withscores = true;
    } else if (iequal(o, "limit") && left >= 2) {
      if (!parse_int(c.arg(j + 1), offset) || !parse_int(c.arg(j + 2), limit)) {
        return c.out.error(kErrNotInteger);
      }
      j += 2;
    } else if (by == By::kAuto && iequal(o, "byscore")) {
      by = By::kScore;
    } else if (by == By::kAuto && iequal(o, "bylex")) {
      by = By::kLex;
    } else if (dir == Dir::kAuto && iequal(o, "rev")) {
      dir = Dir::kReverse;
    } else {
      return c.out.error(kErrSyntax);
    }
  }
  if (dir == Dir::kAuto) dir = Dir::kForward;
  if (by == By::kAuto) by = By::kRank;
  if (limit != -1 && by == By::kRank) {
    return c.out.error(
        "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX");
  }
  if (withscores && by == By::kLex) {
    return c.out.error("ERR syntax error, WITHSCORES not supported in combination with BYLEX");
  }
  const bool reverse = dir == Dir::kReverse;
  // Reversed ranges by score or lex name the maximum first.
  std::string_view lo = c.arg(src + 1), hi = c.arg(src + 2);
  if (reverse && by != By::kRank) std::swap(lo, hi);
  std::int64_t start = 0, end = 0;
  ScoreRange sr;
  LexRange lr;
  if (by == By::kRank) {
    if (!parse_int(lo, start) || !parse_int(hi, end)) return c.out.error(kErrNotInteger);
  } else if (by == By::kScore) {
    if (!parse_score_range(lo, hi, sr)) return c.out.error(kErrMinMaxFloat);
  } else if (!parse_lex_range(lo, hi, lr)) {
    return c.out.error(kErrLexRange);
  }
  bool wrong = false;
  const ZSet* z = zset_at(c, c.arg(src), wrong);
  if (wrong) return c.out.error(kErrWrongType);
  if (z == nullptr) {
    if (store) return c.out.integer(store_zset(c, c.arg(1), std::make_unique<ZSet>(), "zrangestore"));
    return c.out.array_header(0);
  }
  std::vector<Ref> nodes;
  if (by == By::kRank) {
    std::size_t from = 0, to = 0;
    if (rank_range(start, end, z->size(), from, to)) {
      Ref n = reverse ? z->at(z->size() - 1 - from) : z->at(from);
      for (std::size_t k = from; k <= to && n; ++k) {
        nodes.push_back(n);
        n = reverse ? n.prev() : n.next();
      }
    }
  } else if (by == By::kScore) {
    nodes = walk(*z, sr, reverse, offset, limit);
  } else {
    nodes = walk(*z, lr, reverse, offset, limit);
  }
  if (!store) return reply_pairs(c, nodes, withscores);
  auto out = std::make_unique<ZSet>();  // built before the destination goes: it may be the source
  for (Ref n : nodes) out->set(n.member(), n.score());
  c.out.integer(store_zset(c, c.arg(1), std::move(out), "zrangestore"));
}
void zrange_cmd(CommandContext& c) { zrange_generic(c, By::kAuto, Dir::kAuto); }
void zrevrange_cmd(CommandContext& c) { zrange_generic(c, By::kRank, Dir::kReverse); }
void zrangebyscore_cmd(CommandContext& c) { zrange_generic(c, By::kScore, Dir::kForward); }
void zrevrangebyscore_cmd(CommandContext& c) { zrange_generic(c, By::kScore, Dir::kReverse); }
void zrangebylex_cmd(CommandContext& c) { zrange_generic(c, By::kLex, Dir::kForward); }
void zrevrangebylex_cmd(CommandContext& c) { zrange_generic(c, By::kLex, Dir::kReverse); }
void zrangestore_cmd(CommandContext& c) { zrange_generic(c, By::kAuto, Dir::kAuto, true); }

// ZPOPMIN ZPOPMAX key [count]: without a count one flat [member, score] (even in RESP3).
void zpop_generic(CommandContext& c, bool max) {
  if (c.argc() > 3) return c.out.error(kErrSyntax);
  const bool has_count = c.argc() == 3;
  std::int64_t count = 1;
  if (has_count && (!parse_int(c.arg(2), count) || count < 0)) return c.out.error(kErrPositive);
  const std::string_view key = c.arg(1);
  bool wrong = false;
  ZSet* z = zset_at(c, key, wrong);
  if (wrong) return c.out.error(kErrWrongType);
  if (z == nullptr || count == 0) return c.out.array_header(0);
  const auto n = std::min<std::uint64_t>(static_cast<std::uint64_t>(count), z->size());
  const bool nested = has_count && c.out.resp3();
  c.out.array_header(nested ? n : n * 2);
  for (std::uint64_t i = 0; i < n; ++i) {
    Ref e = max ? z->last() : z->first();
    if (nested) c.out.array_header(2);
    c.out.bulk(e.member());
    c.out.double_value(e.score());
    const std::string member(e.member());
    z->erase(member);
  }
  pubsub::event(pubsub::kEvZset, max ? "zpopmax" : "zpopmin", key);
  removed_from(c, key, *z);
}
void zpopmin_cmd(CommandContext& c) { zpop_generic(c, false); }
void zpopmax_cmd(CommandContext& c) { zpop_generic(c, true); }

// ZREMRANGEBYRANK ZREMRANGEBYSCORE ZREMRANGEBYLEX key a b
void zremrange_generic(CommandContext& c, By by) {
  std::int64_t start = 0, end = 0;
  ScoreRange sr;
  LexRange lr;
  if (by == By::kRank) {
    if (!parse_int(c.arg(2), start) || !parse_int(c.arg(3), end)) {
      return c.out.error(kErrNotInteger);
    }
  } else if (by == By::kScore) {
    if (!parse_score_range(c.arg(2), c.arg(3), sr)) return c.out.error(kErrMinMaxFloat);
  } else if (!parse_lex_range(c.arg(2), c.arg(3), lr)) {
    return c.out.error(kErrLexRange);
  }
  const std::string_view key = c.arg(1);
  bool wrong = false;
  ZSet* z = zset_at(c, key, wrong);
  if (wrong) return c.out.error(kErrWrongType);
  if (z == nullptr) return c.out.integer(0);
  std::vector<Ref> nodes;
  if (by == By::kRank) {
    std::size_t from = 0, to = 0;
    if (rank_range(start, end, z->size(), from, to)) {
      Ref n = z->at(from);
      for (std::size_t k = from; k <= to && n; ++k, n = n.next()) nodes.push_back(n);
    }
  } else if (by == By::kScore) {
    nodes = walk(*z, sr, false, 0, -1);
  } else {
    nodes = walk(*z, lr, false, 0, -1);
  }
  std::vector<std::string> members;
  members.reserve(nodes.size());
  for (Ref n : nodes) members.emplace_back(n.member());
  for (const std::string& m : members) z->erase(m);
  if (!members.empty()) {
    static constexpr std::string_view kEvents[] = {"zremrangebyrank", "zremrangebyscore",
                                                   "zremrangebylex"};
    pubsub::event(pubsub::kEvZset, kEvents[by == By::kRank ? 0 : by == By::kScore ? 1 : 2], key);
    removed_from(c, key, *z);
  }
  c.out.integer(static_cast<std::int64_t>(members.size()));
}
void zremrangebyrank_cmd(CommandContext& c) { zremrange_generic(c, By::kRank); }
void zremrangebyscore_cmd(CommandContext& c) { zremrange_generic(c, By::kScore); }
void zremrangebylex_cmd(CommandContext& c) { zremrange_generic(c, By::kLex); }

// One source of ZUNIONSTORE/ZINTERSTORE: a sorted set, a set (every score 1), or missing.
struct Source {
  const ZSet* zset = nullptr;
  const Set* set = nullptr;
  // An intset's members as text, made once: an intset stores no strings, and the result keeps
  // views of the members it walked, so each member's digits must outlive the walk (a Member
  // holds its own, gone with the loop's iteration).
  std::vector<Set::Member> ints;
  double weight = 1;
  std::size_t size() const { return zset ? zset->size() : set ? set->size() : 0; }
  // The member's score, if the source has it.
  bool score_of(std::string_view m, double& s) const {
    if (zset != nullptr) {
      Ref n = zset->find(m);
      if (!n) return false;
      s = n.score();
      return true;
    }
    if (set != nullptr && set->contains(m)) {
      s = 1;
      return true;
    }
    return false;
  }
  template <typename Fn>
  void for_each(Fn&& fn) const {
    if (zset != nullptr) {
      for (Ref n = zset->first(); n; n = n.next()) fn(n.member(), n.score());
    } else if (!ints.empty()) {
      for (const Set::Member& m : ints) fn(m.view(), 1.0);
    } else if (set != nullptr) {
      for (Set::Member m : *set) fn(m.view(), 1.0);
    }
  }
};

enum class Aggregate { kSum, kMin, kMax };

// zunionInterAggregate: a sum that turns NaN (inf + -inf) becomes 0.
void aggregate(double& target, double v, Aggregate a) {
  if (a == Aggregate::kSum) {
    target += v;
    if (std::isnan(target)) target = 0;
  } else if (a == Aggregate::kMin) {
    target = v < target ? v : target;
  } else {
    target = v > target ? v : target;
  }
}

enum class ZSetOp { kUnion, kInter, kDiff };
// What the command does with the result: stores it (ZUNIONSTORE...), replies with it (ZUNION...),
// or counts it (ZINTERCARD).
enum class Output { kStore, kReply, kCount };

// ZUNION ZINTER ZDIFF [STORE] and ZINTERCARD (zunionInterDiffGenericCommand):
//   [destination] numkeys key [key ...] [WEIGHTS w ...] [AGGREGATE SUM|MIN|MAX] [WITHSCORES]
//   ZINTERCARD numkeys key [key ...] [LIMIT limit]
// Sources' types are checked before the options; union and intersection take the sources
// smallest first, as Redis does, so a sum adds in its order; a difference keeps the first
// source's scores.
void zsetop(CommandContext& c, ZSetOp op, Output output) {
  const std::size_t numkeys_at = output == Output::kStore ? 2 : 1;
  std::int64_t numkeys = 0;
  if (!parse_int(c.arg(numkeys_at), numkeys)) return c.out.error(kErrNotInteger);
  if (numkeys < 1) {
    return c.out.error("ERR at least 1 input key is needed for '" + std::string(c.spec->name) +
                       "' command");
  }
  if (numkeys > static_cast<std::int64_t>(c.argc() - numkeys_at - 1)) return c.out.error(kErrSyntax);
  const auto nk = static_cast<std::size_t>(numkeys);
  std::vector<Source> src(nk);
  for (std::size_t i = 0; i < nk; ++i) {
    const Entry* e = c.find(c.arg(numkeys_at + 1 + i));
    if (e == nullptr) continue;
    if (e->value.type() == Type::kZSet) src[i].zset = e->value.zset();
    else if (e->value.type() == Type::kSet) src[i].set = e->value.set();
    else return c.out.error(kErrWrongType);
    if (src[i].set != nullptr && src[i].set->intset()) src[i].ints.assign(src[i].set->begin(), src[i].set->end());
  }
  Aggregate agg = Aggregate::kSum;
  bool withscores = false;
  std::int64_t limit = 0;
  const bool weighs = op != ZSetOp::kDiff && output != Output::kCount;
  for (std::size_t j = numkeys_at + 1 + nk; j < c.argc();) {
    const std::size_t remaining = c.argc() - j;
    if (weighs && remaining >= nk + 1 && iequal(c.arg(j), "weights")) {
      for (std::size_t i = 0; i < nk; ++i) {
        if (!parse_double(c.arg(j + 1 + i), src[i].weight)) {
          return c.out.error("ERR weight value is not a float");
        }
      }
      j += nk + 1;
    } else if (weighs && remaining >= 2 && iequal(c.arg(j), "aggregate")) {
      const std::string_view a = c.arg(j + 1);
      if (iequal(a, "sum")) agg = Aggregate::kSum;
      else if (iequal(a, "min")) agg = Aggregate::kMin;
      else if (iequal(a, "max")) agg = Aggregate::kMax;
      else return c.out.error(kErrSyntax);
      j += 2;
    } else if (output == Output::kReply && iequal(c.arg(j), "withscores")) {
      withscores = true;
      ++j;
    } else if (output == Output::kCount && remaining >= 2 && iequal(c.arg(j), "limit")) {
      // As Redis: a LIMIT that is not a non-negative integer gets the one message.
      if (!parse_int(c.arg(j + 1), limit) || limit < 0) return c.out.error("ERR LIMIT can't be negative");
      j += 2;
    } else {
      return c.out.error(kErrSyntax);
    }
  }
  if (op != ZSetOp::kDiff) {
    std::stable_sort(src.begin(), src.end(),
                     [](const Source& a, const Source& b) { return a.size() < b.size(); });
  }
  auto weighted = [](double score, double weight) {
    const double v = score * weight;
    return std::isnan(v) ? 0.0 : v;
  };
  // Member -> score; `order` keeps the members' first appearance for a stable build.
  std::unordered_map<std::string_view, double> result;
  std::vector<std::string_view> order;
  std::int64_t counted = 0;
  if (op == ZSetOp::kUnion) {
    for (const Source& s : src) {
      s.for_each([&](std::string_view m, double score) {
        const double v = weighted(score, s.weight);
        auto [it, fresh] = result.emplace(m, v);
        if (fresh) order.push_back(m);
        else aggregate(it->second, v, agg);
      });
    }
  } else if (op == ZSetOp::kInter && !src.empty() && src[0].size() > 0) {
    bool full = false;
    src[0].for_each([&](std::string_view m, double score) {
      if (full) return;
      double acc = weighted(score, src[0].weight);
      for (std::size_t j = 1; j < src.size(); ++j) {
        double other = 0;
        if (!src[j].score_of(m, other)) return;
        // Not NaN-guarded here, as in Redis: MIN/MAX then keep the score so far, SUM zeroes.
        aggregate(acc, other * src[j].weight, agg);
      }
      if (output == Output::kCount) {
        full = ++counted == limit;
        return;
      }
      result.emplace(m, acc);
      order.push_back(m);
    });
  } else if (op == ZSetOp::kDiff) {
    src[0].for_each([&](std::string_view m, double score) {
      for (std::size_t j = 1; j < src.size(); ++j) {
        double other = 0;
        if (src[j].score_of(m, other)) return;
      }
      result.emplace(m, score);
      order.push_back(m);
    });
  }
  if (output == Output::kCount) return c.out.integer(counted);
  // Built before the destination goes: it may be one of the sources.
  auto out = std::make_unique<ZSet>();
  for (std::string_view m : order) out->set(m, result[m]);
  if (output == Output::kStore) {
    static constexpr std::string_view kEvents[] = {"zunionstore", "zinterstore", "zdiffstore"};
    return c.out.integer(store_zset(c, c.arg(1), std::move(out), kEvents[static_cast<int>(op)]));
  }
  std::vector<Ref> nodes;
  nodes.reserve(out->size());
  for (Ref n = out->first(); n; n = n.next()) nodes.push_back(n);
  reply_pairs(c, nodes, withscores);
}
void zunionstore_cmd(CommandContext& c) { zsetop(c, ZSetOp::kUnion, Output::kStore); }
void zinterstore_cmd(CommandContext& c) { zsetop(c, ZSetOp::kInter, Output::kStore); }
void zdiffstore_cmd(CommandContext& c) { zsetop(c, ZSetOp::kDiff, Output::kStore); }
void zunion_cmd(CommandContext& c) { zsetop(c, ZSetOp::kUnion, Output::kReply); }
void zinter_cmd(CommandContext& c) { zsetop(c, ZSetOp::kInter, Output::kReply); }
void zdiff_cmd(CommandContext& c) { zsetop(c, ZSetOp::kDiff, Output::kReply); }
void zintercard_cmd(CommandContext& c) { zsetop(c, ZSetOp::kInter, Output::kCount); }

// ZRANDMEMBER key [count [WITHSCORES]] (zrandmemberCommand): a positive count gives distinct
// members (the whole set when count >= its size), a negative one may repeat them. WITHSCORES
// pairs are flat in RESP2 and 2-element arrays in RESP3.
void zrandmember_cmd(CommandContext& c) {
  const std::string_view key = c.arg(1);
  bool wrong = false;
  if (c.argc() == 2) {
    const ZSet* z = zset_at(c, key, wrong);
    if (wrong) return c.out.error(kErrWrongType);
    if (z == nullptr) return c.out.null();
    return c.out.bulk(z->at(random_engine()() % z->size()).member());
  }
  std::int64_t l = 0;
  bool withscores = false;
  if (!parse_random_count(c, "withscores", l, withscores)) return;
  const ZSet* z = zset_at(c, key, wrong);
  if (wrong) return c.out.error(kErrWrongType);
  if (z == nullptr || l == 0) return c.out.array_header(0);
  const bool distinct = l > 0;
  const auto count = static_cast<std::uint64_t>(distinct ? l : -l);
  auto& gen = random_engine();
  std::vector<Ref> nodes;
  if (distinct && count >= z->size()) {
    for (Ref n = z->first(); n; n = n.next()) nodes.push_back(n);
  } else if (distinct) {
    // Partial Fisher-Yates over ranks: the first `count` become a random distinct sample.
    std::vector<std::size_t> ranks(z->size());
    for (std::size_t i = 0; i < ranks.size(); ++i) ranks[i] = i;
    for (std::size_t i = 0; i < count; ++i) {
      std::swap(ranks[i], ranks[i + gen() % (ranks.size() - i)]);
      nodes.push_back(z->at(ranks[i]));
    }
  } else {
    // Repeats allowed: written as drawn (the count may be huge), stopping past the limit.
    const bool nested = withscores && c.out.resp3();
    c.out.array_header(withscores && !nested ? count * 2 : count);
    for (std::uint64_t i = 0; i < count && !c.reply_over_limit(); ++i) {
      const Ref n = z->at(gen() % z->size());
      if (nested) c.out.array_header(2);
      c.out.bulk(n.member());
      if (withscores) c.out.double_value(n.score());
    }
    return;
  }
  reply_pairs(c, nodes, withscores);
}

// ZSCAN key cursor [MATCH pattern] [COUNT count]: the whole set in one reply with cursor 0, in
// order, scores as %.17g strings (as Redis does for a small set).
void zscan_cmd(CommandContext& c) {
  std::uint64_t cursor = 0;
  if (!parse_scan_cursor(c.arg(2), cursor)) return c.out.error("ERR invalid cursor");
  bool wrong = false;
  const ZSet* z = zset_at(c, c.arg(1), wrong);
  if (z == nullptr && !wrong) return c.out.raw(kEmptyScan);
  if (wrong) return c.out.error(kErrWrongType);
  ScanOptions o;
  if (!parse_scan_options(c, 3, false, o)) return;
  std::vector<Ref> found;
  for (Ref n = z->first(); n; n = n.next()) {
    if (o.matches(n.member())) found.push_back(n);
  }
  c.out.array_header(2);
  c.out.bulk("0");
  c.out.array_header(found.size() * 2);
  for (Ref n : found) {
    c.out.bulk(n.member());
    c.out.bulk(format_score(n.score()));
  }
}

constexpr HandlerEntry kZsetHandlers[] = {
    {"zadd", zadd_cmd},
    {"zincrby", zincrby_cmd},
    {"zrem", zrem_cmd},
    {"zscore", zscore_cmd},
    {"zmscore", zmscore_cmd},
    {"zcard", zcard_cmd},
    {"zcount", zcount_cmd},
    {"zlexcount", zlexcount_cmd},
    {"zrank", zrank_cmd},
    {"zrevrank", zrevrank_cmd},
    {"zrange", zrange_cmd},
    {"zrevrange", zrevrange_cmd},
    {"zrangebyscore", zrangebyscore_cmd},
    {"zrevrangebyscore", zrevrangebyscore_cmd},
    {"zrangebylex", zrangebylex_cmd},
    {"zrevrangebylex", zrevrangebylex_cmd},
    {"zpopmin", zpopmin_cmd},
    {"zpopmax", zpopmax_cmd},
    {"zremrangebyrank", zremrangebyrank_cmd},
    {"zremrangebyscore", zremrangebyscore_cmd},
    {"zremrangebylex", zremrangebylex_cmd},
    {"zunionstore", zunionstore_cmd},
    {"zinterstore", zinterstore_cmd},
    {"zdiffstore", zdiffstore_cmd},
    {"zunion", zunion_cmd},
    {"zinter", zinter_cmd},
    {"zdiff", zdiff_cmd},
    {"zintercard", zintercard_cmd},
    {"zrangestore", zrangestore_cmd},
    {"zrandmember", zrandmember_cmd},
    {"zscan", zscan_cmd},
};

}  // namespace

std::span<const HandlerEntry> zset_handlers() { return kZsetHandlers; }

void run_zadd(CommandContext& c) { zadd_cmd(c); }

}  // namespace lfdb::db
