// A set of integers in one allocation: the compact encoding Set keeps while every member is an
// integer in canonical form and there are at most set-max-intset-entries of them (the role
// Redis's intset plays).
//
// Why: a hash table of strings costs a bucket, a node and a std::string per member (about 60
// bytes before the digits); here a member costs its 2, 4 or 8 bytes.
//
// Layout of the buffer (nullptr when empty):
//   header   uint32 width (2, 4 or 8: bytes of every element), uint32 count
//   elements ascending, each `width` bytes, native byte order, signed
// The width is the one the widest member ever stored needed: adding a wider member widens every
// element once; removing it does not narrow them back (Redis's intset does not either). Lookups
// are a binary search; an insert or removal moves the elements after it (O(N), N at most the
// entries limit).
//
// Thread-safety: none; a value inside a partition, touched only under its color.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace lfdb::db::compact {

class IntSet {
 public:
  IntSet() = default;
  ~IntSet();
  IntSet(const IntSet&) = delete;
  IntSet& operator=(const IntSet&) = delete;
  IntSet(IntSet&& o) noexcept : buf_(o.buf_) { o.buf_ = nullptr; }
  IntSet& operator=(IntSet&& o) noexcept;
  IntSet clone() const;  // the same bytes in a buffer of its own

  std::size_t size() const;
  bool empty() const { return size() == 0; }
  std::size_t width() const;  // bytes per element (2 when empty)
  std::size_t bytes() const;  // the buffer's size, header included (0 when empty)

  std::int64_t at(std::size_t i) const;  // the i-th smallest member; i < size()
  bool contains(std::int64_t v) const;
  bool insert(std::int64_t v);  // false if it was there
  bool erase(std::int64_t v);   // false if it was not there

  // The element width a value needs: 2, 4 or 8.
  static std::size_t width_for(std::int64_t v);

 private:
  // The position of v, or where it would go; `found` says which.
  std::size_t lower_bound(std::int64_t v, bool& found) const;
  void widen(std::size_t w);  // every element to width w (> width())

  unsigned char* buf_ = nullptr;
};

}  // namespace lfdb::db::compact
