#include "lf/unbound_thread_set.hpp"

#include "connection.hpp"
#include "serve_hook.hpp"

#include <algorithm>

namespace lf {

// A thread's membership in one set: its state and statistics. One per thread and set, shared by
// the thread's nested turns there.
struct UnboundThreadSet::Member {
  int tag = -1;
  std::atomic<ThreadState> state{ThreadState::kIdle};
  ThreadStats stats;
};

// One stay of a thread in a set: a join(), or a join_until() that may be nested in a handler
// the thread dispatches for the same set or another one. Lives on the thread's stack; only its
// own thread touches it, so it needs no lock.
struct UnboundThreadSet::Turn {
  Turn(UnboundThreadSet& s, Waiter& w) : set(s), self(w) {}
  UnboundThreadSet& set;
  Waiter& self;
  Member* member = nullptr;
  bool owns_member = false;  // the thread's outermost turn in this set
  bool keeps_role = false;   // holds the leader role while processing (lazy promotion)
  Turn* outer = nullptr;     // the turn this one is nested in, in any set
  // The events taken as the leader and being processed now: rest[next..count) are still to
  // dispatch. A handler that turns out long gives them back (promote_new_leader()).
  Event* rest = nullptr;
  int next = 0;
  int count = 0;
};

thread_local UnboundThreadSet::Turn* UnboundThreadSet::current_turn_ = nullptr;

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
      events_per_turn_(std::clamp(events_per_turn, 1, kMaxEventsPerTurn)),
      role_(promotion) {}

UnboundThreadSet::~UnboundThreadSet() {
  MutexLock lock(role_.mu);
  LF_CHECK_MSG(members_.empty(), "UnboundThreadSet destroyed while threads are in it");
}

void UnboundThreadSet::enter(Turn& turn, int tag) {
  turn.outer = current_turn_;
  for (Turn* t = turn.outer; t != nullptr; t = t->outer) {
    if (&t->set == this) {
      turn.member = t->member;
      break;
    }
  }
  if (turn.member == nullptr) {
    turn.member = new Member;
    turn.member->tag = tag;
    turn.member->stats.tid = current_tid();
    turn.owns_member = true;
    members_.push_back(turn.member);
  }
  current_turn_ = &turn;
  turn.self.tag = turn.member->tag;
}

void UnboundThreadSet::leave(Turn& turn) {
  current_turn_ = turn.outer;
  Member& me = *turn.member;
  if (!turn.owns_member) {
    me.state.store(ThreadState::kProcessing, std::memory_order_release);  // back in the outer dispatch
    return;
  }
  me.state.store(ThreadState::kIdle, std::memory_order_release);
  me.stats.refresh_rusage();
  departed_ += ThreadStatsSnapshot::of(me.stats, "leader/follower");
  members_.erase(std::find(members_.begin(), members_.end(), &me));
  delete &me;
}

Status UnboundThreadSet::join(Duration timeout, int priority, int tag) {
  const TimePoint deadline = deadline_after(timeout);
  Waiter self;
  self.priority = priority;
  MutexLock lock(role_.mu);
  Turn turn(*this, self);
  enter(turn, tag);
  take_turns(turn, deadline, nullptr);
  leave(turn);
  if (is_shut_down()) return Status();
  return Status::error("join: timed out");
}

Status UnboundThreadSet::join_until(Waiter& self, const std::function<bool()>& done, TimePoint deadline) {
  MutexLock lock(role_.mu);
  if (done()) return Status();
  Turn turn(*this, self);
  enter(turn, -1);
  take_turns(turn, deadline, done);
  leave(turn);
  if (done()) return Status();
  if (is_shut_down()) return Status::error("thread set shut down");
  return Status::error("timed out", ETIMEDOUT);
}

void UnboundThreadSet::wake(Waiter& waiter) {
  MutexLock lock(role_.mu);
  waiter.cv.notify_one();
  // A leader waits in the handle set, not on its condition variable.
  if (role_.held_by(waiter)) reactor_.notify();
}

void UnboundThreadSet::set_before_block_hook(std::function<void()> fn) {
  before_block_ = fn;
  reactor_.set_before_block_hook(std::move(fn));  // the leader's case: before epoll_wait
}

void UnboundThreadSet::run_before_block_hook() {
  if (!before_block_) return;
  role_.mu.unlock();
  before_block_();
  role_.mu.lock();
}

void UnboundThreadSet::take_turns(Turn& turn, TimePoint deadline, const std::function<bool()>& done) {
  Member& me = *turn.member;
  Waiter& self = turn.self;
  // Whether this thread processed events since it last ran the before-block hook.
  bool deferred = false;
  for (;;) {
    if (done && done()) break;
    // (No clock read for a join without a deadline: this runs once per turn.)
    if (is_shut_down() || (deadline != TimePoint::max() && Clock::now() >= deadline)) break;

    if (!role_.vacant() && !role_.held_by(self)) {
      if (deferred) {
        // About to sleep as a follower: finish the deferred work first, then look again (the
        // leader may have changed meanwhile).
        deferred = false;
        run_before_block_hook();
        continue;
      }
      // Join as a follower until promoted (or, in join_until, until done).
      me.state.store(ThreadState::kFollower, std::memory_order_release);
      me.stats.bump(me.stats.follower_waits);
      (void)role_.follow(self, deadline, [&] { return is_shut_down() || (done && done()); });
      // Promoted or not, look again from the top before leading: in join_until the awaited
      // event may have come with the promotion, and a leader blocked on the handle set would
      // not notice it.
      continue;
    }
    if (role_.vacant()) role_.take(self);

    // Lead: wait on the handle set without the set's lock (the reactor deactivates the handle
    // of each event it hands out), then process, in lead(). It comes back when a wait ended
    // without an event, or once the role went to a follower or the turn should look at
    // done/deadline/shutdown again.
    role_.mu.unlock();
    const WaitResult r = lead(turn, deadline, /*again=*/!done, deferred);
    role_.mu.lock();
    if (r == WaitResult::kShutdown && !is_shut_down()) {
      shutdown_.store(true, std::memory_order_release);
      role_.wake_followers();
    }
    // Rejoin: lead again if the role was kept (or is vacant), else follow; a wait without an
    // event still holds the role: re-check done/deadline/shutdown, then lead again.
  }
  if (deferred) run_before_block_hook();
  // Leaving while holding the leader role: hand it on so the handle set is not orphaned.
  if (role_.held_by(self)) promote_new_leader(turn);
}

WaitResult UnboundThreadSet::lead(Turn& turn, TimePoint deadline, bool again, bool& deferred) {
  Member& me = *turn.member;
  Event events[kMaxEventsPerTurn];  // taken by this thread as the leader, processed here
  for (;;) {
    int taken = 0;
    WaitResult r;
    {
      // Entered with the role held and no lock, the first time (take_turns checked the role
      // under the lock and let it go) as on every later round (the role was kept).
      detail::LeaderRole::Leading leading(role_, detail::LeaderRole::Leading::Kept{});
      me.state.store(ThreadState::kLeader, std::memory_order_release);
      r = reactor_.wait_for_event(
          deadline == TimePoint::max() ? kInfinite : std::max(Duration::zero(), deadline - Clock::now()),
          events[0]);
      // With events_per_turn > 1, a few more that were already demultiplexed.
      if (r == WaitResult::kEvent) {
        taken = 1;
        while (taken < events_per_turn_ && reactor_.take_ready(events[taken])) ++taken;
      }
    }  // the leader state ends here, before any promotion below
    if (r != WaitResult::kEvent) return r;  // still holds the role
    // Out of the leader state before a follower can enter it (threads() never shows two).
    me.state.store(ThreadState::kProcessing, std::memory_order_release);

    // Hand the handle set on, then process what was taken here.
    if (!lazy_promotion_ || reactor_.has_ready()) {
      MutexLock lock(role_.mu);
      promote_new_leader(turn);
    } else {
      // Keep the role while processing: nobody waits on the handle set meanwhile. A handler
      // that runs long gives it up (the static promote_new_leader()).
      turn.keeps_role = true;
    }
    turn.rest = events;
    turn.next = 0;
    turn.count = taken;
    if (taken > 1) {
      const detail::ReplyBatch batch;  // the turn's replies go out after its last dispatch
      while (turn.next < turn.count) reactor_.dispatch(events[turn.next++]);
    } else {
      while (turn.next < turn.count) reactor_.dispatch(events[turn.next++]);  // reactivates each handle
    }
    const int dispatched = turn.next;
    const bool kept = turn.keeps_role;  // not given up by a handler that ran long
    turn.rest = nullptr;
    turn.next = turn.count = 0;
    turn.keeps_role = false;
    deferred = true;
    me.stats.events.fetch_add(static_cast<std::uint64_t>(dispatched), std::memory_order_relaxed);
    // Lead again at once while the role is ours: only its holder gives it up, so no lock is
    // needed to go on holding it (take_turns looks at done, shutdown and the deadline with it).
    if (!kept || !again || is_shut_down() ||
        (deadline != TimePoint::max() && Clock::now() >= deadline)) {
      return WaitResult::kEvent;
    }
  }
}

void UnboundThreadSet::promote_new_leader(Turn& turn) {
  Waiter* next = role_.promote_new_leader();
  if (next == nullptr) return;
  turn.member->stats.bump(turn.member->stats.promotions);
  if (on_promote_) on_promote_(next->tag);
}

namespace {
thread_local UnboundThreadSet::PromoteHook t_promote_hook = nullptr;
thread_local void* t_promote_arg = nullptr;
thread_local detail::ServeHook t_serve_hook = nullptr;
thread_local void* t_serve_arg = nullptr;
}  // namespace

void detail::set_thread_serve_hook(detail::ServeHook hook, void* arg) {
  t_serve_hook = hook;
  t_serve_arg = arg;
}

void UnboundThreadSet::set_thread_promote_hook(PromoteHook hook, void* arg) {
  t_promote_hook = hook;
  t_promote_arg = arg;
}

bool UnboundThreadSet::promote_new_leader() {
  detail::ReplyBatch::flush();  // the replies finished before this long handler do not wait
  bool gave_up = t_promote_hook != nullptr && t_promote_hook(t_promote_arg);
  for (Turn* t = current_turn_; t != nullptr; t = t->outer) {
    // The rest of the turn goes back to the handle set for any thread to take.
    while (t->next < t->count) t->set.reactor_.release(t->rest[t->next++]);
    if (!t->keeps_role) continue;
    t->keeps_role = false;
    UnboundThreadSet& set = t->set;
    MutexLock lock(set.role_.mu);
    if (!set.role_.held_by(t->self)) continue;
    set.promote_new_leader(*t);
    gave_up = true;
  }
  return gave_up;
}

int UnboundThreadSet::serve_while_processing() {
  (void)promote_new_leader();  // a role kept while processing goes first: the turn below is separate
  Turn* const turn = current_turn_;
  if (turn == nullptr) {
    // A thread of the completion handle set, or a single-threaded reactor's.
    if (t_serve_hook != nullptr) return t_serve_hook(t_serve_arg);
    return Reactor::serve_while_dispatching_alone();
  }
  return turn->set.serve_one_turn(*turn);
}

int UnboundThreadSet::serve_one_turn(Turn& turn) {
  Waiter self;  // this turn's place as the leader; nobody waits on it
  self.tag = turn.member->tag;
  Event events[kMaxEventsPerTurn];
  int taken = 0;
  {
    MutexLock lock(role_.mu);
    if (is_shut_down() || !role_.vacant()) return 0;  // the handle set is watched
    role_.take(self);
    WaitResult r;
    {
      detail::LeaderRole::Leading leading(role_);
      role_.mu.unlock();  // as in take_turns: the handle set is waited on without the set's lock
      r = reactor_.wait_for_event(Duration::zero(), events[0]);
      role_.mu.lock();
      if (r == WaitResult::kEvent) {
        taken = 1;
        while (taken < events_per_turn_ && reactor_.take_ready(events[taken])) ++taken;
      }
    }
    if (r == WaitResult::kShutdown && !is_shut_down()) {
      shutdown_.store(true, std::memory_order_release);
      role_.wake_followers();
    }
    Waiter* next = role_.promote_new_leader();  // to a thread that came back meanwhile, or vacant
    if (next != nullptr && on_promote_) on_promote_(next->tag);
  }
  // Dispatched nested in the long handler; not given back by it (they are this turn's).
  for (int i = 0; i < taken; ++i) reactor_.dispatch(events[i]);
  turn.member->stats.events.fetch_add(static_cast<std::uint64_t>(taken), std::memory_order_relaxed);
  return taken;
}

void UnboundThreadSet::shutdown() {
  {
    MutexLock lock(role_.mu);
    shutdown_.store(true, std::memory_order_release);
    role_.wake_followers();
  }
  reactor_.shutdown();
}


std::vector<UnboundThreadSet::ThreadInfo> UnboundThreadSet::threads() const {
  MutexLock lock(role_.mu);
  std::vector<ThreadInfo> out;
  out.reserve(members_.size());
  for (const Member* m : members_) {
    out.push_back(ThreadInfo{m->tag, m->state.load(std::memory_order_acquire),
                             ThreadStatsSnapshot::of(m->stats, "leader/follower")});
  }
  return out;
}

std::size_t UnboundThreadSet::follower_count() const {
  MutexLock lock(role_.mu);
  return role_.follower_count();
}

ThreadStatsSnapshot UnboundThreadSet::totals() const {
  MutexLock lock(role_.mu);
  ThreadStatsSnapshot sum = departed_;
  for (const Member* m : members_) sum += ThreadStatsSnapshot::of(m->stats, "");
  sum.role = "leader/follower";
  return sum;
}

void UnboundThreadSet::set_promotion_observer(std::function<void(int)> fn) {
  MutexLock lock(role_.mu);
  on_promote_ = std::move(fn);
}

}  // namespace lf
