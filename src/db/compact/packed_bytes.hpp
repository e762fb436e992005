// The byte-level pieces the compact encodings share (packed_zset, packed_hash, packed_list): a
// buffer's 32-bit header words, the LEB128 lengths in front of each stored string, and the back
// lengths after an entry that let a walk go backward.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>

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

// The back length: the same 7-bit groups, highest group first, so that the last byte holds the
// lowest; every byte but the first has its high bit set ("a byte precedes"). Returns p past it.
inline unsigned char* put_backlen(unsigned char* p, std::size_t v) {
  const std::size_t n = varint_size(v);
  for (std::size_t i = n; i-- > 0;) {
    const auto group = static_cast<unsigned char>((v >> (7 * i)) & 0x7f);
    *p++ = static_cast<unsigned char>(group | (i + 1 < n ? 0x80 : 0));
  }
  return p;
}
// Reads the back length that ends just before `end`; `start` becomes its first byte.
inline std::size_t get_backlen(const unsigned char* end, const unsigned char*& start) {
  std::size_t v = 0;
  const unsigned char* p = end - 1;
  for (unsigned shift = 0;; shift += 7, --p) {
    v |= static_cast<std::size_t>(*p & 0x7f) << shift;
    if ((*p & 0x80) == 0) break;
  }
  start = p;
  return v;
}

// A list node's buffer (packed_list): one malloc'd buffer (nullptr while empty) that starts with
// the two header words, its entry bytes and its entry count. (The small hash and sorted set keep
// their counts in the object instead, where the Value's union has room for them.) Move-only; a
// derived encoding's clone() copies it with copy_from().
class PackedBuffer {
 public:
  PackedBuffer() = default;
  ~PackedBuffer() { std::free(buf_); }
  PackedBuffer(const PackedBuffer&) = delete;
  PackedBuffer& operator=(const PackedBuffer&) = delete;
  PackedBuffer(PackedBuffer&& o) noexcept : buf_(o.buf_) { o.buf_ = nullptr; }
  PackedBuffer& operator=(PackedBuffer&& o) noexcept {
    if (this != &o) {
      std::free(buf_);
      buf_ = o.buf_;
      o.buf_ = nullptr;
    }
    return *this;
  }

  std::size_t size() const { return buf_ == nullptr ? 0 : load32(buf_ + 4); }
  // The buffer's size, header included (0 when empty).
  std::size_t bytes() const { return buf_ == nullptr ? 0 : kHeader + load32(buf_); }

 protected:
  // This (empty) buffer becomes a copy of o's bytes.
  void copy_from(const PackedBuffer& o) {
    if (o.buf_ == nullptr) return;
    buf_ = static_cast<unsigned char*>(std::malloc(o.bytes()));
    if (buf_ == nullptr) throw std::bad_alloc();
    std::memcpy(buf_, o.buf_, o.bytes());
  }
  unsigned char* data() const { return buf_ + kHeader; }  // the first entry's byte
  unsigned char* end() const { return buf_ + kHeader + load32(buf_); }  // one past the last

  unsigned char* buf_ = nullptr;
};

}  // namespace lfdb::db::compact::bytes
