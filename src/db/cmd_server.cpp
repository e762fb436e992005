// Server commands with handlers: PING ECHO TIME DBSIZE FLUSHDB FLUSHALL INFO CONFIG GET/SET,
// CLUSTER (refused: no cluster mode), and WATCH (it registers in its keys' partitions, so it runs under their colors).
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <malloc.h>

#include <climits>
#include <cinttypes>
#include <cstdarg>
#include <cstdio>
#include <sstream>

#include "commands/access.hpp"
#include "db/memory/evictor.hpp"
#include "db/memory/memory_commands.hpp"
#include "db/client.hpp"
#include "db/command_context.hpp"
#include "db/server.hpp"

#include "db/pubsub/notify.hpp"

namespace lfdb::db {
namespace {

void ping_cmd(CommandContext& c) {
  if (c.argc() > 2) return c.out.error("ERR wrong number of arguments for 'ping' command");
  if (c.client != nullptr && c.client->subscribed_resp2()) {  // Redis's answer in subscribed mode
    c.out.array_header(2);
    c.out.bulk("pong");
    return c.out.bulk(c.argc() == 2 ? c.arg(1) : "");
  }
  if (c.argc() == 2) return c.out.bulk(c.arg(1));
  c.out.simple_string("PONG");
}

void echo_cmd(CommandContext& c) { c.out.bulk(c.arg(1)); }

void time_cmd(CommandContext& c) {
  timeval tv{};
  ::gettimeofday(&tv, nullptr);
  c.out.array_header(2);
  c.out.bulk(std::to_string(tv.tv_sec));
  c.out.bulk(std::to_string(tv.tv_usec));
}

void dbsize_cmd(CommandContext& c) { c.out.integer(static_cast<std::int64_t>(c.ks.size())); }

bool flush_args_ok(CommandContext& c) {
  if (c.argc() > 2 || (c.argc() == 2 && !iequal(c.arg(1), "async") && !iequal(c.arg(1), "sync"))) {
    c.out.error(kErrSyntax);
    return false;
  }
  return true;
}

// FLUSHDB and FLUSHALL write 'keyspace': they run alone, so every partition is ours.
void flushdb_cmd(CommandContext& c) {
  if (!flush_args_ok(c)) return;
  if (c.ks.used()) {
    for (std::uint32_t i = 0; i < c.ks.colors(); ++i) c.ks.at(i).clear();
  }
  c.server->tracking().invalidate_all();  // the tracking table knows no databases, as Redis's
  c.out.simple_string("OK");
}

void flushall_cmd(CommandContext& c) {
  if (!flush_args_ok(c)) return;
  c.server->databases().clear();
  c.server->tracking().invalidate_all();
  c.out.simple_string("OK");
}

// SAVE, BGSAVE, BGREWRITEAOF run alone (hue: undeclared), so the keyspace holds still while
// they save or fork.
void save_cmd(CommandContext& c) {
  lf::Status st = c.server->persistence().save_now();
  if (!st.ok()) return c.out.error("ERR " + st.message());
  c.out.simple_string("OK");
}

void bgsave_cmd(CommandContext& c) {
  if (c.argc() > 2 || (c.argc() == 2 && !iequal(c.arg(1), "schedule"))) return c.out.error(kErrSyntax);
  const lf::Status st = c.server->persistence().start_bgsave();
  if (!st.ok()) return c.out.error(st.message());
  c.out.simple_string("Background saving started");
}

void bgrewriteaof_cmd(CommandContext& c) {
  const lf::Status st = c.server->persistence().start_bgrewriteaof();
  if (!st.ok()) return c.out.error(st.message());
  c.out.simple_string("Background append only file rewriting started");
}

void lastsave_cmd(CommandContext& c) { c.out.integer(c.server->persistence().last_save_s()); }

void info_cmd(CommandContext& c) {
  std::string text = c.server->info(c.argv.subspan(1));
  c.out.verbatim(text);
}

void config_get_cmd(CommandContext& c) {
  std::vector<std::pair<std::string, std::string>> all;
  for (std::size_t i = 2; i < c.argc(); ++i) {
    for (auto& kv : c.server->config().get(c.arg(i))) {
      if (std::find(all.begin(), all.end(), kv) == all.end()) all.push_back(kv);
    }
  }
  c.out.map_header(all.size());
  for (const auto& [k, v] : all) {
    c.out.bulk(k);
    c.out.bulk(v);
  }
}

void config_set_cmd(CommandContext& c) {
  if (c.argc() % 2 != 0) {
    return c.out.error("ERR Unknown option or number of arguments for CONFIG SET - '" +
                       std::string(c.arg(c.argc() - 1)) + "'");
  }
  std::vector<std::pair<std::string, std::string>> pairs;
  for (std::size_t i = 2; i + 1 < c.argc(); i += 2) {
    std::string k(c.arg(i));
    for (char& ch : k) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    pairs.emplace_back(std::move(k), std::string(c.arg(i + 1)));
  }
  // What each parameter was, to put back if the listener cannot move: as in Redis, a CONFIG
  // SET whose apply fails leaves every parameter it named as it was.
  Config& config = c.server->config();
  std::vector<std::pair<std::string, std::string>> before;
  for (const auto& [k, v] : pairs) {
    for (auto& kv : config.get(k)) {
      if (kv.first == k) before.push_back(std::move(kv));
    }
  }
  auto value_of = [&](const std::string& name) {
    auto now = config.get(name);
    return now.empty() ? std::string() : now.front().second;
  };
  const std::string bind_was = value_of("bind"), port_was = value_of("port");
  // enable-protected-configs local: a local peer may set dir and dbfilename, as protected mode
  // judges it (127.0.0.1, ::1 or the unix socket).
  const bool local = c.client != nullptr && commands::is_local_client(c.client->peer);
  lf::Status st = config.set(pairs, local);
  if (!st.ok()) return c.out.error(st.message());
  const std::string bind = value_of("bind"), port = value_of("port");
  if (bind != bind_was || port != port_was) {
    lf::Status moved = c.server->listen_at(bind, static_cast<std::uint16_t>(std::stoul(port)));
    if (!moved.ok()) {
      std::fprintf(stderr, "lfdb-server: CONFIG SET cannot listen on %s:%s: %s\n", bind.c_str(),
                   port.c_str(), moved.message().c_str());  // the server log the reply points to
      (void)config.set(before);  // the values it held, each valid then
      const bool port_failed = port != port_was;
      return c.out.error(port_failed ? "ERR CONFIG SET failed (possibly related to argument 'port') - "
                                       "Unable to listen on this port. Check server logs."
                                     : "ERR CONFIG SET failed (possibly related to argument 'bind') - "
                                       "Failed to bind to specified addresses.");
    }
  }
  for (const auto& [k, v] : pairs) c.server->apply_setting(k, v);
  c.out.simple_string("OK");
}

void watch_cmd(CommandContext& c) {
  ClientState& cl = *c.client;
  if (cl.in_multi) return c.out.error("ERR WATCH inside MULTI is not allowed");
  ClientState::Transaction& t = cl.transaction();
  if (!t.watch) t.watch = std::make_shared<WatchState>();
  for (std::size_t i = 1; i < c.argc(); ++i) {
    const std::string_view key = c.arg(i);
    const bool seen = std::any_of(t.watched.begin(), t.watched.end(), [&](const WatchedKey& w) {
      return w.db == c.db && w.key == key;
    });
    if (seen) continue;
    Partition& p = c.part(key);
    (void)p.find(key, c.now_ms);  // erase it if expired: only expiry after WATCH counts
    p.watch(key, t.watch);
    t.watched.push_back({c.db, std::string(key)});
  }
  c.out.simple_string("OK");
}

void replicaof_cmd(CommandContext& c) { c.server->replication().replicaof_command(c); }
void role_cmd(CommandContext& c) { c.server->replication().role_command(c); }
void lfdb_sync_cmd(CommandContext& c) { c.server->replication().sync_command(c); }
void redis_sync_cmd(CommandContext& c) { c.server->replication().redis_sync_command(c); }
void replconf_cmd(CommandContext& c) { c.server->replication().replconf_command(c); }

// CLUSTER, READONLY, READWRITE and ASKING: lfdb-server is not a cluster node (lfdb-gateway routes
// by slot in front of the shards), so it answers them as a Redis 7.0 server with cluster mode
// off answers every one of them, CLUSTER HELP included.
void cluster_disabled_cmd(CommandContext& c) {
  c.out.error("ERR This instance has cluster support disabled");
}

constexpr HandlerEntry kServerHandlers[] = {
    {"readonly", cluster_disabled_cmd},
    {"readwrite", cluster_disabled_cmd},
    {"asking", cluster_disabled_cmd},
    {"cluster|addslots", cluster_disabled_cmd},
    {"cluster|addslotsrange", cluster_disabled_cmd},
    {"cluster|bumpepoch", cluster_disabled_cmd},
    {"cluster|count-failure-reports", cluster_disabled_cmd},
    {"cluster|countkeysinslot", cluster_disabled_cmd},
    {"cluster|delslots", cluster_disabled_cmd},
    {"cluster|delslotsrange", cluster_disabled_cmd},
    {"cluster|failover", cluster_disabled_cmd},
    {"cluster|flushslots", cluster_disabled_cmd},
    {"cluster|forget", cluster_disabled_cmd},
    {"cluster|getkeysinslot", cluster_disabled_cmd},
    {"cluster|help", cluster_disabled_cmd},
    {"cluster|info", cluster_disabled_cmd},
    {"cluster|keyslot", cluster_disabled_cmd},
    {"cluster|links", cluster_disabled_cmd},
    {"cluster|meet", cluster_disabled_cmd},
    {"cluster|myid", cluster_disabled_cmd},
    {"cluster|nodes", cluster_disabled_cmd},
    {"cluster|replicas", cluster_disabled_cmd},
    {"cluster|replicate", cluster_disabled_cmd},
    {"cluster|reset", cluster_disabled_cmd},
    {"cluster|saveconfig", cluster_disabled_cmd},
    {"cluster|set-config-epoch", cluster_disabled_cmd},
    {"cluster|setslot", cluster_disabled_cmd},
    {"cluster|shards", cluster_disabled_cmd},
    {"cluster|slaves", cluster_disabled_cmd},
    {"cluster|slots", cluster_disabled_cmd},

    {"ping", ping_cmd},           {"echo", echo_cmd},
    {"time", time_cmd},           {"dbsize", dbsize_cmd},
    {"flushdb", flushdb_cmd},     {"flushall", flushall_cmd},
    {"save", save_cmd},           {"bgsave", bgsave_cmd},
    {"bgrewriteaof", bgrewriteaof_cmd}, {"lastsave", lastsave_cmd},
    {"info", info_cmd},           {"config|get", config_get_cmd},
    {"config|set", config_set_cmd}, {"watch", watch_cmd},
    {"replicaof", replicaof_cmd}, {"slaveof", replicaof_cmd},
    {"role", role_cmd},           {"lfdb.sync", lfdb_sync_cmd},
    {"sync", redis_sync_cmd},     {"psync", redis_sync_cmd},
    {"replconf", replconf_cmd},
};

}  // namespace

std::span<const HandlerEntry> server_handlers() { return kServerHandlers; }

// ---- INFO ----------------------------------------------------------------------------

namespace {
__attribute__((format(printf, 2, 3))) void append_line(std::string& s, const char* fmt, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  s += buf;
  s += "\r\n";
}
}  // namespace

std::string Server::info(std::span<const std::string_view> sections) {
  // Redis 7.0's sections in its order (Modules and Cluster say there are none), then lfdb's
  // Threads. ALL and EVERYTHING add those Redis leaves out of the default: per command.
  struct Section {
    std::string_view name;
    bool in_default;
  };
  static constexpr Section kSections[] = {
      {"server", true},       {"clients", true},     {"memory", true},       {"persistence", true},
      {"stats", true},        {"replication", true}, {"cpu", true},          {"modules", true},
      {"commandstats", false}, {"errorstats", true}, {"latencystats", false}, {"cluster", true},
      {"keyspace", true},     {"threads", true}};
  std::vector<std::string> wanted;
  auto want = [&](std::string_view name) {  // each section once, in the order first asked
    if (std::find(wanted.begin(), wanted.end(), name) == wanted.end()) wanted.emplace_back(name);
  };
  for (auto s : sections) {
    std::string l(s);
    for (char& ch : l) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (l == "all" || l == "everything" || l == "default") {
      for (const Section& d : kSections) {
        if (d.in_default || l != "default") want(d.name);
      }
    } else {
      want(l);
    }
  }
  if (wanted.empty()) {
    for (const Section& d : kSections) {
      if (d.in_default) want(d.name);
    }
  }
  std::string out;
  for (const auto& s : wanted) {
    std::string body = info_section(s);
    if (body.empty()) continue;
    if (!out.empty()) out += "\r\n";
    out += body;
  }
  return out;
}

std::string Server::info_section(std::string_view name) {
  std::string s;
  const std::int64_t now = now_ms();
  if (name == "server") {
    utsname u{};
    ::uname(&u);
    const std::int64_t up = (now - started_ms_) / 1000;
    s += "# Server\r\n";
    append_line(s, "redis_version:%s", kRedisCompat);
    append_line(s, "lfdb_version:%s", kVersion);
    append_line(s, "redis_mode:standalone");
    append_line(s, "os:%s %s %s", u.sysname, u.release, u.machine);
    append_line(s, "arch_bits:64");
    append_line(s, "monotonic_clock:POSIX clock_gettime");  // std::chrono::steady_clock's
    append_line(s, "multiplexing_api:%s", model_ ? model_->demultiplexer() : "epoll");
#if defined(__GNUC__)
    append_line(s, "gcc_version:%d.%d.%d", __GNUC__, __GNUC_MINOR__, __GNUC_PATCHLEVEL__);
#else
    append_line(s, "gcc_version:0.0.0");
#endif
    append_line(s, "process_id:%d", static_cast<int>(::getpid()));
    append_line(s, "process_supervised:no");  // `supervised` is refused (docs/server.md)
    append_line(s, "run_id:%s", run_id_.c_str());
    append_line(s, "tcp_port:%u", static_cast<unsigned>(port()));
    timeval tv{};
    ::gettimeofday(&tv, nullptr);
    append_line(s, "server_time_usec:%" PRId64,
                static_cast<std::int64_t>(tv.tv_sec) * 1000000 + static_cast<std::int64_t>(tv.tv_usec));
    append_line(s, "uptime_in_seconds:%" PRId64, up);
    append_line(s, "uptime_in_days:%" PRId64, up / 86400);
    // lfdb keeps hz as configured (Redis's dynamic-hz raises it with many clients; lfdb's
    // clients are not walked by the cron).
    const std::string hz = config_.value("hz");  // CONFIG SET's; the ticker's from its next turn
    append_line(s, "hz:%s", hz.c_str());
    append_line(s, "configured_hz:%s", hz.c_str());
    char exe[PATH_MAX] = {};
    const ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
    append_line(s, "executable:%s", n > 0 ? exe : "");
    append_line(s, "config_file:%s", initial_.config_file.c_str());
    append_line(s, "io_threads_active:0");  // no I/O threads: the serving threads read and write
    append_line(s, "lfdb_model:%s", lf::to_string(initial_.model));
    append_line(s, "lfdb_data:%s", to_string(initial_.data));
    append_line(s, "lfdb_threads:%d", initial_.threads);
    append_line(s, "lfdb_handle_set:%s", lf::to_string(handle_set_));
    append_line(s, "lfdb_colors:%u", dbs_.colors());
  } else if (name == "clients") {
    s += "# Clients\r\n";
    append_line(s, "connected_clients:%zu", clients().size());
    append_line(s, "maxclients:%zu", initial_.maxclients);
    // As Redis counts them: blocked on keys, parked in WAIT, held by CLIENT PAUSE.
    append_line(s, "blocked_clients:%" PRIu64,
                blocking().blocked_clients() + acks().parked() + pause_.held());
    append_line(s, "total_blocking_keys:%" PRIu64, blocking().blocking_keys());
    append_line(s, "tracking_clients:%" PRIu64, tracking_->clients());
  } else if (name == "memory") {
    s += memory::info_section(*this);  // db/memory/
  } else if (name == "persistence") {
    s += "# Persistence\r\n";
    append_line(s, "loading:0");
    const Persistence::Info p = persistence_.info();
    append_line(s, "rdb_changes_since_last_save:%" PRIu64, p.changes_since_save);
    append_line(s, "rdb_bgsave_in_progress:%d", p.bgsave_in_progress ? 1 : 0);
    append_line(s, "rdb_last_save_time:%" PRId64, p.last_save_s);
    append_line(s, "rdb_last_bgsave_status:%s", p.last_bgsave_ok ? "ok" : "err");
    append_line(s, "aof_rewrite_in_progress:%d", p.rewrite_in_progress ? 1 : 0);
    append_line(s, "aof_last_bgrewrite_status:%s", p.last_rewrite_ok ? "ok" : "err");
    append_line(s, "latest_fork_usec:%" PRId64, p.last_fork_us);
    append_line(s, "lfdb_max_fork_usec:%" PRId64, p.max_fork_us);
    append_line(s, "lfdb_snapshot_keys_loaded:%" PRIu64, p.snapshot_keys_loaded);
    AppendLog* const log = append_log();
    append_line(s, "aof_enabled:%d", log ? 1 : 0);
    if (log) {
      const AppendLogStats a = log->stats();
      append_line(s, "aof_last_write_status:%s", a.last_error.empty() ? "ok" : "err");
      append_line(s, "aof_current_size:%" PRIu64, a.size);
      append_line(s, "aof_buffer_length:%" PRIu64, a.pending);
      append_line(s, "lfdb_aof_fsync:%s", to_string(log->policy()));
      append_line(s, "lfdb_aof_last_error:%s", a.last_error.c_str());
      append_line(s, "lfdb_aof_records:%" PRIu64, a.records);
      append_line(s, "lfdb_aof_writes:%" PRIu64, a.writes);
      append_line(s, "lfdb_aof_fsyncs:%" PRIu64, a.fsyncs);
      append_line(s, "lfdb_aof_commit_waits:%" PRIu64, a.waits);
      append_line(s, "lfdb_aof_write_errors:%" PRIu64, a.write_errors);
      append_line(s, "lfdb_aof_rewrites:%" PRIu64, a.rewrites);
      append_line(s, "lfdb_aof_fsyncs_per_record:%.4f",
                  static_cast<double>(a.fsyncs) / static_cast<double>(std::max<std::uint64_t>(1, a.records)));
      const Persistence::LogLoadReport& l = persistence_.log_load();
      append_line(s, "lfdb_aof_loaded_commands:%" PRIu64, l.commands);
      append_line(s, "lfdb_aof_loaded_transactions:%" PRIu64, l.transactions);
      append_line(s, "lfdb_aof_load_ms:%" PRId64, l.ms);
      append_line(s, "lfdb_aof_load_errors:%" PRIu64, apply_errors());
      append_line(s, "lfdb_aof_load_warning:%s", l.warning.c_str());
    }
  } else if (name == "stats") {
    s += "# Stats\r\n";
    append_line(s, "total_connections_received:%" PRIu64, stats_.connections.load());
    append_line(s, "total_commands_processed:%" PRIu64, stats_.commands.sum());
    append_line(s, "instantaneous_ops_per_sec:%" PRIu64, ops_rate_.per_second());
    const lf::SessionTraffic traffic = stats_.traffic();
    append_line(s, "total_net_input_bytes:%" PRIu64, traffic.in);
    append_line(s, "total_net_output_bytes:%" PRIu64, traffic.out);
    append_line(s, "instantaneous_input_kbps:%.2f", static_cast<double>(input_rate_.per_second()) / 1024);
    append_line(s, "instantaneous_output_kbps:%.2f", static_cast<double>(output_rate_.per_second()) / 1024);
    append_line(s, "rejected_connections:%" PRIu64, model_ ? model_->stats().rejected : 0);
    append_line(s, "expired_keys:%" PRIu64, stats_.expired_keys.load());
    append_line(s, "evicted_keys:%" PRIu64, memory::counters().evicted_keys.load());
    append_line(s, "evicted_clients:%" PRIu64, client_limits_.evicted_clients.load());
    append_line(s, "keyspace_hits:%" PRIu64, keyspace_lookups().hits.sum());
    append_line(s, "keyspace_misses:%" PRIu64, keyspace_lookups().misses.sum());
    append_line(s, "pubsub_channels:%zu", pubsub_.channel_count());
    append_line(s, "pubsub_patterns:%zu", pubsub_.pattern_count());
    append_line(s, "pubsubshard_channels:%zu", pubsub_.shard_channel_count());
    append_line(s, "tracking_total_keys:%" PRIu64, tracking_->keys());
    append_line(s, "tracking_total_items:%" PRIu64, tracking_->items());
    append_line(s, "tracking_total_prefixes:%" PRIu64, tracking_->prefixes());
    // Redis's MIGRATE connection cache: lfdb has no MIGRATE (docs/server.md), so never a socket.
    s += "migrate_cached_sockets:0\r\n";
    // Subscribers dropped at client-output-buffer-limit pubsub (Redis 7.0 does not count them).
    append_line(s, "lfdb_pubsub_output_limit_disconnections:%" PRIu64, pubsub_.overflows());
    // Redis 7.2's two counters (7.0 has neither): every class of output limit, and the query
    // buffer limit (db/client_limits.hpp).
    append_line(s, "client_query_buffer_limit_disconnections:%" PRIu64,
                client_limits_.query_disconnections.load());
    append_line(s, "client_output_buffer_limit_disconnections:%" PRIu64,
                client_limits_.output_disconnections.load() + pubsub_.overflows());
    append_line(s, "total_error_replies:%" PRIu64, errors_.total());
    append_line(s, "protocol_errors:%" PRIu64, stats_.protocol_errors.load());
    append_line(s, "lfdb_parked_commands:%" PRIu64, stats_.parked.sum());
    append_line(s, "lfdb_expiry_cycles:%" PRIu64, stats_.expiry_cycles.load());
    append_line(s, "lfdb_eviction_drains:%" PRIu64, stats_.eviction_drains.load());
  } else if (name == "cpu") {
    rusage self{}, children{};
    ::getrusage(RUSAGE_SELF, &self);
    ::getrusage(RUSAGE_CHILDREN, &children);
    auto secs = [](const timeval& tv) {
      return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
    };
    s += "# CPU\r\n";
    append_line(s, "used_cpu_sys:%.6f", secs(self.ru_stime));
    append_line(s, "used_cpu_user:%.6f", secs(self.ru_utime));
    append_line(s, "used_cpu_sys_children:%.6f", secs(children.ru_stime));
    append_line(s, "used_cpu_user_children:%.6f", secs(children.ru_utime));
  } else if (name == "commandstats") {
    // Redis's lines, for every command (and subcommand, "config|get") called or refused since
    // the start or CONFIG RESETSTAT.
    s += "# Commandstats\r\n";
    const std::vector<CommandStats::Totals> all = command_stats_.totals();
    for (std::size_t i = 0; i < all.size(); ++i) {
      const CommandStats::Totals& t = all[i];
      if (t.calls == 0 && t.rejected == 0 && t.failed == 0) continue;
      const std::string_view n = commands::spec_at(static_cast<std::uint16_t>(i)).name;
      append_line(s, "cmdstat_%.*s:calls=%" PRIu64 ",usec=%" PRIu64 ",usec_per_call=%.2f,"
                  "rejected_calls=%" PRIu64 ",failed_calls=%" PRIu64,
                  static_cast<int>(n.size()), n.data(), t.calls, t.usec,
                  t.calls == 0 ? 0.0 : static_cast<double>(t.usec) / static_cast<double>(t.calls),
                  t.rejected, t.failed);
    }
  } else if (name == "latencystats") {
    // Each command's latency-tracking-info-percentiles (p50, p99, p99.9 by default), as the
    // upper bounds of their power-of-two buckets; a command is listed once a call of it was
    // timed (latency-tracking on), as in Redis.
    s += "# Latencystats\r\n";
    std::vector<double> percentiles;
    const auto given = config_.get("latency-tracking-info-percentiles");
    if (!given.empty()) {
      std::istringstream words(given.front().second);
      for (double p = 0; words >> p;) percentiles.push_back(p);
    }
    const std::vector<CommandStats::Totals> all = command_stats_.totals();
    for (std::size_t i = 0; i < all.size(); ++i) {
      const CommandStats::Totals& t = all[i];
      std::uint64_t timed = 0;
      for (std::uint64_t n : t.buckets) timed += n;
      if (timed == 0) continue;
      const std::string_view n = commands::spec_at(static_cast<std::uint16_t>(i)).name;
      std::string line = "latency_percentiles_usec_" + std::string(n) + ":";
      for (std::size_t j = 0; j < percentiles.size(); ++j) {
        char one[64];
        std::snprintf(one, sizeof one, "%sp%g=%.3f", j == 0 ? "" : ",", percentiles[j],
                      static_cast<double>(t.percentile(percentiles[j])));
        line += one;
      }
      append_line(s, "%s", line.c_str());
    }
  } else if (name == "replication") {
    s = replication().info();
  } else if (name == "errorstats") {
    // Redis's per-prefix error counts (db/stats/error_stats.hpp): a prefix is listed once it
    // has happened, in byte order, with the characters INFO's syntax uses as underscores.
    s += "# Errorstats\r\n";
    for (auto& [prefix, n] : errors_.prefixes()) {
      std::string safe = prefix;
      for (char& ch : safe) {
        if (ch == ':' || ch == '#' || ch == '\r' || ch == '\n') ch = '_';
      }
      append_line(s, "errorstat_%s:count=%" PRIu64, safe.c_str(), n);
    }
  } else if (name == "modules") {
    s += "# Modules\r\n";  // none: lfdb loads no modules
  } else if (name == "cluster") {
    s += "# Cluster\r\n";
    append_line(s, "cluster_enabled:0");  // clients read it to tell a cluster from a server
  } else if (name == "keyspace") {
    s += "# Keyspace\r\n";
    // A line per database that holds keys, as Redis. avg_ttl stays 0: the TTLs live in
    // partitions this section may not touch without their colors.
    for (std::uint32_t d = 0; d < dbs_.count(); ++d) {
      const Keyspace& ks = dbs_.db(d);
      const std::uint64_t keys = ks.size();
      if (keys == 0) continue;
      append_line(s, "db%u:keys=%" PRIu64 ",expires=%" PRIu64 ",avg_ttl=0", d, keys, ks.expires());
    }
  } else if (name == "threads") {
    s += "# Threads\r\n";
    if (!model_) return s;
    const lf::ModelStats ms = model_->stats();
    const std::uint64_t cmds = std::max<std::uint64_t>(1, stats_.commands.sum());
    append_line(s, "model:%s", lf::to_string(initial_.model));
    append_line(s, "data:%s", to_string(initial_.data));
    append_line(s, "threads:%zu", ms.threads.size());
    const auto& t = ms.totals;
    append_line(s, "events:%" PRIu64, t.events);
    append_line(s, "promotions:%" PRIu64, t.promotions);
    append_line(s, "queue_waits:%" PRIu64, t.queue_waits);
    append_line(s, "color_queue_waits:%" PRIu64, executor_->queued_runs());
    append_line(s, "voluntary_context_switches:%" PRIu64, t.voluntary_cs);
    append_line(s, "involuntary_context_switches:%" PRIu64, t.involuntary_cs);
    append_line(s, "context_switches_per_command:%.4f",
         static_cast<double>(t.voluntary_cs + t.involuntary_cs) / static_cast<double>(cmds));
    append_line(s, "promotions_per_command:%.4f", static_cast<double>(t.promotions) / static_cast<double>(cmds));
    for (std::size_t i = 0; i < ms.threads.size(); ++i) {
      const auto& x = ms.threads[i];
      append_line(s, "thread_%zu:role=%s,events=%" PRIu64 ",promotions=%" PRIu64
           ",queue_waits=%" PRIu64 ",vcsw=%" PRIu64 ",ivcsw=%" PRIu64,
           i, x.role.c_str(), x.events, x.promotions, x.queue_waits, x.voluntary_cs,
           x.involuntary_cs);
    }
    std::string hs = executor_->stats();
    for (char& ch : hs) {
      if (ch == '\n' || ch == '\r') ch = ' ';
    }
    s += "hue:" + hs + "\r\n";
  }
  return s;
}

}  // namespace lfdb::db
