#include "db/acl/categories.hpp"

#include <algorithm>
#include <string>
#include <vector>

#include "commands/command_table.hpp"
#include "commands/introspect.hpp"

namespace lfdb::db::acl {
namespace {

constexpr std::string_view kNames[] = {
    "keyspace", "read",  "write", "set",   "sortedset", "list",     "hash",
    "string",   "bitmap", "hyperloglog", "geo", "stream", "pubsub", "admin",
    "fast",     "slow",  "blocking", "dangerous", "connection", "transaction", "scripting"};
static_assert(std::size(kNames) == static_cast<std::size_t>(Category::kCount));

// Every spec's bits by index, Redis's row when Redis has the command.
std::vector<std::uint32_t> build() {
  const std::span<const CategoryRow> rows = redis_category_rows();
  std::vector<std::uint32_t> bits(commands::command_count(), 0);
  for (std::size_t i = 0; i < bits.size(); ++i) {
    const commands::CommandSpec& spec = commands::spec_at(static_cast<std::uint16_t>(i));
    const auto row = std::lower_bound(rows.begin(), rows.end(), spec.name,
                                      [](const CategoryRow& r, std::string_view n) { return r.name < n; });
    if (row != rows.end() && row->name == spec.name) {
      bits[i] = row->cats;
      continue;
    }
    for (const std::string& name : commands::acl_categories(spec)) {
      Category c;
      if (category_by_name(name, c)) bits[i] |= bit(c);
    }
  }
  return bits;
}

}  // namespace

std::string_view category_name(Category c) { return kNames[static_cast<std::size_t>(c)]; }

bool category_by_name(std::string_view name, Category& out) {
  for (std::size_t i = 0; i < std::size(kNames); ++i) {
    if (commands::iequal(name, kNames[i])) {
      out = static_cast<Category>(i);
      return true;
    }
  }
  return false;
}

std::uint32_t categories_of(std::uint16_t index) {
  static const std::vector<std::uint32_t> bits = build();
  return bits[index];
}

}  // namespace lfdb::db::acl
