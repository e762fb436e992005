// Set commands. Each handler runs holding its keys' colors (command_context.hpp); the commands
// over several sets (SINTER..., SMOVE) hold every key's color, taken in the scheduler's fixed
// order. A set is never empty: it is created with its first member and the key is deleted with
// its last one. Every check (arguments, the type of every key) comes before the first change.
// Replies and error texts are Redis 7.0's (t_set.c); sets go out as RESP3 sets.
//
// SPOP is random: it writes its own log record (SREM of what it popped, or DEL when it took
// everything), so replaying the log removes the same members (log_records.hpp).
#include <algorithm>
#include <climits>
#include <cstdint>
#include <iterator>
#include <memory>
#include <random>
#include <string>
#include <unordered_set>
#include <vector>

#include "db/command_context.hpp"
#include "db/pubsub/notify.hpp"
#include "db/log_records.hpp"
#include "db/scan.hpp"

namespace lfdb::db {
namespace {


// The live set at key: nullptr if missing; sets `wrong` if the key holds another type.
Set* set_at(CommandContext& c, std::string_view key, bool& wrong) {
  Entry* e = c.find(key);
  wrong = e != nullptr && e->value.type() != Type::kSet;
  return e != nullptr && !wrong ? e->value.set() : nullptr;
}

// The set at key, created empty if missing: the caller checked the type and adds now.
Value& set_for_write(CommandContext& c, std::string_view key) {
  bool created = false;
  Entry& e = c.part(key).find_or_create(key, c.now_ms, created);
  if (created) {
    e.value.make_set();
  }
  return e.value;
}

// Adds member; true if it is new (the set picks its encoding: set.hpp).
bool add(Value& v, std::string_view member) { return v.set()->add(member); }

void removed_from(CommandContext& c, std::string_view key, const Set& s) {
  Partition& p = c.part(key);
  if (s.empty()) {
    p.erase(key, c.now_ms);
    pubsub::event(pubsub::kEvGeneric, "del", key);
  } else {
    p.modified(key);
  }
}

std::string_view view_of(const Set::Member& m) { return m.view(); }
std::string_view view_of(std::string_view m) { return m; }

template <typename Members>
void reply_set(CommandContext& c, const Members& members) {
  c.out.set_header(members.size());
  for (const auto& m : members) c.out.bulk(view_of(m));
}

void sadd_cmd(CommandContext& c) {
  const std::string_view key = c.arg(1);
  bool wrong = false;
  set_at(c, key, wrong);
  if (wrong) return c.out.error(kErrWrongType);
  Value& v = set_for_write(c, key);
  // All members at once: an intset is sized once for them (Set::add_all).
  std::vector<std::string_view> members;
  members.reserve(c.argc() - 2);
  for (std::size_t i = 2; i < c.argc(); ++i) members.push_back(c.arg(i));
  const auto added = static_cast<std::int64_t>(v.set()->add_all(members));
  if (added > 0) {
    c.part(key).modified(key);  // argc >= 3: the set is never left empty
    pubsub::event(pubsub::kEvSet, "sadd", key);
  }
  c.out.integer(added);
}

void srem_cmd(CommandContext& c) {
  const std::string_view key = c.arg(1);
  bool wrong = false;
  Set* s = set_at(c, key, wrong);
  if (wrong) return c.out.error(kErrWrongType);
  if (s == nullptr) return c.out.integer(0);
  std::int64_t removed = 0;
  for (std::size_t i = 2; i < c.argc() && !s->empty(); ++i) {
    if (s->erase(c.arg(i))) ++removed;
  }
  if (removed > 0) {
    pubsub::event(pubsub::kEvSet, "srem", key);
    removed_from(c, key, *s);
  }
  c.out.integer(removed);
}

void smembers_cmd(CommandContext& c) {
  bool wrong = false;
  const Set* s = set_at(c, c.arg(1), wrong);
  if (wrong) return c.out.error(kErrWrongType);
  if (s == nullptr) return c.out.set_header(0);
  reply_set(c, *s);
}

void sismember_cmd(CommandContext& c) {
  bool wrong = false;
  const Set* s = set_at(c, c.arg(1), wrong);
  if (wrong) return c.out.error(kErrWrongType);
  c.out.integer(s != nullptr && s->contains(c.arg(2)) ? 1 : 0);
}

void smismember_cmd(CommandContext& c) {
  bool wrong = false;
  const Set* s = set_at(c, c.arg(1), wrong);
  if (wrong) return c.out.error(kErrWrongType);
  c.out.array_header(c.argc() - 2);
  for (std::size_t i = 2; i < c.argc(); ++i) {
    c.out.integer(s != nullptr && s->contains(c.arg(i)) ? 1 : 0);
  }
}

void scard_cmd(CommandContext& c) {
  bool wrong = false;
  const Set* s = set_at(c, c.arg(1), wrong);
  if (wrong) return c.out.error(kErrWrongType);
  c.out.integer(s ? static_cast<std::int64_t>(s->size()) : 0);
}

// Up to this size a table is sampled exactly uniformly from a walk over all of it (cheap here);
// past it, by buckets, which favours members of short chains a little, as Redis's
// dictGetRandomKey does, but stays O(1) per member on a set of any size. An intset is always
// picked from uniformly: its members are an array.
constexpr std::size_t kUniformUpTo = 4096;
// SPOP with a count that leaves at most 1/5 of what it pops builds a new set of the rest, as
// Redis's (SPOP_MOVE_STRATEGY_MUL): what shows is a new intset's width.
constexpr std::size_t kSpopKeepFactor = 5;

// One random member of a non-empty set.
Set::Member random_member(const Set& s) {
  auto& gen = random_engine();
  if (s.intset()) return Set::Member(s.ints().at(gen() % s.size()));
  const Set::Table& t = *s.table();
  auto pick = [&](Set::Table::const_iterator it, std::size_t n) {
    return Set::Member(std::string_view(*std::next(it, static_cast<std::ptrdiff_t>(gen() % n))));
  };
  if (t.size() <= 128) return pick(t.begin(), t.size());
  const std::size_t buckets = t.bucket_count();
  for (int tries = 0; tries < 64; ++tries) {
    const std::size_t b = gen() % buckets;
    const std::size_t n = t.bucket_size(b);
    if (n == 0) continue;
    return Set::Member(std::string_view(*std::next(t.begin(b), static_cast<std::ptrdiff_t>(gen() % n))));
  }
  return pick(t.begin(), t.size());
}

// `n` distinct random members (all of them when n >= size). A few from a big set are drawn one
// by one (O(n) expected, as SPOP and SRANDMEMBER promise); otherwise a partial Fisher-Yates
// shuffle over all the members (uniform).
std::vector<Set::Member> sample(const Set& s, std::uint64_t n) {
  std::vector<Set::Member> items;
  if (s.size() > kUniformUpTo && n < s.size() / 4) {
    std::unordered_set<std::string_view> seen;  // views into the table (or the intset's items)
    items.reserve(n);  // no reallocation: `seen` views the items' own digits for an intset
    while (items.size() < n) {
      items.push_back(random_member(s));
      if (!seen.insert(items.back().view()).second) items.pop_back();
    }
    return items;
  }
  items.reserve(s.size());
  for (Set::Member m : s) items.push_back(m);
  if (n >= items.size()) return items;
  auto& gen = random_engine();
  for (std::size_t i = 0; i < n; ++i) std::swap(items[i], items[i + gen() % (items.size() - i)]);
  items.erase(items.begin() + static_cast<std::ptrdiff_t>(n), items.end());
  return items;
}

// SPOP key [count]: one member (bulk or nil) or, with a count, a set of up to count members.
void spop_cmd(CommandContext& c) {
  if (c.argc() > 3) return c.out.error(kErrSyntax);
  const bool has_count = c.argc() == 3;
  std::int64_t count = 1;
  if (has_count && (!parse_int(c.arg(2), count) || count < 0)) return c.out.error(kErrPositive);
  const std::string_view key = c.arg(1);
  bool wrong = false;
  Set* s = set_at(c, key, wrong);
  if (wrong) return c.out.error(kErrWrongType);
  if (s == nullptr) return has_count ? c.out.set_header(0) : c.out.null();
  if (count == 0) return c.out.set_header(0);
  std::vector<std::string> popped;
  for (const Set::Member& m : sample(*s, static_cast<std::uint64_t>(count))) popped.push_back(m.str());
  for (const std::string& m : popped) s->erase(m);
  if (s->intset() && !s->empty() && s->size() * kSpopKeepFactor <= popped.size()) {
    // Redis pops most of a set by building a new set of what stays: a new intset, as narrow
    // as its members (an intset that held a wide member no longer here narrows; DUMP shows
    // it). The log keeps the SREMs, as Redis propagates them, so a replay keeps the width.
    std::vector<std::int64_t> rest;
    rest.reserve(s->size());
    for (std::size_t i = 0; i < s->size(); ++i) rest.push_back(s->ints().at(i));
    Set fresh;
    fresh.add_ints(rest);
    *s = std::move(fresh);
  }
  if (std::string* log = t_invocation_log.records) {
    t_invocation_log.select(c.db);
    if (s->empty()) {
      encode_command(*log, {"DEL", key});
    } else {
      std::vector<std::string_view> args{"SREM", key};
      args.insert(args.end(), popped.begin(), popped.end());
      encode_command(*log, args);
    }
  }
  pubsub::event(pubsub::kEvSet, "spop", key);
  removed_from(c, key, *s);
  if (!has_count) return c.out.bulk(popped[0]);
  reply_set(c, popped);
}

// SRANDMEMBER key [count]: a positive count gives distinct members (the whole set when count
// >= its size), a negative one may repeat them; always an array.
void srandmember_cmd(CommandContext& c) {
  if (c.argc() > 3) return c.out.error(kErrSyntax);
  bool wrong = false;
  if (c.argc() == 2) {
    const Set* s = set_at(c, c.arg(1), wrong);
    if (wrong) return c.out.error(kErrWrongType);
    if (s == nullptr) return c.out.null();
    return c.out.bulk(random_member(*s).view());
  }
  std::int64_t l = 0;
  if (!parse_int(c.arg(2), l)) return c.out.error(kErrNotInteger);
  if (l == LLONG_MIN) {
    return c.out.error(
        "ERR value is out of range, value must between -9223372036854775807 and "
        "9223372036854775807");
  }
  const Set* s = set_at(c, c.arg(1), wrong);
  if (wrong) return c.out.error(kErrWrongType);
  if (s == nullptr || l == 0) return c.out.array_header(0);
  if (l > 0) {
    const auto items = sample(*s, static_cast<std::uint64_t>(l));
    c.out.array_header(items.size());
    for (const Set::Member& m : items) c.out.bulk(m.view());
    return;
  }
  const auto n = static_cast<std::uint64_t>(-l);
  c.out.array_header(n);
  if (s->size() > kUniformUpTo) {
    for (std::uint64_t i = 0; i < n && !c.reply_over_limit(); ++i) c.out.bulk(random_member(*s).view());
    return;
  }
  const auto items = sample(*s, s->size());
  auto& gen = random_engine();
  for (std::uint64_t i = 0; i < n && !c.reply_over_limit(); ++i) {
    c.out.bulk(items[gen() % items.size()].view());
  }
}

enum class SetOp { kInter, kUnion, kDiff };

// The sets named by argv[from, to): false (WRONGTYPE written) if any key holds another type;
// a missing key is a null entry (an empty set).
bool sets_of(CommandContext& c, std::size_t from, std::size_t to, std::vector<const Set*>& out) {
  for (std::size_t i = from; i < to; ++i) {
    bool wrong = false;
    const Set* s = set_at(c, c.arg(i), wrong);
    if (wrong) {
      c.out.error(kErrWrongType);
      return false;
    }
    out.push_back(s);
  }
  return true;
}

// The members of the operation's result (views into the stored sets, or an intset's digits).
std::vector<Set::Member> compute(SetOp op, const std::vector<const Set*>& sets) {
  std::vector<Set::Member> out;
  if (op == SetOp::kUnion) {
    std::size_t total = 0;
    for (const Set* s : sets) total += s != nullptr ? s->size() : 0;
    out.reserve(total);  // no reallocation: `seen` views the members' own digits too
    std::unordered_set<std::string_view> seen;
    for (const Set* s : sets) {
      if (s == nullptr) continue;
      for (Set::Member m : *s) {
        out.push_back(m);
        if (!seen.insert(out.back().view()).second) out.pop_back();
      }
    }
    return out;
  }
  if (sets.empty() || sets[0] == nullptr) return out;
  if (op == SetOp::kInter) {
    // Walk the smallest set and probe the others.
    const Set* smallest = sets[0];
    for (const Set* s : sets) {
      if (s == nullptr) return out;
      if (s->size() < smallest->size()) smallest = s;
    }
    for (Set::Member m : *smallest) {
      bool all = true;
      for (const Set* s : sets) {
        if (s != smallest && !s->contains(m.view())) {
          all = false;
          break;
        }
      }
      if (all) out.push_back(m);
    }
    return out;
  }
  for (Set::Member m : *sets[0]) {
    bool other = false;
    for (std::size_t i = 1; i < sets.size() && !other; ++i) {
      other = sets[i] != nullptr && (sets[i] == sets[0] || sets[i]->contains(m.view()));
    }
    if (!other) out.push_back(m);
  }
  return out;
}

// SINTER SUNION SDIFF key [key ...]
void setop_generic(CommandContext& c, SetOp op) {
  std::vector<const Set*> sets;
  if (!sets_of(c, 1, c.argc(), sets)) return;
  reply_set(c, compute(op, sets));
}
void sinter_cmd(CommandContext& c) { setop_generic(c, SetOp::kInter); }
void sunion_cmd(CommandContext& c) { setop_generic(c, SetOp::kUnion); }
void sdiff_cmd(CommandContext& c) { setop_generic(c, SetOp::kDiff); }

// SINTERSTORE SUNIONSTORE SDIFFSTORE destination key [key ...]: the destination is replaced
// whatever it held (and deleted when the result is empty); replies the result's size.
void setop_store_generic(CommandContext& c, SetOp op) {
  static constexpr std::string_view kEvents[] = {"sinterstore", "sunionstore", "sdiffstore"};
  std::vector<const Set*> sets;
  if (!sets_of(c, 2, c.argc(), sets)) return;
  const std::vector<Set::Member> members = compute(op, sets);
  // Copy before the destination goes: it may be one of the sources. The result starts an
  // intset, as Redis's does, and converts if a member asks it to.
  auto result = std::make_unique<Set>();
  std::vector<std::string_view> views;
  views.reserve(members.size());
  for (const Set::Member& m : members) views.push_back(m.view());
  result->add_all(views);  // an intset result is built at its final size
  const std::string_view dst = c.arg(1);
  Partition& p = c.part(dst);
  const bool existed = p.erase(dst, c.now_ms);
  const auto n = static_cast<std::int64_t>(result->size());
  if (n > 0) {
    bool created = false;
    Entry& e = p.find_or_create(dst, c.now_ms, created);
    e.value.reset(std::move(result));
    p.modified(dst);
    pubsub::event(pubsub::kEvSet, kEvents[static_cast<int>(op)], dst);
  } else if (existed) {  // erase() counted that change already
    pubsub::event(pubsub::kEvGeneric, "del", dst);
  }
  c.out.integer(n);
}
void sinterstore_cmd(CommandContext& c) { setop_store_generic(c, SetOp::kInter); }
void sunionstore_cmd(CommandContext& c) { setop_store_generic(c, SetOp::kUnion); }
void sdiffstore_cmd(CommandContext& c) { setop_store_generic(c, SetOp::kDiff); }

// SINTERCARD numkeys key [key ...] [LIMIT limit]
void sintercard_cmd(CommandContext& c) {
  std::int64_t numkeys = 0;
  if (!parse_int(c.arg(1), numkeys) || numkeys <= 0) {
    return c.out.error("ERR numkeys should be greater than 0");
  }
  if (numkeys > static_cast<std::int64_t>(c.argc() - 2)) {
    return c.out.error("ERR Number of keys can't be greater than number of args");
  }
  const std::size_t end = 2 + static_cast<std::size_t>(numkeys);
  std::int64_t limit = 0;
  for (std::size_t i = end; i < c.argc(); i += 2) {
    if (!iequal(c.arg(i), "limit") || i + 1 >= c.argc()) return c.out.error(kErrSyntax);
    // Redis gives a LIMIT that is not a number the negative one's error too.
    if (!parse_int(c.arg(i + 1), limit) || limit < 0) return c.out.error("ERR LIMIT can't be negative");
  }
  std::vector<const Set*> sets;
  if (!sets_of(c, 2, end, sets)) return;
  auto n = static_cast<std::int64_t>(compute(SetOp::kInter, sets).size());
  if (limit > 0 && n > limit) n = limit;
  c.out.integer(n);
}

void smove_cmd(CommandContext& c) {
  const std::string_view src = c.arg(1), dst = c.arg(2), member = c.arg(3);
  bool wrong_src = false, wrong_dst = false;
  Set* s = set_at(c, src, wrong_src);
  if (s == nullptr && !wrong_src) return c.out.integer(0);
  const Set* d = set_at(c, dst, wrong_dst);
  if (wrong_src || wrong_dst) return c.out.error(kErrWrongType);
  if (s == d) return c.out.integer(s->contains(member) ? 1 : 0);
  if (!s->erase(member)) return c.out.integer(0);
  pubsub::event(pubsub::kEvSet, "srem", src);
  removed_from(c, src, *s);
  // A destination that already holds the member is left as it was: no event, and its
  // watchers' transactions still run.
  if (add(set_for_write(c, dst), member)) {
    pubsub::event(pubsub::kEvSet, "sadd", dst);
    c.part(dst).modified(dst);
  }
  c.out.integer(1);
}

// SSCAN key cursor [MATCH pattern] [COUNT count]: the whole set in one reply with cursor 0,
// as HSCAN does (and as Redis does for a small set).
void sscan_cmd(CommandContext& c) {
  std::uint64_t cursor = 0;
  if (!parse_scan_cursor(c.arg(2), cursor)) return c.out.error("ERR invalid cursor");
  bool wrong = false;
  const Set* s = set_at(c, c.arg(1), wrong);
  if (s == nullptr && !wrong) return c.out.raw(kEmptyScan);
  if (wrong) return c.out.error(kErrWrongType);
  ScanOptions o;
  if (!parse_scan_options(c, 3, false, o)) return;
  std::vector<Set::Member> found;
  for (Set::Member m : *s) {
    if (o.matches(m.view())) found.push_back(m);
  }
  c.out.array_header(2);
  c.out.bulk("0");
  c.out.array_header(found.size());
  for (const Set::Member& m : found) c.out.bulk(m.view());
}

constexpr HandlerEntry kSetHandlers[] = {
    {"sadd", sadd_cmd},
    {"srem", srem_cmd},
    {"smembers", smembers_cmd},
    {"sismember", sismember_cmd},
    {"smismember", smismember_cmd},
    {"scard", scard_cmd},
    {"spop", spop_cmd},
    {"srandmember", srandmember_cmd},
    {"sinter", sinter_cmd},
    {"sunion", sunion_cmd},
    {"sdiff", sdiff_cmd},
    {"sinterstore", sinterstore_cmd},
    {"sunionstore", sunionstore_cmd},
    {"sdiffstore", sdiffstore_cmd},
    {"sintercard", sintercard_cmd},
    {"smove", smove_cmd},
    {"sscan", sscan_cmd},
};

}  // namespace

std::span<const HandlerEntry> set_handlers() { return kSetHandlers; }

}  // namespace lfdb::db
