// bench::Rng and bench::KeyChooser: the random numbers a simulated terminal draws (keys, flights,
// accounts, deltas, GET or SET).
//
// Rng is SplitMix64: 8 bytes of state, so each of 10,000 terminals can own one (a Mersenne
// twister would be 2.5 KB each) and runs are repeatable from --seed.
// ZipfGenerator draws ranks 0..n-1 with P(rank i) proportional to 1/(i+1)^theta, 0 < theta < 1,
// by Gray et al.'s closed-form method (the one YCSB uses): O(n) set-up to sum zeta(n, theta),
// O(1) per draw. Rank 0 is the hottest.
//
// Thread-safety: an Rng belongs to one terminal (one thread). A ZipfGenerator and a KeyChooser
// are immutable after construction and may be shared by every thread; they take the caller's Rng.
#pragma once

#include <cstdint>
#include <string>

#include "lf/status.hpp"

namespace bench {

class Rng {
 public:
  explicit Rng(std::uint64_t seed = 0) : state_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n); n > 0. The multiply-shift keeps the bias below 2^-64 * n.
  std::uint64_t below(std::uint64_t n) {
    __extension__ using U128 = unsigned __int128;  // __extension__: -Wpedantic knows it is meant
    return static_cast<std::uint64_t>((static_cast<U128>(next()) * n) >> 64);
  }
  // Uniform in [0, 1).
  double unit() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

 private:
  std::uint64_t state_;
};

// A seed for terminal `index` of a run seeded with `seed`: distinct streams per terminal.
inline std::uint64_t terminal_seed(std::uint64_t seed, std::uint64_t index) {
  Rng r(seed ^ (index * 0xD1B54A32D192ED03ull));
  return r.next();
}

class ZipfGenerator {
 public:
  // n >= 1, 0 < theta < 1 (checked by the caller; see KeyChooser::create).
  ZipfGenerator(std::uint64_t n, double theta);
  std::uint64_t next(Rng& rng) const;
  std::uint64_t n() const { return n_; }
  double theta() const { return theta_; }
  // zeta(n, theta) = sum_{i=1..n} 1/i^theta: the normalizer, exposed for tests.
  double zeta_n() const { return zeta_n_; }
  static double zeta(std::uint64_t n, double theta);

 private:
  std::uint64_t n_;
  double theta_;
  double zeta_n_;
  double zeta_2_;
  double alpha_;
  double eta_;
};

enum class Distribution { kUniform, kZipf };

// Picks an index in [0, n) uniformly or by Zipf's law.
class KeyChooser {
 public:
  static lf::Result<KeyChooser> create(std::uint64_t n, Distribution dist, double theta);
  std::uint64_t next(Rng& rng) const {
    return dist_ == Distribution::kZipf ? zipf_.next(rng) : rng.below(n_);
  }
  std::uint64_t size() const { return n_; }

 private:
  KeyChooser(std::uint64_t n, Distribution dist, double theta)
      : n_(n), dist_(dist), zipf_(dist == Distribution::kZipf ? n : 1, dist == Distribution::kZipf ? theta : 0.5) {}
  std::uint64_t n_;
  Distribution dist_;
  ZipfGenerator zipf_;
};

}  // namespace bench
