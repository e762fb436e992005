// One node of a list: a run of elements in one allocation (the role a listpack plays in Redis's
// quicklist). List (db/list.hpp) is a sequence of these, each bounded by list-max-listpack-size.
//
// Why: a std::deque<std::string> costs a 32-byte std::string per element inside 512-byte blocks,
// plus a heap block for every element longer than 15 bytes; packed, a short element costs its
// bytes plus two length bytes, and a whole node is one malloc'd block.
//
// Layout of the buffer (nullptr when empty):
//   header   uint32 bytes of entries, uint32 count
//   entries  in list order, each:
//              length (LEB128), the bytes, back length
//            the back length is the entry's size before it (length prefix plus bytes) as LEB128
//            written backwards: its last byte holds the low 7 bits, a set high bit says another
//            byte precedes. It lets a walk go from the last entry to the first.
// Elements are bytes: an integer is kept as its text (Redis's listpack stores it as a number).
//
// A node can be compressed (list-compress-depth, db/list.hpp): its entry bytes LZF-compressed
// (Debian's liblzf, the algorithm Redis's quicklist uses) in a buffer of its own form:
//   header   uint32 compressed bytes | kLzfBit, uint32 count, uint32 entry bytes when plain
//   the LZF stream
// Only size(), bytes(), compressed(), clone() and decompress() may be called on a compressed node;
// List opens a node (decompress()) before anything reads or changes its entries.
//
// Thread-safety: none; a value inside a partition, touched only under its color.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "db/compact/packed_bytes.hpp"

namespace lfdb::db::compact {

class PackedList : public bytes::PackedBuffer {
 public:
  using Pos = const unsigned char*;  // an entry's first byte; nullptr: none (or the end)

  PackedList() = default;
  PackedList clone() const;  // the same bytes in a buffer of its own

  // The buffer's size as allocated: the compressed form's when compressed (MEMORY USAGE).
  std::size_t bytes() const;
  bool compressed() const { return buf_ != nullptr && (bytes::load32(buf_) & kLzfBit) != 0; }
  // Compresses the node when that saves space, as Redis decides it: nodes under
  // kMinCompressBytes stay plain, and so does one whose LZF form is not kMinCompressGain bytes
  // smaller. Returns whether the node is compressed now.
  bool compress();
  void decompress();  // back to the plain form (a plain node stays as it is)

  static constexpr std::uint32_t kLzfBit = 0x80000000u;
  static constexpr std::size_t kMinCompressBytes = 48;
  static constexpr std::size_t kMinCompressGain = 8;

  bool empty() const { return buf_ == nullptr; }
  // What one more element of `len` bytes adds to bytes().
  static std::size_t entry_bytes(std::size_t len);

  Pos first() const;
  Pos last() const;
  Pos next(Pos p) const;  // nullptr after the last
  Pos prev(Pos p) const;  // nullptr before the first
  static std::string_view value(Pos p);

  // Inserts v before `at` (nullptr: after the last); returns where the new entry is. v may not
  // point into this buffer. Every Pos held before a change is void after it.
  Pos insert(Pos at, std::string_view v);
  void push_front(std::string_view v) { insert(first(), v); }
  void push_back(std::string_view v) { insert(nullptr, v); }
  // Removes the entry at p; returns the entry that followed it (nullptr: it was the last).
  Pos erase(Pos p);
  // Removes n entries from the front / the back (n <= size()).
  void erase_front(std::size_t n);
  void erase_back(std::size_t n);
  // Replaces the entry at p by v; returns where it is now.
  Pos replace(Pos p, std::string_view v);
  // Appends o's entries after this one's (o is left empty).
  void append(PackedList&& o);
  // The entries from index `keep` on move to the returned node; this one keeps the first `keep`.
  PackedList split(std::size_t keep);

 private:
  // Replaces the `old_len` bytes at offset `off` of the entries by `len` bytes (uninitialised),
  // moving what follows, and sets the count; returns where the new bytes go.
  unsigned char* splice(std::size_t off, std::size_t old_len, std::size_t len, std::size_t count);

};

}  // namespace lfdb::db::compact
