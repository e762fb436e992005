// The commands a session answers itself: they act on the connection (HELLO, AUTH, CLIENT,
// MULTI...) or describe the server (COMMAND), and touch no key.
#include <algorithm>

#include "db/session.hpp"

namespace lfdb::db {

using commands::CommandSpec;

namespace {

bool valid_client_name(std::string_view n) {
  return std::all_of(n.begin(), n.end(), [](char c) { return c >= '!' && c <= '~'; });
}

constexpr std::string_view kWrongPass = "WRONGPASS invalid username-password pair or user is disabled.";

void flag_names(const CommandSpec& s, resp::Writer& w) {
  std::vector<std::string_view> f;
  if (s.has(commands::kWrite)) f.push_back("write");
  if (s.has(commands::kReadonly)) f.push_back("readonly");
  if (s.has(commands::kAdmin)) f.push_back("admin");
  if (s.has(commands::kNoScript)) f.push_back("noscript");
  if (s.has(commands::kFast)) f.push_back("fast");
  if (s.has(commands::kNoAuth)) f.push_back("no_auth");
  if (s.has(commands::kNoMulti)) f.push_back("no_multi");
  if (s.has(commands::kDenyOom)) f.push_back("denyoom");
  w.set_header(f.size());
  for (auto x : f) w.simple_string(x);
}

void command_info(const CommandSpec& s, resp::Writer& w) {
  w.array_header(10);
  w.bulk(s.name);
  w.integer(s.arity);
  flag_names(s, w);
  w.integer(s.first_key);
  w.integer(s.last_key);
  w.integer(s.key_step);
  w.set_header(1);  // ACL categories
  std::string cat = "@";
  for (char ch : s.group) {
    if (ch != '-') cat += ch;  // the doc group "sorted-set" is the ACL category @sortedset
  }
  w.simple_string(cat);
  w.set_header(0);    // tips
  w.array_header(0);  // key specifications (first/last/step above describe the keys)
  w.array_header(s.subcommands.size());
  for (const CommandSpec& sub : s.subcommands) command_info(sub, w);
}

void command_docs(const CommandSpec& s, resp::Writer& w) {
  w.map_header(s.is_container() ? 4 : 3);
  w.bulk("summary");
  w.bulk(s.summary);
  w.bulk("since");
  w.bulk("1.0.0");
  w.bulk("group");
  w.bulk(s.group);
  if (s.is_container()) {
    w.bulk("subcommands");
    w.map_header(s.subcommands.size());
    for (const CommandSpec& sub : s.subcommands) {
      w.bulk(sub.name);
      command_docs(sub, w);
    }
  }
}

void help_lines(resp::Writer& w, std::initializer_list<std::string_view> lines) {
  w.array_header(lines.size());
  for (auto l : lines) w.simple_string(l);
}

}  // namespace

bool ServerSession::connection_command(const BoundCommand& bc,
                                       std::span<const std::string_view> argv, resp::Writer& w) {
  const std::string_view name = bc.spec->name;
  if (name == "quit") {
    w.simple_string("OK");
    return false;
  }
  if (name == "hello") return hello(argv, w), true;
  if (name == "auth") return auth(argv, w), true;
  if (name == "select") {
    std::int64_t db = 0;
    if (!parse_int(argv[1], db)) w.error(kErrNotInteger);
    else if (db != 0) w.error("ERR DB index is out of range");
    else w.simple_string("OK");
    return true;
  }
  if (name == "multi") {
    if (client_.in_multi) {
      w.error("ERR MULTI calls can not be nested");
    } else {
      client_.in_multi = true;
      client_.in_multi_flag.store(true, std::memory_order_relaxed);
      w.simple_string("OK");
    }
    return true;
  }
  if (name == "discard") {
    if (!client_.in_multi) {
      w.error("ERR DISCARD without MULTI");
    } else {
      client_.in_multi = false;
      client_.in_multi_flag.store(false, std::memory_order_relaxed);
      client_.multi_error = false;
      client_.queued.clear();
      unwatch();
      w.simple_string("OK");
    }
    return true;
  }
  if (name == "unwatch") {
    unwatch();
    w.simple_string("OK");
    return true;
  }
  if (name.starts_with("client|")) return client(*bc.spec, argv, w), !close_;
  if (name.starts_with("command|") || name == "command") return command(*bc.spec, argv, w), true;
  if (name == "config|resetstat") {
    server_.stats().reset();
    w.simple_string("OK");
    return true;
  }
  if (name == "config|help") {
    help_lines(w, {"CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                   "GET <pattern>", "    Return parameters matching the glob-like <pattern> and their values.",
                   "SET <directive> <value>", "    Set the configuration <directive> to <value>.",
                   "RESETSTAT", "    Reset statistics reported by the INFO command.",
                   "HELP", "    Print this help."});
    return true;
  }
  if (name == "shutdown") return shutdown_command(argv, w), !shutdown_after_;
  if (name == "debug") return debug_command(argv, w), true;
  w.error("ERR unknown command '" + std::string(name) + "'");
  return true;
}

void ServerSession::hello(std::span<const std::string_view> argv, resp::Writer& w) {
  resp::Protocol proto = client_.protocol;
  std::size_t i = 1;
  if (argv.size() > 1) {
    std::int64_t v = 0;
    if (!parse_int(argv[1], v)) {
      w.error("ERR Protocol version is not an integer or out of range");
      return;
    }
    if (v < 2 || v > 3) {
      w.error("NOPROTO unsupported protocol version");
      return;
    }
    proto = v == 3 ? resp::Protocol::kResp3 : resp::Protocol::kResp2;
    i = 2;
  }
  std::string_view setname;
  bool has_setname = false;
  for (; i < argv.size(); ++i) {
    const bool more = i + 1 < argv.size();
    if (iequal(argv[i], "auth") && i + 2 < argv.size()) {
      const std::string pass = server_.config().requirepass();
      if (argv[i + 1] != "default" || (!pass.empty() && argv[i + 2] != pass)) {
        w.error(kWrongPass);
        return;
      }
      client_.authenticated = true;
      parser_.set_auth_required(false);
      i += 2;
    } else if (iequal(argv[i], "setname") && more) {
      setname = argv[++i];
      has_setname = true;
      if (!valid_client_name(setname)) {
        w.error("ERR Client names cannot contain spaces, newlines or special characters.");
        return;
      }
    } else {
      w.error("ERR Syntax error in HELLO option '" + std::string(argv[i]) + "'");
      return;
    }
  }
  if (!client_.authenticated && server_.auth_required()) {
    w.error("NOAUTH HELLO must be called with the client already authenticated, otherwise the "
            "HELLO AUTH <user> <pass> option can be used to authenticate the client and "
            "select the RESP protocol version at the same time");
    return;
  }
  if (has_setname) {
    lf::MutexLock lock(client_.name_mu);
    client_.name.assign(setname);
  }
  client_.protocol = proto;
  w.set_protocol(proto);
  w.map_header(7);
  w.bulk("server");
  w.bulk("redis");
  w.bulk("version");
  w.bulk(kRedisCompat);
  w.bulk("proto");
  w.integer(proto == resp::Protocol::kResp3 ? 3 : 2);
  w.bulk("id");
  w.integer(static_cast<std::int64_t>(client_.id));
  w.bulk("mode");
  w.bulk("standalone");
  w.bulk("role");
  w.bulk("master");
  w.bulk("modules");
  w.array_header(0);
}

void ServerSession::auth(std::span<const std::string_view> argv, resp::Writer& w) {
  if (argv.size() > 3) {
    w.error(kErrSyntax);
    return;
  }
  const std::string pass = server_.config().requirepass();
  if (argv.size() == 2 && pass.empty()) {
    w.error("ERR AUTH <password> called without any password configured for the default user. "
            "Are you sure your configuration is correct?");
    return;
  }
  const std::string_view user = argv.size() == 3 ? argv[1] : "default";
  const std::string_view given = argv.back();
  if (user != "default" || (!pass.empty() && given != pass)) {
    w.error(kWrongPass);
    return;
  }
  client_.authenticated = true;
  parser_.set_auth_required(false);
  w.simple_string("OK");
}

void ServerSession::client(const CommandSpec& spec, std::span<const std::string_view> argv,
                           resp::Writer& w) {
  const std::string_view sub = spec.name.substr(7);
  if (sub == "id") return w.integer(static_cast<std::int64_t>(client_.id));
  if (sub == "setname") {
    if (!valid_client_name(argv[2])) {
      return w.error("ERR Client names cannot contain spaces, newlines or special characters.");
    }
    lf::MutexLock lock(client_.name_mu);
    client_.name.assign(argv[2]);
    return w.simple_string("OK");
  }
  if (sub == "getname") {
    lf::MutexLock lock(client_.name_mu);
    if (client_.name.empty()) return w.null();
    return w.bulk(client_.name);
  }
  if (sub == "list") {
    if (argv.size() > 2 && !(argv.size() == 4 && iequal(argv[2], "type"))) {
      return w.error(kErrSyntax);
    }
    return w.verbatim(server_.client_list());
  }
  if (sub == "info") return w.verbatim(server_.client_list(&client_));
  if (sub == "no-evict" || sub == "no-touch") {
    const bool on = iequal(argv[2], "on");
    if (!on && !iequal(argv[2], "off")) return w.error(kErrSyntax);
    (sub == "no-evict" ? client_.no_evict : client_.no_touch) = on;
    return w.simple_string("OK");
  }
  if (sub == "kill") {
    if (argv.size() == 3) {  // CLIENT KILL addr:port (the old form)
      const std::string addr(argv[2]);
      bool self = addr == client_.addr;
      const std::size_t n = self ? 1 : server_.kill_clients([&](const ClientState& c) {
        return &c != &client_ && c.addr == addr;
      });
      if (n == 0) return w.error("ERR No such client");
      if (self) close_ = true;
      return w.simple_string("OK");
    }
    if (argv.size() % 2 != 0) return w.error(kErrSyntax);
    std::int64_t id = -1;
    std::string addr, laddr;
    bool skipme = true;
    for (std::size_t i = 2; i + 1 < argv.size(); i += 2) {
      const std::string_view k = argv[i], v = argv[i + 1];
      if (iequal(k, "id")) {
        if (!parse_int(v, id) || id <= 0) return w.error("ERR client-id should be greater than 0");
      } else if (iequal(k, "addr")) {
        addr = v;
      } else if (iequal(k, "laddr")) {
        laddr = v;
      } else if (iequal(k, "skipme")) {
        if (iequal(v, "yes")) skipme = true;
        else if (iequal(v, "no")) skipme = false;
        else return w.error(kErrSyntax);
      } else if (iequal(k, "type") || iequal(k, "user") || iequal(k, "maxage")) {
        // lfdb has only normal clients and the default user: these filters match everyone.
      } else {
        return w.error(kErrSyntax);
      }
    }
    bool kill_self = false;
    auto matches = [&](const ClientState& c) {
      if (id > 0 && c.id != static_cast<std::uint64_t>(id)) return false;
      if (!addr.empty() && c.addr != addr) return false;
      return true;
    };
    std::size_t n = server_.kill_clients([&](const ClientState& c) {
      if (!matches(c)) return false;
      if (&c == &client_) {
        if (!skipme) kill_self = true;
        return false;
      }
      return true;
    });
    if (kill_self) {
      close_ = true;
      ++n;
    }
    return w.integer(static_cast<std::int64_t>(n));
  }
  if (sub == "help") {
    return help_lines(w, {"CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                          "GETNAME", "    Return the name of the current connection.",
                          "ID", "    Return the ID of the current connection.",
                          "INFO", "    Return information about the current client connection.",
                          "KILL <ip:port>", "    Kill connection made from <ip:port>.",
                          "LIST", "    Return information about client connections.",
                          "SETNAME <name>", "    Assign the name <name> to the current connection.",
                          "HELP", "    Print this help."});
  }
  w.error(commands::unknown_subcommand_error("client", sub));
}

void ServerSession::command(const CommandSpec& spec, std::span<const std::string_view> argv,
                            resp::Writer& w) {
  const auto all = commands::all_commands();
  if (spec.name == "command") {
    w.array_header(all.size());
    for (const CommandSpec& s : all) command_info(s, w);
    return;
  }
  const std::string_view sub = spec.name.substr(8);
  if (sub == "count") return w.integer(static_cast<std::int64_t>(all.size()));
  if (sub == "list") {
    w.array_header(all.size());
    for (const CommandSpec& s : all) w.bulk(s.name);
    return;
  }
  if (sub == "info" || sub == "docs") {
    std::vector<const CommandSpec*> specs;
    if (argv.size() == 2) {
      for (const CommandSpec& s : all) specs.push_back(&s);
    } else {
      for (std::size_t i = 2; i < argv.size(); ++i) specs.push_back(commands::find_command(argv[i]));
    }
    if (sub == "info") {
      w.array_header(specs.size());
      for (const CommandSpec* s : specs) {
        if (s) command_info(*s, w);
        else w.null_array();
      }
      return;
    }
    std::size_t known = 0;
    for (const CommandSpec* s : specs) known += s != nullptr;
    w.map_header(known);
    for (const CommandSpec* s : specs) {
      if (!s) continue;
      w.bulk(s->name);
      command_docs(*s, w);
    }
    return;
  }
  help_lines(w, {"COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                 "(no subcommand)", "    Return details about all Redis commands.",
                 "COUNT", "    Return the total number of commands in this Redis server.",
                 "LIST", "    Return a list of all commands in this Redis server.",
                 "INFO [<command-name> ...]", "    Return details about multiple Redis commands.",
                 "DOCS [<command-name> ...]", "    Return documentation details about multiple Redis commands.",
                 "HELP", "    Print this help."});
}

void ServerSession::debug_command(std::span<const std::string_view> argv, resp::Writer& w) {
  if (!server_.initial_config().enable_debug_command) {
    return w.error("ERR DEBUG command not allowed. If the enable-debug-command option is set to "
                   "\"local\", you can run it from a local connection, otherwise you need to set "
                   "this option in the configuration file, and then restart the server.");
  }
  // DEBUG AOF-FAULT WRITE|FSYNC|BOTH|OFF: the append-only log's writes or fsyncs fail with EIO
  // (a partial write first) until OFF.
  if (iequal(argv[1], "aof-fault") && argv.size() == 3) {
    AppendLog* log = server_.append_log();
    if (log == nullptr) return w.error("ERR the append-only log is off");
    const std::string_view what = argv[2];
    if (iequal(what, "write")) log->inject_fault(true, false);
    else if (iequal(what, "fsync")) log->inject_fault(false, true);
    else if (iequal(what, "both")) log->inject_fault(true, true);
    else if (iequal(what, "off")) log->inject_fault(false, false);
    else return w.error(kErrSyntax);
    return w.simple_string("OK");
  }
  w.error("ERR unknown subcommand '" + std::string(argv[1]) + "'. Try DEBUG HELP.");
}

void ServerSession::shutdown_command(std::span<const std::string_view> argv, resp::Writer& w) {
  int save = 0;
  for (std::size_t i = 1; i < argv.size(); ++i) {
    if (iequal(argv[i], "abort")) return w.error("ERR No shutdown in progress.");
    if (iequal(argv[i], "nosave")) save = -1;
    else if (iequal(argv[i], "save")) save = 1;
    else if (!iequal(argv[i], "now") && !iequal(argv[i], "force")) return w.error(kErrSyntax);
  }
  // As Redis: while a script is busy only SHUTDOWN NOSAVE goes (it stops the script).
  if (save >= 0 && server_.scripts().any_busy(now_ms())) return w.error(kErrBusy);
  server_.set_shutdown_save(save);
  // No reply: the server goes away (as redis-server does). The request is made once this
  // session returns, so the connection is closed first.
  shutdown_after_ = true;
  close_ = true;
  server_.request_shutdown();
}

}  // namespace lfdb::db
