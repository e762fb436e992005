// libFuzzer target for FUNCTION RESTORE's payload decoder (functions::decode_payload): the
// payload comes from a client. Invariants: never crashes or reads out of bounds; accepts only
// payloads whose CRC-64 holds; what it accepts encodes back to a payload that decodes to the
// same codes.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "db/dump/rdb_format.hpp"
#include "db/functions/library_payload.hpp"
#include "fuzz_check.hpp"

using lfdb::db::dump::crc64_jones;
using lfdb::db::functions::decode_payload;
using lfdb::db::functions::encode_payload;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string in(reinterpret_cast<const char*>(data), size);
  // Most random inputs die at the checksum: half the time, give the body a valid trailer (RDB
  // version 10 and its CRC-64) so the decoder's reading of records is what gets fuzzed.
  if (size > 0 && (data[0] & 1)) {
    in = in.substr(1);
    in.push_back('\x0a');
    in.push_back('\x00');
    const std::uint64_t crc = crc64_jones(0, in);
    for (int i = 0; i < 8; ++i) in.push_back(static_cast<char>((crc >> (8 * i)) & 0xff));
  }
  std::vector<std::string> codes;
  std::string err;
  if (!decode_payload(in, codes, err)) {
    FUZZ_CHECK(!err.empty());
    return 0;
  }
  std::vector<std::string> back;
  FUZZ_CHECK(decode_payload(encode_payload(codes), back, err));
  FUZZ_CHECK(back == codes);
  return 0;
}
