// Generic key commands: deletion, existence, renaming, iteration, expiry and OBJECT. Each handler
// runs holding its keys' colors (command_context.hpp); KEYS, SCAN and RANDOMKEY hold every color
// shared and only read, so they skip expired entries without erasing them.
#include <cstdint>
#include <cstdio>
#include <iterator>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "db/command_context.hpp"
#include "db/compact/limits.hpp"
#include "db/dump/rdb_value.hpp"
#include "db/memory/access_clock.hpp"
#include "db/memory/settings.hpp"
#include "db/object_inspect.hpp"
#include "db/pubsub/notify.hpp"
#include "db/scan.hpp"

namespace lfdb::db {
// OBJECT ENCODING from the value as it is now, with Redis's default thresholds: a string is
// "raw" once changed in place, else "int" if it is a 64-bit integer in canonical form and was
// stored as SET stores (not INCRBYFLOAT's text), else "embstr" up to 44 bytes, else "raw"; a list
// is "quicklist"; a set ("intset" or "hashtable", set.hpp), a hash ("listpack" or "hashtable",
// hash.hpp) and a sorted set ("listpack" or "skiplist", zset.hpp) the encoding they really have.
namespace {
constexpr std::size_t kEmbstrLimit = 44;           // OBJ_ENCODING_EMBSTR_SIZE_LIMIT
}  // namespace

const char* encoding_of(const Value& v) {
  if (v.type() == Type::kString) {
    std::int64_t n = 0;
    if (v.form == StrForm::kRaw) return "raw";  // APPEND/SETRANGE results stay raw, as in Redis
    if (v.form == StrForm::kShaped && parse_int(v.str(), n)) return "int";
    return v.str().size() <= kEmbstrLimit ? "embstr" : "raw";
  }
  if (v.type() == Type::kZSet) {
    // The encoding it has (zset.hpp): packed until a zset-max-listpack-* limit is passed.
    return v.zset()->packed() ? "listpack" : "skiplist";
  }
  if (v.type() == Type::kStream) return "stream";
  if (v.type() == Type::kList) return "quicklist";  // 7.0: every list (listpack lists came in 7.2)
  if (v.type() == Type::kSet) {
    // The encoding it has (set.hpp): an intset until a non-integer or set-max-intset-entries.
    return v.set()->intset() ? "intset" : "hashtable";
  }
  // The encoding it has (hash.hpp): packed until a hash-max-listpack-* limit is passed.
  return v.hash()->packed() ? "listpack" : "hashtable";
}

namespace {

// Whether e, an entry of the partition of that color, is live (not past its deadline).
bool live(const CommandContext& c, std::uint64_t color, const Entry& e) {
  return !std::as_const(c.ks).at(static_cast<std::uint32_t>(color)).past(e, c.now_ms);
}

void del_cmd(CommandContext& c) {
  std::int64_t deleted = 0;
  for (std::size_t i = 1; i < c.argc(); ++i) {
    if (c.part(c.arg(i)).erase(c.arg(i), c.now_ms)) {
      ++deleted;
      pubsub::event(pubsub::kEvGeneric, "del", c.arg(i));
    }
  }
  c.out.integer(deleted);
}

// EXISTS and TOUCH: how many of the arguments name a live key (a repeated key counts each time).
// EXISTS only looks; TOUCH is an access to each key (their access clocks: OBJECT IDLETIME).
void count_live(CommandContext& c, Access access) {
  std::int64_t n = 0;
  for (std::size_t i = 1; i < c.argc(); ++i) {
    if (c.find(c.arg(i), access) != nullptr) ++n;
  }
  c.out.integer(n);
}
void exists_cmd(CommandContext& c) { count_live(c, Access::kLook); }
void touch_cmd(CommandContext& c) { count_live(c, Access::kTouch); }

void type_cmd(CommandContext& c) {
  const Entry* e = c.find(c.arg(1), Access::kLook);
  c.out.simple_string(e ? type_name(e->value.type()) : "none");
}

// RENAME and RENAMENX. Both keys' colors are held, so the value may change partition.
void rename_generic(CommandContext& c, bool nx) {
  const std::string_view src = c.arg(1), dst = c.arg(2);
  Entry* e = c.find(src);
  if (e == nullptr) return c.out.error(kErrNoSuchKey);
  if (src == dst) {
    if (nx) return c.out.integer(0);
    return c.out.simple_string("OK");
  }
  if (nx && c.find(dst) != nullptr) return c.out.integer(0);
  const std::int64_t at = c.part(src).expire_at(*e);
  Value v = std::move(e->value);
  c.part(src).erase(src, c.now_ms);
  Partition& p = c.part(dst);
  bool created = false;
  Entry& d = p.find_or_create(dst, c.now_ms, created);
  d.value = std::move(v);
  p.set_expire(dst, d, at);  // the source's TTL (or none) replaces the destination's
  p.modified(dst);
  pubsub::event(pubsub::kEvGeneric, "rename_from", src);
  pubsub::event(pubsub::kEvGeneric, "rename_to", dst);
  if (nx) return c.out.integer(1);
  c.out.simple_string("OK");
}
void rename_cmd(CommandContext& c) { rename_generic(c, false); }
void renamenx_cmd(CommandContext& c) { rename_generic(c, true); }

// KEYS, SCAN and RANDOMKEY only read: the const partitions, so a database never used stays
// without any (Keyspace::used).
void keys_cmd(CommandContext& c) {
  const std::string_view pattern = c.arg(1);
  const bool all = pattern == "*";
  std::vector<std::string_view> found;
  for (std::uint32_t color = 0; color < c.ks.colors(); ++color) {
    for (const auto& [key, e] : std::as_const(c.ks).at(color).map()) {
      if (live(c, color, e) && (all || glob_match(pattern, key))) found.push_back(key);
    }
  }
  c.out.array_header(found.size());
  for (std::string_view k : found) {
    if (c.reply_over_limit()) break;
    c.out.bulk(k);
  }
}

// SCAN's cursor: the partition (color) in bits 48 and up, and below them where that partition's
// key table resumes, a position in its hash space (the hash's top 48 bits; KeyTable::scan). A
// call visits whole key-table segments, in hash order, partition after partition, until it has
// visited COUNT live keys or run out (MATCH and TYPE filter what it visited), and answers where
// the next call starts, or 0 at the end. A key's partition never changes and a segment's split
// never moves a key below the cursor, so a key that exists throughout the iteration is
// returned at least once, as Redis guarantees, however the tables grow in between.
void scan_cmd(CommandContext& c) {
  std::uint64_t cursor = 0;
  if (!parse_scan_cursor(c.arg(1), cursor)) return c.out.error("ERR invalid cursor");
  ScanOptions o;
  if (!parse_scan_options(c, 2, true, o)) return;
  std::vector<std::string_view> found;
  std::uint64_t visited = 0;
  const std::uint64_t colors = c.ks.colors();
  std::uint64_t color = cursor >> 48;
  std::uint64_t pos = cursor << 16;
  while (color < colors && visited < static_cast<std::uint64_t>(o.count)) {
    pos = std::as_const(c.ks).at(static_cast<std::uint32_t>(color)).map().scan(pos, [&](const KeyNode& n) {
      const Entry& e = n.entry;
      if (!live(c, color, e)) return;
      ++visited;
      if (!o.matches(n.key())) return;
      if (o.has_type && !iequal(o.type, type_name(e.value.type()))) return;
      found.push_back(n.key());
    });
    if (pos == 0) ++color;
  }
  const std::uint64_t next = color >= colors ? 0 : (color << 48) | (pos >> 16);
  c.out.array_header(2);
  c.out.bulk(std::to_string(next));
  c.out.array_header(found.size());
  for (std::string_view k : found) c.out.bulk(k);
}

void randomkey_cmd(CommandContext& c) {
  const std::uint32_t colors = c.ks.colors();
  std::uint64_t total = 0;
  for (std::uint32_t color = 0; color < colors; ++color) total += std::as_const(c.ks).at(color).map().size();
  if (total == 0) return c.out.null();
  auto& gen = random_engine();
  // Sample entries weighted by partition size; expired ones are skipped (not erased: we read).
  for (int attempt = 0; attempt < 100; ++attempt) {
    std::uint64_t r = gen() % total;
    std::uint32_t color = 0;
    while (r >= std::as_const(c.ks).at(color).map().size()) r -= std::as_const(c.ks).at(color++).map().size();
    // Every key of the partition equally likely (KeyTable::random).
    const KeyNode* n = std::as_const(c.ks).at(color).map().random(gen);
    if (live(c, color, n->entry)) return c.out.bulk(n->key());
  }
  // Mostly expired entries: count the live ones and pick one of them uniformly.
  std::uint64_t alive = 0;
  for (std::uint32_t color = 0; color < colors; ++color) {
    for (const auto& [key, e] : std::as_const(c.ks).at(color).map()) alive += live(c, color, e) ? 1 : 0;
  }
  if (alive == 0) return c.out.null();
  std::uint64_t pick = gen() % alive;
  for (std::uint32_t color = 0; color < colors; ++color) {
    for (const auto& [key, e] : std::as_const(c.ks).at(color).map()) {
      if (!live(c, color, e)) continue;
      if (pick-- == 0) return c.out.bulk(key);
    }
  }
  c.out.null();  // unreachable: the keyspace does not change under a reader
}

enum ExpireFlags : unsigned { kExpireNx = 1, kExpireXx = 2, kExpireGt = 4, kExpireLt = 8 };

// EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT (expireGenericCommand): options first, then the time,
// then the key. GT and LT treat a key without TTL as one with an infinite TTL. A deadline not
// in the future deletes the key.
void expire_generic(CommandContext& c, bool ms, bool absolute, std::string_view cmd) {
  unsigned flags = 0;
  for (std::size_t i = 3; i < c.argc(); ++i) {
    const std::string_view o = c.arg(i);
    if (iequal(o, "nx")) flags |= kExpireNx;
    else if (iequal(o, "xx")) flags |= kExpireXx;
    else if (iequal(o, "gt")) flags |= kExpireGt;
    else if (iequal(o, "lt")) flags |= kExpireLt;
    else return c.out.error("ERR Unsupported option " + std::string(o));
  }
  if ((flags & kExpireNx) && (flags & (kExpireXx | kExpireGt | kExpireLt))) {
    return c.out.error("ERR NX and XX, GT or LT options at the same time are not compatible");
  }
  if ((flags & kExpireGt) && (flags & kExpireLt)) {
    return c.out.error("ERR GT and LT options at the same time are not compatible");
  }
  std::int64_t at = 0;
  if (!parse_expire(c.arg(2), ms, absolute, c.now_ms, cmd, c.out, at)) return;
  const std::string_view key = c.arg(1);
  Entry* e = c.find(key);
  if (e == nullptr) return c.out.integer(0);
  const std::int64_t cur = c.part(key).expire_at(*e);  // -1: none
  if (((flags & kExpireNx) && cur != -1) || ((flags & kExpireXx) && cur == -1) ||
      ((flags & kExpireGt) && (cur == -1 || at <= cur)) || ((flags & kExpireLt) && cur != -1 && at >= cur)) {
    return c.out.integer(0);
  }
  Partition& p = c.part(key);
  if (at <= c.now_ms) {
    p.erase(key, c.now_ms);
    pubsub::event(pubsub::kEvGeneric, "del", key);
  } else {
    p.set_expire(key, *e, at);
    p.modified(key);
    pubsub::event(pubsub::kEvGeneric, "expire", key);
  }
  c.out.integer(1);
}
void expire_cmd(CommandContext& c) { expire_generic(c, false, false, "expire"); }
void pexpire_cmd(CommandContext& c) { expire_generic(c, true, false, "pexpire"); }
void expireat_cmd(CommandContext& c) { expire_generic(c, false, true, "expireat"); }
void pexpireat_cmd(CommandContext& c) { expire_generic(c, true, true, "pexpireat"); }

// TTL, PTTL, EXPIRETIME, PEXPIRETIME: -2 missing, -1 no TTL; seconds are rounded as Redis does.
void ttl_generic(CommandContext& c, bool ms, bool absolute) {
  const Entry* e = c.find(c.arg(1), Access::kLook);
  if (e == nullptr) return c.out.integer(-2);
  const std::int64_t at = c.part(c.arg(1)).expire_at(*e);
  if (at < 0) return c.out.integer(-1);
  std::int64_t t = absolute ? at : at - c.now_ms;
  if (t < 0) t = 0;
  c.out.integer(ms ? t : t / 1000 + (t % 1000 >= 500 ? 1 : 0));  // (t+500)/1000, no overflow
}
void ttl_cmd(CommandContext& c) { ttl_generic(c, false, false); }
void pttl_cmd(CommandContext& c) { ttl_generic(c, true, false); }
void expiretime_cmd(CommandContext& c) { ttl_generic(c, false, true); }
void pexpiretime_cmd(CommandContext& c) { ttl_generic(c, true, true); }

void persist_cmd(CommandContext& c) {
  const std::string_view key = c.arg(1);
  Entry* e = c.find(key);
  if (e == nullptr || !e->value.has_deadline()) return c.out.integer(0);
  Partition& p = c.part(key);
  p.set_expire(key, *e, -1);
  p.modified(key);
  pubsub::event(pubsub::kEvGeneric, "persist", key);
  c.out.integer(1);
}

void object_encoding_cmd(CommandContext& c) {
  const Entry* e = c.inspect(c.arg(2));
  if (e == nullptr) return c.out.null();
  c.out.bulk(encoding_of(e->value));
}

// OBJECT REFCOUNT: lfdb shares no values between keys, so 1; but a small integer string
// (0..9999, "int" encoded) is one of Redis's shared integers, whose count Redis reports as
// INT_MAX: clients and tests that check it see the same number. Redis stops sharing them while
// maxmemory is set under an LRU or LFU policy (each key needs its own access clock), so there
// the count is 1. lfdb asks the settings when it answers, Redis when the value was written: the
// two differ only for a value written before the policy or the limit changed.
std::int64_t refcount_of(const Value& v) {
  const memory::Limits lim = memory::live().load();
  const bool clocked = lim.maxmemory != 0 && lim.policy != memory::Policy::kNoEviction &&
                       lim.policy != memory::Policy::kAllKeysRandom && lim.policy != memory::Policy::kVolatileRandom &&
                       lim.policy != memory::Policy::kVolatileTtl;
  std::int64_t n = -1;
  const bool shared = !clocked && std::string_view(encoding_of(v)) == "int" && parse_int(v.str(), n) &&
                      n >= 0 && n < 10000;
  return shared ? 2147483647 : 1;
}

void object_refcount_cmd(CommandContext& c) {
  const Entry* e = c.inspect(c.arg(2));
  if (e == nullptr) return c.out.null();
  c.out.integer(refcount_of(e->value));
}

void object_help_cmd(CommandContext& c) {
  static constexpr std::string_view kLines[] = {
      "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
      "ENCODING <key>",
      "    Return the kind of internal representation used in order to store the value",
      "    associated with a <key>.",
      "FREQ <key>",
      "    Return the access frequency index of the <key>. The returned integer is",
      "    proportional to the logarithm of the recent access frequency of the key.",
      "IDLETIME <key>",
      "    Return the idle time of the <key>, that is the approximated number of",
      "    seconds elapsed since the last access to the key.",
      "REFCOUNT <key>",
      "    Return the number of references of the value associated with the specified",
      "    <key>.",
      "HELP",
      "    Prints this help.",
  };
  c.out.array_header(std::size(kLines));
  for (std::string_view line : kLines) c.out.simple_string(line);
}

constexpr HandlerEntry kKeyHandlers[] = {
    {"del", del_cmd},
    {"unlink", del_cmd},
    {"exists", exists_cmd},
    {"touch", touch_cmd},
    {"type", type_cmd},
    {"rename", rename_cmd},
    {"renamenx", renamenx_cmd},
    {"keys", keys_cmd},
    {"scan", scan_cmd},
    {"randomkey", randomkey_cmd},
    {"expire", expire_cmd},
    {"pexpire", pexpire_cmd},
    {"expireat", expireat_cmd},
    {"pexpireat", pexpireat_cmd},
    {"ttl", ttl_cmd},
    {"pttl", pttl_cmd},
    {"expiretime", expiretime_cmd},
    {"pexpiretime", pexpiretime_cmd},
    {"persist", persist_cmd},
    {"object|encoding", object_encoding_cmd},
    {"object|refcount", object_refcount_cmd},
    {"object|help", object_help_cmd},
};

}  // namespace

std::span<const HandlerEntry> key_handlers() { return kKeyHandlers; }

// DEBUG OBJECT: serializedlength is the value's RDB form without DUMP's type byte, version and
// checksum (Redis's rdbSavedObjectLen); lru is the last access in Redis's 24-bit seconds clock.
// Under an LFU policy the access field holds the counter, not a time: lru and the idle time are
// then 0 (Redis shows its LFU bits reinterpreted there, which mean nothing either).
void debug_object(CommandContext& c) {
  const Entry* e = c.inspect(c.arg(2));
  if (e == nullptr) return c.out.error("ERR no such key");
  const Value& v = e->value;
  constexpr std::size_t kDumpFraming = 1 + 2 + 8;  // type byte, RDB version, CRC-64
  const std::size_t serialized = dump::dump_value(v).size() - kDumpFraming;
  std::uint64_t idle_s = 0;
  std::uint64_t lru = 0;
  if (!memory::is_lfu(memory::live().policy.load(std::memory_order_relaxed))) {
    idle_s = memory::idle_ms(memory::read(v.access), c.now_ms) / 1000;
    lru = (static_cast<std::uint64_t>(c.now_ms / 1000) - idle_s) & 0xFFFFFF;
  }
  char line[256];
  int n = std::snprintf(line, sizeof line,
                        "Value at:%p refcount:%lld encoding:%s serializedlength:%zu lru:%llu "
                        "lru_seconds_idle:%llu",
                        static_cast<const void*>(e), static_cast<long long>(refcount_of(v)),
                        encoding_of(v), serialized, static_cast<unsigned long long>(lru),
                        static_cast<unsigned long long>(idle_s));
  std::string out(line, static_cast<std::size_t>(n));
  if (const List* l = v.list()) {
    const std::size_t nodes = l->node_count();
    const compact::EncodingLimits& lim = compact::limits();
    n = std::snprintf(line, sizeof line, " ql_nodes:%zu ql_avg_node:%.2f ql_listpack_max:%lld ql_compressed:%d",
                      nodes, nodes == 0 ? 0.0 : static_cast<double>(l->size()) / static_cast<double>(nodes),
                      static_cast<long long>(lim.list_max_fill()), lim.list_compress_depth() != 0 ? 1 : 0);
    out.append(line, static_cast<std::size_t>(n));
  }
  c.out.simple_string(out);
}

}  // namespace lfdb::db
