#include "gateway/gateway.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>

#include "commands/access.hpp"
#include "gateway/client.hpp"

namespace lfdb::gateway {

// The listening socket: accepts and registers client connections.
class Gateway::AcceptHandler final : public lf::EventHandler {
 public:
  explicit AcceptHandler(Gateway& gw) : gw_(gw) {}
  int get_handle() const override { return gw_.acceptor_.handle(); }
  lf::EventMask on_registered(lf::HandlerId id) override {
    id_ = id;
    return 0;
  }
  lf::Disposition handle_event(int, lf::EventMask) override {
    // Bounded per event, so a burst of connections cannot starve the other handles.
    for (int i = 0; i < 64; ++i) {
      lf::IoResult io;
      lf::InetAddr peer;
      lf::SockStream s = gw_.acceptor_.accept(io, &peer);
      if (io.would_block) return lf::Disposition::kResume;
      if (!io.ok()) break;  // EMFILE and friends: retry on the next event
      GatewayStats& st = gw_.stats_;
      if (st.clients_open.load(std::memory_order_relaxed) >= gw_.config_.limits.max_clients) {
        static constexpr char kFull[] = "-ERR max number of clients reached\r\n";
        (void)s.send(kFull, sizeof kFull - 1);
        st.connections_rejected.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      if (gw_.config_.protected_mode && gw_.config_.requirepass.empty() &&
          !commands::is_local_client(peer)) {
        const std::string_view no = commands::kProtectedModeDenied;
        (void)s.send(no.data(), no.size());
        st.connections_rejected.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      (void)s.set_nodelay(true);
      auto* c = new ClientConn(gw_, std::move(s), gw_.next_client_id());
      st.connections_accepted.fetch_add(1, std::memory_order_relaxed);
      // Registered with no interest so the connection knows its id before any event; reads
      // are asked for once it does.
      auto id = gw_.reactor_->register_handler(c, 0);
      if (!id.ok()) {
        c->handle_close(c->get_handle());
        continue;
      }
      (void)gw_.reactor_->set_interest(*id, lf::kReadEvent);
    }
    // Connections may still be pending: an edge-triggered handle set would not say so again.
    if (gw_.reactor_->edge_triggered()) (void)gw_.reactor_->notify(id_, lf::kAcceptEvent);
    return lf::Disposition::kResume;
  }

 private:
  Gateway& gw_;
  lf::HandlerId id_;
};

// Drives the timers: request timeouts, connect timeouts, reconnects with backoff and
// readmission after ejection. A handler of its own (an eventfd nobody writes) so the reactor's
// timers have somewhere to go; it re-arms itself after each tick.
class Gateway::Housekeeper final : public lf::EventHandler {
 public:
  explicit Housekeeper(Gateway& gw) : gw_(gw), fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {}
  ~Housekeeper() override {
    if (fd_ >= 0) ::close(fd_);
  }
  int get_handle() const override { return fd_; }
  lf::EventMask on_registered(lf::HandlerId id) override {
    id_ = id;
    return 0;
  }
  lf::Disposition handle_event(int, lf::EventMask events) override {
    if (events & lf::kTimeoutEvent) {
      gw_.housekeeping();
      if (!gw_.stopping()) (void)gw_.reactor_->schedule_timer(id_, period());
    }
    return lf::Disposition::kResume;
  }
  lf::Duration period() const {
    // A quarter of the request timeout (so no request outlives it by much), within 10-100 ms.
    return std::clamp<lf::Duration>(gw_.config_.timeout / 4, std::chrono::milliseconds(10),
                                    std::chrono::milliseconds(100));
  }
  lf::HandlerId id() const { return id_; }

 private:
  Gateway& gw_;
  const int fd_;
  lf::HandlerId id_;
};

Gateway::Gateway(Config config) : config_(std::move(config)), router_(config_.shards) {
  upstream_ctx_.config = &config_;
}

Gateway::~Gateway() { stop(); }

lf::Status Gateway::start() {
  ClientConn::bind_local_commands();
  lf::ReactorOptions ro;
  ro.shared = true;
  ro.handle_set = config_.handle_set;
  auto r = lf::Reactor::create(ro);
  if (!r.ok()) return r.status();
  reactor_ = std::move(r.value());
  // Bound forwarding waits inside a dispatch: a leader that took several events in one turn
  // would hold the other handles deactivated while it waits, and one of them may carry the very
  // reply it waits for. So one event per turn there; several per turn for async forwarding.
  const int per_turn = config_.forwarding == Forwarding::kBound ? 1 : config_.events_per_turn;
  threads_ = std::make_unique<lf::UnboundThreadSet>(*reactor_, lf::Promotion::kLifo, per_turn);
  // Upstream requests buffered by a thread leave together when it is about to block (async
  // forwarding): one send per back-end for every client the thread served since, as many as
  // the handle set had ready, so a back-end reads a whole batch with one recv.
  threads_->set_before_block_hook([] { UpstreamConn::flush_deferred(); });
  // A follower is woken only for a backlog (fewer context switches; docs/gateway.md). Never with
  // bound forwarding: a thread waiting for a reply inside a dispatch must be able to lead.
  threads_->set_lazy_promotion(lazy_promotion());
  if (config_.forwarding == Forwarding::kBound) bound_ = std::make_unique<lf::BoundThreadSet>(*threads_);
  upstream_ctx_.reactor = reactor_.get();
  upstream_ctx_.bound = bound_.get();

  for (std::size_t s = 0; s < config_.shards.size(); ++s) {
    const ShardConfig& sc = config_.shards[s];
    auto shard = std::make_unique<Shard>();
    backends_.push_back(std::make_unique<Backend>(upstream_ctx_, sc.primary, static_cast<int>(s), true));
    shard->primary = backends_.back().get();
    for (const Endpoint& e : sc.replicas) {
      backends_.push_back(std::make_unique<Backend>(upstream_ctx_, e, static_cast<int>(s), false));
      shard->replicas.push_back(backends_.back().get());
    }
    shards_.push_back(std::move(shard));
  }
  std::vector<Endpoint> primaries;
  for (const ShardConfig& sc : config_.shards) primaries.push_back(sc.primary);
  reaper_ = std::make_unique<ScriptReaper>(primaries, config_.backend_password);
  hub_ = std::make_unique<PubSubHub>(*this);
  upstream_ctx_.push_sink = hub_.get();
  tracking_ = std::make_unique<TrackingHub>(*this);
  upstream_ctx_.invalidation_sink = tracking_.get();

  auto addr = lf::InetAddr::resolve(config_.bind, config_.port);
  if (!addr.ok()) return addr.status();
  if (auto st = acceptor_.open(*addr); !st.ok()) return st;
  port_ = acceptor_.local_addr().port();
  accept_handler_ = std::make_unique<AcceptHandler>(*this);
  if (auto id = reactor_->register_handler(accept_handler_.get(), lf::kAcceptEvent); !id.ok()) {
    return id.status();
  }
  housekeeper_ = std::make_unique<Housekeeper>(*this);
  auto hk = reactor_->register_handler(housekeeper_.get(), 0);
  if (!hk.ok()) return hk.status();
  // Connect to every back-end now, so a down one shows in INFO before the first request.
  housekeeping();
  (void)reactor_->schedule_timer(*hk, housekeeper_->period());

  started_at_ = lf::Clock::now();
  const int n = config_.model == "reactor" ? 1 : config_.threads;
  for (int t = 0; t < n; ++t) {
    workers_.emplace_back([this, t] { (void)threads_->join(lf::kInfinite, 0, t); });
  }
  started_ = true;
  return lf::Status();
}

void Gateway::stop() {
  if (!started_) return;
  started_ = false;
  stopping_.store(true, std::memory_order_release);
  threads_->shutdown();
  for (auto& w : workers_) w.join();
  workers_.clear();
  // The reactor closes every handler still registered (clients release their reference; the
  // upstream connections close their sockets), then the back-ends drop what was still queued.
  bound_.reset();
  threads_.reset();
  reactor_.reset();
  upstream_ctx_.reactor = nullptr;
  upstream_ctx_.bound = nullptr;
  backends_.clear();
  shards_.clear();
  reaper_.reset();
  upstream_ctx_.push_sink = nullptr;
  hub_.reset();
  upstream_ctx_.invalidation_sink = nullptr;
  tracking_.reset();  // after the connections: their queued CLIENT TRACKING replies name it
  acceptor_.close();
}

Backend& Gateway::read_backend(int shard) {
  Shard& s = *shards_[static_cast<std::size_t>(shard)];
  if (s.replicas.empty() || config_.read_policy == ReadPolicy::kPrimary) return *s.primary;
  const lf::TimePoint now = lf::Clock::now();
  if (config_.read_policy == ReadPolicy::kRoundRobin) {
    // Replicas in turn, skipping ejected ones; the primary when none is left.
    for (std::size_t tries = 0; tries < s.replicas.size(); ++tries) {
      Backend* b = s.replicas[s.rr.fetch_add(1, std::memory_order_relaxed) % s.replicas.size()];
      if (!b->ejected(now)) return *b;
    }
    return *s.primary;
  }
  // Least outstanding: the back-end (primary included) with the fewest requests in flight.
  Backend* best = s.primary;
  for (Backend* b : s.replicas) {
    if (!b->ejected(now) && b->in_flight() < best->in_flight()) best = b;
  }
  return *best;
}

void Gateway::housekeeping() {
  const lf::TimePoint now = lf::Clock::now();
  for (auto& b : backends_) b->tick(now);
  hub_->tick();  // lost subscriber connections come back with their subscriptions
  tracking_->tick();  // a lost tracker connection invalidates everything and comes back
}

std::string Gateway::info() const {
  std::string s;
  auto line = [&s](const std::string& k, const std::string& v) { s += k + ":" + v + "\r\n"; };
  auto num = [](std::uint64_t v) { return std::to_string(v); };
  const auto uptime =
      std::chrono::duration_cast<std::chrono::seconds>(lf::Clock::now() - started_at_).count();
  s += "# Gateway\r\n";
  line("lfdb_gateway_version", "0.1.0");
  line("redis_version", "7.0.15");
  line("process_id", num(static_cast<std::uint64_t>(::getpid())));
  line("tcp_port", num(port_));
  line("uptime_in_seconds", num(static_cast<std::uint64_t>(uptime)));
  line("config_source", config_.source);
  line("model", config_.model);
  line("threads", num(static_cast<std::uint64_t>(config_.model == "reactor" ? 1 : config_.threads)));
  line("forwarding", to_string(config_.forwarding));
  line("read_policy", to_string(config_.read_policy));
  line("shards", num(shards_.size()));
  line("connections_per_backend", num(static_cast<std::uint64_t>(std::max(1, config_.connections_per_backend))));
  line("tx_connections", num(static_cast<std::uint64_t>(config_.tx_connections)));
  line("blocking_connections", num(static_cast<std::uint64_t>(config_.blocking_connections)));
  line("lazy_promotion", lazy_promotion() ? "yes" : "no");
  line("events_per_turn", num(static_cast<std::uint64_t>(config_.forwarding == Forwarding::kBound ? 1 : config_.events_per_turn)));
  line("max_clients", num(config_.limits.max_clients));
  auto ms = [&num](lf::Duration d) {
    return num(static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(d).count()));
  };
  line("timeout_ms", ms(config_.timeout));
  line("liveness_timeout_ms", ms(config_.liveness_timeout));
  line("tx_idle_timeout_ms", ms(config_.tx_idle_timeout));
  const OutputBufferLimit& obl = config_.output_limit;
  line("client_output_buffer_limit", "normal " + num(obl.hard) + " " + num(obl.soft) + " " +
                                         num(static_cast<std::uint64_t>(
                                             std::chrono::duration_cast<std::chrono::seconds>(obl.soft_time).count())));
  s += "\r\n# Clients\r\n";
  line("connected_clients", num(stats_.clients_open.load()));
  line("total_connections_received", num(stats_.connections_accepted.load()));
  line("rejected_connections", num(stats_.connections_rejected.load()));
  s += "\r\n# Stats\r\n";
  line("total_commands_processed", num(stats_.commands.load()));
  line("local_replies", num(stats_.local_replies.load()));
  line("forwarded_requests", num(stats_.forwarded.load()));
  line("split_commands", num(stats_.split.load()));
  line("fanout_commands", num(stats_.fanout.load()));
  line("error_replies", num(stats_.error_replies.load()));
  line("protocol_errors", num(stats_.protocol_errors.load()));
  line("blocking_commands", num(stats_.blocking_commands.load()));
  line("blocking_refused", num(stats_.blocking_refused.load()));
  line("blocking_abandoned", num(stats_.blocking_abandoned.load()));
  line("pubsub_channels", num(hub_->listeners_total(PubSubHub::Kind::kChannel)));
  line("pubsub_patterns", num(hub_->patterns()));
  line("pubsub_shardchannels", num(hub_->listeners_total(PubSubHub::Kind::kShard)));
  line("pubsub_messages", num(hub_->messages.load()));
  line("pubsub_deliveries", num(hub_->deliveries.load()));
  line("pubsub_resyncs", num(hub_->resyncs.load()));
  line("pubsub_limit_disconnections", num(hub_->dropped_subscribers.load()));
  line("tracking_clients", num(tracking_->clients()));
  line("tracking_total_keys", num(tracking_->keys()));
  line("tracking_invalidations", num(tracking_->invalidations.load()));
  line("tracking_flushes", num(tracking_->flushes.load()));
  line("tracking_evictions", num(tracking_->evictions.load()));
  line("transactions_pinned", num(stats_.tx_pinned.load()));
  line("transaction_waits", num(stats_.tx_waits.load()));
  line("transaction_wait_timeouts", num(stats_.tx_wait_timeouts.load()));
  line("transaction_idle_timeouts", num(stats_.tx_idle_timeouts.load()));
  line("client_output_buffer_limit_disconnections", num(stats_.output_limit_disconnections.load()));
  // Redis's per-prefix error counts for the access rules' refusals, listed once they happened.
  s += "\r\n# Errorstats\r\n";
  if (const std::uint64_t n = stats_.no_auth.load(); n != 0) line("errorstat_NOAUTH", "count=" + num(n));
  if (const std::uint64_t n = stats_.wrong_pass.load(); n != 0) line("errorstat_WRONGPASS", "count=" + num(n));
  s += "\r\n# Backends\r\n";
  for (std::size_t i = 0; i < backends_.size(); ++i) line("backend" + num(i), backends_[i]->info_line());
  s += "\r\n# Threads\r\n";
  const std::uint64_t same = upstream_ctx_.replies_same_thread.load();
  const std::uint64_t other = upstream_ctx_.replies_other_thread.load();
  if (bound_) {
    const std::uint64_t h = bound_->reply_handoffs(), own = bound_->own_replies();
    line("bound_replies_own", num(own));
    line("bound_handoffs", num(h));
    line("bound_handoffs_per_reply",
         std::to_string(h + own == 0 ? 0.0 : static_cast<double>(h) / static_cast<double>(h + own)));
    line("bound_late_replies", num(upstream_ctx_.late_bound_replies.load()));
    line("bound_max_nesting", num(stats_.bound_max_depth.load()));
    line("bound_batches_async", num(stats_.bound_batches_async.load()));
  } else {
    line("async_replies_same_thread", num(same));
    line("async_replies_other_thread", num(other));
    line("async_other_thread_per_reply",
         std::to_string(same + other == 0 ? 0.0 : static_cast<double>(other) / static_cast<double>(same + other)));
  }
  if (threads_) {
    const lf::ThreadStatsSnapshot t = threads_->totals();
    line("events", num(t.events));
    line("promotions", num(t.promotions));
    line("follower_waits", num(t.follower_waits));
    line("voluntary_context_switches", num(t.voluntary_cs));
    line("involuntary_context_switches", num(t.involuntary_cs));
    const lf::ReactorStats rs = reactor_->stats();
    line("reactor_waits", num(rs.waits));
    line("reactor_dispatched", num(rs.dispatched));
    line("reactor_stale", num(rs.stale));
    int i = 0;
    for (const auto& ti : threads_->threads()) {
      std::uint64_t vcs = 0, ics = 0;
      (void)lf::read_thread_context_switches(ti.stats.tid, vcs, ics);
      line("thread" + num(static_cast<std::uint64_t>(i++)),
           "tid=" + num(static_cast<std::uint64_t>(ti.stats.tid)) + ",state=" + lf::to_string(ti.state) +
               ",events=" + num(ti.stats.events) + ",promotions=" + num(ti.stats.promotions) +
               ",follower_waits=" + num(ti.stats.follower_waits) + ",voluntary_cs=" + num(vcs) +
               ",involuntary_cs=" + num(ics));
    }
  }
  return s;
}

}  // namespace lfdb::gateway
