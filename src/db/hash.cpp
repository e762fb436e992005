#include "db/hash.hpp"

#include <cstdlib>
#include <cstring>
#include <new>

#include "db/compact/limits.hpp"
#include "db/compact/packed_bytes.hpp"

namespace lfdb::db {

// ---- FieldValue ------------------------------------------------------------------------------

unsigned char* FieldValue::make(std::string_view field, std::string_view value) {
  const std::size_t n = compact::bytes::varint_size(field.size()) +
                        compact::bytes::varint_size(value.size()) + field.size() + value.size();
  auto* b = static_cast<unsigned char*>(std::malloc(n));
  if (b == nullptr) throw std::bad_alloc();
  unsigned char* q = compact::bytes::put_varint(b, field.size());
  q = compact::bytes::put_varint(q, value.size());
  if (!field.empty()) std::memcpy(q, field.data(), field.size());
  if (!value.empty()) std::memcpy(q + field.size(), value.data(), value.size());
  return b;
}

FieldValue::FieldValue(std::string_view field, std::string_view value) : block_(make(field, value)) {}
FieldValue::FieldValue(const FieldValue& o) : block_(make(o.field(), o.value())) {}
FieldValue::~FieldValue() { std::free(block_); }

std::string_view FieldValue::field() const {
  std::size_t f = 0, v = 0;
  const unsigned char* q = compact::bytes::get_varint(compact::bytes::get_varint(block_, f), v);
  return {reinterpret_cast<const char*>(q), f};
}

std::string_view FieldValue::value() const {
  std::size_t f = 0, v = 0;
  const unsigned char* q = compact::bytes::get_varint(compact::bytes::get_varint(block_, f), v);
  return {reinterpret_cast<const char*>(q + f), v};
}

void FieldValue::set_value(std::string_view value) const {
  unsigned char* b = make(field(), value);
  std::free(block_);
  block_ = b;
}

std::size_t FieldValue::bytes() const {
  std::size_t f = 0, v = 0;
  const unsigned char* q = compact::bytes::get_varint(compact::bytes::get_varint(block_, f), v);
  return static_cast<std::size_t>(q - block_) + f + v;
}

// ---- Hash ------------------------------------------------------------------------------------

std::optional<std::string_view> Hash::get(std::string_view field) const {
  if (table_) {
    auto it = table_->find(field);
    if (it == table_->end()) return std::nullopt;
    return it->value();
  }
  compact::PackedHash::Pos p = packed_.find(field);
  if (p == nullptr) return std::nullopt;
  return compact::PackedHash::value(p);
}

bool Hash::set(std::string_view field, std::string_view value) {
  const compact::EncodingLimits& l = compact::limits();
  if (!table_ && (field.size() > l.hash_max_value() || value.size() > l.hash_max_value())) {
    to_table();
  }
  if (table_) {
    auto it = table_->find(field);
    if (it != table_->end()) {
      it->set_value(value);
      return false;
    }
    table_->emplace(field, value);
    return true;
  }
  const bool added = packed_.set(field, value);
  if (packed_.size() > l.hash_max_entries()) to_table();
  return added;
}

bool Hash::erase(std::string_view field) {
  if (table_) {
    auto it = table_->find(field);
    if (it == table_->end()) return false;
    table_->erase(it);
    return true;
  }
  return packed_.erase(field);
}

std::unique_ptr<Hash> Hash::copy() const {
  auto out = std::make_unique<Hash>();
  if (table_) out->table_ = std::make_unique<Table>(*table_);
  else out->packed_ = packed_.clone();
  return out;
}

void Hash::to_table() {
  auto t = std::make_unique<Table>();
  t->reserve(packed_.size() + 1);
  for (auto p = packed_.first(); p != nullptr; p = packed_.next(p)) {
    t->emplace(compact::PackedHash::field(p), compact::PackedHash::value(p));
  }
  table_ = std::move(t);
  packed_ = compact::PackedHash();
}

}  // namespace lfdb::db
