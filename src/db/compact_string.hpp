// A string value's bytes: the Value's string member (entry.hpp), in 24 bytes where std::string
// takes 32. Why: a key's node is its Entry, a length byte and the key; with a 24-byte union the
// Entry is 32 bytes and a key of up to 15 bytes makes a node of jemalloc's 48 class instead of
// its 64 (docs/memory.md, "Issue 17 at full scale"). std::string's 32 bytes are a pointer, a
// size and 16 bytes of inline buffer; this keeps 22 bytes inline (a counter's digits, `value:N`)
// by overlaying the inline bytes on the heap form's words.
//
// Two forms, told apart by the last byte (the tag):
//   inline  the tag is the size (0..kInline); the bytes are in the object, NUL after them
//   heap    the tag has kHeapBit; ptr_ points at capacity() + 1 bytes (the bytes, a NUL), size_ is
//           the size and the tag's word the capacity in its low 56 bits
// A string is inline exactly while it was never bigger than kInline, or shrink_to_fit() /
// assign() brought it back; growth past the capacity doubles it (as std::string's does, so
// APPEND stays amortized O(1)).
//
// It offers what the handlers used of std::string, with the same meaning; the bytes are always
// followed by a NUL (c_str()).
//
// Thread-safety: none; a value inside a partition, touched only under its color.
#pragma once

#include <algorithm>
#include <bit>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>
#include <string>
#include <string_view>

namespace lfdb::db {

class CompactString {
 public:
  static constexpr std::size_t kInline = 22;  // 24 bytes less the NUL and the tag

  CompactString() noexcept { clear_inline(); }
  CompactString(std::string_view s) {  // NOLINT: implicit, as std::string's from a view
    clear_inline();
    assign(s);
  }
  CompactString(const std::string& s) : CompactString(std::string_view(s)) {}  // NOLINT: idem
  CompactString(const char* s) : CompactString(std::string_view(s)) {}         // NOLINT: idem
  CompactString(const CompactString& o) : CompactString(o.view()) {}
  CompactString(CompactString&& o) noexcept {
    std::memcpy(static_cast<void*>(this), &o, sizeof *this);
    o.clear_inline();
  }
  CompactString& operator=(const CompactString& o) {
    if (this != &o) assign(o.view());
    return *this;
  }
  CompactString& operator=(CompactString&& o) noexcept {
    if (this != &o) {
      free_heap();
      std::memcpy(static_cast<void*>(this), &o, sizeof *this);
      o.clear_inline();
    }
    return *this;
  }
  CompactString& operator=(std::string_view s) { return assign(s); }
  CompactString& operator=(const std::string& s) { return assign(std::string_view(s)); }
  CompactString& operator=(const char* s) { return assign(std::string_view(s)); }
  ~CompactString() { free_heap(); }

  bool is_heap() const { return (tag() & kHeapBit) != 0; }
  std::size_t size() const { return is_heap() ? h_.size : tag(); }
  std::size_t length() const { return size(); }
  bool empty() const { return size() == 0; }
  std::size_t capacity() const { return is_heap() ? h_.cap_tag & kCapMask : kInline; }
  // The block the heap form asked the allocator for (capacity() + 1), 0 while inline: what the
  // string costs past its Value (MEMORY USAGE).
  std::size_t heap_bytes() const { return is_heap() ? capacity() + 1 : 0; }

  const char* data() const { return is_heap() ? h_.ptr : inl_; }
  char* data() { return is_heap() ? h_.ptr : inl_; }
  const char* c_str() const { return data(); }
  std::string_view view() const { return {data(), size()}; }
  operator std::string_view() const { return view(); }  // NOLINT: implicit, as std::string's
  std::string str() const { return std::string(view()); }

  char& operator[](std::size_t i) {
    assert(i <= size());
    return data()[i];
  }
  const char& operator[](std::size_t i) const {
    assert(i <= size());
    return data()[i];
  }
  char* begin() { return data(); }
  char* end() { return data() + size(); }
  const char* begin() const { return data(); }
  const char* end() const { return data() + size(); }

  CompactString& assign(std::string_view s) {
    // s may view this string's own bytes (x = x.substr(...)): the bytes move before the old
    // block goes.
    const std::size_t n = s.size();
    if (n <= capacity()) {
      if (n != 0) std::memmove(data(), s.data(), n);
      set_size(n);
      return *this;
    }
    char* block = allocate(n);
    std::memcpy(block, s.data(), n);
    adopt(block, n, n);
    return *this;
  }
  CompactString& assign(std::size_t n, char c) {
    resize(0);
    resize(n, c);
    return *this;
  }
  CompactString& append(std::string_view s) {
    const std::size_t old = size();
    if (s.empty()) return *this;
    if (old + s.size() > capacity()) {
      // s may view this string: copy it into the new block before the old one goes.
      char* block = allocate(grown(old + s.size()));
      std::memcpy(block, data(), old);
      std::memcpy(block + old, s.data(), s.size());
      adopt(block, old + s.size(), grown(old + s.size()));
      return *this;
    }
    std::memmove(data() + old, s.data(), s.size());
    set_size(old + s.size());
    return *this;
  }
  CompactString& append(std::size_t n, char c) {
    resize(size() + n, c);
    return *this;
  }
  CompactString& operator+=(std::string_view s) { return append(s); }
  void push_back(char c) { append(1, c); }

  void resize(std::size_t n, char c = '\0') {
    const std::size_t old = size();
    if (n > capacity()) {
      reallocate(grown(n));
      std::memset(h_.ptr + old, c, n - old);
      h_.size = n;
      h_.ptr[n] = '\0';
      return;
    }
    if (n > old) std::memset(data() + old, c, n - old);
    set_size(n);
  }
  void reserve(std::size_t n) {
    if (n > capacity()) reallocate(n);
  }
  void clear() { set_size(0); }
  // The heap block fitted to the size, or the inline form when the bytes fit it.
  void shrink_to_fit() {
    if (!is_heap() || capacity() == size()) return;
    if (size() <= kInline) {
      char* block = h_.ptr;
      const std::size_t n = h_.size;
      std::memcpy(inl_, block, n);
      ::operator delete(block);
      set_inline_size(n);
      return;
    }
    reallocate(size());
  }
  void swap(CompactString& o) noexcept {
    CompactString t(std::move(o));
    o = std::move(*this);
    *this = std::move(t);
  }

  friend bool operator==(const CompactString& a, const CompactString& b) { return a.view() == b.view(); }
  friend bool operator==(const CompactString& a, std::string_view b) { return a.view() == b; }
  friend bool operator==(const CompactString& a, const std::string& b) { return a.view() == b; }
  friend bool operator==(const CompactString& a, const char* b) { return a.view() == b; }

 private:
  static constexpr std::uint8_t kHeapBit = 0x80;
  static constexpr std::uint64_t kCapMask = (std::uint64_t{1} << 56) - 1;

  // Past the capacity: at least twice the old capacity (amortized appends), as std::string.
  std::size_t grown(std::size_t n) const { return std::max(n, 2 * capacity()); }
  static char* allocate(std::size_t cap) { return static_cast<char*>(::operator new(cap + 1)); }
  void clear_inline() {
    inl_[0] = '\0';
    set_tag(0);
  }
  void set_inline_size(std::size_t n) {
    inl_[n] = '\0';
    set_tag(n);
  }
  void set_size(std::size_t n) {
    if (is_heap()) {
      h_.size = n;
      h_.ptr[n] = '\0';
    } else {
      set_inline_size(n);
    }
  }
  void free_heap() {
    if (is_heap()) ::operator delete(h_.ptr);
  }
  // block (cap + 1 bytes, the first n written) becomes the storage.
  void adopt(char* block, std::size_t n, std::size_t cap) {
    free_heap();
    h_.ptr = block;
    h_.size = n;
    h_.cap_tag = cap | (std::uint64_t{kHeapBit} << 56);
    block[n] = '\0';
  }
  // The bytes into a block of capacity cap (>= size()).
  void reallocate(std::size_t cap) {
    const std::size_t n = size();
    char* block = allocate(cap);
    std::memcpy(block, data(), n);
    adopt(block, n, cap);
  }

  struct Heap {
    char* ptr;
    std::uint64_t size;
    std::uint64_t cap_tag;  // the capacity; its top byte is the tag
  };
  // The last byte: the inline size, or kHeapBit (the top byte of h_.cap_tag, little-endian).
  std::uint8_t tag() const { return static_cast<std::uint8_t>(inl_[kInline + 1]); }
  void set_tag(std::size_t t) { inl_[kInline + 1] = static_cast<char>(t); }

  union {
    Heap h_;
    char inl_[kInline + 2];  // the bytes, a NUL, the tag
  };
};
static_assert(std::endian::native == std::endian::little, "the tag is the capacity word's top byte");
static_assert(sizeof(CompactString) == 24, "the Value's union is 24 bytes");

}  // namespace lfdb::db
