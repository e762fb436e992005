// gateway::ClientConn: one client connection of the gateway, as an event handler in the
// gateway's handle set and as the sink its forwarded requests' replies complete into.
//
// The thread the reactor dispatches it on reads the client's bytes into its own scratch
// buffer, cuts commands (resp::RequestParser), validates them against the shared command table,
// answers the gateway's own commands, and forwards the rest over the back-ends' multiplexed
// connections. Every command takes a ReplySlot in the client's reply queue; slots fill in any
// order (the replies of different back-ends race) and leave in order, so the client reads its
// replies in the order it sent its commands.
//
//   async forwarding: whichever thread reads a reply from a back-end fills the slot and writes
//                     the ready head of the queue to the client socket;
//   bound forwarding: the forwarding thread waits for each reply (lf::BoundThreadSet, hybrid)
//                     and writes the replies itself.
//
// MULTI/WATCH pin the client to a dedicated upstream connection of one shard until EXEC,
// DISCARD or UNWATCH (docs/gateway.md).
//
// Thread-safety: the reply queue, the output buffer and the socket's write side are guarded by
// mu_ (completions arrive on any thread). Everything else (parser, transaction state) belongs to
// the dispatching thread; the reactor runs one dispatch of a handler at a time. The object is
// reference-counted: the handle set holds one reference, every queued Pending one more.
#pragma once

#include <atomic>
#include <memory>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "commands/command_table.hpp"
#include "gateway/pinned_transaction.hpp"
#include "gateway/pubsub_hub.hpp"
#include "gateway/reply_slot.hpp"
#include "gateway/routing.hpp"
#include "gateway/upstream.hpp"
#include "lf/bound_thread_set.hpp"
#include "lf/event_handler.hpp"
#include "lf/mutex.hpp"
#include "lf/net.hpp"
#include "lf/outbox.hpp"
#include "resp/request_parser.hpp"
#include "resp/writer.hpp"

namespace lfdb::gateway {

class Gateway;

class ClientConn final : public lf::EventHandler, public ReplySink, public lf::SessionHost {
 public:
  // Bound forwarding: the deepest nesting of client dispatches on one thread's stack at which a
  // batch still waits for its replies (deeper ones are forwarded asynchronously).
  static constexpr std::size_t kMaxBoundDepth = 8;
  // Backpressure in bytes (over_limits_locked): the replies one client may have in flight, as
  // judged by its recent replies; a client whose reply sizes are not known yet has
  // kFirstWindow requests in flight. 8 MB is far above what a LAN round trip needs to keep a
  // client's pipeline moving, and what a back-end builds for one client in a few milliseconds.
  static constexpr std::size_t kInFlightReplyBytes = 8u << 20;
  static constexpr std::size_t kFirstWindow = 16;

  ClientConn(Gateway& gw, lf::SockStream stream, std::uint64_t id);
  ~ClientConn() override;

  lf::Disposition handle_event(int handle, lf::EventMask events) override;
  int get_handle() const override { return fd_; }
  void handle_close(int handle) override;
  lf::EventMask on_registered(lf::HandlerId id) override {
    hid_ = id;
    return 0;
  }

  void on_reply(const Pending& p, const resp::Frame& reply, bool more_follow) override;
  // A command the gateway answers itself, and its handler.
  struct LocalCall {
    std::span<const std::string_view> argv;
    resp::Writer& out;
    bool close_after = false;  // QUIT: close once the reply is out
    bool answered = false;     // the handler queued its reply itself (or runs again later)
  };
  using LocalHandler = void (ClientConn::*)(LocalCall&);
  // Binds the gateway's own commands to their specs; aborts if the command table and the
  // routes disagree. Called once at start, so such a bug shows there.
  static void bind_local_commands() { (void)local_handlers(); }
  void retain() override { refs_.fetch_add(1, std::memory_order_relaxed); }
  void release() override;

  // lf::SessionHost, for the client's outbox (pub/sub messages, posted by the PubSubHub from
  // the threads reading the subscriber connections): a post wakes the client's handler, which
  // drains the outbox into its output between replies; an overflow (client-output-buffer-limit
  // pubsub) drops the client. Called under the outbox's lock: they only notify the handle set.
  void wake() override;
  void request_close() override;
  void unpark() override {}  // a gateway client never parks

 private:
  // Bound forwarding: one command of the batch and the contexts its parts wait on.
  struct BoundPart {
    lf::ThreadContext* ctx = nullptr;
    std::uint32_t part = 0;
    Backend* backend = nullptr;
  };
  struct BoundCall {
    ReplySlot slot;
    std::vector<BoundPart> parts;
  };

  // Reader side.
  // Runs the complete commands in the input. True when it stopped before the end for a reason
  // of its own (backpressure, a transaction wait, a full bound batch): more will run later.
  bool process_input(const char* data, std::size_t size, std::size_t& consumed);
  void command(std::span<const std::string_view> argv) LF_REQUIRES(mu_);
  void local(std::uint16_t index, std::span<const std::string_view> argv) LF_REQUIRES(mu_);
  void keyed(const commands::CommandSpec& spec, CommandRoute route, std::span<const std::string_view> argv) LF_REQUIRES(mu_);
  void reap_scripts_locked() LF_REQUIRES(mu_);
  void split(const commands::CommandSpec& spec, Merge merge, std::span<const std::string_view> argv) LF_REQUIRES(mu_);
  void fanout(Merge merge, std::span<const std::string_view> argv) LF_REQUIRES(mu_);
  // Pub/sub (pubsub_client.cpp): the subscribe family answered from the client's own
  // subscriptions, PUBLISH/SPUBLISH forwarded to the channel's shard, NUMSUB/NUMPAT local.
  void pubsub(const commands::CommandSpec& spec, PubsubCommand cmd, std::span<const std::string_view> argv) LF_REQUIRES(mu_);
  void subscribe_cmd(PubSubHub::Kind kind, std::span<const std::string_view> argv) LF_REQUIRES(mu_);
  void unsubscribe_cmd(PubSubHub::Kind kind, std::span<const std::string_view> argv) LF_REQUIRES(mu_);
  // Their work, the confirmations written to `w` in `protocol`; `shards`: the shards whose
  // subscriber connections were asked to subscribe (a confirmation waits for them).
  void subscribe_into(PubSubHub::Kind kind, std::span<const std::string_view> argv, resp::Writer& w,
                      resp::Protocol protocol, std::vector<int>& shards) LF_REQUIRES(mu_);
  void unsubscribe_into(PubSubHub::Kind kind, std::span<const std::string_view> argv, resp::Writer& w) LF_REQUIRES(mu_);
  // The subscribe family inside MULTI (pubsub_client.cpp): queued by the gateway, run at EXEC in
  // their places among the back-end's replies (`exec`: the EXEC reply's array; nullptr when the
  // back-end runs nothing), the whole EXEC reply written to `out`.
  void run_local_steps_locked(const std::vector<LocalStep>& steps, const resp::Frame* exec, resp::Protocol protocol,
                              std::string& out, std::vector<int>& shards) LF_REQUIRES(mu_);
  // The back-end's EXEC reply for a slot with local steps: true once the slot is ready.
  bool exec_reply_locked(ReplySlot& slot, const Pending& p, const resp::Frame& reply) LF_REQUIRES(mu_);
  // A PING on each shard's connection (`which`) for `slot`, a kPrepared slot of that many parts;
  // a shard that is down answers its part with the error. True when that made the slot ready.
  bool ping_behind_locked(ReplySlot& slot, const std::vector<int>& shards, UpstreamConn& (Backend::*which)()) LF_REQUIRES(mu_);
  // RESP2 subscribed mode: any subscription (Redis's rule for what may run then).
  bool subscribed() const LF_REQUIRES(mu_) { return !subs_[0].empty() || !subs_[1].empty() || !subs_[2].empty(); }
  // The client goes: its subscriptions leave the hub, its outbox closes.
  void leave_pubsub() LF_REQUIRES(mu_);
  // Moves what the outbox holds into the output when no reply is owed before it (so a message
  // never overtakes a reply) and the socket took everything so far (so a slow reader's backlog
  // stays in the outbox, under its limits). True if it moved anything.
  bool drain_pushes_locked() LF_REQUIRES(mu_);
  // Blocking commands (BLPOP ...): one connection of the key's shard's blocking pool each.
  void blocking(const commands::CommandSpec& spec, std::span<const std::string_view> argv) LF_REQUIRES(mu_);
  // A command that must not overtake the replies still owed (it goes on another connection):
  // true if it has to wait for them; it then runs again once they are in.
  bool wait_for_earlier_replies() LF_REQUIRES(mu_);
  // The client went (or half-closed, as redis-server counts it) while blocked: the connections
  // of its blocked commands, and closing them (without the client's lock).
  std::vector<UpstreamConn*> blocked_connections_locked() LF_REQUIRES(mu_);
  void abandon_blocked(const std::vector<UpstreamConn*>& conns);
  // A paused, blocked client had a read or hang-up event: gone (EOF) or sending more?
  void watch_blocked_hangup();
  void transaction(const commands::CommandSpec& spec, TxCommand tx, std::span<const std::string_view> argv) LF_REQUIRES(mu_);
  void multi_cmd(std::span<const std::string_view> argv) LF_REQUIRES(mu_);
  void watch_cmd(const commands::CommandSpec& spec, std::span<const std::string_view> argv) LF_REQUIRES(mu_);
  void unwatch_cmd(const commands::CommandSpec& spec, std::span<const std::string_view> argv) LF_REQUIRES(mu_);
  void discard_cmd(std::span<const std::string_view> argv) LF_REQUIRES(mu_);
  void exec_cmd(std::span<const std::string_view> argv) LF_REQUIRES(mu_);
  void in_multi(const commands::CommandSpec& spec, CommandRoute route,
                std::span<const std::string_view> argv) LF_REQUIRES(mu_);
  // COPY ... DB n with n != 0 (a bad option is left to the shard, which answers it).
  static bool copies_to_another_db(std::span<const std::string_view> argv);
  // The one shard every key of the command lives in; -1 without keys; -2 across shards.
  int shard_of(const commands::CommandSpec& spec, std::span<const std::string_view> argv) const;
  Backend& backend_for(const commands::CommandSpec& spec, int shard);
  enum class PinResult { kPinned, kWaiting, kTimedOut };
  PinResult pin_or_wait(int shard) LF_REQUIRES(mu_);
  // The client's one timer (PinnedTransaction's): fires at `t` or before (TimePoint::max(): none).
  void wake_at(lf::TimePoint t);
  // A timer fired: the pinned client silent for tx_idle_timeout loses its transaction. Not
  // silent: `paused` (held back by the gateway), `owed` (replies it waits for), or input_waiting().
  void on_tx_timer(bool paused, bool owed);
  // Bytes the client sent that the gateway has not read yet (its socket's receive queue).
  bool input_waiting() const;
  void expire_idle_transaction();
  // The error for a command of a lost transaction (PinnedTransaction::Loss).
  std::string lost_error();
  // Inside MULTI, once pinned: MULTI and the keyless commands queued before the shard was known.
  void send_multi() LF_REQUIRES(mu_);
  Backend& pinned_backend();
  void forward_pinned(std::span<const std::string_view> argv, ReplySlot* slot,
                      PendingKind kind = PendingKind::kSlot) LF_REQUIRES(mu_);
  // EXEC, DISCARD, UNWATCH: back to no transaction; the dedicated connection goes back to its pool.
  void end_transaction();

  // The gateway's own commands (local_commands.cpp): one handler per Route::kLocal spec, bound
  // by the spec's index once, at start (LocalCall, LocalHandler: public, above).
  static const std::vector<LocalHandler>& local_handlers();
  void ping_cmd(LocalCall& c) LF_REQUIRES(mu_);
  void echo_cmd(LocalCall& c);
  void quit_cmd(LocalCall& c);
  void hello_cmd(LocalCall& c) LF_REQUIRES(mu_);  // (it re-encodes a subscriber's messages)
  void auth_cmd(LocalCall& c);
  void select_cmd(LocalCall& c);
  void move_cmd(LocalCall& c);
  void swapdb_cmd(LocalCall& c);
  void client_id_cmd(LocalCall& c) LF_REQUIRES(mu_);
  void client_setname_cmd(LocalCall& c);
  void client_getname_cmd(LocalCall& c);
  void client_help_cmd(LocalCall& c);
  // Client-side caching and RESET (tracking_client.cpp).
  void client_tracking_cmd(LocalCall& c) LF_REQUIRES(mu_);
  void client_caching_cmd(LocalCall& c);
  void client_getredir_cmd(LocalCall& c);
  void client_trackinginfo_cmd(LocalCall& c);
  void reset_cmd(LocalCall& c) LF_REQUIRES(mu_);
  // The client as a destination of invalidations (its outbox, registered with the TrackingHub):
  // once it asks for its id or tracks; and its protocol or subscribed mode changed.
  void ensure_endpoint_locked() LF_REQUIRES(mu_);
  // The outbox pushes reach the client by (pub/sub messages, invalidations), opened on first need.
  void open_outbox_locked() LF_REQUIRES(mu_);
  void endpoint_changed_locked() LF_REQUIRES(mu_);
  // A tracking client's read: its keys go into the gateway's tracking table.
  void remember_reads(const commands::CommandSpec& spec, std::span<const std::string_view> argv);
  // NOLOOP (tracking_client.cpp): a write of a NOLOOP tracking client, forwarded in an
  // asynchronous slot that carries its keys (own_keys_, taken by take_own_write); its reply
  // waits for a marker behind it on each of its shards' tracker connections, so the
  // invalidations it caused are known as its own before the client sees the reply.
  bool own_write_wanted(const commands::CommandSpec& spec, CommandRoute route) const;
  void own_write(const commands::CommandSpec& spec, CommandRoute route, std::span<const std::string_view> argv) LF_REQUIRES(mu_);
  void take_own_write(ReplySlot& slot, std::vector<int> shards);
  void end_own_write();  // not forwarded after all
  // A part of an own write's slot came back: true once the slot is ready to leave.
  bool own_write_reply_locked(ReplySlot& slot, const Pending& p, const resp::Frame& reply) LF_REQUIRES(mu_);
  void info_cmd(LocalCall& c);
  void command_getkeys_cmd(LocalCall& c);
  void wrong_pass(resp::Writer& w);  // a failed AUTH or HELLO AUTH: its reply, counted

  // Reply slots and forwarding (both modes).
  ReplySlot* begin_slot(Merge merge, std::uint32_t parts) LF_REQUIRES(mu_);
  void answer_after_ping(std::string body, const std::vector<int>& shards,
                         UpstreamConn& (Backend::*which)()) LF_REQUIRES(mu_);
  void reply_local(const std::string& bytes, bool close_after = false) LF_REQUIRES(mu_);
  void reply_error(std::string_view text) LF_REQUIRES(mu_);
  // A refused command: its error, and inside MULTI the transaction is aborted at EXEC.
  void reject(const std::string& e) LF_REQUIRES(mu_);
  // Sends one part; on failure the part is answered with the error at once.
  void forward(Backend& b, std::span<const std::string_view> argv, ReplySlot* slot,
               std::uint32_t part, PendingKind kind = PendingKind::kSlot) LF_REQUIRES(mu_);
  void flush_upstreams() LF_REQUIRES(mu_);
  void finish_bound_batch(std::vector<BoundCall>& calls);

  // Writer side (mu_).
  void collect_ready_locked() LF_REQUIRES(mu_);  // ready head slots into the output
  void flush_head_locked() LF_REQUIRES(mu_);
  void send_out_locked() LF_REQUIRES(mu_);
  void update_interest_locked() LF_REQUIRES(mu_);
  // Backpressure: stop reading and forwarding for the client (max_pipeline commands in flight,
  // kInFlightReplyBytes of replies expected, or its output, pending and expected, past the soft
  // output limit). `bound_in_flight`: the bound batch being built.
  bool over_limits_locked(std::size_t bound_in_flight = 0) const LF_REQUIRES(mu_);
  void note_reply_size_locked(std::size_t bytes) LF_REQUIRES(mu_);
  // A paused client back under its limits reads again (any thread that took replies from it).
  void resume_if_drained_locked() LF_REQUIRES(mu_);
  // Reply bytes the client has not taken: the gateway's buffer and the socket's send queue.
  std::size_t owed_locked() const LF_REQUIRES(mu_) { return out_.size() - out_sent_ + in_socket_; }
  // client_output_buffer_limit: past the hard limit, or held back at the soft one for too long,
  // the client is disconnected (broken_).
  void check_output_limits_locked() LF_REQUIRES(mu_);
  // The client sent its last request: close once every reply to it is out.
  void close_when_answered_locked() LF_REQUIRES(mu_);

  Gateway& gw_;
  const int fd_;
  const std::uint64_t id_;
  lf::HandlerId hid_;
  std::atomic<int> refs_{1};
  const bool bound_mode_;

  // Reader side: the dispatching thread only.
  resp::RequestParser parser_;
  std::vector<std::string_view> argv_;
  std::string leftover_;
  resp::Protocol protocol_ = resp::Protocol::kResp2;
  bool authenticated_;
  std::string name_;
  std::string local_buf_;
  std::vector<UpstreamConn*> dirty_;
  std::vector<BoundCall>* bound_calls_ = nullptr;
  bool stop_reading_ = false;  // QUIT or a protocol error: nothing after it is processed
  std::size_t unauthenticated_unsent_ = 0;  // before AUTH: reply bytes not sent yet
  bool input_closed_ = false;  // the client shut its sending side (EOF): no more recv
  PinnedTransaction tx_;  // MULTI/WATCH and the dedicated connection they pin
  // CLIENT TRACKING as this client set it (the table is the TrackingHub's); `caching`: CLIENT
  // CACHING for the next command (or the rest of the transaction).
  struct Tracking {
    bool on = false, bcast = false, optin = false, optout = false, noloop = false, caching = false;
    std::uint64_t redirect = 0;
  };
  Tracking track_;
  bool endpoint_ = false;  // registered with the TrackingHub
  std::vector<std::string> own_keys_;  // the NOLOOP write being routed (own_write)
  std::atomic<bool> pubsub_dropped_{false};  // the outbox overflowed: disconnect
  // Shared with completing threads.
  mutable lf::Mutex mu_;
  SlotQueue slots_ LF_GUARDED_BY(mu_);
  std::string out_ LF_GUARDED_BY(mu_);
  std::size_t out_sent_ LF_GUARDED_BY(mu_) = 0;
  std::size_t in_socket_ LF_GUARDED_BY(mu_) = 0;  // the socket's send queue when out_ is not empty
  bool closed_ LF_GUARDED_BY(mu_) = false;   // handle_close ran: drop late replies
  bool closing_ LF_GUARDED_BY(mu_) = false;  // close once the output is out
  bool broken_ LF_GUARDED_BY(mu_) = false;   // a send failed, or the client is dropped
  bool paused_ LF_GUARDED_BY(mu_) = false;   // over a limit: not reading
  bool tx_waiting_ LF_GUARDED_BY(mu_) = false;  // waiting for a transaction connection: not reading
  // The client moves between a shared and a dedicated connection (pinning, EXEC): what it sends
  // next waits until every reply so far is in, so it cannot overtake them at the back-end.
  bool switching_ LF_GUARDED_BY(mu_) = false;
  bool read_side_closed_ LF_GUARDED_BY(mu_) = false;  // input_closed_, for the interest
  lf::TimePoint held_since_ LF_GUARDED_BY(mu_){};  // held back at the soft output limit since
  std::size_t reply_estimate_ LF_GUARDED_BY(mu_) = 0;   // bytes of a recent reply (0: none yet)
  lf::EventMask interest_ LF_GUARDED_BY(mu_) = lf::kReadEvent;
  std::shared_ptr<lf::Outbox> outbox_ LF_GUARDED_BY(mu_);  // opened by the first subscription
  // Channels, patterns, shard channels (PubSubHub::Kind): the client's commands, and an EXEC's
  // reply that runs a transaction's subscriptions (on the thread that reads it).
  std::set<std::string> subs_[3] LF_GUARDED_BY(mu_);
  // A bound batch is being answered by its thread: posted messages wait (they must not overtake
  // its replies, which are not in the slot queue).
  bool bound_batch_open_ LF_GUARDED_BY(mu_) = false;
  // Blocking commands in flight. While one blocks, the paused client is still watched for a
  // hang-up (its input is not read), until it sends more (then it is only read once answered).
  std::size_t blocked_in_flight_ LF_GUARDED_BY(mu_) = 0;
  bool blocked_input_seen_ LF_GUARDED_BY(mu_) = false;
};

}  // namespace lfdb::gateway
