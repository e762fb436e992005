// What SCAN and HSCAN share: the cursor's syntax and the option parser, with Redis 7.0's rules
// (parseScanCursorOrReply and scanGenericCommand's step 1). Header-only: the handler files that
// use it link nothing else for it.
#pragma once

#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "db/command_context.hpp"

namespace lfdb::db {

// strtoul's syntax as Redis takes it: no leading space, the whole string consumed (up to a NUL),
// no overflow. "-1" is accepted and wraps, "" is 0, as in Redis.
inline bool parse_scan_cursor(std::string_view s, std::uint64_t& cursor) {
  const std::string buf(s);
  if (!buf.empty() && std::isspace(static_cast<unsigned char>(buf[0]))) return false;
  char* end = nullptr;
  errno = 0;
  const unsigned long long v = std::strtoull(buf.c_str(), &end, 10);
  if (*end != '\0' || errno == ERANGE) return false;
  cursor = v;
  return true;
}

inline constexpr std::string_view kEmptyScan = "*2\r\n$1\r\n0\r\n*0\r\n";  // shared.emptyscan

struct ScanOptions {
  std::int64_t count = 10;
  std::string_view pattern;
  bool use_pattern = false;  // false for no MATCH, or MATCH *
  std::string_view type;
  bool has_type = false;

  bool matches(std::string_view name) const { return !use_pattern || glob_match(pattern, name); }
};

// MATCH, COUNT and (SCAN only) TYPE from argv[from] on; the last of a repeated option wins.
// Writes the error and returns false when an option is invalid.
inline bool parse_scan_options(CommandContext& c, std::size_t from, bool allow_type,
                               ScanOptions& o) {
  for (std::size_t i = from; i < c.argc(); i += 2) {
    const std::string_view opt = c.arg(i);
    const bool has_value = c.argc() - i >= 2;
    if (has_value && iequal(opt, "count")) {
      if (!parse_int(c.arg(i + 1), o.count)) {
        c.out.error(kErrNotInteger);
        return false;
      }
      if (o.count < 1) {
        c.out.error(kErrSyntax);
        return false;
      }
    } else if (has_value && iequal(opt, "match")) {
      o.pattern = c.arg(i + 1);
      o.use_pattern = o.pattern != "*";
    } else if (has_value && allow_type && iequal(opt, "type")) {
      o.type = c.arg(i + 1);
      o.has_type = true;
    } else {
      c.out.error(kErrSyntax);
      return false;
    }
  }
  return true;
}

}  // namespace lfdb::db
