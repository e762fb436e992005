// What a command handler sees: its arguments, the writer for its reply, the keyspace, the
// clock, the server and the connection it runs for. Handlers are plain functions over this.
// `ks` is the database the command runs in (number `db`); commands that reach another database
// (MOVE, COPY ... DB, SWAPDB, FLUSHALL) find it through the server.
//
// Data handlers (strings, keys, hashes) use argv, out, ks, now_ms and find() only, so unit tests
// can run them over a bare Keyspace; server and connection handlers use the rest.
//
// Thread-safety: a handler runs while its invocation holds the colors of its keys (or the global
// mutex); it may touch the partitions of those keys and nothing else of the keyspace. `client`
// is the issuing connection's state (one command of a connection runs at a time).
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <string_view>
#include <utility>

#include "commands/command_table.hpp"
#include "db/keyspace.hpp"
#include "db/pubsub/notify.hpp"
#include "resp/writer.hpp"

namespace lfdb::db {

class Server;
struct ClientState;

// How a lookup counts on the key's access clock (LRU idle time, LFU counter: what eviction and
// OBJECT IDLETIME / FREQ read).
enum class Access {
  kUse,    // an access, unless the connection set CLIENT NO-TOUCH
  kLook,   // none: TTL, TYPE and EXISTS only look at the key, as in Redis
  kTouch,  // always, NO-TOUCH or not: TOUCH, whose whole point is the access
};

struct CommandContext {
  std::span<const std::string_view> argv;
  resp::Writer& out;
  Keyspace& ks;
  std::int64_t now_ms;
  Server* server;        // nullptr in unit tests of data handlers
  ClientState* client;   // idem
  const commands::CommandSpec* spec;
  std::uint32_t db = 0;  // the database the command runs in (SELECT)

  std::string_view arg(std::size_t i) const { return argv[i]; }
  std::size_t argc() const { return argv.size(); }
  // The key with its key-table hash: the one its session computed for the color when it did
  // (`key_hashes`), else hashed here; one hash serves the partition's choice and its lookup.
  KeyRef ref(std::string_view key) const {
    for (const KeyHash& k : key_hashes) {
      if (k.data == key.data() && k.size == key.size()) return KeyRef(key, k.hash, true);
    }
    return KeyRef(key);
  }
  Partition& part(std::string_view key) { return ks.of(ref(key)); }
  // The live entry at key. Readers (their invocation may share the color with other readers)
  // leave an expired entry in place; writers erase it on the way (lazy expiry). A reader must
  // not change what it gets. A reader's miss is a `keymiss` keyspace notification.
  Entry* find(std::string_view key, Access access = Access::kUse);
  // The live entry at key as OBJECT and MEMORY USAGE see it: no access, no `keymiss`, as Redis's
  // object lookups.
  const Entry* inspect(std::string_view key) {
    const KeyRef k = ref(key);
    return std::as_const(ks).of(k).peek(k, now_ms, false);  // no partitions made
  }
  // The hashes the session computed for this command's keys without a hash tag (argv's own
  // bytes: matched by address; ref() marks them untagged). Empty where nobody did (scripts, MULTI, tests): ref() hashes then.
  struct KeyHash {
    const char* data;
    std::size_t size;
    std::uint64_t hash;
  };
  std::span<const KeyHash> key_hashes = {};
  bool writes = true;  // set from the spec's hue class by whoever runs the handler
  bool alone = false;  // the invocation holds every color (a script may reach any key)
  bool rerun_alone = false;  // set by a script that must run again alone (db/scripting.hpp)
  // The error reply is counted in INFO errorstats already (a script's error made by
  // redis.call, db/stats/error_stats.hpp), and the command was refused before it ran (maxmemory).
  bool error_counted = false;
  bool refused = false;
  bool failed = false;  // its reply holds an error inside (a script's array): failed_calls
  // client-output-buffer-limit normal's hard limit, over everything in `out` (the replies of
  // this read not yet sent): set by the session for a normal client's own commands, 0 (none)
  // for scripts, subscribers and the rest. A handler whose reply has no bound of its own
  // (HRANDFIELD's negative count, KEYS) stops once past it: the session then closes the
  // connection with none of it sent, so the reply being cut short is never seen, and the
  // server does not build gigabytes first (Redis breaks off the same loops).
  std::size_t reply_limit = 0;
  bool reply_over_limit() const { return reply_limit != 0 && out.size() > reply_limit; }
};

using Handler = void (*)(CommandContext&);

// Redis 7.0's error replies (without the leading '-').
inline constexpr std::string_view kErrWrongType =
    "WRONGTYPE Operation against a key holding the wrong kind of value";
inline constexpr std::string_view kErrNotInteger = "ERR value is not an integer or out of range";
inline constexpr std::string_view kErrNotFloat = "ERR value is not a valid float";
inline constexpr std::string_view kErrPositive = "ERR value is out of range, must be positive";
inline constexpr std::string_view kErrSyntax = "ERR syntax error";
inline constexpr std::string_view kErrOverflow = "ERR increment or decrement would overflow";
inline constexpr std::string_view kErrNoSuchKey = "ERR no such key";
inline constexpr std::string_view kErrNanOrInf = "ERR increment would produce NaN or Infinity";
inline constexpr std::string_view kErrDebugNotAllowed =
    "ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", you "
    "can run it from a local connection, otherwise you need to set this option in the "
    "configuration file, and then restart the server.";

using commands::iequal;  // option names, case-insensitively

// Number parsing and formatting with Redis's rules.
bool parse_int(std::string_view s, std::int64_t& out);        // string2ll: strict
bool parse_long_double(std::string_view s, long double& out); // string2ld: no spaces, no nan
std::string format_long_double(long double v);                // INCRBYFLOAT's human form
std::string format_int(std::int64_t v);

// The random numbers of the random commands (RANDOMKEY, SRANDMEMBER, HRANDFIELD,
// ZRANDMEMBER...): one engine per thread, seeded from the OS.
std::mt19937_64& random_engine();

// HRANDFIELD's and ZRANDMEMBER's `count [WITHVALUES|WITHSCORES]` (argv[2], argv[3]), with
// Redis's errors: false with the error written; `with` tells whether the option was given.
bool parse_random_count(CommandContext& c, std::string_view option, std::int64_t& count, bool& with);

// Glob-style matching as KEYS, SCAN MATCH and CONFIG GET use it: * ? [abc] [^a] [a-z] \x.
bool glob_match(std::string_view pattern, std::string_view text, bool nocase = false);

// The expiry argument of SET/GETEX/EXPIRE: `value` in unit (ms if `ms`), relative or absolute;
// returns false with the Redis error written when invalid. `cmd` names the command in errors.
bool parse_expire(std::string_view value, bool ms, bool absolute, std::int64_t now_ms,
                  std::string_view cmd, resp::Writer& out, std::int64_t& at_ms);

// What a connection command's handler sees (HELLO, AUTH, SELECT, CLIENT, MULTI, QUIT,
// SHUTDOWN...): its arguments and reply, the server, and the connection: its state and the
// session's controls (authenticate, close after the replies, the transaction). These handlers
// run at once on the serving thread and touch no key (their hue class is kFree).
class ServerSession;
struct SessionContext {
  std::span<const std::string_view> argv;
  resp::Writer& out;
  Server& server;
  ServerSession& session;
  ClientState& client;
  const commands::CommandSpec* spec;

  std::size_t argc() const { return argv.size(); }
};
using SessionHandler = void (*)(SessionContext&);
struct SessionHandlerEntry {
  std::string_view name;
  SessionHandler handler;
};
std::span<const SessionHandlerEntry> session_handlers();

// Handlers by command group, registered by name (the table's spec name, e.g. "client|id").
struct HandlerEntry {
  std::string_view name;
  Handler handler;
};
std::span<const HandlerEntry> string_handlers();
std::span<const HandlerEntry> bit_handlers();
std::span<const HandlerEntry> sort_handlers();
std::span<const HandlerEntry> hll_handlers();
std::span<const HandlerEntry> geo_handlers();
// ZADD itself, for GEOADD (a ZADD of the members' cells). A direct call, not a handler pointer:
// hue-check follows GEOADD into ZADD's code only through a call it can name.
void run_zadd(CommandContext& c);
std::span<const HandlerEntry> key_handlers();
std::span<const HandlerEntry> dump_handlers();  // db/dump/: DUMP, RESTORE
std::span<const HandlerEntry> migrate_handlers();  // db/dump/migrate.cpp: MIGRATE
std::span<const HandlerEntry> hash_handlers();
std::span<const HandlerEntry> list_handlers();
std::span<const HandlerEntry> set_handlers();
std::span<const HandlerEntry> zset_handlers();
std::span<const HandlerEntry> server_handlers();
std::span<const HandlerEntry> script_handlers();
std::span<const HandlerEntry> function_handlers();
std::span<const HandlerEntry> introspection_handlers();
std::span<const HandlerEntry> database_handlers();
std::span<const HandlerEntry> blocking_handlers();  // db/blocking/cmd_blocking.cpp
std::span<const HandlerEntry> pubsub_handlers();
// db/stream/: the entries' commands, the consumer groups', XREAD and XREADGROUP
std::span<const HandlerEntry> stream_entry_handlers();
std::span<const HandlerEntry> stream_group_handlers();
std::span<const HandlerEntry> stream_read_handlers();

}  // namespace lfdb::db
