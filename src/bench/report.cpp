#include "bench/report.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

namespace bench {
namespace {

double ms(std::uint64_t ns) { return static_cast<double>(ns) / 1e6; }

std::string mode_text(const Options& o) {
  if (o.open_loop()) return fmt::format("open loop at {:.0f} ops/s", o.rate);
  return "closed loop";
}

}  // namespace

std::string progress_line(const Interval& iv) {
  double rate = iv.seconds > 0 ? static_cast<double>(iv.ops) / iv.seconds : 0.0;
  return fmt::format("[{:7.1f}s]{} ops/s {:9.0f}  p50 {:8.3f} ms  p99 {:8.3f} ms  errors {}", iv.elapsed_s,
                     iv.warmup ? " warmup" : "", rate, ms(iv.latency.percentile(0.50)),
                     ms(iv.latency.percentile(0.99)), iv.errors);
}

void print_text(const Report& r, std::FILE* out) {
  const Options& o = *r.opt;
  const RunStats& s = r.stats;
  double rate = s.seconds > 0 ? static_cast<double>(s.ops) / s.seconds : 0.0;
  fmt::print(out, "lfdb-bench {} against {}: {}, {} connections, {} threads, pipeline {}\n",
             workload_name(o.workload), r.target, mode_text(o), s.connections, o.threads, o.pipeline);
  fmt::print(out, "  operations   {} in {:.2f} s = {:.0f} ops/s{}\n", s.ops, s.seconds, rate,
             s.interrupted ? " (interrupted)" : "");
  fmt::print(out, "  commands     {} replies received (warm-up included)\n", s.replies);
  if (s.warmup_ops) fmt::print(out, "  warm-up      {} operations, not measured\n", s.warmup_ops);
  std::string outcomes;
  for (const auto& [k, v] : s.outcomes) outcomes += fmt::format("{}{} {}", outcomes.empty() ? "" : ", ", k, v);
  if (!outcomes.empty()) fmt::print(out, "  outcomes     {}\n", outcomes);
  if (s.retries) fmt::print(out, "  retries      {} (WATCH conflicts: EXEC answered nil)\n", s.retries);
  std::string kinds;
  for (const auto& [k, v] : s.error_kinds) kinds += fmt::format("{}{} {}", kinds.empty() ? "" : ", ", k, v);
  // Failed operations and lost connections (a timeout, a server that closed) are both errors;
  // the kinds name them all.
  fmt::print(out, "  errors       {}{}{}\n", s.errors + s.connections_lost, kinds.empty() ? "" : "  by kind: ", kinds);
  if (s.connections_lost) {
    fmt::print(out, "  connections  {} lost, {} operations unfinished with them\n", s.connections_lost, s.unfinished);
  }
  const lf::Histogram& h = s.latency;
  fmt::print(out, "  latency ms   p50 {:.3f}  p90 {:.3f}  p99 {:.3f}  p99.9 {:.3f}  max {:.3f}  mean {:.3f}\n",
             ms(h.percentile(0.50)), ms(h.percentile(0.90)), ms(h.percentile(0.99)), ms(h.percentile(0.999)),
             ms(h.max()), h.mean() / 1e6);
  if (o.open_loop()) {
    fmt::print(out, "  schedule     {} operations started > 1 ms after their due time (max {:.3f} ms late); "
                    "latency counts from the due time\n",
               s.late_starts, ms(s.max_start_lag_ns));
  }
  if (r.invariant.checked) {
    if (r.invariant.ok) {
      fmt::print(out, "  invariant    OK: {}\n", r.invariant.summary);
    } else {
      fmt::print(out, "  invariant    FAILED ({} broken checks): {}\n", r.invariant.failed_checks, r.invariant.summary);
      for (const auto& f : r.invariant.failures) fmt::print(out, "    - {}\n", f);
    }
  }
  if (r.errors_over_limit) {
    fmt::print(out, "  FAILED: {} errors, more than --max-errors {}\n", s.errors + s.connections_lost, o.max_errors);
  }
}

std::string to_json(const Report& r) {
  const Options& o = *r.opt;
  const RunStats& s = r.stats;
  const lf::Histogram& h = s.latency;
  nlohmann::ordered_json j;
  j["workload"] = workload_name(o.workload);
  j["target"] = r.target;
  j["mode"] = o.open_loop() ? "open" : "closed";
  j["rate"] = o.rate;
  j["connections"] = s.connections;
  j["threads"] = o.threads;
  j["pipeline"] = o.pipeline;
  j["seconds"] = s.seconds;
  j["ops"] = s.ops;
  j["ops_per_sec"] = s.seconds > 0 ? static_cast<double>(s.ops) / s.seconds : 0.0;
  j["replies"] = s.replies;
  j["warmup_ops"] = s.warmup_ops;
  j["retries"] = s.retries;
  j["errors"] = s.errors;
  j["outcomes"] = nlohmann::ordered_json::object();
  for (const auto& [k, v] : s.outcomes) j["outcomes"][k] = v;
  j["errors_by_kind"] = nlohmann::ordered_json::object();
  for (const auto& [k, v] : s.error_kinds) j["errors_by_kind"][k] = v;
  j["connections_lost"] = s.connections_lost;
  j["unfinished"] = s.unfinished;
  j["late_starts"] = s.late_starts;
  j["max_start_lag_us"] = static_cast<double>(s.max_start_lag_ns) / 1e3;
  nlohmann::ordered_json lat;
  lat["count"] = h.count();
  lat["min"] = static_cast<double>(h.min()) / 1e3;
  lat["mean"] = h.mean() / 1e3;
  lat["p50"] = static_cast<double>(h.percentile(0.50)) / 1e3;
  lat["p90"] = static_cast<double>(h.percentile(0.90)) / 1e3;
  lat["p99"] = static_cast<double>(h.percentile(0.99)) / 1e3;
  lat["p99_9"] = static_cast<double>(h.percentile(0.999)) / 1e3;
  lat["max"] = static_cast<double>(h.max()) / 1e3;
  j["latency_us"] = lat;
  nlohmann::ordered_json inv;
  inv["checked"] = r.invariant.checked;
  inv["ok"] = r.invariant.ok;
  inv["summary"] = r.invariant.summary;
  inv["failed_checks"] = r.invariant.failed_checks;
  inv["failures"] = r.invariant.failures;
  inv["in_doubt"] = r.invariant.in_doubt;
  j["invariant"] = inv;
  j["interrupted"] = s.interrupted;
  j["exit_code"] = r.exit_code;
  return j.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

}  // namespace bench
