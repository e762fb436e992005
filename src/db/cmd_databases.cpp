// Commands that reach a database other than the caller's: MOVE, COPY ... DB, SWAPDB.
//
// A key's color depends on the key alone, so the invocation that holds a key's color owns that
// key's partition in every database: MOVE and COPY run as ordinary key writers on the colors of
// their keys (kKeyWrite) and touch the same colors in the destination database. SWAPDB moves
// every key of two databases: it writes 'keyspace' (kKeyspaceWrite), so it runs alone.
#include <climits>
#include <cstdint>
#include <memory>
#include <string>

#include "commands/connection.hpp"
#include "db/command_context.hpp"
#include "db/pubsub/notify.hpp"
#include "db/server.hpp"

namespace lfdb::db {
namespace {

constexpr std::string_view kErrDbRange = "ERR DB index is out of range";
constexpr std::string_view kErrSameObject = "ERR source and destination objects are the same";

// A database index as SWAPDB reads one: an integer that fits an int.
bool parse_db(std::string_view arg, std::int64_t& db) {
  return parse_int(arg, db) && db >= INT_MIN && db <= INT_MAX;
}
bool valid_db(const CommandContext& c, std::int64_t db) {
  return db >= 0 && db < static_cast<std::int64_t>(c.server->databases().count());
}

Value copy_of(const Value& v) {
  Value out;
  out.form = v.form;
  switch (v.type()) {
    case Type::kString: out.str() = v.str(); break;
    case Type::kHash: out.reset(v.hash()->copy()); break;  // its encoding too
    case Type::kList: out.reset(std::make_unique<List>(*v.list())); break;
    case Type::kSet: out.reset(v.set()->copy()); break;  // its encoding too
    case Type::kZSet:
      out.reset(v.zset()->copy());
      break;
    case Type::kStream: {
      // Through the snapshot form: one way to copy every part (entries, groups, pending).
      std::string bytes, why;
      stream::encode(*v.stream(), bytes);
      out.reset(stream::decode(bytes, why));
      break;
    }
  }
  return out;
}

// Stores `v` (with deadline `at`, -1: none) at key in partition p, replacing what is there.
void store(Partition& p, std::string_view key, Value v, std::int64_t at, std::int64_t now) {
  bool created = false;
  Entry& d = p.find_or_create(key, now, created);
  d.value = std::move(v);
  p.set_expire(key, d, at);
  p.modified(key);
}

void move_cmd(CommandContext& c) {
  std::int64_t db = 0;
  if (std::string e = commands::parse_db_index(c.arg(2), db); !e.empty()) return c.out.error(e);
  if (!valid_db(c, db)) return c.out.error(kErrDbRange);
  if (db == c.db) return c.out.error(kErrSameObject);
  const std::string_view key = c.arg(1);
  Entry* e = c.find(key);
  if (e == nullptr) return c.out.integer(0);
  Partition& dst = c.server->db(static_cast<std::uint32_t>(db)).of(key);
  if (dst.find(key, c.now_ms) != nullptr) return c.out.integer(0);
  const std::int64_t at = c.part(key).expire_at(*e);
  Value v = std::move(e->value);
  c.part(key).erase(key, c.now_ms);
  pubsub::event(pubsub::kEvGeneric, "move_from", key);
  {
    pubsub::EventsInDb there(static_cast<std::uint32_t>(db));
    store(dst, key, std::move(v), at, c.now_ms);
    pubsub::event(pubsub::kEvGeneric, "move_to", key);
  }
  if (c.server->blocking().any()) blocking::note_ready(static_cast<std::uint32_t>(db), key);
  c.out.integer(1);
}

// COPY source destination [DB destination-db] [REPLACE]
void copy_cmd(CommandContext& c) {
  bool replace = false;
  std::int64_t db = c.db;
  for (std::size_t i = 3; i < c.argc(); ++i) {
    if (iequal(c.arg(i), "replace")) {
      replace = true;
    } else if (iequal(c.arg(i), "db") && i + 1 < c.argc()) {
      if (!parse_int(c.arg(i + 1), db)) return c.out.error(kErrNotInteger);
      ++i;
    } else {
      return c.out.error(kErrSyntax);
    }
  }
  if (!valid_db(c, db)) return c.out.error(kErrDbRange);
  const std::string_view src = c.arg(1), dst = c.arg(2);
  if (db == c.db && src == dst) return c.out.error(kErrSameObject);
  const Entry* e = c.find(src);
  if (e == nullptr) return c.out.integer(0);
  Partition& to = c.server->db(static_cast<std::uint32_t>(db)).of(dst);
  if (to.find(dst, c.now_ms) != nullptr && !replace) return c.out.integer(0);
  pubsub::EventsInDb there(static_cast<std::uint32_t>(db));
  store(to, dst, copy_of(e->value), c.part(src).expire_at(*e), c.now_ms);
  pubsub::event(pubsub::kEvGeneric, "copy_to", dst);
  if (db != c.db && c.server->blocking().any()) blocking::note_ready(static_cast<std::uint32_t>(db), dst);
  c.out.integer(1);
}

void swapdb_cmd(CommandContext& c) {
  std::int64_t a = 0, b = 0;
  if (!parse_db(c.arg(1), a)) return c.out.error("ERR invalid first DB index");
  if (!parse_db(c.arg(2), b)) return c.out.error("ERR invalid second DB index");
  if (!valid_db(c, a) || !valid_db(c, b)) return c.out.error(kErrDbRange);
  c.server->databases().swap(static_cast<std::uint32_t>(a), static_cast<std::uint32_t>(b));
  // The clients blocked in either database now see the other's keys (SWAPDB runs alone).
  if (c.server->blocking().any()) {
    for (std::int64_t d : {a, b}) {
      const auto db = static_cast<std::uint32_t>(d);
      for (std::string& k : c.server->blocking().waited_keys(db)) blocking::note_ready(db, k);
    }
  }
  c.out.simple_string("OK");
}

const HandlerEntry kDatabaseHandlers[] = {
    {"move", move_cmd},
    {"copy", copy_cmd},
    {"swapdb", swapdb_cmd},
};

}  // namespace

std::span<const HandlerEntry> database_handlers() { return kDatabaseHandlers; }

}  // namespace lfdb::db
