// lf::UnboundThreadSet: the Leader/Followers thread set for unbound handle/thread association.
//
// Threads call join(). At most one of them, the leader, waits on the reactor's handle set.
// When it takes an event (its handle is now deactivated) it promotes a follower to be the new
// leader and then processes the event itself: no queue, no allocation, no handoff between the
// demultiplexing and the processing of a request. When done it rejoins: it leads at once if
// there is no leader, else it waits as a follower.
//
// Each follower waits on its own condition variable, so the leader can promote exactly the
// follower that the promotion protocol names: FIFO (longest waiting), LIFO (most recently
// arrived; the default, it keeps hot threads and caches busy), or priority (highest priority
// given to join(), FIFO among equals).
//
// Thread-safety: all members may be called from any thread. Each thread's state (leader,
// processing, follower) is observable through states() and is what the stress tests check:
// leaders_now() never exceeds one (also enforced with LF_CHECK).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "lf/mutex.hpp"
#include "lf/reactor.hpp"
#include "lf/stats.hpp"
#include "lf/status.hpp"
#include "lf/time.hpp"

namespace lf {

enum class Promotion { kFifo, kLifo, kPriority };
const char* to_string(Promotion p);
bool parse_promotion(const std::string& s, Promotion& out);

enum class ThreadState : int { kIdle = 0, kFollower, kLeader, kProcessing };
const char* to_string(ThreadState s);

class BoundThreadSet;

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

  // Called by the leader once it has taken an event, before processing it: hands the handle
  // set to a follower. join() does this itself; it is public for handlers that drive the
  // reactor directly. Returns an error if the caller is not the leader.
  Status promote_new_leader();

  // Ends every join(): followers wake, the leader's wait returns, processing threads return
  // after their current event. Also shuts the reactor down.
  void shutdown();
  bool is_shut_down() const;

  Reactor& reactor() { return reactor_; }
  Promotion promotion() const { return promotion_; }

  // Observability.
  struct ThreadInfo {
    int tag;
    ThreadState state;
    ThreadStatsSnapshot stats;
  };
  std::vector<ThreadInfo> threads() const;
  int leaders_now() const { return leaders_now_.load(std::memory_order_acquire); }
  std::size_t follower_count() const;
  ThreadStatsSnapshot totals() const;  // includes threads that have left
  // Called, with the set's lock held, each time a follower is promoted (tests record order).
  void set_promotion_observer(std::function<void(int tag)> fn);
  // Deferred work: called, without the set's lock, by a thread that has processed events and
  // is about to block or leave: before it waits on the handle set as the leader, before it
  // sleeps as a follower, and before join() (or a hybrid wait) returns. Handlers leave work
  // there that many events share, e.g. one send for the requests of every client served since,
  // instead of one per event. Each thread calls it for what it deferred itself (thread-local
  // state is enough), and it runs at the latest when the set has run out of ready events: the
  // deferred work of a busy set waits only for events already demultiplexed. Set it before any
  // thread joins (it is read without a lock afterwards).
  void set_before_block_hook(std::function<void()> fn);
  // Lazy promotion: a leader that took every event the handle set had ready keeps the leader
  // role while it processes them, instead of waking a follower only to have it block in the
  // handle set; it leads again when done. A follower is promoted when events are left over.
  // Saves a wake-up and a sleep per turn when the load is light; events that arrive meanwhile
  // wait for the end of the turn. Not for a set with a hybrid BoundThreadSet (a thread waiting
  // for a reply inside a dispatch must be able to lead). Set before any thread joins.
  void set_lazy_promotion(bool on) { lazy_promotion_ = on; }
  // For a handler that finds it will run long (a script past its first instructions, a
  // blocking call): if the calling thread keeps the leader role of a thread set while it
  // processes (lazy promotion), a follower is promoted now, so the handle set is not left
  // unwatched until the handler returns; and the events it took in the same turn and has not
  // processed yet (events_per_turn > 1) go back to the handle set for any thread to take, so
  // their connections do not wait for it either. A thread-local check when there is nothing to
  // hand on.
  static void hand_off_leadership();
  // For a handler that keeps its thread for a long time (a runaway script), so that the handle
  // set is never left without a thread: when no thread of the calling thread's set leads or
  // waits to lead (every one is processing), the caller takes the leader role for one turn
  // without blocking: it takes the events already ready (up to events_per_turn), hands the role
  // on (to a follower that has come meanwhile, or leaves it vacant) and dispatches them here,
  // nested in its own handler. Returns how many it dispatched (0 when another thread leads or
  // waits). On the thread of a single-threaded reactor, in no set, it serves that reactor the
  // same way (Reactor::serve_while_dispatching_alone). The caller must make nested dispatches
  // safe: lfdb-server answers them as Redis does while a script is busy.
  static int serve_while_processing();

 private:
  friend class BoundThreadSet;
  // A thread's membership in this set: its state and statistics.
  struct Member {
    int tag = -1;
    std::atomic<ThreadState> state{ThreadState::kIdle};
    ThreadStats stats;
    int depth = 0;  // nested (hybrid) waits of this thread in this set
  };
  // One wait for leadership (or, in a hybrid bound wait, for a reply). Each has its own
  // condition variable so the leader notifies exactly the thread it promotes.
  struct Waiter {
    CondVar cv;
    bool promoted = false;  // guarded by mu_
    int priority = 0;
    int tag = -1;
  };

  // The loop shared by join() and a hybrid bound wait: lead, follow or process until `done`
  // (if given) or shutdown or the deadline. Called with mu_ held.
  void run(Member& me, Waiter& w, TimePoint deadline, const std::function<bool()>& done)
      LF_REQUIRES(mu_);
  void promote_locked(Member& me) LF_REQUIRES(mu_);
  void run_before_block_hook() LF_REQUIRES(mu_);  // drops mu_ around the call
  void hand_off_kept_role(Member& me, Waiter* w);
  int serve_one_turn(Member& me);
  void become_leader_locked(Member& me, Waiter& w) LF_REQUIRES(mu_);
  void remove_follower_locked(Waiter* w) LF_REQUIRES(mu_);
  Member& member_for_this_thread(int tag) LF_REQUIRES(mu_);
  void leave_locked(Member& me) LF_REQUIRES(mu_);

  Reactor& reactor_;
  const Promotion promotion_;
  const int events_per_turn_;
  mutable Mutex mu_;
  Waiter* leader_ LF_GUARDED_BY(mu_) = nullptr;
  std::vector<Waiter*> followers_ LF_GUARDED_BY(mu_);  // in arrival order
  std::vector<Member*> members_ LF_GUARDED_BY(mu_);
  ThreadStatsSnapshot departed_ LF_GUARDED_BY(mu_);    // stats of threads that left
  bool shutdown_ LF_GUARDED_BY(mu_) = false;
  std::uint64_t arrivals_ LF_GUARDED_BY(mu_) = 0;
  std::function<void(int)> on_promote_ LF_GUARDED_BY(mu_);
  // Written before any thread joins, only read afterwards: needs no lock.
  std::function<void()> before_block_;
  bool lazy_promotion_ = false;  // as before_block_
  std::atomic<int> leaders_now_{0};
};

}  // namespace lf
