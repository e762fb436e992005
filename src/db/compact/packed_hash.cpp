#include "db/compact/packed_hash.hpp"
#include "db/compact/packed_bytes.hpp"

#include <cstdlib>
#include <cstring>
#include <new>

namespace lfdb::db::compact {
namespace {

using bytes::get_varint;
using bytes::put_varint;
using bytes::varint_size;

constexpr std::size_t kShortField = 7;   // bits 4-6 of the one-byte header
constexpr std::size_t kShortValue = 15;  // bits 0-3
constexpr unsigned char kLongHeader = 0x80;

std::size_t header_size(std::size_t flen, std::size_t vlen) {
  if (flen <= kShortField && vlen <= kShortValue) return 1;
  return 1 + varint_size(flen) + varint_size(vlen);
}
std::size_t entry_size(std::string_view f, std::string_view v) {
  return header_size(f.size(), v.size()) + f.size() + v.size();
}
void put_entry(unsigned char* p, std::string_view f, std::string_view v) {
  if (f.size() <= kShortField && v.size() <= kShortValue) {
    *p++ = static_cast<unsigned char>(f.size() << 4 | v.size());
  } else {
    *p++ = kLongHeader;
    p = put_varint(p, f.size());
    p = put_varint(p, v.size());
  }
  if (!f.empty()) std::memcpy(p, f.data(), f.size());
  if (!v.empty()) std::memcpy(p + f.size(), v.data(), v.size());
}
// The entry at p: its field's and value's lengths; returns the field's first byte. Inlined
// everywhere: out of line (gcc's choice) it cost HSET about 45 instructions in calls.
[[gnu::always_inline]] inline const unsigned char* get_entry(const unsigned char* p, std::size_t& flen, std::size_t& vlen) {
  const unsigned char h = *p++;
  if (h != kLongHeader) {
    flen = h >> 4;
    vlen = h & 0x0f;
    return p;
  }
  p = get_varint(p, flen);
  return get_varint(p, vlen);
}

}  // namespace

PackedHash::Pos PackedHash::next(Pos p) const {
  std::size_t flen = 0;
  std::size_t vlen = 0;
  const unsigned char* q = get_entry(p, flen, vlen) + flen + vlen;
  return q == buf_ + used_ ? nullptr : q;
}

std::string_view PackedHash::field(Pos p) {
  std::size_t flen = 0;
  std::size_t vlen = 0;
  const unsigned char* f = get_entry(p, flen, vlen);
  return {reinterpret_cast<const char*>(f), flen};
}

std::string_view PackedHash::value(Pos p) {
  std::size_t flen = 0;
  std::size_t vlen = 0;
  const unsigned char* f = get_entry(p, flen, vlen);
  return {reinterpret_cast<const char*>(f + flen), vlen};
}

PackedHash::Pos PackedHash::find(std::string_view f) const {
  const unsigned char* const stop = buf_ + used_;
  for (const unsigned char* p = buf_; p != stop;) {  // one header read an entry
    std::size_t flen = 0;
    std::size_t vlen = 0;
    const unsigned char* fp = get_entry(p, flen, vlen);
    if (flen == f.size() && (flen == 0 || std::memcmp(fp, f.data(), flen) == 0)) return p;
    p = fp + flen + vlen;
  }
  return nullptr;
}

unsigned char* PackedHash::splice(std::size_t off, std::size_t old_len, std::size_t len) {
  const std::size_t grown = used_ - old_len + len;
  if (grown > UINT32_MAX) throw std::bad_alloc();  // far past any limit this encoding takes
  if (len > old_len || buf_ == nullptr) {
    auto* b = static_cast<unsigned char*>(std::realloc(buf_, grown));
    if (b == nullptr) throw std::bad_alloc();
    buf_ = b;
  }
  unsigned char* at = buf_ + off;
  std::memmove(at + len, at + old_len, used_ - off - old_len);
  used_ = static_cast<std::uint32_t>(grown);
  if (len < old_len) {  // give the tail back (a failed shrink keeps the larger block)
    if (auto* b = static_cast<unsigned char*>(std::realloc(buf_, grown))) buf_ = b;
  }
  return buf_ + off;
}

bool PackedHash::set(std::string_view f, std::string_view v) {
  if (Pos p = find(f); p != nullptr) {
    std::size_t flen = 0;
    std::size_t vlen = 0;
    const unsigned char* fp = get_entry(p, flen, vlen);
    if (vlen == v.size()) {  // the same size: overwrite, no move
      if (!v.empty()) std::memcpy(const_cast<unsigned char*>(fp) + flen, v.data(), v.size());
      return false;
    }
    const auto off = static_cast<std::size_t>(p - buf_);
    const auto old_len = static_cast<std::size_t>(fp + flen + vlen - p);
    put_entry(splice(off, old_len, entry_size(f, v)), f, v);
    return false;
  }
  put_entry(splice(used_, 0, entry_size(f, v)), f, v);
  ++count_;
  return true;
}

bool PackedHash::erase(std::string_view f) {
  Pos p = find(f);
  if (p == nullptr) return false;
  if (count_ == 1) {
    release();
    return true;
  }
  std::size_t flen = 0;
  std::size_t vlen = 0;
  const unsigned char* after = get_entry(p, flen, vlen) + flen + vlen;
  splice(static_cast<std::size_t>(p - buf_), static_cast<std::size_t>(after - p), 0);
  --count_;
  return true;
}

}  // namespace lfdb::db::compact
