#include "bench/random.hpp"

#include <cmath>

namespace bench {

double ZipfGenerator::zeta(std::uint64_t n, double theta) {
  double sum = 0;
  for (std::uint64_t i = 1; i <= n; ++i) sum += 1.0 / std::pow(static_cast<double>(i), theta);
  return sum;
}

ZipfGenerator::ZipfGenerator(std::uint64_t n, double theta)
    : n_(n), theta_(theta), zeta_n_(zeta(n, theta)), zeta_2_(zeta(2, theta)) {
  alpha_ = 1.0 / (1.0 - theta_);
  // With n <= 2 every draw is decided by the exact branches in next(); eta would divide by 0.
  eta_ = n_ <= 2 ? 0.0
                 : (1.0 - std::pow(2.0 / static_cast<double>(n_), 1.0 - theta_)) / (1.0 - zeta_2_ / zeta_n_);
}

std::uint64_t ZipfGenerator::next(Rng& rng) const {
  if (n_ <= 1) return 0;
  // Ranks 0 and 1 are taken exactly from their probabilities; the rest from the continuous
  // approximation of the inverse CDF.
  double u = rng.unit();
  double uz = u * zeta_n_;
  if (uz < 1.0) return 0;
  if (uz < 1.0 + std::pow(0.5, theta_)) return 1;
  auto r = static_cast<std::uint64_t>(static_cast<double>(n_) * std::pow(eta_ * u - eta_ + 1.0, alpha_));
  return r >= n_ ? n_ - 1 : r;
}

lf::Result<KeyChooser> KeyChooser::create(std::uint64_t n, Distribution dist, double theta) {
  if (n == 0) return lf::Status::error("the key space must hold at least one key");
  if (dist == Distribution::kZipf && !(theta > 0.0 && theta < 1.0)) {
    return lf::Status::error("--zipf-theta must be in (0, 1), e.g. 0.99");
  }
  return KeyChooser(n, dist, theta);
}

}  // namespace bench
