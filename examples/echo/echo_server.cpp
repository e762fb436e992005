// lf-echo-server: the echo service under any of liblf's concurrency models.
//   lf-echo-server --model lf --threads 4 --port 7000 [--handle-set epoll-et]
// --handle-set uring-completion (with --model lf) runs it on lf::UringProactor instead: the
// completion handle set, where the kernel receives into provided buffers and the handler gets
// the bytes (EchoHandler below) rather than a readiness event.
// SIGUSR1 writes the server's counters to --stats-file (the demo samples them around its
// measured window); SIGTERM or SIGINT stops it cleanly.
#include <signal.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>

#include "echo_service.hpp"
#include "lf/concurrency_model.hpp"
#include "lf/uring_proactor.hpp"

namespace {

// The echo service on the completion handle set: the bytes come in hand, the reply is queued.
class EchoHandler final : public lf::ProactorHandler {
 public:
  void on_data(lf::ProactorIo& io, std::string_view bytes) override { io.send(bytes); }
};

void write_proactor_stats(const std::string& path, const lf::UringProactor& p) {
  std::int64_t allocs = lf::alloc_count();
  lf::ProactorStats st = p.stats();
  std::uint64_t vcs = 0, ivcs = 0;
  lf::read_process_context_switches(vcs, ivcs);
  std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp);
    f << "allocs " << allocs << "\nvcs " << vcs << "\nivcs " << ivcs << "\ncompletions " << st.completions
      << "\nenters " << st.enters << "\nleader_turns " << st.leader_turns << "\naccepted " << st.accepted << "\n";
  }
  std::rename(tmp.c_str(), path.c_str());
}

void write_stats(const std::string& path, const lf::ConcurrencyModel& model) {
  std::int64_t allocs = lf::alloc_count();  // first, so writing the report is not counted
  lf::ModelStats st = model.stats();
  std::uint64_t vcs = 0, ivcs = 0;
  lf::read_process_context_switches(vcs, ivcs);
  std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp);
    f << "allocs " << allocs << "\nvcs " << vcs << "\nivcs " << ivcs << "\nevents "
      << st.totals.events << "\npromotions " << st.totals.promotions << "\nfollower_waits "
      << st.totals.follower_waits << "\nqueue_waits " << st.totals.queue_waits << "\naccepted "
      << st.accepted << "\n";
  }
  std::rename(tmp.c_str(), path.c_str());
}

void publish_port(const std::string& port_file, std::uint16_t port) {
  if (port_file.empty()) return;
  std::ofstream(port_file + ".tmp") << port << "\n";
  std::rename((port_file + ".tmp").c_str(), port_file.c_str());
}

int run_proactor(const lf::ModelOptions& opts, const sigset_t& set, const std::string& stats_file,
                 const std::string& port_file) {
  lf::ProactorOptions po;
  po.bind = opts.bind;
  po.port = opts.port;
  po.threads = opts.threads;
  auto p = lf::UringProactor::create(po, [](lf::HandlerId, int) { return std::make_unique<EchoHandler>(); });
  if (!p.ok()) {
    std::fprintf(stderr, "lf-echo-server: %s\n", p.status().message().c_str());
    return 1;
  }
  lf::Status st = p.value()->start();
  if (!st.ok()) {
    std::fprintf(stderr, "lf-echo-server: %s\n", st.message().c_str());
    return 1;
  }
  publish_port(port_file, p.value()->port());
  std::fprintf(stderr, "lf-echo-server: uring-completion proactor, %d threads, listening on %s:%u\n", po.threads,
               po.bind.c_str(), p.value()->port());
  for (;;) {
    int sig = 0;
    if (sigwait(&set, &sig) != 0) continue;
    if (sig == SIGUSR1) {
      if (!stats_file.empty()) write_proactor_stats(stats_file, *p.value());
      continue;
    }
    break;
  }
  p.value()->stop();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"lf-echo-server: an echo server on liblf's concurrency models"};
  std::string model_name = "lf", bind = "127.0.0.1", stats_file, port_file, promotion = "lifo",
              handle_set = "epoll-et";
  int port = 7000, threads = 4, batch = 64, per_turn = 8;
  bool lazy = false;
  app.add_option("--model", model_name, "lf | lf-multi | hsha | tpc | reactor")->capture_default_str();
  app.add_option("--threads", threads, "threads (lf, lf-multi: the pool; hsha: workers)")->capture_default_str();
  app.add_option("--port", port, "TCP port (0: any free port)")->capture_default_str();
  app.add_option("--bind", bind, "address to listen on")->capture_default_str();
  app.add_option("--promotion", promotion, "follower promotion: fifo | lifo | priority")->capture_default_str();
  app.add_option("--batch", batch, "events taken per epoll_wait")->capture_default_str();
  app.add_option("--events-per-turn", per_turn, "events a leader takes per promotion (lf, lf-multi)")->capture_default_str();
  app.add_option("--handle-set", handle_set,
                 "epoll-oneshot | epoll-et | io_uring (readiness) | uring-completion (lf only: the proactor)")
      ->capture_default_str();
  app.add_flag("--lazy-promotion", lazy,
               "lf, lf-multi: a leader that took every ready event keeps leading (echo handlers never block)");
  app.add_option("--stats-file", stats_file, "where SIGUSR1 writes the counters");
  app.add_option("--port-file", port_file, "write the bound port here once listening");
  CLI11_PARSE(app, argc, argv);

  lf::ModelKind kind;
  if (!lf::parse_model(model_name, kind)) {
    std::fprintf(stderr, "lf-echo-server: unknown --model '%s' (lf, lf-multi, hsha, tpc, reactor)\n", model_name.c_str());
    return 2;
  }
  lf::ModelOptions opts;
  opts.bind = bind;
  opts.port = static_cast<std::uint16_t>(port);
  opts.threads = threads;
  opts.max_events_per_wait = batch;
  opts.events_per_turn = per_turn;
  opts.lazy_promotion = lazy;
  if (!lf::parse_promotion(promotion, opts.promotion)) {
    std::fprintf(stderr, "lf-echo-server: unknown --promotion '%s'\n", promotion.c_str());
    return 2;
  }
  const bool completion = handle_set == "uring-completion";
  if (completion && kind != lf::ModelKind::kLeaderFollowers) {
    std::fprintf(stderr, "lf-echo-server: --handle-set uring-completion runs with --model lf only\n");
    return 2;
  }
  if (!completion && !lf::parse_handle_set(handle_set, opts.handle_set)) {
    std::fprintf(stderr, "lf-echo-server: unknown --handle-set '%s'\n", handle_set.c_str());
    return 2;
  }

  // Signals go to this thread only (blocked before any other thread starts).
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);

  if (completion) return run_proactor(opts, set, stats_file, port_file);

  echo::EchoService service;
  auto model = lf::ConcurrencyModel::create(kind, opts, service);
  if (!model.ok()) {
    std::fprintf(stderr, "lf-echo-server: %s\n", model.status().message().c_str());
    return 1;
  }
  lf::Status st = model.value()->start();
  if (!st.ok()) {
    std::fprintf(stderr, "lf-echo-server: %s\n", st.message().c_str());
    return 1;
  }
  publish_port(port_file, model.value()->port());
  std::fprintf(stderr, "lf-echo-server: model %s, %d threads, listening on %s:%u\n",
               lf::to_string(kind), threads, bind.c_str(), model.value()->port());
  for (;;) {
    int sig = 0;
    if (sigwait(&set, &sig) != 0) continue;
    if (sig == SIGUSR1) {
      if (!stats_file.empty()) write_stats(stats_file, *model.value());
      continue;
    }
    break;
  }
  model.value()->stop();
  return 0;
}
