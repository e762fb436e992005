#include "db/config_table.hpp"

#include <cctype>
#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "db/config_line.hpp"

namespace lfdb::db {
namespace {

constexpr long long kRowIntMax = 2147483647, kRowIntMin = -kRowIntMax - 1, kRowLongMax = 9223372036854775807LL;
constexpr long long kRowUIntMax = 4294967295LL;

// What each row does in lfdb, or why it does nothing: one line a group (docs/server.md's table).
constexpr std::string_view kWhyTimeout = "idle normal clients are closed after it (Server::close_idle_clients)";
constexpr std::string_view kWhyKeepalive = "SO_KEEPALIVE with this idle time on each accepted socket";
constexpr std::string_view kWhyBacklog = "the listen(2) backlog of the listening socket";
constexpr std::string_view kWhyPidfile = "written at start, removed at exit (main.cpp)";
constexpr std::string_view kWhyLogfile = "'' logs to stdout; a path: the server's log lines go there (main.cpp)";
constexpr std::string_view kWhyOom = "with oom-score-adj-values, written to /proc/self/oom_score_adj";
constexpr std::string_view kWhyDebug = "gates DEBUG; 'local' is taken as 'yes' (lfdb does not check the peer's address)";
constexpr std::string_view kWhyProtected = "gates CONFIG SET of dir and dbfilename, as in Redis";
constexpr std::string_view kWhyBindSource = "a replica's connection to its primary leaves from this address (db/primary_link.cpp)";
constexpr std::string_view kWhyMasteruser = "a replica AUTHs to its primary as this user (with masterauth)";
constexpr std::string_view kWhyEncoding = "the compact encodings' limits (db/compact/limits.hpp)";
constexpr std::string_view kWhyStream = "a stream block's bounds (db/stream/stream.hpp)";
constexpr std::string_view kWhyLatency = "the latency monitor's threshold (LATENCY)";
constexpr std::string_view kWhySlowlog = "the slow log's threshold and length (SLOWLOG)";
constexpr std::string_view kWhyTracking = "the client-side caching table's bound (db/tracking/table.hpp)";
constexpr std::string_view kWhyMinReplicas = "writes refused with NOREPLICAS below it (db/replication.hpp)";
constexpr std::string_view kWhyHll = "PFADD's sparse-to-dense bound (cmd_hll.cpp)";
constexpr std::string_view kWhyCluster = "lfdb-server is not a cluster node: lfdb-gateway routes by slot in front of the shards";
constexpr std::string_view kWhyTls = "lfdb-server speaks plain TCP only: no TLS";
constexpr std::string_view kWhyDaemonize = "lfdb-server stays in the foreground: run it under a supervisor or with '&'";
constexpr std::string_view kWhySupervised = "lfdb-server does not notify upstart or systemd";
constexpr std::string_view kWhySyslog = "lfdb-server logs to stdout or its logfile, not to syslog";
constexpr std::string_view kWhyUnixsocket =
    "a UNIX domain socket served besides the TCP port, made with unixsocketperm's mode and removed "
    "at exit (lf::ModelOptions::unix_socket)";
constexpr std::string_view kWhyAofTimestamp = "lfdb's append-only log has no timestamp annotations";
constexpr std::string_view kWhyAllocator = "Redis's allocator and dict tuning: lfdb's tables rehash as they grow and it does no active defrag";
constexpr std::string_view kWhyLazyfree = "lfdb frees values in place";
constexpr std::string_view kWhyReplication = "Redis's replication tuning: lfdb ships sealed log segments (docs/replication.md)";
constexpr std::string_view kWhyPersistence = "Redis's RDB/AOF tuning: lfdb's log and snapshots have their own format (docs/persistence.md)";
constexpr std::string_view kWhyProcess = "Redis's process and thread knobs: lfdb's threads are its concurrency model's";
constexpr std::string_view kWhyLatencyTracking =
    "INFO latencystats: whether calls are timed into their histograms, and which percentiles it "
    "shows (CommandStats)";
constexpr std::string_view kWhyScripting = "lfdb's Lua sandbox has no deprecated API to enable";
constexpr std::string_view kWhyAclPubsub =
    "the channels a new ACL user, selector or `reset` starts with (acl/selector.hpp)";
constexpr std::string_view kWhySanitize = "RESTORE always checks a payload's structure";
constexpr std::string_view kWhyModules = "lfdb-server has no modules";
constexpr std::string_view kWhyPropagation = "lfdb logs whole transactions; there is no replica-side propagation error to act on";
constexpr std::string_view kWhyShutdownSignal =
    "SIGINT/SIGTERM shut down with these flags (save, nosave, force; now: no replica is waited for), docs/server.md \"Shutdown\"";
constexpr std::string_view kWhyShutdownTimeout = "a shutdown waits for no replica (docs/server.md \"Shutdown\")";
constexpr std::string_view kWhyAcllog = "the entries ACL LOG keeps (acl/registry.hpp)";
constexpr std::string_view kWhyClientEviction = "evicts the heaviest clients past it (docs/memory.md, Client eviction)";

constexpr ParamSpec kTable[] = {
    {"rdbchecksum", "", ParamSpec::kBool, 0, 0, "yes", "", kImmutable, ParamSpec::kTuning, kWhyPersistence},
    {"daemonize", "", ParamSpec::kBool, 0, 0, "no", "", kImmutable, ParamSpec::kOffOnly, kWhyDaemonize},
    {"io-threads-do-reads", "", ParamSpec::kBool, 0, 0, "no", "", kImmutable, ParamSpec::kTuning, kWhyProcess},
    {"always-show-logo", "", ParamSpec::kBool, 0, 0, "no", "", kImmutable, ParamSpec::kTuning, kWhyProcess},
    {"rdbcompression", "", ParamSpec::kBool, 0, 0, "yes", "", 0, ParamSpec::kTuning, kWhyPersistence},
    {"rdb-del-sync-files", "", ParamSpec::kBool, 0, 0, "no", "", 0, ParamSpec::kTuning, kWhyPersistence},
    {"activerehashing", "", ParamSpec::kBool, 0, 0, "yes", "", 0, ParamSpec::kTuning, kWhyAllocator},
    {"stop-writes-on-bgsave-error", "", ParamSpec::kBool, 0, 0, "yes", "", 0, ParamSpec::kTuning, kWhyPersistence},
    {"set-proc-title", "", ParamSpec::kBool, 0, 0, "yes", "", kImmutable, ParamSpec::kTuning, kWhyProcess},
    {"dynamic-hz", "", ParamSpec::kBool, 0, 0, "yes", "", 0, ParamSpec::kTuning, kWhyProcess},
    {"lazyfree-lazy-eviction", "", ParamSpec::kBool, 0, 0, "no", "", 0, ParamSpec::kTuning, kWhyLazyfree},
    {"lazyfree-lazy-expire", "", ParamSpec::kBool, 0, 0, "no", "", 0, ParamSpec::kTuning, kWhyLazyfree},
    {"lazyfree-lazy-server-del", "", ParamSpec::kBool, 0, 0, "no", "", 0, ParamSpec::kTuning, kWhyLazyfree},
    {"lazyfree-lazy-user-del", "", ParamSpec::kBool, 0, 0, "no", "", 0, ParamSpec::kTuning, kWhyLazyfree},
    {"lazyfree-lazy-user-flush", "", ParamSpec::kBool, 0, 0, "no", "", 0, ParamSpec::kTuning, kWhyLazyfree},
    {"repl-disable-tcp-nodelay", "", ParamSpec::kBool, 0, 0, "no", "", 0, ParamSpec::kTuning, kWhyReplication},
    {"repl-diskless-sync", "", ParamSpec::kBool, 0, 0, "yes", "", 0, ParamSpec::kTuning, kWhyReplication},
    {"aof-rewrite-incremental-fsync", "", ParamSpec::kBool, 0, 0, "yes", "", 0, ParamSpec::kTuning, kWhyPersistence},
    {"no-appendfsync-on-rewrite", "", ParamSpec::kBool, 0, 0, "no", "", 0, ParamSpec::kTuning, kWhyPersistence},
    {"cluster-require-full-coverage", "", ParamSpec::kBool, 0, 0, "yes", "", 0, ParamSpec::kTuning, kWhyCluster},
    {"rdb-save-incremental-fsync", "", ParamSpec::kBool, 0, 0, "yes", "", 0, ParamSpec::kTuning, kWhyPersistence},
    {"aof-use-rdb-preamble", "", ParamSpec::kBool, 0, 0, "yes", "", 0, ParamSpec::kTuning, kWhyPersistence},
    {"aof-timestamp-enabled", "", ParamSpec::kBool, 0, 0, "no", "", 0, ParamSpec::kOffOnly, kWhyAofTimestamp},
    {"cluster-replica-no-failover", "cluster-slave-no-failover", ParamSpec::kBool, 0, 0, "no", "", 0, ParamSpec::kTuning, kWhyCluster},
    {"replica-lazy-flush", "slave-lazy-flush", ParamSpec::kBool, 0, 0, "no", "", 0, ParamSpec::kTuning, kWhyReplication},
    {"replica-serve-stale-data", "slave-serve-stale-data", ParamSpec::kBool, 0, 0, "yes", "", 0, ParamSpec::kTuning, kWhyReplication},
    {"replica-read-only", "slave-read-only", ParamSpec::kBool, 0, 0, "yes", "", 0, ParamSpec::kTuning, kWhyReplication},
    {"replica-ignore-maxmemory", "slave-ignore-maxmemory", ParamSpec::kBool, 0, 0, "yes", "", 0, ParamSpec::kTuning, kWhyReplication},
    {"jemalloc-bg-thread", "", ParamSpec::kBool, 0, 0, "yes", "", 0, ParamSpec::kTuning, kWhyAllocator},
    {"activedefrag", "", ParamSpec::kBool, 0, 0, "no", "", 0, ParamSpec::kTuning, kWhyAllocator},
    {"syslog-enabled", "", ParamSpec::kBool, 0, 0, "no", "", kImmutable, ParamSpec::kOffOnly, kWhySyslog},
    {"cluster-enabled", "", ParamSpec::kBool, 0, 0, "no", "", kImmutable, ParamSpec::kOffOnly, kWhyCluster},
    {"cluster-allow-reads-when-down", "", ParamSpec::kBool, 0, 0, "no", "", 0, ParamSpec::kTuning, kWhyCluster},
    {"cluster-allow-pubsubshard-when-down", "", ParamSpec::kBool, 0, 0, "yes", "", 0, ParamSpec::kTuning, kWhyCluster},
    {"crash-log-enabled", "", ParamSpec::kBool, 0, 0, "yes", "", 0, ParamSpec::kTuning, kWhyProcess},
    {"crash-memcheck-enabled", "", ParamSpec::kBool, 0, 0, "yes", "", 0, ParamSpec::kTuning, kWhyProcess},
    {"use-exit-on-panic", "", ParamSpec::kBool, 0, 0, "no", "", kHidden, ParamSpec::kTuning, kWhyProcess},
    {"disable-thp", "", ParamSpec::kBool, 0, 0, "yes", "", kImmutable, ParamSpec::kTuning, kWhyAllocator},
    {"cluster-allow-replica-migration", "", ParamSpec::kBool, 0, 0, "yes", "", 0, ParamSpec::kTuning, kWhyCluster},
    {"replica-announced", "", ParamSpec::kBool, 0, 0, "yes", "", 0, ParamSpec::kTuning, kWhyReplication},
    {"latency-tracking", "", ParamSpec::kBool, 0, 0, "yes", "", 0, ParamSpec::kLive, kWhyLatencyTracking},
    {"aof-disable-auto-gc", "", ParamSpec::kBool, 0, 0, "no", "", 0, ParamSpec::kTuning, kWhyPersistence},
    {"replica-ignore-disk-write-errors", "", ParamSpec::kBool, 0, 0, "no", "", 0, ParamSpec::kTuning, kWhyReplication},
    {"lua-enable-deprecated-api", "", ParamSpec::kBool, 0, 0, "no", "", kImmutable | kHidden, ParamSpec::kTuning, kWhyScripting},
    {"unixsocket", "", ParamSpec::kString, 0, 0, "", "", kImmutable, ParamSpec::kLive, kWhyUnixsocket},
    {"pidfile", "", ParamSpec::kString, 0, 0, "", "", kImmutable, ParamSpec::kLive, kWhyPidfile},
    {"replica-announce-ip", "slave-announce-ip", ParamSpec::kString, 0, 0, "", "", 0, ParamSpec::kTuning, kWhyReplication},
    {"masteruser", "", ParamSpec::kString, 0, 0, "", "", 0, ParamSpec::kLive, kWhyMasteruser},
    {"cluster-announce-ip", "", ParamSpec::kString, 0, 0, "", "", 0, ParamSpec::kTuning, kWhyCluster},
    {"cluster-config-file", "", ParamSpec::kString, 0, 0, "nodes.conf", "", kImmutable, ParamSpec::kTuning, kWhyCluster},
    {"cluster-announce-hostname", "", ParamSpec::kString, 0, 0, "", "", 0, ParamSpec::kTuning, kWhyCluster},
    {"syslog-ident", "", ParamSpec::kString, 0, 0, "redis", "", kImmutable, ParamSpec::kTuning, kWhyProcess},
    {"appenddirname", "", ParamSpec::kString, 0, 0, "appendonlydir", "", kImmutable, ParamSpec::kTuning, kWhyPersistence},
    {"server_cpulist", "", ParamSpec::kString, 0, 0, "", "", kImmutable, ParamSpec::kTuning, kWhyProcess},
    {"bio_cpulist", "", ParamSpec::kString, 0, 0, "", "", kImmutable, ParamSpec::kTuning, kWhyProcess},
    {"aof_rewrite_cpulist", "", ParamSpec::kString, 0, 0, "", "", kImmutable, ParamSpec::kTuning, kWhyPersistence},
    {"bgsave_cpulist", "", ParamSpec::kString, 0, 0, "", "", kImmutable, ParamSpec::kTuning, kWhyProcess},
    {"ignore-warnings", "", ParamSpec::kString, 0, 0, "", "", 0, ParamSpec::kTuning, kWhyProcess},
    {"proc-title-template", "", ParamSpec::kString, 0, 0, "{title} {listen-addr} {server-mode}", "", 0, ParamSpec::kTuning, kWhyProcess},
    {"bind-source-addr", "", ParamSpec::kString, 0, 0, "", "", 0, ParamSpec::kLive, kWhyBindSource},
    {"logfile", "", ParamSpec::kString, 0, 0, "", "", kImmutable, ParamSpec::kLive, kWhyLogfile},
    {"supervised", "", ParamSpec::kEnum, 0, 0, "no", "upstart, systemd, auto, no", kImmutable, ParamSpec::kOffOnly, kWhySupervised},
    {"syslog-facility", "", ParamSpec::kEnum, 0, 0, "local0", "user, local0, local1, local2, local3, local4, local5, local6, local7", kImmutable, ParamSpec::kTuning, kWhyProcess},
    {"repl-diskless-load", "", ParamSpec::kEnum, 0, 0, "disabled", "disabled, on-empty-db, swapdb", 0, ParamSpec::kTuning, kWhyReplication},
    {"oom-score-adj", "", ParamSpec::kEnum, 0, 0, "no", "no, yes, relative, absolute", 0, ParamSpec::kLive, kWhyOom},
    {"acl-pubsub-default", "", ParamSpec::kEnum, 0, 0, "resetchannels", "allchannels, resetchannels", 0, ParamSpec::kLive, kWhyAclPubsub},
    {"sanitize-dump-payload", "", ParamSpec::kEnum, 0, 0, "no", "no, yes, clients", 0, ParamSpec::kTuning, kWhySanitize},
    {"enable-protected-configs", "", ParamSpec::kEnum, 0, 0, "no", "no, yes, local", kImmutable, ParamSpec::kLive, kWhyProtected},
    {"enable-debug-command", "", ParamSpec::kEnum, 0, 0, "no", "no, yes, local", kImmutable, ParamSpec::kLive, kWhyDebug},
    {"enable-module-command", "", ParamSpec::kEnum, 0, 0, "no", "no, yes, local", kImmutable, ParamSpec::kTuning, kWhyModules},
    {"cluster-preferred-endpoint-type", "", ParamSpec::kEnum, 0, 0, "ip", "ip, hostname, unknown-endpoint", 0, ParamSpec::kTuning, kWhyCluster},
    {"propagation-error-behavior", "", ParamSpec::kEnum, 0, 0, "ignore", "ignore, panic, panic-on-replicas", 0, ParamSpec::kTuning, kWhyPropagation},
    {"shutdown-on-sigint", "", ParamSpec::kFlags, 0, 0, "default", "default, save, nosave, now, force", 0, ParamSpec::kLive, kWhyShutdownSignal},
    {"shutdown-on-sigterm", "", ParamSpec::kFlags, 0, 0, "default", "default, save, nosave, now, force", 0, ParamSpec::kLive, kWhyShutdownSignal},
    {"auto-aof-rewrite-percentage", "", ParamSpec::kInteger, 0, kRowIntMax, "100", "", 0, ParamSpec::kTuning, kWhyPersistence},
    {"cluster-replica-validity-factor", "cluster-slave-validity-factor", ParamSpec::kInteger, 0, kRowIntMax, "10", "", 0, ParamSpec::kTuning, kWhyCluster},
    {"list-max-listpack-size", "list-max-ziplist-size", ParamSpec::kInteger, kRowIntMin, kRowIntMax, "-2", "", 0, ParamSpec::kLive, kWhyEncoding},
    {"tcp-keepalive", "", ParamSpec::kInteger, 0, kRowIntMax, "300", "", 0, ParamSpec::kLive, kWhyKeepalive},
    {"cluster-migration-barrier", "", ParamSpec::kInteger, 0, kRowIntMax, "1", "", 0, ParamSpec::kTuning, kWhyCluster},
    {"active-defrag-cycle-min", "", ParamSpec::kInteger, 1, 99, "1", "", 0, ParamSpec::kTuning, kWhyAllocator},
    {"active-defrag-cycle-max", "", ParamSpec::kInteger, 1, 99, "25", "", 0, ParamSpec::kTuning, kWhyAllocator},
    {"active-defrag-threshold-lower", "", ParamSpec::kInteger, 0, 1000, "10", "", 0, ParamSpec::kTuning, kWhyAllocator},
    {"active-defrag-threshold-upper", "", ParamSpec::kInteger, 0, 1000, "100", "", 0, ParamSpec::kTuning, kWhyAllocator},
    {"replica-priority", "slave-priority", ParamSpec::kInteger, 0, kRowIntMax, "100", "", 0, ParamSpec::kTuning, kWhyReplication},
    {"repl-diskless-sync-delay", "", ParamSpec::kInteger, 0, kRowIntMax, "5", "", 0, ParamSpec::kTuning, kWhyReplication},
    {"timeout", "", ParamSpec::kInteger, 0, kRowIntMax, "0", "", 0, ParamSpec::kLive, kWhyTimeout},
    {"replica-announce-port", "slave-announce-port", ParamSpec::kInteger, 0, 65535, "0", "", 0, ParamSpec::kTuning, kWhyReplication},
    {"tcp-backlog", "", ParamSpec::kInteger, 0, kRowIntMax, "511", "", kImmutable, ParamSpec::kLive, kWhyBacklog},
    {"cluster-port", "", ParamSpec::kInteger, 0, 65535, "0", "", kImmutable, ParamSpec::kTuning, kWhyCluster},
    {"cluster-announce-bus-port", "", ParamSpec::kInteger, 0, 65535, "0", "", 0, ParamSpec::kTuning, kWhyCluster},
    {"cluster-announce-port", "", ParamSpec::kInteger, 0, 65535, "0", "", 0, ParamSpec::kTuning, kWhyCluster},
    {"cluster-announce-tls-port", "", ParamSpec::kInteger, 0, 65535, "0", "", 0, ParamSpec::kTuning, kWhyCluster},
    {"repl-timeout", "", ParamSpec::kInteger, 1, kRowIntMax, "60", "", 0, ParamSpec::kTuning, kWhyReplication},
    {"repl-ping-replica-period", "repl-ping-slave-period", ParamSpec::kInteger, 1, kRowIntMax, "10", "", 0, ParamSpec::kTuning, kWhyReplication},
    {"list-compress-depth", "", ParamSpec::kInteger, 0, kRowIntMax, "0", "", 0, ParamSpec::kLive, kWhyEncoding},
    {"key-load-delay", "", ParamSpec::kInteger, kRowIntMin, kRowIntMax, "0", "", kHidden, ParamSpec::kTuning, kWhyPersistence},
    {"active-expire-effort", "", ParamSpec::kInteger, 1, 10, "1", "", 0, ParamSpec::kTuning, kWhyProcess},
    {"min-replicas-to-write", "min-slaves-to-write", ParamSpec::kInteger, 0, kRowIntMax, "0", "", 0, ParamSpec::kLive, kWhyMinReplicas},
    {"min-replicas-max-lag", "min-slaves-max-lag", ParamSpec::kInteger, 0, kRowIntMax, "10", "", 0, ParamSpec::kLive, kWhyMinReplicas},
    {"watchdog-period", "", ParamSpec::kInteger, 0, kRowIntMax, "0", "", kHidden, ParamSpec::kTuning, kWhyProcess},
    {"shutdown-timeout", "", ParamSpec::kInteger, 0, kRowIntMax, "10", "", 0, ParamSpec::kTuning, kWhyShutdownTimeout},
    {"repl-diskless-sync-max-replicas", "", ParamSpec::kInteger, 0, kRowIntMax, "0", "", 0, ParamSpec::kTuning, kWhyReplication},
    {"unixsocketperm", "", ParamSpec::kOctal, 0, 0777, "0", "", kImmutable, ParamSpec::kLive, kWhyUnixsocket},
    {"socket-mark-id", "", ParamSpec::kInteger, 0, kRowUIntMax, "0", "", kImmutable, ParamSpec::kTuning, kWhyProcess},
    {"active-defrag-max-scan-fields", "", ParamSpec::kInteger, 1, kRowLongMax, "1000", "", 0, ParamSpec::kTuning, kWhyAllocator},
    {"slowlog-max-len", "", ParamSpec::kInteger, 0, kRowLongMax, "128", "", 0, ParamSpec::kLive, kWhySlowlog},
    {"acllog-max-len", "", ParamSpec::kInteger, 0, kRowLongMax, "128", "", 0, ParamSpec::kLive, kWhyAcllog},
    {"cluster-node-timeout", "", ParamSpec::kInteger, 0, kRowLongMax, "15000", "", 0, ParamSpec::kTuning, kWhyCluster},
    {"slowlog-log-slower-than", "", ParamSpec::kInteger, -1, kRowLongMax, "10000", "", 0, ParamSpec::kLive, kWhySlowlog},
    {"latency-monitor-threshold", "", ParamSpec::kInteger, 0, kRowLongMax, "0", "", 0, ParamSpec::kLive, kWhyLatency},
    {"stream-node-max-entries", "", ParamSpec::kInteger, 0, kRowLongMax, "100", "", 0, ParamSpec::kLive, kWhyStream},
    {"cluster-link-sendbuf-limit", "", ParamSpec::kMemory, 0, kRowLongMax, "0", "", 0, ParamSpec::kTuning, kWhyCluster},
    {"hash-max-listpack-entries", "hash-max-ziplist-entries", ParamSpec::kInteger, 0, kRowLongMax, "512", "", 0, ParamSpec::kLive, kWhyEncoding},
    {"set-max-intset-entries", "", ParamSpec::kInteger, 0, kRowLongMax, "512", "", 0, ParamSpec::kLive, kWhyEncoding},
    {"zset-max-listpack-entries", "zset-max-ziplist-entries", ParamSpec::kInteger, 0, kRowLongMax, "128", "", 0, ParamSpec::kLive, kWhyEncoding},
    {"active-defrag-ignore-bytes", "", ParamSpec::kMemory, 1, kRowLongMax, "104857600", "", 0, ParamSpec::kTuning, kWhyAllocator},
    {"hash-max-listpack-value", "hash-max-ziplist-value", ParamSpec::kMemory, 0, kRowLongMax, "64", "", 0, ParamSpec::kLive, kWhyEncoding},
    {"stream-node-max-bytes", "", ParamSpec::kMemory, 0, kRowLongMax, "4096", "", 0, ParamSpec::kLive, kWhyStream},
    {"zset-max-listpack-value", "zset-max-ziplist-value", ParamSpec::kMemory, 0, kRowLongMax, "64", "", 0, ParamSpec::kLive, kWhyEncoding},
    {"hll-sparse-max-bytes", "", ParamSpec::kMemory, 0, kRowLongMax, "3000", "", 0, ParamSpec::kLive, kWhyHll},
    {"tracking-table-max-keys", "", ParamSpec::kInteger, 0, kRowLongMax, "1000000", "", 0, ParamSpec::kLive, kWhyTracking},
    {"maxmemory-clients", "", ParamSpec::kMemoryOrPercent, 0, kRowLongMax, "0", "", 0, ParamSpec::kLive, kWhyClientEviction},
    {"repl-backlog-ttl", "", ParamSpec::kInteger, 0, kRowLongMax, "3600", "", 0, ParamSpec::kTuning, kWhyReplication},
    {"auto-aof-rewrite-min-size", "", ParamSpec::kMemory, 0, kRowLongMax, "67108864", "", 0, ParamSpec::kTuning, kWhyPersistence},
    {"loading-process-events-interval-bytes", "", ParamSpec::kInteger, 1024, kRowIntMax, "2097152", "", kHidden, ParamSpec::kTuning, kWhyPersistence},
    {"tls-port", "", ParamSpec::kInteger, 0, 65535, "0", "", 0, ParamSpec::kOffOnly, kWhyTls},
    {"tls-session-cache-size", "", ParamSpec::kInteger, 0, kRowIntMax, "20480", "", 0, ParamSpec::kTuning, kWhyTls},
    {"tls-session-cache-timeout", "", ParamSpec::kInteger, 0, kRowIntMax, "300", "", 0, ParamSpec::kTuning, kWhyTls},
    {"tls-cluster", "", ParamSpec::kBool, 0, 0, "no", "", 0, ParamSpec::kOffOnly, kWhyTls},
    {"tls-replication", "", ParamSpec::kBool, 0, 0, "no", "", 0, ParamSpec::kOffOnly, kWhyTls},
    {"tls-auth-clients", "", ParamSpec::kEnum, 0, 0, "yes", "no, yes, optional", 0, ParamSpec::kTuning, kWhyTls},
    {"tls-prefer-server-ciphers", "", ParamSpec::kBool, 0, 0, "no", "", 0, ParamSpec::kTuning, kWhyTls},
    {"tls-session-caching", "", ParamSpec::kBool, 0, 0, "yes", "", 0, ParamSpec::kTuning, kWhyTls},
    {"tls-cert-file", "", ParamSpec::kString, 0, 0, "", "", 0, ParamSpec::kTuning, kWhyTls},
    {"tls-key-file", "", ParamSpec::kString, 0, 0, "", "", 0, ParamSpec::kTuning, kWhyTls},
    {"tls-key-file-pass", "", ParamSpec::kString, 0, 0, "", "", 0, ParamSpec::kTuning, kWhyTls},
    {"tls-client-cert-file", "", ParamSpec::kString, 0, 0, "", "", 0, ParamSpec::kTuning, kWhyTls},
    {"tls-client-key-file", "", ParamSpec::kString, 0, 0, "", "", 0, ParamSpec::kTuning, kWhyTls},
    {"tls-client-key-file-pass", "", ParamSpec::kString, 0, 0, "", "", 0, ParamSpec::kTuning, kWhyTls},
    {"tls-dh-params-file", "", ParamSpec::kString, 0, 0, "", "", 0, ParamSpec::kTuning, kWhyTls},
    {"tls-ca-cert-file", "", ParamSpec::kString, 0, 0, "", "", 0, ParamSpec::kTuning, kWhyTls},
    {"tls-ca-cert-dir", "", ParamSpec::kString, 0, 0, "", "", 0, ParamSpec::kTuning, kWhyTls},
    {"tls-protocols", "", ParamSpec::kString, 0, 0, "", "", 0, ParamSpec::kTuning, kWhyTls},
    {"tls-ciphers", "", ParamSpec::kString, 0, 0, "", "", 0, ParamSpec::kTuning, kWhyTls},
    {"tls-ciphersuites", "", ParamSpec::kString, 0, 0, "", "", 0, ParamSpec::kTuning, kWhyTls},
    {"oom-score-adj-values", "", ParamSpec::kOomValues, -2000, 2000, "0 200 800", "", 0, ParamSpec::kLive, kWhyOom},
    {"latency-tracking-info-percentiles", "", ParamSpec::kPercentiles, 0, 100, "50 99 99.9", "", 0, ParamSpec::kLive, kWhyLatencyTracking},
};

std::string row_lower(std::string_view s) {
  std::string out(s);
  for (char& ch : out) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return out;
}

bool row_ll(std::string_view s, long long& v, int base = 10) {
  if (s.empty() || s.front() == '+') return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
  return ec == std::errc() && p == s.data() + s.size();
}

// redis.conf's memory units: "16mb", "64k", "1gb", plain bytes.
bool row_memory(std::string_view s, unsigned long long& out) {
  std::size_t i = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
  if (i == 0) return false;
  unsigned long long v = 0;
  if (std::from_chars(s.data(), s.data() + i, v).ec != std::errc()) return false;
  const std::string unit = row_lower(s.substr(i));
  const unsigned long long mul = unit.empty() ? 1 : unit == "k" ? 1000 : unit == "kb" ? 1024
                                 : unit == "m" ? 1000000 : unit == "mb" ? 1ull << 20
                                 : unit == "g" ? 1000000000ull : unit == "gb" ? 1ull << 30 : 0;
  if (mul == 0 || v > ~0ull / mul) return false;
  out = v * mul;
  return true;
}

std::string row_between(const ParamSpec& p) {
  return "argument must be between " + std::to_string(p.min) + " and " + std::to_string(p.max) + " inclusive";
}

std::vector<std::string> row_choices(const ParamSpec& p) {
  std::vector<std::string> out;
  std::string_view rest = p.choices;
  while (!rest.empty()) {
    const std::size_t comma = rest.find(", ");
    out.emplace_back(rest.substr(0, comma));
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 2);
  }
  return out;
}

std::vector<std::string> row_words(const std::string& v) {
  std::vector<std::string> w;
  if (!split_config_line(v, w)) w.clear();
  return w;
}

}  // namespace

std::span<const ParamSpec> param_table() { return kTable; }

const ParamSpec* find_param(std::string_view name) {
  for (const ParamSpec& p : kTable) {
    if (p.name == name || (!p.alias.empty() && p.alias == name)) return &p;
  }
  return nullptr;
}

std::string check_param(const ParamSpec& p, const std::string& v, std::string& normalized) {
  switch (p.kind) {
    case ParamSpec::kBool: {
      const std::string l = row_lower(v);
      if (l != "yes" && l != "no") return "argument must be 'yes' or 'no'";
      normalized = l;
      return "";
    }
    case ParamSpec::kString:
      normalized = v;
      return "";
    case ParamSpec::kEnum: {
      const std::string l = row_lower(v);
      for (const std::string& c : row_choices(p)) {
        if (c == l) {
          normalized = l;
          return "";
        }
      }
      return "argument(s) must be one of the following: " + std::string(p.choices);
    }
    case ParamSpec::kFlags: {
      const std::vector<std::string> all = row_choices(p);
      std::vector<bool> on(all.size(), false);
      const std::vector<std::string> words = row_words(v);
      if (words.empty()) return "argument(s) must be one of the following: " + std::string(p.choices);
      for (const std::string& w : words) {
        std::size_t i = 0;
        while (i < all.size() && all[i] != row_lower(w)) ++i;
        if (i == all.size()) return "argument(s) must be one of the following: " + std::string(p.choices);
        on[i] = true;
      }
      if (on[1] && on[2]) return "shutdown options SAVE and NOSAVE can't be used simultaneously";
      normalized.clear();
      for (std::size_t i = 1; i < all.size(); ++i) {
        if (on[i]) normalized += (normalized.empty() ? "" : " ") + all[i];
      }
      if (normalized.empty()) normalized = all[0];
      return "";
    }
    case ParamSpec::kPercentiles: {
      normalized.clear();
      for (const std::string& w : row_words(v)) {
        char* end = nullptr;
        const double d = std::strtod(w.c_str(), &end);
        if (w.empty() || *end != '\0') return "Invalid latency-tracking-info-percentiles parameters";
        if (d < 0 || d > 100) return "latency-tracking-info-percentiles parameters should sit between [0.0,100.0]";
        char buf[32];
        const auto r = std::to_chars(buf, buf + sizeof buf, d);
        normalized += (normalized.empty() ? "" : " ") + std::string(buf, r.ptr);
      }
      return "";
    }
    case ParamSpec::kOomValues: {
      const std::vector<std::string> words = row_words(v);
      if (words.size() != 3) return "wrong number of arguments";
      normalized.clear();
      for (const std::string& w : words) {
        long long x = 0;
        if (!row_ll(w, x) || x < p.min || x > p.max) {
          return "Invalid oom-score-adj-values, elements must be between -2000 and 2000.";
        }
        normalized += (normalized.empty() ? "" : " ") + std::to_string(x);
      }
      return "";
    }
    case ParamSpec::kMemoryOrPercent:
      if (!v.empty() && v.back() == '%') {
        long long pct = 0;
        if (!row_ll(std::string_view(v).substr(0, v.size() - 1), pct) || pct < 0) {
          return "argument must be a memory or percent value";
        }
        if (pct > 100) return "percentage argument must be less or equal to 100";
        normalized = std::to_string(pct) + "%";
        return "";
      }
      [[fallthrough]];
    case ParamSpec::kMemory: {
      unsigned long long bytes = 0;
      if (!row_memory(v, bytes)) {
        return p.kind == ParamSpec::kMemory ? "argument must be a memory value"
                                            : "argument must be a memory or percent value";
      }
      if (bytes < static_cast<unsigned long long>(p.min) || bytes > static_cast<unsigned long long>(p.max)) {
        return row_between(p);
      }
      normalized = std::to_string(bytes);
      return "";
    }
    case ParamSpec::kOctal:
    case ParamSpec::kInteger: {
      long long x = 0;
      if (!row_ll(v, x, p.kind == ParamSpec::kOctal ? 8 : 10)) return "argument couldn't be parsed into an integer";
      if (x < p.min || x > p.max) {
        if (p.kind != ParamSpec::kOctal) return row_between(p);
        return row_between(p);
      }
      if (p.kind == ParamSpec::kOctal) {
        char buf[24];
        const auto r = std::to_chars(buf, buf + sizeof buf, x, 8);
        normalized.assign(buf, r.ptr);
      } else {
        normalized = std::to_string(x);
      }
      return "";
    }
  }
  return "unknown type";
}

std::string refuse_reason(const ParamSpec& p, const std::string& normalized) {
  if (p.effect != ParamSpec::kOffOnly || normalized == p.initial) return "";
  return "'" + std::string(p.name) + " " + normalized + "' is not supported: " + std::string(p.why) +
         " (only '" + (p.initial.empty() ? std::string("\"\"") : std::string(p.initial)) + "' is accepted)";
}

}  // namespace lfdb::db
