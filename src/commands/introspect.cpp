#include "commands/introspect.hpp"

#include "commands/key_specs.hpp"

namespace lfdb::commands {
namespace {

bool parse_count(std::string_view s, long& n) {
  if (s.empty() || s.size() > 18) return false;
  std::size_t i = s[0] == '-' ? 1 : 0;
  if (i == s.size()) return false;
  n = 0;
  for (; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    n = n * 10 + (s[i] - '0');
  }
  if (s[0] == '-') n = -n;
  return true;
}

// Scripts and functions may declare no keys (Redis's no-mandatory-keys).
bool keys_optional(const CommandSpec& spec) { return spec.group == "scripting"; }

// SORT's keys: the key, and the last STORE's destination (key_specs.hpp).
void sort_keys(std::span<const std::string_view> argv, std::vector<std::size_t>& out) {
  out.push_back(1);
  if (const std::size_t store = sort_store_position(argv); store != 0) out.push_back(store);
}

// XREAD's and XREADGROUP's keys as Redis's key spec finds them (COMMAND GETKEYS answers from
// the spec, not from the command's own parsing): the first STREAMS (XREADGROUP's from the 4th
// argument on, and never the last argument), then the first half of what follows it, however
// malformed the rest; nothing when it has no key to give.
void stream_keyspec_keys(const CommandSpec& spec, std::span<const std::string_view> argv,
                         std::vector<std::size_t>& out) {
  const std::size_t from = spec.name == "xreadgroup" ? 4 : 1;
  for (std::size_t i = from; i + 1 < argv.size(); ++i) {
    if (!iequal(argv[i], "streams")) continue;
    const std::size_t first = i + 1, n = (argv.size() - first) / 2;
    for (std::size_t k = 0; k < n; ++k) out.push_back(first + k);
    return;
  }
}

}  // namespace

bool movable_keys(const CommandSpec& spec) {
  const std::string_view n = spec.name;
  return spec.has(kNumKeys) || spec.has(kStreamKeys) || spec.has(kKeysOption) || n == "sort" || n == "sort_ro" ||
         n == "georadius" || n == "georadiusbymember";
}

KeyPositions key_positions(std::span<const std::string_view> argv) {
  KeyPositions r;
  const Resolved res = resolve(argv);
  if (!res) {
    r.error = res.failure == Resolved::Failure::kArity
                  ? "ERR Invalid number of arguments specified for command"
                  : "ERR Invalid command specified";
    return r;
  }
  r.spec = res.spec;
  const CommandSpec& spec = *res.spec;
  if (spec.name == "sort" || spec.name == "sort_ro") {
    sort_keys(argv, r.positions);
    return r;
  }
  if (spec.first_key <= 0) {
    r.error = "ERR The command has no key arguments";
    return r;
  }
  if (spec.has(kNumKeys)) {
    const std::size_t at = static_cast<std::size_t>(spec.first_key - 1);
    long n = 0;
    const long avail = static_cast<long>(argv.size()) - spec.first_key;
    const bool valid = at < argv.size() && parse_count(argv[at], n) && n >= 0 && n <= avail &&
                       (n > 0 || keys_optional(spec));
    if (!valid) {
      if (!keys_optional(spec)) r.error = "ERR Invalid arguments specified for command";
      return r;
    }
    if (spec.has(kDestKey)) r.positions.push_back(1);
    for (long i = 0; i < n; ++i) r.positions.push_back(static_cast<std::size_t>(spec.first_key + i));
    return r;
  }
  if (spec.has(kStreamKeys)) {
    stream_keyspec_keys(spec, argv, r.positions);
    if (r.positions.empty()) r.error = "ERR Invalid arguments specified for command";
    return r;
  }
  for_each_key(spec, argv, [&](std::size_t i) { r.positions.push_back(i); });
  option_keyword_keys(spec, argv, r.positions);
  if (r.positions.empty()) r.error = "ERR Invalid arguments specified for command";
  return r;
}

std::vector<std::string> acl_categories(const CommandSpec& spec) {
  std::vector<std::string> cats;
  if (spec.has(kWrite)) cats.emplace_back("write");
  if (spec.has(kReadonly)) cats.emplace_back("read");
  // The doc group names the data-type category ("sorted-set" is @sortedset); the generic
  // commands are Redis's @keyspace; "server" and "cluster" have none of their own (their
  // commands are @admin or @slow).
  if (spec.group == "generic") {
    cats.emplace_back("keyspace");
  } else if (spec.group != "server" && spec.group != "cluster") {
    std::string g;
    for (char ch : spec.group) {
      if (ch != '-') g += ch;
    }
    cats.push_back(std::move(g));
  }
  cats.emplace_back(spec.has(kFast) ? "fast" : "slow");
  if (spec.has(kAdmin)) cats.emplace_back("admin");
  if (spec.has(kDangerous)) cats.emplace_back("dangerous");
  if (spec.has(kBlocking)) cats.emplace_back("blocking");
  return cats;
}

}  // namespace lfdb::commands
