// The blocked clients of lfdb-server (BLPOP BRPOP BRPOPLPUSH BLMOVE BLMPOP BZPOPMIN BZPOPMAX
// BZMPOP, XREAD and XREADGROUP BLOCK): where their waits are registered, how a write serves them, and what ends a wait
// that no write serves (timeout, CLIENT UNBLOCK, CLIENT KILL, a hang-up, shutdown).
// docs/blocking.md has the design; the short form:
//
//   * A waiter is registered in the rooms of its keys' colors by the blocking command's own
//     invocation, which holds those colors; a writer of a key looks at the key's room while it
//     still holds the key's color. So registering, serving and a concurrent write are ordered by
//     the colors themselves: no lock, and no wake-up can be lost between "the list was empty" and
//     "the client is registered".
//   * Serving is Redis's ready-keys pass: after a write invocation (a command, a whole
//     transaction, a whole script) and before it gives its colors back, serve() looks at the
//     keys it wrote and hands their elements to their waiters, first come first served, each
//     pop logged as the plain command it amounts to (LPOP, LMOVE, ZPOPMIN...). A BLMOVE whose
//     destination's color the invocation does not hold is served by an invocation of its own on
//     both colors, queued right away.
//   * The served clients are unparked once the invocation is over (wake_pending()), never
//     inside a held global mutex.
//   * Waits that no write ends: one timer thread for all blocked clients (not one per client)
//     keeps their deadlines and checks their sockets for hang-ups; CLIENT UNBLOCK/KILL and
//     shutdown settle them through the same claim.
//
// Thread-safety: a room is touched only by the invocation holding its color (or the global
// mutex with `--data global`), like the partition of the same color. The index of blocked
// clients (deadlines, ids) is behind its own mutex. Counters are atomics.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "db/blocking/waiter.hpp"
#include "lf/mutex.hpp"
#include "lf/thread_annotations.hpp"

namespace lfdb::db {
class Server;
}

namespace lfdb::db::blocking {

// The colors an invocation holds, for a serve pass: its keys' colors, or all of them (`--data
// global`, and invocations that run alone).
struct HeldColors {
  bool all = false;
  std::vector<std::uint32_t> colors;
  bool has(std::uint32_t c) const;
};

// How a blocked client is settled from outside (CLIENT UNBLOCK, CLIENT KILL, shutdown).
enum class Settle : std::uint8_t { kTimeout, kError, kClose };

class Registry {
 public:
  explicit Registry(Server& server);
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  void start();  // the timer thread
  // Shutdown: every blocked client is settled (its connection closes) and the thread joins.
  void stop();

  // The blocking command's invocation, holding the colors of w's keys: w waits from now on.
  void add(const std::shared_ptr<Waiter>& w);
  // Under the colors of w's keys, once w is settled: its entries go.
  void remove(const Waiter& w);
  // The ready-keys pass of a write invocation that holds `held` (see above). Records of the
  // pops it makes are appended to the log here; served clients wait in this thread's wake list.
  void serve(std::span<const std::string_view> keys, std::uint32_t db, const HeldColors& held,
             std::int64_t now_ms);
  // Whether any client is blocked at all: a write's pass costs one load when none is.
  bool any() const { return blocked_.load(std::memory_order_acquire) != 0; }

  // CLIENT UNBLOCK / CLIENT KILL: settles the client's wait, if it has one; true if it had.
  // The client is woken by the caller's wake_pending().
  bool settle(std::uint64_t client_id, Settle how);

  // A settled waiter's leftovers in other rooms are removed by an invocation on its keys.
  void forget(const std::shared_ptr<Waiter>& w);

  // The keys clients wait on in db, for SWAPDB (it runs alone: every room holds still).
  std::vector<std::string> waited_keys(std::uint32_t db) const;

  std::uint64_t blocked_clients() const { return blocked_.load(std::memory_order_relaxed); }
  std::uint64_t blocking_keys() const { return keys_.load(std::memory_order_relaxed); }

 private:
  using Queue = std::deque<std::shared_ptr<Waiter>>;
  struct Room {
    std::unordered_map<std::string, Queue> queues;  // by wait_key(db, key)
  };

  // Registered with the index (deadline, id) after the rooms: the timer can settle it.
  void index(const std::shared_ptr<Waiter>& w);
  // The claimer's bookkeeping: counts, and the outcome's reply.
  void settled(Waiter& w);
  void run_timer();
  void deferred_serve(std::uint32_t db, std::string key, std::string dest);
  void serve_stream_reader(Queue& q, std::size_t& i, const std::string& key, std::uint32_t db,
                           std::int64_t now_ms, std::string* records, bool errors_only = false);
  // Every blocked group reader whose stream or group is gone is answered (after FLUSHALL...).
  void sweep_stream_groups(std::int64_t now_ms);

  Server& server_;
  std::vector<Room> rooms_;  // by color; each guarded by its color (see above)
  std::atomic<std::uint64_t> blocked_{0};  // registered and not yet settled
  std::atomic<std::uint64_t> keys_{0};     // non-empty queues over all rooms

  lf::Mutex mu_;
  lf::CondVar cv_;
  std::unordered_map<std::uint64_t, std::shared_ptr<Waiter>> by_client_ LF_GUARDED_BY(mu_);
  bool stopping_ LF_GUARDED_BY(mu_) = false;
  // When the timer looks next (ms), as it set before it waited; 0 while it waits for a first
  // waiter. A new waiter wakes it only if it must look sooner: one wake-up (and one poll of
  // every blocked socket) per blocked command would cost a work queue's every XREADGROUP.
  std::int64_t timer_wake_ms_ LF_GUARDED_BY(mu_) = 0;
  std::thread timer_;
};

// The served clients of this thread's invocation: unparked by wake_pending() once the
// invocation is over (outside the global mutex with `--data global`).
void note_woken(std::shared_ptr<Waiter> w);
void wake_pending();

// Keys a write made ready in another database than its command's own (MOVE, COPY ... DB,
// SWAPDB), as Redis signals them: the ready pass after the invocation serves them too, on the
// colors it holds (a key has the same color in every database). The thread's own; the session
// clears it where a top-level invocation starts and the pass empties it.
inline thread_local std::vector<std::pair<std::uint32_t, std::string>> t_ready_elsewhere;
inline void note_ready(std::uint32_t db, std::string_view key) {
  t_ready_elsewhere.emplace_back(db, std::string(key));
}

// What a session offers the handler it runs: the blocking command it runs outside MULTI and
// scripts may block (spec matches), and where the handler leaves the waiter it registered.
struct Offer {
  const void* spec = nullptr;
  std::uint64_t client_id = 0;
  int fd = -1;
  Sleeper* sleeper = nullptr;
  std::shared_ptr<Waiter> waiter;  // set by the handler when it blocked
};
inline thread_local Offer* t_offer = nullptr;

}  // namespace lfdb::db::blocking
