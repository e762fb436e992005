// The packed sorted set (src/db/compact/packed_zset.hpp): order, both walks, ranks and in-place
// updates against a sorted vector, with members whose lengths cross the 7-bit boundaries of the
// length prefix and the back length, and scores on both sides of every boundary of the score's
// encodings (one-byte, int16, int32 integers and doubles), read back bit for bit.
#include "db/compact/packed_zset.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace lfdb::db::compact {
namespace {

using Model = std::vector<std::pair<double, std::string>>;

// The same double, bit for bit (0 and -0 differ here, as they must not in the set).
bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

constexpr double kInf = std::numeric_limits<double>::infinity();
// Each encoding's ends and their neighbours outside, and scores that must stay doubles.
const double kScores[] = {-33, -32, -1, 0, -0.0, 1, 2, 5, 219, 220, 221, 255, 256, 32767, 32768,
                          -32768, -32769, 2147483647.0, 2147483648.0, -2147483648.0,
                          -2147483649.0, 1.5e9, 0.1, -0.5, 2.5, 1e300, -1e300, 4503599627370496.0,
                          9007199254740992.0, 5e-324, kInf, -kInf};

void expect_same(const PackedZSet& z, const Model& m) {
  ASSERT_EQ(z.size(), m.size());
  std::size_t i = 0;
  for (PackedZSet::Pos p = z.first(); p != nullptr; p = z.next(p), ++i) {
    ASSERT_LT(i, m.size());
    ASSERT_TRUE(same_bits(PackedZSet::score(p), m[i].first)) << i << ": " << PackedZSet::score(p);
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

// An entry's bytes by the layout in packed_zset.hpp, computed independently of the encoder.
std::size_t entry_bytes(std::size_t len, double s) {
  auto varint = [](std::size_t v) {
    std::size_t n = 1;
    for (; v >= 128; v >>= 7) ++n;
    return n;
  };
  const bool integer = std::trunc(s) == s && s >= -2147483648.0 && s <= 2147483647.0;
  const std::size_t score = !integer ? 9 : (s >= -32 && s <= 220) ? 1 : (s >= -32768 && s <= 32767) ? 3 : 5;
  const std::size_t body = varint(len) + len + score;
  return body + varint(body);
}

TEST(PackedZSet, RandomOperationsAgreeWithASortedVector) {
  std::mt19937_64 gen(7);
  // Lengths around 127/128 (one or two bytes of prefix) and 16383/16384 (two or three).
  const std::size_t lengths[] = {0, 1, 5, 100, 115, 116, 117, 126, 127, 128, 129, 300, 16372, 16383, 16384};
  // ZINCRBY's steps: across the one-byte, int16 and int32 ends, and off the integers.
  const double steps[] = {1, -1, 7, -7, 30000, -30000, 2147483647.0, 0.5, -0.25};
  PackedZSet z;
  std::vector<std::pair<std::string, double>> members;
  for (int step = 0; step < 6000; ++step) {
    const std::size_t len = lengths[gen() % std::size(lengths)];
    std::string m(len, static_cast<char>('a' + gen() % 3));
    if (!m.empty()) m[0] = static_cast<char>('a' + gen() % 4);
    auto it = std::find_if(members.begin(), members.end(), [&](auto& p) { return p.first == m; });
    // Many equal scores (halves around 0) or one from the encodings' ends.
    double s = gen() % 2 == 0 ? static_cast<double>(gen() % 20) / 2.0 - 4
                              : kScores[gen() % std::size(kScores)];
    const unsigned op = gen() % 6;
    if (op == 0 || op == 1) {
      EXPECT_EQ(z.erase(m), it != members.end());
      if (it != members.end()) members.erase(it);
      continue;
    }
    if (op == 2 && it != members.end()) {  // ZINCRBY: the new score from the stored one
      const PackedZSet::Pos p = z.find(m);
      ASSERT_NE(p, nullptr);
      s = PackedZSet::score(p) + steps[gen() % std::size(steps)];
    }
    if (s == 0) s = 0;  // the set keeps -0 as 0
    EXPECT_EQ(z.set(m, s), it == members.end());
    if (it == members.end()) members.emplace_back(m, s);
    else it->second = s;
    if (step % 53 == 0) {
      Model model;
      for (auto& [mm, ss] : members) model.emplace_back(ss, mm);
      std::sort(model.begin(), model.end());
      expect_same(z, model);
      // The buffer is the entries and nothing else: their sizes summed from the model.
      std::size_t want_bytes = 0;
      for (auto& [ss, mm] : model) want_bytes += entry_bytes(mm.size(), ss);
      EXPECT_EQ(z.bytes(), want_bytes);
      // The counts live in the object: a move takes them, a clone copies them.
      if (step % 2 == 0) {
        PackedZSet moved(std::move(z));
        EXPECT_TRUE(z.empty());
        EXPECT_EQ(z.bytes(), 0u);
        PackedZSet copy = moved.clone();
        z = std::move(copy);
        expect_same(moved, model);
      }
      expect_same(z, model);
      std::size_t longest = 0;
      for (auto& [mm, ss] : members) longest = std::max(longest, mm.size());
      EXPECT_EQ(z.longest(), longest);
    }
  }
}

TEST(PackedZSet, ScoresReadBackBitForBitInTheFewestBytes) {
  // One member, each score alone: the buffer is the member's 1 + 1 bytes, the score's bytes and
  // a one-byte back length (the counts are in the object, not the buffer).
  for (double s : kScores) {
    PackedZSet z;
    ASSERT_TRUE(z.set("m", s));
    const double want = s == 0 ? 0.0 : s;
    EXPECT_TRUE(same_bits(PackedZSet::score(z.first()), want)) << s;
    const bool integer = std::trunc(s) == s && s >= -2147483648.0 && s <= 2147483647.0;
    const std::size_t score_bytes = !integer ? 9 : (s >= -32 && s <= 220) ? 1 : (s >= -32768 && s <= 32767) ? 3 : 5;
    EXPECT_EQ(z.bytes(), 2 + score_bytes + 1) << s;
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
  // Three entries of 1 + 1 + 1 + 1 bytes (small integer scores), no header.
  EXPECT_EQ(z.bytes(), 3u * 4);
  EXPECT_FALSE(z.set("b", 2.5));  // stays between a and c, its score now 8 bytes more
  EXPECT_EQ(PackedZSet::score(z.at(1)), 2.5);
  EXPECT_EQ(z.bytes(), 3u * 4 + 8);
  EXPECT_EQ(PackedZSet::member(z.at(1)), "b");
  EXPECT_FALSE(z.set("b", 2.75));  // in place: the same size
  EXPECT_EQ(PackedZSet::score(z.at(1)), 2.75);
  EXPECT_EQ(PackedZSet::member(z.prev(z.last())), "b");
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
