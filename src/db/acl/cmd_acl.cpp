// ACL's subcommands (db/acl/commands.hpp), with Redis 7.0's replies and errors.
#include <algorithm>
#include <cstdio>
#include <random>

#include "db/acl/acl_file.hpp"
#include "db/acl/categories.hpp"
#include "db/acl/commands.hpp"
#include "db/acl/recheck.hpp"
#include "db/server.hpp"

namespace lfdb::db {
namespace {

using commands::CommandSpec;

// A known subcommand given too many arguments (CAT, GENPASS, LOG): Redis's words for it name
// the subcommand as the client wrote it.
std::string subcommand_syntax_error(std::string_view sub) {
  return "ERR unknown subcommand or wrong number of arguments for '" +
         std::string(sub.substr(0, 128)) + "'. Try ACL HELP.";
}

constexpr std::string_view kErrNoAclFile =
    "ERR This Redis instance is not configured to use an ACL file. You may want to specify users "
    "via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis "
    "configuration file set) in order to store users in the Redis configuration.";

std::string client_info(Server& server, ClientState& client) {
  std::string line = server.client_list(&client);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
  return line;
}

void add_entry(Server& server, ClientState& client, std::string reason, std::string context,
               std::string object, std::string username) {
  acl::AclLogEntry e;
  e.reason = std::move(reason);
  e.context = std::move(context);
  e.object = std::move(object);
  e.username = std::move(username);
  e.ctime_ms = now_ms();
  e.client_info = client_info(server, client);
  server.acl_log().add(std::move(e));
}

// Closes the connections in `ids` (sorted; nullptr: all) that run as one of `users`, blocked
// ones included. The calling connection is among them when its own user matches: it closes
// right after this command's reply (Redis closes it after the command).
void close_connections_of(CommandContext& c, const std::vector<std::uint64_t>* ids,
                          std::span<const std::string_view> users) {
  std::vector<std::uint64_t> killed;
  bool self = false;
  c.server->clients().kill([&](ClientState& other) {
    if (ids != nullptr && !std::binary_search(ids->begin(), ids->end(), other.id)) return false;
    bool match = false;
    {
      lf::MutexLock nl(other.name_mu);
      for (std::string_view u : users) match = match || other.user_name() == u;
    }
    if (match && &other == c.client) {
      self = true;
      return false;
    }
    if (match) killed.push_back(other.id);
    return match;
  });
  for (std::uint64_t k : killed) c.server->blocking().settle(k, blocking::Settle::kClose);
  if (self) c.client->close_after_reply = true;
}

// Rules that took channels away close the user's subscribers that hold a subscription the new
// rules refuse, as Redis 7.0 does; the others keep theirs.
void close_revoked_subscribers(CommandContext& c, const acl::User& before, const acl::User& after) {
  if (acl::keeps_channels(before, after)) return;
  std::vector<std::uint64_t> ids;
  c.server->pubsub().for_each_subscription(
      [&](pubsub::Kind k, const std::string& name, std::uint64_t client_id) {
        if (!acl::channel_allowed(after, name, k == pubsub::Kind::kPattern)) ids.push_back(client_id);
      });
  if (ids.empty()) return;
  std::sort(ids.begin(), ids.end());
  const std::string_view user = after.name;
  close_connections_of(c, &ids, std::span<const std::string_view>(&user, 1));
}

void setuser_cmd(CommandContext& c) {
  const std::string_view name = c.arg(2);
  for (char ch : name) {
    if (ch == ' ' || ch == '\0' || (ch >= '\t' && ch <= '\r')) {
      return c.out.error("ERR Usernames can't contain spaces or null characters");
    }
  }
  const std::shared_ptr<const acl::User> before = c.server->acl().find(name);
  const std::string e = c.server->acl().set_user(name, c.argv.subspan(3));
  if (!e.empty()) return c.out.error(e);
  if (name == "default") c.server->refresh_auth_required();
  if (before) close_revoked_subscribers(c, *before, *c.server->acl().find(name));
  c.out.simple_string("OK");
}

void deluser_cmd(CommandContext& c) {
  const std::span<const std::string_view> names = c.argv.subspan(2);
  for (std::string_view n : names) {
    if (n == "default") return c.out.error("ERR The 'default' user cannot be removed");
  }
  const std::size_t n = c.server->acl().del_users(names);
  // Their connections close now, this one right after its reply.
  if (n != 0) close_connections_of(c, nullptr, names);
  c.out.integer(static_cast<std::int64_t>(n));
}

// GETUSER's commands, keys and channels of one selector.
void describe_selector(CommandContext& c, const acl::Selector& s) {
  c.out.bulk("commands");
  c.out.bulk(s.describe_commands());
  c.out.bulk("keys");
  c.out.bulk(s.describe_keys());
  c.out.bulk("channels");
  c.out.bulk(s.describe_channels());
}

void getuser_cmd(CommandContext& c) {
  const std::shared_ptr<const acl::User> u = c.server->acl().find(c.arg(2));
  if (!u) return c.out.null();
  c.out.map_header(6);
  c.out.bulk("flags");
  const std::vector<std::string_view> flags = u->flags();
  c.out.array_header(flags.size());
  for (std::string_view f : flags) c.out.bulk(f);
  c.out.bulk("passwords");
  c.out.array_header(u->passwords.size());
  for (const std::string& p : u->passwords) c.out.bulk(p);
  describe_selector(c, u->root);
  c.out.bulk("selectors");
  c.out.array_header(u->selectors.size());
  for (const acl::Selector& s : u->selectors) {
    c.out.map_header(3);
    describe_selector(c, s);
  }
}

void users_cmd(CommandContext& c) {
  const auto users = c.server->acl().users();
  c.out.array_header(users.size());
  for (const auto& u : users) c.out.bulk(u->name);
}

void list_cmd(CommandContext& c) {
  const auto users = c.server->acl().users();
  c.out.array_header(users.size());
  for (const auto& u : users) c.out.bulk("user " + u->name + " " + u->describe());
}

void whoami_cmd(CommandContext& c) {
  c.out.bulk(c.client != nullptr && c.client->user ? std::string_view(c.client->user->name) : "default");
}

void cat_cmd(CommandContext& c) {
  if (c.argc() > 3) return c.out.error(subcommand_syntax_error(c.arg(1)));
  if (c.argc() == 2) {
    c.out.array_header(static_cast<std::size_t>(acl::Category::kCount));
    for (std::size_t i = 0; i < static_cast<std::size_t>(acl::Category::kCount); ++i) {
      c.out.bulk(acl::category_name(static_cast<acl::Category>(i)));
    }
    return;
  }
  acl::Category cat;
  if (!acl::category_by_name(c.arg(2), cat)) {
    return c.out.error("ERR Unknown category '" + std::string(c.arg(2)) + "'");
  }
  std::vector<std::string_view> names;
  for (const CommandSpec& top : commands::all_commands()) {
    if ((acl::categories_of(commands::index_of(top)) & acl::bit(cat)) != 0) names.push_back(top.name);
    for (const CommandSpec& sub : top.subcommands) {
      if ((acl::categories_of(commands::index_of(sub)) & acl::bit(cat)) != 0) names.push_back(sub.name);
    }
  }
  c.out.array_header(names.size());
  for (std::string_view n : names) c.out.bulk(n);
}

void genpass_cmd(CommandContext& c) {
  if (c.argc() > 3) return c.out.error(subcommand_syntax_error(c.arg(1)));
  std::int64_t bits = 256;
  if (c.argc() == 3 && !parse_int(c.arg(2), bits)) return c.out.error(kErrNotInteger);
  if (bits <= 0 || bits > 4096) {
    return c.out.error("ERR ACL GENPASS argument must be the number of bits for the output "
                       "password, a positive number up to 4096");
  }
  static constexpr char kHex[] = "0123456789abcdef";
  const std::size_t chars = static_cast<std::size_t>((bits + 3) / 4);
  std::random_device rd;  // the kernel's random source, not a seeded engine: passwords
  std::string out;
  out.reserve(chars);
  while (out.size() < chars) {
    unsigned v = rd();
    for (int i = 0; i < 8 && out.size() < chars; ++i, v >>= 4) out += kHex[v & 15];
  }
  c.out.bulk(out);
}

void dryrun_cmd(CommandContext& c) {
  const std::shared_ptr<const acl::User> u = c.server->acl().find(c.arg(2));
  if (!u) return c.out.error("ERR User '" + std::string(c.arg(2)) + "' not found");
  const std::span<const std::string_view> argv = c.argv.subspan(3);
  const commands::Resolved r = commands::resolve(argv);
  if (!r) {
    if (r.failure == commands::Resolved::Failure::kArity) return c.out.error(r.error(argv));
    return c.out.error("ERR Command '" + std::string(argv[0]) + "' not found");
  }
  std::size_t at = 0;
  const acl::Denied d = acl::check(*u, *r.spec, r.index, argv, at);
  if (d == acl::Denied::kNone) return c.out.simple_string("OK");
  c.out.bulk(acl::denied_message(d, *r.spec, argv, at, true));
}

void log_cmd(CommandContext& c) {
  if (c.argc() > 3) return c.out.error(subcommand_syntax_error(c.arg(1)));
  std::int64_t count = 10;
  if (c.argc() == 3) {
    if (iequal(c.arg(2), "reset")) {
      c.server->acl_log().reset();
      return c.out.simple_string("OK");
    }
    if (!parse_int(c.arg(2), count)) return c.out.error(kErrNotInteger);
    if (count < 0) count = 0;
  }
  const std::vector<acl::AclLogEntry> entries = c.server->acl_log().newest(static_cast<std::size_t>(count));
  const std::int64_t now = now_ms();
  c.out.array_header(entries.size());
  for (const acl::AclLogEntry& e : entries) {
    c.out.map_header(7);
    c.out.bulk("count");
    c.out.integer(static_cast<std::int64_t>(e.count));
    c.out.bulk("reason");
    c.out.bulk(e.reason);
    c.out.bulk("context");
    c.out.bulk(e.context);
    c.out.bulk("object");
    c.out.bulk(e.object);
    c.out.bulk("username");
    c.out.bulk(e.username);
    c.out.bulk("age-seconds");
    c.out.double_value(static_cast<double>(now - e.ctime_ms) / 1000.0);
    c.out.bulk("client-info");
    c.out.bulk(e.client_info);
  }
}

// The users as ACL LIST shows them, into the aclfile (db/acl/acl_file.hpp).
void acl_save_cmd(CommandContext& c) {
  const std::string path = c.server->initial_config().aclfile_path();
  if (path.empty()) return c.out.error(kErrNoAclFile);
  const auto users = c.server->acl().users();
  if (std::string e = acl::save_acl_file(path, users); !e.empty()) {
    std::fprintf(stderr, "lfdb-server: %s\n", e.c_str());
    return c.out.error("ERR There was an error trying to save the ACLs. Please check the server logs for more information");
  }
  c.out.simple_string("OK");
}

// The aclfile's users replace every user at once, or, with any bad line, none. As Redis 7.0
// does, the connections of every user but `default` close (this one right after its reply):
// their users are new ones now, even under the same names.
void load_cmd(CommandContext& c) {
  const std::string path = c.server->initial_config().aclfile_path();
  if (path.empty()) return c.out.error(kErrNoAclFile);
  std::vector<std::shared_ptr<acl::User>> users;
  if (std::string e = acl::load_acl_file(path, users); !e.empty()) return c.out.error("ERR " + e);
  const std::vector<std::string> replaced = c.server->acl().replace_all(std::move(users));
  c.server->refresh_auth_required();
  const std::vector<std::string_view> names(replaced.begin(), replaced.end());
  if (!names.empty()) close_connections_of(c, nullptr, names);
  c.out.simple_string("OK");
}

void help_cmd(CommandContext& c) {
  static constexpr std::string_view kLines[] = {
      "ACL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
      "CAT [<category>]",
      "    List the ACL categories, or the commands of one category.",
      "DELUSER <username> [<username> ...]",
      "    Delete users; their connections are closed.",
      "DRYRUN <username> <command> [<arg> ...]",
      "    Tell whether the user may run the command, without running it.",
      "GETUSER <username>",
      "    Show a user's flags, passwords (hashed), commands, keys and channels.",
      "GENPASS [<bits>]",
      "    A random password of <bits> bits (256 by default), in hex.",
      "LIST",
      "    Every user's rules, one line each.",
      "LOAD",
      "    Reload the users from the ACL file.",
      "LOG [<count> | RESET]",
      "    The latest refused commands, keys, channels and failed logins; RESET empties it.",
      "SAVE",
      "    Write the users to the ACL file.",
      "SETUSER <username> <attribute> [<attribute> ...]",
      "    Create or change a user: on|off, >pass, <pass, #hash, !hash, nopass, resetpass,",
      "    +cmd, -cmd, +@category, -@category, +cmd|sub, ~pattern, %R~ %W~ %RW~pattern,",
      "    allkeys, resetkeys, &pattern, allchannels, resetchannels, allcommands, nocommands,",
      "    reset.",
      "USERS",
      "    The users' names.",
      "WHOAMI",
      "    The user this connection runs as.",
      "HELP",
      "    Print this help.",
  };
  c.out.array_header(std::size(kLines));
  for (std::string_view l : kLines) c.out.simple_string(l);
}

constexpr HandlerEntry kAclHandlers[] = {
    {"acl|setuser", setuser_cmd}, {"acl|deluser", deluser_cmd}, {"acl|getuser", getuser_cmd},
    {"acl|users", users_cmd},     {"acl|list", list_cmd},       {"acl|whoami", whoami_cmd},
    {"acl|cat", cat_cmd},         {"acl|genpass", genpass_cmd}, {"acl|dryrun", dryrun_cmd},
    {"acl|log", log_cmd},         {"acl|save", acl_save_cmd},       {"acl|load", load_cmd},
    {"acl|help", help_cmd},
};

}  // namespace

void log_acl_denial(Server& server, ClientState& client, acl::Denied d, std::string_view context,
                    const CommandSpec& spec, std::span<const std::string_view> argv, std::size_t at) {
  std::string reason, object;
  switch (d) {
    case acl::Denied::kCommand:
      reason = "command";
      object = acl::full_name(spec);
      break;
    case acl::Denied::kKey:
      reason = "key";
      object = std::string(argv[at]);
      break;
    case acl::Denied::kChannel:
      reason = "channel";
      object = std::string(argv[at]);
      break;
    case acl::Denied::kNone: return;
  }
  add_entry(server, client, std::move(reason), std::string(context), std::move(object),
            client.user ? client.user->name : std::string("default"));
}

void log_auth_failure(Server& server, ClientState& client, std::string_view user) {
  add_entry(server, client, "auth", client.in_multi ? "multi" : "toplevel", "AUTH", std::string(user));
}

std::span<const HandlerEntry> acl_handlers() { return kAclHandlers; }

}  // namespace lfdb::db
