// lf::UnboundThreadSet: the Leader/Followers thread set for unbound handle/thread association,
// where any thread may process any event.
//
// Threads call join(). At most one of them, the leader, waits on the reactor's handle set. The
// pattern's activities, by name:
//   join()                  a thread joins, and rejoins after processing: it leads at once if
//                           nobody does, else it waits as a follower;
//   Reactor::wait_for_event the leader waits on the handle set and takes an event; the reactor
//                           deactivates its handle (Reactor::deactivate);
//   promote_new_leader()    the leader hands the handle set to the follower the promotion
//                           protocol names (lf::Promotion), then processes the event itself: no
//                           queue, no allocation, no thread switch between the demultiplexing and
//                           the processing of a request;
//   Reactor::dispatch       processing; the handle is reactivated when the handler returns
//                           (Reactor::reactivate), and the thread rejoins.
// The leader role itself (who leads, who follows, the protocols) is detail::LeaderRole, which
// the bound set's pure mode shares. Every promotion goes through promote_new_leader().
//
// Thread-safety: all members may be called from any thread. Each thread's state (leader,
// processing, follower) is observable through threads() and is what the stress tests check:
// leaders_now() never exceeds one (also enforced with LF_CHECK).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "lf/detail/leader_role.hpp"
#include "lf/mutex.hpp"
#include "lf/reactor.hpp"
#include "lf/stats.hpp"
#include "lf/status.hpp"
#include "lf/time.hpp"

namespace lf {

enum class ThreadState : int { kIdle = 0, kFollower, kLeader, kProcessing };
const char* to_string(ThreadState s);

class UnboundThreadSet {
 public:
  // events_per_turn: how many already-demultiplexed events a leader takes before promoting a
  // follower and processing them itself (1 = the pattern in its plainest form). More than one
  // amortizes a promotion (a follower's wake-up) over several events; every taken handle stays
  // deactivated until its event is processed, so no event is lost, doubled or run by two threads.
  explicit UnboundThreadSet(Reactor& reactor, Promotion promotion = Promotion::kLifo,
                            int events_per_turn = 1);
  static constexpr int kMaxEventsPerTurn = 64;
  ~UnboundThreadSet();
  UnboundThreadSet(const UnboundThreadSet&) = delete;
  UnboundThreadSet& operator=(const UnboundThreadSet&) = delete;

  // Take part in the thread set until shutdown() or until `timeout` has passed. `priority`
  // matters only under Promotion::kPriority (higher is promoted first). `tag` names the
  // thread in observations (tests use it to see promotion order).
  Status join(Duration timeout = kInfinite, int priority = 0, int tag = -1);

  // A predicate wait: take part in the set like join() (lead, follow, process events) until
  // `done()` holds, or the set shuts down, or `deadline` passes; ok only if done() held. A
  // thread that waits for something an event handler will provide (the hybrid bound set: a
  // reply) keeps the handle set served meanwhile. `self` is the thread's place in the set while
  // it waits. done() is checked with the set's lock held; whoever makes it true calls wake(self)
  // afterwards, while `self` still exists (the bound set's own lock sees to that).
  using Waiter = detail::Follower;
  Status join_until(Waiter& self, const std::function<bool()>& done, TimePoint deadline);
  // Make a thread in join_until() check its done() again: wakes it if it follows, wakes the
  // handle set if it leads (a processing thread checks when its handler returns).
  void wake(Waiter& waiter);

  // For an event handler about to run long (a script past its first instructions, a snapshot):
  // as in the pattern, a handler calls promote_new_leader() before its processing. With lazy
  // promotion the calling thread may still hold the leader role of its thread set (of each set
  // it is processing for, when nested); a follower is promoted now, so the handle set is not
  // left unwatched until the handler returns. Returns whether the thread held a role it gave
  // up; false (a thread-local check) when it held none: eager promotion already promoted.
  // It also gives back the events the thread took in the same turn and has not processed yet
  // (events_per_turn > 1), so their connections do not wait for it either.
  static bool promote_new_leader();
  // A thread of another handle set (the completion set, lf::UringProactor) registers how it
  // hands its set on to a follower, so the same call from a long handler promotes there too;
  // (nullptr, nullptr) unregisters. Per thread.
  using PromoteHook = bool (*)(void* arg);
  static void set_thread_promote_hook(PromoteHook hook, void* arg);
  // For a handler that keeps its thread for a long time (a runaway script), so that the handle
  // set is never left without a thread: when no thread of the calling thread's innermost set
  // leads (every one is processing), the caller takes the leader role for one turn without
  // blocking: it takes the events already ready (up to events_per_turn), hands the role on (to a
  // follower that came meanwhile, or leaves it vacant) and dispatches them here, nested in its
  // own handler. Returns how many it dispatched (0 when another thread leads). On the thread of
  // a single-threaded reactor, in no set, it serves that reactor the same way
  // (Reactor::serve_while_dispatching_alone). The caller must make nested dispatches safe:
  // lfdb-server answers them as Redis does while a script is busy.
  static int serve_while_processing();

  // Ends every join(): followers wake, the leader's wait returns, processing threads return
  // after their current event. Also shuts the reactor down.
  void shutdown();
  bool is_shut_down() const { return shutdown_.load(std::memory_order_acquire); }

  Reactor& reactor() { return reactor_; }
  Promotion promotion() const { return role_.promotion(); }

  // Observability.
  struct ThreadInfo {
    int tag;
    ThreadState state;
    ThreadStatsSnapshot stats;
  };
  std::vector<ThreadInfo> threads() const;
  int leaders_now() const { return role_.leading_now(); }
  std::size_t follower_count() const;
  ThreadStatsSnapshot totals() const;  // includes threads that have left
  // Called, with the set's lock held, each time a follower is promoted (tests record order).
  void set_promotion_observer(std::function<void(int tag)> fn);
  // Deferred work: called, without the set's lock, by a thread that has processed events and
  // is about to block or leave: before it waits on the handle set as the leader, before it
  // sleeps as a follower, and before join() (or join_until()) returns. Handlers leave work
  // there that many events share, e.g. one send for the requests of every client served since,
  // instead of one per event. Each thread calls it for what it deferred itself (thread-local
  // state is enough), and it runs at the latest when the set has run out of ready events: the
  // deferred work of a busy set waits only for events already demultiplexed. Set it before any
  // thread joins (it is read without a lock afterwards).
  void set_before_block_hook(std::function<void()> fn);
  // Lazy promotion: a leader that took every event the handle set had ready keeps the leader
  // role while it processes them, instead of waking a follower only to have it block in the
  // handle set; it leads again when done. A follower is promoted when events are left over, or
  // when a handler calls promote_new_leader(). Saves a wake-up and a sleep per turn when the
  // load is light; events that arrive meanwhile wait for the end of the turn. Not for a set
  // with a hybrid BoundThreadSet (a thread waiting for a reply inside a dispatch must be able
  // to lead). Set before any thread joins.
  void set_lazy_promotion(bool on) { lazy_promotion_ = on; }

 private:
  struct Member;  // a thread's membership: its state and statistics
  struct Turn;    // one stay of a thread in the set (a join or a join_until)
  // The calling thread's innermost turn in any set; each links to the one it is nested in.
  static thread_local Turn* current_turn_;

  void enter(Turn& turn, int tag) LF_REQUIRES(role_.mu);
  void leave(Turn& turn) LF_REQUIRES(role_.mu);
  // The Leader/Followers loop of one turn: lead, promote, process, rejoin, until `done` (if
  // given) holds or shutdown or the deadline.
  void take_turns(Turn& turn, TimePoint deadline, const std::function<bool()>& done)
      LF_REQUIRES(role_.mu);
  // The leader's part of take_turns, without the set's lock: wait on the handle set, take
  // what is ready, hand the role on or keep it, process; while the role is kept through the
  // processing, lead again (join only; join_until returns to check its predicate).
  WaitResult lead(Turn& turn, TimePoint deadline, bool again, bool& deferred)
      LF_EXCLUDES(role_.mu);
  // The one path of every promotion: the turn's thread holds the role and gives it up.
  void promote_new_leader(Turn& turn) LF_REQUIRES(role_.mu);
  int serve_one_turn(Turn& turn);
  void run_before_block_hook() LF_REQUIRES(role_.mu);  // drops the lock around the call

  Reactor& reactor_;
  const int events_per_turn_;
  detail::LeaderRole role_;  // its lock, role_.mu, guards what follows
  std::vector<Member*> members_ LF_GUARDED_BY(role_.mu);
  ThreadStatsSnapshot departed_ LF_GUARDED_BY(role_.mu);  // stats of threads that left
  // Set with role_.mu held (a follower checks it there before it sleeps, so it cannot miss the
  // wake-up); read anywhere.
  std::atomic<bool> shutdown_{false};
  std::function<void(int)> on_promote_ LF_GUARDED_BY(role_.mu);
  // Written before any thread joins, only read afterwards: needs no lock.
  std::function<void()> before_block_;
  bool lazy_promotion_ = false;  // as before_block_
};

}  // namespace lf
