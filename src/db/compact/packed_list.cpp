#include "db/compact/packed_list.hpp"
#include "db/compact/packed_bytes.hpp"

#include <cstdlib>
#include <cstring>
#include <new>

#include <lzf.h>
#include <malloc.h>

namespace lfdb::db::compact {
namespace {

using bytes::get_backlen;
using bytes::get_varint;
using bytes::kHeader;
using bytes::load32;
using bytes::put_backlen;
using bytes::put_varint;
using bytes::store32;
using bytes::varint_size;

// The part of an entry a back length counts: the length prefix and the bytes.
std::size_t list_body_size(std::size_t len) { return varint_size(len) + len; }

unsigned char* put_entry(unsigned char* p, std::string_view v) {
  p = put_varint(p, v.size());
  if (!v.empty()) std::memcpy(p, v.data(), v.size());
  return put_backlen(p + v.size(), list_body_size(v.size()));
}

// The byte past the entry at p.
const unsigned char* entry_end(const unsigned char* p) {
  std::size_t len = 0;
  const unsigned char* q = get_varint(p, len);
  return q + len + varint_size(list_body_size(len));
}

}  // namespace

constexpr std::size_t kLzfHeader = 12;  // compressed bytes | kLzfBit, count, plain entry bytes

PackedList PackedList::clone() const {
  PackedList out;
  if (!compressed()) {
    out.copy_from(*this);
    return out;
  }
  out.buf_ = static_cast<unsigned char*>(std::malloc(bytes()));
  if (out.buf_ == nullptr) throw std::bad_alloc();
  std::memcpy(out.buf_, buf_, bytes());
  return out;
}

std::size_t PackedList::bytes() const {
  if (!compressed()) return PackedBuffer::bytes();
  return kLzfHeader + (load32(buf_) & ~kLzfBit);
}

bool PackedList::compress() {
  if (buf_ == nullptr) return false;
  if (compressed()) return true;
  const std::size_t raw = load32(buf_);
  if (kHeader + raw < kMinCompressBytes || raw > ~kLzfBit) return false;
  // lzf_compress gives 0 when its output would not fit: the room given is what still saves
  // kMinCompressGain bytes. Compressed straight into the new buffer, then shrunk to fit (no
  // scratch buffer that would keep a large node's size).
  const std::size_t room = raw - kMinCompressGain - 1;
  auto* b = static_cast<unsigned char*>(std::malloc(kLzfHeader + room));
  if (b == nullptr) return false;  // plain is still a valid form
  const unsigned int n = ::lzf_compress(data(), static_cast<unsigned int>(raw), b + kLzfHeader,
                                        static_cast<unsigned int>(room));
  if (n == 0) {
    std::free(b);
    return false;
  }
  if (auto* shrunk = static_cast<unsigned char*>(std::realloc(b, kLzfHeader + n))) b = shrunk;
  store32(b, static_cast<std::uint32_t>(n) | kLzfBit);
  store32(b + 4, load32(buf_ + 4));
  store32(b + 8, static_cast<std::uint32_t>(raw));
  std::free(buf_);
  buf_ = b;
  return true;
}

void PackedList::decompress() {
  if (!compressed()) return;
  const std::size_t n = load32(buf_) & ~kLzfBit;
  const std::size_t raw = load32(buf_ + 8);
  auto* b = static_cast<unsigned char*>(std::malloc(kHeader + raw));
  if (b == nullptr) throw std::bad_alloc();
  // The stream is our own, written by compress(): anything but the whole node back is a bug.
  if (::lzf_decompress(buf_ + kLzfHeader, static_cast<unsigned int>(n), b + kHeader,
                     static_cast<unsigned int>(raw)) != raw) {
    std::abort();
  }
  store32(b, static_cast<std::uint32_t>(raw));
  store32(b + 4, load32(buf_ + 4));
  std::free(buf_);
  buf_ = b;
}
std::size_t PackedList::entry_bytes(std::size_t len) {
  return list_body_size(len) + varint_size(list_body_size(len));
}

PackedList::Pos PackedList::first() const { return buf_ == nullptr ? nullptr : data(); }

PackedList::Pos PackedList::last() const {
  if (buf_ == nullptr) return nullptr;
  const unsigned char* start = nullptr;
  const std::size_t body = get_backlen(end(), start);
  return start - body;
}

PackedList::Pos PackedList::next(Pos p) const {
  const unsigned char* q = entry_end(p);
  return q == end() ? nullptr : q;
}

PackedList::Pos PackedList::prev(Pos p) const {
  if (p == data()) return nullptr;
  const unsigned char* start = nullptr;
  const std::size_t body = get_backlen(p, start);
  return start - body;
}

std::string_view PackedList::value(Pos p) {
  std::size_t len = 0;
  const unsigned char* q = get_varint(p, len);
  return {reinterpret_cast<const char*>(q), len};
}

unsigned char* PackedList::splice(std::size_t off, std::size_t old_len, std::size_t len,
                                  std::size_t count) {
  const std::size_t used = buf_ == nullptr ? 0 : load32(buf_);
  const std::size_t grown = used - old_len + len;
  if (grown > UINT32_MAX || count > UINT32_MAX) throw std::bad_alloc();
  if (count == 0) {  // the last entry went: nothing is kept
    std::free(buf_);
    buf_ = nullptr;
    return nullptr;
  }
  // Grown only when the entries no longer fit the block the allocator gave (its size class):
  // a realloc per element, even one done in place, counts the whole block toward jemalloc's
  // thread-cache GC, and a long RPUSH then churned the one-page slabs of every class the node
  // passed through into dirty pages (docs/memory.md, "Lists of short strings"). Redis's
  // listpack grows the same way. used_memory counts the block's class either way.
  if (buf_ == nullptr || (len > old_len && kHeader + grown > ::malloc_usable_size(buf_))) {
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

PackedList::Pos PackedList::insert(Pos at, std::string_view v) {
  const std::size_t off = at == nullptr ? (buf_ == nullptr ? 0 : load32(buf_))
                                        : static_cast<std::size_t>(at - data());
  unsigned char* p = splice(off, 0, entry_bytes(v.size()), size() + 1);
  put_entry(p, v);
  return p;
}

PackedList::Pos PackedList::erase(Pos p) {
  const std::size_t off = static_cast<std::size_t>(p - data());
  const auto len = static_cast<std::size_t>(entry_end(p) - p);
  const bool was_last = p + len == end();
  unsigned char* q = splice(off, len, 0, size() - 1);
  return q == nullptr || was_last ? nullptr : q;
}

void PackedList::erase_front(std::size_t n) {
  if (n == 0) return;
  const unsigned char* p = data();
  for (std::size_t i = 0; i < n; ++i) p = entry_end(p);
  splice(0, static_cast<std::size_t>(p - data()), 0, size() - n);
}

void PackedList::erase_back(std::size_t n) {
  if (n == 0) return;
  const unsigned char* p = end();
  for (std::size_t i = 0; i < n; ++i) {
    const unsigned char* start = nullptr;
    const std::size_t body = get_backlen(p, start);
    p = start - body;
  }
  const auto off = static_cast<std::size_t>(p - data());
  splice(off, load32(buf_) - off, 0, size() - n);
}

PackedList::Pos PackedList::replace(Pos p, std::string_view v) {
  const auto off = static_cast<std::size_t>(p - data());
  const auto old_len = static_cast<std::size_t>(entry_end(p) - p);
  unsigned char* q = splice(off, old_len, entry_bytes(v.size()), size());
  put_entry(q, v);
  return q;
}

void PackedList::append(PackedList&& o) {
  if (o.buf_ == nullptr) return;
  if (buf_ == nullptr) {
    *this = std::move(o);
    return;
  }
  const std::size_t used = load32(buf_), add = load32(o.buf_);
  unsigned char* p = splice(used, 0, add, size() + o.size());
  std::memcpy(p, o.data(), add);
  o = PackedList();
}

PackedList PackedList::split(std::size_t keep) {
  PackedList out;
  const std::size_t n = size();
  if (keep >= n) return out;
  if (keep == 0) {
    out = std::move(*this);
    return out;
  }
  const unsigned char* p = data();
  for (std::size_t i = 0; i < keep; ++i) p = entry_end(p);
  const auto off = static_cast<std::size_t>(p - data());
  const std::size_t tail = load32(buf_) - off;
  out.splice(0, 0, tail, n - keep);
  std::memcpy(out.data(), p, tail);
  splice(off, tail, 0, keep);
  return out;
}

}  // namespace lfdb::db::compact
