#include "lf/thread_set.hpp"

#include <algorithm>

namespace lf {

namespace {

// The memberships of the calling thread (a thread may be in several sets, and re-enter one
// through a hybrid wait).
struct Membership {
  const UnboundThreadSet* set;
  void* member;
};
thread_local std::vector<Membership> tls_memberships;
thread_local std::vector<std::pair<const UnboundThreadSet*, void*>> tls_waiters;
// The thread set whose leader role this thread keeps while it processes (lazy promotion), with
// its Member and Waiter there; what hand_off_leadership() hands on.
struct KeptRole {
  UnboundThreadSet* set = nullptr;
  void* member = nullptr;
  void* waiter = nullptr;
};
thread_local KeptRole tls_kept_role;
// The events this thread took in its current turn and has not dispatched yet (events_per_turn >
// 1): a handler that turns out long gives them back (hand_off_leadership), so the connections
// behind them are not held until it returns.
struct TurnRest {
  Reactor* reactor = nullptr;
  Event* events = nullptr;
  int next = 0;   // the next to dispatch
  int count = 0;
};
thread_local TurnRest* tls_turn_rest = nullptr;

}  // namespace

const char* to_string(Promotion p) {
  switch (p) {
    case Promotion::kFifo: return "fifo";
    case Promotion::kLifo: return "lifo";
    case Promotion::kPriority: return "priority";
  }
  return "?";
}

bool parse_promotion(const std::string& s, Promotion& out) {
  if (s == "fifo") out = Promotion::kFifo;
  else if (s == "lifo") out = Promotion::kLifo;
  else if (s == "priority") out = Promotion::kPriority;
  else return false;
  return true;
}

const char* to_string(ThreadState s) {
  switch (s) {
    case ThreadState::kIdle: return "idle";
    case ThreadState::kFollower: return "follower";
    case ThreadState::kLeader: return "leader";
    case ThreadState::kProcessing: return "processing";
  }
  return "?";
}

UnboundThreadSet::UnboundThreadSet(Reactor& reactor, Promotion promotion, int events_per_turn)
    : reactor_(reactor),
      promotion_(promotion),
      events_per_turn_(std::clamp(events_per_turn, 1, kMaxEventsPerTurn)) {}

UnboundThreadSet::~UnboundThreadSet() {
  MutexLock lock(mu_);
  LF_CHECK_MSG(members_.empty(), "UnboundThreadSet destroyed while threads are in it");
}

UnboundThreadSet::Member& UnboundThreadSet::member_for_this_thread(int tag) {
  for (auto& m : tls_memberships) {
    if (m.set == this) return *static_cast<Member*>(m.member);
  }
  auto* m = new Member;
  m->tag = tag;
  m->stats.tid = current_tid();
  members_.push_back(m);
  tls_memberships.push_back(Membership{this, m});
  return *m;
}

void UnboundThreadSet::leave_locked(Member& me) {
  me.stats.refresh_rusage();
  departed_ += ThreadStatsSnapshot::of(me.stats, "leader/follower");
  members_.erase(std::find(members_.begin(), members_.end(), &me));
  tls_memberships.erase(std::find_if(tls_memberships.begin(), tls_memberships.end(),
                                     [this](const Membership& m) { return m.set == this; }));
  delete &me;
}

Status UnboundThreadSet::join(Duration timeout, int priority, int tag) {
  const TimePoint deadline = deadline_after(timeout);
  MutexLock lock(mu_);
  Member& me = member_for_this_thread(tag);
  Waiter w;
  w.priority = priority;
  w.tag = me.tag;
  ++me.depth;
  tls_waiters.emplace_back(this, &w);
  run(me, w, deadline, nullptr);
  tls_waiters.pop_back();
  if (--me.depth == 0) {
    me.state.store(ThreadState::kIdle, std::memory_order_release);
    leave_locked(me);
  }
  if (shutdown_) return Status();
  return Status::error("join: timed out");
}

void UnboundThreadSet::become_leader_locked(Member& me, Waiter& w) {
  leader_ = &w;
  int prior = leaders_now_.fetch_add(1, std::memory_order_acq_rel);
  LF_CHECK_MSG(prior == 0, "two leaders in one thread set");
  me.state.store(ThreadState::kLeader, std::memory_order_release);
}

void UnboundThreadSet::set_before_block_hook(std::function<void()> fn) {
  before_block_ = fn;
  reactor_.set_before_block_hook(std::move(fn));  // the leader's case: before epoll_wait
}

void UnboundThreadSet::run_before_block_hook() {
  if (!before_block_) return;
  mu_.unlock();
  before_block_();
  mu_.lock();
}

void UnboundThreadSet::run(Member& me, Waiter& w, TimePoint deadline,
                           const std::function<bool()>& done) {
  // Whether this thread processed events since it last ran the before-block hook.
  bool deferred = false;
  for (;;) {
    if (done && done()) break;
    if (shutdown_ || Clock::now() >= deadline) break;

    if (leader_ != nullptr && leader_ != &w && deferred) {
      // About to sleep as a follower: finish the deferred work first, then look again (the
      // leader may have changed meanwhile).
      deferred = false;
      run_before_block_hook();
      continue;
    }
    if (leader_ != nullptr && leader_ != &w) {
      // Wait as a follower until promoted (or, in a hybrid wait, until the reply is here).
      w.promoted = false;
      followers_.push_back(&w);
      me.state.store(ThreadState::kFollower, std::memory_order_release);
      me.stats.bump(me.stats.follower_waits);
      while (!w.promoted && !shutdown_ && !(done && done())) {
        if (deadline == TimePoint::max()) {
          w.cv.wait(mu_);
        } else if (!w.cv.wait_until(mu_, deadline)) {
          break;
        }
      }
      if (!w.promoted) {
        remove_follower_locked(&w);
        continue;
      }
      // The promoter made us the leader (leader_ == &w). Re-check from the top before leading:
      // in a hybrid wait the reply may have arrived together with the promotion, and a leader
      // blocked on the handle set would not notice it.
      w.promoted = false;
      continue;
    } else if (leader_ == nullptr) {
      become_leader_locked(me, w);
    } else {
      // Still the leader from the previous round (timeout or wakeup).
      int prior = leaders_now_.fetch_add(1, std::memory_order_acq_rel);
      LF_CHECK_MSG(prior == 0, "two leaders in one thread set");
      me.state.store(ThreadState::kLeader, std::memory_order_release);
    }

    // Lead: wait on the handle set without holding the thread set's lock.
    Event ev;
    mu_.unlock();
    WaitResult r = reactor_.wait_for_event(
        deadline == TimePoint::max() ? kInfinite : std::max(Duration::zero(), deadline - Clock::now()),
        ev);
    mu_.lock();
    if (r != WaitResult::kEvent) {
      leaders_now_.fetch_sub(1, std::memory_order_acq_rel);
      if (r == WaitResult::kShutdown && !shutdown_) {
        shutdown_ = true;
        for (Waiter* f : followers_) f->cv.notify_one();
      }
      continue;  // leader_ is still &w: re-check done/deadline/shutdown, then lead again
    }

    // Took an event with its handle deactivated (and, with events_per_turn > 1, a few more
    // that were already demultiplexed): promote a follower, then process them here.
    Event more[kMaxEventsPerTurn];
    int taken = 0;
    while (taken + 1 < events_per_turn_ && reactor_.take_ready(more[taken])) ++taken;
    const KeptRole outer_kept = tls_kept_role;
    if (!lazy_promotion_ || reactor_.has_ready()) {
      promote_locked(me);
    } else {
      // Keep the role (leader_ stays &w) while processing: not waiting on the handle set. A
      // handler that runs long hands it on (hand_off_leadership).
      leaders_now_.fetch_sub(1, std::memory_order_acq_rel);
      tls_kept_role = KeptRole{this, &me, &w};
    }
    me.state.store(ThreadState::kProcessing, std::memory_order_release);
    mu_.unlock();
    TurnRest rest{&reactor_, more, 0, taken};
    TurnRest* const outer_rest = tls_turn_rest;
    tls_turn_rest = &rest;
    reactor_.dispatch(ev);
    while (rest.next < rest.count) reactor_.dispatch(more[rest.next++]);
    tls_turn_rest = outer_rest;
    tls_kept_role = outer_kept;
    deferred = true;
    me.stats.events.fetch_add(static_cast<std::uint64_t>(rest.next) + 1, std::memory_order_relaxed);
    mu_.lock();
  }
  if (deferred) run_before_block_hook();
  if (leader_ == &w) {
    // Leaving while holding the leader role: hand it on so the handle set is not orphaned.
    leaders_now_.fetch_add(1, std::memory_order_acq_rel);
    promote_locked(me);
  }
  me.state.store(me.depth > 1 ? ThreadState::kProcessing : ThreadState::kIdle,
                 std::memory_order_release);
}

void UnboundThreadSet::promote_locked(Member& me) {
  leaders_now_.fetch_sub(1, std::memory_order_acq_rel);
  leader_ = nullptr;
  if (followers_.empty()) return;
  auto it = followers_.begin();
  switch (promotion_) {
    case Promotion::kFifo:
      break;
    case Promotion::kLifo:
      it = followers_.end() - 1;
      break;
    case Promotion::kPriority:
      it = std::max_element(followers_.begin(), followers_.end(),
                            [](const Waiter* a, const Waiter* b) { return a->priority < b->priority; });
      break;
  }
  Waiter* next = *it;
  followers_.erase(it);
  leader_ = next;
  next->promoted = true;
  me.stats.bump(me.stats.promotions);
  if (on_promote_) on_promote_(next->tag);
  next->cv.notify_one();
}

void UnboundThreadSet::remove_follower_locked(Waiter* w) {
  auto it = std::find(followers_.begin(), followers_.end(), w);
  if (it != followers_.end()) followers_.erase(it);
}

void UnboundThreadSet::hand_off_leadership() {
  if (TurnRest* rest = tls_turn_rest; rest != nullptr && rest->next < rest->count) {
    for (int i = rest->next; i < rest->count; ++i) rest->reactor->release(rest->events[i]);
    rest->next = rest->count;
  }
  const KeptRole kept = tls_kept_role;
  if (kept.set == nullptr) return;
  tls_kept_role = KeptRole{};
  kept.set->hand_off_kept_role(*static_cast<Member*>(kept.member), static_cast<Waiter*>(kept.waiter));
}

void UnboundThreadSet::hand_off_kept_role(Member& me, Waiter* w) {
  MutexLock lock(mu_);
  if (leader_ != w) return;
  leaders_now_.fetch_add(1, std::memory_order_acq_rel);  // promote_locked gives up a leader
  promote_locked(me);
}

int UnboundThreadSet::serve_while_processing() {
  hand_off_leadership();  // a role kept while processing goes first: the turn below is separate
  if (tls_waiters.empty()) return Reactor::serve_while_dispatching_alone();
  auto* set = const_cast<UnboundThreadSet*>(tls_waiters.back().first);
  for (auto& m : tls_memberships) {
    if (m.set == set) return set->serve_one_turn(*static_cast<Member*>(m.member));
  }
  return 0;
}

int UnboundThreadSet::serve_one_turn(Member& me) {
  Waiter w;  // this turn's place as the leader; nobody waits on it
  w.tag = me.tag;
  Event events[kMaxEventsPerTurn];
  int taken = 0;
  {
    MutexLock lock(mu_);
    if (shutdown_ || leader_ != nullptr) return 0;  // the handle set is watched
    become_leader_locked(me, w);
  }
  const WaitResult r = reactor_.wait_for_event(Duration::zero(), events[0]);
  if (r == WaitResult::kEvent) {
    taken = 1;
    while (taken < events_per_turn_ && reactor_.take_ready(events[taken])) ++taken;
  }
  {
    MutexLock lock(mu_);
    if (r == WaitResult::kShutdown && !shutdown_) {
      shutdown_ = true;
      for (Waiter* f : followers_) f->cv.notify_one();
    }
    promote_locked(me);  // to a thread that came back meanwhile, or vacant
    me.state.store(ThreadState::kProcessing, std::memory_order_release);
  }
  TurnRest* const outer_rest = tls_turn_rest;  // given back already; not this turn's to give
  tls_turn_rest = nullptr;
  for (int i = 0; i < taken; ++i) reactor_.dispatch(events[i]);
  tls_turn_rest = outer_rest;
  me.stats.events.fetch_add(static_cast<std::uint64_t>(taken), std::memory_order_relaxed);
  return taken;
}

Status UnboundThreadSet::promote_new_leader() {
  MutexLock lock(mu_);
  Waiter* mine = nullptr;
  for (auto it = tls_waiters.rbegin(); it != tls_waiters.rend(); ++it) {
    if (it->first == this) {
      mine = static_cast<Waiter*>(it->second);
      break;
    }
  }
  if (mine == nullptr || leader_ != mine) return Status::error("promote_new_leader: caller is not the leader");
  for (auto& m : tls_memberships) {
    if (m.set == this) {
      promote_locked(*static_cast<Member*>(m.member));
      return Status();
    }
  }
  return Status::error("promote_new_leader: caller is not in the thread set");
}

void UnboundThreadSet::shutdown() {
  {
    MutexLock lock(mu_);
    shutdown_ = true;
    for (Waiter* f : followers_) f->cv.notify_one();
  }
  reactor_.shutdown();
}

bool UnboundThreadSet::is_shut_down() const {
  MutexLock lock(mu_);
  return shutdown_;
}

std::vector<UnboundThreadSet::ThreadInfo> UnboundThreadSet::threads() const {
  MutexLock lock(mu_);
  std::vector<ThreadInfo> out;
  out.reserve(members_.size());
  for (const Member* m : members_) {
    out.push_back(ThreadInfo{m->tag, m->state.load(std::memory_order_acquire),
                             ThreadStatsSnapshot::of(m->stats, "leader/follower")});
  }
  return out;
}

std::size_t UnboundThreadSet::follower_count() const {
  MutexLock lock(mu_);
  return followers_.size();
}

ThreadStatsSnapshot UnboundThreadSet::totals() const {
  MutexLock lock(mu_);
  ThreadStatsSnapshot sum = departed_;
  for (const Member* m : members_) sum += ThreadStatsSnapshot::of(m->stats, "");
  sum.role = "leader/follower";
  return sum;
}

void UnboundThreadSet::set_promotion_observer(std::function<void(int)> fn) {
  MutexLock lock(mu_);
  on_promote_ = std::move(fn);
}

}  // namespace lf
