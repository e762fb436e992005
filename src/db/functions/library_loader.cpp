#include "db/functions/library_loader.hpp"

#include <lua5.4/lauxlib.h>
#include <lua5.4/lua.h>

#include <chrono>
#include <vector>

#include "db/config_line.hpp"
#include "db/script_sandbox.hpp"
#include "db/scripting.hpp"

namespace lfdb::db::functions {
namespace {

constexpr const char* kChunkName = "@user_function";
// How long a library's top-level code may run at FUNCTION LOAD, as in Redis.
constexpr std::chrono::milliseconds kLoadTimeout{500};

std::vector<std::string_view> split_spaces(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && line[i] == ' ') ++i;
    const std::size_t start = i;
    while (i < line.size() && line[i] != ' ') ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

bool iequal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if ((a[i] | 0x20) != (b[i] | 0x20)) return false;
  }
  return true;
}

bool valid_name(std::string_view name) {
  if (name.empty()) return false;
  for (char ch : name) {
    const bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_';
    if (!ok) return false;
  }
  return true;
}

constexpr const char* kErrBadName =
    "Library names can only contain letters, numbers, or underscores(_) and must be at least one "
    "character long";

// The first line, and the source with that line emptied (its newline kept, so Lua's line
// numbers are the text's).
std::string_view first_line(std::string_view code, std::string& body) {
  const std::size_t eol = code.find('\n');
  const std::string_view line = code.substr(0, eol);
  body.assign(eol == std::string_view::npos ? std::string_view() : code.substr(eol));
  return line;
}

int raise_plain(lua_State* L, const char* msg) {
  lua_pushstring(L, msg);
  return lua_error(L);
}

// The deadline of the library load running on this thread (FUNCTION LOAD, RESTORE, a snapshot's
// libraries); nullptr when none runs.
struct LoadClock {
  std::chrono::steady_clock::time_point deadline;
};
thread_local LoadClock* t_load_clock = nullptr;

// ---- redis.register_function -------------------------------------------------------------
//
// Upvalue 1: the collector, name -> {callback, flags, description} for the library loading.
// A library may keep the loading `redis` table in a local and call register_function from a
// function later: with no load running that is refused, as Redis refuses it.

int register_function(lua_State* L) {
  if (t_load_clock == nullptr) {
    return raise_plain(L, "redis.register_function can only be called on FUNCTION LOAD command");
  }
  const int argc = lua_gettop(L);
  if (argc < 1 || argc > 2) return raise_plain(L, "wrong number of arguments to redis.register_function");
  std::uint32_t flags = 0;
  if (argc == 1) {
    if (lua_type(L, 1) != LUA_TTABLE) {
      return raise_plain(L,
                         "calling redis.register_function with a single argument is only applicable "
                         "to Lua table (representing named arguments).");
    }
    // Named arguments: function_name, callback, flags, description.
    lua_pushnil(L);  // slots 2..4: name, callback, description
    lua_pushnil(L);
    lua_pushnil(L);
    lua_pushnil(L);
    while (lua_next(L, 1) != 0) {
      if (lua_type(L, -2) != LUA_TSTRING) return raise_plain(L, "named argument key given to redis.register_function is not a string");
      const char* key = lua_tostring(L, -2);
      const std::string_view k(key);
      if (k == "function_name") {
        if (!lua_isstring(L, -1)) return raise_plain(L, "function_name argument given to redis.register_function must be a string");
        lua_tostring(L, -1);  // a number becomes its text, as Lua 5.1's lua_tostring leaves it
        lua_replace(L, 2);
      } else if (k == "callback") {
        if (lua_type(L, -1) != LUA_TFUNCTION) return raise_plain(L, "callback argument given to redis.register_function must be a function");
        lua_replace(L, 3);
      } else if (k == "description") {
        if (!lua_isstring(L, -1)) return raise_plain(L, "description argument given to redis.register_function must be a string");
        lua_tostring(L, -1);
        lua_replace(L, 4);
      } else if (k == "flags") {
        if (lua_type(L, -1) != LUA_TTABLE) return raise_plain(L, "flags argument to redis.register_function must be a table representing function flags");
        const int t = lua_gettop(L);
        for (lua_Integer i = 1;; ++i) {
          if (lua_rawgeti(L, t, i) == LUA_TNIL) {
            lua_pop(L, 1);
            break;
          }
          if (lua_type(L, -1) != LUA_TSTRING) return raise_plain(L, "unknown flag given");
          const std::uint32_t f = flag_by_name(lua_tostring(L, -1));
          if (f == 0) return raise_plain(L, "unknown flag given");
          flags |= f;
          lua_pop(L, 1);
        }
        lua_pop(L, 1);
      } else {
        return raise_plain(L, "unknown argument given to redis.register_function");
      }
    }
    if (lua_isnil(L, 2)) return raise_plain(L, "redis.register_function must get a function name argument");
    if (lua_isnil(L, 3)) return raise_plain(L, "redis.register_function must get a callback argument");
  } else {
    if (!lua_isstring(L, 1)) return raise_plain(L, "first argument to redis.register_function must be a string");
    lua_tostring(L, 1);  // a number becomes its text
    if (lua_type(L, 2) != LUA_TFUNCTION) return raise_plain(L, "second argument to redis.register_function must be a function");
    lua_pushvalue(L, 1);
    lua_insert(L, 2);  // 2: name, 3: callback
    lua_settop(L, 3);
    lua_pushnil(L);    // 4: no description
  }
  std::size_t n = 0;
  const char* name = lua_tolstring(L, 2, &n);
  if (!valid_name(std::string_view(name, n))) return raise_plain(L, kErrBadName);
  lua_pushvalue(L, lua_upvalueindex(1));
  const int collector = lua_gettop(L);
  lua_pushvalue(L, 2);
  if (lua_rawget(L, collector) != LUA_TNIL) return raise_plain(L, "Function already exists in the library");
  lua_pop(L, 1);
  lua_createtable(L, 0, 4);
  lua_pushvalue(L, 3);
  lua_setfield(L, -2, "callback");
  lua_pushinteger(L, static_cast<lua_Integer>(flags));
  lua_setfield(L, -2, "flags");
  lua_pushvalue(L, 4);
  lua_setfield(L, -2, "description");
  lua_pushinteger(L, static_cast<lua_Integer>(lua_rawlen(L, collector) + 1));
  lua_setfield(L, -2, "order");
  lua_pushvalue(L, 2);
  lua_insert(L, -2);
  lua_rawset(L, collector);
  // Registration order, for FUNCTION LIST: the array part of the collector.
  lua_pushvalue(L, 2);
  lua_rawseti(L, collector, static_cast<lua_Integer>(lua_rawlen(L, collector) + 1));
  return 0;
}

// __index of the load environment and of its redis table: nothing else exists while loading.
int refuse_missing(lua_State* L) {
  return luaL_error(L, "Script attempted to access nonexistent global variable '%s'",
                    luaL_tolstring(L, 2, nullptr));
}
int refuse_write(lua_State* L) { return luaL_error(L, "Attempt to modify a readonly table"); }

// Pushes a table whose missing keys raise and whose writes are refused.
void push_guarded_table(lua_State* L) {
  lua_newtable(L);
  lua_createtable(L, 0, 2);
  lua_pushcfunction(L, refuse_missing);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, refuse_write);
  lua_setfield(L, -2, "__newindex");
  lua_pushboolean(L, 0);
  lua_setfield(L, -2, "__metatable");
  lua_setmetatable(L, -2);
}

// Pushes the environment a library loads in (its functions get registered into the collector at
// `collector`): a proxy table whose reads go to {redis = {...}}; the chunk's own environment is
// this proxy, switched to the scripts' globals after the load.
void push_library_env(lua_State* L, int collector) {
  collector = lua_absindex(L, collector);
  push_guarded_table(L);  // what the library sees while it loads
  const int load_env = lua_gettop(L);
  push_guarded_table(L);  // its redis table
  const int redis = lua_gettop(L);
  lua_pushliteral(L, "register_function");
  lua_pushvalue(L, collector);
  lua_pushcclosure(L, register_function, 1);
  lua_rawset(L, redis);
  // log, the LOG_* levels and the version constants, from the scripts' redis table.
  push_script_globals(L);
  lua_getfield(L, -1, "redis");
  for (const char* f : {"log", "LOG_DEBUG", "LOG_VERBOSE", "LOG_NOTICE", "LOG_WARNING",
                        "REDIS_VERSION", "REDIS_VERSION_NUM"}) {
    lua_pushstring(L, f);
    lua_getfield(L, -2, f);
    lua_rawset(L, redis);  // raw: the guarded table refuses writes
  }
  lua_pop(L, 2);
  lua_pushliteral(L, "redis");
  lua_insert(L, -2);
  lua_rawset(L, load_env);
  // The chunk's environment: reads through to load_env until the switch.
  lua_newtable(L);
  lua_createtable(L, 0, 3);
  lua_pushvalue(L, load_env);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, refuse_write);
  lua_setfield(L, -2, "__newindex");
  lua_pushboolean(L, 0);
  lua_setfield(L, -2, "__metatable");
  lua_setmetatable(L, -2);
  lua_remove(L, load_env);
}

// After a library loaded: its environment reads the scripts' globals from now on.
void switch_to_script_globals(lua_State* L, int env) {
  lua_getmetatable(L, env);
  push_script_globals(L);
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);
}


void load_hook(lua_State* L, lua_Debug*) {
  if (t_load_clock != nullptr && std::chrono::steady_clock::now() > t_load_clock->deadline) {
    lua_pushstring(L, "FUNCTION LOAD timeout");
    lua_error(L);
  }
}

// Runs the library body (source with its header line emptied) in L; on success the collector is
// left on the stack (name -> {callback, flags, description}, and the names in order at 1..n).
// On failure pushes nothing and sets err.
bool run_library(lua_State* L, std::string_view body, std::string& err) {
  const int top = lua_gettop(L);
  lua_newtable(L);  // the collector
  const int collector = lua_gettop(L);
  lua_pushcfunction(L, script_error_handler);
  const int handler = lua_gettop(L);
  if (luaL_loadbuffer(L, body.data(), body.size(), kChunkName) != LUA_OK) {
    err = std::string("ERR Error compiling function: ") + lua_tostring(L, -1);
    lua_settop(L, top);
    return false;
  }
  push_library_env(L, collector);
  const int env = lua_gettop(L);
  lua_pushvalue(L, env);
  lua_setupvalue(L, -3, 1);  // the chunk's _ENV
  lua_pushvalue(L, -2);      // the chunk
  LoadClock clock{std::chrono::steady_clock::now() + kLoadTimeout};
  LoadClock* outer = t_load_clock;
  t_load_clock = &clock;
  lua_Hook old_hook = lua_gethook(L);
  const int old_mask = lua_gethookmask(L);
  const int old_count = lua_gethookcount(L);
  lua_sethook(L, load_hook, LUA_MASKCOUNT, 10000);
  const int rc = lua_pcall(L, 0, 0, handler);
  lua_sethook(L, old_hook, old_mask, old_count);
  t_load_clock = outer;
  if (rc != LUA_OK) {
    std::string msg = "ERR unknown error";
    if (lua_type(L, -1) == LUA_TTABLE && lua_getfield(L, -1, "err") == LUA_TSTRING) {
      msg = lua_tostring(L, -1);
    }
    err = "ERR Error registering functions: " + msg;
    lua_settop(L, top);
    return false;
  }
  switch_to_script_globals(L, env);
  lua_pushvalue(L, collector);
  lua_replace(L, top + 1);
  lua_settop(L, top + 1);
  return true;
}

// The thread's functions (name -> callback) and the registry generation they were loaded at.
const char kFunctionsKey = 0;
const char kGenerationKey = 0;

}  // namespace

bool parse_library_header(std::string_view code, std::string& name, std::string& body,
                          std::string& err) {
  if (code.size() < 2 || code[0] != '#' || code[1] != '!') {
    err = "ERR Missing library metadata";
    return false;
  }
  const std::string_view line = first_line(code, body);
  // Split as Redis splits it (its config-line rules): `name="foo"` names the library foo.
  std::vector<std::string> parts;
  if (!split_config_line(std::string(line), parts) || parts.empty()) {
    err = "ERR Invalid library metadata";
    return false;
  }
  const std::string_view engine = std::string_view(parts[0]).substr(2);
  bool named = false;
  for (std::size_t i = 1; i < parts.size(); ++i) {
    if (parts[i].substr(0, 5) != "name=") {
      err = "ERR Invalid metadata value given: " + std::string(parts[i]);
      return false;
    }
    if (named) {
      err = "ERR Invalid metadata value, name argument was given multiple times";
      return false;
    }
    named = true;
    name = parts[i].substr(5);
  }
  if (!named) {
    err = "ERR Library name was not given";
    return false;
  }
  if (!iequal(engine, "lua")) {
    err = "ERR Engine '" + std::string(engine) + "' not found";
    return false;
  }
  if (!valid_name(name)) {
    err = std::string("ERR ") + kErrBadName;
    return false;
  }
  return true;
}

bool check_library(std::string_view code, Library& lib, std::string& err) {
  std::string body;
  if (!parse_library_header(code, lib.name, body, err)) return false;
  lua_State* L = new_script_state();
  const bool ok = run_library(L, body, err);
  if (ok) {
    const int collector = lua_gettop(L);
    const auto n = static_cast<lua_Integer>(lua_rawlen(L, collector));
    for (lua_Integer i = 1; i <= n; ++i) {
      lua_rawgeti(L, collector, i);
      FunctionInfo f;
      f.name = lua_tostring(L, -1);
      lua_rawget(L, collector);
      lua_getfield(L, -1, "flags");
      f.flags = static_cast<std::uint32_t>(lua_tointeger(L, -1));
      lua_getfield(L, -2, "description");
      if (lua_type(L, -1) == LUA_TSTRING) {
        f.has_description = true;
        f.description = lua_tostring(L, -1);
      }
      lua_pop(L, 3);
      lib.functions.push_back(std::move(f));
    }
    if (lib.functions.empty()) {
      err = "ERR No functions registered";
      lua_close(L);
      return false;
    }
    lib.code = std::string(code);
  }
  lua_close(L);
  return ok;
}

bool parse_script_shebang(std::string_view source, bool& has_shebang, std::uint32_t& flags,
                          std::string& body, std::string& err) {
  flags = 0;
  has_shebang = source.size() >= 2 && source[0] == '#' && source[1] == '!';
  if (!has_shebang) return true;
  if (source.find('\n') == std::string_view::npos) {  // a shebang line, then the script
    err = "ERR Invalid script shebang";
    return false;
  }
  const std::string_view line = first_line(source, body);
  const std::vector<std::string_view> parts = split_spaces(line);
  if (parts.empty() || parts[0] != "#!lua") {
    err = "ERR Unexpected engine in script shebang: " + std::string(parts.empty() ? line : parts[0]);
    return false;
  }
  for (std::size_t i = 1; i < parts.size(); ++i) {
    if (parts[i].substr(0, 6) != "flags=") {
      err = "ERR Unknown lua shebang option: " + std::string(parts[i]);
      return false;
    }
    // "flags=" is no flag; in a list, an empty one ("a,,b", "a,") is an unknown flag.
    std::string_view list = parts[i].substr(6);
    for (bool more = !list.empty(); more;) {
      const std::size_t comma = list.find(',');
      const std::string_view f = list.substr(0, comma);
      more = comma != std::string_view::npos;
      if (more) list = list.substr(comma + 1);
      const std::uint32_t bit = flag_by_name(f);
      if (bit == 0) {
        err = "ERR Unexpected flag in script shebang: " + std::string(f);
        return false;
      }
      flags |= bit;
    }
  }
  return true;
}

bool push_function(lua_State* L, const LibraryRegistry& registry, std::string_view function) {
  const std::uint64_t gen = registry.generation();
  lua_rawgetp(L, LUA_REGISTRYINDEX, &kGenerationKey);
  const bool current = lua_isinteger(L, -1) && static_cast<std::uint64_t>(lua_tointeger(L, -1)) == gen;
  lua_pop(L, 1);
  if (!current) {
    // Read after the generation: a change in between is seen next time (the generation moved).
    const std::vector<Library> libs = registry.snapshot();
    lua_newtable(L);
    const int functions = lua_gettop(L);
    for (const Library& lib : libs) {
      std::string body;
      (void)first_line(lib.code, body);
      std::string err;
      if (!run_library(L, body, err)) continue;  // checked at LOAD: it loads
      lua_pushnil(L);
      while (lua_next(L, -2) != 0) {
        if (lua_type(L, -2) == LUA_TSTRING) {
          lua_getfield(L, -1, "callback");
          lua_pushvalue(L, -3);
          lua_insert(L, -2);
          lua_rawset(L, functions);
        }
        lua_pop(L, 1);
      }
      lua_pop(L, 1);
    }
    lua_rawsetp(L, LUA_REGISTRYINDEX, &kFunctionsKey);
    lua_pushinteger(L, static_cast<lua_Integer>(gen));
    lua_rawsetp(L, LUA_REGISTRYINDEX, &kGenerationKey);
  }
  lua_rawgetp(L, LUA_REGISTRYINDEX, &kFunctionsKey);
  lua_pushlstring(L, function.data(), function.size());
  lua_rawget(L, -2);
  lua_remove(L, -2);
  if (lua_type(L, -1) != LUA_TFUNCTION) {
    lua_pop(L, 1);
    return false;
  }
  return true;
}

}  // namespace lfdb::db::functions
