// lf::Elected: elects one thread, among many that call try_elect() at once, to do a special task
// for all of them (the durability flush, an expiry cycle, draining a color's queue, a stats
// roll-up). The winner holds an ElectedGuard; every loser gets an empty guard and returns at once.
//
// Progress: try_elect() is one compare-and-swap: wait-free population oblivious. A caller's
// progress is that of its own work; it never waits for the elected thread.
// NOT fault tolerant: if the elected thread blocks forever or dies while holding the guard, no
// other thread is ever elected again. Keep the elected task finite and non-blocking where you can.
// After releasing, an elected thread must re-check for work that arrived while it was elected
// and, if there is some, try_elect() again: a loser that enqueued work and returned relies on
// the winner to see it. Elected has no call for this; the caller's loop does it (the log's
// group-commit flush, a color's drain).
#pragma once

#include <atomic>
#include <cstdint>

namespace lf {

class Elected;

class [[nodiscard]] ElectedGuard {
 public:
  ElectedGuard() = default;
  ElectedGuard(ElectedGuard&& o) noexcept : e_(o.e_) { o.e_ = nullptr; }
  ElectedGuard& operator=(ElectedGuard&& o) noexcept;
  ElectedGuard(const ElectedGuard&) = delete;
  ElectedGuard& operator=(const ElectedGuard&) = delete;
  ~ElectedGuard() { release(); }

  explicit operator bool() const { return e_ != nullptr; }
  bool elected() const { return e_ != nullptr; }
  void release();

 private:
  friend class Elected;
  explicit ElectedGuard(Elected* e) : e_(e) {}
  Elected* e_ = nullptr;
};

class Elected {
 public:
  Elected() = default;
  Elected(const Elected&) = delete;
  Elected& operator=(const Elected&) = delete;

  // One CAS. Returns a holding guard to exactly one of any set of concurrent callers.
  ElectedGuard try_elect() {
    bool expected = false;
    if (busy_.compare_exchange_strong(expected, true, std::memory_order_acquire,
                                      std::memory_order_relaxed)) {
      return ElectedGuard(this);
    }
    return ElectedGuard();
  }
  bool busy() const { return busy_.load(std::memory_order_acquire); }
  // Number of successful elections so far (statistics).
  std::uint64_t elections() const { return elections_.load(std::memory_order_relaxed); }

 private:
  friend class ElectedGuard;
  void release() {
    elections_.fetch_add(1, std::memory_order_relaxed);
    busy_.store(false, std::memory_order_release);
  }
  std::atomic<bool> busy_{false};
  std::atomic<std::uint64_t> elections_{0};
};

inline void ElectedGuard::release() {
  if (e_ != nullptr) {
    e_->release();
    e_ = nullptr;
  }
}

inline ElectedGuard& ElectedGuard::operator=(ElectedGuard&& o) noexcept {
  if (this != &o) {
    release();
    e_ = o.e_;
    o.e_ = nullptr;
  }
  return *this;
}

}  // namespace lf
