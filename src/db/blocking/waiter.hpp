// A client blocked on keys (BLPOP, BLMOVE, BZPOPMIN...): what it waits for, and the one-time
// hand-over of its reply. The session that blocked owns one Waiter at a time; the registry's
// rooms (one per color) and the blocked-client index hold shared pointers to it.
//
// Exactly one party settles a waiter: whoever wins claim() — the writer that serves it (under
// the served key's color), the timeout, CLIENT UNBLOCK, CLIENT KILL, a hang-up or shutdown. The
// winner writes `reply` (and the rest of the outcome) and calls finish(); the session meets it
// there (an lf::Rendezvous, as a parked command's task does): whichever arrives second carries
// the connection on. An element is popped only after claim() succeeded, so a client that timed
// out, was killed or went away is never handed one.
//
// Thread-safety: the fields above `state` are immutable once the waiter is registered. The
// outcome fields are written only by the claimer, before finish(), and read by the session after
// the meeting (the Rendezvous orders them).
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "lf/rendezvous.hpp"
#include "resp/writer.hpp"

namespace lfdb::db::blocking {

// What a blocked command does once one of its keys can serve it.
enum class Op : std::uint8_t {
  kPop,    // BLPOP BRPOP: [key, element]
  kMove,   // BLMOVE BRPOPLPUSH: the element, pushed to `dest`
  kMPop,   // BLMPOP: [key, [elements]] (up to count)
  kZPop,   // BZPOPMIN BZPOPMAX: [key, member, score]
  kZMPop,  // BZMPOP: [key, [[member, score]...]] (up to count)
  kStream, // XREAD / XREADGROUP BLOCK: [[key, entries]] (up to count; db/stream/block_read.cpp)
  kWait,   // WAIT: no keys; settled by the replicas' acknowledgements (db/replication_wait.hpp)
  kPause,  // held by CLIENT PAUSE: no keys, no reply; settled when the pause ends (db/client_pause.hpp)
};

inline bool wants_list(Op op) { return op == Op::kPop || op == Op::kMove || op == Op::kMPop; }

// The session side: how a settled waiter gets its connection carried on.
class Sleeper {
 public:
  virtual ~Sleeper() = default;
  virtual void wake() = 0;  // SessionHost::unpark: the last touch of the session
};

class Waiter {
 public:
  // ---- immutable once registered ----
  Op op = Op::kPop;
  bool left = true;       // pop side (LEFT / MIN)
  bool to_left = true;    // kMove: push side
  std::int64_t count = 1; // kMPop / kZMPop
  std::uint32_t db = 0;
  std::vector<std::string> keys;  // in the order given: served by the first ready one
  std::string dest;               // kMove
  // kStream: per key (in `keys` order) the id whose successors it waits for, as ms, seq pairs;
  // XREADGROUP's group and consumer (group empty for XREAD) and NOACK.
  std::vector<std::uint64_t> after_ids;
  std::string group, consumer;
  bool noack = false;
  std::uint64_t client_id = 0;
  int fd = -1;                    // the connection's socket, for hang-up checks (-1: unknown)
  resp::Protocol protocol = resp::Protocol::kResp2;
  std::int64_t deadline_ms = 0;   // 0: forever
  Sleeper* sleeper = nullptr;     // touched only by the claimer, through finish()

  // ---- the claim ----
  bool claim() {
    bool expected = false;
    return claimed_.compare_exchange_strong(expected, true, std::memory_order_acq_rel);
  }
  bool waiting() const { return !claimed_.load(std::memory_order_acquire); }

  // ---- the outcome: written by the claimer before finish() ----
  std::string reply;               // the whole reply, in the client's protocol
  bool close = false;              // the connection goes (killed, hung up, shutting down)
  bool served_from_key = false;    // a writer took it out of the served key's queue itself
  std::uint64_t commit_offset = 0; // the log offset its pop/move was appended at (0: none)

  // The claimer's last touch: the session carries on here or in its own meeting.
  void finish() {
    Sleeper* s = sleeper;
    if (meeting.arrive()) s->wake();
  }
  // The session's side of the same meeting: true when the claimer finished already.
  bool park() { return meeting.arrive(); }

 private:
  std::atomic<bool> claimed_{false};
  lf::Rendezvous meeting;
};

}  // namespace lfdb::db::blocking
