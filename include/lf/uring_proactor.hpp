// lf::UringProactor: a completion-based handle set over io_uring, the Proactor variant of the
// Leader/Followers pattern (an experiment beside the Reactor's readiness handle sets; issue 18).
//
// The kernel does the I/O: one multishot accept on the listening socket, one multishot recv per
// connection into buffers the proactor provides (a registered buffer ring), and sends queued as
// submission entries that go to the kernel in one io_uring_enter per leader turn (with the
// leader's wait), or at once by a worker when a leader is already blocked in the kernel.
// Threads take turns: the leader reaps completions and routes each to its connection's slot;
// the threads that take a slot run its handler with the bytes in hand (on_data), then return
// the buffers to the ring and queue what the handler sent.
//
// The safety rules of the reactor's handle sets hold here too:
//  * one thread per handler at a time: a slot is taken from the moment a completion is routed
//    to it until its pending completions are drained; completions arriving meanwhile wait in the
//    slot, in order, and the thread holding it runs them next;
//  * never the wrong handler after fd reuse: every request's user data carries the slot and its
//    generation (HandlerId); a completion of an older generation is dropped (its buffer goes
//    back to the ring), and a slot is freed only after the final completion of each of its
//    requests has been seen;
//  * removal is atomic: once close(id) has returned no new on_data begins for that handler (one
//    already under way finishes); on_close runs once, after the last on_data returned and every
//    request of the connection ended, and by then the id no longer names it.
//
// Where io_uring is unavailable (liblf built without liburing, or a kernel that refuses it or
// lacks provided buffer rings, 5.19+), create() fails with the reason; probe() tells first.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "lf/event_handler.hpp"
#include "lf/net.hpp"
#include "lf/status.hpp"

namespace lf {

class UringProactor;

// What a handler may do from inside on_data (only there: it names the slot the calling thread
// holds).
class ProactorIo {
 public:
  // Queue bytes for the connection (copied); they go out after on_data returns, in order.
  void send(std::string_view bytes);
  // Close the connection once what was queued has been sent; no on_data follows.
  void close();
  // Stop receiving (the recv is cancelled, as for output_limit) until hold(false); bytes the
  // kernel had already received still reach on_data. A host whose session cannot take input
  // (parked, or yielding its replies) holds it in the socket.
  void hold(bool on);
  // While pinned, the connection is not finished (no on_close) even once the peer is gone and
  // every request ended: a host whose session work is out on another thread pins it until that
  // work is back (a notify), so the handler outlives it.
  void pin(bool on);
  // on_drained runs once everything queued so far has been sent (at once if nothing is).
  void notify_when_drained();
  // The peer is gone, an error happened or close() was asked: no on_data will follow.
  bool closing() const;
  // Closing without sending: close(id) was asked or the connection failed (not the peer's
  // orderly end of stream, after which what is queued still goes out).
  bool aborted() const;
  // Bytes queued or in the kernel's hands, not yet sent.
  std::size_t unsent() const;
  // Keep receiving while replies wait, past the proactor's output_limit (a host whose session
  // bounds what piles up itself: Session::reads_while_output_waits). Off by default.
  void read_on(bool on);
  // The memory the connection's waiting replies hold (their buffers' capacities); 0 when all
  // are sent.
  std::size_t held_bytes() const;
  // Drops the replies queued and not yet handed to the kernel (the client is closed unanswered).
  void discard_queued();
  HandlerId id() const;
  int fd() const;

  explicit ProactorIo(void* slot) : slot_(slot) {}  // the proactor's: a slot it holds

 private:
  void* slot_;
};

class ProactorHandler {
 public:
  virtual ~ProactorHandler() = default;
  // Bytes the kernel received for this connection, valid only during the call.
  virtual void on_data(ProactorIo& io, std::string_view bytes) = 0;
  // Once, after the last on_data returned and the connection's requests all ended.
  virtual void on_close() {}
  // After UringProactor::notify(id): once per notify, or once for several that came while
  // the slot was busy (merged in order with the completions; also when closing()).
  virtual void on_notify(ProactorIo& /*io*/) {}
  // After notify_when_drained(), once the queued output has all gone to the kernel.
  virtual void on_drained(ProactorIo& /*io*/) {}
};

struct ProactorOptions {
  std::string bind = "127.0.0.1";  // Redis's list: addresses, "-" optional (lf::open_listeners)
  std::uint16_t port = 0;           // 0: any free port
  int backlog = 1024;               // listen(2)'s, for every listening socket
  // Besides bind:port, a UNIX domain socket at this path (none when empty), with the file mode
  // unix_socket_perm (0: as the umask leaves it); rebind() leaves it where it is.
  std::string unix_socket;
  unsigned unix_socket_perm = 0;
  int threads = 2;                  // threads taking turns as the leader
  unsigned max_connections = 4096;  // slots
  unsigned buffers = 1024;          // provided receive buffers (a power of two)
  unsigned buffer_size = 4096;
  unsigned ring_entries = 1024;  // submission queue; the completion queue is 8x
  // Back-pressure: a connection whose unsent replies exceed this stops receiving (its recv is
  // cancelled) until they drain to half of it, so a peer that sends and does not read holds at
  // most this much (plus what was already received) instead of growing without bound.
  std::size_t output_limit = 1 << 20;
  // false: a leader that goes on to process slots hands the role back and promotes a follower
  // first (a futex wake per turn), so a handler that blocks never leaves the completion queue
  // unwatched.
  // true: the leader keeps the role while it runs every slot its wait reaped, then waits
  // again: no follower is woken on the fast path. It gives the role up (and the rest of its
  // turn's slots, to whichever thread comes) only when a handler calls
  // UnboundThreadSet::promote_new_leader() (a long one: a script, a snapshot). Followers are
  // woken only for work they can take: a slot notify(id) or close(id) scheduled.
  bool lazy_promotion = true;
};

struct ProactorStats {
  std::uint64_t accepted = 0;
  std::uint64_t completions = 0;  // reaped by leaders
  std::uint64_t enters = 0;       // io_uring_enter calls (waits and submissions)
  std::uint64_t leader_turns = 0;
  std::uint64_t recv_pauses = 0;  // recvs cancelled for back-pressure (output_limit)
  std::uint64_t follower_wakes = 0;  // followers woken (condition variable signals)
  std::uint64_t promotions = 0;      // leaders that gave the role up from inside a handler
};

class UringProactor {
 public:
  // Called by the leader for each accepted socket `fd` (the proactor owns it). A null handler
  // turns the connection away: the proactor closes it (the factory may first send it a line).
  using Factory = std::function<std::unique_ptr<ProactorHandler>(HandlerId, int fd)>;

  // Opens the listening socket and the ring; fails with the reason where io_uring is unusable.
  static Result<std::unique_ptr<UringProactor>> create(const ProactorOptions& options, Factory factory);
  // Whether create() can work here, without listening: liburing built in, a ring the kernel
  // lets this process set up (a seccomp profile or kernel.io_uring_disabled may refuse it), and
  // provided buffer rings (5.19+). With LF_NO_IO_URING set in the environment it fails as a
  // refusing kernel would: how tests exercise a caller's fallback on a machine that has it.
  static Status probe();
  ~UringProactor();  // stops first
  UringProactor(const UringProactor&) = delete;
  UringProactor& operator=(const UringProactor&) = delete;

  Status start();  // posts the multishot accept and starts the threads
  void stop();     // joins the threads; open connections are closed without on_close
  std::uint16_t port() const;  // where the TCP listener is now (after a rebind, the new port)
  // Listen at every address of `bind` (Redis's list, lf::open_listeners; port 0: a free one)
  // instead of where the TCP listeners were, from any thread, while running: the new sockets
  // are open before the old ones are touched, so a failure (the address is taken) changes
  // nothing. Then the old sockets stop listening at once (what waits in their backlogs is
  // reset) and each is closed once its accept request has ended. Connections already accepted
  // stay. Rebinds are serialized.
  Status rebind(const std::string& bind, std::uint16_t port);

  // Close a connection from any thread (a pending recv is cancelled); false if `id` is gone.
  bool close(HandlerId id);
  // From any thread: have `id`'s handler run on_notify. If no thread holds its slot and
  // `run_here`, the calling thread takes the slot and runs it (and whatever completions wait
  // in it) before returning; else a proactor thread does, soon. False if `id` is gone.
  bool notify(HandlerId id, bool run_here);
  ProactorStats stats() const;

  struct Impl;

 private:
  explicit UringProactor(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace lf
