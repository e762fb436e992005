// A small hash in one allocation: the compact encoding Hash keeps until the hash passes
// hash-max-listpack-entries / hash-max-listpack-value (the role Redis's listpack plays).
//
// Why: a hash table costs a bucket array, a node per field and two std::strings per field
// (about 100 bytes a field before the bytes themselves); packed, a short field and its value
// cost their bytes plus one header byte. Every lookup is a linear walk, which for the few dozen
// fields this encoding holds is as fast as hashing the field (and is what Redis does).
//
// Layout: the entries' byte count and their count are in the object (the Hash around it has the
// room: the Value's union is 32 bytes and a Hash is this and one pointer); the buffer (nullptr
// when empty) holds the entries alone, in insertion order (HGETALL, HKEYS, HSCAN answer in it,
// as a listpack does), each:
//   header   one byte while the field is at most 7 bytes and the value at most 15: the field's
//            length in bits 4-6, the value's in bits 0-3 (the high bit clear); otherwise the
//            byte 0x80, then the field's length and the value's (LEB128 each)
//   bytes    the field's, then the value's
// A value changed to one of the same length is overwritten in place and keeps its field's
// position; one of another length rewrites the entry where it stands; a removed field closes
// its gap.
//
// Why the counts are not in the buffer and the lengths share a byte: five fields `f0`..`f4` with
// values of 6 bytes were 8 + 5 x 10 = 58 bytes (jemalloc's 64 class) and are 5 x 9 = 45 (its 48
// class). Any small hash saves the 8 bytes, and a byte a field while fields and values are short;
// that is 16 bytes when the buffer crosses down a size class, none when it stays in its class
// (docs/memory.md, "Issue 17 at full scale, and what a small key holds").
//
// Thread-safety: none; a value inside a partition, touched only under its color.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "db/compact/entry_buffer.hpp"

namespace lfdb::db::compact {

class PackedHash : private EntryBuffer {
 public:
  using Pos = const unsigned char*;  // an entry's first byte; nullptr: none

  PackedHash() = default;
  PackedHash(PackedHash&&) noexcept = default;
  PackedHash& operator=(PackedHash&&) noexcept = default;
  PackedHash clone() const {  // the same bytes in a buffer of its own
    PackedHash out;
    copy_into(out);
    return out;
  }

  std::size_t size() const { return count_; }
  bool empty() const { return count_ == 0; }
  // The buffer's size: what the hash costs past its Hash (0 when empty).
  std::size_t bytes() const { return used_; }

  Pos first() const { return count_ == 0 ? nullptr : buf_; }
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

static_assert(sizeof(PackedHash) == 16, "with the table's pointer, Hash fits the Value's union");

}  // namespace lfdb::db::compact
