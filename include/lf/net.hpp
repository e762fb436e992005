// Wrapper facades over BSD sockets: InetAddr (an IPv4 address and port, or a UNIX domain
// socket's path), SockStream (a connected stream), Acceptor (a listening socket) and Connector. They own their fd (closed in the destructor), report
// failures as lf::Status, and never throw.
// Thread-safety: none of their own; the concurrency models make sure one thread at a time
// reads, and one at a time writes, a given stream.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "lf/status.hpp"
#include "lf/time.hpp"

namespace lf {

// Where a socket listens or connects: an IPv4 or IPv6 address and port, or the path of a UNIX
// domain socket (AF_UNIX, SOCK_STREAM). Acceptor and Connector take any; a connection accepted
// on a UNIX domain socket has the listener's path as its peer (the kernel names no client end).
class InetAddr {
 public:
  InetAddr() = default;
  // "127.0.0.1", "::1", "0.0.0.0", "*" (every IPv4 address), "::" or "::*" (every IPv6
  // address), "localhost", or a host name (its first IPv4 address, else its first IPv6 one).
  static Result<InetAddr> resolve(const std::string& host, std::uint16_t port);
  // From a socket address of family AF_INET or AF_INET6 (any other: the zero address).
  static InetAddr of(const sockaddr* sa);
  static InetAddr of(const sockaddr_in& sa) { return of(reinterpret_cast<const sockaddr*>(&sa)); }
  // A UNIX domain socket's path (an error when it does not fit in sockaddr_un, or is empty, or
  // when the process already interned 65,536 paths).
  static Result<InetAddr> unix_socket(const std::string& path);
  // The local end of a connected or bound socket (getsockname); the zero address when fd is not
  // an IP socket.
  static InetAddr local_of(int fd);
  bool is_unix_socket() const { return family_ == AF_UNIX; }
  bool is_ipv6() const { return family_ == AF_INET6; }
  int family() const { return family_ == AF_INET6 || family_ == AF_UNIX ? family_ : AF_INET; }
  std::string path() const;                                   // empty for IPv4 and IPv6
  std::uint16_t port() const { return is_unix_socket() ? 0 : ntohs(port_); }  // UNIX: 0
  // The address alone: "127.0.0.1", "::1" (empty for a UNIX domain socket).
  std::string host() const;
  // "127.0.0.1:6379", "[::1]:6379"; a UNIX domain socket "/run/db.sock:0" (the forms Redis's
  // CLIENT LIST uses).
  std::string to_string() const;
  // The IPv4 loopback address 127.0.0.1 or the IPv6 one ::1, exactly (Redis's "local client").
  bool is_loopback_host() const;
  // The socket address to bind or connect an IP socket to; its length (0 for AF_UNIX).
  socklen_t native(sockaddr_storage& out) const;
  bool operator==(const InetAddr& o) const {
    return family() == o.family() && port_ == o.port_ && std::memcmp(&a_, &o.a_, sizeof a_) == 0;
  }

 private:
  // Kept small: a connection holds two (memory.md, "Memory per connection"). IPv4 and IPv6
  // keep the address itself (no IPv6 flow label or scope: lfdb names link-local addresses by
  // no interface); a UNIX domain socket keeps in port_ the number of its path among the
  // process's interned paths (unix_socket(); a process names a few).
  std::uint16_t family_ = 0;  // AF_INET (0: the zero IPv4 address), AF_INET6 or AF_UNIX
  std::uint16_t port_ = 0;    // network byte order; AF_UNIX: the path's number
  union {
    in6_addr v6;  // first: a_{} zeroes all 16 bytes, so operator== may compare them whole
    in_addr v4;
  } a_{};
};

// Redis's `bind` list (redis.conf): addresses separated by spaces, each an IPv4 or IPv6 address
// or host name, "*" for every IPv4 address and "::*" for every IPv6 one; a leading "-" makes an
// address optional. An empty list listens on no TCP address at all.
struct BindAddress {
  std::string text;  // as written, without the "-"
  bool optional = false;
};
std::vector<BindAddress> parse_bind_list(const std::string& list);

// Outcome of a non-blocking read or write.
struct IoResult {
  long n = 0;          // bytes moved (> 0), 0 with eof or would_block
  bool eof = false;    // the peer closed
  bool would_block = false;
  int err = 0;         // errno of a hard failure
  bool ok() const { return err == 0; }
};

class SockStream {
 public:
  SockStream() = default;
  explicit SockStream(int fd) : fd_(fd) {}
  SockStream(SockStream&& o) noexcept : fd_(o.release()) {}
  SockStream& operator=(SockStream&& o) noexcept;
  ~SockStream() { close(); }

  int handle() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release() { int f = fd_; fd_ = -1; return f; }
  void close();

  IoResult recv(void* buf, std::size_t len);
  IoResult send(const void* buf, std::size_t len);
  // `flags`: more send(2) flags (MSG_DONTWAIT: a blocking socket's send that must not block).
  IoResult sendv(const iovec* iov, int iovcnt, int flags = 0);
  // Blocking helpers for blocking sockets (thread-per-connection, clients, tests).
  Status send_all(std::string_view data);
  Status recv_exact(void* buf, std::size_t len);

  Status set_nonblocking(bool on);
  Status set_nodelay(bool on);
  // TCP keep-alive: probes after `idle_s` idle seconds, then every third of that, three times
  // (how redis-server sets up its clients' sockets).
  Status set_keepalive(int idle_s);
  void shutdown_both();  // wakes a thread blocked in recv on this socket
  // Lets go of the socket as close() would (the peer sees the end unless another descriptor
  // holds the socket open), while the descriptor number stays ours, pointed at /dev/null,
  // until close(): for a socket another thread may still name (shutdown_both on it is then a
  // harmless ENOTSOCK).
  void let_go();

 private:
  int fd_ = -1;
};

struct AcceptorOptions {
  int backlog = 1024;
  bool reuse_port = false;  // SO_REUSEPORT: several acceptors share one port (lf-multi)
  bool nonblocking = true;
  // A UNIX domain socket's file mode (chmod after bind, e.g. 0700); 0 leaves what the umask made.
  unsigned unix_perm = 0;
};

class Acceptor {
 public:
  Acceptor() = default;
  Acceptor(Acceptor&& o) noexcept : fd_(o.fd_), addr_(o.addr_) { o.fd_ = -1; }
  Acceptor& operator=(Acceptor&& o) noexcept;  // closes the socket it held
  ~Acceptor();
  // An IPv4 address, or a UNIX domain socket's path: a file left there (a socket of an earlier
  // run) is replaced, and the file the acceptor made is removed again when it closes.
  Status open(const InetAddr& addr, AcceptorOptions options = {});
  // A new connection (non-blocking, close-on-exec), or would_block in `io` when none is pending.
  SockStream accept(IoResult& io, InetAddr* peer = nullptr);
  int handle() const { return fd_; }
  const InetAddr& local_addr() const { return addr_; }
  void close();

 private:
  int fd_ = -1;
  InetAddr addr_;
};

class Connector {
 public:
  // A blocking connect with a timeout; the stream comes back in blocking mode (TCP: with
  // TCP_NODELAY). addr may be a UNIX domain socket's path.
  static Result<SockStream> connect(const InetAddr& addr, Duration timeout = std::chrono::seconds(5));
};

// Listening sockets for every address of `list` at `port`, `copies` sockets each (lf-multi's
// handle sets share an address with SO_REUSEPORT), as Redis's listenToPort opens them: an
// optional address the machine does not have (EADDRNOTAVAIL), and an address of a family the
// kernel does not offer (EAFNOSUPPORT and kin), is skipped; any other failure closes what was
// opened and is the result. IPv6 sockets are IPV6_V6ONLY, so "*" and "::*" both fit on one port.
// Port 0: the first socket picks a free port and every other one takes the same.
// An address `ours` says the caller listens on already (a rebind that keeps it) is not opened
// again, which would fail while the old socket listens: its entry has no sockets, and the caller
// keeps its own.
struct Listening {
  InetAddr addr;                  // the address, with the port it has
  std::vector<Acceptor> sockets;  // `copies` of them; none: `ours` (kept by the caller)
};
Result<std::vector<Listening>> open_listeners(const std::string& list, std::uint16_t port,
                                              AcceptorOptions options, int copies = 1,
                                              const std::function<bool(const InetAddr&)>& ours = {});

}  // namespace lf
