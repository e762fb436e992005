// lf::Reactor: the handle set of the Leader/Followers pattern, over epoll.
//
// It registers event handlers, demultiplexes their I/O events, timers and notifications, and
// dispatches each event to its handler with the handle deactivated, so no second thread can be
// dispatched on the same handler meanwhile.
//
// Three handle sets for the shared mode (HandleSetKind):
//   epoll-oneshot  EPOLLONESHOT: epoll itself deactivates a handle when it reports it, and
//                  reactivate() re-arms it (one epoll_ctl per dispatch).
//   epoll-et       EPOLLET, registered once: the handle is never disarmed; deactivation is the
//                  slot's own state, idle -> taken -> (taken, and more arrived). Readiness that
//                  epoll reports while the handler is taken or suspended is kept in the slot,
//                  and the thread that dispatched it runs it again when its dispatch returns,
//                  so nothing is lost between a handler's last read and its release and no
//                  system call re-arms anything. The price is a rule for handlers: epoll reports
//                  a handle again only when new input arrives, so a handler that stops reading
//                  before the socket would block (a full buffer, an accept quota) calls
//                  notify(id, kReadEvent) from its dispatch to be dispatched again
//                  (edge_triggered() says which rule holds).
//   io_uring       the same slot states and rule as epoll-et, with readiness reported through an
//                  io_uring completion queue: one multishot poll request per handle, posted at
//                  registration (src/lf/uring_poller.hpp). Only where liburing was found at build
//                  time and the kernel allows io_uring; create() fails with the reason otherwise.
//
// Its work is split in two halves so a thread set can put a promotion between them:
//   wait_for_event()  the leader's half: waits on the handle set and takes one event, whose
//                     handle it deactivates (deactivate(): the pattern's protocol for
//                     temporarily deactivating handles, so the next leader cannot take a second
//                     event of the same handler);
//   dispatch()        the processing half: runs the handler's hook, then reactivates the handle
//                     (reactivate(): or keeps it suspended, or removes it) as the handler asked.
// handle_events() does both, for a single thread.
//
// Thread-safety: register/remove/suspend/resume/set_interest/schedule_timer/notify may be
// called from any thread, also from inside a handler. Remove, suspend and resume are atomic with
// respect to each other (one lock per handler slot). wait_for_event() and take_ready() are for
// the one thread that holds the leader role; a second concurrent waiter is a broken invariant
// and aborts (LF_CHECK). dispatch() is for the thread that took the event.
#pragma once

#include <sys/epoll.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "lf/event_handler.hpp"
#include "lf/mutex.hpp"
#include "lf/status.hpp"
#include "lf/time.hpp"

namespace lf {

namespace detail {
class UringPoller;
}

// kUringCompletion is not a Reactor's: it names the completion handle set (lf::UringProactor)
// for ConcurrencyModel's `lf` model, which then hosts its sessions on it (Reactor::create
// refuses it).
enum class HandleSetKind { kEpollOneShot, kEpollEdge, kIoUring, kUringCompletion };
// "epoll-oneshot", "epoll-et", "io_uring", "uring-completion"
const char* to_string(HandleSetKind k);
bool parse_handle_set(std::string_view s, HandleSetKind& out);

struct ReactorOptions {
  // true: many threads take turns waiting on the handle set (deactivated per `handle_set`).
  // false: one thread only (level-triggered registrations stay armed; `handle_set` is unused).
  bool shared = true;
  // How many ready events one epoll_wait may return. The surplus stays in the reactor's ready
  // list and the next leader takes from it without a system call. 1 is the pattern in its
  // plainest form.
  int max_events_per_wait = 64;
  HandleSetKind handle_set = HandleSetKind::kEpollOneShot;  // last: {shared, max} stays valid
};

// One demultiplexed event, owned by the thread that took it until it calls dispatch().
struct Event {
  HandlerId id;
  EventMask events = 0;
  EventHandler* handler = nullptr;
  int handle = -1;
};

enum class WaitResult { kEvent, kTimeout, kWoken, kShutdown };

using TimerId = std::uint64_t;

struct ReactorStats {
  std::uint64_t waits = 0;        // epoll_wait calls
  std::uint64_t demuxed = 0;      // events returned by epoll_wait
  std::uint64_t dispatched = 0;   // events handed to handlers
  std::uint64_t stale = 0;        // events dropped: handler gone, busy or suspended
  std::uint64_t rearms = 0;       // epoll_ctl calls to reactivate a handle
  std::uint64_t kept = 0;         // edge-triggered: events kept for a taken or suspended handler
  std::uint64_t redispatched = 0; // edge-triggered: dispatches run again by the same thread
};

class Reactor {
 public:
  static Result<std::unique_ptr<Reactor>> create(ReactorOptions options = {});
  // What a reactor made with these options waits on: "io_uring" (a shared set of kind
  // kIoUring) or "epoll". INFO's multiplexing_api names it.
  static const char* demultiplexer(const ReactorOptions& options);
  ~Reactor();
  Reactor(const Reactor&) = delete;
  Reactor& operator=(const Reactor&) = delete;

  Result<HandlerId> register_handler(EventHandler* handler, EventMask interest);
  // After removal no event reaches the handler; handle_close follows once no thread is
  // dispatching it (at once if none is).
  Status remove_handler(HandlerId id);
  Status suspend_handler(HandlerId id);
  Status resume_handler(HandlerId id);
  // Replace the I/O interest (kReadEvent and/or kWriteEvent), e.g. to wait for writability.
  Status set_interest(HandlerId id, EventMask interest);

  // A one-shot timer: kTimeoutEvent is dispatched to the handler once `delay` has passed and
  // the handler is neither suspended nor being dispatched.
  Result<TimerId> schedule_timer(HandlerId id, Duration delay);
  bool cancel_timer(TimerId timer);

  // Queue `events` for the handler; dispatched like a timer (never while suspended or busy).
  // Edge-triggered: called by a handler from its own dispatch, the events are dispatched by the
  // same thread right after it returns (how a handler says it left input unread).
  Status notify(HandlerId id, EventMask events);
  // Wake the thread waiting in the handle set (it returns kWoken).
  void notify();

  // After shutdown() every wait returns kShutdown.
  void shutdown();
  bool is_shut_down() const { return shutdown_.load(std::memory_order_acquire); }

  // The leader's half. Returns kEvent with `out` filled and its handle deactivated.
  WaitResult wait_for_event(Duration timeout, Event& out);
  // Takes an event that is already demultiplexed (ready list, fired timers, notifications)
  // without waiting. For the leader.
  bool take_ready(Event& out);
  bool has_ready() const { return ready_hint_.load(std::memory_order_acquire) > 0; }
  // The processing half.
  void dispatch(const Event& ev);
  // Gives back an event that was taken and will not be dispatched by its taker (a thread whose
  // handler turned out long hands the rest of its turn on): the handle is reactivated and the
  // event is taken again, by any thread, as if it had never been taken.
  void release(const Event& ev);

  // Called by the leader just before it blocks in epoll_wait (never with a lock held). The
  // thread sets use it to finish deferred work before the handle set can put them to sleep.
  // Set it before any thread waits.
  void set_before_block_hook(std::function<void()> fn) { before_block_ = std::move(fn); }

  // wait_for_event + dispatch. Returns 1 if an event was dispatched, 0 on timeout or wakeup,
  // -1 after shutdown.
  int handle_events(Duration timeout = kInfinite);
  // For a handler that keeps the one thread of an unshared reactor for long (a runaway script):
  // dispatches that reactor's ready events nested in it, without blocking, and returns how many
  // (0 on any other thread). The shared reactors' equivalent is
  // UnboundThreadSet::serve_while_processing, which falls back to this.
  static int serve_while_dispatching_alone();

  std::size_t handler_count() const { return live_handlers_.load(std::memory_order_relaxed); }
  ReactorStats stats() const;
  bool shared() const { return options_.shared; }
  // Readiness is reported once per arrival (see the top of this file), not while it lasts.
  bool edge_triggered() const { return edge_; }

 public:
  struct Slot;  // internal: one registered handler (defined in reactor.cpp)

 private:
  struct TimerEntry {
    TimePoint deadline;
    TimerId id;
    HandlerId handler;
    bool operator>(const TimerEntry& o) const { return deadline > o.deadline; }
  };

  Reactor(ReactorOptions options, int epfd, int wakefd, std::unique_ptr<detail::UringPoller> uring);
  // The handle set's registrations, over epoll or io_uring (the slot's lock held).
  Status watch(int fd, EventMask interest, HandlerId id);
  void unwatch(int fd, HandlerId id);
  // io_uring: post again the poll requests that ended (the kernel ends a multishot poll when it
  // cannot post a completion) for handlers still registered.
  void rewatch_ended(const std::uint64_t* tokens, int n);
  Slot* slot_for(std::uint32_t index) const;
  Result<std::uint32_t> allocate_slot();
  void free_slot(std::uint32_t index);
  // Taking an event: if the handler is live, not suspended and not being dispatched, mark it
  // busy and (shared mode) disarm its handle, which EPOLLONESHOT already did for an epoll event;
  // fill `out` and return true. Else drop the event. Called by wait_for_event/take_ready.
  bool deactivate(HandlerId id, EventMask events, bool from_epoll, Event& out);
  // After its dispatch: re-arm the handle and queue its pending timer/notify events, or keep it
  // suspended, or remove it (handle_close), as `d` says. Called by dispatch().
  // Edge-triggered, with `may_keep`: if events arrived while it was taken, it stays taken, `ev`
  // gets them and the result is true (the caller dispatches it again).
  bool reactivate(Event& ev, Disposition d, bool may_keep);
  void queue_pending(HandlerId id);
  bool take_pending(Event& out);
  void fire_timers();
  TimePoint next_timer_deadline();

  const ReactorOptions options_;
  const bool edge_;  // shared and HandleSetKind::kEpollEdge or kIoUring
  const int epfd_;
  const int wakefd_;
  // HandleSetKind::kIoUring (shared): demultiplexes instead of epoll_wait on epfd_.
  std::unique_ptr<detail::UringPoller> uring_;  // set at construction, reset by the destructor
  std::atomic<bool> shutdown_{false};
  std::atomic<int> waiters_{0};  // threads inside epoll_wait: never more than one
  std::atomic<std::int64_t> wait_deadline_ns_{0};
  std::function<void()> before_block_;  // written before any wait, read only afterwards

  // The slot table: chunks allocated on demand and never moved, so a slot's address is stable
  // and lookups need no lock.
  static constexpr std::uint32_t kChunkBits = 10;
  static constexpr std::uint32_t kChunkSize = 1u << kChunkBits;
  static constexpr std::uint32_t kMaxChunks = 4096;
  std::unique_ptr<std::atomic<Slot*>[]> chunks_;
  Mutex table_mu_;
  std::vector<std::uint32_t> free_slots_ LF_GUARDED_BY(table_mu_);
  std::uint32_t next_slot_ LF_GUARDED_BY(table_mu_) = 0;
  std::atomic<std::size_t> live_handlers_{0};

  // Events the last epoll_wait returned that no thread has taken yet.
  Mutex ready_mu_;
  std::vector<epoll_event> ready_ LF_GUARDED_BY(ready_mu_);
  std::size_t ready_pos_ LF_GUARDED_BY(ready_mu_) = 0;
  std::atomic<std::size_t> ready_hint_{0};  // ready + pending count, read without the lock
  // Buffer for epoll_wait, used only by the single waiter.
  std::vector<epoll_event> wait_buf_;
  std::vector<std::uint64_t> ended_buf_;  // io_uring: poll requests that ended, same waiter

  // Handlers with timer or notification events waiting to be dispatched.
  Mutex pending_mu_;
  std::vector<HandlerId> pending_ LF_GUARDED_BY(pending_mu_);

  Mutex timer_mu_;
  std::vector<TimerEntry> timers_ LF_GUARDED_BY(timer_mu_);  // a min-heap on deadline
  std::unordered_set<TimerId> cancelled_ LF_GUARDED_BY(timer_mu_);
  TimerId next_timer_ LF_GUARDED_BY(timer_mu_) = 1;
  // timers_.size(), stored under timer_mu_ whenever it changes: a set without timers (the
  // server's) checks it instead of taking timer_mu_ two or three times per turn.
  std::atomic<std::size_t> timers_queued_{0};

  std::atomic<std::uint64_t> n_waits_{0}, n_demuxed_{0}, n_dispatched_{0}, n_stale_{0},
      n_rearms_{0}, n_kept_{0}, n_redispatched_{0};
};

}  // namespace lf
