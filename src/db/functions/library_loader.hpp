// Function libraries' Lua side: the `#!lua name=<lib>` header, running a library's code so it
// registers its functions (redis.register_function), and the per-thread copy FCALL calls.
//
// A library's code runs once at FUNCTION LOAD, in a Lua state of its own, to check it and learn
// its functions. It runs in Redis's load environment: its globals hold only a `redis` table with
// register_function, log, the LOG_* levels and the version constants; reading anything else is
// "Script attempted to access nonexistent global variable", writing is refused. Once loaded, the
// same chunk's environment switches to the scripts' read-only globals (script_sandbox.hpp), so
// the callbacks it registered see what EVAL scripts see.
//
// Thread-safety: the registry is shared (library_registry.hpp); a Lua state belongs to its thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "db/functions/library_registry.hpp"

struct lua_State;

namespace lfdb::db::functions {

// The library's header, `#!lua name=<lib>`: its name, and `body` (the code with that line
// emptied). False with Redis's error in `err`.
bool parse_library_header(std::string_view code, std::string& name, std::string& body,
                          std::string& err);

// Checks `code` (header, compilation, registration) and fills `lib`; on failure `err` has
// Redis's error ("ERR Missing library metadata", "ERR Error compiling function: ...", ...).
bool check_library(std::string_view code, Library& lib, std::string& err);

// EVAL's shebang: a script whose first line is `#!lua [flags=a,b]`. `flags` gets its flags;
// `body` the source Lua compiles (the shebang line emptied, so line numbers stay). False with
// Redis's error in `err` for a bad shebang. A script without one keeps its source and no flags.
bool parse_script_shebang(std::string_view source, bool& has_shebang, std::uint32_t& flags,
                          std::string& body, std::string& err);

// Pushes the callback of `function` in the thread's state L, loading the registry's libraries
// there first when they changed since. False (nothing pushed) when there is no such function.
bool push_function(lua_State* L, const LibraryRegistry& registry, std::string_view function);

}  // namespace lfdb::db::functions
