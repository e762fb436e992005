// Internal to liblf: the event handlers the reactor-based concurrency models share.
//   Connection  one client: reads, hands input to its Session, writes replies.
//   AcceptHandler  the listening socket: accepts and registers Connections.
// Input is read into the thread's own scratch buffer (thread-specific storage, as the pattern
// recommends) and only copied into the connection when a request is split across reads; replies
// go out straight from the thread's scratch output; what the socket does not take waits in the
// connection's OutputChain (the scratch buffer moves there; replies made while some wait, when
// the session is read on, are copied into its blocks). So a steady request/reply exchange
// allocates nothing and an idle connection holds no buffers.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "lf/concurrency_model.hpp"
#include "lf/mutex.hpp"
#include "lf/reactor.hpp"
#include "lf/rendezvous.hpp"
#include "output_chain.hpp"

namespace lf::detail {

struct IoScratch {
  std::string in;
  std::string out;
};
IoScratch& io_scratch(std::size_t read_chunk);

class Connection;

// Replies at the end of a turn. A thread set's leader dispatches a batch of ready connections
// per turn; with a ReplyBatch open on its thread, each connection's replies are sent after the
// turn's last dispatch instead of at the end of its own, as a single-threaded event loop sends
// them before it sleeps. A send wakes the client that waits for it, and the kernel places a
// woken reader next to the writer expecting the writer to sleep: a client woken in the middle
// of the batch preempts the thread that still has the rest to serve. Until its replies are
// out the connection's handle stays suspended, so no thread reads it or answers it in
// between and no reply is reordered.
class ReplyBatch {
 public:
  ReplyBatch();
  ~ReplyBatch();
  ReplyBatch(const ReplyBatch&) = delete;
  ReplyBatch& operator=(const ReplyBatch&) = delete;
  // Sends what this thread's open batch holds so far (a handler that turns out long hands its
  // turn on: the replies finished before it do not wait for it).
  static void flush();

 private:
  const bool was_open_;  // a turn nested in a handler's (join_until) ends with the outer's open
};

// A session with the input it has not consumed yet. Shared by every model, so the rule
// "read into the thread's scratch, copy aside only a split request" lives in one place.
class SessionPump {
 public:
  explicit SessionPump(std::unique_ptr<Session> session) : session_(std::move(session)) {}

  // Reads once from `stream` (into the thread's scratch, or after the leftover) and runs the
  // session over what is there; replies are appended to `out`.
  struct Outcome {
    IoResult io;
    SessionAction action = SessionAction::kContinue;
  };
  Outcome read_and_run(SockStream& stream, std::size_t read_chunk, std::string& out);
  // Runs the session over bytes that were read elsewhere (HS/HA messages).
  SessionAction run_bytes(const char* data, std::size_t size, std::string& out);
  void reset() { session_.reset(); std::string().swap(leftover_); }
  Session* session() const { return session_.get(); }
  // Session::reads_while_output_waits as the session's last run that did not park answered
  // it: the connection asks afterwards, when a parked command's task may be changing the
  // session on another thread (subscribing it), so the answer is taken as the run ends.
  bool reads_while_output_waits() const { return reads_on_; }

 private:
  SessionAction run(const char* data, std::size_t size, std::string& out);

  std::unique_ptr<Session> session_;
  std::string leftover_;  // input split across reads; empty and unallocated when idle
  bool reads_on_ = false;  // the thread running the session's turns writes and reads it
};

// Where finished connections report (the model), and what the HS/HA variant queues into.
class ConnectionHost {
 public:
  virtual ~ConnectionHost() = default;
  virtual void connection_closed() = 0;
  // HS/HA only: take ownership of a request message read by the reactor thread.
  virtual void enqueue_message(Connection* c, std::string* message) { (void)c; delete message; }
};

class Connection final : public EventHandler, public SessionHost {
 public:
  enum class Mode { kInline, kHalfSyncHalfReactive };

  Connection(SockStream stream, std::unique_ptr<Session> session, ConnectionHost& host,
             Reactor& reactor, Mode mode, std::size_t read_chunk);
  ~Connection() override;

  EventMask on_registered(HandlerId id) override;
  HandlerId id() const { return HandlerId::from_raw(id_.load(std::memory_order_relaxed)); }
  Reactor& reactor() { return reactor_; }

  Disposition handle_event(int handle, EventMask events) override;
  int get_handle() const override { return stream_.handle(); }
  void handle_close(int handle) override;

  // HS/HA worker side: process a message read by the reactor thread, write the replies, then
  // tell the reactor what to do with the (suspended) handle.
  void process_message(const std::string& message);

  // SessionHost.
  void unpark() override;
  void request_close() override;
  void wake() override;
  // ReplyBatch: sends the replies left for the end of the turn and resumes the handle (or
  // removes it, if the send failed).
  void flush_deferred();
  int handle() const override { return stream_.handle(); }
  std::size_t unsent_output() const override { return pending_out_.unsent(); }
  void discard_unsent() override { pending_out_.clear(); }
  std::size_t held_output_bytes() const override { return pending_out_.held_bytes(); }

 private:
  // The session asks to be read while its replies wait (Session::reads_while_output_waits).
  // Under HS/HA too: the reactor thread reads the next message while the replies wait, and the
  // worker that runs it appends to them (the handle is suspended in between, so the two never
  // touch the chain at once).
  bool reads_while_output_waits() const;
  // The session parked with `out` to send. Flushes it and meets the unparker: whichever of the
  // two comes second carries the connection on. Returns what the dispatch (if any) returns.
  Disposition park(std::string& out, bool in_dispatch);
  // Runs the session over the input it kept until it parks again or is done.
  Disposition carry_on(bool in_dispatch);
  Disposition finish(Disposition d, bool in_dispatch);

  Disposition on_writable();
  // A wake (SessionHost::wake) with no input: run the session over what it kept so it can send
  // what was posted to it. HS/HA: a worker does it, as for a request.
  Disposition run_woken();
  // Sends the replies in `out` (what the socket does not take waits in pending_out_, and `out`
  // is left empty, its buffer given back if it grew large, or moved into the chain).
  // `parked`: the session is parked (its task may run elsewhere), so it is not told of the
  // output it now holds (Session::on_output_held).
  Disposition reply(SessionAction action, std::string& out, bool parked = false);
  void output_held();  // Session::on_output_held, if there is a session
  // What the dispatch does with the session's action: a yield loops (reply, run the kept
  // input) while the socket takes the replies; a park parks; the rest is reply().
  Disposition respond(SessionAction action, std::string& out);

  SockStream stream_;
  SessionPump pump_;
  ConnectionHost& host_;
  Reactor& reactor_;
  const Mode mode_;
  const std::size_t read_chunk_;
  // Written once, by register_handler; atomic because CLIENT KILL (request_close) can read it
  // from another thread before registration is over. Kept raw: HandlerId is only 4-aligned,
  // and an atomic of it would not be lock-free.
  std::atomic<std::uint64_t> id_{0};
  OutputChain pending_out_;  // replies the socket has not taken yet
  // Replies left for the end of the dispatching thread's turn (ReplyBatch); the buffer comes
  // from and goes back to the thread's spares, so an idle connection holds none.
  std::string deferred_out_;
  bool closing_ = false;
  bool broken_ = false;  // a send failed while parked: close once the session is unparked
  // A wake arrived (or the session yielded with input kept) while replies were still waiting
  // for the socket: the session runs once they are out (so what it would drain stays in its
  // outbox, where the limits see it, and its pipeline's next replies are not built yet).
  bool wake_due_ = false;
  Rendezvous park_;  // the parking thread and the unparker: the second to arrive goes on
  std::atomic<bool> close_requested_{false};
};

// The listening socket and its handler, one unit: a model replaces it at run time
// (ConcurrencyModel::rebind) by stopping the old one listening and removing it from its
// reactor. handle_close, which the reactor calls once no thread dispatches it any more (that
// may be after rebind returned), closes the socket and then says so through closed(): from then
// on its owner may free it.
class AcceptHandler final : public EventHandler {
 public:
  AcceptHandler(Acceptor acceptor, Reactor& reactor, Service& service, ConnectionHost& host,
                Connection::Mode mode, const ModelOptions& options,
                std::atomic<std::uint64_t>& open, std::atomic<std::uint64_t>& accepted,
                std::atomic<std::uint64_t>& rejected);
  Disposition handle_event(int handle, EventMask events) override;
  int get_handle() const override { return acceptor_.handle(); }
  EventMask on_registered(HandlerId id) override {
    id_ = id;
    return 0;
  }
  void handle_close(int handle) override;
  // The port refuses connections from here on (what waits in the backlog is reset), though the
  // socket stays open until handle_close: a thread may still be accepting on it, or (io_uring) a
  // poll request may still hold it. Called while the handler is registered, so handle_close
  // has not closed the descriptor yet; an accept racing with it fails as a failed accept does.
  void stop_listening();
  // Undoes stop_listening (its socket is still bound): listens again. False when it cannot.
  bool resume_listening(int backlog);
  // Set by on_registered before the handle can report anything; read by the registering
  // thread once register_handler returned.
  HandlerId id() const { return id_; }
  std::uint16_t port() const { return acceptor_.local_addr().port(); }
  const InetAddr& local_addr() const { return acceptor_.local_addr(); }
  Reactor& reactor() { return reactor_; }
  bool closed() const { return closed_.load(std::memory_order_acquire); }

 private:
  HandlerId id_;
  // The reactor's thread in dispatch, then handle_close, use it in turn; stop_listening (from
  // the rebinding thread) only reads its descriptor, which nothing changes before handle_close.
  Acceptor acceptor_;
  Reactor& reactor_;
  Service& service_;
  ConnectionHost& host_;
  const Connection::Mode mode_;
  const ModelOptions options_;
  std::atomic<std::uint64_t>& open_;
  std::atomic<std::uint64_t>& accepted_;
  std::atomic<std::uint64_t>& rejected_;
  std::atomic<bool> closed_{false};
  // Set by stop_listening: the socket only reports its hang-up from then on, and an
  // edge-triggered set's self-notification after a failed accept would spin a thread until the
  // removal lands.
  std::atomic<bool> stopped_{false};
};

// A reactor-based model's listening sockets, one per handle set (lf-multi: several sharing a
// port with SO_REUSEPORT), and their replacement while the model runs (ConcurrencyModel::
// rebind). listen() opens every new socket before it touches the old ones, so a failure (the
// port is taken) leaves the model listening where it was; then it registers the new listeners
// and removes the old, which the reactors close once no thread is accepting on them.
// Thread-safe: mu_ makes one listen() at a time and guards the listeners, current and retired.
class ListenerSet {
 public:
  ListenerSet(Service& service, ConnectionHost& host, Connection::Mode mode,
              const ModelOptions& options, std::atomic<std::uint64_t>& open,
              std::atomic<std::uint64_t>& accepted, std::atomic<std::uint64_t>& rejected)
      : service_(service), host_(host), mode_(mode), options_(options), open_(open),
        accepted_(accepted), rejected_(rejected) {}
  // Before the first listen(): the handle sets, one listener each.
  void attach(std::vector<Reactor*> reactors) LF_EXCLUDES(mu_);
  // Listen at every address of `bind` (Redis's list, lf::open_listeners; port 0: a free one,
  // shared by every address and handle set) instead of where the model listened; all or
  // nothing. An empty list: no TCP listener at all.
  Status listen(const std::string& bind, std::uint16_t port, bool reuse_port) LF_EXCLUDES(mu_);
  // After the first listen(): also options.unix_socket, when set, on the first handle set (one
  // socket: a path cannot be shared as SO_REUSEPORT shares a port). listen() leaves it alone.
  Status listen_unix_socket() LF_EXCLUDES(mu_);
  std::uint16_t port() const { return port_.load(std::memory_order_acquire); }
  // After the reactors were destroyed (they closed the current listeners): frees them all.
  void clear() LF_EXCLUDES(mu_);

 private:
  void free_closed() LF_REQUIRES(mu_);

  Service& service_;
  ConnectionHost& host_;
  const Connection::Mode mode_;
  const ModelOptions options_;
  std::atomic<std::uint64_t>& open_;
  std::atomic<std::uint64_t>& accepted_;
  std::atomic<std::uint64_t>& rejected_;
  Mutex mu_;
  std::vector<Reactor*> reactors_ LF_GUARDED_BY(mu_);
  // One per address and reactor (lf-multi: every handle set listens on every address).
  std::vector<std::unique_ptr<AcceptHandler>> current_ LF_GUARDED_BY(mu_);
  std::unique_ptr<AcceptHandler> unix_socket_ LF_GUARDED_BY(mu_);  // on reactors_[0], or none
  // Removed from their reactors, freed once closed() (a thread may still be accepting on one).
  std::vector<std::unique_ptr<AcceptHandler>> retired_ LF_GUARDED_BY(mu_);
  std::atomic<std::uint16_t> port_{0};  // the current listeners' port: read without mu_
};

}  // namespace lf::detail
