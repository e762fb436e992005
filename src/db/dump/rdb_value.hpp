// DUMP / RESTORE payloads: one value in Redis 7.0's RDB form (a type byte and the encoded value),
// sealed with the RDB version and a CRC-64 (rdb_format.hpp), so keys move between lfdb and Redis
// in both directions.
//
// What lfdb writes, as Redis 7.0 would for the same value:
//   string      RDB_TYPE_STRING (integer-encoded when it is a small canonical integer)
//   list        RDB_TYPE_LIST_QUICKLIST_2: listpack nodes of about 8 KB
//   set         RDB_TYPE_SET_INTSET up to 512 integers, else RDB_TYPE_SET
//   hash        RDB_TYPE_HASH_LISTPACK up to 512 fields of up to 64 bytes, else RDB_TYPE_HASH
//   sorted set  RDB_TYPE_ZSET_LISTPACK up to 128 members of up to 64 bytes, else RDB_TYPE_ZSET_2
//   stream      RDB_TYPE_STREAM_LISTPACKS_2 (7.0's): entries, metadata, groups, PELs, consumers
// What lfdb reads: all of those, plus what Redis before 7.0 wrote: RDB_TYPE_LIST, RDB_TYPE_ZSET
// (text scores), the ziplist encodings (LIST_ZIPLIST, LIST_QUICKLIST, ZSET_ZIPLIST,
// HASH_ZIPLIST) and RDB_TYPE_STREAM_LISTPACKS (no first id, deletions or entries-read). Zipmaps
// (before 2.6) and modules are refused ("Bad data format").
//
// The decoder reads client bytes: it is total (fuzz/rdb_value_fuzz.cpp) and refuses what Redis
// refuses on load (empty containers, repeated set members or hash fields, NaN scores).
#pragma once

#include <string>
#include <string_view>

#include "db/keyspace.hpp"

namespace lfdb::db::dump {

// The payload DUMP answers for the value.
std::string dump_value(const Value& v);
// The value as an RDB file holds it: its type byte, then its encoding (DUMP's payload without
// the version and CRC that seal it).
void put_value(std::string& out, const Value& v);
// The value a payload holds; false with Redis's error in `err` ("ERR DUMP payload version or
// checksum are wrong" or "ERR Bad data format").
bool restore_value(std::string_view payload, Value& out, std::string& err);

}  // namespace lfdb::db::dump
