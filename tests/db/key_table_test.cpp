// The key table (src/db/key_table.cpp): random operations against std::unordered_map, nodes that
// stay put while the table grows, SCAN's guarantee while segments split under it, and the
// fairness of random picks over segments of different depths, eviction's batched picks and the
// erase at a pick's place.
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "db/key_table.hpp"

namespace {

using lfdb::db::Entry;
using lfdb::db::hash_of;
using lfdb::db::KeyNode;
using lfdb::db::KeyTable;

KeyNode* insert(KeyTable& t, const std::string& k) { return t.insert(k, hash_of(k)); }
KeyNode* find(const KeyTable& t, const std::string& k) { return t.find(k, hash_of(k)); }

// Every key of a full scan from cursor 0 to the end.
std::vector<std::string> scan_all(const KeyTable& t) {
  std::vector<std::string> out;
  std::uint64_t cursor = 0;
  do {
    cursor = t.scan(cursor, [&](KeyNode& n) { out.emplace_back(n.key()); });
  } while (cursor != 0);
  return out;
}

TEST(KeyTable, EmptyAndSingle) {
  KeyTable t;
  EXPECT_EQ(t.size(), 0u);
  EXPECT_EQ(find(t, "a"), nullptr);
  std::mt19937_64 rng(1);
  EXPECT_EQ(t.random(rng), nullptr);
  EXPECT_TRUE(scan_all(t).empty());
  KeyNode* n = insert(t, "a");
  n->entry.value.str() = "v";
  EXPECT_EQ(find(t, "a"), n);
  EXPECT_EQ(n->key(), "a");
  EXPECT_EQ(t.random(rng), n);
  EXPECT_EQ(scan_all(t), std::vector<std::string>{"a"});
  t.erase(n);
  EXPECT_EQ(find(t, "a"), nullptr);
  EXPECT_TRUE(t.valid());
  // The empty key and long keys live inline too.
  KeyNode* e = insert(t, "");
  const std::string long_key(1000, 'x');
  KeyNode* l = insert(t, long_key);
  EXPECT_EQ(find(t, ""), e);
  EXPECT_EQ(find(t, long_key), l);
  EXPECT_EQ(l->key(), long_key);
}

// A server holds a table per database and color: an empty one allocates nothing, a small one is
// one small segment that doubles until full-sized, and a table emptied by erases gives its
// segments back.
TEST(KeyTable, SmallTablesStaySmall) {
  KeyTable t;
  EXPECT_EQ(t.segments(), 0u);
  EXPECT_EQ(t.capacity(), 0u);
  EXPECT_TRUE(t.valid());
  std::vector<KeyNode*> nodes;
  std::size_t last_capacity = 0;
  for (int i = 0; i < 400; ++i) {
    nodes.push_back(insert(t, "k" + std::to_string(i)));
    ASSERT_TRUE(t.valid()) << i;
    if (t.segments() == 1) {
      EXPECT_GE(t.capacity(), last_capacity);  // it only grows while it is one segment
      last_capacity = t.capacity();
    }
    if (i == 0) {
      EXPECT_EQ(t.capacity(), KeyTable::kMinSlots);
    }
  }
  EXPECT_GT(t.segments(), 1u);  // past one full segment it split
  EXPECT_EQ(t.capacity(), t.segments() * KeyTable::kSlots);
  for (int i = 0; i < 400; ++i) EXPECT_EQ(find(t, "k" + std::to_string(i)), nodes[i]);
  for (KeyNode* n : nodes) t.erase(n);
  EXPECT_EQ(t.segments(), 0u);
  EXPECT_EQ(find(t, "k1"), nullptr);
  EXPECT_TRUE(t.valid());
  insert(t, "again");
  EXPECT_EQ(t.capacity(), KeyTable::kMinSlots);
  EXPECT_TRUE(t.valid());
}

// The only segment grows through sizes that fill one of jemalloc's size classes (header + slots:
// 48, 80, 160, 320, 640, 1280, 2048 bytes), and a segment never holds more than 80% of its slots:
// a server's thousand tables of a few keys each cost 48 or 80 bytes, not a class rounded up.
TEST(KeyTable, SmallSegmentsFillTheirSizeClass) {
  KeyTable t;
  std::vector<std::size_t> caps;
  for (int i = 0; t.segments() <= 1 && i < 400; ++i) {
    insert(t, "k" + std::to_string(i));
    if (t.segments() == 1 && (caps.empty() || caps.back() != t.capacity())) {
      caps.push_back(t.capacity());
      EXPECT_LE(t.size() * 5, t.capacity() * 4) << t.capacity();
    }
  }
  const std::vector<std::size_t> want = {4, 8, 18, 38, 78, 158, KeyTable::kSlots};
  EXPECT_EQ(caps, want);
  for (std::size_t c : caps) {
    const std::size_t bytes = 16 + c * 8;
    EXPECT_TRUE(bytes == 48 || bytes == 80 || bytes == 160 || bytes == 320 || bytes == 640 ||
                bytes == 1280 || bytes == 2048)
        << bytes;
  }
}

// Random inserts, erases and lookups over a pool of keys, the table and std::unordered_map side by
// side; the invariants are checked as it grows and shrinks.
TEST(KeyTable, RandomAgainstUnorderedMap) {
  KeyTable t;
  std::unordered_map<std::string, std::string> ref;
  std::mt19937_64 rng(42);
  for (int round = 0; round < 200000; ++round) {
    const std::string key = "key:" + std::to_string(rng() % 30000);
    const unsigned op = static_cast<unsigned>(rng() % 10);
    KeyNode* n = find(t, key);
    auto it = ref.find(key);
    ASSERT_EQ(n != nullptr, it != ref.end()) << key;
    if (n != nullptr) {
      ASSERT_EQ(n->entry.value.str(), it->second);
    }
    if (op < 6) {
      if (n == nullptr) n = insert(t, key);
      n->entry.value.str() = std::to_string(round);
      ref[key] = n->entry.value.str();
    } else if (op < 9 && n != nullptr) {
      t.erase(n, hash_of(key));
      ref.erase(it);
    }
    ASSERT_EQ(t.size(), ref.size());
    if (round % 20000 == 0) {
      ASSERT_TRUE(t.valid());
    }
  }
  ASSERT_TRUE(t.valid());
  std::size_t seen = 0;
  for (const auto& [key, e] : t) {
    auto it = ref.find(std::string(key));
    ASSERT_NE(it, ref.end());
    EXPECT_EQ(e.value.str(), it->second);
    ++seen;
  }
  EXPECT_EQ(seen, ref.size());
  std::vector<std::string> scanned = scan_all(t);
  EXPECT_EQ(scanned.size(), ref.size());
  EXPECT_EQ(std::set<std::string>(scanned.begin(), scanned.end()).size(), ref.size());
  t.clear();
  EXPECT_EQ(t.size(), 0u);
  EXPECT_EQ(t.begin(), t.end());
  EXPECT_TRUE(t.valid());
}

TEST(KeyTable, NodesStayPutWhileTheTableGrows) {
  KeyTable t;
  std::vector<std::pair<std::string, KeyNode*>> nodes;
  for (int i = 0; i < 50000; ++i) {
    const std::string k = "k" + std::to_string(i);
    nodes.emplace_back(k, insert(t, k));
  }
  EXPECT_GT(t.segments(), 100u);
  EXPECT_TRUE(t.valid());
  for (const auto& [k, n] : nodes) {
    ASSERT_EQ(find(t, k), n);
    ASSERT_EQ(n->key(), k);
  }
  // Load stays between the split threshold's half and the threshold.
  EXPECT_GE(t.size() * 10, t.capacity() * 3);
  EXPECT_LE(t.size(), t.segments() * KeyTable::kMaxLoad);
}

// Redis's guarantee: a key present from the first call to the last is returned at least once,
// however the table changes between calls. Here segments split under the cursor (the table more
// than doubles mid-scan) and other keys come and go.
TEST(KeyTable, ScanCoversEveryKeyWhileSegmentsSplit) {
  KeyTable t;
  std::set<std::string> stable;
  for (int i = 0; i < 3000; ++i) {
    const std::string k = "stable:" + std::to_string(i);
    insert(t, k);
    stable.insert(k);
  }
  const std::size_t segments_before = t.segments();
  std::mt19937_64 rng(7);
  std::vector<std::string> churn;
  std::multiset<std::string> returned;
  std::uint64_t cursor = 0;
  int calls = 0;
  do {
    cursor = t.scan(cursor, [&](KeyNode& n) { returned.emplace(n.key()); });
    ++calls;
    for (int i = 0; i < 200; ++i) {
      const std::string k = "churn:" + std::to_string(calls) + ":" + std::to_string(i);
      insert(t, k);
      churn.push_back(k);
    }
    for (int i = 0; i < 30 && !churn.empty(); ++i) {
      const std::size_t at = static_cast<std::size_t>(rng() % churn.size());
      t.erase(find(t, churn[at]));
      churn[at] = churn.back();
      churn.pop_back();
    }
  } while (cursor != 0 && calls < 100000);
  EXPECT_TRUE(t.valid());
  EXPECT_GT(t.segments(), segments_before * 2);  // it really grew during the scan
  for (const std::string& k : stable) EXPECT_EQ(returned.count(k), 1u) << k;
}

// Each of 2,000 keys drawn about `mean` times: with a fixed seed the counts are a fixed outcome,
// checked against a generous band (0.65 to 1.4 times the mean).
void expect_every_key_about(const std::map<std::string_view, int>& counts, int mean) {
  ASSERT_EQ(counts.size(), 2000u);
  int lo = 1 << 30, hi = 0;
  for (const auto& [k, c] : counts) {
    lo = std::min(lo, c);
    hi = std::max(hi, c);
  }
  EXPECT_GT(lo, mean * 13 / 20);
  EXPECT_LT(hi, mean * 7 / 5);
}

// Keys in segments of different depths are drawn equally often: 2,000 keys picked 400,000 times.
TEST(KeyTable, RandomPicksAreFair) {
  KeyTable t;
  for (int i = 0; i < 2000; ++i) insert(t, "r:" + std::to_string(i));
  ASSERT_TRUE(t.valid());
  std::mt19937_64 rng(11);
  std::map<std::string_view, int> counts;
  for (int i = 0; i < 400000; ++i) ++counts[t.random(rng)->key()];
  expect_every_key_about(counts, 200);
}

// pick(), eviction's batch of draws, is as fair as random(): 2,000 keys, 80,000 batches of 5.
TEST(KeyTable, BatchPicksAreFair) {
  KeyTable t;
  for (int i = 0; i < 2000; ++i) insert(t, "b:" + std::to_string(i));
  std::mt19937_64 rng(12);
  std::map<std::string_view, int> counts;
  KeyTable::Pick picks[5];
  for (int i = 0; i < 80000; ++i) {
    ASSERT_EQ(t.pick(rng, picks, 5), 5);
    for (const KeyTable::Pick& p : picks) ++counts[p.node->key()];
  }
  expect_every_key_about(counts, 200);
}

// A pick says where its node sits, and erase_at() there removes exactly that key, also after
// the erase of an earlier pick of the same batch shifted it: tables of 5,000 and of 50 keys are
// drained that way, checked against the set of keys left, and give their segments back.
// Drains a table of n keys by picks of 8, erasing every distinct pick of a batch in order.
void drain_by_picks(int n, std::uint64_t seed) {
  KeyTable t;
  std::set<std::string> left;
  for (int i = 0; i < n; ++i) {
    left.insert("e:" + std::to_string(i));
    insert(t, "e:" + std::to_string(i));
  }
  std::mt19937_64 rng(seed);
  KeyTable::Pick picks[8];
  EXPECT_EQ(t.pick(rng, picks, 0), 0);
  for (int batch = 0; t.size() != 0; ++batch) {
    ASSERT_EQ(t.pick(rng, picks, 8), 8);
    for (const KeyTable::Pick& p : picks) ASSERT_EQ(find(t, std::string(p.node->key())), p.node);
    std::set<KeyNode*> erased;
    for (const KeyTable::Pick& p : picks) {
      if (!erased.insert(p.node).second) continue;  // drawn twice: gone already
      const std::string gone(p.node->key());
      t.erase_at(p);
      ASSERT_EQ(left.erase(gone), 1u) << gone;
      ASSERT_EQ(find(t, gone), nullptr) << gone;
      ASSERT_EQ(t.size(), left.size());
    }
    if (batch % 10 == 0) {
      ASSERT_TRUE(t.valid());
      for (const std::string& k : left) ASSERT_NE(find(t, k), nullptr) << k;
    }
  }
  EXPECT_EQ(t.segments(), 0u);
  EXPECT_EQ(t.pick(rng, picks, 8), 0);
}

TEST(KeyTable, EraseAtAPick) {
  drain_by_picks(5000, 5);
  // Small tables have long runs of slots, where an erase shifts the later picks of its batch.
  for (std::uint64_t seed = 0; seed < 200; ++seed) drain_by_picks(50, seed);
}

// A table emptied to a few keys still answers random() (the walk after many empty draws).
TEST(KeyTable, RandomOnASparseTable) {
  KeyTable t;
  std::vector<KeyNode*> nodes;
  for (int i = 0; i < 100000; ++i) nodes.push_back(insert(t, "s:" + std::to_string(i)));
  for (std::size_t i = 3; i < nodes.size(); ++i) t.erase(nodes[i]);
  std::mt19937_64 rng(3);
  std::set<KeyNode*> seen;
  for (int i = 0; i < 200; ++i) seen.insert(t.random(rng));
  EXPECT_EQ(seen, std::set<KeyNode*>(nodes.begin(), nodes.begin() + 3));
}

TEST(KeyTable, MoveAndSwapKeepNodes) {
  KeyTable a, b;
  KeyNode* x = insert(a, "x");
  KeyNode* y = insert(b, "y");
  a.swap(b);
  EXPECT_EQ(find(a, "y"), y);
  EXPECT_EQ(find(b, "x"), x);
  KeyTable c(std::move(a));
  EXPECT_EQ(find(c, "y"), y);
  EXPECT_EQ(a.size(), 0u);
  EXPECT_EQ(find(a, "y"), nullptr);
}

// The node keeps a key's length in one byte below 255 bytes and in five from 255: both forms
// give back the key, and a key of up to 15 bytes makes a 64-byte node (jemalloc's 64 class).
TEST(KeyTable, KeysOfEveryLengthForm) {
  KeyTable t;
  std::vector<std::string> keys;
  for (std::size_t n : {0, 1, 15, 16, 253, 254, 255, 256, 300, 70000}) keys.push_back(std::string(n, static_cast<char>('a' + n % 26)));
  for (const std::string& k : keys) ASSERT_EQ(insert(t, k)->key(), k);
  for (const std::string& k : keys) {
    const KeyNode* n = find(t, k);
    ASSERT_NE(n, nullptr) << k.size();
    EXPECT_EQ(n->key(), k);
  }
  EXPECT_EQ(KeyNode::alloc_size(15), sizeof(Entry) + 1 + 15);
  EXPECT_EQ(KeyNode::alloc_size(254), sizeof(Entry) + 1 + 254);
  EXPECT_EQ(KeyNode::alloc_size(255), sizeof(Entry) + 5 + 255);
}

}  // namespace
