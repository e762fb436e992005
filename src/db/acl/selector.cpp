#include "db/acl/selector.hpp"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <climits>

#include "commands/introspect.hpp"
#include "commands/key_specs.hpp"
#include "db/acl/categories.hpp"
#include "db/command_context.hpp"

namespace lfdb::db::acl {
namespace {

using commands::CommandSpec;

constexpr std::string_view kErrSyntax = "Syntax error";
constexpr std::string_view kErrUnknown = "Unknown command or category name in ACL";
constexpr std::string_view kErrKeysAfterAll =
    "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have "
    "any effect. Try 'resetkeys' to start with an empty list of patterns";
constexpr std::string_view kErrChannelsAfterAll =
    "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not "
    "have any effect. Try 'resetchannels' to start with an empty list of channels";
constexpr std::string_view kErrFirstArgOfSub = "Allowing first-arg of a subcommand is not supported";

std::string lower(std::string_view s) {
  std::string r(s);
  for (char& ch : r) {
    if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
  }
  return r;
}

bool has_spaces(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char ch) {
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\v' || ch == '\f' || ch == '\0';
  });
}

// A command named in a rule: "get", or "client|kill" for a subcommand.
const CommandSpec* lookup(std::string_view name) {
  const std::size_t bar = name.find('|');
  if (bar == std::string_view::npos) return commands::find_command(name);
  const CommandSpec* top = commands::find_command(name.substr(0, bar));
  if (top == nullptr || !top->is_container()) return nullptr;
  return commands::find_subcommand(*top, name.substr(bar + 1));
}

// Allowing or denying a command covers its subcommands, and forgets its allowed first args.
void change(std::vector<bool>& allowed, std::vector<std::vector<std::string>>* first_args,
            const CommandSpec& spec, bool value) {
  const std::uint16_t i = commands::index_of(spec);
  allowed[i] = value;
  if (first_args != nullptr) (*first_args)[i].clear();
  for (const CommandSpec& sub : spec.subcommands) allowed[commands::index_of(sub)] = value;
}

void change_category(std::vector<bool>& allowed, std::vector<std::vector<std::string>>* first_args,
                     std::uint32_t cat, bool value) {
  for (const CommandSpec& top : commands::all_commands()) {
    if ((categories_of(commands::index_of(top)) & cat) != 0) change(allowed, first_args, top, value);
    for (const CommandSpec& sub : top.subcommands) {
      if ((categories_of(commands::index_of(sub)) & cat) != 0) change(allowed, first_args, sub, value);
    }
  }
}

void count_category(const std::vector<bool>& allowed, std::uint32_t cat, unsigned long& on,
                    unsigned long& off) {
  on = off = 0;
  for (std::size_t i = 0; i < allowed.size(); ++i) {
    if ((categories_of(static_cast<std::uint16_t>(i)) & cat) == 0) continue;
    (allowed[i] ? on : off)++;
  }
}

void append_key(std::string& s, const KeyPattern& k) {
  if (k.perms == kKeyRead) s += "%R";
  if (k.perms == kKeyWrite) s += "%W";
  s += '~';
  s += k.pattern;
}

}  // namespace

namespace {
std::atomic<bool> g_all_channels{false};  // acl-pubsub-default (selector.hpp)
}  // namespace

void set_new_selectors_all_channels(bool all) { g_all_channels.store(all, std::memory_order_relaxed); }
bool new_selectors_all_channels() { return g_all_channels.load(std::memory_order_relaxed); }

namespace {
// A key count (EVAL, ZUNIONSTORE, ...) that is not a number, is negative or exceeds the
// arguments: Redis's key spec finds no key at all in such a command (the command itself
// answers the syntax error), so there is no key to check.
bool key_count_invalid(const CommandSpec& spec, std::span<const std::string_view> argv) {
  if (!spec.has(commands::kNumKeys)) return false;
  const std::size_t at = static_cast<std::size_t>(spec.first_key - 1);
  if (at >= argv.size()) return true;
  long n = 0;
  const std::string_view s = argv[at];
  if (s.size() > 1 && s[0] == '0') return true;  // Redis reads only the canonical form ("01" is not)
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec != std::errc() || end != s.data() + s.size() || n < 0) return true;
  return n > static_cast<long>(argv.size()) - spec.first_key;
}
}  // namespace

Selector::Selector()
    : all_channels(new_selectors_all_channels()),
      allowed(commands::command_count(), false),
      first_args(commands::command_count()) {}

bool Selector::reads_every_key() const {
  return all_keys || std::any_of(keys.begin(), keys.end(), [](const KeyPattern& k) {
           return (k.perms & kKeyRead) != 0 && k.pattern == "*";
         });
}

bool Selector::unrestricted() const {
  return all_keys && all_channels && std::all_of(allowed.begin(), allowed.end(), [](bool b) { return b; });
}

std::string Selector::apply_rule(std::string_view op) {
  if (commands::iequal(op, "allkeys") || op == "~*") {
    all_keys = true;
    keys.clear();
  } else if (commands::iequal(op, "resetkeys")) {
    all_keys = false;
    keys.clear();
  } else if (commands::iequal(op, "allchannels") || op == "&*") {
    all_channels = true;
    channels.clear();
  } else if (commands::iequal(op, "resetchannels")) {
    all_channels = false;
    channels.clear();
  } else if (commands::iequal(op, "allcommands") || commands::iequal(op, "+@all")) {
    std::fill(allowed.begin(), allowed.end(), true);
    future_commands = true;
    for (auto& f : first_args) f.clear();
  } else if (commands::iequal(op, "nocommands") || commands::iequal(op, "-@all")) {
    std::fill(allowed.begin(), allowed.end(), false);
    future_commands = false;
    for (auto& f : first_args) f.clear();
  } else if (op[0] == '~' || op[0] == '%') {
    if (all_keys) return std::string(kErrKeysAfterAll);
    std::uint8_t perms = 0;
    std::size_t at = 1;
    if (op[0] == '%') {
      bool ok = true;
      for (; at < op.size(); ++at) {
        const char ch = op[at];
        if ((ch == 'R' || ch == 'r') && !(perms & kKeyRead)) {
          perms |= kKeyRead;
        } else if ((ch == 'W' || ch == 'w') && !(perms & kKeyWrite)) {
          perms |= kKeyWrite;
        } else if (ch == '~') {
          ++at;
          break;
        } else {
          ok = false;
          break;
        }
      }
      if (perms == 0 || !ok) return std::string(kErrSyntax);
    } else {
      perms = kKeyRead | kKeyWrite;
    }
    const std::string_view pattern = at <= op.size() ? op.substr(at) : std::string_view();
    if (has_spaces(pattern)) return std::string(kErrSyntax);
    const auto it = std::find_if(keys.begin(), keys.end(),
                                 [&](const KeyPattern& k) { return k.pattern == pattern; });
    if (it == keys.end()) {
      keys.push_back({std::string(pattern), perms});
    } else {
      it->perms |= perms;
    }
  } else if (op[0] == '&') {
    if (all_channels) return std::string(kErrChannelsAfterAll);
    const std::string_view pattern = op.substr(1);
    if (has_spaces(pattern)) return std::string(kErrSyntax);
    if (std::find(channels.begin(), channels.end(), pattern) == channels.end()) {
      channels.emplace_back(pattern);
    }
  } else if ((op[0] == '+' || op[0] == '-') && op.size() > 1 && op[1] == '@') {
    Category c;
    if (!category_by_name(op.substr(2), c)) return std::string(kErrUnknown);
    change_category(allowed, &first_args, bit(c), op[0] == '+');
  } else if (op[0] == '+') {
    const std::string_view name = op.substr(1);
    const std::size_t bar = name.rfind('|');
    if (bar == std::string_view::npos) {
      const CommandSpec* spec = commands::find_command(name);
      if (spec == nullptr) return std::string(kErrUnknown);
      change(allowed, &first_args, *spec, true);
    } else {
      const CommandSpec* cmd = lookup(name.substr(0, bar));
      if (cmd == nullptr) return std::string(kErrUnknown);
      if (name.substr(0, bar).find('|') != std::string_view::npos) return std::string(kErrFirstArgOfSub);
      const std::string_view sub = name.substr(bar + 1);
      if (sub.empty()) return std::string(kErrSyntax);
      if (cmd->is_container()) {
        const CommandSpec* s = lookup(name);
        if (s == nullptr) return std::string(kErrUnknown);
        change(allowed, &first_args, *s, true);
      } else {
        std::vector<std::string>& f = first_args[commands::index_of(*cmd)];
        const std::string l = lower(sub);
        if (std::find(f.begin(), f.end(), l) == f.end()) f.push_back(l);
      }
    }
  } else if (op[0] == '-') {
    const CommandSpec* spec = lookup(op.substr(1));
    if (spec == nullptr) return std::string(kErrUnknown);
    change(allowed, &first_args, *spec, false);
  } else {
    return std::string(kErrSyntax);
  }
  return "";
}

// The rules that rebuild the command bits, as Redis 7.0 words them: +@all or -@all, then the
// categories that bring the most commands for the fewest exceptions, chosen greedily in ACL
// CAT's order, then the single commands that still differ, then the allowed first args.
std::string Selector::describe_commands() const {
  const bool additive = !future_commands;
  std::string rules = additive ? "-@all" : "+@all";
  std::vector<bool> fake(allowed.size(), !additive);
  std::vector<bool> temp = allowed;
  bool applied[static_cast<std::size_t>(Category::kCount)] = {};
  for (;;) {
    int best = -1;
    unsigned long mindiff = INT_MAX, maxsame = 0;
    for (std::size_t j = 0; j < std::size(applied); ++j) {
      if (applied[j]) continue;
      unsigned long on = 0, off = 0;
      count_category(temp, bit(static_cast<Category>(j)), on, off);
      const unsigned long diff = additive ? off : on;
      const unsigned long same = additive ? on : off;
      if (same > diff && (diff < mindiff || (diff == mindiff && same > maxsame))) {
        best = static_cast<int>(j);
        mindiff = diff;
        maxsame = same;
      }
    }
    if (best < 0) break;
    const Category c = static_cast<Category>(best);
    change_category(fake, nullptr, bit(c), additive);
    change_category(temp, nullptr, bit(c), !additive);
    rules += additive ? " +@" : " -@";
    rules += category_name(c);
    applied[best] = true;
  }
  auto single = [&](const CommandSpec& spec) {
    const std::uint16_t i = commands::index_of(spec);
    if (allowed[i] != fake[i]) {
      rules += allowed[i] ? " +" : " -";
      rules += spec.name;
      change(fake, nullptr, spec, allowed[i]);
    }
  };
  for (const CommandSpec& top : commands::all_commands()) {
    single(top);
    for (const CommandSpec& sub : top.subcommands) single(sub);
    const std::uint16_t i = commands::index_of(top);
    if (!allowed[i]) {
      for (const std::string& a : first_args[i]) {
        rules += " +";
        rules += top.name;
        rules += '|';
        rules += a;
      }
    }
  }
  return rules;
}

std::string Selector::describe_keys() const {
  if (all_keys) return "~*";
  std::string s;
  for (const KeyPattern& k : keys) {
    if (!s.empty()) s += ' ';
    append_key(s, k);
  }
  return s;
}

std::string Selector::describe_channels() const {
  if (all_channels) return "&*";
  std::string s;
  for (const std::string& c : channels) {
    if (!s.empty()) s += ' ';
    s += '&';
    s += c;
  }
  return s;
}

std::string Selector::describe() const {
  std::string s;
  if (all_keys) {
    s += "~* ";
  } else {
    for (const KeyPattern& k : keys) {
      append_key(s, k);
      s += ' ';
    }
  }
  if (all_channels) {
    s += "&* ";
  } else {
    s += "resetchannels ";
    for (const std::string& c : channels) {
      s += '&';
      s += c;
      s += ' ';
    }
  }
  s += describe_commands();
  return s;
}

bool Selector::channel_allowed(std::string_view name, bool pattern) const {
  if (all_channels) return true;
  for (const std::string& p : channels) {
    if (pattern ? p == name : glob_match(p, name)) return true;
  }
  return false;
}

Denied Selector::check(const CommandSpec& spec, std::uint16_t index,
                       std::span<const std::string_view> argv, std::size_t& at) const {
  if (!allowed[index] && !spec.has(commands::kNoAuth)) {
    const std::vector<std::string>& f = first_args[index];
    if (argv.size() < 2 || f.empty()) return Denied::kCommand;
    const auto it = std::find_if(f.begin(), f.end(),
                                 [&](const std::string& a) { return commands::iequal(argv[1], a); });
    if (it == f.end()) return Denied::kCommand;
  }
  if (!all_keys && !key_count_invalid(spec, argv)) {
    Denied d = Denied::kNone;
    // The access each key's spec asks for: %R~ patterns serve reads, %W~ writes.
    auto check_key = [&](std::size_t i) {
      if (d != Denied::kNone) return;
      // As Redis 7.0 decides: ACCESS needs read, INSERT / DELETE / UPDATE need write; RO / RW /
      // OW / RM alone ask for nothing more than a pattern that matches (EXISTS, TYPE).
      const std::uint16_t f = commands::key_flags_at(spec, argv, i);
      std::uint8_t need = 0;
      if (f & commands::kKeyAccess) need |= kKeyRead;
      if (f & (commands::kKeyInsert | commands::kKeyDelete | commands::kKeyUpdate)) need |= kKeyWrite;
      for (const KeyPattern& k : keys) {
        if ((k.perms & need) == need && glob_match(k.pattern, argv[i])) return;
      }
      d = Denied::kKey;
      at = i;
    };
    commands::for_each_key(spec, argv, check_key);
    // GEORADIUS's STORE / STOREDIST destinations: keys to Redis, not in the table's positions.
    std::vector<std::size_t> option_keys;
    commands::option_keyword_keys(spec, argv, option_keys);
    for (std::size_t i : option_keys) check_key(i);
    if (d != Denied::kNone) return d;
  }
  if (!all_channels) {
    const std::string_view n = spec.name;
    std::size_t from = 0, to = 0;
    bool literal = false;
    if (n == "publish" || n == "spublish") {
      from = 1;
      to = 2;
    } else if (n == "subscribe" || n == "ssubscribe") {
      from = 1;
      to = argv.size();
    } else if (n == "psubscribe") {
      from = 1;
      to = argv.size();
      literal = true;
    }
    for (std::size_t i = from; i < to && i < argv.size(); ++i) {
      if (!channel_allowed(argv[i], literal)) {
        at = i;
        return Denied::kChannel;
      }
    }
  }
  return Denied::kNone;
}

}  // namespace lfdb::db::acl
