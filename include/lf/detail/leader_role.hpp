// lf::detail::LeaderRole: the leader role of one Leader/Followers thread set, the part both
// kinds of set share. The unbound set (unbound_thread_set.hpp) gives the role to the thread that
// waits on the handle set; the bound set's pure mode (bound_thread_set.hpp) to the thread that
// reads the multiplexed connection.
//
// It knows who holds the role, who waits for it, and picks the next holder:
//   take()                 join, nobody leads: the caller leads at once;
//   follow()               join, someone leads: wait as a follower until promoted (or until
//                          what the caller waits for has happened, or the deadline);
//   promote_new_leader()   the holder gives the role to the follower the promotion protocol
//                          names and wakes exactly that thread: each follower waits on its own
//                          condition variable (the Specific Notification pattern).
// Leading, a scoped token, marks the leader state: its holder waits on the handle set (or reads
// the multiplexed connection) right now. Tokens are counted; two at once abort (LF_CHECK), which
// is the pattern's invariant of at most one leader checked where it matters.
//
// Thread-safety: `mu` is the lock of the set that owns the role; every member but
// leading_now() requires it, and the owning set keeps its own state under it too.
#pragma once

#include <atomic>
#include <string>
#include <vector>

#include "lf/mutex.hpp"
#include "lf/status.hpp"
#include "lf/time.hpp"

namespace lf {

// The promotion protocols: which follower promote_new_leader() makes the new leader.
//   kFifo      the longest waiting;
//   kLifo      the most recently arrived (keeps hot threads and their caches busy);
//   kPriority  the highest priority given to join(), FIFO among equals.
enum class Promotion { kFifo, kLifo, kPriority };
const char* to_string(Promotion p);
bool parse_promotion(const std::string& s, Promotion& out);

namespace detail {

// A thread's place in a thread set while it waits there, to be promoted or (bound sets) for
// its reply: its own condition variable, so a promotion or a handoff wakes exactly this thread.
struct Follower {
  CondVar cv;
  bool promoted = false;  // guarded by the role's mu: made the leader by promote_new_leader()
  int priority = 0;       // Promotion::kPriority: higher is promoted first
  int tag = -1;           // names the thread to a promotion observer
};

class LeaderRole {
 public:
  explicit LeaderRole(Promotion promotion) : promotion_(promotion) {}
  LeaderRole(const LeaderRole&) = delete;
  LeaderRole& operator=(const LeaderRole&) = delete;

  // The owning set's lock: guards the role and whatever the set keeps with it.
  mutable Mutex mu;

  Promotion promotion() const { return promotion_; }
  bool vacant() const LF_REQUIRES(mu) { return leader_ == nullptr; }
  bool held_by(const Follower& f) const LF_REQUIRES(mu) { return leader_ == &f; }
  std::size_t follower_count() const LF_REQUIRES(mu) { return followers_.size(); }

  // Nobody leads: `self` does, at once.
  void take(Follower& self) LF_REQUIRES(mu) {
    LF_CHECK(leader_ == nullptr);
    leader_ = &self;
  }

  enum class Followed { kPromoted, kStopped, kTimedOut };
  // Someone leads: wait as a follower (mu released while asleep) until promoted (kPromoted:
  // `self` holds the role now), until `stop()` holds (checked before each sleep and after each
  // wake-up) or until `deadline`. Whoever makes stop() true wakes self.cv under mu.
  template <class Stop>
  Followed follow(Follower& self, TimePoint deadline, Stop&& stop) LF_REQUIRES(mu) {
    self.promoted = false;
    followers_.push_back(&self);
    Followed out = Followed::kStopped;
    while (!self.promoted) {
      if (stop()) break;
      if (deadline == TimePoint::max()) {
        self.cv.wait(mu);
      } else if (!self.cv.wait_until(mu, deadline)) {
        out = Followed::kTimedOut;
        break;
      }
    }
    if (self.promoted) {
      self.promoted = false;  // promote_new_leader took it off the list
      return Followed::kPromoted;
    }
    remove_follower(self);
    return out;
  }

  // The holder gives the role up: the follower the promotion protocol names becomes the leader
  // and is woken. Returns it, or nullptr when nobody follows (the role is vacant then: the next
  // thread to join takes it).
  Follower* promote_new_leader() LF_REQUIRES(mu);

  // Shutdown: every follower wakes to check its stop() again.
  void wake_followers() LF_REQUIRES(mu) {
    for (Follower* f : followers_) f->cv.notify_one();
  }

  // The leader state, scoped: the holder waits on the handle set (or reads the multiplexed
  // connection). Create it with mu held (or as the holder, Kept) and let it go before
  // promote_new_leader(): the next leader takes its own token only after that, under the lock.
  class [[nodiscard]] Leading {
   public:
    explicit Leading(LeaderRole& role) LF_REQUIRES(role.mu) : role_(role) { enter(); }
    // The holder leads again after processing with the role kept (lazy promotion) and without
    // the lock: only the holder gives the role up, so nobody else can take a token meanwhile.
    struct Kept {};
    Leading(LeaderRole& role, Kept) : role_(role) { enter(); }
    ~Leading() { role_.leading_.fetch_sub(1, std::memory_order_acq_rel); }
    Leading(const Leading&) = delete;
    Leading& operator=(const Leading&) = delete;

   private:
    void enter() {
      const int prior = role_.leading_.fetch_add(1, std::memory_order_acq_rel);
      LF_CHECK_MSG(prior == 0, "two leaders in one thread set");
    }
    LeaderRole& role_;
  };
  // Threads in the leader state now: 0 or 1. Any thread may read it.
  int leading_now() const { return leading_.load(std::memory_order_acquire); }

 private:
  void remove_follower(Follower& f) LF_REQUIRES(mu);

  const Promotion promotion_;
  Follower* leader_ LF_GUARDED_BY(mu) = nullptr;
  std::vector<Follower*> followers_ LF_GUARDED_BY(mu);  // in arrival order
  std::atomic<int> leading_{0};
};

}  // namespace detail
}  // namespace lf
