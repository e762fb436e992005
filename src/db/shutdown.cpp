// The shutdown's first step, before Server::stop(): what SHUTDOWN and the stop signals do while
// the server still serves, so that a snapshot that cannot be written leaves it serving rather
// than gone without it (docs/server.md, "Shutdown").
//
//   SHUTDOWN [SAVE|NOSAVE] [FORCE]  prepare_shutdown from the session (it holds no colors): a
//                                   failed save is the command's error, unless FORCE;
//   SIGTERM / SIGINT                the handler notes the signal; the ticker, on its next turn
//                                   unless DEBUG PAUSE-CRON holds it, prepares as the
//                                   shutdown-on-sigterm / shutdown-on-sigint flags say; a failed
//                                   save calls the shutdown off (logged);
//   SHUTDOWN ABORT                  calls off a signal's shutdown the ticker has not finished;
//   a second SIGINT                 while one's shutdown is under way: exit now, the snapshot's
//                                   temporary file removed (main.cpp).
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <sstream>
#include <string>

#include "db/persistence.hpp"
#include "db/server.hpp"
#include "lf/monitor.hpp"
#include "lf/unbound_thread_set.hpp"

namespace lfdb::db {

bool Server::note_stop_signal(int sig) {
  // Only atomics here: this runs in the signal handler.
  if (sig == SIGINT && (pending_signal_.load(std::memory_order_acquire) != 0 ||
                        shutdown_requested_.load(std::memory_order_acquire))) {
    return true;
  }
  pending_signal_.store(sig, std::memory_order_release);
  return false;
}

bool Server::abort_signal_shutdown() {
  int sig = pending_signal_.load(std::memory_order_acquire);
  while (sig != 0 && !pending_signal_.compare_exchange_weak(sig, 0, std::memory_order_acq_rel)) {
  }
  if (sig == 0) return false;
  std::printf("lfdb-server: Shutdown manually aborted (SHUTDOWN ABORT)\n");
  return true;
}

lf::Status Server::prepare_shutdown(int ask, bool force, int from_signal) {
  // Alone: the snapshot sees the keyspace still, and no command runs between it and the stop.
  struct Outcome {
    bool done = false;
    lf::Status st;
  };
  auto result = std::make_shared<lf::Monitor<Outcome>>(Outcome{});
  // SHUTDOWN's serving thread waits here through the final snapshot: one that kept the leader
  // role of its thread set (lazy promotion) hands it on first, as a long script or SAVE does,
  // so the other connections are served meanwhile. (The ticker, for a signal, holds none.)
  if (from_signal == 0) (void)lf::UnboundThreadSet::promote_new_leader();
  static const std::uint64_t kHash[1] = {0};
  const Invocation alone{executor_->exec_alone(), Placement::kKeys, std::span<const std::uint64_t>(kHash)};
  (void)executor_->submit(alone, lf::hue::Task([this, ask, force, from_signal, result] {
    if (from_signal != 0 && shutdown_requested_.load(std::memory_order_acquire)) {
      // A script turned busy while this waited for its colors: the stop took over (below), and
      // stop() saves as it does after a busy script; nothing to prepare.
      result->with_notify_all([](Outcome& o) { o.done = true; });
      return;
    }
    lf::Status st = persistence_.prepare_shutdown(ask);
    if (st.ok() || force) {
      // A signal's shutdown that SHUTDOWN ABORT called off meanwhile stays off.
      int expected = from_signal;
      if (from_signal == 0 || pending_signal_.compare_exchange_strong(expected, 0)) {
        persistence_.set_shutdown_save(ask);
        stop_listening_tcp();  // before any session sees stopping_ and closes (request_shutdown)
        stopping_.store(true, std::memory_order_release);  // nothing runs after the snapshot
        request_shutdown();
        st = lf::Status();
      } else {
        st = lf::Status::error("the shutdown was aborted");
      }
    }
    result->with_notify_all([&](Outcome& o) {
      o.st = st;
      o.done = true;
    });
  }));
  auto done = [](const Outcome& o) { return o.done; };
  auto status = [](Outcome& o) { return o.st; };
  if (from_signal == 0) return result->wait_until(done, status);
  // The ticker waits here. A script that started before the signal and turns busy meanwhile
  // holds its colors until it ends, maybe never: as for a signal during a busy script, the
  // stop takes over and stops it (the task above then finds the shutdown requested).
  for (;;) {
    if (auto st = result->wait_for(std::chrono::milliseconds(100), done, status)) return *st;
    if (!shutdown_requested_.load(std::memory_order_acquire) && scripts_.any_busy(now_ms())) {
      persistence_.set_shutdown_save(ask);
      request_shutdown();
    }
  }
}

void Server::shutdown_on_signal(int sig) {
  const char* name = sig == SIGINT ? "SIGINT" : "SIGTERM";
  std::printf("lfdb-server: Received %s scheduling shutdown...\n", name);
  // shutdown-on-sigint / shutdown-on-sigterm: default, or save / nosave, now, force.
  int ask = 0;
  bool force = false;
  const auto flags = config_.get(sig == SIGINT ? "shutdown-on-sigint" : "shutdown-on-sigterm");
  std::istringstream words(flags.empty() ? std::string() : flags.front().second);
  for (std::string w; words >> w;) {
    if (w == "save") ask = 1;
    else if (w == "nosave") ask = -1;
    else if (w == "force") force = true;
  }
  // A busy script holds its colors until it ends: the stop itself stops it (docs/server.md,
  // "Runaway scripts"), and takes the snapshot unless the script had written.
  if (scripts_.any_busy(now_ms())) {
    persistence_.set_shutdown_save(ask);
    request_shutdown();
    return;
  }
  lf::Status st = prepare_shutdown(ask, force, sig);
  if (!st.ok()) {
    int expected = sig;
    (void)pending_signal_.compare_exchange_strong(expected, 0);
    std::printf("lfdb-server: %s received but errors trying to shut down the server, check the logs "
                "for more information\n", name);
  }
}

}  // namespace lfdb::db
