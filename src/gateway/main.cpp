// lfdb-gateway: the front-end communication server. Usage: lfdb-gateway --config FILE [flags]
#include <sys/resource.h>

#include <algorithm>
#include <csignal>
#include <cstdio>

#include "gateway/config.hpp"
#include "gateway/gateway.hpp"

namespace {

volatile std::sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

}  // namespace

int main(int argc, char** argv) {
  lfdb::gateway::Config cfg;
  std::string usage;
  lf::Status st = lfdb::gateway::parse_command_line(argc, argv, cfg, usage);
  if (!st.ok()) {
    if (st.message() == "usage") {
      std::fputs(usage.c_str(), stdout);
      return 0;
    }
    std::fprintf(stderr, "lfdb-gateway: %s\n", st.message().c_str());
    return 1;
  }
  for (const std::string& w : cfg.warnings) std::fprintf(stderr, "lfdb-gateway: warning: %s\n", w.c_str());
  std::signal(SIGPIPE, SIG_IGN);
  // Room for max_clients connections plus the upstream ones.
  rlimit rl{};
  const rlim_t want_files = static_cast<rlim_t>(cfg.limits.max_clients) + 1024;
  if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < want_files) {
    rlimit want = rl;
    want.rlim_cur = std::min<rlim_t>(want_files, rl.rlim_max);
    (void)::setrlimit(RLIMIT_NOFILE, &want);
    if (want.rlim_cur < want_files) {
      std::fprintf(stderr, "lfdb-gateway: warning: open files limited to %llu, below max_clients %zu\n",
                   static_cast<unsigned long long>(want.rlim_cur), cfg.limits.max_clients);
    }
  }
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);

  lfdb::gateway::Gateway gw(cfg);
  st = gw.start();
  if (!st.ok()) {
    std::fprintf(stderr, "lfdb-gateway: cannot start: %s\n", st.message().c_str());
    return 1;
  }
  std::fprintf(stderr, "lfdb-gateway: listening on %s:%u (%s config, %zu shards, model %s, %d threads, %s forwarding)\n",
               cfg.bind.c_str(), static_cast<unsigned>(gw.port()), cfg.source.c_str(), cfg.shards.size(),
               cfg.model.c_str(), cfg.threads, lfdb::gateway::to_string(cfg.forwarding));
  for (std::size_t i = 0; i < cfg.shards.size(); ++i) {
    std::fprintf(stderr, "lfdb-gateway: shard %zu: slots %d-%d, primary %s, %zu replicas\n", i,
                 cfg.shards[i].slot_lo, cfg.shards[i].slot_hi, cfg.shards[i].primary.to_string().c_str(),
                 cfg.shards[i].replicas.size());
  }
  std::fflush(stderr);
  // The signal handler only sets a flag; this thread notices it within 50 ms.
  while (!g_stop) {
    struct timespec ts {0, 50 * 1000 * 1000};
    ::nanosleep(&ts, nullptr);
  }
  std::fprintf(stderr, "lfdb-gateway: shutting down\n");
  gw.stop();
  std::fprintf(stderr, "lfdb-gateway: bye\n");
  return 0;
}
