// A set of integers: the compact encoding Set keeps while every member is an integer in
// canonical form and there are at most set-max-intset-entries of them (the role Redis's intset
// plays).
//
// Why: a hash table of strings costs a bucket, a node and a std::string per member (about 60
// bytes before the digits); here a member costs its 2, 4 or 8 bytes. And a small set costs no
// heap block at all: while its elements fit in kInlineBytes (11 of 2 bytes, 5 of 4, 2 of 8) they
// live inside the IntSet itself, which lives inside the key's Value (a set of five integers was
// a 64-byte node plus a 32-byte block; now it is the node alone).
//
// Two forms, one at a time, decided by the element bytes alone (inline iff count * width <=
// kInlineBytes, so a set moves to the heap when an insert or a widening passes the limit and
// back when an erase brings it under):
//   inline   mode_ is the width (2, 4 or 8), count_ the count, inl_ the elements
//   heap     mode_ is kHeap, inl_'s first 8 bytes the pointer to a block of
//              header   uint32 width (2, 4 or 8: bytes of every element), uint32 count
//              elements
// Either way the elements are ascending, each `width` bytes, native byte order, signed. The
// width is the one the widest member ever stored needed: adding a wider member widens every
// element once; removing it does not narrow them back (Redis's intset does not either) until the
// set is empty. Lookups are a binary search; an insert or removal moves the elements after it
// (O(N), N at most the entries limit).
//
// Moves copy the inline bytes (a Set moves with its Value): nothing may keep a pointer into an
// IntSet's elements across a move of it.
//
// Thread-safety: none; a value inside a partition, touched only under its color.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace lfdb::db::compact {

class IntSet {
 public:
  // The element bytes held without a block: 24 bytes of object less the count and mode bytes,
  // so that Set (this alone: its table's pointer is held() here) fits the Value's 24-byte union.
  static constexpr std::size_t kInlineBytes = 22;

  IntSet() = default;
  ~IntSet();
  IntSet(const IntSet&) = delete;
  IntSet& operator=(const IntSet&) = delete;
  IntSet(IntSet&& o) noexcept;
  IntSet& operator=(IntSet&& o) noexcept;
  IntSet clone() const;  // the same elements and width, in storage of its own

  std::size_t size() const;
  bool empty() const { return size() == 0; }
  std::size_t width() const;  // bytes per element (2 when empty)
  // The heap block's size, header included: what the set costs past its Value (0 while inline).
  std::size_t bytes() const;
  bool is_inline() const { return mode_ != kHeap; }  // held() counts as inline: no block

  std::int64_t at(std::size_t i) const;  // the i-th smallest member; i < size()
  bool contains(std::int64_t v) const;
  bool insert(std::int64_t v);  // false if it was there
  bool erase(std::int64_t v);   // false if it was not there
  // Inserts v[0..n), ascending and distinct; returns how many were new. The storage is resized
  // once, to the final count (a bulk SADD, a *STORE's result, RESTORE): growing one member at a
  // time reallocs once per member and copies the block at every jemalloc size class it passes.
  std::size_t insert_sorted(const std::int64_t* v, std::size_t n);
  // Widens every element to w bytes (2, 4 or 8) if they are narrower; a narrower w changes
  // nothing. RESTORE of an intset payload: the set keeps the width the payload says, as Redis's
  // load keeps the intset's bytes, even when no member needs it (the widest one went).
  void widen(std::size_t w);

  // The element width a value needs: 2, 4 or 8.
  static std::size_t width_for(std::int64_t v);

  // Its owner's pointer, kept in the bytes of an IntSet that holds no integers: Set's table once
  // converted, so that a Set is this object alone (24 bytes, the Value's union). Not owned: the
  // owner frees it; a move carries it as it carries a block. nullptr unless hold() put one.
  void* held() const { return mode_ == kHeld ? heap() : nullptr; }
  // The integers go (the set must be done with them) and p is kept in their place.
  void hold(void* p) {
    free_heap();
    adopt_heap(static_cast<unsigned char*>(p));
    mode_ = kHeld;
  }

 private:
  static constexpr std::uint8_t kHeap = 0;
  static constexpr std::uint8_t kHeld = 1;  // held(): no integers, a pointer (empty, by size())

  unsigned char* heap() const;  // the block; only while !is_inline()
  void adopt_heap(unsigned char* block);
  void free_heap();
  const unsigned char* elems() const;
  unsigned char* elems() { return const_cast<unsigned char*>(static_cast<const IntSet*>(this)->elems()); }
  void set_count(std::size_t n);
  // The position of v, or where it would go; `found` says which.
  std::size_t lower_bound(std::int64_t v, bool& found) const;
  // Rewrites the elements at width w (>= width()) into storage for `room` elements: inline if
  // room * w fits, else a heap block. The count stays; the elements keep their order.
  void reshape(std::size_t w, std::size_t room);

  alignas(8) unsigned char inl_[kInlineBytes] = {};  // the elements, or the block's pointer
  std::uint8_t count_ = 0;                           // the count while inline
  std::uint8_t mode_ = 2;                            // the width while inline; kHeap; kHeld
};

static_assert(sizeof(IntSet) == 24, "a Set is this alone: the Value's 24-byte union");

}  // namespace lfdb::db::compact
