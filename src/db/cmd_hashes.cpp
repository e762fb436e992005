// Hash commands. Each handler runs holding its key's color (command_context.hpp). A hash is never
// empty: it is created with its first field and the key is deleted with its last one. Every
// check (arguments, type, the stored number) comes before the first change, so a command that
// fails leaves nothing behind.
#include <climits>
#include <cmath>
#include <cstdint>
#include <iterator>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "db/command_context.hpp"
#include "db/pubsub/notify.hpp"
#include "db/scan.hpp"

namespace lfdb::db {
namespace {

// The live hash at key: nullptr if missing; sets `wrong` if the key holds another type.
Hash* hash_at(CommandContext& c, std::string_view key, bool& wrong) {
  Entry* e = c.find(key);
  wrong = e != nullptr && e->value.type() != Type::kHash;
  return e != nullptr && !wrong ? e->value.hash() : nullptr;
}

// The hash at key, created empty if missing: the caller checked the type and adds a field now.
Hash& hash_for_write(CommandContext& c, std::string_view key) {
  bool created = false;
  Entry& e = c.part(key).find_or_create(key, c.now_ms, created);
  if (created) {
    return e.value.make_hash();
  }
  return *e.value.hash();
}

// The field's value, or nullopt (also for a missing hash); a view valid until the hash changes.
std::optional<std::string_view> field_of(const Hash* h, std::string_view field) {
  if (h == nullptr) return std::nullopt;
  return h->get(field);
}

// HSET (replies the number of new fields) and HMSET (replies OK).
void hset_generic(CommandContext& c, bool hmset) {
  if (c.argc() % 2 == 1) {
    return c.out.error(hmset ? "ERR wrong number of arguments for 'hmset' command"
                             : "ERR wrong number of arguments for 'hset' command");
  }
  const std::string_view key = c.arg(1);
  bool wrong = false;
  hash_at(c, key, wrong);
  if (wrong) return c.out.error(kErrWrongType);
  Hash& h = hash_for_write(c, key);
  std::int64_t added = 0;
  for (std::size_t i = 2; i < c.argc(); i += 2) added += h.set(c.arg(i), c.arg(i + 1)) ? 1 : 0;
  c.part(key).modified(key);
  pubsub::event(pubsub::kEvHash, "hset", key);
  if (hmset) return c.out.simple_string("OK");
  c.out.integer(added);
}
void hset_cmd(CommandContext& c) { hset_generic(c, false); }
void hmset_cmd(CommandContext& c) { hset_generic(c, true); }

void hsetnx_cmd(CommandContext& c) {
  const std::string_view key = c.arg(1);
  bool wrong = false;
  const Hash* h = hash_at(c, key, wrong);
  if (wrong) return c.out.error(kErrWrongType);
  if (field_of(h, c.arg(2))) return c.out.integer(0);
  hash_for_write(c, key).set(c.arg(2), c.arg(3));
  c.part(key).modified(key);
  pubsub::event(pubsub::kEvHash, "hset", key);
  c.out.integer(1);
}

void hget_cmd(CommandContext& c) {
  bool wrong = false;
  const Hash* h = hash_at(c, c.arg(1), wrong);
  if (wrong) return c.out.error(kErrWrongType);
  const auto v = field_of(h, c.arg(2));
  if (!v) return c.out.null();
  c.out.bulk(*v);
}

void hmget_cmd(CommandContext& c) {
  bool wrong = false;
  const Hash* h = hash_at(c, c.arg(1), wrong);
  if (wrong) return c.out.error(kErrWrongType);
  c.out.array_header(c.argc() - 2);
  for (std::size_t i = 2; i < c.argc(); ++i) {
    const auto v = field_of(h, c.arg(i));
    if (!v) c.out.null();
    else c.out.bulk(*v);
  }
}

// HGETALL (a map), HKEYS and HVALS (arrays).
enum Parts : unsigned { kFields = 1, kValues = 2 };
void hgetall_generic(CommandContext& c, unsigned parts) {
  bool wrong = false;
  const Hash* h = hash_at(c, c.arg(1), wrong);
  if (wrong) return c.out.error(kErrWrongType);
  const std::size_t n = h ? h->size() : 0;
  if (parts == (kFields | kValues)) c.out.map_header(n);
  else c.out.array_header(n);
  if (h == nullptr) return;
  for (const auto& [field, value] : *h) {
    if (parts & kFields) c.out.bulk(field);
    if (parts & kValues) c.out.bulk(value);
  }
}
void hgetall_cmd(CommandContext& c) { hgetall_generic(c, kFields | kValues); }
void hkeys_cmd(CommandContext& c) { hgetall_generic(c, kFields); }
void hvals_cmd(CommandContext& c) { hgetall_generic(c, kValues); }

void hdel_cmd(CommandContext& c) {
  const std::string_view key = c.arg(1);
  bool wrong = false;
  Hash* h = hash_at(c, key, wrong);
  if (wrong) return c.out.error(kErrWrongType);
  if (h == nullptr) return c.out.integer(0);
  std::int64_t deleted = 0;
  for (std::size_t i = 2; i < c.argc() && !h->empty(); ++i) {
    if (h->erase(c.arg(i))) ++deleted;
  }
  if (deleted > 0) {
    Partition& p = c.part(key);
    pubsub::event(pubsub::kEvHash, "hdel", key);
    if (h->empty()) {
      p.erase(key, c.now_ms);  // the hash goes with its last field
      pubsub::event(pubsub::kEvGeneric, "del", key);
    } else {
      p.modified(key);
    }
  }
  c.out.integer(deleted);
}

void hlen_cmd(CommandContext& c) {
  bool wrong = false;
  const Hash* h = hash_at(c, c.arg(1), wrong);
  if (wrong) return c.out.error(kErrWrongType);
  c.out.integer(h ? static_cast<std::int64_t>(h->size()) : 0);
}

void hexists_cmd(CommandContext& c) {
  bool wrong = false;
  const Hash* h = hash_at(c, c.arg(1), wrong);
  if (wrong) return c.out.error(kErrWrongType);
  c.out.integer(field_of(h, c.arg(2)) ? 1 : 0);
}

void hstrlen_cmd(CommandContext& c) {
  bool wrong = false;
  const Hash* h = hash_at(c, c.arg(1), wrong);
  if (wrong) return c.out.error(kErrWrongType);
  const auto v = field_of(h, c.arg(2));
  c.out.integer(v ? static_cast<std::int64_t>(v->size()) : 0);
}

void hincrby_cmd(CommandContext& c) {
  std::int64_t by = 0;
  if (!parse_int(c.arg(3), by)) return c.out.error(kErrNotInteger);
  const std::string_view key = c.arg(1);
  bool wrong = false;
  const Hash* h = hash_at(c, key, wrong);
  if (wrong) return c.out.error(kErrWrongType);
  std::int64_t v = 0;
  const auto cur = field_of(h, c.arg(2));
  if (cur && !parse_int(*cur, v)) return c.out.error("ERR hash value is not an integer");
  if ((by < 0 && v < 0 && by < LLONG_MIN - v) || (by > 0 && v > 0 && by > LLONG_MAX - v)) {
    return c.out.error(kErrOverflow);
  }
  v += by;
  hash_for_write(c, key).set(c.arg(2), format_int(v));  // in place while packed
  c.part(key).modified(key);
  pubsub::event(pubsub::kEvHash, "hincrby", key);
  c.out.integer(v);
}

void hincrbyfloat_cmd(CommandContext& c) {
  long double by = 0;
  if (!parse_long_double(c.arg(3), by)) return c.out.error(kErrNotFloat);
  if (std::isnan(by) || std::isinf(by)) return c.out.error("ERR value is NaN or Infinity");
  const std::string_view key = c.arg(1);
  bool wrong = false;
  const Hash* h = hash_at(c, key, wrong);
  if (wrong) return c.out.error(kErrWrongType);
  long double v = 0;
  const auto cur = field_of(h, c.arg(2));
  if (cur && !parse_long_double(*cur, v)) {
    return c.out.error("ERR hash value is not a float");
  }
  v += by;
  if (std::isnan(v) || std::isinf(v)) return c.out.error(kErrNanOrInf);
  const std::string s = format_long_double(v);
  hash_for_write(c, key).set(c.arg(2), s);
  c.part(key).modified(key);
  pubsub::event(pubsub::kEvHash, "hincrbyfloat", key);
  c.out.bulk(s);
}

// HRANDFIELD key [count [WITHVALUES]] (hrandfieldCommand, hrandfieldWithCountCommand): a
// positive count gives distinct fields (the whole hash when count >= its size), a negative one
// may repeat them. WITHVALUES pairs are flat in RESP2 and 2-element arrays in RESP3.
void hrandfield_cmd(CommandContext& c) {
  const std::string_view key = c.arg(1);
  bool wrong = false;
  if (c.argc() == 2) {
    const Hash* h = hash_at(c, key, wrong);
    if (wrong) return c.out.error(kErrWrongType);
    if (h == nullptr) return c.out.null();
    auto it = std::next(h->begin(), static_cast<std::ptrdiff_t>(random_engine()() % h->size()));
    return c.out.bulk((*it).first);
  }
  std::int64_t l = 0;
  bool withvalues = false;
  if (!parse_random_count(c, "withvalues", l, withvalues)) return;
  const Hash* h = hash_at(c, key, wrong);
  if (wrong) return c.out.error(kErrWrongType);
  if (h == nullptr || l == 0) return c.out.array_header(0);
  const bool distinct = l > 0;
  const auto count = static_cast<std::uint64_t>(distinct ? l : -l);

  std::vector<Hash::Pair> items(h->begin(), h->end());
  auto& gen = random_engine();
  std::uint64_t n = count;
  if (distinct && count < items.size()) {
    // Partial Fisher-Yates: the first `count` items become a random distinct sample.
    for (std::size_t i = 0; i < count; ++i) {
      std::swap(items[i], items[i + gen() % (items.size() - i)]);
    }
  } else if (distinct) {
    n = items.size();  // the whole hash
  }
  const bool pairs3 = withvalues && c.out.resp3();
  c.out.array_header(withvalues && !pairs3 ? n * 2 : n);
  for (std::uint64_t i = 0; i < n && !c.reply_over_limit(); ++i) {
    const Hash::Pair& kv = distinct ? items[i] : items[gen() % items.size()];
    if (pairs3) c.out.array_header(2);
    c.out.bulk(kv.first);
    if (withvalues) c.out.bulk(kv.second);
  }
}

// HSCAN key cursor [MATCH pattern] [COUNT count]: the whole hash in one reply with cursor 0,
// whatever the cursor, as Redis does for a small (listpack) hash. MATCH filters on the field.
void hscan_cmd(CommandContext& c) {
  std::uint64_t cursor = 0;
  if (!parse_scan_cursor(c.arg(2), cursor)) return c.out.error("ERR invalid cursor");
  bool wrong = false;
  const Hash* h = hash_at(c, c.arg(1), wrong);
  if (h == nullptr && !wrong) return c.out.raw(kEmptyScan);  // options are not even parsed
  if (wrong) return c.out.error(kErrWrongType);
  ScanOptions o;
  if (!parse_scan_options(c, 3, false, o)) return;
  std::vector<Hash::Pair> found;
  for (const Hash::Pair kv : *h) {
    if (o.matches(kv.first)) found.push_back(kv);
  }
  c.out.array_header(2);
  c.out.bulk("0");
  c.out.array_header(found.size() * 2);
  for (const Hash::Pair& kv : found) {
    c.out.bulk(kv.first);
    c.out.bulk(kv.second);
  }
}

constexpr HandlerEntry kHashHandlers[] = {
    {"hset", hset_cmd},
    {"hsetnx", hsetnx_cmd},
    {"hget", hget_cmd},
    {"hmget", hmget_cmd},
    {"hmset", hmset_cmd},
    {"hgetall", hgetall_cmd},
    {"hdel", hdel_cmd},
    {"hlen", hlen_cmd},
    {"hexists", hexists_cmd},
    {"hkeys", hkeys_cmd},
    {"hvals", hvals_cmd},
    {"hincrby", hincrby_cmd},
    {"hincrbyfloat", hincrbyfloat_cmd},
    {"hstrlen", hstrlen_cmd},
    {"hrandfield", hrandfield_cmd},
    {"hscan", hscan_cmd},
};

}  // namespace

std::span<const HandlerEntry> hash_handlers() { return kHashHandlers; }

}  // namespace lfdb::db
