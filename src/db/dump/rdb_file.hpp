// A whole keyspace as a Redis 7.0 RDB file (version 10), the payload of a full resync for
// Redis's SYNC / PSYNC (redis-cli --rdb, --replica, a redis-server replica):
//
//   "REDIS0010" | aux fields (redis-ver, redis-bits, ctime, used-mem, repl-stream-db, repl-id,
//   repl-offset, aof-base) | FUNCTION2 per function library | per non-empty database:
//   SELECTDB db, RESIZEDB keys expires, then per key [EXPIRETIME_MS ms] type key value |
//   EOF | CRC-64 of everything before (little endian)
//
// The values are DUMP's encodings (rdb_value.hpp), so redis-server loads the file as its own.
//
// Thread-safety: a plain function over a keyspace nobody changes meanwhile (the caller runs
// alone).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "db/keyspace.hpp"

namespace lfdb::db::dump {

struct RdbMeta {
  std::string replid;          // the primary's replication id ("" leaves repl-* out)
  std::uint64_t offset = 0;    // the replication offset the file stands at
  std::uint64_t used_memory = 0;
};

// Keys already expired at `now_ms` are left out.
std::string rdb_file(const Databases& dbs, std::int64_t now_ms, const RdbMeta& meta,
                     const std::vector<std::string>& libraries = {});

}  // namespace lfdb::db::dump
