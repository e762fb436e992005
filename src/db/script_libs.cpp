#include "db/script_libs.hpp"

#include <lua5.4/lauxlib.h>
#include <lua5.4/lua.h>
// Debian's headers declare the C modules' entry points without C linkage.
extern "C" {
#include <lua5.4/lua-bitop.h>
#include <lua5.4/lua-cjson.h>
}

#include <cmath>

#include "lf/mutex.hpp"

namespace lfdb::db {

void push_number_like_lua51(lua_State* L, double n) {
  // 2^63 is the first double past the integers: [-2^63, 2^63) converts exactly.
  if (std::isfinite(n) && n == std::floor(n) && n >= -9223372036854775808.0 &&
      n < 9223372036854775808.0) {
    lua_pushinteger(L, static_cast<lua_Integer>(n));
  } else {
    lua_pushnumber(L, n);
  }
}

namespace {

// Replaces the integral floats in the value at `idx` (and in the tables inside it, visited once
// each) with integers.
void integralize(lua_State* L, int idx, int depth) {
  idx = lua_absindex(L, idx);
  if (lua_type(L, idx) != LUA_TTABLE || depth > 1000) return;
  lua_pushnil(L);
  while (lua_next(L, idx) != 0) {
    if (lua_type(L, -1) == LUA_TNUMBER && !lua_isinteger(L, -1)) {
      const double n = lua_tonumber(L, -1);
      lua_pop(L, 1);
      lua_pushvalue(L, -1);  // the key
      push_number_like_lua51(L, n);
      lua_rawset(L, idx);  // an existing key: next() stays valid
    } else {
      if (lua_type(L, -1) == LUA_TTABLE) integralize(L, -1, depth + 1);
      lua_pop(L, 1);
    }
  }
}

// Calls upvalue 1 with the arguments there are, then makes its integral float results integers.
// The library's errors name the script's line, as they do when the script calls it directly:
// raised through this wrapper, luaL_error's "where" would be the wrapper's (nothing).
int call_like_lua51(lua_State* L) {
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  if (lua_pcall(L, lua_gettop(L) - 1, LUA_MULTRET, 0) != LUA_OK) {
    if (lua_type(L, -1) == LUA_TSTRING) {
      // luaL_argerror names the function from its caller's frame: here, the wrapper's.
      const char* msg = lua_tostring(L, -1);
      const char* name = lua_tostring(L, lua_upvalueindex(2));
      luaL_gsub(L, msg, "to '?'", lua_pushfstring(L, "to '%s'", name));
      lua_remove(L, -2);  // the replacement text
      lua_remove(L, -2);  // the original message
      luaL_where(L, 1);
      lua_insert(L, -2);
      lua_concat(L, 2);
    }
    return lua_error(L);
  }
  const int n = lua_gettop(L);
  for (int i = 1; i <= n; ++i) {
    if (lua_type(L, i) == LUA_TNUMBER && !lua_isinteger(L, i)) {
      push_number_like_lua51(L, lua_tonumber(L, i));
      lua_replace(L, i);
    } else if (lua_type(L, i) == LUA_TTABLE) {
      integralize(L, i, 0);
    }
  }
  return n;
}

// Wraps every function of the table on top whose name is in `names` with call_like_lua51.
void wrap_functions(lua_State* L, std::initializer_list<const char*> names) {
  for (const char* name : names) {
    lua_getfield(L, -1, name);
    if (lua_type(L, -1) != LUA_TFUNCTION) {
      lua_pop(L, 1);
      continue;
    }
    lua_pushstring(L, name);
    lua_pushcclosure(L, call_like_lua51, 2);
    lua_setfield(L, -2, name);
  }
}

// bit.tohex(x, n): the library negates a negative n (upper case digits), which overflows for an n
// of -2^31 as a 32-bit value and then writes before its buffer: a script could crash the
// server. Such an n becomes -2^31 + 1 first, which asks for the same (upper case, all digits).
int tohex_guarded(lua_State* L) {
  if (lua_gettop(L) >= 2 && lua_type(L, 2) == LUA_TNUMBER) {
    // The library's conversion: the nearest integer, modulo 2^32.
    double m = std::fmod(std::nearbyint(lua_tonumber(L, 2)), 4294967296.0);
    if (m < 0) m += 4294967296.0;
    if (m == 2147483648.0) {
      lua_pushinteger(L, -2147483647);
      lua_replace(L, 2);
    }
  }
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
  return lua_gettop(L);
}

// lua-cjson keeps the locale's decimal point in a static it sets on every open: states are
// opened one at a time so two threads never write it together.
lf::Mutex g_cjson_open;

}  // namespace

void open_script_libraries(lua_State* L) {
  {
    lf::MutexLock lock(g_cjson_open);
    luaopen_cjson(L);
  }
  // cjson.new would hand out a fresh, unprotected copy; Redis's scripts have no use for it.
  lua_pushnil(L);
  lua_setfield(L, -2, "new");
  wrap_functions(L, {"decode"});
  lua_setglobal(L, "cjson");

  luaopen_bit(L);
  wrap_functions(L, {"tobit", "bnot", "band", "bor", "bxor", "lshift", "rshift", "arshift",
                     "rol", "ror", "bswap"});
  lua_getfield(L, -1, "tohex");
  lua_pushcclosure(L, tohex_guarded, 1);
  lua_setfield(L, -2, "tohex");
  lua_setglobal(L, "bit");

  open_struct_library(L);
  lua_setglobal(L, "struct");

  open_cmsgpack_library(L);
  lua_setglobal(L, "cmsgpack");
}

}  // namespace lfdb::db
