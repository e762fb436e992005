#include "connection.hpp"

#include <sys/socket.h>

#include <deque>
#include <vector>

#include "lf/stats.hpp"

namespace lf::detail {

namespace {

// Connection dispatches on this thread's stack. A handler that serves other connections while it
// runs (UnboundThreadSet::serve_while_processing) nests theirs inside its own, whose input and
// replies are still in use below: each level gets scratch buffers of its own.
thread_local std::size_t t_dispatch_depth = 0;

struct DispatchLevel {
  DispatchLevel() { ++t_dispatch_depth; }
  ~DispatchLevel() { --t_dispatch_depth; }
  DispatchLevel(const DispatchLevel&) = delete;
  DispatchLevel& operator=(const DispatchLevel&) = delete;
};

// ReplyBatch: this thread's open batch (the connections whose replies wait for the end of the
// turn), and output buffers of replies already flushed, kept for the next turn's.
struct OpenBatch {
  bool open = false;
  std::vector<Connection*> deferred;
  std::vector<std::string> spares;
  std::size_t spare_bytes = 0;  // the spares' capacity together
};
thread_local OpenBatch t_batch;
constexpr std::size_t kSpareOutputs = 64;
// The spares' capacity a thread keeps at most. Without a bound in bytes, 64 spares of up to
// kReplyKeepBytes each stayed with the thread for good after a burst of large replies (20
// clients' 224 KB buffers: 4.5 MB of used_memory with no data, which maxmemory then took out
// of the keys).
constexpr std::size_t kSpareBytes = 128 * 1024;

}  // namespace

ReplyBatch::ReplyBatch() : was_open_(t_batch.open) {
  t_batch.open = true;
  t_batch.deferred.reserve(kSpareOutputs);
}

ReplyBatch::~ReplyBatch() {
  flush();
  t_batch.open = was_open_;
}

void ReplyBatch::flush() {
  // A connection flushed here may be closed (and deleted) by its resume: nothing of it is
  // touched afterwards.
  std::vector<Connection*>& d = t_batch.deferred;
  for (std::size_t i = 0; i < d.size(); ++i) d[i]->flush_deferred();
  d.clear();
}

IoScratch& io_scratch(std::size_t read_chunk) {
  thread_local IoScratch outermost;
  thread_local std::deque<IoScratch> nested;  // a deque: growing it moves nothing in use
  IoScratch* scratch = &outermost;
  if (t_dispatch_depth > 1) {
    while (nested.size() < t_dispatch_depth - 1) nested.emplace_back();
    scratch = &nested[t_dispatch_depth - 2];
  }
  if (scratch->in.size() < read_chunk) scratch->in.resize(read_chunk);
  return *scratch;
}

SessionPump::Outcome SessionPump::read_and_run(SockStream& stream, std::size_t read_chunk,
                                               std::string& out) {
  Outcome o;
  if (leftover_.empty()) {
    IoScratch& sc = io_scratch(read_chunk);
    o.io = stream.recv(sc.in.data(), read_chunk);
    if (o.io.n > 0) count_session_input(static_cast<std::size_t>(o.io.n));
    if (o.io.n > 0) o.action = run(sc.in.data(), static_cast<std::size_t>(o.io.n), out);
    return o;
  }
  std::size_t old = leftover_.size();
  leftover_.resize(old + read_chunk);
  o.io = stream.recv(leftover_.data() + old, read_chunk);
  leftover_.resize(old + (o.io.n > 0 ? static_cast<std::size_t>(o.io.n) : 0));
  if (o.io.n > 0) count_session_input(static_cast<std::size_t>(o.io.n));
  if (o.io.n > 0) o.action = run(leftover_.data(), leftover_.size(), out);
  return o;
}

SessionAction SessionPump::run_bytes(const char* data, std::size_t size, std::string& out) {
  if (leftover_.empty()) return run(data, size, out);
  leftover_.append(data, size);
  return run(leftover_.data(), leftover_.size(), out);
}

SessionAction SessionPump::run(const char* data, std::size_t size, std::string& out) {
  InputBuffer in(data, size);
  const std::size_t out_before = out.size();
  SessionAction action = session_->on_input(in, out);
  count_session_output(out.size() - out_before);
  if (action != SessionAction::kPark) reads_on_ = session_->reads_while_output_waits();
  if (data == leftover_.data()) {
    leftover_.erase(0, in.consumed());
  } else if (!in.empty()) {
    leftover_.assign(in.view());
  }
  if (leftover_.empty() && leftover_.capacity() > 0) std::string().swap(leftover_);
  return action;
}

Connection::Connection(SockStream stream, std::unique_ptr<Session> session, ConnectionHost& host,
                       Reactor& reactor, Mode mode, std::size_t read_chunk)
    : stream_(std::move(stream)),
      pump_(std::move(session)),
      host_(host),
      reactor_(reactor),
      mode_(mode),
      read_chunk_(read_chunk) {
  if (Session* session = pump_.session()) session->attach(this);
}

Connection::~Connection() = default;

void Connection::handle_close(int) {
  pump_.reset();
  stream_.close();
  ConnectionHost& host = host_;
  delete this;
  host.connection_closed();
}

Disposition Connection::handle_event(int, EventMask events) {
  const DispatchLevel level;
  if (close_requested_.load(std::memory_order_acquire)) return Disposition::kRemove;
  if (events & kWakeEvent) wake_due_ = true;
  // A session that reads while its replies wait is read and run on, and what it answers
  // goes after them (its own limits bound the pile); any other waits for the socket.
  const bool reads = !pending_out_.empty() && reads_while_output_waits();
  if (events & kWriteEvent) {
    Disposition d = on_writable();
    if (d != Disposition::kResume || (!pending_out_.empty() && !reads)) return d;
  }
  if (!pending_out_.empty() && !reads) return Disposition::kResume;  // a wake waits for the socket
  if (!(events & kReadEvent)) {
    return wake_due_ && pending_out_.empty() ? run_woken() : Disposition::kResume;
  }
  wake_due_ = false;  // the session runs now and sends what was posted to it
  if (mode_ == Mode::kHalfSyncHalfReactive) {
    // The reactor thread reads the request into a newly allocated message and queues it; the
    // handle stays deactivated until a worker has processed it.
    auto* message = new std::string();
    message->resize(read_chunk_);
    IoResult r = stream_.recv(message->data(), message->size());
    if (r.n <= 0) {
      delete message;
      return r.would_block ? Disposition::kResume : Disposition::kRemove;
    }
    message->resize(static_cast<std::size_t>(r.n));
    count_session_input(message->size());
    // Suspend before queueing: a worker may finish and resume the handle before this
    // dispatch returns, and the resume must not be lost.
    (void)reactor_.suspend_handler(id());
    host_.enqueue_message(this, message);
    return Disposition::kResume;
  }
  std::string& out = io_scratch(read_chunk_).out;
  out.clear();
  SessionPump::Outcome o = pump_.read_and_run(stream_, read_chunk_, out);
  if (o.io.would_block) return Disposition::kResume;
  // A read that filled its buffer may have left input in the socket, and a hang-up reported with
  // the input leaves the end still to be read: an edge-triggered handle set reports neither
  // again, so ask for another turn (this thread's, right after this one).
  if (reactor_.edge_triggered() && !o.io.eof &&
      (static_cast<std::size_t>(o.io.n) == read_chunk_ || (events & kCloseEvent))) {
    (void)reactor_.notify(id(), kReadEvent);
  }
  if (o.io.eof || !o.io.ok()) return Disposition::kRemove;
  return respond(o.action, out);
}

// A yield sends the replies so far and runs the session over the input it kept, for as long as
// the socket takes them; once it does not, the session runs again when they are out
// (wake_due_), and nothing is read in between.
Disposition Connection::respond(SessionAction action, std::string& out) {
  while (action == SessionAction::kYield) {
    const Disposition d = reply(SessionAction::kContinue, out);
    if (d != Disposition::kResume) return d;
    if (!pending_out_.empty() && !reads_while_output_waits()) {
      wake_due_ = true;
      return d;
    }
    out.clear();
    action = pump_.run_bytes(nullptr, 0, out);
  }
  if (action == SessionAction::kPark) return park(out, /*in_dispatch=*/true);
  // Only the outermost dispatch of a turn defers: one nested in a long handler
  // (serve_while_processing) sends at once, as that handler's turn has no end in sight.
  if (t_batch.open && t_dispatch_depth == 1 && mode_ == Mode::kInline &&
      action == SessionAction::kContinue && !out.empty() && pending_out_.empty()) {
    // The thread's output buffer is replaced by a spare one: the next connection's replies
    // allocate nothing.
    deferred_out_.swap(out);
    if (!t_batch.spares.empty()) {
      out.swap(t_batch.spares.back());
      t_batch.spares.pop_back();
      t_batch.spare_bytes -= out.capacity();
    }
    t_batch.deferred.push_back(this);
    return Disposition::kKeepSuspended;  // flush_deferred resumes it
  }
  return reply(action, out);
}

void Connection::flush_deferred() {
  const Disposition d = reply(SessionAction::kContinue, deferred_out_);
  deferred_out_.clear();
  if (deferred_out_.capacity() > 0 && t_batch.spares.size() < kSpareOutputs &&
      t_batch.spare_bytes + deferred_out_.capacity() <= kSpareBytes) {
    t_batch.spare_bytes += deferred_out_.capacity();
    t_batch.spares.push_back(std::move(deferred_out_));  // at most kReplyKeepBytes (reply())
  }
  std::string().swap(deferred_out_);
  if (d == Disposition::kRemove) {
    (void)reactor_.remove_handler(id());  // suspended and not busy: handle_close runs now
  } else {
    (void)reactor_.resume_handler(id());  // what arrived meanwhile is taken by the next wait
  }
}

// Parking. The session's parked work runs on another thread and calls unpark() when done; this
// thread flushes what the session wrote before parking. The handle stays suspended in between,
// so no thread reads the connection, and whichever of the two arrives second carries on:
// there is no waiting and no lost wake-up.
Disposition Connection::park(std::string& out, bool in_dispatch) {
  // Suspend before meeting the unparker: it may resume the handle the moment it carries on.
  // While this dispatch runs the reactor defers both (busy), so the order cannot be lost.
  (void)reactor_.suspend_handler(id());
  if (reply(SessionAction::kContinue, out, /*parked=*/true) == Disposition::kRemove) broken_ = true;
  out.clear();
  if (!park_.arrive()) return Disposition::kResume;  // stays suspended: the unparker goes on
  return carry_on(in_dispatch);
}

void Connection::unpark() {
  if (!park_.arrive()) return;  // the parking thread is still flushing: it goes on
  (void)carry_on(/*in_dispatch=*/false);
}

void Connection::wake() { (void)reactor_.notify(id(), kWakeEvent); }

Disposition Connection::run_woken() {
  wake_due_ = false;
  if (mode_ == Mode::kHalfSyncHalfReactive) {
    (void)reactor_.suspend_handler(id());  // as for a request: a worker resumes it
    host_.enqueue_message(this, new std::string());
    return Disposition::kResume;
  }
  std::string& out = io_scratch(read_chunk_).out;
  out.clear();
  return respond(pump_.run_bytes(nullptr, 0, out), out);
}

// The session joins the client registry when it is attached, before the reactor has named the
// connection, so CLIENT KILL can arrive while the id is still unknown. Both sides write their
// own flag, then read the other's (sequentially consistent): whichever comes second sees the
// first, and the close is never lost — either it is notify'd here, or register_handler
// delivers it from on_registered.
EventMask Connection::on_registered(HandlerId id) {
  id_.store(id.raw(), std::memory_order_seq_cst);
  return close_requested_.load(std::memory_order_seq_cst) ? kReadEvent : 0;
}

void Connection::request_close() {
  close_requested_.store(true, std::memory_order_seq_cst);
  const HandlerId id = HandlerId::from_raw(id_.load(std::memory_order_seq_cst));
  if (id.valid()) (void)reactor_.notify(id, kReadEvent);  // dispatched once the handle is active
}

Disposition Connection::carry_on(bool in_dispatch) {
  std::string out;  // not the thread's scratch: a dispatch further up this stack may own it
  for (;;) {
    const SessionAction a =
        broken_ ? SessionAction::kClose : pump_.run_bytes(nullptr, 0, out);
    if (a == SessionAction::kYield) {
      // As respond(), off the dispatch: the handle is suspended, so no one else touches us.
      const Disposition d = reply(SessionAction::kContinue, out);
      if (d != Disposition::kResume || !pending_out_.empty()) {
        if (d == Disposition::kResume) wake_due_ = true;
        return finish(d, in_dispatch);
      }
      out.clear();
      continue;
    }
    if (a != SessionAction::kPark) return finish(reply(a, out), in_dispatch);
    if (reply(SessionAction::kContinue, out, /*parked=*/true) == Disposition::kRemove) broken_ = true;
    out.clear();
    if (!park_.arrive()) return Disposition::kResume;
  }
}

// The session is done parking: reactivate the handle, or close the connection.
Disposition Connection::finish(Disposition d, bool in_dispatch) {
  if (broken_) d = Disposition::kRemove;
  if (in_dispatch) {
    if (d == Disposition::kResume) (void)reactor_.resume_handler(id());  // re-armed on return
    return d;
  }
  if (d == Disposition::kRemove) {
    (void)reactor_.remove_handler(id());  // suspended and not busy: handle_close runs now
  } else {
    (void)reactor_.resume_handler(id());
  }
  return d;
}

Disposition Connection::reply(SessionAction action, std::string& out, bool parked) {
  if (action == SessionAction::kClose) closing_ = true;
  const bool adds = !out.empty();
  if (adds) {
    if (pending_out_.empty()) {
      IoResult w = stream_.send(out.data(), out.size());
      if (!w.ok()) return Disposition::kRemove;
      std::size_t sent = w.n > 0 ? static_cast<std::size_t>(w.n) : 0;
      if (sent == out.size() && out.capacity() > kReplyKeepBytes && !parked && !closing_) {
        // All out at once, from a buffer this session's read grew (it counted the block): it
        // no longer holds it, and would show it in its memory until its next read.
        output_held();
      }
      if (sent < out.size()) {
        // The rest waits here: the buffer itself becomes the chain's first block (no copy of
        // a large reply), and the thread's buffer starts again from nothing.
        pending_out_.adopt(out, sent);
      }
    } else {
      pending_out_.append(out);  // copied into the chain's blocks, or moved in whole if large
    }
  }
  if (out.capacity() > kReplyKeepBytes) std::string().swap(out);  // a spike: give it back
  if (!pending_out_.empty()) {
    // Backpressure: stop reading until the client takes its replies (unless the session asks
    // to be read on; it then bounds what waits here itself).
    (void)reactor_.set_interest(
        id(), !closing_ && reads_while_output_waits() ? (kReadEvent | kWriteEvent) : kWriteEvent);
    // The session counted these replies before they joined the waiting ones; the append may
    // have doubled the buffer, and its sent bytes stay in it until all is out.
    if (adds && !parked) output_held();
    return Disposition::kResume;
  }
  return closing_ ? Disposition::kRemove : Disposition::kResume;
}

void Connection::output_held() {
  if (Session* session = pump_.session()) session->on_output_held();
}

bool Connection::reads_while_output_waits() const {
  return pump_.session() != nullptr && pump_.reads_while_output_waits();
}

Disposition Connection::on_writable() {
  const IoResult w = pending_out_.send(stream_);
  if (!pending_out_.empty()) {
    if (w.would_block) {
      output_held();  // blocks sent meanwhile were freed: the client holds less
      return Disposition::kResume;
    }
    return Disposition::kRemove;
  }
  if (closing_) return Disposition::kRemove;
  output_held();  // dispatched, so not parked (a parked session's handle is suspended)
  (void)reactor_.set_interest(id(), kReadEvent);
  return Disposition::kResume;
}

void Connection::process_message(const std::string& message) {
  std::string& out = io_scratch(read_chunk_).out;
  out.clear();
  SessionAction action = pump_.run_bytes(message.data(), message.size(), out);
  while (action == SessionAction::kYield) {
    // As respond(), on the worker: the handle stays suspended until this is done with it.
    if (reply(SessionAction::kContinue, out) == Disposition::kRemove) {
      (void)reactor_.remove_handler(id());
      return;
    }
    if (!pending_out_.empty() && !reads_while_output_waits()) {
      wake_due_ = true;
      (void)reactor_.resume_handler(id());
      return;
    }
    out.clear();
    action = pump_.run_bytes(nullptr, 0, out);
  }
  if (action == SessionAction::kPark) {
    // The handle is suspended already (the reactor thread did it) and not being dispatched.
    if (reply(SessionAction::kContinue, out, /*parked=*/true) == Disposition::kRemove) broken_ = true;
    if (park_.arrive()) (void)carry_on(/*in_dispatch=*/false);
    return;
  }
  if (reply(action, out) == Disposition::kRemove) {
    (void)reactor_.remove_handler(id());  // handle_close runs now: the handle is suspended
    return;
  }
  (void)reactor_.resume_handler(id());
}

AcceptHandler::AcceptHandler(Acceptor acceptor, Reactor& reactor, Service& service,
                             ConnectionHost& host, Connection::Mode mode,
                             const ModelOptions& options, std::atomic<std::uint64_t>& open,
                             std::atomic<std::uint64_t>& accepted,
                             std::atomic<std::uint64_t>& rejected)
    : acceptor_(std::move(acceptor)),
      reactor_(reactor),
      service_(service),
      host_(host),
      mode_(mode),
      options_(options),
      open_(open),
      accepted_(accepted),
      rejected_(rejected) {}

Disposition AcceptHandler::handle_event(int, EventMask) {
  if (stopped_.load(std::memory_order_acquire)) return Disposition::kResume;  // removal follows
  // Accept what is pending (bounded, so one burst cannot starve the other handles).
  for (int i = 0; i < 64; ++i) {
    IoResult io;
    InetAddr peer;
    SockStream s = acceptor_.accept(io, &peer);
    if (io.would_block) return Disposition::kResume;
    if (!io.ok()) {
      // EMFILE/ENFILE and friends: keep serving existing clients; retry on the next event.
      break;
    }
    if (options_.keepalive_idle_s != nullptr && !peer.is_unix_socket()) {  // TCP's
      if (const int idle = options_.keepalive_idle_s->load(std::memory_order_relaxed); idle > 0) {
        (void)s.set_keepalive(idle);
      }
    }
    if (open_.load(std::memory_order_relaxed) >= options_.max_clients) {
      static constexpr char kFull[] = "-ERR max number of clients reached\r\n";
      (void)s.send(kFull, sizeof kFull - 1);
      rejected_.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    if (const std::string_view no = service_.refusal(peer); !no.empty()) {
      (void)s.send(no.data(), no.size());
      rejected_.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    auto session = service_.open_session(peer);
    if (!session) continue;
    auto* c = new Connection(std::move(s), std::move(session), host_, reactor_, mode_,
                             options_.read_chunk);
    open_.fetch_add(1, std::memory_order_relaxed);
    accepted_.fetch_add(1, std::memory_order_relaxed);
    // The connection learns its id in on_registered, before its handle can report anything
    // (epoll reports a hang-up even with no interest); reads are asked for once it is known.
    auto id = reactor_.register_handler(c, 0);
    if (!id.ok()) {
      open_.fetch_sub(1, std::memory_order_relaxed);
      delete c;
      continue;
    }
    // From here on another thread may already have dispatched (even closed) the connection:
    // touch it only through its id.
    (void)reactor_.set_interest(*id, kReadEvent);
  }
  // The quota ran out (or accept failed) with connections possibly still pending: an
  // edge-triggered handle set reports them only when another one arrives, so take another turn.
  if (reactor_.edge_triggered() && !stopped_.load(std::memory_order_acquire)) {
    (void)reactor_.notify(id_, kAcceptEvent);
  }
  return Disposition::kResume;
}

void AcceptHandler::stop_listening() {
  // Linux: shutting the read side of a listening TCP socket takes it out of the listening
  // state at once (tcp_disconnect), whoever else still holds the file.
  stopped_.store(true, std::memory_order_release);
  (void)::shutdown(acceptor_.handle(), SHUT_RD);
}

bool AcceptHandler::resume_listening(int backlog) {
  if (::listen(acceptor_.handle(), backlog) != 0) return false;
  stopped_.store(false, std::memory_order_release);
  return true;
}

void AcceptHandler::handle_close(int) {
  acceptor_.close();  // the port is free from here on
  closed_.store(true, std::memory_order_release);  // the last touch: the owner may free it now
}

void ListenerSet::attach(std::vector<Reactor*> reactors) {
  MutexLock lock(mu_);
  reactors_ = std::move(reactors);
}

Status ListenerSet::listen(const std::string& bind, std::uint16_t port, bool reuse_port) {
  MutexLock lock(mu_);
  free_closed();
  if (reactors_.empty()) return Status::error("not running");
  AcceptorOptions ao;
  ao.reuse_port = reuse_port;
  ao.backlog = options_.listen_backlog;
  // An address listened on already keeps its sockets (opening it again would fail while they
  // listen); every other one gets new sockets, one per handle set, before the old ones are
  // touched (the old still listen on a failure).
  auto ours = [this](const InetAddr& a) LF_NO_THREAD_SAFETY_ANALYSIS {  // under mu_, held here
    for (const auto& h : current_) {
      if (h->local_addr() == a) return true;
    }
    return false;
  };
  auto listening = open_listeners(bind, port, ao, static_cast<int>(reactors_.size()), ours);
  if (!listening.ok() && listening.status().sys_errno() == EADDRINUSE && !current_.empty() &&
      port == port_.load(std::memory_order_relaxed)) {
    // A new address overlaps one listened on (the wildcard after 127.0.0.1, same port): as
    // Redis closes its listeners before it opens the new ones, the old stop listening (a socket
    // out of the listening state no longer holds the address against SO_REUSEADDR) and every
    // address is opened anew; on a failure they listen again, as they were (at their port when
    // it was asked for; one the kernel picked (port 0) may be another then). Another port in
    // use is someone else's: the old are not touched.
    for (auto& h : current_) h->stop_listening();
    listening = open_listeners(bind, port, ao, static_cast<int>(reactors_.size()));
    if (!listening.ok()) {
      for (auto& h : current_) (void)h->resume_listening(ao.backlog);
      return listening.status();
    }
  }
  if (!listening.ok()) return listening.status();
  // With no address left (an empty list) the port stays the one asked for, as Redis reports it.
  const std::uint16_t bound = listening->empty() ? port : (*listening)[0].addr.port();
  std::vector<std::unique_ptr<AcceptHandler>> fresh;
  std::vector<std::unique_ptr<AcceptHandler>> kept;
  for (Listening& l : *listening) {
    if (l.sockets.empty()) {
      for (auto& h : current_) {
        if (h && h->local_addr() == l.addr) kept.push_back(std::move(h));
      }
      continue;
    }
    for (std::size_t i = 0; i < l.sockets.size(); ++i) {
      Reactor& reactor = *reactors_[i];
      auto h = std::make_unique<AcceptHandler>(std::move(l.sockets[i]), reactor, service_, host_,
                                               mode_, options_, open_, accepted_, rejected_);
      auto id = reactor.register_handler(h.get(), kAcceptEvent);
      if (!id.ok()) {
        // Undo the ones registered: the old listeners were never touched.
        for (auto& f : fresh) {
          (void)f->reactor().remove_handler(f->id());
          retired_.push_back(std::move(f));
        }
        for (auto& k : kept) current_.push_back(std::move(k));
        std::erase(current_, nullptr);
        return id.status();
      }
      fresh.push_back(std::move(h));
    }
  }
  // Both listen for a moment. Then each old listener stops listening before it is removed:
  // the old port refuses connections once rebind returns (so it is with Redis's CONFIG SET
  // port), and what still waits in its backlog is reset. Removal alone closed the socket only
  // once no thread was dispatching it (a thread still in its accept turn, preempted, kept the
  // old port listening after rebind returned; under io_uring a pending poll request holds the
  // socket until its cancellation completes).
  for (auto& old : current_) {
    if (!old) continue;  // kept
    old->stop_listening();
    (void)old->reactor().remove_handler(old->id());
    retired_.push_back(std::move(old));
  }
  current_ = std::move(kept);
  for (auto& f : fresh) current_.push_back(std::move(f));
  port_.store(bound, std::memory_order_release);
  free_closed();
  return Status();
}

Status ListenerSet::listen_unix_socket() {
  if (options_.unix_socket.empty()) return Status();
  auto addr = InetAddr::unix_socket(options_.unix_socket);
  if (!addr.ok()) return addr.status();
  MutexLock lock(mu_);
  if (reactors_.empty()) return Status::error("not running");
  Acceptor socket;
  AcceptorOptions ao;
  ao.backlog = options_.listen_backlog;
  ao.unix_perm = options_.unix_socket_perm;
  if (Status st = socket.open(*addr, ao); !st.ok()) return st;
  auto h = std::make_unique<AcceptHandler>(std::move(socket), *reactors_[0], service_, host_, mode_,
                                           options_, open_, accepted_, rejected_);
  auto id = reactors_[0]->register_handler(h.get(), kAcceptEvent);
  if (!id.ok()) return id.status();  // h's socket closes (and its file goes) with it
  unix_socket_ = std::move(h);
  return Status();
}

void ListenerSet::free_closed() {
  std::erase_if(retired_, [](const std::unique_ptr<AcceptHandler>& h) { return h->closed(); });
}

void ListenerSet::clear() {
  MutexLock lock(mu_);
  current_.clear();
  unix_socket_.reset();
  retired_.clear();
  reactors_.clear();
}

}  // namespace lf::detail
