// lfdb::db::Persistence: the server's durability, one type the Server owns and delegates to.
//   loading      at start, the append-only log (a rewritten one may open with a snapshot) or,
//                without a log, the last snapshot; temporary files of a crashed save removed;
//   the log      the AppendLog every write appends to (nullptr when appendonly is no);
//   snapshots    SAVE in this process, BGSAVE in a forked child;
//   rewrite      BGREWRITEAOF in a forked child, and a replica's rewrite in this process;
//   save points  `save <seconds> <changes>`: a BGSAVE once one is reached;
//   the child    at most one child process (snapshot or rewrite), reaped by the ticker.
// docs/persistence.md.
//
// Whatever forks or writes the keyspace's image runs alone (its hue conflicts with every
// command), so the keyspace holds still; the child writes its copy-on-write image.
//
// Errors are lf::Status; a refused background job's message is Redis's error reply.
//
// Thread-safety: the child's state and the save counters are guarded by mu_; what loading
// found is immutable after load(); log_ is set by load(), before any connection, and lives as
// long as the Persistence.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "db/append_log.hpp"
#include "db/config.hpp"
#include "lf/mutex.hpp"
#include "lf/status.hpp"

namespace lfdb::db {

class Server;

class Persistence {
 public:
  // What INFO's persistence section reports: read under the lock at one instant.
  struct Info {
    std::uint64_t changes_since_save = 0;
    bool bgsave_in_progress = false;
    bool rewrite_in_progress = false;
    std::int64_t last_save_s = 0;
    bool last_bgsave_ok = true;
    bool last_rewrite_ok = true;
    std::int64_t last_fork_us = 0;
    std::int64_t max_fork_us = 0;
    std::uint64_t snapshot_keys_loaded = 0;
  };
  // What loading the log found (immutable after load()).
  struct LogLoadReport {
    std::uint64_t commands = 0;
    std::uint64_t transactions = 0;
    std::int64_t ms = 0;
    std::string warning;
  };

  Persistence(Server& server, const ServerConfig& initial);
  ~Persistence();
  Persistence(const Persistence&) = delete;
  Persistence& operator=(const Persistence&) = delete;

  // Start: removes temporary files a crashed save left, then loads the log (appendonly yes,
  // which opens it for appending) or the last snapshot. Before any connection.
  lf::Status load();
  // The server is up at started_ms: what was loaded counts as saved, save points count from here.
  void started(std::int64_t started_ms);

  // The append-only log (nullptr when appendonly is no).
  AppendLog* log() const { return log_.get(); }

  // SAVE: a snapshot now, in this process (the caller runs alone).
  lf::Status save_now();
  // BGSAVE and BGREWRITEAOF: fork a child that writes the image (the caller runs alone). An
  // error's message is the reply ("ERR ..."), e.g. when a child is running already.
  lf::Status start_bgsave();
  lf::Status start_bgrewriteaof();
  // The log rewritten from the keyspace now, in this process (a replica after a full resync;
  // the caller runs alone). Returns the new file's size.
  lf::Result<std::uint64_t> rewrite_log_now();

  // The ticker: each tick, a finished child's result; once a second, the log's duty (fsync
  // under everysec, retry after a disk error) and the save points.
  void reap_child();
  void on_second(std::int64_t now_ms);

  // SHUTDOWN SAVE (1) / NOSAVE (-1) / default (0).
  void set_shutdown_save(int v) { shutdown_save_.store(v, std::memory_order_relaxed); }
  int shutdown_save() const { return shutdown_save_.load(std::memory_order_relaxed); }
  // Whether a shutdown asking `ask` (SAVE 1, NOSAVE -1, default 0) takes a snapshot: SAVE, or
  // the default with `save` points configured (as they are now).
  bool shutdown_saves(int ask);
  // The shutdown's first step, while the server still serves (the caller runs alone): a running
  // child is stopped and its temporary file removed (Redis does the same; the snapshot below,
  // or the log, covers what it was writing), then the shutdown snapshot is taken when
  // shutdown_saves(ask). An error (the save failed) leaves the server running: SHUTDOWN answers
  // it, a signal's shutdown is called off (docs/server.md, "Shutdown").
  lf::Status prepare_shutdown(int ask);
  // Shutdown, once nothing runs: a child still running is stopped; the shutdown snapshot is
  // taken when the shutdown asks for one (unless may_save is false), but not again when
  // prepare_shutdown took it and nothing changed since; the log is flushed.
  void shut_down(bool may_save);

  std::int64_t last_save_s();  // LASTSAVE
  Info info();
  const LogLoadReport& log_load() const { return log_load_; }

 private:
  enum class ChildKind { kNone, kSnapshot, kRewrite };

  std::string snapshot_path() const;  // dir/dbfilename as CONFIG SET left them
  lf::Status load_append_log();
  lf::Status load_snapshot_file();
  void maybe_periodic_save(std::int64_t now_ms);
  void stop_child();
  int child_oom_score();  // a child's oom_score_adj (db/process_settings.hpp)  // SIGKILL, reaped, its temporary file removed

  Server& server_;
  const ServerConfig& initial_;
  std::unique_ptr<AppendLog> log_;
  LogLoadReport log_load_;                  // immutable after load()
  std::uint64_t snapshot_keys_loaded_ = 0;  // idem
  std::atomic<int> shutdown_save_{0};
  std::atomic<bool> periodic_save_queued_{false};

  lf::Mutex mu_;
  pid_t child_pid_ LF_GUARDED_BY(mu_) = 0;
  ChildKind child_kind_ LF_GUARDED_BY(mu_) = ChildKind::kNone;
  std::string rewrite_tmp_ LF_GUARDED_BY(mu_);
  std::int64_t started_ms_ LF_GUARDED_BY(mu_) = 0;
  std::int64_t last_save_ms_ LF_GUARDED_BY(mu_) = 0;
  bool last_bgsave_ok_ LF_GUARDED_BY(mu_) = true;
  bool last_rewrite_ok_ LF_GUARDED_BY(mu_) = true;
  std::int64_t last_fork_us_ LF_GUARDED_BY(mu_) = 0;
  std::int64_t max_fork_us_ LF_GUARDED_BY(mu_) = 0;
  // Keyspace changes covered by the last good snapshot, and by the one being written.
  std::uint64_t saved_changes_ LF_GUARDED_BY(mu_) = 0;
  std::uint64_t child_changes_ LF_GUARDED_BY(mu_) = 0;
  std::int64_t last_bgsave_try_ms_ LF_GUARDED_BY(mu_) = 0;
  // prepare_shutdown's snapshot covered the keyspace at this count of changes.
  bool shutdown_saved_ LF_GUARDED_BY(mu_) = false;
  std::uint64_t shutdown_saved_changes_ LF_GUARDED_BY(mu_) = 0;
};

}  // namespace lfdb::db
