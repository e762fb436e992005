#include "db/scripting.hpp"

#include <lua5.4/lauxlib.h>
#include <lua5.4/lua.h>
#include <lua5.4/lualib.h>
#include <nettle/sha1.h>
#include <poll.h>

#include <algorithm>
#include <chrono>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

#include "db/acl/commands.hpp"
#include "commands/connection.hpp"
#include "db/tracking/table.hpp"
#include "db/append_log.hpp"
#include "db/blocking/registry.hpp"
#include "db/functions/library_loader.hpp"
#include "db/log_records.hpp"
#include "db/memory/evictor.hpp"  // kErrOom
#include "db/script_call.hpp"
#include "db/script_sandbox.hpp"
#include "db/server.hpp"
#include "lf/unbound_thread_set.hpp"

namespace lfdb::db {

// ---- registry --------------------------------------------------------------------------

std::string sha1_hex(std::string_view data) {
  sha1_ctx ctx;
  sha1_init(&ctx);
  sha1_update(&ctx, data.size(), reinterpret_cast<const std::uint8_t*>(data.data()));
  std::uint8_t digest[SHA1_DIGEST_SIZE];
  sha1_digest(&ctx, SHA1_DIGEST_SIZE, digest);
  static const char* kHex = "0123456789abcdef";
  std::string out(2 * SHA1_DIGEST_SIZE, '0');
  for (int i = 0; i < SHA1_DIGEST_SIZE; ++i) {
    out[2 * i] = kHex[digest[i] >> 4];
    out[2 * i + 1] = kHex[digest[i] & 15];
  }
  return out;
}

std::string ScriptRegistry::add(std::string_view source) {
  std::string sha = sha1_hex(source);
  lf::MutexLock lock(mu_);
  if (scripts_.find(sha) == scripts_.end()) scripts_.emplace(sha, std::string(source));
  return sha;
}

bool ScriptRegistry::find(std::string_view sha, std::string& source) const {
  std::string lower(sha);
  for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  lf::MutexLock lock(mu_);
  auto it = scripts_.find(lower);
  if (it == scripts_.end()) return false;
  source = it->second;
  return true;
}

bool ScriptRegistry::exists(std::string_view sha) const {
  std::string ignored;
  return find(sha, ignored);
}

namespace {
// A serving thread's copy of the verdicts it has looked up, so a learnt script's call takes no
// mutex; dropped when the registry's learned_epoch_ moves (or it belongs to another registry).
struct LearnedCopy {
  const void* owner = nullptr;
  std::uint64_t epoch = 0;
  std::unordered_map<std::uint64_t, bool> alone;
};
thread_local LearnedCopy t_learned;
constexpr std::size_t kMaxLearnedCopy = 4096;
}  // namespace

ScriptRegistry::Learned ScriptRegistry::learned(std::uint64_t identity) const {
  LearnedCopy& copy = t_learned;
  const std::uint64_t epoch = learned_epoch_.load(std::memory_order_acquire);
  if (copy.owner != this || copy.epoch != epoch) {
    copy.alone.clear();
    copy.owner = this;
    copy.epoch = epoch;
  }
  if (auto it = copy.alone.find(identity); it != copy.alone.end()) {
    return it->second ? Learned::kAlone : Learned::kColors;
  }
  bool alone = false;
  {
    lf::MutexLock lock(mu_);
    auto it = learned_.find(identity);
    if (it == learned_.end()) return Learned::kUnknown;  // not kept: its run alone learns it
    alone = it->second;
  }
  // A verdict changed after the epoch was read is dropped at the next look (the epoch moved).
  if (copy.alone.size() >= kMaxLearnedCopy) copy.alone.clear();
  copy.alone.emplace(identity, alone);
  return alone ? Learned::kAlone : Learned::kColors;
}

void ScriptRegistry::learn(std::uint64_t identity, bool reached_past) {
  const Learned now = learned(identity);
  if (now == Learned::kAlone || (now == Learned::kColors && !reached_past)) return;
  bool taken_back = false;
  {
    lf::MutexLock lock(mu_);
    if (learned_.size() >= kMaxLearned) {  // forgetting is safe: unknown scripts run alone
      learned_.clear();
      taken_back = true;
    }
    auto [it, fresh] = learned_.try_emplace(identity, reached_past);
    if (!fresh && reached_past && !it->second) {
      it->second = true;  // kColors -> kAlone: threads may hold kColors
      taken_back = true;
    }
  }
  if (taken_back) learned_epoch_.fetch_add(1, std::memory_order_release);
}

std::uint64_t script_identity(Server& server, const commands::CommandSpec& spec,
                              std::span<const std::string_view> argv) {
  std::string target(argv.size() > 1 ? argv[1] : std::string_view());
  const bool function = spec.name == "fcall" || spec.name == "fcall_ro";
  if (!function) {
    // One script whether EVAL sends its body or EVALSHA its SHA1 (in either case), and whether
    // or not _RO: clients send EVALSHA and fall back to EVAL after NOSCRIPT (ioredis, BullMQ),
    // so a script learnt to run alone under one must be known under the other.
    if (spec.name == "eval" || spec.name == "eval_ro") {
      target = sha1_hex(target);
    } else {
      for (char& ch : target) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    }
  }
  const std::uint64_t h = std::hash<std::string>{}(target);
  if (!function) return h;
  const std::uint64_t g = server.functions().generation();
  return h ^ (0x9e3779b97f4a7c15ull + g * 0xff51afd7ed558ccdull + (h << 6) + (h >> 2));
}

void ScriptRegistry::flush() {
  lf::MutexLock lock(mu_);
  scripts_.clear();
  learned_.clear();
  learned_epoch_.fetch_add(1, std::memory_order_release);
  generation_.fetch_add(1, std::memory_order_release);
}

std::uint64_t ScriptRegistry::generation() const {
  return generation_.load(std::memory_order_acquire);
}

bool ScriptRegistry::begin_run(Running* r) {
  lf::MutexLock lock(running_mu_);
  if (stop_.load(std::memory_order_relaxed) != kRunning) return false;
  running_.push_back(r);
  return true;
}

void ScriptRegistry::note_busy(Running& r) {
  if (r.counted_busy) return;
  r.counted_busy = true;
  if (r.function) busy_functions_.fetch_add(1, std::memory_order_release);
  busy_runs_.fetch_add(1, std::memory_order_release);
}

std::string_view ScriptRegistry::busy_error() const {
  const int fns = busy_functions_.load(std::memory_order_acquire);
  return fns > 0 && fns == busy_runs_.load(std::memory_order_acquire) ? kErrBusyFunction : kErrBusy;
}

bool ScriptRegistry::running_function(RunningFunction& out) const {
  lf::MutexLock lock(running_mu_);
  const Running* first = nullptr;
  for (const Running* r : running_) {
    if (r->function && (first == nullptr || r->started_ms < first->started_ms)) first = r;
  }
  if (first == nullptr) return false;
  out.name.assign(first->name);
  out.command.assign(first->argv.begin(), first->argv.end());
  out.started_ms = first->started_ms;
  return true;
}

void ScriptRegistry::end_run(Running* r) {
  if (r->counted_busy) {
    if (r->function) busy_functions_.fetch_sub(1, std::memory_order_release);
    busy_runs_.fetch_sub(1, std::memory_order_release);
  }
  lf::MutexLock lock(running_mu_);
  running_.erase(std::find(running_.begin(), running_.end(), r));
  if (waiters_ > 0) changed_.notify_all();
}

ScriptRegistry::KillResult ScriptRegistry::kill_busy(bool functions, bool may_wait) {
  lf::MutexLock lock(running_mu_);
  for (;;) {
    const std::int64_t now = now_ms();
    const std::int64_t threshold = busy_threshold_ms();
    bool killed = false, busy = false, other_busy = false;
    std::int64_t next_busy = INT64_MAX;
    for (Running* r : running_) {
      if (now - r->started_ms < threshold) {  // not busy yet: left alone
        next_busy = std::min(next_busy, r->started_ms + threshold);
        continue;
      }
      if (r->function != functions) {  // SCRIPT KILL stops no function, FUNCTION KILL no EVAL
        other_busy = true;
        continue;
      }
      busy = true;
      if (r->kill_if_clean()) killed = true;  // one killed already and not stopped yet counts
    }
    if (killed) return KillResult::kKilled;
    if (busy) return KillResult::kUnkillable;
    if (other_busy) return KillResult::kOtherKind;
    if (!may_wait || next_busy == INT64_MAX || stop_.load(std::memory_order_relaxed) != kRunning) {
      return KillResult::kNotBusy;
    }
    ++waiters_;
    (void)changed_.wait_until(running_mu_, std::chrono::system_clock::time_point(
                                               std::chrono::milliseconds(next_busy)));
    --waiters_;
  }
}

bool ScriptRegistry::any_busy(std::int64_t now) {
  const std::int64_t threshold = busy_threshold_ms();
  lf::MutexLock lock(running_mu_);
  for (const Running* r : running_) {
    if (now - r->started_ms >= threshold) return true;
  }
  return false;
}

void ScriptRegistry::begin_shutdown(bool nosave) {
  lf::MutexLock lock(running_mu_);
  stop_.store(nosave ? kStopNow : kStopWhenBusy, std::memory_order_release);
  if (waiters_ > 0) changed_.notify_all();  // a waiting SCRIPT KILL answers now
}

ScriptRegistry::Verdict ScriptRegistry::verdict(Running& r, std::int64_t now, bool& abandon) {
  abandon = false;
  const int stop = stop_.load(std::memory_order_acquire);
  if (stop == kRunning || (stop == kStopWhenBusy && now - r.started_ms < busy_threshold_ms())) {
    return r.state.load(std::memory_order_acquire) == Running::kKilled ? Verdict::kKilled
                                                                        : Verdict::kRun;
  }
  int s = Running::kClean;
  if (!r.state.compare_exchange_strong(s, Running::kKilled, std::memory_order_acq_rel)) {
    abandon = s == Running::kWrote;
  }
  return Verdict::kStoppedByShutdown;
}

void ScriptRegistry::wait_idle() {
  lf::MutexLock lock(running_mu_);
  ++waiters_;
  while (!running_.empty()) changed_.wait(running_mu_);
  --waiters_;
}

std::size_t ScriptRegistry::size() const {
  lf::MutexLock lock(mu_);
  return scripts_.size();
}

// ---- one run ---------------------------------------------------------------------------

namespace {

// What redis.call needs while a script runs on this thread.
struct ScriptRun {
  CommandContext* outer = nullptr;
  std::span<const std::string_view> keys;  // declared: the colors this invocation holds
  bool alone = false;  // the invocation holds every color: any key, any command
  bool had_effect = false;  // a write or a PUBLISH ran: the script can no longer start over
  bool rerun_alone = false;  // stopped to run again alone (it reached past its colors)
  // Reached past its declared keys, or called a command that needs every key, while it ran
  // alone: what a run alone teaches the registry (ScriptRegistry::learn).
  bool reached_past = false;
  bool declared(std::string_view k) const {
    for (std::string_view d : keys) {
      if (d == k) return true;
    }
    return false;
  }
  std::uint32_t db = 0;             // the script's database: the caller's, until it SELECTs
  std::string effects;              // the write commands run, as log records
  std::size_t effect_count = 0;
  // redis.set_repl(redis.REPL_NONE): the calls from here on leave no record (until flags again).
  // lfdb's log is both Redis's AOF and its replication stream, so REPL_AOF or REPL_REPLICA
  // alone logs as REPL_ALL does.
  bool unlogged = false;
  ScriptRegistry::Running* running = nullptr;
  std::string_view sha;
  bool busy = false;               // has run past the busy threshold (logged once)
  const char* stopping = nullptr;  // killed: the error raised at every instruction from then on
  bool abandoned = false;          // stopped by the shutdown after it wrote: nothing is logged
  int resp = 2;                    // redis.setresp: the protocol of redis.call's replies
  bool read_only = false;          // no-writes or *_RO: write commands are refused
  bool allow_oom = false;          // the allow-oom flag: no OOM refusal inside the script
  // INFO errorstats: the errors redis.call / redis.pcall made, counted once the run is over
  // (not when it stops to start over alone: its second run makes them again). `calling` is
  // the command of the call in progress once it is named, `call_ran` once its handler ran
  // (before that an error refuses it: rejected_calls).
  std::vector<std::string> errors;
  int calling = -1;
  bool call_ran = false;
};

// An error table redis.call made, counted already (INFO errorstats): kCountedErrorMark.
bool counted_error(lua_State* L, int idx) {
  idx = lua_absindex(L, idx);
  if (lua_type(L, idx) != LUA_TTABLE) return false;
  lua_pushlightuserdata(L, const_cast<char*>(&kCountedErrorMark));
  const bool marked = lua_rawget(L, idx) != LUA_TNIL;
  lua_pop(L, 1);
  return marked;
}

thread_local ScriptRun* t_run = nullptr;

// The thread's Lua state, rebuilt after SCRIPT FLUSH.
struct LuaState {
  lua_State* L = nullptr;
  std::uint64_t generation = 0;
  ~LuaState() {
    if (L != nullptr) lua_close(L);
  }
};
thread_local LuaState t_lua;

int redis_call_generic(lua_State* L, bool protected_call);
int redis_call(lua_State* L) { return redis_call_generic(L, false); }
int redis_pcall(lua_State* L) { return redis_call_generic(L, true); }

// Raises `msg` as Redis's redis.* functions do: a plain message without the script's position
// (the run's error handler adds "ERR " and where).
int raise_plain(lua_State* L, const char* msg) {
  lua_pushstring(L, msg);
  return lua_error(L);
}

// redis.error_reply(text) / redis.status_reply(text): the tables a script returns for an error or
// a status reply. Anything but one string gets an error table.
// An error's text is "CODE message", as Redis forms it: a leading '-' is dropped, the code is what
// comes before the first space, and text with no space gets the code ERR ("" -> "ERR ",
// "x" -> "ERR x", "-MY_CODE msg" -> "MY_CODE msg"); the message
// loses its leading and trailing CR/LF (a reply keeps its line; the Writer blanks inner ones).
int status_or_error_reply(lua_State* L, const char* field) {
  if (lua_gettop(L) != 1 || lua_type(L, 1) != LUA_TSTRING) {
    lua_newtable(L);
    lua_pushliteral(L, "ERR wrong number or type of arguments");
    lua_setfield(L, -2, "err");
    return 1;
  }
  std::size_t n = 0;
  const char* s = lua_tolstring(L, 1, &n);
  std::string text(s, n);
  if (field[0] == 'e') {
    std::string_view rest(text);
    std::string code = "ERR";
    if (!rest.empty() && rest.front() == '-') rest.remove_prefix(1);
    if (const auto space = rest.find(' '); space != std::string_view::npos) {
      code.assign(rest.substr(0, space));
      rest.remove_prefix(space + 1);
    }
    while (!rest.empty() && (rest.front() == '\r' || rest.front() == '\n')) rest.remove_prefix(1);
    while (!rest.empty() && (rest.back() == '\r' || rest.back() == '\n')) rest.remove_suffix(1);
    text = code + " " + std::string(rest);
  }
  lua_newtable(L);
  lua_pushlstring(L, text.data(), text.size());
  lua_setfield(L, -2, field);
  return 1;
}
int redis_error_reply(lua_State* L) { return status_or_error_reply(L, "err"); }
int redis_status_reply(lua_State* L) { return status_or_error_reply(L, "ok"); }
int redis_sha1hex(lua_State* L) {
  if (lua_gettop(L) != 1) return raise_plain(L, "wrong number of arguments");
  std::size_t n = 0;
  const char* s = lua_tolstring(L, 1, &n);  // a number hashes its text; other types hash ""
  if (s == nullptr) n = 0;
  const std::string h = sha1_hex(std::string_view(s != nullptr ? s : "", n));
  lua_pushlstring(L, h.data(), h.size());
  return 1;
}

// redis.log(level, message...): NOTICE and WARNING go to the server's standard error (Redis's
// default verbosity, notice, logs those two); DEBUG and VERBOSE are accepted and dropped.
int redis_log(lua_State* L) {
  const int argc = lua_gettop(L);
  if (argc < 2) return raise_plain(L, "redis.log() requires two arguments or more.");
  int valid = 0;
  const lua_Integer level = static_cast<lua_Integer>(lua_tonumberx(L, 1, &valid));
  if (valid == 0 || level < 0 || level > 3) return raise_plain(L, "Invalid debug level.");
  if (level < 2) return 0;
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  for (int i = 2; i <= argc; ++i) {
    std::size_t n = 0;
    const char* s = lua_tolstring(L, i, &n);
    if (s == nullptr) continue;
    if (i > 2) luaL_addchar(&b, ' ');
    luaL_addlstring(&b, s, n);
  }
  luaL_pushresult(&b);
  std::fprintf(stderr, "lfdb-server: script: %s\n", lua_tostring(L, -1));
  return 0;
}

// redis.setresp(2|3): the protocol redis.call's replies are converted from (see push_reply).
int redis_setresp(lua_State* L);
int redis_acl_check_cmd(lua_State* L);

// redis.set_repl(flags), with Redis's checks: REPL_NONE keeps the calls after it out of the log
// (so out of the replicas' stream and of a restart's replay), any other flags log them.
int redis_set_repl(lua_State* L) {
  if (lua_gettop(L) != 1) return raise_plain(L, "redis.set_repl() requires two arguments.");
  int valid = 0;
  const lua_Integer flags = static_cast<lua_Integer>(lua_tonumberx(L, 1, &valid));
  if (valid == 0 || (flags & ~lua_Integer{3}) != 0) {
    return raise_plain(L, "Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.");
  }
  if (t_run != nullptr) t_run->unlogged = flags == 0;
  return 0;
}

// Redis's debugger hooks, as they behave when no debugging session runs.
int redis_breakpoint(lua_State* L) {
  lua_pushboolean(L, 0);
  return 1;
}
int redis_debug(lua_State*) { return 0; }  // accepted; lfdb has no server log level plumbing yet

// The hook runs every kHookInstructions Lua instructions. Once the script is stopped it runs at
// every instruction, so a pcall in the script can catch the error but never go on for long.
constexpr int kHookInstructions = 10000;

thread_local bool t_serving_for_busy = false;

constexpr const char* kErrClientGone = "ERR Script killed: its client has gone";

// Whether the script's client has closed its connection (or at least its sending side): a busy
// script checks once per hook. A client that half-closes gets its replies; only a script that
// has run past the busy threshold is stopped for it.
bool client_gone(const ScriptRun& run) {
  const ClientState* client = run.outer->client;
  const int fd = client != nullptr && client->host != nullptr ? client->host->handle() : -1;
  if (fd < 0) return false;
  pollfd p{fd, POLLRDHUP, 0};
  return ::poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}

// The hook's work, in a frame of its own: every C++ object here is gone before the hook raises
// its Lua error (a longjmp). Returns the error to raise, or nullptr to go on.
const char* check_script(ScriptRun& run) {
  // A script this long is no short handler: a thread that kept the leader role while it runs
  // (lazy promotion) hands it on, so other connections are served meanwhile.
  (void)lf::UnboundThreadSet::promote_new_leader();
  ScriptRegistry& reg = run.outer->server->scripts();
  ScriptRegistry::Running& r = *run.running;
  bool abandon = false;
  std::int64_t now = now_ms();
  ScriptRegistry::Verdict v = reg.verdict(r, now, abandon);
  if (v == ScriptRegistry::Verdict::kRun && now - r.started_ms >= reg.busy_threshold_ms()) {
    if (!run.busy) {
      run.busy = true;
      reg.note_busy(r);  // from now on the server answers BUSY, as Redis's does
      std::fprintf(stderr,
                   "lfdb-server: slow script detected: still in execution after %lld milliseconds. "
                   "You can try killing the script using the SCRIPT KILL command. Script name is: "
                   "%.*s.\n",
                   static_cast<long long>(now - r.started_ms), static_cast<int>(run.sha.size()),
                   run.sha.data());
    }
    // Busy and its client has gone (hung up): nobody waits for the reply; stopped as SCRIPT
    // KILL would (if it has not written), and its connection runs no more scripts.
    if (client_gone(run) && r.kill_if_clean()) {
      run.outer->client->scripts_refused = true;
      return kErrClientGone;
    }
    // Busy: if no other thread of the set is free to, serve the other connections for one
    // turn, answering them BUSY (they may send SCRIPT KILL or SHUTDOWN NOSAVE).
    t_serving_for_busy = true;
    (void)lf::UnboundThreadSet::serve_while_processing();
    t_serving_for_busy = false;
    v = reg.verdict(r, now_ms(), abandon);
  }
  switch (v) {
    case ScriptRegistry::Verdict::kRun:
      return nullptr;
    case ScriptRegistry::Verdict::kKilled:
      return "ERR Script killed by user with SCRIPT KILL...";
    case ScriptRegistry::Verdict::kStoppedByShutdown:
      break;
  }
  if (abandon && !run.abandoned) {
    run.abandoned = true;
    reg.note_abandoned();
  }
  return "ERR Script killed by the server's shutdown...";
}

void script_hook(lua_State* L, lua_Debug*) {
  ScriptRun* run = t_run;
  if (run == nullptr || run->running == nullptr) return;
  const char* stop = run->stopping ? run->stopping : check_script(*run);
  if (stop == nullptr) return;
  if (run->stopping == nullptr) {
    run->stopping = stop;
    lua_sethook(L, script_hook, LUA_MASKCOUNT, 1);
  }
  lua_createtable(L, 0, 1);
  lua_pushstring(L, stop);
  lua_setfield(L, -2, "err");
  lua_error(L);
}

}  // namespace

lua_State* new_script_state() {
  static const luaL_Reg kRedis[] = {{"call", redis_call},
                                    {"pcall", redis_pcall},
                                    {"error_reply", redis_error_reply},
                                    {"status_reply", redis_status_reply},
                                    {"sha1hex", redis_sha1hex},
                                    {"log", redis_log},
                                    {"setresp", redis_setresp},
                                    {"acl_check_cmd", redis_acl_check_cmd},
                                    {"set_repl", redis_set_repl},
                                    {"breakpoint", redis_breakpoint},
                                    {"debug", redis_debug},
                                    {nullptr, nullptr}};
  return new_sandboxed_state(kRedis);
}

namespace {

lua_State* state_for(const ScriptRegistry& reg) {
  const std::uint64_t gen = reg.generation();
  if (t_lua.L != nullptr && t_lua.generation == gen) return t_lua.L;
  if (t_lua.L != nullptr) lua_close(t_lua.L);
  t_lua.L = new_script_state();
  lua_sethook(t_lua.L, script_hook, LUA_MASKCOUNT, kHookInstructions);
  t_lua.generation = gen;
  return t_lua.L;
}

// redis.acl_check_cmd(command, args...): whether the script's caller may run it (its ACL user),
// with Redis's errors for a command that does not exist or has the wrong number of arguments.
int redis_acl_check_cmd(lua_State* L) {
  const int argc = lua_gettop(L);
  if (argc == 0) return raise_plain(L, "Please specify at least one argument for this redis lib call");
  std::vector<std::string> owned;
  std::vector<std::string_view> argv;
  owned.reserve(static_cast<std::size_t>(argc));
  for (int i = 1; i <= argc; ++i) {
    if (lua_type(L, i) != LUA_TSTRING && lua_type(L, i) != LUA_TNUMBER) {
      return raise_plain(L, "Lua redis lib command arguments must be strings or integers");
    }
    std::size_t n = 0;
    const char* s = lua_tolstring(L, i, &n);
    owned.emplace_back(s, n);
  }
  for (const std::string& a : owned) argv.push_back(a);
  // As Redis 7.0: the command must exist; its arity is not checked.
  const commands::Resolved r = commands::resolve(argv);
  const commands::CommandSpec* spec = r.spec;
  if (r.failure == commands::Resolved::Failure::kArity) {
    spec = commands::find_command(argv[0]);
    if (spec->is_container() && argv.size() > 1) {
      if (const commands::CommandSpec* sub = commands::find_subcommand(*spec, argv[1])) spec = sub;
    }
  }
  if (spec == nullptr) return raise_plain(L, "Invalid command passed to redis.acl_check_cmd()");
  ScriptRun* run = t_run;
  const ClientState* cl = run != nullptr ? run->outer->client : nullptr;
  bool ok = true;
  if (cl != nullptr && cl->user && !cl->user->unrestricted) {
    std::size_t at = 0;
    ok = acl::check(*cl->user, *spec, commands::index_of(*spec), argv, at) == acl::Denied::kNone;
  }
  lua_pushboolean(L, ok ? 1 : 0);
  return 1;
}

int redis_setresp(lua_State* L) {
  if (lua_gettop(L) != 1) return raise_plain(L, "redis.setresp() requires one argument.");
  int valid = 0;
  const lua_Integer v = static_cast<lua_Integer>(lua_tonumberx(L, 1, &valid));
  if (valid == 0 || (v != 2 && v != 3)) return raise_plain(L, "RESP version must be 2 or 3.");
  if (t_run != nullptr) t_run->resp = static_cast<int>(v);
  return 0;
}

// ---- reply -> Lua (redis.call's result) --------------------------------------------------
//
// RESP2 as Redis converts it: integers, strings, arrays, {ok=...}, {err=...}, false for nil.
// After redis.setresp(3) the handler replies in RESP3, whose types become nil, booleans,
// {double=n}, {big_number=s}, {map={k=v}}, {set={m=true}} and
// {verbatim_string={format=f, string=s}}.

// Parses one RESP2 reply at `p` and pushes it; returns the position after it (or npos).
// Error replies push {err = text}; `first_error` reports the top-level one for redis.call.
std::size_t push_reply(lua_State* L, std::string_view r, std::size_t p) {
  const std::size_t eol = r.find("\r\n", p);
  if (eol == std::string_view::npos || p >= r.size()) return std::string_view::npos;
  const char t = r[p];
  const std::string_view line = r.substr(p + 1, eol - p - 1);
  const std::size_t next = eol + 2;
  auto to_int = [](std::string_view s) {
    long long v = 0;
    bool neg = !s.empty() && s[0] == '-';
    for (std::size_t i = neg ? 1 : 0; i < s.size(); ++i) v = v * 10 + (s[i] - '0');
    return neg ? -v : v;
  };
  // The table {field = <value on top>}.
  auto wrap = [L](const char* field) {
    lua_createtable(L, 0, 1);
    lua_insert(L, -2);
    lua_setfield(L, -2, field);
  };
  switch (t) {
    case '+':
      lua_pushlstring(L, line.data(), line.size());
      wrap("ok");
      return next;
    case '-':
      lua_pushlstring(L, line.data(), line.size());
      wrap("err");
      return next;
    case ':':
      lua_pushinteger(L, to_int(line));
      return next;
    case '_':
      lua_pushnil(L);
      return next;
    case '#':
      lua_pushboolean(L, line == "t");
      return next;
    case ',': {
      const std::string text(line);
      lua_pushnumber(L, std::strtod(text.c_str(), nullptr));
      wrap("double");
      return next;
    }
    case '(':
      lua_pushlstring(L, line.data(), line.size());
      wrap("big_number");
      return next;
    case '$':
    case '=':
    case '!': {
      const long long n = to_int(line);
      if (n < 0) {
        lua_pushboolean(L, 0);
        return next;
      }
      if (r.size() < next + static_cast<std::size_t>(n) + 2) return std::string_view::npos;
      const std::string_view body = r.substr(next, static_cast<std::size_t>(n));
      if (t == '=' && body.size() >= 4) {
        lua_createtable(L, 0, 2);
        lua_pushlstring(L, body.data(), 3);
        lua_setfield(L, -2, "format");
        lua_pushlstring(L, body.data() + 4, body.size() - 4);
        lua_setfield(L, -2, "string");
        wrap("verbatim_string");
      } else {
        lua_pushlstring(L, body.data(), body.size());
        if (t == '!') wrap("err");
      }
      return next + static_cast<std::size_t>(n) + 2;
    }
    case '*':
    case '>': {
      const long long n = to_int(line);
      if (n < 0) {
        lua_pushboolean(L, 0);
        return next;
      }
      luaL_checkstack(L, 4, "reply too deep");
      lua_createtable(L, static_cast<int>(std::min<long long>(n, 1024)), 0);
      std::size_t q = next;
      for (long long i = 1; i <= n; ++i) {
        q = push_reply(L, r, q);
        if (q == std::string_view::npos) return q;
        lua_rawseti(L, -2, i);
      }
      return q;
    }
    case '%':
    case '~': {
      const long long n = to_int(line);
      luaL_checkstack(L, 4, "reply too deep");
      lua_newtable(L);
      std::size_t q = next;
      for (long long i = 0; i < n; ++i) {
        q = push_reply(L, r, q);
        if (q == std::string_view::npos) return q;
        if (t == '%') {
          q = push_reply(L, r, q);
          if (q == std::string_view::npos) return q;
        } else {
          lua_pushboolean(L, 1);
        }
        if (lua_isnil(L, -2)) {
          lua_pop(L, 2);
        } else {
          lua_rawset(L, -3);
        }
      }
      wrap(t == '%' ? "map" : "set");
      return q;
    }
    default:
      return std::string_view::npos;
  }
}

bool allowed_in_script(commands::HueClass h) {
  using commands::HueClass;
  // PUBLISH, SPUBLISH and PUBSUB read "pubsub", which every script's class reads too.
  return h == HueClass::kFree || h == HueClass::kKeyRead || h == HueClass::kKeyWrite ||
         h == HueClass::kKeyspaceCount || h == HueClass::kPubsubRead;
}

// Commands a script may call once it runs alone, holding every color: the keyspace-wide ones
// (KEYS, SCAN, RANDOMKEY, FLUSHALL, FLUSHDB, SWAPDB) and those whose keys are not all in their
// arguments (SORT ... BY/GET, GEORADIUS ... STORE).
bool allowed_when_alone(commands::HueClass h) {
  using commands::HueClass;
  return h == HueClass::kKeyspaceRead || h == HueClass::kKeyspaceWrite || h == HueClass::kUndeclared;
}

constexpr const char* kRerunAlone = "ERR lfdb: the script is run again alone";

// The script reached past the colors it holds. Before any effect it stops (raised at every
// instruction from here on, so neither redis.pcall nor Lua's pcall can carry on) and run_script
// runs it again alone; after one it gets `err`. Either way its later calls run alone.
int reach_past_colors(lua_State* L, ScriptRun& run, std::string& out_err, std::string err) {
  run.outer->server->scripts().learn(script_identity(*run.outer->server, *run.outer->spec, run.outer->argv),
                                     true);
  const bool restartable = !run.had_effect && run.running != nullptr && !run.running->wrote() &&
                           run.outer->client != nullptr && !run.outer->client->in_exec;
  if (restartable) {
    run.rerun_alone = true;
    run.stopping = kRerunAlone;
    lua_sethook(L, script_hook, LUA_MASKCOUNT, 1);
    err = kRerunAlone;
  }
  out_err = std::move(err);
  return -1;
}

// redis.call's work; returns the number of results pushed, or -1 with `err` set. Every C++
// object of the call lives in here, so none is alive when the caller raises the Lua error
// (lua_error longjmps: destructors in between would be skipped).
int call_impl(lua_State* L, std::string& err);

// The error as Lua sees it: a table {err = "..."}, raised (call) or returned (pcall).
// Each such error is counted (INFO errorstats) whether the script catches it or not, as Redis
// counts it, and the table carries the mark so that it is not counted again as the script's
// reply.
int redis_call_generic(lua_State* L, bool protected_call) {
  thread_local std::string err;
  err.clear();
  ScriptRun* run = t_run;
  if (run != nullptr) {
    run->calling = -1;
    run->call_ran = false;
  }
  const int n = call_impl(L, err);
  if (n >= 0) return n;
  const bool counted = run != nullptr && !run->rerun_alone;
  if (counted) {
    run->errors.push_back(err);
    if (run->calling >= 0 && !run->call_ran) {
      run->outer->server->command_stats().reject(static_cast<std::uint16_t>(run->calling));
    }
  }
  lua_newtable(L);
  lua_pushlstring(L, err.data(), err.size());
  lua_setfield(L, -2, "err");
  if (counted) {
    lua_pushlightuserdata(L, const_cast<char*>(&kCountedErrorMark));
    lua_pushboolean(L, 1);
    lua_rawset(L, -3);
  }
  if (protected_call) return 1;
  return lua_error(L);
}

int call_impl(lua_State* L, std::string& err) {
  auto raise = [&](std::string msg) {
    err = std::move(msg);
    return -1;
  };
  ScriptRun* run = t_run;
  const int argc = lua_gettop(L);
  if (run == nullptr) return raise("ERR redis.call outside a script");
  if (argc == 0) return raise("ERR Please specify at least one argument for this redis lib call");
  // Reused per thread: a script's calls allocate nothing once the buffers have grown.
  thread_local std::vector<std::string> owned;
  thread_local std::vector<std::string_view> argv;
  owned.resize(static_cast<std::size_t>(argc));
  argv.clear();
  for (int i = 1; i <= argc; ++i) {
    std::string& a = owned[static_cast<std::size_t>(i - 1)];
    if (lua_type(L, i) == LUA_TNUMBER && lua_isinteger(L, i)) {
      char buf[32];
      const int n = std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(lua_tointeger(L, i)));
      a.assign(buf, static_cast<std::size_t>(n));
    } else if (lua_type(L, i) == LUA_TNUMBER) {
      char buf[64];
      const int n = std::snprintf(buf, sizeof buf, "%.17g", lua_tonumber(L, i));
      a.assign(buf, static_cast<std::size_t>(n));
    } else if (lua_type(L, i) == LUA_TSTRING) {
      std::size_t n = 0;
      const char* s = lua_tolstring(L, i, &n);
      a.assign(s, n);
    } else {
      return raise("ERR Lua redis lib command arguments must be strings or integers");
    }
  }
  for (const std::string& a : owned) argv.push_back(a);
  const commands::Resolved r = commands::resolve(argv);
  if (r || r.failure == commands::Resolved::Failure::kArity) run->calling = r.index;
  if (r.failure == commands::Resolved::Failure::kArity) {
    return raise("ERR Wrong number of args calling Redis command from script");
  }
  if (!r) return raise("ERR Unknown Redis command called from script");
  const commands::CommandSpec* spec = r.spec;
  CommandContext& outer = *run->outer;
  if (spec->has(commands::kSelectsDb)) {
    // As Redis 7: SELECT in a script moves the script only; its caller stays where it was.
    // It ran (INFO commandstats: a call, failed when the index is refused).
    run->call_ran = true;
    std::int64_t db = 0;
    std::string e = commands::parse_db_index(argv[1], db);
    if (e.empty() && (db < 0 || db >= static_cast<std::int64_t>(outer.server->databases().count()))) {
      e = "ERR DB index is out of range";
    }
    outer.server->command_stats().record(r.index, 0, !e.empty());
    if (!e.empty()) return raise(e);
    run->db = static_cast<std::uint32_t>(db);
    (void)push_reply(L, "+OK\r\n", 0);
    return 1;
  }
  const BoundCommand* bc = &outer.server->bound(r.index);
  if (spec->has(commands::kNoScript) || bc->handler == nullptr) {
    return raise("ERR This Redis command is not allowed from script");
  }
  // The caller's ACL holds inside the script too (Redis's words differ from the front door's).
  if (ClientState* cl = outer.client; cl != nullptr && cl->user && !cl->user->unrestricted) {
    std::size_t at = 0;
    const acl::Denied d = acl::check(*cl->user, *spec, r.index, argv, at);
    if (d != acl::Denied::kNone) {
      log_acl_denial(*outer.server, *cl, d, "lua", *spec, argv, at);
      if (d == acl::Denied::kCommand) {
        return raise("ERR The user executing the script can't run this command or subcommand");
      }
      if (d == acl::Denied::kKey) {
        return raise("ERR The user executing the script can't access at least one of the keys "
                     "mentioned in the command arguments");
      }
      return raise("ERR The user executing the script can't publish to the channel mentioned in "
                   "the command");
    }
  }
  // Before the keys, as Redis checks it: a read-only script's write is refused whatever it
  // names, and so is a command that reaches the replication stream (PUBLISH: CLIENT PAUSE WRITE
  // lets read-only scripts run).
  if (run->read_only && (spec->has(commands::kWrite) || spec->has(commands::kMayReplicate))) {
    return raise("ERR Write commands are not allowed from read-only scripts.");
  }
  // Past maxmemory a script without allow-oom may not grow memory by its first write; once it
  // has written it runs to its end (refusing later would break its atomicity), as in Redis.
  if (!run->allow_oom && !run->had_effect && spec->has(commands::kDenyOom) &&
      outer.client != nullptr && outer.client->script_oom) {
    return raise(std::string(memory::kErrOom));
  }
  // min-replicas-to-write, likewise before its first write only.
  if (!run->had_effect && spec->has(commands::kWrite) && !outer.server->replication().enough_good_replicas()) {
    return raise(std::string(kErrNoReplicas));
  }
  if (!allowed_in_script(spec->hue)) {
    if (!run->alone) {
      if (!allowed_when_alone(spec->hue)) return raise("ERR This Redis command is not allowed from script");
      return reach_past_colors(L, *run, err,
                               "ERR Script called '" + std::string(spec->name) +
                                   "', which needs every key, where it could not start over (it wrote, "
                                   "or runs in MULTI): lfdb runs this script alone from its next call on");
    }
    run->reached_past = true;
  }
  std::string bad_key;
  commands::for_each_key(*spec, std::span<const std::string_view>(argv), [&](std::size_t i) {
    if (bad_key.empty() && !run->declared(argv[i])) bad_key = std::string(argv[i]);
  });
  if (!bad_key.empty() && run->alone) {
    run->reached_past = true;
  } else if (!bad_key.empty()) {
    return reach_past_colors(L, *run, err,
                             "ERR Script accessed key '" + bad_key +
                                 "' that is not among its KEYS where it could not start over (it wrote, "
                                 "or runs in MULTI): lfdb runs this script alone from its next call on");
  }
  if (spec->has(commands::kWrite) || spec->hue == commands::HueClass::kPubsubRead) {
    run->had_effect = true;
  }
  if (spec->has(commands::kWrite)) {
    if (outer.server->replication().is_replica()) return raise(std::string(kErrReadOnly));
    // From here on SCRIPT KILL cannot stop it without breaking its atomicity; one that was
    // killed a moment ago stops here instead of writing.
    if (run->running != nullptr && !run->running->mark_wrote()) {
      return raise(run->stopping != nullptr ? run->stopping : "ERR Script killed by user with SCRIPT KILL...");
    }
    AppendLog* log = outer.server->append_log();
    if (log != nullptr && log->failing()) {
      return raise("MISCONF Errors writing to the AOF file: " + log->write_error());
    }
  }
  thread_local std::string reply;
  reply.clear();
  resp::Writer w(reply, run->resp == 3 ? resp::Protocol::kResp3 : resp::Protocol::kResp2);
  CommandContext ctx{argv, w, outer.server->db(run->db), outer.now_ms, outer.server, outer.client, spec};
  ctx.db = run->db;
  ctx.writes = true;  // the invocation holds its colors alone (EVAL writes keys)
  InvocationLog& il = t_invocation_log;
  const std::uint64_t changes_before = il.changes;
  il.changes = 0;
  const auto start = std::chrono::steady_clock::now();
  run->call_ran = true;  // from here on an error is the command's own (failed_calls)
  {
    // PUBLISH's own copy (a subscribed caller) goes with the caller's replies (pubsub/registry.hpp).
    struct Publisher {
      pubsub::ScriptPublisher prev = pubsub::t_script_publisher;
      ~Publisher() { pubsub::t_script_publisher = prev; }
    } publisher;
    pubsub::t_script_publisher = {&outer.out.buffer(), outer.out.resp3()};
    struct InScriptCall {
      InScriptCall() { t_in_script_call = true; }
      ~InScriptCall() { t_in_script_call = false; }
    } in_call;
    struct OwnUnlogged {
      InvocationLog& il;
      explicit OwnUnlogged(InvocationLog& l, bool on) : il(l) { il.own_unlogged = on; }
      ~OwnUnlogged() { il.own_unlogged = false; }
    } own_unlogged(il, run->unlogged);  // PUBLISH's own record (db/pubsub/commands.cpp)
    bc->handler(ctx);
  }
  if (spec->has(commands::kReadonly)) tracking::t_script_read = true;  // CLIENT TRACKING: the script's keys
  outer.server->command_stats().record(
      r.index,
      static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                     std::chrono::steady_clock::now() - start).count()),
      !reply.empty() && reply[0] == '-');
  if (!spec->has(commands::kAdmin)) outer.server->monitors().feed(run->db, "lua", argv);
  if ((il.changes != 0 || spec->hue == commands::HueClass::kKeyspaceWrite) && il.records != nullptr &&
      !run->unlogged) {
    il.select(run->db);
    log_effect(*spec, argv, ctx.ks, outer.now_ms, *il.records);
    ++run->effect_count;
  }
  // Keys written outside the caller's declared ones (run alone, or in another database after
  // SELECT): their blocked clients are served after the script (Redis's ready-keys pass).
  if (spec->has(commands::kWrite) && (run->alone || run->db != outer.db) &&
      outer.server->blocking().any()) {
    commands::for_each_key(*spec, std::span<const std::string_view>(argv),
                           [&](std::size_t i) { blocking::note_ready(run->db, argv[i]); });
  }
  il.changes += changes_before;
  if (!reply.empty() && reply[0] == '-') return raise(reply.substr(1, reply.size() - 3));
  if (push_reply(L, reply, 0) == std::string_view::npos) {
    return raise("ERR reply of '" + std::string(spec->name) + "' could not be read");
  }
  return 1;
}

// ---- Lua value -> reply -------------------------------------------------------------------

// Pushes t[name] without metamethods: the conversion runs outside the script's protected call,
// so nothing in it may raise (a table with an __index that errors, or _G, whose reads of absent
// names raise, would take the server down). Returns the value's type.
int raw_field(lua_State* L, int idx, const char* name) {
  lua_pushstring(L, name);
  return lua_rawget(L, idx);
}

// A script's result as a reply, as Redis converts it. `resp3`: the script called
// redis.setresp(3), so booleans and nil are RESP3's (the Writer turns them into the client's
// protocol either way).
// Each error it writes is counted (INFO errorstats), but for the tables redis.call's errors
// made, counted where they were made; `any` tells the script's call failed (Redis fails a call
// whose reply holds an error anywhere, an array's element too).
struct ReplyErrors {
  ErrorStats& stats;
  bool any = false;
};
void write_value(lua_State* L, int idx, resp::Writer& out, int depth, bool resp3, ReplyErrors& errors);

// The table's {double=...}, {big_number=...}, {map=...}, {set=...}, {verbatim_string=...} forms;
// false when it has none of them.
bool write_typed_table(lua_State* L, int idx, resp::Writer& out, int depth, bool resp3,
                       ReplyErrors& errors) {
  if (raw_field(L, idx, "double") == LUA_TNUMBER) {
    out.double_value(lua_tonumber(L, -1));
    lua_pop(L, 1);
    return true;
  }
  lua_pop(L, 1);
  if (raw_field(L, idx, "big_number") == LUA_TSTRING) {
    std::size_t n = 0;
    const char* s = lua_tolstring(L, -1, &n);
    out.big_number(std::string_view(s, n));
    lua_pop(L, 1);
    return true;
  }
  lua_pop(L, 1);
  for (const char* field : {"map", "set"}) {
    if (raw_field(L, idx, field) != LUA_TTABLE) {
      lua_pop(L, 1);
      continue;
    }
    const int t = lua_gettop(L);
    std::size_t n = 0;
    lua_pushnil(L);
    while (lua_next(L, t) != 0) {
      lua_pop(L, 1);
      ++n;
    }
    if (field[0] == 'm') out.map_header(n);
    else out.set_header(n);
    lua_pushnil(L);
    while (lua_next(L, t) != 0) {
      write_value(L, -2, out, depth + 1, resp3, errors);
      if (field[0] == 'm') write_value(L, -1, out, depth + 1, resp3, errors);
      lua_pop(L, 1);
    }
    lua_pop(L, 1);
    return true;
  }
  if (raw_field(L, idx, "verbatim_string") == LUA_TTABLE) {
    const int v = lua_gettop(L);
    raw_field(L, v, "format");
    raw_field(L, v, "string");
    if (lua_type(L, -1) == LUA_TSTRING && lua_type(L, -2) == LUA_TSTRING) {
      std::size_t n = 0;
      const char* s = lua_tolstring(L, -1, &n);
      out.verbatim(std::string_view(s, n), lua_tostring(L, -2));
      lua_pop(L, 3);
      return true;
    }
    lua_pop(L, 2);
  }
  lua_pop(L, 1);
  return false;
}

void write_value(lua_State* L, int idx, resp::Writer& out, int depth, bool resp3, ReplyErrors& errors) {
  idx = lua_absindex(L, idx);
  auto error = [&](std::string_view msg) {
    errors.stats.count(msg);
    errors.any = true;
    out.error(msg);
  };
  if (!lua_checkstack(L, 8)) return error("ERR reached lua stack limit");  // never raises
  switch (lua_type(L, idx)) {
    case LUA_TSTRING: {
      std::size_t n = 0;
      const char* s = lua_tolstring(L, idx, &n);
      out.bulk(std::string_view(s, n));
      return;
    }
    case LUA_TNUMBER:
      // Redis truncates numbers to integers (return tostring(x) to keep a fraction).
      out.integer(static_cast<std::int64_t>(lua_isinteger(L, idx) ? lua_tointeger(L, idx)
                                                                  : std::trunc(lua_tonumber(L, idx))));
      return;
    case LUA_TBOOLEAN:
      if (resp3) out.boolean(lua_toboolean(L, idx) != 0);
      else if (lua_toboolean(L, idx)) out.integer(1);
      else out.null();
      return;
    case LUA_TTABLE: {
      // {err = "..."} and {ok = "..."} are an error and a status reply.
      for (const char* field : {"err", "ok"}) {
        raw_field(L, idx, field);
        if (lua_type(L, -1) == LUA_TSTRING) {
          const std::string msg = lua_tostring(L, -1);
          lua_pop(L, 1);
          if (field[0] == 'e') {
            if (counted_error(L, idx)) {
              errors.any = true;
              out.error(msg);
            } else {
              error(msg);
            }
          } else {
            out.simple_string(msg);
          }
          return;
        }
        lua_pop(L, 1);
      }
      if (depth > 64) {
        error("ERR reached lua stack limit");
        return;
      }
      if (write_typed_table(L, idx, out, depth, resp3, errors)) return;
      // An array up to its first nil, as Redis does.
      std::size_t n = 0;
      while (lua_rawgeti(L, idx, static_cast<lua_Integer>(n + 1)) != LUA_TNIL) {
        lua_pop(L, 1);
        ++n;
      }
      lua_pop(L, 1);
      out.array_header(n);
      for (std::size_t i = 1; i <= n; ++i) {
        lua_rawgeti(L, idx, static_cast<lua_Integer>(i));
        write_value(L, -1, out, depth + 1, resp3, errors);
        lua_pop(L, 1);
      }
      return;
    }
    default:
      out.null();
  }
}

std::string error_text(lua_State* L) {
  if (lua_type(L, -1) == LUA_TTABLE) {
    lua_getfield(L, -1, "err");
    std::string s = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "ERR script error";
    lua_pop(L, 1);
    return s;
  }
  const char* s = lua_tostring(L, -1);
  return s != nullptr ? s : "unknown error";
}

}  // namespace

// The number of keys an EVAL / FCALL declares is one and fits the arguments; else the error is
// written.
bool key_count_ok(CommandContext& c, bool function) {
  std::int64_t declared = 0;
  if (!parse_int(c.arg(2), declared)) {
    c.out.error(function ? "ERR Bad number of keys provided" : kErrNotInteger);
    return false;
  }
  if (declared > static_cast<std::int64_t>(c.argc()) - 3) {
    c.out.error("ERR Number of keys can't be greater than number of args");
    return false;
  }
  if (declared < 0) {
    c.out.error("ERR Number of keys can't be negative");
    return false;
  }
  return true;
}

void run_script(CommandContext& c, const ScriptTarget& target) {
  const long nkeys = commands::declared_key_count(*c.spec, c.argv);
  if (!key_count_ok(c, target.function)) return;
  const auto keys = c.argv.subspan(3, static_cast<std::size_t>(nkeys));
  const auto args = c.argv.subspan(3 + static_cast<std::size_t>(nkeys));
  // A connection whose client went away during a busy script runs no more scripts (those it
  // had sent would run one after another for nobody).
  if (c.client != nullptr && c.client->scripts_refused) {
    return c.out.error("ERR Script not run: its client has gone");
  }
  ScriptRegistry& reg = c.server->scripts();
  lua_State* L = state_for(reg);
  const int top = lua_gettop(L);
  const std::string_view sha = target.label;
  lua_pushcfunction(L, script_error_handler);
  const int handler = lua_gettop(L);
  if (target.function) {
    if (!functions::push_function(L, c.server->functions(), target.label)) {
      lua_settop(L, top);
      return c.out.error("ERR Function not found");
    }
  } else if (const std::string fname = "f_" + std::string(sha);
             lua_getfield(L, LUA_REGISTRYINDEX, fname.c_str()) != LUA_TFUNCTION) {
    // The compiled script is cached in the registry table under f_<sha>.
    lua_pop(L, 1);
    if (load_script(L, target.source, "@user_script") != LUA_OK) {
      std::string msg = "ERR Error compiling script (new function): " + error_text(L);
      lua_settop(L, top);
      return c.out.error(msg);
    }
    lua_pushvalue(L, -1);
    lua_setfield(L, LUA_REGISTRYINDEX, fname.c_str());
    if (!target.register_as.empty()) reg.add(target.register_as);
  }
  ScriptRegistry::Running running;
  running.started_ms = c.now_ms;
  running.function = target.function;
  running.name = target.label;
  running.argv = c.argv;
  if (!reg.begin_run(&running)) {
    lua_settop(L, top);
    return c.out.error("ERR Script not run: the server is shutting down");
  }
  if (target.function) {
    // A function gets KEYS and ARGV as its arguments.
    for (auto items : {keys, args}) {
      lua_createtable(L, static_cast<int>(items.size()), 0);
      for (std::size_t i = 0; i < items.size(); ++i) {
        lua_pushlstring(L, items[i].data(), items[i].size());
        lua_rawseti(L, -2, static_cast<lua_Integer>(i + 1));
      }
    }
  } else {
    set_script_array(L, "KEYS", keys);
    set_script_array(L, "ARGV", args);
  }
  ScriptRun run;
  run.read_only = target.read_only;
  run.allow_oom = target.allow_oom;
  run.outer = &c;
  run.db = c.db;
  run.keys = keys;
  run.alone = c.alone;
  run.running = &running;
  run.sha = sha;
  // The script's effects go to a block of their own, wrapped in MULTI/EXEC when there are
  // several (lazy-expiry DELs included, so they keep their place).
  std::string* outer_records = t_invocation_log.records;
  if (outer_records != nullptr) t_invocation_log.records = &run.effects;
  t_run = &run;
  const int rc = lua_pcall(L, target.function ? 2 : 0, 1, handler);
  t_run = nullptr;
  reg.end_run(&running);
  // A killed run's hook ran at every instruction: back to its normal pace.
  if (run.stopping != nullptr) lua_sethook(L, script_hook, LUA_MASKCOUNT, kHookInstructions);
  t_invocation_log.records = outer_records;
  // A run alone teaches the registry whether the script stays within its keys (a run that failed
  // may not have gone where its calls go: only one that reached past counts then). Under
  // `--data global` every script runs alone anyway: nothing to learn.
  if (c.alone && !run.rerun_alone && (run.reached_past || rc == LUA_OK) &&
      c.server->initial_config().data != DataMode::kGlobal) {
    reg.learn(script_identity(*c.server, *c.spec, c.argv), run.reached_past);
  }
  if (run.rerun_alone) {  // it had no effect: the caller runs it again, alone (reach_past_colors)
    lua_settop(L, top);
    c.rerun_alone = true;
    return;
  }
  // A run the shutdown stopped after it wrote leaves nothing behind: its writes never reach the
  // log (and the server takes no snapshot and runs nothing more: ScriptRegistry::abandoned).
  if (outer_records != nullptr && !run.effects.empty() && !run.abandoned) {
    // Inside MULTI/EXEC the transaction's own block already makes it atomic; one command is.
    const bool wrap = !t_invocation_log.in_block && count_commands(run.effects, 2) > 1;
    if (wrap) encode_command(*outer_records, {"MULTI"});
    outer_records->append(run.effects);
    if (wrap) encode_command(*outer_records, {"EXEC"});
  }
  // The errors its calls made (rerun_alone returned above: they are made again).
  for (const std::string& e : run.errors) c.server->errors().count(e);
  if (rc != LUA_OK) {
    // One redis.call raised (and the script did not catch) was counted where it was made.
    c.error_counted = counted_error(L, -1);
    // Redis 7's form: the error, then where in the script it was raised.
    std::string msg = error_text(L);
    if (lua_type(L, -1) == LUA_TTABLE && lua_getfield(L, -1, "line") == LUA_TNUMBER) {
      lua_getfield(L, -2, "source");
      const char* src = lua_tostring(L, -1);
      msg += " script: " + std::string(sha) + ", on " + (src != nullptr ? src : "?") + ":" +
             std::to_string(lua_tointeger(L, -2)) + ".";
      lua_pop(L, 1);
    }
    lua_settop(L, top);
    return c.out.error(msg);
  }
  ReplyErrors errors{c.server->errors()};
  write_value(L, -1, c.out, 0, run.resp == 3, errors);
  c.error_counted = true;  // write_value counted what it wrote
  c.failed = errors.any;
  lua_settop(L, top);
}

}  // namespace lfdb::db

namespace lfdb::db {

namespace {

// The flags a function or a script's shebang declares; nothing for a script without a shebang,
// an *_RO call (read-only whatever it declares) or a target not found.
std::optional<std::uint32_t> declared_flags(Server& server, const commands::CommandSpec& spec,
                                            std::span<const std::string_view> argv) {
  if (spec.name.ends_with("_ro") || argv.size() < 2) return std::nullopt;
  std::uint32_t flags = 0;
  if (spec.name == "fcall") {
    std::string library, name;
    if (!server.functions().find_function(argv[1], library, name, flags)) return std::nullopt;
    return flags;
  }
  std::string source;
  if (spec.name == "eval") {
    source.assign(argv[1]);
  } else if (argv[1].size() != 40 || !server.scripts().find(argv[1], source)) {
    return std::nullopt;
  }
  bool shebang = false;
  std::string body, err;
  if (!functions::parse_script_shebang(source, shebang, flags, body, err) || !shebang) return std::nullopt;
  return flags;
}

}  // namespace

bool script_denies_oom(Server& server, const commands::CommandSpec& spec,
                       std::span<const std::string_view> argv) {
  const auto flags = declared_flags(server, spec, argv);
  return flags && (*flags & (functions::kNoWrites | functions::kAllowOom)) == 0;
}

bool script_may_write(Server& server, const commands::CommandSpec& spec,
                      std::span<const std::string_view> argv) {
  const auto flags = declared_flags(server, spec, argv);
  return flags && (*flags & functions::kNoWrites) == 0;
}

}  // namespace lfdb::db

// ---- handlers ------------------------------------------------------------------------------

namespace lfdb::db {
namespace {

constexpr std::string_view kErrWriteFlagRo =
    "ERR Can not execute a script with write flag using *_ro command.";

// EVAL, EVALSHA and their _RO forms once the source is known: the shebang decides the flags.
void eval_source(CommandContext& c, const std::string& sha, std::string_view source, bool ro,
                 bool register_it) {
  bool shebang = false;
  std::uint32_t flags = 0;
  std::string body, err;
  if (!functions::parse_script_shebang(source, shebang, flags, body, err)) return c.out.error(err);
  const bool no_writes = (flags & functions::kNoWrites) != 0;
  if (ro && shebang && !no_writes) return c.out.error(kErrWriteFlagRo);
  ScriptTarget t;
  t.label = sha;
  t.source = shebang ? std::string_view(body) : source;
  if (register_it) t.register_as = source;
  t.read_only = ro || no_writes;
  t.allow_oom = (flags & functions::kAllowOom) != 0;
  run_script(c, t);
}

bool is_ro(const CommandContext& c) { return c.spec->name.size() > 3 && c.spec->name.ends_with("_ro"); }

// The key count is checked first, and the script registered only once it compiles, as Redis
// does: an EVAL refused leaves no script for EVALSHA or SCRIPT EXISTS.
void eval_cmd(CommandContext& c) {
  if (!key_count_ok(c, false)) return;
  eval_source(c, sha1_hex(c.arg(1)), c.arg(1), is_ro(c), true);
}

// A name that is no SHA1 is refused before the key count, as Redis does; an unknown SHA1 after.
void evalsha_cmd(CommandContext& c) {
  constexpr std::string_view kNoScript = "NOSCRIPT No matching script. Please use EVAL.";
  if (c.arg(1).size() != 40) return c.out.error(kNoScript);
  if (!key_count_ok(c, false)) return;
  std::string source;
  if (!c.server->scripts().find(c.arg(1), source)) return c.out.error(kNoScript);
  std::string sha(c.arg(1));
  for (char& ch : sha) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  eval_source(c, sha, source, is_ro(c), false);
}

void fcall_cmd(CommandContext& c) {
  std::string library, name;
  std::uint32_t flags = 0;
  if (!c.server->functions().find_function(c.arg(1), library, name, flags)) {
    return c.out.error("ERR Function not found");
  }
  const bool no_writes = (flags & functions::kNoWrites) != 0;
  const bool ro = is_ro(c);
  if (ro && !no_writes) return c.out.error(kErrWriteFlagRo);
  ScriptTarget t;
  t.label = name;
  t.function = true;
  t.read_only = ro || no_writes;
  t.allow_oom = (flags & functions::kAllowOom) != 0;
  run_script(c, t);
}

void script_load_cmd(CommandContext& c) {
  bool shebang = false;
  std::uint32_t flags = 0;
  std::string body, err;
  if (!functions::parse_script_shebang(c.arg(2), shebang, flags, body, err)) return c.out.error(err);
  const std::string_view source = shebang ? std::string_view(body) : c.arg(2);
  // Compile once here so a syntax error is reported at LOAD, as Redis does.
  lua_State* L = luaL_newstate();
  const int rc = luaL_loadbuffer(L, source.data(), source.size(), "@user_script");
  err = rc == LUA_OK ? "" : lua_tostring(L, -1);
  lua_close(L);
  if (rc != LUA_OK) return c.out.error("ERR Error compiling script (new function): " + err);
  c.out.bulk(c.server->scripts().add(c.arg(2)));
}

void script_exists_cmd(CommandContext& c) {
  c.out.array_header(c.argc() - 2);
  for (std::size_t i = 2; i < c.argc(); ++i) c.out.integer(c.server->scripts().exists(c.arg(i)) ? 1 : 0);
}

void script_flush_cmd(CommandContext& c) {
  if (c.argc() > 3 || (c.argc() == 3 && !iequal(c.arg(2), "async") && !iequal(c.arg(2), "sync"))) {
    return c.out.error("ERR SCRIPT FLUSH only support SYNC|ASYNC option");
  }
  c.server->scripts().flush();
  c.out.simple_string("OK");
}

void script_kill_cmd(CommandContext& c) {
  // Redis reads no command while a script runs and is not yet busy, so its SCRIPT KILL is
  // answered once one is busy (or none runs). This one waits likewise, with its thread handed
  // on; but not inside MULTI/EXEC (it would hold the transaction's colors) nor from inside a
  // busy script (which is busy already).
  const bool may_wait = !serving_for_busy_script() && !(c.client != nullptr && c.client->in_exec);
  if (may_wait) (void)lf::UnboundThreadSet::promote_new_leader();
  ScriptRegistry::reply_kill(c.out, c.server->scripts().kill_busy(false, may_wait), false);
}

void script_help_cmd(CommandContext& c) {
  static constexpr std::string_view kLines[] = {
      "SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
      "EXISTS <sha1> [<sha1> ...]",
      "    Return information about the existence of the scripts in the script cache.",
      "FLUSH [ASYNC|SYNC]",
      "    Flush the Lua scripts cache.",
      "KILL",
      "    Kill the currently executing Lua script.",
      "LOAD <script>",
      "    Load a script into the scripts cache without executing it.",
      "HELP",
      "    Print this help."};
  c.out.array_header(std::size(kLines));
  for (auto l : kLines) c.out.simple_string(l);
}

constexpr HandlerEntry kScriptHandlers[] = {
    {"eval", eval_cmd},
    {"evalsha", evalsha_cmd},
    {"eval_ro", eval_cmd},
    {"evalsha_ro", evalsha_cmd},
    {"fcall", fcall_cmd},
    {"fcall_ro", fcall_cmd},
    {"script|load", script_load_cmd},
    {"script|exists", script_exists_cmd},
    {"script|flush", script_flush_cmd},
    {"script|kill", script_kill_cmd},
    {"script|help", script_help_cmd},
};

}  // namespace

std::span<const HandlerEntry> script_handlers() { return kScriptHandlers; }

bool serving_for_busy_script() { return t_serving_for_busy; }

bool allowed_while_busy(const commands::CommandSpec& spec) { return spec.has(commands::kAllowBusy); }

void ScriptRegistry::reply_kill(resp::Writer& out, KillResult r, bool functions) {
  switch (r) {
    case KillResult::kOtherKind:  // what is busy is killed by the other command
      return out.error(functions ? kErrBusy : kErrBusyFunction);
    case KillResult::kKilled:
      return out.simple_string("OK");
    case KillResult::kUnkillable:
      return out.error(
          "UNKILLABLE Sorry the script already executed write commands against the dataset. You can "
          "either wait the script termination or kill the server in a hard way using the SHUTDOWN "
          "NOSAVE command.");
    case KillResult::kNotBusy:
      break;
  }
  out.error("NOTBUSY No scripts in execution right now.");
}

}  // namespace lfdb::db
