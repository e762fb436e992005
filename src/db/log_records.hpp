// What an executed write leaves in the append-only log. Most commands are logged as they came
// (their effect depends only on their arguments and the keyspace). Those whose effect depends
// on the clock or on float formatting are logged as the state they produced, so replaying the
// log at any later time rebuilds the same keyspace:
//   SET SETEX PSETEX INCRBYFLOAT       -> SET key value [PXAT deadline]   (or DEL key)
//   EXPIRE PEXPIRE EXPIREAT PEXPIREAT GETEX -> PEXPIREAT key deadline | PERSIST key | DEL key
//   HINCRBYFLOAT                       -> HSET key field value
//   SPOP (random)                      -> SREM key popped... | DEL key   (written by the handler)
//   ZINCRBY, ZADD ... INCR             -> ZADD key score member   (score as %.17g: exact)
//   stream writes (db/stream/)         -> XADD with its id, exact XTRIM, XCLAIM ... FORCE,
//                                         XGROUP SETID ... ENTRIESREAD  (written by the handlers)
//   RESTORE (db/dump/)                 -> RESTORE key deadline payload [REPLACE] ABSTTL (or a 0
//                                         TTL), or DEL   (written by the handler)
//   MIGRATE (db/dump/)                 -> DEL of the keys the target took (written by the handler)
// Keys that expire are logged as DEL where they expire (Partition::expired), and replay runs
// with the clock at 0 so nothing expires while the log is loaded: the order of the log decides.
//
// Thread-safety: called by the invocation that holds the key's color, like the handler.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>

#include "commands/command_table.hpp"
#include "db/keyspace.hpp"

namespace lfdb::db {

// Encodes one command as a RESP multibulk (the log's record form).
void encode_command(std::string& out, std::span<const std::string_view> args);
void encode_command(std::string& out, std::initializer_list<std::string_view> args);

// How many commands `records` holds, SELECTs not counted, stopping at `at_most`: a block of one
// is not wrapped in MULTI/EXEC (a single command is atomic as it is), as Redis 7.0 propagates.
std::size_t count_commands(std::string_view records, std::size_t at_most);

void log_effect(const commands::CommandSpec& spec, std::span<const std::string_view> argv,
                Keyspace& ks, std::int64_t now_ms, std::string& out);

}  // namespace lfdb::db
