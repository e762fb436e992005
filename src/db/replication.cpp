// Replication: the primary's hooks into the dispatcher, and the replica's link. Overview in
// replication.hpp; protocol and guarantees in docs/replication.md.
#include "db/replication.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <random>

#include "db/server.hpp"
#include "db/snapshot.hpp"
#include "dispatch/transaction_cutter.hpp"

namespace lfdb::db {

namespace {

std::string random_replid() {
  std::random_device rd;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id(40, '0');
  for (char& ch : id) ch = kHex[rd() & 15];
  return id;
}

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

std::string encode(std::initializer_list<std::string_view> args) {
  std::string out = "*" + std::to_string(args.size()) + "\r\n";
  for (auto a : args) {
    out += "$" + std::to_string(a.size()) + "\r\n";
    out.append(a);
    out += "\r\n";
  }
  return out;
}

constexpr std::int64_t kIoTimeoutMs = 5000;

}  // namespace

// The replica's connection to its primary: blocking-style I/O over a non-blocking socket with
// poll() deadlines, so the link thread notices a changed target or a shutdown within 100 ms.
class Replication::Link {
 public:
  ~Link() {
    if (fd_ >= 0) ::close(fd_);
  }

  std::string connect_to(const std::string& host, std::uint16_t port) {
    addrinfo hints{};
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    const std::string service = std::to_string(port);
    if (::getaddrinfo(host.c_str(), service.c_str(), &hints, &res) != 0 || res == nullptr) {
      return "cannot resolve " + host;
    }
    fd_ = ::socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd_ < 0) {
      ::freeaddrinfo(res);
      return std::string("socket: ") + std::strerror(errno);
    }
    const int rc = ::connect(fd_, res->ai_addr, res->ai_addrlen);
    ::freeaddrinfo(res);
    if (rc != 0 && errno != EINPROGRESS) return std::string("connect: ") + std::strerror(errno);
    pollfd p{fd_, POLLOUT, 0};
    if (::poll(&p, 1, 1000) != 1) return "connect: timed out";
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) return std::string("connect: ") + std::strerror(err);
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return "";
  }

  bool send_all(std::string_view bytes) {
    std::size_t off = 0;
    while (off < bytes.size()) {
      const ssize_t n = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
      if (n > 0) {
        off += static_cast<std::size_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        pollfd p{fd_, POLLOUT, 0};
        if (::poll(&p, 1, static_cast<int>(kIoTimeoutMs)) != 1) return false;
        continue;
      }
      return false;
    }
    return true;
  }

  // Reads what arrives within timeout_ms into in_; false when the link closed or failed.
  bool fill(int timeout_ms) {
    pollfd p{fd_, POLLIN, 0};
    const int r = ::poll(&p, 1, timeout_ms);
    if (r < 0) return errno == EINTR;
    if (r == 0) return true;
    char buf[64 * 1024];
    for (;;) {
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n > 0) {
        in_.append(buf, static_cast<std::size_t>(n));
        if (static_cast<std::size_t>(n) < sizeof buf) return true;
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
      return false;
    }
  }

  // One CRLF-terminated line (without it), waiting up to the I/O timeout.
  bool read_line(std::string& line, const std::atomic<bool>& stop) {
    const std::int64_t deadline = now_ms() + kIoTimeoutMs;
    for (;;) {
      const std::size_t eol = in_.find("\r\n");
      if (eol != std::string::npos) {
        line = in_.substr(0, eol);
        in_.erase(0, eol + 2);
        return true;
      }
      if (stop.load(std::memory_order_acquire) || now_ms() > deadline) return false;
      if (!fill(100)) return false;
    }
  }

  // n bytes (then a CRLF-less payload), for the snapshot.
  bool read_exact(std::size_t n, std::string& out, const std::atomic<bool>& stop) {
    std::int64_t deadline = now_ms() + kIoTimeoutMs;
    std::size_t seen = in_.size();
    while (in_.size() < n) {
      if (stop.load(std::memory_order_acquire) || now_ms() > deadline) return false;
      if (!fill(100)) return false;
      if (in_.size() != seen) {  // progress: a big snapshot may take longer than one timeout
        seen = in_.size();
        deadline = now_ms() + kIoTimeoutMs;
      }
    }
    out = in_.substr(0, n);
    in_.erase(0, n);
    return true;
  }

  std::string& input() { return in_; }

 private:
  int fd_ = -1;
  std::string in_;
};

Replication::Replication(Server& server) : server_(server) {
  lf::MutexLock lock(replid_mu_);
  master_replid_ = "?";
  own_replid_ = random_replid();
}

Replication::~Replication() {
  stop_link();
  stop_dispatcher();
}

std::string Replication::state_path() const {
  return server_.initial_config().dir + "/replica.state";
}

void Replication::forget_saved_position() { ::unlink(state_path().c_str()); }

void Replication::save_position(const std::string& replid, std::uint64_t p0, std::uint64_t f0) {
  const std::string path = state_path(), tmp = path + ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "w");
  if (f == nullptr) return;
  std::fprintf(f, "%s %" PRIu64 " %" PRIu64 "\n", replid.c_str(), p0, f0);
  const bool ok = std::fflush(f) == 0 && ::fsync(::fileno(f)) == 0;
  std::fclose(f);
  if (ok && std::rename(tmp.c_str(), path.c_str()) == 0) {
    const int dfd = ::open(server_.initial_config().dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
      (void)::fsync(dfd);
      ::close(dfd);
    }
  }
}

void Replication::start_dispatcher() {
  const ServerConfig& cfg = server_.initial_config();
  if (AppendLog* log = server_.append_log(); log != nullptr && !cfg.replicaof_host.empty()) {
    // A replica that kept its log: where did it stand in its primary's stream?
    char replid[64] = {0};
    std::uint64_t p0 = 0, f0 = 0;
    std::FILE* f = std::fopen(state_path().c_str(), "r");
    const bool ok = f != nullptr && std::fscanf(f, "%63s %" SCNu64 " %" SCNu64, replid, &p0, &f0) == 3;
    if (f != nullptr) std::fclose(f);
    const std::uint64_t size = log->appended();  // the loaded file's valid bytes
    if (ok && f0 <= size) {
      lf::MutexLock lock(replid_mu_);
      master_replid_ = replid;
      applied_offset_.store(p0 + (size - f0), std::memory_order_relaxed);
      std::fprintf(stderr, "lfdb-server: replica: resuming %s at offset %" PRIu64 " (from its log)\n",
                   replid, p0 + (size - f0));
    }
  }
  if (AppendLog* log = server_.append_log()) {
    dispatch::DispatcherOptions o;
    {
      lf::MutexLock lock(replid_mu_);
      o.replid = own_replid_;
    }
    o.backlog_size = cfg.repl_backlog_size;
    o.base = log->appended();
    auto seed = lf::Unique<dispatch::BackupSeed>(nullptr);
    if (!cfg.backup_dir.empty() && cfg.replicaof_host.empty()) {  // a replica's log is not a history
      // Opened now, before serving: a rewrite renaming another file over it later cannot change
      // what this descriptor reads.
      seed = lf::make_unique_msg<dispatch::BackupSeed>();
      seed->fd = ::open(cfg.aof_path().c_str(), O_RDONLY | O_CLOEXEC);
      seed->size = o.base;
      o.backup_dir = cfg.backup_dir;
    }
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

void Replication::start_link() { link_thread_ = std::thread([this] { link_main(); }); }

void Replication::stop_link() {
  stopping_.store(true, std::memory_order_release);
  if (link_thread_.joinable()) link_thread_.join();
}

void Replication::stop_dispatcher() {
  if (!dispatcher_) return;
  // Nothing flushes the log any more (Server::stop synced it last): unhook, then stop.
  if (AppendLog* log = server_.append_log()) log->set_segment_sink(nullptr);
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
  if (!dispatcher_) {
    c.out.error("ERR replication needs appendonly yes on the primary (lfdb ships its "
                "append-only log)");
    return;
  }
  if (is_replica()) {
    c.out.error("ERR this server is a replica: sync from its primary");
    return;
  }
  std::uint64_t offset = 0, port = 0;
  if (!parse_u64(c.arg(2), offset) ||
      (c.argc() > 3 && (!parse_u64(c.arg(3), port) || port > 65535))) {
    c.out.error("ERR syntax: LFDB.SYNC <replid|?> <offset> [listening-port]");
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
  link->ip = c.client->addr.substr(0, c.client->addr.rfind(':'));
  link->listening_port = static_cast<std::uint16_t>(port);
  link->replid = std::string(c.arg(1));
  link->offset = offset;
  if (!dispatcher_->can_resume(link->replid, offset)) {
    // We run alone: the keyspace and the log's end stand still together.
    auto bytes = snapshot_to_bytes(server_.keyspace(), now_ms());
    if (!bytes.ok()) {
      c.out.error("ERR full resync: " + bytes.status().message());
      return;  // link's destructor closes the dup
    }
    link->snapshot_offset = server_.append_log()->appended();
    link->snapshot = lf::make_immutable<std::string>(std::move(*bytes));
  }
  dispatcher_->add_replica(std::move(link));
  // No reply from here: the dispatcher answers on the handed-over socket; the session closes
  // its side (the dup keeps the connection open).
  c.client->handed_over = true;
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
  forget_saved_position();
  {
    // Whatever we follow next, our keyspace may no longer be the history we applied (we may
    // take writes as a primary meanwhile): the next sync is a full one.
    lf::MutexLock lock(replid_mu_);
    master_replid_ = "?";
  }
  if (!no_one) {
    // Our keyspace is about to be replaced behind our log's back: whatever history replicas
    // of ours follow ends here (a later promotion starts a new one).
    std::string fresh = random_replid();
    {
      lf::MutexLock lock(replid_mu_);
      own_replid_ = fresh;
    }
    if (dispatcher_) dispatcher_->new_history(std::move(fresh));
  }
  if (no_one && was_replica && server_.append_log() != nullptr) {
    // What this server applied as a replica is not in its own log: rewrite the log from the
    // keyspace so the data it now owns as a primary survives a restart.
    const std::string err = server_.start_bgrewriteaof();
    if (!err.empty()) std::fprintf(stderr, "lfdb-server: REPLICAOF NO ONE: %s\n", err.c_str());
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
    c.out.bulk(link_up_.load() ? "connected" : sync_in_progress_.load() ? "sync" : "connect");
    c.out.integer(static_cast<std::int64_t>(applied_offset_.load()));
    return;
  }
  const dispatch::ReplicationView v =
      dispatcher_ ? dispatcher_->view() : dispatch::ReplicationView{};
  c.out.array_header(3);
  c.out.bulk("master");
  AppendLog* log = server_.append_log();
  c.out.integer(dispatcher_ && log != nullptr ? static_cast<std::int64_t>(log->appended()) : 0);
  c.out.array_header(v.replicas.size());
  for (const auto& r : v.replicas) {
    c.out.array_header(3);
    c.out.bulk(r.ip);
    c.out.bulk(std::to_string(r.port));
    c.out.bulk(std::to_string(r.offset));
  }
}

std::string Replication::info() {
  std::string s = "# Replication\r\n";
  auto line = [&s](const std::string& l) { s += l + "\r\n"; };
  std::string master_replid;
  {
    lf::MutexLock lock(replid_mu_);
    master_replid = master_replid_;
  }
  if (is_replica()) {
    const Target t = target_.with([](const Target& x) { return x; });
    const std::int64_t last = last_io_ms_.load();
    line("role:slave");
    line("master_host:" + t.host);
    line("master_port:" + std::to_string(t.port));
    line(std::string("master_link_status:") + (link_up_.load() ? "up" : "down"));
    line("master_last_io_seconds_ago:" + std::to_string(last == 0 ? -1 : (now_ms() - last) / 1000));
    line(std::string("master_sync_in_progress:") + (sync_in_progress_.load() ? "1" : "0"));
    line("slave_read_repl_offset:" + std::to_string(applied_offset_.load()));
    line("slave_repl_offset:" + std::to_string(applied_offset_.load()));
    line("slave_priority:100");
    line("slave_read_only:1");
    line("replica_announced:1");
    line("connected_slaves:0");
    line("master_replid:" + master_replid);
    line("master_repl_offset:" + std::to_string(applied_offset_.load()));
    line("lfdb_full_syncs:" + std::to_string(full_syncs_.load()));
    line("lfdb_partial_syncs:" + std::to_string(partial_syncs_.load()));
    line("lfdb_applied_transactions:" + std::to_string(applied_transactions_.load()));
    return s;
  }
  line("role:master");
  std::string own;
  {
    lf::MutexLock lock(replid_mu_);
    own = own_replid_;
  }
  if (!dispatcher_) {
    line("connected_slaves:0");
    line("master_replid:" + own);
    line("master_repl_offset:0");
    line("repl_backlog_active:0");
    return s;
  }
  const dispatch::ReplicationView v = dispatcher_->view();
  line("connected_slaves:" + std::to_string(v.replicas.size()));
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
  line("master_repl_offset:" + std::to_string(server_.append_log()->appended()));
  line("lfdb_sealed_offset:" + std::to_string(dispatcher_->sealed_end()));
  line("second_repl_offset:-1");
  line("repl_backlog_active:1");
  line("repl_backlog_size:" + std::to_string(v.backlog_size));
  line("repl_backlog_first_byte_offset:" + std::to_string(v.backlog_start));
  line("repl_backlog_histlen:" + std::to_string(v.backlog_end - v.backlog_start));
  line("lfdb_full_syncs:" + std::to_string(v.full_syncs));
  line("lfdb_partial_syncs:" + std::to_string(v.partial_syncs));
  line("lfdb_replicas_dropped_behind:" + std::to_string(v.dropped_behind));
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
    const std::uint64_t syncs = full_syncs_.load() + partial_syncs_.load();
    const std::string why = run_link(t);
    link_up_.store(false, std::memory_order_release);
    sync_in_progress_.store(false, std::memory_order_release);
    if (stopping_.load(std::memory_order_acquire) || !target_is(t.generation)) continue;
    if (full_syncs_.load() + partial_syncs_.load() != syncs) backoff_ms = 100;  // it worked a while
    if (!why.empty()) {
      std::fprintf(stderr, "lfdb-server: replication link to %s:%u: %s (retry in %" PRId64 " ms)\n",
                   t.host.c_str(), t.port, why.c_str(), backoff_ms);
    }
    for (std::int64_t waited = 0; waited < backoff_ms && !stopping_.load(); waited += 20) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    backoff_ms = std::min<std::int64_t>(backoff_ms * 2, 2000);
  }
}

std::string Replication::run_link(const Target& t) {
  Link link;
  std::string err = link.connect_to(t.host, t.port);
  if (!err.empty()) return err;
  std::string line;
  const ServerConfig& cfg = server_.initial_config();
  if (!cfg.masterauth.empty()) {
    if (!link.send_all(encode({"AUTH", cfg.masterauth})) || !link.read_line(line, stopping_)) {
      return "AUTH: no answer";
    }
    if (line != "+OK") return "AUTH refused: " + line;
  }
  std::string replid;
  {
    lf::MutexLock lock(replid_mu_);
    replid = master_replid_;
  }
  const std::string offset = std::to_string(applied_offset_.load());
  sync_in_progress_.store(true, std::memory_order_release);
  if (!link.send_all(encode({"LFDB.SYNC", replid, offset, std::to_string(server_.port())})) ||
      !link.read_line(line, stopping_)) {
    return "LFDB.SYNC: no answer";
  }
  // "+FULLRESYNC <replid> <offset>" then "$<n>" and the snapshot, or "+CONTINUE <replid> <offset>".
  const bool full = line.rfind("+FULLRESYNC ", 0) == 0;
  const bool cont = line.rfind("+CONTINUE ", 0) == 0;
  if (!full && !cont) {
    if (line.rfind("-NOMASTERLINK", 0) == 0) {
      lf::MutexLock lock(replid_mu_);
      master_replid_ = "?";  // ask for a full resync next time
    }
    return "LFDB.SYNC refused: " + line;
  }
  const std::size_t sp1 = line.find(' '), sp2 = line.find(' ', sp1 + 1);
  std::uint64_t start = 0;
  if (sp2 == std::string::npos || !parse_u64(std::string_view(line).substr(sp2 + 1), start)) {
    return "bad resync line: " + line;
  }
  const std::string new_replid = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::uint64_t generation = t.generation;
  auto clear_keyspace = [this] {
    Keyspace& ks = server_.keyspace();
    for (std::uint32_t i = 0; i < ks.colors(); ++i) ks.at(i).clear();
  };
  if (full) {
    std::string bulk;
    std::uint64_t n = 0;
    if (!link.read_line(bulk, stopping_) || bulk.empty() || bulk[0] != '$' ||
        !parse_u64(std::string_view(bulk).substr(1), n)) {
      return "bad snapshot header: " + bulk;
    }
    std::string snap;
    if (!link.read_exact(n, snap, stopping_)) return "snapshot transfer broke off";
    std::string load_err;
    bool applied = false;
    run_alone([&] {
      if (!target_is(generation)) return;  // REPLICAOF changed meanwhile
      clear_keyspace();
      auto r = load_snapshot_bytes(snap, server_.keyspace(), "full resync from " + t.host);
      if (!r.ok()) {
        load_err = r.status().message();
        clear_keyspace();
      }
      applied = true;
      applied_offset_.store(start, std::memory_order_release);
      if (r.ok() && server_.append_log() != nullptr) {
        // Our log becomes this keyspace, then the stream as applied: a restart resumes.
        forget_saved_position();
        auto size = server_.rewrite_log_now();
        if (size.ok()) {
          save_position(new_replid, start, *size);
        } else {
          std::fprintf(stderr, "lfdb-server: replica: its log after the full resync: %s\n",
                       size.status().message().c_str());
        }
      }
      lf::MutexLock lock(replid_mu_);
      master_replid_ = r.ok() ? new_replid : "?";
    });
    if (!applied) return "";
    if (!load_err.empty()) return "snapshot: " + load_err;
    full_syncs_.fetch_add(1);
    std::fprintf(stderr, "lfdb-server: full resync from %s:%u at offset %" PRIu64 ": %" PRIu64
                 " keys\n", t.host.c_str(), t.port, start, server_.keyspace().size());
  } else {
    if (start != applied_offset_.load()) return "CONTINUE at an offset we did not ask for";
    partial_syncs_.fetch_add(1);
  }
  sync_in_progress_.store(false, std::memory_order_release);
  link_up_.store(true, std::memory_order_release);
  last_io_ms_.store(now_ms(), std::memory_order_relaxed);

  dispatch::TransactionBatch batch;
  std::int64_t last_ack = 0;
  std::uint64_t acked = ~std::uint64_t{0};
  while (!stopping_.load(std::memory_order_acquire)) {
    if (!target_is(generation)) return "";
    const std::size_t before = link.input().size();
    if (!link.fill(100)) return "connection lost";
    if (link.input().size() != before) last_io_ms_.store(now_ms(), std::memory_order_relaxed);
    lf::Status st = dispatch::cut_transactions(link.input(), batch);
    if (!st.ok()) return st.message();
    if (batch.transactions() > 0) {
      bool applied = false;
      run_alone([&] {
        if (!target_is(generation)) return;
        for (std::size_t i = 0; i < batch.transactions(); ++i) {
          batch.for_each_command(i, [this](std::span<const std::string_view> argv) {
            lf::Status a = server_.apply_logged(argv, false);
            if (!a.ok()) std::fprintf(stderr, "lfdb-server: replica: %s\n", a.message().c_str());
          });
        }
        applied_offset_.fetch_add(batch.consumed, std::memory_order_acq_rel);
        // Our own log takes the primary's records verbatim (whole transactions), so its
        // length says where we stand (save_position).
        if (AppendLog* log = server_.append_log()) {
          log->append(std::string_view(link.input().data(), batch.consumed));
        }
        applied = true;
      });
      if (AppendLog* log = server_.append_log(); applied && log != nullptr &&
                                                 log->policy() != FsyncPolicy::kAlways) {
        log->write_pending();
      }
      if (!applied) return "";
      applied_transactions_.fetch_add(batch.transactions(), std::memory_order_relaxed);
      link.input().erase(0, batch.consumed);
    }
    const std::int64_t now = now_ms();
    const std::uint64_t off = applied_offset_.load();
    if ((off != acked && now - last_ack >= 10) || now - last_ack >= 1000) {
      if (!link.send_all(encode({"REPLCONF", "ACK", std::to_string(off)}))) return "connection lost";
      acked = off;
      last_ack = now;
    }
  }
  return "";
}

}  // namespace lfdb::db
