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

#include "db/compact/limits.hpp"

namespace lfdb::db {
namespace {

using Model = std::vector<std::pair<double, std::string>>;

void expect_same(const ZSet& z, const Model& m) {
  ASSERT_EQ(z.size(), m.size());
  std::size_t i = 0;
  for (ZSet::Ref n = z.first(); n; n = n.next(), ++i) {
    ASSERT_EQ(n.score(), m[i].first) << i;
    ASSERT_EQ(n.member(), m[i].second) << i;
    ASSERT_EQ(z.rank(n), i);
    ASSERT_TRUE(z.at(i) == n);
    ASSERT_TRUE(z.find(n.member()) == n);
  }
  ASSERT_EQ(i, m.size());
  // Backward links agree with the forward walk.
  i = m.size();
  for (ZSet::Ref n = z.last(); n; n = n.prev()) {
    ASSERT_GT(i, 0u);
    --i;
    ASSERT_EQ(n.member(), m[i].second);
  }
  ASSERT_EQ(i, 0u);
  EXPECT_FALSE(z.at(m.size()));
}

// Each test runs with the packed encoding throughout (its limit far above), the skip list
// throughout (zset-max-listpack-entries 0), and Redis's default of 128, where the random test
// converts midway.
class ZSetEncodings : public ::testing::TestWithParam<std::size_t> {
 protected:
  void SetUp() override {
    saved_ = compact::limits().zset_max_entries();
    compact::limits().zset_entries.store(GetParam());
  }
  void TearDown() override { compact::limits().zset_entries.store(saved_); }
  std::size_t saved_ = 0;
};
INSTANTIATE_TEST_SUITE_P(Limits, ZSetEncodings, ::testing::Values(0, 128, 1000000));

TEST_P(ZSetEncodings, RandomOperationsAgreeWithASortedVector) {
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

TEST_P(ZSetEncodings, RangesByScore) {
  ZSet z;
  for (int i = 0; i < 10; ++i) z.set("m" + std::to_string(i), i);
  ScoreRange r{2, 5, false, false};
  ASSERT_TRUE(z.first_in(r));
  EXPECT_EQ(z.first_in(r).member(), "m2");
  EXPECT_EQ(z.last_in(r).member(), "m5");
  r = {2, 5, true, true};
  EXPECT_EQ(z.first_in(r).member(), "m3");
  EXPECT_EQ(z.last_in(r).member(), "m4");
  r = {-INFINITY, INFINITY, false, false};
  EXPECT_EQ(z.first_in(r).member(), "m0");
  EXPECT_EQ(z.last_in(r).member(), "m9");
  r = {5, 5, true, false};
  EXPECT_FALSE(z.first_in(r));
  r = {10, 20, false, false};
  EXPECT_FALSE(z.first_in(r));
  EXPECT_FALSE(z.last_in(r));
  r = {6, 2, false, false};
  EXPECT_FALSE(z.first_in(r));
}

TEST_P(ZSetEncodings, RangesByLex) {
  ZSet z;
  for (const char* m : {"a", "b", "c", "d", "e"}) z.set(m, 0);
  LexRange r;
  ASSERT_TRUE(parse_lex_range("[b", "(e", r));
  EXPECT_EQ(z.first_in(r).member(), "b");
  EXPECT_EQ(z.last_in(r).member(), "d");
  ASSERT_TRUE(parse_lex_range("-", "+", r));
  EXPECT_EQ(z.first_in(r).member(), "a");
  EXPECT_EQ(z.last_in(r).member(), "e");
  ASSERT_TRUE(parse_lex_range("(e", "+", r));
  EXPECT_FALSE(z.first_in(r));
  ASSERT_TRUE(parse_lex_range("+", "-", r));
  EXPECT_TRUE(r.empty());
  ASSERT_TRUE(parse_lex_range("-", "-", r));
  EXPECT_TRUE(r.empty());
  EXPECT_FALSE(parse_lex_range("b", "[c", r));
  EXPECT_FALSE(parse_lex_range("[b", "+x", r));
  EXPECT_FALSE(parse_lex_range("", "[c", r));
}

TEST_P(ZSetEncodings, UpdatesKeepOrderAndRank) {
  ZSet z;
  z.set("a", 1);
  z.set("b", 2);
  z.set("c", 3);
  EXPECT_FALSE(z.set("a", 2.5));  // in place between neighbours? no: moves past b
  EXPECT_EQ(z.at(0).member(), "b");
  EXPECT_EQ(z.at(1).member(), "a");
  EXPECT_FALSE(z.set("a", 2.6));  // stays between b and c: updated in place
  EXPECT_EQ(z.rank(z.find("a")), 1u);
  EXPECT_FALSE(z.set("c", 2));    // ties order by member: b < c
  EXPECT_EQ(z.at(0).member(), "b");
  EXPECT_EQ(z.at(1).member(), "c");
  EXPECT_TRUE(z.erase("b"));
  EXPECT_FALSE(z.erase("b"));
  EXPECT_EQ(z.first().member(), "c");
  EXPECT_EQ(z.last().member(), "a");
  EXPECT_TRUE(z.erase("a"));
  EXPECT_TRUE(z.erase("c"));
  EXPECT_TRUE(z.empty());
  EXPECT_FALSE(z.first());
  EXPECT_FALSE(z.last());
}

TEST(ZSet, ConvertsToTheSkipListOncePastALimitAndNeverBack) {
  ASSERT_EQ(compact::limits().zset_max_entries(), 128u);
  ASSERT_EQ(compact::limits().zset_max_value(), 64u);
  ZSet z;
  for (int i = 0; i < 128; ++i) z.set("m" + std::to_string(i), i);
  EXPECT_TRUE(z.packed());
  z.set("m5", 1000);  // an update adds nothing
  EXPECT_TRUE(z.packed());
  z.set("m128", 128);
  EXPECT_FALSE(z.packed());
  EXPECT_EQ(z.size(), 129u);
  for (int i = 0; i < 128; ++i) z.erase("m" + std::to_string(i));
  EXPECT_FALSE(z.packed());  // never back
  EXPECT_EQ(z.first().member(), "m128");

  ZSet longer;
  longer.set(std::string(64, 'a'), 1);
  EXPECT_TRUE(longer.packed());
  longer.set(std::string(65, 'b'), 2);
  EXPECT_FALSE(longer.packed());
  EXPECT_EQ(longer.size(), 2u);
  EXPECT_EQ(longer.last().member(), std::string(65, 'b'));
  longer.erase(std::string(65, 'b'));
  EXPECT_FALSE(longer.packed());
  longer.compact_if_small();  // a fresh result may go back
  EXPECT_TRUE(longer.packed());
  EXPECT_EQ(longer.first().member(), std::string(64, 'a'));

  EXPECT_TRUE(ZSet(128, 64).packed());  // sized for the command that creates it
  EXPECT_FALSE(ZSet(129, 1).packed());
  EXPECT_FALSE(ZSet(1, 65).packed());
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
