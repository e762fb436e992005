// A small sorted set in one allocation: the compact encoding ZSet keeps until the set passes
// zset-max-listpack-entries / zset-max-listpack-value (the role Redis's listpack plays).
//
// Why: a skip list costs a head node of 32 levels, a node and an index entry per member and a
// hash table's buckets, about 1.5 KB for five short members; packed, the same five are about
// 12 bytes each in one buffer. Every query is a linear walk, which for the few dozen members
// this encoding holds is as fast as the skip list's pointer chase (and is what Redis does).
//
// Layout: the entries' byte count and their count are in the object (the ZSet around it has
// the room: the Value's union is 32 bytes and a ZSet is this and one pointer), the buffer
// (nullptr when empty) holds the entries alone, ascending by (score, member), each:
//              member length (LEB128), member bytes,
//              score: a tag byte and what it says follows. An integer-valued score is stored as
//              an integer: -32..220 in the tag byte alone, int16 in 2 more bytes, int32 in 4;
//              any other score is the tag and the double's 8 bytes (what a listpack does with
//              an integer score, which is what most sorted sets hold: ranks, counts, seconds),
//              back length: the entry's size before it, 7 bits a byte written so that it reads
//              from its last byte backward (the high bit says another byte precedes)
// The back length lets a walk go backward (ZREVRANGE) one entry at a time.
//
// Why the counts are not in the buffer, as the other packed encodings have them: five typical
// entries (`m0:123456` with the scores 1..5) are 60 bytes, 68 with an 8-byte header: jemalloc's
// 80 class, where 60 is its 64 class (16 bytes a key for the commonest small sorted set).
//
// Scores are never NaN (the commands refuse it first); -0 is stored as 0, as the skip list does.
// score() returns exactly the double that was set: every int32 is exactly a double.
//
// Thread-safety: none; a value inside a partition, touched only under its color.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "db/compact/entry_buffer.hpp"

#include "db/compact/packed_bytes.hpp"

namespace lfdb::db::compact {

class PackedZSet : private EntryBuffer {
 public:
  using Pos = const unsigned char*;  // an entry's first byte; nullptr: none

  PackedZSet() = default;
  PackedZSet(PackedZSet&&) noexcept = default;
  PackedZSet& operator=(PackedZSet&&) noexcept = default;
  PackedZSet clone() const {  // the same bytes in a buffer of its own
    PackedZSet out;
    copy_into(out);
    return out;
  }

  std::size_t size() const { return count_; }
  bool empty() const { return count_ == 0; }
  // The buffer's size: what the set costs past its ZSet (0 when empty).
  std::size_t bytes() const { return used_; }

  Pos first() const;
  Pos last() const;
  Pos next(Pos p) const;  // nullptr after the last
  Pos prev(Pos p) const;  // nullptr before the first
  static std::string_view member(Pos p);
  static double score(Pos p);

  Pos find(std::string_view member) const;
  // Adds the member, or moves it to `score`; true if it is new.
  bool set(std::string_view member, double score);
  // Removes the member; false if it was not there.
  bool erase(std::string_view member);
  std::size_t rank(Pos p) const;   // 0-based, ascending
  Pos at(std::size_t rank) const;  // nullptr past the end
  // The longest member (the encoding's value limit is checked against it).
  std::size_t longest() const;

 private:
  void remove(Pos p);
  void insert(std::string_view member, double score);
  unsigned char* data() const { return buf_; }         // the first entry's byte
  unsigned char* end() const { return buf_ + used_; }  // one past the last

};

static_assert(sizeof(PackedZSet) == 16, "with the skip list's pointer, ZSet fits the Value's union");

}  // namespace lfdb::db::compact
