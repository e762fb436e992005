// FUNCTION LOAD / DELETE / FLUSH / LIST / DUMP / RESTORE / STATS / KILL / HELP. FCALL and
// FCALL_RO run through the scripts' runner (scripting.cpp's fcall_cmd).
//
// The commands that change the registry write their own log record, on success only (a failed
// LOAD replayed would fail again, but the log keeps what happened, no more): the session logs
// nothing else for them (log_records.cpp's form kNone).
#include <algorithm>
#include <string>
#include <vector>

#include "db/command_context.hpp"
#include "db/functions/library_loader.hpp"
#include "db/functions/library_payload.hpp"
#include "db/functions/library_registry.hpp"
#include "db/log_records.hpp"
#include "db/server.hpp"

namespace lfdb::db {
namespace {

using functions::Library;
using functions::LibraryRegistry;

void log_command(const CommandContext& c) {
  if (std::string* records = t_invocation_log.records) encode_command(*records, c.argv);
}

void function_load_cmd(CommandContext& c) {
  bool replace = false;
  std::size_t i = 2;
  for (; i + 1 < c.argc(); ++i) {
    if (!iequal(c.arg(i), "replace")) return c.out.error("ERR Unknown option given: " + std::string(c.arg(i)));
    replace = true;
  }
  if (i + 1 != c.argc()) return c.out.error("ERR Function code is missing");  // arity lets 3+ through
  Library lib;
  std::string err;
  LibraryRegistry& reg = c.server->functions();
  // As Redis: the header first, then an existing library is reported before the code runs.
  std::string body;
  if (!functions::parse_library_header(c.arg(i), lib.name, body, err)) return c.out.error(err);
  if (!replace && reg.has_library(lib.name)) {
    return c.out.error("ERR Library '" + lib.name + "' already exists");
  }
  if (!functions::check_library(c.arg(i), lib, err)) return c.out.error(err);
  std::string name = lib.name;
  if (!reg.add(std::move(lib), replace, err)) return c.out.error(err);
  log_command(c);
  c.out.bulk(name);
}

void function_delete_cmd(CommandContext& c) {
  if (!c.server->functions().remove(c.arg(2))) return c.out.error("ERR Library not found");
  log_command(c);
  c.out.simple_string("OK");
}

void function_flush_cmd(CommandContext& c) {
  if (c.argc() == 3 && !iequal(c.arg(2), "async") && !iequal(c.arg(2), "sync")) {
    return c.out.error("ERR FUNCTION FLUSH only supports SYNC|ASYNC option");
  }
  if (c.argc() > 3) {  // Redis's subcommand syntax error, naming the subcommand as sent
    return c.out.error("ERR unknown subcommand or wrong number of arguments for '" +
                       std::string(c.arg(1)) + "'. Try FUNCTION HELP.");
  }
  c.server->functions().flush();
  log_command(c);
  c.out.simple_string("OK");
}

void function_list_cmd(CommandContext& c) {
  bool with_code = false;
  bool has_pattern = false;
  std::string_view pattern;
  for (std::size_t i = 2; i < c.argc(); ++i) {
    if (iequal(c.arg(i), "withcode")) {
      if (with_code) return c.out.error("ERR Unknown argument " + std::string(c.arg(i)));
      with_code = true;
    } else if (iequal(c.arg(i), "libraryname")) {
      if (has_pattern) return c.out.error("ERR Unknown argument " + std::string(c.arg(i)));
      if (i + 1 >= c.argc()) return c.out.error("ERR library name argument was not given");
      has_pattern = true;
      pattern = c.arg(++i);
    } else {
      return c.out.error("ERR Unknown argument " + std::string(c.arg(i)));
    }
  }
  std::vector<Library> libs = c.server->functions().snapshot();
  if (has_pattern) {
    std::erase_if(libs, [&](const Library& l) { return !glob_match(pattern, l.name); });
  }
  c.out.array_header(libs.size());
  for (const Library& lib : libs) {
    c.out.map_header(with_code ? 4 : 3);
    c.out.bulk("library_name");
    c.out.bulk(lib.name);
    c.out.bulk("engine");
    c.out.bulk("LUA");
    c.out.bulk("functions");
    c.out.array_header(lib.functions.size());
    for (const functions::FunctionInfo& f : lib.functions) {
      c.out.map_header(3);
      c.out.bulk("name");
      c.out.bulk(f.name);
      c.out.bulk("description");
      if (f.has_description) c.out.bulk(f.description);
      else c.out.null();
      c.out.bulk("flags");
      const std::vector<std::string_view> names = functions::flag_names(f.flags);
      c.out.set_header(names.size());
      for (std::string_view n : names) c.out.bulk(n);
    }
    if (with_code) {
      c.out.bulk("library_code");
      c.out.bulk(lib.code);
    }
  }
}

void function_dump_cmd(CommandContext& c) {
  std::vector<std::string> codes;
  for (const Library& lib : c.server->functions().snapshot()) codes.push_back(lib.code);
  c.out.bulk(functions::encode_payload(codes));
}

void function_restore_cmd(CommandContext& c) {
  enum class Policy { kAppend, kReplace, kFlush } policy = Policy::kAppend;
  if (c.argc() > 4) {
    return c.out.error("ERR unknown subcommand or wrong number of arguments for '" +
                       std::string(c.arg(1)) + "'. Try FUNCTION HELP.");
  }
  if (c.argc() == 4) {
    if (iequal(c.arg(3), "append")) policy = Policy::kAppend;
    else if (iequal(c.arg(3), "replace")) policy = Policy::kReplace;
    else if (iequal(c.arg(3), "flush")) policy = Policy::kFlush;
    else return c.out.error("ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.");
  }
  std::vector<std::string> codes;
  std::string err;
  if (!functions::decode_payload(c.arg(2), codes, err)) return c.out.error(err);
  std::vector<Library> restored;
  for (const std::string& code : codes) {
    Library lib;
    if (!functions::check_library(code, lib, err)) return c.out.error(err);
    for (const Library& other : restored) {
      if (other.name == lib.name) return c.out.error("ERR Library '" + lib.name + "' already exists");
    }
    restored.push_back(std::move(lib));
  }
  LibraryRegistry& reg = c.server->functions();
  // All or nothing: the result is built aside, checked whole, then swapped in.
  std::vector<Library> result = policy == Policy::kFlush ? std::vector<Library>{} : reg.snapshot();
  for (Library& lib : restored) {
    auto same = std::find_if(result.begin(), result.end(), [&](const Library& l) { return l.name == lib.name; });
    if (same != result.end()) {
      if (policy == Policy::kAppend) return c.out.error("ERR Library " + lib.name + " already exists");
      result.erase(same);
    }
    for (const Library& other : result) {
      for (const auto& f : lib.functions) {
        for (const auto& g : other.functions) {
          if (f.name == g.name) return c.out.error("ERR Function " + f.name + " already exists");
        }
      }
    }
    result.push_back(std::move(lib));
  }
  reg.assign(std::move(result));
  log_command(c);
  c.out.simple_string("OK");
}

void function_stats_cmd(CommandContext& c) {
  const LibraryRegistry& reg = c.server->functions();
  c.out.map_header(2);
  c.out.bulk("running_script");
  ScriptRegistry::RunningFunction running;
  if (c.server->scripts().running_function(running)) {
    c.out.map_header(3);
    c.out.bulk("name");
    c.out.bulk(running.name);
    c.out.bulk("command");
    c.out.array_header(running.command.size());
    for (const std::string& a : running.command) c.out.bulk(a);
    c.out.bulk("duration_ms");
    c.out.integer(std::max<std::int64_t>(0, c.now_ms - running.started_ms));
  } else {
    c.out.null();
  }
  c.out.bulk("engines");
  c.out.map_header(1);
  c.out.bulk("LUA");
  c.out.map_header(2);
  c.out.bulk("libraries_count");
  c.out.integer(static_cast<std::int64_t>(reg.library_count()));
  c.out.bulk("functions_count");
  c.out.integer(static_cast<std::int64_t>(reg.function_count()));
}

void function_kill_cmd(CommandContext& c) {
  // Functions run through the scripts' runner: SCRIPT KILL's rules and replies.
  ScriptRegistry::reply_kill(c.out, c.server->scripts().kill_busy(true, false), true);
}

void function_help_cmd(CommandContext& c) {
  static constexpr std::string_view kLines[] = {
      "FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
      "LOAD [REPLACE] <FUNCTION CODE>",
      "    Create a new library with the given library name and code.",
      "DELETE <LIBRARY NAME>",
      "    Delete the given library.",
      "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
      "    Return general information on all the libraries:",
      "    * Library name",
      "    * The engine used to run the Library",
      "    * Library description",
      "    * Functions list",
      "    * Library code (if WITHCODE is given)",
      "    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
      "STATS",
      "    Return information about the current function running:",
      "    * Function name",
      "    * Command used to run the function",
      "    * Duration in MS that the function is running",
      "    If no function is running, return nil",
      "    In addition, returns a list of available engines.",
      "KILL",
      "    Kill the current running function.",
      "FLUSH [ASYNC|SYNC]",
      "    Delete all the libraries.",
      "    When called without the optional mode argument, the behavior is determined by the",
      "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
      "    * ASYNC: Asynchronously flush the libraries.",
      "    * SYNC: Synchronously flush the libraries.",
      "DUMP",
      "    Return a serialized payload representing the current libraries, can be restored using FUNCTION RESTORE command",
      "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
      "    Restore the libraries represented by the given payload, it is possible to give a restore policy to",
      "    control how to handle existing libraries (default APPEND):",
      "    * FLUSH: delete all existing libraries.",
      "    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.",
      "    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old",
      "      libraries with the new libraries (notice that even on this option there is a chance of failure",
      "      in case of functions name collision with another library).",
      "HELP",
      "    Prints this help."};
  c.out.array_header(std::size(kLines));
  for (auto l : kLines) c.out.simple_string(l);
}

constexpr HandlerEntry kFunctionHandlers[] = {
    {"function|load", function_load_cmd},     {"function|delete", function_delete_cmd},
    {"function|flush", function_flush_cmd},   {"function|list", function_list_cmd},
    {"function|dump", function_dump_cmd},     {"function|restore", function_restore_cmd},
    {"function|stats", function_stats_cmd},   {"function|kill", function_kill_cmd},
    {"function|help", function_help_cmd},
};

}  // namespace

std::span<const HandlerEntry> function_handlers() { return kFunctionHandlers; }

}  // namespace lfdb::db
