// The completion handle set (include/lf/uring_proactor.hpp): Leader/Followers over an io_uring
// completion queue. Who touches what:
//   * the completion queue: only the leader (one thread at a time, leader_present_);
//   * the submission queue: any thread, under sq_mu_; entries are made visible to the kernel
//     (flush_sq) and submitted with the leader's wait, or by the thread that queued them when a
//     leader is already blocked in the kernel (leader_blocked_), so a send never waits for an
//     unrelated completion;
//   * the provided-buffer ring's tail: any thread returning a buffer, under buf_mu_;
//   * a slot's owned fields (fd, handler, output, request counts): the thread that holds the
//     slot taken (Slot::taken, under Slot::mu), or the leader while it opens the slot;
//   * the listening sockets (Listener, under lmu): rebind() opens the new ones and posts their
//     accept, then retires the old (shut down and its accept cancelled); the leader posts an
//     accept that ended again, and closes a retired socket once its accept's final completion
//     came (or at once, under lmu, if none was posted);
//   * notify(id) routes a kNotify into the slot as the leader routes a completion; the thread
//     that takes the slot for it is the caller (run_here) or a proactor thread (scheduled: a
//     follower is woken, else the leader, with a NOP if it is blocked in the kernel).
// The leader's turn (lazy_promotion, the default): it keeps the role while it runs every slot
// its wait reaped, then submits their sends with its next wait. Nobody else waits on the
// completion queue meanwhile, so no follower is woken per turn (the futex wake and the two
// context switches each hand-off cost were more than the recv and send calls the ring saves),
// and every request is submitted by the leader's thread, so the kernel's task work for it runs
// in the leader's own wait instead of waking a follower asleep on the condition variable. A
// handler that runs long gives the role up (promote_from_handler) with the turn's other slots.
// One that keeps its thread very long (a busy script) serves the ring from inside itself when
// no thread leads (serve_from_handler: one turn as the leader without waiting, the slots run
// nested), so the connections are answered even when every thread is in such a handler.
#include "lf/uring_proactor.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <cstdlib>
#include <deque>
#include <thread>
#include <vector>

#include "lf/mutex.hpp"
#include "lf/thread_annotations.hpp"
#include "lf/unbound_thread_set.hpp"
#include "serve_hook.hpp"

#ifdef LF_HAVE_LIBURING
#include <liburing.h>
#endif

namespace lf {

#ifdef LF_HAVE_LIBURING

namespace {

// User data: kind (top 8 bits) | generation (24 bits) | slot (32 bits); an accept's names its
// listener (index and generation) the same way.
// kNotify never goes to the kernel: notify() puts it into a slot's pending completions.
// kRearm never goes to the kernel either: a connection whose recv ran out of buffers
// (ENOBUFS) waits for enough of them to come back, then its holder posts the recv again.
// kCopied: received bytes the leader copied out of a provided buffer (Slot::copied).
// kKept: the same for bytes of the batch a handler that turned long was running (Slot::kept).
enum Kind : std::uint8_t {
  kInternal = 0, kAccept = 1, kRecv = 2, kSend = 3, kNotify = 4, kRearm = 5, kCopied = 6, kKept = 7
};
constexpr std::uint32_t kGenMask = 0xFFFFFF;
// A send buffer past this is given back once all of it was sent (a pile of replies); a smaller
// one is kept for the slot's next sends.
constexpr std::size_t kKeepSendBytes = std::size_t{1} << 20;
// `out` past this becomes a block of Slot::blocks and `out` starts anew.
constexpr std::size_t kQueueBlockBytes = 256 * 1024;
constexpr int kBufferGroup = 1;

std::uint64_t token(Kind k, std::uint32_t slot, std::uint32_t gen) {
  return (static_cast<std::uint64_t>(k) << 56) | (static_cast<std::uint64_t>(gen & kGenMask) << 32) | slot;
}

}  // namespace

struct Slot {
  // A completion routed to the slot. Its kind is a Kind held as a byte: Slot has linkage, so
  // its fields keep clear of this file's anonymous namespace (a unity build shares the TU).
  struct Completion {
    std::uint8_t kind;
    int res;
    unsigned flags;
  };

  Mutex mu;
  std::uint32_t index = 0;
  std::uint32_t gen LF_GUARDED_BY(mu) = 0;  // 0: free
  std::uint32_t last_gen LF_GUARDED_BY(mu) = 0;
  bool taken LF_GUARDED_BY(mu) = false;  // a thread runs (or is about to run) this slot
  std::vector<Completion> pending LF_GUARDED_BY(mu);  // routed while taken, in queue order
  // A slot whose holder is away (taken before the leader's turn: a long handler, a busy
  // script serving the ring from inside itself) would keep the provided buffers its recv
  // takes until it returns, and a client pipelining megabytes behind it would take the whole
  // ring from every other connection. The leader copies such bytes here instead (kCopied) and
  // gives the buffer back at once; past copy_cap it cancels the recv (the rest waits in the
  // socket; the holder posts it again once it has run them). overflow_cancel: that cancel is
  // queued (cleared when the recv is posted again). taken_turn: the leader turn that took it.
  std::string copied LF_GUARDED_BY(mu);
  bool overflow_cancel LF_GUARDED_BY(mu) = false;
  std::uint64_t taken_turn LF_GUARDED_BY(mu) = 0;
  // Set by close(id), ProactorIo::close and the end of the peer's stream; checked before each
  // on_data, so none starts once it is set.
  std::atomic<bool> closing{false};
  // Set by close(id) and by the peer's end of stream or an error: what is unsent is dropped
  // and a send the kernel still holds (a peer that does not read) is cancelled, so the slot
  // ends. ProactorIo::close leaves it clear: that close waits for its replies to go out.
  std::atomic<bool> abort{false};

  // Owned by the thread holding the slot taken (see the file comment).
  HandlerId id;
  int fd = -1;
  std::unique_ptr<ProactorHandler> handler;
  std::string out;       // queued by on_data, not yet handed to the kernel
  // Full blocks of `out` (kQueueBlockBytes or more each) waiting before it, in order: replies
  // that pile up while a client is read on (ProactorIo::read_on) are held as blocks, each
  // handed to the kernel whole (moved into `inflight`) and freed once sent, not one buffer
  // that doubles as it grows (a 300 MB pile was 512 MB plus the copy).
  std::deque<std::string> blocks;
  std::size_t blocks_bytes = 0;     // their sizes together
  std::size_t blocks_capacity = 0;  // their capacities together
  std::string copied_run;  // `copied` taken with the batch being run; kCopied read it in order
  std::size_t copied_off = 0;
  // Bytes of the batch being run, copied out of their buffers when its handler turned long
  // (keep_run_buffers); kKept entries read them in order.
  std::string kept;
  std::size_t kept_off = 0;
  std::string inflight;  // the send the kernel holds (at most one: replies stay in order)
  std::size_t inflight_off = 0;
  bool send_inflight = false;
  bool recv_armed = false;
  bool recv_paused = false;  // cancelled for back-pressure; posted again once output drains
  bool reads_on = false;     // ProactorIo::read_on: no back-pressure at output_limit
  bool starved = false;      // ended in ENOBUFS: posted again once buffers came back (kRearm)
  bool cancel_sent = false;
  bool send_cancel_sent = false;
  bool held = false;          // ProactorIo::hold: receive nothing until released
  bool pinned = false;        // ProactorIo::pin: not finished while set
  bool want_drained = false;  // ProactorIo::notify_when_drained
  int ops = 0;  // requests whose final completion has not been seen
};

// What waits for the kernel and was not handed to it yet goes (the connection is closing
// without sending it, or is finished).
inline void drop_slot_output(Slot& s) {
  s.out.clear();
  std::deque<std::string>().swap(s.blocks);
  s.blocks_bytes = s.blocks_capacity = 0;
}

// A listening socket and its multishot accept (fields under Impl::lmu).
struct UringListener {
  Acceptor acceptor;
  std::uint32_t gen = 0;  // names its accept requests; 0: the entry is free
  bool armed = false;     // its accept request is in the kernel (its final completion not seen)
  bool retired = false;   // replaced by rebind: not posted again, closed once its accept ended
};

struct UringProactor::Impl {
  ProactorOptions opt;
  Factory factory;
  Mutex lmu;  // ordered before sq_mu
  std::vector<std::unique_ptr<UringListener>> listeners LF_GUARDED_BY(lmu);  // few: TCP, UNIX, retired
  std::uint32_t listener_gen LF_GUARDED_BY(lmu) = 0;
  std::vector<std::uint32_t> tcp LF_GUARDED_BY(lmu);  // the current TCP listeners' indexes
  std::atomic<std::uint16_t> port{0};                 // their port, read without lmu
  Mutex rebind_mu;                           // one rebind at a time

  io_uring ring{};  // SQ half under sq_mu; CQ half the leader's only (not annotated: one struct)
  bool ring_ready = false;
  io_uring_buf_ring* br = nullptr;  // tail under buf_mu
  std::size_t br_bytes = 0;
  std::vector<char> buffers;
  int buf_mask = 0;
  bool buf_registered = false;

  std::vector<std::unique_ptr<Slot>> slots;
  Mutex free_mu;
  std::vector<std::uint32_t> free_slots LF_GUARDED_BY(free_mu);

  Mutex sq_mu;
  bool leader_blocked LF_GUARDED_BY(sq_mu) = false;
  // A slot was scheduled while no leader was blocked: the next leader's turn does not wait.
  bool kick LF_GUARDED_BY(sq_mu) = false;
  Mutex buf_mu;
  // Buffers routed to slots and not yet returned (the leader adds, return_buffer takes away).
  std::atomic<std::uint32_t> bufs_out{0};
  // Connections whose recv ended in ENOBUFS while few buffers were left, woken (kRearm) by the
  // return that brings a quarter of the ring back: no re-post loop against an empty ring.
  std::vector<HandlerId> starved LF_GUARDED_BY(buf_mu);
  std::size_t copy_cap = 0;  // per slot, see Slot::copied
  std::uint64_t leader_turn = 0;  // the current leader's turn (the leader's only)

  Mutex pmu;
  CondVar followers_cv;
  std::deque<Slot*> ready LF_GUARDED_BY(pmu);
  bool leader_present LF_GUARDED_BY(pmu) = false;
  int followers LF_GUARDED_BY(pmu) = 0;
  bool stopping LF_GUARDED_BY(pmu) = false;
  std::vector<std::thread> threads;  // start/stop's caller only

  std::atomic<std::uint64_t> accepted{0}, completions{0}, enters{0}, turns{0}, pauses{0};
  std::atomic<std::uint64_t> wakes{0}, promotions{0};

  // A proactor thread's own: whether it holds the leader role, and the slots its last wait
  // reaped that it is running (batch[next] now). The promote hook reads it on the same thread.
  struct Turn {
    bool leading = false;
    std::vector<Slot*> batch;
    std::size_t next = 0;
  };
  static inline thread_local Turn* t_turn = nullptr;
  // The slot batch this thread runs (batch[i] now), innermost first.
  struct Run {
    Slot* s;
    std::vector<Slot::Completion>* batch;
    std::size_t i;
    Run* outer;
  };
  static inline thread_local Run* t_run = nullptr;

  // A handler turns long (it gives the leader role up, or serves the ring from inside itself):
  // the received bytes of its batch not run yet leave their provided buffers, which go back to
  // the ring now instead of when it returns (a client that pipelined megabytes behind a busy
  // script would hold the whole ring). Only then: the normal path copies nothing.
  void keep_run_buffers() {
    for (Run* r = t_run; r != nullptr; r = r->outer) {
      Slot& s = *r->s;
      for (std::size_t j = r->i + 1; j < r->batch->size(); ++j) {
        Slot::Completion& c = (*r->batch)[j];
        if (c.kind != kRecv || c.res <= 0 || !(c.flags & IORING_CQE_F_BUFFER)) continue;
        const unsigned bid = c.flags >> IORING_CQE_BUFFER_SHIFT;
        s.kept.append(buffers.data() + static_cast<std::size_t>(bid) * opt.buffer_size, static_cast<std::size_t>(c.res));
        c.kind = kKept;
        c.flags &= ~IORING_CQE_F_BUFFER;
        return_buffer(bid);
      }
    }
  }

  void wake_follower() LF_REQUIRES(pmu) {
    wakes.fetch_add(1, std::memory_order_relaxed);
    followers_cv.notify_one();
  }

  ~Impl() {
    if (buf_registered) (void)io_uring_unregister_buf_ring(&ring, kBufferGroup);
    // The ring goes before the connections and the buffers: its exit cancels what is in flight.
    if (ring_ready) io_uring_queue_exit(&ring);
    for (auto& s : slots) {
      if (s->fd >= 0) ::close(s->fd);  // still open at stop: closed without on_close
    }
    if (br != nullptr) ::munmap(br, br_bytes);
  }

  // --- submission side ----------------------------------------------------------------
  // Publish the entries filled so far to the kernel's ring (liburing's submit does the same
  // before its system call); returns how many the kernel has not consumed yet.
  unsigned flush_sq() LF_REQUIRES(sq_mu) {
    io_uring_sq* sq = &ring.sq;
    const unsigned mask = *sq->kring_mask;
    unsigned ktail = *sq->ktail;
    for (unsigned n = sq->sqe_tail - sq->sqe_head; n > 0; --n) {
      sq->array[ktail & mask] = sq->sqe_head & mask;
      ++ktail;
      ++sq->sqe_head;
    }
    io_uring_smp_store_release(sq->ktail, ktail);
    return ktail - io_uring_smp_load_acquire(sq->khead);
  }
  void enter(unsigned to_submit, unsigned wait_nr) {
    enters.fetch_add(1, std::memory_order_relaxed);
    int rc = io_uring_enter(static_cast<unsigned>(ring.ring_fd), to_submit, wait_nr,
                            wait_nr > 0 ? IORING_ENTER_GETEVENTS : 0, nullptr);
    LF_CHECK_MSG(rc >= 0 || rc == -EINTR || rc == -EAGAIN || rc == -EBUSY, "io_uring_enter failed");
  }
  io_uring_sqe* get_sqe() LF_REQUIRES(sq_mu) {
    io_uring_sqe* sqe = io_uring_get_sqe(&ring);
    if (sqe == nullptr) {  // full: hand what is queued to the kernel now
      enter(flush_sq(), 0);
      sqe = io_uring_get_sqe(&ring);
      LF_CHECK_MSG(sqe != nullptr, "io_uring: submission queue stays full");
    }
    return sqe;
  }
  // Submit now if a leader is blocked in the kernel (it would not see the entries before its
  // next completion); else the next leader's wait submits them.
  void publish() {
    MutexLock l(sq_mu);
    if (!leader_blocked) return;
    unsigned n = flush_sq();
    if (n > 0) enter(n, 0);
  }
  void queue_recv(Slot& s) {
    {
      MutexLock l(sq_mu);
      io_uring_sqe* sqe = get_sqe();
      io_uring_prep_recv_multishot(sqe, s.fd, nullptr, 0, 0);
      sqe->flags |= IOSQE_BUFFER_SELECT;
      sqe->buf_group = kBufferGroup;
      io_uring_sqe_set_data64(sqe, token(kRecv, s.id.slot, s.id.gen));
    }
    {
      MutexLock l(s.mu);
      s.overflow_cancel = false;
    }
    s.recv_armed = true;
    s.starved = false;
    ++s.ops;
  }
  void queue_send(Slot& s) {
    {
      MutexLock l(sq_mu);
      io_uring_sqe* sqe = get_sqe();
      io_uring_prep_send(sqe, s.fd, s.inflight.data() + s.inflight_off, s.inflight.size() - s.inflight_off,
                         MSG_NOSIGNAL);
      io_uring_sqe_set_data64(sqe, token(kSend, s.id.slot, s.id.gen));
    }
    s.send_inflight = true;
    ++s.ops;
  }
  // Cancel `slot`'s recv (its final completion, -ECANCELED, reaches the slot) and wake a
  // leader blocked in the kernel with the cancellation's own completion.
  void cancel_recv_now(HandlerId id) {
    MutexLock l(sq_mu);
    io_uring_sqe* sqe = get_sqe();
    io_uring_prep_cancel64(sqe, token(kRecv, id.slot, id.gen), 0);
    io_uring_sqe_set_data64(sqe, token(kInternal, 0, 0));
    enter(flush_sq(), 0);
  }
  // --- the listeners ---------------------------------------------------------------------
  // A new entry (a free one reused: its last accept has ended) for an open socket.
  std::uint32_t add_listener(Acceptor acceptor) LF_REQUIRES(lmu) {
    std::uint32_t index = 0;
    while (index < listeners.size() && listeners[index]->gen != 0) ++index;
    if (index == listeners.size()) listeners.push_back(std::make_unique<UringListener>());
    UringListener& l = *listeners[index];
    l.acceptor = std::move(acceptor);
    listener_gen = (listener_gen + 1) & kGenMask;
    if (listener_gen == 0) listener_gen = 1;
    l.gen = listener_gen;
    l.armed = l.retired = false;
    return index;
  }
  void queue_accept(std::uint32_t index) LF_REQUIRES(lmu) {
    UringListener& l = *listeners[index];
    MutexLock q(sq_mu);
    io_uring_sqe* sqe = get_sqe();
    io_uring_prep_multishot_accept(sqe, l.acceptor.handle(), nullptr, nullptr, SOCK_CLOEXEC);
    io_uring_sqe_set_data64(sqe, token(kAccept, index, l.gen));
    l.armed = true;
  }
  // The leader's, each turn: post the accept of each listener whose request ended.
  void arm_listeners() {
    MutexLock l(lmu);
    for (std::uint32_t i = 0; i < listeners.size(); ++i) {
      if (listeners[i]->gen != 0 && !listeners[i]->armed && !listeners[i]->retired) queue_accept(i);
    }
  }
  // Stop listening at once (Linux: a listening socket shut for reading leaves the listening
  // state, its backlog reset); the socket closes when its accept ends, or now if none is posted.
  void retire(std::uint32_t index) LF_REQUIRES(lmu) {
    UringListener& l = *listeners[index];
    l.retired = true;
    (void)::shutdown(l.acceptor.handle(), SHUT_RD);
    if (!l.armed) {
      l.acceptor.close();
      l.gen = 0;
      return;
    }
    MutexLock q(sq_mu);
    io_uring_sqe* sqe = get_sqe();
    io_uring_prep_cancel64(sqe, token(kAccept, index, l.gen), 0);
    io_uring_sqe_set_data64(sqe, token(kInternal, 0, 0));
  }
  // The leader's, for an accept completion: the listener it names still listens (else the
  // accepted socket, if any, is closed here), and the end of its request.
  bool accept_completed(std::uint32_t index, std::uint32_t gen, int res, unsigned flags) {
    MutexLock l(lmu);
    if (index >= listeners.size() || listeners[index]->gen != gen) {
      if (res >= 0) ::close(res);
      return false;
    }
    UringListener& li = *listeners[index];
    if (!(flags & IORING_CQE_F_MORE)) li.armed = false;  // posted again next turn, unless retired
    if (li.retired) {
      if (res >= 0) ::close(res);
      if (!li.armed) {
        li.acceptor.close();
        li.gen = 0;
      }
      return false;
    }
    return res >= 0;
  }
  Status rebind(const std::string& bind, std::uint16_t want_port) {
    MutexLock r(rebind_mu);
    AcceptorOptions ao;
    ao.backlog = opt.backlog;
    // An address listened on already keeps its socket (opening it again would fail).
    auto ours = [this](const InetAddr& a) LF_NO_THREAD_SAFETY_ANALYSIS {  // takes lmu itself
      MutexLock l(lmu);
      return find_tcp(a) != kNone;
    };
    auto listening = open_listeners(bind, want_port, ao, 1, ours);
    if (!listening.ok() && listening.status().sys_errno() == EADDRINUSE &&
        want_port == port.load(std::memory_order_relaxed)) {
      // A new address overlaps one listened on (the wildcard after 127.0.0.1, same port): as
      // Redis closes its listeners first, the old leave the listening state (their accepts
      // end; a socket not listening holds no address against SO_REUSEADDR) and every address
      // is opened anew; on a failure they listen again and are re-armed as before
      // (ListenerSet::listen says the limits).
      auto each_current = [this](auto f) LF_NO_THREAD_SAFETY_ANALYSIS {  // takes lmu itself
        MutexLock l(lmu);
        for (const std::uint32_t index : tcp) f(listeners[index]->acceptor.handle());
      };
      each_current([](int fd) { (void)::shutdown(fd, SHUT_RD); });
      listening = open_listeners(bind, want_port, ao, 1);
      if (!listening.ok()) {
        each_current([&ao](int fd) { (void)::listen(fd, ao.backlog); });
        return listening.status();
      }
    }
    if (!listening.ok()) return listening.status();  // the old ones still listen
    const std::uint16_t new_port = listening->empty() ? want_port : (*listening)[0].addr.port();
    {
      MutexLock l(lmu);
      std::vector<std::uint32_t> fresh;
      for (Listening& li : *listening) {
        if (li.sockets.empty()) {
          const std::uint32_t kept = find_tcp(li.addr);
          if (kept != kNone) fresh.push_back(kept);
          continue;
        }
        fresh.push_back(add_listener(std::move(li.sockets[0])));
        queue_accept(fresh.back());  // both listen for a moment
      }
      for (const std::uint32_t index : tcp) {
        if (std::find(fresh.begin(), fresh.end(), index) == fresh.end()) retire(index);
      }
      tcp = std::move(fresh);
    }
    port.store(new_port, std::memory_order_release);
    publish();
    return Status();
  }
  static constexpr std::uint32_t kNone = ~std::uint32_t{0};
  // The current TCP listener at `a`, or kNone.
  std::uint32_t find_tcp(const InetAddr& a) LF_REQUIRES(lmu) {
    for (const std::uint32_t index : tcp) {
      if (listeners[index]->acceptor.local_addr() == a) return index;
    }
    return kNone;
  }
  void return_buffer(unsigned bid) {
    std::vector<HandlerId> wake;
    {
      MutexLock l(buf_mu);
      io_uring_buf_ring_add(br, buffers.data() + static_cast<std::size_t>(bid) * opt.buffer_size, opt.buffer_size,
                            static_cast<unsigned short>(bid), buf_mask, 0);
      io_uring_buf_ring_advance(br, 1);
      const std::uint32_t out = bufs_out.fetch_sub(1, std::memory_order_relaxed) - 1;
      if (!starved.empty() && out <= opt.buffers - opt.buffers / 4) wake.swap(starved);
    }
    for (HandlerId id : wake) (void)post(id, kRearm, /*run_here=*/false);
  }
  // A recv that ended in ENOBUFS: true if its connection waits for buffers to come back (a
  // kRearm then); false if enough are out of the slots' hands already (post it again now:
  // the rest are in completions the next turn reaps and routes).
  bool park_starved(HandlerId id) {
    MutexLock l(buf_mu);
    if (bufs_out.load(std::memory_order_relaxed) < opt.buffers - opt.buffers / 8) return false;
    starved.push_back(id);
    return true;
  }

  // --- the leader's turn ----------------------------------------------------------------
  // `may_wait` false: reap what is there without blocking (serve_from_handler's turn).
  void lead(std::vector<Slot*>& runnable, bool may_wait = true) {
    leader_turn = turns.fetch_add(1, std::memory_order_relaxed) + 1;
    arm_listeners();
    unsigned to_submit;
    bool no_wait;
    {
      MutexLock l(sq_mu);
      to_submit = flush_sq();
      no_wait = kick || !may_wait;
      if (may_wait) kick = false;
      leader_blocked = !no_wait;
    }
    const bool have = io_uring_cq_ready(&ring) > 0;
    // One system call: submit + wait (not when a slot was scheduled meanwhile: it waits in ready).
    if (!may_wait) {
      enter(to_submit, 0);  // also runs this thread's pending task work: what completed shows
    } else if (to_submit > 0 || (!have && !no_wait)) {
      enter(to_submit, have || no_wait ? 0 : 1);
    }
    {
      MutexLock l(sq_mu);
      leader_blocked = false;
    }
    unsigned head, seen = 0;
    io_uring_cqe* cqe;
    io_uring_for_each_cqe(&ring, head, cqe) {
      ++seen;
      route(cqe->user_data, cqe->res, cqe->flags, runnable);
    }
    io_uring_cq_advance(&ring, seen);
    completions.fetch_add(seen, std::memory_order_relaxed);
  }

  void route(std::uint64_t ud, int res, unsigned flags, std::vector<Slot*>& runnable) {
    const auto kind = static_cast<Kind>(ud >> 56);
    if (kind == kInternal) return;
    const auto index = static_cast<std::uint32_t>(ud);
    const auto gen = static_cast<std::uint32_t>(ud >> 32) & kGenMask;
    if (kind == kAccept) {
      if (accept_completed(index, gen, res, flags)) open_slot(res, runnable);
      return;
    }
    if (flags & IORING_CQE_F_BUFFER) bufs_out.fetch_add(1, std::memory_order_relaxed);
    bool stale = true;
    bool overflow = false;
    bool copied = false;
    if (index < slots.size()) {
      Slot& s = *slots[index];
      MutexLock l(s.mu);
      if (s.gen == gen) {
        stale = false;
        if ((flags & IORING_CQE_F_BUFFER) && res > 0 && s.taken && s.taken_turn != leader_turn) {
          // Its holder is away: the bytes are copied, the buffer goes back now (Slot::copied),
          // and past the cap the recv stops (handle(): a cancel that is not a close pauses it).
          const unsigned bid = flags >> IORING_CQE_BUFFER_SHIFT;
          s.copied.append(buffers.data() + static_cast<std::size_t>(bid) * opt.buffer_size,
                          static_cast<std::size_t>(res));
          s.pending.push_back(Slot::Completion{kCopied, res, flags & ~IORING_CQE_F_BUFFER});
          copied = true;
          if (s.copied.size() > copy_cap && !s.overflow_cancel) s.overflow_cancel = overflow = true;
        } else {
          s.pending.push_back(Slot::Completion{kind, res, flags});
        }
        if (!s.taken) {
          s.taken = true;
          s.taken_turn = leader_turn;
          runnable.push_back(&s);
        }
      }
    }
    if (copied) return_buffer(flags >> IORING_CQE_BUFFER_SHIFT);
    if (overflow) {
      MutexLock l(sq_mu);
      io_uring_sqe* sqe = get_sqe();
      io_uring_prep_cancel64(sqe, token(kRecv, index, gen), 0);
      io_uring_sqe_set_data64(sqe, token(kInternal, 0, 0));
    }
    // A completion of an older generation never reaches a handler; its buffer goes back.
    if (stale && (flags & IORING_CQE_F_BUFFER)) return_buffer(flags >> IORING_CQE_BUFFER_SHIFT);
  }

  void open_slot(int fd, std::vector<Slot*>& runnable) {
    std::uint32_t index;
    {
      MutexLock l(free_mu);
      if (free_slots.empty()) {
        ::close(fd);  // no slot left: refuse the connection
        return;
      }
      index = free_slots.back();
      free_slots.pop_back();
    }
    accepted.fetch_add(1, std::memory_order_relaxed);
    int one = 1;
    (void)::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    Slot& s = *slots[index];
    HandlerId id;
    {
      MutexLock l(s.mu);  // held while the owned fields are set: the next owner sees them
      std::uint32_t gen = (s.last_gen + 1) & kGenMask;
      if (gen == 0) gen = 1;
      s.last_gen = gen;
      s.gen = gen;
      // Taken by the leader while the factory makes the handler: a close(id) or notify(id) it
      // provokes (a session registered, then killed) waits in the slot instead of running it.
      s.taken = true;
      s.taken_turn = leader_turn;
      s.pending.clear();
      s.copied.clear();
      s.overflow_cancel = false;
      s.closing.store(false);
      s.abort.store(false);
      s.send_cancel_sent = false;
      s.id = HandlerId{index, gen};
      id = s.id;
      s.fd = fd;
      s.out.clear();
      s.inflight.clear();
      s.inflight_off = 0;
      s.send_inflight = s.recv_armed = s.recv_paused = s.cancel_sent = false;
      s.held = s.pinned = s.want_drained = false;
      s.ops = 0;
    }
    // Without the slot's lock: the factory may take locks of its own that a closer holds.
    std::unique_ptr<ProactorHandler> handler = factory(id, fd);
    if (!handler) {  // turned away
      {
        MutexLock l(s.mu);
        s.gen = 0;
        s.taken = false;
        s.pending.clear();
      }
      ::close(fd);
      s.fd = -1;
      MutexLock l(free_mu);
      free_slots.push_back(index);
      return;
    }
    s.handler = std::move(handler);
    queue_recv(s);
    MutexLock l(s.mu);
    if (s.pending.empty() && !s.closing.load()) {
      s.taken = false;
      return;
    }
    runnable.push_back(&s);  // asked for while it was being made
  }

  // --- a thread holding a slot ----------------------------------------------------------
  void run_slot(Slot& s) {
    // Per thread, so its capacity and the slots' pending lists' circulate: no allocation per
    // turn. A slot run nested in another's handler (notify(id, true) from inside on_data) has
    // a batch of its own: the outer one is still being walked.
    thread_local std::vector<Slot::Completion> outer_batch;
    thread_local int depth = 0;
    std::vector<Slot::Completion> nested_batch;
    std::vector<Slot::Completion>& batch = depth == 0 ? outer_batch : nested_batch;
    struct Depth {
      Depth() { ++depth; }
      ~Depth() { --depth; }
      Depth(const Depth&) = delete;
      Depth& operator=(const Depth&) = delete;
    } level;
    for (;;) {
      {
        MutexLock l(s.mu);
        batch.clear();
        batch.swap(s.pending);
        s.copied_run.clear();
        s.copied_run.swap(s.copied);
        s.copied_off = 0;
        if (batch.empty()) {
          if (!(s.closing.load() && s.ops == 0 && !s.pinned)) {
            s.taken = false;
            return;
          }
        }
      }
      if (batch.empty()) {  // closing, and every request of the connection has ended
        finish(s);
        return;
      }
      Run run{&s, &batch, 0, t_run};
      t_run = &run;
      for (; run.i < batch.size(); ++run.i) handle(s, batch[run.i]);
      t_run = run.outer;
      s.kept.clear();
      s.kept_off = 0;
      if (s.kept.capacity() > (std::size_t{1} << 20)) std::string().swap(s.kept);  // a flood's
      for (;;) {
        if (s.abort.load()) drop_slot_output(s);
        if (!s.send_inflight && !s.blocks.empty()) {
          s.inflight = std::move(s.blocks.front());  // the block sent before frees here
          s.blocks_bytes -= s.inflight.size();
          s.blocks_capacity -= s.inflight.capacity();
          s.blocks.pop_front();
          s.inflight_off = 0;
          queue_send(s);
        } else if (!s.send_inflight && !s.out.empty()) {
          s.inflight.swap(s.out);
          s.out.clear();
          s.inflight_off = 0;
          queue_send(s);
        }
        if (!s.want_drained || s.send_inflight || !s.out.empty() || !s.blocks.empty()) break;
        s.want_drained = false;  // all sent: the handler may go on (and queue more)
        ProactorIo io(&s);
        s.handler->on_drained(io);
      }
      const bool closing = s.closing.load();
      if (s.abort.load() && s.send_inflight && !s.send_cancel_sent) {
        s.send_cancel_sent = true;
        queue_cancel(s, kSend);
      }
      const std::size_t backlog = s.out.size() + s.blocks_bytes + s.inflight.size() - s.inflight_off;
      if (closing && s.recv_armed && !s.cancel_sent) {
        s.cancel_sent = true;
        queue_cancel(s, kRecv);
      } else if (!closing && s.recv_armed && !s.recv_paused &&
                 (s.held || (!s.reads_on && backlog > opt.output_limit))) {
        // The peer does not read, or the handler takes no input now: stop receiving.
        s.recv_paused = true;
        if (!s.held) pauses.fetch_add(1, std::memory_order_relaxed);
        queue_cancel(s, kRecv);
      } else if (!closing && s.recv_paused && !s.recv_armed && !s.held && !s.starved &&
                 (s.reads_on || backlog <= opt.output_limit / 2)) {
        s.recv_paused = false;  // drained, and the cancelled recv has ended: receive again
        queue_recv(s);
      }
      publish();
    }
  }

  void queue_cancel(Slot& s, Kind which) {
    MutexLock l(sq_mu);
    io_uring_sqe* sqe = get_sqe();
    io_uring_prep_cancel64(sqe, token(which, s.id.slot, s.id.gen), 0);
    io_uring_sqe_set_data64(sqe, token(kInternal, 0, 0));
  }

  void handle(Slot& s, const Slot::Completion& c) {
    if (c.kind == kCopied || c.kind == kKept) {
      if (!(c.flags & IORING_CQE_F_MORE)) {
        s.recv_armed = false;
        --s.ops;
      }
      std::string& from = c.kind == kCopied ? s.copied_run : s.kept;
      std::size_t& off = c.kind == kCopied ? s.copied_off : s.kept_off;
      const std::string_view bytes(from.data() + off, static_cast<std::size_t>(c.res));
      off += bytes.size();
      if (!s.closing.load()) {
        ProactorIo io(&s);
        s.handler->on_data(io, bytes);
      }
      if (s.copied_off == s.copied_run.size() && s.copied_run.capacity() > (std::size_t{1} << 20)) {
        std::string().swap(s.copied_run);  // a flood's: give it back
      }
      if (!s.recv_armed && !s.recv_paused && !s.closing.load()) {
        if (s.held) {
          s.recv_paused = true;
        } else {
          queue_recv(s);
        }
      }
    } else if (c.kind == kRecv) {
      if (!(c.flags & IORING_CQE_F_MORE)) {
        s.recv_armed = false;
        --s.ops;
      }
      if (c.res > 0) {
        const unsigned bid = c.flags >> IORING_CQE_BUFFER_SHIFT;
        if (!s.closing.load()) {
          ProactorIo io(&s);
          s.handler->on_data(io, std::string_view(buffers.data() + static_cast<std::size_t>(bid) * opt.buffer_size,
                                                  static_cast<std::size_t>(c.res)));
        }
        return_buffer(bid);
      } else if (c.res == -ENOBUFS) {
        // Out of buffers: with few left, wait for them (a kRearm) rather than post the recv
        // again into an empty ring, which would end at once, turn after turn.
        if (!(c.flags & IORING_CQE_F_MORE) && !s.closing.load() && park_starved(s.id)) {
          s.starved = s.recv_paused = true;
        }
      } else if (c.res == -ECANCELED && !s.closing.load()) {
        // Not a close (that sets closing before it cancels): back-pressure, a hold, or the
        // leader's cap on the buffers waiting in a slot. run_slot posts it again when it may.
        s.recv_paused = true;
      } else {
        // The peer's end of stream, an error, or close()'s cancellation. At the end of the
        // stream the replies still go out (a client that shut down its half reads them all).
        if (c.res < 0 && c.res != -ECANCELED) s.abort.store(true);
        s.closing.store(true);
      }
      // Out of buffers, or the kernel ended the multishot request: post it again (unless
      // paused for back-pressure: run_slot posts it once the output drained; held: once the
      // handler releases it).
      if (!s.recv_armed && !s.recv_paused && !s.closing.load()) {
        if (s.held) {
          s.recv_paused = true;
        } else {
          queue_recv(s);
        }
      }
    } else if (c.kind == kNotify) {
      ProactorIo io(&s);
      s.handler->on_notify(io);
    } else if (c.kind == kRearm) {
      s.starved = false;  // buffers came back: run_slot posts the recv again (unless held)
    } else if (c.kind == kSend) {
      --s.ops;
      s.send_inflight = false;
      if (c.res < 0) {
        s.closing.store(true);
        drop_slot_output(s);
      } else {
        s.inflight_off += static_cast<std::size_t>(c.res);
        if (s.abort.load()) {
          s.inflight.clear();
          s.inflight_off = 0;
        } else if (s.inflight_off < s.inflight.size()) {
          queue_send(s);  // the rest of a partial send
        } else if (s.inflight.capacity() > kKeepSendBytes) {
          // A pile a client read on while it waited (ProactorIo::read_on): its memory goes
          // back once sent, not with the slot's next use.
          std::string().swap(s.inflight);
          s.inflight_off = 0;
        }
      }
    }
  }

  // The id dies first (close(id) answers false from here on), then on_close runs; the slot is
  // reusable only after both.
  void finish(Slot& s) {
    {
      MutexLock l(s.mu);
      s.gen = 0;
      s.taken = false;
      s.pending.clear();
    }
    s.handler->on_close();
    s.handler.reset();
    drop_slot_output(s);  // a reused slot starts with no buffers of the last client's
    std::string().swap(s.out);
    std::string().swap(s.inflight);
    s.inflight_off = 0;
    ::close(s.fd);
    s.fd = -1;
    MutexLock l(free_mu);
    free_slots.push_back(s.index);
  }

  // A slot taken for a notify, for any proactor thread: a follower if one waits, else the
  // leader (a NOP ends its wait; not blocked yet, it is told not to block).
  void schedule(Slot& s) {
    {
      MutexLock l(pmu);
      ready.push_back(&s);
      if (followers > 0) {
        wake_follower();
        return;
      }
    }
    MutexLock l(sq_mu);
    if (!leader_blocked) {
      kick = true;
      return;
    }
    io_uring_sqe* sqe = get_sqe();
    io_uring_prep_nop(sqe);
    io_uring_sqe_set_data64(sqe, token(kInternal, 0, 0));
    enter(flush_sq(), 0);
  }

  bool notify(HandlerId id, bool run_here) { return post(id, kNotify, run_here); }
  bool post(HandlerId id, Kind kind, bool run_here) {
    if (id.slot >= slots.size()) return false;
    Slot& s = *slots[id.slot];
    {
      MutexLock l(s.mu);
      if (s.gen == 0 || s.gen != id.gen) return false;
      s.pending.push_back(Slot::Completion{kind, 0, 0});
      if (s.taken) return true;  // its holder runs it next
      s.taken = true;
    }
    if (run_here) {
      run_slot(s);
    } else {
      schedule(s);
    }
    return true;
  }

  // --- the threads ----------------------------------------------------------------------
  // A handler about to run long (UnboundThreadSet::promote_new_leader()). A leader that kept
  // the role gives it up, and the slots of its turn it has not run yet go to the ready list
  // (they are taken: their completions wait in them meanwhile); a follower is woken to lead
  // or take them. A thread that did not lead wakes a follower only if nobody leads.
  static bool promote_from_handler(void* arg) {
    Impl& self = *static_cast<Impl*>(arg);
    self.keep_run_buffers();
    Turn* t = t_turn;
    MutexLock l(self.pmu);
    if (t != nullptr && t->leading) {
      t->leading = false;
      self.leader_present = false;
      self.promotions.fetch_add(1, std::memory_order_relaxed);
      for (std::size_t i = t->next + 1; i < t->batch.size(); ++i) self.ready.push_back(t->batch[i]);
      if (t->batch.size() > t->next + 1) t->batch.resize(t->next + 1);  // ends run_thread's walk
      if (self.followers > 0) self.wake_follower();
      return true;
    }
    if (self.leader_present || self.followers == 0) return false;
    self.wake_follower();
    return true;
  }

  // A handler that keeps its thread very long (UnboundThreadSet::serve_while_processing(): a
  // busy script). When no thread leads (each one is in a handler), the caller leads for one
  // turn without waiting: it reaps what completed, hands the role back (to a follower that
  // came meanwhile) and runs the slots it reaped, and those scheduled, nested in its handler;
  // their sends go to the kernel before it returns. The caller's own slot stays taken: what
  // completes for it waits there for the caller's handler to return.
  static int serve_from_handler(void* arg) {
    Impl& self = *static_cast<Impl*>(arg);
    self.keep_run_buffers();
    std::vector<Slot*> runnable;
    {
      MutexLock l(self.pmu);
      if (self.stopping || self.leader_present) return 0;  // the ring is watched
      self.leader_present = true;
    }
    self.lead(runnable, /*may_wait=*/false);
    {
      MutexLock l(self.pmu);
      self.leader_present = false;
      while (!self.ready.empty()) {
        runnable.push_back(self.ready.front());
        self.ready.pop_front();
      }
      if (self.followers > 0) self.wake_follower();
    }
    // Not the thread's turn (its own batch is the outer handler's): a nested handler that
    // promotes gives up nothing of it.
    Turn nested;
    Turn* const outer = t_turn;
    t_turn = &nested;
    for (Slot* s : runnable) self.run_slot(*s);
    t_turn = outer;
    {
      MutexLock l(self.sq_mu);
      const unsigned n = self.flush_sq();
      if (n > 0) self.enter(n, 0);
    }
    return static_cast<int>(runnable.size());
  }

  void run_thread() {
    UnboundThreadSet::set_thread_promote_hook(&Impl::promote_from_handler, this);
    detail::set_thread_serve_hook(&Impl::serve_from_handler, this);
    Turn turn;
    t_turn = &turn;
    for (;;) {
      Slot* s = nullptr;
      {
        MutexLock l(pmu);
        for (;;) {
          if (stopping) {
            if (turn.leading) leader_present = false;
            turn.leading = false;
            t_turn = nullptr;
            UnboundThreadSet::set_thread_promote_hook(nullptr, nullptr);
            detail::set_thread_serve_hook(nullptr, nullptr);
            return;
          }
          if (!ready.empty()) {  // a scheduled slot, or one a promoted leader left
            s = ready.front();
            ready.pop_front();
            break;
          }
          if (turn.leading) break;  // kept the role: wait on the ring again
          if (!leader_present) {
            leader_present = true;
            turn.leading = true;
            break;
          }
          ++followers;
          followers_cv.wait(pmu);
          --followers;
        }
      }
      if (s != nullptr) {
        run_slot(*s);  // a leader that runs it keeps the role (unless its handler gives it up)
        continue;
      }
      lead(turn.batch);
      if (!opt.lazy_promotion) {
        // Eager: hand the role on before processing, so a handler that blocks never leaves the
        // completion queue unwatched; the slots go to the ready list, this thread takes the
        // first and a follower is woken if there is more.
        MutexLock l(pmu);
        turn.leading = false;
        leader_present = false;
        for (Slot* r : turn.batch) ready.push_back(r);
        turn.batch.clear();
        if (followers > 0 && !ready.empty()) wake_follower();
        continue;
      }
      // Lazy: run them all here, still the leader (a handler that turns long gives the role
      // and the rest of the batch up: promote_from_handler shortens the batch).
      for (turn.next = 0; turn.next < turn.batch.size(); ++turn.next) run_slot(*turn.batch[turn.next]);
      turn.batch.clear();
      turn.next = 0;
    }
  }
};

void ProactorIo::send(std::string_view bytes) {
  Slot& s = *static_cast<Slot*>(slot_);
  auto to_blocks = [&s] {
    s.blocks_bytes += s.out.size();
    s.blocks_capacity += s.out.capacity();
    s.blocks.push_back(std::move(s.out));
    s.out = std::string();
  };
  // Half a block's worth that would have to grow (double) to take these bytes becomes a block
  // as it is, so a block holds little room it does not use.
  if (s.out.size() >= kQueueBlockBytes / 2 && s.out.size() + bytes.size() > s.out.capacity()) to_blocks();
  s.out.append(bytes);
  if (s.out.size() >= kQueueBlockBytes) to_blocks();  // a large reply
}
void ProactorIo::close() { static_cast<Slot*>(slot_)->closing.store(true); }
void ProactorIo::hold(bool on) { static_cast<Slot*>(slot_)->held = on; }
void ProactorIo::pin(bool on) { static_cast<Slot*>(slot_)->pinned = on; }
void ProactorIo::notify_when_drained() { static_cast<Slot*>(slot_)->want_drained = true; }
bool ProactorIo::closing() const { return static_cast<Slot*>(slot_)->closing.load(); }
bool ProactorIo::aborted() const { return static_cast<Slot*>(slot_)->abort.load(); }
std::size_t ProactorIo::unsent() const {
  const Slot& s = *static_cast<Slot*>(slot_);
  return s.out.size() + s.blocks_bytes + s.inflight.size() - s.inflight_off;
}
void ProactorIo::read_on(bool on) { static_cast<Slot*>(slot_)->reads_on = on; }
std::size_t ProactorIo::held_bytes() const {
  const Slot& s = *static_cast<Slot*>(slot_);
  return unsent() > 0 ? s.out.capacity() + s.blocks_capacity + s.inflight.capacity() : 0;
}
void ProactorIo::discard_queued() {
  Slot& s = *static_cast<Slot*>(slot_);
  drop_slot_output(s);
  std::string().swap(s.out);
}
HandlerId ProactorIo::id() const { return static_cast<Slot*>(slot_)->id; }
int ProactorIo::fd() const { return static_cast<Slot*>(slot_)->fd; }

Result<std::unique_ptr<UringProactor>> UringProactor::create(const ProactorOptions& options, Factory factory) {
  if (options.buffers == 0 || (options.buffers & (options.buffers - 1)) != 0 || options.buffers > 32768) {
    return Status::error("uring proactor: buffers must be a power of two up to 32768");
  }
  auto impl = std::make_unique<Impl>();
  impl->opt = options;
  impl->factory = std::move(factory);
  io_uring_params p{};
  p.flags = IORING_SETUP_CQSIZE;
  p.cq_entries = options.ring_entries * 8;
  impl->copy_cap = std::size_t{32} * options.buffer_size;
  int rc = io_uring_queue_init_params(options.ring_entries, &impl->ring, &p);
  if (rc < 0) return Status::error("io_uring_queue_init failed (the kernel refuses io_uring)", -rc);
  impl->ring_ready = true;
  if (!(impl->ring.features & IORING_FEAT_NODROP)) {
    return Status::error("io_uring: this kernel may drop completions (5.5 or newer needed)");
  }
  // The provided-buffer ring: one page-aligned array of buffer descriptors the kernel reads.
  impl->br_bytes = sizeof(io_uring_buf) * options.buffers;
  void* mem = ::mmap(nullptr, impl->br_bytes, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (mem == MAP_FAILED) return Status::error("uring proactor: mmap of the buffer ring failed", errno);
  impl->br = static_cast<io_uring_buf_ring*>(mem);
  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<std::uint64_t>(mem);
  reg.ring_entries = options.buffers;
  reg.bgid = kBufferGroup;
  rc = io_uring_register_buf_ring(&impl->ring, &reg, 0);
  if (rc < 0) return Status::error("io_uring: provided buffer rings unsupported (5.19 or newer needed)", -rc);
  impl->buf_registered = true;
  impl->buffers.resize(static_cast<std::size_t>(options.buffers) * options.buffer_size);
  impl->buf_mask = io_uring_buf_ring_mask(options.buffers);
  io_uring_buf_ring_init(impl->br);
  for (unsigned i = 0; i < options.buffers; ++i) {
    io_uring_buf_ring_add(impl->br, impl->buffers.data() + static_cast<std::size_t>(i) * options.buffer_size,
                          options.buffer_size, static_cast<unsigned short>(i), impl->buf_mask, static_cast<int>(i));
  }
  io_uring_buf_ring_advance(impl->br, static_cast<int>(options.buffers));

  impl->slots.reserve(options.max_connections);
  {
    MutexLock l(impl->free_mu);
    for (std::uint32_t i = 0; i < options.max_connections; ++i) {
      auto s = std::make_unique<Slot>();
      s->index = i;
      impl->slots.push_back(std::move(s));
      impl->free_slots.push_back(options.max_connections - 1 - i);  // slot 0 first
    }
  }
  AcceptorOptions ao;
  ao.backlog = options.backlog;
  auto tcp = open_listeners(options.bind, options.port, ao);
  if (!tcp.ok()) return tcp.status();
  Acceptor unix_socket;
  if (!options.unix_socket.empty()) {
    auto path = InetAddr::unix_socket(options.unix_socket);
    if (!path.ok()) return path.status();
    ao.unix_perm = options.unix_socket_perm;
    if (Status st = unix_socket.open(path.value(), ao); !st.ok()) return st;
  }
  {
    MutexLock l(impl->lmu);
    impl->port.store(tcp->empty() ? options.port : (*tcp)[0].addr.port(), std::memory_order_release);
    for (Listening& l : *tcp) impl->tcp.push_back(impl->add_listener(std::move(l.sockets[0])));
    if (unix_socket.handle() >= 0) (void)impl->add_listener(std::move(unix_socket));
  }
  return std::unique_ptr<UringProactor>(new UringProactor(std::move(impl)));
}

Status UringProactor::probe() {
  if (std::getenv("LF_NO_IO_URING") != nullptr) return Status::error("LF_NO_IO_URING is set");
  io_uring ring{};
  io_uring_params p{};
  int rc = io_uring_queue_init_params(2, &ring, &p);
  if (rc < 0) {
    std::string why = "io_uring_setup refused";
    if (FILE* f = std::fopen("/proc/sys/kernel/io_uring_disabled", "r"); f != nullptr) {
      int disabled = 0;
      if (std::fscanf(f, "%d", &disabled) == 1 && disabled != 0) {
        why += " (kernel.io_uring_disabled=" + std::to_string(disabled) + ")";
      }
      std::fclose(f);
    }
    return Status::error(why + ": " + std::strerror(-rc), -rc);
  }
  Status st;
  const long page = ::sysconf(_SC_PAGESIZE);
  void* mem = ::mmap(nullptr, static_cast<std::size_t>(page), PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (mem == MAP_FAILED) {
    st = Status::from_errno("mmap");
  } else {
    io_uring_buf_reg reg{};
    reg.ring_addr = reinterpret_cast<std::uint64_t>(mem);
    reg.ring_entries = 1;
    reg.bgid = kBufferGroup;
    rc = io_uring_register_buf_ring(&ring, &reg, 0);
    if (rc < 0) {
      st = Status::error(std::string("no provided buffer rings (5.19 or newer needed): ") + std::strerror(-rc), -rc);
    } else {
      (void)io_uring_unregister_buf_ring(&ring, kBufferGroup);
    }
  }
  io_uring_queue_exit(&ring);
  if (mem != MAP_FAILED) ::munmap(mem, static_cast<std::size_t>(page));
  return st;
}

Status UringProactor::start() {
  int n = impl_->opt.threads < 1 ? 1 : impl_->opt.threads;
  for (int i = 0; i < n; ++i) impl_->threads.emplace_back([this] { impl_->run_thread(); });
  return Status();
}

void UringProactor::stop() {
  if (impl_->threads.empty()) return;
  {
    MutexLock l(impl_->pmu);
    impl_->stopping = true;
    impl_->followers_cv.notify_all();
  }
  {
    MutexLock l(impl_->sq_mu);  // wake a leader blocked in the kernel
    io_uring_sqe* sqe = impl_->get_sqe();
    io_uring_prep_nop(sqe);
    io_uring_sqe_set_data64(sqe, token(kInternal, 0, 0));
    impl_->enter(impl_->flush_sq(), 0);
  }
  for (auto& t : impl_->threads) t.join();
  impl_->threads.clear();
}

bool UringProactor::close(HandlerId id) {
  if (id.slot >= impl_->slots.size()) return false;
  Slot& s = *impl_->slots[id.slot];
  bool schedule = false;
  {
    MutexLock l(s.mu);
    if (s.gen == 0 || s.gen != id.gen) return false;
    s.abort.store(true);
    s.closing.store(true);
    // A turn for the slot even when no request of it is left to complete (a held recv, a
    // send the peer does not take): its holder cancels what remains.
    s.pending.push_back(Slot::Completion{kInternal, 0, 0});
    if (!s.taken) {
      s.taken = true;
      schedule = true;
    }
  }
  if (schedule) {
    MutexLock l(impl_->pmu);
    impl_->ready.push_back(&s);
    if (impl_->followers > 0) impl_->wake_follower();
  }
  impl_->cancel_recv_now(id);
  return true;
}

bool UringProactor::notify(HandlerId id, bool run_here) { return impl_->notify(id, run_here); }

ProactorStats UringProactor::stats() const {
  ProactorStats st;
  st.accepted = impl_->accepted.load();
  st.completions = impl_->completions.load();
  st.enters = impl_->enters.load();
  st.leader_turns = impl_->turns.load();
  st.recv_pauses = impl_->pauses.load();
  st.follower_wakes = impl_->wakes.load();
  st.promotions = impl_->promotions.load();
  return st;
}

std::uint16_t UringProactor::port() const { return impl_->port.load(std::memory_order_acquire); }
Status UringProactor::rebind(const std::string& bind, std::uint16_t port) { return impl_->rebind(bind, port); }

#else  // !LF_HAVE_LIBURING

struct UringProactor::Impl {};
void ProactorIo::send(std::string_view) {}
void ProactorIo::close() {}
void ProactorIo::hold(bool) {}
void ProactorIo::pin(bool) {}
void ProactorIo::notify_when_drained() {}
bool ProactorIo::closing() const { return true; }
bool ProactorIo::aborted() const { return true; }
std::size_t ProactorIo::unsent() const { return 0; }
void ProactorIo::read_on(bool) {}
std::size_t ProactorIo::held_bytes() const { return 0; }
void ProactorIo::discard_queued() {}
HandlerId ProactorIo::id() const { return HandlerId{}; }
int ProactorIo::fd() const { return -1; }
Result<std::unique_ptr<UringProactor>> UringProactor::create(const ProactorOptions&, Factory) {
  return Status::error("uring proactor not built in (liburing's header was not found at build time)");
}
Status UringProactor::probe() { return Status::error("liburing was not found when liblf was built"); }
Status UringProactor::start() { return Status::error("uring proactor not built in"); }
void UringProactor::stop() {}
bool UringProactor::close(HandlerId) { return false; }
bool UringProactor::notify(HandlerId, bool) { return false; }
ProactorStats UringProactor::stats() const { return {}; }
std::uint16_t UringProactor::port() const { return 0; }
Status UringProactor::rebind(const std::string&, std::uint16_t) { return Status::error("uring proactor not built in"); }

#endif

UringProactor::UringProactor(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
UringProactor::~UringProactor() {
  stop();
}

}  // namespace lf
