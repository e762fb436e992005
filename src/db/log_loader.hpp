// Loading the append-only log at start: every complete command and every complete
// MULTI...EXEC block is applied in file order. What cannot be applied is reported precisely:
//   - a torn tail (the file ends inside a command, or inside a MULTI block without its EXEC:
//     what a crash mid-write leaves) is cut off when aof-load-truncated is yes (the default),
//     with a warning naming the bytes dropped; otherwise loading fails;
//   - anything else that does not parse, or names a command that is not a logged write, is
//     corruption: loading fails with its offset, unless aof-load-corrupt is yes, which loads
//     the prefix before it and drops the rest (with a warning).
// The caller cuts the file to valid_bytes so new records follow the last good one.
//
// Thread-safety: a plain function; `apply` runs on the calling thread.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>

#include "lf/status.hpp"

namespace lfdb::db {

struct LogLoad {
  std::uint64_t commands = 0;       // applied, outside transactions
  std::uint64_t transactions = 0;   // MULTI...EXEC blocks applied
  std::uint64_t valid_bytes = 0;    // the prefix applied; the file is cut here
  std::uint64_t file_bytes = 0;
  std::string warning;              // what was dropped, if anything
};

struct LogLoadOptions {
  bool load_truncated = true;
  bool load_corrupt = false;
};

// `apply` executes one logged command (or, with check_only, only validates it: a known write
// command with a valid arity); an error counts as corruption at that record. A MULTI block is
// checked whole before any of it is applied.
using ApplyLogged = std::function<lf::Status(std::span<const std::string_view>, bool check_only)>;

lf::Result<LogLoad> load_log(std::string_view bytes, const LogLoadOptions& options,
                             const ApplyLogged& apply);

}  // namespace lfdb::db
