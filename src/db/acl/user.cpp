#include "db/acl/user.hpp"

#include <nettle/sha2.h>

#include <algorithm>

#include "commands/access.hpp"
#include "db/acl/recheck.hpp"
#include "db/config_line.hpp"

namespace lfdb::db::acl {
namespace {

using commands::CommandSpec;

constexpr std::string_view kErrNoSuchPass =
    "The password you are trying to remove from the user does not exist";
constexpr std::string_view kErrBadHash =
    "The password hash must be exactly 64 characters and contain only lowercase hexadecimal "
    "characters";

bool valid_hash(std::string_view h) {
  if (h.size() != 64) return false;
  return std::all_of(h.begin(), h.end(),
                     [](char ch) { return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f'); });
}

}  // namespace

std::string sha256_hex(std::string_view s) {
  sha256_ctx ctx;
  sha256_init(&ctx);
  sha256_update(&ctx, s.size(), reinterpret_cast<const std::uint8_t*>(s.data()));
  std::uint8_t digest[SHA256_DIGEST_SIZE];
  sha256_digest(&ctx, SHA256_DIGEST_SIZE, digest);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * SHA256_DIGEST_SIZE);
  for (std::uint8_t b : digest) {
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
}

std::string full_name(const CommandSpec& spec) { return std::string(spec.name); }

User::User(std::string n) : name(std::move(n)) {}

void User::refresh() { unrestricted = root.unrestricted(); }

std::string User::apply_rule(std::string_view op) {
  if (op.empty()) return "";
  if (commands::iequal(op, "on")) {
    enabled = true;
  } else if (commands::iequal(op, "off")) {
    enabled = false;
  } else if (commands::iequal(op, "skip-sanitize-payload")) {
    sanitize = 2;
  } else if (commands::iequal(op, "sanitize-payload")) {
    sanitize = 1;
  } else if (commands::iequal(op, "nopass")) {
    nopass = true;
    passwords.clear();
  } else if (commands::iequal(op, "resetpass")) {
    nopass = false;
    passwords.clear();
  } else if (op[0] == '>' || op[0] == '#') {
    std::string h;
    if (op[0] == '>') {
      h = sha256_hex(op.substr(1));
    } else {
      if (!valid_hash(op.substr(1))) return std::string(kErrBadHash);
      h = std::string(op.substr(1));
    }
    if (std::find(passwords.begin(), passwords.end(), h) == passwords.end()) passwords.push_back(h);
    nopass = false;
  } else if (op[0] == '<' || op[0] == '!') {
    std::string h;
    if (op[0] == '<') {
      h = sha256_hex(op.substr(1));
    } else {
      if (!valid_hash(op.substr(1))) return std::string(kErrBadHash);
      h = std::string(op.substr(1));
    }
    const auto it = std::find(passwords.begin(), passwords.end(), h);
    if (it == passwords.end()) return std::string(kErrNoSuchPass);
    passwords.erase(it);
  } else if (op[0] == '(' && op.back() == ')') {
    // A selector: its rules split as a config line is, applied to a new empty selector (a
    // line that does not split gives an empty one, as Redis's does).
    std::vector<std::string> words;
    if (!split_config_line(std::string(op.substr(1, op.size() - 2)), words)) words.clear();
    Selector s;
    for (const std::string& w : words) {
      if (std::string e = s.apply_rule(w); !e.empty()) return e;
    }
    selectors.push_back(std::move(s));
  } else if (commands::iequal(op, "clearselectors")) {
    selectors.clear();
  } else if (commands::iequal(op, "reset")) {
    // acl-pubsub-default decides what `reset` leaves of the channels, as in Redis.
    const bool all = new_selectors_all_channels();
    for (std::string_view r : {"resetpass", "resetkeys", all ? "allchannels" : "resetchannels", "off",
                               "sanitize-payload", "clearselectors", "-@all"}) {
      (void)apply_rule(r);
    }
  } else {
    return root.apply_rule(op);
  }
  return "";
}

bool User::password_ok(std::string_view given) const {
  if (nopass) return true;
  const std::string h = sha256_hex(given);
  bool ok = false;
  for (const std::string& p : passwords) ok = commands::password_matches(h, p) || ok;
  return ok;
}

std::vector<std::string_view> User::flags() const {
  std::vector<std::string_view> f;
  f.emplace_back(enabled ? "on" : "off");
  if (nopass) f.emplace_back("nopass");
  if (sanitize == 2) f.emplace_back("skip-sanitize-payload");
  if (sanitize == 1) f.emplace_back("sanitize-payload");
  return f;
}

std::string User::describe() const {
  std::string s;
  for (std::string_view f : flags()) {
    s += f;
    s += ' ';
  }
  for (const std::string& p : passwords) {
    s += '#';
    s += p;
    s += ' ';
  }
  s += root.describe();
  for (const Selector& sel : selectors) {
    s += " (";
    s += sel.describe();
    s += ')';
  }
  return s;
}

bool merge_selector_args(std::span<const std::string_view> args, std::vector<std::string>& out,
                         std::size_t& bad) {
  out.clear();
  bool open = false;
  std::string selector;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string_view a = args[i];
    const bool closes = !a.empty() && a.back() == ')';
    if (!open && !a.empty() && a[0] == '(' && !closes) {
      open = true;
      bad = i;
      selector = std::string(a);
    } else if (open) {
      selector += ' ';
      selector += a;
      if (closes) {
        open = false;
        out.push_back(std::move(selector));
        selector.clear();
      }
    } else {
      out.emplace_back(a);
    }
  }
  return !open;
}

Denied check(const User& u, const CommandSpec& spec, std::uint16_t index,
             std::span<const std::string_view> argv, std::size_t& at) {
  Denied d = u.root.check(spec, index, argv, at);
  if (d == Denied::kNone || u.selectors.empty()) return d;
  // Redis's pick among the refusals: the greatest reason, then the latest argument.
  std::size_t best_at = d == Denied::kCommand ? 0 : at;
  for (const Selector& s : u.selectors) {
    std::size_t a = 0;
    const Denied r = s.check(spec, index, argv, a);
    if (r == Denied::kNone) return r;
    if (r == Denied::kCommand) a = 0;
    if (r > d || (r == d && a > best_at)) {
      d = r;
      best_at = a;
    }
  }
  at = best_at;
  return d;
}

bool reads_every_key(const User& u, const CommandSpec& spec, std::uint16_t index,
                     std::span<const std::string_view> argv) {
  auto serves = [&](const Selector& s) {
    std::size_t at = 0;
    return s.reads_every_key() && s.check(spec, index, argv, at) == Denied::kNone;
  };
  return serves(u.root) || std::any_of(u.selectors.begin(), u.selectors.end(), serves);
}

bool channel_allowed(const User& u, std::string_view name, bool pattern) {
  if (u.root.channel_allowed(name, pattern)) return true;
  return std::any_of(u.selectors.begin(), u.selectors.end(),
                     [&](const Selector& s) { return s.channel_allowed(name, pattern); });
}

// Redis's shortcut: a selector allowing every channel now keeps all; else each channel pattern
// any selector had must stand, literally, in some selector now (one allowing every channel
// before is lost).
bool keeps_channels(const User& before, const User& after) {
  auto all = [](const User& u) {
    return u.root.all_channels ||
           std::any_of(u.selectors.begin(), u.selectors.end(), [](const Selector& s) { return s.all_channels; });
  };
  if (all(after)) return true;
  if (all(before)) return false;
  auto in_after = [&](const std::string& c) {
    auto has = [&](const Selector& s) {
      return std::find(s.channels.begin(), s.channels.end(), c) != s.channels.end();
    };
    return has(after.root) || std::any_of(after.selectors.begin(), after.selectors.end(), has);
  };
  if (!std::all_of(before.root.channels.begin(), before.root.channels.end(), in_after)) return false;
  for (const Selector& s : before.selectors) {
    if (!std::all_of(s.channels.begin(), s.channels.end(), in_after)) return false;
  }
  return true;
}

std::string exec_denied_message(Denied d) {
  const std::string head =
      "NOPERM ACLs rules changed between the moment the transaction was accumulated and the EXEC "
      "call. This command is no longer allowed for the following reason: ";
  switch (d) {
    case Denied::kCommand: return head + "no permission to execute the command or subcommand";
    case Denied::kKey: return head + "no permission to touch the specified keys";
    case Denied::kChannel: return head + "no permission to access one of the channels used as arguments";
    case Denied::kNone: break;
  }
  return "";
}

std::string denied_message(Denied d, const CommandSpec& spec, std::span<const std::string_view> argv,
                           std::size_t at, bool dryrun) {
  const std::string head = dryrun ? "This user has no permissions to " : "NOPERM this user has no permissions to ";
  switch (d) {
    case Denied::kCommand: return head + "run the '" + full_name(spec) + "' command";
    case Denied::kKey:
      return dryrun ? head + "access the '" + std::string(argv[at]) + "' key"
                    : head + "access one of the keys used as arguments";
    case Denied::kChannel:
      return dryrun ? head + "access the '" + std::string(argv[at]) + "' channel"
                    : head + "access one of the channels used as arguments";
    case Denied::kNone: break;
  }
  return "";
}

}  // namespace lfdb::db::acl
