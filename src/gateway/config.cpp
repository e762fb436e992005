#include "gateway/config.hpp"

#include <yaml-cpp/yaml.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

namespace lfdb::gateway {
namespace {

constexpr int kSlots = 16384;

lf::Status bad(const std::string& where, const std::string& why) {
  return lf::Status::error(where + ": " + why);
}

// Keys are compared with '-' and '_' alike, so `allow-admin` and `allow_admin` both work.
std::string norm(std::string k) {
  std::replace(k.begin(), k.end(), '-', '_');
  return k;
}

bool to_int(const std::string& s, long long lo, long long hi, long long& v) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && p == s.data() + s.size() && v >= lo && v <= hi;
}

// yaml-cpp reports type errors by throwing; they stay inside this file and become a Status.
lf::Status scalar(const YAML::Node& n, const std::string& where, std::string& out) {
  if (!n.IsScalar()) return bad(where, "expected a value");
  out = n.Scalar();
  return lf::Status();
}

lf::Status integer(const YAML::Node& n, const std::string& where, long long lo, long long hi,
                   long long& out) {
  std::string s;
  if (auto st = scalar(n, where, s); !st.ok()) return st;
  if (!to_int(s, lo, hi, out)) {
    return bad(where, "expected an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) +
                          "], got '" + s + "'");
  }
  return lf::Status();
}

lf::Status boolean(const YAML::Node& n, const std::string& where, bool& out) {
  std::string s;
  if (auto st = scalar(n, where, s); !st.ok()) return st;
  if (s == "true" || s == "yes" || s == "on") out = true;
  else if (s == "false" || s == "no" || s == "off") out = false;
  else return bad(where, "expected true or false, got '" + s + "'");
  return lf::Status();
}

lf::Status millis(const YAML::Node& n, const std::string& where, lf::Duration& out) {
  long long v = 0;
  if (auto st = integer(n, where, 1, 86400000, v); !st.ok()) return st;
  out = std::chrono::milliseconds(v);
  return lf::Status();
}

lf::Status size_value(const YAML::Node& n, const std::string& where, std::size_t& out) {
  long long v = 0;
  if (auto st = integer(n, where, 1, (1ll << 40), v); !st.ok()) return st;
  out = static_cast<std::size_t>(v);
  return lf::Status();
}

lf::Status hash_tag_value(const YAML::Node& n, const std::string& where) {
  std::string s;
  if (auto st = scalar(n, where, s); !st.ok()) return st;
  // The slot function is Redis Cluster's, shared with the server: its tags are braces.
  if (s != "{}") return bad(where, "only \"{}\" is supported (Redis Cluster hash tags), got '" + s + "'");
  return lf::Status();
}

lf::Status listen_value(const YAML::Node& n, const std::string& where, Config& out) {
  std::string s;
  if (auto st = scalar(n, where, s); !st.ok()) return st;
  Endpoint e;
  if (auto st = parse_endpoint(s, e); !st.ok()) return bad(where, st.message());
  out.bind = e.host;
  out.port = e.port;
  return lf::Status();
}

lf::Status slot_range(const std::string& s, const std::string& where, ShardConfig& sh) {
  const std::size_t dash = s.find('-');
  long long lo = 0, hi = 0;
  if (dash == std::string::npos || !to_int(s.substr(0, dash), 0, kSlots - 1, lo) ||
      !to_int(s.substr(dash + 1), 0, kSlots - 1, hi) || lo > hi) {
    return bad(where, "expected a slot range 'lo-hi' within 0-16383, got '" + s + "'");
  }
  sh.slot_lo = static_cast<int>(lo);
  sh.slot_hi = static_cast<int>(hi);
  return lf::Status();
}

lf::Status parse_shard(const YAML::Node& n, const std::string& where, ShardConfig& sh) {
  if (n.IsScalar()) {  // shorthand: "- 127.0.0.1:7001"
    if (auto st = parse_endpoint(n.Scalar(), sh.primary); !st.ok()) return bad(where, st.message());
    return lf::Status();
  }
  if (!n.IsMap()) return bad(where, "expected a map with 'primary' (and 'replicas', 'slots')");
  bool has_primary = false;
  for (const auto& kv : n) {
    const std::string key = norm(kv.first.as<std::string>());
    const std::string at = where + "." + key;
    if (key == "primary") {
      std::string s;
      if (auto st = scalar(kv.second, at, s); !st.ok()) return st;
      if (auto st = parse_endpoint(s, sh.primary); !st.ok()) return bad(at, st.message());
      has_primary = true;
    } else if (key == "replicas") {
      if (!kv.second.IsSequence()) return bad(at, "expected a list of host:port");
      for (std::size_t i = 0; i < kv.second.size(); ++i) {
        std::string s;
        const std::string ai = at + "[" + std::to_string(i) + "]";
        if (auto st = scalar(kv.second[i], ai, s); !st.ok()) return st;
        Endpoint e;
        if (auto st = parse_endpoint(s, e); !st.ok()) return bad(ai, st.message());
        sh.replicas.push_back(e);
      }
    } else if (key == "slots") {
      std::string s;
      if (auto st = scalar(kv.second, at, s); !st.ok()) return st;
      if (auto st = slot_range(s, at, sh); !st.ok()) return st;
    } else if (key == "weight") {
      long long w = 0;
      if (auto st = integer(kv.second, at, 1, 1000000, w); !st.ok()) return st;
      sh.weight = static_cast<int>(w);
    } else {
      return bad(at, "unknown key (expected primary, replicas, slots, weight)");
    }
  }
  if (!has_primary) return bad(where, "a shard needs a 'primary'");
  return lf::Status();
}

lf::Status parse_limits(const YAML::Node& n, const std::string& where, Limits& l) {
  if (!n.IsMap()) return bad(where, "expected a map");
  for (const auto& kv : n) {
    const std::string key = norm(kv.first.as<std::string>());
    const std::string at = where + "." + key;
    std::size_t* field = key == "max_clients"         ? &l.max_clients
                         : key == "max_bulk_len"      ? &l.max_bulk_len
                         : key == "max_multibulk_len" ? &l.max_multibulk_len
                         : key == "max_inline_len"    ? &l.max_inline_len
                         : key == "max_pipeline"      ? &l.max_pipeline
                                                      : nullptr;
    if (key == "max_output_bytes") {
      return bad(at, "replaced by client_output_buffer_limit (its soft limit is where reading stops)");
    }
    if (field == nullptr) return bad(at, "unknown limit");
    if (auto st = size_value(kv.second, at, *field); !st.ok()) return st;
  }
  return lf::Status();
}

// lfdb's own shape: top-level keys.
lf::Status parse_lfdb(const YAML::Node& root, const std::string& name, Config& out) {
  out.source = "lfdb";
  for (const auto& kv : root) {
    const std::string key = norm(kv.first.as<std::string>());
    const std::string at = name + ": " + key;
    const YAML::Node& v = kv.second;
    lf::Status st;
    long long i = 0;
    std::string s;
    if (key == "listen") {
      st = listen_value(v, at, out);
    } else if (key == "bind") {
      st = scalar(v, at, out.bind);
    } else if (key == "port") {
      if ((st = integer(v, at, 0, 65535, i)).ok()) out.port = static_cast<std::uint16_t>(i);
    } else if (key == "threads") {
      if ((st = integer(v, at, 1, 256, i)).ok()) out.threads = static_cast<int>(i);
    } else if (key == "model") {
      if ((st = scalar(v, at, s)).ok()) {
        if (s != "lf" && s != "reactor") st = bad(at, "expected lf or reactor, got '" + s + "'");
        else out.model = s;
      }
    } else if (key == "forwarding") {
      if ((st = scalar(v, at, s)).ok() && !parse_forwarding(s, out.forwarding)) {
        st = bad(at, "expected async or bound, got '" + s + "'");
      }
    } else if (key == "read_policy") {
      if ((st = scalar(v, at, s)).ok() && !parse_read_policy(s, out.read_policy)) {
        st = bad(at, "expected primary, round-robin or least-outstanding, got '" + s + "'");
      }
    } else if (key == "hash_tag") {
      st = hash_tag_value(v, at);
    } else if (key == "timeout_ms" || key == "timeout") {
      st = millis(v, at, out.timeout);
    } else if (key == "connect_timeout_ms") {
      st = millis(v, at, out.connect_timeout);
    } else if (key == "liveness_timeout_ms") {
      st = millis(v, at, out.liveness_timeout);
    } else if (key == "client_output_buffer_limit") {
      if ((st = scalar(v, at, s)).ok()) {
        if (auto e = parse_output_buffer_limits(s, out.output_limit, out.pubsub_limit); !e.ok()) st = bad(at, e.message());
      }
    } else if (key == "server_retry_timeout_ms" || key == "server_retry_timeout") {
      st = millis(v, at, out.server_retry_timeout);
    } else if (key == "server_failure_limit") {
      if ((st = integer(v, at, 0, 1000000, i)).ok()) out.server_failure_limit = static_cast<int>(i);
    } else if (key == "connections_per_backend" || key == "server_connections") {
      if ((st = integer(v, at, 1, 64, i)).ok()) out.connections_per_backend = static_cast<int>(i);
    } else if (key == "lazy_promotion") {
      st = boolean(v, at, out.lazy_promotion);
    } else if (key == "handle_set") {
      if ((st = scalar(v, at, s)).ok() && !lf::parse_handle_set(s, out.handle_set)) {
        st = bad(at, "handle_set: expected epoll-oneshot, epoll-et or io_uring");
      }
    } else if (key == "events_per_turn") {
      if ((st = integer(v, at, 1, 64, i)).ok()) out.events_per_turn = static_cast<int>(i);
    } else if (key == "tx_connections") {
      if ((st = integer(v, at, 0, 4096, i)).ok()) out.tx_connections = static_cast<int>(i);
    } else if (key == "blocking_connections") {
      if ((st = integer(v, at, 0, 65536, i)).ok()) out.blocking_connections = static_cast<int>(i);
    } else if (key == "tx_idle_timeout_ms") {
      if ((st = integer(v, at, 0, 86400000, i)).ok()) out.tx_idle_timeout = std::chrono::milliseconds(i);
    } else if (key == "requirepass") {
      st = scalar(v, at, out.requirepass);
    } else if (key == "backend_password") {
      st = scalar(v, at, out.backend_password);
    } else if (key == "protected_mode") {
      st = boolean(v, at, out.protected_mode);
    } else if (key == "allow_admin") {
      st = boolean(v, at, out.allow_admin);
    } else if (key == "allow_dangerous") {
      st = boolean(v, at, out.allow_dangerous);
    } else if (key == "limits") {
      st = parse_limits(v, at, out.limits);
    } else if (key == "shards") {
      if (!v.IsSequence() || v.size() == 0) {
        st = bad(at, "expected a non-empty list of shards");
      } else {
        out.shards.clear();
        for (std::size_t k = 0; k < v.size() && st.ok(); ++k) {
          ShardConfig sh;
          st = parse_shard(v[k], at + "[" + std::to_string(k) + "]", sh);
          out.shards.push_back(sh);
        }
      }
    } else {
      st = bad(at, "unknown key");
    }
    if (!st.ok()) return st;
  }
  if (out.shards.empty()) return bad(name, "no shards configured");
  return assign_slots(out.shards);
}

// A twemproxy pool: "host:port:weight [name]".
lf::Status parse_twemproxy_server(const std::string& text, const std::string& where, ShardConfig& sh) {
  std::string addr = text, label;
  if (const std::size_t sp = text.find(' '); sp != std::string::npos) {
    addr = text.substr(0, sp);
    label = text.substr(text.find_first_not_of(' ', sp) == std::string::npos
                            ? text.size()
                            : text.find_first_not_of(' ', sp));
  }
  const std::size_t last = addr.rfind(':');
  long long w = 0;
  if (last == std::string::npos || !to_int(addr.substr(last + 1), 1, 1000000, w)) {
    return bad(where, "expected host:port:weight [name], got '" + text + "'");
  }
  if (!parse_endpoint(addr.substr(0, last), sh.primary).ok()) {
    return bad(where, "expected host:port:weight [name], got '" + text + "'");
  }
  sh.weight = static_cast<int>(w);
  sh.primary.name = label;
  return lf::Status();
}

lf::Status parse_twemproxy(const YAML::Node& root, const std::string& name, Config& out) {
  out.source = "twemproxy";
  // One pool (the redis one) is what a gateway serves.
  YAML::Node pool;
  std::string pool_name;
  for (const auto& kv : root) {
    if (!pool_name.empty()) {
      return bad(name, "more than one pool ('" + pool_name + "', '" + kv.first.as<std::string>() +
                           "'): lfdb-gateway serves one; give each its own gateway");
    }
    pool_name = kv.first.as<std::string>();
    pool = kv.second;
  }
  bool auto_eject = false, redis = false;
  int failure_limit = out.server_failure_limit;
  for (const auto& kv : pool) {
    const std::string key = kv.first.as<std::string>();
    const std::string at = name + ": " + pool_name + "." + key;
    const YAML::Node& v = kv.second;
    lf::Status st;
    long long i = 0;
    if (key == "listen") {
      st = listen_value(v, at, out);
    } else if (key == "hash_tag") {
      st = hash_tag_value(v, at);
    } else if (key == "timeout") {
      st = millis(v, at, out.timeout);
    } else if (key == "server_retry_timeout") {
      st = millis(v, at, out.server_retry_timeout);
    } else if (key == "server_failure_limit") {
      if ((st = integer(v, at, 1, 1000000, i)).ok()) failure_limit = static_cast<int>(i);
    } else if (key == "auto_eject_hosts") {
      st = boolean(v, at, auto_eject);
    } else if (key == "redis") {
      st = boolean(v, at, redis);
    } else if (key == "server_connections") {
      if ((st = integer(v, at, 1, 64, i)).ok()) out.connections_per_backend = static_cast<int>(i);
    } else if (key == "client_connections") {
      if ((st = integer(v, at, 0, 10000000, i)).ok() && i > 0) out.limits.max_clients = static_cast<std::size_t>(i);
    } else if (key == "redis_auth") {
      // twemproxy: clients AUTH with it at the proxy, and the proxy AUTHs with it upstream.
      if ((st = scalar(v, at, out.requirepass)).ok()) out.backend_password = out.requirepass;
    } else if (key == "redis_db") {
      if ((st = integer(v, at, 0, 1000000, i)).ok() && i != 0) st = bad(at, "only database 0 exists in lfdb");
    } else if (key == "servers") {
      if (!v.IsSequence() || v.size() == 0) {
        st = bad(at, "expected a non-empty list of host:port:weight");
      } else {
        out.shards.clear();
        for (std::size_t k = 0; k < v.size() && st.ok(); ++k) {
          ShardConfig sh;
          std::string s;
          const std::string ak = at + "[" + std::to_string(k) + "]";
          if ((st = scalar(v[k], ak, s)).ok()) st = parse_twemproxy_server(s, ak, sh);
          out.shards.push_back(sh);
        }
      }
    } else if (key == "hash" || key == "distribution" || key == "preconnect" || key == "backlog" ||
               key == "tcpkeepalive" || key == "reuseport" || key == "redis_db" ||
               key == "client_timeout") {
      out.warnings.push_back(at + ": accepted and ignored (lfdb-gateway shards by hash slot: "
                                  "CRC16 mod 16384, slots split over servers by weight)");
    } else {
      out.warnings.push_back(at + ": unknown twemproxy key, ignored");
    }
    if (!st.ok()) return st;
  }
  if (!redis) return bad(name, "pool '" + pool_name + "' is not a redis pool (needs 'redis: true')");
  if (out.shards.empty()) return bad(name, "pool '" + pool_name + "' has no servers");
  // twemproxy ejects only with auto_eject_hosts; without it a failing server stays in rotation.
  out.server_failure_limit = auto_eject ? failure_limit : 0;
  return assign_slots(out.shards);
}

}  // namespace

const char* to_string(ReadPolicy p) {
  switch (p) {
    case ReadPolicy::kPrimary: return "primary";
    case ReadPolicy::kRoundRobin: return "round-robin";
    case ReadPolicy::kLeastOutstanding: return "least-outstanding";
  }
  return "?";
}

bool parse_read_policy(const std::string& s, ReadPolicy& out) {
  if (s == "primary") out = ReadPolicy::kPrimary;
  else if (s == "round-robin" || s == "round_robin") out = ReadPolicy::kRoundRobin;
  else if (s == "least-outstanding" || s == "least_outstanding") out = ReadPolicy::kLeastOutstanding;
  else return false;
  return true;
}

const char* to_string(Forwarding f) { return f == Forwarding::kBound ? "bound" : "async"; }

bool parse_forwarding(const std::string& s, Forwarding& out) {
  if (s == "async") out = Forwarding::kAsync;
  else if (s == "bound") out = Forwarding::kBound;
  else return false;
  return true;
}

namespace {
// A size as Redis's configuration writes it: bytes, or b/k/kb/m/mb/g/gb (k = 1000, kb = 1024).
bool parse_memory(std::string s, std::size_t& out) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  static const std::pair<const char*, unsigned long long> kUnits[] = {
      {"gb", 1ull << 30}, {"mb", 1ull << 20}, {"kb", 1ull << 10},
      {"g", 1000000000ull}, {"m", 1000000ull}, {"k", 1000ull}, {"b", 1ull}};
  unsigned long long mul = 1;
  for (const auto& [unit, m] : kUnits) {
    const std::size_t n = std::strlen(unit);
    if (s.size() > n && s.compare(s.size() - n, n, unit) == 0) {
      s.resize(s.size() - n);
      mul = m;
      break;
    }
  }
  long long v = 0;
  if (!to_int(s, 0, (1ll << 50), v)) return false;
  out = static_cast<std::size_t>(v) * mul;
  return true;
}
}  // namespace

lf::Status parse_output_buffer_limit(const std::string& text, OutputBufferLimit& out) {
  std::istringstream in(text);
  std::vector<std::string> w;
  for (std::string t; in >> t;) w.push_back(t);
  if (w.size() != 4) return lf::Status::error("expected 'normal <hard> <soft> <soft seconds>', got '" + text + "'");
  std::string cls = w[0];
  std::transform(cls.begin(), cls.end(), cls.begin(), [](unsigned char c) { return std::tolower(c); });
  if (cls != "normal") {
    return lf::Status::error("only the 'normal' class applies to lfdb-gateway's clients, got '" + w[0] + "'");
  }
  OutputBufferLimit l;
  long long secs = 0;
  if (!parse_memory(w[1], l.hard) || !parse_memory(w[2], l.soft) || !to_int(w[3], 0, 86400 * 365, secs)) {
    return lf::Status::error("expected 'normal <hard> <soft> <soft seconds>' with sizes such as 256mb, got '" + text + "'");
  }
  l.soft_time = std::chrono::seconds(secs);
  out = l;
  return lf::Status();
}

lf::Status parse_output_buffer_limits(const std::string& text, OutputBufferLimit& normal,
                                      OutputBufferLimit& pubsub) {
  std::istringstream in(text);
  std::vector<std::string> w;
  for (std::string t; in >> t;) w.push_back(t);
  if (w.empty() || w.size() % 4 != 0) {
    return lf::Status::error("expected '<class> <hard> <soft> <soft seconds>' (normal, pubsub), got '" + text + "'");
  }
  OutputBufferLimit n = normal, p = pubsub;
  for (std::size_t i = 0; i < w.size(); i += 4) {
    std::string cls = w[i];
    std::transform(cls.begin(), cls.end(), cls.begin(), [](unsigned char c) { return std::tolower(c); });
    const bool is_pubsub = cls == "pubsub";
    // One class's words, read as the normal class's.
    const std::string one = "normal " + w[i + 1] + " " + w[i + 2] + " " + w[i + 3];
    if (cls != "normal" && !is_pubsub) {
      return lf::Status::error("only the 'normal' and 'pubsub' classes apply to lfdb-gateway's clients, got '" + w[i] + "'");
    }
    if (auto e = parse_output_buffer_limit(one, is_pubsub ? p : n); !e.ok()) return e;
  }
  normal = n;
  pubsub = p;
  return lf::Status();
}

lf::Status parse_endpoint(const std::string& text, Endpoint& out) {
  const std::size_t colon = text.rfind(':');
  long long port = 0;
  if (colon == std::string::npos || colon == 0 || !to_int(text.substr(colon + 1), 0, 65535, port)) {
    return lf::Status::error("expected host:port, got '" + text + "'");
  }
  out.host = text.substr(0, colon);
  out.port = static_cast<std::uint16_t>(port);
  return lf::Status();
}

lf::Status assign_slots(std::vector<ShardConfig>& shards) {
  if (shards.empty()) return lf::Status::error("no shards configured");
  const bool any_given = std::any_of(shards.begin(), shards.end(), [](const ShardConfig& s) { return s.slot_lo >= 0; });
  const bool all_given = std::all_of(shards.begin(), shards.end(), [](const ShardConfig& s) { return s.slot_lo >= 0; });
  if (any_given && !all_given) return lf::Status::error("shards: give 'slots' for every shard or for none");
  if (!any_given) {
    long long total = 0;
    for (const auto& s : shards) total += s.weight;
    if (static_cast<long long>(shards.size()) > kSlots) return lf::Status::error("shards: more shards than slots");
    // Cumulative weight decides each boundary, so the ranges are contiguous and cover all slots.
    long long acc = 0;
    int lo = 0;
    for (std::size_t i = 0; i < shards.size(); ++i) {
      acc += shards[i].weight;
      int hi = i + 1 == shards.size() ? kSlots - 1 : static_cast<int>(acc * kSlots / total) - 1;
      hi = std::max(hi, lo);  // every shard owns at least one slot
      shards[i].slot_lo = lo;
      shards[i].slot_hi = hi;
      lo = hi + 1;
    }
    if (lo != kSlots) return lf::Status::error("shards: weights leave no slot for a shard");
  }
  std::vector<int> owner(kSlots, -1);
  for (std::size_t i = 0; i < shards.size(); ++i) {
    for (int s = shards[i].slot_lo; s <= shards[i].slot_hi; ++s) {
      if (owner[s] >= 0) {
        return lf::Status::error("shards: slot " + std::to_string(s) + " is given to shard " +
                                 std::to_string(owner[s]) + " and shard " + std::to_string(i));
      }
      owner[s] = static_cast<int>(i);
    }
  }
  for (int s = 0; s < kSlots; ++s) {
    if (owner[s] < 0) return lf::Status::error("shards: slot " + std::to_string(s) + " belongs to no shard");
  }
  return lf::Status();
}

lf::Status parse_config_text(const std::string& text, const std::string& name, Config& out) {
  try {
    YAML::Node root = YAML::Load(text);
    if (!root.IsMap() || root.size() == 0) return bad(name, "expected a YAML map");
    // twemproxy: the top level names pools, each a map with 'servers'.
    bool twemproxy = true;
    for (const auto& kv : root) {
      if (!kv.second.IsMap() || !kv.second["servers"]) twemproxy = false;
    }
    return twemproxy ? parse_twemproxy(root, name, out) : parse_lfdb(root, name, out);
  } catch (const YAML::Exception& e) {
    return bad(name, std::string("YAML: ") + e.what());
  }
}

lf::Status load_config_file(const std::string& path, Config& out) {
  std::ifstream in(path);
  if (!in) return lf::Status::error("cannot read config file '" + path + "'");
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_config_text(ss.str(), path, out);
}

lf::Status parse_command_line(int argc, char** argv, Config& out, std::string& usage) {
  CLI::App app{"lfdb-gateway: the front-end communication server of lfdb"};
  std::string config_file, bind, model, forwarding, shard_list, lazy, protected_mode, handle_set;
  int port = -1, threads = 0, events_per_turn = 0;
  app.add_option("--config", config_file, "YAML config (lfdb's shape or a twemproxy pool)");
  app.add_option("--port", port, "listen port (0: any free port)")->check(CLI::Range(0, 65535));
  app.add_option("--bind", bind, "listen address (127.0.0.1)");
  app.add_option("--threads", threads, "Leader/Followers threads (2)")->check(CLI::Range(1, 256));
  app.add_option("--model", model, "lf | reactor (lf)");
  app.add_option("--forwarding", forwarding, "async | bound (async)");
  app.add_option("--events-per-turn", events_per_turn,
                 "async: ready events a leader takes per turn (see docs/gateway.md)")
      ->check(CLI::Range(1, 64));
  app.add_option("--lazy-promotion", lazy, "async: wake a follower only for a backlog: yes | no (yes)");
  app.add_option("--handle-set", handle_set, "how the threads share the handle set: epoll-oneshot | epoll-et | io_uring (epoll-et)");
  app.add_option("--protected-mode", protected_mode,
                 "without requirepass, serve clients from 127.0.0.1 only: yes | no (yes)");
  app.add_option("--shards", shard_list, "host:port,host:port,... (one primary per shard) instead of a config file");
  usage = app.help();
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    return lf::Status::error("usage");
  } catch (const CLI::ParseError& e) {
    return lf::Status::error(e.what());
  }
  if (!config_file.empty()) {
    if (auto st = load_config_file(config_file, out); !st.ok()) return st;
  }
  if (!shard_list.empty()) {
    if (!config_file.empty()) return lf::Status::error("--shards and --config exclude each other");
    out.shards.clear();
    std::stringstream ss(shard_list);
    std::string item;
    while (std::getline(ss, item, ',')) {
      ShardConfig sh;
      if (auto st = parse_endpoint(item, sh.primary); !st.ok()) return lf::Status::error("--shards: " + st.message());
      out.shards.push_back(sh);
    }
    if (auto st = assign_slots(out.shards); !st.ok()) return st;
    out.source = "flags";
  }
  if (out.shards.empty()) return lf::Status::error("no back-ends: give --config FILE or --shards host:port,...");
  if (port >= 0) out.port = static_cast<std::uint16_t>(port);
  if (!bind.empty()) out.bind = bind;
  if (threads > 0) out.threads = threads;
  if (events_per_turn > 0) out.events_per_turn = events_per_turn;
  if (!lazy.empty()) {
    if (lazy != "yes" && lazy != "no") return lf::Status::error("--lazy-promotion: expected yes or no, got '" + lazy + "'");
    out.lazy_promotion = lazy == "yes";
  }
  if (!handle_set.empty() && !lf::parse_handle_set(handle_set, out.handle_set)) {
    return lf::Status::error("--handle-set: expected epoll-oneshot, epoll-et or io_uring, got '" + handle_set + "'");
  }
  if (!protected_mode.empty()) {
    if (protected_mode != "yes" && protected_mode != "no") {
      return lf::Status::error("--protected-mode: expected yes or no, got '" + protected_mode + "'");
    }
    out.protected_mode = protected_mode == "yes";
  }
  if (!model.empty()) {
    if (model != "lf" && model != "reactor") return lf::Status::error("--model: expected lf or reactor, got '" + model + "'");
    out.model = model;
  }
  if (!forwarding.empty() && !parse_forwarding(forwarding, out.forwarding)) {
    return lf::Status::error("--forwarding: expected async or bound, got '" + forwarding + "'");
  }
  if (out.model == "reactor") out.threads = 1;
  return lf::Status();
}

}  // namespace lfdb::gateway
