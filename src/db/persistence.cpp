// Server's durability duties: loading at start (the append-only log, or the last snapshot),
// SAVE, BGSAVE and BGREWRITEAOF with their child processes. docs/persistence.md.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <thread>

#include "db/log_loader.hpp"
#include "db/server.hpp"
#include "db/snapshot.hpp"
#include "lf/unbound_thread_set.hpp"

namespace lfdb::db {

using commands::CommandSpec;

lf::Status Server::load_append_log() {
  const std::string path = initial_.aof_path();
  const std::int64_t t0 = now_ms();
  std::string bytes;
  {
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (f == nullptr && errno != ENOENT) return lf::Status::from_errno("open " + path);
    if (f != nullptr) {
      char buf[1 << 16];
      std::size_t n = 0;
      while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) bytes.append(buf, n);
      const bool failed = std::ferror(f) != 0;
      std::fclose(f);
      if (failed) return lf::Status::error("cannot read " + path);
    }
  }
  // A rewritten log may start with a snapshot (aof-use-snapshot-preamble): load it, then the
  // records that follow it.
  std::uint64_t base = 0;
  apply_db_ = 0;
  if (is_snapshot(bytes)) {
    auto snap = load_snapshot_bytes(bytes, dbs_, path + " (preamble)");
    if (!snap.ok()) return snap.status();
    if (lf::Status st = restore_libraries(snap->libraries); !st.ok()) return st;
    base = snap->bytes;
    snapshot_keys_loaded_ = snap->keys;
  }
  LogLoadOptions o;
  o.load_truncated = initial_.aof_load_truncated;
  o.load_corrupt = initial_.aof_load_corrupt;
  auto loaded = load_log(std::string_view(bytes).substr(base), o,
                         [this](std::span<const std::string_view> argv, bool check) {
                           return apply_logged(argv, check);
                         });
  if (!loaded.ok()) {
    return lf::Status::error(path + (base ? " (after its " + std::to_string(base) + "-byte snapshot preamble)" : "") +
                             ": " + loaded.status().message());
  }
  loaded->valid_bytes += base;
  if (loaded->valid_bytes < bytes.size()) {
    if (::truncate(path.c_str(), static_cast<off_t>(loaded->valid_bytes)) != 0) {
      return lf::Status::from_errno("truncate " + path);
    }
    std::fprintf(stderr, "lfdb-server: warning: %s: %s\n", path.c_str(), loaded->warning.c_str());
  }
  loaded_commands_ = loaded->commands;
  loaded_transactions_ = loaded->transactions;
  load_warning_ = loaded->warning;
  load_ms_ = now_ms() - t0;
  if (!bytes.empty()) {
    std::fprintf(stderr, "lfdb-server: loaded %s: %" PRIu64 " commands, %" PRIu64
                 " transactions, %" PRIu64 " keys in %" PRId64 " ms\n",
                 path.c_str(), loaded_commands_, loaded_transactions_, dbs_.size(), load_ms_);
  }
  auto log = AppendLog::open(path, initial_.appendfsync);
  if (!log.ok()) return log.status();
  log_ = std::move(*log);
  return lf::Status();
}

lf::Status Server::apply_logged(std::span<const std::string_view> argv, bool check_only) {
  if (argv.size() == 2 && iequal(argv[0], "select")) {
    std::int64_t db = 0;
    if (!parse_int(argv[1], db) || db < 0 || db >= static_cast<std::int64_t>(dbs_.count())) {
      return lf::Status::error("SELECT " + std::string(argv[1]) + ": no such database (databases " +
                               std::to_string(dbs_.count()) + ")");
    }
    if (!check_only) apply_db_ = static_cast<std::uint32_t>(db);
    return lf::Status();
  }
  const commands::Resolved r = commands::resolve(argv);
  if (!r) return lf::Status::error(r.error(argv).substr(4));  // without "ERR "
  const CommandSpec* spec = r.spec;
  const BoundCommand* bc = &bound(r.index);
  if (bc->handler == nullptr || !spec->has(commands::kWrite)) {
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
  if (!reply.empty() && reply[0] == '-') load_errors_.fetch_add(1, std::memory_order_relaxed);
  return lf::Status();
}

}  // namespace lfdb::db

namespace lfdb::db {

lf::Status Server::load_snapshot_file() {
  const std::string path = initial_.snapshot_path();
  const std::int64_t t0 = now_ms();
  auto loaded = load_snapshot(path, dbs_);
  if (!loaded.ok()) return loaded.status();
  if (lf::Status st = restore_libraries(loaded->libraries); !st.ok()) return st;
  snapshot_keys_loaded_ = loaded->keys;
  if (loaded->keys > 0) {
    std::fprintf(stderr, "lfdb-server: loaded snapshot %s: %" PRIu64 " keys in %" PRId64 " ms\n",
                 path.c_str(), loaded->keys, now_ms() - t0);
  }
  return lf::Status();
}

lf::Status Server::save_now() {
  // Writing a snapshot takes long: a thread keeping the leader role (lazy promotion) hands it on.
  lf::UnboundThreadSet::promote_new_leader();
  std::uint64_t keys = 0;
  const std::uint64_t changes = dbs_.changes();  // exact: SAVE runs alone
  lf::Status st = save_snapshot(dbs_, initial_.snapshot_path(), now_ms(), keys,
                                config_.rdb_key_save_delay_us(), library_codes());
  if (st.ok()) {
    lf::MutexLock lock(persist_mu_);
    last_save_ms_ = now_ms();
    saved_changes_ = changes;
  }
  return st;
}

lf::Result<std::uint64_t> Server::rewrite_log_now() {
  if (!log_) return std::uint64_t{0};
  {
    lf::MutexLock lock(persist_mu_);
    if (child_pid_ != 0) return lf::Status::error("a background save or rewrite is running");
  }
  const std::string tmp =
      initial_.dir + "/" + kResyncTempPrefix + std::to_string(::getpid()) + kLogTempSuffix;
  log_->start_rewrite();
  lf::Status st = write_log_base(dbs_, tmp, now_ms(), initial_.aof_use_snapshot_preamble, 0,
                                 library_codes());
  if (!st.ok()) {
    log_->abort_rewrite();
    ::unlink(tmp.c_str());
    return st;
  }
  st = log_->finish_rewrite(tmp, initial_.aof_path());
  if (!st.ok()) return st;
  return log_->stats().size;
}

std::int64_t Server::last_save_s() {
  lf::MutexLock lock(persist_mu_);
  return (last_save_ms_ != 0 ? last_save_ms_ : started_ms_) / 1000;
}

namespace {
// fork() and the time it took: the pause every command sees, since the caller runs alone.
pid_t timed_fork(std::int64_t& us) {
  const auto t0 = std::chrono::steady_clock::now();
  const pid_t pid = ::fork();
  if (pid != 0) {
    us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0)
             .count();
  }
  return pid;
}
}  // namespace

std::string Server::start_bgsave() {
  lf::MutexLock lock(persist_mu_);
  if (child_pid_ != 0) {
    return child_kind_ == ChildKind::kSnapshot
               ? "ERR Background save already in progress"
               : "ERR Background append only file rewriting in progress, try again later";
  }
  std::int64_t us = 0;
  last_bgsave_try_ms_ = now_ms();
  child_changes_ = dbs_.changes();  // exact: BGSAVE runs alone, and the child copies this
  const int key_delay_us = config_.rdb_key_save_delay_us();
  const std::vector<std::string> libraries = library_codes();  // the child takes no lock
  const pid_t pid = timed_fork(us);
  if (pid < 0) {
    last_bgsave_ok_ = false;
    return std::string("ERR Background save failed: fork: ") + std::strerror(errno);
  }
  if (pid == 0) {
    // The child: one thread, its own copy of the keyspace as it was at the fork.
    std::uint64_t keys = 0;
    lf::Status st = save_snapshot(dbs_, initial_.snapshot_path(), now_ms(), keys, key_delay_us,
                                  libraries);
    if (!st.ok()) std::fprintf(stderr, "lfdb-server (bgsave child): %s\n", st.message().c_str());
    ::_exit(st.ok() ? 0 : 1);
  }
  child_pid_ = pid;
  child_kind_ = ChildKind::kSnapshot;
  last_fork_us_ = us;
  if (us > max_fork_us_) max_fork_us_ = us;
  return "";
}

std::string Server::start_bgrewriteaof() {
  if (!log_) return "ERR the append-only log is off (appendonly no)";
  lf::MutexLock lock(persist_mu_);
  if (child_pid_ != 0) {
    return child_kind_ == ChildKind::kRewrite
               ? "ERR Background append only file rewriting already in progress"
               : "ERR Background save in progress, try BGREWRITEAOF again later";
  }
  const std::string tmp =
      initial_.dir + "/" + kRewriteTempPrefix + std::to_string(::getpid()) + kLogTempSuffix;
  const int key_delay_us = config_.rdb_key_save_delay_us();
  // A replica's saved stream position counts bytes of this file: a rewrite changes them.
  repl_->forget_saved_position();
  // From this instant (nothing runs: we run alone) the log also keeps records for the new file.
  log_->start_rewrite();
  std::int64_t us = 0;
  const std::vector<std::string> libraries = library_codes();  // the child takes no lock
  const pid_t pid = timed_fork(us);
  if (pid < 0) {
    log_->abort_rewrite();
    return std::string("ERR Can't rewrite append only file in background: fork: ") +
           std::strerror(errno);
  }
  if (pid == 0) {
    lf::Status st = write_log_base(dbs_, tmp, now_ms(), initial_.aof_use_snapshot_preamble,
                                   key_delay_us, libraries);
    if (!st.ok()) std::fprintf(stderr, "lfdb-server (rewrite child): %s\n", st.message().c_str());
    ::_exit(st.ok() ? 0 : 1);
  }
  child_pid_ = pid;
  child_kind_ = ChildKind::kRewrite;
  rewrite_tmp_ = tmp;
  last_fork_us_ = us;
  if (us > max_fork_us_) max_fork_us_ = us;
  return "";
}

void Server::reap_child() {
  pid_t pid = 0;
  ChildKind kind = ChildKind::kNone;
  std::string tmp;
  {
    lf::MutexLock lock(persist_mu_);
    pid = child_pid_;
    kind = child_kind_;
    tmp = rewrite_tmp_;
  }
  if (pid == 0) return;
  int status = 0;
  if (::waitpid(pid, &status, WNOHANG) != pid) return;
  const bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  bool finished = ok;
  if (kind == ChildKind::kRewrite) {
    if (ok) {
      lf::Status st = log_->finish_rewrite(tmp, initial_.aof_path());
      finished = st.ok();
      if (!st.ok()) std::fprintf(stderr, "lfdb-server: %s\n", st.message().c_str());
    } else {
      log_->abort_rewrite();
      ::unlink(tmp.c_str());
    }
    std::fprintf(stderr, "lfdb-server: background append-only log rewrite %s\n",
                 finished ? "done" : "failed");
  } else {
    std::fprintf(stderr, "lfdb-server: background snapshot %s\n", ok ? "saved" : "failed");
  }
  lf::MutexLock lock(persist_mu_);
  if (kind == ChildKind::kRewrite) {
    last_rewrite_ok_ = finished;
  } else {
    last_bgsave_ok_ = ok;
    if (ok) {
      last_save_ms_ = now_ms();
      saved_changes_ = child_changes_;
    }
  }
  child_pid_ = 0;
  child_kind_ = ChildKind::kNone;
}

void Server::wait_child() {
  for (;;) {
    {
      lf::MutexLock lock(persist_mu_);
      if (child_pid_ == 0) return;
    }
    reap_child();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

// `save <seconds> <changes>` points: a BGSAVE once any point is reached, counted from the last
// good snapshot (or the start). After a failed one, the next try waits kSaveRetryMs, as the
// disk that failed it may still be full. The BGSAVE itself runs alone, as the command does.
void Server::maybe_periodic_save(std::int64_t now) {
  constexpr std::int64_t kSaveRetryMs = 5000;
  std::vector<std::pair<std::int64_t, std::uint64_t>> points;
  const auto value = config_.get("save");
  if (value.empty() || !parse_save_points(value.front().second, points) || points.empty()) return;
  if (periodic_save_queued_.load(std::memory_order_acquire)) return;
  const std::uint64_t changes = dbs_.changes();  // approximate while writers run: enough
  {
    lf::MutexLock lock(persist_mu_);
    if (child_pid_ != 0) return;
    if (!last_bgsave_ok_ && now - last_bgsave_try_ms_ < kSaveRetryMs) return;
    const std::uint64_t since = changes - saved_changes_;
    const std::int64_t since_ms = now - (last_save_ms_ != 0 ? last_save_ms_ : started_ms_);
    bool due = false;
    for (const auto& [seconds, min_changes] : points) {
      if (since >= min_changes && since_ms >= seconds * 1000) due = true;
    }
    if (!due) return;
  }
  periodic_save_queued_.store(true, std::memory_order_release);
  static const std::uint64_t kHash[1] = {0};
  const Invocation alone{executor_->exec_alone(), Placement::kKeys, std::span<const std::uint64_t>(kHash)};
  (void)executor_->submit(alone, lf::hue::Task([this] {
    const std::string err = start_bgsave();
    if (!err.empty()) std::fprintf(stderr, "lfdb-server: save point: %s\n", err.c_str());
    else std::fprintf(stderr, "lfdb-server: save point reached: background snapshot started\n");
    periodic_save_queued_.store(false, std::memory_order_release);
  }));
}

}  // namespace lfdb::db
