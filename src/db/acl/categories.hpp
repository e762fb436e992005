// ACL categories (@read, @write, @string, ...): Redis 7.0's 21, in the order ACL CAT lists them
// and in which ACL GETUSER's description tries them. Each command's categories come from the
// table generated from redis-server's own COMMAND INFO (categories_table.cpp,
// scripts/gen-acl-categories.py), so a rule such as `+@string` allows what it allows in Redis;
// a command Redis does not have (lfdb's own) gets the categories derived from its table flags.
//
// Thread-safety: immutable after the first call (a function-local static).
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace lfdb::db::acl {

enum class Category : std::uint8_t {
  kKeyspace, kRead, kWrite, kSet, kSortedset, kList, kHash, kString, kBitmap, kHyperloglog, kGeo,
  kStream, kPubsub, kAdmin, kFast, kSlow, kBlocking, kDangerous, kConnection, kTransaction,
  kScripting,
  kCount
};
constexpr std::uint32_t bit(Category c) { return 1u << static_cast<unsigned>(c); }

std::string_view category_name(Category c);
// The category `name` names (without '@', case-insensitive); false when none.
bool category_by_name(std::string_view name, Category& out);

// One row of the generated table: a command's full name ("get", "client|kill") and its bits.
struct CategoryRow {
  std::string_view name;
  std::uint32_t cats;
};
std::span<const CategoryRow> redis_category_rows();

// The categories of the command at table index `index` (commands::spec_at).
std::uint32_t categories_of(std::uint16_t index);

}  // namespace lfdb::db::acl
