// A set value: distinct members in one of Redis's two encodings: an integer set
// (compact::IntSet: sorted, inside the Set while small, one heap block past that; while every
// member is an integer in canonical form and there are at most set-max-intset-entries of them)
// or a hash table of strings for good once either condition fails (Redis 7.0 never converts
// back). OBJECT ENCODING tells which ("intset" / "hashtable"); every other answer is the same
// in both, but the order of a walk: ascending while an intset (as Redis's), the table's order
// after.
//
// A walk yields Members: a view of a stored string, or an integer member's digits held in the
// Member itself (an intset stores no strings). Keep the Member, not its view(), for as long as
// the view is needed. A Member viewing the table stays valid until the set changes.
//
// Thread-safety: none; a value inside a partition, touched only under its color.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "db/compact/int_set.hpp"
#include "db/string_hash.hpp"

namespace lfdb::db {

// A member in a set's table: one malloc'd block, its length (LEB128) and its bytes. Why: a
// std::string made a libstdc++ node of 40 bytes (48 with jemalloc's classes) and a heap block
// past 15 bytes; a 10-byte member's block is 11 bytes (16) and its node 16.
class StoredMember {
 public:
  explicit StoredMember(std::string_view s);
  StoredMember(const StoredMember& o) : StoredMember(o.view()) {}  // its own block (COPY)
  StoredMember(StoredMember&& o) noexcept : block_(o.block_) { o.block_ = nullptr; }
  StoredMember& operator=(const StoredMember&) = delete;
  StoredMember& operator=(StoredMember&&) = delete;
  ~StoredMember();

  std::string_view view() const;
  explicit operator std::string_view() const { return view(); }
  std::size_t bytes() const;  // the block's size

 private:
  unsigned char* block_;
};

class Set {
 public:
  // The members, hashed and compared by their bytes (a lookup takes a view).
  using ByBytes = ByKeyBytes<StoredMember, &StoredMember::view>;
  using Table = std::unordered_set<StoredMember, ByBytes, ByBytes>;

  // One member as a walk or a random pick gives it.
  class Member {
   public:
    explicit Member(std::string_view s) : ptr_(s.data()), len_(static_cast<std::uint32_t>(s.size())) {}
    explicit Member(std::int64_t v);
    Member(const Member& o) { *this = o; }
    Member& operator=(const Member& o);
    std::string_view view() const { return {ptr_ != nullptr ? ptr_ : digits_, len_}; }
    std::string str() const { return std::string(view()); }
    bool operator==(const Member& o) const { return view() == o.view(); }

   private:
    const char* ptr_ = nullptr;  // the stored string; nullptr: the digits below
    std::uint32_t len_ = 0;
    char digits_[20] = {};       // an integer's text ("-9223372036854775808" is 20)
  };

  class Iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = Member;
    using difference_type = std::ptrdiff_t;
    using pointer = void;
    using reference = Member;

    Iterator() = default;
    Member operator*() const { return ints_ != nullptr ? Member(ints_->at(pos_)) : Member(it_->view()); }
    Iterator& operator++() {
      if (ints_ != nullptr) ++pos_;
      else ++it_;
      return *this;
    }
    bool operator==(const Iterator& o) const { return ints_ != nullptr ? pos_ == o.pos_ : it_ == o.it_; }

   private:
    friend class Set;
    Iterator(const compact::IntSet* ints, std::size_t pos) : ints_(ints), pos_(pos) {}
    explicit Iterator(Table::const_iterator it) : it_(it) {}

    const compact::IntSet* ints_ = nullptr;  // the integers walked; nullptr: the table
    std::size_t pos_ = 0;
    Table::const_iterator it_{};
  };

  Set() = default;  // an empty intset: the first member decides, as Redis's setTypeCreate
  Set(Set&& o) noexcept = default;  // the IntSet's move carries the table's pointer too
  Set& operator=(Set&& o) noexcept {
    if (this != &o) {
      delete table_ptr();
      ints_ = std::move(o.ints_);
    }
    return *this;
  }
  ~Set() { delete table_ptr(); }

  std::size_t size() const { return table_ptr() ? table_ptr()->size() : ints_.size(); }
  bool empty() const { return size() == 0; }
  bool intset() const { return table_ptr() == nullptr; }
  // What MEMORY USAGE and DUMP read: the integers while intset(), or the table (nullptr then).
  const compact::IntSet& ints() const { return ints_; }
  const Table* table() const { return table_ptr(); }

  bool contains(std::string_view member) const;
  // Adds member; true if it is new. A member that is not an integer in canonical form converts
  // the set to the table first; one that leaves more than set-max-intset-entries members
  // converts it after (Redis's setTypeAdd). The view may not point into this set.
  bool add(std::string_view member);
  // Adds every member, as add() one after the other would (the same members and encoding);
  // returns how many were new. While the set stays an intset, the integers go in at once and
  // its storage is sized once, for the final count (compact::IntSet::insert_sorted).
  std::size_t add_all(const std::vector<std::string_view>& members);
  // The same for integers; `ints` is sorted and deduplicated in place. RESTORE of an intset
  // passes the payload's element width: while the set stays an intset its elements are at
  // least that wide (Redis keeps a loaded intset's bytes, so its width; an intset never
  // narrows), so DUMP writes the payload's width again.
  std::size_t add_ints(std::vector<std::int64_t>& ints, std::size_t width = 2);
  bool erase(std::string_view member);
  void reserve(std::size_t n) {
    if (Table* t = table_ptr()) t->reserve(n);
  }

  Iterator begin() const { return table_ptr() ? Iterator(table_ptr()->cbegin()) : Iterator(&ints_, 0); }
  Iterator end() const { return table_ptr() ? Iterator(table_ptr()->cend()) : Iterator(&ints_, ints_.size()); }

  // A copy in the same encoding (COPY).
  std::unique_ptr<Set> copy() const;

 private:
  void to_table();
  // The members once converted: owned, kept in the IntSet's bytes (IntSet::held()).
  Table* table_ptr() const { return static_cast<Table*>(ints_.held()); }

  compact::IntSet ints_;  // the members while intset(); the table's pointer after
};

// The Value's union holds a Set inline (entry.hpp), and with it a small IntSet's elements.
static_assert(sizeof(Set) <= 24, "Set must fit the Value's 24-byte union");

}  // namespace lfdb::db
