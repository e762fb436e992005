// ClientConn's pub/sub and blocking commands (docs/gateway.md, "Pub/sub" and "Blocking
// commands"): the subscribe family is answered from the client's own subscriptions, which the
// PubSubHub shares out over one subscriber connection per back-end; a blocking command takes a
// connection of the key's shard's blocking pool for as long as it blocks.
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>

#include "gateway/client.hpp"
#include "gateway/gateway.hpp"
#include "gateway/scratch.hpp"

namespace lfdb::gateway {

namespace {

using Kind = PubSubHub::Kind;

constexpr std::string_view kSubscribeReply[] = {"subscribe", "psubscribe", "ssubscribe"};
constexpr std::string_view kUnsubscribeReply[] = {"unsubscribe", "punsubscribe", "sunsubscribe"};

std::size_t kind_index(Kind k) { return static_cast<std::size_t>(k); }

}  // namespace

void ClientConn::wake() { (void)gw_.reactor().notify(hid_, lf::kWakeEvent); }

void ClientConn::request_close() {
  pubsub_dropped_.store(true, std::memory_order_release);
  (void)gw_.reactor().notify(hid_, lf::kWakeEvent);
}

bool ClientConn::drain_pushes_locked() {
  if (!outbox_ || broken_ || closed_ || closing_ || bound_batch_open_ || !slots_.empty() ||
      out_sent_ != out_.size()) {
    return false;
  }
  return outbox_->drain(out_) > 0;
}

void ClientConn::pubsub(const commands::CommandSpec&, PubsubCommand cmd, std::span<const std::string_view> argv) {
  switch (cmd) {
    case PubsubCommand::kSubscribe: return subscribe_cmd(Kind::kChannel, argv);
    case PubsubCommand::kPsubscribe: return subscribe_cmd(Kind::kPattern, argv);
    case PubsubCommand::kSsubscribe: return subscribe_cmd(Kind::kShard, argv);
    case PubsubCommand::kUnsubscribe: return unsubscribe_cmd(Kind::kChannel, argv);
    case PubsubCommand::kPunsubscribe: return unsubscribe_cmd(Kind::kPattern, argv);
    case PubsubCommand::kSunsubscribe: return unsubscribe_cmd(Kind::kShard, argv);
    case PubsubCommand::kPublish:
    case PubsubCommand::kSpublish: {
      // To the channel's shard, where its subscribers (and every pattern) listen. The count is
      // the back-end's: this gateway's subscriber connection counts once per matching
      // subscription, whatever number of clients it serves.
      const int shard = gw_.router().shard_of_key(argv[1]);
      forward(gw_.primary(shard), argv, begin_slot(Merge::kNone, 1), 0);
      return;
    }
    case PubsubCommand::kNumsub:
    case PubsubCommand::kShardnumsub: {
      // This gateway's clients: the back-ends only see its one subscriber connection.
      const Kind kind = cmd == PubsubCommand::kNumsub ? Kind::kChannel : Kind::kShard;
      local_buf_.clear();
      resp::Writer w(local_buf_, protocol_);
      w.array_header((argv.size() - 2) * 2);
      for (std::size_t i = 2; i < argv.size(); ++i) {
        w.bulk(argv[i]);
        w.integer(static_cast<std::int64_t>(gw_.hub().listeners(kind, argv[i])));
      }
      return reply_local(local_buf_);
    }
    case PubsubCommand::kNumpat: {
      local_buf_.clear();
      resp::Writer(local_buf_, protocol_).integer(static_cast<std::int64_t>(gw_.hub().patterns()));
      return reply_local(local_buf_);
    }
    case PubsubCommand::kNone: break;
  }
  LF_CHECK_MSG(false, "a pub/sub route without its command");
}

void ClientConn::subscribe_cmd(Kind kind, std::span<const std::string_view> argv) {
  if (kind == Kind::kShard) {
    // As Redis Cluster: the shard channels of one SSUBSCRIBE live in one shard.
    for (std::size_t i = 2; i < argv.size(); ++i) {
      if (gw_.router().shard_of_key(argv[i]) != gw_.router().shard_of_key(argv[1])) {
        return reply_error(kCrossSlotError);
      }
    }
  }
  // Bound forwarding: the confirmation is an asynchronous slot; replies a bound batch still
  // owes go first.
  if (bound_calls_ != nullptr && !bound_calls_->empty() && wait_for_earlier_replies()) return;
  std::string confirmations;
  resp::Writer w(confirmations, protocol_);
  std::vector<int> shards;
  subscribe_into(kind, argv, w, protocol_, shards);
  if (shards.empty()) return reply_local(confirmations);
  // The confirmation waits until each shard's subscriber connection answered a PING sent after
  // the SUBSCRIBE: from then on the back-end delivers what is published, so a client that
  // publishes after its confirmation (on any connection) never misses its own message. A
  // back-end that is down keeps the subscription, which comes back with it (PubSubHub::tick).
  answer_after_ping(std::move(confirmations), shards, &Backend::subscriber);
}

void ClientConn::subscribe_into(Kind kind, std::span<const std::string_view> argv, resp::Writer& w,
                                resp::Protocol protocol, std::vector<int>& shards) {
  open_outbox_locked();
  const std::size_t k = kind_index(kind);
  for (std::size_t i = 1; i < argv.size(); ++i) {
    if (subs_[k].insert(std::string(argv[i])).second) {
      gw_.hub().subscribe(kind, argv[i], PubSubHub::Subscriber{outbox_, protocol}, shards);
    }
    const std::size_t count = kind == Kind::kShard ? subs_[2].size() : subs_[0].size() + subs_[1].size();
    w.push_header(3);
    w.bulk(kSubscribeReply[k]);
    w.bulk(argv[i]);
    w.integer(static_cast<std::int64_t>(count));
  }
  endpoint_changed_locked();  // subscribed: a RESP2 REDIRECT target receives now
  std::sort(shards.begin(), shards.end());
  shards.erase(std::unique(shards.begin(), shards.end()), shards.end());
}

// Answers `body` once each shard's connection (`which`: its subscriber or tracker) has answered
// a PING sent behind what the caller queued there; a shard that is down adds its error instead.
void ClientConn::answer_after_ping(std::string body, const std::vector<int>& shards,
                                   UpstreamConn& (Backend::*which)()) {
  std::vector<BoundCall>* const bound_calls = bound_calls_;
  bound_calls_ = nullptr;
  ReplySlot* slot = begin_slot(Merge::kPrepared, static_cast<std::uint32_t>(shards.size()));
  slot->body = std::move(body);
  (void)ping_behind_locked(*slot, shards, which);
  bound_calls_ = bound_calls;
  if (bound_calls_ != nullptr) switching_ = true;  // nothing bound overtakes the slot
}

bool ClientConn::ping_behind_locked(ReplySlot& slot, const std::vector<int>& shards, UpstreamConn& (Backend::*which)()) {
  const std::string_view ping[] = {"PING"};
  bool ready = false;
  for (std::uint32_t i = 0; i < shards.size(); ++i) {
    Pending p;
    p.kind = PendingKind::kSlot;
    p.sink = this;
    p.slot = &slot;
    p.part = i;
    p.forwarder = thread_index();
    UpstreamConn& c = (gw_.primary(shards[i]).*which)();
    std::string why;
    if (c.enqueue(ping, p, why)) {
      c.flush();
    } else {
      std::string storage;
      ready = slot.add_part(i, error_frame(why, storage));
    }
  }
  return ready;
}

// ---- the subscribe family inside MULTI -----------------------------------------------------
//
// Queued by the gateway (+QUEUED) in their places among the transaction's commands, and run
// when EXEC runs: once the back-end's EXEC reply is an array (a transaction aborted or not run,
// WATCH's null or an error, runs none of them), their confirmations take their places in it, as
// redis-server writes them into its EXEC reply (a SUBSCRIBE of n channels adds n frames where
// the count says one). The reply leaves once the subscriber connections confirmed, as a
// SUBSCRIBE's does; what the client sends next waits for it (switching_), so it runs subscribed.

void ClientConn::run_local_steps_locked(const std::vector<LocalStep>& steps, const resp::Frame* exec,
                                        resp::Protocol protocol, std::string& out, std::vector<int>& shards) {
  const resp::Frame none;
  const resp::Frame& replies = exec != nullptr ? *exec : none;
  const std::size_t backend_n = replies.element_count();
  resp::Writer w(out, protocol);
  w.array_header(backend_n + steps.size());
  auto element = replies.elements().begin();
  std::size_t taken = 0;
  auto next_backend = [&] {
    if (taken++ < backend_n) {
      out.append((*element).bytes());
      ++element;
    }
  };
  std::vector<std::string_view> argv;
  std::uint32_t at = 0;
  for (const LocalStep& step : steps) {
    for (; at < step.at; ++at) next_backend();
    ++at;
    argv.assign(step.argv.begin(), step.argv.end());
    const std::string_view name = argv[0];
    if (commands::iequal(name, "ping")) {
      if (argv.size() > 2) {
        w.error(commands::wrong_arity_error("ping"));
      } else if (protocol == resp::Protocol::kResp2 && subscribed()) {
        w.array_header(2);
        w.bulk("pong");
        w.bulk(argv.size() == 2 ? argv[1] : "");
      } else if (argv.size() == 2) {
        w.bulk(argv[1]);
      } else {
        w.simple_string("PONG");
      }
    } else if (commands::iequal(name, "ssubscribe")) {
      // redis-server 7.0 refuses it there (a transaction's client may not block).
      w.error("ERR SSUBSCRIBE isn't allowed for a DENY BLOCKING client");
    } else if (commands::iequal(name, "subscribe") || commands::iequal(name, "psubscribe")) {
      subscribe_into(commands::iequal(name, "subscribe") ? Kind::kChannel : Kind::kPattern, argv, w, protocol, shards);
    } else {
      const Kind kind = commands::iequal(name, "unsubscribe")    ? Kind::kChannel
                        : commands::iequal(name, "punsubscribe") ? Kind::kPattern
                                                                 : Kind::kShard;
      unsubscribe_into(kind, argv, w);
    }
  }
  while (taken < backend_n) next_backend();
  std::sort(shards.begin(), shards.end());
  shards.erase(std::unique(shards.begin(), shards.end()), shards.end());
}

bool ClientConn::exec_reply_locked(ReplySlot& slot, const Pending& p, const resp::Frame& reply) {
  if (closed_ || broken_ || !reply.is_aggregate() || reply.is_null()) {
    // Gone (nobody to subscribe), or the transaction did not run: the reply as it is.
    slot.tx_local.clear();
    return slot.add_part(p.part, reply);
  }
  const std::vector<LocalStep> steps = std::move(slot.tx_local);
  const resp::Protocol protocol = slot.protocol;
  std::string body;
  std::vector<int> shards;
  run_local_steps_locked(steps, &reply, protocol, body, shards);
  slot.start(Merge::kPrepared, static_cast<std::uint32_t>(shards.size()), protocol);
  if (shards.empty()) {
    slot.set_local(body);
    return true;
  }
  slot.body = std::move(body);
  return ping_behind_locked(slot, shards, &Backend::subscriber);
}

void ClientConn::unsubscribe_cmd(Kind kind, std::span<const std::string_view> argv) {
  if (bound_calls_ != nullptr && !bound_calls_->empty() && wait_for_earlier_replies()) return;
  local_buf_.clear();
  resp::Writer w(local_buf_, protocol_);
  unsubscribe_into(kind, argv, w);
  reply_local(local_buf_);
}

void ClientConn::unsubscribe_into(Kind kind, std::span<const std::string_view> argv, resp::Writer& w) {
  const std::size_t k = kind_index(kind);
  std::vector<std::string> names;
  if (argv.size() > 1) {
    for (std::size_t i = 1; i < argv.size(); ++i) names.emplace_back(argv[i]);
  } else {
    names.assign(subs_[k].begin(), subs_[k].end());
  }
  // What was posted before it arrives before its confirmation.
  if (outbox_ && slots_.empty() && out_sent_ == out_.size()) (void)outbox_->drain(out_);
  // (The lock is held here; the analysis does not see it inside a lambda, so subs_ is passed.)
  auto count = [kind](const std::set<std::string>* subs) {
    return static_cast<std::int64_t>(kind == Kind::kShard ? subs[2].size() : subs[0].size() + subs[1].size());
  };
  if (names.empty()) {
    w.push_header(3);
    w.bulk(kUnsubscribeReply[k]);
    w.null();
    w.integer(count(subs_));
  }
  for (const std::string& name : names) {
    if (subs_[k].erase(name) > 0) gw_.hub().unsubscribe(kind, name, outbox_.get());
    w.push_header(3);
    w.bulk(kUnsubscribeReply[k]);
    w.bulk(name);
    w.integer(count(subs_));
  }
  endpoint_changed_locked();
}

void ClientConn::leave_pubsub() {
  if (!outbox_) return;
  if (!gw_.stopping()) {
    for (std::size_t k = 0; k < 3; ++k) {
      for (const std::string& name : subs_[k]) gw_.hub().unsubscribe(static_cast<Kind>(k), name, outbox_.get());
    }
  }
  for (auto& s : subs_) s.clear();
  outbox_->close();  // no post reaches this client any more; what was queued is freed
}

std::vector<UpstreamConn*> ClientConn::blocked_connections_locked() {
  std::vector<UpstreamConn*> v;
  slots_.for_each([&](ReplySlot& slot) {
    if (!slot.ready && slot.blocking_conn != nullptr) v.push_back(slot.blocking_conn);
  });
  return v;
}

void ClientConn::abandon_blocked(const std::vector<UpstreamConn*>& conns) {
  // The connection is closed, so the back-end forgets the blocked client before it could serve
  // it an element nobody would take; the failed reply gives the connection back to the pool.
  for (UpstreamConn* c : conns) {
    gw_.stats().blocking_abandoned.fetch_add(1, std::memory_order_relaxed);
    c->close_quietly("ERR lfdb-gateway: the blocked client left");
  }
}

void ClientConn::watch_blocked_hangup() {
  std::vector<UpstreamConn*> blocked;
  {
    lf::MutexLock lock(mu_);
    if (blocked_in_flight_ == 0 || closed_) return;
    char b;
    const ssize_t n = ::recv(fd_, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
      blocked = blocked_connections_locked();  // gone: give the blocked commands up
    } else if (n > 0) {
      // More commands behind the blocked one: they wait, unread (a hang-up after them is seen
      // once the blocked command is answered).
      blocked_input_seen_ = true;
      update_interest_locked();
    }
  }
  abandon_blocked(blocked);
}

bool ClientConn::wait_for_earlier_replies() {
  if (slots_.empty() && (bound_calls_ == nullptr || bound_calls_->empty())) return false;
  // It runs again, unread input first, once every reply so far is in (send_out_locked resumes).
  switching_ = true;
  paused_ = true;
  update_interest_locked();
  tx_.retry_later();
  return true;
}

void ClientConn::blocking(const commands::CommandSpec& spec, std::span<const std::string_view> argv) {
  const int shard = shard_of(spec, argv);
  if (shard == -2) return reply_error(kCrossSlotError);
  // On a connection of its own: it must not overtake the replies still owed on the others.
  if (wait_for_earlier_replies()) return;
  Backend& b = gw_.primary(shard < 0 ? 0 : shard);
  UpstreamConn* c = b.acquire_blocking(protocol_);
  if (c == nullptr) {
    gw_.stats().blocking_refused.fetch_add(1, std::memory_order_relaxed);
    return reply_error("ERR lfdb-gateway: all " + std::to_string(gw_.config().blocking_connections) +
                       " blocking connections to backend " + b.label() +
                       " are in use (blocking_connections)");
  }
  // An asynchronous slot also under bound forwarding: no thread waits for a blocked reply.
  std::vector<BoundCall>* const bound_calls = bound_calls_;
  bound_calls_ = nullptr;
  ReplySlot* slot = begin_slot(Merge::kNone, 1);
  bound_calls_ = bound_calls;
  slot->blocking_conn = c;
  Pending p;
  p.kind = PendingKind::kSlot;
  p.sink = this;
  p.slot = slot;
  p.forwarder = thread_index();
  std::string why;
  if (c->enqueue(argv, p, why)) {
    c->flush();
    ++blocked_in_flight_;
    gw_.stats().forwarded.fetch_add(1, std::memory_order_relaxed);
    gw_.stats().blocking_commands.fetch_add(1, std::memory_order_relaxed);
  } else {
    slot->blocking_conn = nullptr;
    b.release_blocking(c);
    gw_.stats().error_replies.fetch_add(1, std::memory_order_relaxed);
    std::string storage;
    slot->add_part(0, error_frame(why, storage));
  }
  // A blocked client runs nothing else until it is answered, as on redis-server.
  switching_ = true;
}

}  // namespace lfdb::gateway
