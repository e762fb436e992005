// ClientState: one connection's state as the server sees it (CLIENT LIST, MULTI, WATCH, AUTH,
// the protocol). Owned by its ServerSession; listed in the Server's client registry.
//
// Thread-safety: fields without a note belong to the connection and are touched only by the
// thread serving it (one at a time). CLIENT LIST/KILL from other connections read the atomics
// and the fields marked "immutable", under the registry's lock, nothing else.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "commands/command_table.hpp"
#include "db/keyspace.hpp"
#include "db/pubsub/registry.hpp"
#include "db/tracking/table.hpp"
#include "lf/concurrency_model.hpp"
#include "lf/outbox.hpp"
#include "lf/mutex.hpp"
#include "lf/net.hpp"
#include "resp/writer.hpp"

namespace lfdb::db {
namespace acl {
struct User;
}

// A command kept for later (inside MULTI, or parked while its color is busy): owns its bytes.
struct OwnedCommand {
  std::string bytes;                    // the arguments back to back
  std::vector<std::string_view> argv;   // views into bytes
  const commands::CommandSpec* spec = nullptr;

  OwnedCommand() = default;
  // Moving a short `bytes` moves its characters (small-string buffer): the views follow.
  OwnedCommand(OwnedCommand&& o) noexcept { *this = std::move(o); }
  OwnedCommand& operator=(OwnedCommand&& o) noexcept {
    const char* old = o.bytes.data();
    bytes = std::move(o.bytes);
    argv = std::move(o.argv);
    spec = o.spec;
    for (auto& v : argv) v = std::string_view(bytes.data() + (v.data() - old), v.size());
    return *this;
  }
  OwnedCommand(const OwnedCommand&) = delete;
  OwnedCommand& operator=(const OwnedCommand&) = delete;

  void assign(std::span<const std::string_view> args, const commands::CommandSpec* s);
};

// A WATCHed key: WATCH is per database, as the key.
struct WatchedKey {
  std::uint32_t db = 0;
  std::string key;
};

// CLIENT SETNAME's name, made by the first name given: most clients never name themselves, and
// an empty std::string inline cost every connection 32 bytes (issue 17).
class ClientName {
 public:
  bool empty() const { return !part_ || part_->text.empty(); }
  std::string_view view() const { return part_ ? std::string_view(part_->text) : std::string_view(); }
  void assign(std::string_view name) {
    if (part_) {
      part_->text.assign(name);
    } else if (!name.empty()) {
      part_ = std::make_unique<Part>();
      part_->text.assign(name);
    }
  }
  void clear() { assign({}); }
  // The outboxes whose queued bytes CLIENT LIST adds to omem and tot-mem (kPushes: pub/sub
  // messages and invalidations; kMonitor: MONITOR's feed). A subscriber's or monitor's session
  // is not read on while its socket does not take the replies, so what waits there is in no
  // other count (a normal client's waiting replies are its connection's: held_output_bytes).
  enum Outboxes : std::size_t { kPushes, kMonitor };
  void show_outbox(Outboxes which, std::shared_ptr<lf::Outbox> box) {
    if (!part_) {
      if (!box) return;
      part_ = std::make_unique<Part>();
    }
    part_->outboxes[which] = std::move(box);
  }
  std::size_t outbox_bytes() const {
    std::size_t n = 0;
    if (part_) {
      for (const auto& box : part_->outboxes) n += box ? box->queued_bytes() : 0;
    }
    return n;
  }
  // maxmemory-clients evicted the client: what waits for it goes now (ClientRegistry::evict_over).
  void close_outboxes() {
    if (part_) {
      for (const auto& box : part_->outboxes) {
        if (box) box->close();
      }
    }
  }
  bool has_outbox() const { return part_ && (part_->outboxes[0] || part_->outboxes[1]); }
  // Since when the server's cron has found the client's output over its class's soft limit
  // (0: not over at its last look); the cron's alone (Server::close_soft_limit_clients).
  std::int64_t soft_since_ms() const { return part_ ? part_->soft_since_ms : 0; }
  void set_soft_since_ms(std::int64_t ms) {
    if (part_) part_->soft_since_ms = ms;
  }

 private:
  // Made by the first name or outbox: every connection pays one pointer (issue 17).
  struct Part {
    std::string text;
    std::shared_ptr<lf::Outbox> outboxes[2];
    std::int64_t soft_since_ms = 0;
  };
  std::unique_ptr<Part> part_;
};

// A connection's local end by number. A server has few (its addresses, each with the ports it
// listened on), interned once for the process (client_registry.cpp): a connection keeps 4 bytes
// instead of a second address (an IPv6 one takes 20, and ServerSession stays in its size class).
class LocalAddr {
 public:
  LocalAddr() = default;  // not known (no socket)
  static LocalAddr of(const lf::InetAddr& addr);
  std::string to_string() const;  // "ip:port", "[ip]:port", "path:0"; "" when not known

 private:
  std::uint32_t number_ = 0;  // 1 + its index among the interned addresses; 0: not known
};

struct ClientState {
  std::uint64_t id = 0;            // immutable once registered (set under the registry's lock)
  // The connection's two ends, kept as an address and a number and spelled "ip:port" only when
  // asked (CLIENT LIST, KILL, MONITOR, SLOWLOG, a log line): two strings inline cost every
  // connection 64 bytes (issue 17).
  lf::InetAddr peer;               // immutable: the client's end
  LocalAddr local;                 // immutable once attached
  std::string addr() const { return peer.to_string(); }
  std::string laddr() const { return local.to_string(); }
  std::int64_t created_ms = 0;     // immutable
  lf::SessionHost* host = nullptr; // immutable once attached

  // Read by CLIENT LIST from other connections: guarded by the registry's lock for writes.
  lf::Mutex name_mu;
  ClientName name LF_GUARDED_BY(name_mu);
  // CLIENT LIST user=, KILL USER: the name of the user the connection runs as (null: "default"),
  // pointing into that user's snapshot and sharing its ownership (no copy: issue 17).
  std::shared_ptr<const std::string> user_name_of LF_GUARDED_BY(name_mu);
  std::string_view user_name() const LF_REQUIRES(name_mu) {
    return user_name_of ? std::string_view(*user_name_of) : std::string_view("default");
  }
  std::atomic<std::int64_t> last_command_ms{0};
  std::atomic<const char*> last_command{"NULL"};
  std::atomic<int> resp_version{2};  // `protocol` as CLIENT LIST shows it (2 or 3)
  std::atomic<std::uint32_t> db_shown{0};  // `db` as CLIENT LIST shows it
  // `qbuf`: the bytes of the command being run; between reads, the input kept (a split
  // request's rest, commands a yield left for later).
  std::atomic<std::size_t> qbuf{0};
  // The client's memory as CLIENT LIST and maxmemory-clients see it (ClientRegistry::account):
  // written by the serving thread after each read it handled; tot_mem is also taken to 0 by the
  // registry's eviction, under the registry's lock (the exchange keeps the registry's sum exact).
  std::atomic<std::size_t> omem{0};       // replies handed to the connection, not yet known sent
  std::atomic<std::size_t> multi_mem{0};  // the MULTI queue's commands
  std::atomic<std::size_t> tot_mem{0};    // everything the connection holds (below)
  std::atomic<bool> evictable{true};      // !no_evict, published for the registry's eviction
  std::atomic<bool> evicted{false};       // maxmemory-clients closed it (set under the lock)
  // CLIENT KILL asked it to close (set under the registry's lock). Its own thread closes it
  // later; until then CLIENT LIST and another KILL no longer see it, as in Redis, where the
  // killed client is gone when KILL answers.
  std::atomic<bool> killed{false};
  std::atomic<bool> monitoring{false};  // MONITOR is on: `timeout` spares it, as Redis does
  std::atomic<bool> blocked{false};  // parked in a blocking command (CLIENT LIST flags=b)
  std::atomic<bool> in_multi_flag{false};  // in_multi, for CLIENT LIST (flags=x)

  resp::Protocol protocol = resp::Protocol::kResp2;
  bool authenticated = false;
  std::uint32_t db = 0;  // SELECT: the database this connection's commands run in
  std::atomic<std::uint32_t> sub_count{0}, psub_count{0}, ssub_count{0};  // sub= psub= ssub=

  // The ACL user this connection runs as (db/acl/registry.hpp): a snapshot, looked up again
  // when the registry's generation moves past acl_generation.
  std::shared_ptr<const acl::User> user;
  std::uint64_t acl_generation = 0;
  bool no_evict = false;
  bool no_touch = false;
  // CLIENT REPLY: OFF drops every reply until ON; SKIP drops the next command's (skip_next
  // becomes skip for the command after it).
  bool reply_off = false;
  bool reply_skip_next = false;
  bool reply_skip = false;
  // The cron woke the connection so that its session would count omem afresh (set by the
  // cron's thread; the session clears it whenever it runs). Still set a turn later: the
  // session has not run since, so its replies still wait for the socket and omem holds them
  // (Server::close_soft_limit_clients). Here: it fills padding.
  std::atomic<bool> recount_asked{false};
  // The session found its unsent output at or under its class's soft limit as it drained its
  // outboxes (set by the session, taken by the cron, which then starts the soft clock again,
  // as Redis's check on each reply does). Padding too.
  std::atomic<bool> soft_under{false};
  std::uint64_t write_offset = 0;  // the log offset after this connection's last write (WAIT)
  // The command asks that this connection close once its reply is out: LFDB.SYNC gave the
  // socket to the replication dispatcher, or ACL DELUSER deleted the connection's own user.
  bool close_after_reply = false;
  bool scripts_refused = false;  // a busy script of it was stopped as it had hung up: no more
  // Past maxmemory when this connection's script (or EXEC) started: its first deny-oom call is
  // refused (Redis's pre-command OOM state). Set by the session before it submits the command,
  // read by that command's run.
  bool script_oom = false;

  // MULTI/EXEC.
  bool in_multi = false;
  bool in_exec = false;                   // EXEC's commands are running (SCRIPT KILL never waits)
  bool multi_error = false;               // a command failed to queue: EXEC aborts
  // CLIENT LIST flags t (1) and B (2) (CLIENT TRACKING's state: db/tracking/); here, among the
  // flags, where it fills padding.
  std::atomic<std::uint8_t> tracking_flags{0};
  // REPLCONF listening-port: the port a Redis replica announces before its SYNC / PSYNC, shown
  // by INFO replication and ROLE (here, in the flags' padding).
  std::uint16_t replica_listening_port = 0;
  // The queue and WATCH's state, made by the first queued command or WATCH and kept: most
  // clients never use them (issue 17: memory per idle connection).
  struct Transaction {
    std::vector<OwnedCommand> queued;
    // WATCH: the keys (for the EXEC-time expiry check and UNWATCH) and the shared dirty flag.
    std::vector<WatchedKey> watched;
    std::shared_ptr<WatchState> watch;
  };
  std::unique_ptr<Transaction> txn;
  Transaction& transaction() {
    if (!txn) txn = std::make_unique<Transaction>();
    return *txn;
  }
  // The MULTI queue and the watched keys, empty until made.
  const std::vector<OwnedCommand>& queued() const {
    static const std::vector<OwnedCommand> none;
    return txn ? txn->queued : none;
  }
  const std::vector<WatchedKey>& watched() const {
    static const std::vector<WatchedKey> none;
    return txn ? txn->watched : none;
  }
  WatchState* watch() const { return txn ? txn->watch.get() : nullptr; }
  void clear_queue() {
    if (txn) txn->queued.clear();
  }

  // Pub/sub: what this connection subscribed to, and its outbox (made on its first
  // subscription; db/pubsub/registry.hpp).
  std::unique_ptr<pubsub::Subscriptions> subs;
  // What reaches the connection besides its replies, made by the first MONITOR or CLIENT
  // TRACKING (or a redirect to it) and kept: three shared pointers inline cost every connection
  // 48 bytes (issue 17). Touched by the serving thread only; the tables hold their own copies.
  struct Channels {
    // MONITOR: the outbox every executed command's line reaches this connection by (made by
    // MONITOR, listed in the server's MonitorFeed until the connection ends).
    std::shared_ptr<lf::Outbox> monitor;
    // Pushes that are not replies (pub/sub messages, invalidations) reach this connection by
    // its endpoint's outbox, opened on first need; CLIENT TRACKING's settings (db/tracking/).
    std::shared_ptr<tracking::Endpoint> pushes;
    std::shared_ptr<tracking::Tracker> tracker;
  };
  std::unique_ptr<Channels> channels;
  Channels& open_channels() {
    if (!channels) channels = std::make_unique<Channels>();
    return *channels;
  }
  lf::Outbox* monitor() const { return channels ? channels->monitor.get() : nullptr; }
  tracking::Endpoint* pushes() const { return channels ? channels->pushes.get() : nullptr; }
  tracking::Tracker* tracker() const { return channels ? channels->tracker.get() : nullptr; }
  std::atomic<std::int64_t> tracking_redir{-1};  // CLIENT LIST redir= (flags: tracking_flags)
  bool subscribed_resp2() const {
    return subs && subs->total() > 0 && protocol == resp::Protocol::kResp2;
  }
};

}  // namespace lfdb::db
