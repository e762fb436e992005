#include "lf/bound_thread_set.hpp"

#include <algorithm>

namespace lf {

BoundThreadSet::BoundThreadSet(ReplyStream& stream) : stream_(&stream) {}
BoundThreadSet::BoundThreadSet(UnboundThreadSet& threads) : hybrid_(&threads) {}

Mutex& BoundThreadSet::mu() const { return hybrid_ ? hybrid_->mu_ : pure_mu_; }

Status BoundThreadSet::expecting_response(ThreadContext* ctx) {
  MutexLock lock(mu());
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

// Marks dest answered and wakes it (the specific notification). Called with mu() held.
void BoundThreadSet::complete(ThreadContext* dest, const Status& st) {
  dest->error_ = st;
  dest->received_.store(true, std::memory_order_release);
  if (dest->tid_ == current_tid()) {
    own_.fetch_add(1, std::memory_order_relaxed);
  } else {
    handoffs_.fetch_add(1, std::memory_order_relaxed);
  }
  if (hybrid_ != nullptr) {
    if (dest->waiter_ != nullptr) {
      auto* w = static_cast<UnboundThreadSet::Waiter*>(dest->waiter_);
      w->cv.notify_one();
      // The destination may be the leader, blocked on the handle set rather than on its
      // condition variable: wake the handle set.
      if (hybrid_->leader_ == w) hybrid_->reactor_.notify();
    }
  } else {
    dest->cv_.notify_one();
  }
}

bool BoundThreadSet::deliver(std::uint64_t request_id, std::string_view reply) {
  MutexLock lock(mu());
  ThreadContext* dest = take_waiting(request_id);
  if (dest == nullptr) return false;
  dest->response_.assign(reply.data(), reply.size());
  complete(dest, Status());
  return true;
}

void BoundThreadSet::fail_all(const Status& why) {
  MutexLock lock(mu());
  while (!waiting_.empty()) {
    ThreadContext* c = waiting_.back();
    waiting_.pop_back();
    complete(c, why);
  }
}

Status BoundThreadSet::wait(ThreadContext* ctx, Duration timeout) {
  TimePoint deadline = deadline_after(timeout);
  return hybrid_ ? wait_hybrid(ctx, deadline) : wait_pure(ctx, deadline);
}

Status BoundThreadSet::wait_hybrid(ThreadContext* ctx, TimePoint deadline) {
  UnboundThreadSet& set = *hybrid_;
  MutexLock lock(set.mu_);
  if (!ctx->received_.load(std::memory_order_acquire)) {
    UnboundThreadSet::Member& me = set.member_for_this_thread(-1);
    ++me.depth;
    UnboundThreadSet::Waiter w;
    w.tag = me.tag;
    ctx->waiter_ = &w;
    set.run(me, w, deadline, [ctx] { return ctx->received_.load(std::memory_order_acquire); });
    ctx->waiter_ = nullptr;
    if (--me.depth == 0) {
      me.state.store(ThreadState::kIdle, std::memory_order_release);
      set.leave_locked(me);
    }
  }
  if (!ctx->received_.load(std::memory_order_acquire)) {
    auto it = std::find(waiting_.begin(), waiting_.end(), ctx);
    if (it != waiting_.end()) waiting_.erase(it);
    return Status::error(set.shutdown_ ? "bound thread set shut down" : "timed out waiting for the reply",
                         set.shutdown_ ? 0 : ETIMEDOUT);
  }
  return ctx->error_;
}

Status BoundThreadSet::wait_pure(ThreadContext* ctx, TimePoint deadline) {
  MutexLock lock(pure_mu_);
  for (;;) {
    if (ctx->received_.load(std::memory_order_acquire)) return ctx->error_;
    if (leader_ != nullptr) {
      // Wait as a follower: for the reply (handed off) or to be promoted to leader.
      ctx->promoted_ = false;
      followers_.push_back(ctx);
      bool timed_out = false;
      while (!ctx->received_.load(std::memory_order_acquire) && !ctx->promoted_) {
        if (deadline == TimePoint::max()) {
          ctx->cv_.wait(pure_mu_);
        } else if (!ctx->cv_.wait_until(pure_mu_, deadline)) {
          timed_out = true;
          break;
        }
      }
      auto f = std::find(followers_.begin(), followers_.end(), ctx);
      if (f != followers_.end()) followers_.erase(f);
      if (ctx->received_.load(std::memory_order_acquire)) {
        if (ctx->promoted_) {
          ctx->promoted_ = false;
          leader_ = nullptr;
          goto promote;  // made leader and answered at once: pass the role on
        }
        return ctx->error_;
      }
      if (timed_out && !ctx->promoted_) {
        auto it = std::find(waiting_.begin(), waiting_.end(), ctx);
        if (it != waiting_.end()) waiting_.erase(it);
        return Status::error("timed out waiting for the reply", ETIMEDOUT);
      }
      ctx->promoted_ = false;  // leader_ == ctx now
    } else {
      leader_ = ctx;
    }
    // Lead: read replies and hand each to its thread until our own arrives.
    while (!ctx->received_.load(std::memory_order_acquire)) {
      pure_mu_.unlock();
      Result<std::uint64_t> id = stream_->read_header();
      pure_mu_.lock();
      if (!id.ok()) {
        leader_ = nullptr;
        while (!waiting_.empty()) {
          ThreadContext* c = waiting_.back();
          waiting_.pop_back();
          complete(c, id.status());
        }
        break;
      }
      ThreadContext* dest = take_waiting(*id);
      // The body goes straight into the destination's buffer; only the leader touches the
      // stream, and the destination reads its buffer only after `received` is set under the lock.
      std::string& into = dest != nullptr ? dest->response_ : discard_;
      pure_mu_.unlock();
      Status body = stream_->read_body(into);
      pure_mu_.lock();
      if (dest != nullptr) complete(dest, body);
      if (!body.ok()) {
        while (!waiting_.empty()) {
          ThreadContext* c = waiting_.back();
          waiting_.pop_back();
          complete(c, body);
        }
      }
    }
    leader_ = nullptr;
  promote:
    // Promote the longest-waiting follower that still needs a reply.
    if (!followers_.empty()) {
      ThreadContext* next = followers_.front();
      followers_.erase(followers_.begin());
      leader_ = next;
      next->promoted_ = true;
      next->cv_.notify_one();
    }
    return ctx->error_;
  }
}

}  // namespace lf
