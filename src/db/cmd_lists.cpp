// List commands. Each handler runs holding its keys' colors (command_context.hpp); LMOVE and
// RPOPLPUSH hold both keys' colors, taken in the scheduler's fixed order. A list is never empty:
// it is created with its first element and the key is deleted with its last one. Every check
// (arguments, types of every key involved) comes before the first change, so a command that
// fails leaves nothing behind. Replies and error texts are Redis 7.0's (t_list.c).
#include <climits>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "db/command_context.hpp"
#include "db/pubsub/notify.hpp"

namespace lfdb::db {
namespace {


// The live list at key: nullptr if missing; sets `wrong` if the key holds another type.
List* list_at(CommandContext& c, std::string_view key, bool& wrong) {
  Entry* e = c.find(key);
  wrong = e != nullptr && e->value.type() != Type::kList;
  return e != nullptr && !wrong ? e->value.list() : nullptr;
}

// The list at key, created empty if missing: the caller checked the type and adds now.
List& list_for_write(CommandContext& c, std::string_view key) {
  bool created = false;
  Entry& e = c.part(key).find_or_create(key, c.now_ms, created);
  if (created) {
    e.value.reset(std::make_unique<List>());
  }
  return *e.value.list();
}

// After elements were removed: the key goes with its last element, else it changed.
void removed_from(CommandContext& c, std::string_view key, const List& l) {
  Partition& p = c.part(key);
  if (l.empty()) {
    p.erase(key, c.now_ms);
    pubsub::event(pubsub::kEvGeneric, "del", key);
  } else {
    p.modified(key);
  }
}

// Redis's index rule: negative counts from the end; true and the position if inside the list.
bool resolve_index(std::int64_t index, std::size_t size, std::size_t& at) {
  const auto n = static_cast<std::int64_t>(size);
  if (index < 0) index += n;
  if (index < 0 || index >= n) return false;
  at = static_cast<std::size_t>(index);
  return true;
}

// LRANGE/LTRIM's range rule: clamps start/stop; false when the range is empty.
bool resolve_range(std::int64_t start, std::int64_t stop, std::size_t size, std::size_t& from,
                   std::size_t& to) {
  const auto n = static_cast<std::int64_t>(size);
  if (start < 0) start += n;
  if (stop < 0) stop += n;
  if (start < 0) start = 0;
  if (start > stop || start >= n) return false;
  if (stop >= n) stop = n - 1;
  from = static_cast<std::size_t>(start);
  to = static_cast<std::size_t>(stop);
  return true;
}

// LPUSH RPUSH LPUSHX RPUSHX: the new length, or 0 when an X variant finds no list.
void push_generic(CommandContext& c, bool left, bool only_existing) {
  const std::string_view key = c.arg(1);
  bool wrong = false;
  const List* cur = list_at(c, key, wrong);
  if (wrong) return c.out.error(kErrWrongType);
  if (cur == nullptr && only_existing) return c.out.integer(0);
  List& l = list_for_write(c, key);
  for (std::size_t i = 2; i < c.argc(); ++i) {
    if (left) l.push_front(c.arg(i));
    else l.push_back(c.arg(i));
  }
  c.part(key).modified(key);
  pubsub::event(pubsub::kEvList, left ? "lpush" : "rpush", key);
  c.out.integer(static_cast<std::int64_t>(l.size()));
}
void lpush_cmd(CommandContext& c) { push_generic(c, true, false); }
void rpush_cmd(CommandContext& c) { push_generic(c, false, false); }
void lpushx_cmd(CommandContext& c) { push_generic(c, true, true); }
void rpushx_cmd(CommandContext& c) { push_generic(c, false, true); }

// LPOP RPOP key [count]: one element (bulk or nil), or with a count an array of up to count
// (nil array when the key is missing, empty array for count 0).
void pop_generic(CommandContext& c, bool left) {
  if (c.argc() > 3) return c.out.error(commands::wrong_arity_error(c.spec->name));
  std::int64_t count = 0;
  const bool has_count = c.argc() == 3;
  if (has_count && (!parse_int(c.arg(2), count) || count < 0)) return c.out.error(kErrPositive);
  const std::string_view key = c.arg(1);
  bool wrong = false;
  List* l = list_at(c, key, wrong);
  if (wrong) return c.out.error(kErrWrongType);
  if (l == nullptr) return has_count ? c.out.null_array() : c.out.null();
  if (!has_count) {
    std::string v(left ? l->front() : l->back());
    if (left) l->pop_front();
    else l->pop_back();
    pubsub::event(pubsub::kEvList, left ? "lpop" : "rpop", key);
    removed_from(c, key, *l);
    return c.out.bulk(v);
  }
  const std::size_t n = std::min<std::uint64_t>(static_cast<std::uint64_t>(count), l->size());
  c.out.array_header(n);
  if (n == 0) return;
  for (std::size_t i = 0; i < n; ++i) {
    if (left) {
      c.out.bulk(l->front());
      l->pop_front();
    } else {
      c.out.bulk(l->back());
      l->pop_back();
    }
  }
  pubsub::event(pubsub::kEvList, left ? "lpop" : "rpop", key);
  removed_from(c, key, *l);
}
void lpop_cmd(CommandContext& c) { pop_generic(c, true); }
void rpop_cmd(CommandContext& c) { pop_generic(c, false); }

void llen_cmd(CommandContext& c) {
  bool wrong = false;
  const List* l = list_at(c, c.arg(1), wrong);
  if (wrong) return c.out.error(kErrWrongType);
  c.out.integer(l ? static_cast<std::int64_t>(l->size()) : 0);
}

void lrange_cmd(CommandContext& c) {
  std::int64_t start = 0, stop = 0;
  if (!parse_int(c.arg(2), start) || !parse_int(c.arg(3), stop)) {
    return c.out.error(kErrNotInteger);
  }
  bool wrong = false;
  const List* l = list_at(c, c.arg(1), wrong);
  if (wrong) return c.out.error(kErrWrongType);
  std::size_t from = 0, to = 0;
  if (l == nullptr || !resolve_range(start, stop, l->size(), from, to)) {
    return c.out.array_header(0);
  }
  c.out.array_header(to - from + 1);
  List::Iter it = l->iter_at(from);
  for (std::size_t i = from; i <= to; ++i, ++it) c.out.bulk(*it);
  l->settle();  // the interior nodes the walk opened are compressed again
}

void lindex_cmd(CommandContext& c) {
  std::int64_t index = 0;
  if (!parse_int(c.arg(2), index)) return c.out.error(kErrNotInteger);
  bool wrong = false;
  const List* l = list_at(c, c.arg(1), wrong);
  if (wrong) return c.out.error(kErrWrongType);
  std::size_t at = 0;
  if (l == nullptr || !resolve_index(index, l->size(), at)) return c.out.null();
  c.out.bulk(l->at(at));
  l->settle();
}

void lset_cmd(CommandContext& c) {
  std::int64_t index = 0;
  if (!parse_int(c.arg(2), index)) return c.out.error(kErrNotInteger);
  const std::string_view key = c.arg(1);
  bool wrong = false;
  List* l = list_at(c, key, wrong);
  if (wrong) return c.out.error(kErrWrongType);
  if (l == nullptr) return c.out.error(kErrNoSuchKey);
  std::size_t at = 0;
  if (!resolve_index(index, l->size(), at)) return c.out.error("ERR index out of range");
  l->set(at, c.arg(3));
  c.part(key).modified(key);
  pubsub::event(pubsub::kEvList, "lset", key);
  c.out.simple_string("OK");
}

// LREM key count element: count > 0 from the head, < 0 from the tail, 0 all of them.
void lrem_cmd(CommandContext& c) {
  std::int64_t count = 0;
  if (!parse_int(c.arg(2), count)) return c.out.error(kErrNotInteger);
  const std::string_view key = c.arg(1), elem = c.arg(3);
  bool wrong = false;
  List* l = list_at(c, key, wrong);
  if (wrong) return c.out.error(kErrWrongType);
  if (l == nullptr) return c.out.integer(0);
  // Unsigned so that count = LLONG_MIN has a magnitude; 0 means no limit.
  const std::uint64_t limit = count < 0 ? 0 - static_cast<std::uint64_t>(count)
                                        : static_cast<std::uint64_t>(count);
  const std::uint64_t removed = l->remove(elem, limit, count < 0);
  if (removed > 0) {
    pubsub::event(pubsub::kEvList, "lrem", key);
    removed_from(c, key, *l);
  }
  c.out.integer(static_cast<std::int64_t>(removed));
}

void ltrim_cmd(CommandContext& c) {
  std::int64_t start = 0, stop = 0;
  if (!parse_int(c.arg(2), start) || !parse_int(c.arg(3), stop)) {
    return c.out.error(kErrNotInteger);
  }
  const std::string_view key = c.arg(1);
  bool wrong = false;
  List* l = list_at(c, key, wrong);
  if (wrong) return c.out.error(kErrWrongType);
  if (l == nullptr) return c.out.simple_string("OK");
  std::size_t from = 0, to = 0;
  const std::size_t before = l->size();
  if (!resolve_range(start, stop, l->size(), from, to)) {
    l->clear();
  } else {
    l->keep_range(from, to);
  }
  pubsub::event(pubsub::kEvList, "ltrim", key);  // trimmed or not, as Redis notifies
  if (l->size() != before) removed_from(c, key, *l);
  c.out.simple_string("OK");
}

// LINSERT key BEFORE|AFTER pivot element: the new length, -1 without the pivot, 0 without
// the key.
void linsert_cmd(CommandContext& c) {
  const std::string_view where = c.arg(2);
  bool after = false;
  if (iequal(where, "after")) after = true;
  else if (!iequal(where, "before")) return c.out.error(kErrSyntax);
  const std::string_view key = c.arg(1);
  bool wrong = false;
  List* l = list_at(c, key, wrong);
  if (wrong) return c.out.error(kErrWrongType);
  if (l == nullptr) return c.out.integer(0);
  for (auto it = l->begin(); it != l->end(); ++it) {
    if (*it != c.arg(3)) continue;
    l->insert(after ? ++it : it, c.arg(4));
    c.part(key).modified(key);
    pubsub::event(pubsub::kEvList, "linsert", key);
    return c.out.integer(static_cast<std::int64_t>(l->size()));
  }
  l->settle();  // no pivot: the nodes the walk opened are compressed again
  c.out.integer(-1);
}

// LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len] (lposCommand): options are
// checked before the key; without COUNT one position or nil, with it an array.
void lpos_cmd(CommandContext& c) {
  std::int64_t rank = 1, count = -1, maxlen = 0;
  for (std::size_t i = 3; i < c.argc(); i += 2) {
    const std::string_view opt = c.arg(i);
    if (i + 1 >= c.argc()) return c.out.error(kErrSyntax);
    std::int64_t v = 0;
    if (iequal(opt, "rank")) {
      if (!parse_int(c.arg(i + 1), v)) return c.out.error(kErrNotInteger);
      if (v == 0) {
        return c.out.error(
            "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... "
            "or use negative to start from the end of the list");
      }
      rank = v;
    } else if (iequal(opt, "count")) {
      if (!parse_int(c.arg(i + 1), v)) return c.out.error(kErrNotInteger);
      if (v < 0) return c.out.error("ERR COUNT can't be negative");
      count = v;
    } else if (iequal(opt, "maxlen")) {
      if (!parse_int(c.arg(i + 1), v)) return c.out.error(kErrNotInteger);
      if (v < 0) return c.out.error("ERR MAXLEN can't be negative");
      maxlen = v;
    } else {
      return c.out.error(kErrSyntax);
    }
  }
  bool wrong = false;
  const List* l = list_at(c, c.arg(1), wrong);
  if (wrong) return c.out.error(kErrWrongType);
  const bool has_count = count >= 0;
  if (l == nullptr) return has_count ? c.out.array_header(0) : c.out.null();
  const std::size_t n = l->size();
  const bool forward = rank > 0;
  // Matches to skip first: |rank| - 1. Redis 7.0 negates RANK LLONG_MIN into itself, and
  // then every match qualifies: the first from the tail.
  std::uint64_t skip = rank == LLONG_MIN ? 0
                       : static_cast<std::uint64_t>(forward ? rank : -rank) - 1;
  const std::uint64_t want = has_count ? (count == 0 ? UINT64_MAX : static_cast<std::uint64_t>(count)) : 1;
  const std::uint64_t scan = maxlen == 0 ? n : std::min<std::uint64_t>(n, static_cast<std::uint64_t>(maxlen));
  std::vector<std::int64_t> found;
  // One walk from the end RANK names (a position's element is not looked up anew each step).
  List::Iter it = forward ? l->begin() : l->end();
  for (std::uint64_t k = 0; k < scan && found.size() < want; ++k) {
    const std::size_t i = forward ? k : n - 1 - k;
    if (!forward) --it;
    const bool match = *it == c.arg(2);
    if (forward) ++it;
    if (!match) continue;
    if (skip > 0) {
      --skip;
      continue;
    }
    found.push_back(static_cast<std::int64_t>(i));
  }
  l->settle();
  if (!has_count) {
    if (found.empty()) return c.out.null();
    return c.out.integer(found[0]);
  }
  c.out.array_header(found.size());
  for (std::int64_t i : found) c.out.integer(i);
}

// LMOVE source destination LEFT|RIGHT LEFT|RIGHT and RPOPLPUSH (= RIGHT LEFT). The
// destination's type is checked before anything is popped; source = destination rotates.
void move_generic(CommandContext& c, bool from_left, bool to_left) {
  const std::string_view src = c.arg(1), dst = c.arg(2);
  bool wrong = false;
  List* s = list_at(c, src, wrong);
  if (wrong) return c.out.error(kErrWrongType);
  if (s == nullptr) return c.out.null();
  list_at(c, dst, wrong);
  if (wrong) return c.out.error(kErrWrongType);
  std::string v(from_left ? s->front() : s->back());
  if (from_left) s->pop_front();
  else s->pop_back();
  // The push is notified before the pop, as Redis does; with src == dst the list is never
  // empty (it lost one element and gets it back).
  List& d = list_for_write(c, dst);
  if (to_left) d.push_front(v);
  else d.push_back(v);
  c.part(dst).modified(dst);
  pubsub::event(pubsub::kEvList, to_left ? "lpush" : "rpush", dst);
  pubsub::event(pubsub::kEvList, from_left ? "lpop" : "rpop", src);
  if (src != dst) removed_from(c, src, *s);
  c.out.bulk(v);
}

bool parse_where(std::string_view s, bool& left) {
  if (iequal(s, "left")) left = true;
  else if (iequal(s, "right")) left = false;
  else return false;
  return true;
}

void lmove_cmd(CommandContext& c) {
  bool from_left = false, to_left = false;
  if (!parse_where(c.arg(3), from_left) || !parse_where(c.arg(4), to_left)) {
    return c.out.error(kErrSyntax);
  }
  move_generic(c, from_left, to_left);
}
void rpoplpush_cmd(CommandContext& c) { move_generic(c, false, true); }

constexpr HandlerEntry kListHandlers[] = {
    {"lpush", lpush_cmd},   {"rpush", rpush_cmd},     {"lpushx", lpushx_cmd},
    {"rpushx", rpushx_cmd}, {"lpop", lpop_cmd},       {"rpop", rpop_cmd},
    {"llen", llen_cmd},     {"lrange", lrange_cmd},   {"lindex", lindex_cmd},
    {"lset", lset_cmd},     {"lrem", lrem_cmd},       {"ltrim", ltrim_cmd},
    {"linsert", linsert_cmd}, {"lpos", lpos_cmd},     {"lmove", lmove_cmd},
    {"rpoplpush", rpoplpush_cmd},
};

}  // namespace

std::span<const HandlerEntry> list_handlers() { return kListHandlers; }

}  // namespace lfdb::db
