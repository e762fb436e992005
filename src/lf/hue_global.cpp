// lf::hue::Scheduler, global stage: invocations that write a global (or are undeclared), and the
// reservations by which colored invocations keep them out.
//
// A colored invocation only ever reads globals. Before it runs it adds one to its home color's
// counter for each contended global it reads (a reservation), then looks at gate_; a writer sets
// its bits in gate_, then sums the counters of the globals it writes over all colors. Both sides
// use seq_cst, so (the classic Dekker argument) at least one of them sees the other: either the
// reader sees the gate and backs off into its queue, or the writer sees the reservation and
// waits; the reader's release then sees the gate and kicks the global drainer. Readers thus share
// nothing but their own color's cache line on the fast path; the writer pays a scan of all colors,
// which is what FLUSHALL-like commands can afford.
//
// Writers wait in one FIFO (gqueue_) under gmu_, already holding their colors. A waiting writer
// may be overtaken only by one it does not conflict with on a global. Everything a writer waits
// for is running (readers with reservations, global invocations) and so finishes: no invocation
// that waits in a queue holds a reservation, which is what keeps the gate deadlock-free.
#include <algorithm>
#include <bit>

#include "hue_internal.hpp"

namespace lf::hue {

using detail::Color;
using detail::HueRuntime;
using detail::Invocation;

namespace {

template <class Fn>
void for_each_bit(std::uint64_t mask, Fn&& fn) {
  while (mask != 0) {
    const int bit = std::countr_zero(mask);
    fn(bit);
    mask &= mask - 1;
  }
}

}  // namespace

bool Scheduler::try_reserve(std::uint32_t home, std::uint64_t mask) {
  // Cheap look first: with a writer waiting, counting ourselves in would only delay it.
  if ((gate_.load(std::memory_order_acquire) & mask) != 0) return false;
  std::atomic<std::uint32_t>* row = &reserve_[std::size_t{home} * reserve_stride_];
  for_each_bit(mask, [&](int bit) {
    row[reserve_slot_[bit]].fetch_add(1, std::memory_order_seq_cst);
  });
  if ((gate_.load(std::memory_order_seq_cst) & mask) != 0) {
    unreserve(home, mask);
    return false;
  }
  return true;
}

void Scheduler::unreserve(std::uint32_t home, std::uint64_t mask) {
  std::atomic<std::uint32_t>* row = &reserve_[std::size_t{home} * reserve_stride_];
  for_each_bit(mask, [&](int bit) {
    row[reserve_slot_[bit]].fetch_sub(1, std::memory_order_seq_cst);
  });
  // A writer may have counted us and be waiting for this very release.
  if ((gate_.load(std::memory_order_seq_cst) & mask) != 0) kick(kGlobalKick);
}

bool Scheduler::reserve_or_block(std::uint32_t color, std::uint32_t home, std::uint64_t mask) {
  for (;;) {
    if (try_reserve(home, mask)) return true;
    // Register, then look again: a writer finishing between our look and the registration
    // would otherwise clear the gate without kicking this color.
    gate_blocked_[color / 64].fetch_or(1ull << (color % 64), std::memory_order_seq_cst);
    if ((gate_.load(std::memory_order_seq_cst) & mask) != 0) {
      colors_[color].gate_waits.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
  }
}

bool Scheduler::reservations_held(std::uint64_t mask) const {
  bool held = false;
  for_each_bit(mask & reserved_union_, [&](int bit) {
    const std::uint32_t slot = reserve_slot_[bit];
    for (std::uint32_t c = 0; !held && c <= mask_; ++c) {
      held = reserve_[std::size_t{c} * reserve_stride_ + slot].load(std::memory_order_seq_cst) != 0;
    }
  });
  return held;
}

void Scheduler::add_pending_writes(std::uint64_t mask) {
  // Plain loops, not for_each_bit: the analysis does not carry gmu_ into a lambda.
  for (std::uint64_t m = mask; m != 0; m &= m - 1) {
    ++pending_writes_[static_cast<std::size_t>(std::countr_zero(m))];
  }
  gate_.store(gate_.load(std::memory_order_relaxed) | mask, std::memory_order_seq_cst);
}

void Scheduler::remove_pending_writes(std::uint64_t mask) {
  std::uint64_t gate = gate_.load(std::memory_order_relaxed);
  for (std::uint64_t m = mask; m != 0; m &= m - 1) {
    const int bit = std::countr_zero(m);
    if (--pending_writes_[static_cast<std::size_t>(bit)] == 0) gate &= ~(1ull << bit);
  }
  gate_.store(gate, std::memory_order_seq_cst);
}

// A global invocation at position queue_pos of gqueue_ (or about to be appended) may start when
// no running global invocation and no earlier waiting one conflicts with it on a global, and no
// colored invocation holds a reservation on a global it writes. Its gate bits are already set.
bool Scheduler::global_admissible(HueId hue, std::size_t queue_pos) {
  for (HueId r : grunning_) {
    if (matrix_.conflict_on_global(hue, r)) return false;
  }
  for (std::size_t j = 0; j < queue_pos; ++j) {
    if (matrix_.conflict_on_global(hue, gqueue_[j]->hue)) return false;
  }
  return !reservations_held(hues_[hue].write_mask);
}

// The submitter holds every color of the invocation. Returns true when it may run now (it is
// registered as running); otherwise it has been queued, its colors occupied, and false returned.
bool Scheduler::global_inline_or_queue(HueId hue, const std::uint32_t* colors, std::uint32_t n,
                                       Task& task) {
  const HueRuntime& h = hues_[hue];
  {
    MutexLock l(gmu_);
    add_pending_writes(h.write_mask);
    if (global_admissible(hue, gqueue_.size())) {
      grunning_.push_back(hue);
      return true;
    }
    Invocation* inv = make_invocation(hue, RunClass::kGlobal, colors, n, task);
    inv->stage = n;
    for (std::uint32_t i = 0; i < n; ++i) occupy(colors[i]);
    gqueue_.push_back(inv);
    max_gqueue_ = std::max<std::uint64_t>(max_gqueue_, gqueue_.size());
  }
  // Whatever it waits for kicks the drainer when it ends; this kick is belt and braces (one
  // more admission pass), cheap next to what a writer of a global costs anyway.
  kick(kGlobalKick);
  return false;
}

// Called by a color drainer once a global invocation has passed (and occupies) all its colors.
void Scheduler::enter_global(Invocation* inv) {
  bool started = false;
  {
    MutexLock l(gmu_);
    add_pending_writes(hues_[inv->hue].write_mask);
    started = global_admissible(inv->hue, gqueue_.size());
    if (started) {
      grunning_.push_back(inv->hue);
    } else {
      gqueue_.push_back(inv);
      max_gqueue_ = std::max<std::uint64_t>(max_gqueue_, gqueue_.size());
    }
  }
  if (started) {
    start_queued(inv);
  } else {
    kick(kGlobalKick);
  }
}

void Scheduler::drain_global() {
  for (;;) {
    std::atomic_thread_fence(std::memory_order_seq_cst);
    ElectedGuard guard;
    if (!grole_->try_acquire(guard)) return;
    gneed_.exchange(false, std::memory_order_acq_rel);
    {
      MutexLock l(gmu_);
      for (std::size_t i = 0; i < gqueue_.size();) {
        Invocation* inv = gqueue_[i];
        if (!global_admissible(inv->hue, i)) {
          ++i;
          continue;
        }
        grunning_.push_back(inv->hue);
        gqueue_.erase(gqueue_.begin() + static_cast<std::ptrdiff_t>(i));
        start_queued(inv);
      }
    }
    grole_->release(guard);
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (!gneed_.load(std::memory_order_acquire)) return;
  }
}

void Scheduler::finish_global(HueId hue) {
  std::uint64_t cleared = 0;
  bool waiting = false;
  {
    MutexLock l(gmu_);
    auto it = std::find(grunning_.begin(), grunning_.end(), hue);
    LF_CHECK(it != grunning_.end());
    grunning_.erase(it);
    const std::uint64_t before = gate_.load(std::memory_order_relaxed);
    remove_pending_writes(hues_[hue].write_mask);
    cleared = before & ~gate_.load(std::memory_order_relaxed);
    waiting = !gqueue_.empty();
  }
  if (waiting) kick(kGlobalKick);
  if (cleared != 0) kick_gate_blocked();
}

// The gate opened a little: every color whose head waited for it looks again.
void Scheduler::kick_gate_blocked() {
  for (std::uint32_t w = 0; w < gate_blocked_words_; ++w) {
    std::uint64_t bits = gate_blocked_[w].exchange(0, std::memory_order_seq_cst);
    for_each_bit(bits, [&](int bit) { kick(w * 64 + static_cast<std::uint32_t>(bit)); });
  }
}

}  // namespace lf::hue
