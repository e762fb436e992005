// The connection commands: handlers over a SessionContext, run at once on the serving thread.
// They act on the connection itself (its protocol, name, authentication, transaction, life) and
// touch no key. Each is bound to its table entry by name when the server starts.
#include <fcntl.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <limits>

#include "db/session.hpp"
#include "db/tracking/commands.hpp"
#include "db/replication.hpp"
#include "db/replication_wait.hpp"

#include "commands/access.hpp"
#include "db/acl/commands.hpp"
#include "commands/connection.hpp"

namespace lfdb::db {
namespace {

using commands::CommandSpec;

void client_help_lines(resp::Writer& w, std::initializer_list<std::string_view> lines) {
  w.array_header(lines.size());
  for (auto l : lines) w.simple_string(l);
}

// A failed AUTH or HELLO AUTH: its reply (counted by the session, INFO errorstats: WRONGPASS).
void wrong_pass(SessionContext& c) { c.out.error(commands::kWrongPass); }

// AUTH and HELLO AUTH: the user exists, is on, and the password is one of its own (any, for a
// nopass user). A failure is counted and logged (ACL LOG: reason auth).
bool log_in(SessionContext& c, std::string_view user, std::string_view password) {
  acl::UserRegistry& reg = c.server.acl();
  const std::uint64_t generation = reg.generation();
  std::shared_ptr<const acl::User> u = reg.find(user);
  if (!u || !u->enabled || !u->password_ok(password)) {
    log_auth_failure(c.server, c.client, user);
    return false;
  }
  c.session.authenticate(std::move(u), generation);
  return true;
}

void quit_cmd(SessionContext& c) {
  c.out.simple_string("OK");
  c.session.close_after_replies();
}

void hello_cmd(SessionContext& c) {
  commands::HelloRequest req;
  if (std::string e = commands::parse_hello(c.argv, c.client.protocol, req); !e.empty()) {
    return c.out.error(e);
  }
  if (req.auth) {
    if (!log_in(c, req.user, req.password)) return wrong_pass(c);
  }
  if (!c.client.authenticated && c.server.auth_required()) {
    return c.out.error(commands::kErrHelloNoAuth);
  }
  if (req.setname) {
    lf::MutexLock lock(c.client.name_mu);
    c.client.name.assign(req.name);
  }
  c.client.protocol = req.protocol;
  c.client.resp_version.store(req.protocol == resp::Protocol::kResp3 ? 3 : 2,
                              std::memory_order_relaxed);
  // A RESP3 connection can take pushes: it gets its endpoint (a possible REDIRECT target).
  if (req.protocol == resp::Protocol::kResp3) tracking::endpoint(c.client, c.server);
  if (c.client.pushes() != nullptr) {
    c.client.pushes()->resp3.store(req.protocol == resp::Protocol::kResp3, std::memory_order_relaxed);
  }
  if (c.client.subs) {  // publishers encode this connection's messages in its protocol
    c.client.subs->self->resp3.store(req.protocol == resp::Protocol::kResp3,
                                     std::memory_order_relaxed);
  }
  commands::write_hello(c.out, {req.protocol, static_cast<std::int64_t>(c.client.id), "master"});
}

void auth_cmd(SessionContext& c) {
  if (c.argc() > 3) return c.out.error(kErrSyntax);
  if (c.argc() == 2 && c.server.acl().default_user()->nopass) {
    return c.out.error(commands::kErrAuthNoPassword);
  }
  const std::string_view user = c.argc() == 3 ? c.argv[1] : "default";
  if (!log_in(c, user, c.argv.back())) return wrong_pass(c);
  c.out.simple_string("OK");
}

void select_cmd(SessionContext& c) {
  std::int64_t db = 0;
  if (std::string e = commands::parse_db_index(c.argv[1], db); !e.empty()) return c.out.error(e);
  if (db < 0 || db >= static_cast<std::int64_t>(c.server.databases().count())) {
    return c.out.error("ERR DB index is out of range");
  }
  c.client.db = static_cast<std::uint32_t>(db);
  c.client.db_shown.store(c.client.db, std::memory_order_relaxed);
  c.out.simple_string("OK");
}

void multi_cmd(SessionContext& c) {
  if (c.client.in_multi) return c.out.error("ERR MULTI calls can not be nested");
  c.client.in_multi = true;
  c.client.in_multi_flag.store(true, std::memory_order_relaxed);
  c.out.simple_string("OK");
}

void discard_cmd(SessionContext& c) {
  if (!c.client.in_multi) return c.out.error("ERR DISCARD without MULTI");
  c.session.discard_transaction();
  c.out.simple_string("OK");
}

void unwatch_cmd(SessionContext& c) {
  c.session.unwatch();
  c.out.simple_string("OK");
}

void shutdown_cmd(SessionContext& c) {
  int save = 0;
  bool force = false;
  bool abort = false;
  for (std::size_t i = 1; i < c.argc(); ++i) {
    if (iequal(c.argv[i], "abort")) abort = true;
    else if (iequal(c.argv[i], "nosave")) save = -1;
    else if (iequal(c.argv[i], "save")) save = 1;
    else if (iequal(c.argv[i], "force")) force = true;
    else if (!iequal(c.argv[i], "now")) return c.out.error(kErrSyntax);
  }
  if (abort) {
    if (c.argc() != 2) return c.out.error(kErrSyntax);
    if (!c.server.abort_signal_shutdown()) return c.out.error("ERR No shutdown in progress.");
    return c.out.simple_string("OK");
  }
  // As Redis: while a script is busy only SHUTDOWN NOSAVE goes (it stops the script).
  if (save >= 0 && c.server.scripts().any_busy(now_ms())) return c.out.error(kErrBusy);
  if (save >= 0) {
    // The snapshot first, while the server still serves: one that cannot be written is this
    // command's error (the server goes on), unless FORCE. SHUTDOWN NOSAVE goes straight to the
    // stop, which stops a busy script too.
    const lf::Status st = c.server.prepare_shutdown(save, force);
    if (!st.ok()) return c.out.error("ERR Errors trying to SHUTDOWN. Check logs.");
  }
  c.server.persistence().set_shutdown_save(save);
  // No reply: the server goes away, and the client sees its connection end when the process
  // does, as redis-server's do: after the listening socket has closed, so a client that
  // connects once SHUTDOWN returned finds no server. The session closes its connection first
  // (the request is made again once it returns); a duplicate of the socket, never closed, keeps
  // the connection open until the exit.
  if (c.client.host != nullptr) (void)::fcntl(c.client.host->handle(), F_DUPFD_CLOEXEC, 0);
  c.session.shutdown_after_replies();
  c.server.request_shutdown();
}

void reset_cmd(SessionContext& c) {
  c.session.reset_connection();
  c.out.simple_string("RESET");  // in the protocol RESET leaves: RESP2
}

// MONITOR: from now on this connection is sent the line of every command the server runs
// (db/monitor.hpp); it may still send commands of its own.
void monitor_cmd(SessionContext& c) {
  if (c.client.monitor() != nullptr) return c.out.simple_string("OK");
  // Held to the pub/sub class of client-output-buffer-limit (Redis uses its replica class,
  // which lfdb does not keep): a monitor that stops reading is dropped, not buffered forever.
  std::shared_ptr<lf::Outbox>& monitor = c.client.open_channels().monitor;
  // Its queued lines are in the clients' sum as they are posted (maxmemory-clients).
  monitor = lf::Outbox::open(*c.client.host, c.server.pubsub_limits(), c.server.clients().outbox_meter());
  c.server.monitors().add(c.client.id, monitor);
  {
    lf::MutexLock lock(c.client.name_mu);
    c.client.name.show_outbox(ClientName::kMonitor, monitor);
  }
  c.client.monitoring.store(true, std::memory_order_relaxed);
  c.out.simple_string("OK");
}

// ---- CLIENT -------------------------------------------------------------------------------

void client_id_cmd(SessionContext& c) { c.out.integer(static_cast<std::int64_t>(c.client.id)); }

void client_setname_cmd(SessionContext& c) {
  if (!commands::valid_client_name(c.argv[2])) return c.out.error(commands::kErrBadClientName);
  lf::MutexLock lock(c.client.name_mu);
  c.client.name.assign(c.argv[2]);
  c.out.simple_string("OK");
}

void client_getname_cmd(SessionContext& c) {
  lf::MutexLock lock(c.client.name_mu);
  if (c.client.name.empty()) return c.out.null();
  c.out.bulk(c.client.name.view());
}

bool is_replica_type(std::string_view type) { return iequal(type, "replica") || iequal(type, "slave"); }

// The replicas a SYNC / PSYNC / LFDB.SYNC handed to the dispatcher: no session serves them any
// more (docs/replication.md), so their lines come from the dispatcher's view, in Redis's form
// for a replica (flags=S), with omem the log bytes not yet sent to it (Redis 7.0 counts a
// replica's output as its share of the replication buffer the same way).
template <class Keep>
std::string replica_lines(SessionContext& c, Keep&& keep) {
  std::string out;
  for (const dispatch::ReplicaView& r : c.server.replication().replicas()) {
    if (!keep(r)) continue;
    // Room for the fixed fields and the variable ones (a user name has no length limit).
    std::string line(512 + r.addr.size() + r.laddr.size() + r.user.size(), '\0');
    const int len = std::snprintf(line.data(), line.size(),
                  "id=%" PRIu64 " addr=%s laddr=%s fd=-1 name= age=%" PRId64 " idle=%" PRId64
                  " flags=S db=0 sub=0 psub=0 ssub=0 multi=-1 qbuf=0 qbuf-free=0 argv-mem=0 "
                  "multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem=%" PRIu64 " tot-mem=%" PRIu64
                  " events=rw cmd=replconf user=%s redir=-1 resp=2\n",
                  r.client_id, r.addr.c_str(), r.laddr.c_str(), r.age_s, r.lag_s, r.unsent, r.unsent,
                  r.user.c_str());
    if (len > 0) out.append(line.data(), std::min(static_cast<std::size_t>(len), line.size() - 1));
  }
  return out;
}

// CLIENT LIST [TYPE normal|master|replica|pubsub] [ID id [id ...]]
void client_list_cmd(SessionContext& c) {
  std::string_view type;
  std::vector<std::uint64_t> ids;
  bool by_id = false;
  if (c.argc() == 4 && iequal(c.argv[2], "type")) {
    type = c.argv[3];
    if (!type_known(type)) return c.out.error("ERR Unknown client type '" + std::string(type) + "'");
  } else if (c.argc() > 3 && iequal(c.argv[2], "id")) {
    by_id = true;
    for (std::size_t i = 3; i < c.argc(); ++i) {
      std::int64_t id = 0;
      if (!parse_int(c.argv[i], id) || id <= 0) return c.out.error("ERR Invalid client ID");
      ids.push_back(static_cast<std::uint64_t>(id));
    }
  } else if (c.argc() != 2) {
    return c.out.error(kErrSyntax);
  }
  std::string out = c.server.client_list([&](const ClientState& other) {
    if (by_id) return std::find(ids.begin(), ids.end(), other.id) != ids.end();
    return type.empty() || iequal(type, client_type(other));
  });
  if (type.empty() || is_replica_type(type)) {
    out += replica_lines(c, [&](const dispatch::ReplicaView& r) {
      return !by_id || std::find(ids.begin(), ids.end(), r.client_id) != ids.end();
    });
  }
  c.out.verbatim(out);
}

void client_info_cmd(SessionContext& c) { c.out.verbatim(c.server.client_list(&c.client)); }

void client_flag_cmd(SessionContext& c, bool ClientState::*flag) {
  const bool on = iequal(c.argv[2], "on");
  if (!on && !iequal(c.argv[2], "off")) return c.out.error(kErrSyntax);
  c.client.*flag = on;
  c.out.simple_string("OK");
}
void client_no_evict_cmd(SessionContext& c) { client_flag_cmd(c, &ClientState::no_evict); }
void client_no_touch_cmd(SessionContext& c) { client_flag_cmd(c, &ClientState::no_touch); }

}  // namespace

void settle_killed(Server& server, std::uint64_t id) {
  if (server.blocking().settle(id, blocking::Settle::kClose)) return;
  if (server.acks().settle(id, blocking::Settle::kClose)) return;
  (void)server.pause().release_to_close(id);
}

namespace {

dispatch::ReplicaFilter replica_at(const std::string& addr) {
  dispatch::ReplicaFilter f;
  f.addr = addr;
  return f;
}

void client_kill_cmd(SessionContext& c) {
  if (c.argc() == 3) {  // CLIENT KILL addr:port (the old form)
    const std::string addr(c.argv[2]);
    const bool self = addr == c.client.addr();
    std::vector<std::uint64_t> killed;
    const std::size_t n = self ? 1 : c.server.clients().kill([&](const ClientState& other) {
      if (&other == &c.client || other.addr() != addr) return false;
      killed.push_back(other.id);
      return true;
    });
    // A blocked client is parked (it reads nothing): its wait ends so that it can close.
    for (std::uint64_t k : killed) settle_killed(c.server, k);
    if (n == 0 && !self && c.server.replication().kill_replicas(replica_at(addr)) == 0) {
      return c.out.error("ERR No such client");
    }
    if (self) c.session.close_after_replies();
    return c.out.simple_string("OK");
  }
  if (c.argc() % 2 != 0) return c.out.error(kErrSyntax);
  std::int64_t id = -1;
  std::string addr, laddr;
  std::string_view type;
  std::string_view user;
  bool skipme = true;
  for (std::size_t i = 2; i + 1 < c.argc(); i += 2) {
    const std::string_view k = c.argv[i], v = c.argv[i + 1];
    if (iequal(k, "id")) {
      if (!parse_int(v, id) || id <= 0) return c.out.error("ERR client-id should be greater than 0");
    } else if (iequal(k, "addr")) {
      addr = v;
    } else if (iequal(k, "laddr")) {
      laddr = v;
    } else if (iequal(k, "skipme")) {
      if (iequal(v, "yes")) skipme = true;
      else if (iequal(v, "no")) skipme = false;
      else return c.out.error(kErrSyntax);
    } else if (iequal(k, "type")) {
      if (!type_known(v)) return c.out.error("ERR Unknown client type '" + std::string(v) + "'");
      type = v;
    } else if (iequal(k, "user")) {
      if (!c.server.acl().find(v)) return c.out.error("ERR No such user '" + std::string(v) + "'");
      user = v;
    } else {  // MAXAGE too: Redis 7.2 added it, 7.0 calls it a syntax error
      return c.out.error(kErrSyntax);
    }
  }
  auto matches = [&](const ClientState& other) {
    if (id > 0 && other.id != static_cast<std::uint64_t>(id)) return false;
    if (!type.empty() && !iequal(type, client_type(other))) return false;
    if (!user.empty()) {
      // Called under the client registry's lock, which CLIENT LIST also takes before name_mu.
      ClientState& o = const_cast<ClientState&>(other);
      lf::MutexLock nl(o.name_mu);
      if (o.user_name() != user) return false;
    }
    if (!laddr.empty() && other.laddr() != laddr) return false;
    return addr.empty() || other.addr() == addr;
  };
  bool kill_self = false;
  std::vector<std::uint64_t> killed;
  std::size_t n = c.server.clients().kill([&](const ClientState& other) {
    if (!matches(other)) return false;
    if (&other == &c.client) {
      kill_self = !skipme;
      return false;
    }
    killed.push_back(other.id);
    return true;
  });
  // A blocked client is parked (it reads nothing): its wait ends so that it can close.
  for (std::uint64_t k : killed) settle_killed(c.server, k);
  if (kill_self) {
    c.session.close_after_replies();
    ++n;
  }
  // Replicas are the dispatcher's (CLIENT LIST's flags=S lines): it matches the same filters
  // on the connection each replica was handed over from.
  if (type.empty() || is_replica_type(type)) {
    dispatch::ReplicaFilter f;
    f.client_id = id > 0 ? static_cast<std::uint64_t>(id) : 0;
    f.addr = addr;
    f.laddr = laddr;
    f.user = user;
    n += c.server.replication().kill_replicas(std::move(f));
  }
  c.out.integer(static_cast<std::int64_t>(n));
}

// CLIENT PAUSE timeout [WRITE|ALL] (milliseconds; 0 ends at once) and CLIENT UNPAUSE
// (db/client_pause.hpp). The pausing client is answered at once; its next commands are held
// like anyone's.
void client_pause_cmd(SessionContext& c) {
  ClientPause::Mode mode = ClientPause::Mode::kAll;
  if (c.argc() == 4) {
    if (iequal(c.argv[3], "write")) mode = ClientPause::Mode::kWrite;
    else if (iequal(c.argv[3], "all")) mode = ClientPause::Mode::kAll;
    else return c.out.error("ERR CLIENT PAUSE mode must be WRITE or ALL");
  } else if (c.argc() > 4) {
    return c.out.error("ERR unknown subcommand or wrong number of arguments for '" +
                       std::string(c.argv[1]) + "'. Try CLIENT HELP.");
  }
  std::int64_t timeout = 0;
  if (!parse_int(c.argv[2], timeout)) return c.out.error("ERR timeout is not an integer or out of range");
  if (timeout < 0) return c.out.error("ERR timeout is negative");
  const std::int64_t now = now_ms();
  if (timeout > std::numeric_limits<std::int64_t>::max() - now) return c.out.error("ERR timeout is out of range");
  c.server.pause().pause(mode, timeout == 0 ? 0 : now + timeout);
  // Writes that passed the check before the pause began end before the answer: after OK none
  // runs until the pause ends (as Redis guarantees, failover relies on it). Not inside EXEC:
  // the transaction is in flight itself and holds its colors, which those writes may wait for;
  // the rest of it runs before anything else answers, as in Redis.
  if (!c.client.in_exec) c.server.pause().drain();
  c.out.simple_string("OK");
}

void client_unpause_cmd(SessionContext& c) {
  c.server.pause().unpause();  // the held clients go on with the caller's wake_pending()
  // What the pause kept from expiring goes now, ahead of anything later on its color (Redis
  // erases such a key at its next access; a reader here does not erase).
  c.server.run_expiry_cycle_now();
  c.out.simple_string("OK");
}

// CLIENT UNBLOCK id [TIMEOUT|ERROR]: 1 if the client was blocked and is now unblocked.
void client_unblock_cmd(SessionContext& c) {
  std::int64_t id = 0;
  if (!parse_int(c.argv[2], id)) return c.out.error(kErrNotInteger);
  blocking::Settle how = blocking::Settle::kTimeout;
  if (c.argc() == 4) {
    if (iequal(c.argv[3], "timeout")) how = blocking::Settle::kTimeout;
    else if (iequal(c.argv[3], "error")) how = blocking::Settle::kError;
    else return c.out.error("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR");
  } else if (c.argc() > 4) {
    return c.out.error(kErrSyntax);
  }
  // A client blocked on keys, or parked in WAIT (a client CLIENT PAUSE holds is not unblocked:
  // Redis 7.0 cannot answer for it either).
  const bool done = id > 0 && (c.server.blocking().settle(static_cast<std::uint64_t>(id), how) ||
                               c.server.acks().settle(static_cast<std::uint64_t>(id), how));
  c.out.integer(done ? 1 : 0);
}

// CLIENT REPLY ON|OFF|SKIP: OFF and SKIP answer nothing themselves (process() drops the
// replies they turn off).
void client_reply_cmd(SessionContext& c) {
  const std::string_view mode = c.argv[2];
  if (iequal(mode, "on")) {
    c.client.reply_off = false;
    c.client.reply_skip = false;
    c.client.reply_skip_next = false;
    return c.out.simple_string("OK");
  }
  if (iequal(mode, "off")) {
    c.client.reply_off = true;
    c.client.reply_skip_next = false;
  } else if (iequal(mode, "skip")) {
    if (!c.client.reply_off) c.client.reply_skip_next = true;
  } else {
    c.out.error(kErrSyntax);
  }
}

void client_help_cmd(SessionContext& c) {
  client_help_lines(c.out, {"CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                     "GETNAME", "    Return the name of the current connection.",
                     "ID", "    Return the ID of the current connection.",
                     "INFO", "    Return information about the current client connection.",
                     "KILL <ip:port>", "    Kill connection made from <ip:port>.",
                     "LIST [TYPE <type>] [ID <id> [<id> ...]]", "    Return information about client connections.",
                     "REPLY (ON|OFF|SKIP)", "    Control the replies sent to the current connection.",
                     "SETNAME <name>", "    Assign the name <name> to the current connection.",
                     "HELP", "    Print this help."});
}

constexpr SessionHandlerEntry kSessionHandlers[] = {
    {"quit", quit_cmd},
    {"hello", hello_cmd},
    {"auth", auth_cmd},
    {"select", select_cmd},
    {"multi", multi_cmd},
    {"discard", discard_cmd},
    {"unwatch", unwatch_cmd},
    {"shutdown", shutdown_cmd},
    {"monitor", monitor_cmd},
    {"reset", reset_cmd},
    {"client|id", client_id_cmd},
    {"client|setname", client_setname_cmd},
    {"client|getname", client_getname_cmd},
    {"client|list", client_list_cmd},
    {"client|info", client_info_cmd},
    {"client|no-evict", client_no_evict_cmd},
    {"client|no-touch", client_no_touch_cmd},
    {"client|kill", client_kill_cmd},
    {"client|help", client_help_cmd},
    {"client|unblock", client_unblock_cmd},
    {"client|pause", client_pause_cmd},
    {"client|unpause", client_unpause_cmd},
    {"client|reply", client_reply_cmd},
    {"wait", wait_cmd},
    {"client|tracking", tracking::client_tracking_cmd},
    {"client|caching", tracking::client_caching_cmd},
    {"client|getredir", tracking::client_getredir_cmd},
    {"client|trackinginfo", tracking::client_trackinginfo_cmd},
};

}  // namespace

std::span<const SessionHandlerEntry> session_handlers() { return kSessionHandlers; }

}  // namespace lfdb::db
