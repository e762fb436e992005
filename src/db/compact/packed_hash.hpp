// A small hash in one allocation: the compact encoding Hash keeps until the hash passes
// hash-max-listpack-entries / hash-max-listpack-value (the role Redis's listpack plays).
//
// Why: a hash table costs a bucket array, a node per field and two std::strings per field
// (about 100 bytes a field before the bytes themselves); packed, a short field and its value
// cost their bytes plus two length bytes. Every lookup is a linear walk, which for the few dozen
// fields this encoding holds is as fast as hashing the field (and is what Redis does).
//
// Layout of the buffer (nullptr when empty):
//   header   uint32 bytes of entries, uint32 count
//   entries  in insertion order (HGETALL, HKEYS, HSCAN answer in it, as a listpack does), each:
//              field length (LEB128), field bytes, value length (LEB128), value bytes
// A value changed in place keeps its field's position; a removed field closes its gap.
//
// Thread-safety: none; a value inside a partition, touched only under its color.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "db/compact/packed_bytes.hpp"

namespace lfdb::db::compact {

class PackedHash : public bytes::PackedBuffer {
 public:
  using Pos = const unsigned char*;  // an entry's first byte; nullptr: none

  PackedHash() = default;
  PackedHash clone() const;  // the same bytes in a buffer of its own

  bool empty() const { return size() == 0; }

  Pos first() const;
  Pos next(Pos p) const;  // nullptr after the last
  static std::string_view field(Pos p);
  static std::string_view value(Pos p);

  Pos find(std::string_view field) const;
  // Sets field to value (a new field goes last); true if the field is new. Neither view may
  // point into this buffer.
  bool set(std::string_view field, std::string_view value);
  // Removes the field; false if it was not there.
  bool erase(std::string_view field);

 private:
  // Replaces the `old_len` bytes at offset `off` of the entries by `len` bytes (uninitialised),
  // moving what follows; returns where the new bytes go.
  unsigned char* splice(std::size_t off, std::size_t old_len, std::size_t len);

};

}  // namespace lfdb::db::compact
