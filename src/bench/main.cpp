// lfdb-bench: simulated terminals against any RESP server. See docs/bench.md.
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <fmt/format.h>

#include "bench/engine.hpp"
#include "bench/options.hpp"
#include "bench/report.hpp"
#include "bench/sync_client.hpp"
#include "bench/workloads.hpp"

namespace {

std::atomic<bool> g_stop{false};  // lock-free: set from the signal handler

void on_signal(int) { g_stop.store(true); }

int fail(const std::string& msg) {
  std::fprintf(stderr, "lfdb-bench: %s\n", msg.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  bench::Options o;
  int rc = bench::parse_options(argc, argv, o);
  if (rc == -1) return 0;
  if (rc != 0) return rc;

  std::signal(SIGPIPE, SIG_IGN);
  struct sigaction sa{};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);

  auto addr = lf::InetAddr::resolve(o.host, static_cast<std::uint16_t>(o.port));
  if (!addr.ok()) return fail("cannot resolve " + o.host + ": " + addr.status().message());
  const std::string target = addr->to_string();
  auto workload = bench::make_workload(o);
  if (!workload.ok()) return fail(workload.status().message());

  {
    auto control = bench::SyncClient::connect(*addr, o.password);
    if (!control.ok()) return fail("cannot connect to " + target + ": " + control.status().message());
    lf::Status st = (*workload)->setup(*control);
    if (!st.ok()) return fail("set-up of " + std::string((*workload)->name()) + " failed: " + st.message());
  }

  const bool live = !o.quiet && (o.progress || ::isatty(STDERR_FILENO));
  bench::ProgressFn progress;
  if (live) {
    progress = [](const bench::Interval& iv) {
      std::fprintf(stderr, "%s\n", bench::progress_line(iv).c_str());
      std::fflush(stderr);
    };
  }
  auto stats = bench::run_load(o, *addr, **workload, progress, g_stop);
  if (!stats.ok()) return fail(stats.status().message());

  bench::Report report;
  report.opt = &o;
  report.target = target;
  report.stats = std::move(stats.value());
  {
    auto check = bench::SyncClient::connect(*addr, o.password);
    if (check.ok()) {
      report.invariant = (*workload)->verify(*check);
    } else {
      report.invariant.checked = true;
      report.invariant.summary = "not checked: the data could not be read back";
      report.invariant.fail("cannot connect to read the data back: " + check.status().message());
    }
  }
  std::uint64_t failures = report.stats.errors + report.stats.connections_lost;
  report.errors_over_limit = failures > o.max_errors;
  report.exit_code = (report.invariant.checked && !report.invariant.ok) || report.errors_over_limit ? 1 : 0;

  std::FILE* text_out = o.json == "-" ? stderr : stdout;
  bench::print_text(report, text_out);
  if (!o.json.empty()) {
    std::string doc = bench::to_json(report);
    if (o.json == "-") {
      std::fwrite(doc.data(), 1, doc.size(), stdout);
    } else {
      std::FILE* f = std::fopen(o.json.c_str(), "w");
      if (f == nullptr) return fail("cannot write " + o.json);
      std::fwrite(doc.data(), 1, doc.size(), f);
      std::fclose(f);
    }
  }
  if (report.invariant.checked && !report.invariant.ok) {
    std::fprintf(stderr, "lfdb-bench: invariant FAILED: %s\n",
                 report.invariant.failures.empty() ? report.invariant.summary.c_str()
                                                   : report.invariant.failures.front().c_str());
  }
  return report.exit_code;
}
