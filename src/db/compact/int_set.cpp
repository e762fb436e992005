#include "db/compact/int_set.hpp"
#include "db/compact/packed_bytes.hpp"

#include <cstdlib>
#include <cstring>
#include <new>

namespace lfdb::db::compact {
namespace {

using bytes::kHeader;
using bytes::load32;
using bytes::store32;

std::int64_t load_elem(const unsigned char* p, std::size_t w) {
  switch (w) {
    case 2: {
      std::int16_t v;
      std::memcpy(&v, p, 2);
      return v;
    }
    case 4: {
      std::int32_t v;
      std::memcpy(&v, p, 4);
      return v;
    }
    default: {
      std::int64_t v;
      std::memcpy(&v, p, 8);
      return v;
    }
  }
}

void store_elem(unsigned char* p, std::size_t w, std::int64_t v) {
  switch (w) {
    case 2: {
      const auto n = static_cast<std::int16_t>(v);
      std::memcpy(p, &n, 2);
      break;
    }
    case 4: {
      const auto n = static_cast<std::int32_t>(v);
      std::memcpy(p, &n, 4);
      break;
    }
    default:
      std::memcpy(p, &v, 8);
  }
}

unsigned char* grow(unsigned char* buf, std::size_t size) {
  auto* p = static_cast<unsigned char*>(std::realloc(buf, size));
  if (p == nullptr) throw std::bad_alloc();
  return p;
}

}  // namespace

IntSet::~IntSet() { std::free(buf_); }

IntSet& IntSet::operator=(IntSet&& o) noexcept {
  if (this != &o) {
    std::free(buf_);
    buf_ = o.buf_;
    o.buf_ = nullptr;
  }
  return *this;
}

IntSet IntSet::clone() const {
  IntSet out;
  if (buf_ == nullptr) return out;
  out.buf_ = static_cast<unsigned char*>(std::malloc(bytes()));
  if (out.buf_ == nullptr) throw std::bad_alloc();
  std::memcpy(out.buf_, buf_, bytes());
  return out;
}

std::size_t IntSet::size() const { return buf_ == nullptr ? 0 : load32(buf_ + 4); }
std::size_t IntSet::width() const { return buf_ == nullptr ? 2 : load32(buf_); }
std::size_t IntSet::bytes() const { return buf_ == nullptr ? 0 : kHeader + size() * width(); }

std::size_t IntSet::width_for(std::int64_t v) {
  if (v >= INT16_MIN && v <= INT16_MAX) return 2;
  if (v >= INT32_MIN && v <= INT32_MAX) return 4;
  return 8;
}

std::int64_t IntSet::at(std::size_t i) const {
  const std::size_t w = width();
  return load_elem(buf_ + kHeader + i * w, w);
}

std::size_t IntSet::lower_bound(std::int64_t v, bool& found) const {
  std::size_t lo = 0, hi = size();
  while (lo < hi) {
    const std::size_t mid = lo + (hi - lo) / 2;
    if (at(mid) < v) lo = mid + 1;
    else hi = mid;
  }
  found = lo < size() && at(lo) == v;
  return lo;
}

bool IntSet::contains(std::int64_t v) const {
  if (buf_ == nullptr || width_for(v) > width()) return false;  // wider than any member
  bool found = false;
  lower_bound(v, found);
  return found;
}

void IntSet::widen(std::size_t w) {
  const std::size_t n = size(), old = width();
  buf_ = grow(buf_, kHeader + n * w);
  // From the last element down, so no element is overwritten before it is read.
  for (std::size_t i = n; i-- > 0;) {
    store_elem(buf_ + kHeader + i * w, w, load_elem(buf_ + kHeader + i * old, old));
  }
  store32(buf_, static_cast<std::uint32_t>(w));
}

bool IntSet::insert(std::int64_t v) {
  if (buf_ == nullptr) {
    buf_ = grow(nullptr, kHeader + width_for(v));
    store32(buf_, static_cast<std::uint32_t>(width_for(v)));
    store32(buf_ + 4, 0);
  } else if (width_for(v) > width()) {
    widen(width_for(v));  // v is below or above every member: it goes first or last
  }
  bool found = false;
  const std::size_t pos = lower_bound(v, found);
  if (found) return false;
  const std::size_t n = size(), w = width();
  buf_ = grow(buf_, kHeader + (n + 1) * w);
  unsigned char* at_pos = buf_ + kHeader + pos * w;
  std::memmove(at_pos + w, at_pos, (n - pos) * w);
  store_elem(at_pos, w, v);
  store32(buf_ + 4, static_cast<std::uint32_t>(n + 1));
  return true;
}

bool IntSet::erase(std::int64_t v) {
  if (!contains(v)) return false;
  bool found = false;
  const std::size_t pos = lower_bound(v, found);
  const std::size_t n = size(), w = width();
  if (n == 1) {
    std::free(buf_);
    buf_ = nullptr;
    return true;
  }
  unsigned char* at_pos = buf_ + kHeader + pos * w;
  std::memmove(at_pos, at_pos + w, (n - pos - 1) * w);
  store32(buf_ + 4, static_cast<std::uint32_t>(n - 1));
  buf_ = grow(buf_, kHeader + (n - 1) * w);
  return true;
}

}  // namespace lfdb::db::compact
