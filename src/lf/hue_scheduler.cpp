// lf::hue::Scheduler: construction, the submit paths, the color stage (per-color state word,
// queue and elected drainer), the per-thread pump, quiesce and statistics. The global stage
// (writers of globals, reservations, the gate) is in hue_global.cpp.
#include <algorithm>
#include <bit>
#include <cstdio>
#include <numeric>
#include <thread>

#include "hue_internal.hpp"

namespace lf::hue {

namespace detail {

struct Kick {
  Scheduler* sched;
  std::uint32_t what;  // a color, or Scheduler::kGlobalKick
};

// Work a thread has taken on inside the scheduler and not done yet. Kicks and admitted
// invocations are recorded here and carried out by the outermost scheduler frame on this thread,
// after the task it is running returns: a task that submits (a pipeline's continuation) never
// drains, or runs others' work, from inside itself, so the stack stays one task deep.
struct ThreadPump {
  int depth = 0;  // tasks of any scheduler running on this thread
  std::vector<Kick> kicks;
  Invocation* ready_head = nullptr;
  Invocation* ready_tail = nullptr;
};

thread_local ThreadPump t_pump;

struct Pump {
  static void push_ready(Invocation* inv) {
    ThreadPump& p = t_pump;
    inv->ready_next = nullptr;
    if (p.ready_tail != nullptr) {
      p.ready_tail->ready_next = inv;
    } else {
      p.ready_head = inv;
    }
    p.ready_tail = inv;
  }

  // Carries out this thread's pending kicks and runs what they admit, until none are left.
  static void run_if_outermost() {
    ThreadPump& p = t_pump;
    if (p.depth != 0) return;
    for (;;) {
      if (Invocation* inv = p.ready_head) {
        p.ready_head = inv->ready_next;
        if (p.ready_head == nullptr) p.ready_tail = nullptr;
        inv->sched->run_queued(inv);
        continue;
      }
      if (!p.kicks.empty()) {
        const Kick k = p.kicks.back();
        p.kicks.pop_back();
        k.sched->process_kick(k.what);
        continue;
      }
      return;
    }
  }

  static void run_task(Task& task) {
    ++t_pump.depth;
    task();
    task.reset();  // captures die while the invocation still excludes its conflicts
    --t_pump.depth;
  }
};

// Holds a pin for a scope: the scheduler may not be destroyed while a thread still has to touch
// it after its own invocation could have finished elsewhere.
class PinGuard {
 public:
  explicit PinGuard(std::atomic<std::int64_t>& pins) : pins_(pins) {
    pins_.fetch_add(1, std::memory_order_relaxed);
  }
  ~PinGuard() { pins_.fetch_sub(1, std::memory_order_release); }
  PinGuard(const PinGuard&) = delete;
  PinGuard& operator=(const PinGuard&) = delete;

 private:
  std::atomic<std::int64_t>& pins_;
};

}  // namespace detail

using detail::Color;
using detail::HueRuntime;
using detail::Invocation;
using detail::Pump;
using detail::t_pump;

const char* run_class_name(RunClass c) {
  switch (c) {
    case RunClass::kFree:
      return "free";
    case RunClass::kColor:
      return "color";
    case RunClass::kMultiColor:
      return "multi-color";
    case RunClass::kGlobal:
      return "global";
  }
  return "?";
}

std::string SchedulerStats::to_string() const {
  std::string out;
  char line[256];
  for (std::size_t i = 0; i < kRunClasses; ++i) {
    const ClassStats& c = by_class[i];
    const double avg_us =
        c.queued_runs == 0 ? 0.0 : static_cast<double>(c.wait_ns_total) / 1e3 / c.queued_runs;
    std::snprintf(line, sizeof line,
                  "%-12s inline %llu  queued %llu  wait avg %.1f us  max %.1f us\n",
                  run_class_name(static_cast<RunClass>(i)),
                  static_cast<unsigned long long>(c.inline_runs),
                  static_cast<unsigned long long>(c.queued_runs), avg_us,
                  static_cast<double>(c.wait_ns_max) / 1e3);
    out += line;
  }
  std::snprintf(line, sizeof line,
                "submitted %llu  finished %llu  max queue depth: color %llu, global %llu  "
                "gate waits %llu  drains: color %llu, global %llu\n",
                static_cast<unsigned long long>(submitted),
                static_cast<unsigned long long>(finished),
                static_cast<unsigned long long>(max_color_queue_depth),
                static_cast<unsigned long long>(max_global_queue_depth),
                static_cast<unsigned long long>(gate_waits),
                static_cast<unsigned long long>(color_drains),
                static_cast<unsigned long long>(global_drains));
  out += line;
  return out;
}

Scheduler::Scheduler(HueMatrix matrix, std::uint32_t colors) : matrix_(std::move(matrix)) {
  LF_CHECK_MSG(colors >= 1 && colors <= (1u << 20), "hue: colors must be in [1, 2^20]");
  const std::uint32_t n = std::bit_ceil(colors);
  mask_ = n - 1;
  colors_.reset(new Color[n]);

  // Globals some declared hue writes: reading any other global contends with nobody.
  bool any_undeclared = false;
  std::uint64_t written = 0;
  for (HueId id = 0; id < matrix_.size(); ++id) {
    const HueInfo& info = matrix_.hue(id);
    if (!info.declared) any_undeclared = true;
    for (std::uint32_t g : info.writes) written |= 1ull << g;
  }
  hues_.resize(matrix_.size());
  for (HueId id = 0; id < matrix_.size(); ++id) {
    const HueInfo& info = matrix_.hue(id);
    HueRuntime& h = hues_[id];
    bool context_bit = false;
    for (HueId other = 0; other < matrix_.size(); ++other) {
      context_bit = context_bit || matrix_.conflict_through_context(id, other);
    }
    h.mode = context_bit ? info.context : Access::kNone;
    if (matrix_.is_free(id)) {
      h.cls = RunClass::kFree;
    } else if (!info.declared || !info.writes.empty()) {
      h.cls = RunClass::kGlobal;
      for (std::uint32_t g : info.writes) h.write_mask |= 1ull << g;
      if (!info.declared) h.write_mask = detail::kWorldBit;
    } else {
      h.cls = RunClass::kColor;
      for (std::uint32_t g : info.reads) {
        if ((written >> g) & 1) h.reserve_mask |= 1ull << g;
      }
      // Every declared hue implicitly reads "the world", which an undeclared hue writes.
      if (any_undeclared) h.reserve_mask |= detail::kWorldBit;
      reserved_union_ |= h.reserve_mask;
    }
  }
  for (int g = 0; g < 64; ++g) {
    reserve_slot_[g] = static_cast<std::uint8_t>(std::popcount(reserved_union_ & ((1ull << g) - 1)));
  }
  const auto slots = static_cast<std::uint32_t>(std::popcount(reserved_union_));
  if (slots > 0) {
    reserve_stride_ = (slots + 15) / 16 * 16;  // each color's counters on their own cache line
    reserve_ = std::make_unique<std::atomic<std::uint32_t>[]>(std::size_t{n} * reserve_stride_);
  }
  gate_blocked_words_ = (n + 63) / 64;
  gate_blocked_ = std::make_unique<std::atomic<std::uint64_t>[]>(gate_blocked_words_);
  grole_ = std::make_unique<detail::DrainRole>();
}

Scheduler::~Scheduler() {
  const Status s = quiesce();
  LF_CHECK_MSG(s.ok(), "hue: Scheduler destroyed from inside one of its tasks");
}

RunClass Scheduler::run_class(HueId hue) const {
  LF_CHECK_MSG(hue < hues_.size(), "hue: unknown HueId");
  return hues_[hue].cls;
}

Submitted Scheduler::submit(HueId hue, std::uint64_t context_hash, Task task) noexcept {
  const std::uint32_t c = color_of(context_hash);
  return submit_colors(hue, &c, 1, task);
}

Submitted Scheduler::submit_multi(HueId hue, std::span<const std::uint64_t> context_hashes,
                                  Task task) noexcept {
  if (context_hashes.empty()) return submit(hue, 0, std::move(task));
  constexpr std::size_t kOnStack = 16;
  std::uint32_t on_stack[kOnStack];
  std::vector<std::uint32_t> on_heap;
  std::uint32_t* cs = on_stack;
  if (context_hashes.size() > kOnStack) {
    on_heap.resize(context_hashes.size());
    cs = on_heap.data();
  }
  for (std::size_t i = 0; i < context_hashes.size(); ++i) cs[i] = color_of(context_hashes[i]);
  // Ascending and distinct: the one fixed order every multi-color invocation passes colors in.
  std::sort(cs, cs + context_hashes.size());
  const auto n = static_cast<std::uint32_t>(std::unique(cs, cs + context_hashes.size()) - cs);
  return submit_colors(hue, cs, n, task);
}

Submitted Scheduler::submit_all_colors(HueId hue, Task task) noexcept {
  std::vector<std::uint32_t> cs(colors());
  std::iota(cs.begin(), cs.end(), 0u);
  return submit_colors(hue, cs.data(), static_cast<std::uint32_t>(cs.size()), task);
}

bool Scheduler::try_run(HueId hue, std::uint64_t context_hash, Task& task) noexcept {
  const std::uint32_t c = color_of(context_hash);
  return try_run_colors(hue, &c, 1, task);
}

bool Scheduler::try_run_multi(HueId hue, std::span<const std::uint64_t> context_hashes,
                              Task& task) noexcept {
  if (context_hashes.empty()) return try_run(hue, 0, task);
  constexpr std::size_t kOnStack = 16;
  if (context_hashes.size() > kOnStack) return false;  // the slow path sorts on the heap anyway
  std::uint32_t cs[kOnStack];
  for (std::size_t i = 0; i < context_hashes.size(); ++i) cs[i] = color_of(context_hashes[i]);
  std::sort(cs, cs + context_hashes.size());
  const auto n = static_cast<std::uint32_t>(std::unique(cs, cs + context_hashes.size()) - cs);
  return try_run_colors(hue, cs, n, task);
}

Submitted Scheduler::submit_on_color(HueId hue, std::uint32_t color, Task task) noexcept {
  LF_CHECK_MSG(color <= mask_, "hue: color out of range");
  return submit_colors(hue, &color, 1, task);
}

// The fast path of submit_colors without its slow path: whatever was taken is given back when
// something is missing, so the caller can prepare the task for queueing and submit it.
bool Scheduler::try_run_colors(HueId hue, const std::uint32_t* colors, std::uint32_t n,
                               Task& task) noexcept {
  LF_CHECK_MSG(hue < hues_.size(), "hue: unknown HueId");
  const HueRuntime& h = hues_[hue];
  if (h.cls == RunClass::kGlobal) return false;
  if (h.cls == RunClass::kFree) return submit_colors(hue, colors, n, task) == Submitted::kInline;
  const std::uint32_t home = colors[0];
  Color& hc = colors_[home];
  const RunClass cls = n > 1 ? RunClass::kMultiColor : RunClass::kColor;
  // Counted as started before anything is taken, so quiesce() never sees this thread idle while
  // it holds a color; uncounted again if the attempt fails.
  auto& started = hc.started[static_cast<std::size_t>(cls)];
  started.fetch_add(1, std::memory_order_relaxed);
  const bool needs_reservation = h.reserve_mask != 0;
  std::uint32_t held = 0;
  if (!needs_reservation || try_reserve(home, h.reserve_mask)) {
    while (held < n && try_hold(colors[held], h)) ++held;
    if (held < n) {
      while (held > 0) release_hold(colors[--held], h);
      if (needs_reservation) unreserve(home, h.reserve_mask);
    } else {
      Pump::run_task(task);
      finish(hue, colors, n, home);
      Pump::run_if_outermost();
      return true;
    }
  }
  started.fetch_sub(1, std::memory_order_relaxed);
  Pump::run_if_outermost();  // releases above may have kicked a drainer
  return false;
}

Submitted Scheduler::submit_colors(HueId hue, const std::uint32_t* colors, std::uint32_t n,
                                   Task& task) noexcept {
  LF_CHECK_MSG(hue < hues_.size(), "hue: unknown HueId");
  const HueRuntime& h = hues_[hue];
  const std::uint32_t home = colors[0];
  Color& hc = colors_[home];
  const RunClass cls = (h.cls == RunClass::kColor && n > 1) ? RunClass::kMultiColor : h.cls;
  hc.started[static_cast<std::size_t>(cls)].fetch_add(1, std::memory_order_relaxed);

  if (h.cls == RunClass::kFree) {
    Pump::run_task(task);
    hc.finished.fetch_add(1, std::memory_order_release);
    Pump::run_if_outermost();
    return Submitted::kInline;
  }

  // A colored hue takes its reservation on the globals it reads first: it is one counter on this
  // color's line, and a closed gate (a writer waiting) sends it to the queue before it holds
  // anything.
  const bool needs_reservation = h.cls == RunClass::kColor && h.reserve_mask != 0;
  const bool reserved = needs_reservation && try_reserve(home, h.reserve_mask);
  std::uint32_t held = 0;
  if (!needs_reservation || reserved) {
    while (held < n && try_hold(colors[held], h)) ++held;
  }

  if (held == n) {
    if (h.cls == RunClass::kGlobal) {
      detail::PinGuard pin(pins_);
      if (!global_inline_or_queue(hue, colors, n, task)) {
        Pump::run_if_outermost();
        return Submitted::kQueued;
      }
    }
    Pump::run_task(task);
    finish(hue, colors, n, home);
    Pump::run_if_outermost();
    return Submitted::kInline;
  }

  // Queue at the first color we could not take. Colors already held stay held and become
  // occupied: passing them again later could let a newer invocation slip in ahead.
  if (reserved) unreserve(home, h.reserve_mask);
  detail::PinGuard pin(pins_);
  Invocation* inv = make_invocation(hue, cls, colors, n, task);
  inv->stage = held;
  for (std::uint32_t i = 0; i < held; ++i) occupy(colors[i]);
  enqueue_color(colors[held], inv);
  Pump::run_if_outermost();
  return Submitted::kQueued;
}

Invocation* Scheduler::make_invocation(HueId hue, RunClass cls, const std::uint32_t* colors,
                                       std::uint32_t n, Task& task) {
  auto* inv = new Invocation();
  inv->sched = this;
  inv->task = std::move(task);
  inv->hue = hue;
  inv->cls = cls;
  inv->colors.assign(colors, n);
  inv->queued_at = std::chrono::steady_clock::now();
  colors_[colors[0]].queued_runs[static_cast<std::size_t>(cls)].fetch_add(
      1, std::memory_order_relaxed);
  return inv;
}

bool Scheduler::try_hold(std::uint32_t color, const HueRuntime& h) {
  Color& col = colors_[color];
  const std::uint64_t add = detail::hold_of(h.mode);
  std::uint64_t s = col.state.load(std::memory_order_acquire);
  for (;;) {
    if (detail::queued_of(s) != 0 || detail::has_occupants(s) || !detail::compatible(s, h.mode)) {
      return false;
    }
    if (add == 0) return true;
    if (col.state.compare_exchange_weak(s, s + add, std::memory_order_acq_rel,
                                        std::memory_order_acquire)) {
      return true;
    }
  }
}

void Scheduler::release_hold(std::uint32_t color, const HueRuntime& h) {
  const std::uint64_t sub = detail::hold_of(h.mode);
  if (sub == 0) return;
  const std::uint64_t s =
      colors_[color].state.fetch_sub(sub, std::memory_order_acq_rel) - sub;
  if (detail::queued_of(s) != 0) kick(color);  // the head may have waited for this hold
}

void Scheduler::occupy(std::uint32_t color) {
  colors_[color].state.fetch_add(detail::kOccupantOne, std::memory_order_acq_rel);
}

void Scheduler::unoccupy(std::uint32_t color) {
  const std::uint64_t s =
      colors_[color].state.fetch_sub(detail::kOccupantOne, std::memory_order_acq_rel) -
      detail::kOccupantOne;
  if (detail::queued_of(s) != 0) kick(color);
}

void Scheduler::enqueue_color(std::uint32_t color, Invocation* inv) {
  Color& col = colors_[color];
  // Count first, push second: a submitter that reads queued == 0 then knows nobody is ahead.
  const std::uint64_t s =
      col.state.fetch_add(detail::kQueuedOne, std::memory_order_acq_rel) + detail::kQueuedOne;
  detail::record_max(col.max_depth, detail::queued_of(s));
  col.push(inv);  // inv may be taken by another thread from here on
  kick(color);
}

void Scheduler::kick(std::uint32_t what) {
  pins_.fetch_add(1, std::memory_order_relaxed);  // released by process_kick
  if (what == kGlobalKick) {
    gneed_.store(true, std::memory_order_release);
  } else {
    colors_[what].need_drain.store(true, std::memory_order_release);
  }
  t_pump.kicks.push_back(detail::Kick{this, what});
}

void Scheduler::process_kick(std::uint32_t what) {
  if (what == kGlobalKick) {
    drain_global();
  } else {
    drain_color(what);
  }
  pins_.fetch_sub(1, std::memory_order_release);  // last touch of this scheduler for the kick
}

// The elected drainer of a color admits queue heads in order while they are compatible with
// what holds the color. The Elected pattern's rule applies: after releasing, look at need_drain
// again, because a kicker that lost the election relies on the winner to see its work.
void Scheduler::drain_color(std::uint32_t color) {
  Color& col = colors_[color];
  for (;;) {
    std::atomic_thread_fence(std::memory_order_seq_cst);  // pairs with the fence below
    ElectedGuard guard;
    if (!col.role.try_acquire(guard)) return;
    col.need_drain.exchange(false, std::memory_order_acq_rel);
    for (;;) {
      if (col.front == nullptr) col.front = static_cast<Invocation*>(col.pop());
      Invocation* inv = col.front;
      if (inv == nullptr) break;
      const HueRuntime& h = hues_[inv->hue];
      const std::uint64_t s = col.state.load(std::memory_order_acquire);
      if (detail::has_occupants(s) || !detail::compatible(s, h.mode)) break;
      // Nothing can make the hold incompatible now: fast-path submitters see queued > 0 (the
      // head is counted) and only this drainer admits; holders can only leave.
      const bool last_color = inv->stage + 1 == inv->colors.size();
      if (last_color && h.cls != RunClass::kGlobal) {
        if (h.reserve_mask != 0 && !reserve_or_block(color, inv->colors[0], h.reserve_mask)) {
          break;
        }
        col.state.fetch_add(detail::hold_of(h.mode) - detail::kQueuedOne,
                            std::memory_order_acq_rel);
        col.front = nullptr;
        inv->stage++;
        start_queued(inv);
      } else {
        col.state.fetch_add(
            detail::hold_of(h.mode) + detail::kOccupantOne - detail::kQueuedOne,
            std::memory_order_acq_rel);
        col.front = nullptr;
        inv->stage++;
        advance(inv);
      }
    }
    col.role.release(guard);
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (!col.need_drain.load(std::memory_order_acquire)) return;
  }
}

void Scheduler::advance(Invocation* inv) {
  if (inv->stage < inv->colors.size()) {
    enqueue_color(inv->colors[inv->stage], inv);
  } else {
    enter_global(inv);
  }
}

// The invocation holds everything it needs: it has started. Its earlier colors stop being
// occupied (their queues may advance) and it runs on this thread once the pump gets to it.
void Scheduler::start_queued(Invocation* inv) {
  const HueRuntime& h = hues_[inv->hue];
  const std::uint32_t n = inv->colors.size();
  const std::uint32_t occupied = h.cls == RunClass::kGlobal ? n : n - 1;
  for (std::uint32_t i = 0; i < occupied; ++i) unoccupy(inv->colors[i]);
  const auto waited = std::chrono::duration_cast<std::chrono::nanoseconds>(
                          std::chrono::steady_clock::now() - inv->queued_at)
                          .count();
  Color& home = colors_[inv->colors[0]];
  const auto k = static_cast<std::size_t>(inv->cls);
  home.wait_ns_total[k].fetch_add(static_cast<std::uint64_t>(waited), std::memory_order_relaxed);
  detail::record_max(home.wait_ns_max[k], static_cast<std::uint64_t>(waited));
  Pump::push_ready(inv);
}

void Scheduler::run_queued(Invocation* inv) {
  Pump::run_task(inv->task);
  finish(inv->hue, inv->colors.data(), inv->colors.size(), inv->colors[0]);
  delete inv;
}

void Scheduler::finish(HueId hue, const std::uint32_t* colors, std::uint32_t n,
                       std::uint32_t home) {
  const HueRuntime& h = hues_[hue];
  if (h.cls == RunClass::kGlobal) {
    finish_global(hue);
  } else if (h.reserve_mask != 0) {
    unreserve(home, h.reserve_mask);
  }
  for (std::uint32_t i = 0; i < n; ++i) release_hold(colors[i], h);
  // Last touch: quiesce() may return once every started invocation is counted here (kicks
  // recorded above hold their own pins).
  colors_[home].finished.fetch_add(1, std::memory_order_release);
}

bool Scheduler::idle() const {
  // Finished first, started second: an invocation counts on one color in both, finished never
  // exceeds started, so equal sums mean nothing was in flight when finished was read.
  std::uint64_t finished = 0, started = 0;
  for (std::uint32_t c = 0; c <= mask_; ++c) {
    finished += colors_[c].finished.load(std::memory_order_acquire);
  }
  for (std::uint32_t c = 0; c <= mask_; ++c) {
    for (const auto& s : colors_[c].started) started += s.load(std::memory_order_acquire);
  }
  return finished == started && pins_.load(std::memory_order_acquire) == 0;
}

Status Scheduler::quiesce() {
  if (t_pump.depth > 0) return Status::error("hue: quiesce() called from inside a task");
  while (!quiesce_for(std::chrono::hours(1))) {
  }
  return Status();
}

bool Scheduler::quiesce_for(std::chrono::nanoseconds timeout) {
  if (t_pump.depth > 0) return false;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  // Polling keeps the finishing path free of any notification (its last touch of the scheduler
  // must be a counter); quiesce is for shutdown and tests, where a millisecond does not matter.
  auto nap = std::chrono::microseconds(20);
  for (;;) {
    if (idle()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(nap);
    nap = std::min(nap * 2, std::chrono::microseconds(1000));
  }
}

SchedulerStats Scheduler::stats() const {
  SchedulerStats st;
  for (std::uint32_t c = 0; c <= mask_; ++c) {
    const Color& col = colors_[c];
    for (std::size_t k = 0; k < kRunClasses; ++k) {
      const std::uint64_t started = col.started[k].load(std::memory_order_relaxed);
      const std::uint64_t queued = col.queued_runs[k].load(std::memory_order_relaxed);
      ClassStats& cs = st.by_class[k];
      st.submitted += started;
      cs.queued_runs += queued;
      cs.inline_runs += started - std::min(started, queued);
      cs.wait_ns_total += col.wait_ns_total[k].load(std::memory_order_relaxed);
      cs.wait_ns_max = std::max(cs.wait_ns_max, col.wait_ns_max[k].load(std::memory_order_relaxed));
    }
    st.finished += col.finished.load(std::memory_order_relaxed);
    st.max_color_queue_depth =
        std::max(st.max_color_queue_depth, col.max_depth.load(std::memory_order_relaxed));
    st.gate_waits += col.gate_waits.load(std::memory_order_relaxed);
    st.color_drains += col.role.elections();
  }
  st.global_drains = grole_->elections();
  {
    MutexLock l(gmu_);
    st.max_global_queue_depth = max_gqueue_;
  }
  return st;
}

}  // namespace lf::hue
