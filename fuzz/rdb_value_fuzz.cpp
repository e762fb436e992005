// libFuzzer target for RESTORE's payload decoder (dump::restore_value): the payload comes from a
// client. Invariants: never crashes, leaks or reads out of bounds; what it accepts dumps to a
// payload that restores to a value of the same type and payload size (hash tables may iterate
// in another order); a set restored as an intset keeps that encoding and dumps byte for byte
// the same again (its members are in ascending order).
#include <cstddef>
#include <cstdint>
#include <string>

#include "db/dump/rdb_format.hpp"
#include "db/dump/rdb_value.hpp"
#include "fuzz_check.hpp"

using lfdb::db::Value;
using lfdb::db::dump::dump_value;
using lfdb::db::dump::restore_value;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string in(reinterpret_cast<const char*>(data), size);
  // Most random inputs die at the checksum: when the input's first byte is odd, seal the rest
  // with a valid trailer so the decoder's reading of values is what gets fuzzed.
  if (!in.empty() && (in[0] & 1) != 0) {
    in.erase(0, 1);
    lfdb::db::dump::seal_payload(in);
  }
  Value v;
  std::string err;
  if (!restore_value(in, v, err)) {
    FUZZ_CHECK(!err.empty());
    return 0;
  }
  const std::string again = dump_value(v);
  Value w;
  FUZZ_CHECK(restore_value(again, w, err));
  FUZZ_CHECK(w.type() == v.type() && dump_value(w).size() == again.size());  // orders may differ
  if (v.set() != nullptr && v.set()->intset()) {
    FUZZ_CHECK(w.set()->intset() && w.set()->size() == v.set()->size() && dump_value(w) == again);
  }
  return 0;
}
