#include "gateway/client.hpp"

#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <memory>

#include "commands/access.hpp"
#include "commands/connection.hpp"
#include "gateway/gateway.hpp"
#include "gateway/scratch.hpp"

namespace lfdb::gateway {

using commands::CommandSpec;

namespace {

// Whether a command of a blocking kind may block: XREAD and XREADGROUP only with a BLOCK option
// (before STREAMS; GROUP's and COUNT's values are skipped), the others always.
bool may_block(const CommandSpec& spec, std::span<const std::string_view> argv) {
  if (!spec.has(commands::kBlocking)) return false;
  if (!spec.has(commands::kStreamKeys)) return true;
  for (std::size_t i = 1; i < argv.size(); ++i) {
    if (commands::iequal(argv[i], "streams")) return false;
    if (commands::iequal(argv[i], "block")) return true;
    if (commands::iequal(argv[i], "group")) i += 2;
    else if (commands::iequal(argv[i], "count")) i += 1;
  }
  return false;
}

// Thread contexts of the bound thread set, reused per thread (a nested dispatch on the same
// thread takes others from the pool, never one still waiting further up the stack).
std::vector<std::unique_ptr<lf::ThreadContext>>& ctx_pool() {
  thread_local std::vector<std::unique_ptr<lf::ThreadContext>> pool;
  return pool;
}

lf::ThreadContext* acquire_ctx() {
  auto& pool = ctx_pool();
  if (pool.empty()) return new lf::ThreadContext();
  lf::ThreadContext* c = pool.back().release();
  pool.pop_back();
  return c;
}

void release_ctx(lf::ThreadContext* c) {
  auto& pool = ctx_pool();
  if (pool.size() < 256) {
    pool.emplace_back(c);
  } else {
    delete c;
  }
}

}  // namespace

ClientConn::ClientConn(Gateway& gw, lf::SockStream stream, std::uint64_t id)
    : gw_(gw),
      fd_(stream.release()),
      id_(id),
      bound_mode_(gw.config().forwarding == Forwarding::kBound),
      parser_([&] {
        resp::Limits l;
        const Limits& c = gw.config().limits;
        l.max_bulk_len = c.max_bulk_len;
        l.max_multibulk_len = c.max_multibulk_len;
        l.max_inline_len = c.max_inline_len;
        return l;
      }()),
      authenticated_(gw.config().requirepass.empty()) {
  parser_.set_auth_required(!authenticated_);
  gw_.stats().clients_open.fetch_add(1, std::memory_order_relaxed);
}

ClientConn::~ClientConn() { gw_.stats().clients_open.fetch_sub(1, std::memory_order_relaxed); }

void ClientConn::release() {
  if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
}

void ClientConn::handle_close(int) {
  std::vector<UpstreamConn*> blocked;
  {
    lf::MutexLock lock(mu_);
    reap_scripts_locked();
    leave_pubsub();
    // (Not when the gateway stops: CLIENT TRACKING OFF would go to tracker connections that
    // are being closed.)
    if (track_.on && !gw_.stopping()) gw_.tracking().disable(id_);
    if (endpoint_) gw_.tracking().detach(id_);
    blocked = blocked_connections_locked();
    closed_ = true;
    ::close(fd_);
  }
  abandon_blocked(blocked);
  // A dedicated connection goes back to its pool clean: the back-end forgets the client's
  // MULTI and WATCH state first (the replies are nobody's).
  if (const std::string_view cmd = tx_.cleanup_command(); !cmd.empty() && !gw_.stopping()) {
    const std::string_view cleanup[] = {cmd};
    Pending p;
    p.kind = PendingKind::kSwallow;
    std::string why;
    if (tx_.connection()->enqueue(cleanup, p, why)) tx_.connection()->flush();
  }
  if (tx_.waiting()) gw_.primary(tx_.wait_shard()).cancel_wait(hid_);  // its turn goes on
  if (tx_.timer() != 0) (void)gw_.reactor().cancel_timer(tx_.timer());
  end_transaction();
  release();
}

// ---- reading and dispatching ----------------------------------------------------------

lf::Disposition ClientConn::handle_event(int, lf::EventMask events) {
  bool retry_tx = false;
  bool paused = false;
  bool owed = false;  // replies the client waits for (it is not silent meanwhile)
  {
    lf::MutexLock lock(mu_);
    if (pubsub_dropped_.load(std::memory_order_acquire) && !broken_) {
      // Past client-output-buffer-limit pubsub (the outbox dropped its messages already).
      broken_ = true;
      gw_.stats().output_limit_disconnections.fetch_add(1, std::memory_order_relaxed);
    }
    if (events & (lf::kWriteEvent | lf::kWakeEvent)) send_out_locked();  // and posted messages
    if (events & lf::kTimeoutEvent) check_output_limits_locked();  // over the soft limit too long?
    if (broken_) return lf::Disposition::kRemove;
    if (closing_) {
      return out_sent_ == out_.size() ? lf::Disposition::kRemove : lf::Disposition::kResume;
    }
    if (tx_waiting_) {
      // Woken by a released transaction connection or by the wait's timer (or a stray event):
      // the waiting command, first in the input, runs again.
      tx_waiting_ = false;
      retry_tx = true;
      update_interest_locked();
    }
    paused = paused_;
    owed = !slots_.empty();
  }
  if (events & lf::kTimeoutEvent) on_tx_timer(paused, owed);
  if (paused) {
    if (events & (lf::kReadEvent | lf::kCloseEvent)) watch_blocked_hangup();
    return lf::Disposition::kResume;
  }
  if (!(events & (lf::kReadEvent | lf::kCloseEvent)) && !retry_tx) return lf::Disposition::kResume;

  ScratchLease scratch;
  const char* data;
  std::size_t size;
  ssize_t n = 0;
  std::size_t asked = 0;  // what the recv could have filled
  if (input_closed_) {
    // The client shut its sending side: only what it sent before is left to run.
    data = leftover_.data();
    size = leftover_.size();
  } else if (leftover_.empty()) {
    asked = scratch.size();
    n = ::recv(fd_, scratch.data(), asked, 0);
    data = scratch.data();
    size = n > 0 ? static_cast<std::size_t>(n) : 0;
  } else {
    const std::size_t old = leftover_.size();
    asked = ScratchLease::kChunk;
    leftover_.resize(old + asked);
    n = ::recv(fd_, leftover_.data() + old, asked, 0);
    leftover_.resize(old + (n > 0 ? static_cast<std::size_t>(n) : 0));
    data = leftover_.data();
    size = leftover_.size();
  }
  if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return lf::Disposition::kRemove;
  // A full read may have left input in the socket, and a hang-up reported with the input leaves
  // the end still to be read; an edge-triggered handle set reports neither again: another turn,
  // right after this one (a one-shot set re-reports them by itself).
  if (n > 0 && (static_cast<std::size_t>(n) == asked || (events & lf::kCloseEvent)) &&
      gw_.reactor().edge_triggered()) {
    (void)gw_.reactor().notify(hid_, lf::kReadEvent);
  }
  if (n == 0 && !input_closed_) {
    // End of the client's requests (shutdown(SHUT_WR), or a close we cannot tell from one until
    // a send fails): not of its interest in the replies. What it sent is still run and answered;
    // the connection closes once the last reply is out.
    input_closed_ = true;
    std::vector<UpstreamConn*> blocked;
    {
      lf::MutexLock lock(mu_);
      read_side_closed_ = true;
      // A half-close cannot be told from a close: scripts still in flight get SCRIPT KILL once
      // they are busy (the reaper), as a gone client's would; a script that ends in time is
      // answered as usual.
      reap_scripts_locked();
      // Likewise a blocked command is given up, as redis-server frees a blocked client at its
      // EOF: the back-end must not serve an element to nobody.
      blocked = blocked_connections_locked();
      update_interest_locked();
    }
    abandon_blocked(blocked);
  }

  std::size_t consumed = 0;
  const bool held_back = size > 0 && process_input(data, size, consumed);
  if (data == leftover_.data()) {
    leftover_.erase(0, consumed);
  } else {
    leftover_.assign(data + consumed, size - consumed);
  }
  if (leftover_.empty() && leftover_.capacity() > 0) std::string().swap(leftover_);
  if (stop_reading_) leftover_.clear();

  lf::MutexLock lock(mu_);
  if (broken_) return lf::Disposition::kRemove;
  if (input_closed_ && !held_back) {
    // Everything it sent has run (an incomplete command at the end can never complete).
    leftover_.clear();
    close_when_answered_locked();
  }
  if (closing_ && out_sent_ == out_.size() && slots_.empty()) return lf::Disposition::kRemove;
  return lf::Disposition::kResume;
}

void ClientConn::close_when_answered_locked() {
  if (closing_) return;
  if (slots_.empty()) {
    closing_ = true;
    update_interest_locked();
    return;
  }
  // After the last reply still to come: an empty reply that closes, as QUIT's does.
  ReplySlot* s = begin_slot(Merge::kNone, 0);
  s->set_local("");
  s->close_after = true;
}

bool ClientConn::process_input(const char* data, std::size_t size, std::size_t& consumed) {
  std::vector<BoundCall> calls;
  bool bound = false;
  bool waiting = false;
  bool held_back = false;
  {
    lf::MutexLock lock(mu_);
    if (bound_mode_) {
      // Bound forwarding nests: a thread waiting for its replies leads the handle set and may
      // dispatch another client that waits in turn, on the same stack. Past kMaxBoundDepth
      // nested dispatches the batch is forwarded asynchronously (nobody waits for it), which
      // bounds the stack and the scratch buffers it holds, whatever the number of clients.
      // Also while replies of such a batch are still queued, so replies leave in order.
      const std::size_t depth = ScratchLease::depth();
      gw_.stats().note_bound_depth(depth);
      bound = depth <= kMaxBoundDepth && slots_.empty();
      if (bound) {
        bound_calls_ = &calls;
        bound_batch_open_ = true;
      } else {
        gw_.stats().bound_batches_async.fetch_add(1, std::memory_order_relaxed);
      }
    }
    // Before AUTH every reply is the gateway's own: what waits to be sent is what the output
    // holds plus what this dispatch adds (reply_local counts it).
    unauthenticated_unsent_ = authenticated_ ? 0 : out_.size() - out_sent_;
    while (!stop_reading_) {
      if (switching_ && slots_.empty() && calls.empty()) switching_ = false;  // everything is in
      // Before AUTH every reply is local and the unauthenticated output limit below bounds
      // them: backpressure would send a guesser's replies out in windows instead of dropping it.
      if (authenticated_ && over_limits_locked(calls.size())) {
        if (!calls.empty()) {
          // A bound batch that fills the window ends here; the rest runs once its replies are in
          // (notified below).
          held_back = consumed < size;
          break;
        }
        // Backpressure: stop reading until replies drain (send_out_locked resumes).
        paused_ = true;
        update_interest_locked();
        held_back = true;
        break;
      }
      const resp::RequestResult r =
          parser_.parse(std::string_view(data + consumed, size - consumed), argv_);
      if (r.failed()) {
        gw_.stats().protocol_errors.fetch_add(1, std::memory_order_relaxed);
        std::string e;
        resp::Writer(e, protocol_).error(resp::error_message(r));
        reply_local(e, /*close_after=*/true);
        consumed = size;
        stop_reading_ = true;
        break;
      }
      if (!r.complete()) {
        consumed += r.consumed;
        break;
      }
      command(argv_);
      // CLIENT CACHING holds for the next command, or for the rest of a transaction.
      if (track_.caching && !tx_.in_multi() && !commands::iequal(argv_[0], "client")) track_.caching = false;
      if (tx_.take_retry()) {
        // Waiting for a transaction connection: this command again, later (it stays in the
        // input, and nothing after it runs before it).
        held_back = true;
        break;
      }
      gw_.stats().commands.fetch_add(1, std::memory_order_relaxed);
      consumed += r.consumed;
      if (!authenticated_ && unauthenticated_unsent_ > commands::kUnauthenticatedOutputLimit) {
        // Replies pile up for a client that has not authenticated (a pipelined password
        // guesser): dropped with none of them sent, as Redis does (commands/access.hpp).
        std::fprintf(stderr, "lfdb-gateway: client %llu dropped: %zu bytes of replies piled up before AUTH\n",
                     static_cast<unsigned long long>(id_), unauthenticated_unsent_);
        broken_ = true;
        stop_reading_ = true;
        consumed = size;
        break;
      }
      // Bound forwarding answers a batch at a time; keep batches small enough to bound the
      // contexts one thread holds. Not before AUTH: nothing is forwarded then (no context is
      // held), and the replies of one read must pile up as they would in async forwarding, for
      // the unauthenticated output limit above.
      if (bound && calls.size() >= 64 && authenticated_) {
        held_back = consumed < size;  // the rest runs on the next event (notified below)
        break;
      }
    }
    if (tx_.pinned()) {
      // The idle timeout of a pinned client counts from its last request.
      tx_.touch(lf::Clock::now());
      wake_at(tx_.idle_deadline(gw_.config().tx_idle_timeout));
    }
    flush_upstreams();
    bound_calls_ = nullptr;
    // (A bound batch may have queued an asynchronous slot: a blocking or subscribe command.)
    if (!bound || !slots_.empty()) flush_head_locked();
    waiting = tx_waiting_;
  }
  if (bound) {
    finish_bound_batch(calls);
    // Its replies went out just now, after a wait that was the back-end's (the timer could not
    // be dispatched meanwhile: this dispatch held the client): its idle time starts here.
    if (tx_.pinned() && !calls.empty()) {
      tx_.touch(lf::Clock::now());
      wake_at(tx_.idle_deadline(gw_.config().tx_idle_timeout));
    }
    // A batch cut short by its size: the rest of the input is processed on the next event.
    if (consumed < size && !stop_reading_ && !waiting) (void)gw_.reactor().notify(hid_, lf::kReadEvent);
  }
  return held_back;
}

void ClientConn::finish_bound_batch(std::vector<BoundCall>& calls) {
  lf::BoundThreadSet* bound = gw_.bound();
  // No limit of its own: every request is answered, fails with its connection, or fails alone
  // once late on a stalled connection (the housekeeper); a request behind another client's
  // backlog that keeps flowing may wait longer than the timeout, and is not late.
  const lf::Duration wait_limit = lf::kInfinite;
  std::string storage;
  for (BoundCall& call : calls) {
    // While a script's reply is awaited here, this thread holds the client's handler: the reaper
    // watches its socket, and stops the script if the client hangs up meanwhile.
    const std::uint64_t watch = call.slot.script_shard >= 0 && !gw_.stopping()
                                    ? gw_.reaper().watch(fd_, call.slot.script_shard)
                                    : 0;
    for (BoundPart& part : call.parts) {
      const lf::Status st = bound->wait(part.ctx, wait_limit);
      if (st.ok()) {
        resp::ReplyParser p;
        const resp::ReplyResult r = p.parse(part.ctx->response());
        if (r.complete()) {
          call.slot.add_part(part.part, r.frame);
        } else {
          call.slot.add_part(part.part, error_frame("ERR lfdb-gateway: malformed reply from backend " +
                                                        part.backend->label(), storage));
        }
      } else {
        call.slot.add_part(part.part, error_frame("ERR lfdb-gateway: backend " + part.backend->label() +
                                                      " timed out", storage));
      }
      release_ctx(part.ctx);
      part.ctx = nullptr;
    }
    if (watch != 0) gw_.reaper().unwatch(watch);
  }
  lf::MutexLock lock(mu_);
  bound_batch_open_ = false;
  if (closed_ || broken_) return;
  for (BoundCall& call : calls) {
    LF_CHECK(call.slot.ready);
    note_reply_size_locked(call.slot.reply.size());
    out_.append(call.slot.reply);
    if (call.slot.close_after) closing_ = true;
  }
  send_out_locked();
}

void ClientConn::reject(const std::string& e) {
  tx_.refuse();  // inside MULTI, EXEC will abort, as the server would
  reply_error(e);
}

void ClientConn::command(std::span<const std::string_view> argv) {
  const commands::Resolved resolved = commands::resolve(argv);
  if (!resolved) return reject(resolved.error(argv));
  const CommandSpec* spec = resolved.spec;
  if (!authenticated_ && !spec->has(commands::kNoAuth)) {
    gw_.stats().no_auth.fetch_add(1, std::memory_order_relaxed);
    return reject(std::string(commands::kErrNoAuth));
  }
  const CommandRoute route = route_of(resolved.index);
  const Config& cfg = gw_.config();
  if (protocol_ == resp::Protocol::kResp2 && subscribed() && route.pubsub == PubsubCommand::kNone &&
      spec->name != "ping" && spec->name != "quit" && spec->name != "reset") {
    return reject("ERR Can't execute '" + std::string(spec->name) +
                  "': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context");
  }
  if (route.route != Route::kLocal) {
    if (spec->has(commands::kAdmin) && !cfg.allow_admin) {
      return reject("NOPERM lfdb-gateway refuses '" + std::string(spec->name) +
                    "': admin commands are disabled (allow_admin)");
    }
    if (spec->has(commands::kDangerous) && !cfg.allow_dangerous) {
      return reject("NOPERM lfdb-gateway refuses '" + std::string(spec->name) +
                    "': dangerous commands are disabled (allow_dangerous)");
    }
    // A blocked reply would hold up every client behind it on a shared upstream connection:
    // commands that may block (XREAD/XREADGROUP only with BLOCK) take a connection of their own
    // (inside MULTI they do not block, and go through as the transaction's).
    if (may_block(*spec, argv) && !tx_.in_multi()) return blocking(*spec, argv);
  }
  const bool own = own_write_wanted(*spec, route);
  if (own) {
    // Its slot is asynchronous: replies a bound batch owes go first.
    if (bound_calls_ != nullptr && !bound_calls_->empty() && wait_for_earlier_replies()) return;
    // Before its keys are remembered (a script's): what it reads is then newer than the write.
    commands::for_each_key(*spec, argv, [&](std::size_t i) { own_keys_.emplace_back(argv[i]); });
    gw_.tracking().own_write_begin(id_, own_keys_);
  }
  if (track_.on) remember_reads(*spec, argv);
  if (tx_.in_multi() && route.route != Route::kTransaction && !route.ignores_multi) {
    return in_multi(*spec, route, argv);
  }
  if (route.db_option && copies_to_another_db(argv)) {
    end_own_write();
    return reject("ERR Copying to another database is not allowed in cluster mode");
  }
  if (own) return own_write(*spec, route, argv);
  switch (route.route) {
    case Route::kLocal: return local(resolved.index, argv);
    case Route::kKeyed: return keyed(*spec, route, argv);
    case Route::kSplit: return split(*spec, route.merge, argv);
    case Route::kFanout: return fanout(route.merge, argv);
    case Route::kTransaction: return transaction(*spec, route.tx, argv);
    case Route::kPubsub: return pubsub(*spec, route.pubsub, argv);
    case Route::kAnyShard: {
      Backend& b = backend_for(*spec, 0);
      forward(b, argv, begin_slot(Merge::kNone, 1), 0);
      return;
    }
    case Route::kUnsupported:
      return reject("ERR lfdb-gateway does not support '" + std::string(spec->name) +
                    "' (it has no single answer across shards)");
  }
}

// COPY ... DB n with n != 0 (a bad option is left to the shard, which answers it as Redis does).
bool ClientConn::copies_to_another_db(std::span<const std::string_view> argv) {
  for (std::size_t i = 3; i + 1 < argv.size(); ++i) {
    std::int64_t db = 0;
    if (commands::iequal(argv[i], "db") && commands::parse_db_index(argv[i + 1], db).empty() && db != 0) return true;
  }
  return false;
}

int ClientConn::shard_of(const CommandSpec& spec, std::span<const std::string_view> argv) const {
  int shard = -1;
  commands::for_each_key(spec, argv, [&](std::size_t i) {
    const int s = gw_.router().shard_of_key(argv[i]);
    if (shard == -1) shard = s;
    else if (shard != s) shard = -2;
  });
  return shard;
}

Backend& ClientConn::backend_for(const CommandSpec& spec, int shard) {
  // Writes, and commands that are neither reads nor writes, go to the primary.
  if (spec.has(commands::kReadonly) && !spec.has(commands::kWrite)) return gw_.read_backend(shard);
  return gw_.primary(shard);
}

void ClientConn::keyed(const CommandSpec& spec, CommandRoute route, std::span<const std::string_view> argv) {
  int shard = shard_of(spec, argv);
  if (route.store_keyword) {
    // The destination of STORE/STOREDIST must live with the source, as Redis Cluster requires.
    for (std::size_t i = 2; i + 1 < argv.size() && shard >= 0; ++i) {
      const std::string_view o = argv[i];
      const bool store = commands::iequal(o, "store") || commands::iequal(o, "storedist");
      if (store && gw_.router().shard_of_key(argv[i + 1]) != shard) shard = -2;
    }
  }
  if (shard == -2) return reply_error(kCrossSlotError);
  ReplySlot* slot = begin_slot(Merge::kNone, 1);
  if (route.script) slot->script_shard = shard < 0 ? 0 : shard;
  if (!own_keys_.empty()) take_own_write(*slot, {shard < 0 ? 0 : shard});
  forward(backend_for(spec, shard < 0 ? 0 : shard), argv, slot, 0);
}

// The client has gone: its scripts still in flight are left to the reaper, which stops them
// (they would run one after another for nobody). Not when the gateway itself stops.
void ClientConn::reap_scripts_locked() {
  if (gw_.stopping()) return;
  slots_.for_each([&](ReplySlot& slot) {
    if (slot.script_shard < 0 || slot.ready || slot.script_reaped) return;
    slot.script_reaped = true;
    gw_.reaper().gone(slot.script_shard, 1);
  });
}

void ClientConn::split(const CommandSpec& spec, Merge merge, std::span<const std::string_view> argv) {
  const int one = shard_of(spec, argv);
  if (one >= 0) {  // every key in one shard: forwarded as it is
    ReplySlot* slot = begin_slot(Merge::kNone, 1);
    if (!own_keys_.empty()) take_own_write(*slot, {one});
    forward(backend_for(spec, one), argv, slot, 0);
    return;
  }
  gw_.stats().split.fetch_add(1, std::memory_order_relaxed);
  const int nshards = gw_.router().shards();
  const std::size_t step = spec.key_step > 0 ? static_cast<std::size_t>(spec.key_step) : 1;
  // Per shard: its argv (views into the request) and the positions of its keys.
  std::vector<std::vector<std::string_view>> parts(static_cast<std::size_t>(nshards));
  std::vector<std::vector<std::uint32_t>> positions(static_cast<std::size_t>(nshards));
  std::uint32_t key_no = 0;
  commands::for_each_key(spec, argv.size(), [&](std::size_t i) {
    const auto s = static_cast<std::size_t>(gw_.router().shard_of_key(argv[i]));
    if (parts[s].empty()) parts[s].push_back(argv[0]);
    for (std::size_t k = 0; k < step && i + k < argv.size(); ++k) parts[s].push_back(argv[i + k]);
    positions[s].push_back(key_no++);
  });
  std::uint32_t used = 0;
  for (const auto& p : parts) used += p.empty() ? 0 : 1;
  ReplySlot* slot = begin_slot(merge, used);
  if (merge == Merge::kMget) slot->values.assign(key_no, std::string());
  if (!own_keys_.empty()) {
    std::vector<int> shards;
    for (std::size_t s = 0; s < parts.size(); ++s) {
      if (!parts[s].empty()) shards.push_back(static_cast<int>(s));
    }
    take_own_write(*slot, std::move(shards));
  }
  std::uint32_t part = 0;
  for (std::size_t s = 0; s < parts.size(); ++s) {
    if (parts[s].empty()) continue;
    if (merge == Merge::kMget) slot->part_keys.push_back(std::move(positions[s]));
    forward(backend_for(spec, static_cast<int>(s)), parts[s], slot, part++);
  }
}

void ClientConn::fanout(Merge merge, std::span<const std::string_view> argv) {
  gw_.stats().fanout.fetch_add(1, std::memory_order_relaxed);
  const int nshards = gw_.router().shards();
  ReplySlot* slot = begin_slot(merge, static_cast<std::uint32_t>(nshards));
  for (int s = 0; s < nshards; ++s) forward(gw_.primary(s), argv, slot, static_cast<std::uint32_t>(s));
}

// ---- transactions ---------------------------------------------------------------------

// Pins a dedicated connection to the shard's primary; when the pool is exhausted the client
// waits for one, up to the request timeout: its command stays unprocessed in the input, it stops
// reading, and a released connection (Backend::release_dedicated) or the timer dispatches it
// again to retry. kWaiting: the command runs again later (the caller returns without a reply);
// kTimedOut: the wait is over without a connection (the caller answers with the error).
ClientConn::PinResult ClientConn::pin_or_wait(int shard) {
  if (!slots_.empty() || (bound_calls_ != nullptr && !bound_calls_->empty())) {
    // The client's earlier requests went on shared connections; the first one on the dedicated
    // connection must not overtake them (SET k, then MULTI, INCR k, EXEC, must see the SET).
    // It waits, unread, until every reply so far is in (send_out_locked resumes it).
    switching_ = true;
    paused_ = true;
    update_interest_locked();
    tx_.retry_later();
    return PinResult::kWaiting;
  }
  const lf::TimePoint now = lf::Clock::now();
  const bool may_wait = tx_.may_wait(now);
  Backend& b = gw_.primary(shard);
  UpstreamConn* c = b.acquire_dedicated(protocol_, hid_, may_wait);
  if (c != nullptr) {
    tx_.end_wait();
    tx_.pin(*c, shard, now);
    wake_at(tx_.idle_deadline(gw_.config().tx_idle_timeout));
    gw_.stats().tx_pinned.fetch_add(1, std::memory_order_relaxed);
    return PinResult::kPinned;
  }
  if (!may_wait) {
    b.cancel_wait(hid_);  // out of the queue (a connection handed to it meanwhile goes on)
    tx_.end_wait();
    gw_.stats().tx_wait_timeouts.fetch_add(1, std::memory_order_relaxed);
    return PinResult::kTimedOut;
  }
  if (!tx_.waiting()) {
    tx_.start_wait(shard, now, gw_.config().timeout);
    wake_at(tx_.wait_deadline());
    gw_.stats().tx_waits.fetch_add(1, std::memory_order_relaxed);
  }
  tx_waiting_ = true;
  update_interest_locked();
  tx_.retry_later();
  return PinResult::kWaiting;
}

void ClientConn::wake_at(lf::TimePoint t) {
  if (t == lf::TimePoint::max()) return;
  if (tx_.timer() != 0 && tx_.timer_at() <= t) return;  // one that fires first is pending: it re-arms
  if (tx_.timer() != 0) (void)gw_.reactor().cancel_timer(tx_.timer());
  const lf::Duration in = std::max(t - lf::Clock::now(), lf::Duration::zero());
  auto id = gw_.reactor().schedule_timer(hid_, in);
  tx_.set_timer(id.ok() ? *id : 0, t);
}

void ClientConn::on_tx_timer(bool paused, bool owed) {
  const lf::TimePoint now = lf::Clock::now();
  if (tx_.timer() != 0 && now >= tx_.timer_at()) tx_.set_timer(0, lf::TimePoint{});  // it fired
  // A waiting client's deadline is seen by its retry (this dispatch runs it).
  const lf::Duration limit = gw_.config().tx_idle_timeout;
  const lf::TimePoint deadline = tx_.idle_deadline(limit);
  if (deadline == lf::TimePoint::max()) return;
  if (now < deadline) return wake_at(deadline);
  if (paused || owed || input_waiting()) {
    // Not silent. Held back by the gateway (its replies not taken): the output limits judge
    // that. Waiting for a reply (a slow back-end): the wait is the gateway's, as redis-server
    // counts a client's idle time from its last read or write. Its next command already here,
    // unread (this timer's dispatch was late, or took the read event with it): it was sent in
    // time. The idle time starts again now.
    tx_.touch(now);
    return wake_at(tx_.idle_deadline(limit));
  }
  expire_idle_transaction();
}

bool ClientConn::input_waiting() const {
  // (Not leftover_: the part of a command the client stopped in the middle of is no activity.
  // Complete commands held back there are a pause or a pool wait, judged by their own limits.)
  int unread = 0;
  return !input_closed_ && ::ioctl(fd_, FIONREAD, &unread) == 0 && unread > 0;
}

void ClientConn::expire_idle_transaction() {
  // As when the client goes away: the back-end forgets its MULTI and WATCH first, so the next
  // client of the connection inherits nothing; what was queued never runs.
  UpstreamConn* c = tx_.connection();
  if (const std::string_view cmd = tx_.cleanup_command(); !cmd.empty()) {
    const std::string_view cleanup[] = {cmd};
    Pending p;
    p.kind = PendingKind::kSwallow;
    std::string why;
    if (c->enqueue(cleanup, p, why)) c->flush();
  }
  tx_.lose(PinnedTransaction::Loss::kIdle);
  (void)tx_.release_connection();
  c->backend().release_dedicated(c);
  gw_.stats().tx_idle_timeouts.fetch_add(1, std::memory_order_relaxed);
}

void ClientConn::end_transaction() {
  if (UpstreamConn* c = tx_.end(); c != nullptr) c->backend().release_dedicated(c);
}

namespace {
std::string no_tx_connection(Backend& b) {
  return "ERR lfdb-gateway: no transaction connection to backend " + b.label() +
         " came free within the timeout (tx_connections)";
}

}  // namespace

std::string ClientConn::lost_error() {
  if (tx_.loss() == PinnedTransaction::Loss::kIdle) {
    return "ERR lfdb-gateway: the transaction was idle longer than tx_idle_timeout_ms (" +
           std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(gw_.config().tx_idle_timeout).count()) +
           " ms) and was discarded (EXEC will abort)";
  }
  const std::string backend = tx_.pinned() ? "backend " + pinned_backend().label() : "its backend";
  return "ERR lfdb-gateway: the connection to " + backend +
         " was lost during the transaction (MULTI/WATCH state is gone; EXEC will abort)";
}

void ClientConn::transaction(const CommandSpec& spec, TxCommand tx, std::span<const std::string_view> argv) {
  switch (tx) {
    case TxCommand::kMulti: return multi_cmd(argv);
    case TxCommand::kWatch: return watch_cmd(spec, argv);
    case TxCommand::kUnwatch: return unwatch_cmd(spec, argv);
    case TxCommand::kDiscard: return discard_cmd(argv);
    case TxCommand::kExec: return exec_cmd(argv);
    case TxCommand::kNone: break;
  }
  LF_CHECK_MSG(false, "a transaction route without its command");
}

void ClientConn::multi_cmd(std::span<const std::string_view> argv) {
  if (tx_.in_multi()) return reply_error("ERR MULTI calls can not be nested");
  tx_.begin_multi();
  if (tx_.lost()) return reject(lost_error());  // WATCH is gone
  if (tx_.pinned()) {
    tx_.note_multi_sent();
    forward_pinned(argv, begin_slot(Merge::kNone, 1));
  } else {
    reply_local("+OK\r\n");
  }
}

void ClientConn::watch_cmd(const CommandSpec& spec, std::span<const std::string_view> argv) {
  if (tx_.in_multi()) return reply_error("ERR WATCH inside MULTI is not allowed");
  if (tx_.lost()) return reply_error(lost_error());  // what it watched before is gone
  const int shard = shard_of(spec, argv);
  if (shard == -2 || (tx_.pinned() && shard != tx_.shard())) return reply_error(kCrossSlotError);
  if (!tx_.pinned()) {
    switch (pin_or_wait(shard)) {
      case PinResult::kWaiting: return;
      case PinResult::kTimedOut: return reply_error(no_tx_connection(gw_.primary(shard)));
      case PinResult::kPinned: break;
    }
  }
  forward_pinned(argv, begin_slot(Merge::kNone, 1));
}

void ClientConn::unwatch_cmd(const CommandSpec& spec, std::span<const std::string_view> argv) {
  if (tx_.in_multi()) return in_multi(spec, classify(spec), argv);
  if (!tx_.pinned() || tx_.lost()) {  // nothing watched any more either way
    end_transaction();
    return reply_local("+OK\r\n");
  }
  forward_pinned(argv, begin_slot(Merge::kNone, 1));
  end_transaction();
}

void ClientConn::discard_cmd(std::span<const std::string_view> argv) {
  if (!tx_.in_multi()) return reply_error("ERR DISCARD without MULTI");
  if (tx_.lost()) {  // the back-end dropped the transaction with the connection
    reply_local("+OK\r\n");
    end_transaction();
    return;
  }
  if (tx_.multi_sent()) {
    forward_pinned(argv, begin_slot(Merge::kNone, 1));
  } else {
    if (tx_.pinned()) {  // WATCH without MULTI sent: DISCARD also unwatches
      const std::string_view unwatch[] = {"UNWATCH"};
      forward_pinned(unwatch, nullptr, PendingKind::kSwallow);
    }
    reply_local("+OK\r\n");
  }
  end_transaction();
}

void ClientConn::exec_cmd(std::span<const std::string_view> argv) {
  if (!tx_.in_multi()) return reply_error("ERR EXEC without MULTI");
  if (tx_.must_abort()) {  // refused commands, or whatever was queued is gone: never run half
    if (const std::string_view cmd = tx_.cleanup_command(); !cmd.empty()) {
      const std::string_view cleanup[] = {cmd};
      forward_pinned(cleanup, nullptr, PendingKind::kSwallow);
    }
    reply_error(tx_.loss() == PinnedTransaction::Loss::kIdle
                    ? "EXECABORT Transaction discarded because it was idle longer than tx_idle_timeout_ms at lfdb-gateway."
                    : "EXECABORT Transaction discarded because of previous errors.");
    end_transaction();
    return;
  }
  // The subscribe family queued: run when the reply comes (an asynchronous slot; replies a bound
  // batch owes go first).
  const bool local = !tx_.local().empty();
  if (local && bound_calls_ != nullptr && !bound_calls_->empty() && wait_for_earlier_replies()) return;
  if (!tx_.pinned()) {
    if (tx_.unpinned().empty() && local) {  // nothing for a back-end to run
      std::string body;
      std::vector<int> shards;
      run_local_steps_locked(tx_.local(), nullptr, protocol_, body, shards);
      end_transaction();
      if (shards.empty()) return reply_local(body);
      return answer_after_ping(std::move(body), shards, &Backend::subscriber);
    }
    if (tx_.unpinned().empty()) {
      reply_local("*0\r\n");
      end_transaction();
      return;
    }
    switch (pin_or_wait(0)) {
      case PinResult::kWaiting: return;
      case PinResult::kTimedOut:
        reply_error(no_tx_connection(gw_.primary(0)));
        end_transaction();
        return;
      case PinResult::kPinned: break;
    }
  }
  if (!tx_.multi_sent()) send_multi();
  std::vector<BoundCall>* const bound_calls = bound_calls_;
  if (local) bound_calls_ = nullptr;
  ReplySlot* slot = begin_slot(Merge::kNone, 1);
  if (local) slot->tx_local = std::move(tx_.local());
  forward_pinned(argv, slot);
  bound_calls_ = bound_calls;
  end_transaction();
  // What the client sends next goes on a shared connection: it must not overtake the EXEC.
  switching_ = true;
}

void ClientConn::in_multi(const CommandSpec& spec, CommandRoute route,
                          std::span<const std::string_view> argv) {
  if (tx_.lost()) return reject(lost_error());
  // PUBLISH and SPUBLISH go with the transaction to their channel's shard, where its
  // subscribers listen: the channel counts as the transaction's key.
  const bool publish = route.pubsub == PubsubCommand::kPublish || route.pubsub == PubsubCommand::kSpublish;
  if (route.route == Route::kUnsupported || route.route == Route::kFanout) {
    return reject("ERR lfdb-gateway: '" + std::string(spec.name) +
                      "' cannot be queued in a transaction through the gateway (it spans shards)");
  }
  // The subscribe family is the gateway's own (docs/gateway.md, "Pub/sub"): it runs at EXEC, and
  // so does a PING behind it (subscribed, a RESP2 PING answers otherwise).
  const bool subscribe_family = route.pubsub != PubsubCommand::kNone && route.pubsub <= PubsubCommand::kSunsubscribe;
  if (subscribe_family || (spec.name == "ping" && !tx_.local().empty())) {
    tx_.queue_local(argv);
    return reply_local("+QUEUED\r\n");
  }
  if ((route.route == Route::kLocal && !route.queues_in_multi) || (route.route == Route::kPubsub && !publish)) {
    return reject("ERR lfdb-gateway: '" + std::string(spec.name) + "' inside MULTI is not supported");
  }
  const int shard = publish ? gw_.router().shard_of_key(argv[1]) : shard_of(spec, argv);
  if (shard == -2 || (shard >= 0 && tx_.pinned() && shard != tx_.shard())) {
    return reject(std::string(kCrossSlotError));
  }
  if (!tx_.pinned() && shard < 0) {
    // The shard is not known yet: keep it until a key names one (or EXEC picks shard 0).
    tx_.queue_unpinned(argv);
    tx_.note_queued();
    return reply_local("+QUEUED\r\n");
  }
  if (!tx_.pinned()) {
    switch (pin_or_wait(shard)) {
      case PinResult::kWaiting: return;
      case PinResult::kTimedOut: return reject(no_tx_connection(gw_.primary(shard)));
      case PinResult::kPinned: break;
    }
    send_multi();
  }
  tx_.note_queued();
  forward_pinned(argv, begin_slot(Merge::kNone, 1));
}

void ClientConn::send_multi() {
  // MULTI and the keyless commands queued before the shard was known; their replies (OK,
  // QUEUED) were given by the gateway already.
  const std::string_view multi[] = {"MULTI"};
  forward_pinned(multi, nullptr, PendingKind::kSwallow);
  tx_.note_multi_sent();
  for (const auto& q : tx_.unpinned()) {
    std::vector<std::string_view> v(q.begin(), q.end());
    forward_pinned(v, nullptr, PendingKind::kSwallow);
  }
  tx_.clear_unpinned();
}

Backend& ClientConn::pinned_backend() { return tx_.connection()->backend(); }

void ClientConn::forward_pinned(std::span<const std::string_view> argv, ReplySlot* slot, PendingKind kind) {
  forward(pinned_backend(), argv, slot, 0, kind);
}

// ---- slots and forwarding -------------------------------------------------------------

ReplySlot* ClientConn::begin_slot(Merge merge, std::uint32_t parts) {
  ReplySlot* s;
  if (bound_calls_ != nullptr) {
    bound_calls_->emplace_back();
    s = &bound_calls_->back().slot;
  } else {
    slots_.emplace_back();
    s = &slots_.back();
  }
  s->start(merge, parts, protocol_);
  return s;
}

void ClientConn::reply_local(const std::string& bytes, bool close_after) {
  if (!authenticated_) unauthenticated_unsent_ += bytes.size();
  if (bound_calls_ == nullptr && slots_.empty() && !close_after) {
    out_.append(bytes);  // nothing ahead of it: straight to the output
    return;
  }
  ReplySlot* s = begin_slot(Merge::kNone, 0);
  s->set_local(bytes);
  s->close_after = close_after;
}

void ClientConn::reply_error(std::string_view text) {
  gw_.stats().error_replies.fetch_add(1, std::memory_order_relaxed);
  local_buf_.clear();
  resp::Writer(local_buf_, protocol_).error(text);
  reply_local(local_buf_);
}

void ClientConn::forward(Backend& b, std::span<const std::string_view> argv, ReplySlot* slot,
                         std::uint32_t part, PendingKind kind) {
  const bool on_pin = tx_.pinned() && &pinned_backend() == &b;
  UpstreamConn& c = on_pin ? *tx_.connection() : b.shared(protocol_, id_);
  if (on_pin && tx_.lost()) {
    // Never on a new connection: a queued command would run at once, outside the transaction.
    tx_.refuse();
    gw_.stats().error_replies.fetch_add(1, std::memory_order_relaxed);
    if (slot != nullptr) {
      std::string storage;
      slot->add_part(part, error_frame(lost_error(), storage));
    }
    return;
  }
  Pending p;
  p.kind = kind;
  p.part = part;
  p.forwarder = thread_index();
  lf::ThreadContext* ctx = nullptr;
  if (kind == PendingKind::kSlot && bound_calls_ != nullptr) {
    // Bound: register the context before the request can reach the back-end, so the reply can
    // never arrive before the bound thread set knows who waits for it.
    ctx = acquire_ctx();
    ctx->set_request_id(gw_.next_request_id());
    (void)gw_.bound()->expecting_response(ctx);
    p.kind = PendingKind::kBound;
    p.bound_id = ctx->request_id();
    BoundCall& call = bound_calls_->back();
    LF_CHECK(&call.slot == slot);
    call.parts.push_back(BoundPart{ctx, part, &b});
  } else if (kind == PendingKind::kSlot) {
    p.sink = this;
    p.slot = slot;
  }
  std::string why;
  if (!c.enqueue(argv, p, why)) {
    if (on_pin) {
      // A transaction's command that was not sent: the rest must not run without it.
      tx_.lose(PinnedTransaction::Loss::kConnection);
      tx_.refuse();
    }
    gw_.stats().error_replies.fetch_add(1, std::memory_order_relaxed);
    std::string storage;
    const resp::Frame err = error_frame(why, storage);
    if (ctx != nullptr) {
      (void)gw_.bound()->deliver(ctx->request_id(), err.bytes());
    } else if (slot != nullptr) {
      slot->add_part(part, err);
    }
    return;
  }
  gw_.stats().forwarded.fetch_add(1, std::memory_order_relaxed);
  if (std::find(dirty_.begin(), dirty_.end(), &c) == dirty_.end()) dirty_.push_back(&c);
}

void ClientConn::flush_upstreams() {
  // Async forwarding sends when the thread is about to block: the requests of every client it
  // served until then share one send per upstream connection (and the back-end reads them with
  // one recv). A bound batch is waited for inside this dispatch, so it must leave now.
  const bool defer = bound_calls_ == nullptr;
  for (UpstreamConn* c : dirty_) {
    if (defer) c->defer_flush();
    else c->flush();
  }
  dirty_.clear();
}

// ---- replies --------------------------------------------------------------------------

void ClientConn::on_reply(const Pending& p, const resp::Frame& reply, bool more_follow) {
  lf::MutexLock lock(mu_);
  auto* slot = static_cast<ReplySlot*>(p.slot);
  if (slot->blocking_conn != nullptr) {
    // The blocked command is answered (or failed): its connection serves the next one.
    UpstreamConn* c = slot->blocking_conn;
    slot->blocking_conn = nullptr;
    c->backend().release_blocking(c);
    if (--blocked_in_flight_ == 0) blocked_input_seen_ = false;
  }
  if (slot->script_reaped) {  // counted by the reaper whether or not anyone takes the reply
    slot->script_reaped = false;
    gw_.reaper().answered(slot->script_shard);
  }
  if (slot->own != ReplySlot::Own::kNone) {
    if (!own_write_reply_locked(*slot, p, reply)) return;  // its markers are still out
    if (closed_ || broken_) return;
    note_reply_size_locked(slot->reply.size());
    flush_head_locked();
    return;
  }
  if (!slot->tx_local.empty()) {  // an EXEC with the subscribe family in it
    if (!exec_reply_locked(*slot, p, reply)) return;  // the subscriber connections confirm first
    if (closed_ || broken_) return;
    note_reply_size_locked(slot->reply.size());
    flush_head_locked();
    return;
  }
  if (closed_ || broken_) return;  // gone, or disconnected: nobody takes it
  note_reply_size_locked(reply.bytes().size());
  if (more_follow) {
    // The next reply is this client's too: queue this one, send both with that one.
    if (slot->merge == Merge::kNone && !slots_.empty() && &slots_.front() == slot) {
      out_.append(reply.bytes());
      slots_.pop_front();
    } else if (!slot->add_part(p.part, reply)) {
      return;
    }
    collect_ready_locked();
    return;
  }
  if (slot->merge == Merge::kNone && !slots_.empty() && &slots_.front() == slot &&
      out_sent_ == out_.size() && !broken_) {
    // The reply its client waits for next, nothing queued before it: straight from the
    // upstream read buffer to the client socket, no copy.
    std::string_view b = reply.bytes();
    while (!b.empty()) {
      const ssize_t n = ::send(fd_, b.data(), b.size(), MSG_NOSIGNAL);
      if (n > 0) {
        b.remove_prefix(static_cast<std::size_t>(n));
      } else if (n < 0 && errno == EINTR) {
        continue;
      } else {
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) broken_ = true;
        break;
      }
    }
    out_.append(b);  // what the socket did not take
    slots_.pop_front();
  } else if (!slot->add_part(p.part, reply)) {
    return;
  }
  flush_head_locked();
}

void ClientConn::collect_ready_locked() {
  while (!slots_.empty() && slots_.front().ready) {
    out_.append(slots_.front().reply);
    if (slots_.front().close_after) closing_ = true;
    slots_.pop_front();
  }
}

void ClientConn::flush_head_locked() {
  collect_ready_locked();
  send_out_locked();
}

void ClientConn::resume_if_drained_locked() {
  if (!paused_ || broken_ || closed_ || over_limits_locked()) return;
  paused_ = false;
  // The input kept while paused is processed on the next dispatch.
  (void)gw_.reactor().notify(hid_, lf::kReadEvent);
}

void ClientConn::send_out_locked() {
  if (closed_) return;
  // Posted messages go out between replies; a few rounds, then the next wake takes the rest.
  for (int round = 0; round < 4; ++round) {
    while (out_sent_ < out_.size() && !broken_) {
      const ssize_t n = ::send(fd_, out_.data() + out_sent_, out_.size() - out_sent_, MSG_NOSIGNAL);
      if (n > 0) {
        out_sent_ += static_cast<std::size_t>(n);
      } else if (n < 0 && errno == EINTR) {
        continue;
      } else {
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) broken_ = true;
        break;
      }
    }
    if (!drain_pushes_locked()) break;
  }
  if (out_sent_ == out_.size()) {
    out_.clear();
    out_sent_ = 0;
    if (out_.capacity() > (64u << 10)) std::string().swap(out_);
    in_socket_ = 0;
  } else {
    // The socket took what it could: its send queue is full of what the client has not read
    // either. Counted with the buffer for the output limits (measured only for a client that is
    // behind).
    int queued = 0;
    in_socket_ = ::ioctl(fd_, SIOCOUTQ, &queued) == 0 && queued > 0 ? static_cast<std::size_t>(queued) : 0;
  }
  check_output_limits_locked();
  resume_if_drained_locked();
  update_interest_locked();
  // A completing thread cannot return kRemove for this handler: ask the reactor for a dispatch
  // that will (closing with everything sent, or a broken socket).
  if ((broken_ || (closing_ && out_.empty())) && !closed_) (void)gw_.reactor().notify(hid_, lf::kWriteEvent);
}

void ClientConn::update_interest_locked() {
  if (closed_ || !hid_.valid()) return;
  lf::EventMask want = (paused_ || closing_ || tx_waiting_ || read_side_closed_) ? 0 : lf::kReadEvent;
  // Paused behind a blocked command: watched for a hang-up (watch_blocked_hangup).
  if (paused_ && blocked_in_flight_ > 0 && !blocked_input_seen_ && !closing_ && !read_side_closed_) {
    want = lf::kReadEvent;
  }
  if (out_sent_ < out_.size()) want |= lf::kWriteEvent;
  if (want != interest_) {
    interest_ = want;
    (void)gw_.reactor().set_interest(hid_, want);
  }
}

bool ClientConn::over_limits_locked(std::size_t bound_in_flight) const {
  const std::size_t max_pipeline = gw_.config().limits.max_pipeline;
  const std::size_t soft = gw_.config().output_limit.soft;
  const std::size_t in_flight = slots_.size() + bound_in_flight;
  if (switching_ && in_flight > 0) return true;  // a change of upstream connection waits for them
  // The replies still to come, judged by the size of the client's recent replies (before any
  // came back, as if each were a kFirstWindow-th of kInFlightReplyBytes). So a client whose
  // replies are big is held back before they are asked for, not after a whole pipeline of them
  // landed: on a shared connection, what one client has in flight is what every other client's
  // next request waits behind.
  const std::size_t per_reply = reply_estimate_ > 0 ? reply_estimate_ : kInFlightReplyBytes / kFirstWindow;
  const std::size_t coming = in_flight * per_reply;
  const std::size_t pending = owed_locked();
  if (paused_) {
    // Resume only once well below the limits, so a client at the edge does not flap.
    return in_flight > max_pipeline / 2 || coming > kInFlightReplyBytes / 2 ||
           (soft > 0 && pending + coming > soft / 2);
  }
  return in_flight >= max_pipeline || coming >= kInFlightReplyBytes || (soft > 0 && pending + coming >= soft);
}

void ClientConn::note_reply_size_locked(std::size_t bytes) {
  // Up at once for a big reply, down slowly (by an eighth per reply) after it.
  reply_estimate_ = std::max(bytes, reply_estimate_ - reply_estimate_ / 8);
}

void ClientConn::check_output_limits_locked() {
  if (broken_ || closed_) return;
  const OutputBufferLimit& l = gw_.config().output_limit;
  const std::size_t owed = owed_locked();
  bool over = l.hard > 0 && owed >= l.hard;
  // The soft limit, the gateway's way: it stops forwarding for a client whose output reaches the
  // limit (over_limits_locked), so the output is not let past it by much; a client held there,
  // not taking its output down to half, for longer than the soft time is disconnected.
  const bool held = l.soft > 0 && paused_ && owed >= l.soft / 2;
  if (!over && held) {
    const lf::TimePoint now = lf::Clock::now();
    if (held_since_ == lf::TimePoint{}) {
      // A held client sends nothing and takes nothing: a timer comes back to it when its time
      // is up.
      held_since_ = now;
      (void)gw_.reactor().schedule_timer(hid_, l.soft_time + std::chrono::milliseconds(10));
    } else {
      over = now - held_since_ > l.soft_time;
    }
  } else if (!held) {
    held_since_ = lf::TimePoint{};
  }
  if (!over) return;
  // Disconnected, as redis-server does: the replies it did not take are dropped (and so are the
  // ones still to come), and the reactor removes it (send_out_locked asks for the dispatch).
  // A client that writes its whole pipeline before it reads (redis-py's pipeline) lands here
  // too: held at the soft limit, it blocks in its send and takes nothing; the disconnect ends
  // that wait for both sides (its send fails), so it is logged, as Redis logs its own.
  std::fprintf(stderr,
               "lfdb-gateway: client %llu closed for overcoming of output buffer limits "
               "(%zu bytes of replies unsent, client-output-buffer-limit normal)\n",
               static_cast<unsigned long long>(id_), owed);
  broken_ = true;
  std::string().swap(out_);
  out_sent_ = 0;
  in_socket_ = 0;
  gw_.stats().output_limit_disconnections.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace lfdb::gateway
