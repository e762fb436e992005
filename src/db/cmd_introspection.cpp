// COMMAND (the table described to clients), CONFIG RESETSTAT / HELP, and DEBUG: server
// commands that touch no key and run at once on the serving thread (hue class kFree).
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "commands/connection.hpp"
#include "commands/introspect.hpp"
#include "commands/key_specs.hpp"
#include "db/memory/evictor.hpp"
#include "db/object_inspect.hpp"
#include "db/server.hpp"

namespace lfdb::db {
namespace {

using commands::CommandSpec;

void help_lines(resp::Writer& w, std::initializer_list<std::string_view> lines) {
  w.array_header(lines.size());
  for (auto l : lines) w.simple_string(l);
}

void flag_names(const CommandSpec& s, resp::Writer& w) {
  std::vector<std::string_view> f;
  if (s.has(commands::kWrite)) f.push_back("write");
  if (s.has(commands::kReadonly)) f.push_back("readonly");
  if (s.has(commands::kAdmin)) f.push_back("admin");
  if (s.has(commands::kNoScript)) f.push_back("noscript");
  if (s.has(commands::kBlocking)) f.push_back("blocking");
  if (s.has(commands::kFast)) f.push_back("fast");
  if (s.has(commands::kNoAuth)) f.push_back("no_auth");
  if (s.has(commands::kDenyInMulti)) f.push_back("no_multi");
  if (s.has(commands::kDenyOom)) f.push_back("denyoom");
  if (commands::movable_keys(s)) f.push_back("movablekeys");
  w.set_header(f.size());
  for (auto x : f) w.simple_string(x);
}

// COMMAND INFO's key specifications: each one's flags, begin_search and find_keys, as Redis
// 7.0 describes them (maps; RESP2 flattens them to arrays).
void key_specs_info(const CommandSpec& s, resp::Writer& w) {
  using commands::BeginSearch;
  using commands::FindKeys;
  const auto specs = commands::key_specs(s);
  w.array_header(specs.size());
  for (const commands::KeySpec& ks : specs) {
    w.map_header(3);
    w.bulk("flags");
    const auto names = commands::key_flag_names(ks.flags);
    w.set_header(names.size());
    for (auto n : names) w.simple_string(n);
    w.bulk("begin_search");
    w.map_header(2);
    w.bulk("type");
    if (ks.begin.type == BeginSearch::Type::kIndex) {
      w.bulk("index");
      w.bulk("spec");
      w.map_header(1);
      w.bulk("index");
      w.integer(ks.begin.at);
    } else if (ks.begin.type == BeginSearch::Type::kKeyword) {
      w.bulk("keyword");
      w.bulk("spec");
      w.map_header(2);
      w.bulk("keyword");
      w.bulk(ks.begin.keyword);
      w.bulk("startfrom");
      w.integer(ks.begin.at);
    } else {
      w.bulk("unknown");
      w.bulk("spec");
      w.map_header(0);
    }
    w.bulk("find_keys");
    w.map_header(2);
    w.bulk("type");
    if (ks.find.type == FindKeys::Type::kRange) {
      w.bulk("range");
      w.bulk("spec");
      w.map_header(3);
      w.bulk("lastkey");
      w.integer(ks.find.a);
      w.bulk("keystep");
      w.integer(ks.find.b);
      w.bulk("limit");
      w.integer(ks.find.c);
    } else if (ks.find.type == FindKeys::Type::kKeynum) {
      w.bulk("keynum");
      w.bulk("spec");
      w.map_header(3);
      w.bulk("keynumidx");
      w.integer(ks.find.a);
      w.bulk("firstkey");
      w.integer(ks.find.b);
      w.bulk("keystep");
      w.integer(ks.find.c);
    } else {
      w.bulk("unknown");
      w.bulk("spec");
      w.map_header(0);
    }
  }
}

// COMMAND INFO's first key, last key and step, from the key specs as Redis 7.0 derives them:
// a lone index/range spec as it is; else the index/range specs of step 1 that follow one
// another make one range (the last key the furthest, a count from the end furthest of all);
// none (keys found by a count or a keyword: EVAL, ZUNIONSTORE's sources, XREAD) is 0 0 0.
// (The table's own triple is the one lfdb finds keys by: EVAL's keys start at 3.)
struct LegacyRange {
  int first = 0, last = 0, step = 0;
};
LegacyRange legacy_range(const CommandSpec& s) {
  using commands::BeginSearch;
  using commands::FindKeys;
  const auto specs = commands::key_specs(s);
  auto plain = [](const commands::KeySpec& k) {
    return k.begin.type == BeginSearch::Type::kIndex && k.find.type == FindKeys::Type::kRange;
  };
  auto absolute = [](const commands::KeySpec& k) { return k.find.a >= 0 ? k.begin.at + k.find.a : k.find.a; };
  if (specs.size() == 1 && plain(specs[0])) return {specs[0].begin.at, absolute(specs[0]), specs[0].find.b};
  int first = -1;
  unsigned last = 0;  // unsigned: a count from the end (< 0) is past any index
  for (const commands::KeySpec& k : specs) {
    if (!plain(k) || k.find.b != 1 || (last != 0 && last != static_cast<unsigned>(k.begin.at - 1))) continue;
    if (first < 0 || k.begin.at < first) first = k.begin.at;
    last = std::max(last, static_cast<unsigned>(absolute(k)));
  }
  if (first < 0) return {};
  return {first, static_cast<int>(last), 1};
}

void command_info(const CommandSpec& s, resp::Writer& w) {
  w.array_header(10);
  w.bulk(s.name);
  w.integer(s.arity);
  flag_names(s, w);
  const LegacyRange keys = legacy_range(s);
  w.integer(keys.first);
  w.integer(keys.last);
  w.integer(keys.step);
  const std::vector<std::string> cats = commands::acl_categories(s);
  w.set_header(cats.size());
  for (const std::string& cat : cats) w.simple_string("@" + cat);
  w.set_header(0);    // tips
  key_specs_info(s, w);
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

// "get", "GET", "client|id", "CLIENT|ID": the spec, or nullptr.
const CommandSpec* spec_named(std::string_view name) {
  const std::size_t bar = name.find('|');
  const CommandSpec* s = commands::find_command(name.substr(0, bar));
  if (s == nullptr || bar == std::string_view::npos) return s;
  return commands::find_subcommand(*s, name.substr(bar + 1));
}

// The specs COMMAND INFO / DOCS describe: every one, or those named (nullptr: unknown; a
// "config|get" names a subcommand, as in Redis 7.0).
std::vector<const CommandSpec*> named_specs(CommandContext& c) {
  std::vector<const CommandSpec*> specs;
  if (c.argc() == 2) {
    for (const CommandSpec& s : commands::all_commands()) specs.push_back(&s);
  } else {
    for (std::size_t i = 2; i < c.argc(); ++i) specs.push_back(spec_named(c.arg(i)));
  }
  return specs;
}

void command_cmd(CommandContext& c) {
  const auto all = commands::all_commands();
  c.out.array_header(all.size());
  for (const CommandSpec& s : all) command_info(s, c.out);
}

void command_count_cmd(CommandContext& c) {
  c.out.integer(static_cast<std::int64_t>(commands::all_commands().size()));
}

// COMMAND LIST [FILTERBY MODULE name | ACLCAT category | PATTERN pattern]: subcommands too
// ("config|get"), filtered or not, as Redis's does; lfdb has no modules.
void command_list_cmd(CommandContext& c) {
  enum class By { kAll, kModule, kAclcat, kPattern } by = By::kAll;
  std::string_view what;
  if (c.argc() != 2) {
    if (c.argc() != 5 || !iequal(c.arg(2), "filterby")) return c.out.error(kErrSyntax);
    if (iequal(c.arg(3), "module")) by = By::kModule;
    else if (iequal(c.arg(3), "aclcat")) by = By::kAclcat;
    else if (iequal(c.arg(3), "pattern")) by = By::kPattern;
    else return c.out.error(kErrSyntax);
    what = c.arg(4);
  }
  std::vector<std::string_view> names;
  auto consider = [&](const CommandSpec& s) {
    if (by == By::kModule) return;
    if (by == By::kPattern && !glob_match(what, s.name, true)) return;
    if (by == By::kAclcat) {
      bool in = false;
      for (const std::string& cat : commands::acl_categories(s)) in = in || iequal(what, cat);
      if (!in) return;
    }
    names.push_back(s.name);
  };
  for (const CommandSpec& s : commands::all_commands()) {  // subcommands too, as Redis lists them
    consider(s);
    for (const CommandSpec& sub : s.subcommands) consider(sub);
  }
  c.out.array_header(names.size());
  for (auto n : names) c.out.bulk(n);
}

// COMMAND GETKEYS / GETKEYSANDFLAGS <command> [arg ...]: from the same key positions the
// server schedules by and the gateway routes by.
void getkeys(CommandContext& c, bool with_flags) {
  const auto named = c.argv.subspan(2);
  const commands::KeyPositions k = commands::key_positions(named);
  if (!k.error.empty()) return c.out.error(k.error);
  c.out.array_header(k.positions.size());
  for (std::size_t i : k.positions) {
    if (!with_flags) {
      c.out.bulk(named[i]);
      continue;
    }
    c.out.array_header(2);
    c.out.bulk(named[i]);
    const auto flags = commands::key_flag_names(commands::key_flags_at(*k.spec, named, i));
    c.out.set_header(flags.size());
    for (auto f : flags) c.out.simple_string(f);
  }
}
void command_getkeys_cmd(CommandContext& c) { getkeys(c, false); }
void command_getkeysandflags_cmd(CommandContext& c) { getkeys(c, true); }

void command_info_cmd(CommandContext& c) {
  const auto specs = named_specs(c);
  c.out.array_header(specs.size());
  for (const CommandSpec* s : specs) {
    if (s) command_info(*s, c.out);
    else c.out.null_array();
  }
}

void command_docs_cmd(CommandContext& c) {
  const auto specs = named_specs(c);
  std::size_t known = 0;
  for (const CommandSpec* s : specs) known += s != nullptr;
  c.out.map_header(known);
  for (const CommandSpec* s : specs) {
    if (!s) continue;
    c.out.bulk(s->name);
    command_docs(*s, c.out);
  }
}

void command_help_cmd(CommandContext& c) {
  help_lines(c.out, {"COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                     "(no subcommand)", "    Return details about all Redis commands.",
                     "COUNT", "    Return the total number of commands in this Redis server.",
                     "LIST", "    Return a list of all commands in this Redis server.",
                     "    FILTERBY MODULE <name> | ACLCAT <category> | PATTERN <pattern>: only those.",
                     "GETKEYS <full-command>", "    Return the keys from a full Redis command.",
                     "GETKEYSANDFLAGS <full-command>", "    Return the keys and the access flags from a full Redis command.",
                     "INFO [<command-name> ...]", "    Return details about multiple Redis commands.",
                     "DOCS [<command-name> ...]", "    Return documentation details about multiple Redis commands.",
                     "HELP", "    Print this help."});
}

void config_resetstat_cmd(CommandContext& c) {
  c.server->stats().reset();
  c.server->command_stats().reset();
  c.server->errors().reset();
  // The eviction counters too, as Redis's: unit/maxmemory's client-eviction tests read
  // evicted_keys and evicted_clients after a RESETSTAT and once saw the previous test's.
  memory::counters().evicted_keys.store(0, std::memory_order_relaxed);
  memory::counters().eviction_exceeded_time.store(0, std::memory_order_relaxed);
  c.server->client_limits().evicted_clients.store(0, std::memory_order_relaxed);
  c.out.simple_string("OK");
}

// LOLWUT [VERSION v] [...]: Redis 7.0's answer for its own version, "Redis ver. 7.0.15" as a
// verbatim string. Redis draws art before that line for VERSION 5 and 6; lfdb draws none.
void lolwut_cmd(CommandContext& c) {
  if (c.argc() >= 3 && iequal(c.arg(1), "version")) {
    std::int64_t v = 0;
    if (!parse_int(c.arg(2), v)) return c.out.error("ERR value is not an integer or out of range");
  }
  c.out.verbatim(std::string("Redis ver. ") + commands::kRedisCompat + "\n");
}

void config_rewrite_cmd(CommandContext& c) {
  // Without an aclfile the users live in the config file as `user` lines, as in Redis.
  std::vector<std::string> users;
  if (c.server->initial_config().aclfile.empty()) {
    for (const auto& u : c.server->acl().users()) users.push_back("user " + u->name + " " + u->describe());
  }
  const lf::Status st = c.server->config().rewrite(users);
  if (!st.ok()) return c.out.error(st.message());
  c.out.simple_string("OK");
}

void config_help_cmd(CommandContext& c) {
  help_lines(c.out, {"CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                     "GET <pattern>", "    Return parameters matching the glob-like <pattern> and their values.",
                     "SET <directive> <value>", "    Set the configuration <directive> to <value>.",
                     "RESETSTAT", "    Reset statistics reported by the INFO command.",
                     "REWRITE", "    Rewrite the configuration file.",
                     "HELP", "    Print this help."});
}

// DEBUG HUES: the runtime's hue declarations, for comparison with what hue-check derives from
// the handlers' code (docs/hue.md, "Checking the declarations"). Three sections: each class's
// declaration in lf::hue's terms, the class matrix (HueMatrix::to_string), and each command's
// class. Command names are upper case, subcommands as CONTAINER|SUB, as hue-check spells them.
std::string upper(std::string_view s) {
  std::string out(s);
  for (char& ch : out) ch = (ch >= 'a' && ch <= 'z') ? static_cast<char>(ch - 'a' + 'A') : ch;
  return out;
}

// A hue's declaration, spelled as the Touches() that would declare it (hue-check's spelling):
// reads, then writes, each by global name, then the context.
std::string describe(const lf::hue::HueMatrix& m, lf::hue::HueId id) {
  const lf::hue::HueInfo& h = m.hue(id);
  if (!h.declared) return "undeclared";
  auto names = [&m](const std::vector<std::uint32_t>& ids) {
    std::vector<std::string> out;
    for (std::uint32_t g : ids) out.push_back(m.globals()[g]);
    std::sort(out.begin(), out.end());
    return out;
  };
  std::string out = "Touches()";
  for (const std::string& g : names(h.reads)) out += ".reads(\"" + g + "\")";
  for (const std::string& g : names(h.writes)) out += ".writes(\"" + g + "\")";
  if (h.context == lf::hue::Access::kRead) out += ".reads_context()";
  if (h.context == lf::hue::Access::kWrite) out += ".writes_context()";
  return out;
}

// The same declaration as a Touches, to register it again under another name.
lf::hue::Touches touches_of(const lf::hue::HueMatrix& m, lf::hue::HueId id) {
  const lf::hue::HueInfo& h = m.hue(id);
  lf::hue::Touches t;
  for (std::uint32_t g : h.reads) t.reads(m.globals()[g]);
  for (std::uint32_t g : h.writes) t.writes(m.globals()[g]);
  if (h.context == lf::hue::Access::kRead) t.reads_context();
  if (h.context == lf::hue::Access::kWrite) t.writes_context();
  return t;
}

void debug_hues(CommandContext& c) {
  const lf::hue::HueMatrix& m = c.server->executor().matrix();
  std::string out = "# classes\n";
  for (lf::hue::HueId id = 0; id < m.size(); ++id) {
    out += std::string(m.name(id)) + " " + describe(m, id) + "\n";
  }
  out += "# matrix\n" + m.to_string() + "\n# commands\n";
  for (std::uint16_t i = 0; i < commands::command_count(); ++i) {
    const CommandSpec& s = commands::spec_at(i);
    out += upper(s.name) + " " + commands::to_string(s.hue) + "\n";
  }
  c.out.verbatim(out);
}

// DEBUG HUES EXPLAIN A B: HueMatrix::explain over the two commands' declared classes, with the
// commands' names: the words `hue-check --explain A B` prints for the derived declarations.
// The classes are registered first, so the globals come in the runtime table's order.
void debug_hues_explain(CommandContext& c) {
  const CommandSpec* a = spec_named(c.arg(3));
  const CommandSpec* b = spec_named(c.arg(4));
  if (a == nullptr || b == nullptr) {
    return c.out.error("ERR unknown command '" + std::string(c.arg(a == nullptr ? 3 : 4)) + "'");
  }
  const lf::hue::HueMatrix& m = c.server->executor().matrix();
  lf::hue::HueTable t;
  for (lf::hue::HueId id = 0; id < m.size(); ++id) {
    if (m.hue(id).declared) (void)t.add(std::string(m.name(id)), touches_of(m, id));
  }
  auto add = [&](const CommandSpec& s) {
    const lf::hue::HueId cls = c.server->executor().hue_of(s.hue);
    return m.hue(cls).declared ? t.add(upper(s.name), touches_of(m, cls)) : t.add_undeclared(upper(s.name));
  };
  const lf::hue::HueId ha = *add(*a);
  const lf::hue::HueId hb = a == b ? ha : *add(*b);
  c.out.bulk(t.build()->explain(ha, hb));
}

// DEBUG AOF-FAULT WRITE|FSYNC|BOTH|OFF: the append-only log's writes or fsyncs fail with EIO
// (a partial write first) until OFF. DEBUG HUES [EXPLAIN A B]: above. DEBUG PAUSE-CRON 0|1:
// the ticker (expiry, save points, the stop signals' shutdown) skips its turns. DEBUG OBJECT
// <key>: object_inspect.hpp; DEBUG runs alone (kUndeclared) so that it may read any key. Only with
// enable-debug-command yes.
void debug_cmd(CommandContext& c) {
  if (!c.server->initial_config().enable_debug_command) return c.out.error(kErrDebugNotAllowed);
  if (iequal(c.arg(1), "hues") && c.argc() == 2) return debug_hues(c);
  if (iequal(c.arg(1), "hues") && c.argc() == 5 && iequal(c.arg(2), "explain")) {
    return debug_hues_explain(c);
  }
  if (iequal(c.arg(1), "object")) {
    if (c.argc() != 3) {
      return c.out.error("ERR unknown subcommand or wrong number of arguments for '" +
                         std::string(c.arg(1)) + "'. Try DEBUG HELP.");
    }
    return debug_object(c);
  }
  if (iequal(c.arg(1), "aof-fault") && c.argc() == 3) {
    AppendLog* log = c.server->append_log();
    if (log == nullptr) return c.out.error("ERR the append-only log is off");
    const std::string_view what = c.arg(2);
    if (iequal(what, "write")) log->inject_fault(true, false);
    else if (iequal(what, "fsync")) log->inject_fault(false, true);
    else if (iequal(what, "both")) log->inject_fault(true, true);
    else if (iequal(what, "off")) log->inject_fault(false, false);
    else return c.out.error(kErrSyntax);
    return c.out.simple_string("OK");
  }
  if (iequal(c.arg(1), "pause-cron") && c.argc() == 3) {
    if (c.arg(2) != "0" && c.arg(2) != "1") return c.out.error("ERR value is out of range, must be 0 or 1");
    c.server->pause_cron(c.arg(2) == "1");
    return c.out.simple_string("OK");
  }
  c.out.error("ERR unknown subcommand '" + std::string(c.arg(1)) + "'. Try DEBUG HELP.");
}

// ---- LATENCY (db/latency_monitor.hpp, db/command_stats.hpp) --------------------------------

void latency_latest_cmd(CommandContext& c) {
  const auto events = c.server->latency().events();
  c.out.array_header(events.size());
  for (const auto& [name, e] : events) {
    c.out.array_header(4);
    c.out.bulk(name);
    c.out.integer(e.samples.back().time_s);
    c.out.integer(static_cast<std::int64_t>(e.samples.back().ms));
    c.out.integer(static_cast<std::int64_t>(e.max_ms));
  }
}

void latency_history_cmd(CommandContext& c) {
  const auto events = c.server->latency().events();
  const auto it = events.find(std::string(c.arg(2)));
  if (it == events.end()) return c.out.array_header(0);
  c.out.array_header(it->second.samples.size());
  for (const auto& s : it->second.samples) {
    c.out.array_header(2);
    c.out.integer(s.time_s);
    c.out.integer(static_cast<std::int64_t>(s.ms));
  }
}

void latency_reset_cmd(CommandContext& c) {
  std::vector<std::string> names;
  for (std::size_t i = 2; i < c.argc(); ++i) names.emplace_back(c.arg(i));
  c.out.integer(static_cast<std::int64_t>(c.server->latency().reset(names)));
}

// A report in words: each event's worst, latest and average spike, and what to look at.
void latency_doctor_cmd(CommandContext& c) {
  const auto events = c.server->latency().events();
  std::string r;
  if (events.empty()) {
    r = "No latency spike has been recorded (latency-monitor-threshold is 0, or nothing took "
        "that long). Nothing to diagnose.\n";
  } else {
    r = "Latency spikes recorded, by event:\n\n";
    for (const auto& [name, e] : events) {
      std::uint64_t sum = 0;
      for (const auto& s : e.samples) sum += s.ms;
      char line[256];
      std::snprintf(line, sizeof line,
                    "%s: %zu samples, latest %llu ms, average %llu ms, worst %llu ms.\n",
                    name.c_str(), e.samples.size(),
                    static_cast<unsigned long long>(e.samples.back().ms),
                    static_cast<unsigned long long>(sum / e.samples.size()),
                    static_cast<unsigned long long>(e.max_ms));
      r += line;
    }
    r += "\nSlow commands: see INFO commandstats and LATENCY HISTOGRAM; slow expire cycles: "
         "large keys expiring at once.\n";
  }
  c.out.verbatim(r);
}

// An ASCII chart of an event's samples: one column each, '#' up to its share of the worst.
void latency_graph_cmd(CommandContext& c) {
  const auto events = c.server->latency().events();
  const auto it = events.find(std::string(c.arg(2)));
  if (it == events.end()) {
    return c.out.error("ERR No samples available for event '" + std::string(c.arg(2)) + "'");
  }
  const auto& e = it->second;
  constexpr int kRows = 8;
  std::string g = it->first + " - high " + std::to_string(e.max_ms) + " ms\n";
  for (int row = kRows; row >= 1; --row) {
    for (const auto& s : e.samples) {
      g += s.ms * kRows >= static_cast<std::uint64_t>(row) * e.max_ms ? '#' : ' ';
    }
    g += '\n';
  }
  c.out.verbatim(g);
}

void histogram_of(CommandContext& c, const CommandSpec& s, const CommandStats::Totals& t) {
  c.out.bulk(s.name);
  c.out.map_header(2);
  c.out.bulk("calls");
  c.out.integer(static_cast<std::int64_t>(t.calls));
  c.out.bulk("histogram_usec");
  std::size_t used = 0;
  for (std::uint64_t n : t.buckets) used += n != 0;
  c.out.map_header(used);
  std::uint64_t cumulative = 0;
  for (std::size_t b = 0; b < CommandStats::kBuckets; ++b) {
    if (t.buckets[b] == 0) continue;
    cumulative += t.buckets[b];
    c.out.integer(std::int64_t{1} << b);
    c.out.integer(static_cast<std::int64_t>(cumulative));
  }
}

// LATENCY HISTOGRAM [command ...]: every command called since CONFIG RESETSTAT, or those
// named (a container names its subcommands; unknown names are skipped, as Redis does).
void latency_histogram_cmd(CommandContext& c) {
  const std::vector<CommandStats::Totals> all = c.server->command_stats().totals();
  std::vector<const CommandSpec*> chosen;
  auto consider = [&](const CommandSpec& s) {
    if (all[commands::index_of(s)].calls == 0) return;
    if (std::find(chosen.begin(), chosen.end(), &s) == chosen.end()) chosen.push_back(&s);
  };
  auto consider_tree = [&](const CommandSpec& s) {
    consider(s);
    for (const CommandSpec& sub : s.subcommands) consider(sub);
  };
  if (c.argc() == 2) {
    for (const CommandSpec& s : commands::all_commands()) consider_tree(s);
  } else {
    for (std::size_t i = 2; i < c.argc(); ++i) {
      const std::string_view name = c.arg(i);
      const std::size_t bar = name.find('|');
      const CommandSpec* s = commands::find_command(name.substr(0, bar));
      if (s != nullptr && bar != std::string_view::npos) {
        s = commands::find_subcommand(*s, name.substr(bar + 1));
        if (s != nullptr) consider(*s);
      } else if (s != nullptr) {
        consider_tree(*s);
      }
    }
  }
  c.out.map_header(chosen.size());
  for (const CommandSpec* s : chosen) histogram_of(c, *s, all[commands::index_of(*s)]);
}

void latency_help_cmd(CommandContext& c) {
  help_lines(c.out, {"LATENCY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                     "DOCTOR", "    Return a human readable latency analysis report.",
                     "GRAPH <event>", "    Return an ASCII latency graph for the <event> class.",
                     "HISTORY <event>", "    Return time-latency samples for the <event> class.",
                     "LATEST", "    Return the latest latency samples for all events.",
                     "RESET [<event> ...]", "    Reset latency data of one or more <event> classes.",
                     "    (default: reset all data for all event classes)",
                     "HISTOGRAM [COMMAND ...]", "    Return a cumulative distribution of latencies in the format of a histogram for the specified command names.",
                     "    If no commands are specified then all histograms are replied.",
                     "HELP", "    Print this help."});
}

// ---- SLOWLOG (db/slow_log.hpp) -------------------------------------------------------------

void slowlog_get_cmd(CommandContext& c) {
  std::int64_t count = 10;
  if (c.argc() > 3) return c.out.error(kErrSyntax);
  if (c.argc() == 3 && (!parse_int(c.arg(2), count) || count < -1)) {
    return c.out.error("ERR count should be greater than or equal to -1");
  }
  const auto entries = c.server->slowlog().newest(count < 0 ? SIZE_MAX : static_cast<std::size_t>(count));
  c.out.array_header(entries.size());
  for (const SlowLog::Entry& e : entries) {
    c.out.array_header(6);
    c.out.integer(static_cast<std::int64_t>(e.id));
    c.out.integer(e.time_s);
    c.out.integer(static_cast<std::int64_t>(e.usec));
    c.out.array_header(e.args.size());
    for (const std::string& a : e.args) c.out.bulk(a);
    c.out.bulk(e.addr);
    c.out.bulk(e.name);
  }
}

void slowlog_len_cmd(CommandContext& c) {
  c.out.integer(static_cast<std::int64_t>(c.server->slowlog().size()));
}

void slowlog_reset_cmd(CommandContext& c) {
  c.server->slowlog().reset();
  c.out.simple_string("OK");
}

void slowlog_help_cmd(CommandContext& c) {
  help_lines(c.out, {"SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                     "GET [<count>]", "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
                     "    Entries are made of:", "    id, timestamp, time in microseconds, arguments array, client IP and port,",
                     "    client name", "LEN", "    Return the length of the slowlog.",
                     "RESET", "    Reset the slowlog.", "HELP", "    Print this help."});
}

constexpr HandlerEntry kIntrospectionHandlers[] = {
    {"command", command_cmd},
    {"command|count", command_count_cmd},
    {"command|list", command_list_cmd},
    {"command|info", command_info_cmd},
    {"command|getkeys", command_getkeys_cmd},
    {"command|getkeysandflags", command_getkeysandflags_cmd},
    {"command|docs", command_docs_cmd},
    {"command|help", command_help_cmd},
    {"config|resetstat", config_resetstat_cmd},
    {"config|rewrite", config_rewrite_cmd},
    {"lolwut", lolwut_cmd},
    {"config|help", config_help_cmd},
    {"debug", debug_cmd},
    {"latency|latest", latency_latest_cmd},
    {"latency|history", latency_history_cmd},
    {"latency|reset", latency_reset_cmd},
    {"latency|doctor", latency_doctor_cmd},
    {"latency|graph", latency_graph_cmd},
    {"latency|histogram", latency_histogram_cmd},
    {"latency|help", latency_help_cmd},
    {"slowlog|get", slowlog_get_cmd},
    {"slowlog|len", slowlog_len_cmd},
    {"slowlog|reset", slowlog_reset_cmd},
    {"slowlog|help", slowlog_help_cmd},
};

}  // namespace

std::span<const HandlerEntry> introspection_handlers() { return kIntrospectionHandlers; }

}  // namespace lfdb::db
