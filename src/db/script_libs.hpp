// The libraries Redis gives scripts besides Lua's own: cjson, cmsgpack, bit and struct, as
// globals of the sandbox (script_sandbox.hpp makes them read-only like the rest).
//
// cjson and bit are Debian's lua-cjson and lua-bitop, built for Lua 5.4 and linked statically.
// cmsgpack and struct have no Debian package for Lua 5.4: script_lib_cmsgpack.cpp and
// script_lib_struct.cpp are lfdb's own, written to the behaviour scripts see in Redis 7.0.
//
// Redis runs Lua 5.1, whose numbers are all doubles: 3 prints as "3" whether it came from JSON,
// MessagePack or bit.band. Lua 5.4 prints an integral float as "3.0", so what these libraries
// return is made an integer whenever it is integral and fits one (`like_lua51`): a script that
// concatenates a decoded number gets the text it gets in Redis.
//
// Thread-safety: none needed; a Lua state belongs to one thread (opening cjson runs once at a
// time, see script_libs.cpp).
#pragma once

struct lua_State;

namespace lfdb::db {

// Sets the globals cjson, cmsgpack, bit and struct in L's global table.
void open_script_libraries(lua_State* L);

// Pushes n as Lua 5.1 would show it: an integer when n is integral and fits, else a float.
void push_number_like_lua51(lua_State* L, double n);

// Lua 5.4's own library functions, added for Redis's scripts (in script_lib_*.cpp).
int open_struct_library(lua_State* L);
int open_cmsgpack_library(lua_State* L);

}  // namespace lfdb::db
