// Stored procedures: EVAL, EVALSHA and SCRIPT with Lua 5.4 (Debian's liblua5.4).
//
// A script runs as one invocation on the colors of the keys it declares (EVAL's numkeys), so it
// is atomic like MULTI/EXEC: nothing else touches those keys meanwhile, and it never waits for
// another invocation (the colors are taken in the scheduler's fixed order). Inside, redis.call
// runs the command's handler directly on this thread. A script may touch only its declared keys
// (the colors it holds): any other key is refused with an error, as are commands that need more
// than keys (KEYS, FLUSHALL, CONFIG ...).
//
// One Lua state per serving thread (created on first use), so scripts on different colors run in
// parallel. The script registry (SHA1 -> source) is shared; a thread compiles a script the first
// time it runs it. SCRIPT FLUSH bumps a generation and every thread drops its state before its
// next script.
//
// The log gets the script's effects, not the script: the write commands it ran, as one
// MULTI ... EXEC block (or a single command), so replay is deterministic whatever the script did.
//
// A script that runs away (a loop that never ends) holds its colors and its thread. SCRIPT KILL
// stops the scripts that have run longer than `busy-reply-threshold` (lua-time-limit) and have
// not written yet: a count hook checks for the request every few thousand Lua instructions and
// the script ends with an error. One that has written cannot be stopped without breaking its
// atomicity (UNKILLABLE), as in Redis. Unlike Redis, other clients are not answered BUSY
// meanwhile: only those waiting for the script's colors wait.
//
// Thread-safety: ScriptRegistry guards its map and its list of running scripts with mutexes;
// a running script's flags are atomics; the Lua state is thread-local.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "db/command_context.hpp"
#include "lf/mutex.hpp"

namespace lfdb::db {

class ScriptRegistry {
 public:
  // Adds the script; returns its SHA1 (40 lower-case hex digits).
  std::string add(std::string_view source);
  bool find(std::string_view sha, std::string& source) const;
  bool exists(std::string_view sha) const;
  void flush();
  std::uint64_t generation() const;
  std::size_t size() const;

  // A script while it runs: registered by run_script, flagged by SCRIPT KILL.
  struct Running {
    std::int64_t started_ms = 0;
    std::atomic<bool> wrote{false};  // ran a write command: killing it would break atomicity
    std::atomic<bool> kill{false};   // SCRIPT KILL asked it to stop
  };
  void begin_run(Running* r);
  void end_run(Running* r);
  enum class KillResult { kKilled, kNotBusy, kUnkillable };
  // Flags every script running for at least the busy threshold that has not written yet.
  KillResult kill_busy(std::int64_t now_ms);
  void set_busy_threshold_ms(std::int64_t ms) { busy_threshold_ms_.store(ms, std::memory_order_relaxed); }
  std::int64_t busy_threshold_ms() const { return busy_threshold_ms_.load(std::memory_order_relaxed); }

 private:
  mutable lf::Mutex mu_;
  std::map<std::string, std::string, std::less<>> scripts_ LF_GUARDED_BY(mu_);
  std::atomic<std::uint64_t> generation_{0};  // bumped by flush(): threads drop their Lua state
  mutable lf::Mutex running_mu_;
  std::vector<Running*> running_ LF_GUARDED_BY(running_mu_);
  std::atomic<std::int64_t> busy_threshold_ms_{5000};
};

std::string sha1_hex(std::string_view data);

// EVAL / EVALSHA: runs the script (`source`, known by `sha`) with the context's KEYS and ARGV and
// writes its reply to c.out.
void run_script(CommandContext& c, std::string_view sha, std::string_view source);

}  // namespace lfdb::db
