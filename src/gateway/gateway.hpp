// gateway::Gateway: lfdb's front-end communication server (the Leader/Followers pattern's OLTP front end).
//
// One handle set holds both sides: the listening socket, every client connection and every
// upstream (back-end) connection. A Leader/Followers thread set (lf::UnboundThreadSet) leads
// it: the leader takes one event, promotes a follower, and processes the event itself, whether
// it is a client's request (validate, route, forward) or a back-end's reply (match it to its
// request, write it to its client). With bound forwarding the thread that forwarded a request
// waits for its reply in an lf::BoundThreadSet over the same thread set (hybrid: while it waits
// it leads the handle set, so even with every thread waiting the gateway keeps serving).
//
// Thread-safety: start() and stop() from one controlling thread; everything else (routing,
// statistics, info()) from any thread.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "gateway/config.hpp"
#include "gateway/pubsub_hub.hpp"
#include "gateway/routing.hpp"
#include "gateway/script_reaper.hpp"
#include "gateway/tracking_hub.hpp"
#include "gateway/upstream.hpp"
#include "lf/bound_thread_set.hpp"
#include "lf/net.hpp"
#include "lf/reactor.hpp"
#include "lf/unbound_thread_set.hpp"

namespace lfdb::gateway {

struct GatewayStats {
  std::atomic<std::uint64_t> connections_accepted{0}, connections_rejected{0}, clients_open{0},
      commands{0}, local_replies{0}, forwarded{0}, split{0}, fanout{0}, error_replies{0},
      protocol_errors{0}, tx_pinned{0}, tx_waits{0}, tx_wait_timeouts{0},
      output_limit_disconnections{0}, tx_idle_timeouts{0};
  // Blocking commands: forwarded on a blocking connection, refused at blocking_connections, and
  // blocked clients that left (their connection closed so the back-end forgets them).
  std::atomic<std::uint64_t> blocking_commands{0}, blocking_refused{0}, blocking_abandoned{0};
  // INFO errorstats: WRONGPASS (failed AUTH, HELLO AUTH) and NOAUTH (a command before AUTH).
  std::atomic<std::uint64_t> wrong_pass{0}, no_auth{0};
  // Bound forwarding: the deepest nesting of dispatches seen on one thread, and the batches
  // forwarded asynchronously because they came deeper than ClientConn::kMaxBoundDepth.
  std::atomic<std::uint64_t> bound_max_depth{0}, bound_batches_async{0};
  void note_bound_depth(std::uint64_t d) {
    std::uint64_t cur = bound_max_depth.load(std::memory_order_relaxed);
    while (d > cur && !bound_max_depth.compare_exchange_weak(cur, d, std::memory_order_relaxed)) {
    }
  }
};

class Gateway {
 public:
  explicit Gateway(Config config);
  ~Gateway();
  Gateway(const Gateway&) = delete;
  Gateway& operator=(const Gateway&) = delete;

  lf::Status start();
  void stop();
  std::uint16_t port() const { return port_; }

  const Config& config() const { return config_; }
  bool lazy_promotion() const { return config_.lazy_promotion && config_.forwarding == Forwarding::kAsync; }
  const Router& router() const { return router_; }
  lf::Reactor& reactor() { return *reactor_; }
  lf::BoundThreadSet* bound() { return bound_.get(); }
  GatewayStats& stats() { return stats_; }
  bool stopping() const { return stopping_.load(std::memory_order_acquire); }

  Backend& primary(int shard) { return *shards_[static_cast<std::size_t>(shard)]->primary; }
  // Stops the scripts of clients that have gone (ScriptReaper).
  ScriptReaper& reaper() { return *reaper_; }
  // Pub/sub: the subscriptions of every client and the back-ends' subscriber connections.
  PubSubHub& hub() { return *hub_; }
  // Client-side caching: the gateway's tracking table and the back-ends' tracker connections.
  TrackingHub& tracking() { return *tracking_; }
  // The back-end a read of `shard` goes to, by the read policy.
  Backend& read_backend(int shard);
  std::uint64_t next_request_id() { return next_request_id_.fetch_add(1, std::memory_order_relaxed); }
  std::uint64_t next_client_id() { return next_client_id_.fetch_add(1, std::memory_order_relaxed); }

  // The text of the INFO command.
  std::string info() const;
  void housekeeping();  // timeouts, reconnects, readmission (from the housekeeping timer)

 private:
  struct Shard {
    Backend* primary = nullptr;
    std::vector<Backend*> replicas;
    std::atomic<std::uint64_t> rr{0};
  };
  class AcceptHandler;
  class Housekeeper;

  Config config_;
  Router router_;
  UpstreamContext upstream_ctx_;
  GatewayStats stats_;
  std::unique_ptr<lf::Reactor> reactor_;
  std::unique_ptr<lf::UnboundThreadSet> threads_;
  std::unique_ptr<lf::BoundThreadSet> bound_;
  std::vector<std::unique_ptr<Backend>> backends_;
  std::vector<std::unique_ptr<Shard>> shards_;
  lf::Acceptor acceptor_;
  std::unique_ptr<AcceptHandler> accept_handler_;
  std::unique_ptr<Housekeeper> housekeeper_;
  std::unique_ptr<ScriptReaper> reaper_;  // made before the threads, gone after them
  std::unique_ptr<PubSubHub> hub_;        // likewise
  std::unique_ptr<TrackingHub> tracking_;  // likewise
  std::vector<std::thread> workers_;
  std::uint16_t port_ = 0;
  bool started_ = false;
  std::atomic<bool> stopping_{false};
  std::atomic<std::uint64_t> next_request_id_{1}, next_client_id_{1};
  lf::TimePoint started_at_{};
};

}  // namespace lfdb::gateway
