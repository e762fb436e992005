// lfdb-server's configuration: a redis.conf-style file (one directive per line: a name and its
// arguments, '#' comments, quotes as Redis splits them) and the same directives as `--name value`
// on the command line, which win over the file. Unknown directives are errors that name the
// line (or flag) and the directive.
//
// Thread-safety: ServerConfig is a value. Config (the live store behind CONFIG GET/SET) guards
// its values with its own mutex.
#pragma once

#include "db/config_line.hpp"  // split_config_line, for the config file

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "db/memory/settings.hpp"
#include "lf/concurrency_model.hpp"
#include "lf/mutex.hpp"
#include "lf/status.hpp"

namespace lfdb::db {

enum class DataMode { kColors, kGlobal };
enum class FsyncPolicy { kAlways, kEverySec, kNo };

struct ServerConfig {
  // Redis's default: every IPv4 address, and every IPv6 one where the machine has IPv6 (the
  // "-"); protected mode keeps clients other than local ones out until a password is set.
  // Space-separated, as CONFIG GET shows it; empty: no TCP listener (lf::ModelOptions::bind).
  std::string bind = "* -::*";
  std::uint16_t port = 6379;
  int threads = 2;
  lf::ModelKind model = lf::ModelKind::kLeaderFollowers;
  DataMode data = DataMode::kColors;
  std::string requirepass;
  // ACL users (db/acl/acl_file.hpp): the aclfile's path, or the config file's `user` lines
  // (each its words after `user`, checked when read); Redis refuses both at once.
  std::string aclfile;
  // The aclfile as opened: a relative path is under `dir`, where Redis (which chdirs there)
  // finds it. CONFIG GET still shows `aclfile` as given.
  std::string aclfile_path() const {
    return aclfile.empty() || aclfile.front() == '/' || dir.empty() ? aclfile : dir + "/" + aclfile;
  }
  std::vector<std::vector<std::string>> users;
  // Protected mode: with no requirepass, serve clients from 127.0.0.1 only (commands/access.hpp).
  bool protected_mode = true;
  std::size_t maxclients = 10000;
  std::uint32_t colors = 1024;
  std::uint32_t databases = 16;  // SELECT 0 .. databases-1
  // A leader takes a whole epoll_wait's batch (max_events_per_wait is 64) and, with lazy
  // promotion, keeps leading: a backlog no longer wakes a follower (0.18-0.28 futex calls per
  // unpipelined GET at 8, none at 64; benchmarks-server.md). A long command still hands the rest
  // of its turn on (UnboundThreadSet::promote_new_leader).
  int events_per_turn = 64;
  // lf models: how the shared handle set deactivates a connection while a thread serves it.
  lf::HandleSetKind handle_set = lf::HandleSetKind::kEpollEdge;
  bool lazy_promotion = true;   // lf models: see lf::ModelOptions; off when appendfsync is always
  lf::Promotion promotion = lf::Promotion::kLifo;
  std::string loglevel = "notice";
  std::string port_file;   // lfdb: write the bound port here once listening (tests, port 0)
  int hz = 10;             // active expiry cycles per second
  long long busy_reply_threshold_ms = 5000;  // a script running longer may be stopped by SCRIPT KILL
  // Durability (docs/persistence.md).
  bool appendonly = false;
  FsyncPolicy appendfsync = FsyncPolicy::kEverySec;
  std::string dir = ".";
  std::string appendfilename = "appendonly.aof";
  bool aof_load_truncated = true;   // a torn tail is cut off (with a warning) instead of refusing
  bool aof_load_corrupt = false;    // lfdb: load up to corruption in the middle instead of refusing
  bool aof_use_snapshot_preamble = false;  // BGREWRITEAOF's base: a snapshot instead of commands
  bool enable_debug_command = false;  // DEBUG (fault injection for tests)
  std::string dbfilename = "dump.lfdb";  // snapshots (SAVE, BGSAVE, shutdown)
  // Redis's rdb-key-save-delay (for tests): microseconds slept after each key a snapshot or a
  // log rewrite writes; negative -n: one microsecond every n keys. 0: none.
  int rdb_key_save_delay_us = 0;
  std::string save;                      // "<seconds> <changes> ...": BGSAVE points; non-empty: also a snapshot at shutdown
  // Replication (docs/replication.md).
  std::string replicaof_host;            // non-empty: start as a replica of host:port
  std::uint16_t replicaof_port = 0;
  std::string masterauth;                // AUTH sent to the primary
  std::size_t repl_backlog_size = 16u << 20;
  std::string backup_dir;                // non-empty: the dispatcher also keeps a backup log there
  std::string notify_keyspace_events;  // Redis's letters, canonical (db/pubsub/notify.hpp)
  // client-output-buffer-limit, per class as CONFIG GET shows it; lfdb enforces `pubsub` and
  // `normal` (db/client_limits.hpp).
  std::string client_output_buffer_limit =
      "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60";
  std::uint64_t client_query_buffer_limit = 1ull << 30;  // db/client_limits.hpp
  std::uint64_t proto_max_bulk_len = 512ull << 20;

  memory::Limits memory;  // maxmemory and its policy (db/memory/settings.hpp)
  // The table's parameters (db/config_table.hpp: timeout, tcp-keepalive, slowlog-*, the
  // encodings...) given at start, validated and normalized: name -> value; param() reads them.
  std::map<std::string, std::string> tuning;
  std::string config_file;  // the file given at start, absolute; "" without one (CONFIG REWRITE)

  // A parameter of the table (db/config_table.hpp) as given at start, or its default.
  std::string param(std::string_view name) const;

  std::string snapshot_path() const { return dir + "/" + dbfilename; }

  std::string aof_path() const { return dir + "/" + appendfilename; }
};

// Parses argv (argv[0] is the program; argv[1] may be a config file path, as redis-server
// takes it) into `out`. Returns an error naming what was wrong.
// Redis's `dir`: the process works there (chdir), and c.dir becomes that absolute path (what
// CONFIG GET dir shows, and where relative paths open from). After parsing, before anything
// opens a file.
lf::Status enter_dir(ServerConfig& c);
lf::Status parse_command_line(int argc, char** argv, ServerConfig& out);
// Applies one directive (name lower-cased, values already split).
lf::Status apply_directive(const std::string& name, const std::vector<std::string>& values,
                           ServerConfig& out);

const char* to_string(DataMode d);
const char* to_string(FsyncPolicy p);

// The live view for CONFIG GET / CONFIG SET.
class Config {
 public:
  explicit Config(const ServerConfig& initial);
  // Name/value pairs whose name matches the glob pattern.
  std::vector<std::pair<std::string, std::string>> get(std::string_view pattern) const;
  // Sets several parameters atomically (all or none); error text as Redis gives it.
  // `local_client`: the caller is on a loopback address (enable-protected-configs local).
  lf::Status set(const std::vector<std::pair<std::string, std::string>>& pairs, bool local_client = false);
  // One parameter's current value, as CONFIG GET shows it ("" if lfdb has no such name).
  std::string value(std::string_view name) const;
  std::string requirepass() const;
  std::string output_limits() const;  // client-output-buffer-limit, canonical
  int rdb_key_save_delay_us() const;
  // CONFIG REWRITE: writes the current values into the file the server started with, as
  // Redis does: its comments and the lines lfdb does not know stay where they are, each known
  // parameter is written once where it first stood, and the ones set away from their
  // defaults that the file does not name are added at its end. `user_lines` ("user <name>
  // <rules>", ACL LIST's lines) take the places of the file's `user` lines in order, the rest
  // added at the end; with an aclfile the caller gives none and the file's `user` lines go.
  // Error text as Redis gives it.
  lf::Status rewrite(const std::vector<std::string>& user_lines) const;

 private:
  mutable lf::Mutex mu_;
  std::map<std::string, std::string> values_ LF_GUARDED_BY(mu_);
  std::string config_file_;  // set once by the constructor
};

// client-output-buffer-limit: merges `change` ("<class> <hard> <soft> <soft seconds>"...,
// memory units allowed) into `current` (the canonical form above); an error with Redis's reason
// (current untouched then).
lf::Status merge_output_limits(std::string& current, const std::string& change);
// One class's limits from the canonical form: {hard bytes, soft bytes, soft seconds}.
struct OutputLimit {
  std::uint64_t hard = 0, soft = 0;
  std::int64_t soft_seconds = 0;
};
OutputLimit output_limit(const std::string& canonical, std::string_view cls);

// `save` as (seconds, changes) points: "3600 1 300 100" -> {{3600,1},{300,100}}; "" -> none.
// False when the text is not pairs of positive integers.
bool parse_save_points(const std::string& text, std::vector<std::pair<std::int64_t, std::uint64_t>>& out);

}  // namespace lfdb::db
