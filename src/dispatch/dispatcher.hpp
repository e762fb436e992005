// The dispatcher (Code Co-op's dispatcher, with its message discipline: only values, monitors, immutable and unique objects cross threads): one thread that
// owns the backlog of sealed log segments and every destination they are shipped to, and
// receives everything it works on as a message:
//
//   SegmentRef              lf::Immutable<Segment>: the log's flusher seals a batch and sends it
//                           (one message per group-commit batch, never per command);
//   lf::Unique<ReplicaLink> a replica's socket, handed over by the session that read its
//                           LFDB.SYNC, with the snapshot for a full resync (an Immutable);
//   NewHistory              a value: this server stopped being a primary; drop every replica;
//   BacklogSize, PingPeriod, ReplicaLimit values: CONFIG SET repl-backlog-size /
//                           repl-ping-replica-period / client-output-buffer-limit replica;
//   DropReplicas            a value: CLIENT KILL of replicas, answered through its monitor;
//   DispatcherStop          a value: leave.
//
// It ships every segment, in log order, to every replica, from where that replica stands (a
// cursor into the backlog: no per-replica copy). What a replica has not been sent yet stays in
// the backlog past repl-backlog-size for it (those bytes are its output buffer, as Redis 7.0
// counts a replica's share of its replication buffer: INFO's mem_clients_slaves, left out of
// eviction), until it is past client-output-buffer-limit replica: then it is disconnected, and
// it reconnects and resyncs. With backup_dir, every segment is also appended to a backup file and
// fdatasync'ed (once per batch of segments taken together). What the thread knows is published as a value in a Monitor for INFO
// and ROLE. Protocol: docs/replication.md.
//
// Thread-safety: Dispatcher (the owner's handle) may be called from any thread: ship() from the
// flusher (one at a time, in log order), add_replica() from sessions, view() from INFO.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dispatch/backlog.hpp"
#include "dispatch/backup.hpp"
#include "dispatch/ping_ledger.hpp"
#include "dispatch/replica_bytes.hpp"
#include "lf/immutable.hpp"
#include "lf/mailbox.hpp"
#include "lf/monitor.hpp"
#include "lf/spawn.hpp"
#include "lf/unique.hpp"

namespace lfdb::dispatch {

// How the replica asked: lfdb's LFDB.SYNC (snapshot in lfdb's format, offsets are the log's),
// or Redis's SYNC / PSYNC (an RDB payload; offsets count the PINGs sent too: ping_ledger.hpp).
enum class Wire { kLfdb, kRedisSync, kRedisPsync };

// A replica's connection, as the session hands it over: the socket (owned: closed with the
// link) and what the replica asked for.
struct ReplicaLink {
  int fd = -1;
  Wire wire = Wire::kLfdb;
  std::uint64_t client_id = 0;       // the connection's client id (CLIENT LIST / KILL)
  std::string addr;                  // the connection's peer, ip:port (CLIENT LIST / KILL)
  std::string laddr;                 // the connection's local end, ip:port (CLIENT LIST / KILL)
  std::string user;                  // the ACL user it authenticated as (CLIENT LIST / KILL)
  std::int64_t created_ms = 0;       // when the connection was accepted (CLIENT LIST's age)
  std::string ip;
  std::uint16_t listening_port = 0;  // the replica's own port (INFO's slaveN:port)
  std::string replid;                // the history the replica has ("?": none)
  std::uint64_t offset = 0;          // where it stands in that history (kRedisPsync: Redis's offset)
  // Set for a full resync: the keyspace as of log offset snapshot_offset.
  std::optional<lf::Immutable<std::string>> snapshot;
  std::uint64_t snapshot_offset = 0;

  ReplicaLink() = default;
  ReplicaLink(const ReplicaLink&) = delete;
  ReplicaLink& operator=(const ReplicaLink&) = delete;
  ~ReplicaLink();
};

struct DispatcherStop {
  using sendable_value = void;
};

// The primary's history ends (it became a replica: its keyspace will be replaced without its
// log seeing it): every replica is dropped and later ones must resync fully under `replid`.
struct NewHistory {
  using sendable_value = void;
  std::string replid;
};

// CONFIG SET repl-backlog-size: the backlog holds at most `bytes` from now on (older segments
// go with the next append).
struct BacklogSize {
  using sendable_value = void;
  std::size_t bytes = 0;
};

// CONFIG SET repl-ping-replica-period: how often Redis-protocol replicas get a PING.
struct PingPeriod {
  using sendable_value = void;
  std::int64_t seconds = 10;
};

// client-output-buffer-limit replica (Redis's `slave` class): a replica with `hard` bytes or
// more not yet sent, or `soft` or more for longer than `soft_seconds`, is disconnected (0: no
// such limit).
struct ReplicaLimit {
  using sendable_value = void;
  std::uint64_t hard = 256ull << 20, soft = 64ull << 20;
  std::int64_t soft_seconds = 60;
};

// Which replicas a CLIENT KILL names: every filter given must match (0 or empty: any).
struct ReplicaFilter {
  using sendable_value = void;
  std::uint64_t client_id = 0;
  std::string addr;
  std::string laddr;
  std::string user;
};

// CLIENT KILL of replicas: those matching are disconnected and the bytes held only for them
// let go before `done` is told how many went, so the INFO that follows the kill already shows
// them gone.
struct DropReplicas {
  using sendable_value = void;
  ReplicaFilter filter;
  std::shared_ptr<lf::Monitor<std::optional<std::size_t>>> done;
};

struct DispatcherOptions {
  using sendable_value = void;
  std::string replid;
  ReplicaLimit replica_limit;
  std::shared_ptr<ReplicaBytes> replica_bytes;  // where to tell them (null: a cell of its own)
  std::size_t backlog_size = 16u << 20;
  std::uint64_t base = 0;  // the log offset shipping starts at
  std::int64_t ping_period_s = 10;  // repl-ping-replica-period
  std::string backup_dir;  // non-empty: also append every segment to a file there (backup.hpp)
};

struct ReplicaView {
  std::string ip;
  std::uint16_t port = 0;
  std::string state;         // "wait_bgsave", "send_bulk", "online"
  std::uint64_t offset = 0;  // what the replica acknowledged (REPLCONF ACK)
  std::int64_t lag_s = 0;    // seconds since its last acknowledgement
  std::uint64_t client_id = 0;
  std::string addr;          // ip:port of the connection
  std::string laddr;         // its local end
  std::string user;          // the ACL user it authenticated as
  std::int64_t age_s = 0;    // since the connection was accepted
  std::uint64_t unsent = 0;  // log bytes not yet sent to it: its output buffer (omem)
};

struct ReplicationView {
  std::string replid;
  std::uint64_t backlog_start = 0;
  std::uint64_t backlog_end = 0;
  std::size_t backlog_size = 0;
  std::vector<ReplicaView> replicas;
  std::uint64_t full_syncs = 0;
  std::uint64_t partial_syncs = 0;
  std::uint64_t partial_refused = 0;
  std::uint64_t dropped_behind = 0;  // replicas disconnected for falling out of the backlog
  std::uint64_t dropped_over_limit = 0;  // ... for client-output-buffer-limit replica
  std::uint64_t replica_bytes = 0;   // Backlog::replica_bytes()
  std::string backup_path;           // empty: no backup
  std::uint64_t backup_synced = 0;   // the log offset the backup file holds durably
  std::string backup_error;          // empty: fine
  lf::Immutable<PingLedger> pings = lf::make_immutable<PingLedger>();  // replaced when it changes
};

using DispatcherInbox =
    lf::Mailbox<SegmentRef, lf::Unique<ReplicaLink>, NewHistory, BacklogSize, PingPeriod,
                ReplicaLimit, DropReplicas, DispatcherStop>;

class Dispatcher {
 public:
  // `seed`: the loaded log, for the backup file's start (empty without backup_dir).
  explicit Dispatcher(DispatcherOptions options, lf::Unique<BackupSeed> seed = lf::Unique<BackupSeed>(nullptr));
  ~Dispatcher();  // stops the thread; open replica links are closed
  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;

  // The log's segment sink: copies the bytes into one Immutable message.
  void ship(std::uint64_t start, std::string_view bytes);
  void add_replica(lf::Unique<ReplicaLink> link);
  void new_history(std::string replid);
  void set_backlog_size(std::size_t bytes);
  void set_ping_period(std::int64_t seconds);
  void set_replica_limit(ReplicaLimit limit);
  // Disconnects the matching replicas (DropReplicas) and waits until it is done: how many went.
  std::size_t drop_replicas(ReplicaFilter filter);
  // The backlog's bytes held only for replicas, now (one relaxed load).
  std::uint64_t replica_bytes() const { return replica_bytes_->get(); }
  // The sealed end of the log (INFO's master_repl_offset): current as soon as ship() returns.
  std::uint64_t sealed_end() const { return sealed_end_.load(std::memory_order_acquire); }
  // A pre-check for LFDB.SYNC (may be a few ms stale; the dispatcher has the last word).
  bool can_resume(std::string_view replid, std::uint64_t offset) const;
  // The same for a Redis replica's PSYNC, whose offset counts the PINGs it was sent.
  bool can_resume_redis(std::string_view replid, std::uint64_t redis_offset) const;
  ReplicationView view() const;

 private:
  std::atomic<std::uint64_t> sealed_end_;
  std::shared_ptr<DispatcherInbox> inbox_;
  std::shared_ptr<lf::Monitor<ReplicationView>> view_;
  std::shared_ptr<ReplicaBytes> replica_bytes_;
  lf::SpawnedThread thread_;
};

}  // namespace lfdb::dispatch
