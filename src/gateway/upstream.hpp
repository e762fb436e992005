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
// Failure: a connection that fails (EOF, error, protocol error) fails every Pending at once with
// an error naming the back-end, and reconnects with backoff; after server_failure_limit
// consecutive failures the back-end is ejected for server_retry_timeout, and requests for it fail
// fast meanwhile.
//
// Lateness judges the back-end, not one client's backlog: a request fails alone ("timed out")
// once it is older than the timeout while its connection received nothing for as long; its place
// in the FIFO stays (its reply is dropped when it comes), so the connection and everyone else's
// requests on it live on. A connection that receives nothing for the timeout while requests wait
// is stalled: new requests fail fast, and the back-end is probed with a PING on a connection of
// its own. Any answer (BUSY too) means busy but alive: nothing is counted against it. No answer
// within liveness_timeout, or no connection at all, fails the stalled connections: that failure
// counts toward ejection.
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
  kProbe,    // the liveness PING of a stalled back-end: any reply means alive
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

// Where a subscriber connection's published messages go (the gateway's PubSubHub): `frame` is one
// `message`, `pmessage` or `smessage` push from the back-end of shard `shard`, a view valid during
// the call. Called on the thread reading that connection, with no connection lock held.
class PushSink {
 public:
  virtual ~PushSink() = default;
  virtual void on_push(int shard, const resp::Frame& frame) = 0;
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
  PushSink* push_sink = nullptr;  // subscriber connections' messages (set before any connects)
  PushSink* invalidation_sink = nullptr;  // tracker connections' `invalidate` pushes (likewise)
  std::atomic<std::uint64_t> replies_same_thread{0};   // async: completed by the forwarder
  std::atomic<std::uint64_t> replies_other_thread{0};  // async: completed by another thread
  std::atomic<std::uint64_t> late_bound_replies{0};    // bound: nobody waited any more
};

class Backend;

class UpstreamConn final : public lf::EventHandler {
 public:
  enum class State { kIdle, kConnecting, kConnected, kClosing, kDown };
  // shared: multiplexed for every client; dedicated: one pinned client at a time (MULTI/WATCH);
  // probe: the back-end's liveness PING, closed again once answered; subscriber: the one
  // connection per back-end in subscribed mode that carries every channel and pattern the
  // gateway's clients listen to (its pushes go to the context's PushSink, its FIFO holds only
  // the replies asked for: set-up, (un)subscribe confirmations, PINGs); blocking: one blocked
  // command (BLPOP ...) at a time, never late (the command's own timeout governs it);
  // tracker: the one RESP3 connection per back-end with CLIENT TRACKING ON BCAST, whose
  // `invalidate` pushes feed the gateway's TrackingHub (its FIFO holds the replies asked for).
  enum class Role : std::uint8_t { kShared, kDedicated, kProbe, kSubscriber, kBlocking, kTracker };

  UpstreamConn(Backend& backend, resp::Protocol protocol, Role role);
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
  // Housekeeping: requests late on a stalled connection fail alone; a connect or a probe that
  // takes too long fails the connection; reconnect when the backoff has passed (if `keep_up`).
  // Returns whether the connection is stalled (see the top of this file).
  bool tick(lf::TimePoint now, bool keep_up);
  bool stalled(lf::TimePoint now) const;
  // Fails every Pending with `why` and closes the connection (reconnect follows).
  void fail(const std::string& why);
  // Closes the connection for a reason that is not the back-end's (a blocked client left): the
  // Pendings fail with `why`, nothing counts toward ejection, the next use reconnects at once.
  void close_quietly(const std::string& why);

  lf::Disposition handle_event(int handle, lf::EventMask events) override;
  int get_handle() const override { return fd_.load(std::memory_order_acquire); }
  void handle_close(int handle) override;

  State state() const;
  // Counts the connection's failures (lost, refused, timed out). A client pinned to it for a
  // transaction compares it with the value at pinning: a change means the back-end's MULTI and
  // WATCH state went with the old connection.
  std::uint64_t incarnation() const { return incarnation_.load(std::memory_order_acquire); }
  std::size_t in_flight() const;
  bool dedicated() const { return role_ == Role::kDedicated; }
  // Whether its failures count toward the back-end's ejection. Not a blocking connection's: a
  // burst of blocked clients opens hundreds at once, and connects that overflow the back-end's
  // accept queue (and time out) say nothing about the back-end the shared connections do not
  // (ejecting it would fail every client for the retry timeout). The blocked client gets the
  // error either way.
  bool counts_failures() const { return role_ != Role::kBlocking; }
  Role role() const { return role_; }
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
  // Requests wait and nothing came for the timeout since the oldest was sent.
  bool stalled_locked(lf::TimePoint now) const LF_REQUIRES(mu_);
  // Takes the queue for failing, marks the connection closing; returns the handler to remove.
  lf::HandlerId begin_fail_locked(std::deque<Pending>& out, bool counts = true) LF_REQUIRES(mu_);
  // Subscriber and tracker roles: each frame is a push (to the context's PushSink for the role)
  // or the reply to the FIFO's head.
  bool deliver_subscriber_frames();
  void complete(const Pending& p, const resp::Frame& reply, bool more_follow = false);
  void complete_failed(std::deque<Pending>& failed, const std::string& why);
  // fail() and close_quietly(): closes it and fails what waits on it; `counts` toward ejection.
  void close_failing(const std::string& why, bool counts);
  lf::Disposition read_replies();

  Backend& backend_;
  const resp::Protocol protocol_;
  const Role role_;

  mutable lf::Mutex mu_;
  State state_ LF_GUARDED_BY(mu_) = State::kIdle;
  lf::HandlerId id_ LF_GUARDED_BY(mu_);
  bool registered_ LF_GUARDED_BY(mu_) = false;
  lf::EventMask interest_ LF_GUARDED_BY(mu_) = 0;
  std::string out_ LF_GUARDED_BY(mu_);
  std::size_t out_sent_ LF_GUARDED_BY(mu_) = 0;
  std::deque<Pending> fifo_ LF_GUARDED_BY(mu_);
  // The first `expired_` Pendings of the FIFO timed out: their clients were answered, their
  // replies are dropped when they come (a prefix: requests expire in the order they were sent).
  std::size_t expired_ LF_GUARDED_BY(mu_) = 0;
  lf::TimePoint connect_started_ LF_GUARDED_BY(mu_){};
  lf::TimePoint retry_at_ LF_GUARDED_BY(mu_){};
  // Request latency (INFO's latency_*): shared and dedicated connections only. A histogram is
  // ~59 KB; a blocked command's wait is no latency, and thousands of blocking connections would
  // carry one each.
  std::unique_ptr<lf::Histogram> latency_ LF_GUARDED_BY(mu_);
  bool ever_used_ LF_GUARDED_BY(mu_) = false;
  std::atomic<int> fd_{-1};
  std::atomic<std::uint64_t> incarnation_{0};
  // When the reader last received bytes (steady clock, ns): progress, whole replies or not.
  std::atomic<std::int64_t> last_read_ns_{0};

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
  // The back-end's one subscriber connection (RESP2; the gateway's PubSubHub drives it).
  UpstreamConn& subscriber() { return *subscriber_; }
  // The back-end's one tracker connection (RESP3, CLIENT TRACKING ON BCAST while any client of
  // the gateway tracks; the gateway's TrackingHub drives it).
  UpstreamConn& tracker() { return *tracker_; }
  // A connection for one blocking command, or nullptr when blocking_connections are all busy
  // (the client gets an error at once: never a hang). Given back with release_blocking() once
  // the command's reply (or failure) is in.
  UpstreamConn* acquire_blocking(resp::Protocol protocol);
  void release_blocking(UpstreamConn* c);
  // A dedicated connection for client `client` (its handler) in MULTI/WATCH, or nullptr.
  // Turns are taken in arrival order: a connection handed to the client is its own; an idle one
  // or a new one (while the pool has room) only when no client waits ahead for one. Else, with
  // `may_wait`, the client is queued (once) for the next release.
  UpstreamConn* acquire_dedicated(resp::Protocol protocol, lf::HandlerId client = {}, bool may_wait = false);
  // Returns a dedicated connection to the pool: it is handed to the longest-waiting client (of
  // its protocol), which is woken with a read event to retry its command; nobody else can take it
  // meanwhile, not the releasing client either. With nobody waiting it goes idle.
  void release_dedicated(UpstreamConn* c);
  // The client stops waiting (its wait timed out, or it is gone): out of the queue, and a
  // connection already handed to it goes to the next one.
  void cancel_wait(lf::HandlerId client);

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
  // Housekeeping (the housekeeper's thread only): ticks every connection, probes a stalled
  // back-end's liveness.
  void tick(lf::TimePoint now);
  // The liveness probe got no answer (lost, refused, or none within liveness_timeout): the
  // stalled connections fail with `why`. (An answer, whatever it says, needs nothing done.)
  void on_probe_failed(const std::string& why);

  std::size_t in_flight() const { return in_flight_.load(std::memory_order_relaxed); }

  // Counters (INFO).
  // failures: counted ones (rounds, what ejection counts); connection_failures: every failed
  // connection or connect attempt.
  // timeouts: requests that failed late (each alone); probes: liveness PINGs sent, and the ones
  // that got no answer.
  std::atomic<std::uint64_t> requests{0}, errors{0}, failures{0}, connection_failures{0},
      reconnects{0}, ejections{0}, timeouts{0}, probes{0}, probes_failed{0};
  std::atomic<std::int64_t> in_flight_{0};
  std::string info_line() const;

 private:
  UpstreamContext& ctx_;
  const Endpoint endpoint_;
  const std::string label_;
  const int shard_;
  const bool primary_;
  std::vector<std::unique_ptr<UpstreamConn>> shared_[2];  // [0] RESP2, [1] RESP3
  std::unique_ptr<UpstreamConn> probe_;
  std::unique_ptr<UpstreamConn> subscriber_;
  std::unique_ptr<UpstreamConn> tracker_;
  lf::TimePoint last_probe_{};  // the housekeeper's only
  // Sends a liveness PING (one at a time, at most one per timeout).
  void probe(lf::TimePoint now);
  // Fails the connections that are stalled now, with `why`.
  void fail_stalled(const std::string& why);
  // Shared and dedicated connections, for housekeeping (the pool's list is copied under its lock).
  std::vector<UpstreamConn*> data_connections() const;
  mutable lf::Mutex health_mu_;
  int consecutive_failures_ LF_GUARDED_BY(health_mu_) = 0;
  lf::TimePoint round_until_ LF_GUARDED_BY(health_mu_){};  // the current round's backoff ends
  std::atomic<std::int64_t> ejected_until_ns_{0};  // read without the lock on every request
  mutable lf::Mutex pool_mu_;
  std::vector<std::unique_ptr<UpstreamConn>> dedicated_ LF_GUARDED_BY(pool_mu_);
  std::vector<UpstreamConn*> idle_ LF_GUARDED_BY(pool_mu_);
  // Clients waiting for a dedicated connection, oldest first; each release hands one over.
  struct TxWaiter {
    lf::HandlerId client;
    resp::Protocol protocol;
  };
  std::deque<TxWaiter> tx_waiters_ LF_GUARDED_BY(pool_mu_);
  // Connections handed to a woken client that has not taken them yet.
  std::vector<std::pair<UpstreamConn*, lf::HandlerId>> handed_ LF_GUARDED_BY(pool_mu_);
  // Blocking commands' connections (blocking_connections at most), and the idle ones.
  std::vector<std::unique_ptr<UpstreamConn>> blocking_ LF_GUARDED_BY(pool_mu_);
  std::vector<UpstreamConn*> blocking_idle_ LF_GUARDED_BY(pool_mu_);
};

}  // namespace lfdb::gateway
