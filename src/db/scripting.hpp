// Stored procedures: EVAL, EVALSHA and SCRIPT with Lua 5.4 (Debian's liblua5.4).
//
// A script runs as one invocation on the colors of the keys it declares (EVAL's numkeys), so it
// is atomic like MULTI/EXEC: nothing else touches those keys meanwhile, and it never waits for
// another invocation (the colors are taken in the scheduler's fixed order). Inside, redis.call
// runs the command's handler directly on this thread. A script may touch only its declared keys
// (the colors it holds), unless it runs alone, holding every color. A script the server has not
// learnt yet runs alone, and its run teaches whether it reaches another key or a command that
// needs more than keys (KEYS, SCAN, FLUSHALL, SORT): then it runs alone for good, else on its
// keys' colors (ScriptRegistry::learned). A script learnt on its colors that reaches past them
// later is stopped and run again alone while it has had no effect (a write, a PUBLISH), or gets
// an error after one; either way it runs alone from its next call on. Under `--data global`
// every script runs alone anyway.
//
// One Lua state per serving thread (created on first use), so scripts on different colors run in
// parallel. The script registry (SHA1 -> source) is shared; a thread compiles a script the first
// time it runs it. SCRIPT FLUSH bumps a generation and every thread drops its state before its
// next script.
//
// The log gets the script's effects, not the script: the write commands it ran, as one
// MULTI ... EXEC block (or a single command), so replay is deterministic whatever the script did.
//
// A script that runs away (a loop that never ends) holds its colors and its thread. A count hook
// looks at it every 10,000 Lua instructions. Once it has run longer than `busy-reply-threshold`
// (lua-time-limit) it is busy: SCRIPT KILL stops it if it has not written yet (one that has
// written cannot be stopped without breaking its atomicity: UNKILLABLE, as in Redis). While
// scripts keep every serving thread, the hook of a busy one also serves the other connections
// for a moment (lf::UnboundThreadSet::serve_while_processing) and answers them as Redis does,
// BUSY except for SCRIPT KILL, SHUTDOWN NOSAVE and the connection's own commands
// (allowed_while_busy), so the server stays reachable whatever the number of looping scripts.
// A busy script whose client has hung up is stopped like by SCRIPT KILL (nobody waits for it),
// and that connection runs no more scripts. SHUTDOWN NOSAVE (and a shutdown by signal, once a script is busy) stops scripts too; a stopped
// script that had written leaves nothing on disk (its effects are not logged, no snapshot is
// taken and nothing runs after it). docs/server.md says more.
//
// Thread-safety: ScriptRegistry guards its map and its list of running scripts with mutexes;
// a running script's state is atomic; the Lua state is thread-local.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "db/command_context.hpp"
#include "lf/mutex.hpp"

struct lua_State;

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

  // A script while it runs: registered by run_script, stopped by SCRIPT KILL or the shutdown.
  struct Running {
    std::int64_t started_ms = 0;
    // kClean -> kWrote (ran a write command: killing it would break atomicity) or kKilled
    // (SCRIPT KILL or the shutdown stopped it): one compare-and-swap decides, so a script that
    // is killed never writes after it, and one that wrote is never killed by SCRIPT KILL.
    enum : int { kClean, kWrote, kKilled };
    std::atomic<int> state{kClean};
    bool counted_busy = false;  // in busy_runs_ (touched by the running thread only)
    // What runs, for FUNCTION STATS and the kill commands (set before begin_run; argv lives
    // until end_run, which takes running_mu_, so readers copy it under that mutex).
    bool function = false;
    std::string_view name;
    std::span<const std::string_view> argv;
    bool wrote() const { return state.load(std::memory_order_acquire) == kWrote; }
    // Stops it if it has not written; true when it is stopped.
    bool kill_if_clean() {
      int s = kClean;
      return state.compare_exchange_strong(s, kKilled, std::memory_order_acq_rel) || s == kKilled;
    }
    // Before a write command: false when the script has been killed (it must stop instead).
    bool mark_wrote() {
      int s = kClean;
      return state.compare_exchange_strong(s, kWrote, std::memory_order_acq_rel) || s == kWrote;
    }
  };
  // Registers a run; false once the shutdown has begun (the script is not run then).
  bool begin_run(Running* r);
  void end_run(Running* r);

  enum class KillResult { kKilled, kNotBusy, kUnkillable, kOtherKind };
  // SCRIPT KILL (functions false) and FUNCTION KILL (true): stops every script of that kind
  // that has run for the busy threshold and has not written; kOtherKind when only runs of the
  // other kind are busy (Redis answers BUSY, naming the other command). With scripts running
  // but none busy yet, `may_wait` makes it wait as Redis's SCRIPT KILL does (Redis reads
  // nothing until then): for the first to become busy, or for none to run.
  KillResult kill_busy(bool functions, bool may_wait);
  // SCRIPT KILL's and FUNCTION KILL's reply to a kill_busy() result (Redis's texts).
  static void reply_kill(resp::Writer& out, KillResult r, bool functions);
  // FUNCTION STATS' running_script: the function running longest, if any.
  struct RunningFunction {
    std::string name;
    std::vector<std::string> command;
    std::int64_t started_ms = 0;
  };
  bool running_function(RunningFunction& out) const;
  // Whether a script has run for the busy threshold (SHUTDOWN without NOSAVE is refused then).
  bool any_busy(std::int64_t now_ms);
  // The hook found `r` past the busy threshold: until it ends, busy_now() is true and the
  // server answers every other command BUSY, as Redis does (one relaxed load per command).
  void note_busy(Running& r);
  bool busy_now() const { return busy_runs_.load(std::memory_order_relaxed) != 0; }
  // Redis's BUSY text names the kill command of what is busy: FUNCTION KILL when only
  // functions are, SCRIPT KILL otherwise.
  std::string_view busy_error() const;

  // Shutdown. NOSAVE stops every script at its next hook; otherwise a script may finish until
  // it is busy, and is stopped then. A stopped script that had written is abandoned: the server
  // logs none of its effects, takes no snapshot, and runs no command after it.
  void begin_shutdown(bool nosave);
  // What the hook must do with `r` now: let it run, or stop it (killing it, or abandoning it
  // when it wrote; *abandon tells which).
  enum class Verdict { kRun, kKilled, kStoppedByShutdown };
  Verdict verdict(Running& r, std::int64_t now_ms, bool& abandon);
  void note_abandoned() { abandoned_.store(true, std::memory_order_release); }
  bool abandoned() const { return abandoned_.load(std::memory_order_acquire); }
  // Until no script runs (the shutdown, after begin_shutdown).
  void wait_idle();

  // Scripts that reach keys they did not declare (Redis allows it outside cluster mode) run
  // alone: their invocation holds every color. The server learns which scripts do, by
  // script_identity(): a script not learnt yet runs alone (kUnknown), and that run tells whether
  // it reached past its declared keys (kAlone, for good) or stayed within them (kColors: its
  // later calls run on its keys' colors). A kColors script that reaches past later is restarted
  // alone when it has had no effect, or refused when it has (run_script), and is kAlone from
  // then on. Forgetting is always safe (the next call runs alone and learns again): SCRIPT FLUSH
  // forgets everything, a change of the function libraries changes every function's identity,
  // and past kMaxLearned verdicts the memory starts empty again.
  enum class Learned : std::uint8_t { kUnknown, kColors, kAlone };
  // Read through a per-thread copy (valid while learned_epoch_ stays): one atomic load
  // and a hash lookup per script call once the script is learnt.
  Learned learned(std::uint64_t identity) const;
  // What a run alone found (reached_past: it reached past its declared keys, or called a command
  // that needs every key): kAlone, or kColors for a script not learnt yet.
  void learn(std::uint64_t identity, bool reached_past);
  static constexpr std::size_t kMaxLearned = 1 << 16;

  void set_busy_threshold_ms(std::int64_t ms) { busy_threshold_ms_.store(ms, std::memory_order_relaxed); }
  std::int64_t busy_threshold_ms() const { return busy_threshold_ms_.load(std::memory_order_relaxed); }

 private:
  mutable lf::Mutex mu_;
  std::map<std::string, std::string, std::less<>> scripts_ LF_GUARDED_BY(mu_);
  std::atomic<std::uint64_t> generation_{0};  // bumped by flush(): threads drop their Lua state
  // script_identity() -> whether the script runs alone (true) or on its keys' colors (false).
  std::unordered_map<std::uint64_t, bool> learned_ LF_GUARDED_BY(mu_);
  // Bumped when a verdict is taken back or turns to kAlone: every thread drops its copy.
  std::atomic<std::uint64_t> learned_epoch_{0};
  mutable lf::Mutex running_mu_;
  std::vector<Running*> running_ LF_GUARDED_BY(running_mu_);
  // Threads waiting for a change of running_ (SCRIPT KILL, the shutdown): end_run wakes them.
  lf::CondVar changed_;
  int waiters_ LF_GUARDED_BY(running_mu_) = 0;
  enum : int { kRunning, kStopWhenBusy, kStopNow };
  std::atomic<int> stop_{kRunning};  // written under running_mu_ (begin_run reads it there)
  std::atomic<bool> abandoned_{false};
  std::atomic<int> busy_runs_{0};  // runs past the busy threshold (note_busy .. end_run)
  std::atomic<int> busy_functions_{0};  // those of them that are functions
  std::atomic<std::int64_t> busy_threshold_ms_{5000};
};

// The reply to a command from another connection while this thread serves it from inside a busy
// script (BUSY unless allowed_while_busy): true only on such a thread, during that time.
bool serving_for_busy_script();
inline constexpr std::string_view kErrBusy =
    "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.";
inline constexpr std::string_view kErrBusyFunction =
    "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.";
// The commands Redis 7.0 lets through while a script is busy (its `allow_busy` flag) that lfdb
// can run without an invocation: AUTH HELLO QUIT MULTI DISCARD UNWATCH SCRIPT KILL SHUTDOWN.
// (WATCH, allowed by Redis, needs its key's color here: BUSY.)
bool allowed_while_busy(const commands::CommandSpec& spec);

std::string sha1_hex(std::string_view data);

// A new Lua state as scripts get it: the sandbox and the redis.* functions (the thread's own
// state is one; FUNCTION LOAD checks a library in another).
lua_State* new_script_state();

// What run_script runs: an EVAL script (compiled from `source`, cached by its SHA1 `label`) or
// an FCALL function (the callback registered as `label`, called with KEYS and ARGV as its
// arguments). A read-only run refuses write commands (`#!lua flags=no-writes`, a function's
// no-writes flag, the *_RO commands).
struct ScriptTarget {
  std::string_view label;
  std::string_view source;
  // EVAL's whole text: registered for EVALSHA once it compiles (not before: Redis keeps no
  // script that failed to).
  std::string_view register_as;
  bool function = false;
  bool read_only = false;
  bool allow_oom = false;  // the allow-oom flag: deny-oom commands run past maxmemory too
};

// Which script an EVAL/EVALSHA/FCALL (or _RO) call runs, as a number for ScriptRegistry::learned():
// the script's SHA1 (EVAL's body hashed: the same script under EVAL and EVALSHA), or the
// function's name with the libraries' generation (a FUNCTION LOAD/DELETE/FLUSH/RESTORE makes
// every function unknown again: its code may have changed). A collision only runs a script
// alone, or lets it meet the restart/refusal of a kColors script.
std::uint64_t script_identity(Server& server, const commands::CommandSpec& spec,
                              std::span<const std::string_view> argv);

// Past maxmemory, is this EVAL/EVALSHA/FCALL call refused before it runs? As Redis decides it
// from the flags the script declares: one that may write (no `no-writes`) and did not declare
// `allow-oom` is; the _RO forms, scripts without a shebang (each write inside meets the limit
// on its own) and calls of unknown scripts (their handler answers) are not.
bool script_denies_oom(Server& server, const commands::CommandSpec& spec,
                       std::span<const std::string_view> argv);
// Likewise for min-replicas-to-write: a script that declares flags and not no-writes counts as a
// write before it runs (one without a shebang is judged by its first write instead).
bool script_may_write(Server& server, const commands::CommandSpec& spec,
                      std::span<const std::string_view> argv);

// EVAL / EVALSHA / FCALL and their _RO forms: runs the target with the context's keys and
// arguments and writes its reply to c.out.
void run_script(CommandContext& c, const ScriptTarget& target);

}  // namespace lfdb::db
