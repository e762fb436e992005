// The integer set (src/db/compact/int_set.hpp) and Set in both encodings (src/db/set.hpp):
// random operations against std::set with values around the 16- and 32-bit boundaries (so the
// element width grows mid-run), the width a set keeps, and the conversion to the table at a
// non-integer member or past set-max-intset-entries, for good.
#include "db/compact/int_set.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <iterator>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "db/compact/limits.hpp"
#include "db/set.hpp"

namespace lfdb::db {
namespace {

void expect_same(const compact::IntSet& s, const std::set<std::int64_t>& m) {
  ASSERT_EQ(s.size(), m.size());
  std::size_t i = 0;
  for (std::int64_t v : m) {
    ASSERT_EQ(s.at(i), v) << i;
    ASSERT_TRUE(s.contains(v)) << v;
    ++i;
  }
  // Inline while the elements fit in 22 bytes (no block), a block of header and elements after.
  const bool fits = m.size() * s.width() <= 22;
  EXPECT_EQ(s.is_inline(), fits) << m.size() << " of width " << s.width();
  EXPECT_EQ(s.bytes(), fits ? 0 : 8 + m.size() * s.width());
}

std::int64_t random_value(std::mt19937_64& gen) {
  // A few values on either side of each width's limits, and small ones that repeat.
  static const std::int64_t edges[] = {0, 1, -1, 7, INT16_MAX, INT16_MIN, INT16_MAX + 1LL,
                                       INT16_MIN - 1LL, INT32_MAX, INT32_MIN, INT32_MAX + 1LL,
                                       INT32_MIN - 1LL, INT64_MAX, INT64_MIN};
  if (gen() % 4 == 0) return edges[gen() % std::size(edges)];
  return static_cast<std::int64_t>(gen() % 200) - 100;
}

TEST(IntSet, RandomOperationsStaySortedAndUnique) {
  std::mt19937_64 gen(17);
  compact::IntSet s;
  std::set<std::int64_t> model;
  for (int step = 0; step < 5000; ++step) {
    const std::int64_t v = random_value(gen);
    if (gen() % 3 == 0) {
      EXPECT_EQ(s.erase(v), model.erase(v) == 1);
    } else {
      EXPECT_EQ(s.insert(v), model.insert(v).second);
    }
    ASSERT_NO_FATAL_FAILURE(expect_same(s, model)) << "step " << step;
    // A value outside every member's width is never found (contains' shortcut).
    if (!model.count(v)) {
      EXPECT_FALSE(s.contains(v));
    }
  }
  const compact::IntSet copy = s.clone();
  expect_same(copy, model);
}

// Bulk inserts (insert_sorted: SADD with many members, a *STORE's result, RESTORE) mixed with
// single inserts and erases against std::set: batches of 0-40 values, some already members, some
// wider than every member (the merge widens first), across the inline limit and back. The block
// is sized once per batch: bytes() stays the exact header plus elements (expect_same).
TEST(IntSet, BulkInsertsAgreeWithAStdSet) {
  std::mt19937_64 gen(41);
  std::size_t batches = 0, widened = 0;
  for (int round = 0; round < 40; ++round) {
    compact::IntSet s;
    std::set<std::int64_t> model;
    for (int step = 0; step < 300; ++step) {
      const auto op = gen() % 4;
      if (op == 0) {
        const std::int64_t v = random_value(gen);
        ASSERT_EQ(s.erase(v), model.erase(v) == 1) << v;
      } else if (op == 1) {
        const std::int64_t v = random_value(gen);
        ASSERT_EQ(s.insert(v), model.insert(v).second) << v;
      } else {
        std::set<std::int64_t> batch;  // ascending and distinct, as insert_sorted wants them
        const std::size_t n = gen() % 41;
        for (std::size_t i = 0; i < n; ++i) {
          // Half from the members already there (repeats), half new.
          if (!model.empty() && gen() % 2 == 0) {
            batch.insert(*std::next(model.begin(), static_cast<long>(gen() % model.size())));
          } else {
            batch.insert(random_value(gen));
          }
        }
        const std::vector<std::int64_t> v(batch.begin(), batch.end());
        const std::size_t before = model.size(), width = s.width();
        model.insert(v.begin(), v.end());
        ASSERT_EQ(s.insert_sorted(v.data(), v.size()), model.size() - before) << "round " << round;
        widened += s.width() > width;
        ++batches;
      }
      ASSERT_NO_FATAL_FAILURE(expect_same(s, model)) << "round " << round << " step " << step;
    }
  }
  EXPECT_GT(batches, 5000u);
  EXPECT_GT(widened, 20u);  // batches that widened the set ran the widening merge
}

TEST(IntSet, WidthIsTheWidestMembersAndStaysAfterItGoes) {
  compact::IntSet s;
  EXPECT_EQ(s.bytes(), 0u);
  s.insert(5);
  s.insert(-3);
  EXPECT_EQ(s.width(), 2u);
  EXPECT_TRUE(s.is_inline());
  EXPECT_EQ(s.bytes(), 0u);
  s.insert(70000);  // widens every element to 4 bytes
  EXPECT_EQ(s.width(), 4u);
  EXPECT_EQ(s.at(0), -3);
  EXPECT_EQ(s.at(1), 5);
  EXPECT_EQ(s.at(2), 70000);
  s.insert(-5000000000LL);  // below every member: goes first, 8 bytes
  EXPECT_EQ(s.width(), 8u);
  EXPECT_EQ(s.at(0), -5000000000LL);
  EXPECT_EQ(s.at(3), 70000);
  EXPECT_FALSE(s.is_inline());  // 4 of 8 bytes: past the 22 inline bytes
  EXPECT_EQ(s.bytes(), 8u + 4 * 8);
  EXPECT_TRUE(s.erase(-5000000000LL));
  EXPECT_EQ(s.width(), 8u);
  EXPECT_EQ(s.bytes(), 8u + 3 * 8);
  EXPECT_FALSE(s.contains(5000000000LL));
  EXPECT_TRUE(s.contains(-3));
}

// widen (RESTORE of an intset payload wider than its members need): every element rewritten at
// the new width, inline or in a block as the bytes say; a narrower width changes nothing.
TEST(IntSet, WidenKeepsTheMembersAtTheWiderWidth) {
  compact::IntSet s;
  s.widen(8);  // empty: the width its first members will get
  EXPECT_EQ(s.width(), 8u);
  const std::int64_t v[] = {-7, 1, 300};
  EXPECT_EQ(s.insert_sorted(v, 3), 3u);
  EXPECT_EQ(s.width(), 8u);
  EXPECT_FALSE(s.is_inline());  // 3 of 8 bytes: past the 22 inline bytes
  EXPECT_EQ(s.bytes(), 8u + 3 * 8);
  s.widen(2);
  EXPECT_EQ(s.width(), 8u);
  compact::IntSet t;
  for (std::int64_t x : {5, -2, 9, 40}) t.insert(x);
  t.widen(4);  // 4 of 4 bytes: still inline
  EXPECT_EQ(t.width(), 4u);
  EXPECT_TRUE(t.is_inline());
  t.widen(8);  // 32 bytes: a block
  EXPECT_FALSE(t.is_inline());
  const std::set<std::int64_t> model = {-2, 5, 9, 40};
  ASSERT_NO_FATAL_FAILURE(expect_same(t, model));
  EXPECT_TRUE(t.erase(40));  // 3 of 8 bytes: still a block; the width stays
  EXPECT_EQ(t.width(), 8u);
}

// Small sets around the inline/heap boundary at every width: values from a pool that keeps the
// count near the 11, 5 or 2 elements that fit inline, inserts and erases against std::set, and
// the set moved (constructed and assigned), cloned and moved into between steps, so that every
// path between the two forms (insert past the limit, widen past it, erase under it) runs with
// the elements checked after it (under ASan: no block leaked, none read after it went).
TEST(IntSet, SmallSetsCrossTheInlineLimitAtEveryWidth) {
  std::mt19937_64 gen(23);
  // Per round, the members are small values and a few of the round's width.
  const std::int64_t wide[][3] = {{1, 2, 3},                             // stays 2 bytes
                                  {40000, -40000, 70000},                 // 4 bytes
                                  {INT32_MAX + 1LL, INT64_MIN, INT64_MAX}};  // 8 bytes
  std::size_t crossings = 0;
  for (int round = 0; round < 60; ++round) {
    const auto& extra = wide[round % 3];
    const std::int64_t span = 4 + round % 12;  // small values -span..span-1
    compact::IntSet s;
    std::set<std::int64_t> model;
    bool was_inline = true;
    for (int step = 0; step < 400; ++step) {
      const std::int64_t v =
          gen() % 6 == 0 ? extra[gen() % 3] : static_cast<std::int64_t>(gen() % (2 * span)) - span;
      if (gen() % 2 == 0) {
        ASSERT_EQ(s.erase(v), model.erase(v) == 1) << v;
      } else {
        ASSERT_EQ(s.insert(v), model.insert(v).second) << v;
      }
      if (model.empty()) {
        EXPECT_EQ(s.width(), 2u);  // an emptied set starts over at 2 bytes
      }
      switch (gen() % 4) {
        case 0: {  // moved out and back: the inline bytes go with it
          compact::IntSet moved(std::move(s));
          EXPECT_TRUE(s.empty());
          s = std::move(moved);
          break;
        }
        case 1: {  // a clone, moved over the original (whose block, if any, goes)
          compact::IntSet copy = s.clone();
          ASSERT_NO_FATAL_FAILURE(expect_same(copy, model));
          s = std::move(copy);
          EXPECT_TRUE(copy.empty());
          break;
        }
        default:
          break;
      }
      ASSERT_NO_FATAL_FAILURE(expect_same(s, model)) << "round " << round << " step " << step;
      crossings += s.is_inline() != was_inline;
      was_inline = s.is_inline();
    }
  }
  EXPECT_GT(crossings, 100u);  // the boundary was crossed, both ways, many times
}

std::vector<std::string> walk(const Set& s) {
  std::vector<std::string> out;
  for (Set::Member m : s) out.push_back(m.str());
  return out;
}

TEST(Set, IntegersInCanonicalFormStayAnIntset) {
  Set s;
  EXPECT_TRUE(s.add("10"));
  EXPECT_TRUE(s.add("-2"));
  EXPECT_TRUE(s.add("9223372036854775807"));
  EXPECT_TRUE(s.add("-9223372036854775808"));
  EXPECT_FALSE(s.add("10"));
  EXPECT_TRUE(s.intset());
  // Ascending, as Redis's intset walks.
  EXPECT_EQ(walk(s), (std::vector<std::string>{"-9223372036854775808", "-2", "10", "9223372036854775807"}));
  EXPECT_TRUE(s.contains("-2"));
  EXPECT_FALSE(s.contains("+10"));  // not canonical: not the member 10
  EXPECT_FALSE(s.contains("010"));
  EXPECT_FALSE(s.contains("x"));
  EXPECT_FALSE(s.erase("x"));
  EXPECT_TRUE(s.erase("-2"));
  EXPECT_EQ(s.size(), 3u);
  const auto copy = s.copy();
  EXPECT_TRUE(copy->intset());
  EXPECT_EQ(walk(*copy), walk(s));
}

TEST(Set, ANonCanonicalMemberConvertsForGood) {
  for (const char* odd : {"a", "01", "+1", "-0", " 1", "1.0", "9223372036854775808", ""}) {
    Set s;
    s.add("1");
    s.add("2");
    ASSERT_TRUE(s.add(odd)) << odd;
    EXPECT_FALSE(s.intset()) << odd;
    EXPECT_TRUE(s.contains("1") && s.contains("2") && s.contains(odd)) << odd;
    EXPECT_TRUE(s.erase(odd));
    EXPECT_FALSE(s.intset()) << "never converts back";
    EXPECT_EQ(s.size(), 2u);
  }
}

TEST(Set, PastTheEntriesLimitConvertsForGood) {
  auto& limit = compact::limits().set_entries;
  const std::size_t saved = limit.load();
  limit.store(4);
  Set s;
  for (int i = 0; i < 4; ++i) s.add(std::to_string(i * 1000));
  EXPECT_TRUE(s.intset());
  EXPECT_FALSE(s.add("0"));  // a repeat does not count
  EXPECT_TRUE(s.intset());
  EXPECT_TRUE(s.add("7"));
  EXPECT_FALSE(s.intset());
  EXPECT_EQ(s.size(), 5u);
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(s.contains(std::to_string(i * 1000)));
  EXPECT_TRUE(s.erase("7"));
  EXPECT_FALSE(s.intset());
  limit.store(saved);
}

// add_all (SADD's many members, a *STORE's result) against add() one by one on a second Set:
// the same members, the same encoding, the same count of new members, for batches of integers
// (the bulk path), batches with a non-integer (one by one: converts) and batches that pass a
// small set-max-intset-entries (one by one: converts where add() does).
TEST(Set, AddAllIsAddOneByOne) {
  auto& limit = compact::limits().set_entries;
  const std::size_t saved = limit.load();
  std::mt19937_64 gen(7);
  std::size_t bulk = 0, converted = 0;
  for (int round = 0; round < 200; ++round) {
    limit.store(round % 2 == 0 ? 512 : 20 + round % 30);
    Set all, one;
    for (int step = 0; step < 30; ++step) {
      std::vector<std::string> members;
      const std::size_t n = gen() % 12;
      for (std::size_t i = 0; i < n; ++i) {
        members.push_back(gen() % 60 == 0 ? "x" + std::to_string(gen() % 5)
                                          : std::to_string(random_value(gen)));
      }
      const std::vector<std::string_view> views(members.begin(), members.end());
      if (gen() % 5 == 0 && !members.empty()) {  // an erase between the batches
        ASSERT_EQ(all.erase(members[0]), one.erase(members[0]));
        continue;
      }
      std::size_t added_one = 0;
      for (std::string_view m : views) added_one += one.add(m) ? 1 : 0;
      bulk += all.intset() && n > 1;
      ASSERT_EQ(all.add_all(views), added_one) << "round " << round << " step " << step;
      ASSERT_EQ(all.intset(), one.intset()) << "round " << round << " step " << step;
      ASSERT_EQ(all.size(), one.size());
      if (all.intset()) {
        ASSERT_EQ(walk(all), walk(one));
      } else {
        for (Set::Member m : one) ASSERT_TRUE(all.contains(m.view())) << m.str();
      }
    }
    converted += !all.intset();
  }
  limit.store(saved);
  EXPECT_GT(bulk, 1000u);
  EXPECT_GT(converted, 50u);
}

TEST(Set, MembersKeepTheirDigitsWhenCopied) {
  Set s;
  s.add("-123456789012");
  std::vector<Set::Member> kept;
  for (int i = 0; i < 100; ++i) kept.push_back(*s.begin());  // reallocations copy the digits
  for (const Set::Member& m : kept) EXPECT_EQ(m.view(), "-123456789012");
}

TEST(Set, TheTableAgreesWithAStdSetAndCopiesItsMembers) {
  // Members of every length class of the one-block StoredMember: empty, short, past 127 bytes
  // (a two-byte length), integers and strings mixed.
  std::mt19937_64 gen(5);
  const std::size_t lengths[] = {0, 1, 9, 15, 16, 127, 128, 300};
  Set s;
  std::set<std::string> model;
  for (int step = 0; step < 20000; ++step) {
    std::string m = gen() % 3 == 0 ? std::to_string(gen() % 300)
                                   : std::string(lengths[gen() % std::size(lengths)], 'x') +
                                         std::to_string(gen() % 50);
    if (gen() % 3 == 0) {
      EXPECT_EQ(s.erase(m), model.erase(m) == 1) << m;
    } else {
      EXPECT_EQ(s.add(m), model.insert(m).second) << m;
    }
    if (step % 999 == 0) {
      std::set<std::string> walked;
      for (const Set::Member& x : s) EXPECT_TRUE(walked.insert(x.str()).second);
      EXPECT_EQ(walked, model);
      for (const std::string& x : model) EXPECT_TRUE(s.contains(x)) << x;
    }
  }
  EXPECT_FALSE(s.intset());
  EXPECT_FALSE(s.contains("absent"));
  const std::unique_ptr<Set> copy = s.copy();
  s.erase(*model.begin());
  std::set<std::string> walked;
  for (const Set::Member& x : *copy) walked.insert(x.str());
  EXPECT_EQ(walked, model);
}

}  // namespace
}  // namespace lfdb::db
