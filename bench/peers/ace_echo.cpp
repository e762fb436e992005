// ace-echo-server: the echo peer on ACE 7 (Debian libace-dev). Its reactor is run by --threads
// threads, so ACE itself does the Leader/Followers work: with ACE_TP_Reactor (the default,
// select-based) one thread at a time holds the reactor token and waits, takes one event,
// suspends that handler, hands the token on and runs the upcall; ACE_Dev_Poll_Reactor (epoll,
// --reactor dev-poll) works the same way over epoll. Each connection is one Event_Handler that
// reads what is there and writes it back, as lf-echo-server does.
//   ace-echo-server --reactor tp --threads 4 --port 7002
#include <ace/Dev_Poll_Reactor.h>
#include <ace/INET_Addr.h>
#include <ace/Reactor.h>
#include <ace/SOCK_Acceptor.h>
#include <ace/SOCK_Stream.h>
#include <ace/TP_Reactor.h>
#include <ace/Thread_Manager.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstring>
#include <memory>
#include <string>

#include "peer_main.hpp"

namespace {

constexpr int kBacklog = 1024;

// One connection. The reactor suspends it while an upcall runs, so its members are only ever
// touched by one thread at a time. It is registered for exactly one of READ or WRITE: WRITE only
// while a reply could not be sent whole, so a slow reader stops being read from (backpressure)
// and every close goes through a single handle_close.
class EchoHandler final : public ACE_Event_Handler {
 public:
  EchoHandler(ACE_Reactor* reactor, ACE_SOCK_Stream stream) : ACE_Event_Handler(reactor), stream_(stream) {}

  ACE_HANDLE get_handle() const override { return stream_.get_handle(); }

  int handle_input(ACE_HANDLE) override {
    char buf[peers::kReadChunk];
    ssize_t n = stream_.recv(buf, sizeof buf);
    if (n == 0) return -1;
    if (n < 0) return errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
    return send_or_wait(buf, static_cast<std::size_t>(n));
  }

  int handle_output(ACE_HANDLE) override {
    std::string rest;
    rest.swap(pending_);
    if (send_or_wait(rest.data(), rest.size()) < 0) return -1;
    if (!pending_.empty()) return 0;
    // mask_ops returns the old mask, and a positive return from an upcall asks to be called
    // again: map it to 0 / -1.
    return reactor()->mask_ops(this, ACE_Event_Handler::READ_MASK, ACE_Reactor::SET_MASK) < 0 ? -1 : 0;
  }

  int handle_close(ACE_HANDLE, ACE_Reactor_Mask) override {
    stream_.close();
    delete this;
    return 0;
  }

 private:
  // Sends what it can; keeps the rest and waits for WRITE. -1 closes the connection.
  int send_or_wait(const char* data, std::size_t len) {
    ssize_t sent = stream_.send(data, len);
    if (sent < 0) {
      if (errno != EWOULDBLOCK && errno != EINTR) return -1;
      sent = 0;
    }
    if (static_cast<std::size_t>(sent) == len) return 0;
    pending_.assign(data + sent, len - static_cast<std::size_t>(sent));
    return reactor()->mask_ops(this, ACE_Event_Handler::WRITE_MASK, ACE_Reactor::SET_MASK) < 0 ? -1 : 0;
  }

  ACE_SOCK_Stream stream_;
  std::string pending_;
};

// The listening socket: accepts every pending connection when it becomes readable.
class Acceptor final : public ACE_Event_Handler {
 public:
  explicit Acceptor(ACE_Reactor* reactor) : ACE_Event_Handler(reactor) {}

  int open(const ACE_INET_Addr& at) {
    // ACE's default backlog is 5: 100 clients connecting at once would see SYNs dropped and
    // retried a second later. liblf's acceptor listens with 1024; so does this one.
    if (acceptor_.open(at, /*reuse_addr=*/1, PF_UNSPEC, kBacklog) < 0) return -1;
    acceptor_.enable(ACE_NONBLOCK);
    return reactor()->register_handler(this, ACE_Event_Handler::ACCEPT_MASK);
  }

  unsigned port() const {
    ACE_INET_Addr local;
    acceptor_.get_local_addr(local);
    return local.get_port_number();
  }

  ACE_HANDLE get_handle() const override { return acceptor_.get_handle(); }

  int handle_input(ACE_HANDLE) override {
    for (;;) {
      ACE_SOCK_Stream stream;
      if (acceptor_.accept(stream) < 0) return 0;  // EWOULDBLOCK: all taken (or a transient error)
      stream.enable(ACE_NONBLOCK);
      // liblf's acceptor sets TCP_NODELAY too; without it small echoes wait for Nagle.
      int one = 1;
      stream.set_option(IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      auto* handler = new EchoHandler(reactor(), stream);
      if (reactor()->register_handler(handler, ACE_Event_Handler::READ_MASK) < 0) handler->handle_close(ACE_INVALID_HANDLE, 0);
    }
  }

  int handle_close(ACE_HANDLE, ACE_Reactor_Mask) override {
    acceptor_.close();
    return 0;
  }

 private:
  ACE_SOCK_Acceptor acceptor_;
};

ACE_THR_FUNC_RETURN run_loop(void* arg) {
  static_cast<ACE_Reactor*>(arg)->run_reactor_event_loop();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ace-echo-server: echo on an ACE reactor run by N threads"};
  peers::PeerOptions o;
  std::string kind = "tp";
  app.add_option("--reactor", kind, "tp (ACE_TP_Reactor) | dev-poll (ACE_Dev_Poll_Reactor)")->capture_default_str();
  app.add_option("--threads", o.threads, "threads running the reactor event loop")->capture_default_str();
  app.add_option("--port", o.port, "TCP port (0: any free port)")->capture_default_str();
  app.add_option("--bind", o.bind, "address to listen on")->capture_default_str();
  app.add_option("--port-file", o.port_file, "write the bound port here once listening");
  app.add_option("--stats-file", o.stats_file, "where SIGUSR1 writes the counters");
  CLI11_PARSE(app, argc, argv);
  if (o.threads < 1) o.threads = 1;

  std::unique_ptr<ACE_Reactor_Impl> impl;
  if (kind == "tp") {
    impl = std::make_unique<ACE_TP_Reactor>();
  } else if (kind == "dev-poll") {
    impl = std::make_unique<ACE_Dev_Poll_Reactor>();
  } else {
    std::fprintf(stderr, "ace-echo-server: unknown --reactor '%s' (tp, dev-poll)\n", kind.c_str());
    return 2;
  }
  sigset_t signals = peers::block_control_signals();
  ACE_Reactor reactor(impl.get());
  Acceptor acceptor(&reactor);
  ACE_INET_Addr at(static_cast<u_short>(o.port), o.bind.c_str());
  if (acceptor.open(at) < 0) {
    std::fprintf(stderr, "ace-echo-server: cannot listen on %s:%d: %s\n", o.bind.c_str(), o.port, std::strerror(errno));
    return 1;
  }
  ACE_Thread_Manager threads;
  if (threads.spawn_n(static_cast<std::size_t>(o.threads), run_loop, &reactor) < 0) {
    std::fprintf(stderr, "ace-echo-server: cannot start threads\n");
    return 1;
  }
  peers::write_port_file(o.port_file, acceptor.port());
  std::fprintf(stderr, "ace-echo-server: %s reactor, %d threads, listening on %s:%u\n", kind.c_str(), o.threads,
               o.bind.c_str(), acceptor.port());
  peers::wait_for_stop(signals, o.stats_file);
  reactor.end_reactor_event_loop();
  threads.wait();
  reactor.close();  // handle_close on every handler still registered, while they all exist
  return 0;
}
