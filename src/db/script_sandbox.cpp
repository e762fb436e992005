#include "db/script_sandbox.hpp"

#include <string>
#include <string_view>
#include <utility>

#include <lua5.4/lauxlib.h>
#include <lua5.4/lualib.h>

#include "commands/connection.hpp"
#include "db/script_libs.hpp"

namespace lfdb::db {
namespace {

// Registry keys (their addresses): proxy -> real table, and the globals proxy scripts run in.
const char kProxies = 0;
const char kScriptEnv = 0;

constexpr const char* kReadonly = "Attempt to modify a readonly table";

// A write through a proxy (__newindex): the error names the script's line, as Redis's does.
int refuse_write(lua_State* L) { return luaL_error(L, "%s", kReadonly); }

// __index of the real globals: only absent names get here.
int refuse_nonexistent(lua_State* L) {
  return luaL_error(L, "Script attempted to access nonexistent global variable '%s'",
                    luaL_tolstring(L, 2, nullptr));
}

// Pushes the real table behind the value at `idx` and returns true when it is a proxy.
bool push_target(lua_State* L, int idx) {
  if (lua_type(L, idx) != LUA_TTABLE) return false;
  lua_rawgetp(L, LUA_REGISTRYINDEX, &kProxies);
  lua_pushvalue(L, idx);
  if (lua_rawget(L, -2) == LUA_TNIL) {
    lua_pop(L, 2);
    return false;
  }
  lua_remove(L, -2);
  return true;
}

// Calls upvalue 1 (the library's own function) with the arguments there are.
int call_original(lua_State* L) {
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
  return lua_gettop(L);
}

// rawset, setmetatable: refuse a proxy (Redis's text, without a position: it comes from the
// builtin, not from the script's line).
int refuse_proxy(lua_State* L) {
  if (push_target(L, 1)) {
    lua_pushstring(L, kReadonly);
    return lua_error(L);
  }
  return call_original(L);
}

// rawget, rawlen, next: act on the real table behind a proxy.
int see_through(lua_State* L) {
  if (push_target(L, 1)) lua_replace(L, 1);
  return call_original(L);
}

// __pairs of a proxy: iterate the real table (upvalues: next, the real table).
int proxy_pairs(lua_State* L) {
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_pushvalue(L, lua_upvalueindex(2));
  lua_pushnil(L);
  return 3;
}

// load(fn [, chunkname]) and loadstring(s [, chunkname]) as Redis's Lua 5.1 has them, over
// Lua 5.4's load (upvalue 1): text only, into the read-only globals.
int load_text(lua_State* L, int arg_type, const char* default_name) {
  luaL_checktype(L, 1, arg_type);
  lua_settop(L, 2);
  if (lua_isnil(L, 2)) {
    if (arg_type == LUA_TSTRING) {
      lua_pushvalue(L, 1);  // Lua 5.1 names a string chunk after its text
    } else {
      lua_pushstring(L, default_name);
    }
    lua_replace(L, 2);
  }
  lua_pushliteral(L, "t");
  lua_rawgetp(L, LUA_REGISTRYINDEX, &kScriptEnv);
  return call_original(L);
}
int sandbox_load(lua_State* L) { return load_text(L, LUA_TFUNCTION, "=(load)"); }
int sandbox_loadstring(lua_State* L) { return load_text(L, LUA_TSTRING, nullptr); }

// Pushes a read-only proxy of the table at `target`; `marker` is what getmetatable shows of it
// (0: false).
void push_proxy(lua_State* L, int target, int next_fn, int marker) {
  target = lua_absindex(L, target);
  next_fn = lua_absindex(L, next_fn);
  if (marker != 0) marker = lua_absindex(L, marker);
  lua_newtable(L);
  lua_createtable(L, 0, 4);
  lua_pushvalue(L, target);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, refuse_write);
  lua_setfield(L, -2, "__newindex");
  lua_pushvalue(L, next_fn);
  lua_pushvalue(L, target);
  lua_pushcclosure(L, proxy_pairs, 2);
  lua_setfield(L, -2, "__pairs");
  if (marker != 0) {
    lua_pushvalue(L, marker);
  } else {
    lua_pushboolean(L, 0);
  }
  lua_setfield(L, -2, "__metatable");
  lua_setmetatable(L, -2);
  lua_rawgetp(L, LUA_REGISTRYINDEX, &kProxies);
  lua_pushvalue(L, -2);
  lua_pushvalue(L, target);
  lua_rawset(L, -3);
  lua_pop(L, 1);
}

// G[name] = fn(G[name]) as a closure over the original (G at index `g`).
void wrap_global(lua_State* L, int g, const char* name, lua_CFunction fn) {
  lua_getfield(L, g, name);
  lua_pushcclosure(L, fn, 1);
  lua_setfield(L, g, name);
}

// Lua 5.4 names the culprit of a type error after the message ("attempt to call a nil value
// (field 'f')"); Redis's Lua 5.1 names it inside ("attempt to call field 'f' (a nil value)"), and
// clients match that text. Rewrites the first such error in `text` to 5.1's words; a constant's
// name, which 5.1 never gives, is dropped.
void lua51_wording(std::string& text) {
  const std::size_t at = text.find("attempt to ");
  if (at == std::string::npos) return;
  const std::size_t verb = at + 11;  // "call", "index", "perform arithmetic on" ...
  const std::size_t article = text.find(" a ", verb);
  if (article == std::string::npos) return;
  const std::size_t type = article + 3;
  const std::size_t value = text.find(" value (", type);
  if (value == std::string::npos || text.find(' ', type) != value) return;
  const std::size_t kind = value + 8;
  const std::size_t quote = text.find(" '", kind);
  if (quote == std::string::npos || text.find(' ', kind) != quote) return;
  const std::size_t close = text.find("')", quote + 2);
  if (close == std::string::npos) return;
  const std::string what = text.substr(kind, close + 1 - kind);  // field 'f'
  const std::string a_value = text.substr(article + 1, value + 6 - article - 1);  // a nil value
  std::string words = text.substr(verb, article + 1 - verb);  // "call "
  words += what.starts_with("constant ") ? a_value : what + " (" + a_value + ")";
  text.replace(verb, close + 2 - verb, words);
}

}  // namespace

lua_State* new_sandboxed_state(const luaL_Reg* redis_functions) {
  lua_State* L = luaL_newstate();
  // The libraries Redis offers scripts (no io, os, package, debug: scripts touch data only).
  luaL_requiref(L, "_G", luaopen_base, 1);
  luaL_requiref(L, LUA_TABLIBNAME, luaopen_table, 1);
  luaL_requiref(L, LUA_STRLIBNAME, luaopen_string, 1);
  luaL_requiref(L, LUA_MATHLIBNAME, luaopen_math, 1);
  luaL_requiref(L, LUA_COLIBNAME, luaopen_coroutine, 1);  // part of Lua 5.1's base library
  lua_pop(L, 5);
  open_script_libraries(L);  // cjson, cmsgpack, bit, struct
  lua_newtable(L);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &kProxies);

  lua_pushglobaltable(L);
  const int g = lua_gettop(L);
  for (const char* unsafe : {"dofile", "loadfile", "require", "collectgarbage", "print", "warn"}) {
    lua_pushnil(L);
    lua_setfield(L, g, unsafe);
  }
  lua_getfield(L, g, "next");
  const int next_fn = lua_gettop(L);  // the original, for __pairs
  wrap_global(L, g, "rawset", refuse_proxy);
  wrap_global(L, g, "setmetatable", refuse_proxy);
  wrap_global(L, g, "rawget", see_through);
  wrap_global(L, g, "rawlen", see_through);
  wrap_global(L, g, "next", see_through);
  lua_getfield(L, g, "load");
  lua_pushvalue(L, -1);
  lua_pushcclosure(L, sandbox_load, 1);
  lua_setfield(L, g, "load");
  lua_pushcclosure(L, sandbox_loadstring, 1);
  lua_setfield(L, g, "loadstring");
  lua_getfield(L, g, LUA_TABLIBNAME);
  lua_getfield(L, -1, "unpack");
  lua_setfield(L, g, "unpack");  // Lua 5.1's global unpack, which Redis scripts use
  lua_pop(L, 1);

  lua_newtable(L);
  luaL_setfuncs(L, redis_functions, 0);
  // Redis 7.0's constants, with its values (redis.log's levels, redis.set_repl's flags).
  static constexpr std::pair<const char*, int> kConstants[] = {
      {"LOG_DEBUG", 0},    {"LOG_VERBOSE", 1}, {"LOG_NOTICE", 2},  {"LOG_WARNING", 3},
      {"REPL_NONE", 0},    {"REPL_AOF", 1},    {"REPL_SLAVE", 2},  {"REPL_REPLICA", 2},
      {"REPL_ALL", 3}};
  for (const auto& [name, value] : kConstants) {
    lua_pushinteger(L, value);
    lua_setfield(L, -2, name);
  }
  const std::string_view version = commands::kRedisCompat;
  lua_pushlstring(L, version.data(), version.size());
  lua_setfield(L, -2, "REDIS_VERSION");
  // major << 16 | minor << 8 | patch, as Redis computes it.
  int parts[3] = {0, 0, 0};
  std::size_t part = 0;
  for (char ch : version) {
    if (ch == '.') {
      if (++part == 3) break;
    } else if (ch >= '0' && ch <= '9') {
      parts[part] = parts[part] * 10 + (ch - '0');
    }
  }
  lua_pushinteger(L, (parts[0] << 16) | (parts[1] << 8) | parts[2]);
  lua_setfield(L, -2, "REDIS_VERSION_NUM");
  lua_setfield(L, g, "redis");

  // What getmetatable shows of a protected table: a read-only empty table.
  lua_newtable(L);
  push_proxy(L, -1, next_fn, 0);
  const int marker = lua_gettop(L);
  for (const char* lib : {LUA_TABLIBNAME, LUA_STRLIBNAME, LUA_MATHLIBNAME, LUA_COLIBNAME, "redis",
                          "cjson", "cmsgpack", "bit", "struct"}) {
    lua_getfield(L, g, lib);
    push_proxy(L, -1, next_fn, marker);
    lua_setfield(L, g, lib);
    lua_pop(L, 1);
  }
  // The string metatable (s:upper() goes through it) reads the proxy and shows only a read-only
  // {__index = string}, so neither it nor the library behind it can be changed.
  lua_pushliteral(L, "");
  lua_getmetatable(L, -1);
  const int smt = lua_gettop(L);
  lua_getfield(L, g, LUA_STRLIBNAME);
  lua_setfield(L, smt, "__index");
  lua_createtable(L, 0, 1);
  lua_getfield(L, g, LUA_STRLIBNAME);
  lua_setfield(L, -2, "__index");
  push_proxy(L, -1, next_fn, marker);
  lua_setfield(L, smt, "__metatable");
  lua_pop(L, 3);  // the shown table, the metatable, ""

  // The globals scripts see: a proxy of the real ones, which refuse reads of absent names.
  push_proxy(L, g, next_fn, marker);
  lua_pushvalue(L, -1);
  lua_rawsetp(L, LUA_REGISTRYINDEX, &kScriptEnv);
  lua_setfield(L, g, "_G");
  lua_createtable(L, 0, 1);
  lua_pushcfunction(L, refuse_nonexistent);
  lua_setfield(L, -2, "__index");
  lua_setmetatable(L, g);
  lua_settop(L, 0);
  return L;
}

int load_script(lua_State* L, std::string_view source, const char* chunkname) {
  const int rc = luaL_loadbuffer(L, source.data(), source.size(), chunkname);
  if (rc != LUA_OK) return rc;
  lua_rawgetp(L, LUA_REGISTRYINDEX, &kScriptEnv);
  lua_setupvalue(L, -2, 1);  // a main chunk's only upvalue is _ENV
  return rc;
}

void push_script_globals(lua_State* L) { lua_rawgetp(L, LUA_REGISTRYINDEX, &kScriptEnv); }

void set_script_array(lua_State* L, const char* name, std::span<const std::string_view> items) {
  lua_pushglobaltable(L);
  lua_createtable(L, static_cast<int>(items.size()), 0);
  for (std::size_t i = 0; i < items.size(); ++i) {
    lua_pushlstring(L, items[i].data(), items[i].size());
    lua_rawseti(L, -2, static_cast<lua_Integer>(i + 1));
  }
  lua_setfield(L, -2, name);
  lua_pop(L, 1);
}

const char kCountedErrorMark = 0;

int script_error_handler(lua_State* L) {
  // Level 1 raised it; when that is a C function (redis.call, error, a refused write), the
  // script's line is the caller's.
  lua_Debug ar;
  bool where = false;
  for (int level = 1; level <= 2 && !where; ++level) {
    if (lua_getstack(L, level, &ar) == 0 || lua_getinfo(L, "Sl", &ar) == 0) break;
    where = ar.what[0] != 'C';
  }
  lua_createtable(L, 0, 3);
  const int t = lua_gettop(L);
  // Raw: the value raised may be a proxy, whose lookups could raise again.
  bool has_err = false;
  if (lua_type(L, 1) == LUA_TTABLE) {
    lua_pushliteral(L, "err");
    has_err = lua_rawget(L, 1) == LUA_TSTRING;
    if (!has_err) lua_pop(L, 1);
  }
  if (has_err) {
    lua_setfield(L, t, "err");
    lua_pushlightuserdata(L, const_cast<char*>(&kCountedErrorMark));
    if (lua_rawget(L, 1) != LUA_TNIL) {
      lua_pushlightuserdata(L, const_cast<char*>(&kCountedErrorMark));
      lua_insert(L, -2);
      lua_rawset(L, t);
    } else {
      lua_pop(L, 1);
    }
  } else {
    std::size_t n = 0;
    const char* raw = luaL_tolstring(L, 1, &n);
    thread_local std::string text;  // no destructor between here and a Lua error's longjmp
    text.assign("ERR ");
    text.append(raw, n);
    lua51_wording(text);
    lua_pushlstring(L, text.data(), text.size());
    lua_setfield(L, t, "err");
    lua_pop(L, 1);
  }
  if (where) {
    lua_pushstring(L, ar.source);
    lua_setfield(L, t, "source");
    lua_pushinteger(L, ar.currentline);
    lua_setfield(L, t, "line");
  }
  return 1;
}

}  // namespace lfdb::db
