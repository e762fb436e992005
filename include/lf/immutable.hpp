// lf::Immutable<T>: a T that nobody changes after it is made, shared by any number of threads
// without locking (a script's header, a configuration, a sealed log segment's index). Copying an
// Immutable shares the same T; the T lives until the last copy goes.
//
// Thread-safety: all access is const, and the reference count is atomic, so copies may be made,
// read and dropped from any thread at once. An Immutable is never empty: moving one copies the
// handle, so even a moved-from Immutable still reads the T. It is as immutable as T's const
// interface: a T with `mutable` members, or holding pointers to mutable data, breaks the promise.
#pragma once

#include <memory>
#include <type_traits>
#include <utility>

#include "lf/status.hpp"
#include "lf/unique.hpp"

namespace lf {

template <class T>
class Immutable {
  static_assert(std::is_object_v<T> && !std::is_array_v<T>,
                "lf::Immutable<T>: T must be a single object type");

 public:
  // Declaring only the copy operations makes a move a copy, which keeps the never-empty invariant.
  Immutable(const Immutable&) = default;
  Immutable& operator=(const Immutable&) = default;

  const T& operator*() const { return *p_; }
  const T* operator->() const { return p_.get(); }
  const T& get() const { return *p_; }

  // How many Immutable handles share this T (for tests and statistics; racy by nature).
  long use_count() const { return p_.use_count(); }

 private:
  template <class U, class... Args>
  friend Immutable<U> make_immutable(Args&&... args);
  template <class U>
  friend Immutable<U> freeze(Unique<U> owned);

  explicit Immutable(std::shared_ptr<const T> p) : p_(std::move(p)) {
    LF_CHECK_MSG(p_ != nullptr, "lf::Immutable made from nothing");
  }

  std::shared_ptr<const T> p_;
};

// Aggregates are brace-initialized, since clang 14 lacks C++20's T(args...) for them.
template <class T, class... Args>
Immutable<T> make_immutable(Args&&... args) {
  if constexpr (std::is_constructible_v<T, Args&&...>) {
    return Immutable<T>(std::make_shared<T>(std::forward<Args>(args)...));
  } else {
    return Immutable<T>(std::make_shared<T>(T{std::forward<Args>(args)...}));
  }
}

// Publishes a T that was built privately: the Unique gives up its T, which can no longer change.
template <class T>
Immutable<T> freeze(Unique<T> owned) {
  return Immutable<T>(std::shared_ptr<const T>(std::move(owned).release()));
}

}  // namespace lf
