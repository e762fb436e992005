// lf::ConcurrencyModel: the five ways lfdb's servers can run their connections, behind one
// interface, so a server switches with `--model` and `--threads`:
//
//   lf        LeaderFollowers: one handle set (epoll), N threads take turns leading it and each
//             processes the event it took (the default).
//   lf-multi  LeaderFollowersPerHandleSet: K handle sets, each with its own listening socket
//             (SO_REUSEPORT) and its own group of N/K threads.
//   hsha      HalfSyncHalfReactive: one reactor thread reads each request into a newly allocated
//             message and queues it (a monitor object) for N worker threads: the baseline the
//             Leader/Followers pattern argues against, implemented faithfully, not weakened.
//   tpc       ThreadPerConnection: blocking I/O, one thread per client.
//   reactor   SingleThreadedReactor: one thread, one epoll loop.
//
// The application supplies a Service that opens one Session per connection. A session sees
// the connection's unconsumed input and appends its replies; the model does all socket I/O.
// Thread-safety: a Session is called by one thread at a time (never concurrently), though not
// always the same thread. Service::open_session may be called from any model thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "lf/net.hpp"
#include "lf/stats.hpp"
#include "lf/status.hpp"
#include "lf/unbound_thread_set.hpp"

namespace lf {

// A view of a connection's unconsumed input. on_input consumes what it has processed; the
// rest is kept (copied aside only when a request is split across reads).
class InputBuffer {
 public:
  InputBuffer(const char* data, std::size_t size) : data_(data), size_(size) {}
  std::string_view view() const { return {data_ + consumed_, size_ - consumed_}; }
  std::size_t size() const { return size_ - consumed_; }
  bool empty() const { return consumed_ == size_; }
  void consume(std::size_t n) { consumed_ += n <= size() ? n : size(); }
  std::size_t consumed() const { return consumed_; }

 private:
  const char* data_;
  std::size_t size_;
  std::size_t consumed_ = 0;
};

enum class SessionAction {
  kContinue,  // keep the connection
  kClose,     // flush what is in `out`, then close
  // The session handed its next step to another thread (a command of its pipeline waits for
  // its turn elsewhere): flush `out`, read nothing more from the connection, and continue when
  // the session calls host().unpark(). Unconsumed input is kept for that continuation.
  kPark,
  // The replies in `out` reached kReplyFlushBytes with input left: send them, then call
  // on_input again over the input kept, before reading more. For a session that is read on
  // while its replies wait (Session::reads_while_output_waits) they join those waiting and it
  // runs on at once; for any other, while the socket does not take them, the model neither
  // runs the session nor reads (back-pressure: its replies stay at a bound of output).
  kYield,
};

// The bound of replies a session builds before it yields them to the socket (kYield). A
// pipeline's replies thus go out in pieces of about this size, plus one reply.
inline constexpr std::size_t kReplyFlushBytes = 64 * 1024;
// A thread's reply buffer that grew past this (one large reply) is given back once sent, so a
// spike does not stay resident for the thread's lifetime. Twice the flush bound: a pipeline's
// buffer (kReplyFlushBytes plus a reply) stays, a 150 KB LRANGE's does not (a buffer kept at
// 256 KB was used_memory the server held with no data and no client: Redis's obuf-limits and
// maxmemory units count on it coming back).
inline constexpr std::size_t kReplyKeepBytes = 128 * 1024;

// What a session may ask of the model that runs its connection, from any thread.
class SessionHost {
 public:
  virtual ~SessionHost() = default;
  // After on_input returned kPark: carry the connection on, on the calling thread: the model
  // calls on_input again (with the input it kept, possibly empty), sends what it appends, and
  // then reads from the connection again. Call exactly once per kPark, as the last thing the
  // parked work does with the session (the session may be closed before unpark returns).
  virtual void unpark() = 0;
  // Close the connection soon (CLIENT KILL from another connection). Never while parked.
  virtual void request_close() = 0;
  // From any thread: have the serving thread call on_input soon (with the input it kept,
  // possibly none), so the session can send what was posted to it (lf::Outbox). Wakes that
  // come while the session is busy, parked or its output is backed up are merged and
  // delivered once it can send again. Only after prepare_wake().
  virtual void wake() {}
  // On the serving thread, before the session hands anyone a way to wake it (Outbox::open):
  // a model whose thread blocks in a read prepares to be interrupted.
  virtual void prepare_wake() {}
  // The connection's socket, for a session that hands its connection over to another owner
  // (a replica's link goes to the replication dispatcher): it dup()s it and closes its session;
  // the model's close then leaves the dup open. -1 when the model cannot tell.
  virtual int handle() const { return -1; }
  // Replies handed to the model and not yet taken by the socket, and dropping them (a session
  // that closes its client for holding too many sends none of them). Called by the session
  // from inside on_input only. A model that never reads while replies wait (back-pressure)
  // holds none between two calls: 0, and nothing to drop.
  virtual std::size_t unsent_output() const { return 0; }
  virtual void discard_unsent() {}
  // The memory the model holds for replies waiting for the socket: the buffer's capacity, sent
  // bytes not yet given back included (what the allocator counts, not what is left to send).
  virtual std::size_t held_output_bytes() const { return 0; }
};

class Session {
 public:
  virtual ~Session() = default;
  // Process the input it can (consume it) and append replies to `out`.
  virtual SessionAction on_input(InputBuffer& in, std::string& out) = 0;
  // Whether the model goes on reading (and running the session) while the socket has not
  // taken the replies already made, so they pile up, as Redis lets them up to its limits. A
  // client that sends its whole pipeline before it reads needs it: with back-pressure it blocks
  // in its send while the server waits for it to read, and neither ever goes on. By default no:
  // the model reads nothing until they are out, and a client that does not read holds the
  // server's memory to one send's worth. A session that bounds what piles up itself
  // (SessionHost::unsent_output, then closing) says yes. Asked by the serving thread; the lf,
  // lf-multi, reactor and hsha models' connections honour it (src/lf/connection.cpp, the
  // replies held as a chain of blocks: output_chain.hpp), and so does the uring-completion
  // handle set (uring_connection.cpp) and tpc (its thread polls for both directions while
  // replies wait, model_thread_per_connection.cpp).
  virtual bool reads_while_output_waits() const { return false; }
  // The model's held output (SessionHost::held_output_bytes) changed after on_input returned:
  // the replies of a read were appended to those waiting, or the waiting ones went out. Called
  // on the thread that runs the session, never while it is parked, and only when replies wait
  // or stopped waiting, or a reply buffer grown past kReplyKeepBytes went out whole at once (a
  // send of a smaller one that takes everything calls nothing). A session that counts its
  // client's memory recounts it here: the append can double the buffer after on_input counted,
  // and a large buffer it counted is gone once sent.
  virtual void on_output_held() {}
  // Called by the model before the first on_input.
  void attach(SessionHost* host) {
    host_ = host;
    on_attach();
  }

 protected:
  SessionHost* host() const { return host_; }
  // The host is known from here on (a session that lets others close it registers itself now).
  virtual void on_attach() {}

 private:
  SessionHost* host_ = nullptr;
};

class Service {
 public:
  virtual ~Service() = default;
  // Asked first for each accepted connection: a non-empty answer turns it away before any
  // session opens; the model sends it (one protocol error line, a constant) and closes the
  // connection, as it does past max_clients, and counts it in ModelStats::rejected.
  virtual std::string_view refusal(const InetAddr& /*peer*/) { return {}; }
  virtual std::unique_ptr<Session> open_session(const InetAddr& peer) = 0;
};

enum class ModelKind { kLeaderFollowers, kLeaderFollowersMulti, kHalfSyncHalfReactive,
                       kThreadPerConnection, kSingleThreadedReactor };
const char* to_string(ModelKind k);   // "lf", "lf-multi", "hsha", "tpc", "reactor"
bool parse_model(const std::string& s, ModelKind& out);
std::vector<ModelKind> all_models();

struct ModelOptions {
  // Where to listen: Redis's `bind` list, "127.0.0.1 ::1", "* -::*" (every address; "-": an
  // address the machine may not have), one socket per address (lf::open_listeners); empty: no
  // TCP socket at all.
  std::string bind = "127.0.0.1";
  std::uint16_t port = 0;  // 0: any free port, the same on every address (see port())
  // Besides bind:port, a UNIX domain socket at this path (none when empty), made with the mode
  // unix_socket_perm (0: as the umask leaves it) and removed when the model stops. Every model
  // and handle set listens there too; rebind leaves it where it is.
  std::string unix_socket;
  unsigned unix_socket_perm = 0;
  int threads = 4;
  Promotion promotion = Promotion::kLifo;
  int max_events_per_wait = 64;  // lf, lf-multi, reactor
  // lf, lf-multi: how the shared handle set deactivates a handle while a thread processes it
  // (lf::HandleSetKind; hsha keeps the one-shot set, the baseline as the pattern describes it).
  // Edge-triggered by default: a system call fewer per request (docs/benchmarks-server.md).
  HandleSetKind handle_set = HandleSetKind::kEpollEdge;
  int events_per_turn = 8;       // lf, lf-multi: events a leader takes per promotion (measured: docs/benchmarks-echo.md)
  int handle_sets = 0;           // lf-multi: 0 picks min(threads, CPUs)
  // lf, lf-multi: a leader that took every ready event keeps leading (UnboundThreadSet's lazy
  // promotion). Only for services whose handlers never block: a leader blocked in a handler
  // (an fsync) would leave the handle set unwatched.
  bool lazy_promotion = false;
  std::size_t max_clients = 10000;
  std::size_t read_chunk = 16 * 1024;  // bytes read per recv
  int listen_backlog = 1024;           // listen(2)'s backlog
  // TCP keep-alive idle seconds for each accepted connection (0 or null: off). Shared so its
  // owner may change it while the model runs (it applies to the connections accepted after).
  std::shared_ptr<const std::atomic<int>> keepalive_idle_s;
};

struct ModelStats {
  std::vector<ThreadStatsSnapshot> threads;
  ThreadStatsSnapshot totals;
  std::uint64_t accepted = 0;
  std::uint64_t rejected = 0;  // over max_clients, or refused by the service
  std::uint64_t open_connections = 0;
};

class ConcurrencyModel {
 public:
  static Result<std::unique_ptr<ConcurrencyModel>> create(ModelKind kind, ModelOptions options,
                                                          Service& service);
  virtual ~ConcurrencyModel() = default;

  // Binds the listening socket(s) and starts the threads; returns once connections are taken.
  virtual Status start() = 0;
  // Stops accepting, closes every connection, joins every thread. Returns within a second
  // (sessions are not waited on beyond the request they are processing).
  virtual void stop() = 0;
  // Listens at every address of `bind` (ModelOptions::bind's list) on `port` (0: any free
  // port) instead, while the model runs: the new sockets are open before the old ones close,
  // so a failure (an address in use) changes nothing and the model goes on listening where it
  // was. Connections already accepted stay. From any
  // thread, a session's own too (CONFIG SET port); rebinds are serialized.
  virtual Status rebind(const std::string& bind, std::uint16_t port) = 0;
  // Where the model listens now (after a rebind, the new port).
  virtual std::uint16_t port() const = 0;
  virtual ModelStats stats() const = 0;
  virtual ModelKind kind() const = 0;
  // What the model's threads wait on for readiness or completions ("epoll", "io_uring", or
  // "poll" for thread-per-connection's blocking sockets): INFO's multiplexing_api.
  virtual const char* demultiplexer() const = 0;
};

}  // namespace lf
