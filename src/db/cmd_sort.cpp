// SORT and SORT_RO: the elements of a list, set or sorted set, sorted numerically or ALPHA by
// themselves or by the keys a BY pattern names (`weight_*`, `obj_*->field`), cut by LIMIT,
// replaced by GET patterns (`#` is the element itself), replied or STOREd as a list, with Redis
// 7.0's rules and errors.
//
// The patterns name keys the command does not declare, so SORT is declared to run alone and
// SORT_RO to read every partition (command_table.cpp): any key it looks up is its to read.
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "db/acl/user.hpp"
#include "db/client.hpp"
#include "db/command_context.hpp"
#include "db/script_call.hpp"

namespace lfdb::db {
namespace {

// What a pattern names for one element: `#` the element; else the string at the key made by
// putting the element in place of the first `*`, or with `->field` after it, that field of the
// hash there. Nothing when the pattern has no `*`, the key is missing or of another type.
std::optional<std::string_view> look_up(CommandContext& c, std::string_view pattern,
                                        std::string_view element, std::string& key) {
  if (pattern == "#") return element;
  const std::size_t star = pattern.find('*');
  if (star == std::string_view::npos) return std::nullopt;
  std::string_view field;
  std::string_view rest = pattern.substr(star + 1);
  if (const std::size_t arrow = rest.find("->"); arrow != std::string_view::npos && arrow + 2 < rest.size()) {
    field = rest.substr(arrow + 2);
    rest = rest.substr(0, arrow);
  }
  key.assign(pattern.substr(0, star));
  key.append(element);
  key.append(rest);
  const Entry* e = c.find(key);
  if (e == nullptr) return std::nullopt;
  if (field.empty()) {
    if (e->value.type() != Type::kString) return std::nullopt;
    return std::string_view(e->value.str());
  }
  if (e->value.type() != Type::kHash) return std::nullopt;
  return e->value.hash()->get(field);
}

// A score as SORT reads one: strtod over the whole text (leading blanks, hex and inf accepted,
// as C's strtod does); false for trailing text, a range error or NaN. "" is 0.
bool sort_score(std::string_view text, double& out) {
  const std::string s(text);
  char* end = nullptr;
  errno = 0;
  out = std::strtod(s.c_str(), &end);
  return *end == '\0' && errno != ERANGE && !std::isnan(out);
}

int binary_compare(std::string_view a, std::string_view b) {
  const int r = a.compare(b);
  return r < 0 ? -1 : r > 0 ? 1 : 0;
}

struct Item {
  std::string_view element;
  double score = 0;
  std::optional<std::string_view> by;  // ALPHA BY: what the pattern named, if anything
};

// SORT's BY (with a `*`) and GET read keys made from the elements, which no ACL check before
// the command saw: Redis takes them only from a user one of whose selectors allows the command
// and reads every key.
bool patterns_allowed(const CommandContext& c) {
  if (c.client == nullptr || !c.client->user) return true;
  return acl::reads_every_key(*c.client->user, *c.spec, commands::index_of(*c.spec), c.argv);
}

void sort_generic(CommandContext& c, bool read_only) {
  bool desc = false, alpha = false, dontsort = false;
  std::int64_t limit_start = 0, limit_count = -1;
  std::optional<std::string_view> sort_by, store;
  std::vector<std::string_view> gets;
  for (std::size_t j = 2; j < c.argc(); ++j) {
    const std::string_view o = c.arg(j);
    const std::size_t left = c.argc() - j - 1;
    if (iequal(o, "asc")) {
      desc = false;
    } else if (iequal(o, "desc")) {
      desc = true;
    } else if (iequal(o, "alpha")) {
      alpha = true;
    } else if (iequal(o, "limit") && left >= 2) {
      if (!parse_int(c.arg(j + 1), limit_start) || !parse_int(c.arg(j + 2), limit_count)) {
        return c.out.error(kErrNotInteger);
      }
      j += 2;
    } else if (!read_only && iequal(o, "store") && left >= 1) {
      store = c.arg(++j);
    } else if (iequal(o, "by") && left >= 1) {
      sort_by = c.arg(++j);
      // A pattern without `*` names no key per element: nothing to sort by.
      if (sort_by->find('*') == std::string_view::npos) {
        dontsort = true;
      } else if (!patterns_allowed(c)) {
        return c.out.error("ERR BY option of SORT denied due to insufficient ACL permissions.");
      }
    } else if (iequal(o, "get") && left >= 1) {
      if (!patterns_allowed(c)) {
        return c.out.error("ERR GET option of SORT denied due to insufficient ACL permissions.");
      }
      gets.push_back(c.arg(++j));
    } else {
      return c.out.error(kErrSyntax);
    }
  }
  const Entry* src = c.find(c.arg(1));
  if (src != nullptr && src->value.type() != Type::kList && src->value.type() != Type::kSet &&
      src->value.type() != Type::kZSet) {
    return c.out.error(kErrWrongType);
  }
  const Type type = src != nullptr ? src->value.type() : Type::kList;
  // A set has no order of its own: unsorted, it would be stored differently elsewhere (a
  // replica, the log), and a script's result could differ from one run to the next, so a stored
  // one or one a script asks for is sorted ALPHA instead, as in Redis.
  if (dontsort && type == Type::kSet && (store || t_in_script_call)) {
    dontsort = false;
    alpha = true;
    sort_by.reset();
  }

  std::vector<Set::Member> set_members;  // what a set's items view (an intset holds no strings)
  std::vector<Item> items;
  if (src != nullptr) {
    const Value& v = src->value;
    if (type == Type::kList) {
      for (std::string_view e : *v.list()) items.push_back(Item{e, 0, std::nullopt});
    } else if (type == Type::kSet) {
      set_members.assign(v.set()->begin(), v.set()->end());
      for (const Set::Member& e : set_members) items.push_back(Item{e.view(), 0, std::nullopt});
    } else {
      for (ZSet::Ref n = v.zset()->first(); n; n = n.next()) items.push_back(Item{n.member(), 0, std::nullopt});
    }
  }
  // Unsorted lists and sorted sets keep their own order, DESC reversing it.
  if (dontsort && desc && type != Type::kSet) std::reverse(items.begin(), items.end());

  const auto len = static_cast<std::int64_t>(items.size());
  std::int64_t start = limit_start < 0 ? 0 : limit_start;
  // A count past what is left ends at the last item (LIMIT 2 9223372036854775807: start + count
  // would overflow).
  std::int64_t end = limit_count < 0 || limit_count > len - start ? len - 1 : start + limit_count - 1;
  if (start >= len) {
    start = len - 1;
    end = len - 2;
  }
  if (end >= len) end = len - 1;

  std::string key;  // a pattern's key, reused
  if (!dontsort) {
    bool not_a_number = false;
    for (Item& it : items) {
      std::optional<std::string_view> by = sort_by ? look_up(c, *sort_by, it.element, key) : it.element;
      if (alpha) {
        if (sort_by) it.by = by;
        continue;
      }
      if (by && !sort_score(*by, it.score)) not_a_number = true;
    }
    if (not_a_number) return c.out.error("ERR One or more scores can't be converted into double");
    // Ties go to the elements' bytes, so the order is the same wherever the same data is
    // sorted (Redis leaves some of them to its sort).
    auto less = [&](const Item& a, const Item& b) {
      int r = 0;
      if (!alpha) {
        r = a.score < b.score ? -1 : a.score > b.score ? 1 : 0;
      } else if (sort_by) {
        if (!a.by || !b.by) r = a.by == b.by ? 0 : !a.by ? -1 : 1;
        else r = binary_compare(*a.by, *b.by);
      } else {
        r = binary_compare(a.element, b.element);
      }
      if (r == 0) r = binary_compare(a.element, b.element);
      return desc ? r > 0 : r < 0;
    };
    std::stable_sort(items.begin(), items.end(), less);
  }

  const std::int64_t picked = end >= start ? end - start + 1 : 0;
  const std::int64_t out_len = gets.empty() ? picked : picked * static_cast<std::int64_t>(gets.size());
  if (!store) {
    c.out.array_header(static_cast<std::size_t>(out_len));
    for (std::int64_t i = start; i <= end; ++i) {
      const std::string_view e = items[static_cast<std::size_t>(i)].element;
      if (gets.empty()) c.out.bulk(e);
      for (std::string_view g : gets) {
        const std::optional<std::string_view> v = look_up(c, g, e, key);
        if (v) c.out.bulk(*v);
        else c.out.null();
      }
    }
    return;
  }
  auto list = std::make_unique<List>();
  for (std::int64_t i = start; i <= end; ++i) {
    const std::string_view e = items[static_cast<std::size_t>(i)].element;
    if (gets.empty()) list->push_back(e);
    for (std::string_view g : gets) {
      const std::optional<std::string_view> v = look_up(c, g, e, key);
      list->push_back(v ? *v : std::string_view());  // a missing one is stored as ""
    }
  }
  // Built before the destination goes: it may be the source, or what a pattern names.
  Partition& p = c.part(*store);
  p.erase(*store, c.now_ms);
  if (!list->empty()) {
    bool created = false;
    Entry& e = p.find_or_create(*store, c.now_ms, created);
    e.value.reset(std::move(list));
    p.modified(*store);
  }
  c.out.integer(out_len);
}

void sort_cmd(CommandContext& c) { sort_generic(c, false); }
void sort_ro_cmd(CommandContext& c) { sort_generic(c, true); }

constexpr HandlerEntry kSortHandlers[] = {
    {"sort", sort_cmd},
    {"sort_ro", sort_ro_cmd},
};

}  // namespace

std::span<const HandlerEntry> sort_handlers() { return kSortHandlers; }

}  // namespace lfdb::db
