#include "db/append_log.hpp"

#include "db/log_records.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

namespace lfdb::db {

namespace {
// Set while a flusher releases its waiters. A released session carries on on the flusher's
// thread and may commit again at once; it must not start a nested flush there (the waiters
// after it would wait for that fsync): it registers and the flusher's next round covers it.
thread_local bool t_releasing = false;
}  // namespace

lf::Result<std::unique_ptr<AppendLog>> AppendLog::open(const std::string& path,
                                                       FsyncPolicy policy) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return lf::Status::from_errno("open " + path);
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    lf::Status s = lf::Status::from_errno("fstat " + path);
    ::close(fd);
    return s;
  }
  return std::unique_ptr<AppendLog>(
      new AppendLog(fd, static_cast<std::uint64_t>(st.st_size), policy));
}

AppendLog::AppendLog(int fd, std::uint64_t size, FsyncPolicy policy)
    : policy_(policy), fd_(fd), file_size_(size), appended_(size), written_(size), synced_(size) {
  stats_.size = size;
}

std::unique_ptr<AppendLog> AppendLog::in_memory() {
  return std::unique_ptr<AppendLog>(new AppendLog(-1, 0, FsyncPolicy::kNo));
}

AppendLog::~AppendLog() {
  if (fd_ >= 0) ::close(fd_);
}

void AppendLog::append_locked(std::string_view records) {
  pending_.append(records);
  if (rewriting_) rewrite_buf_.append(records);
  appended_ += records.size();
}

std::uint64_t AppendLog::append(std::string_view records, std::uint32_t db, std::uint32_t end_db) {
  lf::MutexLock lock(mu_);
  if (db == kNoDb && db_ != kNoDb) {
    // Records that start with their own SELECT (the expiry cycle's DELs): one for the database
    // the log stands in already is left out, as Redis's stream leaves it out.
    std::string select;
    encode_command(select, {"SELECT", std::to_string(db_)});
    if (records.starts_with(select)) records.remove_prefix(select.size());
  }
  if (db != kNoDb && db != db_) {
    std::string select;
    const std::string n = std::to_string(db);
    encode_command(select, {"SELECT", n});
    append_locked(select);
  }
  append_locked(records);
  db_ = end_db;
  ++stats_.records;
  return appended_;
}

std::uint64_t AppendLog::append_verbatim(std::string_view records) {
  lf::MutexLock lock(mu_);
  append_locked(records);
  db_ = kNoDb;
  ++stats_.records;
  return appended_;
}

void AppendLog::forget_db() {
  lf::MutexLock lock(mu_);
  db_ = kNoDb;
}

bool AppendLog::commit_or_wait(std::uint64_t offset, CommitWaiter* w, bool& ok) {
  {
    lf::MutexLock lock(mu_);
    if (synced_ >= offset) {
      ok = true;
      return true;
    }
    if (error_ != 0) {
      ok = false;
      return true;
    }
    waiters_.push_back({offset, w});
    ++stats_.waits;
  }
  // Group commit: whoever wins the election flushes for every waiter; the others return and
  // serve other connections (their waiter is covered by the winner's next round).
  if (!t_releasing) flush(/*sync=*/true);
  return false;
}

void AppendLog::write_pending() { flush(/*sync=*/false); }

void AppendLog::flush(bool sync) {
  for (int round = 0;; ++round) {
    lf::ElectedGuard elected = flusher_.try_elect();
    if (!elected) return;  // the elected flusher sees what we appended when it re-checks
    // The two buffers trade places each round, so steady state allocates nothing.
    std::string& batch = spare_;
    batch.clear();
    std::uint64_t end = 0;
    const std::uint64_t before = file_size_;
    bool unsynced = false;
    {
      lf::MutexLock lock(mu_);
      batch.swap(pending_);
      end = appended_;
      unsynced = end > synced_;
    }
    int err = batch.empty() ? 0 : write_all(batch);
    if (err == 0 && sync && unsynced) {
      if (fault_fsyncs_.load(std::memory_order_relaxed)) {
        err = EIO;
      } else if (fd_ >= 0 && ::fdatasync(fd_) != 0) {
        err = errno;
      }
    }
    std::vector<Waiter> done;
    {
      lf::MutexLock lock(mu_);
      if (!batch.empty()) ++stats_.writes;
      if (err != 0) {
        // Keep the bytes (they are executed writes): they go to disk when it recovers. What
        // reached the file of this batch is cut off again (after a failed fsync the kernel may
        // have dropped those pages: rewriting them from memory is the safe retry).
        if (!batch.empty()) (void)!::ftruncate(fd_, static_cast<off_t>(before));
        pending_.insert(0, batch);
        error_ = err;
        ++stats_.write_errors;
        stats_.last_error = std::strerror(err);
        failing_.store(true, std::memory_order_release);
        done.swap(waiters_);
      } else {
        written_ = end;
        file_size_ = before + batch.size();
        stats_.size = file_size_;
        if (sync && unsynced) {
          synced_ = end;
          ++stats_.fsyncs;
        }
        if (error_ != 0) {
          error_ = 0;
          stats_.last_error.clear();
          failing_.store(false, std::memory_order_release);
        }
        std::size_t keep = 0;
        for (const Waiter& w : waiters_) {
          if (w.offset <= synced_) done.push_back(w);
          else waiters_[keep++] = w;
        }
        waiters_.resize(keep);
      }
    }
    if (err == 0 && sink_ && !batch.empty()) {
      // Still the flusher (segments go out in log order), but without mu_: appenders do not
      // wait for the copy. Under `always` a replica may only see what the disk holds;
      // otherwise what the kernel holds (the same promise the primary's own clients get).
      seal(end - batch.size(), batch, policy_ != FsyncPolicy::kAlways || (sync && unsynced));
    }
    elected.release();
    const bool outer = !t_releasing;
    t_releasing = true;
    for (const Waiter& w : done) w.who->committed(err == 0);
    t_releasing = !outer;
    if (!outer) return;    // the outermost flusher on this thread re-checks
    if (err != 0) return;  // the ticker retries
    // Re-check after releasing: a loser that appended while we flushed relies on us.
    lf::MutexLock lock(mu_);
    const bool waiting = !waiters_.empty();
    if (!waiting && (pending_.empty() || round >= 8)) return;
  }
}

void AppendLog::seal(std::uint64_t start, std::string_view bytes, bool durable) {
  if (!durable) {
    if (unsealed_.empty()) unsealed_start_ = start;
    unsealed_.append(bytes);
    return;
  }
  if (unsealed_.empty()) {
    sink_(start, bytes);
    return;
  }
  unsealed_.append(bytes);
  sink_(unsealed_start_, unsealed_);
  unsealed_.clear();
}

std::uint64_t AppendLog::appended() const {
  lf::MutexLock lock(mu_);
  return appended_;
}

int AppendLog::write_all(const std::string& bytes) {
  if (fd_ < 0) return 0;  // in_memory: the batch only goes to the sink
  std::size_t done = 0;
  std::size_t limit = bytes.size();
  const bool fault = fault_writes_.load(std::memory_order_relaxed);
  if (fault) limit /= 2;  // a partial write, then the failure
  while (done < limit) {
    const ssize_t n = ::write(fd_, bytes.data() + done, limit - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    done += static_cast<std::size_t>(n);
  }
  if (done == bytes.size()) return 0;
  // The caller cuts a partial write off, so the retry appends the whole batch again (if that
  // cut fails too, the next load truncates the torn tail).
  return fault ? EIO : (errno != 0 ? errno : EIO);
}

void AppendLog::tick() {
  if (failing()) {
    flush(/*sync=*/policy_ != FsyncPolicy::kNo);  // retry
    return;
  }
  if (policy_ == FsyncPolicy::kAlways) {
    flush(/*sync=*/true);  // records nobody waits for (expiry's DELs) go to disk too
    return;
  }
  write_pending();
  if (policy_ != FsyncPolicy::kEverySec) return;
  std::uint64_t end = 0;
  {
    lf::MutexLock lock(mu_);
    end = written_;
    if (synced_ >= end) return;
  }
  // As the flusher (the file may be swapped by a rewrite otherwise); busy: next second.
  lf::ElectedGuard elected = flusher_.try_elect();
  if (!elected) return;
  const int err = fault_fsyncs_.load(std::memory_order_relaxed) ? EIO
                  : ::fdatasync(fd_) != 0                       ? errno
                                                                : 0;
  elected.release();
  lf::MutexLock lock(mu_);
  if (err != 0) {
    error_ = err;
    ++stats_.write_errors;
    stats_.last_error = std::strerror(err);
    failing_.store(true, std::memory_order_release);
    return;
  }
  if (end > synced_) synced_ = end;
  ++stats_.fsyncs;
}

lf::Status AppendLog::sync_all() {
  for (int i = 0; i < 1000; ++i) {
    flush(/*sync=*/true);
    int err = 0;
    bool done = false;
    {
      lf::MutexLock lock(mu_);
      err = error_;
      done = pending_.empty() && synced_ == appended_;
    }
    if (err != 0) return lf::Status::error(std::string("append-only log: ") + std::strerror(err));
    if (done) return lf::Status();
    std::this_thread::sleep_for(std::chrono::milliseconds(1));  // another thread is flushing
  }
  return lf::Status::error("append-only log: could not sync (flusher busy)");
}

std::string AppendLog::write_error() const {
  lf::MutexLock lock(mu_);
  return error_ == 0 ? std::string() : std::string(std::strerror(error_));
}

AppendLogStats AppendLog::stats() const {
  lf::MutexLock lock(mu_);
  AppendLogStats s = stats_;
  s.pending = pending_.size();
  return s;
}

lf::ElectedGuard AppendLog::elect_patiently() {
  for (;;) {
    lf::ElectedGuard g = flusher_.try_elect();
    if (g) return g;
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
}

void AppendLog::start_rewrite() {
  lf::MutexLock lock(mu_);
  rewriting_ = true;
  rewrite_buf_.clear();
  // The new file's base ends in any database: what follows it starts with a SELECT.
  db_ = kNoDb;
}

void AppendLog::abort_rewrite() {
  lf::MutexLock lock(mu_);
  rewriting_ = false;
  std::string().swap(rewrite_buf_);
}

lf::Status AppendLog::finish_rewrite(const std::string& tmp_path, const std::string& live_path) {
  const int fd = ::open(tmp_path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  if (fd < 0) {
    abort_rewrite();
    return lf::Status::from_errno("open " + tmp_path);
  }
  struct stat st {};
  (void)::fstat(fd, &st);
  std::uint64_t size = static_cast<std::uint64_t>(st.st_size);
  lf::ElectedGuard elected = elect_patiently();  // no flush may run while the file changes
  std::vector<Waiter> done;
  {
    // Appenders wait for this lock while the tail since the fork is written: the rewrite's
    // one pause, proportional to the writes that arrived while the child ran.
    lf::MutexLock lock(mu_);
    rewriting_ = false;
    std::string tail;
    tail.swap(rewrite_buf_);
    std::size_t off = 0;
    int err = 0;
    while (off < tail.size()) {
      const ssize_t n = ::write(fd, tail.data() + off, tail.size() - off);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        err = errno != 0 ? errno : EIO;
        break;
      }
      off += static_cast<std::size_t>(n);
    }
    if (err == 0 && ::fdatasync(fd) != 0) err = errno;
    if (err == 0 && ::rename(tmp_path.c_str(), live_path.c_str()) != 0) err = errno;
    if (err != 0) {
      ::close(fd);
      ::unlink(tmp_path.c_str());
      return lf::Status::error("rewriting the append-only log: " + std::string(std::strerror(err)));
    }
    // The directory entry too, so the switch survives a crash.
    const std::string dir = live_path.substr(0, live_path.find_last_of('/') + 1);
    const int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
      (void)::fsync(dfd);
      ::close(dfd);
    }
    // What was pending is in the new file now, fsynced: sealed.
    if (sink_ && !pending_.empty()) seal(written_, pending_, /*durable=*/true);
    ::close(fd_);
    fd_ = fd;
    size += tail.size();
    file_size_ = size;
    // The new file holds everything appended so far, and it is synced.
    pending_.clear();
    written_ = appended_;
    synced_ = appended_;
    stats_.size = size;
    ++stats_.rewrites;
    done.swap(waiters_);
    if (error_ != 0) {
      error_ = 0;
      stats_.last_error.clear();
      failing_.store(false, std::memory_order_release);
    }
  }
  elected.release();
  for (const Waiter& w : done) w.who->committed(true);
  // Writers that came while we held the election found no flusher: cover them now.
  flush(/*sync=*/policy_ == FsyncPolicy::kAlways);
  return lf::Status();
}

void AppendLog::inject_fault(bool writes, bool fsyncs) {
  fault_writes_.store(writes, std::memory_order_relaxed);
  fault_fsyncs_.store(fsyncs, std::memory_order_relaxed);
}

}  // namespace lfdb::db
