#include "db/hash.hpp"

#include "db/compact/limits.hpp"

namespace lfdb::db {

std::optional<std::string_view> Hash::get(std::string_view field) const {
  if (table_) {
    auto it = table_->find(field);
    if (it == table_->end()) return std::nullopt;
    return std::string_view(it->second);
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
      it->second.assign(value);
      return false;
    }
    table_->emplace(std::string(field), std::string(value));
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
    t->emplace(std::string(compact::PackedHash::field(p)), std::string(compact::PackedHash::value(p)));
  }
  table_ = std::move(t);
  packed_ = compact::PackedHash();
}

}  // namespace lfdb::db
