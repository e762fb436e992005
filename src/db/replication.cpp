// Replication: the primary's hooks into the dispatcher, and the replica's link. Overview in
// replication.hpp; protocol and guarantees in docs/replication.md.
#include "db/replication.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <random>

#include "db/dump/rdb_file.hpp"
#include "db/memory/allocator.hpp"
#include "db/server.hpp"
#include "db/snapshot.hpp"

namespace lfdb::db {

std::string random_hex_id() {
  std::random_device rd;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id(40, '0');
  for (char& ch : id) ch = kHex[rd() & 15];
  return id;
}

namespace {

bool parse_u64(std::string_view s, std::uint64_t& out) {
  if (s.empty() || s.size() > 20) return false;
  std::uint64_t v = 0;
  for (char ch : s) {
    if (ch < '0' || ch > '9') return false;
    v = v * 10 + static_cast<std::uint64_t>(ch - '0');
  }
  out = v;
  return true;
}

}  // namespace

Replication::Replication(Server& server) : server_(server) {
  lf::MutexLock lock(replid_mu_);
  own_replid_ = random_hex_id();
}

Replication::~Replication() {
  stop_link();
  stop_dispatcher();
}

void Replication::forget_saved_position() {
  forget_replica_position(server_.initial_config().dir);
}

void Replication::start_dispatcher() {
  const ServerConfig& cfg = server_.initial_config();
  if (AppendLog* log = server_.append_log(); log != nullptr && !cfg.replicaof_host.empty()) {
    // A replica that kept its log: where did it stand in its primary's stream?
    const lf::Result<ReplicaPosition> saved = load_replica_position(cfg.dir);
    const std::uint64_t size = log->appended();  // the loaded file's valid bytes
    if (saved.ok() && saved->file_offset <= size) {
      const std::uint64_t at = saved->primary_offset + (size - saved->file_offset);
      progress_.set_master_replid(saved->replid);
      progress_.applied_offset.store(at, std::memory_order_relaxed);
      std::fprintf(stderr, "lfdb-server: replica: resuming %s at offset %" PRIu64 " (from its log)\n",
                   saved->replid.c_str(), at);
    }
  }
  if (server_.append_log() == nullptr) {
    // appendonly no: replicas get the same records from a log without a file, switched on by the
    // first SYNC (until then no write encodes a record: docs/replication.md).
    stream_log_ = AppendLog::in_memory();
  }
  if (AppendLog* log = shipped_log()) {
    dispatch::DispatcherOptions o;
    {
      lf::MutexLock lock(replid_mu_);
      o.replid = own_replid_;
    }
    o.backlog_size = cfg.repl_backlog_size;
    o.base = log->appended();
    o.ping_period_s = std::stoll(cfg.param("repl-ping-replica-period"));
    const OutputLimit lim = output_limit(cfg.client_output_buffer_limit, "slave");
    o.replica_limit = dispatch::ReplicaLimit{lim.hard, lim.soft, lim.soft_seconds};
    auto seed = lf::Unique<dispatch::BackupSeed>(nullptr);
    if (!cfg.backup_dir.empty() && cfg.replicaof_host.empty() && !stream_log_) {  // a replica's log is not a history
      // Opened now, before serving: a rewrite renaming another file over it later cannot change
      // what this descriptor reads.
      seed = lf::make_unique_msg<dispatch::BackupSeed>();
      seed->fd = ::open(cfg.aof_path().c_str(), O_RDONLY | O_CLOEXEC);
      seed->size = o.base;
      o.backup_dir = cfg.backup_dir;
    }
    // The bytes held for replicas stay out of eviction (docs/memory.md, "Replicas' output").
    o.replica_bytes = memory::replica_bytes_cell();
    dispatcher_ = std::make_unique<dispatch::Dispatcher>(std::move(o), std::move(seed));
    dispatch::Dispatcher* d = dispatcher_.get();
    log->set_segment_sink([d](std::uint64_t start, std::string_view bytes) { d->ship(start, bytes); });
  }
  if (!cfg.replicaof_host.empty()) {
    target_.with([&cfg](Target& t) {
      t.host = cfg.replicaof_host;
      t.port = cfg.replicaof_port;
      ++t.generation;
    });
    replica_.store(true, std::memory_order_release);
  }
}

AppendLog* Replication::shipped_log() {
  AppendLog* disk = server_.append_log();
  return disk != nullptr ? disk : stream_log_.get();
}

void Replication::tick() {
  if (stream_log()) stream_log_->tick();  // bytes an elected writer left pending
}

void Replication::start_link() { link_thread_ = std::thread([this] { link_main(); }); }

void Replication::stop_link() {
  stopping_.store(true, std::memory_order_release);
  if (link_thread_.joinable()) link_thread_.join();
}

void Replication::set_backlog_size(std::size_t bytes) {
  if (dispatcher_) dispatcher_->set_backlog_size(bytes);
}

void Replication::set_ping_period(std::int64_t seconds) {
  if (dispatcher_) dispatcher_->set_ping_period(seconds);
}

void Replication::set_replica_limit(const OutputLimit& l) {
  if (dispatcher_) dispatcher_->set_replica_limit(dispatch::ReplicaLimit{l.hard, l.soft, l.soft_seconds});
}

std::size_t Replication::kill_replicas(std::uint64_t client_id, std::string addr) {
  // Every CLIENT KILL asks (any filter may match a replica): one that finds none in the
  // published view does not wait for the dispatcher's turn.
  if (!dispatcher_ || dispatcher_->view().replicas.empty()) return 0;
  return dispatcher_->drop_replicas(client_id, std::move(addr), 0);  // no MAXAGE in Redis 7.0
}

std::uint64_t Replication::replica_output_bytes() const {
  return dispatcher_ ? dispatcher_->replica_bytes() : 0;
}

std::vector<dispatch::ReplicaView> Replication::replicas() const {
  if (!dispatcher_) return {};
  return dispatcher_->view().replicas;
}

void Replication::stop_dispatcher() {
  if (!dispatcher_) return;
  // Nothing flushes the log any more (Server::stop synced it last): unhook, then stop.
  if (AppendLog* log = shipped_log()) log->set_segment_sink(nullptr);
  dispatcher_.reset();
}

bool Replication::target_is(std::uint64_t generation) {
  return target_.with([generation](const Target& t) { return t.generation == generation; });
}

template <class Fn>
void Replication::run_alone(Fn&& fn) {
  auto done = std::make_shared<lf::Monitor<bool>>(false);
  static const std::uint64_t kHash[1] = {0};
  Executor& ex = server_.executor();
  const Invocation inv{ex.exec_alone(), Placement::kKeys, std::span<const std::uint64_t>(kHash)};
  Fn* f = &fn;
  (void)ex.submit(inv, lf::hue::Task([f, done] {
    (*f)();
    done->with_notify_all([](bool& d) { d = true; });
  }));
  done->wait_until([](const bool& d) { return d; }, [](bool&) {});
}

// ---- primary side ------------------------------------------------------------------------

void Replication::sync_command(CommandContext& c) {
  std::uint64_t offset = 0, port = 0;
  if (!parse_u64(c.arg(2), offset) ||
      (c.argc() > 3 && (!parse_u64(c.arg(3), port) || port > 65535))) {
    c.out.error("ERR syntax: LFDB.SYNC <replid|?> <offset> [listening-port]");
    return;
  }
  hand_over(c, dispatch::Wire::kLfdb, std::string(c.arg(1)), offset, static_cast<std::uint16_t>(port));
}

// SYNC, and PSYNC <replid|?> <offset|-1>, as Redis's primary answers them: an RDB payload,
// then the stream (docs/replication.md, "Redis's SYNC and PSYNC").
void Replication::redis_sync_command(CommandContext& c) {
  const bool psync = iequal(c.arg(0), "psync");
  std::uint64_t offset = 0;
  std::string replid = psync ? std::string(c.arg(1)) : "?";
  // A negative or unreadable offset (Redis's "PSYNC ? -1") asks for a full resync. A replica
  // asks for the next byte, counting from 1: one past the offset it has.
  if (psync && (!parse_u64(c.arg(2), offset) || offset == 0)) replid = "?";
  if (offset > 0) --offset;
  hand_over(c, psync ? dispatch::Wire::kRedisPsync : dispatch::Wire::kRedisSync, std::move(replid),
            offset, c.client->replica_listening_port);
}

void Replication::hand_over(CommandContext& c, dispatch::Wire wire, std::string replid,
                            std::uint64_t offset, std::uint16_t port) {
  if (!dispatcher_) {
    c.out.error("ERR replication is not running on this server");
    return;
  }
  if (is_replica()) {
    c.out.error("ERR this server is a replica: sync from its primary");
    return;
  }
  const int fd = c.client != nullptr && c.client->host != nullptr ? c.client->host->handle() : -1;
  const int dup = fd >= 0 ? ::fcntl(fd, F_DUPFD_CLOEXEC, 0) : -1;
  if (dup < 0) {
    c.out.error("ERR this connection cannot be handed over to the dispatcher");
    return;
  }
  auto link = lf::make_unique_msg<dispatch::ReplicaLink>();
  link->fd = dup;
  link->wire = wire;
  link->client_id = c.client->id;
  link->created_ms = c.client->created_ms;
  const std::string addr = c.client->addr();
  link->addr = addr;
  link->ip = addr.substr(0, addr.rfind(':'));
  link->listening_port = port;
  link->replid = std::move(replid);
  link->offset = offset;
  const bool resume = wire == dispatch::Wire::kLfdb
                          ? dispatcher_->can_resume(link->replid, offset)
                      : wire == dispatch::Wire::kRedisPsync
                          ? dispatcher_->can_resume_redis(link->replid, offset)
                          : false;  // SYNC: always the whole data set
  AppendLog* const log = shipped_log();
  if (stream_log_ && !stream_on_.load(std::memory_order_relaxed)) {
    // The first replica of a server without appendonly: from the next invocation on, writes
    // leave records (we run alone, so none is half way through one).
    stream_on_.store(true, std::memory_order_release);
  }
  replicas_seen_.store(true, std::memory_order_release);  // from the next invocation: PUBLISH is logged
  if (!resume) {
    // We run alone: the keyspace and the log's end stand still together.
    const std::uint64_t at = log->appended();
    std::string bytes;
    if (wire == dispatch::Wire::kLfdb) {
      auto snap = snapshot_to_bytes(server_.databases(), now_ms(), server_.library_codes());
      if (!snap.ok()) {
        c.out.error("ERR full resync: " + snap.status().message());
        return;  // link's destructor closes the dup
      }
      bytes = std::move(*snap);
    } else {
      dump::RdbMeta meta;
      {
        lf::MutexLock lock(replid_mu_);
        meta.replid = own_replid_;
      }
      // The payload's repl-offset is in the replica's terms; the dispatcher's first line says
      // the same (its PINGs count), so leave the offset to it: 0 here is what a SYNC gets.
      bytes = dump::rdb_file(server_.databases(), now_ms(), meta, server_.library_codes());
    }
    link->snapshot_offset = at;
    // The replica reads the stream from here: its first record must say its database.
    log->forget_db();
    link->snapshot = lf::make_immutable<std::string>(std::move(bytes));
  }
  dispatcher_->add_replica(std::move(link));
  // No reply from here: the dispatcher answers on the handed-over socket; the session closes
  // its side (the dup keeps the connection open).
  c.client->close_after_reply = true;
}

// REPLCONF from a Redis replica or redis-cli before its SYNC / PSYNC: what they announce needs
// nothing from lfdb (the dispatcher reads REPLCONF ACK on the handed-over socket itself).
void Replication::replconf_command(CommandContext& c) {
  if (c.argc() % 2 == 0) {
    c.out.error(kErrSyntax);
    return;
  }
  for (std::size_t i = 1; i < c.argc(); i += 2) {
    const std::string_view o = c.arg(i);
    if (iequal(o, "ack") || iequal(o, "getack")) return;  // a replica's, never answered
    if (!iequal(o, "listening-port") && !iequal(o, "ip-address") && !iequal(o, "capa") &&
        !iequal(o, "rdb-only") && !iequal(o, "rdb-filter-only")) {
      c.out.error("ERR Unrecognized REPLCONF option: " + std::string(o));
      return;
    }
  }
  for (std::size_t i = 1; i < c.argc(); i += 2) {
    std::uint64_t port = 0;
    if (iequal(c.arg(i), "listening-port")) {
      if (!parse_u64(c.arg(i + 1), port) || port > 65535) {
        c.out.error("ERR value is not an integer or out of range");
        return;
      }
      c.client->replica_listening_port = static_cast<std::uint16_t>(port);
    }
  }
  c.out.simple_string("OK");
}

// ---- commands ----------------------------------------------------------------------------

void Replication::replicaof_command(CommandContext& c) {
  const bool no_one = iequal(c.arg(1), "no") && iequal(c.arg(2), "one");
  std::uint64_t port = 0;
  if (!no_one && (!parse_u64(c.arg(2), port) || port == 0 || port > 65535)) {
    c.out.error("ERR Invalid master port");
    return;
  }
  // We run alone: no apply is in flight, and the next one sees the new generation.
  target_.with([&](Target& t) {
    t.host = no_one ? std::string() : std::string(c.arg(1));
    t.port = static_cast<std::uint16_t>(port);
    ++t.generation;
  });
  const bool was_replica = replica_.exchange(!no_one, std::memory_order_acq_rel);
  server_.reapply_oom_score();  // a replica's oom-score-adj class, or the primary's again
  forget_saved_position();
  // Whatever we follow next, our keyspace may no longer be the history we applied (we may
  // take writes as a primary meanwhile): the next sync is a full one.
  progress_.set_master_replid("?");
  if (!no_one) {
    // Our keyspace is about to be replaced behind our log's back: whatever history replicas
    // of ours follow ends here (a later promotion starts a new one).
    std::string fresh = random_hex_id();
    {
      lf::MutexLock lock(replid_mu_);
      own_replid_ = fresh;
    }
    if (dispatcher_) dispatcher_->new_history(std::move(fresh));
  }
  if (no_one && was_replica && server_.append_log() != nullptr) {
    // What this server applied as a replica is not in its own log: rewrite the log from the
    // keyspace so the data it now owns as a primary survives a restart.
    const lf::Status st = server_.persistence().start_bgrewriteaof();
    if (!st.ok()) std::fprintf(stderr, "lfdb-server: REPLICAOF NO ONE: %s\n", st.message().c_str());
  }
  std::fprintf(stderr, "lfdb-server: %s\n",
               no_one ? "MASTER MODE enabled (REPLICAOF NO ONE)"
                      : ("replica of " + std::string(c.arg(1)) + ":" + std::to_string(port)).c_str());
  c.out.simple_string("OK");
}

void Replication::role_command(CommandContext& c) {
  if (is_replica()) {
    const Target t = target_.with([](const Target& x) { return x; });
    c.out.array_header(5);
    c.out.bulk("slave");
    c.out.bulk(t.host);
    c.out.integer(t.port);
    c.out.bulk(progress_.link_up.load() ? "connected"
               : progress_.sync_in_progress.load() ? "sync" : "connect");
    c.out.integer(static_cast<std::int64_t>(progress_.applied_offset.load()));
    return;
  }
  const dispatch::ReplicationView v =
      dispatcher_ ? dispatcher_->view() : dispatch::ReplicationView{};
  c.out.array_header(3);
  c.out.bulk("master");
  AppendLog* log = shipped_log();
  c.out.integer(dispatcher_ && log != nullptr ? static_cast<std::int64_t>(log->appended()) : 0);
  c.out.array_header(v.replicas.size());
  for (const auto& r : v.replicas) {
    c.out.array_header(3);
    c.out.bulk(r.ip);
    c.out.bulk(std::to_string(r.port));
    c.out.bulk(std::to_string(r.offset));
  }
}

std::size_t Replication::replicas_acked(std::uint64_t offset) const {
  if (!dispatcher_) return 0;
  std::size_t n = 0;
  for (const auto& r : dispatcher_->view().replicas) {
    if (r.offset >= offset) ++n;
  }
  return n;
}

std::size_t Replication::good_replicas(long long max_lag_s) const {
  if (!dispatcher_) return 0;
  std::size_t n = 0;
  for (const auto& r : dispatcher_->view().replicas) {
    if (r.state == "online" && r.lag_s <= max_lag_s) ++n;
  }
  return n;
}

bool Replication::good_replicas_suffice() const {
  const long long want = min_replicas_.load(std::memory_order_relaxed);
  const long long lag = min_replicas_lag_.load(std::memory_order_relaxed);
  if (want == 0 || lag == 0 || is_replica()) return true;
  return good_replicas(lag) >= static_cast<std::size_t>(want);
}

std::string Replication::info() {
  std::string s = "# Replication\r\n";
  auto line = [&s](const std::string& l) { s += l + "\r\n"; };
  const std::string master_replid = progress_.master_replid();
  if (is_replica()) {
    const Target t = target_.with([](const Target& x) { return x; });
    const std::int64_t last = progress_.last_io_ms.load();
    line("role:slave");
    line("master_host:" + t.host);
    line("master_port:" + std::to_string(t.port));
    line(std::string("master_link_status:") + (progress_.link_up.load() ? "up" : "down"));
    line("master_last_io_seconds_ago:" + std::to_string(last == 0 ? -1 : (now_ms() - last) / 1000));
    line(std::string("master_sync_in_progress:") + (progress_.sync_in_progress.load() ? "1" : "0"));
    line("slave_read_repl_offset:" + std::to_string(progress_.applied_offset.load()));
    line("slave_repl_offset:" + std::to_string(progress_.applied_offset.load()));
    line("slave_priority:100");
    line("slave_read_only:1");
    line("replica_announced:1");
    line("connected_slaves:0");
    line("master_replid:" + master_replid);
    line("master_repl_offset:" + std::to_string(progress_.applied_offset.load()));
    line("lfdb_full_syncs:" + std::to_string(progress_.full_syncs.load()));
    line("lfdb_partial_syncs:" + std::to_string(progress_.partial_syncs.load()));
    line("lfdb_applied_transactions:" + std::to_string(progress_.applied_transactions.load()));
    return s;
  }
  line("role:master");
  std::string own;
  {
    lf::MutexLock lock(replid_mu_);
    own = own_replid_;
  }
  auto good_replicas_line = [&] {
    if (const long long lag = min_replicas_lag_.load(std::memory_order_relaxed);
        min_replicas_.load(std::memory_order_relaxed) != 0 && lag != 0) {
      line("min_slaves_good_slaves:" + std::to_string(good_replicas(lag)));
    }
  };
  if (!dispatcher_) {
    line("connected_slaves:0");
    good_replicas_line();
    line("master_replid:" + own);
    line("master_repl_offset:0");
    line("repl_backlog_active:0");
    return s;
  }
  const dispatch::ReplicationView v = dispatcher_->view();
  line("connected_slaves:" + std::to_string(v.replicas.size()));
  good_replicas_line();
  for (std::size_t i = 0; i < v.replicas.size(); ++i) {
    const auto& r = v.replicas[i];
    line("slave" + std::to_string(i) + ":ip=" + r.ip + ",port=" + std::to_string(r.port) +
         ",state=" + r.state + ",offset=" + std::to_string(r.offset) +
         ",lag=" + std::to_string(r.lag_s));
  }
  line("master_replid:" + own);
  line("master_replid2:0000000000000000000000000000000000000000");
  // Everything executed (appended), so a replica at this offset has every write acknowledged
  // so far; what may already be shipped is the sealed end (written, or fsynced under always).
  line("master_repl_offset:" + std::to_string(shipped_log()->appended()));
  line("lfdb_sealed_offset:" + std::to_string(dispatcher_->sealed_end()));
  line("second_repl_offset:-1");
  // As Redis: no backlog until the first replica (appendonly no: nothing recorded before it).
  line(std::string("repl_backlog_active:") +
       (stream_log_ && !stream_on_.load(std::memory_order_acquire) ? "0" : "1"));
  line("repl_backlog_size:" + std::to_string(v.backlog_size));
  line("repl_backlog_first_byte_offset:" + std::to_string(v.backlog_start));
  line("repl_backlog_histlen:" + std::to_string(v.backlog_end - v.backlog_start));
  line("lfdb_full_syncs:" + std::to_string(v.full_syncs));
  line("lfdb_partial_syncs:" + std::to_string(v.partial_syncs));
  line("lfdb_replicas_dropped_behind:" + std::to_string(v.dropped_behind));
  line("lfdb_replicas_dropped_over_limit:" + std::to_string(v.dropped_over_limit));
  if (!v.backup_path.empty() || !v.backup_error.empty()) {
    line("lfdb_backup_file:" + v.backup_path);
    line("lfdb_backup_offset:" + std::to_string(v.backup_synced));
    line("lfdb_backup_status:" + (v.backup_error.empty() ? std::string("ok") : v.backup_error));
  }
  return s;
}

// ---- replica side ------------------------------------------------------------------------

void Replication::link_main() {
  std::int64_t backoff_ms = 100;
  while (!stopping_.load(std::memory_order_acquire)) {
    const Target t = target_.with([](const Target& x) { return x; });
    if (t.host.empty()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      continue;
    }
    const std::uint64_t syncs = progress_.full_syncs.load() + progress_.partial_syncs.load();
    PrimaryLink::Control control;
    control.stopping = &stopping_;
    control.wanted = [this, g = t.generation] { return target_is(g); };
    control.run_alone = [this, g = t.generation](const std::function<void()>& fn) {
      bool ran = false;
      run_alone([&] {
        if (!target_is(g)) return;  // REPLICAOF changed meanwhile
        fn();
        ran = true;
      });
      return ran;
    };
    const lf::Status ended = PrimaryLink(server_, progress_, std::move(control)).run(t.host, t.port);
    progress_.link_up.store(false, std::memory_order_release);
    progress_.sync_in_progress.store(false, std::memory_order_release);
    if (stopping_.load(std::memory_order_acquire) || !target_is(t.generation)) continue;
    if (progress_.full_syncs.load() + progress_.partial_syncs.load() != syncs) {
      backoff_ms = 100;  // it worked a while
    }
    if (!ended.ok()) {  // the server's log: standard output (or logfile), where Redis logs it
      std::printf("lfdb-server: replication link to %s:%u: %s (retry in %" PRId64 " ms)\n",
                   t.host.c_str(), t.port, ended.message().c_str(), backoff_ms);
    }
    for (std::int64_t waited = 0; waited < backoff_ms && !stopping_.load(); waited += 20) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    backoff_ms = std::min<std::int64_t>(backoff_ms * 2, 2000);
  }
}

}  // namespace lfdb::db
