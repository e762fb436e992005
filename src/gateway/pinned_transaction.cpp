#include "gateway/pinned_transaction.hpp"

#include "gateway/upstream.hpp"

namespace lfdb::gateway {

void PinnedTransaction::pin(UpstreamConn& c, int shard, lf::TimePoint now) {
  conn_ = &c;
  shard_ = shard;
  incarnation_ = c.incarnation();
  last_activity_ = now;
}

UpstreamConn* PinnedTransaction::release_connection() {
  UpstreamConn* c = conn_;
  conn_ = nullptr;
  shard_ = -1;
  return c;
}

std::string_view PinnedTransaction::cleanup_command() {
  if (!pinned() || lost()) return {};
  return multi_sent() ? "DISCARD" : "UNWATCH";
}

bool PinnedTransaction::lost() {
  if (loss_ == Loss::kNone && conn_ != nullptr && conn_->incarnation() != incarnation_) {
    loss_ = Loss::kConnection;
  }
  return loss_ != Loss::kNone;
}

void PinnedTransaction::lose(Loss why) {
  if (loss_ == Loss::kNone) loss_ = why;
}

UpstreamConn* PinnedTransaction::end() {
  multi_ = Multi::kNone;
  loss_ = Loss::kNone;
  refused_ = false;
  unpinned_.clear();
  queued_ = 0;
  local_.clear();
  return release_connection();
}

void PinnedTransaction::start_wait(int shard, lf::TimePoint now, lf::Duration limit) {
  if (waiting()) return;
  wait_deadline_ = now + limit;
  wait_shard_ = shard;
}

lf::TimePoint PinnedTransaction::idle_deadline(lf::Duration limit) const {
  if (!pinned() || limit == lf::Duration::zero()) return lf::TimePoint::max();
  return last_activity_ + limit;
}

}  // namespace lfdb::gateway
