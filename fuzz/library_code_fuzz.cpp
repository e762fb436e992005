// libFuzzer target for function library code (functions::check_library, FUNCTION LOAD's check):
// the code comes from a client and runs in the load sandbox. Invariants: never crashes, leaks or
// hangs (the load timeout stops loops); a library it accepts has a valid name, at least one
// function, and checks again to the same functions.
#include <lua5.4/lauxlib.h>
#include <lua5.4/lua.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "db/functions/library_loader.hpp"
#include "db/script_sandbox.hpp"
#include "db/scripting.hpp"
#include "fuzz_check.hpp"

// The server's state factory adds redis.call and its kin (scripting.cpp, which needs the whole
// server); a library's load environment uses none of them but redis.log, so the fuzzer's states
// are the same sandbox with an empty redis table.
lua_State* lfdb::db::new_script_state() {
  static const luaL_Reg kNone[] = {{nullptr, nullptr}};
  return new_sandboxed_state(kNone);
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string code(reinterpret_cast<const char*>(data), size);
  // Half the time, a valid header, so the fuzzer spends its time on the code.
  if (size > 0 && (data[0] & 1)) code = "#!lua name=fuzz\n" + code.substr(1);
  lfdb::db::functions::Library lib;
  std::string err;
  if (!lfdb::db::functions::check_library(code, lib, err)) {
    FUZZ_CHECK(err.rfind("ERR ", 0) == 0);
    return 0;
  }
  FUZZ_CHECK(!lib.name.empty() && !lib.functions.empty() && lib.code == code);
  lfdb::db::functions::Library again;
  FUZZ_CHECK(lfdb::db::functions::check_library(code, again, err));
  FUZZ_CHECK(again.functions.size() == lib.functions.size());
  return 0;
}
