#include "db/session.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <utility>

#include "commands/access.hpp"
#include "commands/introspect.hpp"
#include "db/acl/commands.hpp"
#include "db/acl/recheck.hpp"
#include "db/log_records.hpp"
#include "db/memory/allocator.hpp"
#include "db/memory/evictor.hpp"
#include "db/memory/object_size.hpp"
#include "db/memory/settings.hpp"
#include "db/pubsub/notify.hpp"
#include "db/tracking/commands.hpp"
#include "lf/status.hpp"
#include "resp/writer.hpp"

namespace lfdb::db {

using commands::CommandSpec;
using commands::HueClass;

void OwnedCommand::assign(std::span<const std::string_view> args, const CommandSpec* s) {
  spec = s;
  std::size_t total = 0;
  for (auto a : args) total += a.size();
  bytes.clear();
  bytes.reserve(total);
  for (auto a : args) bytes.append(a);
  argv.clear();
  std::size_t at = 0;
  for (auto a : args) {
    argv.emplace_back(bytes.data() + at, a.size());
    at += a.size();
  }
}

namespace {
// An argument at least this long is "big" in Redis's sense (PROTO_MBULK_BIG_ARG): its whole
// length is reserved once its header is read (account()).
constexpr std::uint64_t kBigArgument = 32 * 1024;

// A RESP2 client with subscriptions reads pushes, not replies: only these are answered.
bool allowed_when_subscribed(const CommandSpec& s) {
  return s.hue == HueClass::kPubsubWrite || s.has(commands::kSubscribed);
}

// The subscribe family's confirmations are pushes in both protocols (a RESP2 subscriber reads
// them as it reads its messages), which Redis sends even under CLIENT REPLY OFF / SKIP: only
// replies are dropped, an error of these commands (arity, ACL, context) among them.
bool confirms_with_push(std::string_view name) {
  for (std::string_view n : {"subscribe", "psubscribe", "ssubscribe", "unsubscribe", "punsubscribe",
                             "sunsubscribe"}) {
    if (iequal(name, n)) return true;
  }
  return false;
}

// A queued command the user may no longer run: Redis's EXEC-time NOPERM in its place, and an
// ACL LOG entry (context multi).
bool exec_refused(Server& server, ClientState& client, const OwnedCommand& q, resp::Writer& w) {
  std::size_t at = 0;
  const std::span<const std::string_view> argv(q.argv);
  const acl::Denied d = acl::check(*client.user, *q.spec, commands::index_of(*q.spec), argv, at);
  if (d == acl::Denied::kNone) return false;
  log_acl_denial(server, client, d, "multi", *q.spec, argv, at);
  const std::string message = acl::exec_denied_message(d);
  server.errors().count(message);
  w.error(message);
  return true;
}

bool writes_keyspace(HueClass c) {
  return c == HueClass::kKeyWrite || c == HueClass::kKeyspaceWrite ||
         c == HueClass::kTransaction || c == HueClass::kUndeclared;
}

// The keys a write may have made ready for blocked clients: its declared keys, and for a
// command whose keys move (SORT ... STORE dest, GEORADIUS ... STORE dest) every key COMMAND
// GETKEYS names, the destination included. Those commands run alone, so every color is held.
void ready_candidates(const CommandSpec& spec, std::span<const std::string_view> argv,
                      std::vector<std::string_view>& keys) {
  if (commands::movable_keys(spec)) {
    for (std::size_t i : commands::key_positions(argv).positions) keys.push_back(argv[i]);
    return;
  }
  commands::for_each_key(spec, argv, [&](std::size_t i) { keys.push_back(argv[i]); });
}
}  // namespace

ServerSession::ServerSession(Server& server, const lf::InetAddr& peer) : server_(server) {
  client_.peer = peer;
  client_.created_ms = now_ms();
  client_.acl_generation = server_.acl().generation();
  client_.user = server_.acl().default_user();
  client_.authenticated = !server_.auth_required();
  parser_.set_auth_required(!client_.authenticated);
}

ServerSession::~ServerSession() {
  leave_flight();  // none is left counted on any path; one would make every CLIENT PAUSE wait
  unwatch();
  if (client_.subs) leave_pubsub();
  tracking::leave(client_, server_);
  if (client_.monitor() != nullptr) {
    server_.monitors().remove(client_.id);
    client_.monitor()->close();
  }
  if (client_.host != nullptr) server_.clients().remove(&client_);
}

// Every connection carries a ServerSession (plus lf's Connection): what only some clients use
// lives in parts made on first use (rare_, durable_, ClientState::txn, channels, subs, the
// name...). 640 bytes is jemalloc's size class it fits; a member that pushes it past needs a
// reason (docs/memory.md, "Memory per connection").
static_assert(sizeof(ServerSession) <= 640, "ServerSession grew past its size class");

ServerSession::Rare& ServerSession::rare() {
  if (!rare_) rare_ = std::make_unique<Rare>();
  return *rare_;
}

// The connection is gone: its outbox takes no more posts, and its subscriptions leave the
// registry in an invocation of their own (a writer of "pubsub", like UNSUBSCRIBE), which owns
// them from here on, so nothing waits for it.
void ServerSession::leave_pubsub() {
  client_.subs->self->outbox->close();
  std::shared_ptr<pubsub::Subscriptions> subs(std::move(client_.subs));
  const std::uint64_t hash = client_.id;
  Executor& ex = server_.executor();
  const Invocation inv{ex.hue_of(HueClass::kPubsubWrite), Placement::kKeys, {&hash, 1}};
  pubsub::Registry* registry = &server_.pubsub();
  lf::hue::Task drop([registry, subs] { registry->drop(*subs); });
  if (!ex.try_run(inv, drop)) (void)ex.submit(inv, std::move(drop));
}

void ServerSession::on_attach() {
  client_.host = host();
  // The connection's own local end, as Redis shows it: with `bind 0.0.0.0` a local client's is
  // 127.0.0.1, and a client accepted before CONFIG SET port keeps the port it came in on.
  // A client of the UNIX domain socket: both ends are its path.
  if (client_.peer.is_unix_socket()) {
    client_.local = LocalAddr::of(client_.peer);
  } else if (client_.host != nullptr) {
    const lf::InetAddr local = lf::InetAddr::local_of(client_.host->handle());
    if (local.port() != 0) client_.local = LocalAddr::of(local);
  }
  (void)server_.clients().add(&client_);  // sets client_.id under the registry's lock
}

lf::SessionAction ServerSession::on_input(lf::InputBuffer& in, std::string& out) {
  // Running: what follows counts omem afresh (the cron's soft-limit check waits for this).
  if (client_.recount_asked.load(std::memory_order_relaxed)) {
    client_.recount_asked.store(false, std::memory_order_relaxed);
  }
  if (accounted_out_ != 0) {
    // The replies account() counted last time were out before the model ran this session
    // again: omem is only what is still held (a CLIENT LIST of this read shows them gone).
    client_.omem.store(client_.omem.load(std::memory_order_relaxed) - accounted_out_,
                       std::memory_order_relaxed);
    accounted_out_ = 0;
  }
  if (phase_ == Phase::kAwaitingCommit) {
    // Unparked by the flusher: our records are durable, or the disk failed them.
    phase_ = Phase::kServing;
    commit_offset_ = 0;
    if (!commit_ok_) {
      // The writes ran but cannot be made durable: their replies are not sent; the client
      // sees the connection close, as after a crash (their fate is unknown to it). They reach
      // the disk with the log's retry once the disk recovers.
      durable().held.clear();
      return lf::SessionAction::kClose;
    }
    if (close_after_commit_) {
      out.append(durable().held);
      durable().held.clear();
      return lf::SessionAction::kClose;
    }
  }
  const bool was_blocked = phase_ == Phase::kBlocked;
  phase_ = Phase::kServing;  // unparked by a queued command's task, if we were parked for one
  if (holds_replies()) {
    std::string& held = durable_->held;
    out.append(held);
    held.clear();
    if (held.capacity() > lf::kReplyKeepBytes) std::string().swap(held);  // a spike
  }
  if (rare_ && !rare_->parked_out.empty()) {
    std::string& parked_out = rare_->parked_out;
    out.append(parked_out);
    parked_out.clear();
    if (parked_out.capacity() > lf::kReplyKeepBytes) std::string().swap(parked_out);  // a spike
    if (over_output_limit(unsent(out))) {
      drop_unsent(out);
      return lf::SessionAction::kClose;
    }
  }
  // Messages posted to this connection (it was woken for them, or they came meanwhile) go
  // out before the replies of what it reads now.
  // (A blocked command's reply goes before them: what its serving write caused comes after.)
  if (client_.channels) {
    if (client_.pushes() != nullptr && !was_blocked) client_.pushes()->outbox->drain(out);
    if (client_.monitor() != nullptr) client_.monitor()->drain(out);
    note_soft_under(out.size());
  }
  if (was_blocked || waiting()) {
    // Settled (was_blocked), or a queued blocking command registered its wait: park for it.
    const Step s = was_blocked ? unblocked(out) : block(out);
    if (s == Step::kParked) return lf::SessionAction::kPark;
    if (s == Step::kClose) return settle(lf::SessionAction::kClose, out);
    if (client_.pushes() != nullptr) client_.pushes()->outbox->drain(out);
  }
  return account(settle(process(in, out), out), in, out);
}

// The model holds nothing of this connection's when it runs the session (a subscriber is not
// read while its replies wait), so `unsent` is all its output now: at or under the soft limit,
// the cron's soft clock starts again (Server::close_soft_limit_clients), as Redis's check of
// each reply resets it. Without it a subscriber whose socket took its backlog in bursts was
// closed on the clock of an earlier burst.
void ServerSession::note_soft_under(std::size_t unsent) {
  const std::size_t soft = client_type(client_) == "pubsub"
                               ? server_.pubsub_limits().soft_bytes
                               : server_.client_limits().normal_soft.load(std::memory_order_relaxed);
  if (soft != 0 && unsent <= soft && !client_.soft_under.load(std::memory_order_relaxed)) {
    client_.soft_under.store(true, std::memory_order_relaxed);
  }
}

// What a client holds, in lfdb's layout (docs/memory.md, "Client eviction"): the session itself,
// the input kept after this read (a split request's rest, or what a yield left), the replies
// handed to the connection with this read and those held for the disk or a parked command (the
// model runs the session again only once they are out, so they are pending until then), the
// MULTI queue, the watched keys and the subscriptions.
lf::SessionAction ServerSession::account(lf::SessionAction a, const lf::InputBuffer& in,
                                         std::string& out) {
  if (a == lf::SessionAction::kPark || a == lf::SessionAction::kClose) return a;  // not ours now
  auto recount = [](Tally& t, const auto& items, auto&& size_of) {
    if (t.count == items.size()) return t.bytes;
    t = {items.size(), 0};
    for (const auto& i : items) t.bytes += size_of(i);
    return t.bytes;
  };
  // A client that never queued, watched or subscribed has nothing to count (and no tallies).
  std::size_t multi = 0, watched = 0, subs = 0, prefixes = 0;
  if (rare_ || client_.txn || client_.subs || client_.tracker() != nullptr) {
    Rare& r = rare();
    multi = recount(r.queued_tally, client_.queued(), [](const OwnedCommand& q) {
      return sizeof q + q.bytes.capacity() + q.argv.capacity() * sizeof(std::string_view);
    });
    watched = recount(r.watched_tally, client_.watched(), [](const WatchedKey& w) {
      return sizeof w + w.key.capacity() + sizeof(void*) * 4;  // and its place in the partition's list
    });
    if (client_.subs) {
      if (r.subs_tally.count != client_.subs->total()) {
        r.subs_tally = {client_.subs->total(), 0};
        for (const auto& kind : client_.subs->names) {
          for (const std::string& name : kind) {
            r.subs_tally.bytes += sizeof name + name.capacity() + sizeof(void*) * 4;  // and its map entry
          }
        }
      }
      subs = r.subs_tally.bytes;
    }
    // CLIENT TRACKING's BCAST prefixes: each name and its place in the table's prefix index.
    if (const tracking::Tracker* t = client_.tracker()) {
      prefixes = recount(r.prefixes_tally, t->prefixes, [](const std::string& p) {
        return sizeof p + p.capacity() + sizeof(void*) * 4;
      });
    }
  }
  const std::size_t omem = output_memory(out);
  // A big argument on its way counts whole from its header on, and qbuf shows its bytes alone:
  // Redis 7.0 reserves such an argument's length as it reads the header and keeps it by itself
  // in the query buffer, so maxmemory-clients sees a client about to send 100 MB at once.
  std::size_t qbuf = in.size(), awaited = 0;
  if (parser_.arriving_bulk_len() >= kBigArgument && in.size() >= parser_.validated()) {
    qbuf = in.size() - parser_.validated();
    awaited = parser_.arriving_bulk_awaited();
  }
  client_.qbuf.store(qbuf, std::memory_order_relaxed);
  // A command still arriving is an interaction (Redis's lastinteraction moves on every read):
  // `timeout` must not close a client in the middle of sending one, nor CLIENT LIST call it idle.
  if (in.size() != 0) client_.last_command_ms.store(now_ms(), std::memory_order_relaxed);
  client_.omem.store(omem, std::memory_order_relaxed);
  accounted_out_ = out.size();
  client_.multi_mem.store(multi, std::memory_order_relaxed);
  client_.evictable.store(!client_.no_evict, std::memory_order_relaxed);
  ClientRegistry& clients = server_.clients();
  clients.account(client_, sizeof *this + (rare_ ? sizeof(Rare) : 0) +
                              (durable_ ? sizeof(Durable) : 0) +
                              in.size() + awaited + omem + multi + watched + subs + prefixes);
  enforce_clients_limit();
  if (client_.evicted.load(std::memory_order_relaxed)) {
    drop_unsent(out);  // evicted: closed with nothing more sent, as Redis frees it
    return lf::SessionAction::kClose;
  }
  return a;
}

// The connection's buffer by its capacity, not the bytes left to send: it keeps the sent bytes
// until everything is out, and appending doubles it. Counted by what was left to send, a client
// with 80 unread 100 KB MGET replies showed 4.3 MB of tot-mem while used_memory grew 7.3 MB
// (test_client_eviction), and keys were evicted before any client reached maxmemory-clients.
// The allocator's size class of that buffer, as it holds it: a 1.6 MB pile sits in a 1.75 MiB
// block, and counted by capacity alone 20 clients' piles were 14% more than their tot-mem.
// This read's replies (`out`, the thread's buffer) count by their bytes while the buffer is one
// the thread keeps anyway (up to lf::kReplyKeepBytes), by its block once this read grew it past
// that (the connection gives such a buffer back after sending it, so the growth is this
// client's): one 100 KB MGET reply holds 224 KB (its CRLF doubled the buffer), and 20 such
// replies counted as 2.0 MB held 4.6 MB, enough to take unit/maxmemory's 7 MB of keys past
// 11 MB before the clients' sum reached maxmemory-clients.
std::size_t ServerSession::output_memory(const std::string& out) const {
  const std::size_t held = host() != nullptr ? host()->held_output_bytes() : 0;
  const std::size_t replies =
      out.capacity() > lf::kReplyKeepBytes ? memory::size_class(out.capacity() + 1) : out.size();
  return replies + (held != 0 ? memory::size_class(held + 1) : 0) +
         (durable_ ? durable_->held.size() : 0) + (rare_ ? rare_->parked_out.size() : 0);
}

void ServerSession::enforce_clients_limit() {
  ClientRegistry& clients = server_.clients();
  const std::uint64_t limit =
      server_.client_limits().maxmemory_clients(memory::live().maxmemory.load(std::memory_order_relaxed));
  if (limit != 0 && clients.memory() > limit) {
    const std::vector<std::uint64_t> evicted = clients.evict_over(limit);
    server_.client_limits().evicted_clients.fetch_add(evicted.size(), std::memory_order_relaxed);
    for (std::uint64_t id : evicted) {
      if (id != client_.id) settle_killed(server_, id);
    }
  }
}

// After on_input counted this read's replies in `out`, the connection appended them to the ones
// waiting (or the waiting ones went out): the same figure, recounted from what it holds now. An
// evicted client is closing (evict_over asked its connection to): nothing to count.
void ServerSession::on_output_held() {
  if (client_.evicted.load(std::memory_order_relaxed)) return;
  static const std::string none;
  const std::size_t omem = output_memory(none);
  const std::size_t was = client_.omem.load(std::memory_order_relaxed);
  const std::size_t tot = client_.tot_mem.load(std::memory_order_relaxed);
  accounted_out_ = 0;  // `out` is in the connection's buffer now, counted there
  client_.omem.store(omem, std::memory_order_relaxed);
  server_.clients().account(client_, tot - std::min(tot, was) + omem);
  enforce_clients_limit();
}

lf::SessionAction ServerSession::settle(lf::SessionAction a, std::string& out) {
  // kPark: a command waits for its color; its task may be running already, so touch nothing
  // (execute() held the replies before it submitted).
  if (a == lf::SessionAction::kPark || commit_offset_ == 0) return a;
  AppendLog* log = server_.record_log();
  if (log->policy() != FsyncPolicy::kAlways) {
    log->write_pending();  // into the kernel before the replies go: a crash of ours loses nothing
    commit_offset_ = 0;
    return a;
  }
  bool ok = false;
  if (log->commit_or_wait(commit_offset_, this, ok)) {
    commit_offset_ = 0;
    if (ok) return a;
    out.clear();
    return lf::SessionAction::kClose;
  }
  std::string& held = durable().held;
  held.append(out);
  out.clear();
  close_after_commit_ = a == lf::SessionAction::kClose;
  phase_ = Phase::kAwaitingCommit;
  if (!commit_meeting_.arrive()) return lf::SessionAction::kPark;
  // The flusher covered us before we could park: go on here.
  phase_ = Phase::kServing;
  commit_offset_ = 0;
  out.swap(held);
  held.clear();
  if (!commit_ok_) {
    out.clear();
    return lf::SessionAction::kClose;
  }
  return a;
}

void ServerSession::wake() { host()->unpark(); }  // last touch, as below

void ServerSession::committed(bool ok) {
  commit_ok_ = ok;
  if (!commit_meeting_.arrive()) return;  // settle() goes on
  host()->unpark();  // last touch: the connection may be closed inside
}

namespace {
// What process() needs only while it runs, kept by the serving thread instead of by every
// session (issue 17: an idle connection held a lookahead of one command and the parser's
// argument vector, 48 bytes of heap and 80 inline). One per nesting level: a thread whose
// script runs long serves other connections from inside that command
// (UnboundThreadSet::serve_while_processing), and their process() must not take the outer
// one's. Made on a level's first use and kept for the thread's life.
struct ProcessScratch {
  BatchLookahead lookahead;
  std::vector<std::string_view> argv;  // the current command when the parser cut it
  ProcessScratch* deeper = nullptr;    // the next nesting level's, once made
};
// The outermost level's scratch and the innermost process() of this thread: execute() (called
// only from inside process(), on its thread) reads the lookahead's guesses there. Plain
// pointers: thread_locals with constructors would put a TLS-init check on every request.
thread_local ProcessScratch* t_outermost;
thread_local ProcessScratch* t_process;
// Frees the levels when the thread ends; touched only when a level is made.
struct ScratchOwner {
  ~ScratchOwner() {
    for (ProcessScratch* s = t_outermost; s != nullptr;) delete std::exchange(s, s->deeper);
    t_outermost = nullptr;
  }
};
thread_local ScratchOwner t_scratch_owner;

[[gnu::noinline]] ProcessScratch* make_scratch_level(ProcessScratch*& slot) {
  [[maybe_unused]] ScratchOwner& owner = t_scratch_owner;  // registers its destructor
  slot = new ProcessScratch;
  return slot;
}

// A process() call's hold on its level's scratch, given back when it returns (also after a
// park: the scratch is the thread's, not the session's, so releasing it touches no session).
class ScratchLease {
 public:
  ScratchLease() : outer_(t_process) {
    ProcessScratch*& slot = outer_ == nullptr ? t_outermost : outer_->deeper;
    ProcessScratch* s = slot;
    if (s == nullptr) [[unlikely]] s = make_scratch_level(slot);
    s->lookahead.clear();  // commands of an earlier read point at bytes that are gone
    t_process = s;
  }
  ~ScratchLease() {
    // A huge command (an MSET of a million pairs: 32 MB of views) must not stay with the
    // thread for its life, as it stayed with the connection before: beyond kKeep views, the
    // arrays go back.
    constexpr std::size_t kKeep = 4096;
    ProcessScratch* s = t_process;  // this lease's: nested leases have restored it
    if (s->argv.capacity() > kKeep) [[unlikely]] std::vector<std::string_view>().swap(s->argv);
    s->lookahead.trim(kKeep);
    t_process = outer_;
  }
  ScratchLease(const ScratchLease&) = delete;
  ScratchLease& operator=(const ScratchLease&) = delete;
  ProcessScratch& operator*() const { return *t_process; }

 private:
  ProcessScratch* outer_;
};

// The log lines that name a client: its address is spelled only here, off the request path.
[[gnu::cold, gnu::noinline]] void log_query_buffer_close(const ClientState& c, std::size_t bytes) {
  std::fprintf(stderr,
               "lfdb-server: closing client id=%llu addr=%s: it reached the max query "
               "buffer length (%zu bytes of an incomplete command, "
               "client-query-buffer-limit)\n",
               static_cast<unsigned long long>(c.id), c.addr().c_str(), bytes);
}
[[gnu::cold, gnu::noinline]] void log_unauthenticated_drop(const ClientState& c, std::size_t bytes) {
  std::fprintf(stderr, "lfdb-server: client %s dropped: %zu bytes of replies piled up before AUTH\n",
               c.addr().c_str(), bytes);
}
[[gnu::cold, gnu::noinline]] void log_output_limit_close(const ClientState& c, std::size_t unsent) {
  std::fprintf(stderr,
               "lfdb-server: closing client id=%llu addr=%s for overcoming of output buffer "
               "limits (%zu bytes of replies unsent, client-output-buffer-limit normal)\n",
               static_cast<unsigned long long>(c.id), c.addr().c_str(), unsent);
}
[[gnu::noinline]] void feed_monitor_line(Server& server, const ClientState& c,
                                         std::span<const std::string_view> argv) {
  server.monitors().feed(c.db, c.addr(), argv);
}
}  // namespace

lf::SessionAction ServerSession::process(lf::InputBuffer& in, std::string& out) {
  if (ending_ == Ending::kCloseThenShutdown) server_.request_shutdown();
  if (closing()) return lf::SessionAction::kClose;
  ClientLimits& limits = server_.client_limits();
  parser_.set_max_bulk_len(limits.max_bulk.load(std::memory_order_relaxed));
  const ScratchLease lease;
  BatchLookahead& lookahead = (*lease).lookahead;
  std::vector<std::string_view>& parsed_argv = (*lease).argv;
  look_at_ = 0;
  for (;;) {
    if (server_.stopping()) return lf::SessionAction::kClose;
    // The commands at the front of the input are parsed together, once (warm_batch), and run
    // from there; what that parse leaves (a command cut short, inline, anything to report) is
    // the parser's, and so is a command it began reading in an earlier read (not idle). Before
    // AUTH every command goes through the parser: AUTH changes its limits. Input used up (the
    // end of every read) has nothing to scan: the parser's look at it says so.
    if (look_at_ >= lookahead.commands() && !parser_.auth_required() && parser_.idle() &&
        !in.empty()) {
      warm_batch(lookahead, in.view());
    }
    std::span<const std::string_view> argv;
    resp::RequestResult r;
    if (look_at_ < lookahead.commands() && !parser_.auth_required()) {
      argv = lookahead.argv(look_at_);
      r.status = resp::ParseStatus::kComplete;
      r.consumed = lookahead.bytes(look_at_);
    } else {
      lookahead.clear();  // RESET made the connection unauthenticated again
      look_at_ = 0;
      r = parser_.parse(in.view(), parsed_argv);
      argv = parsed_argv;
    }
    if (r.failed()) {
      resp::Writer(out, client_.protocol).error(resp::error_message(r));
      server_.errors().count(resp::error_message(r));
      server_.stats().protocol_errors.fetch_add(1, std::memory_order_relaxed);
      in.consume(in.size());
      return lf::SessionAction::kClose;
    }
    if (!r.complete()) {
      in.consume(r.consumed);
      if (in.size() > limits.query_buffer.load(std::memory_order_relaxed)) {
        limits.query_disconnections.fetch_add(1, std::memory_order_relaxed);
        log_query_buffer_close(client_, in.size());
        in.consume(in.size());
        return lf::SessionAction::kClose;
      }
      return lf::SessionAction::kContinue;
    }
    // CLIENT REPLY: SKIP turns off the reply of the command after it; OFF every reply.
    client_.reply_skip = client_.reply_skip_next;
    client_.reply_skip_next = false;
    drop_reply_ = (client_.reply_skip || client_.reply_off) && !confirms_with_push(argv[0]);
    const std::size_t mark = out.size();
    client_.qbuf.store(r.consumed, std::memory_order_relaxed);
    const bool last_was_client = last_was_client_;
    if (client_.tracker() != nullptr) note_caching(argv[0]);
    const Step s = dispatch(argv, out);
    if (s == Step::kHeld) {
      // CLIENT PAUSE holds it: unread, it is processed afresh once released, as if it came now.
      client_.reply_skip_next = client_.reply_skip;
      last_was_client_ = last_was_client;
      const Step b = block(out);
      if (b == Step::kParked) return lf::SessionAction::kPark;
      if (b == Step::kClose) return lf::SessionAction::kClose;
      continue;  // released already
    }
    // Past tracking-table-max-keys (a remembering read, CONFIG SET): the table is trimmed.
    if (server_.tracking().over_limit() && server_.tracking().claim_trim()) trim_tracking();
    if (s == Step::kDone) {
      client_.qbuf.store(0, std::memory_order_relaxed);
      // Read after the command: CLIENT REPLY OFF drops its own reply, ON answers.
      if ((client_.reply_skip || client_.reply_off) && out.size() > mark &&
          (!confirms_with_push(argv[0]) || out[mark] == '-')) {
        out.resize(mark);
      }
      if (over_output_limit(unsent(out))) {
        drop_unsent(out);  // none of them is sent: the client sees the connection close
        in.consume(in.size());
        return lf::SessionAction::kClose;
      }
    }
    ++look_at_;
    // From here on a parked command's task may be running on another thread: touch nothing
    // of the session (the input belongs to the model).
    in.consume(r.consumed);
    if (s == Step::kParked) return lf::SessionAction::kPark;
    if (s == Step::kClose) return lf::SessionAction::kClose;
    // Replies pile up for a client that has not authenticated (a pipelined password guesser):
    // it is dropped with none of them sent, as Redis does (commands/access.hpp). `out` holds
    // this read's replies; the model's held ones are counted by the output limits.
    if (!client_.authenticated && out.size() > commands::kUnauthenticatedOutputLimit &&
        server_.auth_required()) {
      log_unauthenticated_drop(client_, out.size());
      out.clear();
      in.consume(in.size());
      return lf::SessionAction::kClose;
    }
    // Enough replies for one send with more of the pipeline to go: they go out (or join those
    // waiting) first, and the rest runs after (lf::SessionAction::kYield), so a read's replies
    // do not pile up in the thread's buffer. A subscriber or a monitor, whose connection is not
    // read while replies wait, runs the rest only once the socket took them.
    // Under a hard limit of client-output-buffer-limit normal the replies of one read are held
    // up to it instead, as Redis holds them all until its write: a pipeline whose replies pass
    // it closes the client with none of them sent (the limit bounds what is held).
    if (out.size() >= lf::kReplyFlushBytes && !in.empty() &&
        (client_.subs || client_.monitor() != nullptr ||
         out.size() >= limits.normal_hard.load(std::memory_order_relaxed))) {
      return lf::SessionAction::kYield;
    }
  }
}

// Each command of a pipelined batch would wait for its key's slot and node from memory on its
// own, thousands of instructions after the previous one's wait. Here the batch's likely keys
// (BatchLookahead's guesses) are looked at in one short loop first, so those misses overlap:
// every key's home slots, then every key's node. The loop holds the keys' colors as a reader
// (the hue of GET), so it reads the partitions as any reader does; when one of the colors is
// taken by a writer it does nothing (the prefetch is an optimization, never needed).
void ServerSession::warm_batch(BatchLookahead& lookahead, std::string_view input) {
  look_at_ = 0;
  if (lookahead.scan(input, parser_) < 2 || client_.in_multi ||
      server_.initial_config().data != DataMode::kColors) {
    return;  // one command has nothing to overlap with; MULTI queues; `global` has no colors
  }
  std::uint64_t hashes[BatchLookahead::kMax];
  std::size_t n = 0;
  for (std::size_t i = 0; i < lookahead.commands(); ++i) {
    if (lookahead.at(i).data != nullptr) hashes[n++] = lookahead.at(i).hash;
  }
  if (n < 2) return;
  Keyspace& ks = server_.db(client_.db);
  if (!ks.used()) return;  // nothing to warm, and a read must not make the partitions
  const std::span<const std::uint64_t> hs(hashes, n);
  const Invocation inv{server_.executor().hue_of(HueClass::kKeyRead), Placement::kKeys, hs};
  lf::hue::Task warm([&ks, hs] {
    for (std::uint64_t h : hs) ks.of_color_hash(h).map().prefetch(h);
    for (std::uint64_t h : hs) ks.of_color_hash(h).map().prefetch_node(h);
  });
  (void)server_.executor().try_run(inv, warm);
}

// A normal client is read on while its replies wait, as Redis reads on and buffers them: a
// client that writes its whole pipeline before it reads (redis-py's pipeline) would otherwise
// block in its send while the server waits for it to read. What piles up is bounded by the
// limits Redis has: client-output-buffer-limit normal (over_output_limit), maxmemory-clients
// (on_output_held evicts the heaviest) and maxmemory (the held replies are used_memory).
bool ServerSession::reads_while_output_waits() const {
  return !client_.subs && client_.monitor() == nullptr;  // their outboxes hold theirs
}

// client-output-buffer-limit normal (db/client_limits.hpp), over the replies not sent yet. A
// subscriber's are its outbox's (the pubsub class); a monitor's likewise.
bool ServerSession::over_output_limit(std::size_t unsent) {
  if (client_.subs || client_.monitor() != nullptr) return false;
  ClientLimits& limits = server_.client_limits();
  const std::uint64_t hard = limits.normal_hard.load(std::memory_order_relaxed);
  const std::uint64_t soft = limits.normal_soft.load(std::memory_order_relaxed);
  // A reply cut short at the limit its command was given closes whatever the limit is now.
  bool over = ending_ == Ending::kOverOutputLimit || (hard != 0 && unsent > hard);
  if (soft != 0 && unsent > soft) {
    const std::int64_t now = now_ms();
    if (obuf_soft_since_ms_ == 0) obuf_soft_since_ms_ = now;
    over = over || now - obuf_soft_since_ms_ >
                       limits.normal_soft_seconds.load(std::memory_order_relaxed) * 1000;
  } else {
    obuf_soft_since_ms_ = 0;
  }
  if (!over) return false;
  limits.output_disconnections.fetch_add(1, std::memory_order_relaxed);
  log_output_limit_close(client_, unsent);
  return true;
}

ServerSession::Step ServerSession::dispatch(std::span<const std::string_view> argv,
                                            std::string& out) {
  resp::Writer w(out, client_.protocol);
  const commands::Resolved resolved = resolve(argv);
  // Refused before it runs: rejected_calls of the command named (when it exists), and the error
  // counted (INFO errorstats).
  auto reject = [&](const std::string& error) {
    if (resolved.spec != nullptr || resolved.failure == commands::Resolved::Failure::kArity) {
      server_.command_stats().reject(resolved.index);
    }
    if (client_.in_multi) client_.multi_error = true;  // EXEC will abort (flagTransaction)
    server_.errors().count(error);
    w.error(error);
    return Step::kDone;
  };
  if (!resolved) return reject(resolved.error(argv));
  const CommandSpec* spec = resolved.spec;
  // DEBUG without enable-debug-command is refused first, as Redis refuses a protected command:
  // before NOAUTH, and at MULTI's queueing (EXEC aborts).
  if (spec->name == "debug" && !server_.initial_config().enable_debug_command) {
    return reject(std::string(kErrDebugNotAllowed));
  }
  // A refused EXEC ends its transaction, as Redis's does.
  auto refuse = [&](std::string_view error) {
    if (spec->hue != commands::HueClass::kTransaction) return reject(std::string(error));
    client_.in_multi = false;
    client_.in_multi_flag.store(false, std::memory_order_relaxed);
    client_.multi_error = false;
    client_.clear_queue();
    unwatch();
    return reject("EXECABORT Transaction discarded because of: " + std::string(error));
  };
  if (!client_.authenticated && !spec->has(commands::kNoAuth) && server_.auth_required()) {
    return reject(std::string(commands::kErrNoAuth));
  }
  // ACL (db/acl/): one relaxed load and one flag for an unrestricted user.
  if (client_.acl_generation != server_.acl().generation() && !refresh_user()) return Step::kClose;
  if (!client_.user->unrestricted) {
    if (std::string e = acl_denied(*spec, resolved.index, argv); !e.empty()) return reject(e);
  }
  if (spec->has(commands::kWrite)) {
    if (server_.replication().is_replica()) return reject(std::string(kErrReadOnly));
    AppendLog* log = server_.append_log();
    if (log != nullptr && log->failing()) {
      return reject("MISCONF Errors writing to the AOF file: " + log->write_error());
    }
  }
  // min-replicas-to-write: a write, an EXEC with one queued, a script that declares it may write.
  if (!server_.replication().enough_good_replicas() &&
      (spec->has(commands::kWrite) || queued_has(commands::kWrite, *spec) ||
       (commands::runs_script(*spec) && script_may_write(server_, *spec, argv)))) {
    return refuse(kErrNoReplicas);
  }
  // While a script is busy (past busy-reply-threshold), Redis's answer to everything else, from
  // any thread (also from inside the busy script, when every other thread is in one too).
  if ((serving_for_busy_script() || server_.scripts().busy_now()) && !allowed_while_busy(*spec)) {
    return refuse(server_.scripts().busy_error());
  }
  if (client_.subscribed_resp2() && !allowed_when_subscribed(*spec)) {
    return reject("ERR Can't execute '" + std::string(spec->name) +
                  "': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed "
                  "in this context");
  }
  // Past maxmemory with nothing left to evict (db/memory/evictor.hpp): Redis refuses deny-oom
  // commands, anything queued into a MULTI, an EXEC whose queue holds a deny-oom command, and a
  // script that may write (script_denies_oom).
  if (memory::live().maxmemory.load(std::memory_order_relaxed) != 0 &&
      (refused_for_memory(*spec) ||
       (commands::runs_script(*spec) && script_denies_oom(server_, *spec, argv))) &&
      memory::out_of_memory(server_.databases())) {
    return refuse(memory::kErrOom);
  }
  if (commands::runs_script(*spec) || spec->hue == commands::HueClass::kTransaction) {
    client_.script_oom = memory::live().maxmemory.load(std::memory_order_relaxed) != 0 &&
                         memory::out_of_memory(server_.databases());
  }
  const BoundCommand& bc = server_.bound(resolved.index);
  if (client_.in_multi && spec->has(commands::kDenyInMulti)) {
    return reject("ERR Command not allowed inside a transaction");
  }
  // CLIENT PAUSE: after the checks above (their errors are answered at once, as Redis's) and
  // before MULTI queues it. A command a pause may hold counts itself in flight first, so that
  // CLIENT PAUSE cannot answer while it runs unseen (ClientPause::drain()).
  ClientPause& pause = server_.pause();
  if (pause_may_hold(*spec)) {
    pause.enter();
    in_flight_ = true;
  }
  if (pause.engaged() && pause.mode(now_ms()) != ClientPause::Mode::kOff &&
      hold_for_pause(*spec, argv) == Step::kHeld) {
    return Step::kHeld;  // block() leaves before it parks
  }
  if (client_.in_multi && !spec->has(commands::kNoMulti)) {
    leave_flight();
    std::vector<OwnedCommand>& queued = client_.transaction().queued;
    queued.emplace_back();
    queued.back().assign(argv, spec);
    w.simple_string("QUEUED");
    return Step::kDone;
  }
  const Step s = execute(bc, argv, out);
  // kParked: a queued command's task leaves once it ran (it may be running now: touch
  // nothing), a blocked one left in block().
  if (s != Step::kParked) leave_flight();
  return s;
}

// A pipeline mostly repeats one command: the name spelled as last time (the same bytes) is the
// same command, whose arity is all that is left to check. Anything else asks the table, and a
// command that is not a container (whose meaning depends on argv[1]) is remembered.
commands::Resolved ServerSession::resolve(std::span<const std::string_view> argv) {
  if (!argv.empty() && last_spec_ != nullptr && argv[0].size() == last_name_len_ &&
      std::memcmp(argv[0].data(), last_name_.data(), last_name_len_) == 0 &&
      last_spec_->arity_ok(argv.size())) {
    commands::Resolved r;
    r.spec = last_spec_;
    r.index = last_index_;
    return r;
  }
  const commands::Resolved r = commands::resolve(argv);
  if (r && argv[0].size() <= last_name_.size() && commands::find_command(argv[0]) == r.spec) {
    last_spec_ = r.spec;
    last_index_ = r.index;
    last_name_len_ = static_cast<std::uint8_t>(argv[0].size());
    std::memcpy(last_name_.data(), argv[0].data(), last_name_len_);
  }
  return r;
}

void ServerSession::leave_flight() {
  if (!in_flight_) return;
  in_flight_ = false;
  server_.pause().leave();
}

bool ServerSession::refused_for_memory(const CommandSpec& spec) const {
  if (spec.has(commands::kDenyOom)) return true;
  if (spec.hue == HueClass::kTransaction) return queued_has(commands::kDenyOom, spec);
  return client_.in_multi && !spec.has(commands::kLeavesMulti);
}

bool ServerSession::queued_has(commands::Flag flag, const CommandSpec& spec) const {
  if (spec.hue != HueClass::kTransaction) return false;
  for (const OwnedCommand& q : client_.queued()) {
    if (q.spec->has(flag)) return true;
  }
  return false;
}

ServerSession::Step ServerSession::execute(const BoundCommand& bc,
                                           std::span<const std::string_view> argv,
                                           std::string& out) {
  server_.stats().commands.add();
  client_.last_command.store(bc.spec->name.data(), std::memory_order_relaxed);
  key_hashes_.clear();  // filled again below for this command's keys, if it has any
  if (bc.spec->hue == HueClass::kTransaction) {
    rare().exec_name.assign(argv[0]);  // as MONITOR shows it, once EXEC has run its commands
    return exec(out);
  }
  if (bc.session != nullptr) {
    resp::Writer w(out, client_.protocol);
    run_session(bc, argv, w);
    blocking::wake_pending();  // CLIENT UNBLOCK / KILL of a blocked client
    if (waiting()) return block(out);  // WAIT
    return closing() ? Step::kClose : Step::kDone;
  }
  if (bc.spec->hue == HueClass::kFree) {
    run(bc, argv, out);
    return Step::kDone;
  }
  hashes_.clear();
  commands::for_each_key(*bc.spec, argv, [&](std::size_t i) {
    // One hash per key: a key without a hash tag hashes whole for its color, and that hash is
    // also its key-table hash (hash_of), which the handler's lookups reuse (CommandContext::ref).
    const std::string_view key = argv[i];
    std::uint64_t h = 0;
    if (t_process != nullptr && t_process->lookahead.hash_of_guess(look_at_, key, h)) {
      // hashed by warm_batch (no hash tag)
      hashes_.push_back(h);
      key_hashes_.push_back({key.data(), key.size(), h});
      return;
    }
    const std::string_view tag = commands::hash_tag(key);
    h = hash_of(tag);  // commands::key_hash(key)
    hashes_.push_back(h);
    if (tag.size() == key.size()) key_hashes_.push_back({key.data(), key.size(), h});
  });
  // A command without keys (DBSIZE, FLUSHALL, CONFIG) may run on any color; the connection's
  // id spreads them.
  if (hashes_.empty()) hashes_.push_back(client_.id);
  // A script runs on its declared keys' colors once the server has learnt that it stays within
  // them; one not learnt yet, or known to reach past them, runs alone (db/scripting.hpp).
  script_alone_ = commands::runs_script(*bc.spec) && script_runs_alone(*bc.spec, argv);
  if (script_alone_) return submit_parked(alone_invocation(), bc, argv, out);
  // A tracking client's reader remembers the keys it read in their colors' rooms of the tracking
  // table (db/tracking/table.hpp): it holds its colors as a writer does.
  const bool remembers = bc.spec->hue == HueClass::kKeyRead && client_.tracker() != nullptr &&
                         client_.tracker()->remembers();
  const Invocation inv{remembers ? server_.executor().hue_of(HueClass::kKeyWrite) : bc.hue,
                       bc.spec->hue == HueClass::kKeyspaceRead ? Placement::kAllColors
                                                               : Placement::kKeys,
                       hashes_};
  // Fast path: run now, over the arguments where they lie in the read buffer.
  lf::hue::Task now([this, &bc, argv, &out] { run(bc, argv, out); });
  if (server_.executor().try_run(inv, now)) {
    if (rerun_alone_) return rerun_alone(bc, argv, out);
    blocking::wake_pending();  // clients this command served, now that its colors are free
    if (waiting()) return block(out);
    return closing() ? Step::kClose : Step::kDone;
  }
  return submit_parked(inv, bc, argv, out);
}

bool ServerSession::script_runs_alone(const CommandSpec& spec, std::span<const std::string_view> argv) {
  if (server_.initial_config().data == DataMode::kGlobal) return false;  // one mutex holds it all
  return server_.scripts().learned(script_identity(server_, spec, argv)) !=
         ScriptRegistry::Learned::kColors;
}

Invocation ServerSession::alone_invocation() {
  return Invocation{server_.executor().exec_alone(), Placement::kKeys, hashes_};
}

// A script stopped on its declared colors to start over alone: its second run is queued like
// any command that waits for colors.
ServerSession::Step ServerSession::rerun_alone(const BoundCommand& bc,
                                               std::span<const std::string_view> argv,
                                               std::string& out) {
  rerun_alone_ = false;
  script_alone_ = true;
  rerun_ = true;
  return submit_parked(alone_invocation(), bc, argv, out);
}

ServerSession::Step ServerSession::submit_parked(const Invocation& inv, const BoundCommand& bc,
                                                 std::span<const std::string_view> argv,
                                                 std::string& out) {
  // Slow path: the task may run later on another thread, after this read buffer is gone.
  // Replies that wait for the disk stay with the session while it parks.
  if (commit_offset_ != 0 && server_.record_log()->policy() == FsyncPolicy::kAlways) {
    durable().held.append(out);
    out.clear();
  }
  rare().parked.assign(argv, bc.spec);
  rare().parked_bc = &bc;
  phase_ = Phase::kAwaitingColors;
  server_.stats().parked.add();
  (void)server_.executor().submit(inv, lf::hue::Task([this] { run_parked(); }));
  blocking::wake_pending();  // `--data global` ran the task inside submit, under its mutex
  return meet_parked_task(out);
}

// The submitter and the task meet here: if the task has finished (it ran inline, or queued and
// already ran), its reply is taken now; otherwise the connection parks and the task unparks it.
ServerSession::Step ServerSession::meet_parked_task(std::string& out) {
  if (!task_meeting_.arrive()) return Step::kParked;
  phase_ = Phase::kServing;
  release_held_before(out);
  out.append(rare_->parked_out);  // made by submit_parked / the transaction's submit
  rare_->parked_out.clear();
  if (rare_->waiter) return block(out);
  return closing() ? Step::kClose : Step::kDone;
}

ServerSession::Step ServerSession::hold_for_pause(const CommandSpec& spec,
                                                  std::span<const std::string_view> argv) {
  ClientPause& pause = server_.pause();
  const bool may_write = pause_may_write(server_, client_, spec, argv);
  if (!pause.holds(may_write, now_ms())) return Step::kDone;
  auto w = std::make_shared<blocking::Waiter>();
  w->op = blocking::Op::kPause;
  w->client_id = client_.id;
  w->protocol = client_.protocol;
  w->sleeper = this;
  w->fd = client_.host != nullptr ? client_.host->handle() : -1;
  if (!pause.hold(w, may_write)) return Step::kDone;  // it ended meanwhile
  rare().waiter = std::move(w);
  return Step::kHeld;
}

ServerSession::Step ServerSession::block(std::string& out) {
  leave_flight();  // what ran is over: a parked client is not in flight (ClientPause::drain())
  if (commit_offset_ != 0 && server_.record_log()->policy() == FsyncPolicy::kAlways) {
    durable().held.append(out);  // earlier replies still wait for the disk: they stay with us
    out.clear();
  }
  phase_ = Phase::kBlocked;
  client_.blocked.store(true, std::memory_order_relaxed);
  if (!rare_->waiter->park()) return Step::kParked;
  phase_ = Phase::kServing;
  return unblocked(out);
}

ServerSession::Step ServerSession::unblocked(std::string& out) {
  client_.blocked.store(false, std::memory_order_relaxed);
  std::shared_ptr<blocking::Waiter> w = std::move(rare_->waiter);  // made when it blocked
  rare_->waiter.reset();
  release_held_before(out);
  out.append(w->reply);
  // Woken with an error (CLIENT UNBLOCK ... ERROR, its stream or group gone): counted, and a
  // failed call of the command that blocked, as in Redis.
  if (!w->reply.empty() && w->reply[0] == '-') {
    server_.errors().count(w->reply);
    const CommandSpec* spec = rare_->blocked.spec;
    if (spec != nullptr) server_.command_stats().fail(commands::index_of(*spec));
  }
  if (rare_->blocked.spec != nullptr) {
    // Served by a writer: logged now, as Redis logs it; timed out or unblocked: not logged.
    if (w->served_from_key) slow_log(*rare_->blocked.spec, rare_->blocked.argv, rare_->blocked_us);
    rare_->blocked = OwnedCommand{};
  }
  // Under `always` a served pop's reply waits for the fsync of its record like our own writes.
  if (w->commit_offset > commit_offset_) commit_offset_ = w->commit_offset;
  if (w->commit_offset > client_.write_offset) client_.write_offset = w->commit_offset;
  if (!w->keys.empty()) server_.blocking().forget(w);  // a key's waiter (not WAIT, not a pause)
  if (w->close) {
    close_after_replies();
    return Step::kClose;
  }
  return closing() ? Step::kClose : Step::kDone;
}

void ServerSession::serve_blocked(std::span<const std::string_view> keys, std::uint32_t db,
                                  bool alone) {
  blocking::HeldColors held;
  held.all = alone || server_.initial_config().data == DataMode::kGlobal;
  if (!held.all) {
    for (std::string_view k : keys) held.colors.push_back(server_.db(db).color_of_key(k));
  }
  server_.blocking().serve(keys, db, held, now_ms());
}

void ServerSession::run_parked() {
  Rare& r = *rare_;  // made by the submitter before it queued this task
  const std::size_t mark = r.parked_out.size();
  if (r.parked_bc != nullptr) {
    run(*r.parked_bc, r.parked.argv, r.parked_out);
    if (rerun_alone_) {  // queued again, alone; this run leaves nothing behind
      rerun_alone_ = false;
      script_alone_ = true;
      rerun_ = true;
      (void)server_.executor().submit(alone_invocation(), lf::hue::Task([this] { run_parked(); }));
      return;
    }
  } else {
    run_transaction(r.parked_out);
  }
  script_alone_ = false;
  rerun_ = false;
  leave_flight();  // it ran, its blocked clients served: before the submitter may go on
  if (drop_reply_) r.parked_out.resize(mark);  // CLIENT REPLY OFF / SKIP
  client_.qbuf.store(0, std::memory_order_relaxed);
  // Clients this command served: with colors the task may unpark them itself; with the global
  // mutex it runs inside submit(), which holds the mutex, and execute() wakes them after.
  if (server_.initial_config().data != DataMode::kGlobal) blocking::wake_pending();
  if (!task_meeting_.arrive()) return;  // the submitter takes it
  host()->unpark();  // last touch: the connection may be closed inside
}

// A writer past maxmemory evicts within the colors it holds before it writes (docs/memory.md);
// false when the command is refused instead (a deny-oom command, nothing left to evict). Inside
// EXEC neither: its refusal and its evictions came before it started.
bool ServerSession::make_room(const BoundCommand& bc, std::span<const std::string_view> argv,
                              CommandContext& ctx) {
  const std::uint64_t max = memory::live().maxmemory.load(std::memory_order_relaxed);
  if (max == 0) return true;
  // A pause (below, for both kinds) keeps the dataset still: nothing is evicted meanwhile, and
  // nothing refused for it (Redis does not evict while clients are paused).
  const bool key_writer = ctx.writes && bc.spec->hue == HueClass::kKeyWrite;
  if (!key_writer) {
    // Any other command past the limit has other colors evict, as Redis evicts before every
    // command: what grew may be no key at all (replies piling up for clients that do not read,
    // a dead client's half-sent command, a subscriber's outbox), and then only reads or INFO
    // may come. It never evicts in the colors it holds itself (a reader shares them). Not a
    // kFree command (PING, ECHO): it runs outside the executor, so under `--data global` it does
    // not hold the one mutex the drain's evictions then count on.
    if (bc.spec->hue != HueClass::kFree && memory::gauge().used() > max && !in_exec_ &&
        server_.pause().mode(ctx.now_ms) == ClientPause::Mode::kOff) {
      server_.drain_over_limit(Server::DrainFor::kReader);
    }
    return true;
  }
  if (server_.pause().mode(ctx.now_ms) != ClientPause::Mode::kOff) return true;
  // Nothing is evicted inside EXEC, as Redis evicts only before a command it is handed (EXEC
  // itself) and never between a transaction's commands: a `CONFIG SET maxmemory` queued in it
  // evicts after the block, so the DELs follow the block's EXEC in the log instead of landing
  // inside it (unit/maxmemory's 'propagation with eviction in MULTI').
  if (in_exec_) return true;
  // The colors of the keys (of the first 16), each once; ctx.ref() brings the hash the session
  // took for the key's color, so nothing is hashed again here.
  std::uint32_t colors[16];
  std::size_t n = 0, incoming = 0;
  for (std::string_view a : argv) incoming += a.size();
  const Keyspace& ks = server_.databases().db(0);
  commands::for_each_key(*bc.spec, argv, [&](std::size_t i) {
    if (n == std::size(colors)) return;
    const std::uint32_t c = ks.color_of(ctx.ref(argv[i]));
    if (std::find(colors, colors + n, c) == colors + n) colors[n++] = c;
  });
  bool short_of_share = false;
  const bool oom = memory::make_room(server_.databases(), std::span(colors, n), incoming, ctx.now_ms, short_of_share);
  // Still over and our colors ran out of keys the policy may evict before our share was freed:
  // other colors evict the rest.
  if (!oom && short_of_share && memory::gauge().used() > max) {
    server_.drain_over_limit(Server::DrainFor::kWriter);
  }
  if (!oom || in_exec_ || !bc.spec->has(commands::kDenyOom)) return true;
  ctx.refused = true;  // a rejected call, as Redis's refusal before the command
  ctx.out.error(std::string(memory::kErrOom));
  return false;
}

// A command answered an error (counted in INFO errorstats unless the script's glue did), or was
// refused as it ran (maxmemory: a rejected call, true: no call is recorded).
bool ServerSession::note_error(const CommandSpec& spec, const std::string& out, std::size_t mark,
                               const CommandContext& ctx) {
  if (out.size() > mark && out[mark] == '-' && !ctx.error_counted) {
    server_.errors().count(std::string_view(out).substr(mark));
  }
  if (!ctx.refused) return false;
  server_.command_stats().reject(commands::index_of(spec));
  return true;
}

// The script stopped to run again alone: nothing of this run is answered or counted.
void ServerSession::note_rerun_alone(std::string& out, std::size_t mark) {
  out.resize(mark);
  rerun_alone_ = true;
}

void ServerSession::run(const BoundCommand& bc, std::span<const std::string_view> argv,
                        std::string& out) {
  if (script_abandoned()) return;
  if (!in_exec_) blocking::t_ready_elsewhere.clear();  // a top-level invocation starts clean
  resp::Writer w(out, client_.protocol);
  // One clock read gives the command its time (one for the whole command, as Redis caches it)
  // and INFO commandstats its start; a second, once it ran, its duration (Count below).
  const std::int64_t start_us = now_us();
  CommandContext ctx{argv, w, server_.db(client_.db), start_us / 1000, &server_, &client_, bc.spec};
  ctx.db = client_.db;
  if (!in_exec_) ctx.key_hashes = key_hashes_;
  // The limit over_output_limit() closes at (a subscriber's and a monitor's are their outboxes').
  if (!client_.subs && client_.monitor() == nullptr) {
    ctx.reply_limit = server_.client_limits().normal_hard.load(std::memory_order_relaxed);
  }
  TrackingScope tracking_scope(*this, &bc, argv);
  client_.last_command_ms.store(ctx.now_ms, std::memory_order_relaxed);  // CLIENT LIST idle=
  ctx.writes = writes_keyspace(bc.spec->hue);
  ctx.alone = script_alone_ || (in_exec_ && exec_alone_) ||
              server_.initial_config().data == DataMode::kGlobal;
  const std::size_t mark = out.size();
  // A blocking command may block only when the session runs it itself: not inside MULTI, and
  // not from a script (whose commands carry their own spec, not this one).
  blocking::Offer offer;
  offer.spec = bc.spec;
  offer.client_id = client_.id;
  offer.fd = client_.host != nullptr ? client_.host->handle() : -1;
  offer.sleeper = this;
  struct OfferScope {
    blocking::Offer* prev;
    explicit OfferScope(blocking::Offer* o) : prev(blocking::t_offer) { blocking::t_offer = o; }
    ~OfferScope() { blocking::t_offer = prev; }
  } offer_scope(in_exec_ ? nullptr : &offer);
  const bool serve = ctx.writes && !in_exec_;
  // Keyspace notifications, when on, go out from inside the handler (db/pubsub/notify.hpp).
  pubsub::EventSink sink;
  const pubsub::EventSink* outer = pubsub::t_events;
  // Readers notify only their misses (`m`, keymiss), writers everything else.
  if ((sink.flags = server_.notify_flags()) != 0 &&
      (ctx.writes || (sink.flags & pubsub::kEvKeyMiss) != 0)) {
    sink.registry = &server_.pubsub();
    sink.db = ctx.db;
    sink.self_id = client_.id;
    sink.self_resp3 = client_.protocol == resp::Protocol::kResp3;
    sink.self_out = &out;
    sink.limits = server_.pubsub_limits();
    pubsub::t_events = &sink;
  }
  struct Restore {
    const pubsub::EventSink* outer;
    ~Restore() { pubsub::t_events = outer; }
  } restore{outer};
  // MONITOR: a script's line goes before the lines of the commands it calls; any other
  // command's after it ran (its reply may be an error: it is shown all the same, as Redis).
  const bool script = commands::runs_script(*bc.spec);
  if (script && !rerun_) feed_monitors(*bc.spec, argv);
  struct FeedAfter {
    ServerSession* s;
    const CommandSpec* spec;
    std::span<const std::string_view> argv;
    ~FeedAfter() {
      if (spec != nullptr) s->feed_monitors(*spec, argv);
    }
  } feed_after{this, script ? nullptr : bc.spec, argv};
  // INFO commandstats: the handler's time, and whether it answered an error (counted in INFO
  // errorstats here, unless the script's glue counted it where it was made).
  struct Count {
    ServerSession& session;
    Server& server;
    const CommandSpec& spec;
    std::span<const std::string_view> argv;
    const std::string& out;
    const CommandContext& ctx;
    const std::size_t mark;
    const std::int64_t start_us;
    ~Count() {
      if (session.rerun_alone_) return;  // counted once, when it runs again alone
      const bool error = out.size() > mark && out[mark] == '-';
      // The error path stays out of line: a command that succeeds pays two tests for it.
      if ((error || ctx.refused) && session.note_error(spec, out, mark, ctx)) return;
      // The wall clock, as the command's time is: a step back while it ran counts 0 µs.
      const std::int64_t end_us = now_us();
      const std::int64_t us = end_us > start_us ? end_us - start_us : 0;
      server.command_stats().record(commands::index_of(spec), static_cast<std::uint64_t>(us),
                                    error || ctx.failed);
      // A command that blocked is logged once it is served or times out (unblocked()).
      if (session.rare_ && session.rare_->waiter && session.rare_->blocked.spec == &spec) {
        session.rare_->blocked_us = static_cast<std::uint64_t>(us);
      } else {
        session.slow_log(spec, argv, static_cast<std::uint64_t>(us));
      }
      const auto ms = static_cast<std::uint64_t>(us) / 1000;
      if (server.latency().wanted(ms)) {
        server.latency().record(spec.has(commands::kFast) ? "fast-command" : "command", ms);
      }
    }
  } count{*this, server_, *bc.spec, argv, out, ctx, out.size(), start_us};
  AppendLog* log = server_.record_log();
  // Under maxmemory, what a key write's handler allocates goes on the gauge at once
  // (Gauge::add): the writers between two of its refreshes see each other's growth.
  const bool gauged = ctx.writes && memory::live().maxmemory.load(std::memory_order_relaxed) != 0 &&
                      memory::has_thread_counters();
  const auto handle = [&] {
    // The outermost only: an EXEC's commands are inside its own measure.
    static thread_local bool t_gauging = false;
    if (!gauged || t_gauging) return bc.handler(ctx);
    t_gauging = true;
    const std::int64_t before = memory::thread_net_freed();
    bc.handler(ctx);
    memory::gauge().add(before - memory::thread_net_freed());
    t_gauging = false;
  };
  // PUBLISH and SPUBLISH write no key but reach the stream once a replica has been attached,
  // as Redis propagates them: their handler logs them (the other may-replicate commands are
  // key writers anyway).
  const bool replicated_publish =
      bc.spec->has(commands::kMayReplicate) && server_.replication().has_had_replicas();
  if (log == nullptr || (!ctx.writes && !replicated_publish)) {
    if (!make_room(bc, argv, ctx)) return;
    handle();
    if (ctx.reply_over_limit()) cut_at_output_limit();
    if (ctx.rerun_alone) return note_rerun_alone(out, mark);
    if (client_.close_after_reply) close_after_replies();  // LFDB.SYNC, ACL DELUSER of its user
    if (offer.waiter) {
      rare().waiter = std::move(offer.waiter);
      rare().blocked.assign(argv, bc.spec);
    }
    if (serve && server_.blocking().any()) run_ready_pass(*bc.spec, argv, ctx.db);
    return;
  }
  InvocationLog& il = t_invocation_log;
  std::string& log_buf = durable().log_buf;
  il.records = &log_buf;
  il.changes = 0;
  il.in_block = in_transaction_;
  // The records start in our database (a transaction's in the one EXEC began in, where its
  // MULTI record stands); the log puts a SELECT before them when it stands elsewhere.
  if (!in_transaction_) {
    il.db = client_.db;
    log_db_ = client_.db;
  }
  if (make_room(bc, argv, ctx)) handle();
  if (ctx.reply_over_limit()) cut_at_output_limit();
  if (ctx.rerun_alone) {
    il.records = nullptr;
    return note_rerun_alone(out, mark);
  }
  if (il.changes != 0 || bc.spec->hue == HueClass::kKeyspaceWrite) {
    il.select(ctx.db);
    log_effect(*bc.spec, argv, ctx.ks, ctx.now_ms, log_buf);
  }
  il.records = nullptr;
  if (client_.close_after_reply) close_after_replies();  // LFDB.SYNC, ACL DELUSER of its user
  // Appended while the invocation still holds its colors: the log keeps each key's order.
  if (!in_transaction_ && !log_buf.empty()) {
    // A command that left several records (XREADGROUP's XCLAIMs and SETID, XADD's XTRIM, a
    // lazy expiry's DEL before a write) is one transaction, as Redis 7.0 propagates it: a
    // replica's readers never see it half applied. A script wrapped its own effects.
    if (!commands::runs_script(*bc.spec) && count_commands(log_buf, 2) > 1) {
      thread_local std::string wrapped;
      wrapped.clear();
      encode_command(wrapped, {"MULTI"});
      wrapped += log_buf;
      encode_command(wrapped, {"EXEC"});
      log_buf.swap(wrapped);
    }
    commit_offset_ = log->append(log_buf, log_db_, il.db);
    client_.write_offset = commit_offset_;
    log_buf.clear();
  }
  if (offer.waiter) {
    rare().waiter = std::move(offer.waiter);
    rare().blocked.assign(argv, bc.spec);
  }
  if (serve && server_.blocking().any()) run_ready_pass(*bc.spec, argv, ctx.db);
}

// Client-side caching around one invocation (db/tracking/table.hpp): the keys this client
// changes are its own (NOLOOP), the BCAST invalidations go out once it is over (one message per
// prefix), and a tracking reader remembers the keys it read, after it read them. A script
// remembers its declared keys when it ran a read-only command.
ServerSession::TrackingScope::TrackingScope(ServerSession& s, const BoundCommand* bc,
                                            std::span<const std::string_view> argv)
    : session(s), bc(bc), argv(argv), prev_writer(tracking::t_writer), prev_batch(tracking::t_batch) {
  tracking::t_writer = s.client_.id;
  tracking::t_batch = true;
  if (bc != nullptr) tracking::t_script_read = false;
}

ServerSession::TrackingScope::~TrackingScope() {
  const tracking::Tracker* t = session.client_.tracker();
  if (bc != nullptr && t != nullptr && t->remembers()) {
    const CommandSpec& spec = *bc->spec;
    const bool script = commands::runs_script(spec);
    // Colors held as a writer: a promoted reader (execute), a transaction's, a script's.
    const bool held = session.in_exec_ || spec.hue == HueClass::kKeyWrite ||
                      spec.hue == HueClass::kKeyRead || spec.hue == HueClass::kUndeclared;
    if (held && (script ? tracking::t_script_read : spec.has(commands::kReadonly))) {
      std::vector<std::string_view> keys;
      commands::for_each_key(spec, argv, [&](std::size_t i) { keys.push_back(argv[i]); });
      if (!keys.empty()) session.server_.tracking().remember(session.client_.id, keys);
    }
  }
  tracking::t_writer = prev_writer;
  tracking::t_batch = prev_batch;
  if (!prev_batch) session.server_.tracking().flush();
}

void ServerSession::park_on(std::shared_ptr<blocking::Waiter> w) {
  w->sleeper = this;
  w->fd = client_.host != nullptr ? client_.host->handle() : -1;
  rare().waiter = std::move(w);
}

// CLIENT CACHING yes|no holds for the command after it only (CLIENT subcommands and a
// transaction's queueing keep it), as in Redis.
void ServerSession::note_caching(std::string_view name) {
  tracking::Tracker& t = *client_.tracker();
  if (!client_.in_multi && !last_was_client_) t.caching.store(false, std::memory_order_relaxed);
  last_was_client_ = commands::iequal(name, "client");
}

// The tracking table's trim runs alone (it may forget keys of every color), as an invocation
// of its own: nothing waits for it.
void ServerSession::trim_tracking() {
  tracking::Table* table = &server_.tracking();
  const std::uint64_t hash = client_.id;
  Executor& ex = server_.executor();
  const Invocation inv{ex.hue_of(HueClass::kKeyspaceWrite), Placement::kKeys, {&hash, 1}};
  lf::hue::Task trim([table] { table->trim(); });
  if (!ex.try_run(inv, trim)) (void)ex.submit(inv, std::move(trim));
}

// After a write invocation, still holding its colors: the clients blocked on its keys.
void ServerSession::run_ready_pass(const CommandSpec& spec, std::span<const std::string_view> argv,
                                   std::uint32_t db) {
  std::vector<std::string_view> keys;
  ready_candidates(spec, argv, keys);
  const bool alone = spec.hue == HueClass::kUndeclared || spec.hue == HueClass::kKeyspaceWrite ||
                     script_alone_;
  serve_blocked(keys, db, alone);
  serve_ready_elsewhere(alone);
}

// The keys the invocation made ready in other databases (blocking::t_ready_elsewhere).
void ServerSession::serve_ready_elsewhere(bool alone) {
  auto ready = std::move(blocking::t_ready_elsewhere);
  blocking::t_ready_elsewhere.clear();
  for (const auto& [db, key] : ready) {
    const std::string_view k = key;
    serve_blocked(std::span<const std::string_view>(&k, 1), db, alone);
  }
}

// A script that the shutdown stopped after it wrote left half its effects in memory and none in
// the log: nothing may run after it (as in Redis, where SHUTDOWN NOSAVE exits at once). The
// connection closes unanswered, as after a crash. Checked where an invocation starts (run() of
// a transaction's commands is covered by its own start).
bool ServerSession::script_abandoned() {
  if (in_transaction_ || client_.in_exec) return false;
  if (!server_.stopping() || !server_.scripts().abandoned()) return false;
  close_after_replies();
  return true;
}

// ---- transactions ----------------------------------------------------------------------

ServerSession::Step ServerSession::exec(std::string& out) {
  resp::Writer w(out, client_.protocol);
  if (!client_.in_multi) {
    w.error("ERR EXEC without MULTI");
    server_.errors().count("ERR EXEC without MULTI");
    finish_exec(true);
    return Step::kDone;
  }
  client_.in_multi = false;
  client_.in_multi_flag.store(false, std::memory_order_relaxed);
  if (client_.multi_error) {
    client_.multi_error = false;
    client_.clear_queue();
    unwatch();
    w.error("EXECABORT Transaction discarded because of previous errors.");
    server_.errors().count("EXECABORT Transaction discarded because of previous errors.");
    finish_exec(true);
    return Step::kDone;
  }
  // One invocation for the whole transaction, on the colors of every key it names and every
  // key it watches (so the WATCH check and the writes are one atomic step), or alone when a
  // command in it touches more than its keys.
  bool alone = false;
  hashes_.clear();
  for (const OwnedCommand& q : client_.queued()) {
    if (commands::runs_script(*q.spec) && script_runs_alone(*q.spec, q.argv)) {
      alone = true;  // a script not learnt yet, or that reaches past its keys (db/scripting.hpp)
      continue;
    }
    switch (q.spec->hue) {
      case HueClass::kKeyRead:
      case HueClass::kKeyWrite:
        commands::for_each_key(*q.spec, std::span<const std::string_view>(q.argv), [&](std::size_t i) {
          hashes_.push_back(commands::key_hash(q.argv[i]));
        });
        break;
      case HueClass::kFree:
      case HueClass::kKeyspaceCount:
        break;
      default:
        alone = true;
    }
  }
  for (const WatchedKey& k : client_.watched()) hashes_.push_back(commands::key_hash(k.key));
  if (hashes_.empty()) hashes_.push_back(client_.id);
  Executor& ex = server_.executor();
  const Invocation inv{alone ? ex.exec_alone() : ex.hue_of(HueClass::kTransaction),
                       Placement::kKeys, hashes_};
  rare().parked_bc = nullptr;
  exec_alone_ = alone;
  if (commit_offset_ != 0 && server_.record_log()->policy() == FsyncPolicy::kAlways) {
    durable().held.append(out);  // replies that wait for the disk stay with the session while it parks
    out.clear();
  }
  phase_ = Phase::kAwaitingColors;
  (void)ex.submit(inv, lf::hue::Task([this] { run_parked(); }));
  blocking::wake_pending();  // `--data global` ran the task inside submit, under its mutex
  return meet_parked_task(out);
}

void ServerSession::run_transaction(std::string& out) {
  if (script_abandoned()) return;
  resp::Writer w(out, client_.protocol);
  const WatchState* watch = client_.watch();
  bool dirty = watch != nullptr && watch->dirty.load(std::memory_order_relaxed);
  if (!dirty && watch != nullptr) {
    const std::int64_t now = now_ms();
    for (const WatchedKey& k : client_.watched()) {
      if (server_.db(k.db).of(k.key).expired_in_place(k.key, now)) dirty = true;
    }
  }
  if (dirty) {
    w.null_array();
  } else {
    // The block's records go to the log as one MULTI...EXEC (when it changed anything).
    AppendLog* log = server_.record_log();
    in_transaction_ = log != nullptr;
    TrackingScope tracking_scope(*this, nullptr, {});  // BCAST: one message per prefix for the block
    InvocationLog& il = t_invocation_log;
    il.db = client_.db;
    log_db_ = client_.db;
    std::string* log_buf = log != nullptr ? &durable().log_buf : nullptr;
    if (log_buf != nullptr) encode_command(*log_buf, {"MULTI"});
    const std::size_t multi_len = log_buf != nullptr ? log_buf->size() : 0;
    w.array_header(client_.queued().size());
    client_.in_exec = true;
    in_exec_ = true;
    std::vector<std::uint32_t> dbs;  // the database each queued command ran in (SELECT moves it)
    dbs.reserve(client_.queued().size());
    for (const OwnedCommand& q : client_.queued()) {
      dbs.push_back(client_.db);
      // The user's rules again, as EXEC found them (an ACL SETUSER since it was queued).
      if (!client_.user->unrestricted && exec_refused(server_, client_, q, w)) continue;
      const BoundCommand& bc = server_.bound(*q.spec);
      if (bc.handler != nullptr) {
        run(bc, q.argv, out);
      } else {
        run_session(bc, q.argv, w);
      }
    }
    client_.in_exec = false;
    in_transaction_ = false;
    in_exec_ = false;
    if (log_buf != nullptr) {
      if (log_buf->size() > multi_len) {
        // One command needs no MULTI/EXEC around it (Redis 7.0 leaves it out too).
        if (count_commands(std::string_view(*log_buf).substr(multi_len), 2) == 1) {
          log_buf->erase(0, multi_len);
        } else {
          encode_command(*log_buf, {"EXEC"});
        }
        commit_offset_ = log->append(*log_buf, log_db_, il.db);
        client_.write_offset = commit_offset_;
      }
      log_buf->clear();
    }
    // The whole transaction is done: now its keys' blocked clients (Redis's ready-keys pass).
    if (server_.blocking().any()) {
      std::vector<std::uint32_t> seen;  // each database the writes touched, in order
      for (std::size_t i = 0; i < dbs.size(); ++i) {
        if (writes_keyspace(client_.queued()[i].spec->hue) &&
            std::find(seen.begin(), seen.end(), dbs[i]) == seen.end()) {
          seen.push_back(dbs[i]);
        }
      }
      for (std::uint32_t db : seen) {
        std::vector<std::string_view> keys;
        for (std::size_t i = 0; i < dbs.size(); ++i) {
          const OwnedCommand& q = client_.queued()[i];
          if (dbs[i] != db || !writes_keyspace(q.spec->hue)) continue;
          ready_candidates(*q.spec, std::span<const std::string_view>(q.argv), keys);
        }
        serve_blocked(keys, db, exec_alone_);
      }
      serve_ready_elsewhere(exec_alone_);
    }
  }
  finish_exec(false);
  client_.clear_queue();
  unwatch();
}

void ServerSession::run_session(const BoundCommand& bc, std::span<const std::string_view> argv,
                                resp::Writer& w) {
  SessionContext sc{argv, w, server_, *this, client_, bc.spec};
  const std::size_t mark = w.buffer().size();
  const auto start = std::chrono::steady_clock::now();
  bc.session(sc);
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                      std::chrono::steady_clock::now() - start).count();
  const bool failed = w.buffer().size() > mark && w.buffer()[mark] == '-';
  if (failed) server_.errors().count(std::string_view(w.buffer()).substr(mark));
  server_.command_stats().record(commands::index_of(*bc.spec), static_cast<std::uint64_t>(us),
                                 failed);
  slow_log(*bc.spec, argv, static_cast<std::uint64_t>(us));
  feed_monitors(*bc.spec, argv);
}

void ServerSession::finish_exec(bool failed) {
  const std::string_view name = rare().exec_name;
  const CommandSpec& spec = *commands::find_command(name);
  server_.command_stats().record(commands::index_of(spec), 0, failed);
  feed_monitors(spec, std::span<const std::string_view>(&name, 1));
}

void ServerSession::slow_log(const CommandSpec& spec, std::span<const std::string_view> argv,
                             std::uint64_t usec) {
  if (!server_.slowlog().wanted(usec)) return;
  // AUTH's and HELLO's secrets stay out of the log, as Redis keeps them out.
  if (spec.has(commands::kSecretArgs)) return;
  std::string name;
  {
    lf::MutexLock lock(client_.name_mu);
    name = client_.name.view();
  }
  server_.slowlog().record(usec, argv, client_.addr(), std::move(name));
}

void ServerSession::feed_monitors(const CommandSpec& spec, std::span<const std::string_view> argv) {
  // Administrative commands are not shown (CONFIG, CLIENT LIST, MONITOR itself), as in Redis.
  if (!server_.monitors().any() || spec.has(commands::kAdmin)) return;
  feed_monitor_line(server_, client_, argv);
}

// ---- controls for the connection commands ------------------------------------------------

void ServerSession::authenticate(std::shared_ptr<const acl::User> user, std::uint64_t generation) {
  client_.authenticated = true;
  parser_.set_auth_required(false);
  set_user(std::move(user), generation);
}

void ServerSession::set_user(std::shared_ptr<const acl::User> user, std::uint64_t generation) {
  {
    // Always re-pointed (rare: AUTH, HELLO AUTH, an ACL change): the name aliases the snapshot,
    // and keeping an old one would keep that snapshot (its password hashes) alive.
    lf::MutexLock lock(client_.name_mu);
    client_.user_name_of = std::shared_ptr<const std::string>(user, &user->name);
  }
  client_.user = std::move(user);
  client_.acl_generation = generation;
}

// The registry changed since this connection last looked: its user again, as ACL SETUSER left
// it. False when the user was deleted (or deleted and created again): Redis closes such
// connections, with no reply to what they sent.
bool ServerSession::refresh_user() {
  acl::UserRegistry& reg = server_.acl();
  const std::uint64_t generation = reg.generation();
  std::shared_ptr<const acl::User> now = reg.find(client_.user->name);
  if (!now || now->id != client_.user->id) return false;
  set_user(std::move(now), generation);
  return true;
}

// The command is refused by the user's ACL: Redis's NOPERM error (returned), and an ACL LOG
// entry.
std::string ServerSession::acl_denied(const CommandSpec& spec, std::uint16_t index,
                                      std::span<const std::string_view> argv) {
  std::size_t at = 0;
  const acl::Denied d = acl::check(*client_.user, spec, index, argv, at);
  if (d == acl::Denied::kNone) return {};
  log_acl_denial(server_, client_, d, client_.in_multi ? "multi" : "toplevel", spec, argv, at);
  return acl::denied_message(d, spec, argv, at, false);
}

void ServerSession::close_after_replies() {
  if (ending_ == Ending::kOpen) ending_ = Ending::kClose;
}

void ServerSession::cut_at_output_limit() {
  if (ending_ != Ending::kCloseThenShutdown) ending_ = Ending::kOverOutputLimit;
}

void ServerSession::shutdown_after_replies() { ending_ = Ending::kCloseThenShutdown; }

void ServerSession::unwatch() {
  if (!client_.txn) return;  // never watched
  ClientState::Transaction& t = *client_.txn;
  if (t.watch) {
    t.watch->released.store(true, std::memory_order_relaxed);
    t.watch.reset();
  }
  t.watched.clear();
}

// RESET: the connection as a new one finds it (Redis's list): no transaction or watches, no
// subscriptions, not a monitor, database 0, RESP2, no name, replies on, no NO-EVICT/NO-TOUCH,
// and not authenticated when a password is required.
void ServerSession::reset_connection() {
  discard_transaction();
  if (client_.subs) {
    leave_pubsub();
    client_.sub_count.store(0, std::memory_order_relaxed);
    client_.psub_count.store(0, std::memory_order_relaxed);
    client_.ssub_count.store(0, std::memory_order_relaxed);
  }
  tracking::leave(client_, server_);  // RESET turns tracking off, as Redis's
  if (client_.monitor() != nullptr) {
    server_.monitors().remove(client_.id);
    client_.monitor()->close();
    client_.channels->monitor.reset();
    lf::MutexLock lock(client_.name_mu);
    client_.name.show_outbox(ClientName::kMonitor, nullptr);
  }
  client_.db = 0;
  client_.db_shown.store(0, std::memory_order_relaxed);
  client_.protocol = resp::Protocol::kResp2;
  client_.resp_version.store(2, std::memory_order_relaxed);
  {
    lf::MutexLock lock(client_.name_mu);
    client_.name.clear();
  }
  client_.reply_off = client_.reply_skip = client_.reply_skip_next = false;
  client_.no_evict = client_.no_touch = false;
  set_user(server_.acl().default_user(), server_.acl().generation());
  if (server_.auth_required()) {
    client_.authenticated = false;
    parser_.set_auth_required(true);
  }
}

void ServerSession::discard_transaction() {
  client_.in_multi = false;
  client_.in_multi_flag.store(false, std::memory_order_relaxed);
  client_.multi_error = false;
  client_.clear_queue();
  unwatch();
}

}  // namespace lfdb::db
