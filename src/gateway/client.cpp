#include "gateway/client.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <memory>

#include "gateway/gateway.hpp"
#include "gateway/scratch.hpp"

namespace lfdb::gateway {

using commands::CommandSpec;

namespace {

constexpr std::string_view kWrongPass = "WRONGPASS invalid username-password pair or user is disabled.";
constexpr std::string_view kSyntax = "ERR syntax error";
constexpr std::string_view kNotInteger = "ERR value is not an integer or out of range";
constexpr const char* kRedisCompat = "7.0.15";  // what HELLO reports, as lfdb-server does

bool iequal(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return (x | 0x20) == (y | 0x20);
         });
}

bool parse_int(std::string_view s, std::int64_t& v) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && p == s.data() + s.size() && !s.empty();
}

bool valid_client_name(std::string_view n) {
  return std::all_of(n.begin(), n.end(), [](char c) { return c >= '!' && c <= '~'; });
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
  {
    lf::MutexLock lock(mu_);
    reap_scripts_locked();
    closed_ = true;
    ::close(fd_);
  }
  // A dedicated connection goes back to its pool clean: the back-end forgets the client's
  // MULTI and WATCH state first (the replies are nobody's).
  if (pinned_ != nullptr && !gw_.stopping()) {
    const std::string_view cleanup[] = {in_multi_ && multi_sent_ ? "DISCARD" : "UNWATCH"};
    Pending p;
    p.kind = PendingKind::kSwallow;
    std::string why;
    if (pinned_->enqueue(cleanup, p, why)) pinned_->flush();
  }
  unpin();
  release();
}

// ---- reading and dispatching ----------------------------------------------------------

lf::Disposition ClientConn::handle_event(int, lf::EventMask events) {
  bool retry_tx = false;
  {
    lf::MutexLock lock(mu_);
    if (events & lf::kWriteEvent) send_out_locked();
    if (broken_) return lf::Disposition::kRemove;
    if (closing_) {
      return out_sent_ == out_.size() ? lf::Disposition::kRemove : lf::Disposition::kResume;
    }
    if (tx_waiting_) {
      // Woken by a released transaction connection or by the wait's timer (or a stray event):
      // the waiting command, first in the input, runs again.
      tx_waiting_ = false;
      tx_woken_ = true;
      retry_tx = true;
      update_interest_locked();
    }
    if (paused_) return lf::Disposition::kResume;
  }
  if (!(events & (lf::kReadEvent | lf::kCloseEvent)) && !retry_tx) return lf::Disposition::kResume;

  ScratchLease scratch;
  const char* data;
  std::size_t size;
  ssize_t n;
  if (leftover_.empty()) {
    n = ::recv(fd_, scratch.data(), scratch.size(), 0);
    data = scratch.data();
    size = n > 0 ? static_cast<std::size_t>(n) : 0;
  } else {
    const std::size_t old = leftover_.size();
    leftover_.resize(old + ScratchLease::kChunk);
    n = ::recv(fd_, leftover_.data() + old, ScratchLease::kChunk, 0);
    leftover_.resize(old + (n > 0 ? static_cast<std::size_t>(n) : 0));
    data = leftover_.data();
    size = leftover_.size();
  }
  if (n == 0) {
    lf::MutexLock lock(mu_);
    reap_scripts_locked();  // at the end of its input: its scripts' replies have nobody to go to
    return lf::Disposition::kRemove;
  }
  if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return lf::Disposition::kRemove;
  if (size == 0) return lf::Disposition::kResume;

  std::size_t consumed = 0;
  process_input(data, size, consumed);
  if (data == leftover_.data()) {
    leftover_.erase(0, consumed);
  } else {
    leftover_.assign(data + consumed, size - consumed);
  }
  if (leftover_.empty() && leftover_.capacity() > 0) std::string().swap(leftover_);
  if (stop_reading_) leftover_.clear();

  lf::MutexLock lock(mu_);
  if (broken_) return lf::Disposition::kRemove;
  if (closing_ && out_sent_ == out_.size() && slots_.empty()) return lf::Disposition::kRemove;
  return lf::Disposition::kResume;
}

void ClientConn::process_input(const char* data, std::size_t size, std::size_t& consumed) {
  std::vector<BoundCall> calls;
  bool bound = false;
  bool waiting = false;
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
      } else {
        gw_.stats().bound_batches_async.fetch_add(1, std::memory_order_relaxed);
      }
    }
    while (!stop_reading_) {
      if (over_limits_locked()) {
        // Backpressure: stop reading until replies drain (flush_head_locked resumes).
        paused_ = true;
        update_interest_locked();
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
      if (retry_command_) {
        // Waiting for a transaction connection: this command again, later (it stays in the
        // input, and nothing after it runs before it).
        retry_command_ = false;
        break;
      }
      gw_.stats().commands.fetch_add(1, std::memory_order_relaxed);
      consumed += r.consumed;
      // Bound forwarding answers a batch at a time; keep batches small enough to bound the
      // contexts one thread holds.
      if (bound && calls.size() >= 64) break;
    }
    flush_upstreams();
    bound_calls_ = nullptr;
    if (!bound) flush_head_locked();
    waiting = tx_waiting_;
  }
  if (bound) {
    finish_bound_batch(calls);
    // A batch cut short by its size: the rest of the input is processed on the next event.
    if (consumed < size && !stop_reading_ && !waiting) (void)gw_.reactor().notify(hid_, lf::kReadEvent);
  }
}

void ClientConn::finish_bound_batch(std::vector<BoundCall>& calls) {
  lf::BoundThreadSet* bound = gw_.bound();
  const lf::Duration wait_limit = gw_.config().timeout * 2;  // the housekeeper fails it first
  std::string storage;
  for (BoundCall& call : calls) {
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
  }
  lf::MutexLock lock(mu_);
  if (closed_) return;
  for (BoundCall& call : calls) {
    LF_CHECK(call.slot.ready);
    out_.append(call.slot.reply);
    if (call.slot.close_after) closing_ = true;
  }
  send_out_locked();
}

void ClientConn::reject(const std::string& e) {
  if (in_multi_) multi_error_ = true;  // EXEC will abort, as the server would
  reply_error(e);
}

void ClientConn::command(std::span<const std::string_view> argv) {
  const CommandSpec* spec = commands::find_command(argv[0]);
  if (spec == nullptr) return reject(commands::unknown_command_error(argv));
  if (spec->is_container() && (argv.size() > 1 || !spec->arity_ok(1))) {
    if (argv.size() < 2) return reject(commands::wrong_arity_error(spec->name));
    const CommandSpec* sub = commands::find_subcommand(*spec, argv[1]);
    if (sub == nullptr) return reject(commands::unknown_subcommand_error(spec->name, argv[1]));
    spec = sub;
  }
  if (!spec->arity_ok(argv.size())) return reject(commands::wrong_arity_error(spec->name));
  if (!authenticated_ && !spec->has(commands::kNoAuth)) return reject("NOAUTH Authentication required.");
  const CommandRoute route = classify(*spec);
  const Config& cfg = gw_.config();
  if (route.route != Route::kLocal) {
    if (spec->has(commands::kAdmin) && !cfg.allow_admin) {
      return reject("NOPERM lfdb-gateway refuses '" + std::string(spec->name) +
                    "': admin commands are disabled (allow_admin)");
    }
    if (spec->has(commands::kDangerous) && !cfg.allow_dangerous) {
      return reject("NOPERM lfdb-gateway refuses '" + std::string(spec->name) +
                    "': dangerous commands are disabled (allow_dangerous)");
    }
  }
  if (in_multi_ && route.route != Route::kTransaction && spec->name != "quit") {
    return in_multi(*spec, route, argv);
  }
  switch (route.route) {
    case Route::kLocal: return local(*spec, argv);
    case Route::kKeyed: return keyed(*spec, argv);
    case Route::kSplit: return split(*spec, route.merge, argv);
    case Route::kFanout: return fanout(route.merge, argv);
    case Route::kTransaction: return transaction(*spec, argv);
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

void ClientConn::keyed(const CommandSpec& spec, std::span<const std::string_view> argv) {
  const int shard = shard_of(spec, argv);
  if (shard == -2) return reply_error(kCrossSlotError);
  ReplySlot* slot = begin_slot(Merge::kNone, 1);
  if (spec.name == "eval" || spec.name == "evalsha") slot->script_shard = shard < 0 ? 0 : shard;
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
    forward(backend_for(spec, one), argv, begin_slot(Merge::kNone, 1), 0);
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

// ---- the gateway's own commands -------------------------------------------------------

void ClientConn::local(const CommandSpec& spec, std::span<const std::string_view> argv) {
  gw_.stats().local_replies.fetch_add(1, std::memory_order_relaxed);
  local_buf_.clear();
  resp::Writer w(local_buf_, protocol_);
  const std::string_view name = spec.name;
  bool close_after = false;
  if (name == "ping") {
    if (argv.size() > 2) return reply_error(commands::wrong_arity_error("ping"));
    if (argv.size() == 2) w.bulk(argv[1]);
    else w.simple_string("PONG");
  } else if (name == "echo") {
    w.bulk(argv[1]);
  } else if (name == "quit") {
    w.simple_string("OK");
    close_after = true;
    stop_reading_ = true;
  } else if (name == "hello") {
    hello(argv, w);
  } else if (name == "auth") {
    auth(argv, w);
  } else if (name == "select") {
    std::int64_t db = 0;
    if (!parse_int(argv[1], db)) w.error(kNotInteger);
    else if (db != 0) w.error("ERR DB index is out of range");
    else w.simple_string("OK");
  } else if (name == "client|id") {
    w.integer(static_cast<std::int64_t>(id_));
  } else if (name == "client|setname") {
    if (!valid_client_name(argv[2])) {
      w.error("ERR Client names cannot contain spaces, newlines or special characters.");
    } else {
      name_.assign(argv[2]);
      w.simple_string("OK");
    }
  } else if (name == "client|getname") {
    if (name_.empty()) w.null();
    else w.bulk(name_);
  } else if (name == "client|help") {
    w.array_header(4);
    w.simple_string("CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are (through lfdb-gateway):");
    w.simple_string("ID");
    w.simple_string("SETNAME <name>");
    w.simple_string("GETNAME");
  } else if (name == "info") {
    w.verbatim(gw_.info());
  } else {
    w.error("ERR lfdb-gateway: no local handler for '" + std::string(name) + "'");
  }
  if (!local_buf_.empty() && local_buf_[0] == '-') gw_.stats().error_replies.fetch_add(1, std::memory_order_relaxed);
  reply_local(local_buf_, close_after);
}

void ClientConn::hello(std::span<const std::string_view> argv, resp::Writer& w) {
  resp::Protocol proto = protocol_;
  std::size_t i = 1;
  if (argv.size() > 1) {
    std::int64_t v = 0;
    if (!parse_int(argv[1], v)) return w.error("ERR Protocol version is not an integer or out of range");
    if (v < 2 || v > 3) return w.error("NOPROTO unsupported protocol version");
    proto = v == 3 ? resp::Protocol::kResp3 : resp::Protocol::kResp2;
    i = 2;
  }
  std::string_view setname;
  bool has_setname = false;
  bool authed = authenticated_;
  for (; i < argv.size(); ++i) {
    const bool more = i + 1 < argv.size();
    if (iequal(argv[i], "auth") && i + 2 < argv.size()) {
      const std::string& pass = gw_.config().requirepass;
      if (argv[i + 1] != "default" || (!pass.empty() && argv[i + 2] != pass)) return w.error(kWrongPass);
      authed = true;
      i += 2;
    } else if (iequal(argv[i], "setname") && more) {
      setname = argv[++i];
      has_setname = true;
      if (!valid_client_name(setname)) {
        return w.error("ERR Client names cannot contain spaces, newlines or special characters.");
      }
    } else {
      return w.error("ERR Syntax error in HELLO option '" + std::string(argv[i]) + "'");
    }
  }
  if (!authed) {
    return w.error("NOAUTH HELLO must be called with the client already authenticated, otherwise the "
                   "HELLO AUTH <user> <pass> option can be used to authenticate the client and "
                   "select the RESP protocol version at the same time");
  }
  if (authed && !authenticated_) {
    authenticated_ = true;
    parser_.set_auth_required(false);
  }
  if (has_setname) name_.assign(setname);
  // A pinned client keeps its dedicated connection's protocol until it is released.
  protocol_ = proto;
  w.set_protocol(proto);
  w.map_header(7);
  w.bulk("server");
  w.bulk("redis");
  w.bulk("version");
  w.bulk(kRedisCompat);
  w.bulk("proto");
  w.integer(proto == resp::Protocol::kResp3 ? 3 : 2);
  w.bulk("id");
  w.integer(static_cast<std::int64_t>(id_));
  w.bulk("mode");
  w.bulk("proxy");
  w.bulk("role");
  w.bulk("master");
  w.bulk("modules");
  w.array_header(0);
}

void ClientConn::auth(std::span<const std::string_view> argv, resp::Writer& w) {
  if (argv.size() > 3) return w.error(kSyntax);
  const std::string& pass = gw_.config().requirepass;
  if (argv.size() == 2 && pass.empty()) {
    return w.error("ERR AUTH <password> called without any password configured for the default user. "
                   "Are you sure your configuration is correct?");
  }
  const std::string_view user = argv.size() == 3 ? argv[1] : "default";
  if (user != "default" || (!pass.empty() && argv.back() != pass)) return w.error(kWrongPass);
  authenticated_ = true;
  parser_.set_auth_required(false);
  w.simple_string("OK");
}

// ---- transactions ---------------------------------------------------------------------

// Pins a dedicated connection to the shard's primary; when the pool is exhausted the client
// waits for one, up to the request timeout: its command stays unprocessed in the input, it stops
// reading, and a released connection (Backend::release_dedicated) or the timer dispatches it
// again to retry. Returns false with retry_command_ set while waiting, and false without it
// once the wait has timed out (the caller answers with the error).
bool ClientConn::pin_or_wait(int shard) {
  const lf::TimePoint now = lf::Clock::now();
  const bool waited = tx_wait_deadline_ != lf::TimePoint{};
  const bool may_wait = !waited || now < tx_wait_deadline_;
  Backend& b = gw_.primary(shard);
  UpstreamConn* c = b.acquire_dedicated(protocol_, may_wait ? hid_ : lf::HandlerId{}, tx_woken_);
  tx_woken_ = false;
  if (c != nullptr) {
    end_tx_wait();
    pinned_ = c;
    pinned_shard_ = shard;
    pinned_incarnation_ = c->incarnation();
    tx_lost_ = false;
    gw_.stats().tx_pinned.fetch_add(1, std::memory_order_relaxed);
    return true;
  }
  if (!may_wait) {
    end_tx_wait();
    gw_.stats().tx_wait_timeouts.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  if (!waited) {
    const lf::Duration limit = gw_.config().timeout;
    tx_wait_deadline_ = now + limit;
    auto timer = gw_.reactor().schedule_timer(hid_, limit);
    tx_timer_ = timer.ok() ? *timer : 0;
    gw_.stats().tx_waits.fetch_add(1, std::memory_order_relaxed);
  }
  tx_waiting_ = true;
  update_interest_locked();
  retry_command_ = true;
  return false;
}

void ClientConn::end_tx_wait() {
  if (tx_timer_ != 0) (void)gw_.reactor().cancel_timer(tx_timer_);
  tx_timer_ = 0;
  tx_wait_deadline_ = lf::TimePoint{};
}

void ClientConn::unpin() {
  if (pinned_ == nullptr) return;
  pinned_->backend().release_dedicated(pinned_);
  pinned_ = nullptr;
  pinned_shard_ = -1;
  tx_lost_ = false;
}

bool ClientConn::pin_broken() {
  if (pinned_ != nullptr && pinned_->incarnation() != pinned_incarnation_) tx_lost_ = true;
  return pinned_ != nullptr && tx_lost_;
}

void ClientConn::end_transaction() {
  in_multi_ = false;
  multi_error_ = false;
  multi_sent_ = false;
  unpinned_queue_.clear();
  unpin();
}

namespace {
std::string no_tx_connection(Backend& b) {
  return "ERR lfdb-gateway: no transaction connection to backend " + b.label() +
         " came free within the timeout (tx_connections)";
}

std::string tx_connection_lost(Backend& b) {
  return "ERR lfdb-gateway: the connection to backend " + b.label() +
         " was lost during the transaction (MULTI/WATCH state is gone; EXEC will abort)";
}
}  // namespace

void ClientConn::transaction(const CommandSpec& spec, std::span<const std::string_view> argv) {
  const std::string_view name = spec.name;
  if (name == "multi") {
    if (in_multi_) return reply_error("ERR MULTI calls can not be nested");
    in_multi_ = true;
    if (pin_broken()) return reject(tx_connection_lost(pinned_->backend()));  // WATCH is gone
    if (pinned_ != nullptr) {
      multi_sent_ = true;
      forward(pinned_->backend(), argv, begin_slot(Merge::kNone, 1), 0);
    } else {
      reply_local("+OK\r\n");
    }
    return;
  }
  if (name == "watch") {
    if (in_multi_) return reply_error("ERR WATCH inside MULTI is not allowed");
    const int shard = shard_of(spec, argv);
    if (shard == -2 || (pinned_ != nullptr && shard != pinned_shard_)) return reply_error(kCrossSlotError);
    if (pinned_ == nullptr && !pin_or_wait(shard)) {
      if (retry_command_) return;
      return reply_error(no_tx_connection(gw_.primary(shard)));
    }
    forward(pinned_->backend(), argv, begin_slot(Merge::kNone, 1), 0);
    return;
  }
  if (name == "unwatch") {
    if (in_multi_) return in_multi(spec, classify(spec), argv);
    if (pinned_ == nullptr || pin_broken()) {  // nothing watched any more either way
      unpin();
      return reply_local("+OK\r\n");
    }
    forward(pinned_->backend(), argv, begin_slot(Merge::kNone, 1), 0);
    unpin();
    return;
  }
  if (name == "discard") {
    if (!in_multi_) return reply_error("ERR DISCARD without MULTI");
    if (pin_broken()) {  // the back-end dropped the transaction with the connection
      reply_local("+OK\r\n");
      end_transaction();
      return;
    }
    if (pinned_ != nullptr && multi_sent_) {
      forward(pinned_->backend(), argv, begin_slot(Merge::kNone, 1), 0);
    } else {
      if (pinned_ != nullptr) {  // WATCH without MULTI sent: DISCARD also unwatches
        const std::string_view unwatch[] = {"UNWATCH"};
        forward(pinned_->backend(), unwatch, nullptr, 0, PendingKind::kSwallow);
      }
      reply_local("+OK\r\n");
    }
    end_transaction();
    return;
  }
  // exec
  if (!in_multi_) return reply_error("ERR EXEC without MULTI");
  if (pin_broken()) multi_error_ = true;  // whatever was queued is gone: abort, never run half
  if (multi_error_) {
    if (pinned_ != nullptr && !tx_lost_) {
      const std::string_view discard[] = {multi_sent_ ? "DISCARD" : "UNWATCH"};
      forward(pinned_->backend(), discard, nullptr, 0, PendingKind::kSwallow);
    }
    reply_error("EXECABORT Transaction discarded because of previous errors.");
    end_transaction();
    return;
  }
  if (pinned_ == nullptr) {
    if (unpinned_queue_.empty()) {
      reply_local("*0\r\n");
      end_transaction();
      return;
    }
    if (!pin_or_wait(0)) {
      if (retry_command_) return;
      reply_error(no_tx_connection(gw_.primary(0)));
      end_transaction();
      return;
    }
  }
  if (!multi_sent_) {
    const std::string_view multi[] = {"MULTI"};
    forward(pinned_->backend(), multi, nullptr, 0, PendingKind::kSwallow);
    multi_sent_ = true;
  }
  for (const auto& q : unpinned_queue_) {
    std::vector<std::string_view> v(q.begin(), q.end());
    forward(pinned_->backend(), v, nullptr, 0, PendingKind::kSwallow);
  }
  unpinned_queue_.clear();
  forward(pinned_->backend(), argv, begin_slot(Merge::kNone, 1), 0);
  end_transaction();
}

void ClientConn::in_multi(const CommandSpec& spec, CommandRoute route,
                          std::span<const std::string_view> argv) {
  if (route.route == Route::kUnsupported || route.route == Route::kFanout) {
    return reject("ERR lfdb-gateway: '" + std::string(spec.name) +
                      "' cannot be queued in a transaction through the gateway (it spans shards)");
  }
  if (route.route == Route::kLocal && spec.name != "ping" && spec.name != "echo") {
    return reject("ERR lfdb-gateway: '" + std::string(spec.name) + "' inside MULTI is not supported");
  }
  const int shard = shard_of(spec, argv);
  if (shard == -2 || (shard >= 0 && pinned_ != nullptr && shard != pinned_shard_)) {
    return reject(std::string(kCrossSlotError));
  }
  if (pinned_ == nullptr && shard < 0) {
    // The shard is not known yet: keep it until a key names one (or EXEC picks shard 0).
    unpinned_queue_.emplace_back(argv.begin(), argv.end());
    return reply_local("+QUEUED\r\n");
  }
  if (pinned_ == nullptr) {
    if (!pin_or_wait(shard)) {
      if (retry_command_) return;
      return reject(no_tx_connection(gw_.primary(shard)));
    }
    const std::string_view multi[] = {"MULTI"};
    forward(pinned_->backend(), multi, nullptr, 0, PendingKind::kSwallow);
    multi_sent_ = true;
    for (const auto& q : unpinned_queue_) {
      std::vector<std::string_view> v(q.begin(), q.end());
      forward(pinned_->backend(), v, nullptr, 0, PendingKind::kSwallow);
    }
    unpinned_queue_.clear();
  }
  forward(pinned_->backend(), argv, begin_slot(Merge::kNone, 1), 0);
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
  const bool on_pin = pinned_ != nullptr && &pinned_->backend() == &b;
  UpstreamConn& c = on_pin ? *pinned_ : b.shared(protocol_, id_);
  if (on_pin && pin_broken()) {
    // Never on a new connection: a queued command would run at once, outside the transaction.
    if (in_multi_) multi_error_ = true;
    gw_.stats().error_replies.fetch_add(1, std::memory_order_relaxed);
    if (slot != nullptr) {
      std::string storage;
      slot->add_part(part, error_frame(tx_connection_lost(b), storage));
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
      tx_lost_ = true;
      if (in_multi_) multi_error_ = true;
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
  if (slot->script_reaped) {
    slot->script_reaped = false;
    gw_.reaper().answered(slot->script_shard);
  }
  if (closed_) return;
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
  if (paused_ && !over_limits_locked()) {
    paused_ = false;
    update_interest_locked();
    // The input kept while paused is processed on the next dispatch.
    (void)gw_.reactor().notify(hid_, lf::kReadEvent);
  }
}

void ClientConn::send_out_locked() {
  if (closed_) return;
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
  if (out_sent_ == out_.size()) {
    out_.clear();
    out_sent_ = 0;
    if (out_.capacity() > (64u << 10)) std::string().swap(out_);
  }
  update_interest_locked();
  // A completing thread cannot return kRemove for this handler: ask the reactor for a dispatch
  // that will (closing with everything sent, or a broken socket).
  if ((broken_ || (closing_ && out_.empty())) && !closed_) (void)gw_.reactor().notify(hid_, lf::kWriteEvent);
}

void ClientConn::update_interest_locked() {
  if (closed_ || !hid_.valid()) return;
  lf::EventMask want = (paused_ || closing_ || tx_waiting_) ? 0 : lf::kReadEvent;
  if (out_sent_ < out_.size()) want |= lf::kWriteEvent;
  if (want != interest_) {
    interest_ = want;
    (void)gw_.reactor().set_interest(hid_, want);
  }
}

bool ClientConn::over_limits_locked() const {
  const Limits& l = gw_.config().limits;
  const std::size_t pending_out = out_.size() - out_sent_;
  if (paused_) {
    // Resume only once well below the limits, so a client at the edge does not flap.
    return slots_.size() > l.max_pipeline / 2 || pending_out > l.max_output_bytes / 2;
  }
  return slots_.size() >= l.max_pipeline || pending_out >= l.max_output_bytes;
}

}  // namespace lfdb::gateway
