// The gateway's upstream side: back-ends and the multiplexed connections to them.
//
//   Backend       one back-end server (a shard's primary or a replica): its health (failures,
//                 ejection), statistics, a few shared connections per protocol, and a small
//                 pool of dedicated connections for clients in MULTI/WATCH.
//   UpstreamConn  one TCP connection to a back-end, registered in the gateway's handle set.
//                 Requests from any client are appended to its output and their Pending
//                 records to its FIFO; replies come back in request order, so the thread that
//                 reads a reply pops the FIFO's head and completes it.
//   ReplySink     what a Pending completes into: a client connection (async forwarding).
//
// Failure: a connection that fails (EOF, error, protocol error, the oldest request older than
// the timeout) fails every Pending at once with an error naming the back-end, and reconnects
// with backoff; after server_failure_limit consecutive failures the back-end is ejected for
// server_retry_timeout, and requests for it fail fast meanwhile.
//
// Thread-safety: UpstreamConn's queue, output and state are guarded by its mutex; its input
// side (buffer, reply parser) is touched only by the thread the reactor dispatches it on (one at
// a time). Lock order: a client's lock may be held while taking an UpstreamConn's lock, never
// the reverse: a Pending is completed only after the connection's lock is released.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/config.hpp"
#include "lf/bound_thread_set.hpp"
#include "lf/event_handler.hpp"
#include "lf/histogram.hpp"
#include "lf/mutex.hpp"
#include "lf/reactor.hpp"
#include "resp/reply_parser.hpp"
#include "resp/writer.hpp"

namespace lfdb::gateway {

class ReplySink;

enum class PendingKind : std::uint8_t {
  kSlot,     // fill a client's reply slot (async forwarding)
  kBound,    // hand to the thread waiting in the bound thread set
  kSwallow,  // nobody wants the reply (transaction clean-up on a dedicated connection)
  kPrelude,  // AUTH / HELLO 3 sent on connect: an error fails the connection
};

struct Pending {
  ReplySink* sink = nullptr;  // kSlot: retained while queued
  void* slot = nullptr;       // the sink's token for the reply slot
  std::uint32_t part = 0;
  std::uint64_t bound_id = 0;  // kBound
  lf::TimePoint sent{};
  PendingKind kind = PendingKind::kSlot;
  std::int32_t forwarder = -1;  // thread_index() of the forwarding thread
};

class ReplySink {
 public:
  virtual ~ReplySink() = default;
  // `more_follow`: the next reply completed by this thread (same upstream read) is for this
  // sink too, so it may buffer this one and write both with one system call.
  virtual void on_reply(const Pending& p, const resp::Frame& reply, bool more_follow) = 0;
  virtual void retain() = 0;
  virtual void release() = 0;
};

// What every upstream connection shares: the handle set, the bound thread set (bound
// forwarding), the configuration, and gateway-wide counters.
struct UpstreamContext {
  lf::Reactor* reactor = nullptr;
  lf::BoundThreadSet* bound = nullptr;
  const Config* config = nullptr;
  std::atomic<std::uint64_t> replies_same_thread{0};   // async: completed by the forwarder
  std::atomic<std::uint64_t> replies_other_thread{0};  // async: completed by another thread
  std::atomic<std::uint64_t> late_bound_replies{0};    // bound: nobody waited any more
};

class Backend;

class UpstreamConn final : public lf::EventHandler {
 public:
  enum class State { kIdle, kConnecting, kConnected, kClosing, kDown };

  UpstreamConn(Backend& backend, resp::Protocol protocol, bool dedicated);
  ~UpstreamConn() override;

  // Appends one request and its Pending. Connects first if the connection is idle or its
  // backoff has passed. Returns false with `why` (a client error text) when the back-end is
  // down or ejected: nothing was queued. Never completes a Pending itself (see lock order).
  bool enqueue(std::span<const std::string_view> argv, const Pending& p, std::string& why);
  // Sends what is buffered (called once per client batch, and on writability).
  void flush();
  // Async forwarding: flush when the calling thread is about to block instead, so the requests
  // of every client it serves until then leave in one send (see flush_deferred()). Past
  // kDeferLimit buffered bytes it sends at once.
  void defer_flush();
  static constexpr std::size_t kDeferLimit = 64 * 1024;
  // Flushes the connections the calling thread deferred (the thread set's before-block hook).
  static void flush_deferred();
  // Housekeeping: fail on timeout, reconnect when the backoff has passed (if `keep_up`).
  void tick(lf::TimePoint now, bool keep_up);
  // Fails every Pending with `why` and closes the connection (reconnect follows).
  void fail(const std::string& why);

  lf::Disposition handle_event(int handle, lf::EventMask events) override;
  int get_handle() const override { return fd_.load(std::memory_order_acquire); }
  void handle_close(int handle) override;

  State state() const;
  // Counts the connection's failures (lost, refused, timed out). A client pinned to it for a
  // transaction compares it with the value at pinning: a change means the back-end's MULTI and
  // WATCH state went with the old connection.
  std::uint64_t incarnation() const { return incarnation_.load(std::memory_order_acquire); }
  std::size_t in_flight() const;
  bool dedicated() const { return dedicated_; }
  resp::Protocol protocol() const { return protocol_; }
  Backend& backend() { return backend_; }
  // Latency of answered requests (nanoseconds), merged into the caller's histogram.
  void merge_latency(lf::Histogram& into) const;

 private:
  bool start_connect_locked(std::string& why) LF_REQUIRES(mu_);
  // A connect attempt failed before it began: count it, back off, and say why.
  bool refuse_locked(const std::string& what, lf::TimePoint now, std::string& why) LF_REQUIRES(mu_);
  void flush_locked() LF_REQUIRES(mu_);
  void update_interest_locked() LF_REQUIRES(mu_);
  // Takes the queue for failing, marks the connection closing; returns the handler to remove.
  lf::HandlerId begin_fail_locked(std::deque<Pending>& out) LF_REQUIRES(mu_);
  void complete(const Pending& p, const resp::Frame& reply, bool more_follow = false);
  void complete_failed(std::deque<Pending>& failed, const std::string& why);
  lf::Disposition read_replies();

  Backend& backend_;
  const resp::Protocol protocol_;
  const bool dedicated_;

  mutable lf::Mutex mu_;
  State state_ LF_GUARDED_BY(mu_) = State::kIdle;
  lf::HandlerId id_ LF_GUARDED_BY(mu_);
  bool registered_ LF_GUARDED_BY(mu_) = false;
  lf::EventMask interest_ LF_GUARDED_BY(mu_) = 0;
  std::string out_ LF_GUARDED_BY(mu_);
  std::size_t out_sent_ LF_GUARDED_BY(mu_) = 0;
  std::deque<Pending> fifo_ LF_GUARDED_BY(mu_);
  lf::TimePoint connect_started_ LF_GUARDED_BY(mu_){};
  lf::TimePoint retry_at_ LF_GUARDED_BY(mu_){};
  lf::Histogram latency_ LF_GUARDED_BY(mu_);
  bool ever_used_ LF_GUARDED_BY(mu_) = false;
  std::atomic<int> fd_{-1};
  std::atomic<std::uint64_t> incarnation_{0};

  // Input side: only the thread dispatching this handler (the reactor runs one at a time).
  std::string in_;
  resp::ReplyParser parser_;
  std::vector<resp::Frame> frames_;
  std::vector<Pending> popped_;
};

class Backend {
 public:
  Backend(UpstreamContext& ctx, Endpoint endpoint, int shard, bool primary);
  ~Backend();

  const Endpoint& endpoint() const { return endpoint_; }
  const std::string& label() const { return label_; }  // "host:port" for error texts
  int shard() const { return shard_; }
  bool primary() const { return primary_; }
  UpstreamContext& context() { return ctx_; }

  // A shared connection for a client (spread by the client's id).
  UpstreamConn& shared(resp::Protocol protocol, std::uint64_t client_id);
  // A dedicated connection for a client in MULTI/WATCH; nullptr when the pool is exhausted.
  // With a valid `waiter` (the client's handler) an exhausted pool queues it, in the same
  // critical section, for the next release; `first` puts it ahead of the others (a woken
  // client that lost the race keeps its turn). A client is queued once.
  UpstreamConn* acquire_dedicated(resp::Protocol protocol, lf::HandlerId waiter = {}, bool first = false);
  // Returns a dedicated connection to the pool and wakes the oldest waiting client (a read
  // event, on which it retries its command).
  void release_dedicated(UpstreamConn* c);

  // Health, shared by all connections to this back-end.
  bool ejected(lf::TimePoint now) const;
  // A connection failed: returns the backoff before its next attempt (the rest of the retry
  // timeout when this failure ejects the back-end). Failures are counted once per round of
  // attempts: when a back-end dies, each of its connections fails (several shared ones, one per
  // protocol, the dedicated ones), but that is one failure of the back-end, not several. A
  // failure during the backoff that the round's first (counted) failure started is the same
  // outage seen by another connection: it is not counted, and that connection retries with
  // the others when the backoff ends. A failed retry after that is the next round.
  lf::Duration on_failure(lf::TimePoint now);
  void on_connected();
  void tick(lf::TimePoint now);

  std::size_t in_flight() const { return in_flight_.load(std::memory_order_relaxed); }

  // Counters (INFO).
  // failures: counted ones (rounds, what ejection counts); connection_failures: every failed
  // connection or connect attempt.
  std::atomic<std::uint64_t> requests{0}, errors{0}, failures{0}, connection_failures{0},
      reconnects{0}, ejections{0}, timeouts{0};
  std::atomic<std::int64_t> in_flight_{0};
  std::string info_line() const;

 private:
  UpstreamContext& ctx_;
  const Endpoint endpoint_;
  const std::string label_;
  const int shard_;
  const bool primary_;
  std::vector<std::unique_ptr<UpstreamConn>> shared_[2];  // [0] RESP2, [1] RESP3
  mutable lf::Mutex health_mu_;
  int consecutive_failures_ LF_GUARDED_BY(health_mu_) = 0;
  lf::TimePoint round_until_ LF_GUARDED_BY(health_mu_){};  // the current round's backoff ends
  std::atomic<std::int64_t> ejected_until_ns_{0};  // read without the lock on every request
  mutable lf::Mutex pool_mu_;
  std::vector<std::unique_ptr<UpstreamConn>> dedicated_ LF_GUARDED_BY(pool_mu_);
  std::vector<UpstreamConn*> idle_ LF_GUARDED_BY(pool_mu_);
  // Clients waiting for a dedicated connection, oldest first; each release wakes one.
  std::deque<lf::HandlerId> tx_waiters_ LF_GUARDED_BY(pool_mu_);
};

}  // namespace lfdb::gateway
