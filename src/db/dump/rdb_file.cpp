#include "db/dump/rdb_file.hpp"

#include <string_view>

#include "commands/connection.hpp"
#include "db/dump/rdb_format.hpp"
#include "db/dump/rdb_value.hpp"

namespace lfdb::db::dump {
namespace {

// Redis's RDB opcodes (its rdb.h numbers: the file format).
enum Opcode : unsigned char {
  kFunction2 = 245, kAux = 250, kResizeDb = 251, kExpireTimeMs = 252, kSelectDb = 254, kEof = 255,
};

void put_aux(std::string& out, std::string_view key, std::string_view value) {
  out.push_back(static_cast<char>(kAux));
  put_string(out, key);
  put_string(out, value);  // an integer's text is integer-encoded, as Redis writes it
}


}  // namespace

std::string rdb_file(const Databases& dbs, std::int64_t now_ms, const RdbMeta& meta,
                     const std::vector<std::string>& libraries) {
  std::string out = "REDIS0010";
  put_aux(out, "redis-ver", commands::kRedisCompat);
  put_aux(out, "redis-bits", "64");
  put_aux(out, "ctime", std::to_string(now_ms / 1000));
  put_aux(out, "used-mem", std::to_string(meta.used_memory));
  if (!meta.replid.empty()) {
    put_aux(out, "repl-stream-db", "0");  // the stream after the file says its database first
    put_aux(out, "repl-id", meta.replid);
    put_aux(out, "repl-offset", std::to_string(meta.offset));
  }
  put_aux(out, "aof-base", "0");
  for (const std::string& code : libraries) {
    out.push_back(static_cast<char>(kFunction2));
    put_raw_string(out, code);
  }
  for (std::uint32_t d = 0; d < dbs.count(); ++d) {
    const Keyspace& ks = dbs.db(d);
    std::uint64_t keys = 0, expires = 0;
    for (std::uint32_t c = 0; c < ks.colors(); ++c) {
      const Partition& p = ks.at(c);
      for (const auto& [key, e] : p.map()) {
        if (p.past(e, now_ms)) continue;
        ++keys;
        if (e.value.has_deadline()) ++expires;
      }
    }
    if (keys == 0) continue;
    out.push_back(static_cast<char>(kSelectDb));
    put_length(out, d);
    out.push_back(static_cast<char>(kResizeDb));
    put_length(out, keys);
    put_length(out, expires);
    for (std::uint32_t c = 0; c < ks.colors(); ++c) {
      const Partition& p = ks.at(c);
      for (const auto& [key, e] : p.map()) {
        if (p.past(e, now_ms)) continue;
        if (const std::int64_t at = p.expire_at(e); at >= 0) {
          out.push_back(static_cast<char>(kExpireTimeMs));
          for (int i = 0; i < 8; ++i) {
            out.push_back(static_cast<char>((static_cast<std::uint64_t>(at) >> (8 * i)) & 0xff));
          }
        }
        // put_value writes the type byte first; the key goes between it and the value.
        std::string value;
        put_value(value, e.value);
        out.push_back(value[0]);
        put_string(out, key);
        out.append(value, 1, std::string::npos);
      }
    }
  }
  out.push_back(static_cast<char>(kEof));
  const std::uint64_t crc = crc64_jones(0, out);
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((crc >> (8 * i)) & 0xff));
  return out;
}

}  // namespace lfdb::db::dump
