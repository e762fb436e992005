#include "db/client_pause.hpp"

#include <algorithm>
#include <chrono>

#include "commands/command_table.hpp"
#include "db/blocking/registry.hpp"
#include "db/functions/library_loader.hpp"
#include "db/server.hpp"

namespace lfdb::db {

bool pause_may_write(Server& server, const ClientState& client, const commands::CommandSpec& spec,
                     std::span<const std::string_view> argv) {
  if (spec.hue == commands::HueClass::kTransaction) {
    for (const OwnedCommand& q : client.queued()) {
      if (pause_may_write(server, client, *q.spec, q.argv)) return true;
    }
    return false;
  }
  if (spec.has(commands::kWrite)) return true;
  if (!spec.has(commands::kMayReplicate)) return false;
  if (!commands::runs_script(spec) || argv.size() < 2) return true;
  // A script or function declared no-writes cannot write: it runs (as Redis decides from the
  // flags). One not found is held, and answers NOSCRIPT or "not found" once released.
  std::uint32_t flags = 0;
  if (spec.name == "fcall") {
    std::string library, name;
    if (!server.functions().find_function(argv[1], library, name, flags)) return true;
  } else {
    std::string source;
    std::string_view text = argv[1];
    if (spec.name == "evalsha") {
      if (!server.scripts().find(argv[1], source)) return true;
      text = source;
    }
    bool shebang = false;
    std::string body, err;
    if (!functions::parse_script_shebang(text, shebang, flags, body, err) || !shebang) return true;
  }
  return (flags & functions::kNoWrites) == 0;
}

bool pause_may_hold(const commands::CommandSpec& spec) {
  return spec.has(commands::kWrite) || spec.has(commands::kMayReplicate) ||
         spec.hue == commands::HueClass::kTransaction;
}

void ClientPause::pause(Mode mode, std::int64_t end_ms) {
  lf::MutexLock lock(mu_);
  if (stopping_) return;
  // A pause whose end passed unnoticed by the timer is over: the new one starts afresh.
  const bool live = mode_.load(std::memory_order_relaxed) != 0 &&
                    end_ms_.load(std::memory_order_relaxed) >= now_ms();
  const Mode was = live ? static_cast<Mode>(mode_.load(std::memory_order_relaxed)) : Mode::kOff;
  const std::int64_t end = live ? std::max(end_ms_.load(std::memory_order_relaxed), end_ms) : end_ms;
  // The end first: a reader that sees the mode sees an end that covers it.
  end_ms_.store(end, std::memory_order_release);
  expiry_.until_ms.store(end, std::memory_order_release);
  // seq_cst: a session's enter() and mode() read against it (drain()).
  mode_.store(static_cast<std::uint8_t>(std::max(was, mode)), std::memory_order_seq_cst);
  if (!timer_.joinable()) timer_ = std::thread([this] { run_timer(); });
  cv_.notify_one();
}

void ClientPause::drain() const {
  // The commands in flight were running when the pause began: they end on their own threads
  // (a queued one runs once the colors it waits for are free, on the thread that frees them),
  // so the wait ends. Short ones are the rule: yield first, then sleep in small steps.
  for (int spins = 0; in_flight_.load(std::memory_order_seq_cst) > 0; ++spins) {
    if (spins < 64) {
      std::this_thread::yield();
    } else {
      std::this_thread::sleep_for(std::chrono::microseconds(spins < 1024 ? 50 : 1000));
    }
  }
}

std::deque<ClientPause::Held> ClientPause::end_locked() {
  mode_.store(0, std::memory_order_release);
  expiry_.until_ms.store(0, std::memory_order_release);
  std::deque<Held> out;
  out.swap(held_);
  held_count_.store(0, std::memory_order_relaxed);
  return out;
}

void ClientPause::unpause() {
  std::deque<Held> released;
  {
    lf::MutexLock lock(mu_);
    released = end_locked();
  }
  // In arrival order; each carried on by the caller's wake_pending() (it holds nothing then).
  for (Held& h : released) {
    if (h.waiter->claim()) blocking::note_woken(std::move(h.waiter));
  }
}

bool ClientPause::hold(const std::shared_ptr<blocking::Waiter>& w, bool may_write) {
  lf::MutexLock lock(mu_);
  if (stopping_ || !holds(may_write, now_ms())) return false;
  held_.push_back(Held{w});
  held_count_.store(held_.size(), std::memory_order_relaxed);
  return true;
}

bool ClientPause::release_to_close(std::uint64_t client_id) {
  std::shared_ptr<blocking::Waiter> w;
  {
    lf::MutexLock lock(mu_);
    auto it = std::find_if(held_.begin(), held_.end(),
                           [&](const Held& h) { return h.waiter->client_id == client_id; });
    if (it == held_.end()) return false;
    w = std::move(it->waiter);
    held_.erase(it);
    held_count_.store(held_.size(), std::memory_order_relaxed);
  }
  if (!w->claim()) return false;
  w->close = true;
  blocking::note_woken(std::move(w));  // the caller's wake_pending() closes it
  return true;
}

void ClientPause::stop() {
  std::deque<Held> released;
  {
    lf::MutexLock lock(mu_);
    stopping_ = true;
    released = end_locked();
    cv_.notify_all();
  }
  if (timer_.joinable()) timer_.join();
  for (Held& h : released) {
    if (!h.waiter->claim()) continue;
    h.waiter->close = true;  // shutting down: the connection closes
    h.waiter->finish();
  }
}

// Ends each pause once its end has passed; sleeps while there is none.
void ClientPause::run_timer() {
  lf::MutexLock lock(mu_);
  while (!stopping_) {
    if (mode_.load(std::memory_order_relaxed) == 0) {
      cv_.wait(mu_);
      continue;
    }
    const std::int64_t end = end_ms_.load(std::memory_order_relaxed);
    if (now_ms() <= end) {
      (void)cv_.wait_until(mu_, std::chrono::system_clock::time_point(std::chrono::milliseconds(end + 1)));
      continue;
    }
    std::deque<Held> released = end_locked();
    lock.unlock();
    // Outside the lock: finish() may carry a connection on, on this thread.
    for (Held& h : released) {
      if (h.waiter->claim()) h.waiter->finish();
    }
    lock.lock();
  }
}

}  // namespace lfdb::db
