// lf::hue::Task: the move-only `void()` callable that the hue scheduler runs. It keeps callables of
// up to kInlineSize bytes (a lambda capturing a few pointers, a connection handle and a small
// argument view) inside the object, so submitting a typical handler invocation does not allocate;
// larger callables, or ones whose move constructor may throw, go to the heap.
//
// Why not std::function: it requires copyable callables (a task usually owns a buffer or a
// continuation) and its small buffer is too small in libstdc++ (16 bytes) to hold a handler's
// captures. Why not std::move_only_function: it is C++23, absent from g++-12's library.
//
// Thread-safety: a value. One thread at a time may use a given Task; moving it hands it over.
// Invoking an empty Task is a bug (LF_CHECK). A callable that throws terminates the process: no
// exception crosses liblf's API or a request path.
#pragma once

#include <cstddef>
#include <new>
#include <type_traits>
#include <utility>

#include "lf/status.hpp"

namespace lf::hue {

class Task {
 public:
  static constexpr std::size_t kInlineSize = 48;

  Task() noexcept = default;

  // Implicit on purpose: submit(hue, hash, [..] { ... }) reads best without a wrapper.
  template <class F>
    requires(!std::is_same_v<std::remove_cvref_t<F>, Task> &&
             std::is_invocable_r_v<void, std::decay_t<F>&>)
  Task(F&& f) noexcept {  // NOLINT(google-explicit-constructor)
    using Fn = std::decay_t<F>;
    if constexpr (fits_inline<Fn>()) {
      ::new (static_cast<void*>(buf_)) Fn(std::forward<F>(f));
      ops_ = &kInlineOps<Fn>;
    } else {
      // Allocation failure terminates (noexcept): a request path has no one to report it to.
      Fn* heap = new Fn(std::forward<F>(f));
      ::new (static_cast<void*>(buf_)) Fn*(heap);
      ops_ = &kHeapOps<Fn>;
    }
  }

  Task(Task&& other) noexcept { take(other); }
  Task& operator=(Task&& other) noexcept {
    if (this != &other) {
      reset();
      take(other);
    }
    return *this;
  }
  Task(const Task&) = delete;
  Task& operator=(const Task&) = delete;
  ~Task() { reset(); }

  explicit operator bool() const noexcept { return ops_ != nullptr; }

  // True when the callable lives in the object itself (no heap allocation was made for it).
  bool is_inline() const noexcept { return ops_ != nullptr && ops_->inline_storage; }

  void operator()() noexcept {
    LF_CHECK_MSG(ops_ != nullptr, "invoking an empty lf::hue::Task");
    ops_->invoke(buf_);
  }

  // Destroys the callable (and what it captured) now rather than when the Task dies.
  void reset() noexcept {
    if (ops_ != nullptr) {
      ops_->destroy(buf_);
      ops_ = nullptr;
    }
  }

 private:
  struct Ops {
    void (*invoke)(void* storage);
    // Move-constructs into `dst` from `src` and destroys `src` (a relocation).
    void (*relocate)(void* dst, void* src) noexcept;
    void (*destroy)(void* storage) noexcept;
    bool inline_storage;
  };

  template <class Fn>
  static constexpr bool fits_inline() {
    return sizeof(Fn) <= kInlineSize && alignof(Fn) <= alignof(std::max_align_t) &&
           std::is_nothrow_move_constructible_v<Fn>;
  }

  template <class Fn>
  static Fn* inline_ptr(void* storage) noexcept {
    return std::launder(static_cast<Fn*>(storage));
  }
  template <class Fn>
  static Fn*& heap_ptr(void* storage) noexcept {
    return *std::launder(static_cast<Fn**>(storage));
  }

  template <class Fn>
  static constexpr Ops kInlineOps{
      [](void* s) { (*inline_ptr<Fn>(s))(); },
      [](void* dst, void* src) noexcept {
        Fn* from = inline_ptr<Fn>(src);
        ::new (dst) Fn(std::move(*from));
        from->~Fn();
      },
      [](void* s) noexcept { inline_ptr<Fn>(s)->~Fn(); },
      true,
  };

  template <class Fn>
  static constexpr Ops kHeapOps{
      [](void* s) { (*heap_ptr<Fn>(s))(); },
      [](void* dst, void* src) noexcept { ::new (dst) Fn*(heap_ptr<Fn>(src)); },
      [](void* s) noexcept { delete heap_ptr<Fn>(s); },
      false,
  };

  void take(Task& other) noexcept {
    if (other.ops_ != nullptr) {
      other.ops_->relocate(buf_, other.buf_);
      ops_ = other.ops_;
      other.ops_ = nullptr;
    }
  }

  alignas(std::max_align_t) unsigned char buf_[kInlineSize];
  const Ops* ops_ = nullptr;
};

}  // namespace lf::hue
