// lf::Histogram: a log-linear latency histogram. Values (nanoseconds, or any unsigned count) fall
// into power-of-two ranges each split into 128 linear sub-buckets, so any percentile it reports
// is within 1/128 (< 0.8%) of the true value. Fixed size, no allocation after construction;
// merge() adds another histogram (per-thread histograms, summed at the end).
// Thread-safety: none; one writer, or external synchronization.
#pragma once

#include <array>
#include <cstdint>

namespace lf {

class Histogram {
 public:
  static constexpr int kSubBits = 7;  // 128 sub-buckets per power of two
  static constexpr int kSub = 1 << kSubBits;
  static constexpr int kRanges = 64 - kSubBits + 1;

  void record(std::uint64_t v) {
    ++counts_[index_of(v)];
    ++total_;
    if (v > max_) max_ = v;
    if (v < min_) min_ = v;
    sum_ += v;
  }
  void merge(const Histogram& o) {
    for (std::size_t i = 0; i < counts_.size(); ++i) counts_[i] += o.counts_[i];
    total_ += o.total_;
    sum_ += o.sum_;
    if (o.max_ > max_) max_ = o.max_;
    if (o.min_ < min_) min_ = o.min_;
  }
  void clear() { *this = Histogram(); }

  std::uint64_t count() const { return total_; }
  std::uint64_t max() const { return total_ ? max_ : 0; }
  std::uint64_t min() const { return total_ ? min_ : 0; }
  double mean() const { return total_ ? static_cast<double>(sum_) / static_cast<double>(total_) : 0.0; }
  // The value at quantile q in [0, 1] (0.99 = p99): the midpoint of its bucket, clamped to the
  // recorded min and max.
  std::uint64_t percentile(double q) const;

 private:
  static std::size_t index_of(std::uint64_t v) {
    if (v < kSub) return static_cast<std::size_t>(v);
    int msb = 63 - __builtin_clzll(v);
    int shift = msb - kSubBits;
    std::uint64_t sub = (v >> shift) - kSub;  // 0..kSub-1
    return static_cast<std::size_t>((shift + 1) * kSub) + static_cast<std::size_t>(sub);
  }
  static std::uint64_t low_of(std::size_t idx, std::uint64_t& width) {
    if (idx < kSub) {
      width = 1;
      return idx;
    }
    int shift = static_cast<int>(idx / kSub) - 1;
    std::uint64_t sub = idx % kSub;
    width = std::uint64_t{1} << shift;
    return (kSub + sub) << shift;
  }

  std::array<std::uint64_t, static_cast<std::size_t>(kRanges) * kSub> counts_{};
  std::uint64_t total_ = 0;
  std::uint64_t sum_ = 0;
  std::uint64_t max_ = 0;
  std::uint64_t min_ = ~std::uint64_t{0};
};

inline std::uint64_t Histogram::percentile(double q) const {
  if (total_ == 0) return 0;
  if (q <= 0) return min();
  if (q >= 1) return max();
  auto rank = static_cast<std::uint64_t>(q * static_cast<double>(total_));
  if (rank >= total_) rank = total_ - 1;
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < counts_.size(); ++i) {
    seen += counts_[i];
    if (seen > rank) {
      std::uint64_t width;
      std::uint64_t low = low_of(i, width);
      std::uint64_t mid = low + width / 2;
      if (mid > max_) mid = max_;
      if (mid < min_) mid = min_;
      return mid;
    }
  }
  return max();
}

}  // namespace lf
