// lf::Unique<T>: sole ownership of a T that moves from thread to thread. Sending a Unique (through
// a Mailbox or to lf::spawn) moves it, so the sender is left empty and only one thread can reach
// the T at a time; that is what lets the T go unsynchronized. Large messages (a batch of file
// names, a buffer) travel this way without being copied.
//
// Thread-safety: none needed, by construction: the T is visible to one owner at a time. The
// owner must not keep pointers into the T after giving it away (operator-> cannot stop that), and
// the T should not itself alias shared state; those are the promises a Unique stands for.
// Reaching through an empty Unique is a bug and fails an LF_CHECK.
#pragma once

#include <memory>
#include <type_traits>
#include <utility>

#include "lf/status.hpp"

namespace lf {

template <class T>
class Unique {
  static_assert(std::is_object_v<T> && !std::is_array_v<T>,
                "lf::Unique<T>: T must be a single object type");

 public:
  // Adopts `p`; a null p gives an empty Unique.
  explicit Unique(std::unique_ptr<T> p) noexcept : p_(std::move(p)) {}

  Unique(Unique&&) noexcept = default;
  Unique& operator=(Unique&&) noexcept = default;
  Unique(const Unique&) = delete;
  Unique& operator=(const Unique&) = delete;

  bool empty() const { return p_ == nullptr; }
  explicit operator bool() const { return p_ != nullptr; }

  T& operator*() { return *checked(); }
  const T& operator*() const { return *checked(); }
  T* operator->() { return checked(); }
  const T* operator->() const { return checked(); }

  // Moves the T out, leaving this Unique empty: for a receiver that wants a plain local.
  T take() {
    T value = std::move(*checked());
    p_.reset();
    return value;
  }
  // Gives up the discipline's guarantee: the caller owns the T outright.
  std::unique_ptr<T> release() && {
    LF_CHECK_MSG(p_ != nullptr, "lf::Unique::release on an empty Unique");
    return std::move(p_);
  }

 private:
  T* checked() const {
    LF_CHECK_MSG(p_ != nullptr, "access through an empty lf::Unique (was it moved away?)");
    return p_.get();
  }

  std::unique_ptr<T> p_;
};

// Aggregates are brace-initialized, since clang 14 lacks C++20's T(args...) for them.
template <class T, class... Args>
Unique<T> make_unique_msg(Args&&... args) {
  if constexpr (std::is_constructible_v<T, Args&&...>) {
    return Unique<T>(std::make_unique<T>(std::forward<Args>(args)...));
  } else {
    return Unique<T>(std::unique_ptr<T>(new T{std::forward<Args>(args)...}));
  }
}

}  // namespace lf
