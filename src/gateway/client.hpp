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
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "commands/command_table.hpp"
#include "gateway/reply_slot.hpp"
#include "gateway/routing.hpp"
#include "gateway/upstream.hpp"
#include "lf/bound_thread_set.hpp"
#include "lf/event_handler.hpp"
#include "lf/mutex.hpp"
#include "lf/net.hpp"
#include "resp/request_parser.hpp"
#include "resp/writer.hpp"

namespace lfdb::gateway {

class Gateway;

class ClientConn final : public lf::EventHandler, public ReplySink {
 public:
  // Bound forwarding: the deepest nesting of client dispatches on one thread's stack at which a
  // batch still waits for its replies (deeper ones are forwarded asynchronously).
  static constexpr std::size_t kMaxBoundDepth = 8;

  ClientConn(Gateway& gw, lf::SockStream stream, std::uint64_t id);
  ~ClientConn() override;

  lf::Disposition handle_event(int handle, lf::EventMask events) override;
  int get_handle() const override { return fd_; }
  void handle_close(int handle) override;
  void on_registered(lf::HandlerId id) override { hid_ = id; }

  void on_reply(const Pending& p, const resp::Frame& reply, bool more_follow) override;
  void retain() override { refs_.fetch_add(1, std::memory_order_relaxed); }
  void release() override;

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
  void process_input(const char* data, std::size_t size, std::size_t& consumed);
  void command(std::span<const std::string_view> argv) LF_REQUIRES(mu_);
  void local(const commands::CommandSpec& spec, std::span<const std::string_view> argv) LF_REQUIRES(mu_);
  void keyed(const commands::CommandSpec& spec, std::span<const std::string_view> argv) LF_REQUIRES(mu_);
  void reap_scripts_locked() LF_REQUIRES(mu_);
  void split(const commands::CommandSpec& spec, Merge merge, std::span<const std::string_view> argv) LF_REQUIRES(mu_);
  void fanout(Merge merge, std::span<const std::string_view> argv) LF_REQUIRES(mu_);
  void transaction(const commands::CommandSpec& spec, std::span<const std::string_view> argv) LF_REQUIRES(mu_);
  void in_multi(const commands::CommandSpec& spec, CommandRoute route,
                std::span<const std::string_view> argv) LF_REQUIRES(mu_);
  // The one shard every key of the command lives in; -1 without keys; -2 across shards.
  int shard_of(const commands::CommandSpec& spec, std::span<const std::string_view> argv) const;
  Backend& backend_for(const commands::CommandSpec& spec, int shard);
  bool pin_or_wait(int shard) LF_REQUIRES(mu_);
  void end_tx_wait();
  void unpin();
  // The pinned connection failed since pinning (or a command could not be sent on it): the
  // back-end forgot the client's MULTI/WATCH, so the transaction can only abort.
  bool pin_broken();
  void end_transaction();
  void hello(std::span<const std::string_view> argv, resp::Writer& w);
  void auth(std::span<const std::string_view> argv, resp::Writer& w);

  // Reply slots and forwarding (both modes).
  ReplySlot* begin_slot(Merge merge, std::uint32_t parts) LF_REQUIRES(mu_);
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
  bool over_limits_locked() const LF_REQUIRES(mu_);

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
  // Transaction state.
  UpstreamConn* pinned_ = nullptr;
  int pinned_shard_ = -1;
  std::uint64_t pinned_incarnation_ = 0;
  bool tx_lost_ = false;
  bool in_multi_ = false;
  bool multi_error_ = false;
  bool multi_sent_ = false;
  std::vector<std::vector<std::string>> unpinned_queue_;  // keyless commands before the shard is known
  // Waiting for a dedicated connection (pin_or_wait): the command stays unprocessed in the
  // input until a released connection or the wait's timer dispatches the client again.
  bool retry_command_ = false;        // the command just run must run again later
  bool tx_woken_ = false;             // this dispatch follows a wait: keep the turn in the queue
  lf::TimePoint tx_wait_deadline_{};  // {}: not waiting
  lf::TimerId tx_timer_ = 0;

  // Shared with completing threads.
  mutable lf::Mutex mu_;
  SlotQueue slots_ LF_GUARDED_BY(mu_);
  std::string out_ LF_GUARDED_BY(mu_);
  std::size_t out_sent_ LF_GUARDED_BY(mu_) = 0;
  bool closed_ LF_GUARDED_BY(mu_) = false;   // handle_close ran: drop late replies
  bool closing_ LF_GUARDED_BY(mu_) = false;  // close once the output is out
  bool broken_ LF_GUARDED_BY(mu_) = false;   // a send failed
  bool paused_ LF_GUARDED_BY(mu_) = false;   // over a limit: not reading
  bool tx_waiting_ LF_GUARDED_BY(mu_) = false;  // waiting for a transaction connection: not reading
  lf::EventMask interest_ LF_GUARDED_BY(mu_) = lf::kReadEvent;
};

}  // namespace lfdb::gateway
