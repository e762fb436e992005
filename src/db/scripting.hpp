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
// Thread-safety: ScriptRegistry guards its map with a mutex; the Lua state is thread-local.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

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

 private:
  mutable lf::Mutex mu_;
  std::map<std::string, std::string, std::less<>> scripts_ LF_GUARDED_BY(mu_);
  std::atomic<std::uint64_t> generation_{0};  // bumped by flush(): threads drop their Lua state
};

std::string sha1_hex(std::string_view data);

// EVAL / EVALSHA: runs the script (`source`, known by `sha`) with the context's KEYS and ARGV and
// writes its reply to c.out.
void run_script(CommandContext& c, std::string_view sha, std::string_view source);

}  // namespace lfdb::db
