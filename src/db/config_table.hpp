// The table of Redis 7.0's configuration parameters that lfdb-server keeps as rows: each one's
// name, older alias, type, bounds, default, mutability and what it does in lfdb, in one row
// (config_table.cpp). Config (config.hpp) validates, stores, shows (CONFIG GET), sets (CONFIG
// SET) and rewrites (CONFIG REWRITE) every row the same way. The parameters with their own
// parsing (port, bind, save, dir, maxmemory & co., client-output-buffer-limit...) stay in
// config.cpp; docs/server.md lists both.
//
// Thread-safety: the table is constant; the functions are pure.
#pragma once

#include <span>
#include <string>
#include <string_view>

namespace lfdb::db {

struct ParamSpec {
  std::string_view name;
  std::string_view alias;  // Redis's older name ("slave-..."): both answer CONFIG GET and set each other
  enum Kind {
    kBool,              // yes/no
    kInteger,           // a number in [min, max]
    kMemory,            // a number with redis.conf's units (1kb, 5mb...), in [min, max] bytes
    kMemoryOrPercent,   // a memory value or "N%" (N <= 100)
    kOctal,             // an octal number in [min, max] (unixsocketperm)
    kEnum,              // one of `choices`
    kFlags,             // one or more of `choices` (shutdown-on-sig*; "save" and "nosave" exclude each other)
    kString,            // any text
    kPercentiles,       // latency-tracking-info-percentiles: numbers in [0, 100]
    kOomValues,         // oom-score-adj-values: three numbers in [-2000, 2000]
  } kind;
  long long min, max;
  std::string_view initial;  // Redis 7.0's default, as CONFIG GET shows it
  std::string_view choices;  // kEnum, kFlags: as Redis's error lists them
  unsigned flags;            // kImmutable | kProtected | kHidden
  enum Effect {
    kLive,     // lfdb does what Redis does with it (`why` says where)
    kTuning,   // accepted, validated, stored, shown and rewritten; no meaning in lfdb (`why`)
    kOffOnly,  // names a feature lfdb does not have: only its off value (the default) is taken
  } effect;
  std::string_view why;  // what it does in lfdb, or why it does nothing
};

inline constexpr unsigned kImmutable = 1;  // CONFIG SET refuses it: can't set immutable config
inline constexpr unsigned kProtected = 2;  // CONFIG SET only with enable-protected-configs
inline constexpr unsigned kHidden = 4;     // CONFIG GET answers its exact name only

std::span<const ParamSpec> param_table();
// The row named `name` or aliased so (lower-case); nullptr if none.
const ParamSpec* find_param(std::string_view name);
// Checks `value` as Redis reads the row's type; "" and `normalized` (as CONFIG GET shows it)
// when valid, else Redis's reason ("argument must be 'yes' or 'no'"...).
std::string check_param(const ParamSpec& p, const std::string& value, std::string& normalized);
// For kOffOnly rows: "" when `normalized` is the off value, else why lfdb refuses it.
std::string refuse_reason(const ParamSpec& p, const std::string& normalized);

}  // namespace lfdb::db
