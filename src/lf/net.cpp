#include "lf/net.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>

#include "lf/mutex.hpp"

namespace lf {

Result<InetAddr> InetAddr::resolve(const std::string& host, std::uint16_t port) {
  InetAddr a;
  a.port_ = htons(port);
  std::string h = host == "localhost" ? "127.0.0.1" : host;
  if (h.empty() || h == "*") h = "0.0.0.0";
  if (h == "::*") h = "::";
  if (::inet_pton(AF_INET, h.c_str(), &a.a_.v4) == 1) {
    a.family_ = AF_INET;
    return a;
  }
  if (::inet_pton(AF_INET6, h.c_str(), &a.a_.v6) == 1) {
    a.family_ = AF_INET6;
    return a;
  }
  // A name: its first IPv4 address, else its first IPv6 one.
  for (const int family : {AF_INET, AF_INET6}) {
    addrinfo hints{};
    hints.ai_family = family;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    if (::getaddrinfo(h.c_str(), nullptr, &hints, &res) == 0 && res != nullptr) {
      InetAddr found = of(res->ai_addr);
      ::freeaddrinfo(res);
      found.port_ = htons(port);
      return found;
    }
  }
  return Status::error("cannot resolve address '" + host + "'", EADDRNOTAVAIL);
}

InetAddr InetAddr::of(const sockaddr* sa) {
  InetAddr a;
  if (sa->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(sa);
    a.family_ = AF_INET;
    a.port_ = in->sin_port;
    a.a_.v4 = in->sin_addr;
  } else if (sa->sa_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
    a.family_ = AF_INET6;
    a.port_ = in6->sin6_port;
    a.a_.v6 = in6->sin6_addr;
  }
  return a;
}

socklen_t InetAddr::native(sockaddr_storage& out) const {
  out = sockaddr_storage{};
  if (family_ == AF_INET6) {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&out);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = port_;
    in6->sin6_addr = a_.v6;
    return sizeof(sockaddr_in6);
  }
  if (family_ == AF_UNIX) return 0;
  auto* in = reinterpret_cast<sockaddr_in*>(&out);
  in->sin_family = AF_INET;
  in->sin_port = port_;
  in->sin_addr = a_.v4;
  return sizeof(sockaddr_in);
}

bool InetAddr::is_loopback_host() const {
  if (family_ == AF_INET6) return IN6_IS_ADDR_LOOPBACK(&a_.v6);
  return family_ == AF_INET && a_.v4.s_addr == htonl(INADDR_LOOPBACK);
}

std::string InetAddr::host() const {
  if (is_unix_socket()) return std::string();
  char buf[INET6_ADDRSTRLEN] = {0};
  if (family_ == AF_INET6) ::inet_ntop(AF_INET6, &a_.v6, buf, sizeof buf);
  else ::inet_ntop(AF_INET, &a_.v4, buf, sizeof buf);
  return buf;
}

namespace {
// The UNIX domain socket paths InetAddr names by number: added, never removed (a process uses a
// few: its listeners', the ones it connects to).
Mutex g_paths_mu;
std::deque<std::string> g_paths LF_GUARDED_BY(g_paths_mu);

bool intern_path(const std::string& path, std::uint16_t& number) {
  MutexLock lock(g_paths_mu);
  for (std::size_t i = 0; i < g_paths.size(); ++i) {
    if (g_paths[i] == path) {
      number = static_cast<std::uint16_t>(i);
      return true;
    }
  }
  if (g_paths.size() > 0xffff) return false;
  number = static_cast<std::uint16_t>(g_paths.size());
  g_paths.push_back(path);
  return true;
}
}  // namespace

Result<InetAddr> InetAddr::unix_socket(const std::string& path) {
  if (path.empty() || path.size() >= sizeof(sockaddr_un{}.sun_path)) {
    return Status::error("a UNIX domain socket's path must have 1 to " +
                         std::to_string(sizeof(sockaddr_un{}.sun_path) - 1) + " bytes: '" + path + "'");
  }
  std::uint16_t number = 0;
  if (!intern_path(path, number)) return Status::error("too many UNIX domain socket paths");
  InetAddr a;
  a.family_ = AF_UNIX;
  a.port_ = number;
  return a;
}

std::string InetAddr::path() const {
  if (!is_unix_socket()) return std::string();
  MutexLock lock(g_paths_mu);
  return g_paths[port_];
}

// The sockaddr_un of a UNIX domain socket's address (its path fits: unix_socket checked it).
static sockaddr_un unix_sockaddr(const InetAddr& addr) {
  sockaddr_un su{};
  su.sun_family = AF_UNIX;
  const std::string path = addr.path();
  std::memcpy(su.sun_path, path.data(), path.size());
  return su;
}

std::string InetAddr::to_string() const {
  if (is_unix_socket()) return path() + ":0";
  if (is_ipv6()) return "[" + host() + "]:" + std::to_string(port());
  return host() + ":" + std::to_string(port());
}

InetAddr InetAddr::local_of(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (fd < 0 || ::getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return InetAddr();
  return of(reinterpret_cast<const sockaddr*>(&ss));
}

SockStream& SockStream::operator=(SockStream&& o) noexcept {
  if (this != &o) {
    close();
    fd_ = o.release();
  }
  return *this;
}

void SockStream::close() {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

static IoResult io_result(ssize_t n, bool reading) {
  IoResult r;
  if (n > 0) {
    r.n = n;
  } else if (n == 0 && reading) {
    r.eof = true;
  } else if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) r.would_block = true;
    else r.err = errno;
  }
  return r;
}

IoResult SockStream::recv(void* buf, std::size_t len) {
  ssize_t n;
  do {
    n = ::recv(fd_, buf, len, 0);
  } while (n < 0 && errno == EINTR);
  return io_result(n, true);
}

IoResult SockStream::send(const void* buf, std::size_t len) {
  ssize_t n;
  do {
    n = ::send(fd_, buf, len, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  return io_result(n, false);
}

IoResult SockStream::sendv(const iovec* iov, int iovcnt, int flags) {
  msghdr msg{};
  msg.msg_iov = const_cast<iovec*>(iov);
  msg.msg_iovlen = static_cast<std::size_t>(iovcnt);
  ssize_t n;
  do {
    n = ::sendmsg(fd_, &msg, MSG_NOSIGNAL | flags);
  } while (n < 0 && errno == EINTR);
  return io_result(n, false);
}

Status SockStream::send_all(std::string_view data) {
  while (!data.empty()) {
    IoResult r = send(data.data(), data.size());
    if (r.would_block) {
      pollfd p{fd_, POLLOUT, 0};
      ::poll(&p, 1, 1000);
      continue;
    }
    if (!r.ok()) return Status::from_errno("send", r.err);
    data.remove_prefix(static_cast<std::size_t>(r.n));
  }
  return Status();
}

Status SockStream::recv_exact(void* buf, std::size_t len) {
  auto* p = static_cast<char*>(buf);
  while (len > 0) {
    IoResult r = recv(p, len);
    if (r.would_block) {
      pollfd pf{fd_, POLLIN, 0};
      ::poll(&pf, 1, 1000);
      continue;
    }
    if (r.eof) return Status::error("recv: connection closed by peer");
    if (!r.ok()) return Status::from_errno("recv", r.err);
    p += r.n;
    len -= static_cast<std::size_t>(r.n);
  }
  return Status();
}

Status SockStream::set_nonblocking(bool on) {
  int flags = ::fcntl(fd_, F_GETFL, 0);
  if (flags < 0) return Status::from_errno("fcntl(F_GETFL)");
  flags = on ? (flags | O_NONBLOCK) : (flags & ~O_NONBLOCK);
  if (::fcntl(fd_, F_SETFL, flags) < 0) return Status::from_errno("fcntl(F_SETFL)");
  return Status();
}

Status SockStream::set_keepalive(int idle_s) {
  int one = 1;
  if (::setsockopt(fd_, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one) != 0) return Status::from_errno("SO_KEEPALIVE");
  int interval = std::max(1, idle_s / 3), count = 3;
  if (::setsockopt(fd_, IPPROTO_TCP, TCP_KEEPIDLE, &idle_s, sizeof idle_s) != 0 ||
      ::setsockopt(fd_, IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof interval) != 0 ||
      ::setsockopt(fd_, IPPROTO_TCP, TCP_KEEPCNT, &count, sizeof count) != 0) {
    return Status::from_errno("TCP_KEEPIDLE");
  }
  return Status();
}

Status SockStream::set_nodelay(bool on) {
  int v = on ? 1 : 0;
  if (::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &v, sizeof v) != 0) return Status::from_errno("TCP_NODELAY");
  return Status();
}

void SockStream::shutdown_both() {
  if (fd_ >= 0) ::shutdown(fd_, SHUT_RDWR);
}

void SockStream::let_go() {
  if (fd_ < 0) return;
  const int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null < 0 || ::dup3(null, fd_, O_CLOEXEC) < 0) shutdown_both();  // the end, at least
  if (null >= 0) ::close(null);
}

Acceptor::~Acceptor() { close(); }

Acceptor& Acceptor::operator=(Acceptor&& o) noexcept {
  if (this != &o) {
    close();
    fd_ = o.fd_;
    addr_ = o.addr_;
    o.fd_ = -1;
  }
  return *this;
}

void Acceptor::close() {
  if (fd_ >= 0) {
    // Out of the listening state first (Linux resets what waits in the backlog): a copy of the
    // descriptor a forked child still holds (a background save) would otherwise keep the port
    // taking connections nobody accepts.
    if (!addr_.is_unix_socket()) (void)::shutdown(fd_, SHUT_RD);
    ::close(fd_);
    fd_ = -1;
    // The path names this socket no more: a client would get "connection refused" from a file
    // that looks like a server's.
    if (addr_.is_unix_socket()) (void)::unlink(addr_.path().c_str());
  }
}

// A listening UNIX domain socket at addr's path, as the TCP one below.
static Status open_unix(const InetAddr& addr, const AcceptorOptions& options, int& out) {
  int type = SOCK_STREAM | SOCK_CLOEXEC | (options.nonblocking ? SOCK_NONBLOCK : 0);
  int fd = ::socket(AF_UNIX, type, 0);
  if (fd < 0) return Status::from_errno("socket");
  const sockaddr_un su = unix_sockaddr(addr);
  // A socket file left by a server that did not remove it (killed) would fail the bind.
  (void)::unlink(addr.path().c_str());
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&su), sizeof su) != 0) {
    Status st = Status::from_errno("bind " + addr.path());
    ::close(fd);
    return st;
  }
  if (options.unix_perm != 0 && ::chmod(addr.path().c_str(), static_cast<mode_t>(options.unix_perm)) != 0) {
    Status st = Status::from_errno("chmod " + addr.path());
    ::close(fd);
    (void)::unlink(addr.path().c_str());
    return st;
  }
  if (::listen(fd, options.backlog) != 0) {
    Status st = Status::from_errno("listen");
    ::close(fd);
    (void)::unlink(addr.path().c_str());
    return st;
  }
  out = fd;
  return Status();
}

Status Acceptor::open(const InetAddr& addr, AcceptorOptions options) {
  close();
  if (addr.is_unix_socket()) {
    int fd = -1;
    if (Status st = open_unix(addr, options, fd); !st.ok()) return st;
    fd_ = fd;
    addr_ = addr;
    return Status();
  }
  int type = SOCK_STREAM | SOCK_CLOEXEC | (options.nonblocking ? SOCK_NONBLOCK : 0);
  int fd = ::socket(addr.family(), type, 0);
  if (fd < 0) return Status::from_errno("socket");
  int one = 1;
  // An IPv6 socket takes IPv6 alone, as Redis's: "::" and "0.0.0.0" can then share a port.
  if (addr.is_ipv6() && ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) != 0) {
    Status st = Status::from_errno("IPV6_V6ONLY");
    ::close(fd);
    return st;
  }
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (options.reuse_port && ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
    Status st = Status::from_errno("SO_REUSEPORT");
    ::close(fd);
    return st;
  }
  sockaddr_storage sa{};
  const socklen_t sa_len = addr.native(sa);
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&sa), sa_len) != 0) {
    Status st = Status::from_errno("bind " + addr.to_string());
    ::close(fd);
    return st;
  }
  if (::listen(fd, options.backlog) != 0) {
    Status st = Status::from_errno("listen");
    ::close(fd);
    return st;
  }
  fd_ = fd;
  addr_ = InetAddr::local_of(fd);
  return Status();
}

SockStream Acceptor::accept(IoResult& io, InetAddr* peer) {
  sockaddr_storage sa{};
  socklen_t len = sizeof sa;
  int fd;
  do {
    fd = ::accept4(fd_, reinterpret_cast<sockaddr*>(&sa), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  io = IoResult{};
  if (fd < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) io.would_block = true;
    else io.err = errno;
    return SockStream();
  }
  io.n = 1;
  if (addr_.is_unix_socket()) {
    if (peer != nullptr) *peer = addr_;  // an unbound client has no name of its own
    return SockStream(fd);
  }
  if (peer != nullptr) *peer = InetAddr::of(reinterpret_cast<const sockaddr*>(&sa));
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return SockStream(fd);
}

Result<SockStream> Connector::connect(const InetAddr& addr, Duration timeout) {
  const bool local = addr.is_unix_socket();
  int fd = ::socket(addr.family(), SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return Status::from_errno("socket");
  SockStream s(fd);
  const sockaddr_un su = local ? unix_sockaddr(addr) : sockaddr_un{};
  sockaddr_storage sa{};
  const socklen_t sa_len = addr.native(sa);
  const int rc = local ? ::connect(fd, reinterpret_cast<const sockaddr*>(&su), sizeof su)
                       : ::connect(fd, reinterpret_cast<const sockaddr*>(&sa), sa_len);
  if (rc != 0) {
    if (errno != EINPROGRESS) return Status::from_errno("connect " + addr.to_string());
    pollfd p{fd, POLLOUT, 0};
    int ms = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(timeout).count());
    int n = ::poll(&p, 1, ms);
    if (n == 0) return Status::error("connect " + addr.to_string() + ": timed out", ETIMEDOUT);
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) return Status::from_errno("connect " + addr.to_string(), err);
  }
  Status st = s.set_nonblocking(false);
  if (!st.ok()) return st;
  if (!local) (void)s.set_nodelay(true);
  return s;
}

std::vector<BindAddress> parse_bind_list(const std::string& list) {
  std::vector<BindAddress> out;
  std::size_t i = 0;
  while (i < list.size()) {
    while (i < list.size() && list[i] == ' ') ++i;
    std::size_t j = i;
    while (j < list.size() && list[j] != ' ') ++j;
    if (j > i) {
      BindAddress b;
      b.optional = list[i] == '-';
      b.text = list.substr(b.optional ? i + 1 : i, j - i - (b.optional ? 1 : 0));
      out.push_back(std::move(b));
    }
    i = j;
  }
  return out;
}

Result<std::vector<Listening>> open_listeners(const std::string& list, std::uint16_t port,
                                              AcceptorOptions options, int copies,
                                              const std::function<bool(const InetAddr&)>& ours) {
  std::vector<Listening> out;
  for (const BindAddress& b : parse_bind_list(list)) {
    auto addr = InetAddr::resolve(b.text, port);
    if (addr.ok() && port != 0 && ours && ours(*addr)) {
      out.push_back(Listening{*addr, {}});
      continue;
    }
    Status failed = addr.status();
    Listening l;
    l.sockets.resize(static_cast<std::size_t>(copies < 1 ? 1 : copies));
    if (addr.ok()) {
      for (Acceptor& a : l.sockets) {
        failed = a.open(*addr, options);
        if (!failed.ok()) break;
        port = a.local_addr().port();  // port 0 picked one: every other socket takes it
        addr = InetAddr::resolve(b.text, port);
      }
    }
    if (!failed.ok()) {
      const int err = failed.sys_errno();
      if (err == EADDRNOTAVAIL && b.optional) continue;  // not this machine's: skipped
      if (err == ENOPROTOOPT || err == EPROTONOSUPPORT || err == ESOCKTNOSUPPORT ||
          err == EPFNOSUPPORT || err == EAFNOSUPPORT) {
        continue;  // the kernel has no such family (no IPv6): skipped, as Redis skips it
      }
      return failed;  // `out` closes what was opened
    }
    l.addr = l.sockets[0].local_addr();
    out.push_back(std::move(l));
  }
  return out;
}

}  // namespace lf
