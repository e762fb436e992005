// Internals of lf::hue::Scheduler shared by hue_scheduler.cpp and hue_global.cpp. Not installed.
//
// Each color has one 64-bit state word, changed only by atomic read-modify-writes:
//   bits  0..18  readers: invocations holding the color's context for reading
//   bit   19     writer:  an invocation holds it for writing
//   bits 20..31  occupants: invocations that passed this color's queue but have not started yet
//                (a multi-color invocation waiting for a later color, a global one waiting in the
//                global queue); while any exists the queue does not advance, which keeps start
//                order equal to submission order on the color
//   bits 32..63  queued: invocations in the color's queue (counted before they are pushed, so a
//                submitter that sees zero knows nobody is ahead of it)
// A submitter runs inline only when queued and occupants are zero and the hold it needs is
// compatible; otherwise it enqueues. The queue's head is admitted by the color's elected drainer.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <vector>

#include "lf/elected.hpp"
#include "lf/hue.hpp"
#include "lf/thread_annotations.hpp"

namespace lf::hue::detail {

inline constexpr std::uint64_t kReaderOne = 1;
inline constexpr std::uint64_t kReaderMask = (1ull << 19) - 1;
inline constexpr std::uint64_t kWriterBit = 1ull << 19;
inline constexpr std::uint64_t kOccupantOne = 1ull << 20;
inline constexpr std::uint64_t kOccupantMask = 0xfffull << 20;
inline constexpr std::uint64_t kQueuedOne = 1ull << 32;
inline constexpr std::uint64_t kWorldBit = 1ull << 63;  // "every global": undeclared hues write it

inline std::uint64_t queued_of(std::uint64_t s) { return s >> 32; }
inline bool has_occupants(std::uint64_t s) { return (s & kOccupantMask) != 0; }

// The scheduler's view of one hue, derived once from the matrix.
struct HueRuntime {
  RunClass cls = RunClass::kFree;  // kFree, kColor or kGlobal
  Access mode = Access::kNone;     // hold on each color; kNone when no context bit with anyone
  std::uint64_t reserve_mask = 0;  // kColor: contended globals read (+ kWorldBit)
  std::uint64_t write_mask = 0;    // kGlobal: globals written (kWorldBit when undeclared)
};

inline std::uint64_t hold_of(Access mode) {
  return mode == Access::kWrite ? kWriterBit : mode == Access::kRead ? kReaderOne : 0;
}

inline bool compatible(std::uint64_t s, Access mode) {
  switch (mode) {
    case Access::kNone:
      return true;
    case Access::kRead:
      return (s & kWriterBit) == 0;
    case Access::kWrite:
      return (s & (kWriterBit | kReaderMask)) == 0;
  }
  return false;
}

// lf::Elected as a clang capability, so fields only the elected drainer touches can say so with
// LF_GUARDED_BY and -Wthread-safety checks it. try_acquire() never waits.
class LF_CAPABILITY("drain role") DrainRole {
 public:
  // The guard lives in the caller's frame, not in the role: the next winner may be elected the
  // moment this one releases, while this thread is still clearing its guard.
  bool try_acquire(ElectedGuard& guard) LF_TRY_ACQUIRE(true) {
    guard = elected_.try_elect();
    return guard.elected();
  }
  void release(ElectedGuard& guard) LF_RELEASE() { guard.release(); }
  std::uint64_t elections() const { return elected_.elections(); }

 private:
  Elected elected_;
};

// The link of Vyukov's intrusive multi-producer single-consumer queue.
struct QueueNode {
  std::atomic<QueueNode*> next{nullptr};
};

// The colors an invocation needs, ascending, without duplicates. Up to kInline stay inline.
class ColorSet {
 public:
  static constexpr std::uint32_t kInline = 4;
  void assign(const std::uint32_t* colors, std::uint32_t n) {
    n_ = n;
    if (n <= kInline) {
      for (std::uint32_t i = 0; i < n; ++i) inline_[i] = colors[i];
    } else {
      heap_.assign(colors, colors + n);
    }
  }
  const std::uint32_t* data() const { return n_ <= kInline ? inline_ : heap_.data(); }
  std::uint32_t size() const { return n_; }
  std::uint32_t operator[](std::uint32_t i) const { return data()[i]; }

 private:
  std::uint32_t n_ = 0;
  std::uint32_t inline_[kInline] = {};
  std::vector<std::uint32_t> heap_;
};

// One queued invocation. Owned by whichever stage holds it (a color queue, the global queue, a
// thread's ready list); handed between threads only through those stages' synchronization.
struct Invocation : QueueNode {
  Invocation* ready_next = nullptr;  // the running thread's ready list
  Scheduler* sched = nullptr;
  Task task;
  HueId hue = 0;
  RunClass cls = RunClass::kColor;
  std::uint32_t stage = 0;  // index of the next color to pass; size() when all are passed
  ColorSet colors;
  std::chrono::steady_clock::time_point queued_at;
};

// Shared by every thread submitting on the color. Everything is an atomic (the color takes no
// lock) except tail and front, which only the thread holding `role` touches.
struct alignas(64) Color {
  Color() : head(&stub) {}

  // Hot: touched by every invocation on this color.
  std::atomic<std::uint64_t> state{0};
  std::atomic<std::uint64_t> started[kRunClasses] = {};  // by home color; monotonic
  std::atomic<std::uint64_t> finished{0};

  // The queue. Producers exchange head; only the elected drainer pops.
  std::atomic<QueueNode*> head;
  DrainRole role;
  std::atomic<bool> need_drain{false};
  QueueNode* tail LF_GUARDED_BY(role) = &stub;
  Invocation* front LF_GUARDED_BY(role) = nullptr;  // popped, not yet admitted
  QueueNode stub;

  // Statistics of the slow paths, by home color.
  std::atomic<std::uint64_t> queued_runs[kRunClasses] = {};
  std::atomic<std::uint64_t> wait_ns_total[kRunClasses] = {};
  std::atomic<std::uint64_t> wait_ns_max[kRunClasses] = {};
  std::atomic<std::uint64_t> max_depth{0};
  std::atomic<std::uint64_t> gate_waits{0};

  void push(QueueNode* n) {
    n->next.store(nullptr, std::memory_order_relaxed);
    QueueNode* prev = head.exchange(n, std::memory_order_acq_rel);
    prev->next.store(n, std::memory_order_release);
  }

  // Returns the oldest node, or nullptr when the queue is empty or a producer is between its
  // exchange and its link (that producer kicks the drainer once it has linked).
  QueueNode* pop() LF_REQUIRES(role) {
    QueueNode* t = tail;
    QueueNode* next = t->next.load(std::memory_order_acquire);
    if (t == &stub) {
      if (next == nullptr) return nullptr;
      tail = next;
      t = next;
      next = next->next.load(std::memory_order_acquire);
    }
    if (next != nullptr) {
      tail = next;
      return t;
    }
    if (t != head.load(std::memory_order_acquire)) return nullptr;
    push(&stub);
    next = t->next.load(std::memory_order_acquire);
    if (next != nullptr) {
      tail = next;
      return t;
    }
    return nullptr;
  }
};

inline void record_max(std::atomic<std::uint64_t>& m, std::uint64_t v) {
  std::uint64_t cur = m.load(std::memory_order_relaxed);
  while (v > cur && !m.compare_exchange_weak(cur, v, std::memory_order_relaxed)) {
  }
}

}  // namespace lf::hue::detail
