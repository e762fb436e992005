// CLIENT PAUSE timeout [WRITE|ALL] and CLIENT UNPAUSE, as Redis 7.0 does them: while a pause
// lasts, the commands it covers (ALL: every command; WRITE: the commands that may write or
// reach the replication stream — writes, PUBLISH, PFCOUNT, EVAL/EVALSHA/FCALL unless the script
// or function is no-writes, an EXEC whose queue holds one) are held, and expiry erases nothing
// (ExpiryHold, db/keyspace.hpp): the log and the replicas see nothing new.
//
// A held client ties up no thread: its session parks exactly as a blocked command does
// (a blocking::Waiter of kind kPause, docs/blocking.md), with the held command left unread in
// its input. When the pause ends (CLIENT UNPAUSE, or its end passes) every held client is
// released in the order it arrived and processes that command afresh (a later pause may hold it
// again, as Redis re-processes its postponed clients).
//
// A later CLIENT PAUSE keeps the stricter mode and the later end (Redis's rule). A held client
// counts in INFO's blocked_clients and shows flags=b; CLIENT UNBLOCK does not release it.
//
// Where the check stands: a session asks holds() for each command it is about to run, after the
// checks Redis makes first (arity, AUTH, ...) and before MULTI queues it; a transaction's
// commands and a script's calls are not asked again, so a pause begun inside MULTI starts once
// the transaction is over.
//
// Draining: a command that passed the check just before the pause began may still be running
// on another thread (Redis, one thread, has no such command). So each session counts its
// command in flight before it asks (enter(): one seq_cst increment, then a seq_cst read of the
// mode) and leaves once the command has run, its blocked clients served (leave(); a command
// that blocks on keys, waits in WAIT or is held leaves before it parks; a queued one leaves on
// the thread that ran it). CLIENT PAUSE publishes the pause (a seq_cst store) and then drains():
// it answers only once nothing else is in flight. Either the command saw the pause, or the pause
// sees the command: once CLIENT PAUSE has answered, nothing it covers runs until it ends. The
// wait holds the pausing thread only as long as the commands that were running take (a long
// script: until it ends or is killed, as Redis answers no one meanwhile).
//
// Thread-safety: a monitor. mode_, end_ms_ and the expiry hold are written under mu_ and read
// with one acquire load by any thread; the held clients' queue is behind mu_; their hand-over is
// the Waiter's claim and meeting. One timer thread (started by the first pause) ends a pause
// whose end has passed.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <span>
#include <string_view>
#include <thread>

#include "db/blocking/waiter.hpp"
#include "db/keyspace.hpp"
#include "lf/mutex.hpp"
#include "lf/thread_annotations.hpp"

namespace lfdb::commands {
struct CommandSpec;
}

namespace lfdb::db {

class Server;
struct ClientState;

// Whether CLIENT PAUSE WRITE holds this command (Redis's "may replicate"): a write, a command
// flagged kMayReplicate (PUBLISH, PFCOUNT...) except a script or function declared no-writes,
// and an EXEC whose queue holds one.
bool pause_may_write(Server& server, const ClientState& client, const commands::CommandSpec& spec,
                     std::span<const std::string_view> argv);
// What counts itself in flight (ClientPause::enter()): a cheap superset of pause_may_write
// (flags only: a no-writes script and an EXEC of reads count too). Reads do not count: one in
// flight when CLIENT PAUSE ALL answers may still end after it, changing nothing.
bool pause_may_hold(const commands::CommandSpec& spec);

class ClientPause {
 public:
  enum class Mode : std::uint8_t { kOff = 0, kWrite = 1, kAll = 2 };  // stricter is larger

  ClientPause() = default;
  ~ClientPause() { stop(); }
  ClientPause(const ClientPause&) = delete;
  ClientPause& operator=(const ClientPause&) = delete;

  // CLIENT PAUSE: until end_ms (wall clock). Merged with a pause in force as Redis does.
  void pause(Mode mode, std::int64_t end_ms);
  // CLIENT UNPAUSE: the pause ends; the held clients are released (note_woken: the caller's
  // wake_pending() carries them on once it holds nothing).
  void unpause();
  // Shutdown: every held client is released to close; the timer stops.
  void stop();
  // CLIENT KILL of a held client: it is released to close; true if it was held.
  bool release_to_close(std::uint64_t client_id);

  // A session's command is in flight from enter() (before it asks mode()) to leave().
  void enter() { in_flight_.fetch_add(1, std::memory_order_seq_cst); }
  void leave() { in_flight_.fetch_sub(1, std::memory_order_release); }
  // CLIENT PAUSE, once the pause is published (and its own command has left): returns once no
  // command that may have missed it is still in flight.
  void drain() const;

  // The mode in force at now_ms (kOff once the end has passed, before the timer noticed). The
  // seq_cst load pairs with pause()'s store and enter(): see "Draining" above.
  Mode mode(std::int64_t now_ms) const {
    const auto m = static_cast<Mode>(mode_.load(std::memory_order_seq_cst));
    if (m == Mode::kOff || now_ms > end_ms_.load(std::memory_order_acquire)) return Mode::kOff;
    return m;
  }
  // Whether a pause is set at all (it may have ended already: mode() says): the same seq_cst
  // load as mode(), without the clock read a command pays when none is set.
  bool engaged() const {
    return static_cast<Mode>(mode_.load(std::memory_order_seq_cst)) != Mode::kOff;
  }
  // Whether a command that may write (or may not) waits now.
  bool holds(bool may_write, std::int64_t now_ms) const {
    const Mode m = mode(now_ms);
    return m == Mode::kAll || (m == Mode::kWrite && may_write);
  }
  // Registers w (kind kPause) as held if the pause still holds such a command; false when it
  // does not any more (the session runs the command now).
  bool hold(const std::shared_ptr<blocking::Waiter>& w, bool may_write);

  std::uint64_t held() const { return held_count_.load(std::memory_order_relaxed); }
  const ExpiryHold& expiry_hold() const { return expiry_; }

 private:
  struct Held {
    std::shared_ptr<blocking::Waiter> waiter;
  };
  // Ends the pause (under mu_) and hands back whoever it held, in arrival order.
  std::deque<Held> end_locked() LF_REQUIRES(mu_);
  void run_timer();

  lf::Mutex mu_;
  lf::CondVar cv_;
  std::atomic<std::uint8_t> mode_{0};        // written under mu_ (seq_cst: see drain())
  std::atomic<std::int64_t> end_ms_{0};      // written under mu_
  ExpiryHold expiry_;                        // written under mu_
  std::deque<Held> held_ LF_GUARDED_BY(mu_);
  std::atomic<std::uint64_t> held_count_{0};  // held_.size(), for INFO without the lock
  bool stopping_ LF_GUARDED_BY(mu_) = false;
  // Commands between enter() and leave(), over every session: an atomic on its own line, as
  // every command touches it.
  alignas(64) std::atomic<std::int64_t> in_flight_{0};
  // Started under mu_ by the first pause while !stopping_; joined by stop() once stopping_ is
  // set, when nothing can start it any more.
  std::thread timer_;
};

}  // namespace lfdb::db
