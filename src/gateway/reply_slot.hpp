// gateway::ReplySlot: the place in a client's reply queue that one command's reply will fill,
// and how the replies of the parts of a split or fanned-out command merge into one.
//
// A client's commands may go to different back-ends and their replies come back in any order;
// each command owns a slot in its client's queue, slots fill in any order and leave the queue
// in order. A command split over shards (MGET, MSET, DEL, UNLINK, EXISTS, TOUCH) or sent to every
// shard (DBSIZE, FLUSHALL, KEYS) has one part per back-end; each part's reply is merged as it
// arrives and the slot is ready when the last part is in.
//
// Thread-safety: none inside; the owning client's lock guards its slots (async forwarding), or
// one thread owns the slot (bound forwarding).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "resp/reply_parser.hpp"
#include "resp/writer.hpp"

namespace lfdb::gateway {

enum class Merge : std::uint8_t {
  kNone,    // one part: its reply as it is
  kMget,    // per-key values back in the order of the client's keys
  kSum,     // integers added (DEL, UNLINK, EXISTS, TOUCH, DBSIZE)
  kAllOk,   // +OK when every part said OK (MSET, FLUSHALL, FLUSHDB)
  kConcat,  // arrays concatenated (KEYS)
  kSame,    // every part must answer the same: that answer (SCRIPT LOAD's SHA1)
  kAnyOk,   // +OK if any part did it (SCRIPT KILL); else an error, one that refused (UNKILLABLE)
            // ahead of one that found nothing to do (NOTBUSY)
  kPrepared,  // the gateway's own reply (in `body`), sent once every part answered, whatever
              // they said ((P|S)SUBSCRIBE's confirmations wait for the back-ends' subscriptions)
};

class UpstreamConn;

// A command of a transaction the gateway runs itself at EXEC (the (P|S)SUBSCRIBE family, and a
// PING behind one, whose RESP2 answer depends on it): its place among the transaction's commands.
struct LocalStep {
  std::uint32_t at = 0;
  std::vector<std::string> argv;
};

struct ReplySlot {
  bool ready = false;
  bool close_after = false;  // QUIT, protocol error: close once this reply is out
  Merge merge = Merge::kNone;
  resp::Protocol protocol = resp::Protocol::kResp2;  // the client's, when the command came
  std::uint32_t parts_left = 1;
  std::string reply;  // the bytes to send, once ready
  // EVAL/EVALSHA: the shard it runs on, and whether its client has gone and left it to the
  // ScriptReaper (which hears when it is answered).
  int script_shard = -1;
  bool script_reaped = false;
  // A blocking command's connection (Backend::acquire_blocking): given back when the reply is in.
  UpstreamConn* blocking_conn = nullptr;
  // NOLOOP (ClientConn::own_write_reply_locked): a tracking client's write, answered once a
  // marker behind it on its shards' tracker connections is (kWrite: the write is in flight;
  // kMarker: its reply is in `body`, the markers are). The keys and shards it writes.
  enum class Own : std::uint8_t { kNone, kWrite, kMarker };
  Own own = Own::kNone;
  std::vector<std::string> own_keys;
  std::vector<int> own_shards;
  // EXEC of a transaction with LocalSteps: run when the back-end's EXEC reply is an array, their
  // replies spliced into it (ClientConn::exec_reply_locked).
  std::vector<LocalStep> tx_local;

  // Merge state.
  std::string first_error;  // the first error reply of any part wins
  std::int64_t sum = 0;
  std::uint64_t count = 0;
  std::string body;
  std::vector<std::string> values;                 // kMget: one frame per key position
  std::vector<std::vector<std::uint32_t>> part_keys;  // kMget: key positions of each part

  // Prepares the slot for a command of `parts` parts merged by `m`.
  void start(Merge m, std::uint32_t parts, resp::Protocol p = resp::Protocol::kResp2);
  // A part's reply. Returns true when it was the last one (the slot is ready).
  bool add_part(std::uint32_t part, const resp::Frame& reply);
  // A local reply (already serialized).
  void set_local(std::string_view bytes) {
    reply.assign(bytes);
    ready = true;
    parts_left = 0;
  }
};

// A client's reply slots in request order (a FIFO). A slot keeps its address while it is
// queued (Pendings point at it), and an idle client holds no memory for slots: nodes come from
// a small cache per thread and go back to the cache of whichever thread pops them, so a busy
// client allocates nothing in the steady state. Not thread-safe: its owner's lock guards it.
class SlotQueue {
 public:
  SlotQueue() = default;
  ~SlotQueue();
  SlotQueue(const SlotQueue&) = delete;
  SlotQueue& operator=(const SlotQueue&) = delete;

  ReplySlot& emplace_back();  // a default slot at the back
  ReplySlot& front() { return head_->slot; }
  ReplySlot& back() { return tail_->slot; }
  void pop_front();
  bool empty() const { return head_ == nullptr; }
  std::size_t size() const { return size_; }
  template <class Fn>
  void for_each(Fn&& fn) {
    for (Node* n = head_; n != nullptr; n = n->next) fn(n->slot);
  }

  struct Node {
    ReplySlot slot;
    Node* next = nullptr;
  };

 private:
  Node* head_ = nullptr;
  Node* tail_ = nullptr;
  std::size_t size_ = 0;
};

// "-ERR ...\r\n" as a Frame (for failures the gateway reports in a part's place). The bytes
// live in `storage`.
resp::Frame error_frame(std::string_view message, std::string& storage);

}  // namespace lfdb::gateway
