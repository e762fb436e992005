// The replica's link to its primary: its phases and its socket. Overview in primary_link.hpp;
// protocol and guarantees in docs/replication.md.
#include "db/primary_link.hpp"

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

#include "db/server.hpp"
#include "db/snapshot.hpp"
#include "dispatch/transaction_cutter.hpp"

namespace lfdb::db {
namespace {

constexpr std::int64_t kIoTimeoutMs = 5000;

bool parse_reply_u64(std::string_view s, std::uint64_t& out) {
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

std::string state_path(const std::string& dir) { return dir + "/replica.state"; }

}  // namespace

// ---- the replica's saved position ------------------------------------------------------

lf::Result<ReplicaPosition> load_replica_position(const std::string& dir) {
  char replid[64] = {0};
  ReplicaPosition p;
  std::FILE* f = std::fopen(state_path(dir).c_str(), "r");
  if (f == nullptr) return lf::Status::from_errno("open " + state_path(dir));
  const bool ok =
      std::fscanf(f, "%63s %" SCNu64 " %" SCNu64, replid, &p.primary_offset, &p.file_offset) == 3;
  std::fclose(f);
  if (!ok) return lf::Status::error(state_path(dir) + ": not a replica position");
  p.replid = replid;
  return p;
}

void save_replica_position(const std::string& dir, const ReplicaPosition& p) {
  const std::string path = state_path(dir), tmp = path + ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "w");
  if (f == nullptr) return;
  std::fprintf(f, "%s %" PRIu64 " %" PRIu64 "\n", p.replid.c_str(), p.primary_offset,
               p.file_offset);
  const bool ok = std::fflush(f) == 0 && ::fsync(::fileno(f)) == 0;
  std::fclose(f);
  if (ok && std::rename(tmp.c_str(), path.c_str()) == 0) {
    const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
      (void)::fsync(dfd);
      ::close(dfd);
    }
  }
}

void forget_replica_position(const std::string& dir) { ::unlink(state_path(dir).c_str()); }

// ---- the phases --------------------------------------------------------------------------

PrimaryLink::PrimaryLink(Server& server, ReplicaProgress& progress, Control control)
    : server_(server), progress_(progress), control_(std::move(control)) {}

PrimaryLink::~PrimaryLink() {
  if (fd_ >= 0) ::close(fd_);
}

lf::Status PrimaryLink::run(const std::string& host, std::uint16_t port) {
  if (lf::Status s = connect(host, port); !s.ok()) return s;
  progress_.sync_in_progress.store(true, std::memory_order_release);
  lf::Result<Resync> r = handshake();
  if (!r.ok()) return r.status();
  if (r->full) {
    if (lf::Status s = full_resync(*r, host); !s.ok() || !control_.wanted()) return s;
    std::fprintf(stderr, "lfdb-server: full resync from %s:%u at offset %" PRIu64 ": %" PRIu64
                 " keys\n", host.c_str(), port, r->offset, server_.databases().size());
  } else {
    if (r->offset != progress_.applied_offset.load()) {
      return lf::Status::error("CONTINUE at an offset we did not ask for");
    }
    progress_.partial_syncs.fetch_add(1);
  }
  progress_.sync_in_progress.store(false, std::memory_order_release);
  progress_.link_up.store(true, std::memory_order_release);
  progress_.last_io_ms.store(now_ms(), std::memory_order_relaxed);
  return stream();
}

lf::Result<PrimaryLink::Resync> PrimaryLink::handshake() {
  // CONFIG SET may have changed masterauth since start: the next handshake uses it, as Redis's.
  const std::string masterauth = server_.config().value("masterauth");
  if (!masterauth.empty()) {
    // masteruser: AUTH as that ACL user (Redis's two-argument AUTH), else as the default user.
    const std::string user = server_.config().value("masteruser");
    const std::string auth = user.empty() ? encode({"AUTH", masterauth}) : encode({"AUTH", user, masterauth});
    if (!send_all(auth).ok()) return lf::Status::error("AUTH: no answer");
    lf::Result<std::string> line = read_line();
    if (!line.ok()) return lf::Status::error("AUTH: no answer");
    // Redis's words for it, which its operators (and its test suite) look for in the log.
    if (*line != "+OK") return lf::Status::error("Unable to AUTH to MASTER: " + *line);
  }
  const std::string offset = std::to_string(progress_.applied_offset.load());
  if (!send_all(encode({"LFDB.SYNC", progress_.master_replid(), offset,
                        std::to_string(server_.port())})).ok()) {
    return lf::Status::error("LFDB.SYNC: no answer");
  }
  lf::Result<std::string> answer = read_line();
  if (!answer.ok()) return lf::Status::error("LFDB.SYNC: no answer");
  const std::string& line = *answer;
  Resync r;
  r.full = line.rfind("+FULLRESYNC ", 0) == 0;
  if (!r.full && line.rfind("+CONTINUE ", 0) != 0) {
    if (line.rfind("-NOMASTERLINK", 0) == 0) progress_.set_master_replid("?");  // full next time
    return lf::Status::error("LFDB.SYNC refused: " + line);
  }
  const std::size_t sp1 = line.find(' '), sp2 = line.find(' ', sp1 + 1);
  if (sp2 == std::string::npos || !parse_reply_u64(std::string_view(line).substr(sp2 + 1), r.offset)) {
    return lf::Status::error("bad resync line: " + line);
  }
  r.replid = line.substr(sp1 + 1, sp2 - sp1 - 1);
  return r;
}

lf::Status PrimaryLink::full_resync(const Resync& r, const std::string& host) {
  lf::Result<std::string> header = read_line();
  std::uint64_t n = 0;
  if (!header.ok() || header->empty() || (*header)[0] != '$' ||
      !parse_reply_u64(std::string_view(*header).substr(1), n)) {
    return lf::Status::error("bad snapshot header: " + (header.ok() ? *header : std::string()));
  }
  std::string snap;
  if (!read_exact(n, snap).ok()) return lf::Status::error("snapshot transfer broke off");
  Databases& ks = server_.databases();
  auto clear_keyspace = [&ks] { ks.clear(); };
  lf::Status loaded;
  const bool ran = control_.run_alone([&] {
    clear_keyspace();
    auto l = load_snapshot_bytes(snap, ks, "full resync from " + host);
    server_.restart_apply_db();  // the stream after the snapshot starts with its SELECT
    if (l.ok()) {
      // The primary's libraries replace ours (none there: none here).
      if (lf::Status st = server_.restore_libraries(l->libraries); !st.ok()) loaded = st;
    } else {
      loaded = l.status();
      clear_keyspace();
    }
    progress_.applied_offset.store(r.offset, std::memory_order_release);
    const std::string& dir = server_.initial_config().dir;
    if (l.ok() && server_.append_log() != nullptr) {
      // Our log becomes this keyspace, then the stream as applied: a restart resumes.
      forget_replica_position(dir);
      auto size = server_.persistence().rewrite_log_now();
      if (size.ok()) {
        save_replica_position(dir, {r.replid, r.offset, *size});
      } else {
        std::fprintf(stderr, "lfdb-server: replica: its log after the full resync: %s\n",
                     size.status().message().c_str());
      }
    }
    progress_.set_master_replid(l.ok() ? r.replid : "?");
  });
  if (!ran) return lf::Status();  // REPLICAOF changed meanwhile: not an error
  if (!loaded.ok()) return lf::Status::error("snapshot: " + loaded.message());
  progress_.full_syncs.fetch_add(1);
  return lf::Status();
}

lf::Status PrimaryLink::stream() {
  dispatch::TransactionBatch batch;
  std::int64_t last_ack = 0;
  std::uint64_t acked = ~std::uint64_t{0};
  while (!stopping()) {
    if (!control_.wanted()) return lf::Status();
    const std::size_t before = in_.size();
    if (lf::Status s = fill(100); !s.ok()) return s;
    if (in_.size() != before) progress_.last_io_ms.store(now_ms(), std::memory_order_relaxed);
    if (lf::Status st = dispatch::cut_transactions(in_, batch); !st.ok()) return st;
    if (batch.transactions() > 0) {
      const bool ran = control_.run_alone([&] {
        for (std::size_t i = 0; i < batch.transactions(); ++i) {
          batch.for_each_command(i, [this](std::span<const std::string_view> argv) {
            lf::Status a = server_.apply_logged(argv, false);
            if (!a.ok()) std::fprintf(stderr, "lfdb-server: replica: %s\n", a.message().c_str());
          });
        }
        progress_.applied_offset.fetch_add(batch.consumed, std::memory_order_acq_rel);
        // Our own log takes the primary's records verbatim (whole transactions), so its
        // length says where we stand (the saved replica position).
        if (AppendLog* log = server_.append_log()) {
          log->append_verbatim(std::string_view(in_.data(), batch.consumed));
        }
      });
      if (!ran) return lf::Status();
      if (AppendLog* log = server_.append_log(); log != nullptr &&
                                                 log->policy() != FsyncPolicy::kAlways) {
        log->write_pending();
      }
      progress_.applied_transactions.fetch_add(batch.transactions(), std::memory_order_relaxed);
      in_.erase(0, batch.consumed);
    }
    const std::int64_t now = now_ms();
    const std::uint64_t off = progress_.applied_offset.load();
    if ((off != acked && now - last_ack >= 10) || now - last_ack >= 1000) {
      if (lf::Status s = send_all(encode({"REPLCONF", "ACK", std::to_string(off)})); !s.ok()) return s;
      acked = off;
      last_ack = now;
    }
  }
  return lf::Status();
}

// ---- the socket --------------------------------------------------------------------------

lf::Status PrimaryLink::connect(const std::string& host, std::uint16_t port) {
  addrinfo hints{};
  // A name is taken as IPv4 ("localhost" might else be ::1, where a primary bound to 127.0.0.1
  // does not listen); an IPv6 address as written.
  hints.ai_family = host.find(':') != std::string::npos ? AF_INET6 : AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  const std::string service = std::to_string(port);
  if (::getaddrinfo(host.c_str(), service.c_str(), &hints, &res) != 0 || res == nullptr) {
    return lf::Status::error("cannot resolve " + host);
  }
  fd_ = ::socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd_ < 0) {
    ::freeaddrinfo(res);
    return lf::Status::from_errno("socket");
  }
  // bind-source-addr: the connection leaves from that address (any port), as Redis's does.
  if (const std::string source = server_.config().value("bind-source-addr"); !source.empty()) {
    auto from = lf::InetAddr::resolve(source, 0);
    sockaddr_storage sa{};
    const socklen_t sa_len = from.ok() ? from->native(sa) : 0;
    if (sa_len == 0 || ::bind(fd_, reinterpret_cast<const sockaddr*>(&sa), sa_len) != 0) {
      const int err = from.ok() ? errno : EADDRNOTAVAIL;
      ::freeaddrinfo(res);
      return lf::Status::from_errno("bind-source-addr " + source, err);
    }
  }
  const int rc = ::connect(fd_, res->ai_addr, res->ai_addrlen);
  ::freeaddrinfo(res);
  if (rc != 0 && errno != EINPROGRESS) return lf::Status::from_errno("connect");
  pollfd p{fd_, POLLOUT, 0};
  if (::poll(&p, 1, 1000) != 1) return lf::Status::error("connect: timed out");
  int err = 0;
  socklen_t len = sizeof err;
  ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len);
  if (err != 0) return lf::Status::from_errno("connect", err);
  int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return lf::Status();
}

lf::Status PrimaryLink::send_all(std::string_view bytes) {
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
      if (::poll(&p, 1, static_cast<int>(kIoTimeoutMs)) != 1) {
        return lf::Status::error("connection lost (send timed out)");
      }
      continue;
    }
    return lf::Status::error("connection lost");
  }
  return lf::Status();
}

lf::Status PrimaryLink::fill(int timeout_ms) {
  pollfd p{fd_, POLLIN, 0};
  const int r = ::poll(&p, 1, timeout_ms);
  if (r < 0) return errno == EINTR ? lf::Status() : lf::Status::error("connection lost");
  if (r == 0) return lf::Status();
  char buf[64 * 1024];
  for (;;) {
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n > 0) {
      in_.append(buf, static_cast<std::size_t>(n));
      if (static_cast<std::size_t>(n) < sizeof buf) return lf::Status();
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return lf::Status();
    return lf::Status::error("connection lost");
  }
}

lf::Result<std::string> PrimaryLink::read_line() {
  const std::int64_t deadline = now_ms() + kIoTimeoutMs;
  for (;;) {
    const std::size_t eol = in_.find("\r\n");
    if (eol != std::string::npos) {
      std::string line = in_.substr(0, eol);
      in_.erase(0, eol + 2);
      return line;
    }
    if (stopping()) return lf::Status::error("stopping");
    if (now_ms() > deadline) return lf::Status::error("timed out");
    if (lf::Status s = fill(100); !s.ok()) return s;
  }
}

lf::Status PrimaryLink::read_exact(std::size_t n, std::string& out) {
  std::int64_t deadline = now_ms() + kIoTimeoutMs;
  std::size_t seen = in_.size();
  while (in_.size() < n) {
    if (stopping()) return lf::Status::error("stopping");
    if (now_ms() > deadline) return lf::Status::error("timed out");
    if (lf::Status s = fill(100); !s.ok()) return s;
    if (in_.size() != seen) {  // progress: a big snapshot may take longer than one timeout
      seen = in_.size();
      deadline = now_ms() + kIoTimeoutMs;
    }
  }
  out = in_.substr(0, n);
  in_.erase(0, n);
  return lf::Status();
}

}  // namespace lfdb::db
