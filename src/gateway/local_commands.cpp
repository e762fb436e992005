// The commands lfdb-gateway answers itself (Route::kLocal in routing.cpp): one handler each,
// bound to its spec's index once, at start, the way lfdb-server binds its own. HELLO's and
// AUTH's parsing and replies are the shared ones (commands/connection.hpp, access.hpp), so both
// tiers answer them alike.
#include <cstdio>
#include <cstdlib>

#include "commands/access.hpp"
#include "commands/connection.hpp"
#include "commands/introspect.hpp"
#include "gateway/client.hpp"
#include "gateway/gateway.hpp"

namespace lfdb::gateway {

namespace {

struct NamedLocal {
  std::string_view name;  // "client|id" for a subcommand
  ClientConn::LocalHandler handler;
};

const commands::CommandSpec* spec_named(std::string_view name) {
  const std::size_t bar = name.find('|');
  const commands::CommandSpec* spec = commands::find_command(name.substr(0, bar));
  if (spec != nullptr && bar != std::string_view::npos) spec = commands::find_subcommand(*spec, name.substr(bar + 1));
  return spec;
}

[[noreturn]] void table_bug(std::string_view what, std::string_view name) {
  std::fprintf(stderr, "lfdb-gateway: %.*s '%.*s'\n", static_cast<int>(what.size()), what.data(),
               static_cast<int>(name.size()), name.data());
  std::abort();
}

}  // namespace

const std::vector<ClientConn::LocalHandler>& ClientConn::local_handlers() {
  static const std::vector<LocalHandler> table = [] {
    const NamedLocal named[] = {
        {"ping", &ClientConn::ping_cmd},
        {"echo", &ClientConn::echo_cmd},
        {"quit", &ClientConn::quit_cmd},
        {"hello", &ClientConn::hello_cmd},
        {"auth", &ClientConn::auth_cmd},
        {"select", &ClientConn::select_cmd},
        {"move", &ClientConn::move_cmd},
        {"swapdb", &ClientConn::swapdb_cmd},
        {"client|id", &ClientConn::client_id_cmd},
        {"client|setname", &ClientConn::client_setname_cmd},
        {"client|getname", &ClientConn::client_getname_cmd},
        {"client|help", &ClientConn::client_help_cmd},
        {"client|tracking", &ClientConn::client_tracking_cmd},
        {"client|caching", &ClientConn::client_caching_cmd},
        {"client|getredir", &ClientConn::client_getredir_cmd},
        {"client|trackinginfo", &ClientConn::client_trackinginfo_cmd},
        {"reset", &ClientConn::reset_cmd},
        {"info", &ClientConn::info_cmd},
        {"command|getkeys", &ClientConn::command_getkeys_cmd},
    };
    std::vector<LocalHandler> t(commands::command_count(), nullptr);
    for (const NamedLocal& n : named) {
      const commands::CommandSpec* spec = spec_named(n.name);
      if (spec == nullptr) table_bug("local handler for unknown command", n.name);
      t[commands::index_of(*spec)] = n.handler;
    }
    // Exactly the specs routed here have a handler: found at start, not by a client.
    for (std::uint16_t i = 0; i < t.size(); ++i) {
      if ((route_of(i).route == Route::kLocal) != (t[i] != nullptr)) {
        table_bug(t[i] == nullptr ? "no local handler for" : "local handler for a forwarded command",
                  commands::spec_at(i).name);
      }
    }
    return t;
  }();
  return table;
}

void ClientConn::local(std::uint16_t index, std::span<const std::string_view> argv) {
  gw_.stats().local_replies.fetch_add(1, std::memory_order_relaxed);
  local_buf_.clear();
  resp::Writer w(local_buf_, protocol_);
  LocalCall call{argv, w};
  (this->*local_handlers()[index])(call);
  if (call.answered) return;
  if (!local_buf_.empty() && local_buf_[0] == '-') gw_.stats().error_replies.fetch_add(1, std::memory_order_relaxed);
  reply_local(local_buf_, call.close_after);
}

void ClientConn::ping_cmd(LocalCall& c) {
  if (c.argv.size() > 2) return c.out.error(commands::wrong_arity_error("ping"));
  if (protocol_ == resp::Protocol::kResp2 && subscribed()) {  // Redis's answer in subscribed mode
    c.out.array_header(2);
    c.out.bulk("pong");
    return c.out.bulk(c.argv.size() == 2 ? c.argv[1] : "");
  }
  if (c.argv.size() == 2) c.out.bulk(c.argv[1]);
  else c.out.simple_string("PONG");
}

void ClientConn::echo_cmd(LocalCall& c) { c.out.bulk(c.argv[1]); }

void ClientConn::quit_cmd(LocalCall& c) {
  c.out.simple_string("OK");
  c.close_after = true;
  stop_reading_ = true;
}

void ClientConn::hello_cmd(LocalCall& c) {
  commands::HelloRequest req;
  if (std::string e = commands::parse_hello(c.argv, protocol_, req); !e.empty()) return c.out.error(e);
  if (req.auth) {
    if (!commands::credentials_match(req.user, req.password, gw_.config().requirepass)) {
      return wrong_pass(c.out);
    }
    authenticated_ = true;
    parser_.set_auth_required(false);
  }
  if (!authenticated_) {
    gw_.stats().no_auth.fetch_add(1, std::memory_order_relaxed);
    return c.out.error(commands::kErrHelloNoAuth);
  }
  if (req.setname) name_.assign(req.name);
  // A pinned client keeps its dedicated connection's protocol until it is released.
  if (req.protocol != protocol_ && subscribed()) {
    // The messages still to come are encoded for the new protocol.
    for (std::size_t k = 0; k < 3; ++k) {
      for (const std::string& name : subs_[k]) {
        gw_.hub().set_protocol(static_cast<PubSubHub::Kind>(k), name, outbox_.get(), req.protocol);
      }
    }
  }
  protocol_ = req.protocol;
  // Its id is known now: it may be a REDIRECT target (RESP3: pushes need no subscription).
  ensure_endpoint_locked();
  endpoint_changed_locked();
  commands::write_hello(c.out, {req.protocol, static_cast<std::int64_t>(id_), "master", "proxy"});
}

void ClientConn::auth_cmd(LocalCall& c) {
  if (c.argv.size() > 3) return c.out.error("ERR syntax error");
  const std::string& pass = gw_.config().requirepass;
  if (c.argv.size() == 2 && pass.empty()) return c.out.error(commands::kErrAuthNoPassword);
  const std::string_view user = c.argv.size() == 3 ? c.argv[1] : "default";
  if (!commands::credentials_match(user, c.argv.back(), pass)) return wrong_pass(c.out);
  authenticated_ = true;
  parser_.set_auth_required(false);
  c.out.simple_string("OK");
}

void ClientConn::wrong_pass(resp::Writer& w) {
  gw_.stats().wrong_pass.fetch_add(1, std::memory_order_relaxed);
  w.error(commands::kWrongPass);
}

// The gateway keeps database 0 only, as a Redis Cluster node does (and its error for any other).
void ClientConn::select_cmd(LocalCall& c) {
  std::int64_t db = 0;
  if (std::string e = commands::parse_db_index(c.argv[1], db); !e.empty()) return c.out.error(e);
  if (db != 0) return c.out.error("ERR SELECT is not allowed in cluster mode");
  c.out.simple_string("OK");
}

void ClientConn::move_cmd(LocalCall& c) { c.out.error("ERR MOVE is not allowed in cluster mode"); }
void ClientConn::swapdb_cmd(LocalCall& c) { c.out.error("ERR SWAPDB is not allowed in cluster mode"); }

void ClientConn::client_id_cmd(LocalCall& c) {
  ensure_endpoint_locked();  // its id is known now: it may be a REDIRECT target
  c.out.integer(static_cast<std::int64_t>(id_));
}

void ClientConn::client_setname_cmd(LocalCall& c) {
  if (!commands::valid_client_name(c.argv[2])) return c.out.error(commands::kErrBadClientName);
  name_.assign(c.argv[2]);
  c.out.simple_string("OK");
}

void ClientConn::client_getname_cmd(LocalCall& c) {
  if (name_.empty()) c.out.null();
  else c.out.bulk(name_);
}

void ClientConn::client_help_cmd(LocalCall& c) {
  c.out.array_header(8);
  c.out.simple_string("CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are (through lfdb-gateway):");
  c.out.simple_string("ID");
  c.out.simple_string("SETNAME <name>");
  c.out.simple_string("GETNAME");
  c.out.simple_string("TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]] [OPTIN] [OPTOUT] [NOLOOP]");
  c.out.simple_string("CACHING (YES|NO)");
  c.out.simple_string("GETREDIR");
  c.out.simple_string("TRACKINGINFO");
}

void ClientConn::info_cmd(LocalCall& c) { c.out.verbatim(gw_.info()); }

// COMMAND GETKEYS: the key positions the gateway routes by (commands/introspect.hpp), the
// same the server reports; GEORADIUS's STORE / STOREDIST destinations are among them (the
// gateway routes GEORADIUS by its source and refuses a destination on another shard with
// CROSSSLOT: ClientConn::keyed).
void ClientConn::command_getkeys_cmd(LocalCall& c) {
  const auto named = c.argv.subspan(2);
  const commands::KeyPositions k = commands::key_positions(named);
  if (!k.error.empty()) return c.out.error(k.error);
  c.out.array_header(k.positions.size());
  for (std::size_t i : k.positions) c.out.bulk(named[i]);
}

}  // namespace lfdb::gateway
