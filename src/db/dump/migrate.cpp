// MIGRATE host port key|"" destination-db timeout [COPY] [REPLACE] [AUTH password]
// [AUTH2 username password] [KEYS key...]: each key's DUMP payload is sent to the target as
// RESTORE (its TTL kept, REPLACE when asked), after AUTH and SELECT, in one pipelined request
// over a fresh TCP connection; the keys the target accepted are deleted here unless COPY, and
// logged as one DEL (what Redis propagates), so the log and the replicas agree with the keyspace.
//
// The command runs alone (its spec is undeclared): while the target answers, nothing else runs,
// as nothing else runs on Redis's one thread. `timeout` bounds each wait for the target (the
// connect, every send, every reply), not the whole transfer, as in Redis.
//
// Differences from Redis: no connection cache (Redis keeps the socket 10 s for the next MIGRATE),
// so INFO's migrate_cached_sockets stays 0, every call connects and SELECTs, and there is no
// retry on a stale cached socket.
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <string>
#include <vector>

#include "db/command_context.hpp"
#include "db/dump/rdb_value.hpp"
#include "db/log_records.hpp"
#include "db/pubsub/notify.hpp"
#include "lf/net.hpp"
#include "resp/reply_parser.hpp"

namespace lfdb::db::dump {
namespace {

// One blocking exchange with the target: a non-blocking socket waited on with poll, so that a
// silent or dead peer costs at most `timeout_ms` per wait.
class TargetLink {
 public:
  explicit TargetLink(int timeout_ms) : timeout_ms_(timeout_ms) {}

  // False when no socket could be made or the connect did not complete within the timeout. A
  // refused connection completes (the socket turns writable) and fails at the first send, so it
  // is reported as a write error, as Redis reports it.
  bool connect(const lf::InetAddr& addr) {
    sock_ = lf::SockStream(::socket(addr.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!sock_.valid()) return false;
    (void)sock_.set_nodelay(true);
    sockaddr_storage sa{};
    const socklen_t sa_len = addr.native(sa);
    if (::connect(sock_.handle(), reinterpret_cast<const sockaddr*>(&sa), sa_len) == 0) return true;
    if (errno != EINPROGRESS) return errno == ECONNREFUSED;
    return wait(POLLOUT);
  }

  bool send(std::string_view data) {
    while (!data.empty()) {
      const lf::IoResult r = sock_.send(data.data(), data.size());
      if (r.would_block) {
        if (!wait(POLLOUT)) return false;
        continue;
      }
      if (!r.ok() || r.n <= 0) return false;
      data.remove_prefix(static_cast<std::size_t>(r.n));
    }
    return true;
  }

  // The next reply; false on a timeout, a closed connection or bytes that are not RESP. The
  // frame views buf_, valid until the next call.
  bool next_reply(resp::Frame& frame) {
    buf_.erase(0, consumed_);
    consumed_ = 0;
    for (;;) {
      const resp::ReplyResult r = parser_.parse(buf_);
      if (r.complete()) {
        frame = r.frame;
        consumed_ = r.frame.bytes().size();
        return true;
      }
      if (r.failed()) return false;
      char chunk[16384];
      const lf::IoResult io = sock_.recv(chunk, sizeof chunk);
      if (io.would_block) {
        if (!wait(POLLIN)) return false;
        continue;
      }
      if (io.eof || !io.ok() || io.n <= 0) return false;
      buf_.append(chunk, static_cast<std::size_t>(io.n));
    }
  }

 private:
  bool wait(short events) {
    pollfd p{sock_.handle(), events, 0};
    int rc;
    do {
      rc = ::poll(&p, 1, timeout_ms_);
    } while (rc < 0 && errno == EINTR);
    return rc == 1;
  }

  lf::SockStream sock_;
  int timeout_ms_;
  resp::ReplyParser parser_;
  std::string buf_;
  std::size_t consumed_ = 0;
};

struct Options {
  bool copy = false, replace = false;
  std::string_view username, password;
  bool auth = false, auth2 = false;
  std::size_t first_key = 3, num_keys = 1;
};

// Redis's order: the options (a syntax error, KEYS with a non-empty key argument), then the
// timeout and the database as integers.
bool parse_options(CommandContext& c, Options& o, std::int64_t& db, std::int64_t& timeout) {
  for (std::size_t i = 6; i < c.argc(); ++i) {
    const std::string_view a = c.arg(i);
    const std::size_t more = c.argc() - 1 - i;
    if (iequal(a, "copy")) {
      o.copy = true;
    } else if (iequal(a, "replace")) {
      o.replace = true;
    } else if (iequal(a, "auth")) {
      if (more < 1) return c.out.error(kErrSyntax), false;
      o.auth = true;
      o.password = c.arg(++i);
    } else if (iequal(a, "auth2")) {
      if (more < 2) return c.out.error(kErrSyntax), false;
      o.auth = o.auth2 = true;
      o.username = c.arg(++i);
      o.password = c.arg(++i);
    } else if (iequal(a, "keys")) {
      if (!c.arg(3).empty()) {
        c.out.error("ERR When using MIGRATE KEYS option, the key argument must be set to the empty string");
        return false;
      }
      o.first_key = i + 1;
      o.num_keys = c.argc() - i - 1;
      break;
    } else {
      return c.out.error(kErrSyntax), false;
    }
  }
  if (!parse_int(c.arg(5), timeout) || !parse_int(c.arg(4), db)) return c.out.error(kErrNotInteger), false;
  if (timeout <= 0) timeout = 1000;
  return true;
}

bool parse_port(std::string_view s, std::uint16_t& port) {
  std::int64_t n = 0;
  if (!parse_int(s, n) || n <= 0 || n > 65535) return false;
  port = static_cast<std::uint16_t>(n);
  return true;
}

struct Outgoing {
  std::string_view key;
  std::string payload;
  std::int64_t ttl_ms = 0;  // 0: no expiry
};

void migrate_cmd(CommandContext& c) {
  Options o;
  std::int64_t db = 0, timeout = 0;
  if (!parse_options(c, o, db, timeout)) return;
  std::vector<Outgoing> keys;
  for (std::size_t j = 0; j < o.num_keys; ++j) {
    const std::string_view key = c.arg(o.first_key + j);
    const Entry* e = c.find(key);
    if (e == nullptr) continue;
    Outgoing k{key, dump_value(e->value), 0};
    if (const std::int64_t at = c.part(key).expire_at(*e); at >= 0) k.ttl_ms = std::max<std::int64_t>(at - c.now_ms, 1);
    keys.push_back(std::move(k));
  }
  // Nothing to move (often a key that expired meanwhile): not an error, as in Redis.
  if (keys.empty()) return c.out.simple_string("NOKEY");

  const int timeout_ms = timeout > 1'000'000'000 ? 1'000'000'000 : static_cast<int>(timeout);
  std::uint16_t port = 0;
  lf::Result<lf::InetAddr> addr = lf::Status::error("bad port");
  if (parse_port(c.arg(2), port)) addr = lf::InetAddr::resolve(std::string(c.arg(1)), port);
  TargetLink link(timeout_ms);
  if (!addr.ok() || !link.connect(*addr)) {
    return c.out.error("IOERR error or timeout connecting to the client");
  }

  std::string request;
  if (o.auth) {
    if (o.auth2) {
      encode_command(request, {"AUTH", o.username, o.password});
    } else {
      encode_command(request, {"AUTH", o.password});
    }
  }
  const std::string db_text = std::to_string(db);
  encode_command(request, {"SELECT", db_text});
  for (const Outgoing& k : keys) {
    const std::string ttl = std::to_string(k.ttl_ms);
    if (o.replace) {
      encode_command(request, {"RESTORE", k.key, ttl, k.payload, "REPLACE"});
    } else {
      encode_command(request, {"RESTORE", k.key, ttl, k.payload});
    }
  }
  if (!link.send(request)) return c.out.error("IOERR error or timeout writing to target instance");

  // The AUTH and SELECT replies first; an error there is the one reported (every RESTORE after
  // a refused AUTH or SELECT fails too).
  std::string refused;
  resp::Frame f;
  for (int pre = o.auth ? 2 : 1; pre > 0; --pre) {
    if (!link.next_reply(f)) return c.out.error("IOERR error or timeout reading to target instance");
    if (f.is_error() && refused.empty()) refused = std::string(f.payload());
  }
  std::vector<std::string_view> deleted{"DEL"};
  bool socket_error = false;
  for (const Outgoing& k : keys) {
    if (!link.next_reply(f)) {
      socket_error = true;
      break;
    }
    if (f.is_error() || !refused.empty()) {
      if (refused.empty()) refused = std::string(f.payload());
      continue;
    }
    if (o.copy) continue;
    // Accepted by the target: gone from here.
    if (c.part(k.key).erase(k.key, c.now_ms)) pubsub::event(pubsub::kEvGeneric, "del", k.key);
    deleted.push_back(k.key);
  }
  if (deleted.size() > 1) {
    if (std::string* log = t_invocation_log.records) {
      t_invocation_log.select(c.db);
      encode_command(*log, deleted);
    }
  }
  if (!refused.empty()) return c.out.error("ERR Target instance replied with error: " + refused);
  if (socket_error) return c.out.error("IOERR error or timeout reading to target instance");
  c.out.simple_string("OK");
}

constexpr HandlerEntry kMigrateHandlers[] = {
    {"migrate", migrate_cmd},
};

}  // namespace
}  // namespace lfdb::db::dump

namespace lfdb::db {
std::span<const HandlerEntry> migrate_handlers() { return dump::kMigrateHandlers; }
}  // namespace lfdb::db
