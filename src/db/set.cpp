#include "db/set.hpp"

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <new>

#include "db/compact/limits.hpp"
#include "db/compact/packed_bytes.hpp"
#include "resp/numbers.hpp"

namespace lfdb::db {
namespace {

// Redis's canonical integer form (string2ll): what an intset may hold.
bool canonical_int(std::string_view s, std::int64_t& out) { return resp::detail::parse_int64(s, out); }

}  // namespace

StoredMember::StoredMember(std::string_view s) {
  block_ = static_cast<unsigned char*>(std::malloc(compact::bytes::varint_size(s.size()) + s.size()));
  if (block_ == nullptr) throw std::bad_alloc();
  unsigned char* q = compact::bytes::put_varint(block_, s.size());
  if (!s.empty()) std::memcpy(q, s.data(), s.size());
}

StoredMember::~StoredMember() { std::free(block_); }

std::string_view StoredMember::view() const {
  std::size_t n = 0;
  const unsigned char* q = compact::bytes::get_varint(block_, n);
  return {reinterpret_cast<const char*>(q), n};
}

std::size_t StoredMember::bytes() const {
  std::size_t n = 0;
  return static_cast<std::size_t>(compact::bytes::get_varint(block_, n) - block_) + n;
}

Set::Member::Member(std::int64_t v) {
  const auto r = std::to_chars(digits_, digits_ + sizeof(digits_), v);
  len_ = static_cast<std::uint32_t>(r.ptr - digits_);
}

Set::Member& Set::Member::operator=(const Member& o) {
  ptr_ = o.ptr_;
  len_ = o.len_;
  if (ptr_ == nullptr) std::memcpy(digits_, o.digits_, len_);
  return *this;
}

bool Set::contains(std::string_view member) const {
  if (const Table* t = table_ptr()) return t->find(member) != t->end();
  std::int64_t n = 0;
  return canonical_int(member, n) && ints_.contains(n);
}

bool Set::add(std::string_view member) {
  std::int64_t n = 0;
  if (intset() && !canonical_int(member, n)) to_table();
  if (Table* t = table_ptr()) return t->emplace(member).second;
  if (!ints_.insert(n)) return false;
  if (ints_.size() > compact::limits().set_max_intset_entries()) to_table();
  return true;
}

std::size_t Set::add_all(const std::vector<std::string_view>& members) {
  std::vector<std::int64_t> ints;
  if (intset() && members.size() > 1) {
    ints.reserve(members.size());
    for (std::string_view m : members) {
      std::int64_t n = 0;
      if (!canonical_int(m, n)) break;  // the set converts: one by one below
      ints.push_back(n);
    }
  }
  if (ints.size() == members.size() && !ints.empty()) return add_ints(ints);
  std::size_t added = 0;
  for (std::string_view m : members) added += add(m) ? 1 : 0;
  return added;
}

std::size_t Set::add_ints(std::vector<std::int64_t>& ints, std::size_t width) {
  std::sort(ints.begin(), ints.end());
  ints.erase(std::unique(ints.begin(), ints.end()), ints.end());
  // Past the entries limit the set converts where add() would: that case goes one by one.
  if (!intset() || ints_.size() + ints.size() > compact::limits().set_max_intset_entries()) {
    std::size_t added = 0;
    for (std::int64_t n : ints) added += add(Member(n).view()) ? 1 : 0;
    return added;
  }
  if (!ints.empty()) ints_.widen(width);
  return ints_.insert_sorted(ints.data(), ints.size());
}

bool Set::erase(std::string_view member) {
  if (Table* t = table_ptr()) {
    auto it = t->find(member);
    if (it == t->end()) return false;
    t->erase(it);
    return true;
  }
  std::int64_t n = 0;
  return canonical_int(member, n) && ints_.erase(n);
}

std::unique_ptr<Set> Set::copy() const {
  auto out = std::make_unique<Set>();
  if (const Table* t = table_ptr()) out->ints_.hold(std::make_unique<Table>(*t).release());
  else out->ints_ = ints_.clone();
  return out;
}

void Set::to_table() {
  auto t = std::make_unique<Table>();
  t->reserve(ints_.size() + 1);
  for (std::size_t i = 0; i < ints_.size(); ++i) t->emplace(Member(ints_.at(i)).view());
  ints_.hold(t.release());  // the integers' storage goes, the table's pointer takes its place
}

}  // namespace lfdb::db
