// lf::hue::Scheduler: safe handler concurrency. Command handlers hold no locks; the scheduler runs
// an invocation only when no running invocation conflicts with it according to the HueMatrix
// (see hue_table.hpp), and otherwise queues it. The keyspace is partitioned by color (a hash of
// the context), so context conflicts exclude only within a color; global conflicts exclude across
// all colors; a hue that conflicts with nothing runs anywhere, any time.
//
// Guarantees:
//  - Exclusion: two invocations whose hues have bit 0 set never overlap; two whose hues have bit
//    1 set never overlap when they share a color.
//  - Order per color: invocations submitted on a color start in submission order (a later one
//    never starts before an earlier one has started; if they conflict, it starts after the
//    earlier one finished). A multi-color invocation is submitted on its lowest color and joins
//    each higher color's queue once it holds the colors below. Free hues (no conflicts at all)
//    are exempt: there is nothing to order. Across colors there is no order: a queued invocation
//    has not taken effect yet, and a caller that needs A before B submits B only once A has run
//    (the server suspends the connection; see docs/hue.md, trap 1).
//  - Progress: submit() never waits for a conflicting invocation. It either runs the task now, on
//    the calling thread, or queues it and returns. Queued work runs exactly once, on a thread that
//    is already in the scheduler: the thread elected (lf::Elected) to drain that color or the
//    global queue, which is usually the thread whose finishing invocation unblocked it. The
//    scheduler spawns no threads.
//  - Multi-color invocations (MSET, MULTI/EXEC, scripts) take their colors in ascending order and
//    hold each from the moment they pass it until they finish, so two of them never wait for each
//    other in a cycle (see docs/hue.md).
//  - Writers are not starved: once an invocation that writes a global waits in the global queue,
//    new invocations that read that global wait behind it, on every color.
//
// Fast path: a hue that conflicts only through the context (and reads globals), submitted on a
// color with nothing queued, costs a few atomic operations on that color's own cache lines: no
// allocation, no lock. Queuing allocates one invocation record. Hues that write a global take the
// scheduler's one mutex (they are rare: FLUSHALL, CONFIG SET).
//
// Thread-safety: every public member may be called from any thread concurrently, including from
// inside a running task (a nested submit is how a handler hands the rest of a pipeline on).
// Tasks must not block waiting for another invocation of the same scheduler: a thread running a
// task may be the elected drainer of a color, and work it unblocks is picked up when the task
// returns. quiesce() and the destructor must not be called from inside a task.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "lf/hue_table.hpp"
#include "lf/hue_task.hpp"
#include "lf/mutex.hpp"
#include "lf/status.hpp"

namespace lf::hue {

enum class Submitted : std::uint8_t {
  kInline,  // ran to completion on the calling thread before submit() returned
  kQueued,  // queued; it runs exactly once, later (possibly on this thread before submit returns)
};

// How an invocation is scheduled, for statistics.
enum class RunClass : std::uint8_t {
  kFree,        // conflicts with nothing: always inline
  kColor,       // conflicts through the context and/or reads globals; one color
  kMultiColor,  // as kColor, several colors (submit_multi)
  kGlobal,      // writes a global, or undeclared: passes the global queue
};
inline constexpr std::size_t kRunClasses = 4;
const char* run_class_name(RunClass c);

struct ClassStats {
  std::uint64_t inline_runs = 0;
  std::uint64_t queued_runs = 0;    // invocations that had to queue
  std::uint64_t wait_ns_total = 0;  // queue wait of those that have started, submit to start
  std::uint64_t wait_ns_max = 0;
};

struct SchedulerStats {
  std::array<ClassStats, kRunClasses> by_class{};
  std::uint64_t submitted = 0;
  std::uint64_t finished = 0;
  std::uint64_t max_color_queue_depth = 0;
  std::uint64_t max_global_queue_depth = 0;
  std::uint64_t gate_waits = 0;     // a color's head held back by a waiting global writer
  std::uint64_t color_drains = 0;   // elections of a color's drainer
  std::uint64_t global_drains = 0;  // elections of the global queue's drainer

  const ClassStats& operator[](RunClass c) const { return by_class[static_cast<std::size_t>(c)]; }
  std::string to_string() const;
};

namespace detail {
struct Color;
struct Invocation;
struct HueRuntime;
class DrainRole;
struct Pump;
}  // namespace detail

class Scheduler {
 public:
  // `colors` is rounded up to a power of two (at least 1, at most 2^20).
  explicit Scheduler(HueMatrix matrix, std::uint32_t colors = 1024);
  ~Scheduler();  // quiesces first
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Runs `task` as an invocation of `hue` on the color of `context_hash`.
  Submitted submit(HueId hue, std::uint64_t context_hash, Task task) noexcept;
  // As submit(), on the colors of all the hashes (duplicates collapse). An empty span behaves as
  // the single hash 0.
  Submitted submit_multi(HueId hue, std::span<const std::uint64_t> context_hashes,
                         Task task) noexcept;
  // As submit_multi() over every color: for handlers that touch every key (KEYS, SCAN, SAVE)
  // yet should still run alongside invocations that do not conflict with them.
  Submitted submit_all_colors(HueId hue, Task task) noexcept;

  // Runs `task` now, on this thread, if the invocation can start without waiting, and returns
  // true; otherwise takes nothing, leaves `task` untouched and returns false. Writers of
  // globals always return false. For callers whose task refers to data that only lives until
  // the call returns (a command's arguments in a connection's read buffer): on false they copy
  // what the task needs and submit() it.
  bool try_run(HueId hue, std::uint64_t context_hash, Task& task) noexcept;
  bool try_run_multi(HueId hue, std::span<const std::uint64_t> context_hashes, Task& task) noexcept;
  // As submit(), on one color given directly (work about a color rather than a key: the
  // server's active expiry of one keyspace partition).
  Submitted submit_on_color(HueId hue, std::uint32_t color, Task task) noexcept;

  // Waits until nothing is queued or running and no thread is inside the scheduler on its
  // behalf. Fails when called from inside a task (it would wait for itself).
  Status quiesce();
  // As quiesce(), giving up after `timeout`; true when quiescent.
  bool quiesce_for(std::chrono::nanoseconds timeout);

  std::uint32_t colors() const { return mask_ + 1; }
  std::uint32_t color_of(std::uint64_t context_hash) const { return color_for(context_hash, mask_); }
  // The mapping itself, for data partitioned by color outside the scheduler (the keyspace).
  // Fibonacci hashing: a poorly mixed hash (a small integer id) still spreads over colors.
  static std::uint32_t color_for(std::uint64_t context_hash, std::uint32_t mask) {
    return static_cast<std::uint32_t>((context_hash * 0x9E3779B97F4A7C15ull) >> 32) & mask;
  }
  // kFree, kColor or kGlobal: how this hue's single-color invocations are scheduled.
  RunClass run_class(HueId hue) const;
  const HueMatrix& matrix() const { return matrix_; }
  SchedulerStats stats() const;

 private:
  friend struct detail::Pump;
  using Invocation = detail::Invocation;

  // Color stage (hue_scheduler.cpp).
  Submitted submit_colors(HueId hue, const std::uint32_t* colors, std::uint32_t n,
                          Task& task) noexcept;
  bool try_run_colors(HueId hue, const std::uint32_t* colors, std::uint32_t n,
                      Task& task) noexcept;
  bool try_hold(std::uint32_t color, const detail::HueRuntime& h);
  void release_hold(std::uint32_t color, const detail::HueRuntime& h);
  void occupy(std::uint32_t color);
  void unoccupy(std::uint32_t color);
  void enqueue_color(std::uint32_t color, Invocation* inv);
  void drain_color(std::uint32_t color);
  void advance(Invocation* inv);
  void start_queued(Invocation* inv);
  void run_queued(Invocation* inv);
  void finish(HueId hue, const std::uint32_t* colors, std::uint32_t n, std::uint32_t home);
  void kick(std::uint32_t what);
  void process_kick(std::uint32_t what);
  Invocation* make_invocation(HueId hue, RunClass cls, const std::uint32_t* colors,
                              std::uint32_t n, Task& task);

  // Global stage and reservations (hue_global.cpp).
  bool try_reserve(std::uint32_t home, std::uint64_t mask);
  void unreserve(std::uint32_t home, std::uint64_t mask);
  bool reserve_or_block(std::uint32_t color, std::uint32_t home, std::uint64_t mask);
  bool reservations_held(std::uint64_t mask) const;
  bool global_admissible(HueId hue, std::size_t queue_pos) LF_REQUIRES(gmu_);
  void add_pending_writes(std::uint64_t mask) LF_REQUIRES(gmu_);
  bool global_inline_or_queue(HueId hue, const std::uint32_t* colors, std::uint32_t n,
                              Task& task);
  void remove_pending_writes(std::uint64_t mask) LF_REQUIRES(gmu_);
  void enter_global(Invocation* inv);
  void drain_global();
  void finish_global(HueId hue);
  void kick_gate_blocked();
  bool idle() const;

  static constexpr std::uint32_t kGlobalKick = 0xffffffffu;

  HueMatrix matrix_;                       // immutable after construction
  std::vector<detail::HueRuntime> hues_;  // immutable after construction
  std::uint32_t mask_;                     // colors - 1
  std::unique_ptr<detail::Color[]> colors_;

  // Reservations: per color, one counter per contended global that colored hues read.
  // reserve_[color * reserve_stride_ + slot]. Written with seq_cst RMWs; see hue_global.cpp.
  std::uint64_t reserved_union_ = 0;  // immutable: globals that have counters
  std::uint32_t reserve_stride_ = 0;  // immutable
  // immutable: global g's counter is reserve_slot_[g] in a color's row (the bits of
  // reserved_union_ below g), a table so reserving costs no popcount per global
  std::uint8_t reserve_slot_[64] = {};
  std::unique_ptr<std::atomic<std::uint32_t>[]> reserve_;
  // Bit g set while an invocation that writes global g waits in the global queue or runs.
  // Written only under gmu_; read lock-free by colored invocations.
  std::atomic<std::uint64_t> gate_{0};
  // Colors whose queue head waits for gate_ to open, one bit per color.
  std::unique_ptr<std::atomic<std::uint64_t>[]> gate_blocked_;
  std::uint32_t gate_blocked_words_ = 0;  // immutable

  // Threads that may still touch this scheduler after their invocations finished (a pending
  // kick, a submit on its slow path). quiesce() waits for zero before the destructor frees.
  std::atomic<std::int64_t> pins_{0};

  mutable Mutex gmu_;
  std::vector<Invocation*> gqueue_ LF_GUARDED_BY(gmu_);  // FIFO, holding their colors
  std::vector<HueId> grunning_ LF_GUARDED_BY(gmu_);      // running global invocations
  std::array<std::uint32_t, 64> pending_writes_ LF_GUARDED_BY(gmu_){};
  std::uint64_t max_gqueue_ LF_GUARDED_BY(gmu_) = 0;
  std::unique_ptr<detail::DrainRole> grole_;  // elects the one thread draining gqueue_
  std::atomic<bool> gneed_{false};  // set by whoever kicks the global queue; see drain_global

};

}  // namespace lf::hue
