#include "db/server.hpp"

#include "db/acl/acl_file.hpp"
#include "db/acl/commands.hpp"

#include "db/pubsub/notify.hpp"

#include <utility>
#include <malloc.h>
#include <sys/eventfd.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cstdlib>
#include <cinttypes>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "commands/access.hpp"
#include "db/memory/allocator.hpp"
#include "db/memory/evictor.hpp"
#include "db/memory/memory_commands.hpp"
#include "db/process_settings.hpp"
#include "db/session.hpp"
#include "db/snapshot.hpp"
#include "lf/uring_proactor.hpp"

namespace lfdb::db {

using commands::CommandSpec;
using commands::HueClass;

Server::Server(const ServerConfig& config)
    : initial_(config),
      config_(config),
      dbs_(config.databases, config.colors),
      executor_(Executor::create(config.data, config.colors)),
      persistence_(*this, initial_),
      repl_(std::make_unique<Replication>(*this)) {
  run_id_ = random_hex_id();
  if (!config.requirepass.empty()) acl_.set_default_password(config.requirepass);
  auth_required_.store(acl_.auth_required());
  protected_mode_.store(config.protected_mode);
  scripts_.set_busy_threshold_ms(config.busy_reply_threshold_ms);
  blocking_ = std::make_unique<blocking::Registry>(*this);
  tracking_ = std::make_unique<tracking::Table>(dbs_.colors(), clients_);
  acks_ = std::make_unique<AckWaits>(*repl_);
  dbs_.set_tracking(tracking_.get());
  dbs_.set_expiry(&pause_.expiry_hold(), &stats_.expired_keys);
  set_pubsub_limits(output_limit(config.client_output_buffer_limit, "pubsub"));
  set_normal_output_limit(output_limit(config.client_output_buffer_limit, "normal"));
  client_limits_.query_buffer.store(config.client_query_buffer_limit, std::memory_order_relaxed);
  client_limits_.max_bulk.store(config.proto_max_bulk_len, std::memory_order_relaxed);
  set_notify_flags(pubsub::parse_event_flags(config.notify_keyspace_events));
  for (const auto& [name, value] : config.tuning) apply_setting(name, value);  // from the file or flags
  // Binding happens once, here, by name; at run time a command finds its binding by index.
  std::unordered_map<std::string_view, Handler> handlers;
  for (auto group : {string_handlers(), bit_handlers(), sort_handlers(), hll_handlers(), geo_handlers(), key_handlers(), dump_handlers(), migrate_handlers(), hash_handlers(), list_handlers(),
                     set_handlers(), zset_handlers(), server_handlers(), script_handlers(), function_handlers(),
                     introspection_handlers(), database_handlers(), blocking_handlers(), pubsub_handlers(),
                     memory::memory_handlers(), stream_entry_handlers(), stream_group_handlers(),
                     stream_read_handlers(), acl_handlers()}) {
    for (const HandlerEntry& h : group) LF_CHECK(handlers.emplace(h.name, h.handler).second);
  }
  std::unordered_map<std::string_view, SessionHandler> session;
  for (const SessionHandlerEntry& h : session_handlers()) {
    LF_CHECK(session.emplace(h.name, h.handler).second);
  }
  bound_.resize(commands::command_count());
  for (std::uint16_t i = 0; i < bound_.size(); ++i) {
    const CommandSpec& s = commands::spec_at(i);
    BoundCommand& b = bound_[i];
    b.spec = &s;
    b.hue = executor_->hue_of(s.hue);
    if (auto it = handlers.find(s.name); it != handlers.end()) b.handler = it->second;
    if (auto it = session.find(s.name); it != session.end()) b.session = it->second;
    // Every command a request can name has exactly one handler; EXEC is the session's own
    // (kTransaction), and a container that needs a subcommand is never run itself.
    const bool runnable = !s.is_container() || s.arity_ok(1);
    const int bound_to = (b.handler != nullptr) + (b.session != nullptr);
    LF_CHECK_MSG(bound_to == (runnable && s.hue != HueClass::kTransaction ? 1 : 0),
                 "a command table entry without exactly one handler");
    LF_CHECK_MSG(b.session == nullptr || s.hue == HueClass::kFree,
                 "a connection command must touch no key");
  }
}

Server::~Server() { stop(); }

void Server::close_idle_clients(std::int64_t now) {
  const std::int64_t timeout_s = std::stoll(config_.value("timeout"));  // validated: 0 .. INT_MAX
  if (timeout_s == 0) return;
  // As Redis: replicas (lfdb's are the dispatcher's, not here), blocked, subscribed and
  // MONITOR clients are never closed for idling.
  (void)clients_.kill([&](const ClientState& c) {
    if (c.blocked.load(std::memory_order_relaxed) || c.monitoring.load(std::memory_order_relaxed)) return false;
    if (c.sub_count.load(std::memory_order_relaxed) + c.psub_count.load(std::memory_order_relaxed) +
            c.ssub_count.load(std::memory_order_relaxed) > 0) {
      return false;
    }
    const std::int64_t last = std::max(c.last_command_ms.load(std::memory_order_relaxed), c.created_ms);
    return now - last > timeout_s * 1000;
  });
}

void Server::close_soft_limit_clients(std::int64_t now) {
  const lf::OutboxLimits pubsub = pubsub_limits();
  const std::uint64_t normal_soft = client_limits_.normal_soft.load(std::memory_order_relaxed);
  const std::int64_t normal_s = client_limits_.normal_soft_seconds.load(std::memory_order_relaxed);
  const bool subscribers = pubsub.soft_bytes != 0 && pubsub_.channel_count() + pubsub_.pattern_count() +
                                                         pubsub_.shard_channel_count() != 0;
  if (!subscribers && normal_soft == 0) return;
  const std::int64_t pubsub_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(pubsub.soft_for).count();
  const std::size_t n = clients_.kill([&](ClientState& c) {
    // Only a connection that can be woken (it has an outbox) is judged here: the others are
    // judged by their session as it runs. A parked one (a blocking command) has counted nothing
    // since it parked, and one woken that has not run yet has nothing counted afresh.
    const bool woken_before = c.recount_asked.load(std::memory_order_relaxed);
    // Under the limit when its session last drained its outboxes: the clock starts again.
    const bool was_under = c.soft_under.load(std::memory_order_relaxed);
    if (was_under) c.soft_under.store(false, std::memory_order_relaxed);
    std::size_t bytes = 0;
    std::int64_t since = 0;
    {
      lf::MutexLock lock(c.name_mu);
      if (!c.name.has_outbox()) return false;
      const bool is_pubsub = client_type(c) == "pubsub";
      const std::size_t soft = is_pubsub ? pubsub.soft_bytes : normal_soft;
      bytes = c.omem.load(std::memory_order_relaxed) + c.name.outbox_bytes();
      if (soft == 0 || bytes <= soft || c.blocked.load(std::memory_order_relaxed)) {
        c.name.set_soft_since_ms(0);
        return false;
      }
      since = was_under ? 0 : c.name.soft_since_ms();
      if (since == 0) c.name.set_soft_since_ms(since = now);
      if (!woken_before || now - since < (is_pubsub ? pubsub_ms : normal_s * 1000)) {
        since = 0;  // not yet: below
      }
    }
    if (since == 0) {
      // omem may be stale: it counts the replies of the session's last run until it runs again,
      // even once the socket took them all. Woken, the session runs as soon as nothing of its
      // waits for the socket (every model holds a wake until then) and counts afresh; the flag
      // it clears then tells the next turn whether that happened. Never closed on a figure the
      // session could have renewed since the last turn.
      if (!woken_before) {
        c.recount_asked.store(true, std::memory_order_relaxed);
        c.host->wake();
      }
      return false;
    }
    std::fprintf(stderr,
                 "lfdb-server: closing client id=%llu addr=%s for overcoming of output buffer "
                 "limits (%zu bytes, over the soft limit for its seconds)\n",
                 static_cast<unsigned long long>(c.id), c.addr().c_str(), bytes);
    return true;
  });
  client_limits_.output_disconnections.fetch_add(n, std::memory_order_relaxed);
}

// The replica's class while a replica (REPLICAOF moves it), the primary's otherwise.
AppendLog* Server::record_log() {
  if (AppendLog* disk = persistence_.log()) return disk;
  return repl_->stream_log();
}

void Server::reapply_oom_score() {
  (void)apply_oom_score(config_.value("oom-score-adj"), config_.value("oom-score-adj-values"),
                        repl_->is_replica());
}

void Server::apply_setting(const std::string& k, std::string_view given) {
  const auto current = config_.get(k);
  if (current.empty()) return;
  const std::string& v = current.front().second;  // validated and normalized by Config
  if (k == "requirepass") {  // the default user's password, as in Redis
    acl_.set_default_password(v);
    refresh_auth_required();
  }
  if (k == "protected-mode") set_protected_mode(v == "yes");
  if (k == "acllog-max-len") acl_log().set_max_len(std::stoull(v));
  if (k == "acl-pubsub-default") acl::set_new_selectors_all_channels(v == "allchannels");
  if (k == "oom-score-adj" || k == "oom-score-adj-values") {
    reapply_oom_score();
  }
  if (k == "tcp-keepalive") keepalive_s_->store(std::stoi(v), std::memory_order_relaxed);
  if (k == "notify-keyspace-events") set_notify_flags(pubsub::parse_event_flags(given));
  if (k == "client-output-buffer-limit") {
    set_pubsub_limits(output_limit(config().output_limits(), "pubsub"));
    set_normal_output_limit(output_limit(config().output_limits(), "normal"));
    repl_->set_replica_limit(output_limit(config().output_limits(), "slave"));
  }
  if (k == "client-query-buffer-limit" || k == "proto-max-bulk-len") {  // as bytes
    (k == "proto-max-bulk-len" ? client_limits_.max_bulk : client_limits_.query_buffer)
        .store(std::stoull(v), std::memory_order_relaxed);
  }
  if (k == "maxmemory-clients") client_limits_.set_maxmemory_clients(v);
  if (k == "latency-monitor-threshold") latency().set_threshold_ms(std::stoll(v));
  if (k == "latency-tracking") command_stats_.set_latency_tracking(v == "yes");
  if (k == "slowlog-log-slower-than") slowlog().set_threshold_us(std::stoll(v));
  if (k == "slowlog-max-len") slowlog().set_max_len(std::stoll(v));
  if (k == "tracking-table-max-keys") tracking().set_max_keys(std::stoull(v));
  if (k == "busy-reply-threshold" || k == "lua-time-limit") scripts().set_busy_threshold_ms(std::stoll(v));
  if (k == "repl-backlog-size") repl_->set_backlog_size(std::stoull(v));
  if (k == "repl-ping-replica-period" || k == "repl-ping-slave-period") repl_->set_ping_period(std::stoll(v));
  if (k == "maxmemory") evict_over_limit();
  if (k == "min-replicas-to-write" || k == "min-slaves-to-write") repl_->set_min_replicas(std::stoll(v));
  if (k == "min-replicas-max-lag" || k == "min-slaves-max-lag") repl_->set_min_replicas_max_lag(std::stoll(v));
}

// The aclfile's users, or the config file's `user` lines (each checked when read), replace the
// default set before any connection; a bad aclfile stops the start, as it stops Redis's.
lf::Status Server::load_users() {
  std::vector<std::shared_ptr<acl::User>> users;
  if (!initial_.aclfile.empty()) {
    if (std::string e = acl::load_acl_file(initial_.aclfile_path(), users); !e.empty()) {
      return lf::Status::error("Aborting startup because of ACL errors: " + e);
    }
  } else if (!initial_.users.empty()) {
    bool has_default = false;
    for (const std::vector<std::string>& words : initial_.users) {
      const std::vector<std::string_view> rules(words.begin() + 1, words.end());
      std::shared_ptr<acl::User> u;
      if (std::string e = acl::user_from_words(words[0], rules, u); !e.empty()) return lf::Status::error(e);
      for (const auto& other : users) {
        if (other->name == u->name) return lf::Status::error("Duplicate user '" + u->name + "' in the config file");
      }
      has_default = has_default || u->name == "default";
      users.push_back(std::move(u));
    }
    // Without a `user default` line the default user keeps what requirepass gave it.
    if (!has_default) users.push_back(std::make_shared<acl::User>(*acl_.default_user()));
  } else {
    return lf::Status();
  }
  (void)acl_.replace_all(std::move(users));
  refresh_auth_required();
  return lf::Status();
}

lf::Status Server::start() {
  if (lf::Status users = load_users(); !users.ok()) return users;
  if (lf::Status loaded = persistence_.load(); !loaded.ok()) return loaded;
  // Before any connection: the log's sealed segments go to the dispatcher from the first one.
  repl_->start_dispatcher();
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC);
  if (wake_fd_ < 0) return lf::Status::from_errno("eventfd");
  lf::ModelOptions o;
  o.bind = initial_.bind;
  o.port = initial_.port;
  o.threads = initial_.threads;
  o.promotion = initial_.promotion;
  o.events_per_turn = initial_.events_per_turn;
  o.handle_set = initial_.handle_set;
  // The completion set needs io_uring with provided buffer rings: where it is not there (not
  // built in, an old kernel, forbidden by a seccomp profile or kernel.io_uring_disabled) the
  // server starts anyway, on the readiness set, and says why.
  if (o.handle_set == lf::HandleSetKind::kUringCompletion && initial_.model == lf::ModelKind::kLeaderFollowers) {
    if (lf::Status why = lf::UringProactor::probe(); !why.ok()) {
      std::printf("lfdb-server: handle set uring-completion unavailable (%s): running on epoll-et\n",
                  why.message().c_str());
      o.handle_set = lf::HandleSetKind::kEpollEdge;
    }
  }
  handle_set_ = o.handle_set;
  // The elected flusher blocks in fsync inside a handler: a lazy leader would leave the handle
  // set unwatched for that time, so `always` keeps eager promotion.
  o.lazy_promotion = initial_.lazy_promotion &&
                     !(initial_.appendonly && initial_.appendfsync == FsyncPolicy::kAlways);
  o.max_clients = initial_.maxclients;
  o.unix_socket = initial_.param("unixsocket");
  // Octal, as the config table checked it (0: the mode the umask leaves).
  o.unix_socket_perm = static_cast<unsigned>(std::strtoul(initial_.param("unixsocketperm").c_str(), nullptr, 8));
  o.listen_backlog = std::stoi(initial_.param("tcp-backlog"));  // validated: 0 .. INT_MAX
  keepalive_s_->store(std::stoi(initial_.param("tcp-keepalive")), std::memory_order_relaxed);
  o.keepalive_idle_s = keepalive_s_;
  auto m = lf::ConcurrencyModel::create(initial_.model, o, *this);
  if (!m.ok()) return m.status();
  model_ = std::move(*m);
  started_ms_ = now_ms();  // before the threads start: INFO reads it without a lock
  persistence_.started(started_ms_);
  blocking_->start();  // before any client can block
  lf::Status st = model_->start();
  if (!st.ok()) {
    model_.reset();
    return st;
  }
  // The pidfile once the server listens, as Redis writes it: a second server that cannot
  // listen leaves the first one's alone. Before the port file, which tests wait for.
  if (const std::string pidfile = initial_.param("pidfile"); !write_pidfile(pidfile)) {
    std::fprintf(stderr, "lfdb-server: warning: cannot write the pidfile %s: %s\n", pidfile.c_str(),
                 std::strerror(errno));
  }
  if (!initial_.port_file.empty()) {
    std::ofstream f(initial_.port_file + ".tmp");
    f << model_->port() << "\n";
    f.close();
    std::rename((initial_.port_file + ".tmp").c_str(), initial_.port_file.c_str());
  }
  repl_->start_link();  // after the model: the replica announces its port
  memory::note_startup();  // used_memory_startup: the server before its first client
  ticker_ = std::thread([this] {
    // No thread cache for the ticker: it allocates a few times a second, and its cache, made at
    // its first allocation (the once-a-second duties below), was a 28 KB step in used_memory a
    // second after the start that a maxmemory set from the figure before it paid for in evictions.
    memory::set_thread_cache(false);
    std::int64_t next_log_tick = now_ms() + 1000;
    while (!stopping()) {
      // CONFIG SET hz takes effect from the next turn (validated and held within 1 .. 500).
      hz_.store(std::stoi(config_.value("hz")), std::memory_order_relaxed);
      std::this_thread::sleep_for(std::chrono::milliseconds(1000 / hz_.load(std::memory_order_relaxed)));
      if (stopping()) break;
      if (cron_paused_.load(std::memory_order_relaxed)) continue;  // DEBUG PAUSE-CRON
      if (const int sig = pending_signal_.load(std::memory_order_acquire); sig != 0) {
        shutdown_on_signal(sig);
        if (stopping()) break;
      }
      const std::int64_t now = now_ms();
      ops_rate_.sample(stats_.commands.sum(), now);
      const lf::SessionTraffic traffic = stats_.traffic();
      input_rate_.sample(traffic.in, now);
      output_rate_.sample(traffic.out, now);
      maybe_run_expiry_cycle(now);
      close_soft_limit_clients(now);
      // The log's once-a-second duty (fsync under everysec, retry after a disk error), and
      // the save points.
      if (now >= next_log_tick) {
        next_log_tick = now + 1000;
        persistence_.on_second(now);
        repl_->tick();
        close_idle_clients(now);
      }
      persistence_.reap_child();
    }
  });
  return lf::Status();
}

void Server::wait() {
  std::uint64_t v = 0;
  while (!shutdown_requested_.load(std::memory_order_acquire)) {
    if (::read(wake_fd_, &v, sizeof v) < 0 && errno != EINTR) break;
  }
}

void Server::stop_listening_tcp() {
  // An empty address list: every model closes its TCP listeners at once (lf::ConcurrencyModel::
  // rebind); the UNIX domain socket's stays until the model stops.
  if (model_) (void)model_->rebind("", model_->port());
}

void Server::request_shutdown() {
  // The listeners close before any client sees its connection end, as Redis closes its
  // listening sockets first: a client that reconnects at once is refused, not queued in a
  // backlog nobody will accept from.
  stop_listening_tcp();
  shutdown_requested_.store(true, std::memory_order_release);
  const std::uint64_t one = 1;
  if (wake_fd_ >= 0) (void)!::write(wake_fd_, &one, sizeof one);
}

void Server::stop() {
  if (!model_) return;
  // Refuse new commands, let queued invocations finish (their tasks refer to sessions the
  // model is about to close), then close everything.
  stopping_.store(true, std::memory_order_release);
  blocking_->stop();  // blocked clients are parked: settle them (they close) before the rest
  acks_->stop();      // and so are the WAITs
  pause_.stop();      // and the clients CLIENT PAUSE holds
  // Running scripts stop: at once under SHUTDOWN NOSAVE, else once busy; none starts any more.
  scripts_.begin_shutdown(persistence_.shutdown_save() < 0);
  scripts_.wait_idle();
  const bool abandoned = scripts_.abandoned();
  if (abandoned) {
    std::fprintf(stderr, "lfdb-server: a script that had written was stopped by the shutdown: its "
                         "writes are not logged, and no snapshot is taken\n");
  }
  repl_->stop_link();
  if (ticker_.joinable()) ticker_.join();
  executor_->quiesce();
  // A running child finishes; a snapshot when `save` is configured or SHUTDOWN SAVE asked
  // (NOSAVE: none; nor after an abandoned script); the log reaches the disk.
  persistence_.shut_down(!abandoned);
  model_->stop();
  model_.reset();
  executor_->quiesce();  // closing subscribers leave the pub/sub registry in invocations of their own
  repl_->stop_dispatcher();  // after the last flush: replicas get what was sealed
  if (wake_fd_ >= 0) ::close(wake_fd_);
  wake_fd_ = -1;
}

lf::Status Server::apply_logged(std::span<const std::string_view> argv, bool check_only) {
  const commands::Resolved r = commands::resolve(argv);
  if (!r) return lf::Status::error(r.error(argv).substr(4));  // without "ERR "
  const CommandSpec* spec = r.spec;
  if (spec->has(commands::kSelectsDb)) {  // the stream's own database, not a session's
    std::int64_t db = 0;
    if (!parse_int(argv[1], db) || db < 0 || db >= static_cast<std::int64_t>(dbs_.count())) {
      return lf::Status::error("SELECT " + std::string(argv[1]) + ": no such database (databases " +
                               std::to_string(dbs_.count()) + ")");
    }
    if (!check_only) apply_db_ = static_cast<std::uint32_t>(db);
    return lf::Status();
  }
  const BoundCommand* bc = &bound(r.index);
  // PUBLISH is logged too (may-replicate: db/pubsub/commands.cpp); the others of that flag write.
  if (bc->handler == nullptr || !(spec->has(commands::kWrite) || spec->has(commands::kMayReplicate))) {
    return lf::Status::error("'" + std::string(spec->name) + "' is not a logged write");
  }
  if (check_only) return lf::Status();
  std::string reply;
  resp::Writer w(reply, resp::Protocol::kResp2);
  // The clock stands at 0 while loading: nothing expires until the whole log is applied (the
  // log holds a DEL wherever a key did expire).
  CommandContext ctx{argv, w, dbs_.db(apply_db_), 0, this, nullptr, spec};
  ctx.db = apply_db_;
  ctx.writes = true;
  bc->handler(ctx);
  if (!reply.empty() && reply[0] == '-') apply_errors_.fetch_add(1, std::memory_order_relaxed);
  return lf::Status();
}

std::string_view Server::refusal(const lf::InetAddr& peer) {
  if (!protected_mode_.load(std::memory_order_relaxed) || auth_required() ||
      commands::is_local_client(peer)) {
    return {};
  }
  return commands::kProtectedModeDenied;
}

std::unique_ptr<lf::Session> Server::open_session(const lf::InetAddr& peer) {
  if (stopping()) return nullptr;
  stats_.connections.fetch_add(1, std::memory_order_relaxed);
  return std::make_unique<ServerSession>(*this, peer);
}

std::string Server::client_list(const ClientState* only) {
  return client_list([only](const ClientState& c) { return only == nullptr || &c == only; });
}

std::string Server::client_list(const std::function<bool(const ClientState&)>& keep) {
  // A client with no socket of its own shows the first address listened on.
  const std::string first = initial_.bind.substr(0, initial_.bind.find(' '));
  return clients_.list(first + ":" + std::to_string(port()), keep);
}

void Server::run_expiry_cycle_now() {
  next_expiry_ms_.store(0, std::memory_order_relaxed);
  maybe_run_expiry_cycle(now_ms());
}

void Server::maybe_run_expiry_cycle(std::int64_t now) {
  constexpr std::size_t kBudget = 2000;
  // A replica's keys expire by the primary's DELs (its readers already see them gone).
  if (repl_->is_replica()) return;
  if (now < next_expiry_ms_.load(std::memory_order_relaxed)) return;
  lf::ElectedGuard g = expiry_role_.try_elect();
  if (!g) return;  // another thread is on it
  if (now < next_expiry_ms_.load(std::memory_order_relaxed)) return;
  next_expiry_ms_.store(now + 1000 / std::max(1, hz_.load(std::memory_order_relaxed)), std::memory_order_relaxed);
  stats_.expiry_cycles.fetch_add(1, std::memory_order_relaxed);
  // No key anywhere has a deadline (the usual case): no walk over colors x databases.
  if (Partition::expiring_partitions() == 0) return;
  // Every color that has expiring keys, each swept as the owner of its partition (so a sweep
  // never holds more than one color), at most kBudget keys examined per partition per cycle.
  // Colors without expiring keys cost one atomic load.
  // A color's partitions in every database are its owner's: one sweep covers them all.
  const std::uint32_t colors = dbs_.colors();
  const std::uint32_t start = expiry_cursor_.fetch_add(1, std::memory_order_relaxed);
  for (std::uint32_t i = 0; i < colors; ++i) {
    const std::uint32_t color = (start + i) & (colors - 1);
    bool any = false;
    for (std::uint32_t d = 0; d < dbs_.count() && !any; ++d) any = std::as_const(dbs_).db(d).at(color).expires() != 0;
    if (!any) continue;
    sweep_color(color, "expire-cycle", [](Partition& p, std::int64_t now) {
      std::uint64_t expired = 0;  // counted in INFO's expired_keys by the partitions (set_expiry)
      if (p.expires() != 0) (void)p.expire_some(now, kBudget, expired);
    });
  }
}

template <class Sweep>
void Server::sweep_color(std::uint32_t color, const char* latency_event, Sweep sweep) {
  executor_->submit_on_color(color, lf::hue::Task([this, color, latency_event, sweep] {
    const std::int64_t began = now_ms();
    std::string records;  // the DELs of what went, logged as one invocation
    InvocationLog& il = t_invocation_log;
    // A sweep may run nested inside a writer's invocation (drain_over_limit, on a free color):
    // the writer's log and event sink are its own again once the sweep is done.
    struct Restore {
      InvocationLog& il;
      const InvocationLog saved;
      const pubsub::EventSink* events;
      ~Restore() {
        il = saved;
        pubsub::t_events = events;
      }
    } restore{il, il, pubsub::t_events};
    AppendLog* const log = record_log();
    il.records = log ? &records : nullptr;
    il.db = kNoDb;  // the records start with their own SELECT
    pubsub::EventSink sink;  // `expired` / `evicted` events, when notifications are on
    if ((sink.flags = notify_flags()) != 0) {
      sink.registry = &pubsub_;
      sink.limits = pubsub_limits();
    }
    const std::int64_t now = now_ms();
    for (std::uint32_t d = 0; d < dbs_.count(); ++d) {
      if (!dbs_.db(d).used()) continue;  // nothing to sweep, and nothing made for it
      sink.db = d;
      if (sink.flags != 0) pubsub::t_events = &sink;
      sweep(dbs_.db(d).at(color), now);
      pubsub::t_events = nullptr;
    }
    il.records = nullptr;
    if (!records.empty()) {
      log->append(records, kNoDb, il.db);
      // Written (and so sealed for replicas) now rather than at the next tick, under `always`
      // too: a drain's sweep runs before the command that asked for it answers (an INFO that
      // reports evicted_keys), so the file holds the DELs it counts; the fsync is the ticker's.
      log->write_pending();
    }
    latency_.record(latency_event, static_cast<std::uint64_t>(now_ms() - began));
  }));
}

void Server::drain_over_limit(DrainFor who) {
  const std::uint64_t limit = memory::live().maxmemory.load(std::memory_order_relaxed);
  if (limit == 0 || repl_->is_replica()) return;
  if (memory::live().policy.load(std::memory_order_relaxed) == memory::Policy::kNoEviction) return;
  const std::int64_t now = now_ms();
  // A full server whose keys the policy may not evict (none left, or no volatile ones) would
  // otherwise sweep 64 colors before every read: a drain that freed nothing holds the readers'
  // drains off for a while (writers still ask: their refusal depends on it).
  if (who == DrainFor::kReader &&
      now - fruitless_drain_ms_.load(std::memory_order_relaxed) < kFruitlessDrainPauseMs) {
    return;
  }
  // The cached figure the caller compared may be up to a refresh interval old, and what pushed
  // it over may be gone (a burst of replies since sent, clients evicted): a drain evicts keys
  // for good, so it looks at the allocator now (a few µs, against the sweeps of up to 64
  // colors that follow). Measured with unit/maxmemory's MGET clients: cached 11.58 MB, fresh
  // 7.00 MB, and keys were evicted for 20 replies already in the kernel.
  const std::uint64_t used = memory::gauge().fresh_for_eviction();
  if (used <= limit) return;
  stats_.eviction_drains.fetch_add(1, std::memory_order_relaxed);
  const auto wanted = static_cast<std::int64_t>(used - limit);
  auto to_free = std::make_shared<std::atomic<std::int64_t>>(wanted);
  const std::uint32_t colors = dbs_.colors();
  const bool global = initial_.data == DataMode::kGlobal;
  for (std::uint32_t i = 0; i < kDrainColors && to_free->load(std::memory_order_relaxed) > 0 &&
                            memory::gauge().used() > limit;
       ++i) {
    const std::uint32_t color = drain_cursor_.fetch_add(1, std::memory_order_relaxed) & (colors - 1);
    // The first half of the colors asked evict only a candidate as good as the colors' running
    // bar (an LRU key idle about as long as the usual best, an LFU key as little used): one
    // sample of 5 in a random color is a poor choice on its own, and taking it whatever it is
    // cost test_memory's LRU run 5-8 points of the hot set kept. The second half takes the
    // best it finds, so the limit holds even when every key is hot.
    const bool picky = i < kDrainColors - kDrainColors / 8;
    if (global) {
      // The caller holds the one mutex, so every partition is its own: it evicts there itself
      // (a sweep submitted here would wait for that mutex), a writer's DELs among its own
      // records; a reader logs none of its own, so its DELs are logged here.
      InvocationLog& il = t_invocation_log;
      AppendLog* const log = record_log();
      const bool own_records = il.records == nullptr && log != nullptr;
      const InvocationLog saved = il;
      std::string records;
      if (own_records) {
        il.records = &records;
        il.db = kNoDb;  // the records start with their own SELECT
      }
      for (std::uint32_t d = 0; d < dbs_.count(); ++d) {
        if (dbs_.db(d).used()) (void)memory::evict_down_to(dbs_.db(d).at(color), limit, now, *to_free, 1, picky);
      }
      if (own_records) {
        const std::uint32_t end_db = il.db;
        il = saved;
        if (!records.empty()) {
          log->append(records, kNoDb, end_db);
          log->write_pending();
        }
      }
      continue;
    }
    sweep_color(color, "eviction-cycle", [limit, to_free, picky](Partition& p, std::int64_t now) {
      (void)memory::evict_down_to(p, limit, now, *to_free, 1, picky);
    });
  }
  if (to_free->load(std::memory_order_relaxed) == wanted) {
    fruitless_drain_ms_.store(now, std::memory_order_relaxed);
  }
}

void Server::evict_over_limit() {
  const memory::Limits lim = memory::live().load();
  if (lim.maxmemory == 0 || repl_->is_replica()) return;
  const std::uint64_t used = memory::gauge().fresh_for_eviction();
  if (used <= lim.maxmemory) return;
  const std::uint64_t limit = lim.maxmemory;  // the limit as set, whatever is set next
  // What to free is fixed now, as Redis does: what the evictions allocate themselves (a tracked
  // key's invalidation messages) must not ask for more evictions (unit/maxmemory's 'client
  // tracking don't cause eviction feedback loop').
  auto to_free = std::make_shared<std::atomic<std::int64_t>>(static_cast<std::int64_t>(used - limit));
  for (std::uint32_t color = 0; color < dbs_.colors(); ++color) {
    sweep_color(color, "eviction-cycle", [limit, to_free](Partition& p, std::int64_t now) {
      (void)memory::evict_down_to(p, limit, now, *to_free);
    });
  }
}

}  // namespace lfdb::db

