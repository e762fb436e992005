#include "bench/options.hpp"

#include <CLI/CLI.hpp>
#include <charconv>
#include <cstdio>
#include <string_view>

namespace bench {

const char* workload_name(WorkloadKind k) {
  switch (k) {
    case WorkloadKind::kGetSet: return "getset";
    case WorkloadKind::kReservation: return "reservation";
    case WorkloadKind::kTransfer: return "transfer";
    case WorkloadKind::kXQueue: return "xqueue";
  }
  return "?";
}

namespace {

// "1:9" -> set 1, get 9.
bool parse_ratio(const std::string& s, std::uint32_t& set, std::uint32_t& get) {
  auto colon = s.find(':');
  if (colon == std::string::npos) return false;
  auto number = [](std::string_view t, std::uint32_t& v) {
    auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
    return !t.empty() && ec == std::errc() && p == t.data() + t.size() && v <= 1000000;
  };
  std::string_view sv(s);
  if (!number(sv.substr(0, colon), set) || !number(sv.substr(colon + 1), get)) return false;
  return set + get > 0;
}

}  // namespace

int parse_options(int argc, char** argv, Options& o) {
  CLI::App app{
      "lfdb-bench: simulated terminals against any RESP server (lfdb-server, lfdb-gateway, redis-server).\n"
      "Closed loop by default; --rate makes it open loop (latency from each request's due time).\n"
      "Exit status: 0 ok, 1 invariant broken / too many errors / run failed, 2 bad usage."};
  app.option_defaults()->always_capture_default();
  // CLI11 reserves -h for help; lfdb-bench follows redis-benchmark's -h host, so help is --help.
  app.set_help_flag("--help", "print this help and exit");
  std::string workload = "getset", dist = "uniform", ratio = "1:9";
  app.add_option("--host,-h", o.host, "server address");
  app.add_option("--port,-p", o.port, "server port")->check(CLI::Range(1, 65535));
  app.add_option("--password,-a", o.password, "AUTH password");
  app.add_option("--connections,-c", o.connections, "connections (terminals)")->check(CLI::Range(1, 1000000));
  app.add_option("--threads,-t", o.threads, "client threads, each with its own epoll reactor")
      ->check(CLI::Range(1, 256));
  app.add_option("--pipeline,-P", o.pipeline, "operations in flight per connection (getset)")
      ->check(CLI::Range(1, 4096));
  app.add_option("--rate,-r", o.rate, "open loop: operations per second in all (0: closed loop)")
      ->check(CLI::Range(0.0, 1e9));
  app.add_option("--duration,-d", o.duration_s, "measured seconds")->check(CLI::Range(0.001, 1e7));
  app.add_option("--requests,-n", o.requests, "stop after this many measured operations (instead of --duration)");
  app.add_option("--warmup", o.warmup_s, "seconds of load before measuring")->check(CLI::Range(0.0, 1e6));
  app.add_option("--timeout", o.timeout_s, "seconds an operation may wait for its reply before its connection is failed")
      ->check(CLI::Range(0.01, 1e6));
  app.add_option("--workload,-w", workload, "getset | reservation | transfer | xqueue")
      ->check(CLI::IsMember({"getset", "reservation", "transfer", "xqueue"}));
  app.add_option("--txn", o.txn, "transaction form of reservation/transfer: multi (WATCH/MULTI/EXEC) | eval")
      ->check(CLI::IsMember({"multi", "eval"}));
  app.add_option("--key-prefix", o.key_prefix, "prepended to every key");
  app.add_option("--seed", o.seed, "random seed (runs with the same seed draw the same keys)");
  app.add_option("--dist", dist, "key distribution: uniform | zipf")->check(CLI::IsMember({"uniform", "zipf"}));
  app.add_option("--zipf-theta", o.zipf_theta, "zipf skew, 0 < theta < 1");
  app.add_option("--ratio", ratio, "getset: SET:GET ratio, e.g. 1:9");
  app.add_option("--value-size", o.value_size, "getset: bytes per SET value")->check(CLI::Range(1u, 512u * 1024 * 1024));
  app.add_option("--keys", o.keys, "getset: key space")->check(CLI::Range(std::uint64_t{1}, std::uint64_t{1} << 40));
  app.add_option("--flights", o.flights, "reservation: flights")->check(CLI::Range(std::uint64_t{1}, std::uint64_t{10000000}));
  app.add_option("--seats", o.seats, "reservation: seats per flight")->check(CLI::Range(std::int64_t{0}, std::int64_t{1} << 40));
  app.add_option("--branches", o.branches, "transfer: branches")->check(CLI::Range(std::uint64_t{1}, std::uint64_t{100000}));
  app.add_option("--tellers", o.tellers, "transfer: tellers per branch")->check(CLI::Range(std::uint64_t{1}, std::uint64_t{100000}));
  app.add_option("--accounts", o.accounts, "transfer: accounts per branch")->check(CLI::Range(std::uint64_t{1}, std::uint64_t{10000000}));
  app.add_option("--initial-balance", o.initial_balance, "transfer: starting balance of each account")
      ->check(CLI::Range(std::int64_t{0}, std::int64_t{1} << 40));
  app.add_option("--max-delta", o.max_delta, "transfer: |delta| of a transfer is at most this")
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{1} << 30));
  app.add_option("--max-retries", o.max_retries, "WATCH conflicts before an operation is given up (an error)");
  app.add_option("--json", o.json, "write the summary as JSON to this file ('-': stdout, the text summary then goes to stderr)");
  app.add_flag("--progress", o.progress, "a live line per second on stderr even when it is no terminal");
  app.add_flag("--quiet,-q", o.quiet, "no live line");
  app.add_option("--max-errors", o.max_errors, "exit 1 when more operations than this failed");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? -1 : 2;
  }
  if (workload == "getset") o.workload = WorkloadKind::kGetSet;
  else if (workload == "reservation") o.workload = WorkloadKind::kReservation;
  else if (workload == "transfer") o.workload = WorkloadKind::kTransfer;
  else o.workload = WorkloadKind::kXQueue;
  o.dist = dist == "zipf" ? Distribution::kZipf : Distribution::kUniform;

  auto bad = [](const std::string& msg) {
    std::fprintf(stderr, "lfdb-bench: %s\n", msg.c_str());
    return 2;
  };
  if (!parse_ratio(ratio, o.ratio_set, o.ratio_get)) return bad("--ratio must be SET:GET, e.g. 1:9 (got '" + ratio + "')");
  if (o.dist == Distribution::kZipf && !(o.zipf_theta > 0 && o.zipf_theta < 1)) {
    return bad("--zipf-theta must be in (0, 1), e.g. 0.99");
  }
  if (o.workload != WorkloadKind::kGetSet && o.pipeline > 1) {
    return bad("--pipeline applies to getset only: a reservation, transfer or xqueue terminal runs one operation at a time");
  }
  if (o.key_prefix.find_first_of("{}") != std::string::npos) {
    return bad("--key-prefix must not contain '{' or '}': keys carry their own {hash tag}");
  }
  if (o.threads > o.connections) o.threads = o.connections;
  if (o.open_loop() && o.rate < o.threads) {
    return bad("--rate must be at least one operation per second per thread");
  }
  return 0;
}

}  // namespace bench
