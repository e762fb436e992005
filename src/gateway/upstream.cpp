#include "gateway/upstream.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "gateway/reply_slot.hpp"
#include "gateway/scratch.hpp"
#include "lf/net.hpp"

namespace lfdb::gateway {
namespace {

std::int64_t to_ns(lf::TimePoint t) { return t.time_since_epoch().count(); }

std::string ms_text(lf::Duration d) {
  return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(d).count()) + " ms";
}

}  // namespace

int thread_index() {
  static std::atomic<int> next{0};
  thread_local int mine = next.fetch_add(1, std::memory_order_relaxed);
  return mine;
}

// ---- UpstreamConn ---------------------------------------------------------------------

UpstreamConn::UpstreamConn(Backend& backend, resp::Protocol protocol, Role role)
    : backend_(backend), protocol_(protocol), role_(role) {
  if (role == Role::kShared || role == Role::kDedicated) {
    lf::MutexLock lock(mu_);
    latency_ = std::make_unique<lf::Histogram>();
  }
}

UpstreamConn::~UpstreamConn() {
  // Only at shutdown, after the handle set is gone: nobody waits for these replies any more.
  lf::MutexLock lock(mu_);
  for (Pending& p : fifo_) {
    if (p.sink != nullptr) p.sink->release();
  }
  fifo_.clear();
  const int fd = fd_.exchange(-1);
  if (fd >= 0) ::close(fd);
}

UpstreamConn::State UpstreamConn::state() const {
  lf::MutexLock lock(mu_);
  return state_;
}

std::size_t UpstreamConn::in_flight() const {
  lf::MutexLock lock(mu_);
  return fifo_.size();
}

void UpstreamConn::merge_latency(lf::Histogram& into) const {
  lf::MutexLock lock(mu_);
  if (latency_) into.merge(*latency_);
}

bool UpstreamConn::start_connect_locked(std::string& why) {
  const Config& cfg = *backend_.context().config;
  const lf::TimePoint now = lf::Clock::now();
  auto addr = lf::InetAddr::resolve(backend_.endpoint().host, backend_.endpoint().port);
  if (!addr.ok()) return refuse_locked(addr.status().message(), now, why);
  const int fd = ::socket(addr->family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return refuse_locked(std::string("socket: ") + std::strerror(errno), now, why);
  int one = 1;
  (void)::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  sockaddr_storage sa{};
  const socklen_t sa_len = addr->native(sa);
  bool connected = false;
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&sa), sa_len) == 0) {
    connected = true;
  } else if (errno != EINPROGRESS) {
    const int err = errno;
    ::close(fd);
    return refuse_locked(std::string("connect: ") + std::strerror(err), now, why);
  }
  fd_.store(fd, std::memory_order_release);
  in_.clear();
  parser_.reset();
  out_.clear();
  out_sent_ = 0;
  expired_ = 0;
  // The prelude: whatever the connection needs before the clients' requests.
  Pending prelude;
  prelude.kind = PendingKind::kPrelude;
  prelude.sent = now;
  if (!cfg.backend_password.empty()) {
    const std::string_view auth[] = {"AUTH", cfg.backend_password};
    resp::append_command(out_, auth);
    fifo_.push_back(prelude);
  }
  if (protocol_ == resp::Protocol::kResp3) {
    const std::string_view hello[] = {"HELLO", "3"};
    resp::append_command(out_, hello);
    fifo_.push_back(prelude);
  }
  backend_.in_flight_.fetch_add(static_cast<std::int64_t>(fifo_.size()), std::memory_order_relaxed);
  state_ = connected ? State::kConnected : State::kConnecting;
  connect_started_ = now;
  interest_ = connected ? lf::kReadEvent : lf::kWriteEvent;
  auto id = backend_.context().reactor->register_handler(this, interest_);
  if (!id.ok()) {
    fd_.store(-1, std::memory_order_release);
    ::close(fd);
    backend_.in_flight_.fetch_sub(static_cast<std::int64_t>(fifo_.size()), std::memory_order_relaxed);
    fifo_.clear();
    return refuse_locked(id.status().message(), now, why);
  }
  id_ = *id;
  registered_ = true;
  if (connected) {
    backend_.on_connected();
    flush_locked();
  }
  return true;
}

bool UpstreamConn::refuse_locked(const std::string& what, lf::TimePoint now, std::string& why) {
  why = "ERR lfdb-gateway: backend " + backend_.label() + " is down (" + what + ")";
  incarnation_.fetch_add(1, std::memory_order_acq_rel);
  retry_at_ = counts_failures() ? now + backend_.on_failure(now) : now;
  state_ = State::kDown;
  return false;
}

bool UpstreamConn::enqueue(std::span<const std::string_view> argv, const Pending& p,
                           std::string& why) {
  lf::MutexLock lock(mu_);
  const lf::TimePoint now = lf::Clock::now();
  if (state_ == State::kIdle || state_ == State::kDown) {
    if (backend_.ejected(now)) {
      why = "ERR lfdb-gateway: backend " + backend_.label() + " is ejected after repeated failures";
      return false;
    }
    if (state_ == State::kDown && now < retry_at_) {
      why = "ERR lfdb-gateway: backend " + backend_.label() + " is down (reconnecting)";
      return false;
    }
    if (!start_connect_locked(why)) return false;
  }
  if (state_ == State::kClosing) {
    why = "ERR lfdb-gateway: backend " + backend_.label() + " is down (connection lost)";
    return false;
  }
  if ((p.kind == PendingKind::kSlot || p.kind == PendingKind::kBound) && stalled_locked(now)) {
    // Whatever holds it up (a long script, a hung process), a request sent now would only wait
    // for the timeout: it fails at once, and flows again as soon as the back-end answers. (Not
    // a transaction's clean-up, DISCARD or UNWATCH: it must reach the back-end before the
    // dedicated connection serves another client.)
    why = "ERR lfdb-gateway: backend " + backend_.label() + " is not answering (no reply for " +
          ms_text(backend_.context().config->timeout) + "; busy or hung)";
    return false;
  }
  ever_used_ = true;
  resp::append_command(out_, argv);
  fifo_.push_back(p);
  fifo_.back().sent = now;
  if (p.sink != nullptr) p.sink->retain();
  backend_.in_flight_.fetch_add(1, std::memory_order_relaxed);
  backend_.requests.fetch_add(1, std::memory_order_relaxed);
  return true;
}

void UpstreamConn::flush() {
  lf::MutexLock lock(mu_);
  flush_locked();
}

namespace {
// Connections with requests buffered by the calling thread since it last blocked.
std::vector<UpstreamConn*>& deferred_flushes() {
  thread_local std::vector<UpstreamConn*> v;
  return v;
}
}  // namespace

void UpstreamConn::defer_flush() {
  {
    lf::MutexLock lock(mu_);
    if (out_.size() - out_sent_ >= kDeferLimit) {
      flush_locked();
      return;
    }
  }
  auto& v = deferred_flushes();
  if (std::find(v.begin(), v.end(), this) == v.end()) v.push_back(this);
}

void UpstreamConn::flush_deferred() {
  auto& v = deferred_flushes();
  // A flush never dispatches handlers, so nothing is added to `v` meanwhile.
  for (UpstreamConn* c : v) c->flush();
  v.clear();
}

void UpstreamConn::flush_locked() {
  if (state_ != State::kConnected) return;
  while (out_sent_ < out_.size()) {
    const ssize_t n = ::send(fd_.load(std::memory_order_relaxed), out_.data() + out_sent_,
                             out_.size() - out_sent_, MSG_NOSIGNAL);
    if (n > 0) {
      out_sent_ += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    // A broken connection: its reader sees the error and fails it (completing Pendings is
    // not for a thread that may hold a client's lock).
    (void)backend_.context().reactor->notify(id_, lf::kReadEvent);
    break;
  }
  if (out_sent_ == out_.size()) {
    out_.clear();
    out_sent_ = 0;
    if (out_.capacity() > (1u << 20)) std::string().swap(out_);
  }
  update_interest_locked();
}

void UpstreamConn::update_interest_locked() {
  if (!registered_ || state_ == State::kClosing) return;
  lf::EventMask want = state_ == State::kConnecting ? lf::kWriteEvent : lf::kReadEvent;
  if (state_ == State::kConnected && out_sent_ < out_.size()) want |= lf::kWriteEvent;
  if (want != interest_) {
    interest_ = want;
    (void)backend_.context().reactor->set_interest(id_, want);
  }
}

lf::HandlerId UpstreamConn::begin_fail_locked(std::deque<Pending>& out, bool counts) {
  const lf::TimePoint now = lf::Clock::now();
  incarnation_.fetch_add(1, std::memory_order_acq_rel);
  out.swap(fifo_);
  expired_ = 0;
  backend_.in_flight_.fetch_sub(static_cast<std::int64_t>(out.size()), std::memory_order_relaxed);
  out_.clear();
  out_sent_ = 0;
  state_ = registered_ ? State::kClosing : State::kDown;
  retry_at_ = counts ? now + backend_.on_failure(now) : now;
  return id_;
}

void UpstreamConn::fail(const std::string& why) { close_failing(why, counts_failures()); }

void UpstreamConn::close_quietly(const std::string& why) { close_failing(why, /*counts=*/false); }

void UpstreamConn::close_failing(const std::string& why, bool counts) {
  std::deque<Pending> failed;
  lf::HandlerId id;
  bool remove = false;
  {
    lf::MutexLock lock(mu_);
    if (state_ != State::kConnected && state_ != State::kConnecting) return;
    remove = registered_;
    id = begin_fail_locked(failed, counts);
  }
  // Outside the lock: removal may run handle_close at once, which takes it.
  if (remove) (void)backend_.context().reactor->remove_handler(id);
  complete_failed(failed, why);
}

void UpstreamConn::complete_failed(std::deque<Pending>& failed, const std::string& why) {
  if (failed.empty()) return;
  std::string storage;
  const resp::Frame err = error_frame(why, storage);
  bool probe_failed = false;
  for (const Pending& p : failed) {
    if (p.kind == PendingKind::kProbe) probe_failed = true;  // an error reply would mean alive
    else complete(p, err);
  }
  backend_.errors.fetch_add(failed.size(), std::memory_order_relaxed);
  if (probe_failed) backend_.on_probe_failed(why);
}

void UpstreamConn::complete(const Pending& p, const resp::Frame& reply, bool more_follow) {
  UpstreamContext& ctx = backend_.context();
  switch (p.kind) {
    case PendingKind::kSlot:
      if (p.forwarder == thread_index()) {
        ctx.replies_same_thread.fetch_add(1, std::memory_order_relaxed);
      } else {
        ctx.replies_other_thread.fetch_add(1, std::memory_order_relaxed);
      }
      p.sink->on_reply(p, reply, more_follow);
      p.sink->release();
      break;
    case PendingKind::kBound:
      if (ctx.bound == nullptr || !ctx.bound->deliver(p.bound_id, reply.bytes())) {
        ctx.late_bound_replies.fetch_add(1, std::memory_order_relaxed);
      }
      break;
    case PendingKind::kProbe:  // answered, whatever it says (BUSY too): alive, nothing to do
    case PendingKind::kSwallow:
    case PendingKind::kPrelude:
      break;
  }
}

bool UpstreamConn::stalled_locked(lf::TimePoint now) const {
  // A blocked command waits as long as it asked to: silence is what it expects.
  if (role_ == Role::kBlocking) return false;
  if (fifo_.empty() || (state_ != State::kConnected && state_ != State::kConnecting)) return false;
  const lf::TimePoint last_read{lf::Duration(last_read_ns_.load(std::memory_order_relaxed))};
  return now - std::max(last_read, fifo_.front().sent) > backend_.context().config->timeout;
}

bool UpstreamConn::stalled(lf::TimePoint now) const {
  lf::MutexLock lock(mu_);
  return stalled_locked(now);
}

bool UpstreamConn::tick(lf::TimePoint now, bool keep_up) {
  const Config& cfg = *backend_.context().config;
  std::string why;
  std::vector<Pending> late;
  bool stalled = false;
  {
    lf::MutexLock lock(mu_);
    if (state_ == State::kConnecting && now - connect_started_ > cfg.connect_timeout) {
      why = "ERR lfdb-gateway: backend " + backend_.label() + " connect timed out after " +
            ms_text(cfg.connect_timeout);
    } else if (role_ == Role::kProbe) {
      if (!fifo_.empty() && (state_ == State::kConnected || state_ == State::kConnecting) &&
          now - fifo_.front().sent > cfg.liveness_timeout) {
        why = "ERR lfdb-gateway: backend " + backend_.label() + " is not responding (no answer to a PING within " +
              ms_text(cfg.liveness_timeout) + ")";
      }
    } else if (stalled_locked(now)) {
      stalled = true;
      // Each request older than the timeout fails alone. Its place in the FIFO stays (its reply,
      // if it comes, is dropped), so the replies behind it still find their requests.
      while (expired_ < fifo_.size() && now - fifo_[expired_].sent > cfg.timeout) {
        Pending& p = fifo_[expired_++];
        if (p.kind == PendingKind::kSlot || p.kind == PendingKind::kBound) {
          late.push_back(p);  // the client's reference goes with it
          p.kind = PendingKind::kSwallow;
          p.sink = nullptr;
        }
      }
    } else if ((keep_up || ever_used_) && role_ == Role::kShared &&
               (state_ == State::kDown || state_ == State::kIdle) && now >= retry_at_ &&
               !backend_.ejected(now)) {
      std::string ignored;
      (void)start_connect_locked(ignored);
    }
  }
  if (!late.empty()) {
    std::string storage;
    const resp::Frame err = error_frame("ERR lfdb-gateway: backend " + backend_.label() +
                                            " timed out (no reply within " + ms_text(cfg.timeout) + ")",
                                        storage);
    for (const Pending& p : late) complete(p, err);
    backend_.timeouts.fetch_add(late.size(), std::memory_order_relaxed);
    backend_.errors.fetch_add(late.size(), std::memory_order_relaxed);
  }
  if (!why.empty()) fail(why);
  return stalled;
}

lf::Disposition UpstreamConn::handle_event(int, lf::EventMask events) {
  std::string why;
  {
    lf::MutexLock lock(mu_);
    if (state_ == State::kConnecting) {
      int err = 0;
      socklen_t len = sizeof err;
      if (::getsockopt(fd_.load(std::memory_order_relaxed), SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
      if (err != 0) {
        why = "ERR lfdb-gateway: backend " + backend_.label() + " is down (connect: " +
              std::strerror(err) + ")";
      } else if (events & (lf::kWriteEvent | lf::kReadEvent)) {
        state_ = State::kConnected;
        backend_.on_connected();
        flush_locked();
      }
    } else if (state_ != State::kConnected) {
      return lf::Disposition::kResume;  // failed meanwhile: removal is under way
    } else if (events & lf::kWriteEvent) {
      flush_locked();
    }
  }
  if (!why.empty()) {
    fail(why);
    return lf::Disposition::kRemove;
  }
  if (events & lf::kReadEvent) return read_replies();
  return lf::Disposition::kResume;
}

lf::Disposition UpstreamConn::read_replies() {
  ScratchLease scratch;
  for (int round = 0; round < 16; ++round) {
    const char* data;
    std::size_t size;
    ssize_t n;
    const int fd = fd_.load(std::memory_order_relaxed);
    if (in_.empty()) {
      n = ::recv(fd, scratch.data(), scratch.size(), 0);
      data = scratch.data();
      size = n > 0 ? static_cast<std::size_t>(n) : 0;
    } else {
      const std::size_t old = in_.size();
      in_.resize(old + ScratchLease::kChunk);
      n = ::recv(fd, in_.data() + old, ScratchLease::kChunk, 0);
      in_.resize(old + (n > 0 ? static_cast<std::size_t>(n) : 0));
      data = in_.data();
      size = in_.size();
    }
    const bool drained = n >= 0 && static_cast<std::size_t>(n) < ScratchLease::kChunk;
    if (n > 0) last_read_ns_.store(lf::Clock::now().time_since_epoch().count(), std::memory_order_relaxed);
    if (n == 0) {
      fail("ERR lfdb-gateway: backend " + backend_.label() + " closed the connection");
      return lf::Disposition::kRemove;
    }
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return lf::Disposition::kResume;
      fail("ERR lfdb-gateway: backend " + backend_.label() + " connection lost (" +
           std::strerror(errno) + ")");
      return lf::Disposition::kRemove;
    }
    // Cut complete replies; they are views into `data` until completed below.
    frames_.clear();
    std::size_t pos = 0;
    for (;;) {
      const resp::ReplyResult r = parser_.parse(std::string_view(data + pos, size - pos));
      if (r.complete()) {
        frames_.push_back(r.frame);
        pos += r.frame.bytes().size();
        continue;
      }
      if (r.failed()) {
        fail("ERR lfdb-gateway: backend " + backend_.label() + " protocol error (" +
             std::string(resp::reply_error_text(r.error)) + ")");
        return lf::Disposition::kRemove;
      }
      break;
    }
    if (!frames_.empty() && (role_ == Role::kSubscriber || role_ == Role::kTracker)) {
      if (!deliver_subscriber_frames()) return lf::Disposition::kRemove;
    } else if (!frames_.empty()) {
      popped_.clear();
      bool unexpected = false;
      {
        lf::MutexLock lock(mu_);
        if (state_ != State::kConnected) return lf::Disposition::kResume;
        if (fifo_.size() < frames_.size()) {
          unexpected = true;
        } else {
          const lf::TimePoint now = lf::Clock::now();
          for (std::size_t i = 0; i < frames_.size(); ++i) {
            popped_.push_back(fifo_.front());
            fifo_.pop_front();
            if (latency_) latency_->record(static_cast<std::uint64_t>((now - popped_.back().sent).count()));
          }
          expired_ -= std::min(expired_, frames_.size());
          backend_.in_flight_.fetch_sub(static_cast<std::int64_t>(frames_.size()), std::memory_order_relaxed);
        }
      }
      if (unexpected) {
        fail("ERR lfdb-gateway: backend " + backend_.label() + " sent a reply nobody asked for");
        return lf::Disposition::kRemove;
      }
      std::string prelude_error;
      for (std::size_t i = 0; i < popped_.size(); ++i) {
        const Pending& p = popped_[i];
        if (frames_[i].is_error()) {
          backend_.errors.fetch_add(1, std::memory_order_relaxed);
          if (p.kind == PendingKind::kPrelude && prelude_error.empty()) {
            prelude_error.assign(frames_[i].payload());
          }
        }
        // Consecutive replies for one client (its pipeline) leave in one send.
        const bool more_follow = p.kind == PendingKind::kSlot && i + 1 < popped_.size() &&
                                 popped_[i + 1].kind == PendingKind::kSlot &&
                                 popped_[i + 1].sink == p.sink;
        complete(p, frames_[i], more_follow);
      }
      if (!prelude_error.empty()) {
        fail("ERR lfdb-gateway: backend " + backend_.label() + " refused the connection set-up (" +
             prelude_error + ")");
        return lf::Disposition::kRemove;
      }
      if (role_ == Role::kProbe) {
        // Answered: the probe connection closes until the next stall (it never lingers as an
        // extra connection of the back-end). Not a failure: nothing is counted.
        lf::MutexLock lock(mu_);
        if (fifo_.empty()) {
          state_ = State::kClosing;
          return lf::Disposition::kRemove;
        }
      }
    }
    // Keep the unconsumed tail (a reply split across reads).
    if (data == in_.data()) {
      in_.erase(0, pos);
    } else {
      in_.assign(data + pos, size - pos);
    }
    if (in_.empty() && in_.capacity() > (1u << 20)) std::string().swap(in_);
    // The socket gave less than asked: it is empty now, so skip the recv that would only say
    // EAGAIN (the handle is level-triggered: anything arriving meanwhile is reported on re-arm).
    if (drained) return lf::Disposition::kResume;
  }
  // Plenty read in one go: let other handles have a turn (one-shot: the rest is reported again
  // when the handle is re-armed; edge-triggered: it would not be, so ask for another turn).
  lf::Reactor& r = *backend_.context().reactor;
  if (r.edge_triggered()) {
    lf::MutexLock lock(mu_);
    (void)r.notify(id_, lf::kReadEvent);
  }
  return lf::Disposition::kResume;
}

namespace {
// A published message as a subscribed back-end pushes it (RESP2: an array whose first element
// names the kind); everything else a subscribed connection sends answers a request.
bool is_message(const resp::Frame& f) {
  if (f.type() != resp::ReplyType::kArray && f.type() != resp::ReplyType::kPush) return false;
  const auto it = f.elements().begin();
  if (it == std::default_sentinel) return false;
  const std::string_view kind = it->payload();
  return kind == "message" || kind == "pmessage" || kind == "smessage";
}

// A tracker connection's pushes (RESP3: never a reply): `invalidate`, and anything else a
// back-end may push there, which nobody asked for either.
bool is_invalidation(const resp::Frame& f) { return f.type() == resp::ReplyType::kPush; }
}  // namespace

bool UpstreamConn::deliver_subscriber_frames() {
  const bool tracker = role_ == Role::kTracker;
  PushSink* sink = tracker ? backend_.context().invalidation_sink : backend_.context().push_sink;
  for (const resp::Frame& f : frames_) {
    if (tracker ? is_invalidation(f) : is_message(f)) {
      if (sink != nullptr) sink->on_push(backend_.shard(), f);
      continue;
    }
    Pending p;
    {
      lf::MutexLock lock(mu_);
      if (state_ != State::kConnected) return true;
      if (fifo_.empty()) {
        // Nothing asked for it (a confirmation the gateway did not count): ignore, but say so.
        backend_.errors.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      p = fifo_.front();
      fifo_.pop_front();
      if (expired_ > 0) --expired_;
      backend_.in_flight_.fetch_sub(1, std::memory_order_relaxed);
    }
    if (f.is_error() && p.kind == PendingKind::kPrelude) {
      fail("ERR lfdb-gateway: backend " + backend_.label() + " refused the connection set-up (" +
           std::string(f.payload()) + ")");
      return false;
    }
    complete(p, f);
  }
  return true;
}

void UpstreamConn::handle_close(int) {
  lf::MutexLock lock(mu_);
  const int fd = fd_.exchange(-1);
  if (fd >= 0) ::close(fd);
  registered_ = false;
  interest_ = 0;
  state_ = State::kDown;
  in_.clear();
  parser_.reset();
}

// ---- Backend --------------------------------------------------------------------------

Backend::Backend(UpstreamContext& ctx, Endpoint endpoint, int shard, bool primary)
    : ctx_(ctx),
      endpoint_(std::move(endpoint)),
      label_(endpoint_.to_string()),
      shard_(shard),
      primary_(primary) {
  const int n = std::max(1, ctx.config->connections_per_backend);
  for (int p = 0; p < 2; ++p) {
    for (int i = 0; i < n; ++i) {
      shared_[p].push_back(std::make_unique<UpstreamConn>(
          *this, p == 0 ? resp::Protocol::kResp2 : resp::Protocol::kResp3, UpstreamConn::Role::kShared));
    }
  }
  probe_ = std::make_unique<UpstreamConn>(*this, resp::Protocol::kResp2, UpstreamConn::Role::kProbe);
  subscriber_ = std::make_unique<UpstreamConn>(*this, resp::Protocol::kResp2, UpstreamConn::Role::kSubscriber);
  tracker_ = std::make_unique<UpstreamConn>(*this, resp::Protocol::kResp3, UpstreamConn::Role::kTracker);
}

Backend::~Backend() = default;

UpstreamConn& Backend::shared(resp::Protocol protocol, std::uint64_t client_id) {
  auto& v = shared_[protocol == resp::Protocol::kResp3 ? 1 : 0];
  return *v[client_id % v.size()];
}

UpstreamConn* Backend::acquire_dedicated(resp::Protocol protocol, lf::HandlerId client, bool may_wait) {
  lf::MutexLock lock(pool_mu_);
  for (auto it = handed_.begin(); it != handed_.end(); ++it) {
    if (it->second == client) {  // released to this client while it waited: its turn
      UpstreamConn* c = it->first;
      handed_.erase(it);
      return c;
    }
  }
  // Clients queued ahead of this one (all of them, if it is not queued) for this protocol.
  bool queued = false, others_first = false;
  for (const TxWaiter& w : tx_waiters_) {
    if (w.client == client) {
      queued = true;
      break;
    }
    others_first |= w.protocol == protocol;
  }
  if (!others_first) {
    for (auto it = idle_.begin(); it != idle_.end(); ++it) {
      if ((*it)->protocol() == protocol) {
        UpstreamConn* c = *it;
        idle_.erase(it);
        if (queued) std::erase_if(tx_waiters_, [&](const TxWaiter& w) { return w.client == client; });
        return c;
      }
    }
    if (dedicated_.size() < static_cast<std::size_t>(ctx_.config->tx_connections)) {
      if (queued) std::erase_if(tx_waiters_, [&](const TxWaiter& w) { return w.client == client; });
      dedicated_.push_back(std::make_unique<UpstreamConn>(*this, protocol, UpstreamConn::Role::kDedicated));
      return dedicated_.back().get();
    }
  }
  if (may_wait && client.valid() && !queued) tx_waiters_.push_back(TxWaiter{client, protocol});
  return nullptr;
}

UpstreamConn* Backend::acquire_blocking(resp::Protocol protocol) {
  lf::MutexLock lock(pool_mu_);
  for (auto it = blocking_idle_.begin(); it != blocking_idle_.end(); ++it) {
    // Not one still closing (its last client left while blocked): it is reopened once closed.
    if ((*it)->protocol() == protocol && (*it)->state() != UpstreamConn::State::kClosing) {
      UpstreamConn* c = *it;
      blocking_idle_.erase(it);
      return c;
    }
  }
  if (blocking_.size() >= static_cast<std::size_t>(ctx_.config->blocking_connections)) return nullptr;
  blocking_.push_back(std::make_unique<UpstreamConn>(*this, protocol, UpstreamConn::Role::kBlocking));
  return blocking_.back().get();
}

void Backend::release_blocking(UpstreamConn* c) {
  lf::MutexLock lock(pool_mu_);
  blocking_idle_.push_back(c);
}

void Backend::release_dedicated(UpstreamConn* c) {
  for (;;) {
    lf::HandlerId next;
    {
      lf::MutexLock lock(pool_mu_);
      auto it = std::find_if(tx_waiters_.begin(), tx_waiters_.end(),
                             [&](const TxWaiter& w) { return w.protocol == c->protocol(); });
      if (it == tx_waiters_.end()) {
        idle_.push_back(c);
        return;
      }
      next = it->client;
      tx_waiters_.erase(it);
      handed_.emplace_back(c, next);
    }
    // Woken to retry its command, it finds the connection handed to it. A client that is gone
    // cannot be woken: the connection goes to the next one.
    if (ctx_.reactor->notify(next, lf::kReadEvent).ok()) return;
    lf::MutexLock lock(pool_mu_);
    std::erase_if(handed_, [&](const auto& h) { return h.first == c; });
  }
}

void Backend::cancel_wait(lf::HandlerId client) {
  UpstreamConn* handed = nullptr;
  {
    lf::MutexLock lock(pool_mu_);
    std::erase_if(tx_waiters_, [&](const TxWaiter& w) { return w.client == client; });
    for (auto it = handed_.begin(); it != handed_.end(); ++it) {
      if (it->second == client) {
        handed = it->first;
        handed_.erase(it);
        break;
      }
    }
  }
  if (handed != nullptr) release_dedicated(handed);
}

bool Backend::ejected(lf::TimePoint now) const {
  return to_ns(now) < ejected_until_ns_.load(std::memory_order_acquire);
}

lf::Duration Backend::on_failure(lf::TimePoint now) {
  connection_failures.fetch_add(1, std::memory_order_relaxed);
  const Config& cfg = *ctx_.config;
  lf::MutexLock lock(health_mu_);
  if (now < round_until_) return round_until_ - now;  // this round's failure is counted already
  failures.fetch_add(1, std::memory_order_relaxed);
  const int n = ++consecutive_failures_;
  if (cfg.server_failure_limit > 0 && n >= cfg.server_failure_limit) {
    const std::int64_t until = to_ns(now + cfg.server_retry_timeout);
    if (ejected_until_ns_.load(std::memory_order_acquire) < to_ns(now)) {
      ejections.fetch_add(1, std::memory_order_relaxed);
    }
    ejected_until_ns_.store(until, std::memory_order_release);
    round_until_ = now + cfg.server_retry_timeout;
    return cfg.server_retry_timeout;
  }
  // Exponential backoff: 100 ms, 200 ms, 400 ms ... capped by the retry timeout.
  const lf::Duration d = std::min<lf::Duration>(std::chrono::milliseconds(100) * (1 << std::min(n - 1, 10)),
                                                cfg.server_retry_timeout);
  round_until_ = now + d;
  return d;
}

void Backend::on_connected() {
  lf::MutexLock lock(health_mu_);
  if (consecutive_failures_ > 0 || failures.load(std::memory_order_relaxed) > 0) {
    reconnects.fetch_add(1, std::memory_order_relaxed);
  }
  consecutive_failures_ = 0;
  round_until_ = lf::TimePoint{};  // the next failure starts a new outage
}

std::vector<UpstreamConn*> Backend::data_connections() const {
  std::vector<UpstreamConn*> v;
  for (const auto& conns : shared_) {
    for (const auto& c : conns) v.push_back(c.get());
  }
  v.push_back(subscriber_.get());
  v.push_back(tracker_.get());
  lf::MutexLock lock(pool_mu_);
  for (const auto& c : dedicated_) v.push_back(c.get());
  for (const auto& c : blocking_) v.push_back(c.get());
  return v;
}

void Backend::tick(lf::TimePoint now) {
  bool stalled = false;
  for (UpstreamConn* c : data_connections()) {
    // The RESP2 shared connections are kept up; the others open on demand.
    stalled |= c->tick(now, !c->dedicated() && c->protocol() == resp::Protocol::kResp2);
  }
  (void)probe_->tick(now, false);  // a probe unanswered for liveness_timeout fails here
  if (stalled) probe(now);
}

void Backend::probe(lf::TimePoint now) {
  // One PING at a time, at most one per timeout: a stall that lasts (a long script) is checked
  // again each timeout, and each answer is the proof of life that keeps the back-end up.
  if (probe_->in_flight() > 0 || now - last_probe_ < ctx_.config->timeout) return;
  last_probe_ = now;
  const std::string_view ping[] = {"PING"};
  Pending p;
  p.kind = PendingKind::kProbe;
  std::string why;
  const std::uint64_t before = probe_->incarnation();
  if (probe_->enqueue(ping, p, why)) {
    probes.fetch_add(1, std::memory_order_relaxed);
    probe_->flush();
  } else if (probe_->incarnation() != before) {
    // The connect itself failed (counted as a failure by the attempt): nobody is listening.
    probes.fetch_add(1, std::memory_order_relaxed);
    on_probe_failed(why);
  }
  // Else ejected, backing off or still closing after the last answer: the next tick tries.
}

void Backend::on_probe_failed(const std::string& why) {
  probes_failed.fetch_add(1, std::memory_order_relaxed);
  fail_stalled(why);
}

void Backend::fail_stalled(const std::string& why) {
  const lf::TimePoint now = lf::Clock::now();
  for (UpstreamConn* c : data_connections()) {
    if (c->stalled(now)) c->fail(why);
  }
}

std::string Backend::info_line() const {
  lf::Histogram h;
  for (int p = 0; p < 2; ++p) {
    for (const auto& c : shared_[p]) c->merge_latency(h);
  }
  std::size_t dedicated_total = 0, dedicated_idle = 0, blocking_total = 0, blocking_idle = 0;
  {
    lf::MutexLock lock(pool_mu_);
    for (const auto& c : dedicated_) c->merge_latency(h);
    dedicated_total = dedicated_.size();
    dedicated_idle = idle_.size();
    blocking_total = blocking_.size();
    blocking_idle = blocking_idle_.size();
  }
  // Open connections (connected or connecting), shared and dedicated: what the back-end sees.
  std::size_t open = 0;
  auto is_open = [](const UpstreamConn& c) {
    const UpstreamConn::State s = c.state();
    return s == UpstreamConn::State::kConnected || s == UpstreamConn::State::kConnecting;
  };
  bool stalled = false;
  const lf::TimePoint now = lf::Clock::now();
  for (UpstreamConn* c : data_connections()) {
    open += is_open(*c) ? 1 : 0;
    stalled |= c->stalled(now);
  }
  open += is_open(*probe_) ? 1 : 0;
  const char* state = "up";
  if (ejected(now)) {
    state = "ejected";
  } else {
    bool any_up = false;
    for (const auto& c : shared_[0]) any_up |= c->state() == UpstreamConn::State::kConnected;
    if (!any_up) state = "down";
    else if (stalled) state = "busy";  // not answering for the timeout, alive as far as known
  }
  auto us = [](std::uint64_t ns) { return std::to_string(ns / 1000); };
  return "addr=" + label_ + ",shard=" + std::to_string(shard_) +
         ",role=" + (primary_ ? "primary" : "replica") + ",state=" + state +
         ",connections=" + std::to_string(open) + ",in_flight=" + std::to_string(in_flight()) +
         ",requests=" + std::to_string(requests.load()) + ",errors=" + std::to_string(errors.load()) +
         ",failures=" + std::to_string(failures.load()) +
         ",connection_failures=" + std::to_string(connection_failures.load()) +
         ",timeouts=" + std::to_string(timeouts.load()) +
         ",probes=" + std::to_string(probes.load()) + ",probes_failed=" + std::to_string(probes_failed.load()) +
         ",reconnects=" + std::to_string(reconnects.load()) +
         ",ejections=" + std::to_string(ejections.load()) +
         ",dedicated=" + std::to_string(dedicated_total) + ",dedicated_idle=" + std::to_string(dedicated_idle) +
         ",blocking=" + std::to_string(blocking_total) + ",blocking_idle=" + std::to_string(blocking_idle) +
         ",subscriber=" + (is_open(*subscriber_) ? "1" : "0") +
         ",tracker=" + (is_open(*tracker_) ? "1" : "0") +
         ",latency_p50_us=" + us(h.percentile(0.5)) + ",latency_p99_us=" + us(h.percentile(0.99)) +
         ",latency_max_us=" + us(h.max());
}

}  // namespace lfdb::gateway
