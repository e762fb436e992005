// The key specifications of lfdb's commands (key_specs.hpp): Redis 7.0.15's, as its COMMAND INFO
// reports them, one row per key spec, a command's rows in Redis's order. A command missing here
// has no keys. Checked against redis-server by tests/integration/test_introspection.py.
#include "commands/key_specs.hpp"

#include <algorithm>
#include <iterator>

namespace lfdb::commands {
namespace {

constexpr std::uint16_t RO = kKeyRO, RW = kKeyRW, OW = kKeyOW, RM = kKeyRM, AC = kKeyAccess,
                        UP = kKeyUpdate, IN = kKeyInsert, DE = kKeyDelete, NOTKEY = kKeyNotKey,
                        INC = kKeyIncomplete, VAR = kKeyVariableFlags;

constexpr BeginSearch Index(int i) { return {BeginSearch::Type::kIndex, i, {}}; }
constexpr BeginSearch Keyword(std::string_view k, int startfrom) {
  return {BeginSearch::Type::kKeyword, startfrom, k};
}
constexpr BeginSearch UnknownBegin() { return {}; }
constexpr FindKeys Range(int lastkey, int step, int limit) {
  return {FindKeys::Type::kRange, lastkey, step, limit};
}
constexpr FindKeys Keynum(int keynumidx, int firstkey, int step) {
  return {FindKeys::Type::kKeynum, keynumidx, firstkey, step};
}
constexpr FindKeys UnknownFind() { return {}; }

struct Row {
  std::string_view command;
  KeySpec spec;
};

constexpr Row kRows[] = {
    {"append", {RW | IN, Index(1), Range(0, 1, 0)}},
    {"bitcount", {RO | AC, Index(1), Range(0, 1, 0)}},
    {"bitfield", {RW | AC | UP | VAR, Index(1), Range(0, 1, 0)}},
    {"bitfield_ro", {RO | AC, Index(1), Range(0, 1, 0)}},
    {"bitop", {OW | UP, Index(2), Range(0, 1, 0)}},
    {"bitop", {RO | AC, Index(3), Range(-1, 1, 0)}},
    {"bitpos", {RO | AC, Index(1), Range(0, 1, 0)}},
    {"blmove", {RW | AC | DE, Index(1), Range(0, 1, 0)}},
    {"blmove", {RW | IN, Index(2), Range(0, 1, 0)}},
    {"blmpop", {RW | AC | DE, Index(2), Keynum(0, 1, 1)}},
    {"blpop", {RW | AC | DE, Index(1), Range(-2, 1, 0)}},
    {"brpop", {RW | AC | DE, Index(1), Range(-2, 1, 0)}},
    {"brpoplpush", {RW | AC | DE, Index(1), Range(0, 1, 0)}},
    {"brpoplpush", {RW | IN, Index(2), Range(0, 1, 0)}},
    {"bzmpop", {RW | AC | DE, Index(2), Keynum(0, 1, 1)}},
    {"bzpopmax", {RW | AC | DE, Index(1), Range(-2, 1, 0)}},
    {"bzpopmin", {RW | AC | DE, Index(1), Range(-2, 1, 0)}},
    {"copy", {RO | AC, Index(1), Range(0, 1, 0)}},
    {"copy", {OW | UP, Index(2), Range(0, 1, 0)}},
    {"decr", {RW | AC | UP, Index(1), Range(0, 1, 0)}},
    {"decrby", {RW | AC | UP, Index(1), Range(0, 1, 0)}},
    {"del", {RM | DE, Index(1), Range(-1, 1, 0)}},
    {"dump", {RO | AC, Index(1), Range(0, 1, 0)}},
    {"eval", {RW | AC | UP, Index(2), Keynum(0, 1, 1)}},
    {"eval_ro", {RO | AC, Index(2), Keynum(0, 1, 1)}},
    {"evalsha", {RW | AC | UP, Index(2), Keynum(0, 1, 1)}},
    {"evalsha_ro", {RO | AC, Index(2), Keynum(0, 1, 1)}},
    {"exists", {RO, Index(1), Range(-1, 1, 0)}},
    {"expire", {RW | UP, Index(1), Range(0, 1, 0)}},
    {"expireat", {RW | UP, Index(1), Range(0, 1, 0)}},
    {"expiretime", {RO | AC, Index(1), Range(0, 1, 0)}},
    {"fcall", {RW | AC | UP, Index(2), Keynum(0, 1, 1)}},
    {"fcall_ro", {RO | AC, Index(2), Keynum(0, 1, 1)}},
    {"geoadd", {RW | UP, Index(1), Range(0, 1, 0)}},
    {"geodist", {RO | AC, Index(1), Range(0, 1, 0)}},
    {"geohash", {RO | AC, Index(1), Range(0, 1, 0)}},
    {"geopos", {RO | AC, Index(1), Range(0, 1, 0)}},
    {"georadius", {RO | AC, Index(1), Range(0, 1, 0)}},
    {"georadius", {OW | UP, Keyword("STORE", 6), Range(0, 1, 0)}},
    {"georadius", {OW | UP, Keyword("STOREDIST", 6), Range(0, 1, 0)}},
    {"georadius_ro", {RO | AC, Index(1), Range(0, 1, 0)}},
    {"georadiusbymember", {RO | AC, Index(1), Range(0, 1, 0)}},
    {"georadiusbymember", {OW | UP, Keyword("STORE", 5), Range(0, 1, 0)}},
    {"georadiusbymember", {OW | UP, Keyword("STOREDIST", 5), Range(0, 1, 0)}},
    {"georadiusbymember_ro", {RO | AC, Index(1), Range(0, 1, 0)}},
    {"geosearch", {RO | AC, Index(1), Range(0, 1, 0)}},
    {"geosearchstore", {OW | UP, Index(1), Range(0, 1, 0)}},
    {"geosearchstore", {RO | AC, Index(2), Range(0, 1, 0)}},
    {"get", {RO | AC, Index(1), Range(0, 1, 0)}},
    {"getbit", {RO | AC, Index(1), Range(0, 1, 0)}},
    {"getdel", {RW | AC | DE, Index(1), Range(0, 1, 0)}},
    {"getex", {RW | AC | UP, Index(1), Range(0, 1, 0)}},
    {"getrange", {RO | AC, Index(1), Range(0, 1, 0)}},
    {"getset", {RW | AC | UP, Index(1), Range(0, 1, 0)}},
    {"hdel", {RW | DE, Index(1), Range(0, 1, 0)}},
    {"hexists", {RO, Index(1), Range(0, 1, 0)}},
    {"hget", {RO | AC, Index(1), Range(0, 1, 0)}},
    {"hgetall", {RO | AC, Index(1), Range(0, 1, 0)}},
    {"hincrby", {RW | AC | UP, Index(1), Range(0, 1, 0)}},
    {"hincrbyfloat", {RW | AC | UP, Index(1), Range(0, 1, 0)}},
    {"hkeys", {RO | AC, Index(1), Range(0, 1, 0)}},
    {"hlen", {RO, Index(1), Range(0, 1, 0)}},
    {"hmget", {RO | AC, Index(1), Range(0, 1, 0)}},
    {"hmset", {RW | UP, Index(1), Range(0, 1, 0)}},
    {"hrandfield", {RO | AC, Index(1), Range(0, 1, 0)}},
    {"hscan", {RO | AC, Index(1), Range(0, 1, 0)}},
    {"hset", {RW | UP, Index(1), Range(0, 1, 0)}},
    {"hsetnx", {RW | IN, Index(1), Range(0, 1, 0)}},
    {"hstrlen", {RO, Index(1), Range(0, 1, 0)}},
    {"hvals", {RO | AC, Index(1), Range(0, 1, 0)}},
    {"incr", {RW | AC | UP, Index(1), Range(0, 1, 0)}},
    {"incrby", {RW | AC | UP, Index(1), Range(0, 1, 0)}},
    {"incrbyfloat", {RW | AC | UP, Index(1), Range(0, 1, 0)}},
    {"lcs", {RO | AC, Index(1), Range(1, 1, 0)}},
    {"lindex", {RO | AC, Index(1), Range(0, 1, 0)}},
    {"linsert", {RW | IN, Index(1), Range(0, 1, 0)}},
    {"llen", {RO, Index(1), Range(0, 1, 0)}},
    {"lmove", {RW | AC | DE, Index(1), Range(0, 1, 0)}},
    {"lmove", {RW | IN, Index(2), Range(0, 1, 0)}},
    {"lmpop", {RW | AC | DE, Index(1), Keynum(0, 1, 1)}},
    {"lpop", {RW | AC | DE, Index(1), Range(0, 1, 0)}},
    {"lpos", {RO | AC, Index(1), Range(0, 1, 0)}},
    {"lpush", {RW | IN, Index(1), Range(0, 1, 0)}},
    {"lpushx", {RW | IN, Index(1), Range(0, 1, 0)}},
    {"lrange", {RO | AC, Index(1), Range(0, 1, 0)}},
    {"lrem", {RW | DE, Index(1), Range(0, 1, 0)}},
    {"lset", {RW | UP, Index(1), Range(0, 1, 0)}},
    {"ltrim", {RW | DE, Index(1), Range(0, 1, 0)}},
    {"memory|usage", {RO, Index(2), Range(0, 1, 0)}},
    {"mget", {RO | AC, Index(1), Range(-1, 1, 0)}},
    {"migrate", {RW | AC | DE, Index(3), Range(0, 1, 0)}},
    {"migrate", {RW | AC | DE | INC, Keyword("KEYS", -2), Range(-1, 1, 0)}},
    {"move", {RW | AC | UP, Index(1), Range(0, 1, 0)}},
    {"mset", {OW | UP, Index(1), Range(-1, 2, 0)}},
    {"msetnx", {OW | IN, Index(1), Range(-1, 2, 0)}},
    {"object|encoding", {RO, Index(2), Range(0, 1, 0)}},
    {"object|freq", {RO, Index(2), Range(0, 1, 0)}},
    {"object|idletime", {RO, Index(2), Range(0, 1, 0)}},
    {"object|refcount", {RO, Index(2), Range(0, 1, 0)}},
    {"persist", {RW | UP, Index(1), Range(0, 1, 0)}},
    {"pexpire", {RW | UP, Index(1), Range(0, 1, 0)}},
    {"pexpireat", {RW | UP, Index(1), Range(0, 1, 0)}},
    {"pexpiretime", {RO | AC, Index(1), Range(0, 1, 0)}},
    {"pfadd", {RW | IN, Index(1), Range(0, 1, 0)}},
    {"pfcount", {RW | AC, Index(1), Range(-1, 1, 0)}},
    {"pfdebug", {RW | AC, Index(2), Range(0, 1, 0)}},
    {"pfmerge", {RW | AC | IN, Index(1), Range(0, 1, 0)}},
    {"pfmerge", {RO | AC, Index(2), Range(-1, 1, 0)}},
    {"psetex", {OW | UP, Index(1), Range(0, 1, 0)}},
    {"pttl", {RO | AC, Index(1), Range(0, 1, 0)}},
    {"rename", {RW | AC | DE, Index(1), Range(0, 1, 0)}},
    {"rename", {OW | UP, Index(2), Range(0, 1, 0)}},
    {"renamenx", {RW | AC | DE, Index(1), Range(0, 1, 0)}},
    {"renamenx", {OW | IN, Index(2), Range(0, 1, 0)}},
    {"restore", {OW | UP, Index(1), Range(0, 1, 0)}},
    {"rpop", {RW | AC | DE, Index(1), Range(0, 1, 0)}},
    {"rpoplpush", {RW | AC | DE, Index(1), Range(0, 1, 0)}},
    {"rpoplpush", {RW | IN, Index(2), Range(0, 1, 0)}},
    {"rpush", {RW | IN, Index(1), Range(0, 1, 0)}},
    {"rpushx", {RW | IN, Index(1), Range(0, 1, 0)}},
    {"sadd", {RW | IN, Index(1), Range(0, 1, 0)}},
    {"scard", {RO, Index(1), Range(0, 1, 0)}},
    {"sdiff", {RO | AC, Index(1), Range(-1, 1, 0)}},
    {"sdiffstore", {OW | UP, Index(1), Range(0, 1, 0)}},
    {"sdiffstore", {RO | AC, Index(2), Range(-1, 1, 0)}},
    {"set", {RW | AC | UP | VAR, Index(1), Range(0, 1, 0)}},
    {"setbit", {RW | AC | UP, Index(1), Range(0, 1, 0)}},
    {"setex", {OW | UP, Index(1), Range(0, 1, 0)}},
    {"setnx", {OW | IN, Index(1), Range(0, 1, 0)}},
    {"setrange", {RW | UP, Index(1), Range(0, 1, 0)}},
    {"sinter", {RO | AC, Index(1), Range(-1, 1, 0)}},
    {"sintercard", {RO | AC, Index(1), Keynum(0, 1, 1)}},
    {"sinterstore", {RW | UP, Index(1), Range(0, 1, 0)}},
    {"sinterstore", {RO | AC, Index(2), Range(-1, 1, 0)}},
    {"sismember", {RO, Index(1), Range(0, 1, 0)}},
    {"smembers", {RO | AC, Index(1), Range(0, 1, 0)}},
    {"smismember", {RO | AC, Index(1), Range(0, 1, 0)}},
    {"smove", {RW | AC | DE, Index(1), Range(0, 1, 0)}},
    {"smove", {RW | IN, Index(2), Range(0, 1, 0)}},
    {"sort", {RO | AC, Index(1), Range(0, 1, 0)}},
    {"sort", {RO | AC, UnknownBegin(), UnknownFind()}},
    {"sort", {OW | UP, UnknownBegin(), UnknownFind()}},
    {"sort_ro", {RO | AC, Index(1), Range(0, 1, 0)}},
    {"sort_ro", {RO | AC, UnknownBegin(), UnknownFind()}},
    {"spop", {RW | AC | DE, Index(1), Range(0, 1, 0)}},
    {"spublish", {NOTKEY, Index(1), Range(0, 1, 0)}},
    {"srandmember", {RO | AC, Index(1), Range(0, 1, 0)}},
    {"srem", {RW | DE, Index(1), Range(0, 1, 0)}},
    {"sscan", {RO | AC, Index(1), Range(0, 1, 0)}},
    {"ssubscribe", {NOTKEY, Index(1), Range(-1, 1, 0)}},
    {"strlen", {RO, Index(1), Range(0, 1, 0)}},
    {"substr", {RO | AC, Index(1), Range(0, 1, 0)}},
    {"sunion", {RO | AC, Index(1), Range(-1, 1, 0)}},
    {"sunionstore", {OW | UP, Index(1), Range(0, 1, 0)}},
    {"sunionstore", {RO | AC, Index(2), Range(-1, 1, 0)}},
    {"sunsubscribe", {NOTKEY, Index(1), Range(-1, 1, 0)}},
    {"touch", {RO, Index(1), Range(-1, 1, 0)}},
    {"ttl", {RO | AC, Index(1), Range(0, 1, 0)}},
    {"type", {RO, Index(1), Range(0, 1, 0)}},
    {"unlink", {RM | DE, Index(1), Range(-1, 1, 0)}},
    {"watch", {RO, Index(1), Range(-1, 1, 0)}},
    {"xack", {RW | UP, Index(1), Range(0, 1, 0)}},
    {"xadd", {RW | UP, Index(1), Range(0, 1, 0)}},
    {"xautoclaim", {RW | DE, Index(1), Range(0, 1, 0)}},
    {"xclaim", {RW | UP, Index(1), Range(0, 1, 0)}},
    {"xdel", {RW | DE, Index(1), Range(0, 1, 0)}},
    {"xgroup|create", {RW | IN, Index(2), Range(0, 1, 0)}},
    {"xgroup|createconsumer", {RW | IN, Index(2), Range(0, 1, 0)}},
    {"xgroup|delconsumer", {RW | DE, Index(2), Range(0, 1, 0)}},
    {"xgroup|destroy", {RW | DE, Index(2), Range(0, 1, 0)}},
    {"xgroup|setid", {RW | UP, Index(2), Range(0, 1, 0)}},
    {"xinfo|consumers", {RO | AC, Index(2), Range(0, 1, 0)}},
    {"xinfo|groups", {RO | AC, Index(2), Range(0, 1, 0)}},
    {"xinfo|stream", {RO | AC, Index(2), Range(0, 1, 0)}},
    {"xlen", {RO, Index(1), Range(0, 1, 0)}},
    {"xpending", {RO | AC, Index(1), Range(0, 1, 0)}},
    {"xrange", {RO | AC, Index(1), Range(0, 1, 0)}},
    {"xread", {RO | AC, Keyword("STREAMS", 1), Range(-1, 1, 2)}},
    {"xreadgroup", {RO | AC, Keyword("STREAMS", 4), Range(-1, 1, 2)}},
    {"xrevrange", {RO | AC, Index(1), Range(0, 1, 0)}},
    {"xsetid", {RW | UP, Index(1), Range(0, 1, 0)}},
    {"xtrim", {RW | DE, Index(1), Range(0, 1, 0)}},
    {"zadd", {RW | UP, Index(1), Range(0, 1, 0)}},
    {"zcard", {RO, Index(1), Range(0, 1, 0)}},
    {"zcount", {RO | AC, Index(1), Range(0, 1, 0)}},
    {"zdiff", {RO | AC, Index(1), Keynum(0, 1, 1)}},
    {"zdiffstore", {OW | UP, Index(1), Range(0, 1, 0)}},
    {"zdiffstore", {RO | AC, Index(2), Keynum(0, 1, 1)}},
    {"zincrby", {RW | AC | UP, Index(1), Range(0, 1, 0)}},
    {"zinter", {RO | AC, Index(1), Keynum(0, 1, 1)}},
    {"zintercard", {RO | AC, Index(1), Keynum(0, 1, 1)}},
    {"zinterstore", {OW | UP, Index(1), Range(0, 1, 0)}},
    {"zinterstore", {RO | AC, Index(2), Keynum(0, 1, 1)}},
    {"zlexcount", {RO | AC, Index(1), Range(0, 1, 0)}},
    {"zmpop", {RW | AC | DE, Index(1), Keynum(0, 1, 1)}},
    {"zmscore", {RO | AC, Index(1), Range(0, 1, 0)}},
    {"zpopmax", {RW | AC | DE, Index(1), Range(0, 1, 0)}},
    {"zpopmin", {RW | AC | DE, Index(1), Range(0, 1, 0)}},
    {"zrandmember", {RO | AC, Index(1), Range(0, 1, 0)}},
    {"zrange", {RO | AC, Index(1), Range(0, 1, 0)}},
    {"zrangebylex", {RO | AC, Index(1), Range(0, 1, 0)}},
    {"zrangebyscore", {RO | AC, Index(1), Range(0, 1, 0)}},
    {"zrangestore", {OW | UP, Index(1), Range(0, 1, 0)}},
    {"zrangestore", {RO | AC, Index(2), Range(0, 1, 0)}},
    {"zrank", {RO | AC, Index(1), Range(0, 1, 0)}},
    {"zrem", {RW | DE, Index(1), Range(0, 1, 0)}},
    {"zremrangebylex", {RW | DE, Index(1), Range(0, 1, 0)}},
    {"zremrangebyrank", {RW | DE, Index(1), Range(0, 1, 0)}},
    {"zremrangebyscore", {RW | DE, Index(1), Range(0, 1, 0)}},
    {"zrevrange", {RO | AC, Index(1), Range(0, 1, 0)}},
    {"zrevrangebylex", {RO | AC, Index(1), Range(0, 1, 0)}},
    {"zrevrangebyscore", {RO | AC, Index(1), Range(0, 1, 0)}},
    {"zrevrank", {RO | AC, Index(1), Range(0, 1, 0)}},
    {"zscan", {RO | AC, Index(1), Range(0, 1, 0)}},
    {"zscore", {RO | AC, Index(1), Range(0, 1, 0)}},
    {"zunion", {RO | AC, Index(1), Keynum(0, 1, 1)}},
    {"zunionstore", {OW | UP, Index(1), Range(0, 1, 0)}},
    {"zunionstore", {RO | AC, Index(2), Keynum(0, 1, 1)}},
};

// Each spec's rows, by the spec's dense index (command_table.hpp).
const std::vector<std::span<const KeySpec>>& by_index() {
  static const std::vector<std::span<const KeySpec>> index = [] {
    static std::vector<KeySpec> flat;
    flat.reserve(std::size(kRows));
    for (const Row& r : kRows) flat.push_back(r.spec);
    std::vector<std::span<const KeySpec>> out(command_count());
    for (std::size_t i = 0; i < std::size(kRows);) {
      std::size_t j = i;
      while (j < std::size(kRows) && kRows[j].command == kRows[i].command) ++j;
      for (std::uint16_t k = 0; k < out.size(); ++k) {
        if (spec_at(k).name == kRows[i].command) out[k] = std::span<const KeySpec>(flat).subspan(i, j - i);
      }
      i = j;
    }
    return out;
  }();
  return index;
}

bool keyword_is(std::string_view arg, std::string_view upper) {
  if (arg.size() != upper.size()) return false;
  for (std::size_t i = 0; i < arg.size(); ++i) {
    const char c = arg[i];
    if ((c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c) != upper[i]) return false;
  }
  return true;
}

bool parse_small(std::string_view s, long& n) {
  if (s.empty() || s.size() > 9) return false;
  n = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    n = n * 10 + (c - '0');
  }
  return true;
}

// The keys the spec finds in argv as Redis searches: positions first, first + step, ... up to
// last (and below argc); false when it finds none to search for (keyword absent, unknown search,
// a key count that is not a number).
bool bounds(const KeySpec& ks, std::span<const std::string_view> argv, long& first, long& last,
            long& step) {
  const long argc = static_cast<long>(argv.size());
  if (ks.begin.type == BeginSearch::Type::kIndex) {
    first = ks.begin.at;
  } else if (ks.begin.type == BeginSearch::Type::kKeyword) {
    const long from = ks.begin.at > 0 ? ks.begin.at : argc + ks.begin.at;
    const long to = ks.begin.at > 0 ? argc - 1 : 0;
    const long dir = ks.begin.at > 0 ? 1 : -1;
    long found = -1;
    for (long i = from; i >= 0 && i < argc && (dir > 0 ? i <= to : i >= to); i += dir) {
      if (keyword_is(argv[static_cast<std::size_t>(i)], ks.begin.keyword)) {
        found = i;
        break;
      }
    }
    if (found < 0) return false;
    first = found + 1;
  } else {
    return false;
  }
  step = 1;
  if (ks.find.type == FindKeys::Type::kRange) {
    step = ks.find.b;
    if (ks.find.a >= 0) last = first + ks.find.a;
    else if (ks.find.c <= 1) last = argc + ks.find.a;
    else last = first + (argc - first) / ks.find.c + ks.find.a;
  } else if (ks.find.type == FindKeys::Type::kKeynum) {
    const long at = first + ks.find.a;
    long n = 0;
    if (at >= argc || !parse_small(argv[static_cast<std::size_t>(at)], n)) return false;
    step = ks.find.c;
    first += ks.find.b;
    last = first + (n - 1) * step;
  } else {
    return false;
  }
  if (step <= 0) step = 1;
  last = std::min(last, argc - 1);
  return true;
}

// Whether the spec, searched over argv as Redis searches it, finds the key at `position`.
bool finds(const KeySpec& ks, std::span<const std::string_view> argv, std::size_t position) {
  long first = 0, last = 0, step = 1;
  if (!bounds(ks, argv, first, last, step)) return false;
  const long p = static_cast<long>(position);
  return p >= first && p <= last && (p - first) % step == 0;
}

// A VARIABLE_FLAGS spec's flags for one call, from its arguments as Redis reads them: SET
// reads its key only with a GET among its options; BITFIELD only writes with a SET or INCRBY
// (or arguments it cannot parse, taken as a write to be safe).
std::uint16_t call_flags(const CommandSpec& spec, std::span<const std::string_view> argv,
                         std::uint16_t declared) {
  constexpr std::uint16_t kReads = RO | AC, kReadWrites = RW | AC | UP;
  if (spec.name == "set") {
    for (std::size_t i = 3; i < argv.size(); ++i) {
      if (iequal(argv[i], "get")) return kReadWrites;
    }
    return OW | UP;
  }
  if (spec.name == "bitfield") {
    for (std::size_t i = 2; i < argv.size(); ++i) {
      const std::size_t rest = argv.size() - i - 1;
      if (iequal(argv[i], "get") && rest >= 2) i += 2;
      else if (iequal(argv[i], "overflow") && rest >= 1) i += 1;
      else return kReadWrites;  // SET / INCRBY, or not understood
    }
    return kReads;
  }
  return declared;
}

}  // namespace

std::span<const KeySpec> key_specs(const CommandSpec& spec) { return by_index()[index_of(spec)]; }

std::uint16_t key_flags_at(const CommandSpec& spec, std::span<const std::string_view> argv,
                           std::size_t position) {
  const auto specs = key_specs(spec);
  if (specs.size() == 1) {
    const std::uint16_t f = specs[0].flags;
    return (f & VAR) ? call_flags(spec, argv, f) : f;
  }
  // INCOMPLETE describes the spec, not a key found: Redis finds such a command's keys with its
  // own parsing (MIGRATE's KEYS) and gives them the flags without it.
  for (const KeySpec& ks : specs) {
    if (finds(ks, argv, position)) return ks.flags & ~INC;
  }
  const auto unknown = std::find_if(specs.rbegin(), specs.rend(), [](const KeySpec& ks) {
    return ks.begin.type == BeginSearch::Type::kUnknown;
  });
  return unknown == specs.rend() ? 0 : unknown->flags;
}

void option_keyword_keys(const CommandSpec& spec, std::span<const std::string_view> argv,
                         std::vector<std::size_t>& out) {
  if (spec.has(kStreamKeys) || spec.has(kKeysOption)) return;  // for_each_key follows those
  if (spec.name == "sort") {
    if (const std::size_t store = sort_store_position(argv); store != 0) out.push_back(store);
    return;
  }
  for (const KeySpec& ks : key_specs(spec)) {
    if (ks.begin.type != BeginSearch::Type::kKeyword) continue;
    long first = 0, last = 0, step = 1;
    if (!bounds(ks, argv, first, last, step)) continue;
    for (long p = first; p <= last; p += step) out.push_back(static_cast<std::size_t>(p));
  }
}

std::size_t sort_store_position(std::span<const std::string_view> argv) {
  std::size_t store = 0;
  for (std::size_t i = 2; i < argv.size(); ++i) {
    if (iequal(argv[i], "limit")) i += 2;
    else if (iequal(argv[i], "get") || iequal(argv[i], "by")) i += 1;
    else if (iequal(argv[i], "store") && i + 1 < argv.size()) store = ++i;
  }
  return store;
}

std::vector<std::string_view> key_flag_names(std::uint16_t flags) {
  static constexpr std::string_view kNames[] = {"RO",     "RW",     "OW",      "RM",
                                                "access", "update", "insert",  "delete",
                                                "not_key", "incomplete", "variable_flags"};
  std::vector<std::string_view> out;
  for (std::size_t i = 0; i < std::size(kNames); ++i) {
    if (flags & (1u << i)) out.push_back(kNames[i]);
  }
  return out;
}

}  // namespace lfdb::commands
