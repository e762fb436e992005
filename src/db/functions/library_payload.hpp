// FUNCTION DUMP / RESTORE payloads (their RDB pieces: db/dump/rdb_format.hpp), in Redis 7.0's form so payloads move between lfdb and Redis:
// for each library the function opcode (245) and its code as an RDB string, then the RDB
// version (2 bytes, little endian) and a CRC-64 (Jones polynomial, as Redis's) of everything
// before it (8 bytes, little endian). Both write a code by RDB's string rule (dump::put_string:
// over 20 bytes LZF-compressed when that saves 4 bytes or more), so lfdb's payload of a library
// is redis-server's byte for byte, and each reads the other's.
//
// Decoding is total: any input gives libraries' codes or an error, never a read outside it
// (tests/fuzz has a target for it).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace lfdb::db::functions {

std::string encode_payload(const std::vector<std::string>& codes);
// The codes in `payload`; false with Redis's error in `err`.
bool decode_payload(std::string_view payload, std::vector<std::string>& codes, std::string& err);

}  // namespace lfdb::db::functions
