#include "db/compact/packed_hash.hpp"
#include "db/compact/packed_bytes.hpp"

#include <cstdlib>
#include <cstring>
#include <new>

namespace lfdb::db::compact {
namespace {

using bytes::get_varint;
using bytes::kHeader;
using bytes::load32;
using bytes::put_varint;
using bytes::store32;
using bytes::varint_size;

std::size_t part_size(std::size_t len) { return varint_size(len) + len; }
unsigned char* put_part(unsigned char* p, std::string_view s) {
  p = put_varint(p, s.size());
  if (!s.empty()) std::memcpy(p, s.data(), s.size());
  return p + s.size();
}
// The part (length and bytes) at p; `after` becomes the byte past it.
std::string_view get_part(const unsigned char* p, const unsigned char*& after) {
  std::size_t len = 0;
  p = get_varint(p, len);
  after = p + len;
  return {reinterpret_cast<const char*>(p), len};
}

}  // namespace

PackedHash PackedHash::clone() const {
  PackedHash out;
  out.copy_from(*this);
  return out;
}

PackedHash::Pos PackedHash::first() const { return size() == 0 ? nullptr : data(); }

PackedHash::Pos PackedHash::next(Pos p) const {
  const unsigned char* q = nullptr;
  get_part(p, q);
  get_part(q, q);
  return q == end() ? nullptr : q;
}

std::string_view PackedHash::field(Pos p) {
  const unsigned char* after = nullptr;
  return get_part(p, after);
}

std::string_view PackedHash::value(Pos p) {
  const unsigned char* q = nullptr;
  get_part(p, q);
  return get_part(q, q);
}

PackedHash::Pos PackedHash::find(std::string_view f) const {
  for (Pos p = first(); p != nullptr; p = next(p)) {
    if (field(p) == f) return p;
  }
  return nullptr;
}

unsigned char* PackedHash::splice(std::size_t off, std::size_t old_len, std::size_t len) {
  const std::size_t used = buf_ == nullptr ? 0 : load32(buf_);
  const std::size_t count = buf_ == nullptr ? 0 : load32(buf_ + 4);
  const std::size_t grown = used - old_len + len;
  if (grown > UINT32_MAX) throw std::bad_alloc();  // far past any limit this encoding takes
  if (len > old_len || buf_ == nullptr) {
    auto* b = static_cast<unsigned char*>(std::realloc(buf_, kHeader + grown));
    if (b == nullptr) throw std::bad_alloc();
    buf_ = b;
  }
  unsigned char* at = data() + off;
  std::memmove(at + len, at + old_len, used - off - old_len);
  store32(buf_, static_cast<std::uint32_t>(grown));
  store32(buf_ + 4, static_cast<std::uint32_t>(count));
  if (len < old_len) {  // give the tail back (a failed shrink keeps the larger block)
    if (auto* b = static_cast<unsigned char*>(std::realloc(buf_, kHeader + grown))) buf_ = b;
  }
  return data() + off;
}

bool PackedHash::set(std::string_view f, std::string_view v) {
  if (Pos p = find(f); p != nullptr) {
    const unsigned char* val = nullptr;
    get_part(p, val);
    const unsigned char* after = nullptr;
    const std::string_view old = get_part(val, after);
    if (old.size() == v.size()) {  // the same size: overwrite, no move
      if (!v.empty()) std::memcpy(const_cast<unsigned char*>(after) - v.size(), v.data(), v.size());
      return false;
    }
    const auto off = static_cast<std::size_t>(val - data());
    put_part(splice(off, static_cast<std::size_t>(after - val), part_size(v.size())), v);
    return false;
  }
  const std::size_t off = buf_ == nullptr ? 0 : load32(buf_);
  put_part(put_part(splice(off, 0, part_size(f.size()) + part_size(v.size())), f), v);
  store32(buf_ + 4, load32(buf_ + 4) + 1);
  return true;
}

bool PackedHash::erase(std::string_view f) {
  Pos p = find(f);
  if (p == nullptr) return false;
  const unsigned char* after = nullptr;
  get_part(p, after);
  get_part(after, after);
  if (size() == 1) {
    std::free(buf_);
    buf_ = nullptr;
    return true;
  }
  splice(static_cast<std::size_t>(p - data()), static_cast<std::size_t>(after - p), 0);
  store32(buf_ + 4, load32(buf_ + 4) - 1);
  return true;
}

}  // namespace lfdb::db::compact
