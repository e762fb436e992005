// The packed sorted set (src/db/compact/packed_zset.hpp): order, both walks, ranks and in-place
// updates against a sorted vector, with members whose lengths cross the 7-bit boundaries of the
// length prefix and the back length.
#include "db/compact/packed_zset.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace lfdb::db::compact {
namespace {

using Model = std::vector<std::pair<double, std::string>>;

void expect_same(const PackedZSet& z, const Model& m) {
  ASSERT_EQ(z.size(), m.size());
  std::size_t i = 0;
  for (PackedZSet::Pos p = z.first(); p != nullptr; p = z.next(p), ++i) {
    ASSERT_LT(i, m.size());
    ASSERT_EQ(PackedZSet::score(p), m[i].first) << i;
    ASSERT_EQ(PackedZSet::member(p), m[i].second) << i;
    ASSERT_EQ(z.rank(p), i);
    ASSERT_EQ(z.at(i), p);
    ASSERT_EQ(z.find(m[i].second), p);
  }
  ASSERT_EQ(i, m.size());
  for (PackedZSet::Pos p = z.last(); p != nullptr; p = z.prev(p)) {
    ASSERT_GT(i, 0u);
    --i;
    ASSERT_EQ(PackedZSet::member(p), m[i].second) << i;
  }
  ASSERT_EQ(i, 0u);
  EXPECT_EQ(z.at(m.size()), nullptr);
}

TEST(PackedZSet, RandomOperationsAgreeWithASortedVector) {
  std::mt19937_64 gen(7);
  // Lengths around 127/128 (one or two bytes of prefix) and 16383/16384 (two or three).
  const std::size_t lengths[] = {0, 1, 5, 100, 115, 116, 117, 126, 127, 128, 129, 300, 16372, 16383, 16384};
  PackedZSet z;
  std::vector<std::pair<std::string, double>> members;
  for (int step = 0; step < 3000; ++step) {
    const std::size_t len = lengths[gen() % std::size(lengths)];
    std::string m(len, static_cast<char>('a' + gen() % 3));
    if (!m.empty()) m[0] = static_cast<char>('a' + gen() % 4);
    const double s = static_cast<double>(gen() % 20) / 2.0 - 4;  // many equal scores
    auto it = std::find_if(members.begin(), members.end(), [&](auto& p) { return p.first == m; });
    if (gen() % 3 == 0) {
      EXPECT_EQ(z.erase(m), it != members.end());
      if (it != members.end()) members.erase(it);
    } else {
      EXPECT_EQ(z.set(m, s), it == members.end());
      if (it == members.end()) members.emplace_back(m, s);
      else it->second = s;
    }
    if (step % 101 == 0) {
      Model model;
      for (auto& [mm, ss] : members) model.emplace_back(ss, mm);
      std::sort(model.begin(), model.end());
      expect_same(z, model);
      std::size_t longest = 0;
      for (auto& [mm, ss] : members) longest = std::max(longest, mm.size());
      EXPECT_EQ(z.longest(), longest);
    }
  }
}

TEST(PackedZSet, UpdatesInPlaceOrMoveAndEmptyFreesTheBuffer) {
  PackedZSet z;
  EXPECT_EQ(z.bytes(), 0u);
  EXPECT_EQ(z.first(), nullptr);
  EXPECT_EQ(z.last(), nullptr);
  EXPECT_TRUE(z.set("b", 2));
  EXPECT_TRUE(z.set("a", 1));
  EXPECT_TRUE(z.set("c", 3));
  // One header and three entries of 1 + 1 + 8 + 1 bytes.
  EXPECT_EQ(z.bytes(), 8u + 3 * 11);
  EXPECT_FALSE(z.set("b", 2.5));  // stays between a and c
  EXPECT_EQ(PackedZSet::score(z.at(1)), 2.5);
  EXPECT_FALSE(z.set("a", 4));  // moves past c
  EXPECT_EQ(PackedZSet::member(z.first()), "b");
  EXPECT_EQ(PackedZSet::member(z.last()), "a");
  EXPECT_FALSE(z.set("c", -0.0));  // -0 is stored as 0
  EXPECT_FALSE(std::signbit(PackedZSet::score(z.first())));
  // A member passed from the set's own buffer survives the move.
  EXPECT_FALSE(z.set(PackedZSet::member(z.first()), 10));
  EXPECT_EQ(PackedZSet::member(z.last()), "c");
  EXPECT_TRUE(z.erase("a"));
  EXPECT_TRUE(z.erase("b"));
  EXPECT_FALSE(z.erase("b"));
  EXPECT_TRUE(z.erase("c"));
  EXPECT_TRUE(z.empty());
  EXPECT_EQ(z.bytes(), 0u);
}

}  // namespace
}  // namespace lfdb::db::compact
