// The key generators: ranges, Zipf's law on the hottest ranks, uniform spread, bad parameters.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "bench/random.hpp"

namespace {

using bench::Distribution;
using bench::KeyChooser;
using bench::Rng;
using bench::ZipfGenerator;

TEST(Zipf, ZetaMatchesTheSum) {
  EXPECT_DOUBLE_EQ(ZipfGenerator::zeta(1, 0.99), 1.0);
  EXPECT_NEAR(ZipfGenerator::zeta(3, 0.5), 1.0 + 1.0 / std::sqrt(2.0) + 1.0 / std::sqrt(3.0), 1e-12);
}

TEST(Zipf, StaysInRangeAndFollowsTheLawOnTheHottestRanks) {
  constexpr std::uint64_t kKeys = 1000;
  constexpr int kDraws = 2000000;
  for (double theta : {0.5, 0.99}) {
    ZipfGenerator z(kKeys, theta);
    Rng rng(42);
    std::vector<std::uint64_t> counts(kKeys, 0);
    for (int i = 0; i < kDraws; ++i) {
      std::uint64_t k = z.next(rng);
      ASSERT_LT(k, kKeys);
      ++counts[k];
    }
    // Ranks 0 and 1 are drawn from their exact probabilities 1/(zeta) and 1/(2^theta zeta).
    for (std::uint64_t r : {0u, 1u}) {
      double p = 1.0 / (std::pow(static_cast<double>(r + 1), theta) * z.zeta_n());
      double seen = static_cast<double>(counts[r]) / kDraws;
      EXPECT_NEAR(seen, p, 0.02 * p) << "theta " << theta << " rank " << r;
    }
    // Hot beats cold: the first ten ranks together far outweigh the last ten.
    std::uint64_t head = 0, tail = 0;
    for (int i = 0; i < 10; ++i) {
      head += counts[static_cast<std::size_t>(i)];
      tail += counts[kKeys - 1 - static_cast<std::size_t>(i)];
    }
    EXPECT_GT(head, 10 * tail) << theta;
    // The skew grows with theta: the hottest key's share is at least its uniform share.
    EXPECT_GT(counts[0], static_cast<std::uint64_t>(kDraws / kKeys));
  }
}

TEST(Zipf, TinyKeySpaces) {
  Rng rng(7);
  ZipfGenerator one(1, 0.9);
  ZipfGenerator two(2, 0.9);
  int zeros = 0;
  for (int i = 0; i < 10000; ++i) {
    EXPECT_EQ(one.next(rng), 0u);
    std::uint64_t k = two.next(rng);
    ASSERT_LT(k, 2u);
    zeros += k == 0;
  }
  // P(0) = 1 / (1 + 2^-0.9) = 0.65
  EXPECT_NEAR(zeros / 10000.0, 1.0 / (1.0 + std::pow(2.0, -0.9)), 0.02);
}

TEST(KeyChooser, UniformSpreadsEvenly) {
  auto c = KeyChooser::create(10, Distribution::kUniform, 0.0);
  ASSERT_TRUE(c.ok());
  Rng rng(9);
  std::vector<int> counts(10, 0);
  for (int i = 0; i < 1000000; ++i) ++counts[c->next(rng)];
  for (int n : counts) EXPECT_NEAR(n, 100000, 2000);
}

TEST(KeyChooser, RejectsBadParameters) {
  EXPECT_FALSE(KeyChooser::create(0, Distribution::kUniform, 0.0).ok());
  EXPECT_FALSE(KeyChooser::create(10, Distribution::kZipf, 1.0).ok());
  EXPECT_FALSE(KeyChooser::create(10, Distribution::kZipf, 0.0).ok());
  EXPECT_FALSE(KeyChooser::create(10, Distribution::kZipf, -0.5).ok());
  EXPECT_TRUE(KeyChooser::create(10, Distribution::kZipf, 0.99).ok());
}

TEST(Rng, SameSeedSameStreamAndBelowStaysBelow) {
  Rng a(bench::terminal_seed(1, 5)), b(bench::terminal_seed(1, 5)), c(bench::terminal_seed(1, 6));
  bool differs = false;
  for (int i = 0; i < 100; ++i) {
    std::uint64_t x = a.next();
    EXPECT_EQ(x, b.next());
    differs |= x != c.next();
    Rng d(x);
    EXPECT_LT(d.below(3), 3u);
    double u = d.unit();
    EXPECT_GE(u, 0.0);
    EXPECT_LT(u, 1.0);
  }
  EXPECT_TRUE(differs);
}

}  // namespace
