// What the peer echo servers (ace_echo.cpp, asio_echo.cpp) share with lf-echo-server, so the
// benchmark drives all of them the same way: the same flags (--port, --threads, --bind,
// --port-file, --stats-file), the I/O threads started by main while main itself only waits for
// signals, and the same counters file on SIGUSR1. Nothing here knows about a framework.
#pragma once

#include <dlfcn.h>
#include <signal.h>
#include <sys/resource.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <string>

namespace peers {

inline constexpr std::size_t kReadChunk = 16 * 1024;  // what liblf's sessions read per recv

struct PeerOptions {
  std::string bind = "127.0.0.1";
  int port = 7000;
  int threads = 4;
  std::string port_file;   // written once listening (for --port 0)
  std::string stats_file;  // SIGUSR1 writes the counters here
};

// Blocks the stop and stats signals in the calling thread; threads started afterwards inherit
// the mask, so only wait_for_stop() ever sees them and no I/O thread is interrupted.
inline sigset_t block_control_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  // A client that goes away mid-reply must cost an EPIPE, not the process.
  ::signal(SIGPIPE, SIG_IGN);
  return set;
}

inline void write_port_file(const std::string& path, unsigned port) {
  if (path.empty()) return;
  std::ofstream(path + ".tmp") << port << "\n";
  std::rename((path + ".tmp").c_str(), path.c_str());
}

// The same keys lf-echo-server writes. Allocations come from the LD_PRELOAD counter in
// tools/alloccount.c when it is loaded (-1 otherwise); context switches are summed over all
// threads by getrusage, as lf::read_process_context_switches does.
inline void write_stats(const std::string& path) {
  using CountFn = std::uint64_t (*)();
  static auto count = reinterpret_cast<CountFn>(::dlsym(RTLD_DEFAULT, "lf_alloc_count"));
  long long allocs = count != nullptr ? static_cast<long long>(count()) : -1;  // before any I/O below
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp);
    f << "allocs " << allocs << "\nvcs " << ru.ru_nvcsw << "\nivcs " << ru.ru_nivcsw << "\n";
  }
  std::rename(tmp.c_str(), path.c_str());
}

// Returns on SIGTERM or SIGINT; answers SIGUSR1 with the counters file.
inline void wait_for_stop(const sigset_t& set, const std::string& stats_file) {
  for (;;) {
    int sig = 0;
    if (sigwait(&set, &sig) != 0) continue;
    if (sig == SIGUSR1) {
      if (!stats_file.empty()) write_stats(stats_file);
      continue;
    }
    return;
  }
}

}  // namespace peers
