// Wrapper facades over BSD sockets: InetAddr (an IPv4 address and port, or a UNIX domain
// socket's path), SockStream (a connected stream), Acceptor (a listening socket) and Connector. They own their fd (closed in the destructor), report
// failures as lf::Status, and never throw.
// Thread-safety: none of their own; the concurrency models make sure one thread at a time
// reads, and one at a time writes, a given stream.
#pragma once

#include <netinet/in.h>
#include <sys/uio.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "lf/status.hpp"
#include "lf/time.hpp"

namespace lf {

// Where a socket listens or connects: an IPv4 address and port, or the path of a UNIX domain
// socket (AF_UNIX, SOCK_STREAM). Acceptor and Connector take either; a connection accepted on a
// UNIX domain socket has the listener's path as its peer (the kernel names no client end).
class InetAddr {
 public:
  InetAddr() = default;
  // "127.0.0.1", "0.0.0.0", "localhost"; IPv4 only for now.
  static Result<InetAddr> resolve(const std::string& host, std::uint16_t port);
  static InetAddr of(const sockaddr_in& sa) { InetAddr a; a.sa_ = sa; return a; }
  // A UNIX domain socket's path (an error when it does not fit in sockaddr_un, or is empty, or
  // when the process already interned 65,536 paths).
  static Result<InetAddr> unix_socket(const std::string& path);
  // The local end of a connected or bound socket (getsockname); the zero address when fd is not
  // an IPv4 socket.
  static InetAddr local_of(int fd);
  bool is_unix_socket() const { return sa_.sin_family == AF_UNIX; }
  std::string path() const;                                   // empty for IPv4
  std::uint16_t port() const { return is_unix_socket() ? 0 : ntohs(sa_.sin_port); }  // UNIX: 0
  // "127.0.0.1:6379"; a UNIX domain socket "/run/db.sock:0" (the form Redis's CLIENT LIST uses).
  std::string to_string() const;
  const sockaddr_in& native() const { return sa_; }  // IPv4 only (AF_UNIX's is no address)

 private:
  // IPv4: the address itself. A UNIX domain socket: sin_family AF_UNIX and, in sin_port, the
  // number of its path among the process's interned paths (unix_socket(); a process names a
  // few). The size stays an IPv4 address's: a connection holds two (memory.md, "Memory per
  // connection").
  sockaddr_in sa_{};
};

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
  IoResult sendv(const iovec* iov, int iovcnt);
  // Blocking helpers for blocking sockets (thread-per-connection, clients, tests).
  Status send_all(std::string_view data);
  Status recv_exact(void* buf, std::size_t len);

  Status set_nonblocking(bool on);
  Status set_nodelay(bool on);
  // TCP keep-alive: probes after `idle_s` idle seconds, then every third of that, three times
  // (how redis-server sets up its clients' sockets).
  Status set_keepalive(int idle_s);
  void shutdown_both();  // wakes a thread blocked in recv on this socket

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

}  // namespace lf
