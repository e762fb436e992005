// lfdb-server: the back-end database server. Usage: lfdb-server [config-file] [--name value ...]
#include <pthread.h>
#include <unistd.h>
#include <sys/resource.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <algorithm>
#include <cerrno>
#include <string>

#include "db/config.hpp"
#include "db/memory/allocator.hpp"
#include "db/process_settings.hpp"
#include "db/server.hpp"
#include "db/snapshot.hpp"

// jemalloc's options for lfdb-server (read once, at the allocator's first use; the MALLOC_CONF
// environment variable still overrides them). narenas:1: every thread allocates from one arena.
// jemalloc's default is 4 arenas a CPU, and a thread gets its own on its first allocation, so
// each serving thread, the ticker and the main thread each kept their own partly used slabs,
// their own free pages and about 90 KB of arena metadata: a server holding 3,000 sets of 500
// integers used 2-4% more RSS a key than redis-server for the same used_memory (docs/memory.md,
// "Allocator settings"). The threads still allocate through their own caches (tcache), so they
// take the arena's locks only to refill or flush a cache; CPU per request did not move
// (bench/server_cpu.sh, same page).
extern "C" {
// NOLINTNEXTLINE: the name and type jemalloc looks up
const char* malloc_conf = "narenas:1";
}

namespace {

lfdb::db::Server* g_server = nullptr;
// The temporary file this process's snapshot goes to, relative to the working directory, which
// is `dir` (CONFIG SET dir moves both): a second SIGINT removes it as it exits.
std::string g_snapshot_temp;

void on_signal(int sig) {
  if (g_server == nullptr || !g_server->note_stop_signal(sig)) return;
  // A second SIGINT while the first one's shutdown runs (a long snapshot): exit now, as Redis
  // does; only async-signal-safe calls.
  static constexpr char kInsist[] = "lfdb-server: SIGINT again during the shutdown: exiting now\n";
  (void)!::write(STDOUT_FILENO, kInsist, sizeof kInsist - 1);
  (void)::unlink(g_snapshot_temp.c_str());
  ::_exit(1);
}

constexpr const char* kUsage =
    "usage: lfdb-server [config-file] [--directive value ...]\n"
    "  --port N            listen port (6379; 0 picks a free one)\n"
    "  --bind ADDR...      listen addresses (* -::*: every one; protected mode)\n"
    "  --threads N         serving threads (2)\n"
    "  --model M           lf | lf-multi | hsha | tpc | reactor (lf)\n"
    "  --data D            colors | global (colors)\n"
    "  --requirepass PASS  require AUTH\n"
    "  --maxclients N      connection limit (10000)\n"
    "  --colors N          hue colors / keyspace partitions (1024)\n"
    "  --events-per-turn N events an L/F leader takes per promotion (64)\n"
    "  --lazy-promotion B  yes | no: a leader with every ready event keeps leading (yes)\n"
    "  --handle-set H      epoll-oneshot | epoll-et | io_uring | uring-completion: how lf's threads share the handle set (epoll-et)\n"
    "  --hz N              active expiry cycles per second (10)\n"
    "  --busy-reply-threshold MS  SCRIPT KILL may stop scripts running longer (5000)\n"
    "  --port-file PATH    write the bound port here once listening\n"
    "  --appendonly B      yes | no: the append-only log (no); --appendfsync always|everysec|no,\n"
    "                      --dir PATH, --appendfilename NAME (docs/persistence.md)\n"
    "Every directive of the config file is also accepted as --name value.\n";

}  // namespace

int main(int argc, char** argv) {
  lfdb::db::ServerConfig cfg;
  lf::Status st = lfdb::db::parse_command_line(argc, argv, cfg);
  if (!st.ok()) {
    if (st.message() == "usage") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    std::fprintf(stderr, "lfdb-server: %s\n%s", st.message().c_str(), kUsage);
    return 1;
  }
  if (lf::Status in = lfdb::db::enter_dir(cfg); !in.ok()) {
    std::fprintf(stderr, "lfdb-server: %s\n", in.message().c_str());
    return 1;
  }
  // The server's log is its standard output, as redis-server's is with `logfile ""`: a line at a
  // time, so a reader of a file it goes to (a test harness, a service manager) sees each line
  // when it is written. Warnings and errors go to standard error.
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  std::signal(SIGPIPE, SIG_IGN);
  if (lf::Status log = lfdb::db::open_logfile(cfg.param("logfile")); !log.ok()) {
    std::fprintf(stderr, "lfdb-server: %s\n", log.message().c_str());
    return 1;
  }
  if (!lfdb::db::apply_oom_score(cfg.param("oom-score-adj"), cfg.param("oom-score-adj-values"),
                                 !cfg.replicaof_host.empty())) {
    std::fprintf(stderr, "lfdb-server: warning: cannot set %s\n", "/proc/self/oom_score_adj");
  }
  // Room for maxclients connections plus the server's own descriptors, as redis-server does.
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < cfg.maxclients + 64) {
    rlimit want = rl;
    want.rlim_cur = std::max<rlim_t>(rl.rlim_cur, cfg.maxclients + 64);
    if (want.rlim_max < want.rlim_cur) want.rlim_max = want.rlim_cur;  // works as root
    if (::setrlimit(RLIMIT_NOFILE, &want) != 0) {
      want.rlim_cur = rl.rlim_max;
      (void)::setrlimit(RLIMIT_NOFILE, &want);
      std::fprintf(stderr, "lfdb-server: warning: open files limited to %llu, below maxclients %zu\n",
                   static_cast<unsigned long long>(rl.rlim_max), cfg.maxclients);
    }
  }
  // SIGTERM and SIGINT stay blocked until their handler is in place: start() serves clients
  // before it returns, and a SIGTERM in between ended the server by the default action (no
  // shutdown, no snapshot; a test that had been answered saw it). The threads start() creates
  // inherit the mask and keep them blocked, so the main thread, which unblocks them once the
  // handler is there, takes them (a pending one at once).
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  lfdb::db::Server server(cfg);
  // start() writes the pidfile once it listens (a start that fails leaves another server's
  // pidfile alone); it goes at exit.
  const std::string pidfile = cfg.param("pidfile");
  if (cfg.bind.empty() && cfg.param("unixsocket").empty()) {
    std::printf("lfdb-server: Configured to not listen anywhere, exiting.\n");  // Redis's words
    return 1;
  }
  st = server.start();
  if (!st.ok()) {
    // A port in use is the common case: named as Redis names it, which tools that start servers
    // on guessed ports look for in the log to try another (the unix socket's path was freed
    // before its bind, so EADDRINUSE is the TCP port's).
    if (st.sys_errno() == EADDRINUSE) {
      std::printf("lfdb-server: Failed listening on port %u (TCP): %s\n",
                  static_cast<unsigned>(cfg.port), st.message().c_str());
    } else {
      std::printf("lfdb-server: cannot start: %s\n", st.message().c_str());
    }
    return 1;
  }
  g_snapshot_temp = lfdb::db::snapshot_temp_path(cfg.dbfilename, ::getpid());
  g_server = &server;
  // From here this thread only waits for the shutdown: the blocks its cache kept from building
  // the server go back to the arena, where the serving threads' allocations reuse them.
  lfdb::db::memory::set_thread_cache(false);
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  pthread_sigmask(SIG_UNBLOCK, &stop_signals, nullptr);
  // The first line once listening says which process this is (operators, and Redis's test
  // harness, which matches " PID: <pid>"); the second that clients are served from now on, in the
  // words Redis uses, which tools that start a server wait for.
  std::string where = cfg.bind.empty() ? std::string("no TCP address")
                                        : "port " + std::to_string(server.port()) + " of " + cfg.bind;
  if (const std::string path = cfg.param("unixsocket"); !path.empty()) where += " and the unix socket " + path;
  std::printf("lfdb-server %s, PID: %ld: listening on %s (model %s, data %s, %d threads)\n",
              lfdb::db::kVersion, static_cast<long>(::getpid()), where.c_str(), lf::to_string(cfg.model),
              lfdb::db::to_string(cfg.data), cfg.threads);
  std::printf("lfdb-server: Ready to accept connections\n");
  server.wait();
  lfdb::db::memory::set_thread_cache(true);  // the shutdown frees the keyspace from here
  std::printf("lfdb-server: shutting down\n");
  server.stop();
  g_server = nullptr;
  lfdb::db::remove_pidfile(pidfile);
  std::printf("lfdb-server is now ready to exit, bye bye...\n");
  return 0;
}
