// A set's intset as payloads and snapshots carry it: RESTORE keeps an intset payload's element
// width (Redis's load keeps the intset's bytes, so a set whose widest member went still dumps
// 8-byte elements), the decoder refuses intsets Redis's integrity check refuses (a bad width,
// members out of order or repeated), and a snapshot's load builds each intset at its final size
// at once (counted in bytes the thread allocated, jemalloc's thread.allocated, where jemalloc is
// linked: a member at a time reallocates the block once per member).
#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "db/dump/rdb_format.hpp"
#include "db/dump/rdb_value.hpp"
#include "db/keyspace.hpp"
#include "db/snapshot.hpp"

extern "C" int mallctl(const char* name, void* oldp, std::size_t* oldlenp, void* newp,
                       std::size_t newlen) __attribute__((weak));

namespace lfdb::db {
namespace {

constexpr unsigned char kRdbSetIntset = 11;

// An intset payload as Redis writes it: width, count, the elements (little endian), as a string
// by RDB's string rule (LZF when that saves 4 bytes), so that DUMP gives these bytes back.
std::string intset_payload(std::uint32_t width, const std::vector<std::int64_t>& elems) {
  std::string blob;
  auto le = [&](std::uint64_t v, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) blob.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  };
  le(width, 4);
  le(elems.size(), 4);
  for (std::int64_t v : elems) le(static_cast<std::uint64_t>(v), width);
  std::string out(1, static_cast<char>(kRdbSetIntset));
  dump::put_lzf_string(out, blob);
  dump::seal_payload(out);
  return out;
}

TEST(SetPayload, RestoreKeepsTheIntsetsWidth) {
  // SADD k 1 1099511627776, SREM k 1099511627776: redis-server's set keeps 8-byte elements, and
  // so does its DUMP. Restored here, it must dump the same bytes and keep the width.
  Value built;
  built.make_set().add("1");
  built.set()->add("1099511627776");
  built.set()->erase("1099511627776");
  ASSERT_EQ(built.set()->ints().width(), 8u);
  const std::string payload = dump::dump_value(built);
  ASSERT_EQ(payload, intset_payload(8, {1}));

  for (std::uint32_t width : {2u, 4u, 8u}) {
    const std::vector<std::int64_t> members = {-3, 1, 300};  // each fits 2 bytes
    const std::string p = intset_payload(width, members);
    Value v;
    std::string err;
    ASSERT_TRUE(dump::restore_value(p, v, err)) << err;
    ASSERT_TRUE(v.set()->intset());
    EXPECT_EQ(v.set()->ints().width(), width);
    EXPECT_EQ(dump::dump_value(v), p) << "width " << width;
    // A member that needs more still widens it; one that needs less does not narrow it.
    v.set()->add("5000000000");
    EXPECT_EQ(v.set()->ints().width(), 8u);
  }
}

TEST(SetPayload, RestoreRefusesDamagedIntsets) {
  const std::vector<std::pair<const char*, std::string>> bad = {
      {"width 3", intset_payload(3, {1, 2})},
      {"width 0", intset_payload(0, {})},
      {"no members", intset_payload(2, {})},
      {"descending", intset_payload(2, {5, 1})},
      {"repeated", intset_payload(4, {1, 7, 7})},
      {"descending wide", intset_payload(8, {1LL << 40, 1})},
  };
  for (const auto& [what, p] : bad) {
    Value v;
    std::string err;
    EXPECT_FALSE(dump::restore_value(p, v, err)) << what;
    EXPECT_EQ(err, "ERR Bad data format") << what;
  }
  // The same layout in order restores.
  Value v;
  std::string err;
  EXPECT_TRUE(dump::restore_value(intset_payload(2, {1, 5}), v, err)) << err;
}

// Bytes this thread allocated so far (jemalloc counts a realloc's new size too, moved or not).
std::uint64_t thread_allocated() {
  std::uint64_t v = 0;
  std::size_t len = sizeof v;
  if (mallctl == nullptr || mallctl("thread.allocated", &v, &len, nullptr, 0) != 0) return 0;
  return v;
}

// What loading `snap` into fresh databases allocated on this thread.
std::uint64_t allocated_by_load(const std::string& snap) {
  Databases dbs(1, 16);
  const std::uint64_t before = thread_allocated();
  auto loaded = load_snapshot_bytes(snap, dbs, "test");
  const std::uint64_t after = thread_allocated();
  EXPECT_TRUE(loaded.ok()) << loaded.status().message();
  return after - before;
}

std::string snapshot_of_set(const std::vector<std::string>& members) {
  Databases dbs(1, 16);
  bool created = false;
  Entry& e = dbs.db(0).of("s").find_or_create("s", 0, created);
  Set& s = e.value.make_set();
  for (const std::string& m : members) s.add(m);
  auto bytes = snapshot_to_bytes(dbs, now_ms());
  EXPECT_TRUE(bytes.ok());
  return bytes.ok() ? *bytes : std::string();
}

TEST(SetSnapshot, LoadBuildsAnIntsetAtItsFinalSize) {
  std::vector<std::string> ints;
  for (int i = 0; i < 500; ++i) ints.push_back(std::to_string(i * 3));
  const std::string snap = snapshot_of_set(ints);
  {  // the same members and encoding come back
    Databases dbs(1, 16);
    ASSERT_TRUE(load_snapshot_bytes(snap, dbs, "test").ok());
    Entry* e = dbs.db(0).of("s").find("s", 0);
    ASSERT_NE(e, nullptr);
    ASSERT_NE(e->value.set(), nullptr);
    EXPECT_TRUE(e->value.set()->intset());
    EXPECT_EQ(e->value.set()->size(), 500u);
    for (const std::string& m : ints) EXPECT_TRUE(e->value.set()->contains(m)) << m;
  }
  if (thread_allocated() == 0) GTEST_SKIP() << "jemalloc's thread.allocated is not available";
  // The set's share of the load: the same snapshot with a one-member set subtracted (the key,
  // the tables, the load's own buffers). A member at a time, the 1,008-byte block is
  // reallocated 499 times: about 280 KB of allocations. At once: the block and the load's
  // temporaries (the members' views and their integers), about 22 KB.
  const std::uint64_t base = allocated_by_load(snapshot_of_set({"0"}));
  const std::uint64_t full = allocated_by_load(snap);
  const std::uint64_t set_share = full > base ? full - base : 0;
  std::printf("loading a set of 500 integers allocated %llu bytes\n",
              static_cast<unsigned long long>(set_share));
  EXPECT_LT(set_share, 64u * 1024) << "full " << full << " base " << base;
  EXPECT_GT(set_share, 1008u);  // the block itself, at least: the count does see the set
}

}  // namespace
}  // namespace lfdb::db
