// The byte-level pieces of Redis's RDB format that DUMP/RESTORE payloads (and FUNCTION
// DUMP/RESTORE's) are made of: RDB lengths and strings (integer and LZF encodings), the CRC-64
// (Jones polynomial, reflected, as Redis's) that seals a payload, listpacks and intsets.
//
// Readers are total: every read is bounds-checked against the input and a count the input claims
// is never trusted for an allocation (each element costs at least one input byte, so loops end
// with the input). Any damage gives false, never a read outside the input.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace lfdb::db::dump {

inline constexpr std::uint16_t kRdbVersion = 10;  // Redis 7.0's

std::uint64_t crc64_jones(std::uint64_t crc, std::string_view data);

// The footer every payload ends with: version (2 bytes, LE) and the CRC-64 of all before (8, LE).
void seal_payload(std::string& out);
// The body of a sealed payload; false when too short, of a newer version, or the CRC is wrong.
bool open_payload(std::string_view payload, std::string_view& body);

void put_length(std::string& out, std::uint64_t n);
// An RDB string as Redis writes it (rdbcompression yes): integer-encoded when it is a canonical
// 32-bit integer of up to 11 characters, else by put_lzf_string's rule.
void put_string(std::string& out, std::string_view s);
void put_raw_string(std::string& out, std::string_view s);  // always plain (binary blobs)
// A binary blob LZF-compressed as Redis writes it with rdbcompression yes (over 20 bytes, and
// only when that saves 4 bytes or more: liblzf, the same algorithm and settings), else plain.
void put_lzf_string(std::string& out, std::string_view s);

struct Reader {
  std::string_view in;
  std::size_t pos = 0;

  bool at_end() const { return pos >= in.size(); }
  std::size_t left() const { return in.size() - pos; }
  bool byte(unsigned char& b);
  bool bytes(std::size_t n, std::string_view& out);
  // A little-endian unsigned of `width` bytes (1..8).
  bool le(std::size_t width, std::uint64_t& v);
  // An RDB length; `encoded` tells a special string encoding (its kind in n).
  bool length(std::uint64_t& n, bool& encoded);
  bool length(std::uint64_t& n);  // a plain length (an encoded one is damage)
  // An RDB string in any encoding (plain, integer, LZF).
  bool string(std::string& out);
};

// Listpacks (Redis 7's compact sequences of strings and integers).
class ListpackWriter {
 public:
  ListpackWriter() { buf_.assign(6, '\0'); }
  void add(std::string_view s);
  void add_int(std::int64_t v);
  std::size_t bytes() const { return buf_.size() + 1; }
  std::size_t count() const { return count_; }
  std::string finish();  // header filled, terminator added; the writer is spent

 private:
  void backlen(std::size_t entry_len);
  std::string buf_;
  std::size_t count_ = 0;
};
// Every element of the listpack `lp` as a string (integers in decimal); false when damaged.
bool listpack_decode(std::string_view lp, std::vector<std::string>& out);

// Ziplists (Redis before 7.0's compact sequences), read only; false when damaged.
bool ziplist_decode(std::string_view zl, std::vector<std::string>& out);

// Intsets: encoding width (2, 4, 8), count, then the sorted integers, all little endian.
// min_width: 2, or a wider element width the set keeps (an intset does not narrow).
std::string intset_encode(std::vector<std::int64_t> values, int min_width = 2);
// The integers and their width; false when damaged: a width other than 2, 4 or 8, a count
// the bytes do not match, no members, or members not strictly ascending (Redis's deep
// integrity check refuses those too; a set built from them would not be an intset).
bool intset_decode(std::string_view blob, std::vector<std::int64_t>& out, std::size_t& width);

}  // namespace lfdb::db::dump
