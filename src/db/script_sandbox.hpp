// The sandbox every script runs in, as Redis 7 builds it: a script sees the globals, the
// libraries (string, table, math, coroutine; cjson, cmsgpack, bit, struct: script_libs.hpp) and
// the `redis` table read-only, so nothing it does survives into another script's run on the
// same Lua state (there is one per serving thread). Writing a
// global, replacing redis.call or string.upper, or changing the string metatable is an error
// ("Attempt to modify a readonly table"), and so is reading a global that does not exist
// ("Script attempted to access nonexistent global variable 'x'"). There is no os, io, require,
// dofile, loadfile or print; load and loadstring compile text only (never bytecode), into the
// same read-only globals.
//
// Lua 5.4 has no read-only tables (Redis patches its Lua 5.1 for them), so each protected table
// is an empty proxy whose metatable reads through to the real table and refuses writes; the real
// tables are reachable from C only. rawset and setmetatable refuse proxies; rawget, rawlen, next
// and pairs see through them. All of it is built once per state: a run pays only one more table
// hop per global or library lookup (docs/server.md has the measurement).
//
// Thread-safety: none needed; a Lua state belongs to one thread.
#pragma once

#include <lua5.4/lua.h>

#include <span>
#include <string_view>

struct luaL_Reg;

namespace lfdb::db {

// A new Lua state with the sandbox; `redis_functions` (nullptr-terminated) make the `redis` table.
lua_State* new_sandboxed_state(const luaL_Reg* redis_functions);

// Loads a script's source as a function that runs in the read-only globals; on failure pushes the
// error message instead. Returns the luaL_loadbuffer result.
int load_script(lua_State* L, std::string_view source, const char* chunkname);

// Pushes the read-only globals scripts run in (a function library's code switches to them once
// it has loaded: library_loader.hpp).
void push_script_globals(lua_State* L);

// Sets the global array `name` (KEYS, ARGV) for the next run, behind the read-only globals.
void set_script_array(lua_State* L, const char* name, std::span<const std::string_view> items);

// The message handler of a script's run: turns whatever was raised into a table {err = "...",
// source = "@user_script", line = N} where the line is the script's, not that of the C function
// that raised (redis.call, error, a refused write), as Redis 7 reports it. The counted mark
// (below) goes with it.
int script_error_handler(lua_State* L);

// The key (as a light userdata, which no script can make, so none can forge it) of the field
// that marks an error table whose error INFO errorstats counted already: redis.call's.
extern const char kCountedErrorMark;

}  // namespace lfdb::db
