// cmsgpack: MessagePack for scripts, the library Redis's scripts know as cmsgpack.pack,
// unpack, unpack_one and unpack_limit. lfdb's own implementation of its documented behaviour:
//
// pack(v1, v2, ...) concatenates the encodings of its arguments: nil, booleans, numbers (an
// integral number in the smallest integer form, else a float32 when that is exact, else a
// double), strings (fixstr, str8/16/32) and tables (an array when the keys are exactly 1..n, else
// a map; a table nested deeper than 16 levels is packed as nil, as are functions).
// unpack(s) returns every value in s; unpack_one(s [, offset]) and unpack_limit(s, limit
// [, offset]) return the offset (0-based) of what is left, or -1 at the end, then at most one /
// `limit` values (unpack_limit with limit 0 returns them all, without the offset). Binary and
// extension types are refused ("Bad data format in input."), as in Redis.
#include <lua5.4/lauxlib.h>
#include <lua5.4/lua.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>

#include "db/script_libs.hpp"

namespace lfdb::db {
namespace {

constexpr int kMaxPackNesting = 16;
// Decoding recurses once per nested container: input deeper than this is refused instead of
// exhausting the thread's stack.
constexpr int kMaxUnpackNesting = 1000;

// ---- pack --------------------------------------------------------------------------------

// The encoding is built in a per-thread string, not a luaL_Buffer (whose stack slot would get in
// the way of the values walked) nor a local std::string (a Lua error longjmps past destructors).
// Packing calls no Lua code (raw access only), so it never runs nested on a thread.
using Out = std::string;

void put_be(Out& b, std::uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) b.push_back(static_cast<char>((v >> (8 * (bytes - 1 - i))) & 0xff));
}

void put_tag(Out& b, unsigned tag, std::uint64_t v, int bytes) {
  b.push_back(static_cast<char>(tag));
  put_be(b, v, bytes);
}

void pack_integer(Out& b, std::int64_t n) {
  const auto u = static_cast<std::uint64_t>(n);
  if (n >= 0) {
    if (n <= 127) return put_be(b, u, 1);
    if (n <= 0xff) return put_tag(b, 0xcc, u, 1);
    if (n <= 0xffff) return put_tag(b, 0xcd, u, 2);
    if (n <= 0xffffffffLL) return put_tag(b, 0xce, u, 4);
    return put_tag(b, 0xcf, u, 8);
  }
  if (n >= -32) return put_be(b, u & 0xff, 1);
  if (n >= -128) return put_tag(b, 0xd0, u & 0xff, 1);
  if (n >= -32768) return put_tag(b, 0xd1, u & 0xffff, 2);
  if (n >= -2147483648LL) return put_tag(b, 0xd2, u & 0xffffffff, 4);
  put_tag(b, 0xd3, u, 8);
}

void pack_number(lua_State* L, int idx, Out& b) {
  if (lua_isinteger(L, idx)) return pack_integer(b, lua_tointeger(L, idx));
  const double d = lua_tonumber(L, idx);
  if (std::isfinite(d) && d == std::floor(d) && d >= -9223372036854775808.0 && d < 9223372036854775808.0) {
    return pack_integer(b, static_cast<std::int64_t>(d));
  }
  const float f = static_cast<float>(d);
  if (static_cast<double>(f) == d || std::isnan(d)) {
    std::uint32_t bits;
    std::memcpy(&bits, &f, sizeof bits);
    return put_tag(b, 0xca, bits, 4);
  }
  std::uint64_t bits;
  std::memcpy(&bits, &d, sizeof bits);
  put_tag(b, 0xcb, bits, 8);
}

void pack_header(Out& b, std::size_t n, unsigned fix, std::size_t fix_max, unsigned t16, unsigned t32) {
  if (n <= fix_max) return put_be(b, fix | n, 1);
  if (n <= 0xffff) return put_tag(b, t16, n, 2);
  put_tag(b, t32, n, 4);
}

// The number of elements when the table at idx is an array (keys exactly 1..n), else -1.
lua_Integer array_length(lua_State* L, int idx) {
  lua_Integer count = 0, max = 0;
  lua_pushnil(L);
  while (lua_next(L, idx) != 0) {
    lua_pop(L, 1);
    lua_Integer k = 0;
    if (lua_type(L, -1) == LUA_TNUMBER) {
      const double d = lua_tonumber(L, -1);
      if (lua_isinteger(L, -1)) {
        k = lua_tointeger(L, -1);
      } else if (d == std::floor(d) && d >= 1 && d < 9.2e18) {
        k = static_cast<lua_Integer>(d);
      }
    }
    if (k < 1) {
      lua_pop(L, 1);
      return -1;
    }
    ++count;
    if (k > max) max = k;
  }
  return count == max ? count : -1;
}

void pack_value(lua_State* L, int idx, Out& b, int level);

void pack_table(lua_State* L, int idx, Out& b, int level) {
  luaL_checkstack(L, 4, "cmsgpack: out of stack");
  const lua_Integer n = array_length(L, idx);
  if (n >= 0) {
    pack_header(b, static_cast<std::size_t>(n), 0x90, 15, 0xdc, 0xdd);
    for (lua_Integer i = 1; i <= n; ++i) {
      lua_rawgeti(L, idx, i);
      pack_value(L, lua_gettop(L), b, level + 1);
      lua_pop(L, 1);
    }
    return;
  }
  std::size_t pairs = 0;
  lua_pushnil(L);
  while (lua_next(L, idx) != 0) {
    lua_pop(L, 1);
    ++pairs;
  }
  pack_header(b, pairs, 0x80, 15, 0xde, 0xdf);
  lua_pushnil(L);
  while (lua_next(L, idx) != 0) {
    pack_value(L, lua_gettop(L) - 1, b, level + 1);
    pack_value(L, lua_gettop(L), b, level + 1);
    lua_pop(L, 1);
  }
}

void pack_value(lua_State* L, int idx, Out& b, int level) {
  switch (lua_type(L, idx)) {
    case LUA_TSTRING: {
      std::size_t n = 0;
      const char* s = lua_tolstring(L, idx, &n);
      if (n < 32) {
        put_be(b, 0xa0 | n, 1);
      } else if (n <= 0xff) {
        put_tag(b, 0xd9, n, 1);
      } else {
        pack_header(b, n, 0, 0, 0xda, 0xdb);
      }
      b.append(s, n);
      return;
    }
    case LUA_TBOOLEAN:
      b.push_back(lua_toboolean(L, idx) ? static_cast<char>(0xc3) : static_cast<char>(0xc2));
      return;
    case LUA_TNUMBER:
      return pack_number(L, idx, b);
    case LUA_TTABLE:
      if (level < kMaxPackNesting) return pack_table(L, idx, b, level);
      [[fallthrough]];
    default:
      b.push_back(static_cast<char>(0xc0));
  }
}

int cmsgpack_pack(lua_State* L) {
  const int n = lua_gettop(L);
  if (n == 0) return luaL_argerror(L, 0, "MessagePack pack needs input.");
  thread_local Out out;
  out.clear();
  for (int i = 1; i <= n; ++i) pack_value(L, i, out, 0);
  lua_pushlstring(L, out.data(), out.size());
  return 1;
}

// ---- unpack ------------------------------------------------------------------------------

struct Cursor {
  const unsigned char* p;
  std::size_t left;
};

[[noreturn]] void missing(lua_State* L) {
  luaL_error(L, "Missing bytes in input.");
  __builtin_unreachable();
}

std::uint64_t take(lua_State* L, Cursor& c, int bytes) {
  if (c.left < static_cast<std::size_t>(bytes)) missing(L);
  std::uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | c.p[i];
  c.p += bytes;
  c.left -= static_cast<std::size_t>(bytes);
  return v;
}

void unpack_value(lua_State* L, Cursor& c, int depth);

void unpack_string(lua_State* L, Cursor& c, std::size_t n) {
  if (c.left < n) missing(L);
  lua_pushlstring(L, reinterpret_cast<const char*>(c.p), n);
  c.p += n;
  c.left -= n;
}

void unpack_array(lua_State* L, Cursor& c, std::uint64_t n, int depth) {
  // Every element takes a byte at least: a count beyond what is left is missing bytes (and
  // never preallocated).
  if (n > c.left) missing(L);
  lua_createtable(L, static_cast<int>(n), 0);
  for (std::uint64_t i = 1; i <= n; ++i) {
    unpack_value(L, c, depth + 1);
    lua_rawseti(L, -2, static_cast<lua_Integer>(i));
  }
}

void unpack_map(lua_State* L, Cursor& c, std::uint64_t n, int depth) {
  if (n > c.left / 2) missing(L);
  lua_createtable(L, 0, static_cast<int>(n));
  for (std::uint64_t i = 0; i < n; ++i) {
    unpack_value(L, c, depth + 1);
    unpack_value(L, c, depth + 1);
    lua_settable(L, -3);  // a nil or NaN key raises Lua's own error, as in Redis
  }
}

void unpack_value(lua_State* L, Cursor& c, int depth) {
  if (depth > kMaxUnpackNesting) luaL_error(L, "MessagePack input nested too deeply.");
  luaL_checkstack(L, 3, "cmsgpack: out of stack");
  const auto t = static_cast<unsigned>(take(L, c, 1));
  if (t <= 0x7f) return lua_pushinteger(L, t);
  if (t >= 0xe0) return lua_pushinteger(L, static_cast<lua_Integer>(t) - 256);
  if ((t & 0xe0) == 0xa0) return unpack_string(L, c, t & 0x1f);
  if ((t & 0xf0) == 0x90) return unpack_array(L, c, t & 0x0f, depth);
  if ((t & 0xf0) == 0x80) return unpack_map(L, c, t & 0x0f, depth);
  switch (t) {
    case 0xc0: return lua_pushnil(L);
    case 0xc2: return lua_pushboolean(L, 0);
    case 0xc3: return lua_pushboolean(L, 1);
    case 0xcc: return lua_pushinteger(L, static_cast<lua_Integer>(take(L, c, 1)));
    case 0xcd: return lua_pushinteger(L, static_cast<lua_Integer>(take(L, c, 2)));
    case 0xce: return lua_pushinteger(L, static_cast<lua_Integer>(take(L, c, 4)));
    // Redis reads a uint64 as a signed one: 2^64-1 comes back as -1.
    case 0xcf: return lua_pushinteger(L, static_cast<lua_Integer>(take(L, c, 8)));
    case 0xd0: return lua_pushinteger(L, static_cast<std::int8_t>(take(L, c, 1)));
    case 0xd1: return lua_pushinteger(L, static_cast<std::int16_t>(take(L, c, 2)));
    case 0xd2: return lua_pushinteger(L, static_cast<std::int32_t>(take(L, c, 4)));
    case 0xd3: return lua_pushinteger(L, static_cast<lua_Integer>(take(L, c, 8)));
    case 0xca: {
      const auto bits = static_cast<std::uint32_t>(take(L, c, 4));
      float f;
      std::memcpy(&f, &bits, sizeof f);
      return push_number_like_lua51(L, f);
    }
    case 0xcb: {
      const std::uint64_t bits = take(L, c, 8);
      double d;
      std::memcpy(&d, &bits, sizeof d);
      return push_number_like_lua51(L, d);
    }
    case 0xd9: return unpack_string(L, c, take(L, c, 1));
    case 0xda: return unpack_string(L, c, take(L, c, 2));
    case 0xdb: return unpack_string(L, c, take(L, c, 4));
    case 0xdc: return unpack_array(L, c, take(L, c, 2), depth);
    case 0xdd: return unpack_array(L, c, take(L, c, 4), depth);
    case 0xde: return unpack_map(L, c, take(L, c, 2), depth);
    case 0xdf: return unpack_map(L, c, take(L, c, 4), depth);
    default:
      luaL_error(L, "Bad data format in input.");
  }
}

// Decodes at most `limit` values (0: all) from offset; with_offset pushes the offset of what is
// left (or -1) first.
int unpack_some(lua_State* L, lua_Integer limit, lua_Integer offset, bool with_offset) {
  std::size_t len = 0;
  const char* s = luaL_checklstring(L, 1, &len);
  if (offset < 0 || limit < 0) {
    return luaL_error(L, "Invalid request to unpack with offset of %d and limit of %d.",
                      static_cast<int>(offset), static_cast<int>(len));
  }
  if (static_cast<std::uint64_t>(offset) > len) {
    return luaL_error(L, "Start offset %d greater than input length %d.", static_cast<int>(offset),
                      static_cast<int>(len));
  }
  Cursor c{reinterpret_cast<const unsigned char*>(s) + offset, len - static_cast<std::size_t>(offset)};
  const int base = lua_gettop(L);
  if (with_offset) lua_pushnil(L);  // the offset's place
  int n = 0;
  while (c.left > 0 && (limit == 0 || n < limit)) {
    luaL_checkstack(L, 2, "too many values to unpack");
    unpack_value(L, c, 0);
    ++n;
  }
  if (with_offset) {
    lua_pushinteger(L, c.left == 0 ? -1 : static_cast<lua_Integer>(len - c.left));
    lua_replace(L, base + 1);
  }
  return lua_gettop(L) - base;
}

int cmsgpack_unpack(lua_State* L) { return unpack_some(L, 0, 0, false); }

int cmsgpack_unpack_one(lua_State* L) {
  return unpack_some(L, 1, luaL_optinteger(L, 2, 0), true);
}

int cmsgpack_unpack_limit(lua_State* L) {
  const lua_Integer limit = luaL_checkinteger(L, 2);
  return unpack_some(L, limit, luaL_optinteger(L, 3, 0), limit != 0);
}

}  // namespace

int open_cmsgpack_library(lua_State* L) {
  static const luaL_Reg kFunctions[] = {{"pack", cmsgpack_pack},
                                        {"unpack", cmsgpack_unpack},
                                        {"unpack_one", cmsgpack_unpack_one},
                                        {"unpack_limit", cmsgpack_unpack_limit},
                                        {nullptr, nullptr}};
  luaL_newlib(L, kFunctions);
  return 1;
}

}  // namespace lfdb::db
