// lf::detail::RingQueue<T>: the FIFO behind lf::Mailbox. A growable ring buffer: once it has
// grown to the backlog its receiver usually has, pushing and popping allocate nothing, which a
// std::deque (which frees and re-allocates a block every few hundred messages) does not give.
// A burst past kKeepCapacity is given back when the queue next empties: kept, one second's lag
// of lfdb's replication dispatcher (a message per write) held 8,192 slots (320 KB) for good,
// which used_memory then counted against maxmemory for the rest of the process's life.
//
// Thread-safety: none; the Mailbox keeps it inside a Monitor.
#pragma once

#include <cstddef>
#include <memory>
#include <utility>

#include "lf/status.hpp"

namespace lf::detail {

template <class T>
class RingQueue {
 public:
  RingQueue() = default;
  RingQueue(const RingQueue&) = delete;
  RingQueue& operator=(const RingQueue&) = delete;
  ~RingQueue() {
    while (size_ > 0) pop_front();
    if (slots_ != nullptr) std::allocator<T>().deallocate(slots_, cap_);
  }

  bool empty() const { return size_ == 0; }
  std::size_t size() const { return size_; }
  std::size_t capacity() const { return cap_; }

  template <class... Args>
  void emplace_back(Args&&... args) {
    if (size_ == cap_) grow();
    std::construct_at(slots_ + ((head_ + size_) & (cap_ - 1)), std::forward<Args>(args)...);
    ++size_;
  }

  T pop_front() {
    LF_CHECK(size_ > 0);
    T* slot = slots_ + head_;
    T value = std::move(*slot);
    std::destroy_at(slot);
    head_ = (head_ + 1) & (cap_ - 1);
    --size_;
    if (size_ == 0 && cap_ > kKeepCapacity) release();
    return value;
  }

 private:
  // Capacity stays a power of two so wrapping is a mask.
  void grow() {
    std::size_t new_cap = cap_ == 0 ? kInitialCapacity : cap_ * 2;
    T* fresh = std::allocator<T>().allocate(new_cap);
    for (std::size_t i = 0; i < size_; ++i) {
      T* from = slots_ + ((head_ + i) & (cap_ - 1));
      std::construct_at(fresh + i, std::move(*from));
      std::destroy_at(from);
    }
    if (slots_ != nullptr) std::allocator<T>().deallocate(slots_, cap_);
    slots_ = fresh;
    cap_ = new_cap;
    head_ = 0;
  }

  void release() {
    std::allocator<T>().deallocate(slots_, cap_);
    slots_ = nullptr;
    cap_ = 0;
    head_ = 0;
  }

  static constexpr std::size_t kInitialCapacity = 16;
  static constexpr std::size_t kKeepCapacity = 64;

  T* slots_ = nullptr;
  std::size_t cap_ = 0;
  std::size_t head_ = 0;
  std::size_t size_ = 0;
};

}  // namespace lf::detail
