// The byte-level pieces the compact encodings share (packed_zset, packed_hash): a buffer's
// 32-bit header words and the LEB128 lengths in front of each stored string.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace lfdb::db::compact::bytes {

constexpr std::size_t kHeader = 8;  // uint32 entry bytes, uint32 count

inline std::uint32_t load32(const unsigned char* p) {
  std::uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
inline void store32(unsigned char* p, std::uint32_t v) { std::memcpy(p, &v, 4); }

// LEB128: 7 bits a byte, low bits first, the high bit says another byte follows.
inline std::size_t varint_size(std::size_t v) {
  std::size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}
inline unsigned char* put_varint(unsigned char* p, std::size_t v) {
  while (v >= 0x80) {
    *p++ = static_cast<unsigned char>(v | 0x80);
    v >>= 7;
  }
  *p++ = static_cast<unsigned char>(v);
  return p;
}
inline const unsigned char* get_varint(const unsigned char* p, std::size_t& v) {
  v = 0;
  for (unsigned shift = 0;; shift += 7) {
    const unsigned char b = *p++;
    v |= static_cast<std::size_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) return p;
  }
}

}  // namespace lfdb::db::compact::bytes
