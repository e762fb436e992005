// ThreadPerConnection: an acceptor thread, and one thread per client doing blocking reads and
// writes. Simple and fast for a few clients; it does not scale to thousands of them (a stack per
// connection, a context switch per request). `--threads` does not apply.
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <list>
#include <optional>
#include <thread>

#include "connection.hpp"
#include "models.hpp"
#include "output_chain.hpp"

namespace lf::detail {
namespace {

class ThreadPerConnection final : public ConcurrencyModel {
 public:
  ThreadPerConnection(const ModelOptions& o, Service& s) : options_(o), service_(s) {}
  ~ThreadPerConnection() override { stop(); }

  Status start() override {
    AcceptorOptions ao;
    ao.backlog = options_.listen_backlog;
    auto listening = open_listeners(options_.bind, options_.port, ao);
    if (!listening.ok()) return listening.status();
    {
      MutexLock lock(listen_mu_);
      for (Listening& l : *listening) {
        addrs_.push_back(l.addr);
        listening_fds_.push_back(l.sockets[0].handle());
        acceptors_.push_back(std::move(l.sockets[0]));
      }
    }
    port_.store(listening->empty() ? options_.port : (*listening)[0].addr.port(),
                std::memory_order_release);
    if (!options_.unix_socket.empty()) {
      auto local = InetAddr::unix_socket(options_.unix_socket);
      if (!local.ok()) return local.status();
      AcceptorOptions uo;
      uo.backlog = options_.listen_backlog;
      uo.unix_perm = options_.unix_socket_perm;
      if (Status ls = unix_acceptor_.open(*local, uo); !ls.ok()) return ls;
    }
    wakefd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (wakefd_ < 0) return Status::from_errno("eventfd");
    {
      MutexLock lock(mu_);
      stopping_ = false;
    }
    {
      MutexLock lock(listen_mu_);
      accepting_ = true;
    }
    acceptor_thread_ = std::thread([this] { accept_loop(); });
    started_ = true;
    return Status();
  }

  void stop() override {
    if (!started_) return;
    started_ = false;
    {
      MutexLock lock(listen_mu_);
      accepting_ = false;  // the acceptor thread leaves at its next wake; a rebind gives up
      swapped_.notify_all();
    }
    std::uint64_t one = 1;
    (void)!::write(wakefd_, &one, sizeof one);
    acceptor_thread_.join();
    // The listeners close before any client sees its connection end, as under the other
    // models: a client that reconnects at once is refused, not left in a backlog nobody
    // accepts from.
    acceptors_.clear();
    unix_acceptor_.close();
    std::list<Client> clients;
    {
      MutexLock lock(mu_);
      stopping_ = true;
      for (auto& c : clients_) c.stream->shutdown_both();  // wakes its blocked recv
      clients.splice(clients.end(), clients_);
    }
    for (auto& c : clients) c.thread.join();
    reap_finished();
    ::close(wakefd_);
  }

  // The new sockets are opened here; the acceptor thread, woken, takes them in place of its
  // own (closing those) and says so: when this returns the old ports are closed.
  Status rebind(const std::string& bind, std::uint16_t port) override {
    MutexLock rebinding(rebind_mu_);  // one at a time: addrs_ is what the last one left
    AcceptorOptions ao;
    ao.backlog = options_.listen_backlog;
    std::vector<InetAddr> now;
    {
      MutexLock lock(listen_mu_);
      now = addrs_;
    }
    // An address listened on already keeps its socket (the acceptor thread moves it over).
    auto ours = [&now](const InetAddr& a) { return std::find(now.begin(), now.end(), a) != now.end(); };
    auto listening = open_listeners(bind, port, ao, 1, ours);
    if (!listening.ok() && listening.status().sys_errno() == EADDRINUSE && !now.empty() &&
        port == port_.load(std::memory_order_relaxed)) {
      // A new address overlaps one listened on (the wildcard after 127.0.0.1, same port): as
      // Redis closes its listeners first, the old leave the listening state (a socket not
      // listening holds no address against SO_REUSEADDR) and every address is opened anew; on
      // a failure they listen again, as they were (ListenerSet::listen says the limits).
      auto each_current = [this](auto f) {
        MutexLock lock(listen_mu_);
        for (const int fd : listening_fds_) f(fd);
      };
      each_current([](int fd) { (void)::shutdown(fd, SHUT_RD); });
      listening = open_listeners(bind, port, ao, 1);
      if (!listening.ok()) {
        each_current([&ao](int fd) { (void)::listen(fd, ao.backlog); });
        return listening.status();
      }
    }
    if (!listening.ok()) return listening.status();
    std::vector<Listening> fresh = std::move(listening.value());
    const std::uint16_t bound = fresh.empty() ? port : fresh[0].addr.port();
    MutexLock lock(listen_mu_);
    while (accepting_ && incoming_.has_value()) swapped_.wait(listen_mu_);  // one at a time
    if (!accepting_) return Status::error("not running");
    std::vector<InetAddr> fresh_addrs;
    for (const Listening& l : fresh) fresh_addrs.push_back(l.addr);
    incoming_ = std::move(fresh);
    std::uint64_t one = 1;
    (void)!::write(wakefd_, &one, sizeof one);
    while (accepting_ && incoming_.has_value()) swapped_.wait(listen_mu_);
    if (incoming_.has_value()) {  // stopped before the swap
      incoming_.reset();
      return Status::error("not running");
    }
    addrs_ = std::move(fresh_addrs);
    port_.store(bound, std::memory_order_release);
    return Status();
  }

  std::uint16_t port() const override { return port_.load(std::memory_order_acquire); }
  ModelKind kind() const override { return ModelKind::kThreadPerConnection; }
  const char* demultiplexer() const override { return "poll"; }

  ModelStats stats() const override {
    ModelStats st;
    st.accepted = accepted_.load();
    st.rejected = rejected_.load();
    st.open_connections = open_.load();
    MutexLock lock(mu_);
    st.totals = departed_;
    for (const auto& c : clients_) {
      auto snap = ThreadStatsSnapshot::of(*c.stats, "connection");
      st.threads.push_back(snap);
      st.totals += snap;
    }
    st.totals.role = "tpc";
    return st;
  }

 private:
  // The session's view of its thread: unpark() wakes it, request_close() ends its blocking read.
  class Host final : public SessionHost {
   public:
    Host(SockStream& stream, OutputChain& pending) : stream_(stream), pending_(pending) {}
    ~Host() override {
      if (wakefd_ >= 0) ::close(wakefd_);
    }
    void unpark() override {
      MutexLock lock(mu_);
      unparked_ = true;
      cv_.notify_one();  // under the lock: the waiter may return and destroy this at once
    }
    void request_close() override { stream_.shutdown_both(); }
    int handle() const override { return stream_.handle(); }
    // The replies waiting while the session is read on (serve()); the serving thread's, as the
    // session's calls are.
    std::size_t unsent_output() const override { return pending_.unsent(); }
    void discard_unsent() override { pending_.clear(); }
    std::size_t held_output_bytes() const override { return pending_.held_bytes(); }
    // The thread blocks in a read: a wake must interrupt it, so from here on it waits in
    // poll() on the socket and an eventfd (a connection never woken pays nothing for this).
    void prepare_wake() override {
      if (wakefd_ < 0) wakefd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    }
    void wake() override {
      std::uint64_t one = 1;
      (void)!::write(wakefd_, &one, sizeof one);
    }
    // The serving thread, before it reads: true when the socket has input (or hung up), false
    // when only a wake came (consumed).
    bool await_input() {
      if (wakefd_ < 0) return true;
      pollfd fds[2] = {{stream_.handle(), POLLIN, 0}, {wakefd_, POLLIN, 0}};
      while (::poll(fds, 2, -1) < 0) {
        if (errno != EINTR) return true;
      }
      if (fds[1].revents & POLLIN) {
        std::uint64_t n = 0;
        (void)!::read(wakefd_, &n, sizeof n);
      }
      return fds[0].revents != 0;
    }
    void wait_unparked() {
      MutexLock lock(mu_);
      while (!unparked_) cv_.wait(mu_);
      unparked_ = false;
    }

   private:
    SockStream& stream_;
    OutputChain& pending_;
    // Made by the serving thread (prepare_wake) before any other thread can wake it, and
    // closed after the session (the only waker's way in) is gone: immutable in between.
    int wakefd_ = -1;
    Mutex mu_;
    CondVar cv_;
    bool unparked_ LF_GUARDED_BY(mu_) = false;
  };

  struct Client {
    std::unique_ptr<SockStream> stream;
    std::unique_ptr<ThreadStats> stats;
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };

  void accept_loop() {
    // fds: the wake eventfd, the UNIX domain socket's (-1, which poll skips, when there is
    // none), then one per TCP listener.
    std::vector<pollfd> fds;
    auto watch = [&] {
      fds.assign({{wakefd_, POLLIN, 0}, {unix_acceptor_.handle(), POLLIN, 0}});
      for (const Acceptor& a : acceptors_) fds.push_back({a.handle(), POLLIN, 0});
    };
    watch();
    for (;;) {
      int n = ::poll(fds.data(), fds.size(), 1000);
      reap_finished();
      if (n > 0 && (fds[0].revents & POLLIN)) {
        std::uint64_t wakes = 0;
        (void)!::read(wakefd_, &wakes, sizeof wakes);
        MutexLock lock(listen_mu_);
        if (!accepting_) return;
        if (incoming_.has_value()) {  // a rebind: this thread alone polls and accepts
          std::vector<Acceptor> next;
          for (Listening& l : *incoming_) {
            if (!l.sockets.empty()) {
              next.push_back(std::move(l.sockets[0]));
              continue;
            }
            for (Acceptor& a : acceptors_) {  // kept: the socket that listens there now
              if (a.handle() >= 0 && a.local_addr() == l.addr) next.push_back(std::move(a));
            }
          }
          acceptors_ = std::move(next);  // closes the old sockets not kept
          listening_fds_.clear();
          for (const Acceptor& a : acceptors_) listening_fds_.push_back(a.handle());
          incoming_.reset();
          watch();
          swapped_.notify_all();
        }
        continue;
      }
      if (n <= 0) continue;
      if (fds[1].revents & POLLIN) take(unix_acceptor_);
      for (std::size_t i = 2; i < fds.size(); ++i) {
        if (fds[i].revents & POLLIN) take(acceptors_[i - 2]);
      }
    }
  }

  // One pending connection of `from`, served by a thread of its own.
  void take(Acceptor& from) {
    IoResult io;
    InetAddr peer;
    SockStream s = from.accept(io, &peer);
    if (!io.ok() || io.would_block) return;
    if (options_.keepalive_idle_s != nullptr && !peer.is_unix_socket()) {  // TCP's
      if (const int idle = options_.keepalive_idle_s->load(std::memory_order_relaxed); idle > 0) {
        (void)s.set_keepalive(idle);
      }
    }
    if (open_.load() >= options_.max_clients) {
      static constexpr char kFull[] = "-ERR max number of clients reached\r\n";
      (void)s.send(kFull, sizeof kFull - 1);
      rejected_.fetch_add(1);
      return;
    }
    if (const std::string_view no = service_.refusal(peer); !no.empty()) {
      (void)s.send(no.data(), no.size());
      rejected_.fetch_add(1);
      return;
    }
    auto session = service_.open_session(peer);
    if (!session) return;
    (void)s.set_nonblocking(false);
    accepted_.fetch_add(1);
    open_.fetch_add(1);
    MutexLock lock(mu_);
    Client c;
    c.stream = std::make_unique<SockStream>(std::move(s));
    c.stats = std::make_unique<ThreadStats>();
    c.done = std::make_shared<std::atomic<bool>>(false);
    c.thread = std::thread(&ThreadPerConnection::serve, this, c.stream.get(), c.stats.get(),
                           c.done, new SessionPump(std::move(session)));
    clients_.push_back(std::move(c));
  }

  void serve(SockStream* stream, ThreadStats* stats, std::shared_ptr<std::atomic<bool>> done,
             SessionPump* raw_pump) {
    std::unique_ptr<SessionPump> pump(raw_pump);
    // Replies the socket has not taken, while the session is read on (a normal client, as Redis
    // reads on: one that sends its whole pipeline before it reads would otherwise block in its
    // send while this thread blocks in ours). The socket stays blocking: these sends ask not to
    // block (MSG_DONTWAIT), and while replies wait the thread polls for both directions.
    OutputChain pending;
    Host host(*stream, pending);
    pump->session()->attach(&host);
    stats->tid = current_tid();
    auto output_held = [&pump] { pump->session()->on_output_held(); };
    // The replies in `out` go out, or (read on) what the socket does not take waits; false when
    // the connection failed. `parked`: the session's task may be running: it is not told.
    auto deliver = [&](std::string& out, bool parked) {
      if (out.empty()) return true;
      if (!pump->reads_while_output_waits()) {
        // Back-pressure: a blocking send, after what waits from a time it was read on.
        if (!pending.empty() && !pending.send(*stream).ok()) return false;
        const bool sent = stream->send_all(out).ok();
        out.clear();
        return sent;
      }
      if (pending.empty()) {
        const iovec v{out.data(), out.size()};
        const IoResult w = stream->sendv(&v, 1, MSG_DONTWAIT);
        if (!w.ok()) return false;
        const std::size_t sent = w.n > 0 ? static_cast<std::size_t>(w.n) : 0;
        if (sent < out.size()) pending.adopt(out, sent);
      } else {
        pending.append(out);
      }
      out.clear();
      if (!pending.empty() && !parked) output_held();
      return true;
    };
    for (;;) {
      std::string& out = io_scratch(options_.read_chunk).out;
      out.clear();
      SessionPump::Outcome o;
      if (!pending.empty()) {
        // Replies wait: whichever direction is ready first. A wake waits in its eventfd until
        // they are out (what the session would drain stays in its outbox, seen by the limits).
        pollfd p{stream->handle(), POLLIN | POLLOUT, 0};
        while (::poll(&p, 1, -1) < 0 && errno == EINTR) {
        }
        if (p.revents & (POLLOUT | POLLERR)) {
          const IoResult w = pending.send(*stream, MSG_DONTWAIT);
          if (!pending.empty() && !w.would_block) break;  // the connection failed
          output_held();  // sent blocks were freed
        }
        if (!(p.revents & (POLLIN | POLLHUP))) continue;
        o = pump->read_and_run(*stream, options_.read_chunk, out);  // input is there: no wait
        if (o.io.eof || !o.io.ok()) break;
      } else if (host.await_input()) {
        o = pump->read_and_run(*stream, options_.read_chunk, out);
        if (o.io.eof || !o.io.ok()) break;
      } else {
        o.action = pump->run_bytes(nullptr, 0, out);  // woken: send what was posted
      }
      stats->bump(stats->events);
      // Parked: this connection's thread has nothing else to do, so it simply waits for the
      // parked work to finish and carries on itself. Yielded: the replies so far go out (the
      // blocking send is the back-pressure; read on, they join those waiting) before the
      // session runs over the input it kept.
      while (o.action == SessionAction::kPark || o.action == SessionAction::kYield) {
        if (!deliver(out, o.action == SessionAction::kPark)) o.io.err = EPIPE;
        out.clear();
        if (o.action == SessionAction::kPark) {
          host.wait_unparked();  // even after a failed send: the parked work still owns the session
        } else if (!o.io.ok()) {
          break;
        }
        o.action = pump->run_bytes(nullptr, 0, out);
      }
      if (!o.io.ok()) break;
      if (!deliver(out, false)) break;
      if (out.capacity() > kReplyKeepBytes) std::string().swap(out);  // a spike: give it back
      if (o.action == SessionAction::kClose) {
        // QUIT and the like: what waits goes out first (blocking), then the end.
        if (!pending.empty()) (void)pending.send(*stream);
        break;
      }
    }
    pump.reset();
    // The peer sees the end now, as a reactor model's close shows it; the fd itself is closed
    // when the acceptor reaps this thread (up to a second later), since stop() may still be
    // reaching the stream from its thread. Not shutdown(2): that ends the connection for every
    // descriptor of it, and SHUTDOWN keeps a duplicate so its client sees the end only when the
    // process exits (after the shutdown's work, as redis-server's do).
    stream->let_go();
    stats->refresh_rusage();
    open_.fetch_sub(1);
    done->store(true);
  }

  void reap_finished() {
    std::list<Client> finished;
    {
      MutexLock lock(mu_);
      for (auto it = clients_.begin(); it != clients_.end();) {
        if (it->done->load()) {
          auto next = std::next(it);
          finished.splice(finished.end(), clients_, it);
          it = next;
        } else {
          ++it;
        }
      }
    }
    for (auto& c : finished) {
      c.thread.join();
      MutexLock lock(mu_);
      departed_ += ThreadStatsSnapshot::of(*c.stats, "");
    }
  }

  const ModelOptions options_;
  Service& service_;
  std::vector<Acceptor> acceptors_;  // one per bind address: the acceptor thread's alone while it runs
  Acceptor unix_acceptor_;  // options_.unix_socket's, or closed; the same thread's
  std::atomic<std::uint16_t> port_{0};
  int wakefd_ = -1;
  // A rebind hands its new socket to the acceptor thread through incoming_ and waits on
  // swapped_ until it was taken; accepting_ ends both sides' waits at stop.
  Mutex listen_mu_;
  CondVar swapped_;
  std::optional<std::vector<Listening>> incoming_ LF_GUARDED_BY(listen_mu_);
  std::vector<InetAddr> addrs_ LF_GUARDED_BY(listen_mu_);  // where acceptors_ listen (after the swap)
  // acceptors_' descriptors, for a rebind that must stop them listening before it opens new
  // sockets (they stay open until the swap, which also renews this under listen_mu_).
  std::vector<int> listening_fds_ LF_GUARDED_BY(listen_mu_);
  Mutex rebind_mu_;  // one rebind at a time, from reading addrs_ to storing the new ones
  bool accepting_ LF_GUARDED_BY(listen_mu_) = false;
  std::thread acceptor_thread_;
  bool started_ = false;
  mutable Mutex mu_;
  std::list<Client> clients_ LF_GUARDED_BY(mu_);
  ThreadStatsSnapshot departed_ LF_GUARDED_BY(mu_);
  bool stopping_ LF_GUARDED_BY(mu_) = false;
  std::atomic<std::uint64_t> open_{0}, accepted_{0}, rejected_{0};
};

}  // namespace

std::unique_ptr<ConcurrencyModel> make_thread_per_connection(const ModelOptions& o, Service& s) {
  return std::make_unique<ThreadPerConnection>(o, s);
}

}  // namespace lf::detail
