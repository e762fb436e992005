// The function libraries (FUNCTION LOAD ...): name -> library, each with its code and the
// functions it registered. Shared by every serving thread.
//
// A library is checked (compiled and run in a Lua state of its own, library_loader.hpp) before it
// gets here, so what the registry holds always loads. Each thread runs FCALL in its own Lua state
// (the one EVAL uses) and loads the libraries there again whenever the registry's generation has
// moved (any LOAD, DELETE, FLUSH or RESTORE bumps it).
//
// Hue: the commands that change the registry (FUNCTION LOAD/DELETE/FLUSH/RESTORE) are declared
// as keyspace writers (HueClass::kKeyspaceWrite): they run alone, never next to an FCALL that
// reads it, and are logged (their record is written by the handler, on success only).
//
// Thread-safety: mu_ guards the map; generation_ is atomic.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "lf/mutex.hpp"

namespace lfdb::db::functions {

// Script flags, as FUNCTION LIST shows them and as `#!lua flags=` and register_function take them.
enum ScriptFlag : std::uint32_t {
  kNoWrites = 1u << 0,
  kAllowOom = 1u << 1,
  kAllowStale = 1u << 2,
  kNoCluster = 1u << 3,
  kAllowCrossSlotKeys = 1u << 4,
};
// The flag named `name`; 0 when there is none by that name.
std::uint32_t flag_by_name(std::string_view name);
// The names of the flags set in `flags`, in Redis's order.
std::vector<std::string_view> flag_names(std::uint32_t flags);

struct FunctionInfo {
  std::string name;
  std::string description;  // empty: none given (FUNCTION LIST shows nil)
  bool has_description = false;
  std::uint32_t flags = 0;
};

struct Library {
  std::string name;
  std::string code;
  std::vector<FunctionInfo> functions;  // in registration order
};

class LibraryRegistry {
 public:
  // Adds `lib`; with `replace` an existing library of that name gives way. Fails (with Redis's
  // error in `err`) when the library exists and !replace, or when one of its functions belongs
  // to another library.
  bool add(Library lib, bool replace, std::string& err);
  bool remove(std::string_view name);
  void flush();
  // Replaces everything at once (FUNCTION RESTORE FLUSH); `libs` are checked already.
  void assign(std::vector<Library> libs);
  // The whole registry, sorted by library name (a copy: the caller reads it without the lock).
  std::vector<Library> snapshot() const;
  // The library that registered `function` (any case), the name it registered it under, and
  // its flags.
  bool find_function(std::string_view function, std::string& library, std::string& canonical,
                     std::uint32_t& flags) const;
  bool has_library(std::string_view name) const;
  std::uint64_t generation() const { return generation_.load(std::memory_order_acquire); }
  std::size_t library_count() const;
  std::size_t function_count() const;

 private:
  bool conflicts(const Library& lib, std::string& err) const LF_REQUIRES(mu_);

  mutable lf::Mutex mu_;
  std::map<std::string, Library, std::less<>> libraries_ LF_GUARDED_BY(mu_);
  std::atomic<std::uint64_t> generation_{0};
};

}  // namespace lfdb::db::functions
