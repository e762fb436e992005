// gateway::PinnedTransaction: one client's transaction at the gateway (MULTI, WATCH and the
// dedicated back-end connection they pin it to) as one state with named transitions.
//
// A back-end connection's MULTI and WATCH state belongs to the connection, so a client in a
// transaction cannot share one: WATCH, or the first keyed command inside MULTI, pins the client
// to a dedicated connection of one shard until EXEC, DISCARD or UNWATCH (docs/gateway.md,
// "Transactions"). What the state holds:
//
//   multi      kNone: not in MULTI; kLocal: MULTI answered by the gateway and not sent (the shard
//              is not known yet, or the transaction is lost); kSent: MULTI sent on the pin.
//   pin        the dedicated connection, its shard, and the connection's incarnation when it was
//              pinned (a later failure of the connection changes it: the back-end forgot the
//              client's MULTI and WATCH with the old connection).
//   loss       why the transaction can only abort: kConnection (the pinned connection failed, or
//              one of the transaction's commands could not be sent), kIdle (the client was silent
//              longer than tx_idle_timeout: the gateway discarded the transaction on the back-end
//              and gave the connection back to its pool). A loss lasts until the client ends the
//              transaction (EXEC, DISCARD, UNWATCH): every command of it in between is refused
//              and EXEC aborts, so nothing of it is ever half-applied.
//   refused    a command of the transaction was refused (validation, CROSSSLOT): EXEC aborts,
//              as the server would.
//   unpinned   keyless commands queued inside MULTI before a key named the shard.
//   local      the subscribe family queued inside MULTI: the gateway runs them at EXEC, in their
//              places among the commands the back-end runs (LocalStep).
//   pool wait  the client waits for a dedicated connection of an exhausted pool (of `wait_shard`):
//              the command stays unprocessed until the pool hands it one or the deadline passes.
//   activity   when the pinned client last sent a command (the idle timeout counts from it).
//   timer      the one reactor timer the client keeps for the wait's and the idle deadlines.
//
// Thread-safety: none inside. It belongs to the client's reading side: the thread the reactor
// dispatches the client on (one at a time), as the rest of the client's parsing state.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/reply_slot.hpp"
#include "lf/reactor.hpp"
#include "lf/time.hpp"

namespace lfdb::gateway {

class UpstreamConn;

class PinnedTransaction {
 public:
  enum class Multi : std::uint8_t { kNone, kLocal, kSent };
  enum class Loss : std::uint8_t { kNone, kConnection, kIdle };

  // ---- where the client is
  bool in_multi() const { return multi_ != Multi::kNone; }
  bool multi_sent() const { return multi_ == Multi::kSent; }
  bool pinned() const { return conn_ != nullptr; }
  UpstreamConn* connection() const { return conn_; }
  int shard() const { return shard_; }

  // ---- MULTI
  void begin_multi() { multi_ = Multi::kLocal; }
  void note_multi_sent() { multi_ = Multi::kSent; }
  // A command of the transaction was refused: EXEC aborts. Outside MULTI nothing is kept.
  void refuse() {
    if (in_multi()) refused_ = true;
  }
  // EXEC must abort: a command was refused, or the transaction is lost.
  bool must_abort() { return refused_ || lost(); }

  // ---- the pin
  // Pins the client to dedicated connection `c` of `shard` (the client was not pinned and has
  // no loss: both end with the transaction); `now` starts its idle time.
  void pin(UpstreamConn& c, int shard, lf::TimePoint now);
  // Unpins and returns the connection for its pool (nullptr when not pinned). A loss stays.
  UpstreamConn* release_connection();
  // The command that hands the pinned connection back to its pool clean, so the next client
  // inherits no MULTI or WATCH: DISCARD after a MULTI was sent, else UNWATCH. Empty when there
  // is nothing to clean (not pinned, or the connection was lost: the back-end forgot it all).
  std::string_view cleanup_command();

  // ---- loss
  // Whether the transaction is lost; notices first a failure of the pinned connection since it
  // was pinned (its incarnation changed).
  bool lost();
  Loss loss() const { return loss_; }
  void lose(Loss why);

  // ---- keyless commands queued inside MULTI before the shard is known
  void queue_unpinned(std::span<const std::string_view> argv) { unpinned_.emplace_back(argv.begin(), argv.end()); }
  const std::vector<std::vector<std::string>>& unpinned() const { return unpinned_; }
  void clear_unpinned() { unpinned_.clear(); }

  // ---- the transaction's commands, counted in order: the back-end's (queued on the pin or
  // above, note_queued) and the gateway's own (the subscribe family, run at EXEC)
  void note_queued() { ++queued_; }
  void queue_local(std::span<const std::string_view> argv) {
    local_.push_back(LocalStep{queued_++, std::vector<std::string>(argv.begin(), argv.end())});
  }
  std::vector<LocalStep>& local() { return local_; }

  // ---- the end
  // EXEC, DISCARD, UNWATCH, the client gone: back to no transaction (the loss and refusals are
  // forgotten). Returns the pinned connection for its pool, or nullptr.
  UpstreamConn* end();

  // ---- waiting for a dedicated connection (an exhausted pool)
  bool waiting() const { return wait_deadline_ != lf::TimePoint{}; }
  lf::TimePoint wait_deadline() const { return wait_deadline_; }
  int wait_shard() const { return wait_shard_; }
  // Starts a wait for a connection of `shard` until now + limit (no-op while waiting already).
  void start_wait(int shard, lf::TimePoint now, lf::Duration limit);
  // May the client still wait at `now`? (true when it is not waiting yet)
  bool may_wait(lf::TimePoint now) const { return !waiting() || now < wait_deadline_; }
  void end_wait() {
    wait_deadline_ = lf::TimePoint{};
    wait_shard_ = -1;
  }
  // The command being run waits: it must run again later (set while waiting, taken by the
  // input loop, which stops there so nothing the client sent after it runs first).
  void retry_later() { retry_ = true; }
  bool take_retry() {
    const bool r = retry_;
    retry_ = false;
    return r;
  }

  // ---- idleness of a pinned client
  void touch(lf::TimePoint now) { last_activity_ = now; }
  // When the pinned client, silent since its last command, reaches `limit`: TimePoint::max()
  // when it is not pinned, or `limit` is zero (no idle timeout).
  lf::TimePoint idle_deadline(lf::Duration limit) const;

  // ---- the client's timer for these deadlines (scheduled and cancelled by the client)
  lf::TimerId timer() const { return timer_; }
  lf::TimePoint timer_at() const { return timer_at_; }
  void set_timer(lf::TimerId id, lf::TimePoint at) {
    timer_ = id;
    timer_at_ = at;
  }

 private:
  Multi multi_ = Multi::kNone;
  Loss loss_ = Loss::kNone;
  bool refused_ = false;
  bool retry_ = false;
  UpstreamConn* conn_ = nullptr;
  int shard_ = -1;
  std::uint64_t incarnation_ = 0;
  std::vector<std::vector<std::string>> unpinned_;
  std::uint32_t queued_ = 0;
  std::vector<LocalStep> local_;
  lf::TimePoint wait_deadline_{};  // {}: not waiting
  int wait_shard_ = -1;
  lf::TimePoint last_activity_{};
  lf::TimerId timer_ = 0;          // 0: none scheduled
  lf::TimePoint timer_at_{};
};

}  // namespace lfdb::gateway
