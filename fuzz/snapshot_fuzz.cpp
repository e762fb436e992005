// libFuzzer target for the snapshot reader (db::load_snapshot_bytes): a damaged dump.lfdb or
// log preamble is untrusted input. Streams go through stream::decode (db/stream/stream.hpp),
// which checks every count, length, id order and consumer index against the bytes it has.
// Invariants: never crashes or reads out of bounds; accepts only inputs whose checksum holds;
// an accepted snapshot reports a length within the input and as many keys as the keyspace got;
// writing the loaded keyspace (and its function libraries) back and loading that gives the same
// keys and libraries.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "db/keyspace.hpp"
#include "db/snapshot.hpp"
#include "fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string in(reinterpret_cast<const char*>(data), size);
  // Most random inputs die at the magic: give the fuzzer a valid header half of the time (the
  // current version, with every type, databases and libraries; older versions are in the corpus).
  if (size > 0 && (data[0] & 1)) in = std::string("LFDBSNAP\x05\x00\x00\x00", 12) + in.substr(1);
  lfdb::db::Databases ks(4, 16);
  auto r = lfdb::db::load_snapshot_bytes(in, ks, "fuzz");
  if (!r.ok()) return 0;
  FUZZ_CHECK(r->bytes <= in.size());
  FUZZ_CHECK(ks.size() <= r->keys);  // a key may repeat: the last one wins
  char path[] = "/tmp/lfdb-snapshot-fuzz-XXXXXX";
  const int fd = ::mkstemp(path);
  FUZZ_CHECK(fd >= 0);
  ::close(fd);
  std::uint64_t written = 0;
  FUZZ_CHECK(lfdb::db::save_snapshot(ks, path, /*now_ms=*/0, written, 0, r->libraries).ok());
  lfdb::db::Databases back(4, 16);
  auto r2 = lfdb::db::load_snapshot(path, back);
  ::unlink(path);
  FUZZ_CHECK(r2.ok());
  FUZZ_CHECK(back.size() == ks.size());
  for (std::uint32_t d = 0; d < ks.count(); ++d) FUZZ_CHECK(back.db(d).size() == ks.db(d).size());
  FUZZ_CHECK(r2->libraries == r->libraries);
  return 0;
}
