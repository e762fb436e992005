// PrimaryLink: a replica's link to its primary, one connection, through its three phases:
//   handshake    AUTH (masterauth), LFDB.SYNC <replid> <offset>, and the primary's answer:
//                +FULLRESYNC <replid> <offset> or +CONTINUE <replid> <offset>;
//   full resync  the snapshot that follows a FULLRESYNC, loaded while the server runs alone
//                (the keyspace replaced at once), and the replica's own log rewritten from it;
//   stream       whole transactions cut from the stream and applied a batch at a time, each
//                batch alone, and acknowledged (REPLCONF ACK <offset>).
// Replication's link thread makes one PrimaryLink per attempt and retries with backoff.
//
// The replica's progress (ReplicaProgress) outlives the links: INFO and ROLE read it from any
// thread, the link thread writes it.
//
// Thread-safety: a PrimaryLink belongs to the link thread. ReplicaProgress's fields are atomics
// or guarded as marked.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "lf/mutex.hpp"
#include "lf/status.hpp"

namespace lfdb::db {

class Server;

struct ReplicaProgress {
  std::atomic<bool> link_up{false};
  std::atomic<bool> sync_in_progress{false};
  std::atomic<std::int64_t> last_io_ms{0};
  std::atomic<std::uint64_t> applied_offset{0};  // the primary's log offset applied here
  std::atomic<std::uint64_t> full_syncs{0};
  std::atomic<std::uint64_t> partial_syncs{0};
  std::atomic<std::uint64_t> applied_transactions{0};

  // The primary's history applied here ("?": none, so the next sync is a full one).
  std::string master_replid() const {
    lf::MutexLock lock(mu_);
    return master_replid_;
  }
  void set_master_replid(std::string id) {
    lf::MutexLock lock(mu_);
    master_replid_ = std::move(id);
  }

 private:
  mutable lf::Mutex mu_;
  std::string master_replid_ LF_GUARDED_BY(mu_) = "?";
};

// DIR/replica.state: "<replid> <primary offset P0> <file offset F0>": the replica's log bytes
// from F0 on are the primary's stream from P0 on, so a restart resumes with a partial resync.
struct ReplicaPosition {
  std::string replid;
  std::uint64_t primary_offset = 0;  // P0
  std::uint64_t file_offset = 0;     // F0
};
lf::Result<ReplicaPosition> load_replica_position(const std::string& dir);
void save_replica_position(const std::string& dir, const ReplicaPosition& p);
void forget_replica_position(const std::string& dir);

class PrimaryLink {
 public:
  // What the link needs from replication while it runs: whether it is still wanted (the
  // server is not stopping and REPLICAOF did not change the target), and a way to run work
  // alone (every color) and wait for it; false when it did not run (no longer wanted).
  struct Control {
    const std::atomic<bool>* stopping = nullptr;
    std::function<bool()> wanted;
    std::function<bool(const std::function<void()>&)> run_alone;
  };

  PrimaryLink(Server& server, ReplicaProgress& progress, Control control);
  ~PrimaryLink();
  PrimaryLink(const PrimaryLink&) = delete;
  PrimaryLink& operator=(const PrimaryLink&) = delete;

  // Connects and runs the phases until the link drops (an error), or stops being wanted (ok).
  lf::Status run(const std::string& host, std::uint16_t port);

 private:
  struct Resync {
    bool full = false;
    std::string replid;
    std::uint64_t offset = 0;
  };

  lf::Result<Resync> handshake();
  lf::Status full_resync(const Resync& r, const std::string& host);
  lf::Status stream();

  // Blocking-style I/O over a non-blocking socket with poll() deadlines, so the link notices a
  // changed target or a shutdown within 100 ms.
  lf::Status connect(const std::string& host, std::uint16_t port);
  lf::Status send_all(std::string_view bytes);
  lf::Status fill(int timeout_ms);  // what arrives within timeout_ms, into in_
  lf::Result<std::string> read_line();                     // one CRLF-terminated line
  lf::Status read_exact(std::size_t n, std::string& out);  // n bytes (the snapshot)
  bool stopping() const { return control_.stopping->load(std::memory_order_acquire); }

  Server& server_;
  ReplicaProgress& progress_;
  Control control_;
  int fd_ = -1;
  std::string in_;
};

}  // namespace lfdb::db
