// Persistence: loading at start (the append-only log, or the last snapshot), SAVE, BGSAVE and
// BGREWRITEAOF with their child processes, save points. docs/persistence.md.
#include "db/persistence.hpp"

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
#include "db/process_settings.hpp"
#include "db/server.hpp"
#include "db/snapshot.hpp"
#include "lf/unbound_thread_set.hpp"

namespace lfdb::db {

Persistence::Persistence(Server& server, const ServerConfig& initial)
    : server_(server), initial_(initial) {}

Persistence::~Persistence() = default;

lf::Status Persistence::load() {
  // A save a crash interrupted left its temporary file: nothing will ever rename it.
  for (const std::string& path : remove_stale_temp_files(initial_.dir)) {
    std::fprintf(stderr, "lfdb-server: removed %s, left by a save that did not finish\n", path.c_str());
  }
  // The log, when there is one, holds every write (a rewritten log starts with the whole
  // keyspace); otherwise the last snapshot is the data.
  return initial_.appendonly ? load_append_log() : load_snapshot_file();
}

void Persistence::started(std::int64_t started_ms) {
  lf::MutexLock lock(mu_);
  started_ms_ = started_ms;
  saved_changes_ = server_.databases().changes();  // what was loaded is on disk already
}

lf::Status Persistence::load_append_log() {
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
  server_.restart_apply_db();
  if (is_snapshot(bytes)) {
    auto snap = load_snapshot_bytes(bytes, server_.databases(), path + " (preamble)");
    if (!snap.ok()) return snap.status();
    if (lf::Status st = server_.restore_libraries(snap->libraries); !st.ok()) return st;
    base = snap->bytes;
    snapshot_keys_loaded_ = snap->keys;
  }
  LogLoadOptions o;
  o.load_truncated = initial_.aof_load_truncated;
  o.load_corrupt = initial_.aof_load_corrupt;
  auto loaded = load_log(std::string_view(bytes).substr(base), o,
                         [this](std::span<const std::string_view> argv, bool check) {
                           return server_.apply_logged(argv, check);
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
  log_load_.commands = loaded->commands;
  log_load_.transactions = loaded->transactions;
  log_load_.warning = loaded->warning;
  log_load_.ms = now_ms() - t0;
  if (!bytes.empty()) {
    std::fprintf(stderr, "lfdb-server: loaded %s: %" PRIu64 " commands, %" PRIu64
                 " transactions, %" PRIu64 " keys in %" PRId64 " ms\n",
                 path.c_str(), log_load_.commands, log_load_.transactions, server_.databases().size(),
                 log_load_.ms);
  }
  auto log = AppendLog::open(path, initial_.appendfsync);
  if (!log.ok()) return log.status();
  log_ = std::move(*log);
  return lf::Status();
}

lf::Status Persistence::load_snapshot_file() {
  const std::string path = snapshot_path();
  const std::int64_t t0 = now_ms();
  auto loaded = load_snapshot(path, server_.databases());
  if (!loaded.ok()) return loaded.status();
  if (lf::Status st = server_.restore_libraries(loaded->libraries); !st.ok()) return st;
  snapshot_keys_loaded_ = loaded->keys;
  if (loaded->keys > 0) {
    std::fprintf(stderr, "lfdb-server: loaded snapshot %s: %" PRIu64 " keys in %" PRId64 " ms\n",
                 path.c_str(), loaded->keys, now_ms() - t0);
  }
  return lf::Status();
}

std::string Persistence::snapshot_path() const {
  // Read each time: CONFIG SET dir and dbfilename move the next snapshot, as Redis's do.
  const Config& config = server_.config();
  return config.value("dir") + "/" + config.value("dbfilename");
}

lf::Status Persistence::save_now() {
  // Writing a snapshot takes long: a thread keeping the leader role (lazy promotion) hands it on.
  lf::UnboundThreadSet::promote_new_leader();
  std::uint64_t keys = 0;
  const std::uint64_t changes = server_.databases().changes();  // exact: SAVE runs alone
  lf::Status st = save_snapshot(server_.databases(), snapshot_path(), now_ms(), keys,
                                server_.config().rdb_key_save_delay_us(), server_.library_codes());
  if (st.ok()) {
    lf::MutexLock lock(mu_);
    last_save_ms_ = now_ms();
    saved_changes_ = changes;
  }
  return st;
}

lf::Result<std::uint64_t> Persistence::rewrite_log_now() {
  if (!log_) return std::uint64_t{0};
  {
    lf::MutexLock lock(mu_);
    if (child_pid_ != 0) return lf::Status::error("a background save or rewrite is running");
  }
  const std::string tmp =
      initial_.dir + "/" + kResyncTempPrefix + std::to_string(::getpid()) + kLogTempSuffix;
  log_->start_rewrite();
  lf::Status st = write_log_base(server_.databases(), tmp, now_ms(), initial_.aof_use_snapshot_preamble, 0,
                                 server_.library_codes());
  if (!st.ok()) {
    log_->abort_rewrite();
    ::unlink(tmp.c_str());
    return st;
  }
  st = log_->finish_rewrite(tmp, initial_.aof_path());
  if (!st.ok()) return st;
  return log_->stats().size;
}

std::int64_t Persistence::last_save_s() {
  lf::MutexLock lock(mu_);
  return (last_save_ms_ != 0 ? last_save_ms_ : started_ms_) / 1000;
}

namespace {
// fork() and the time it took: the pause every command sees, since the caller runs alone.
// oom_score: the child's oom_score_adj (oom-score-adj-values' third value), or kNoOomScore.
pid_t timed_fork(std::int64_t& us, int oom_score) {
  const auto t0 = std::chrono::steady_clock::now();
  const pid_t pid = ::fork();
  if (pid == 0) {
    set_own_oom_score(oom_score);
    // The child's saving thread inherits the server's mask (SIGTERM and SIGINT blocked, taken by
    // the main thread, which the child does not have) and its handler: both back to the
    // defaults, so an operator's or a service manager's SIGTERM ends a child left behind.
    ::signal(SIGTERM, SIG_DFL);
    ::signal(SIGINT, SIG_DFL);
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    ::pthread_sigmask(SIG_UNBLOCK, &stop_signals, nullptr);
  } else {
    us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0)
             .count();
  }
  return pid;
}
}  // namespace

int Persistence::child_oom_score() {
  return oom_score_for_child(server_.config().value("oom-score-adj"),
                             server_.config().value("oom-score-adj-values"));
}

lf::Status Persistence::start_bgsave() {
  lf::MutexLock lock(mu_);
  if (child_pid_ != 0) {
    return lf::Status::error(
        child_kind_ == ChildKind::kSnapshot
            ? "ERR Background save already in progress"
            : "ERR Background append only file rewriting in progress, try again later");
  }
  std::int64_t us = 0;
  last_bgsave_try_ms_ = now_ms();
  child_changes_ = server_.databases().changes();  // exact: BGSAVE runs alone, and the child copies this
  const int key_delay_us = server_.config().rdb_key_save_delay_us();
  const std::vector<std::string> libraries = server_.library_codes();  // the child takes no lock
  const pid_t pid = timed_fork(us, child_oom_score());
  if (pid < 0) {
    last_bgsave_ok_ = false;
    return lf::Status::error(std::string("ERR Background save failed: fork: ") + std::strerror(errno),
                             errno);
  }
  if (pid == 0) {
    // The child: one thread, its own copy of the keyspace as it was at the fork.
    std::uint64_t keys = 0;
    lf::Status st = save_snapshot(server_.databases(), snapshot_path(), now_ms(), keys, key_delay_us,
                                  libraries);
    if (!st.ok()) std::fprintf(stderr, "lfdb-server (bgsave child): %s\n", st.message().c_str());
    ::_exit(st.ok() ? 0 : 1);
  }
  child_pid_ = pid;
  child_kind_ = ChildKind::kSnapshot;
  last_fork_us_ = us;
  if (us > max_fork_us_) max_fork_us_ = us;
  return lf::Status();
}

lf::Status Persistence::start_bgrewriteaof() {
  if (!log_) return lf::Status::error("ERR the append-only log is off (appendonly no)");
  lf::MutexLock lock(mu_);
  if (child_pid_ != 0) {
    return lf::Status::error(
        child_kind_ == ChildKind::kRewrite
            ? "ERR Background append only file rewriting already in progress"
            : "ERR Background save in progress, try BGREWRITEAOF again later");
  }
  const std::string tmp =
      initial_.dir + "/" + kRewriteTempPrefix + std::to_string(::getpid()) + kLogTempSuffix;
  const int key_delay_us = server_.config().rdb_key_save_delay_us();
  // A replica's saved stream position counts bytes of this file: a rewrite changes them.
  server_.replication().forget_saved_position();
  // From this instant (nothing runs: we run alone) the log also keeps records for the new file.
  log_->start_rewrite();
  std::int64_t us = 0;
  const std::vector<std::string> libraries = server_.library_codes();  // the child takes no lock
  const pid_t pid = timed_fork(us, child_oom_score());
  if (pid < 0) {
    const int err = errno;  // before abort_rewrite's calls can change it
    log_->abort_rewrite();
    return lf::Status::error(
        std::string("ERR Can't rewrite append only file in background: fork: ") + std::strerror(err),
        err);
  }
  if (pid == 0) {
    lf::Status st = write_log_base(server_.databases(), tmp, now_ms(), initial_.aof_use_snapshot_preamble,
                                   key_delay_us, libraries);
    if (!st.ok()) std::fprintf(stderr, "lfdb-server (rewrite child): %s\n", st.message().c_str());
    ::_exit(st.ok() ? 0 : 1);
  }
  child_pid_ = pid;
  child_kind_ = ChildKind::kRewrite;
  rewrite_tmp_ = tmp;
  last_fork_us_ = us;
  if (us > max_fork_us_) max_fork_us_ = us;
  return lf::Status();
}

void Persistence::reap_child() {
  pid_t pid = 0;
  ChildKind kind = ChildKind::kNone;
  std::string tmp;
  {
    lf::MutexLock lock(mu_);
    pid = child_pid_;
    kind = child_kind_;
    tmp = rewrite_tmp_;
  }
  if (pid == 0) return;
  // Only looked at, not reaped: until child_pid_ is cleared (below, under mu_) the pid stays
  // this zombie's, so stop_child, which kills child_pid_ under mu_, never reaches a reused pid.
  siginfo_t info{};
  if (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) != 0 ||
      info.si_pid != pid) {
    return;
  }
  const bool ok = info.si_code == CLD_EXITED && info.si_status == 0;
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
  lf::MutexLock lock(mu_);
  if (child_pid_ != pid) return;  // stop_child took it meanwhile (and reaped it)
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
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

void Persistence::on_second(std::int64_t now) {
  if (log_) log_->tick();
  maybe_periodic_save(now);
}

bool Persistence::shutdown_saves(int ask) {
  if (ask != 0) return ask > 0;
  std::vector<std::pair<std::int64_t, std::uint64_t>> points;
  const auto value = server_.config().get("save");
  return !value.empty() && parse_save_points(value.front().second, points) && !points.empty();
}

lf::Status Persistence::prepare_shutdown(int ask) {
  stop_child();
  if (!shutdown_saves(ask)) return lf::Status();
  const std::uint64_t changes = server_.databases().changes();  // exact: the caller runs alone
  std::printf("lfdb-server: saving the final snapshot before the shutdown\n");
  lf::Status st = save_now();
  if (!st.ok()) {
    // The words of Redis's log line, which operators (and Redis's tests) look for.
    std::printf("lfdb-server: %s. Error trying to save the DB, can't exit.\n", st.message().c_str());
    return st;
  }
  std::printf("lfdb-server: DB saved on disk (%s)\n", snapshot_path().c_str());
  lf::MutexLock lock(mu_);
  shutdown_saved_ = true;
  shutdown_saved_changes_ = changes;
  return lf::Status();
}

void Persistence::shut_down(bool may_save) {
  stop_child();
  bool saved = false;
  {
    lf::MutexLock lock(mu_);
    saved = shutdown_saved_ && shutdown_saved_changes_ == server_.databases().changes();
  }
  if (may_save && !saved && shutdown_saves(shutdown_save())) {
    lf::Status st = save_now();
    std::printf("lfdb-server: %s\n", st.ok() ? ("snapshot saved to " + snapshot_path()).c_str()
                                              : st.message().c_str());
  }
  if (log_) {
    // Nothing runs any more: whatever was appended reaches the disk before we go.
    lf::Status st = log_->sync_all();
    if (!st.ok()) std::fprintf(stderr, "lfdb-server: %s\n", st.message().c_str());
  }
}

Persistence::Info Persistence::info() {
  const std::uint64_t changes = server_.databases().changes();
  Info i;
  lf::MutexLock lock(mu_);
  i.changes_since_save = changes - saved_changes_;
  i.bgsave_in_progress = child_kind_ == ChildKind::kSnapshot;
  i.rewrite_in_progress = child_kind_ == ChildKind::kRewrite;
  i.last_save_s = (last_save_ms_ != 0 ? last_save_ms_ : started_ms_) / 1000;
  i.last_bgsave_ok = last_bgsave_ok_;
  i.last_rewrite_ok = last_rewrite_ok_;
  i.last_fork_us = last_fork_us_;
  i.max_fork_us = max_fork_us_;
  i.snapshot_keys_loaded = snapshot_keys_loaded_;
  return i;
}

void Persistence::stop_child() {
  pid_t pid = 0;
  ChildKind kind = ChildKind::kNone;
  {
    // Killed under mu_: the child is reaped only under mu_ and with child_pid_ cleared in the
    // same hold (reap_child), so the pid read here still names our child, running or a zombie,
    // and cannot have been reused by another process.
    lf::MutexLock lock(mu_);
    pid = child_pid_;
    kind = child_kind_;
    if (pid == 0) return;
    (void)::kill(pid, SIGKILL);
  }
  int status = 0;
  // reap_child may reap it first (ECHILD here): either way it is gone.
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  std::string tmp;
  if (kind == ChildKind::kRewrite) {
    log_->abort_rewrite();
    lf::MutexLock lock(mu_);
    tmp = rewrite_tmp_;
  } else {
    tmp = snapshot_temp_path(snapshot_path(), pid);
  }
  ::unlink(tmp.c_str());
  std::printf("lfdb-server: the background %s (pid %ld) was stopped by the shutdown\n",
              kind == ChildKind::kRewrite ? "append-only log rewrite" : "snapshot", static_cast<long>(pid));
  lf::MutexLock lock(mu_);
  child_pid_ = 0;
  child_kind_ = ChildKind::kNone;
}

// `save <seconds> <changes>` points: a BGSAVE once any point is reached, counted from the last
// good snapshot (or the start). After a failed one, the next try waits kSaveRetryMs, as the
// disk that failed it may still be full. The BGSAVE itself runs alone, as the command does.
void Persistence::maybe_periodic_save(std::int64_t now) {
  constexpr std::int64_t kSaveRetryMs = 5000;
  std::vector<std::pair<std::int64_t, std::uint64_t>> points;
  const auto value = server_.config().get("save");
  if (value.empty() || !parse_save_points(value.front().second, points) || points.empty()) return;
  if (periodic_save_queued_.load(std::memory_order_acquire)) return;
  const std::uint64_t changes = server_.databases().changes();  // approximate while writers run: enough
  {
    lf::MutexLock lock(mu_);
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
  const Invocation alone{server_.executor().exec_alone(), Placement::kKeys, std::span<const std::uint64_t>(kHash)};
  (void)server_.executor().submit(alone, lf::hue::Task([this] {
    const lf::Status st = start_bgsave();
    if (!st.ok()) std::fprintf(stderr, "lfdb-server: save point: %s\n", st.message().c_str());
    else std::fprintf(stderr, "lfdb-server: save point reached: background snapshot started\n");
    periodic_save_queued_.store(false, std::memory_order_release);
  }));
}

}  // namespace lfdb::db
