// The packed hash (src/db/compact/packed_hash.hpp) and Hash in both encodings (src/db/hash.hpp):
// random operations against an insertion-ordered vector (the packed walk's order) and a plain
// map, with fields and values whose lengths cross the one-byte header's bounds (a field of 7,
// a value of 15 bytes) and the 7-bit boundaries of the long header's lengths; the conversion at hash-max-listpack-entries / -value, for good.
#include "db/compact/packed_hash.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "db/compact/limits.hpp"
#include "db/hash.hpp"

namespace lfdb::db {
namespace {

using Ordered = std::vector<std::pair<std::string, std::string>>;

void expect_same(const compact::PackedHash& h, const Ordered& m) {
  ASSERT_EQ(h.size(), m.size());
  std::size_t i = 0;
  for (compact::PackedHash::Pos p = h.first(); p != nullptr; p = h.next(p), ++i) {
    ASSERT_LT(i, m.size());
    ASSERT_EQ(compact::PackedHash::field(p), m[i].first) << i;
    ASSERT_EQ(compact::PackedHash::value(p), m[i].second) << i;
    ASSERT_EQ(h.find(m[i].first), p);
  }
  ASSERT_EQ(i, m.size());
  if (m.empty()) {
    EXPECT_EQ(h.bytes(), 0u);
  }
}

std::string random_string(std::mt19937_64& gen, std::size_t len) {
  std::string s(len, static_cast<char>('a' + gen() % 3));
  if (!s.empty()) s[0] = static_cast<char>('a' + gen() % 5);
  return s;
}

TEST(PackedHash, RandomOperationsKeepInsertionOrder) {
  std::mt19937_64 gen(11);
  // Lengths around the one-byte header's bounds (7/8 for a field, 15/16 for a value), 127/128
  // (one or two bytes of a long header's length) and 16383/16384 (two or three).
  const std::size_t lengths[] = {0, 1, 7, 8, 15, 16, 126, 127, 128, 129, 300, 16383, 16384};
  compact::PackedHash h;
  Ordered model;
  for (int step = 0; step < 4000; ++step) {
    const std::string f = random_string(gen, lengths[gen() % 6]);  // few fields: many repeats
    auto it = std::find_if(model.begin(), model.end(), [&](auto& p) { return p.first == f; });
    if (gen() % 3 == 0) {
      EXPECT_EQ(h.erase(f), it != model.end());
      if (it != model.end()) model.erase(it);
    } else {
      const std::string v = random_string(gen, lengths[gen() % std::size(lengths)]);
      EXPECT_EQ(h.set(f, v), it == model.end());
      if (it == model.end()) model.emplace_back(f, v);
      else it->second = v;  // a changed value keeps its field's place
    }
    ASSERT_NO_FATAL_FAILURE(expect_same(h, model)) << "step " << step;
  }
  const compact::PackedHash copy = h.clone();
  expect_same(copy, model);
}

TEST(PackedHash, SameSizeValueIsOverwrittenInPlace) {
  compact::PackedHash h;
  h.set("a", "10");
  h.set("b", "x");
  const auto* before = h.first();
  EXPECT_FALSE(h.set("a", "11"));
  EXPECT_EQ(h.first(), before);
  EXPECT_EQ(compact::PackedHash::value(h.find("a")), "11");
  EXPECT_FALSE(h.set("a", "1000"));
  EXPECT_EQ(compact::PackedHash::value(h.find("a")), "1000");
  EXPECT_EQ(compact::PackedHash::value(h.find("b")), "x");
}

TEST(PackedHash, ShortFieldsAndValuesTakeOneHeaderByte) {
  // The buffer is the entries alone: bench/memory.py's hash of five (`f0` -> `v12345` ...) is 45
  // bytes, jemalloc's 48 class (58 with the counts in it and a length byte each: the 64 class).
  compact::PackedHash h;
  for (int i = 0; i < 5; ++i) h.set("f" + std::to_string(i), "v1234" + std::to_string(i));
  EXPECT_EQ(h.bytes(), 5u * (1 + 2 + 6));
  compact::PackedHash edge;
  edge.set(std::string(7, 'f'), std::string(15, 'v'));  // the largest one-byte header
  EXPECT_EQ(edge.bytes(), 1u + 7 + 15);
  edge.set(std::string(7, 'f'), std::string(16, 'v'));  // the value outgrows it: rewritten
  EXPECT_EQ(edge.bytes(), 3u + 7 + 16);
  edge.set(std::string(8, 'g'), "");
  EXPECT_EQ(edge.bytes(), 3u + 7 + 16 + 3 + 8);
  EXPECT_EQ(compact::PackedHash::value(edge.find(std::string(7, 'f'))), std::string(16, 'v'));
  edge.set(std::string(7, 'f'), "v");  // back to one byte, in place of the long entry
  EXPECT_EQ(edge.bytes(), 1u + 7 + 1 + 3 + 8);
  EXPECT_EQ(compact::PackedHash::field(edge.first()), std::string(7, 'f'));
  EXPECT_EQ(compact::PackedHash::value(edge.next(edge.first())), "");
}

// Restores the process-wide limits a test changed.
struct LimitsGuard {
  std::size_t entries = compact::limits().hash_max_entries();
  std::size_t value = compact::limits().hash_max_value();
  ~LimitsGuard() {
    compact::limits().hash_entries.store(entries);
    compact::limits().hash_value.store(value);
  }
};

std::map<std::string, std::string> as_map(const Hash& h) {
  std::map<std::string, std::string> out;
  for (const auto& [f, v] : h) EXPECT_TRUE(out.emplace(std::string(f), std::string(v)).second);
  return out;
}

TEST(Hash, RandomOperationsAgreeInBothEncodings) {
  LimitsGuard guard;
  compact::limits().hash_entries.store(16);
  compact::limits().hash_value.store(20);
  std::mt19937_64 gen(5);
  for (int round = 0; round < 40; ++round) {
    Hash h;
    std::map<std::string, std::string> model;
    bool converted = false;
    for (int step = 0; step < 200; ++step) {
      const std::string f = "f" + std::to_string(gen() % (round % 2 ? 12 : 30));
      if (gen() % 4 == 0) {
        EXPECT_EQ(h.erase(f), model.erase(f) == 1);
      } else {
        const std::string v = random_string(gen, gen() % 50 == 0 ? 21 : gen() % 10);
        EXPECT_EQ(h.set(f, v), !model.count(f));
        model[f] = v;
        if (v.size() > 20 || model.size() > 16) converted = true;
      }
      // Converted for good once a limit was passed, never before.
      ASSERT_EQ(h.packed(), !converted) << "round " << round << " step " << step;
      ASSERT_EQ(h.size(), model.size());
      for (const auto& [mf, mv] : model) ASSERT_EQ(h.get(mf), std::optional<std::string_view>(mv));
      ASSERT_FALSE(h.contains("absent"));
      ASSERT_EQ(as_map(h), model);
    }
    const auto copy = h.copy();
    EXPECT_EQ(copy->packed(), h.packed());
    EXPECT_EQ(as_map(*copy), model);
  }
}

TEST(Hash, LimitsAreRedisDefaults) {
  // hash-max-listpack-entries 512 and -value 64, as redis-server 7.0 starts.
  Hash h;
  for (int i = 0; i < 512; ++i) h.set("f" + std::to_string(i), std::string(64, 'v'));
  EXPECT_TRUE(h.packed());
  h.set("f512", "v");
  EXPECT_FALSE(h.packed());
  Hash g;
  g.set(std::string(64, 'f'), "v");
  EXPECT_TRUE(g.packed());
  g.set("f", std::string(65, 'v'));
  EXPECT_FALSE(g.packed());
  g.erase("f");
  EXPECT_FALSE(g.packed());  // never back
}

}  // namespace
}  // namespace lfdb::db
