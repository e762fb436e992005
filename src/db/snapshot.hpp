// Snapshots: the whole keyspace at one point in time, in lfdb's own binary format.
//
//   "LFDBSNAP" | u32 version (4) | i64 created_ms
//   libraries: u8 6 | str code                 (version 4: FUNCTION LOAD's libraries, first)
//   records:   u8 type (1 string, 2 hash, 3 list, 4 set, 5 zset) | i64 expire_at_ms (-1: none)
//              | str key | value
//              value: str (string), varint n + n x (str field, str value) (hash), varint n +
//              n x str (list, set), varint n + n x (str member, 8-byte double) (zset)
//              str: varint length + bytes
//              or u8 0xFE | varint db: the records that follow belong to database db
//              (versions 1 and 2 have no such record: everything is database 0)
//   end:       u8 0xFF | u64 records | u64 XXH3-64 of every byte before it
//
// Written to a temporary file, fsynced, then renamed over the target (and the directory
// fsynced), so a crash leaves either the old snapshot or the new one, never a mix. Loading
// checks the checksum before touching the keyspace.
//
// The keyspace must hold still while it is written: SAVE runs alone (its hue conflicts with
// every command); BGSAVE and BGREWRITEAOF fork while running alone and the child writes its own
// copy-on-write image, so the server keeps serving (the pause is the fork).
//
// Thread-safety: plain functions over a keyspace nobody else touches meanwhile.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "db/keyspace.hpp"
#include "lf/status.hpp"

namespace lfdb::db {

struct SnapshotLoad {
  std::uint64_t keys = 0;
  std::int64_t created_ms = 0;
  std::uint64_t bytes = 0;  // the snapshot's length (a log's preamble is followed by records)
  std::vector<std::string> libraries;  // function libraries' codes (Server::restore_libraries)
};

// Writes `ks` to `path` (via path.tmp-<pid>); keys already expired at `now_ms` are left out.
// key_delay_us: rdb-key-save-delay (ServerConfig), a pause after each key, for tests that must
// catch a save in the middle.
lf::Status save_snapshot(const Databases& ks, const std::string& path, std::int64_t now_ms,
                         std::uint64_t& keys_written, int key_delay_us = 0,
                         const std::vector<std::string>& libraries = {});
// Loads a snapshot into an empty keyspace. A missing file is not an error (nothing loaded).
lf::Result<SnapshotLoad> load_snapshot(const std::string& path, Databases& ks);

// The snapshot as bytes in memory (a replica's full resync); same stillness rule.
lf::Result<std::string> snapshot_to_bytes(const Databases& ks, std::int64_t now_ms,
                                          const std::vector<std::string>& libraries = {});

// Whether bytes start like a snapshot (a rewritten log with a snapshot preamble does).
bool is_snapshot(std::string_view bytes);
// Loads the snapshot at the start of `bytes` (checksum verified); `what` names it in errors.
lf::Result<SnapshotLoad> load_snapshot_bytes(std::string_view bytes, Databases& ks,
                                             const std::string& what);

// The base of a rewritten append-only log, written to `path` directly (the caller renames):
// the keyspace as commands (SET/HSET/PEXPIREAT: any RESP tool reads it), or with
// snapshot_preamble the binary snapshot (faster to load; redis-check-aof cannot read it).
// Same stillness rule and key delay as save_snapshot.
lf::Status write_log_base(const Databases& ks, const std::string& path, std::int64_t now_ms,
                          bool snapshot_preamble, int key_delay_us = 0,
                          const std::vector<std::string>& libraries = {});

// The temporary files of saves, named after the writing process, all in `dir`: the snapshot's
// temp-<pid>.rdb (renamed over <dbfilename> when complete; Redis's name, which tools and Redis's
// own tests look for), the rewritten log's temp-rewriteaof-<pid>.aof (BGREWRITEAOF) and
// temp-resync-<pid>.aof (a replica's full resync), renamed over the log.
inline constexpr char kSnapshotTempPrefix[] = "temp-";
inline constexpr char kSnapshotTempSuffix[] = ".rdb";
inline constexpr char kRewriteTempPrefix[] = "temp-rewriteaof-";
inline constexpr char kResyncTempPrefix[] = "temp-resync-";
inline constexpr char kLogTempSuffix[] = ".aof";

// The temporary file a snapshot of `path` written by process `pid` goes to: in path's directory.
std::string snapshot_temp_path(const std::string& path, pid_t pid);

// The ones a crash in the middle of a save left behind in `dir`. Called at start, when no save
// of ours can be running: removes every one but those whose pid is a live lfdb-server other
// than this process (a server sharing the directory may be writing it). Returns their paths.
std::vector<std::string> remove_stale_temp_files(const std::string& dir);

}  // namespace lfdb::db
