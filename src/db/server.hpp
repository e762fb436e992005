// lfdb::db::Server: the back-end database server. It owns the keyspace, the executor (hue
// scheduler or global mutex), the command bindings (table entry + handler + hue), the client
// registry, persistence (db/persistence.hpp), replication, statistics and the concurrency model
// that runs its connections (lf::Service).
//
// Life: Server(config) -> start() -> wait() (returns after SHUTDOWN or request_shutdown()) ->
// stop(). stop() first refuses new commands and lets queued invocations finish (they refer to
// their sessions), then stops the model, which closes every connection.
//
// Thread-safety: everything here is called from every serving thread at once; each member says
// what guards it.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "commands/command_table.hpp"
#include "commands/connection.hpp"
#include "db/acl/registry.hpp"
#include "db/append_log.hpp"
#include "db/blocking/registry.hpp"
#include "db/tracking/table.hpp"
#include "db/replication_wait.hpp"
#include "db/client.hpp"
#include "db/client_pause.hpp"
#include "db/client_limits.hpp"
#include "db/client_registry.hpp"
#include "db/command_context.hpp"
#include "db/command_stats.hpp"
#include "db/config.hpp"
#include "db/executor.hpp"
#include "db/functions/library_registry.hpp"
#include "db/keyspace.hpp"
#include "db/latency_monitor.hpp"
#include "db/monitor.hpp"
#include "db/persistence.hpp"
#include "db/stats/error_stats.hpp"
#include "db/slow_log.hpp"
#include "db/replication.hpp"
#include "db/scripting.hpp"
#include "db/stats.hpp"
#include "lf/concurrency_model.hpp"
#include "lf/elected.hpp"

namespace lfdb::db {

// A table entry bound to its handler and hue. Immutable after start. Exactly one of the two
// handlers is set: a data handler runs under the command's hue, a session handler (connection
// commands) at once on the serving thread.
struct BoundCommand {
  const commands::CommandSpec* spec = nullptr;
  Handler handler = nullptr;
  SessionHandler session = nullptr;
  lf::hue::HueId hue = 0;
};

inline constexpr const char* kVersion = "0.1.0";
using commands::kRedisCompat;  // what HELLO and INFO report as redis_version

class Server final : public lf::Service {
 public:
  explicit Server(const ServerConfig& config);
  ~Server() override;

  lf::Status start();
  void wait();                 // until shutdown is requested
  // Any thread but a signal handler's: closes the TCP listeners, then wakes wait().
  void request_shutdown();
  void stop_listening_tcp();   // the shutdown is decided: TCP clients are refused from here on
  void stop();

  // The shutdown's steps before stop() (db/shutdown.cpp, docs/server.md "Shutdown").
  // SIGTERM / SIGINT: the handler only notes the signal (async-signal-safe); the ticker (the
  // server's cron) takes it on its next turn, as Redis's cron does. True when the signal comes
  // while a SIGINT's shutdown is already under way: the caller exits at once (Redis's "insist").
  bool note_stop_signal(int sig);
  // SHUTDOWN ABORT: a signal's shutdown the ticker has not finished is called off.
  bool abort_signal_shutdown();
  // The shutdown's first step (from a thread holding no colors; it runs alone): a running child
  // is stopped, the snapshot is taken when `ask` and `save` call for one; on success (or with
  // force) nothing runs after it: the server is stopping. An error leaves the server serving.
  lf::Status prepare_shutdown(int ask, bool force, int from_signal = 0);
  // oom-score-adj written again for the server's class now (CONFIG SET, REPLICAOF).
  void reapply_oom_score();
  // DEBUG PAUSE-CRON: the ticker skips its turns (expiry, save points, the signals' shutdown).
  void pause_cron(bool on) { cron_paused_.store(on, std::memory_order_relaxed); }

  // Protected mode's refusal (commands/access.hpp), or nothing.
  std::string_view refusal(const lf::InetAddr& peer) override;
  std::unique_ptr<lf::Session> open_session(const lf::InetAddr& peer) override;

  // The binding of a table entry, by the entry's index (commands::index_of).
  const BoundCommand& bound(std::uint16_t index) const { return bound_[index]; }
  const BoundCommand& bound(const commands::CommandSpec& spec) const {
    return bound_[commands::index_of(spec)];
  }
  Databases& databases() { return dbs_; }
  Keyspace& db(std::uint32_t i) { return dbs_.db(i); }
  Executor& executor() { return *executor_; }
  Config& config() { return config_; }
  // Hands a parameter's current value (as Config holds it) to the part it tunes: CONFIG SET
  // after each change, and the constructor for the tuning given at start. `given` is the value
  // as the user wrote it: the canonical form loses what Redis's does (the `n` next to `A`).
  void apply_setting(const std::string& name, std::string_view given);
  ScriptRegistry& scripts() { return scripts_; }
  functions::LibraryRegistry& functions() { return functions_; }
  // Pub/sub (db/pubsub/): the registry, guarded by the hue global "pubsub", and the output
  // limits of a subscriber's outbox (client-output-buffer-limit pubsub).
  pubsub::Registry& pubsub() { return pubsub_; }
  MonitorFeed& monitors() { return monitors_; }
  void set_pubsub_limits(const OutputLimit& l) {
    pubsub_hard_.store(l.hard, std::memory_order_relaxed);
    pubsub_soft_.store(l.soft, std::memory_order_relaxed);
    pubsub_soft_seconds_.store(l.soft_seconds, std::memory_order_relaxed);
  }
  // The normal class of client-output-buffer-limit, client-query-buffer-limit and
  // proto-max-bulk-len, as sessions read them (db/client_limits.hpp).
  ClientLimits& client_limits() { return client_limits_; }
  void set_normal_output_limit(const OutputLimit& l) {
    client_limits_.normal_hard.store(l.hard, std::memory_order_relaxed);
    client_limits_.normal_soft.store(l.soft, std::memory_order_relaxed);
    client_limits_.normal_soft_seconds.store(l.soft_seconds, std::memory_order_relaxed);
  }
  int notify_flags() const { return notify_flags_.load(std::memory_order_relaxed); }
  void set_notify_flags(int f) { notify_flags_.store(f, std::memory_order_relaxed); }
  lf::OutboxLimits pubsub_limits() const {
    return {pubsub_hard_.load(std::memory_order_relaxed), pubsub_soft_.load(std::memory_order_relaxed),
            std::chrono::seconds(pubsub_soft_seconds_.load(std::memory_order_relaxed))};
  }
  const ServerConfig& initial_config() const { return initial_; }
  ServerStats& stats() { return stats_; }
  CommandStats& command_stats() { return command_stats_; }
  ErrorStats& errors() { return errors_; }
  LatencyMonitor& latency() { return latency_; }
  SlowLog& slowlog() { return slowlog_; }
  std::uint16_t port() const { return model_ ? model_->port() : 0; }
  // CONFIG SET port / bind: the model listens there instead (lf::ConcurrencyModel::rebind);
  // on failure it still listens where it did.
  lf::Status listen_at(const std::string& bind, std::uint16_t port) {
    if (!model_) return lf::Status::error("not listening");
    return model_->rebind(bind, port);
  }
  bool stopping() const { return stopping_.load(std::memory_order_acquire); }
  bool auth_required() const { return auth_required_.load(std::memory_order_acquire); }
  void set_auth_required(bool v) { auth_required_.store(v, std::memory_order_release); }
  void set_protected_mode(bool v) { protected_mode_.store(v, std::memory_order_relaxed); }

  ClientRegistry& clients() { return clients_; }
  // ACL users (db/acl/): the registry (hue global "acl") and ACL LOG.
  acl::UserRegistry& acl() { return acl_; }
  acl::AclLog& acl_log() { return acl_log_; }
  // After the default user changed: whether new connections start unauthenticated.
  void refresh_auth_required() { set_auth_required(acl_.auth_required()); }
  // Clients blocked on keys (BLPOP & co.): db/blocking/registry.hpp.
  blocking::Registry& blocking() { return *blocking_; }
  // Client-side caching (CLIENT TRACKING): db/tracking/table.hpp.
  tracking::Table& tracking() { return *tracking_; }
  // CLIENT LIST / CLIENT INFO: every client's line, or only c's.
  std::string client_list(const ClientState* only = nullptr);
  std::string client_list(const std::function<bool(const ClientState&)>& keep);

  Replication& replication() { return *repl_; }
  // Parked WAITs (db/replication_wait.hpp).
  AckWaits& acks() { return *acks_; }
  // CLIENT PAUSE and the clients it holds (db/client_pause.hpp).
  ClientPause& pause() { return pause_; }
  // Loading, the log, snapshots, rewrite and save points (db/persistence.hpp).
  Persistence& persistence() { return persistence_; }
  // The append-only log (nullptr when appendonly is no).
  AppendLog* append_log() { return persistence_.log(); }
  // Where a write's records go: the append-only log, else (appendonly no) the replicas' stream
  // once one attached; null: no records (docs/replication.md).
  AppendLog* record_log();
  // Replays one logged command (or checks it): loading at start, and a replica's stream. A
  // SELECT moves the database the next ones apply to.
  lf::Status apply_logged(std::span<const std::string_view> argv, bool check_only);
  // The log or a full resync starts: the stream that follows starts in database 0.
  void restart_apply_db() { apply_db_ = 0; }
  // Logged commands whose replay answered an error (INFO lfdb_aof_load_errors).
  std::uint64_t apply_errors() const { return apply_errors_.load(std::memory_order_relaxed); }

  // The function libraries' codes, as snapshots keep them; and a snapshot's put back in place
  // of the registry's (functions/snapshot_libraries.cpp).
  std::vector<std::string> library_codes() const;
  lf::Status restore_libraries(const std::vector<std::string>& codes);

  std::string info(std::span<const std::string_view> sections);
  // The active expiry cycle, run by whichever thread is elected when it is due.
  void maybe_run_expiry_cycle(std::int64_t now_ms);
  // CLIENT UNPAUSE: a cycle now (unless one is running), for the keys the pause kept: its sweeps
  // are submitted before the UNPAUSE answers, so a later command on their color finds them gone.
  void run_expiry_cycle_now();
  // CONFIG SET maxmemory below what is used: Redis evicts before it answers. Here every color
  // evicts its own keys down to that limit, as the owner of its partitions (submitted before the
  // CONFIG SET answers, so a later command on a color finds them gone).
  void evict_over_limit();
  // A writer whose own colors could not bring used memory under maxmemory (they hold few keys the
  // policy may evict: 1,000 keys over 1,024 colors leave a color one key or none) has other
  // colors evict the rest, one key per color (the best of its sample) as the owner of its
  // partitions, until the figure is under the limit or kDrainColors colors were asked. Called
  // inside the writer's invocation: a free color's sweep runs there and then (nested, so
  // before the write), a busy one's when its owner lets it go (it first looks whether the
  // figure is still over). docs/memory.md, "Eviction and colors".
  // A reader's drain (any command but a key writer's, past the limit) is held off for
  // kFruitlessDrainPauseMs after a drain that freed nothing; under noeviction none runs.
  enum class DrainFor : std::uint8_t { kWriter, kReader };
  void drain_over_limit(DrainFor who);
  static constexpr std::uint32_t kDrainColors = 64;
  static constexpr std::int64_t kFruitlessDrainPauseMs = 100;

 private:
  lf::Status load_users();  // the aclfile or the config file's `user` lines, before serving
  std::string info_section(std::string_view name);
  // Runs sweep(partition, now) as the owner of `color`, on its partition in each database, with
  // what the sweeps do logged as one invocation (DELs), their keyspace events published, and
  // the whole taken as one latency sample of `latency_event`.
  // The ticker's turn for a stop signal noted by note_stop_signal (db/shutdown.cpp).
  void shutdown_on_signal(int sig);
  template <class Sweep>
  void sweep_color(std::uint32_t color, const char* latency_event, Sweep sweep);

  const ServerConfig initial_;
  Config config_;
  Databases dbs_;
  std::unique_ptr<Executor> executor_;
  std::vector<BoundCommand> bound_;  // by commands::index_of; immutable after the ctor
  ServerStats stats_;
  RateSampler ops_rate_;  // instantaneous_ops_per_sec: sampled by the ticker thread alone, read by INFO
  RateSampler input_rate_, output_rate_;  // instantaneous_input_kbps / _output_kbps: the same
  CommandStats command_stats_;  // INFO commandstats: per-thread rows (db/command_stats.hpp)
  ErrorStats errors_;           // every error reply, counted (db/stats/error_stats.hpp)
  LatencyMonitor latency_;      // a monitor of its own (db/latency_monitor.hpp)
  SlowLog slowlog_;             // a monitor of its own (db/slow_log.hpp)
  ScriptRegistry scripts_;
  functions::LibraryRegistry functions_;
  pubsub::Registry pubsub_;
  acl::UserRegistry acl_;
  acl::AclLog acl_log_;
  MonitorFeed monitors_;  // a monitor of its own (db/monitor.hpp)
  // Redis's default client-output-buffer-limit for pubsub clients: 32mb 8mb 60.
  std::atomic<std::size_t> pubsub_hard_{32u << 20}, pubsub_soft_{8u << 20};
  std::atomic<std::int64_t> pubsub_soft_seconds_{60};
  ClientLimits client_limits_;  // atomics of its own
  std::atomic<int> notify_flags_{0};  // notify-keyspace-events (pubsub::EventClass bits)
  std::unique_ptr<lf::ConcurrencyModel> model_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> auth_required_{false};
  std::atomic<bool> protected_mode_{true};
  std::atomic<bool> shutdown_requested_{false};
  // The stop signal the ticker has yet to act on (0: none). Written by the signal handler
  // (lock-free atomic: async-signal-safe), taken by the ticker, cleared by SHUTDOWN ABORT.
  std::atomic<int> pending_signal_{0};
  std::atomic<bool> cron_paused_{false};  // DEBUG PAUSE-CRON; read by the ticker
  int wake_fd_ = -1;  // eventfd: request_shutdown() -> wait()
  std::int64_t started_ms_ = 0;  // immutable after start
  // The handle set the model runs on: --handle-set's, or epoll-et where uring-completion was
  // asked for and io_uring is unavailable (immutable after start).
  lf::HandleSetKind handle_set_ = lf::HandleSetKind::kEpollEdge;

  ClientRegistry clients_;
  std::unique_ptr<blocking::Registry> blocking_;  // made in the ctor; its timer runs from start()
  std::unique_ptr<tracking::Table> tracking_;     // made in the ctor, before any session
  std::unique_ptr<AckWaits> acks_;                // made in the ctor; stopped with the blocked
  ClientPause pause_;                             // a monitor; stopped with the blocked

  // Active expiry: the ticker calls maybe_run_expiry_cycle every 1/hz; the call is guarded by
  // an election so any other caller (a future one on the serving path) can never overlap a
  // cycle. Each color's sweep runs as an invocation on that color.
  lf::Elected expiry_role_;
  std::atomic<std::int64_t> next_expiry_ms_{0};
  std::atomic<std::uint32_t> expiry_cursor_{0};
  std::atomic<std::uint32_t> drain_cursor_{0};  // drain_over_limit's next color (any thread: relaxed)
  // When a drain last freed nothing (ms; any thread: relaxed, a hint that only delays readers).
  std::atomic<std::int64_t> fruitless_drain_ms_{0};
  std::thread ticker_;
  // hz as CONFIG SET left it, read by the ticker each turn: its period and the expiry cycle's.
  std::atomic<int> hz_{10};
  // INFO's run_id: 40 random hex digits, a new one each run. Set by the constructor, then
  // only read.
  std::string run_id_;
  // tcp-keepalive's seconds, shared with the model's acceptors (lf::ModelOptions): CONFIG SET
  // changes it for the connections accepted after.
  std::shared_ptr<std::atomic<int>> keepalive_s_ = std::make_shared<std::atomic<int>>(0);
  // `timeout`: closes the normal clients idle longer than it (the ticker, once a second).
  void close_idle_clients(std::int64_t now);
  // client-output-buffer-limit's soft limit once the traffic stops (no post or read is left to
  // check it): closes the clients with an outbox (subscribers, monitors, tracking) whose omem
  // and queued pushes stayed over their class's soft limit for its seconds, counted afresh by
  // their own thread (the ticker, every turn; Redis's clients cron does the same).
  void close_soft_limit_clients(std::int64_t now);

  // Durability: its log is set before the model starts and lives as long as the server.
  Persistence persistence_;
  std::atomic<std::uint64_t> apply_errors_{0};
  // The database logged commands apply to (their SELECTs move it): the log loader's at start,
  // then the replica's applier's, which runs alone; nothing else touches it.
  std::uint32_t apply_db_ = 0;

  // Declared last: its threads use everything above; made in the ctor, started in start().
  std::unique_ptr<Replication> repl_;
};

}  // namespace lfdb::db
