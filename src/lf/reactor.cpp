#include "lf/reactor.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <functional>

#include "uring_poller.hpp"

namespace lf {

// One registered handler. Everything in it is guarded by its own lock, which is what makes
// remove, suspend and resume atomic with respect to each other.
struct Reactor::Slot {
  Mutex mu;
  EventHandler* handler LF_GUARDED_BY(mu) = nullptr;
  int fd LF_GUARDED_BY(mu) = -1;
  std::uint32_t gen LF_GUARDED_BY(mu) = 0;
  EventMask interest LF_GUARDED_BY(mu) = 0;
  // Timer/notify events not yet dispatched; edge-triggered, also the readiness epoll reported
  // while the handler was taken or suspended (taken-and-more-arrived).
  EventMask pending LF_GUARDED_BY(mu) = 0;
  bool live LF_GUARDED_BY(mu) = false;       // registered and not removed
  bool busy LF_GUARDED_BY(mu) = false;       // a thread is dispatching it (taken)
  bool suspended LF_GUARDED_BY(mu) = false;  // deactivated by the application
  bool armed LF_GUARDED_BY(mu) = false;      // epoll may report it (always, once registered, in ET)
  bool queued LF_GUARDED_BY(mu) = false;     // in the pending list
};

namespace {

constexpr std::uint64_t kWakeupToken = ~std::uint64_t{0};

std::uint32_t to_epoll(EventMask m) {
  std::uint32_t e = 0;
  if (m & kReadEvent) e |= EPOLLIN | EPOLLRDHUP;
  if (m & kWriteEvent) e |= EPOLLOUT;
  return e;
}

EventMask from_epoll(std::uint32_t e) {
  EventMask m = 0;
  if (e & (EPOLLIN | EPOLLPRI)) m |= kReadEvent;
  if (e & EPOLLOUT) m |= kWriteEvent;
  // A hang-up or error is also reported as readable so the handler reads and sees EOF/errno.
  if (e & (EPOLLHUP | EPOLLERR | EPOLLRDHUP)) m |= kCloseEvent | kReadEvent;
  return m;
}

// How many times in a row the thread that dispatched an edge-triggered handler runs it again for
// what arrived meanwhile, before it queues the rest for any thread (so one busy client cannot
// keep a thread from the others for long).
constexpr int kRedispatchLimit = 8;

}  // namespace

const char* to_string(HandleSetKind k) {
  switch (k) {
    case HandleSetKind::kEpollOneShot: return "epoll-oneshot";
    case HandleSetKind::kEpollEdge: return "epoll-et";
    case HandleSetKind::kIoUring: return "io_uring";
    case HandleSetKind::kUringCompletion: return "uring-completion";
  }
  return "?";
}

bool parse_handle_set(std::string_view s, HandleSetKind& out) {
  if (s == "epoll-oneshot") {
    out = HandleSetKind::kEpollOneShot;
  } else if (s == "epoll-et") {
    out = HandleSetKind::kEpollEdge;
  } else if (s == "io_uring") {
    out = HandleSetKind::kIoUring;
  } else if (s == "uring-completion") {
    out = HandleSetKind::kUringCompletion;
  } else {
    return false;
  }
  return true;
}

const char* Reactor::demultiplexer(const ReactorOptions& options) {
  return options.shared && options.handle_set == HandleSetKind::kIoUring ? "io_uring" : "epoll";
}

Result<std::unique_ptr<Reactor>> Reactor::create(ReactorOptions options) {
  if (options.max_events_per_wait < 1) options.max_events_per_wait = 1;
  if (options.handle_set == HandleSetKind::kUringCompletion) {
    return Status::error("uring-completion is not a reactor's handle set (the lf model runs it on lf::UringProactor)");
  }
  std::unique_ptr<detail::UringPoller> uring;
  if (demultiplexer(options) == std::string_view("io_uring")) {
    auto p = detail::UringPoller::create(4096);
    if (!p.ok()) return Status::error("handle set io_uring: " + p.status().message());
    uring = std::move(*p);
  }
  int epfd = ::epoll_create1(EPOLL_CLOEXEC);
  if (epfd < 0) return Status::from_errno("epoll_create1");
  int wakefd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wakefd < 0) {
    Status st = Status::from_errno("eventfd");
    ::close(epfd);
    return st;
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kWakeupToken;
  Status st = uring ? uring->add(wakefd, EPOLLIN, kWakeupToken) : Status();
  if (st.ok() && ::epoll_ctl(epfd, EPOLL_CTL_ADD, wakefd, &ev) != 0) st = Status::from_errno("epoll_ctl(wakeup)");
  if (!st.ok()) {
    ::close(wakefd);
    ::close(epfd);
    return st;
  }
  return std::unique_ptr<Reactor>(new Reactor(options, epfd, wakefd, std::move(uring)));
}

Reactor::Reactor(ReactorOptions options, int epfd, int wakefd, std::unique_ptr<detail::UringPoller> uring)
    : options_(options),
      edge_(options.shared && options.handle_set != HandleSetKind::kEpollOneShot),
      epfd_(epfd),
      wakefd_(wakefd),
      uring_(std::move(uring)),
      chunks_(new std::atomic<Slot*>[kMaxChunks]),
      wait_buf_(static_cast<std::size_t>(options.max_events_per_wait)),
      ended_buf_(uring_ ? wait_buf_.size() : 0) {
  for (std::uint32_t i = 0; i < kMaxChunks; ++i) chunks_[i].store(nullptr);
  MutexLock lock(ready_mu_);
  ready_.reserve(static_cast<std::size_t>(options.max_events_per_wait));
}

Reactor::~Reactor() {
  // Handlers still registered are closed so their owners can free them; no thread may be
  // dispatching by now (the thread sets have been joined).
  for (std::uint32_t c = 0; c < kMaxChunks; ++c) {
    Slot* chunk = chunks_[c].load();
    if (chunk == nullptr) break;
    for (std::uint32_t i = 0; i < kChunkSize; ++i) {
      Slot& s = chunk[i];
      EventHandler* h = nullptr;
      int fd = -1;
      {
        MutexLock lock(s.mu);
        LF_CHECK_MSG(!s.busy, "Reactor destroyed while a handler is being dispatched");
        if (s.live) {
          s.live = false;
          h = s.handler;
          fd = s.fd;
          if (s.armed || s.suspended) unwatch(fd, HandlerId{c * kChunkSize + i, s.gen});
        }
      }
      if (h != nullptr) h->handle_close(fd);
    }
  }
  for (std::uint32_t c = 0; c < kMaxChunks; ++c) delete[] chunks_[c].load();
  uring_.reset();  // before the eventfd its wake-up poll watches
  ::close(wakefd_);
  ::close(epfd_);
}

Reactor::Slot* Reactor::slot_for(std::uint32_t index) const {
  Slot* chunk = chunks_[index >> kChunkBits].load(std::memory_order_acquire);
  if (chunk == nullptr) return nullptr;
  return &chunk[index & (kChunkSize - 1)];
}

Result<std::uint32_t> Reactor::allocate_slot() {
  MutexLock lock(table_mu_);
  if (!free_slots_.empty()) {
    std::uint32_t index = free_slots_.back();
    free_slots_.pop_back();
    return index;
  }
  std::uint32_t index = next_slot_;
  std::uint32_t c = index >> kChunkBits;
  if (c >= kMaxChunks) return Status::error("reactor: too many handlers");
  if (chunks_[c].load(std::memory_order_relaxed) == nullptr) {
    chunks_[c].store(new Slot[kChunkSize], std::memory_order_release);
  }
  ++next_slot_;
  return index;
}

void Reactor::free_slot(std::uint32_t index) {
  live_handlers_.fetch_sub(1, std::memory_order_relaxed);
  MutexLock lock(table_mu_);
  free_slots_.push_back(index);
}

// The epoll flags every registration of this reactor carries.
static std::uint32_t mode_flags(const ReactorOptions& o) {
  if (!o.shared) return 0;
  return o.handle_set == HandleSetKind::kEpollOneShot ? std::uint32_t{EPOLLONESHOT} : std::uint32_t{EPOLLET};
}

// Make epoll report the slot's interest again (one-shot in the shared mode).
static Status arm(int epfd, std::uint32_t flags, Reactor::Slot& s, HandlerId id) LF_REQUIRES(s.mu);
// Stop epoll from reporting the slot.
static Status disarm(int epfd, Reactor::Slot& s) LF_REQUIRES(s.mu);

static Status arm(int epfd, std::uint32_t flags, Reactor::Slot& s, HandlerId id) {
  epoll_event ev{};
  ev.events = to_epoll(s.interest) | flags;
  ev.data.u64 = id.raw();
  if (::epoll_ctl(epfd, EPOLL_CTL_MOD, s.fd, &ev) != 0) return Status::from_errno("epoll_ctl(MOD)");
  s.armed = true;
  return Status();
}

static Status disarm(int epfd, Reactor::Slot& s) {
  epoll_event ev{};
  ev.events = 0;
  if (::epoll_ctl(epfd, EPOLL_CTL_MOD, s.fd, &ev) != 0) return Status::from_errno("epoll_ctl(MOD 0)");
  s.armed = false;
  return Status();
}

Result<HandlerId> Reactor::register_handler(EventHandler* handler, EventMask interest) {
  LF_CHECK(handler != nullptr);
  int fd = handler->get_handle();
  if (fd < 0) return Status::error("register_handler: invalid handle");
  auto index = allocate_slot();
  if (!index.ok()) return index.status();
  Slot* s = slot_for(*index);
  HandlerId id;
  bool missed = false;
  {
    MutexLock lock(s->mu);
    s->gen = s->gen + 1 == 0 ? 1 : s->gen + 1;
    id = HandlerId{*index, s->gen};
    s->handler = handler;
    s->fd = fd;
    s->interest = interest & (kReadEvent | kWriteEvent);
    s->busy = s->suspended = s->queued = false;
    s->pending = handler->on_registered(id);
    missed = s->pending != 0;
    Status st = watch(fd, s->interest, id);
    if (!st.ok()) {
      s->handler = nullptr;
      s->pending = 0;
      lock.unlock();
      live_handlers_.fetch_add(1, std::memory_order_relaxed);
      free_slot(*index);
      return st;
    }
    s->armed = true;
    s->live = true;
    s->queued = missed;
  }
  live_handlers_.fetch_add(1, std::memory_order_relaxed);
  if (missed) queue_pending(id);
  return id;
}

Status Reactor::remove_handler(HandlerId id) {
  Slot* s = slot_for(id.slot);
  if (s == nullptr) return Status::error("remove_handler: unknown handler");
  EventHandler* h = nullptr;
  int fd = -1;
  {
    MutexLock lock(s->mu);
    if (!s->live || s->gen != id.gen) return Status::error("remove_handler: handler not registered");
    s->live = false;
    s->pending = 0;
    unwatch(s->fd, id);
    s->armed = false;
    if (s->busy) return Status();  // the dispatching thread closes it when it returns
    h = s->handler;
    fd = s->fd;
    s->handler = nullptr;
  }
  h->handle_close(fd);
  free_slot(id.slot);
  return Status();
}

Status Reactor::suspend_handler(HandlerId id) {
  Slot* s = slot_for(id.slot);
  if (s == nullptr) return Status::error("suspend_handler: unknown handler");
  MutexLock lock(s->mu);
  if (!s->live || s->gen != id.gen) return Status::error("suspend_handler: handler not registered");
  s->suspended = true;
  // Edge-triggered: the handle stays registered; what epoll reports meanwhile waits in the slot.
  if (s->armed && !s->busy && !edge_) return disarm(epfd_, *s);
  return Status();
}

Status Reactor::resume_handler(HandlerId id) {
  Slot* s = slot_for(id.slot);
  if (s == nullptr) return Status::error("resume_handler: unknown handler");
  bool queue = false;
  {
    MutexLock lock(s->mu);
    if (!s->live || s->gen != id.gen) return Status::error("resume_handler: handler not registered");
    if (!s->suspended) return Status();
    s->suspended = false;
    if (s->busy) return Status();  // re-armed when its dispatch returns
    if (!s->armed) {
      Status st = arm(epfd_, mode_flags(options_), *s, id);
      if (!st.ok()) return st;
      n_rearms_.fetch_add(1, std::memory_order_relaxed);
    }
    if (s->pending != 0 && !s->queued) queue = s->queued = true;
  }
  if (queue) queue_pending(id);
  return Status();
}

Status Reactor::set_interest(HandlerId id, EventMask interest) {
  Slot* s = slot_for(id.slot);
  if (s == nullptr) return Status::error("set_interest: unknown handler");
  MutexLock lock(s->mu);
  if (!s->live || s->gen != id.gen) return Status::error("set_interest: handler not registered");
  interest &= kReadEvent | kWriteEvent;
  if (interest == s->interest) return Status();
  s->interest = interest;
  // One-shot: a busy slot is disarmed and reactivate() re-arms it with the new interest.
  // Single-threaded mode: a busy slot stays armed and reactivate() leaves it alone, so apply it
  // now; the only thread that could take its events is the one dispatching it. Edge-triggered:
  // the slot is always armed and events for a busy one wait in it, so apply it now too (the
  // modification reports the handle again if it is ready for the new interest).
  if (s->armed && (!s->busy || !options_.shared || edge_)) {
    if (!uring_) return arm(epfd_, mode_flags(options_), *s, id);
    unwatch(s->fd, id);  // io_uring: a poll request's mask is replaced by a new request
    return watch(s->fd, s->interest, id);
  }
  return Status();
}

Status Reactor::watch(int fd, EventMask interest, HandlerId id) {
  // A multishot poll's mask uses poll's bits, which have epoll's values.
  if (uring_) return uring_->add(fd, to_epoll(interest), id.raw());
  epoll_event ev{};
  ev.events = to_epoll(interest) | mode_flags(options_);
  ev.data.u64 = id.raw();
  if (::epoll_ctl(epfd_, EPOLL_CTL_ADD, fd, &ev) != 0) return Status::from_errno("epoll_ctl(ADD)");
  return Status();
}

void Reactor::unwatch(int fd, HandlerId id) {
  // io_uring: completions already posted for `id` are dropped by the generation check.
  if (uring_) {
    (void)uring_->cancel(id.raw());
  } else {
    ::epoll_ctl(epfd_, EPOLL_CTL_DEL, fd, nullptr);
  }
}

void Reactor::rewatch_ended(const std::uint64_t* tokens, int n) {
  for (int i = 0; i < n; ++i) {
    if (tokens[i] == kWakeupToken) {
      (void)uring_->add(wakefd_, EPOLLIN, kWakeupToken);
      continue;
    }
    const HandlerId id = HandlerId::from_raw(tokens[i]);
    Slot* s = slot_for(id.slot);
    if (s == nullptr) continue;
    MutexLock lock(s->mu);
    if (!s->live || s->gen != id.gen) continue;
    (void)uring_->add(s->fd, to_epoll(s->interest), tokens[i]);
    n_rearms_.fetch_add(1, std::memory_order_relaxed);
  }
}

Result<TimerId> Reactor::schedule_timer(HandlerId id, Duration delay) {
  TimePoint deadline = deadline_after(delay);
  TimerId tid;
  {
    MutexLock lock(timer_mu_);
    tid = next_timer_++;
    timers_.push_back(TimerEntry{deadline, tid, id});
    std::push_heap(timers_.begin(), timers_.end(), std::greater<>());
    timers_queued_.store(timers_.size(), std::memory_order_seq_cst);
  }
  // Wake the waiter if it sleeps past the new deadline. Both this pair (store the count, load
  // the deadline) and the waiter's (store the deadline, load the count) are sequentially
  // consistent, so at least one side sees the other: a waiter that chose its deadline before
  // this timer existed either finds it on its second look or is woken here.
  std::int64_t waiting_until = wait_deadline_ns_.load(std::memory_order_seq_cst);
  if (waiting_until != 0 && deadline.time_since_epoch().count() < waiting_until) notify();
  return tid;
}

bool Reactor::cancel_timer(TimerId timer) {
  MutexLock lock(timer_mu_);
  for (const auto& t : timers_) {
    if (t.id == timer) return cancelled_.insert(timer).second;
  }
  return false;
}

void Reactor::fire_timers() {
  // As looking under the lock: a timer scheduled after this load is seen next turn either way.
  if (timers_queued_.load(std::memory_order_acquire) == 0) return;
  std::vector<HandlerId> due;
  {
    MutexLock lock(timer_mu_);
    if (timers_.empty()) return;
    TimePoint now = Clock::now();
    while (!timers_.empty() && timers_.front().deadline <= now) {
      std::pop_heap(timers_.begin(), timers_.end(), std::greater<>());
      TimerEntry t = timers_.back();
      timers_.pop_back();
      if (cancelled_.erase(t.id) == 0) due.push_back(t.handler);
    }
    timers_queued_.store(timers_.size(), std::memory_order_release);
  }
  for (HandlerId id : due) (void)notify(id, kTimeoutEvent);
}

TimePoint Reactor::next_timer_deadline() {
  if (timers_queued_.load(std::memory_order_seq_cst) == 0) return TimePoint::max();
  MutexLock lock(timer_mu_);
  return timers_.empty() ? TimePoint::max() : timers_.front().deadline;
}

Status Reactor::notify(HandlerId id, EventMask events) {
  Slot* s = slot_for(id.slot);
  if (s == nullptr) return Status::error("notify: unknown handler");
  bool queue = false;
  {
    MutexLock lock(s->mu);
    if (!s->live || s->gen != id.gen) return Status::error("notify: handler not registered");
    s->pending |= events;
    // A busy or suspended handler gets its pending events when it is reactivated.
    if (!s->busy && !s->suspended && !s->queued) queue = s->queued = true;
  }
  if (queue) queue_pending(id);
  return Status();
}

void Reactor::queue_pending(HandlerId id) {
  {
    MutexLock lock(pending_mu_);
    pending_.push_back(id);
  }
  ready_hint_.fetch_add(1, std::memory_order_release);
  notify();
}

void Reactor::notify() {
  std::uint64_t one = 1;
  ssize_t n = ::write(wakefd_, &one, sizeof one);
  (void)n;  // EAGAIN means the counter is already non-zero: the waiter will wake anyway
}

void Reactor::shutdown() {
  shutdown_.store(true, std::memory_order_release);
  notify();
}

bool Reactor::deactivate(HandlerId id, EventMask events, bool from_epoll, Event& out) {
  Slot* s = slot_for(id.slot);
  if (s == nullptr) return false;
  MutexLock lock(s->mu);
  if (!from_epoll) s->queued = false;
  if (s->live && s->gen == id.gen && (s->busy || s->suspended) && edge_ && from_epoll) {
    // Taken or suspended, and more arrived: epoll will not say so again, so the slot keeps it
    // for the thread that releases the handler (reactivate) or for resume_handler.
    s->pending |= events;
    n_kept_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  if (!s->live || s->gen != id.gen || s->busy || s->suspended) {
    // Gone, or already deactivated: drop it. Level-triggered readiness is reported again when
    // the handle is re-armed, and timer/notify events stay in `pending` until then.
    n_stale_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  events |= s->pending;
  s->pending = 0;
  if (events == 0) return false;
  if (options_.shared && !edge_) {
    if (from_epoll) {
      s->armed = false;  // EPOLLONESHOT disarmed it when it fired
    } else if (s->armed) {
      (void)disarm(epfd_, *s);  // a timer or notification: deactivate before dispatching
    }
  }
  s->busy = true;
  out.id = id;
  out.events = events;
  out.handler = s->handler;
  out.handle = s->fd;
  return true;
}

bool Reactor::take_pending(Event& out) {
  for (;;) {
    HandlerId id;
    {
      MutexLock lock(pending_mu_);
      if (pending_.empty()) return false;
      id = pending_.front();
      pending_.erase(pending_.begin());
    }
    ready_hint_.fetch_sub(1, std::memory_order_release);
    if (deactivate(id, 0, false, out)) return true;
  }
}

bool Reactor::take_ready(Event& out) {
  if (ready_hint_.load(std::memory_order_acquire) == 0) return false;
  for (;;) {
    epoll_event ev;
    {
      MutexLock lock(ready_mu_);
      if (ready_pos_ >= ready_.size()) break;
      ev = ready_[ready_pos_++];
      if (ready_pos_ == ready_.size()) {
        ready_.clear();
        ready_pos_ = 0;
      }
    }
    ready_hint_.fetch_sub(1, std::memory_order_release);
    if (deactivate(HandlerId::from_raw(ev.data.u64), from_epoll(ev.events), true, out)) return true;
  }
  return take_pending(out);
}

WaitResult Reactor::wait_for_event(Duration timeout, Event& out) {
  const TimePoint deadline = deadline_after(timeout);
  for (;;) {
    if (is_shut_down()) return WaitResult::kShutdown;
    fire_timers();
    if (take_ready(out)) return WaitResult::kEvent;

    TimePoint until = std::min(deadline, next_timer_deadline());
    if (before_block_) {
      before_block_();
      // The hook may have queued notifications; take them rather than sleep on them.
      if (take_ready(out)) return WaitResult::kEvent;
    }
    int prior = waiters_.fetch_add(1, std::memory_order_acq_rel);
    LF_CHECK_MSG(prior == 0, "two threads wait on one handle set at once");
    // Publish the deadline, then look at the timers again (see schedule_timer): one scheduled by
    // another thread since `until` was chosen would otherwise sleep until some other event.
    auto publish = [this](TimePoint t) {
      wait_deadline_ns_.store(t == TimePoint::max() ? INT64_MAX : t.time_since_epoch().count(),
                              std::memory_order_seq_cst);
    };
    publish(until);
    for (TimePoint next = next_timer_deadline(); next < until; next = next_timer_deadline()) {
      until = next;
      publish(until);
    }
    int ended = 0;
    int n = uring_ ? uring_->wait(wait_buf_.data(), static_cast<int>(wait_buf_.size()), epoll_timeout_ms(until),
                                  ended_buf_.data(), ended, static_cast<int>(ended_buf_.size()))
                   : ::epoll_wait(epfd_, wait_buf_.data(), static_cast<int>(wait_buf_.size()),
                                  epoll_timeout_ms(until));
    wait_deadline_ns_.store(0, std::memory_order_release);
    waiters_.fetch_sub(1, std::memory_order_acq_rel);
    n_waits_.fetch_add(1, std::memory_order_relaxed);
    if (n < 0) {
      LF_CHECK_MSG(uring_ || errno == EINTR, "epoll_wait failed");
      n = 0;
    }
    if (ended > 0) rewatch_ended(ended_buf_.data(), ended);

    bool woken = false;
    std::size_t added = 0;
    // The first event goes to this thread without passing through the ready list (one lock and
    // two atomic counts less per wait). The list is empty here (take_ready emptied it before the
    // wait, and only the one waiter fills it); were it not, its events would go first, as before.
    int first = -1;
    {
      MutexLock lock(ready_mu_);
      for (int i = 0; i < n; ++i) {
        if (wait_buf_[i].data.u64 == kWakeupToken) {
          std::uint64_t v;
          while (::read(wakefd_, &v, sizeof v) > 0) {
          }
          woken = true;
        } else if (first < 0 && ready_pos_ >= ready_.size()) {
          first = i;
        } else {
          ready_.push_back(wait_buf_[i]);
          ++added;
        }
      }
    }
    if (added > 0) ready_hint_.fetch_add(added, std::memory_order_release);
    if (added > 0 || first >= 0) {
      n_demuxed_.fetch_add(added + (first >= 0 ? 1 : 0), std::memory_order_relaxed);
    }
    fire_timers();
    // Before the timers' notifications (take_ready would also take the list before them).
    if (first >= 0 && deactivate(HandlerId::from_raw(wait_buf_[first].data.u64),
                                 from_epoll(wait_buf_[first].events), true, out)) {
      return WaitResult::kEvent;
    }
    if (take_ready(out)) return WaitResult::kEvent;
    if (is_shut_down()) return WaitResult::kShutdown;
    if (woken) return WaitResult::kWoken;
    if (Clock::now() >= deadline) return WaitResult::kTimeout;
  }
}

void Reactor::release(const Event& ev) {
  Slot* s = slot_for(ev.id.slot);
  {
    MutexLock lock(s->mu);
    // Kept for the next taker (a timer or notification would be lost otherwise); readiness
    // that came from epoll is also reported again once the handle is re-armed: the handler sees
    // at most one more event than it would have, and readers treat a spurious one as nothing.
    s->pending |= ev.events;
  }
  Event given = ev;
  (void)reactivate(given, Disposition::kResume, /*may_keep=*/false);
}

void Reactor::dispatch(const Event& ev) {
  Event cur = ev;
  for (int again = 0;; ++again) {
    n_dispatched_.fetch_add(1, std::memory_order_relaxed);
    Disposition d = cur.handler->handle_event(cur.handle, cur.events);
    // Edge-triggered: what arrived while it ran is run now, by this thread, with no system call.
    if (!reactivate(cur, d, /*may_keep=*/again < kRedispatchLimit)) return;
    n_redispatched_.fetch_add(1, std::memory_order_relaxed);
  }
}

bool Reactor::reactivate(Event& ev, Disposition d, bool may_keep) {
  Slot* s = slot_for(ev.id.slot);
  EventHandler* close_handler = nullptr;
  bool queue = false;
  {
    MutexLock lock(s->mu);
    LF_CHECK(s->busy);
    s->busy = false;
    if (!s->live || s->gen != ev.id.gen) {
      close_handler = s->handler;  // removed while it was dispatched
    } else if (d == Disposition::kRemove) {
      s->live = false;
      s->pending = 0;
      unwatch(s->fd, ev.id);
      s->armed = false;
      close_handler = s->handler;
    } else {
      if (d == Disposition::kKeepSuspended) s->suspended = true;
      if (s->suspended) {
        if (s->armed && !edge_) (void)disarm(epfd_, *s);
      } else if (edge_ && may_keep && s->pending != 0) {
        // Taken, and more arrived: it stays taken and this thread runs it again.
        s->busy = true;
        ev.events = s->pending;
        s->pending = 0;
        return true;
      } else {
        if (!s->armed) {
          Status st = arm(epfd_, mode_flags(options_), *s, ev.id);
          LF_CHECK_MSG(st.ok(), st.message().c_str());
          n_rearms_.fetch_add(1, std::memory_order_relaxed);
        }
        if (s->pending != 0 && !s->queued) queue = s->queued = true;
      }
    }
    if (close_handler != nullptr) s->handler = nullptr;
  }
  if (queue) queue_pending(ev.id);
  if (close_handler != nullptr) {
    close_handler->handle_close(ev.handle);
    free_slot(ev.id.slot);
  }
  return false;
}

namespace {
// The unshared reactor whose event this thread is dispatching (handle_events), if any.
thread_local Reactor* t_alone = nullptr;
}  // namespace

int Reactor::serve_while_dispatching_alone() {
  Reactor* const r = t_alone;
  if (r == nullptr) return 0;
  t_alone = nullptr;  // what it dispatches is not to serve in turn
  int n = 0;
  Event ev;
  while (n < r->options_.max_events_per_wait && r->wait_for_event(Duration::zero(), ev) == WaitResult::kEvent) {
    r->dispatch(ev);
    ++n;
  }
  t_alone = r;
  return n;
}

int Reactor::handle_events(Duration timeout) {
  Event ev;
  switch (wait_for_event(timeout, ev)) {
    case WaitResult::kEvent:
      if (!options_.shared) {
        t_alone = this;
        dispatch(ev);
        t_alone = nullptr;
        return 1;
      }
      dispatch(ev);
      return 1;
    case WaitResult::kShutdown:
      return -1;
    default:
      return 0;
  }
}

ReactorStats Reactor::stats() const {
  ReactorStats st;
  st.waits = n_waits_.load(std::memory_order_relaxed);
  st.demuxed = n_demuxed_.load(std::memory_order_relaxed);
  st.dispatched = n_dispatched_.load(std::memory_order_relaxed);
  st.stale = n_stale_.load(std::memory_order_relaxed);
  st.rearms = n_rearms_.load(std::memory_order_relaxed);
  st.kept = n_kept_.load(std::memory_order_relaxed);
  st.redispatched = n_redispatched_.load(std::memory_order_relaxed);
  return st;
}

}  // namespace lf
