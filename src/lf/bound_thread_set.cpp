#include "lf/bound_thread_set.hpp"

#include <algorithm>

namespace lf {

BoundThreadSet::BoundThreadSet(ReplyStream& stream) : stream_(&stream) {}
BoundThreadSet::BoundThreadSet(UnboundThreadSet& threads) : hybrid_(&threads) {}

Status BoundThreadSet::expecting_response(ThreadContext* ctx) {
  MutexLock lock(role_.mu);
  ctx->received_.store(false, std::memory_order_release);
  ctx->error_ = Status();
  ctx->tid_ = current_tid();
  waiting_.push_back(ctx);
  return Status();
}

ThreadContext* BoundThreadSet::take_waiting(std::uint64_t id) {
  for (auto it = waiting_.begin(); it != waiting_.end(); ++it) {
    if ((*it)->request_id_ == id) {
      ThreadContext* c = *it;
      *it = waiting_.back();
      waiting_.pop_back();
      return c;
    }
  }
  return nullptr;
}

void BoundThreadSet::hand_off(ThreadContext* dest, const Status& st) {
  dest->error_ = st;
  dest->received_.store(true, std::memory_order_release);
  if (dest->tid_ == current_tid()) {
    own_.fetch_add(1, std::memory_order_relaxed);
  } else {
    reply_handoffs_.fetch_add(1, std::memory_order_relaxed);
  }
  if (hybrid_ != nullptr) {
    // With our lock still held: dest's thread takes it before it returns from wait(), so its
    // context outlives the wake-up.
    hybrid_->wake(dest->follower_);
  } else {
    dest->follower_.cv.notify_one();
  }
}

void BoundThreadSet::fail_waiting(const Status& why) {
  while (!waiting_.empty()) {
    ThreadContext* c = waiting_.back();
    waiting_.pop_back();
    hand_off(c, why);
  }
}

bool BoundThreadSet::deliver(std::uint64_t request_id, std::string_view reply) {
  MutexLock lock(role_.mu);
  ThreadContext* dest = take_waiting(request_id);
  if (dest == nullptr) return false;
  dest->response_.assign(reply.data(), reply.size());
  hand_off(dest, Status());
  return true;
}

void BoundThreadSet::fail_all(const Status& why) {
  MutexLock lock(role_.mu);
  fail_waiting(why);
}

Status BoundThreadSet::wait(ThreadContext* ctx, Duration timeout) {
  TimePoint deadline = deadline_after(timeout);
  return hybrid_ ? wait_hybrid(ctx, deadline) : wait_pure(ctx, deadline);
}

Status BoundThreadSet::wait_hybrid(ThreadContext* ctx, TimePoint deadline) {
  const Status st = hybrid_->join_until(
      ctx->follower_, [ctx] { return ctx->received_.load(std::memory_order_acquire); }, deadline);
  MutexLock lock(role_.mu);  // also waits out a handoff still waking us
  if (!ctx->received_.load(std::memory_order_acquire)) {
    auto it = std::find(waiting_.begin(), waiting_.end(), ctx);
    if (it != waiting_.end()) waiting_.erase(it);
    const bool timed_out = st.sys_errno() == ETIMEDOUT;
    return Status::error(timed_out ? "timed out waiting for the reply" : "bound thread set shut down",
                         timed_out ? ETIMEDOUT : 0);
  }
  return ctx->error_;
}

Status BoundThreadSet::wait_pure(ThreadContext* ctx, TimePoint deadline) {
  auto answered = [ctx] { return ctx->received_.load(std::memory_order_acquire); };
  MutexLock lock(role_.mu);
  if (answered()) return ctx->error_;
  if (role_.vacant()) {
    role_.take(ctx->follower_);
  } else {
    // Wait as a follower: for the reply (handed off) or to be promoted to leader.
    if (role_.follow(ctx->follower_, deadline, answered) != detail::LeaderRole::Followed::kPromoted) {
      if (answered()) return ctx->error_;
      auto it = std::find(waiting_.begin(), waiting_.end(), ctx);
      if (it != waiting_.end()) waiting_.erase(it);
      return Status::error("timed out waiting for the reply", ETIMEDOUT);
    }
  }
  // Lead: read replies and hand each off to its thread until our own arrives (at once, if it
  // came with the promotion).
  {
    detail::LeaderRole::Leading leading(role_);
    while (!answered()) {
      role_.mu.unlock();
      Result<std::uint64_t> id = stream_->read_header();
      role_.mu.lock();
      if (!id.ok()) {
        fail_waiting(id.status());
        break;
      }
      ThreadContext* dest = take_waiting(*id);
      // The body goes straight into the destination's buffer; only the leader touches the
      // stream, and the destination reads its buffer only after `received` is set under the lock.
      std::string& into = dest != nullptr ? dest->response_ : discard_;
      role_.mu.unlock();
      Status body = stream_->read_body(into);
      role_.mu.lock();
      if (dest != nullptr) hand_off(dest, body);
      if (!body.ok()) fail_waiting(body);
    }
  }  // the leader state ends here, with the lock held
  // The longest-waiting follower that still needs a reply leads next.
  role_.promote_new_leader();
  return ctx->error_;
}

}  // namespace lf
