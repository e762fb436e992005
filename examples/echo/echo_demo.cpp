// lf-echo-demo: runs lf-echo-server under every concurrency model on loopback, loads each with
// the same closed-loop client, and prints one table per scenario: requests/s, p50/p99 latency,
// context switches, allocations and promotions per request, and throughput as a ratio to the
// single-threaded reactor. Models are interleaved round by round (A B C … A B C …) so drift on a
// noisy machine hits them all alike; the table shows medians over the rounds.
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstring>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "echo_load.hpp"
#include "lf/concurrency_model.hpp"

extern char** environ;

namespace {

std::string exe_dir() {
  char buf[4096];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return ".";
  std::string p(buf, static_cast<std::size_t>(n));
  return p.substr(0, p.rfind('/'));
}

bool file_exists(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0;
}

std::map<std::string, double> read_counters(const std::string& path) {
  std::map<std::string, double> m;
  std::ifstream f(path);
  std::string k;
  double v;
  while (f >> k >> v) m[k] = v;
  return m;
}

struct Server {
  pid_t pid = -1;
  std::uint16_t port = 0;
  std::string stats_file;

  std::map<std::string, double> sample() {
    ::unlink(stats_file.c_str());
    ::kill(pid, SIGUSR1);
    for (int i = 0; i < 500 && !file_exists(stats_file); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    return read_counters(stats_file);
  }
  void stop() {
    if (pid <= 0) return;
    ::kill(pid, SIGTERM);
    int status = 0;
    ::waitpid(pid, &status, 0);
    pid = -1;
  }
};

lf::Result<Server> spawn_server(const std::string& model, int threads, int per_turn,
                                const std::string& tmpdir, int index) {
  std::string bin = exe_dir() + "/lf-echo-server";
  std::string shim = exe_dir() + "/../lib/liblf_alloccount.so";
  Server s;
  s.stats_file = tmpdir + "/stats." + std::to_string(index);
  std::string port_file = tmpdir + "/port." + std::to_string(index);
  ::unlink(port_file.c_str());
  std::vector<std::string> args = {bin, "--model", model, "--threads", std::to_string(threads),
                                   "--port", "0", "--port-file", port_file, "--stats-file", s.stats_file,
                                   "--events-per-turn", std::to_string(per_turn)};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_store;
  for (char** e = environ; *e != nullptr; ++e) {
    if (std::strncmp(*e, "LD_PRELOAD=", 11) != 0) env_store.emplace_back(*e);
  }
  if (file_exists(shim)) env_store.push_back("LD_PRELOAD=" + shim);
  std::vector<char*> envp;
  for (auto& e : env_store) envp.push_back(e.data());
  envp.push_back(nullptr);
  if (::posix_spawn(&s.pid, bin.c_str(), nullptr, nullptr, argv.data(), envp.data()) != 0) {
    return lf::Status::from_errno("posix_spawn " + bin);
  }
  for (int i = 0; i < 500; ++i) {
    std::ifstream f(port_file);
    int port = 0;
    if (f >> port && port > 0) {
      s.port = static_cast<std::uint16_t>(port);
      return s;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  s.stop();
  return lf::Status::error("lf-echo-server (" + model + ") did not start");
}

struct Run {
  double rate = 0, p50_us = 0, p99_us = 0, cs_per_req = 0, allocs_per_req = -1, promotions_per_req = 0;
};

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"lf-echo-demo: the echo server under every concurrency model, side by side"};
  int rounds = 3, threads = 4, connections = 100, size = 64, per_turn = 8;
  double seconds = 1.5;
  std::string models_arg = "reactor,lf,lf-multi,hsha,tpc";
  std::vector<int> pipelines = {1, 16};
  app.add_option("--rounds", rounds)->capture_default_str();
  app.add_option("--seconds", seconds, "measured seconds per run")->capture_default_str();
  app.add_option("--threads", threads, "server threads")->capture_default_str();
  app.add_option("--connections,-c", connections)->capture_default_str();
  app.add_option("--size", size)->capture_default_str();
  app.add_option("--pipelines", pipelines, "pipeline depths to run")->capture_default_str();
  app.add_option("--models", models_arg)->capture_default_str();
  app.add_option("--events-per-turn", per_turn, "lf, lf-multi: events a leader takes per promotion")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  std::vector<std::string> models;
  {
    std::stringstream ss(models_arg);
    std::string m;
    lf::ModelKind k;
    while (std::getline(ss, m, ',')) {
      if (!lf::parse_model(m, k)) {
        std::fprintf(stderr, "lf-echo-demo: unknown model '%s'\n", m.c_str());
        return 2;
      }
      models.push_back(m);
    }
  }
  char tmpl[] = "/tmp/lf-echo-demo.XXXXXX";
  std::string tmpdir = ::mkdtemp(tmpl);

  std::printf("lf-echo-demo: %zu models x %zu scenarios x %d rounds, %d server threads, %d connections, "
              "%d-byte messages, %.1f s per run (client and server share this machine's %ld cores)\n",
              models.size(), pipelines.size(), rounds, threads, connections, size, seconds,
              ::sysconf(_SC_NPROCESSORS_ONLN));
  std::map<std::pair<int, std::string>, std::vector<Run>> runs;
  int index = 0;
  for (int round = 1; round <= rounds; ++round) {
    for (int pipeline : pipelines) {
      for (const auto& model : models) {
        auto server = spawn_server(model, threads, per_turn, tmpdir, index++);
        if (!server.ok()) {
          std::fprintf(stderr, "lf-echo-demo: %s\n", server.status().message().c_str());
          return 1;
        }
        echo::LoadOptions lo;
        lo.port = server.value().port;
        lo.connections = connections;
        lo.size = size;
        lo.pipeline = pipeline;
        lo.duration = std::chrono::duration_cast<lf::Duration>(std::chrono::duration<double>(seconds));
        std::map<std::string, double> before, after;
        auto r = echo::run_load(lo, [&] { before = server.value().sample(); },
                                [&] { after = server.value().sample(); });
        server.value().stop();
        if (!r.ok() || r.value().errors > 0) {
          std::fprintf(stderr, "lf-echo-demo: load against %s failed: %s\n", model.c_str(),
                       r.ok() ? "connection errors" : r.status().message().c_str());
          return 1;
        }
        Run run;
        const auto& res = r.value();
        auto req = static_cast<double>(std::max<std::uint64_t>(1, res.requests));
        run.rate = res.rate();
        run.p50_us = static_cast<double>(res.latency_ns.percentile(0.5)) / 1e3;
        run.p99_us = static_cast<double>(res.latency_ns.percentile(0.99)) / 1e3;
        run.cs_per_req = ((after["vcs"] + after["ivcs"]) - (before["vcs"] + before["ivcs"])) / req;
        if (after["allocs"] >= 0 && before["allocs"] >= 0) run.allocs_per_req = (after["allocs"] - before["allocs"]) / req;
        run.promotions_per_req = (after["promotions"] - before["promotions"]) / req;
        runs[{pipeline, model}].push_back(run);
        std::printf("  round %d  P=%-2d %-9s %9.0f req/s  p50 %7.1f us  p99 %8.1f us  cs/req %.3f\n", round,
                    pipeline, model.c_str(), run.rate, run.p50_us, run.p99_us, run.cs_per_req);
        std::fflush(stdout);
      }
    }
  }

  for (int pipeline : pipelines) {
    std::printf("\nEcho, %d connections, %d-byte messages, pipeline %d, %d server threads (medians of %d rounds)\n",
                connections, size, pipeline, threads, rounds);
    std::printf("| model    |  requests/s | x reactor | p50 us | p99 us | ctx switches/req | allocs/req | promotions/req |\n");
    std::printf("|----------|------------:|----------:|-------:|-------:|-----------------:|-----------:|---------------:|\n");
    double base = 0;
    for (const auto& model : models) {
      if (model == "reactor") {
        std::vector<double> v;
        for (auto& r : runs[{pipeline, model}]) v.push_back(r.rate);
        base = median(v);
      }
    }
    for (const auto& model : models) {
      auto& rs = runs[{pipeline, model}];
      auto med = [&](double Run::*f) {
        std::vector<double> v;
        for (auto& r : rs) v.push_back(r.*f);
        return median(v);
      };
      double rate = med(&Run::rate);
      double allocs = med(&Run::allocs_per_req);
      char allocs_s[32];
      if (allocs < 0) std::snprintf(allocs_s, sizeof allocs_s, "n/a");
      else std::snprintf(allocs_s, sizeof allocs_s, "%.3f", allocs);
      std::printf("| %-8s | %11.0f | %9.2f | %6.1f | %6.1f | %16.3f | %10s | %14.3f |\n", model.c_str(), rate,
                  base > 0 ? rate / base : 0.0, med(&Run::p50_us), med(&Run::p99_us), med(&Run::cs_per_req),
                  allocs_s, med(&Run::promotions_per_req));
    }
  }
  std::string cleanup = "rm -rf " + tmpdir;
  (void)!std::system(cleanup.c_str());
  return 0;
}
