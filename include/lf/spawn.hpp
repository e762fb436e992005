// lf::spawn(fn, args...): starts a thread that runs fn(args...), where everything the new thread
// receives is lf::Sendable, so the only state two threads share is what the discipline allows
// (monitors, immutables) and everything else is either copied or handed over (Unique).
//
// What fn may be: a function (pointer), a lambda that captures nothing (an empty class), or a
// function object that is itself Sendable. A capturing lambda is refused even when its captures
// would be fine, because the compiler cannot see them; pass them as args instead, where each is
// checked. Args are decay-copied into the new thread (an lvalue is copied, an rvalue moved), and
// fn receives them as rvalues, so a parameter of type T& cannot bind: nothing arrives by
// reference. If fn's first parameter is a std::stop_token, it receives the thread's stop token.
//
// Thread-safety: lf::SpawnedThread is owned by the spawning thread, like std::jthread: one thread
// at a time may call its members. Its destructor requests a stop and joins.
#pragma once

#include <stop_token>
#include <thread>
#include <type_traits>
#include <utility>

#include "lf/sendable.hpp"

namespace lf {

class [[nodiscard]] SpawnedThread {
 public:
  SpawnedThread() = default;
  SpawnedThread(SpawnedThread&&) noexcept = default;
  // Joins the thread this handle held before taking the new one.
  SpawnedThread& operator=(SpawnedThread&&) noexcept = default;
  ~SpawnedThread() = default;  // std::jthread: request_stop(), then join()

  bool joinable() const { return t_.joinable(); }
  void join() {
    if (t_.joinable()) t_.join();
  }
  bool request_stop() { return t_.request_stop(); }
  std::thread::id get_id() const { return t_.get_id(); }

 private:
  template <class Fn, class... Args>
  friend SpawnedThread spawn(Fn&& fn, Args&&... args);
  explicit SpawnedThread(std::jthread t) : t_(std::move(t)) {}

  // No detach(): a thread that outlives its owner could outlive what it was given.
  std::jthread t_;
};

namespace detail {

template <class F>
inline constexpr bool kSpawnableFunction =
    (std::is_pointer_v<F> && std::is_function_v<std::remove_pointer_t<F>>) ||
    (std::is_class_v<F> && std::is_empty_v<F>) || Sendable<F>;

template <class F, class... Args>
inline constexpr bool kSpawnInvocable =
    std::is_invocable_v<F, Args...> || std::is_invocable_v<F, std::stop_token, Args...>;

}  // namespace detail

template <class Fn, class... Args>
SpawnedThread spawn(Fn&& fn, Args&&... args) {
  using F = std::decay_t<Fn>;
  static_assert(detail::kSpawnableFunction<F>,
                "lf::spawn: the function must be a function pointer, a lambda that captures "
                "nothing, or a Sendable function object; pass what it needs as arguments");
  static_assert((Sendable<std::decay_t<Args>> && ...),
                "lf::spawn: an argument is not lf::Sendable (only values, Immutable<T>, "
                "Unique<T> and std::shared_ptr to a monitor may cross threads)");
  constexpr bool kSendable =
      detail::kSpawnableFunction<F> && (Sendable<std::decay_t<Args>> && ...);
  static_assert(!kSendable || (std::is_constructible_v<std::decay_t<Args>, Args&&> && ...),
                "lf::spawn: an argument cannot be copied into the thread (move a Unique in with "
                "std::move)");
  constexpr bool kChecked =
      kSendable && (std::is_constructible_v<std::decay_t<Args>, Args&&> && ...);
  static_assert(!kChecked || detail::kSpawnInvocable<F, std::decay_t<Args>...>,
                "lf::spawn: the function cannot be called with these arguments (it receives "
                "them as rvalues, after an optional std::stop_token)");
  // Stop here after a failed check, so the diagnostic above is the only one.
  if constexpr (kChecked && detail::kSpawnInvocable<F, std::decay_t<Args>...>) {
    return SpawnedThread(std::jthread(std::forward<Fn>(fn), std::forward<Args>(args)...));
  } else {
    return SpawnedThread();
  }
}

}  // namespace lf
