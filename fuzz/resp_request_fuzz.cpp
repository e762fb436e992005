// libFuzzer target for resp::RequestParser.
// Input: one flags byte, then the bytes a client sends. Flags: bit 0 requires AUTH (Redis's
// small unauthenticated limits), bit 1 selects tiny limits so every limit is reachable within
// -max_len, bits 2..7 choose the size of the pieces the second run is fed in.
// Invariants: consumed <= input size and > 0 for a command; every argv view lies in the input or
// in the parser's splice buffer; feeding the input whole or in pieces gives the same commands and
// error; an error is sticky; re-serializing a command and parsing it again gives the same argv.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.hpp"
#include "resp/request_parser.hpp"
#include "resp/writer.hpp"

namespace {

struct Outcome {
  std::vector<std::vector<std::string>> commands;
  std::string error;  // empty when the input ended without a protocol error
  bool operator==(const Outcome&) const = default;
};

bool inside(std::string_view view, std::string_view area) {
  return view.empty() ||
         (view.data() >= area.data() && view.data() + view.size() <= area.data() + area.size());
}

Outcome run(std::string_view input, std::size_t piece, const resp::Limits& limits, bool auth) {
  resp::RequestParser parser(limits);
  parser.set_auth_required(auth);
  std::string buf;
  std::vector<std::string_view> argv;
  Outcome out;
  std::size_t fed = 0;
  for (;;) {
    for (;;) {
      const resp::RequestResult r = parser.parse(buf, argv);
      FUZZ_CHECK(r.consumed <= buf.size());
      if (r.complete()) {
        FUZZ_CHECK(r.consumed > 0);
        FUZZ_CHECK(!argv.empty());
        std::vector<std::string> copy;
        for (std::string_view a : argv) {
          FUZZ_CHECK(inside(a, std::string_view(buf).substr(0, r.consumed)) ||
                     inside(a, parser.spliced()));
          copy.emplace_back(a);
        }
        out.commands.push_back(std::move(copy));
        buf.erase(0, r.consumed);
        continue;
      }
      buf.erase(0, r.consumed);
      if (r.failed()) {
        FUZZ_CHECK(argv.empty());
        out.error = resp::error_message(r);
        FUZZ_CHECK(out.error.rfind("ERR Protocol error: ", 0) == 0);
        FUZZ_CHECK(out.error.find_first_of("\r\n") == std::string::npos);
        const resp::RequestResult again = parser.parse(buf, argv);
        FUZZ_CHECK(again.failed() && again.error == r.error);
        return out;
      }
      FUZZ_CHECK(r.need >= 1);
      break;
    }
    if (fed == input.size()) return out;
    const std::size_t n = std::min(piece, input.size() - fed);
    buf.append(input.substr(fed, n));
    fed += n;
  }
}

void check_reserialized(const std::vector<std::string>& command) {
  std::vector<std::string_view> views(command.begin(), command.end());
  std::string wire;
  resp::append_command(wire, views);
  resp::RequestParser parser;
  std::vector<std::string_view> argv;
  const resp::RequestResult r = parser.parse(wire, argv);
  FUZZ_CHECK(r.complete());
  FUZZ_CHECK(r.consumed == wire.size());
  FUZZ_CHECK(argv.size() == command.size());
  for (std::size_t i = 0; i < argv.size(); ++i) FUZZ_CHECK(argv[i] == command[i]);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t flags = data[0];
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  resp::Limits limits;
  if (flags & 2) {
    limits.max_bulk_len = 40;
    limits.max_multibulk_len = 6;
    limits.max_inline_len = 24;
    limits.unauth_max_multibulk_len = 3;
    limits.unauth_max_bulk_len = 8;
  }
  const bool auth = (flags & 1) != 0;
  const std::size_t piece = 1 + (flags >> 2) % 17;

  const Outcome whole = run(input, input.size() + 1, limits, auth);
  const Outcome split = run(input, piece, limits, auth);
  FUZZ_CHECK(whole == split);
  for (const auto& command : whole.commands) check_reserialized(command);
  return 0;
}
