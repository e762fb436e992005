// libFuzzer target for the append-only log loader (db::load_log): what a crash, a bad disk or a
// hand edit can leave in the file is untrusted input.
// Invariants: loading never fails with load_corrupt (it stops at the damage instead); the valid
// prefix is within the input and ends on a record boundary: loading just that prefix succeeds
// without a warning and applies the same commands; a MULTI block is applied whole or not at all
// (every applied EXEC block's commands were checked before any ran).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "db/log_loader.hpp"
#include "fuzz_check.hpp"

namespace {

struct Applied {
  std::vector<std::string> commands;
  lfdb::db::ApplyLogged fn() {
    return [this](std::span<const std::string_view> argv, bool check) -> lf::Status {
      FUZZ_CHECK(!argv.empty());
      // Something the server would refuse: a name starting with 'x' stands for an unknown command.
      if (!argv[0].empty() && (argv[0][0] == 'x' || argv[0][0] == 'X')) {
        return lf::Status::error("unknown command");
      }
      if (!check) {
        std::string s;
        for (auto a : argv) {
          s.append(a);
          s.push_back('\0');
        }
        commands.push_back(std::move(s));
      }
      return lf::Status();
    };
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  lfdb::db::LogLoadOptions lenient;
  lenient.load_corrupt = true;
  Applied a;
  auto r = lfdb::db::load_log(in, lenient, a.fn());
  FUZZ_CHECK(r.ok());
  FUZZ_CHECK(r->valid_bytes <= size);
  FUZZ_CHECK(r->warning.empty() == (r->valid_bytes == size));

  lfdb::db::LogLoadOptions strict;
  strict.load_truncated = false;
  Applied b;
  auto again = lfdb::db::load_log(in.substr(0, r->valid_bytes), strict, b.fn());
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(again->warning.empty());
  FUZZ_CHECK(again->valid_bytes == r->valid_bytes);
  FUZZ_CHECK(a.commands == b.commands);
  return 0;
}
