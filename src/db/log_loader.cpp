#include "db/log_loader.hpp"

#include <vector>

#include "db/command_context.hpp"
#include "resp/request_parser.hpp"

namespace lfdb::db {

lf::Result<LogLoad> load_log(std::string_view bytes, const LogLoadOptions& options,
                             const ApplyLogged& apply) {
  LogLoad out;
  out.file_bytes = bytes.size();
  resp::RequestParser parser;
  std::vector<std::string_view> argv;
  // An open MULTI block: its commands (views into `bytes`, which outlive the load).
  bool in_multi = false;
  std::uint64_t multi_at = 0;
  std::vector<std::vector<std::string_view>> block;
  std::uint64_t pos = 0;

  // Where a problem at `at` leaves the valid prefix: before an open MULTI block, if any.
  auto cut_point = [&](std::uint64_t at) { return in_multi ? multi_at : at; };
  auto corrupt = [&](std::uint64_t at, const std::string& why) -> lf::Result<LogLoad> {
    const std::uint64_t cut = cut_point(at);
    if (!options.load_corrupt) {
      return lf::Status::error(
          "bad file format reading the append-only log at offset " + std::to_string(at) +
          " of " + std::to_string(bytes.size()) + " bytes: " + why +
          ". Repair it with redis-check-aof --fix, or start with --aof-load-corrupt yes to "
          "load the " + std::to_string(cut) + " bytes before it and drop the rest");
    }
    out.valid_bytes = cut;
    out.warning = "append-only log corrupt at offset " + std::to_string(at) + " (" + why +
                  "): loaded the first " + std::to_string(cut) + " bytes, dropped " +
                  std::to_string(bytes.size() - cut);
    return out;
  };
  auto torn = [&](std::uint64_t at) -> lf::Result<LogLoad> {
    const std::uint64_t cut = cut_point(at);
    if (!options.load_truncated) {
      return lf::Status::error(
          "the append-only log ends in the middle of a command at offset " + std::to_string(at) +
          " of " + std::to_string(bytes.size()) +
          " bytes. Start with --aof-load-truncated yes to drop the torn tail, or repair it "
          "with redis-check-aof --fix");
    }
    out.valid_bytes = cut;
    out.warning = "append-only log has a torn tail: dropped the last " +
                  std::to_string(bytes.size() - cut) + " bytes (from offset " +
                  std::to_string(cut) + ")";
    return out;
  };

  while (pos < bytes.size()) {
    if (bytes[pos] != '*') return corrupt(pos, "expected '*' at the start of a record");
    // A count of 0 or less is no record: the request parser would skip it as a client's empty
    // command and read what follows as an inline command, whose arguments may live in the
    // parser's own buffer (not in `bytes`), where a MULTI block could not keep them.
    if (pos + 1 < bytes.size() && (bytes[pos + 1] == '-' || bytes[pos + 1] == '0')) {
      return corrupt(pos, "empty record");
    }
    const resp::RequestResult r = parser.parse(bytes.substr(pos), argv);
    if (r.failed()) return corrupt(pos, resp::error_message(r));
    if (!r.complete()) return torn(pos);
    if (argv.empty()) return corrupt(pos, "empty record");
    for (std::string_view a : argv) {
      if (a.data() < bytes.data() + pos || a.data() + a.size() > bytes.data() + pos + r.consumed) {
        return corrupt(pos, "not a RESP multibulk record");
      }
    }
    if (iequal(argv[0], "multi")) {
      if (in_multi) return corrupt(pos, "MULTI inside MULTI");
      in_multi = true;
      multi_at = pos;
      block.clear();
    } else if (iequal(argv[0], "exec")) {
      if (!in_multi) return corrupt(pos, "EXEC without MULTI");
      for (const auto& cmd : block) {
        lf::Status st = apply(cmd, /*check_only=*/true);
        if (!st.ok()) return corrupt(multi_at, st.message());
      }
      for (const auto& cmd : block) (void)apply(cmd, /*check_only=*/false);
      in_multi = false;
      ++out.transactions;
      out.valid_bytes = pos + r.consumed;
    } else if (in_multi) {
      block.push_back(argv);
    } else {
      lf::Status st = apply(argv, /*check_only=*/false);
      if (!st.ok()) return corrupt(pos, st.message());
      ++out.commands;
      out.valid_bytes = pos + r.consumed;
    }
    pos += r.consumed;
  }
  if (in_multi) return torn(pos);
  return out;
}

}  // namespace lfdb::db
