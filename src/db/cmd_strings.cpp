// String and counter commands. Each handler runs holding its keys' colors (command_context.hpp).
#include <climits>
#include <cstring>
#include <cmath>
#include <string>
#include <vector>

#include "db/command_context.hpp"
#include "db/strings.hpp"
#include "db/pubsub/notify.hpp"

namespace lfdb::db {
namespace {

enum SetFlags : unsigned {
  kNx = 1, kXx = 2, kGet = 4, kEx = 8, kPx = 16, kExat = 32, kPxat = 64, kKeepTtl = 128,
  kPersist = 256,
};
constexpr unsigned kAnyExpire = kEx | kPx | kExat | kPxat | kKeepTtl | kPersist;

// SET's and GETEX's option parser (parseExtendedStringArgumentsOrReply). `allowed` says which
// flags the command takes; an option repeated is allowed, two that exclude each other are not.
bool parse_set_options(CommandContext& c, std::size_t from, unsigned allowed, unsigned& flags,
                       std::string_view& expire_arg) {
  for (std::size_t i = from; i < c.argc(); ++i) {
    std::string_view o = c.arg(i);
    const bool has_next = i + 1 < c.argc();
    unsigned f = 0;
    if (iequal(o, "nx")) f = kNx;
    else if (iequal(o, "xx")) f = kXx;
    else if (iequal(o, "get")) f = kGet;
    else if (iequal(o, "keepttl")) f = kKeepTtl;
    else if (iequal(o, "persist")) f = kPersist;
    else if (iequal(o, "ex")) f = kEx;
    else if (iequal(o, "px")) f = kPx;
    else if (iequal(o, "exat")) f = kExat;
    else if (iequal(o, "pxat")) f = kPxat;
    const bool takes_value = (f & (kEx | kPx | kExat | kPxat)) != 0;
    unsigned excluded = 0;
    if (f == kNx) excluded = kXx;
    if (f == kXx) excluded = kNx;
    if (f & kAnyExpire) excluded = kAnyExpire & ~f;
    if (f == 0 || !(allowed & f) || (flags & excluded) || (takes_value && !has_next)) {
      c.out.error(kErrSyntax);
      return false;
    }
    flags |= f;
    if (takes_value) expire_arg = c.arg(++i);
  }
  return true;
}

// Turns SET/GETEX's expire option into an absolute deadline; Redis refuses <= 0 and overflow.
bool deadline(CommandContext& c, unsigned flags, std::string_view arg, std::string_view cmd,
              std::int64_t& at_ms) {
  at_ms = -1;
  if (!(flags & (kEx | kPx | kExat | kPxat))) return true;
  std::int64_t v = 0;
  if (!parse_int(arg, v)) {
    c.out.error(kErrNotInteger);
    return false;
  }
  const bool seconds = flags & (kEx | kExat);
  if (v <= 0 || (seconds && v > LLONG_MAX / 1000)) {
    c.out.error("ERR invalid expire time in '" + std::string(cmd) + "' command");
    return false;
  }
  if (seconds) v *= 1000;
  if (flags & (kEx | kPx)) {
    if (v > LLONG_MAX - c.now_ms) {
      c.out.error("ERR invalid expire time in '" + std::string(cmd) + "' command");
      return false;
    }
    v += c.now_ms;
  }
  at_ms = v;
  return true;
}

void set_cmd(CommandContext& c) {
  unsigned flags = 0;
  std::string_view expire_arg;
  if (!parse_set_options(c, 3, kNx | kXx | kGet | kEx | kPx | kExat | kPxat | kKeepTtl, flags,
                         expire_arg)) {
    return;
  }
  std::int64_t at = -1;
  if (!deadline(c, flags, expire_arg, "set", at)) return;
  const std::string_view key = c.arg(1);
  bool wrong = false;
  Entry* e = string_at(c, key, wrong);
  if ((flags & kGet) && wrong) {
    c.out.error(kErrWrongType);
    return;
  }
  if ((flags & kNx && e != nullptr) || (flags & kXx && e == nullptr)) {
    if (flags & kGet) {
      if (e) c.out.bulk(e->value.str());
      else c.out.null();
    } else {
      c.out.null();
    }
    return;
  }
  if (flags & kGet) {
    if (e) c.out.bulk(e->value.str());
    else c.out.null();
  }
  if (at >= 0 && at <= c.now_ms) {
    c.part(key).erase(key, c.now_ms);  // already expired: the write is a delete
    pubsub::event(pubsub::kEvGeneric, "del", key);
  } else {
    store(c, key, c.arg(2), at, (flags & kKeepTtl) != 0);
    pubsub::event(pubsub::kEvString, "set", key);
    if (at >= 0) pubsub::event(pubsub::kEvGeneric, "expire", key);
  }
  if (!(flags & kGet)) c.out.simple_string("OK");
}

void setnx_cmd(CommandContext& c) {
  if (c.find(c.arg(1)) != nullptr) {
    c.out.integer(0);
    return;
  }
  store(c, c.arg(1), c.arg(2), -1, false);
  pubsub::event(pubsub::kEvString, "set", c.arg(1));
  c.out.integer(1);
}

void setex_generic(CommandContext& c, bool ms, std::string_view cmd) {
  std::int64_t v = 0;
  if (!parse_int(c.arg(2), v)) {
    c.out.error(kErrNotInteger);
    return;
  }
  if (v <= 0 || (!ms && v > LLONG_MAX / 1000)) {
    c.out.error("ERR invalid expire time in '" + std::string(cmd) + "' command");
    return;
  }
  if (!ms) v *= 1000;
  if (v > LLONG_MAX - c.now_ms) {
    c.out.error("ERR invalid expire time in '" + std::string(cmd) + "' command");
    return;
  }
  store(c, c.arg(1), c.arg(3), c.now_ms + v, false);
  pubsub::event(pubsub::kEvString, "set", c.arg(1));
  pubsub::event(pubsub::kEvGeneric, "expire", c.arg(1));
  c.out.simple_string("OK");
}
void setex_cmd(CommandContext& c) { setex_generic(c, false, "setex"); }
void psetex_cmd(CommandContext& c) { setex_generic(c, true, "psetex"); }

void get_cmd(CommandContext& c) {
  bool wrong = false;
  Entry* e = string_at(c, c.arg(1), wrong);
  if (wrong) return c.out.error(kErrWrongType);
  if (e == nullptr) return c.out.null();
  c.out.bulk(e->value.str());
}

void getset_cmd(CommandContext& c) {
  bool wrong = false;
  Entry* e = string_at(c, c.arg(1), wrong);
  if (wrong) return c.out.error(kErrWrongType);
  if (e) c.out.bulk(e->value.str());
  else c.out.null();
  store(c, c.arg(1), c.arg(2), -1, false);
  pubsub::event(pubsub::kEvString, "set", c.arg(1));
}

void getdel_cmd(CommandContext& c) {
  bool wrong = false;
  Entry* e = string_at(c, c.arg(1), wrong);
  if (wrong) return c.out.error(kErrWrongType);
  if (e == nullptr) return c.out.null();
  c.out.bulk(e->value.str());
  c.part(c.arg(1)).erase(c.arg(1), c.now_ms);
  pubsub::event(pubsub::kEvGeneric, "del", c.arg(1));
}

void getex_cmd(CommandContext& c) {
  unsigned flags = 0;
  std::string_view expire_arg;
  if (!parse_set_options(c, 2, kEx | kPx | kExat | kPxat | kPersist, flags, expire_arg)) return;
  std::int64_t at = -1;
  if (!deadline(c, flags, expire_arg, "getex", at)) return;
  const std::string_view key = c.arg(1);
  bool wrong = false;
  Entry* e = string_at(c, key, wrong);
  if (wrong) return c.out.error(kErrWrongType);
  if (e == nullptr) return c.out.null();
  c.out.bulk(e->value.str());
  Partition& p = c.part(key);
  if (at >= 0 && at <= c.now_ms) {
    p.erase(key, c.now_ms);
    pubsub::event(pubsub::kEvGeneric, "del", key);
  } else if (at >= 0) {
    p.set_expire(key, *e, at);
    p.modified(key);
    pubsub::event(pubsub::kEvGeneric, "expire", key);
  } else if ((flags & kPersist) && e->value.has_deadline()) {
    p.set_expire(key, *e, -1);
    p.modified(key);
    pubsub::event(pubsub::kEvGeneric, "persist", key);
  }
}

void mget_cmd(CommandContext& c) {
  c.out.array_header(c.argc() - 1);
  for (std::size_t i = 1; i < c.argc(); ++i) {
    Entry* e = c.find(c.arg(i));
    if (e == nullptr || e->value.type() != Type::kString) c.out.null();
    else c.out.bulk(e->value.str());
  }
}

void mset_generic(CommandContext& c, bool nx) {
  if (c.argc() % 2 == 0) {
    c.out.error(nx ? "ERR wrong number of arguments for 'msetnx' command"
                   : "ERR wrong number of arguments for 'mset' command");
    return;
  }
  if (nx) {
    for (std::size_t i = 1; i < c.argc(); i += 2) {
      if (c.find(c.arg(i)) != nullptr) {
        c.out.integer(0);
        return;
      }
    }
  }
  for (std::size_t i = 1; i < c.argc(); i += 2) {
    store(c, c.arg(i), c.arg(i + 1), -1, false);
    pubsub::event(pubsub::kEvString, "set", c.arg(i));
  }
  if (nx) c.out.integer(1);
  else c.out.simple_string("OK");
}
void mset_cmd(CommandContext& c) { mset_generic(c, false); }
void msetnx_cmd(CommandContext& c) { mset_generic(c, true); }

void append_cmd(CommandContext& c) {
  const std::string_view key = c.arg(1);
  bool wrong = false;
  Entry* e = string_at(c, key, wrong);
  if (wrong) return c.out.error(kErrWrongType);
  if (e == nullptr) {
    store(c, key, c.arg(2), -1, false);
    pubsub::event(pubsub::kEvString, "append", key);
    c.out.integer(static_cast<std::int64_t>(c.arg(2).size()));
    return;
  }
  if (e->value.str().size() + c.arg(2).size() > kMaxStringSize) {
    return c.out.error(kErrStringTooLong);
  }
  e->value.str().append(c.arg(2));
  e->value.form = StrForm::kRaw;
  c.part(key).modified(key);
  pubsub::event(pubsub::kEvString, "append", key);
  c.out.integer(static_cast<std::int64_t>(e->value.str().size()));
}

void strlen_cmd(CommandContext& c) {
  bool wrong = false;
  Entry* e = string_at(c, c.arg(1), wrong);
  if (wrong) return c.out.error(kErrWrongType);
  c.out.integer(e ? static_cast<std::int64_t>(e->value.str().size()) : 0);
}

void getrange_cmd(CommandContext& c) {
  std::int64_t start = 0, end = 0;
  if (!parse_int(c.arg(2), start) || !parse_int(c.arg(3), end)) {
    return c.out.error(kErrNotInteger);
  }
  bool wrong = false;
  Entry* e = string_at(c, c.arg(1), wrong);
  if (wrong) return c.out.error(kErrWrongType);
  if (e == nullptr) return c.out.bulk("");
  const auto len = static_cast<std::int64_t>(e->value.str().size());
  if (start < 0 && end < 0 && start > end) return c.out.bulk("");
  if (start < 0) start += len;
  if (end < 0) end += len;
  if (start < 0) start = 0;
  if (end < 0) end = 0;
  if (end >= len) end = len - 1;
  if (start > end || len == 0) return c.out.bulk("");
  c.out.bulk(std::string_view(e->value.str()).substr(static_cast<std::size_t>(start),
                                                   static_cast<std::size_t>(end - start + 1)));
}

void setrange_cmd(CommandContext& c) {
  std::int64_t offset = 0;
  if (!parse_int(c.arg(2), offset)) return c.out.error(kErrNotInteger);
  if (offset < 0) return c.out.error("ERR offset is out of range");
  const std::string_view key = c.arg(1), value = c.arg(3);
  bool wrong = false;
  Entry* e = string_at(c, key, wrong);
  if (wrong) return c.out.error(kErrWrongType);
  const std::size_t cur = e ? e->value.str().size() : 0;
  if (value.empty()) return c.out.integer(static_cast<std::int64_t>(cur));
  if (static_cast<std::uint64_t>(offset) + value.size() > kMaxStringSize) {
    return c.out.error(kErrStringTooLong);
  }
  if (e == nullptr) {
    store(c, key, "", -1, false);
    e = c.find(key);
  }
  CompactString& s = e->value.str();
  const auto off = static_cast<std::size_t>(offset);
  if (s.size() < off + value.size()) s.resize(off + value.size(), '\0');
  std::memcpy(s.data() + off, value.data(), value.size());
  e->value.form = StrForm::kRaw;
  c.part(key).modified(key);
  pubsub::event(pubsub::kEvString, "setrange", key);
  c.out.integer(static_cast<std::int64_t>(s.size()));
}

void incr_generic(CommandContext& c, std::int64_t by) {
  const std::string_view key = c.arg(1);
  bool wrong = false;
  Entry* e = string_at(c, key, wrong);
  if (wrong) return c.out.error(kErrWrongType);
  std::int64_t v = 0;
  if (e != nullptr && !parse_int(e->value.str(), v)) return c.out.error(kErrNotInteger);
  if ((by < 0 && v < 0 && by < LLONG_MIN - v) || (by > 0 && v > 0 && by > LLONG_MAX - v)) {
    return c.out.error(kErrOverflow);
  }
  v += by;
  if (e == nullptr) {
    store(c, key, format_int(v), -1, false);
  } else {
    e->value.str() = format_int(v);
    e->value.form = StrForm::kShaped;  // an integer, "int" as Redis stores counters
    c.part(key).modified(key);
  }
  pubsub::event(pubsub::kEvString, "incrby", key);
  c.out.integer(v);
}
void incr_cmd(CommandContext& c) { incr_generic(c, 1); }
void decr_cmd(CommandContext& c) { incr_generic(c, -1); }
void incrby_cmd(CommandContext& c) {
  std::int64_t by = 0;
  if (!parse_int(c.arg(2), by)) return c.out.error(kErrNotInteger);
  incr_generic(c, by);
}
void decrby_cmd(CommandContext& c) {
  std::int64_t by = 0;
  if (!parse_int(c.arg(2), by)) return c.out.error(kErrNotInteger);
  if (by == LLONG_MIN) return c.out.error("ERR decrement would overflow");
  incr_generic(c, -by);
}

void incrbyfloat_cmd(CommandContext& c) {
  const std::string_view key = c.arg(1);
  bool wrong = false;
  Entry* e = string_at(c, key, wrong);
  if (wrong) return c.out.error(kErrWrongType);
  long double v = 0, by = 0;
  if ((e != nullptr && !parse_long_double(e->value.str(), v)) || !parse_long_double(c.arg(2), by)) {
    return c.out.error(kErrNotFloat);
  }
  v += by;
  if (std::isnan(v) || std::isinf(v)) return c.out.error(kErrNanOrInf);
  std::string s = format_long_double(v);
  if (e == nullptr) {
    store(c, key, s, -1, false);
    e = c.find(key);
  } else {
    e->value.str() = s;
    c.part(key).modified(key);
  }
  // Redis makes the result a string object from its text, never tried as an integer: "11"
  // after INCRBYFLOAT is "embstr", where SET's "11" is "int".
  e->value.form = StrForm::kText;
  pubsub::event(pubsub::kEvString, "incrbyfloat", key);
  c.out.bulk(s);
}

// LCS key1 key2 [LEN] [IDX] [MINMATCHLEN len] [WITHMATCHLEN] (lcsCommand): the longest common
// subsequence of two strings (a missing key is ""), its length, or the matching ranges, found
// by dynamic programming over a (|a|+1) x (|b|+1) table and read back from the ends of both
// strings, so ranges come last-first, as Redis lists them.
void lcs_cmd(CommandContext& c) {
  std::string_view a, b;
  for (std::size_t k = 1; k <= 2; ++k) {
    const Entry* e = c.find(c.arg(k));
    if (e == nullptr) continue;
    if (e->value.type() != Type::kString) return c.out.error("ERR The specified keys must contain string values");
    (k == 1 ? a : b) = e->value.str();
  }
  bool want_idx = false, want_len = false, with_match_len = false;
  std::int64_t min_match_len = 0;
  for (std::size_t j = 3; j < c.argc(); ++j) {
    const std::string_view o = c.arg(j);
    if (iequal(o, "idx")) want_idx = true;
    else if (iequal(o, "len")) want_len = true;
    else if (iequal(o, "withmatchlen")) with_match_len = true;
    else if (iequal(o, "minmatchlen") && j + 1 < c.argc()) {
      if (!parse_int(c.arg(++j), min_match_len)) return c.out.error(kErrNotInteger);
      if (min_match_len < 0) min_match_len = 0;
    } else {
      return c.out.error(kErrSyntax);
    }
  }
  if (want_idx && want_len) {
    return c.out.error("ERR If you want both the length and indexes, please just use IDX.");
  }
  const std::size_t alen = a.size(), blen = b.size();
  const std::uint64_t cells = static_cast<std::uint64_t>(alen + 1) * (blen + 1);
  if (cells * sizeof(std::uint32_t) > kMaxStringSize) {
    return c.out.error("ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len");
  }
  // table[i][j]: the LCS length of a[0, i) and b[0, j).
  std::vector<std::uint32_t> table(cells, 0);
  auto at = [&](std::size_t i, std::size_t j) -> std::uint32_t& { return table[i * (blen + 1) + j]; };
  for (std::size_t i = 1; i <= alen; ++i) {
    for (std::size_t j = 1; j <= blen; ++j) {
      at(i, j) = a[i - 1] == b[j - 1] ? at(i - 1, j - 1) + 1 : std::max(at(i - 1, j), at(i, j - 1));
    }
  }
  const std::uint32_t total = at(alen, blen);
  if (want_len) return c.out.integer(total);

  // Back from the ends: a matching byte extends the current run of matches backwards; leaving
  // a run (a mismatch, or the start of either string) reports it.
  struct Match {
    std::size_t a0, a1, b0, b1;
  };
  std::vector<Match> matches;
  std::string common(total, '\0');
  std::size_t fill = total;
  bool in_run = false;
  Match run{};
  std::size_t i = alen, j = blen;
  while (i > 0 && j > 0) {
    bool report = false;
    if (a[i - 1] == b[j - 1]) {
      common[--fill] = a[i - 1];
      if (!in_run) {
        run = Match{i - 1, i - 1, j - 1, j - 1};
        in_run = true;
      } else {
        --run.a0;  // contiguous with the run: a match always follows a match diagonally
        --run.b0;
      }
      report = run.a0 == 0 || run.b0 == 0;
      --i;
      --j;
    } else {
      if (at(i - 1, j) > at(i, j - 1)) --i;
      else --j;
      report = in_run;
    }
    if (report) {
      const std::size_t len = run.a1 - run.a0 + 1;
      if (static_cast<std::uint64_t>(min_match_len) <= len) matches.push_back(run);
      in_run = false;
    }
  }
  if (!want_idx) return c.out.bulk(common);
  c.out.map_header(2);
  c.out.bulk("matches");
  c.out.array_header(matches.size());
  for (const Match& m : matches) {
    c.out.array_header(with_match_len ? 3 : 2);
    c.out.array_header(2);
    c.out.integer(static_cast<std::int64_t>(m.a0));
    c.out.integer(static_cast<std::int64_t>(m.a1));
    c.out.array_header(2);
    c.out.integer(static_cast<std::int64_t>(m.b0));
    c.out.integer(static_cast<std::int64_t>(m.b1));
    if (with_match_len) c.out.integer(static_cast<std::int64_t>(m.a1 - m.a0 + 1));
  }
  c.out.bulk("len");
  c.out.integer(total);
}

constexpr HandlerEntry kStringHandlers[] = {
    {"lcs", lcs_cmd},         {"substr", getrange_cmd},  // SUBSTR: GETRANGE's old name
    {"get", get_cmd},         {"set", set_cmd},
    {"setnx", setnx_cmd},     {"setex", setex_cmd},
    {"psetex", psetex_cmd},   {"getset", getset_cmd},
    {"getdel", getdel_cmd},   {"getex", getex_cmd},
    {"mget", mget_cmd},       {"mset", mset_cmd},
    {"msetnx", msetnx_cmd},   {"append", append_cmd},
    {"strlen", strlen_cmd},   {"getrange", getrange_cmd},
    {"setrange", setrange_cmd}, {"incr", incr_cmd},
    {"decr", decr_cmd},       {"incrby", incrby_cmd},
    {"decrby", decrby_cmd},   {"incrbyfloat", incrbyfloat_cmd},
};

}  // namespace

std::span<const HandlerEntry> string_handlers() { return kStringHandlers; }

}  // namespace lfdb::db
