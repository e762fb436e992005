// The hash in both encodings (src/db/hash.hpp): random HSET/HDEL against a std::map, with the
// packed encoding's limits lowered so that the table (FieldValue blocks) takes over, values that
// change length across the one- and two-byte length prefixes, a COPY, and the walk.
#include "db/hash.hpp"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>

#include "db/compact/limits.hpp"

namespace lfdb::db {
namespace {

void expect_same(const Hash& h, const std::map<std::string, std::string>& model) {
  ASSERT_EQ(h.size(), model.size());
  std::map<std::string, std::string> walked;
  for (const Hash::Pair kv : h) {
    EXPECT_TRUE(walked.emplace(std::string(kv.first), std::string(kv.second)).second) << kv.first;
  }
  EXPECT_EQ(walked, model);
  for (const auto& [f, v] : model) {
    const auto got = h.get(f);
    ASSERT_TRUE(got.has_value()) << f;
    EXPECT_EQ(*got, v) << f;
  }
}

TEST(Hash, RandomWritesAgreeWithAMapInBothEncodings) {
  compact::EncodingLimits& l = compact::limits();
  const std::size_t entries = l.hash_max_entries();
  l.hash_entries.store(16);  // the table from the 17th field on
  std::mt19937_64 gen(11);
  const std::size_t lengths[] = {0, 1, 6, 64, 127, 128, 129, 300};
  Hash h;
  std::map<std::string, std::string> model;
  for (int step = 0; step < 20000; ++step) {
    const std::string field = "f" + std::to_string(gen() % 200);
    if (gen() % 4 == 0) {
      EXPECT_EQ(h.erase(field), model.erase(field) == 1);
    } else {
      const std::string value(lengths[gen() % std::size(lengths)], static_cast<char>('a' + gen() % 26));
      EXPECT_EQ(h.set(field, value), model.find(field) == model.end());
      model[field] = value;
    }
    EXPECT_FALSE(h.get("absent").has_value());
    if (step % 997 == 0) expect_same(h, model);
  }
  EXPECT_FALSE(h.packed());
  expect_same(h, model);
  const std::unique_ptr<Hash> copy = h.copy();
  EXPECT_FALSE(copy->packed());
  expect_same(*copy, model);
  h.set("f1", "changed after the copy");
  EXPECT_NE(copy->get("f1"), h.get("f1"));
  l.hash_entries.store(entries);
}

}  // namespace
}  // namespace lfdb::db
