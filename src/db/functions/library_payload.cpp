#include "db/functions/library_payload.hpp"

#include "db/dump/rdb_format.hpp"

namespace lfdb::db::functions {
namespace {

constexpr unsigned char kOpFunction2 = 245;  // a library's code
constexpr unsigned char kOpFunctionPreGa = 246;

}  // namespace

std::string encode_payload(const std::vector<std::string>& codes) {
  std::string out;
  for (const std::string& code : codes) {
    out.push_back(static_cast<char>(kOpFunction2));
    // RDB's string rule, as DUMP writes a string and redis-server a library's code: over 20
    // bytes LZF when that saves 4 or more, so the payload is redis-server's byte for byte.
    dump::put_string(out, code);
  }
  dump::seal_payload(out);
  return out;
}

bool decode_payload(std::string_view payload, std::vector<std::string>& codes, std::string& err) {
  codes.clear();
  std::string_view body;
  if (!dump::open_payload(payload, body)) {
    err = "ERR DUMP payload version or checksum are wrong";
    return false;
  }
  dump::Reader r{body};
  while (r.pos < r.in.size()) {
    unsigned char op = 0;
    (void)r.byte(op);
    if (op == kOpFunctionPreGa) {
      err = "ERR Pre-GA function format not supported";
      return false;
    }
    if (op != kOpFunction2) {
      err = "ERR given type is not a function";
      return false;
    }
    std::string code;
    if (!r.string(code)) {
      err = "ERR Failed loading library";
      return false;
    }
    codes.push_back(std::move(code));
  }
  return true;
}

}  // namespace lfdb::db::functions
