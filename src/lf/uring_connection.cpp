// UringConnection (uring_connection.hpp) and the model that runs it: `--model lf` with the
// handle set uring-completion. The proactor's threads take turns as its leader; a connection
// is a slot of the proactor; the model adds max_clients, Service::refusal, TCP keep-alive and
// the counters. The proactor listens on bind:port (moved by rebind) and the UNIX domain socket.
#include "uring_connection.hpp"

#include <sys/socket.h>

#include "lf/stats.hpp"
#include "models.hpp"

namespace lf::detail {

namespace {

// The thread's reply buffer. A session run nested in another's (an unpark from inside a
// handler: a write serves a blocked client) gets one of its own: the outer is still in use.
thread_local std::string t_out;
thread_local int t_run_depth = 0;

struct RunLevel {
  RunLevel() { ++t_run_depth; }
  ~RunLevel() { --t_run_depth; }
  RunLevel(const RunLevel&) = delete;
  RunLevel& operator=(const RunLevel&) = delete;
};

}  // namespace

UringConnection::UringConnection(UringProactor& proactor, HandlerId id, int fd,
                                 std::unique_ptr<Session> session, std::atomic<std::uint64_t>& open)
    : proactor_(proactor), id_(id), fd_(fd), session_(std::move(session)), open_(open) {
  open_.fetch_add(1, std::memory_order_relaxed);
  session_->attach(this);
}

UringConnection::~UringConnection() {
  session_.reset();
  open_.fetch_sub(1, std::memory_order_relaxed);
}

void UringConnection::on_data(ProactorIo& io, std::string_view bytes) {
  count_session_input(bytes.size());
  if (parked_ || yielded_ || !kept_.empty()) {
    // Not the session's turn (it runs over kept_ when it is), or after a split request.
    kept_.append(bytes);
    if (!parked_ && !yielded_) run(io, nullptr, 0);
    return;
  }
  wake_due_.store(false, std::memory_order_relaxed);  // the session runs now: it drains its outbox
  run(io, bytes.data(), bytes.size());
}

void UringConnection::run(ProactorIo& io, const char* bytes, std::size_t size) {
  const RunLevel level;
  std::string nested;
  std::string& out = t_run_depth == 1 ? t_out : nested;
  ProactorIo* const outer_io = io_;
  io_ = &io;
  SessionAction action;
  for (;;) {
    out.clear();
    const bool over_kept = bytes == nullptr;
    InputBuffer in(over_kept ? kept_.data() : bytes, over_kept ? kept_.size() : size);
    action = session_->on_input(in, out);
    count_session_output(out.size());
    if (over_kept) {
      kept_.erase(0, in.consumed());
    } else if (!in.empty()) {
      kept_.assign(in.view());  // the ring's buffer goes back: keep what is left of it
    }
    if (kept_.empty() && kept_.capacity() > 0) std::string().swap(kept_);
    if (!out.empty()) io.send(out);
    out.clear();
    if (out.capacity() > kReplyKeepBytes) std::string().swap(out);  // a spike: give it back
    // Taken as the run ends (a parked command's task may change the session meanwhile).
    if (action != SessionAction::kPark) {
      reads_on_ = session_->reads_while_output_waits();
      io.read_on(reads_on_);
    }
    // Read on while replies wait: a yield runs the rest of the input at once.
    if (action != SessionAction::kYield || !reads_on_ || io.closing()) break;
    bytes = nullptr;
  }
  if (reads_on_ && action != SessionAction::kPark && io.unsent() > 0) {
    output_held(io);  // what waits now is the client's memory
    held_counted_ = true;
    io.notify_when_drained();
  }
  io_ = outer_io;
  switch (action) {
    case SessionAction::kContinue:
      return;
    case SessionAction::kClose:
      io.close();
      return;
    case SessionAction::kPark:
      // Nothing more is read, and the connection outlives the parked work (pinned), which
      // ends with unpark(): a notify that runs the session again.
      parked_ = true;
      io.hold(true);
      io.pin(true);
      return;
    case SessionAction::kYield:
      if (reads_on_) return;  // closing: nothing more runs
      yielded_ = true;
      io.hold(true);
      io.notify_when_drained();
      return;
  }
}

void UringConnection::output_held(ProactorIo& io) {
  ProactorIo* const outer_io = io_;
  io_ = &io;
  session_->on_output_held();
  io_ = outer_io;
}

void UringConnection::on_notify(ProactorIo& io) {
  if (unpark_due_.exchange(false, std::memory_order_acq_rel)) {
    parked_ = false;
    io.pin(false);
    // Killed or failed meanwhile: the proactor finishes it now. After the peer's orderly end
    // the session still answers what it was sent.
    if (io.aborted()) return;
    io.hold(false);
    wake_due_.store(false, std::memory_order_relaxed);  // this run delivers it
    run(io, nullptr, 0);
    return;
  }
  if (!wake_due_.load(std::memory_order_acquire)) return;  // merged into an earlier run
  if (parked_ || yielded_ || io.aborted()) return;  // the run that ends them delivers it
  if (io.unsent() > 0) {
    io.notify_when_drained();  // backed up: the session runs once the replies are out
    return;
  }
  wake_due_.store(false, std::memory_order_relaxed);
  run(io, nullptr, 0);
}

void UringConnection::on_drained(ProactorIo& io) {
  if (parked_ || io.aborted()) return;
  if (held_counted_) {
    held_counted_ = false;
    output_held(io);  // the replies it was told of are out
  }
  if (!yielded_ && !wake_due_.load(std::memory_order_acquire)) return;
  yielded_ = false;
  io.hold(false);
  wake_due_.store(false, std::memory_order_relaxed);
  run(io, nullptr, 0);
}

void UringConnection::unpark() {
  unpark_due_.store(true, std::memory_order_release);
  (void)proactor_.notify(id_, /*run_here=*/true);
}

void UringConnection::request_close() { (void)proactor_.close(id_); }

void UringConnection::wake() {
  if (!wake_due_.exchange(true, std::memory_order_acq_rel)) (void)proactor_.notify(id_, /*run_here=*/false);
}

namespace {

class UringCompletionModel final : public ConcurrencyModel {
 public:
  UringCompletionModel(const ModelOptions& o, Service& s) : options_(o), service_(s) {}
  ~UringCompletionModel() override { stop(); }

  Status start() override {
    ProactorOptions po;
    po.bind = options_.bind;
    po.port = options_.port;
    po.backlog = options_.listen_backlog;
    po.unix_socket = options_.unix_socket;
    po.unix_socket_perm = options_.unix_socket_perm;
    po.threads = options_.threads;
    // Room past max_clients, so the ones over it still get the error line.
    po.max_connections = static_cast<unsigned>(options_.max_clients + 64);
    po.buffers = 1024;
    po.buffer_size = 4096;
    // A session yields its replies every kReplyFlushBytes: past a few of those unsent, the
    // client is not reading, and nothing more is received from it until it does.
    po.output_limit = 4 * kReplyFlushBytes;
    // As the reactor's lf: lazy only for services whose handlers never block without saying so.
    po.lazy_promotion = options_.lazy_promotion;
    auto p = UringProactor::create(po, [this](HandlerId id, int fd) { return open(id, fd); });
    if (!p.ok()) return Status::error("handle set uring-completion: " + p.status().message());
    proactor_ = std::move(p.value());
    if (Status st = proactor_->start(); !st.ok()) return st;
    return Status();
  }

  void stop() override {
    if (!proactor_) return;
    proactor_->stop();
    proactor_.reset();  // closes the connections left; their sessions go with them
  }

  Status rebind(const std::string& bind, std::uint16_t port) override {
    if (!proactor_) return Status::error("not running");
    return proactor_->rebind(bind, port);
  }

  std::uint16_t port() const override { return proactor_ ? proactor_->port() : 0; }
  ModelKind kind() const override { return ModelKind::kLeaderFollowers; }
  const char* demultiplexer() const override { return "io_uring"; }

  ModelStats stats() const override {
    ModelStats st;
    st.accepted = accepted_.load();
    st.rejected = rejected_.load();
    st.open_connections = open_.load();
    return st;
  }

 private:
  // The proactor's factory, on its leader: the checks every model makes, then the session.
  std::unique_ptr<ProactorHandler> open(HandlerId id, int fd) {
    // A connection of the UNIX domain socket has the socket's path as its peer (as the reactor
    // models name it); a TCP one its address, and the keep-alive asked for.
    sockaddr_storage local{};
    socklen_t local_len = sizeof local;
    const bool on_unix_socket = ::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_len) == 0 &&
                                local.ss_family == AF_UNIX;
    InetAddr peer;
    if (on_unix_socket) {
      if (auto path = InetAddr::unix_socket(options_.unix_socket); path.ok()) peer = path.value();
    } else {
      sockaddr_storage sa{};
      socklen_t len = sizeof sa;
      if (::getpeername(fd, reinterpret_cast<sockaddr*>(&sa), &len) == 0) {
        peer = InetAddr::of(reinterpret_cast<const sockaddr*>(&sa));
      }
      if (options_.keepalive_idle_s != nullptr) {
        if (const int idle = options_.keepalive_idle_s->load(std::memory_order_relaxed); idle > 0) {
          SockStream borrowed(fd);  // the proactor owns the socket: lent for the option only
          (void)borrowed.set_keepalive(idle);
          (void)borrowed.release();
        }
      }
    }
    std::string_view no;
    if (open_.load(std::memory_order_relaxed) >= options_.max_clients) {
      no = "-ERR max number of clients reached\r\n";
    } else {
      no = service_.refusal(peer);
    }
    if (!no.empty()) {
      (void)::send(fd, no.data(), no.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      rejected_.fetch_add(1, std::memory_order_relaxed);
      return nullptr;
    }
    auto session = service_.open_session(peer);
    if (!session) return nullptr;
    accepted_.fetch_add(1, std::memory_order_relaxed);
    return std::make_unique<UringConnection>(*proactor_, id, fd, std::move(session), open_);
  }

  const ModelOptions options_;
  Service& service_;
  std::unique_ptr<UringProactor> proactor_;  // start/stop's caller; the factory reads it
  std::atomic<std::uint64_t> open_{0}, accepted_{0}, rejected_{0};
};

}  // namespace

std::unique_ptr<ConcurrencyModel> make_uring_completion(const ModelOptions& o, Service& s) {
  return std::make_unique<UringCompletionModel>(o, s);
}

}  // namespace lf::detail
