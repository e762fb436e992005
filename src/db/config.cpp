#include "db/config.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>

#include "db/acl/acl_file.hpp"
#include "db/command_context.hpp"
#include "db/compact/limits.hpp"
#include "db/config_table.hpp"
#include "db/pubsub/notify.hpp"

namespace lfdb::db {
namespace {

// hz as Redis keeps it: any value 0 .. INT_MAX is taken, and held within 1 .. 500.
int clamp_hz(long long hz) { return static_cast<int>(std::clamp(hz, 1LL, 500LL)); }

bool to_int(const std::string& s, long long lo, long long hi, long long& v) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && p == s.data() + s.size() && v >= lo && v <= hi;
}

// "16mb", "64k", "1gb", plain bytes: redis.conf's memory units.
bool to_memory(const std::string& s, std::uint64_t& out) {
  std::size_t i = 0;
  std::uint64_t v = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') v = v * 10 + static_cast<std::uint64_t>(s[i++] - '0');
  if (i == 0) return false;
  std::string unit = s.substr(i);
  for (char& ch : unit) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  const std::uint64_t mul = unit.empty() ? 1 : unit == "k" ? 1000 : unit == "kb" ? 1024
                            : unit == "m" ? 1000000 : unit == "mb" ? 1u << 20
                            : unit == "g" ? 1000000000ull : unit == "gb" ? 1ull << 30 : 0;
  if (mul == 0) return false;
  out = v * mul;
  return true;
}

// The working directory, absolute ("" when getcwd fails).
std::string current_dir() {
  std::error_code ec;
  const std::filesystem::path p = std::filesystem::current_path(ec);
  return ec ? std::string() : p.string();
}

// Redis's CONFIG_BINDADDR_MAX.
constexpr std::size_t kMaxBindAddresses = 16;

// `bind`'s addresses as CONFIG GET shows them: one space between; a single empty argument (the
// config file's `bind ""`) is none.
std::string join_bind(const std::vector<std::string>& words) {
  std::string out;
  for (const std::string& w : words) {
    if (w.empty()) continue;
    if (!out.empty()) out += ' ';
    out += w;
  }
  return out;
}

lf::Status bad(const std::string& name, const std::string& why) {
  return lf::Status::error("directive '" + name + "': " + why);
}

constexpr long long kLongMax = 9223372036854775807LL;
// client-query-buffer-limit and proto-max-bulk-len: Redis 7.0 takes neither below 1mb.
constexpr std::uint64_t kMinClientLimit = 1024 * 1024;
// repl-backlog-size: Redis 7.0 takes any size from 1 byte and raises one under 16kb to 16kb (a
// backlog that small serves no resume): CONFIG GET and INFO then say 16384.
constexpr std::uint64_t kMinBacklog = 16 * 1024;

// Parameters Redis lets CONFIG SET change only with enable-protected-configs.
bool is_protected(std::string_view name) { return name == "dir" || name == "dbfilename"; }

}  // namespace

lf::Status merge_output_limits(std::string& current, const std::string& change) {
  std::vector<std::string> cur, add;
  (void)split_config_line(current, cur);
  if (!split_config_line(change, add) || add.size() % 4 != 0 || add.empty()) {
    return lf::Status::error("Wrong number of arguments in buffer limit configuration.");
  }
  for (std::size_t i = 0; i < add.size(); i += 4) {
    std::string cls = add[i];
    for (char& ch : cls) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (cls == "replica") cls = "slave";
    if (cls != "normal" && cls != "slave" && cls != "pubsub") {
      return lf::Status::error("Invalid client class specified in buffer limit configuration.");
    }
    std::uint64_t hard = 0, soft = 0;
    long long secs = 0;
    if (!to_memory(add[i + 1], hard) || !to_memory(add[i + 2], soft) ||
        !to_int(add[i + 3], 0, INT64_MAX, secs)) {
      return lf::Status::error("Error in hard, soft or soft_seconds setting in buffer limit configuration.");
    }
    for (std::size_t j = 0; j + 3 < cur.size(); j += 4) {
      if (cur[j] != cls) continue;
      cur[j + 1] = std::to_string(hard);
      cur[j + 2] = std::to_string(soft);
      cur[j + 3] = std::to_string(secs);
    }
  }
  current.clear();
  for (const std::string& t : cur) current += (current.empty() ? "" : " ") + t;
  return lf::Status();
}

OutputLimit output_limit(const std::string& canonical, std::string_view cls) {
  std::vector<std::string> t;
  (void)split_config_line(canonical, t);
  OutputLimit out;
  for (std::size_t j = 0; j + 3 < t.size(); j += 4) {
    if (t[j] != cls) continue;
    out.hard = std::stoull(t[j + 1]);
    out.soft = std::stoull(t[j + 2]);
    out.soft_seconds = std::stoll(t[j + 3]);
  }
  return out;
}

const char* to_string(DataMode d) { return d == DataMode::kGlobal ? "global" : "colors"; }

const char* to_string(FsyncPolicy p) {
  switch (p) {
    case FsyncPolicy::kAlways: return "always";
    case FsyncPolicy::kNo: return "no";
    default: return "everysec";
  }
}

lf::Status apply_directive(const std::string& name, const std::vector<std::string>& v,
                           ServerConfig& c) {
  long long x = 0;
  auto one = [&]() -> bool { return v.size() == 1; };
  if (memory::is_param(name)) {  // maxmemory & co. (db/memory/settings.hpp)
    std::string why;
    if (!one() || !memory::parse_param(name, v[0], c.memory, why)) return bad(name, why.empty() ? "expects one value" : why);
  } else if (name == "port") {
    if (!one() || !to_int(v[0], 0, 65535, x)) return bad(name, "expects a port number 0-65535");
    c.port = static_cast<std::uint16_t>(x);
  } else if (name == "bind") {
    if (v.empty()) return bad(name, "expects an address");
    if (v.size() > kMaxBindAddresses) return bad(name, "Too many bind addresses specified.");
    c.bind = join_bind(v);
  } else if (name == "threads" || name == "io-threads") {
    if (!one() || !to_int(v[0], 1, 1024, x)) return bad(name, "expects 1-1024");
    c.threads = static_cast<int>(x);
  } else if (name == "model") {
    if (!one() || !lf::parse_model(v[0], c.model)) {
      return bad(name, "expects lf, lf-multi, hsha, tpc or reactor");
    }
  } else if (name == "data") {
    if (one() && v[0] == "colors") c.data = DataMode::kColors;
    else if (one() && v[0] == "global") c.data = DataMode::kGlobal;
    else return bad(name, "expects colors or global");
  } else if (name == "requirepass") {
    if (!one()) return bad(name, "expects one password");
    c.requirepass = v[0];
  } else if (name == "aclfile") {
    if (!one()) return bad(name, "expects one path");
    c.aclfile = v[0];
  } else if (name == "user") {
    if (v.empty()) return bad(name, "Bad directive or wrong number of arguments");
    const std::vector<std::string_view> rules(v.begin() + 1, v.end());
    std::shared_ptr<acl::User> u;
    if (std::string e = acl::user_from_words(v[0], rules, u); !e.empty()) {
      return bad(name, "Error in user declaration '" + v[0] + "': " + e);
    }
    c.users.push_back(v);
  } else if (name == "maxclients") {
    if (!one() || !to_int(v[0], 1, 1000000, x)) return bad(name, "expects 1-1000000");
    c.maxclients = static_cast<std::size_t>(x);
  } else if (name == "colors") {
    if (!one() || !to_int(v[0], 1, 1 << 20, x)) return bad(name, "expects 1-1048576");
    std::uint32_t p = 1;
    while (p < x) p <<= 1;
    c.colors = p;
  } else if (name == "databases") {
    // Each database has a partition per color: the bound keeps an idle server's memory sane.
    if (!one() || !to_int(v[0], 1, 4096, x)) return bad(name, "expects 1-4096");
    c.databases = static_cast<std::uint32_t>(x);
  } else if (name == "events-per-turn") {
    if (!one() || !to_int(v[0], 1, 1024, x)) return bad(name, "expects 1-1024");
    c.events_per_turn = static_cast<int>(x);
  } else if (name == "handle-set") {
    if (!one() || !lf::parse_handle_set(v[0], c.handle_set)) return bad(name, "expects epoll-oneshot, epoll-et, io_uring or uring-completion");
  } else if (name == "promotion") {
    if (one() && v[0] == "lifo") c.promotion = lf::Promotion::kLifo;
    else if (one() && v[0] == "fifo") c.promotion = lf::Promotion::kFifo;
    else return bad(name, "expects lifo or fifo");
  } else if (name == "loglevel") {
    if (!one()) return bad(name, "expects debug, verbose, notice or warning");
    c.loglevel = v[0];
  } else if (name == "hz") {
    if (!one() || !to_int(v[0], 0, INT32_MAX, x)) return bad(name, "expects 0-2147483647 (kept within 1-500)");
    c.hz = clamp_hz(x);
  } else if (name == "busy-reply-threshold" || name == "lua-time-limit") {
    if (!one() || !to_int(v[0], 0, 86400000, x)) return bad(name, "expects milliseconds, 0-86400000");
    c.busy_reply_threshold_ms = x;
  } else if (name == "port-file") {
    if (!one()) return bad(name, "expects a path");
    c.port_file = v[0];
  } else if (name == "appendonly" || name == "aof-load-truncated" || name == "aof-load-corrupt" ||
             name == "aof-use-snapshot-preamble" ||
             name == "lazy-promotion" || name == "protected-mode") {
    if (!one() || (v[0] != "no" && v[0] != "yes")) return bad(name, "expects yes or no");
    const bool yes = v[0] == "yes";
    if (name == "appendonly") c.appendonly = yes;
    else if (name == "aof-load-truncated") c.aof_load_truncated = yes;
    else if (name == "aof-load-corrupt") c.aof_load_corrupt = yes;
    else if (name == "aof-use-snapshot-preamble") c.aof_use_snapshot_preamble = yes;
    else if (name == "lazy-promotion") c.lazy_promotion = yes;
    else c.protected_mode = yes;
  } else if (name == "appendfsync") {
    if (!one()) return bad(name, "expects always, everysec or no");
    if (v[0] == "always") c.appendfsync = FsyncPolicy::kAlways;
    else if (v[0] == "everysec") c.appendfsync = FsyncPolicy::kEverySec;
    else if (v[0] == "no") c.appendfsync = FsyncPolicy::kNo;
    else return bad(name, "expects always, everysec or no");
  } else if (name == "dir") {
    if (!one() || v[0].empty()) return bad(name, "expects a directory");
    c.dir = v[0];
  } else if (name == "dbfilename") {
    if (!one() || v[0].empty()) return bad(name, "expects a file name");
    if (v[0].find_first_of("/\\") != std::string::npos) return bad(name, "dbfilename can't be a path, just a filename");
    c.dbfilename = v[0];
  } else if (name == "notify-keyspace-events") {
    const int flags = v.size() == 1 ? pubsub::parse_event_flags(v[0]) : -1;
    if (flags < 0) return bad(name, "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.");
    c.notify_keyspace_events = pubsub::format_event_flags(flags);
  } else if (name == "client-output-buffer-limit") {
    std::string change;
    for (const std::string& t : v) change += (change.empty() ? "" : " ") + t;
    if (lf::Status st = merge_output_limits(c.client_output_buffer_limit, change); !st.ok()) {
      return bad(name, st.message());
    }
  } else if (name == "client-query-buffer-limit" || name == "proto-max-bulk-len") {
    std::uint64_t bytes = 0;
    if (!one() || !to_memory(v[0], bytes) || bytes < kMinClientLimit || bytes > static_cast<std::uint64_t>(kLongMax)) {
      return bad(name, "expects a size of at least 1mb");
    }
    (name == "proto-max-bulk-len" ? c.proto_max_bulk_len : c.client_query_buffer_limit) = bytes;
  } else if (name == "rdb-key-save-delay") {
    if (!one() || !to_int(v[0], INT32_MIN, INT32_MAX, x)) return bad(name, "expects microseconds");
    c.rdb_key_save_delay_us = static_cast<int>(x);
  } else if (name == "save") {
    std::string all;
    for (const auto& x : v) all += (all.empty() ? "" : " ") + x;
    std::vector<std::pair<std::int64_t, std::uint64_t>> points;
    if (!parse_save_points(all, points)) return bad(name, "expects <seconds> <changes> pairs, or \"\"");
    c.save = all;
  } else if (name == "appendfilename") {
    if (!one() || v[0].empty() || v[0].find('/') != std::string::npos) {
      return bad(name, "expects a file name (no directory: see 'dir')");
    }
    c.appendfilename = v[0];
  } else if (name == "replicaof" || name == "slaveof") {
    std::vector<std::string> hp = v;
    if (hp.size() == 1 && hp[0].find(' ') != std::string::npos) {  // "host port" as one value
      hp = {hp[0].substr(0, hp[0].find(' ')), hp[0].substr(hp[0].find(' ') + 1)};
    }
    const std::vector<std::string>& v = hp;
    if (v.size() == 2 && (v[0] == "no" || v[0] == "NO") && (v[1] == "one" || v[1] == "ONE")) {
      c.replicaof_host.clear();
      c.replicaof_port = 0;
    } else if (v.size() != 2 || v[0].empty() || !to_int(v[1], 1, 65535, x)) {
      return bad(name, "expects a host and a port");
    } else {
      c.replicaof_host = v[0];
      c.replicaof_port = static_cast<std::uint16_t>(x);
    }
  } else if (name == "backup-dir") {
    if (!one() || v[0].empty()) return bad(name, "expects a directory");
    c.backup_dir = v[0];
  } else if (name == "masterauth") {
    if (!one()) return bad(name, "expects one password");
    c.masterauth = v[0];
  } else if (name == "repl-backlog-size") {
    std::uint64_t bytes = 0;
    if (!one() || !to_memory(v[0], bytes) || bytes < 1) {
      return bad(name, "expects a size of at least 1 byte (e.g. 16mb)");
    }
    c.repl_backlog_size = static_cast<std::size_t>(std::max(bytes, kMinBacklog));
  } else if (const ParamSpec* p = find_param(name)) {  // the table's rows (config_table.hpp)
    const bool words = p->kind == ParamSpec::kFlags || p->kind == ParamSpec::kPercentiles ||
                       p->kind == ParamSpec::kOomValues;
    if (!words && !one()) return bad(name, "expects one value");
    std::string value;
    for (const std::string& w : v) value += (value.empty() ? "" : " ") + w;
    std::string normalized;
    if (std::string why = check_param(*p, value, normalized); !why.empty()) return bad(name, why);
    if (std::string why = refuse_reason(*p, normalized); !why.empty()) return bad(name, why);
    c.tuning[std::string(p->name)] = normalized;
    if (p->name == "enable-debug-command") c.enable_debug_command = normalized != "no";
  } else if (name == "loadmodule" || name == "rename-command" || name == "sentinel") {
    // Redis's file-only directives for features lfdb-server does not have: refused, not ignored.
    return bad(name, name == "loadmodule" ? "lfdb-server has no modules"
                     : name == "sentinel" ? "lfdb-server is not a sentinel"
                                          : "lfdb-server does not rename commands");
  } else {
    return lf::Status::error("unknown directive '" + name + "'");
  }
  return lf::Status();
}

namespace {

// One config file's directives into `out`; `include <path>` reads another file in its place,
// as Redis does (`depth` stops a file that includes itself).
lf::Status load_config_file(const std::string& path, ServerConfig& out, int depth) {
  std::ifstream f(path);
  if (!f) return lf::Status::error("cannot open config file '" + path + "'");
  std::string line;
  int lineno = 0;
  std::vector<std::string> words;
  while (std::getline(f, line)) {
    ++lineno;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    std::size_t start = line.find_first_not_of(" \t");
    if (start == std::string::npos || line[start] == '#') continue;
    const std::string where = path + ":" + std::to_string(lineno) + ": ";
    if (!split_config_line(line, words)) return lf::Status::error(where + "unbalanced quotes");
    if (words.empty()) continue;
    std::string name = words[0];
    for (char& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    words.erase(words.begin());
    if (name == "include") {
      if (words.size() != 1) return lf::Status::error(where + "directive 'include': expects one path");
      if (depth >= 16) return lf::Status::error(where + "directive 'include': nested too deep");
      if (lf::Status st = load_config_file(words[0], out, depth + 1); !st.ok()) {
        return lf::Status::error(where + st.message());
      }
      continue;
    }
    lf::Status st = apply_directive(name, words, out);
    if (!st.ok()) return lf::Status::error(where + st.message());
  }
  return lf::Status();
}

}  // namespace

lf::Status enter_dir(ServerConfig& c) {
  if (::chdir(c.dir.c_str()) != 0) {
    return lf::Status::error("Can't chdir to '" + c.dir + "': " + std::strerror(errno), errno);
  }
  const std::string here = current_dir();
  if (!here.empty()) c.dir = here;
  return lf::Status();
}

lf::Status parse_command_line(int argc, char** argv, ServerConfig& out) {
  int i = 1;
  if (argc > 1 && argv[1][0] != '-') {
    const std::string path = argv[1];
    if (lf::Status st = load_config_file(path, out, 0); !st.ok()) return st;
    std::error_code ec;
    out.config_file = std::filesystem::absolute(path, ec).string();  // CONFIG REWRITE's target
    i = 2;
  }
  while (i < argc) {
    std::string flag = argv[i++];
    if (flag == "--help" || flag == "-h") {
      return lf::Status::error("usage");
    }
    if (flag.rfind("--", 0) != 0) return lf::Status::error("unexpected argument '" + flag + "'");
    std::string name = flag.substr(2);
    for (char& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    std::vector<std::string> values;
    while (i < argc && std::string_view(argv[i]).rfind("--", 0) != 0) values.push_back(argv[i++]);
    // `--save ""` is how a redis-server user turns snapshots off: keep an empty value.
    lf::Status st = apply_directive(name, values, out);
    if (!st.ok()) return lf::Status::error("--" + name + ": " + st.message());
  }
  if (!out.aclfile.empty() && !out.users.empty()) {
    return lf::Status::error(
        "Configuring Redis with users defined in redis.conf and at the same setting an ACL file "
        "path is invalid. This setup is very likely to lead to configuration errors and security "
        "holes, please define either an ACL file or declare users directly in your redis.conf, "
        "but not both.");
  }
  return lf::Status();
}

namespace {

// Every parameter's value as CONFIG GET shows it, for a server started with `c`.
std::map<std::string, std::string> values_of(const ServerConfig& c) {
  std::map<std::string, std::string> values = {{"bind", c.bind},
             {"port", std::to_string(c.port)},
             {"threads", std::to_string(c.threads)},
             {"model", lf::to_string(c.model)},
             {"data", to_string(c.data)},
             {"requirepass", c.requirepass},
             {"aclfile", c.aclfile},
             {"protected-mode", c.protected_mode ? "yes" : "no"},
             {"maxclients", std::to_string(c.maxclients)},
             {"colors", std::to_string(c.colors)},
             {"events-per-turn", std::to_string(c.events_per_turn)},
             {"handle-set", lf::to_string(c.handle_set)},
             {"lazy-promotion", c.lazy_promotion ? "yes" : "no"},
             {"hz", std::to_string(c.hz)},
             {"busy-reply-threshold", std::to_string(c.busy_reply_threshold_ms)},
             {"lua-time-limit", std::to_string(c.busy_reply_threshold_ms)},
             {"loglevel", c.loglevel},
             {"save", c.save},
             {"dbfilename", c.dbfilename},
             {"rdb-key-save-delay", std::to_string(c.rdb_key_save_delay_us)},
             {"appendonly", c.appendonly ? "yes" : "no"},
             {"appendfsync", to_string(c.appendfsync)},
             {"appendfilename", c.appendfilename},
             {"dir", c.dir},
             {"aof-load-truncated", c.aof_load_truncated ? "yes" : "no"},
             {"replicaof", c.replicaof_host.empty() ? "" : c.replicaof_host + " " + std::to_string(c.replicaof_port)},
             {"daemonize", "no"},
             {"repl-backlog-size", std::to_string(c.repl_backlog_size)},
             {"backup-dir", c.backup_dir},
             {"client-output-buffer-limit", c.client_output_buffer_limit},
             {"client-query-buffer-limit", std::to_string(c.client_query_buffer_limit)},
             {"proto-max-bulk-len", std::to_string(c.proto_max_bulk_len)},
             {"notify-keyspace-events", c.notify_keyspace_events},
             {"databases", std::to_string(c.databases)}};
  for (std::string_view p : memory::kParams) values[std::string(p)] = memory::format_param(p, c.memory);
  for (const ParamSpec& p : param_table()) {
    const std::string v = c.param(p.name);
    values[std::string(p.name)] = v;
    if (!p.alias.empty()) values[std::string(p.alias)] = v;
  }
  values["io-threads"] = std::to_string(c.threads);  // Redis's name for lfdb's threads
  values["masterauth"] = c.masterauth;
  values["slaveof"] = values["replicaof"];  // Redis's older name
  return values;
}

// Redis's older names: CONFIG GET answers them, CONFIG REWRITE writes the newer one.
std::string canonical_name(const std::string& name) {
  if (name == "slaveof") return "replicaof";
  if (name == "lua-time-limit") return "busy-reply-threshold";
  if (name == "io-threads") return "threads";
  if (const ParamSpec* p = find_param(name)) return std::string(p->name);
  return name;
}

// A parameter as one config-file line, written as Redis writes it: sizes in the largest unit
// that divides them ("1mb"), names and passwords always quoted, the values that are several
// words (save points, output limits, host and port) as those words; any other value is one
// argument, quoted when split_config_line would otherwise cut it.
std::string config_line(const std::string& name, const std::string& value) {
  static const std::set<std::string> sizes = {"maxmemory", "repl-backlog-size",
                                              "client-query-buffer-limit", "proto-max-bulk-len",
                                              "maxmemory-clients"};
  static const std::set<std::string> quoted = {"notify-keyspace-events", "requirepass", "masterauth", "aclfile",
                                               "dbfilename", "appendfilename", "dir", "backup-dir"};
  const ParamSpec* p = find_param(name);
  const bool size = sizes.count(name) != 0 || (p != nullptr && p->kind == ParamSpec::kMemory);
  if (size && !value.empty() && value.find_first_not_of("0123456789") == std::string::npos) {
    const std::uint64_t bytes = std::stoull(value);
    for (const auto& [unit, mul] : {std::pair{"gb", 1ull << 30}, {"mb", 1ull << 20}, {"kb", 1ull << 10}}) {
      if (bytes != 0 && bytes % mul == 0) return name + " " + std::to_string(bytes / mul) + unit;
    }
    return name + " " + value;
  }
  const bool words = name == "save" || name == "client-output-buffer-limit" || name == "replicaof" ||
                     name == "bind" ||
                     (p != nullptr && (p->kind == ParamSpec::kFlags || p->kind == ParamSpec::kPercentiles ||
                                       p->kind == ParamSpec::kOomValues));
  bool plain = !value.empty() && quoted.count(name) == 0;
  for (char ch : value) {
    if (std::isspace(static_cast<unsigned char>(ch)) || ch == '"' || ch == '\\' || ch == '\'') {
      plain = plain && words && std::isspace(static_cast<unsigned char>(ch));
    }
  }
  if (plain) return name + " " + value;
  std::string q = name + " \"";
  for (char ch : value) {
    if (ch == '"' || ch == '\\') q += '\\';
    if (ch == '\n') {
      q += "\\n";
      continue;
    }
    q += ch;
  }
  return q + "\"";
}

// The compact encodings' limits take effect (db/compact/limits.hpp); `values` are checked.
void apply_encoding_limits(std::map<std::string, std::string>& values) {
  compact::EncodingLimits& l = compact::limits();
  l.zset_entries.store(std::stoull(values["zset-max-listpack-entries"]), std::memory_order_relaxed);
  l.zset_value.store(std::stoull(values["zset-max-listpack-value"]), std::memory_order_relaxed);
  l.hash_entries.store(std::stoull(values["hash-max-listpack-entries"]), std::memory_order_relaxed);
  l.hash_value.store(std::stoull(values["hash-max-listpack-value"]), std::memory_order_relaxed);
  l.list_fill.store(std::stoll(values["list-max-listpack-size"]), std::memory_order_relaxed);
  l.set_entries.store(std::stoull(values["set-max-intset-entries"]), std::memory_order_relaxed);
  l.list_depth.store(std::stoull(values["list-compress-depth"]), std::memory_order_relaxed);
}

}  // namespace

Config::Config(const ServerConfig& c) : config_file_(c.config_file) {
  lf::MutexLock lock(mu_);
  values_ = values_of(c);
  memory::live().store(c.memory);
  // The stream block bounds take effect (db/stream/stream.hpp).
  stream::Stream::set_block_limits(std::stoull(values_["stream-node-max-entries"]),
                                   std::stoull(values_["stream-node-max-bytes"]));
  apply_encoding_limits(values_);
}

lf::Status Config::rewrite(const std::vector<std::string>& user_lines) const {
  if (config_file_.empty()) return lf::Status::error("ERR The server is running without a config file");
  const auto failed = [](int err) {
    return lf::Status::error(std::string("ERR Rewriting config file: ") + std::strerror(err));
  };
  std::vector<std::string> lines;
  {
    std::ifstream in(config_file_);
    if (!in) return failed(errno);
    for (std::string line; std::getline(in, line);) lines.push_back(std::move(line));
  }
  const std::map<std::string, std::string> defaults = values_of(ServerConfig{});
  std::map<std::string, std::string> now;
  {
    lf::MutexLock lock(mu_);
    now = values_;
  }
  // Where each parameter stands in the file (a known name, maybe under an older one).
  std::map<std::string, std::vector<std::size_t>> at;
  std::vector<std::string> words;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const std::size_t start = lines[i].find_first_not_of(" \t");
    if (start == std::string::npos || lines[i][start] == '#') continue;
    if (!split_config_line(lines[i], words) || words.empty()) continue;
    std::string name = words[0];
    for (char& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    name = canonical_name(name);
    if (now.count(name) != 0 || name == "user") at[name].push_back(i);
  }
  std::vector<bool> drop(lines.size(), false);
  std::vector<std::string> added;
  {
    const std::vector<std::size_t>& users_at = at["user"];
    for (std::size_t j = 0; j < users_at.size(); ++j) {
      if (j < user_lines.size()) {
        lines[users_at[j]] = user_lines[j];
      } else {
        drop[users_at[j]] = true;
      }
    }
  }
  for (const auto& [name, value] : now) {
    if (canonical_name(name) != name) continue;  // written under its newer name
    const auto it = at.find(name);
    if (it == at.end()) {
      const auto d = defaults.find(name);
      if (d == defaults.end() || d->second != value) added.push_back(config_line(name, value));
      continue;
    }
    // Redis drops a `bind` line that says the default ("* -::*"): the default is no line.
    const bool drop_default = name == "bind" && defaults.at(name) == value;
    if (!drop_default) lines[it->second[0]] = config_line(name, value);
    for (std::size_t j = drop_default ? 0 : 1; j < it->second.size(); ++j) drop[it->second[j]] = true;
  }
  for (std::size_t j = at["user"].size(); j < user_lines.size(); ++j) added.push_back(user_lines[j]);
  bool signed_already = false;
  for (const std::string& l : lines) signed_already = signed_already || l == "# Generated by CONFIG REWRITE";
  std::string text;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (!drop[i]) text += lines[i] + "\n";
  }
  if (!added.empty() && !signed_already) text += "# Generated by CONFIG REWRITE\n";
  for (const std::string& l : added) text += l + "\n";
  // A new file renamed over the old one: a crash midway leaves the old file whole.
  const std::string tmp = config_file_ + ".rewrite-tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return failed(errno);
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      return failed(err);
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0 || ::rename(tmp.c_str(), config_file_.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return failed(err);
  }
  return lf::Status();
}



std::vector<std::pair<std::string, std::string>> Config::get(std::string_view pattern) const {
  std::vector<std::pair<std::string, std::string>> out;
  lf::MutexLock lock(mu_);
  for (const auto& [k, v] : values_) {
    // Testing knobs answer to their exact name only, as Redis's hidden configs do.
    const ParamSpec* p = find_param(k);
    const bool hidden = k == "rdb-key-save-delay" || (p != nullptr && (p->flags & kHidden) != 0);
    if (hidden ? iequal(pattern, k) : glob_match(pattern, k, /*nocase=*/true)) out.emplace_back(k, v);
  }
  return out;
}

// The first of a value's space-separated words ("" if none).

lf::Status Config::set(const std::vector<std::pair<std::string, std::string>>& pairs, bool local_client) {
  static const std::set<std::string> mutable_params = {"requirepass", "loglevel", "hz", "save",
                                                       "busy-reply-threshold", "lua-time-limit",
                                                       "protected-mode", "rdb-key-save-delay",
                                                       "client-output-buffer-limit",
                                                       "client-query-buffer-limit",
                                                       "proto-max-bulk-len",
                                                       "notify-keyspace-events",
                                                       "aof-load-truncated", "repl-backlog-size",
                                                       "port", "bind", "masterauth", "dir",
                                                       "dbfilename"};
  // What Redis itself never changes at run time: refused whatever the value, as Redis does.
  static const std::set<std::string> immutable_params = {"databases", "daemonize", "appendfilename", "aclfile",
                                                         "replicaof", "slaveof"};
  // Every other parameter lfdb lists is one it takes only at start (the listening socket, the
  // concurrency model, the log): a CONFIG SET that keeps its value changes nothing and is
  // answered OK, as Redis answers a set that changes nothing; a new value is refused as immutable.
  lf::MutexLock lock(mu_);
  std::set<std::string> seen;
  std::vector<std::pair<const ParamSpec*, std::string>> rows;  // the table's, checked and normalized
  memory::Limits limits = memory::live().load();  // maxmemory & co., applied once all are valid
  for (const auto& [k, v] : pairs) {
    if (values_.count(k) == 0) {
      return lf::Status::error("ERR Unknown option or number of arguments for CONFIG SET - '" + k + "'");
    }
    if (!seen.insert(k).second) {
      return lf::Status::error("ERR CONFIG SET failed (possibly related to argument '" + k +
                               "') - duplicate parameter");
    }
    const std::string& key = k;  // a structured binding: clang 14 cannot capture it
    const auto failed = [&key](const std::string& why) {
      return lf::Status::error("ERR CONFIG SET failed (possibly related to argument '" + key + "') - " + why);
    };
    if (const ParamSpec* p = find_param(k)) {
      if ((p->flags & kImmutable) != 0) return failed("can't set immutable config");
      std::string normalized;
      if (std::string why = check_param(*p, v, normalized); !why.empty()) return failed(why);
      if (std::string why = refuse_reason(*p, normalized); !why.empty()) return failed(why);
      rows.emplace_back(p, std::move(normalized));
      continue;
    }
    if (is_protected(k)) {
      const std::string& allowed = values_["enable-protected-configs"];
      if (allowed == "no" || (allowed == "local" && !local_client)) return failed("can't set protected config");
    }
    if (memory::is_param(k)) {
      std::string why;
      if (!memory::parse_param(k, v, limits, why)) {
        return lf::Status::error("ERR CONFIG SET failed (possibly related to argument '" + k + "') - " + why);
      }
      continue;
    }
    if (mutable_params.count(k) == 0) {
      if (immutable_params.count(k) == 0 && values_[k] == v) continue;
      return lf::Status::error("ERR CONFIG SET failed (possibly related to argument '" + k +
                               "') - can't set immutable config");
    }
    long long x = 0;
    std::vector<std::pair<std::int64_t, std::uint64_t>> points;
    if (k == "save" && !parse_save_points(v, points)) {
      return lf::Status::error("ERR CONFIG SET failed (possibly related to argument 'save') - Invalid save parameters");
    }
    if (k == "client-output-buffer-limit") {
      std::string merged = values_[k];
      if (lf::Status st = merge_output_limits(merged, v); !st.ok()) {
        return lf::Status::error("ERR CONFIG SET failed (possibly related to argument '" + k +
                                 "') - " + st.message());
      }
    }
    if (k == "repl-backlog-size") {
      std::uint64_t bytes = 0;
      if (!to_memory(v, bytes)) {
        return lf::Status::error("ERR CONFIG SET failed (possibly related to argument '" + k +
                                 "') - argument must be a memory value");
      }
      if (bytes < 1 || bytes > static_cast<std::uint64_t>(kLongMax)) {
        return lf::Status::error("ERR CONFIG SET failed (possibly related to argument '" + k +
                                 "') - argument must be between 1" +
                                 " and " + std::to_string(kLongMax) + " inclusive");
      }
    }
    if (k == "client-query-buffer-limit" || k == "proto-max-bulk-len") {
      std::uint64_t bytes = 0;
      if (!to_memory(v, bytes)) {
        return lf::Status::error("ERR CONFIG SET failed (possibly related to argument '" + k +
                                 "') - argument must be a memory value");
      }
      if (bytes < kMinClientLimit || bytes > static_cast<std::uint64_t>(kLongMax)) {
        return lf::Status::error("ERR CONFIG SET failed (possibly related to argument '" + k +
                                 "') - argument must be between " + std::to_string(kMinClientLimit) +
                                 " and " + std::to_string(kLongMax) + " inclusive");
      }
    }
    // dir: the process's working directory, as Redis's (it chdir()s there); checked here
    // that it can be entered, entered below once every value is valid.
    if (k == "dir") {
      struct stat st {};
      const int err = ::stat(v.c_str(), &st) != 0 ? errno
                      : !S_ISDIR(st.st_mode)           ? ENOTDIR
                      : ::access(v.c_str(), X_OK) != 0 ? errno
                                                       : 0;
      if (err != 0) return failed(std::strerror(err));
    }
    if (k == "dbfilename" && v.find_first_of("/\\") != std::string::npos) {
      return failed("dbfilename can't be a path, just a filename");
    }
    // The listener's: the caller moves it once the values are in (Server::listen_at) and
    // puts every value back if it cannot.
    if (k == "port" && !to_int(v, 0, 65535, x)) {
      return lf::Status::error("ERR CONFIG SET failed (possibly related to argument 'port') - " +
                               std::string(to_int(v, LLONG_MIN, LLONG_MAX, x)
                                               ? "argument must be between 0 and 65535 inclusive"
                                               : "argument couldn't be parsed into an integer"));
    }
    if (k == "bind") {  // several arguments in one, as Redis splits them
      std::vector<std::string> words;
      const char* why = nullptr;
      if (!split_config_line(v, words)) why = "Unbalanced quotes in configuration line";
      else if (words.size() > kMaxBindAddresses) why = "Too many bind addresses specified.";
      if (why != nullptr) {
        return lf::Status::error("ERR CONFIG SET failed (possibly related to argument 'bind') - " +
                                 std::string(why));
      }
    }
    if (k == "notify-keyspace-events" && pubsub::parse_event_flags(v) < 0) {
      return lf::Status::error("ERR CONFIG SET failed (possibly related to argument '" + k +
                               "') - Invalid event class character. Use 'Ag$lshzxeKEtmdn'.");
    }
    if ((k == "protected-mode" || k == "aof-load-truncated") && v != "yes" && v != "no") {
      return lf::Status::error("ERR CONFIG SET failed (possibly related to argument '" + k +
                               "') - argument must be 'yes' or 'no'");
    }
    if (k == "hz" && to_int(v, LLONG_MIN, LLONG_MAX, x) && !to_int(v, 0, INT32_MAX, x)) {
      return lf::Status::error("ERR CONFIG SET failed (possibly related to argument 'hz') - "
                               "argument must be between 0 and 2147483647 inclusive");
    }
    if ((k == "hz" && !to_int(v, 0, INT32_MAX, x)) ||
        (k == "rdb-key-save-delay" && !to_int(v, INT32_MIN, INT32_MAX, x)) ||
        ((k == "busy-reply-threshold" || k == "lua-time-limit") && !to_int(v, 0, 86400000, x))) {
      return lf::Status::error("ERR CONFIG SET failed (possibly related to argument '" + k +
                               "') - argument couldn't be parsed into an integer");
    }
  }
  for (const auto& [p, v] : rows) {
    values_[std::string(p->name)] = v;
    if (!p->alias.empty()) values_[std::string(p->alias)] = v;
  }
  stream::Stream::set_block_limits(std::stoull(values_["stream-node-max-entries"]),
                                   std::stoull(values_["stream-node-max-bytes"]));
  apply_encoding_limits(values_);
  for (const auto& [k, v] : pairs) {
    if (memory::is_param(k)) {
      values_[k] = memory::format_param(k, limits);
      memory::live().store(limits);
      continue;
    }
    if (find_param(k) != nullptr) continue;
    if (k == "client-output-buffer-limit") {  // merged into the classes it does not name
      (void)merge_output_limits(values_[k], v);  // checked above
      continue;
    }
    if (mutable_params.count(k) == 0) continue;  // kept its value (checked above)
    if (k == "client-query-buffer-limit" || k == "proto-max-bulk-len" || k == "repl-backlog-size") {  // as bytes
      std::uint64_t bytes = 0;
      (void)to_memory(v, bytes);
      if (k == "repl-backlog-size") bytes = std::max(bytes, kMinBacklog);
      values_[k] = std::to_string(bytes);
      continue;
    }
    if (k == "notify-keyspace-events") {  // kept in Redis's canonical letters
      values_[k] = pubsub::format_event_flags(pubsub::parse_event_flags(v));
      continue;
    }
    if (k == "port") {
      values_[k] = std::to_string(std::stoll(v));  // checked above
      continue;
    }
    if (k == "hz") {  // Redis takes 0 .. INT_MAX and keeps it within 1 .. 500
      values_[k] = std::to_string(clamp_hz(std::stoll(v)));
      continue;
    }
    if (k == "dir") {  // CONFIG GET shows where the process now is: an absolute path
      if (::chdir(v.c_str()) != 0) {
        std::fprintf(stderr, "lfdb-server: CONFIG SET dir: chdir %s: %s\n", v.c_str(), std::strerror(errno));
        continue;  // checked above: only a directory removed meanwhile gets here; dir stays
      }
      values_[k] = current_dir();
      continue;
    }
    if (k == "bind") {  // its addresses, one space between them (checked above)
      std::vector<std::string> words;
      (void)split_config_line(v, words);
      values_[k] = join_bind(words);
      continue;
    }
    values_[k] = v;
    if (k == "busy-reply-threshold") values_["lua-time-limit"] = v;  // two names, one setting
    if (k == "lua-time-limit") values_["busy-reply-threshold"] = v;
  }
  return lf::Status();
}

std::string Config::output_limits() const {
  lf::MutexLock lock(mu_);
  return values_.at("client-output-buffer-limit");
}

std::string Config::value(std::string_view name) const {
  lf::MutexLock lock(mu_);
  const auto it = values_.find(std::string(name));
  return it == values_.end() ? std::string() : it->second;
}

std::string ServerConfig::param(std::string_view name) const {
  const auto given = tuning.find(std::string(name));
  if (given != tuning.end()) return given->second;
  const ParamSpec* p = find_param(name);
  return p == nullptr ? std::string() : std::string(p->initial);
}

std::string Config::requirepass() const {
  lf::MutexLock lock(mu_);
  return values_.at("requirepass");
}

int Config::rdb_key_save_delay_us() const {
  lf::MutexLock lock(mu_);
  return std::stoi(values_.at("rdb-key-save-delay"));  // validated when set
}

bool parse_save_points(const std::string& text, std::vector<std::pair<std::int64_t, std::uint64_t>>& out) {
  out.clear();
  std::vector<std::string> words;
  std::string w;
  for (char ch : text) {
    if (ch == ' ' || ch == '\t') {
      if (!w.empty()) words.push_back(std::move(w));
      w.clear();
    } else {
      w += ch;
    }
  }
  if (!w.empty()) words.push_back(std::move(w));
  if (words.size() % 2 != 0) return false;
  for (std::size_t i = 0; i < words.size(); i += 2) {
    long long secs = 0, changes = 0;
    if (!to_int(words[i], 1, 100LL * 365 * 86400, secs) || !to_int(words[i + 1], 1, INT64_MAX, changes)) return false;
    out.emplace_back(secs, static_cast<std::uint64_t>(changes));
  }
  return true;
}

}  // namespace lfdb::db
