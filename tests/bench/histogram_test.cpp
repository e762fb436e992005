// lf::Histogram reports percentiles within 1% of the exact ones (issue 6): checked against the
// sorted samples of known distributions, at the same rank definition the histogram uses
// (the value at index floor(q * n) of the sorted samples).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "lf/histogram.hpp"

namespace {

constexpr double kQuantiles[] = {0.0, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 0.999, 0.9999, 1.0};

std::uint64_t exact(const std::vector<std::uint64_t>& sorted, double q) {
  if (q >= 1.0) return sorted.back();
  auto rank = static_cast<std::size_t>(q * static_cast<double>(sorted.size()));
  return sorted[std::min(rank, sorted.size() - 1)];
}

void expect_within_one_percent(std::vector<std::uint64_t> samples, const char* what) {
  lf::Histogram h;
  for (auto v : samples) h.record(v);
  std::sort(samples.begin(), samples.end());
  ASSERT_EQ(h.count(), samples.size());
  EXPECT_EQ(h.min(), samples.front()) << what;
  EXPECT_EQ(h.max(), samples.back()) << what;
  for (double q : kQuantiles) {
    auto want = static_cast<double>(exact(samples, q));
    auto got = static_cast<double>(h.percentile(q));
    double err = want == 0 ? std::abs(got) : std::abs(got - want) / want;
    EXPECT_LE(err, 0.01) << what << " q=" << q << " want " << want << " got " << got;
  }
}

constexpr std::size_t kN = 1000000;

TEST(Histogram, UniformWithinOnePercent) {
  std::mt19937_64 rng(1);
  std::uniform_int_distribution<std::uint64_t> d(1000, 10000000);  // 1 us .. 10 ms in ns
  std::vector<std::uint64_t> s(kN);
  for (auto& v : s) v = d(rng);
  expect_within_one_percent(std::move(s), "uniform");
}

TEST(Histogram, ExponentialWithinOnePercent) {
  std::mt19937_64 rng(2);
  std::exponential_distribution<double> d(1.0 / 200000.0);  // mean 200 us
  std::vector<std::uint64_t> s(kN);
  for (auto& v : s) v = static_cast<std::uint64_t>(d(rng)) + 1;
  expect_within_one_percent(std::move(s), "exponential");
}

TEST(Histogram, ConstantIsExact) {
  std::vector<std::uint64_t> s(kN, 123457);
  lf::Histogram h;
  for (auto v : s) h.record(v);
  for (double q : kQuantiles) EXPECT_EQ(h.percentile(q), 123457u) << q;  // clamped to min = max
  expect_within_one_percent(std::move(s), "constant");
}

TEST(Histogram, BimodalWithinOnePercent) {
  // Most requests fast, some stuck behind a stall: the shape open-loop runs produce.
  std::mt19937_64 rng(3);
  std::normal_distribution<double> fast(150000.0, 20000.0);   // 150 us
  std::normal_distribution<double> slow(900e6, 50e6);         // 900 ms
  std::bernoulli_distribution pick_slow(0.03);
  std::vector<std::uint64_t> s(kN);
  for (auto& v : s) {
    double x = pick_slow(rng) ? slow(rng) : fast(rng);
    v = static_cast<std::uint64_t>(std::max(1.0, x));
  }
  expect_within_one_percent(std::move(s), "bimodal");
}

TEST(Histogram, SmallValuesAreExactAndHugeOnesBounded) {
  std::vector<std::uint64_t> s;
  for (std::uint64_t v = 0; v < 128; ++v) s.push_back(v);
  lf::Histogram h;
  for (auto v : s) h.record(v);
  for (std::uint64_t v = 0; v < 128; ++v) {
    EXPECT_EQ(h.percentile(static_cast<double>(v) / 128.0), v);
  }
  std::vector<std::uint64_t> big;
  std::mt19937_64 rng(4);
  for (int i = 0; i < 100000; ++i) big.push_back((rng() >> 2) | (std::uint64_t{1} << 40));
  expect_within_one_percent(std::move(big), "huge");
}

TEST(Histogram, MergeEqualsRecordingEverything) {
  std::mt19937_64 rng(5);
  std::exponential_distribution<double> d(1e-5);
  lf::Histogram a, b, all;
  for (int i = 0; i < 200000; ++i) {
    auto v = static_cast<std::uint64_t>(d(rng));
    (i % 2 ? a : b).record(v);
    all.record(v);
  }
  a.merge(b);
  EXPECT_EQ(a.count(), all.count());
  EXPECT_EQ(a.max(), all.max());
  EXPECT_EQ(a.min(), all.min());
  for (double q : kQuantiles) EXPECT_EQ(a.percentile(q), all.percentile(q)) << q;
}

}  // namespace
