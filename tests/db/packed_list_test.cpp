// The packed node (src/db/compact/packed_list.hpp) and List (src/db/list.hpp): random
// operations against std::deque, with element lengths that cross the 7-bit boundaries of the
// length prefix and of the back length; List under several list-max-listpack-size bounds, its
// nodes checked against the bound after every step.
#include "db/compact/packed_list.hpp"

#include <gtest/gtest.h>

#include <deque>
#include <random>
#include <string>
#include <vector>

#include "db/compact/limits.hpp"
#include "db/list.hpp"
#include "list_model.hpp"

namespace lfdb::db {
namespace {

using compact::PackedList;
using Model = list_model::ListModel;

void expect_same(const PackedList& n, const Model& m) {
  ASSERT_EQ(n.size(), m.size());
  std::size_t i = 0;
  for (PackedList::Pos p = n.first(); p != nullptr; p = n.next(p), ++i) {
    ASSERT_LT(i, m.size());
    ASSERT_EQ(PackedList::value(p), m[i]) << i;
  }
  ASSERT_EQ(i, m.size());
  // And backward.
  for (PackedList::Pos p = n.last(); p != nullptr; p = n.prev(p)) {
    ASSERT_GT(i, 0u);
    ASSERT_EQ(PackedList::value(p), m[--i]);
  }
  ASSERT_EQ(i, 0u);
  if (m.empty()) {
    EXPECT_EQ(n.bytes(), 0u);
    EXPECT_EQ(n.first(), nullptr);
  }
}

std::string random_string(std::mt19937_64& gen, std::size_t len) {
  std::string s(len, static_cast<char>('a' + gen() % 3));
  if (!s.empty()) s[0] = static_cast<char>('a' + gen() % 4);
  return s;
}

// Lengths around 127/128 (one or two bytes of prefix; the back length also counts the prefix,
// so 125/126 cross its boundary) and 16383/16384.
constexpr std::size_t kLengths[] = {0, 1, 2, 5, 125, 126, 127, 128, 129, 300, 16381, 16383, 16384};

PackedList::Pos pos_at(const PackedList& n, std::size_t i) {
  PackedList::Pos p = n.first();
  while (i-- > 0) p = n.next(p);
  return p;
}

TEST(PackedList, RandomOperationsAgreeWithDeque) {
  std::mt19937_64 gen(17);
  PackedList n;
  Model m;
  for (int step = 0; step < 5000; ++step) {
    const std::string v = random_string(gen, kLengths[gen() % std::size(kLengths)]);
    switch (gen() % 9) {
      case 0: n.push_front(v); m.push_front(v); break;
      case 1: case 2: n.push_back(v); m.push_back(v); break;
      case 3: {
        const std::size_t i = m.empty() ? 0 : gen() % (m.size() + 1);
        n.insert(i == m.size() ? nullptr : pos_at(n, i), v);
        m.insert(m.begin() + static_cast<std::ptrdiff_t>(i), v);
        break;
      }
      case 4: if (!m.empty()) {
        const std::size_t i = gen() % m.size();
        const PackedList::Pos after = n.erase(pos_at(n, i));
        m.erase(m.begin() + static_cast<std::ptrdiff_t>(i));
        if (i == m.size()) EXPECT_EQ(after, nullptr);
        else EXPECT_EQ(PackedList::value(after), m[i]);
      } break;
      case 5: if (!m.empty()) {
        const std::size_t i = gen() % m.size();
        EXPECT_EQ(PackedList::value(n.replace(pos_at(n, i), v)), v);
        m[i] = v;
      } break;
      case 6: {
        const std::size_t k = m.empty() ? 0 : gen() % (m.size() / 4 + 1);
        n.erase_front(k);
        m.erase(m.begin(), m.begin() + static_cast<std::ptrdiff_t>(k));
      } break;
      case 7: {
        const std::size_t k = m.empty() ? 0 : gen() % (m.size() / 4 + 1);
        n.erase_back(k);
        m.erase(m.end() - static_cast<std::ptrdiff_t>(k), m.end());
      } break;
      case 8: {  // split and join back
        const std::size_t keep = m.empty() ? 0 : gen() % (m.size() + 1);
        PackedList tail = n.split(keep);
        EXPECT_EQ(n.size(), keep);
        EXPECT_EQ(tail.size(), m.size() - keep);
        n.append(std::move(tail));
        EXPECT_TRUE(tail.empty());
      } break;
    }
    ASSERT_NO_FATAL_FAILURE(expect_same(n, m)) << "step " << step;
  }
  const PackedList copy = n.clone();
  expect_same(copy, m);
}

TEST(PackedList, EntryCostsItsBytesAndTwoLengthBytes) {
  PackedList n;
  n.push_back("hello");
  EXPECT_EQ(n.bytes(), 8u + 1 + 5 + 1);
  EXPECT_EQ(PackedList::entry_bytes(5), 7u);
  EXPECT_EQ(PackedList::entry_bytes(200), 2u + 200 + 2);
}

// Restores the process-wide bound a test changed.
struct FillGuard {
  std::int64_t fill = compact::limits().list_max_fill();
  ~FillGuard() { compact::limits().list_fill.store(fill); }
};

void expect_same(const List& l, const Model& m, std::int64_t fill) {
  ASSERT_EQ(l.size(), m.size());
  ASSERT_EQ(l.empty(), m.empty());
  std::size_t i = 0;
  for (std::string_view v : l) {
    ASSERT_LT(i, m.size());
    ASSERT_EQ(v, m[i++]);
  }
  ASSERT_EQ(i, m.size());
  if (!m.empty()) {
    ASSERT_EQ(l.front(), m.front());
    ASSERT_EQ(l.back(), m.back());
    List::Iter it = l.end();
    for (std::size_t j = m.size(); j-- > 0;) ASSERT_EQ(*--it, m[j]) << j;
    ASSERT_TRUE(it == l.begin());
  }
  // Every node holds something and keeps to the bound (a node of one element may pass the byte
  // bound: a node always takes one element).
  std::size_t total = 0;
  for (std::size_t k = 0; k < l.node_count(); ++k) {
    const PackedList& n = l.node(k);
    ASSERT_FALSE(n.empty()) << k;
    total += n.size();
    if (fill > 0) {
      ASSERT_LE(n.size(), static_cast<std::size_t>(fill));
    }
    const std::size_t max_bytes = fill < 0 ? std::size_t{4096} << (-fill - 1) : 8192;
    if (n.size() > 1) {
      ASSERT_LE(n.bytes(), max_bytes) << "node " << k;
    }
  }
  ASSERT_EQ(total, m.size());
  ASSERT_EQ(l.ring_bytes() == 0, l.node_count() <= 1);
}

TEST(List, RandomOperationsAgreeWithDeque) {
  FillGuard guard;
  std::mt19937_64 gen(23);
  for (const std::int64_t fill : {-1, -2, 3, 1, 128}) {
    compact::limits().list_fill.store(fill);
    for (int round = 0; round < 6; ++round) {
      List l;
      Model m;
      for (int step = 0; step < 1500; ++step) {
        // Mostly short elements, a few long ones; few distinct values, so LREM finds matches.
        const std::size_t len = gen() % 40 == 0 ? kLengths[gen() % std::size(kLengths)] : gen() % 3;
        const std::string v = random_string(gen, len);
        const bool grow = step < 700;  // grow first, then mostly shrink
        const auto op = gen() % 12;
        if (op < (grow ? 4u : 2u)) {
          if (gen() % 2) { l.push_front(v); m.push_front(v); }
          else { l.push_back(v); m.push_back(v); }
        } else if (op < 6 && !m.empty()) {
          if (gen() % 2) { EXPECT_EQ(l.front(), m.front()); l.pop_front(); m.pop_front(); }
          else { EXPECT_EQ(l.back(), m.back()); l.pop_back(); m.pop_back(); }
        } else if (op == 6) {  // LINSERT at a random place (or the end)
          const std::size_t i = m.empty() ? 0 : gen() % (m.size() + 1);
          l.insert(i == m.size() ? l.end() : l.iter_at(i), v);
          m.insert(m.begin() + static_cast<std::ptrdiff_t>(i), v);
        } else if (op == 7 && !m.empty()) {  // LSET / LINDEX
          const std::size_t i = gen() % m.size();
          EXPECT_EQ(l.at(i), m[i]);
          l.set(i, v);
          m[i] = v;
        } else if (op == 8 && !m.empty()) {  // LREM
          const std::string e = random_string(gen, gen() % 3);
          const std::uint64_t limit = gen() % 4;
          const bool tail = gen() % 2;
          const std::size_t want = list_model::model_remove(m, e, limit, tail);
          EXPECT_EQ(l.remove(e, limit, tail), want);
        } else if (op == 9 && !m.empty() && gen() % 8 == 0) {  // LTRIM
          const std::size_t from = gen() % m.size();
          const std::size_t to = from + gen() % (m.size() - from);
          l.keep_range(from, to);
          m.erase(m.begin() + static_cast<std::ptrdiff_t>(to) + 1, m.end());
          m.erase(m.begin(), m.begin() + static_cast<std::ptrdiff_t>(from));
        } else if (op == 10 && gen() % 50 == 0) {
          const List copy(l);
          ASSERT_NO_FATAL_FAILURE(expect_same(copy, m, fill));
        } else if (op == 11 && gen() % 200 == 0) {
          l.clear();
          m.clear();
        } else if (op >= 9) {
          l.push_back(v);
          m.push_back(v);
        }
        ASSERT_NO_FATAL_FAILURE(expect_same(l, m, fill))
            << "fill " << fill << " round " << round << " step " << step;
      }
    }
  }
}

TEST(List, SmallListIsOneNodeAndLongOneIsBounded) {
  FillGuard guard;
  compact::limits().list_fill.store(-2);
  List l;
  for (int i = 0; i < 5; ++i) l.push_back("e" + std::to_string(i));
  EXPECT_EQ(l.node_count(), 1u);
  EXPECT_EQ(l.ring_bytes(), 0u);  // no ring: the node is held inline
  for (int i = 0; i < 10000; ++i) l.push_front(std::string(20, 'x'));
  // 10000 elements of 22 bytes: about 2.7 nodes per 8 KB... bounded by 8 KB each.
  EXPECT_GE(l.node_count(), 10000u * 22 / 8192);
  EXPECT_LE(l.node_count(), 10000u * 22 / 8192 + 2);
  for (int i = 0; i < 10000; ++i) l.pop_front();
  EXPECT_EQ(l.node_count(), 1u);
  EXPECT_EQ(l.ring_bytes(), 0u);
  EXPECT_EQ(l.at(4), "e4");
  // A positive bound counts elements.
  compact::limits().list_fill.store(4);
  List c;
  for (int i = 0; i < 10; ++i) c.push_back("x");
  EXPECT_EQ(c.node_count(), 3u);
}

}  // namespace
}  // namespace lfdb::db
