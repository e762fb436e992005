#include "db/compact/int_set.hpp"
#include "db/compact/packed_bytes.hpp"

#include <algorithm>
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

IntSet::~IntSet() { free_heap(); }

IntSet::IntSet(IntSet&& o) noexcept {
  std::memcpy(inl_, o.inl_, sizeof(inl_));
  count_ = o.count_;
  mode_ = o.mode_;
  o.count_ = 0;
  o.mode_ = 2;  // empty and inline: the block, if any, is this one's now
}

IntSet& IntSet::operator=(IntSet&& o) noexcept {
  if (this != &o) {
    free_heap();
    std::memcpy(inl_, o.inl_, sizeof(inl_));
    count_ = o.count_;
    mode_ = o.mode_;
    o.count_ = 0;
    o.mode_ = 2;
  }
  return *this;
}

IntSet IntSet::clone() const {
  IntSet out;
  if (is_inline()) {
    std::memcpy(out.inl_, inl_, sizeof(inl_));
    out.count_ = count_;
    out.mode_ = mode_;
    return out;
  }
  auto* block = static_cast<unsigned char*>(std::malloc(bytes()));
  if (block == nullptr) throw std::bad_alloc();
  std::memcpy(block, heap(), bytes());
  out.adopt_heap(block);
  return out;
}

unsigned char* IntSet::heap() const {
  unsigned char* p;
  std::memcpy(&p, inl_, sizeof(p));
  return p;
}

void IntSet::adopt_heap(unsigned char* block) {
  std::memcpy(inl_, &block, sizeof(block));
  count_ = 0;
  mode_ = kHeap;
}

void IntSet::free_heap() {
  if (!is_inline()) std::free(heap());
}

const unsigned char* IntSet::elems() const { return is_inline() ? inl_ : heap() + kHeader; }

void IntSet::set_count(std::size_t n) {
  if (is_inline()) count_ = static_cast<std::uint8_t>(n);
  else store32(heap() + 4, static_cast<std::uint32_t>(n));
}

std::size_t IntSet::size() const { return is_inline() ? count_ : load32(heap() + 4); }
std::size_t IntSet::width() const { return is_inline() ? mode_ : load32(heap()); }
std::size_t IntSet::bytes() const { return is_inline() ? 0 : kHeader + size() * width(); }

std::size_t IntSet::width_for(std::int64_t v) {
  if (v >= INT16_MIN && v <= INT16_MAX) return 2;
  if (v >= INT32_MIN && v <= INT32_MAX) return 4;
  return 8;
}

std::int64_t IntSet::at(std::size_t i) const {
  const std::size_t w = width();
  return load_elem(elems() + i * w, w);
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
  if (empty() || width_for(v) > width()) return false;  // wider than any member
  bool found = false;
  lower_bound(v, found);
  return found;
}

void IntSet::reshape(std::size_t w, std::size_t room) {
  const std::size_t n = size(), old = width();
  const bool to_inline = room * w <= kInlineBytes;
  if (w == old && to_inline == is_inline()) {
    // The same width in the same form: a block only changes its size (the common insert).
    if (!to_inline) adopt_heap(grow(heap(), kHeader + room * w));
    return;
  }
  // A new width or the other form: the elements go to fresh storage, converted one by one.
  unsigned char staged[kInlineBytes];
  unsigned char* block = nullptr;
  unsigned char* dst = staged;
  if (!to_inline) {
    block = grow(nullptr, kHeader + room * w);  // throws before anything has changed
    store32(block, static_cast<std::uint32_t>(w));
    store32(block + 4, static_cast<std::uint32_t>(n));
    dst = block + kHeader;
  }
  const unsigned char* src = elems();
  for (std::size_t i = 0; i < n; ++i) store_elem(dst + i * w, w, load_elem(src + i * old, old));
  free_heap();
  if (to_inline) {
    std::memcpy(inl_, staged, n * w);
    count_ = static_cast<std::uint8_t>(n);
    mode_ = static_cast<std::uint8_t>(w);
  } else {
    adopt_heap(block);
  }
}

bool IntSet::insert(std::int64_t v) {
  const std::size_t n = size(), w = std::max(width(), width_for(v));
  std::size_t pos = 0;
  if (w > width()) {
    pos = v < 0 ? 0 : n;  // v is below or above every member: it goes first or last
  } else {
    bool found = false;
    pos = lower_bound(v, found);
    if (found) return false;
  }
  reshape(w, n + 1);
  unsigned char* at_pos = elems() + pos * w;
  std::memmove(at_pos + w, at_pos, (n - pos) * w);
  store_elem(at_pos, w, v);
  set_count(n + 1);
  return true;
}

std::size_t IntSet::insert_sorted(const std::int64_t* v, std::size_t m) {
  if (m == 0) return 0;
  std::size_t added = 0;
  for (std::size_t j = 0; j < m; ++j) added += contains(v[j]) ? 0 : 1;
  if (added == 0) return 0;
  const std::size_t n = size();
  const std::size_t w = std::max({width(), width_for(v[0]), width_for(v[m - 1])});
  reshape(w, n + added);
  // Merge from the back: slot k is written only after the element that was in it has been read
  // (k - i, the new values still to place, never goes below zero). A value already present is
  // skipped; when the new values run out, the old elements before them are already in place.
  unsigned char* e = elems();
  std::size_t i = n, j = m, k = n + added;
  while (j > 0) {
    const std::int64_t x = v[j - 1];
    if (i > 0) {
      const std::int64_t y = load_elem(e + (i - 1) * w, w);
      if (y > x) {
        store_elem(e + --k * w, w, y);
        --i;
        continue;
      }
      if (y == x) {
        --j;
        continue;
      }
    }
    store_elem(e + --k * w, w, x);
    --j;
  }
  set_count(n + added);
  return added;
}

void IntSet::widen(std::size_t w) {
  if (w > width()) reshape(w, size());
}

bool IntSet::erase(std::int64_t v) {
  if (!contains(v)) return false;
  bool found = false;
  const std::size_t pos = lower_bound(v, found);
  const std::size_t n = size(), w = width();
  unsigned char* at_pos = elems() + pos * w;
  std::memmove(at_pos, at_pos + w, (n - pos - 1) * w);
  set_count(n - 1);
  reshape(w, n - 1);  // a smaller block, or back inline once the rest fits
  if (n == 1) mode_ = 2;  // empty (and inline): the width starts over, as a new set's
  return true;
}

}  // namespace lfdb::db::compact
