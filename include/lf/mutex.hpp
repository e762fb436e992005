// lf::Mutex, lf::MutexLock and lf::CondVar: std::mutex and std::condition_variable with the
// clang capability annotations that libstdc++ lacks, so -Wthread-safety can check LF_GUARDED_BY.
// Thread-safety: these are the synchronizers; use them as you would the std types they wrap.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>

#include "lf/thread_annotations.hpp"

namespace lf {

class LF_CAPABILITY("mutex") Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void lock() LF_ACQUIRE() { m_.lock(); }
  void unlock() LF_RELEASE() { m_.unlock(); }
  bool try_lock() LF_TRY_ACQUIRE(true) { return m_.try_lock(); }

  std::mutex& native() { return m_; }

 private:
  std::mutex m_;
};

// Scoped locking: holds `mu` for its lifetime; unlock()/lock() let a caller leave the monitor
// temporarily (as the thread sets do around blocking calls).
class LF_SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex& mu) LF_ACQUIRE(mu) : mu_(mu) { mu_.lock(); }
  ~MutexLock() LF_RELEASE() {
    if (held_) mu_.unlock();
  }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

  void unlock() LF_RELEASE() {
    mu_.unlock();
    held_ = false;
  }
  void lock() LF_ACQUIRE() {
    mu_.lock();
    held_ = true;
  }
  Mutex& mutex() { return mu_; }

 private:
  Mutex& mu_;
  bool held_ = true;
};

// A condition variable used with lf::Mutex. The caller must hold `mu` (checked by clang).
class CondVar {
 public:
  void wait(Mutex& mu) LF_REQUIRES(mu) {
    std::unique_lock<std::mutex> lk(mu.native(), std::adopt_lock);
    cv_.wait(lk);
    lk.release();
  }
  // Returns false on timeout.
  template <class Clock, class Dur>
  bool wait_until(Mutex& mu, std::chrono::time_point<Clock, Dur> deadline) LF_REQUIRES(mu) {
    std::unique_lock<std::mutex> lk(mu.native(), std::adopt_lock);
    bool ok = cv_.wait_until(lk, deadline) == std::cv_status::no_timeout;
    lk.release();
    return ok;
  }
  void notify_one() { cv_.notify_one(); }
  void notify_all() { cv_.notify_all(); }

 private:
  std::condition_variable cv_;
};

}  // namespace lf
