// Helpers shared by the hue scheduler tests: a conflict oracle that checks every pair of running
// invocations against the matrix itself, and bounded waits that fail a test instead of hanging.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "lf/hue.hpp"

namespace hue_test {

#if defined(LF_SANITIZED)
inline constexpr int kScale = 2;  // sanitizers slow everything ~10x; keep the suites short
#else
inline constexpr int kScale = 4;
#endif

// Spins (yielding) until pred() or the deadline; returns pred()'s last value.
template <class Pred>
bool wait_for(Pred pred, std::chrono::milliseconds limit = std::chrono::seconds(20)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return pred();
    std::this_thread::yield();
  }
  return true;
}

// Records which invocations are inside their task and fails the test when two that the matrix
// says must not overlap ever do. Its own mutex only guards the bookkeeping; the tasks' bodies
// still overlap freely between enter() and leave().
class Oracle {
 public:
  explicit Oracle(const lf::hue::HueMatrix& m) : m_(m) {}

  struct Running {
    std::uint64_t token;
    lf::hue::HueId hue;
    std::vector<std::uint32_t> colors;
  };

  std::uint64_t enter(lf::hue::HueId hue, std::vector<std::uint32_t> colors) {
    std::lock_guard<std::mutex> l(mu_);
    for (const Running& r : running_) {
      const std::uint8_t bits = m_.bits(hue, r.hue);
      bool clash = (bits & lf::hue::kGlobalConflict) != 0;
      if (!clash && (bits & lf::hue::kContextConflict) != 0) {
        for (std::uint32_t c : colors) {
          if (std::find(r.colors.begin(), r.colors.end(), c) != r.colors.end()) clash = true;
        }
      }
      if (clash) {
        violations_.fetch_add(1);
        if (first_.empty()) first_ = m_.explain(hue, r.hue);
      }
    }
    const std::uint64_t token = next_++;
    running_.push_back(Running{token, hue, std::move(colors)});
    max_running_ = std::max(max_running_, running_.size());
    return token;
  }

  void leave(std::uint64_t token) {
    std::lock_guard<std::mutex> l(mu_);
    auto it = std::find_if(running_.begin(), running_.end(),
                           [token](const Running& r) { return r.token == token; });
    ASSERT_NE(it, running_.end());
    running_.erase(it);
  }

  int violations() const { return violations_.load(); }
  std::string first_violation() {
    std::lock_guard<std::mutex> l(mu_);
    return first_;
  }
  std::size_t max_running() {
    std::lock_guard<std::mutex> l(mu_);
    return max_running_;
  }

 private:
  const lf::hue::HueMatrix& m_;
  std::mutex mu_;
  std::vector<Running> running_;
  std::uint64_t next_ = 0;
  std::size_t max_running_ = 0;
  std::string first_;
  std::atomic<int> violations_{0};
};

}  // namespace hue_test
