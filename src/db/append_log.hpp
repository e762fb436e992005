// AppendLog: lfdb-server's append-only log of executed writes, in RESP multibulk form (the
// single-file layout redis-check-aof reads), with group commit.
//
// Writers append an invocation's records while they still hold its colors (so the log keeps each
// key's order) and get back the log offset that covers them. What happens next depends on
// appendfsync:
//   always    the reply waits until an fsync covers that offset. The connection parks (its
//             replies are held), and one thread, elected with lf::Elected among those that
//             appended, writes and fsyncs everything pending for all of them, then releases
//             every waiter it covered. Losers of the election go back to serving other
//             connections: nobody but the elected flusher blocks on the disk.
//   everysec  the pending bytes are written at the end of the batch that produced them (by
//             the elected writer); the ticker fsyncs once a second. No reply waits.
//   no        as everysec without the fsync (the kernel decides).
//
// A failed write or fsync (full disk, I/O error) puts the log in error: the bytes stay pending
// (a partial write is cut back off the file), waiters are failed, new writes are refused with
// MISCONF by the server, and the ticker retries once a second until the disk takes the bytes.
//
// Offsets are logical: bytes ever appended since the server started (beginning at the size of
// the file it loaded), so they stay valid when BGREWRITEAOF swaps the file underneath.
//
// Thread-safety: every public member may be called from any thread. mu_ guards the pending
// buffer, offsets, waiters and error state; the file descriptor and file size belong to
// whoever holds the flusher election (flusher_).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "db/config.hpp"
#include "lf/elected.hpp"
#include "lf/mutex.hpp"
#include "lf/status.hpp"

namespace lfdb::db {

// Someone whose replies wait for the fsync that covers their records.
class CommitWaiter {
 public:
  virtual ~CommitWaiter() = default;
  // Called once, from the flusher's thread, outside every lock: durable (ok) or not.
  virtual void committed(bool ok) = 0;
};

// Receives sealed segments: the bytes [start, start + bytes.size()) of the logical log, once they
// are written (and, under appendfsync always, fsynced), in log order, each ending on an
// invocation's boundary. Called by the flusher while it holds the election (so calls never
// overlap and come in order); it must not call back into the log. The replication dispatcher
// copies the bytes into a message (docs/replication.md).
using SegmentSink = std::function<void(std::uint64_t start, std::string_view bytes)>;

struct AppendLogStats {
  std::uint64_t size = 0;             // bytes in the file
  std::uint64_t rewrites = 0;         // BGREWRITEAOF switches done
  std::uint64_t pending = 0;          // bytes appended, not yet written
  std::uint64_t writes = 0;           // write(2) batches
  std::uint64_t fsyncs = 0;
  std::uint64_t records = 0;          // invocations appended
  std::uint64_t waits = 0;            // commits that had to wait (always)
  std::uint64_t write_errors = 0;
  std::string last_error;             // empty: ok
};

class AppendLog {
 public:
  // Opens (creates) the file for appending; `size` is where loading left it.
  static lf::Result<std::unique_ptr<AppendLog>> open(const std::string& path, FsyncPolicy policy);
  // A log without a file (appendonly no, for replicas only: docs/replication.md): the same
  // records, offsets and sealed segments, under the `no` policy; "writing" a batch only seals it
  // for the segment sink, and nothing is kept once sealed.
  static std::unique_ptr<AppendLog> in_memory();
  ~AppendLog();

  FsyncPolicy policy() const { return policy_; }
  // Set once, before any thread appends (the server's start): nothing guards it afterwards.
  void set_segment_sink(SegmentSink sink) { sink_ = std::move(sink); }
  // The logical offset after everything appended so far: where a snapshot taken while the
  // caller runs alone stands in the log.
  std::uint64_t appended() const;
  // Appends one invocation's records (complete commands or a MULTI...EXEC block); returns the
  // offset their end will have in the file. The records apply to database `db` and leave the
  // log in `end_db` (a script or a transaction may SELECT inside): as Redis's AOF, a SELECT
  // goes first when the log's last record was for another database. db == kNoDb: the records
  // start with their own SELECT.
  std::uint64_t append(std::string_view records, std::uint32_t db, std::uint32_t end_db);
  // Records that carry their own SELECTs, copied verbatim (a replica's copy of its primary's
  // stream): the next append() says its database again.
  std::uint64_t append_verbatim(std::string_view records);
  // Someone starts reading the log here (a replica after its snapshot): the next append() says
  // its database.
  void forget_db();
  // `always`: true when `offset` is durable already (or failed: see ok); otherwise registers
  // `w`, which committed() later, and returns false. May flush on the calling thread.
  bool commit_or_wait(std::uint64_t offset, CommitWaiter* w, bool& ok);
  // everysec/no: write what is pending (the elected writer; losers return at once).
  void write_pending();
  // The ticker, once a second: fsync (everysec), retry after an error.
  void tick();
  // Writes and fsyncs everything pending, whatever the policy (shutdown, SAVE).
  lf::Status sync_all();

  // The error writes get while the log cannot write ("" when fine): strerror of the failure.
  std::string write_error() const;
  bool failing() const { return failing_.load(std::memory_order_acquire); }
  AppendLogStats stats() const;

  // Fault injection for tests (DEBUG AOF-FAULT): fail the next writes / fsyncs with EIO.
  void inject_fault(bool writes, bool fsyncs);

  // BGREWRITEAOF. start_rewrite() at the moment the child forks (nothing runs): from then on
  // appended records are also kept for the new file. finish_rewrite() once the child wrote the
  // compacted base to tmp_path: appends what arrived since, fsyncs, renames it over live_path
  // and carries on in it; on any failure the old file stays and the error is returned.
  void start_rewrite();
  lf::Status finish_rewrite(const std::string& tmp_path, const std::string& live_path);
  void abort_rewrite();

 private:
  AppendLog(int fd, std::uint64_t size, FsyncPolicy policy);
  // Waits (the ticker only, never a serving thread) until this thread is the flusher.
  lf::ElectedGuard elect_patiently();
  // The elected flusher's loop: write (and fsync if `sync`) until nothing is pending.
  void flush(bool sync);
  // Writes `bytes` at the end of the file; 0 or an errno.
  int write_all(const std::string& bytes);
  // The flusher: [start, start + bytes.size()) is written; seal it (with what waits) if `durable`.
  void seal(std::uint64_t start, std::string_view bytes, bool durable);

  const FsyncPolicy policy_;
  lf::Elected flusher_;
  int fd_;                   // the flusher's (swapped by finish_rewrite under the election); -1: in_memory

  std::uint64_t file_size_;  // idem
  std::string spare_;        // idem: the batch being written; swapped with pending_ to keep capacity
  SegmentSink sink_;         // immutable once serving starts
  // The flusher's: bytes written but not yet sealed (under `always`, until an fsync covers them).
  std::string unsealed_;
  std::uint64_t unsealed_start_ = 0;


  mutable lf::Mutex mu_;
  std::string pending_ LF_GUARDED_BY(mu_);
  std::uint64_t appended_ LF_GUARDED_BY(mu_);  // file offset after everything appended
  std::uint64_t written_ LF_GUARDED_BY(mu_);   // ... after everything written
  std::uint64_t synced_ LF_GUARDED_BY(mu_);    // ... after everything fsynced
  std::uint32_t db_ LF_GUARDED_BY(mu_) = ~std::uint32_t{0};  // the last record's database; unknown at first
  void append_locked(std::string_view records) LF_REQUIRES(mu_);
  struct Waiter {
    std::uint64_t offset;
    CommitWaiter* who;
  };
  std::vector<Waiter> waiters_ LF_GUARDED_BY(mu_);
  int error_ LF_GUARDED_BY(mu_) = 0;  // errno of the last failure, 0 when fine
  AppendLogStats stats_ LF_GUARDED_BY(mu_);
  bool rewriting_ LF_GUARDED_BY(mu_) = false;
  std::string rewrite_buf_ LF_GUARDED_BY(mu_);  // records appended since the rewrite's fork
  std::atomic<bool> failing_{false};
  std::atomic<bool> fault_writes_{false};
  std::atomic<bool> fault_fsyncs_{false};
};

}  // namespace lfdb::db
