// list-compress-depth (src/db/list.hpp, src/db/compact/packed_list.hpp): a node's LZF round trip
// and Redis's rules for when a node compresses; List under depths 1..3 over lists of many nodes,
// random operations against std::deque, and after every one the depth's shape: the end nodes
// plain, every interior node compressed unless its plain form does not compress.
#include <gtest/gtest.h>

#include <deque>
#include <random>
#include <string>

#include "db/compact/limits.hpp"
#include "db/compact/packed_list.hpp"
#include "db/list.hpp"
#include "list_model.hpp"

namespace lfdb::db {
namespace {

using compact::PackedList;
using Model = list_model::ListModel;

// Restores the process-wide parameters a test changed.
struct LimitsGuard {
  std::int64_t fill = compact::limits().list_max_fill();
  std::size_t depth = compact::limits().list_compress_depth();
  ~LimitsGuard() {
    compact::limits().list_fill.store(fill);
    compact::limits().list_depth.store(depth);
  }
};

const PackedList& node_of(const List& l, std::size_t k) { return l.node(k); }

std::vector<std::string> values(const PackedList& n) {
  std::vector<std::string> out;
  for (PackedList::Pos p = n.first(); p != nullptr; p = n.next(p)) out.emplace_back(PackedList::value(p));
  return out;
}

// Text-like elements (a few words repeated): they compress, as a queue's jobs or a timeline's do.
std::string element(std::mt19937_64& gen, std::size_t len) {
  static const char* const kWords[] = {"job:", "user", "42", "timeline", "-", "event", "ok"};
  std::string s;
  while (s.size() < len) s += kWords[gen() % std::size(kWords)];
  s.resize(len);
  return s;
}

TEST(PackedListCompression, RoundTripKeepsEveryElement) {
  std::mt19937_64 gen(5);
  for (const std::size_t count : {10u, 100u, 700u}) {
    PackedList n;
    for (std::size_t i = 0; i < count; ++i) n.push_back(element(gen, 4 + gen() % 30));
    const std::vector<std::string> before = values(n);
    const std::size_t plain = n.bytes();
    ASSERT_TRUE(n.compress()) << count;
    EXPECT_TRUE(n.compressed());
    EXPECT_EQ(n.size(), count);                 // the count is there without opening it
    EXPECT_LT(n.bytes() + PackedList::kMinCompressGain, plain);
    const PackedList copy = n.clone();          // a copy stays compressed
    EXPECT_TRUE(copy.compressed());
    EXPECT_EQ(copy.bytes(), n.bytes());
    n.decompress();
    EXPECT_FALSE(n.compressed());
    EXPECT_EQ(n.bytes(), plain);
    EXPECT_EQ(values(n), before);
    PackedList c2 = copy.clone();
    c2.decompress();
    EXPECT_EQ(values(c2), before);
  }
}

TEST(PackedListCompression, SmallOrIncompressibleNodesStayPlain) {
  PackedList small;
  small.push_back(std::string(30, 'a'));  // 8 + 32 + 1 bytes: under 48
  EXPECT_LT(small.bytes(), PackedList::kMinCompressBytes);
  EXPECT_FALSE(small.compress());
  EXPECT_FALSE(small.compressed());
  // Random bytes do not shrink by 8 bytes.
  std::mt19937_64 gen(9);
  std::string noise(2000, '\0');
  for (char& ch : noise) ch = static_cast<char>(gen());
  PackedList n;
  n.push_back(noise);
  EXPECT_FALSE(n.compress());
  EXPECT_FALSE(n.compressed());
  EXPECT_EQ(values(n), std::vector<std::string>{noise});
  // Just past the floor, a compressible node compresses.
  PackedList z;
  z.push_back(std::string(60, 'z'));
  EXPECT_TRUE(z.compress());
}

// The depth's shape after a command: the `depth` nodes at either end plain, every interior node
// compressed unless its plain form would not compress (under 48 bytes, or too little gain).
void expect_shape(const List& l, std::size_t depth) {
  const std::size_t n = l.node_count();
  for (std::size_t k = 0; k < n; ++k) {
    const PackedList& node = node_of(l, k);
    if (depth == 0 || k < depth || k + depth >= n) {
      ASSERT_FALSE(node.compressed()) << "end node " << k << " of " << n;
    } else if (!node.compressed()) {
      PackedList probe = node.clone();
      ASSERT_FALSE(probe.compress()) << "interior node " << k << " of " << n << " left plain";
    }
  }
}

void expect_same(const List& l, const Model& m) {
  ASSERT_EQ(l.size(), m.size());
  std::size_t i = 0;
  for (std::string_view v : l) ASSERT_EQ(v, m[i++]);
  ASSERT_EQ(i, m.size());
  if (!m.empty()) {
    List::Iter it = l.end();
    for (std::size_t j = m.size(); j-- > 0;) ASSERT_EQ(*--it, m[j]) << j;
  }
  std::size_t total = 0;
  for (std::size_t k = 0; k < l.node_count(); ++k) total += node_of(l, k).size();
  ASSERT_EQ(total, m.size());
}

TEST(ListCompression, RandomOperationsAgreeWithDequeAtDepths) {
  LimitsGuard guard;
  std::mt19937_64 gen(31);
  compact::limits().list_fill.store(-1);  // 4 KB nodes: many nodes from a few thousand elements
  for (const std::size_t depth : {1u, 2u, 3u}) {
    compact::limits().list_depth.store(depth);
    List l;
    Model m;
    std::size_t compressed_seen = 0;
    for (int step = 0; step < 4000; ++step) {
      const std::size_t len = gen() % 30 == 0 ? 300 + gen() % 300 : gen() % 24;
      const std::string v = element(gen, len);
      const bool grow = step < 2500;
      const auto op = gen() % 12;
      if (op < (grow ? 5u : 2u)) {
        if (gen() % 2) { l.push_front(v); m.push_front(v); }
        else { l.push_back(v); m.push_back(v); }
      } else if (op < 4 && !m.empty()) {  // LPOP / RPOP
        if (gen() % 2) { ASSERT_EQ(l.front(), m.front()); l.pop_front(); m.pop_front(); }
        else { ASSERT_EQ(l.back(), m.back()); l.pop_back(); m.pop_back(); }
      } else if (op == 5 && !m.empty()) {  // LINDEX anywhere, then the command's end
        const std::size_t i = gen() % m.size();
        ASSERT_EQ(l.at(i), m[i]);
        l.settle();
      } else if (op == 6) {  // LINSERT
        const std::size_t i = m.empty() ? 0 : gen() % (m.size() + 1);
        l.insert(i == m.size() ? l.end() : l.iter_at(i), v);
        m.insert(m.begin() + static_cast<std::ptrdiff_t>(i), v);
      } else if (op == 7 && !m.empty()) {  // LSET
        const std::size_t i = gen() % m.size();
        l.set(i, v);
        m[i] = v;
      } else if (op == 8 && !m.empty() && gen() % 4 == 0) {  // LREM of a short element
        const std::string e = element(gen, gen() % 3);
        const std::uint64_t limit = gen() % 3;
        const bool tail = gen() % 2;
        const std::size_t want = list_model::model_remove(m, e, limit, tail);
        ASSERT_EQ(l.remove(e, limit, tail), want);
      } else if (op == 9 && m.size() > 10 && gen() % 20 == 0) {  // LTRIM
        const std::size_t from = gen() % (m.size() / 10);
        const std::size_t to = m.size() - 1 - gen() % (m.size() / 10);
        l.keep_range(from, to);
        m.erase(m.begin() + static_cast<std::ptrdiff_t>(to) + 1, m.end());
        m.erase(m.begin(), m.begin() + static_cast<std::ptrdiff_t>(from));
      } else if (op == 10 && !m.empty()) {  // LRANGE over a stretch, then the command's end
        const std::size_t from = gen() % m.size();
        List::Iter it = l.iter_at(from);
        for (std::size_t i = from; i < m.size() && i < from + 500; ++i, ++it) ASSERT_EQ(*it, m[i]);
        l.settle();
      } else if (op == 11 && gen() % 100 == 0) {  // COPY keeps the compressed nodes
        const List copy(l);
        ASSERT_NO_FATAL_FAILURE(expect_shape(copy, depth));
        ASSERT_NO_FATAL_FAILURE(expect_same(copy, m));
      } else {
        l.push_back(v);
        m.push_back(v);
      }
      ASSERT_NO_FATAL_FAILURE(expect_shape(l, depth)) << "depth " << depth << " step " << step;
      for (std::size_t k = 0; k < l.node_count(); ++k) compressed_seen += node_of(l, k).compressed();
      if (step % 50 == 0) {
        ASSERT_NO_FATAL_FAILURE(expect_same(l, m)) << "depth " << depth << " step " << step;
        l.settle();  // the walk opened every node
        ASSERT_NO_FATAL_FAILURE(expect_shape(l, depth)) << "after a walk, step " << step;
      }
    }
    EXPECT_GT(compressed_seen, 0u) << depth;  // the runs did compress
    ASSERT_NO_FATAL_FAILURE(expect_same(l, m));
  }
}

TEST(ListCompression, NewDepthAppliesToNodesAsTheyAreTouched) {
  LimitsGuard guard;
  compact::limits().list_fill.store(-1);
  compact::limits().list_depth.store(0);
  std::mt19937_64 gen(3);
  List l;
  for (int i = 0; i < 3000; ++i) l.push_back(element(gen, 20));
  const std::size_t n = l.node_count();
  ASSERT_GE(n, 8u);
  for (std::size_t k = 0; k < n; ++k) ASSERT_FALSE(node_of(l, k).compressed());
  compact::limits().list_depth.store(2);
  // Nothing changes until a node is touched: a read of a plain node (LINDEX) leaves it plain
  // (Redis compresses again only a node it opened for the read), a change compresses it.
  std::size_t first_of_4 = 0;
  for (std::size_t k = 0; k < 4; ++k) first_of_4 += node_of(l, k).size();
  l.at(first_of_4);
  l.settle();
  for (std::size_t k = 0; k < n; ++k) EXPECT_FALSE(node_of(l, k).compressed()) << k;
  l.set(first_of_4, "changed");  // a change: node 4 compresses
  EXPECT_TRUE(node_of(l, 4).compressed());
  EXPECT_FALSE(node_of(l, 3).compressed());
  // A push that opens a node compresses the node `depth` from that end.
  while (l.node_count() == n) l.push_back(element(gen, 20));
  EXPECT_TRUE(node_of(l, l.node_count() - 3).compressed());
  EXPECT_EQ(l.at(first_of_4), "changed");
  // Depth 0 again: a touched node opens and stays plain.
  compact::limits().list_depth.store(0);
  l.set(first_of_4, "again");
  EXPECT_FALSE(node_of(l, 4).compressed());
  EXPECT_EQ(l.at(first_of_4), "again");
}

TEST(ListCompression, PopsBringCompressedNodesOutPlain) {
  LimitsGuard guard;
  compact::limits().list_fill.store(-1);
  compact::limits().list_depth.store(1);
  std::mt19937_64 gen(4);
  List l;
  Model m;
  for (int i = 0; i < 4000; ++i) {
    const std::string v = element(gen, 16);
    l.push_back(v);
    m.push_back(v);
  }
  std::size_t compressed = 0;
  for (std::size_t k = 0; k < l.node_count(); ++k) compressed += node_of(l, k).compressed();
  EXPECT_EQ(compressed, l.node_count() - 2);
  while (!m.empty()) {  // LPOP through the whole list: each node is plain when it is the head
    ASSERT_FALSE(node_of(l, 0).compressed());
    ASSERT_EQ(l.front(), m.front());
    l.pop_front();
    m.pop_front();
    ASSERT_NO_FATAL_FAILURE(expect_shape(l, 1));
  }
  EXPECT_EQ(l.node_count(), 0u);
}

}  // namespace
}  // namespace lfdb::db
