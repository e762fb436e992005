// lf::BoundThreadSet: Leader/Followers with bound handle/thread association, for threads that
// share one multiplexed connection and each wait for the reply to their own request.
//
// Before sending, a thread registers its ThreadContext (expecting_response), so the reply can
// never arrive before the set knows who waits for it; after sending it calls wait(). One waiting
// thread at a time leads: it reads replies and hands each off to the thread whose request it
// answers (hand_off: the pattern's event handoff, a Specific Notification on that thread's own
// condition variable). When replies come back in request order the leader usually finds its own
// and no handoff happens; reply_handoffs() counts the ones that did.
//
// Two modes:
//   pure    BoundThreadSet(ReplyStream&): the leader reads the multiplexed stream itself. The
//           leader role is a detail::LeaderRole with FIFO promotion, as in the unbound set.
//   hybrid  BoundThreadSet(UnboundThreadSet&): a waiting thread takes part in that unbound set
//           (UnboundThreadSet::join_until) and may lead its whole handle set, dispatching any
//           event (new client requests included) while it waits. The event handler that reads a
//           reply calls deliver(). So even with every thread waiting for a back-end, the server
//           keeps serving: no deadlock.
// Thread-safety: every member may be called from any thread; a ThreadContext belongs to one
// thread and one outstanding request at a time. In the hybrid mode the set's lock is taken
// before the unbound set's (deliver wakes the waiter with its own lock held).
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "lf/detail/leader_role.hpp"
#include "lf/mutex.hpp"
#include "lf/status.hpp"
#include "lf/time.hpp"
#include "lf/unbound_thread_set.hpp"

namespace lf {

class ThreadContext {
 public:
  void set_request_id(std::uint64_t id) { request_id_ = id; }
  std::uint64_t request_id() const { return request_id_; }
  // The reply (valid once wait() returned ok); its buffer is reused across requests, so a
  // steady exchange does not allocate.
  const std::string& response() const { return response_; }
  std::string& response() { return response_; }
  bool response_received() const { return received_.load(std::memory_order_acquire); }

 private:
  friend class BoundThreadSet;
  std::uint64_t request_id_ = 0;
  std::atomic<bool> received_{false};
  std::string response_;
  Status error_;
  // The thread's place while it waits: among the pure set's followers, or in the unbound set
  // of the hybrid mode. Its condition variable is what a handoff wakes.
  detail::Follower follower_;
  pid_t tid_ = 0;
};

// The multiplexed stream as the leader of a pure bound set reads it: a header naming the
// request, then the body, read straight into the waiting thread's buffer.
class ReplyStream {
 public:
  virtual ~ReplyStream() = default;
  virtual Result<std::uint64_t> read_header() = 0;
  virtual Status read_body(std::string& into) = 0;
};

class BoundThreadSet {
 public:
  explicit BoundThreadSet(ReplyStream& stream);
  explicit BoundThreadSet(UnboundThreadSet& threads);
  BoundThreadSet(const BoundThreadSet&) = delete;
  BoundThreadSet& operator=(const BoundThreadSet&) = delete;

  Status expecting_response(ThreadContext* ctx);
  // Returns once ctx's reply is in ctx->response(), or with an error (timeout, stream failure,
  // shutdown). A timed-out request is forgotten: its late reply is discarded.
  Status wait(ThreadContext* ctx, Duration timeout = kInfinite);

  // Hybrid mode: hand a reply read by an event handler off to the thread waiting for it.
  // Returns false if nobody waits for that id (timed out, or never sent).
  bool deliver(std::uint64_t request_id, std::string_view reply);
  // Fail every registered request (the connection was lost).
  void fail_all(const Status& why);

  // Replies handed off to another thread than the one that read them, and replies read by
  // their own thread.
  std::uint64_t reply_handoffs() const { return reply_handoffs_.load(std::memory_order_relaxed); }
  std::uint64_t own_replies() const { return own_.load(std::memory_order_relaxed); }

 private:
  Status wait_pure(ThreadContext* ctx, TimePoint deadline);
  Status wait_hybrid(ThreadContext* ctx, TimePoint deadline);
  ThreadContext* take_waiting(std::uint64_t id) LF_REQUIRES(role_.mu);
  // The bound set's handoff: dest's reply (or error) is in; wake its thread.
  void hand_off(ThreadContext* dest, const Status& st) LF_REQUIRES(role_.mu);
  void fail_waiting(const Status& why) LF_REQUIRES(role_.mu);

  ReplyStream* const stream_ = nullptr;
  UnboundThreadSet* const hybrid_ = nullptr;
  // Pure mode: who reads the stream. Both modes: its lock guards what follows.
  detail::LeaderRole role_{Promotion::kFifo};
  std::vector<ThreadContext*> waiting_ LF_GUARDED_BY(role_.mu);  // registered, not yet answered
  std::string discard_;  // pure mode: the body of an unknown reply; only the leader uses it
  std::atomic<std::uint64_t> reply_handoffs_{0}, own_{0};
};

}  // namespace lf
