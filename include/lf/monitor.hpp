// lf::Monitor<T>: a T that threads share, reachable only under the monitor's own lock. It is the
// one kind of shared *mutable* object the message-passing discipline allows (see sendable.hpp and
// docs/message_passing.md): a work queue, a mailbox, an in-progress list that two threads consult.
//
// Thread-safety: every member may be called from any thread. The guarded T is never handed out
// outside a call: with(fn) runs fn(T&) with the lock held, and the waiting calls block on the
// monitor's condition variable until a predicate on T holds, then run fn under the same lock.
// fn must not keep a pointer or reference to the T past its return (with() refuses to return
// one), and must not call back into the same monitor (the lock is not recursive).
//
// Threads share a monitor through std::shared_ptr<Monitor<T>> (make_monitor), the only
// shared_ptr-to-mutable that lf::Sendable admits.
#pragma once

#include <chrono>
#include <concepts>
#include <functional>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

#include "lf/mutex.hpp"
#include "lf/thread_annotations.hpp"

namespace lf {

namespace detail {

// The result of a waiting call with a deadline: for a void fn, whether it ran; otherwise its
// result, or nothing when the deadline passed first. Both test as false on timeout.
template <class R>
using WaitResult = std::conditional_t<std::is_void_v<R>, bool, std::optional<R>>;

template <class R>
inline constexpr bool kReturnsByValue = !std::is_reference_v<R> && !std::is_pointer_v<R>;

}  // namespace detail

template <class T>
class Monitor final {
 public:
  // Marks the type as a monitor for lf::Sendable: a shared_ptr to it may cross threads.
  using sendable_monitor = void;

  template <class... Args>
    requires std::constructible_from<T, Args&&...>
  explicit Monitor(Args&&... args) : value_(std::forward<Args>(args)...) {}

  Monitor(const Monitor&) = delete;
  Monitor& operator=(const Monitor&) = delete;

  // Runs fn(T&) under the lock and returns what it returns.
  template <class Fn>
  std::invoke_result_t<Fn, T&> with(Fn&& fn) LF_EXCLUDES(mu_) {
    static_assert(detail::kReturnsByValue<std::invoke_result_t<Fn, T&>>,
                  "lf::Monitor::with: fn must return by value; a pointer or reference into the "
                  "guarded object would let the caller reach it without the lock");
    MutexLock lock(mu_);
    return std::invoke(std::forward<Fn>(fn), value_);
  }
  template <class Fn>
  std::invoke_result_t<Fn, const T&> with(Fn&& fn) const LF_EXCLUDES(mu_) {
    static_assert(detail::kReturnsByValue<std::invoke_result_t<Fn, const T&>>,
                  "lf::Monitor::with: fn must return by value; a pointer or reference into the "
                  "guarded object would let the caller reach it without the lock");
    MutexLock lock(mu_);
    return std::invoke(std::forward<Fn>(fn), value_);
  }

  // with(fn), then a notification before the lock is released. Notifying under the lock lets a
  // waiter that consumes the change destroy the monitor at once: by the time it can take the
  // lock, this thread no longer touches the monitor.
  template <class Fn>
  std::invoke_result_t<Fn, T&> with_notify_one(Fn&& fn) LF_EXCLUDES(mu_) {
    return with_notify(std::forward<Fn>(fn), false);
  }
  template <class Fn>
  std::invoke_result_t<Fn, T&> with_notify_all(Fn&& fn) LF_EXCLUDES(mu_) {
    return with_notify(std::forward<Fn>(fn), true);
  }

  // Blocks until pred(const T&) holds, then runs fn(T&) without releasing the lock in between,
  // so fn sees the state pred approved. Waiters are woken by notify_*() or with_notify_*().
  template <class Pred, class Fn>
  std::invoke_result_t<Fn, T&> wait_until(Pred&& pred, Fn&& fn) LF_EXCLUDES(mu_) {
    static_assert(detail::kReturnsByValue<std::invoke_result_t<Fn, T&>>,
                  "lf::Monitor::wait_until: fn must return by value");
    MutexLock lock(mu_);
    while (!std::invoke(pred, std::as_const(value_))) cv_.wait(mu_);
    return std::invoke(std::forward<Fn>(fn), value_);
  }

  // As above, but gives up at `deadline`: returns false / std::nullopt without running fn.
  template <class Clock, class Dur, class Pred, class Fn>
  detail::WaitResult<std::invoke_result_t<Fn, T&>> wait_until(
      std::chrono::time_point<Clock, Dur> deadline, Pred&& pred, Fn&& fn) LF_EXCLUDES(mu_) {
    using R = std::invoke_result_t<Fn, T&>;
    static_assert(detail::kReturnsByValue<R>, "lf::Monitor::wait_until: fn must return by value");
    MutexLock lock(mu_);
    bool ready = std::invoke(pred, std::as_const(value_));
    while (!ready) {
      bool woken = cv_.wait_until(mu_, deadline);
      // Checked even after a timeout: a change that raced with the deadline still counts, so a
      // notify_one absorbed by a waiter that was timing out is never lost.
      ready = std::invoke(pred, std::as_const(value_));
      if (!woken) break;
    }
    if (!ready) return detail::WaitResult<R>{};
    if constexpr (std::is_void_v<R>) {
      std::invoke(std::forward<Fn>(fn), value_);
      return true;
    } else {
      return detail::WaitResult<R>(std::in_place, std::invoke(std::forward<Fn>(fn), value_));
    }
  }

  template <class Rep, class Period, class Pred, class Fn>
  detail::WaitResult<std::invoke_result_t<Fn, T&>> wait_for(
      std::chrono::duration<Rep, Period> timeout, Pred&& pred, Fn&& fn) LF_EXCLUDES(mu_) {
    return wait_until(std::chrono::steady_clock::now() + timeout, std::forward<Pred>(pred),
                      std::forward<Fn>(fn));
  }

  // Wake waiters after a change made through with(). Safe without the lock; prefer
  // with_notify_*() when a woken waiter may destroy the monitor.
  void notify_one() { cv_.notify_one(); }
  void notify_all() { cv_.notify_all(); }

 private:
  template <class Fn>
  std::invoke_result_t<Fn, T&> with_notify(Fn&& fn, bool all) LF_EXCLUDES(mu_) {
    static_assert(detail::kReturnsByValue<std::invoke_result_t<Fn, T&>>,
                  "lf::Monitor::with: fn must return by value; a pointer or reference into the "
                  "guarded object would let the caller reach it without the lock");
    MutexLock lock(mu_);
    // Notify on every exit path, including a void fn, after fn has made its change.
    struct Notifier {
      CondVar& cv;
      bool all;
      ~Notifier() { all ? cv.notify_all() : cv.notify_one(); }
    } notifier{cv_, all};
    return std::invoke(std::forward<Fn>(fn), value_);
  }

  mutable Mutex mu_;
  CondVar cv_;
  T value_ LF_GUARDED_BY(mu_);
};

// The shared handle to a monitor that may cross threads.
template <class T, class... Args>
std::shared_ptr<Monitor<T>> make_monitor(Args&&... args) {
  return std::make_shared<Monitor<T>>(std::forward<Args>(args)...);
}

}  // namespace lf
