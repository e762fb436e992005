// A hash value: fields and their values, each field once, in one of Redis's two encodings:
// packed (compact::PackedHash, one buffer in insertion order, while it has at most
// hash-max-listpack-entries fields and every field and value is at most hash-max-listpack-value
// bytes) or a hash table for good once either limit is passed. OBJECT ENCODING tells which
// ("listpack" / "hashtable"); every other answer is the same in both, but the order of a walk:
// insertion order while packed (as a listpack's), the table's order after.
//
// Views (get(), the walk's pairs) stay valid until the hash changes.
//
// Thread-safety: none; a value inside a partition, touched only under its color.
#pragma once

#include <cstddef>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>

#include "db/compact/packed_hash.hpp"
#include "db/string_hash.hpp"

namespace lfdb::db {

// A field and its value in a hash's table: one malloc'd block, the field's and the value's
// lengths (LEB128) and then their bytes. Why: a std::string pair made a libstdc++ node of 72
// bytes (80 with jemalloc's classes) whatever the strings, 1.6x what Redis's dict entry and two
// sds strings cost for short fields; the block of a 4-byte field and a 6-byte value is 12 bytes
// (16), its table node 16 (one pointer and the next).
//
// The table's elements are const; set_value() may still change the value, since the table
// hashes and compares the field alone.
class FieldValue {
 public:
  FieldValue(std::string_view field, std::string_view value);
  FieldValue(const FieldValue& o);  // its own copy of the block (COPY)
  FieldValue(FieldValue&& o) noexcept : block_(o.block_) { o.block_ = nullptr; }
  FieldValue& operator=(const FieldValue&) = delete;
  FieldValue& operator=(FieldValue&&) = delete;
  ~FieldValue();

  std::string_view field() const;
  std::string_view value() const;
  // A new value for the same field (a new block: views of the old value end).
  void set_value(std::string_view value) const;
  std::size_t bytes() const;  // the block's size

 private:
  static unsigned char* make(std::string_view field, std::string_view value);
  mutable unsigned char* block_;
};

class Hash {
 public:
  // The fields, hashed and compared by the field alone (a lookup takes a view).
  using ByField = ByKeyBytes<FieldValue, &FieldValue::field>;
  using Table = std::unordered_set<FieldValue, ByField, ByField>;
  using Pair = std::pair<std::string_view, std::string_view>;  // field, value

  // A walk over the (field, value) pairs in either encoding.
  class Iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = Pair;
    using difference_type = std::ptrdiff_t;
    using pointer = void;
    using reference = Pair;

    Iterator() = default;
    Pair operator*() const {
      if (owner_ != nullptr) {
        return {compact::PackedHash::field(pos_), compact::PackedHash::value(pos_)};
      }
      return {it_->field(), it_->value()};
    }
    Iterator& operator++() {
      if (owner_ != nullptr) pos_ = owner_->next(pos_);
      else ++it_;
      return *this;
    }
    bool operator==(const Iterator& o) const {
      return owner_ != nullptr ? pos_ == o.pos_ : it_ == o.it_;
    }

   private:
    friend class Hash;
    Iterator(const compact::PackedHash* owner, compact::PackedHash::Pos p) : owner_(owner), pos_(p) {}
    explicit Iterator(Table::const_iterator it) : it_(it) {}

    const compact::PackedHash* owner_ = nullptr;  // the buffer walked; nullptr: the table
    compact::PackedHash::Pos pos_ = nullptr;
    Table::const_iterator it_{};
  };

  Hash() = default;  // packed

  std::size_t size() const { return table_ ? table_->size() : packed_.size(); }
  bool empty() const { return size() == 0; }
  bool packed() const { return table_ == nullptr; }
  // What MEMORY USAGE weighs: the packed buffer's bytes, or the table (nullptr while packed).
  std::size_t packed_bytes() const { return packed_.bytes(); }
  const Table* table() const { return table_.get(); }

  std::optional<std::string_view> get(std::string_view field) const;
  bool contains(std::string_view field) const { return get(field).has_value(); }
  // Sets field to value; true if the field is new. Converts to the table first when the field
  // or the value is longer than hash-max-listpack-value, and after when the hash then has more
  // than hash-max-listpack-entries fields (hashTypeSet's order). Neither view may point into
  // this hash.
  bool set(std::string_view field, std::string_view value);
  bool erase(std::string_view field);

  Iterator begin() const {
    return table_ ? Iterator(table_->cbegin()) : Iterator(&packed_, packed_.first());
  }
  Iterator end() const { return table_ ? Iterator(table_->cend()) : Iterator(&packed_, nullptr); }

  // A copy in the same encoding (COPY).
  std::unique_ptr<Hash> copy() const;

 private:
  void to_table();

  compact::PackedHash packed_;     // the fields while packed()
  std::unique_ptr<Table> table_;   // the fields once converted
};

}  // namespace lfdb::db
