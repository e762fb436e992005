// asio-echo-server: the echo peer on standalone Asio (Debian libasio-dev, 1.22). One io_context
// run by --threads threads, each connection a chain of async_read_some -> async_write ->
// async_read_some, so at most one handler per connection is ever pending and no strand is
// needed. This is how Asio's users write a multi-threaded echo server; it is the peer for
// liblf's Leader/Followers pool in bench/echo_peers.sh.
//   asio-echo-server --threads 4 --port 7001
#include <asio.hpp>
#include <CLI/CLI.hpp>
#include <array>
#include <memory>
#include <thread>
#include <vector>

#include "peer_main.hpp"

namespace {

class Session : public std::enable_shared_from_this<Session> {
 public:
  explicit Session(asio::ip::tcp::socket socket) : socket_(std::move(socket)) {}

  void read() {
    auto self = shared_from_this();
    socket_.async_read_some(asio::buffer(buf_), [self](std::error_code ec, std::size_t n) {
      if (!ec) self->write(n);
    });
  }

 private:
  void write(std::size_t n) {
    auto self = shared_from_this();
    asio::async_write(socket_, asio::buffer(buf_.data(), n), [self](std::error_code ec, std::size_t) {
      if (!ec) self->read();
    });
  }

  asio::ip::tcp::socket socket_;
  std::array<char, peers::kReadChunk> buf_;
};

class Server {
 public:
  Server(asio::io_context& io, const asio::ip::tcp::endpoint& at) : acceptor_(io, at) {}

  unsigned port() const { return acceptor_.local_endpoint().port(); }

  void accept() {
    acceptor_.async_accept([this](std::error_code ec, asio::ip::tcp::socket socket) {
      if (!ec) {
        // liblf's acceptor sets TCP_NODELAY too; without it small echoes wait for Nagle.
        socket.set_option(asio::ip::tcp::no_delay(true), ec);
        std::make_shared<Session>(std::move(socket))->read();
      }
      accept();
    });
  }

 private:
  asio::ip::tcp::acceptor acceptor_;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"asio-echo-server: echo on one Asio io_context run by N threads"};
  peers::PeerOptions o;
  app.add_option("--threads", o.threads, "threads running the io_context")->capture_default_str();
  app.add_option("--port", o.port, "TCP port (0: any free port)")->capture_default_str();
  app.add_option("--bind", o.bind, "address to listen on")->capture_default_str();
  app.add_option("--port-file", o.port_file, "write the bound port here once listening");
  app.add_option("--stats-file", o.stats_file, "where SIGUSR1 writes the counters");
  CLI11_PARSE(app, argc, argv);
  if (o.threads < 1) o.threads = 1;

  sigset_t signals = peers::block_control_signals();
  // The concurrency hint tells Asio how many threads will run it (it picks its locking by it).
  asio::io_context io(o.threads);
  std::error_code ec;
  asio::ip::address addr = asio::ip::make_address(o.bind, ec);
  if (ec) {
    std::fprintf(stderr, "asio-echo-server: bad --bind '%s'\n", o.bind.c_str());
    return 2;
  }
  std::unique_ptr<Server> server;
  try {
    server = std::make_unique<Server>(io, asio::ip::tcp::endpoint(addr, static_cast<unsigned short>(o.port)));
  } catch (const std::system_error& e) {
    std::fprintf(stderr, "asio-echo-server: %s\n", e.what());
    return 1;
  }
  server->accept();
  std::vector<std::thread> threads;
  for (int i = 0; i < o.threads; ++i) threads.emplace_back([&io] { io.run(); });
  peers::write_port_file(o.port_file, server->port());
  std::fprintf(stderr, "asio-echo-server: %d threads, listening on %s:%u\n", o.threads, o.bind.c_str(),
               server->port());
  peers::wait_for_stop(signals, o.stats_file);
  io.stop();
  for (auto& t : threads) t.join();
  return 0;
}
