// lfdb-server's replication: both roles (docs/replication.md).
//
// Primary: with appendonly yes the server starts a dispatch::Dispatcher and makes it the append
// log's segment sink, so every sealed batch of the log becomes one Immutable message to it.
// LFDB.SYNC (runs alone, like SAVE) decides with the dispatcher's published backlog whether the
// replica can resume; if not it takes an in-memory snapshot at the log's current offset; then
// it dup()s the connection's socket and hands it to the dispatcher as a Unique<ReplicaLink>,
// and the session closes its own side without a reply: from then on the dispatcher owns the
// conversation.
//
// Replica: one link thread runs a PrimaryLink per connection (primary_link.hpp: handshake,
// full resync, stream; every batch of whole transactions applied in one invocation that runs
// alone, so a reader sees every transaction entirely or not at all) and reconnects with backoff
// when the link drops, asking to resume where it stands. Clients' writes are refused with READONLY meanwhile.
//
// Thread-safety: commands call in from serving threads (LFDB.SYNC and REPLICAOF run alone),
// INFO from any; the link thread is the only one that touches the link. Each shared field says
// what guards it.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "db/append_log.hpp"
#include "db/command_context.hpp"
#include "db/config.hpp"
#include "db/primary_link.hpp"
#include "dispatch/dispatcher.hpp"
#include "lf/monitor.hpp"
#include "lf/mutex.hpp"
#include "lf/status.hpp"

namespace lfdb::db {

class Server;

inline constexpr std::string_view kErrReadOnly =
    "READONLY You can't write against a read only replica.";
inline constexpr std::string_view kErrNoReplicas = "NOREPLICAS Not enough good replicas to write.";

// 40 random hex digits: a replication id, or INFO's run_id.
std::string random_hex_id();

class Replication {
 public:
  explicit Replication(Server& server);
  ~Replication();

  // After the log is loaded, before connections are served: the dispatcher (appendonly yes),
  // made the log's segment sink, and the role from the config.
  void start_dispatcher();
  // Once the server listens: the link thread (it idles while this server is a primary).
  void start_link();
  // Shutdown: the link thread first (nothing is applied after), the dispatcher after the log's
  // last flush (its replicas' sockets close with it).
  void stop_link();
  void stop_dispatcher();

  // appendonly no: the log without a file replicas are streamed from, once the first SYNC
  // switched it on (null before: writes encode no records). One acquire load per write.
  AppendLog* stream_log() const {
    return stream_on_.load(std::memory_order_acquire) ? stream_log_.get() : nullptr;
  }
  // Once a second (the server's cron): what the log's writers left pending goes out.
  void tick();

  // True while this server follows a primary: clients' writes get READONLY.
  bool is_replica() const { return replica_.load(std::memory_order_acquire); }
  // True once a replica has been handed the stream since this process started. PUBLISH is
  // logged only then: Redis sends it to replicas but never to its append-only file, and a
  // server whose log has no reader besides the disk would otherwise fill it with messages.
  bool has_had_replicas() const { return replicas_seen_.load(std::memory_order_acquire); }

  // Command handlers (src/db/cmd_server.cpp binds them).
  void sync_command(CommandContext& c);       // LFDB.SYNC replid offset [listening-port]
  void redis_sync_command(CommandContext& c); // SYNC | PSYNC replid offset
  void replconf_command(CommandContext& c);
  void replicaof_command(CommandContext& c);  // REPLICAOF host port | NO ONE
  void role_command(CommandContext& c);
  std::string info();
  // How many replicas acknowledged the stream up to `offset` (WAIT); 0 without a dispatcher.
  std::size_t replicas_acked(std::uint64_t offset) const;
  // A replica with appendonly yes saves where its log stands in the primary's stream, so a
  // restart resumes with a partial resync; anything that rewrites the log drops that.
  void forget_saved_position();
  // CONFIG SET repl-backlog-size: the dispatcher's backlog (none without the log) takes it.
  void set_backlog_size(std::size_t bytes);
  void set_ping_period(std::int64_t seconds);  // repl-ping-replica-period
  // client-output-buffer-limit replica: the dispatcher drops a replica past it.
  void set_replica_limit(const OutputLimit& l);
  // CLIENT KILL of replicas (those matching; 0 / "": any): how many went. Returns once the
  // dispatcher let go of them and of the bytes it held only for them.
  std::size_t kill_replicas(dispatch::ReplicaFilter filter);
  // The replicas' output, as Redis counts it: the backlog's bytes held only for replicas that
  // have not been sent them (INFO memory's mem_clients_slaves, mem_not_counted_for_evict).
  std::uint64_t replica_output_bytes() const;
  // The dispatcher's replicas as last published (CLIENT LIST's replica lines).
  std::vector<dispatch::ReplicaView> replicas() const;
  // min-replicas-to-write / min-replicas-max-lag: a primary with fewer replicas that acknowledged
  // within max-lag seconds refuses writes (NOREPLICAS). Either at 0 turns the rule off.
  void set_min_replicas(long long to_write) { min_replicas_.store(to_write, std::memory_order_relaxed); }
  void set_min_replicas_max_lag(long long s) { min_replicas_lag_.store(s, std::memory_order_relaxed); }
  // False only when the rule is on, this server is a primary, and too few replicas are good: one
  // relaxed load when the rule is off (every write asks).
  bool enough_good_replicas() const {
    return min_replicas_.load(std::memory_order_relaxed) == 0 || good_replicas_suffice();
  }

 private:
  struct Target {
    std::string host;  // empty: primary
    std::uint16_t port = 0;
    std::uint64_t generation = 0;  // bumped by every REPLICAOF
  };

  // The connection's socket goes to the dispatcher with what the replica asked for (and a
  // snapshot of the keyspace when it cannot resume); the session replies nothing more.
  void hand_over(CommandContext& c, dispatch::Wire wire, std::string replid, std::uint64_t offset,
                 std::uint16_t port);
  void link_main();
  // The log replicas are streamed from: the append-only log, or stream_log_.
  AppendLog* shipped_log();
  bool target_is(std::uint64_t generation);
  // Runs fn alone (every color), from the link thread, and waits for it.
  template <class Fn>
  void run_alone(Fn&& fn);

  Server& server_;
  // Set in start_dispatcher() before serving (so read without a guard), reset in stop().
  std::unique_ptr<AppendLog> stream_log_;  // appendonly no only
  std::unique_ptr<dispatch::Dispatcher> dispatcher_;
  // Written once, false to true, by SYNC / PSYNC / LFDB.SYNC, which run alone (every color), so
  // every invocation after it sees it and none straddles the change; never cleared (a replica
  // that reconnects finds the backlog, as Redis keeps its own).
  std::atomic<bool> stream_on_{false};
  // Written once, false to true, where stream_on_ is (the first replica handed the stream, alone).
  std::atomic<bool> replicas_seen_{false};
  std::thread link_thread_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> replica_{false};
  std::atomic<long long> min_replicas_{0};       // min-replicas-to-write
  std::atomic<long long> min_replicas_lag_{10};  // min-replicas-max-lag, seconds
  bool good_replicas_suffice() const;
  std::size_t good_replicas(long long max_lag_s) const;

  lf::Monitor<Target> target_;

  // The replica's view of its link, for INFO and ROLE (written by the link thread).
  ReplicaProgress progress_;
  mutable lf::Mutex replid_mu_;
  std::string own_replid_ LF_GUARDED_BY(replid_mu_);  // this server's history as a primary
};

}  // namespace lfdb::db
