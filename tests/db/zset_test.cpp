// The sorted set's skip list (src/db/zset.hpp): every query checked against a sorted vector of
// (score, member) after random inserts, score updates and deletes; range bounds and parsing.
#include "db/zset.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace lfdb::db {
namespace {

using Model = std::vector<std::pair<double, std::string>>;

void expect_same(const ZSet& z, const Model& m) {
  ASSERT_EQ(z.size(), m.size());
  std::size_t i = 0;
  for (const ZSet::Node* n = z.first(); n != nullptr; n = n->next(), ++i) {
    ASSERT_EQ(n->score, m[i].first) << i;
    ASSERT_EQ(n->member, m[i].second) << i;
    ASSERT_EQ(z.rank(n), i);
    ASSERT_EQ(z.at(i), n);
    ASSERT_EQ(z.find(n->member), n);
  }
  ASSERT_EQ(i, m.size());
  // Backward links agree with the forward walk.
  i = m.size();
  for (const ZSet::Node* n = z.last(); n != nullptr; n = n->prev()) {
    ASSERT_GT(i, 0u);
    --i;
    ASSERT_EQ(n->member, m[i].second);
  }
  ASSERT_EQ(i, 0u);
  EXPECT_EQ(z.at(m.size()), nullptr);
}

TEST(ZSet, RandomOperationsAgreeWithASortedVector) {
  std::mt19937_64 gen(42);
  ZSet z;
  std::vector<std::pair<std::string, double>> members;  // member -> score, the model's truth
  for (int step = 0; step < 20000; ++step) {
    const std::string m = "m" + std::to_string(gen() % 300);
    const double s = static_cast<double>(gen() % 40) / 4.0 - 5;  // many equal scores
    auto it = std::find_if(members.begin(), members.end(), [&](auto& p) { return p.first == m; });
    if (gen() % 3 == 0) {
      EXPECT_EQ(z.erase(m), it != members.end());
      if (it != members.end()) members.erase(it);
    } else {
      EXPECT_EQ(z.set(m, s), it == members.end());
      if (it == members.end()) members.emplace_back(m, s);
      else it->second = s;
    }
    if (step % 997 == 0) {
      Model model;
      for (auto& [mm, ss] : members) model.emplace_back(ss, mm);
      std::sort(model.begin(), model.end());
      expect_same(z, model);
    }
  }
}

TEST(ZSet, RangesByScore) {
  ZSet z;
  for (int i = 0; i < 10; ++i) z.set("m" + std::to_string(i), i);
  ScoreRange r{2, 5, false, false};
  ASSERT_NE(z.first_in(r), nullptr);
  EXPECT_EQ(z.first_in(r)->member, "m2");
  EXPECT_EQ(z.last_in(r)->member, "m5");
  r = {2, 5, true, true};
  EXPECT_EQ(z.first_in(r)->member, "m3");
  EXPECT_EQ(z.last_in(r)->member, "m4");
  r = {-INFINITY, INFINITY, false, false};
  EXPECT_EQ(z.first_in(r)->member, "m0");
  EXPECT_EQ(z.last_in(r)->member, "m9");
  r = {5, 5, true, false};
  EXPECT_EQ(z.first_in(r), nullptr);
  r = {10, 20, false, false};
  EXPECT_EQ(z.first_in(r), nullptr);
  EXPECT_EQ(z.last_in(r), nullptr);
  r = {6, 2, false, false};
  EXPECT_EQ(z.first_in(r), nullptr);
}

TEST(ZSet, RangesByLex) {
  ZSet z;
  for (const char* m : {"a", "b", "c", "d", "e"}) z.set(m, 0);
  LexRange r;
  ASSERT_TRUE(parse_lex_range("[b", "(e", r));
  EXPECT_EQ(z.first_in(r)->member, "b");
  EXPECT_EQ(z.last_in(r)->member, "d");
  ASSERT_TRUE(parse_lex_range("-", "+", r));
  EXPECT_EQ(z.first_in(r)->member, "a");
  EXPECT_EQ(z.last_in(r)->member, "e");
  ASSERT_TRUE(parse_lex_range("(e", "+", r));
  EXPECT_EQ(z.first_in(r), nullptr);
  ASSERT_TRUE(parse_lex_range("+", "-", r));
  EXPECT_TRUE(r.empty());
  ASSERT_TRUE(parse_lex_range("-", "-", r));
  EXPECT_TRUE(r.empty());
  EXPECT_FALSE(parse_lex_range("b", "[c", r));
  EXPECT_FALSE(parse_lex_range("[b", "+x", r));
  EXPECT_FALSE(parse_lex_range("", "[c", r));
}

TEST(ZSet, UpdatesKeepOrderAndRank) {
  ZSet z;
  z.set("a", 1);
  z.set("b", 2);
  z.set("c", 3);
  EXPECT_FALSE(z.set("a", 2.5));  // in place between neighbours? no: moves past b
  EXPECT_EQ(z.at(0)->member, "b");
  EXPECT_EQ(z.at(1)->member, "a");
  EXPECT_FALSE(z.set("a", 2.6));  // stays between b and c: updated in place
  EXPECT_EQ(z.rank(z.find("a")), 1u);
  EXPECT_FALSE(z.set("c", 2));    // ties order by member: b < c
  EXPECT_EQ(z.at(0)->member, "b");
  EXPECT_EQ(z.at(1)->member, "c");
  EXPECT_TRUE(z.erase("b"));
  EXPECT_FALSE(z.erase("b"));
  EXPECT_EQ(z.first()->member, "c");
  EXPECT_EQ(z.last()->member, "a");
  EXPECT_TRUE(z.erase("a"));
  EXPECT_TRUE(z.erase("c"));
  EXPECT_TRUE(z.empty());
  EXPECT_EQ(z.first(), nullptr);
  EXPECT_EQ(z.last(), nullptr);
}

TEST(ZSet, ScoresParseAndFormatAsRedis) {
  double v = 0;
  EXPECT_TRUE(parse_double("1.5", v));
  EXPECT_EQ(v, 1.5);
  EXPECT_TRUE(parse_double("-inf", v));
  EXPECT_TRUE(std::isinf(v));
  EXPECT_FALSE(parse_double("nan", v));
  EXPECT_FALSE(parse_double(" 1", v));
  EXPECT_FALSE(parse_double("1x", v));
  EXPECT_FALSE(parse_double("", v));
  EXPECT_FALSE(parse_double("1e999", v));
  EXPECT_EQ(format_score(0.1), "0.10000000000000001");
  EXPECT_EQ(format_score(3), "3");
  EXPECT_EQ(format_score(-INFINITY), "-inf");
  for (double d : {0.1, 1.0 / 3, 1e300, -2.5e-300, 123456789.123456789}) {
    ASSERT_TRUE(parse_double(format_score(d), v));
    EXPECT_EQ(v, d);  // exact round trip: what the log relies on
  }
  bool ex = false;
  EXPECT_TRUE(parse_score_bound("(1.5", v, ex));
  EXPECT_TRUE(ex);
  EXPECT_EQ(v, 1.5);
  EXPECT_FALSE(parse_score_bound("nan", v, ex));
  EXPECT_FALSE(parse_score_bound("abc", v, ex));
}

}  // namespace
}  // namespace lfdb::db
