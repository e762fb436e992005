// lf::BoundThreadSet: Leader/Followers with bound handle/thread association, for threads that
// share one multiplexed connection and each wait for the reply to their own request.
//
// Before sending, a thread registers its ThreadContext (expecting_response), so the reply can
// never arrive before the set knows who waits for it; after sending it calls wait(). One waiting
// thread at a time leads: it reads replies and hands each to the thread whose request it answers
// (specific notification: each context has its own condition variable). When replies come back
// in request order the leader usually finds its own and no handoff happens; handoffs() counts the
// ones that did.
//
// Two modes:
//   pure    BoundThreadSet(ReplyStream&): the leader reads the multiplexed stream itself.
//   hybrid  BoundThreadSet(UnboundThreadSet&): a waiting thread leads the whole handle set of
//           that unbound set, dispatching any event (new client requests included) while it
//           waits. The event handler that reads a reply calls deliver(). So even with every
//           thread waiting for a back-end, the server keeps serving: no deadlock.
// Thread-safety: every member may be called from any thread; a ThreadContext belongs to one
// thread and one outstanding request at a time.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "lf/mutex.hpp"
#include "lf/status.hpp"
#include "lf/unbound_thread_set.hpp"
#include "lf/time.hpp"

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
  CondVar cv_;             // pure mode: the specific notification
  bool promoted_ = false;  // pure mode: made leader by the previous one
  void* waiter_ = nullptr; // hybrid mode: the unbound set's waiter record while waiting
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

  // Hybrid mode: hand a reply read by an event handler to the thread waiting for it. Returns
  // false if nobody waits for that id (timed out, or never sent).
  bool deliver(std::uint64_t request_id, std::string_view reply);
  // Fail every registered request (the connection was lost).
  void fail_all(const Status& why);

  std::uint64_t handoffs() const { return handoffs_.load(std::memory_order_relaxed); }
  std::uint64_t own_replies() const { return own_.load(std::memory_order_relaxed); }

 private:
  Mutex& mu() const LF_RETURN_CAPABILITY(hybrid_ ? hybrid_->mu_ : pure_mu_);
  ThreadContext* take_waiting(std::uint64_t id) LF_NO_THREAD_SAFETY_ANALYSIS;
  void complete(ThreadContext* dest, const Status& st) LF_NO_THREAD_SAFETY_ANALYSIS;
  Status wait_pure(ThreadContext* ctx, TimePoint deadline);
  Status wait_hybrid(ThreadContext* ctx, TimePoint deadline);

  ReplyStream* stream_ = nullptr;
  UnboundThreadSet* hybrid_ = nullptr;
  mutable Mutex pure_mu_;
  // Guarded by mu(): pure_mu_ in the pure mode, the unbound set's lock in the hybrid mode.
  std::vector<ThreadContext*> waiting_;       // registered and not yet answered
  std::vector<ThreadContext*> followers_;     // pure mode: waiting to lead
  ThreadContext* leader_ = nullptr;           // pure mode
  std::string discard_;                       // pure mode: body of an unknown reply
  std::atomic<std::uint64_t> handoffs_{0}, own_{0};
};

}  // namespace lf
