// A key's Value (src/db/entry.hpp): the string and the container's pointer share one union, so
// every move and change of type must end one member's life and begin the other's. These run
// under ASan/UBSan too, where a string destroyed as a pointer or a container leaked shows.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <utility>

#include "db/entry.hpp"

namespace {

using lfdb::db::Hash;
using lfdb::db::List;
using lfdb::db::Set;
using lfdb::db::StrForm;
using lfdb::db::Type;
using lfdb::db::Value;

// A string past the 22 bytes a CompactString keeps inline: it owns a heap buffer.
const std::string kLong(100, 'x');

Value hash_value(std::string_view field) {
  Value v;
  auto h = std::make_unique<Hash>();
  h->set(field, "v");
  v.reset(std::move(h));
  return v;
}

TEST(Value, StringAndContainerShareTheUnion) {
  Value v;
  EXPECT_EQ(v.type(), Type::kString);
  EXPECT_TRUE(v.str().empty());
  v.str() = kLong;
  v.reset(std::make_unique<Set>());  // the string's buffer goes
  EXPECT_EQ(v.type(), Type::kSet);
  EXPECT_NE(v.set(), nullptr);
  EXPECT_EQ(v.hash(), nullptr);
  v.set()->add("m");
  v.reset(std::make_unique<List>());  // one container for another
  EXPECT_EQ(v.type(), Type::kList);
  EXPECT_EQ(v.set(), nullptr);
  v.drop_containers();  // SET over a list: an empty string again
  EXPECT_EQ(v.type(), Type::kString);
  EXPECT_TRUE(v.str().empty());
  v.str() = kLong;
  v.drop_containers();  // a string keeps its bytes
  EXPECT_EQ(v.str(), kLong);
}

TEST(Value, MovesCarryTheLiveMember) {
  Value s;
  s.str() = kLong;
  s.form = StrForm::kRaw;
  s.access = 7;
  Value moved(std::move(s));
  EXPECT_EQ(moved.type(), Type::kString);
  EXPECT_EQ(moved.str(), kLong);
  EXPECT_EQ(moved.form, StrForm::kRaw);
  EXPECT_EQ(moved.access, 7u);

  // A hash lives in the Value: its fields move with it, the Hash* does not.
  Value h = hash_value("f");
  Value taken(std::move(h));
  EXPECT_EQ(taken.type(), Type::kHash);
  EXPECT_EQ(taken.hash()->get("f"), "v");
  EXPECT_EQ(h.type(), Type::kString);  // NOLINT(bugprone-use-after-move): a defined state
  EXPECT_TRUE(h.str().empty());
  EXPECT_EQ(h.hash(), nullptr);

  // A list is boxed: the box itself moves, not a copy.
  Value l;
  l.reset(std::make_unique<List>());
  List* box = l.list();
  Value took(std::move(l));
  EXPECT_EQ(took.list(), box);
  EXPECT_EQ(l.type(), Type::kString);  // NOLINT(bugprone-use-after-move)
}

TEST(Value, SmallContainersLiveInline) {
  Value v;
  Hash& h = v.make_hash();
  EXPECT_EQ(v.hash(), &h);
  // The Hash is inside the Value's 40 bytes: no box of its own.
  const auto* lo = reinterpret_cast<const char*>(&v);
  const auto* at = reinterpret_cast<const char*>(&h);
  EXPECT_TRUE(at >= lo && at + sizeof(Hash) <= lo + sizeof(Value));
  h.set("f", std::string(100, 'y'));
  Set& s = v.make_set();  // the hash (and its buffer) goes
  s.add("1");
  s.add(kLong);  // converts to the table
  EXPECT_FALSE(v.set()->intset());
  v.make_zset(std::size_t{200}, std::size_t{8}).set("m", 1.5);  // a set created as a skip list
  EXPECT_EQ(v.zset()->size(), 1u);
  v.reset(std::make_unique<Hash>());  // a hash built apart moves in
  EXPECT_EQ(v.type(), Type::kHash);
  EXPECT_EQ(v.hash()->size(), 0u);
}

TEST(Value, MoveAssignmentOverEveryPair) {
  // string over string, container over string, string over container, container over container
  Value a;
  a.str() = kLong;
  Value b;
  b.str() = "short";
  a = std::move(b);
  EXPECT_EQ(a.str(), "short");

  Value h = hash_value("f");
  a = std::move(h);
  EXPECT_EQ(a.type(), Type::kHash);
  EXPECT_EQ(h.type(), Type::kString);  // NOLINT(bugprone-use-after-move)

  Value s;
  s.str() = kLong;
  a = std::move(s);  // the hash goes, the string comes
  EXPECT_EQ(a.type(), Type::kString);
  EXPECT_EQ(a.str(), kLong);

  a = hash_value("g");
  a = hash_value("h");  // the first hash goes
  EXPECT_EQ(a.hash()->get("h"), "v");
  EXPECT_FALSE(a.hash()->get("g").has_value());

  Value& self = a;
  a = std::move(self);  // a self-move keeps the value
  EXPECT_EQ(a.hash()->get("h"), "v");
}

// The string member's own class (src/db/compact_string.hpp): inline up to kInline bytes, a heap
// block past them, and every change between the forms keeps the bytes and the NUL after them.
TEST(CompactString, InlineThenHeapThenInline) {
  using lfdb::db::CompactString;
  CompactString s;
  EXPECT_TRUE(s.empty());
  EXPECT_FALSE(s.is_heap());
  EXPECT_EQ(s.heap_bytes(), 0u);
  const std::string digits = "1234567890123456789012";  // exactly kInline
  ASSERT_EQ(digits.size(), CompactString::kInline);
  s = digits;
  EXPECT_FALSE(s.is_heap());
  EXPECT_EQ(s, digits);
  EXPECT_EQ(s.c_str()[s.size()], '\0');
  s.push_back('x');  // one past: the heap, at least twice the inline capacity
  EXPECT_TRUE(s.is_heap());
  EXPECT_EQ(s, digits + "x");
  EXPECT_GE(s.capacity(), 2 * CompactString::kInline);
  EXPECT_EQ(s.heap_bytes(), s.capacity() + 1);
  EXPECT_EQ(s.c_str()[s.size()], '\0');
  s.append(std::string_view(s).substr(0, 5));  // a view of itself
  EXPECT_EQ(s, digits + "x12345");
  s.resize(3);
  EXPECT_TRUE(s.is_heap());  // the block stays until shrunk
  EXPECT_EQ(s, "123");
  s.shrink_to_fit();
  EXPECT_FALSE(s.is_heap());
  EXPECT_EQ(s, "123");
  s.resize(30, 'z');
  EXPECT_EQ(s, "123" + std::string(27, 'z'));
  s.assign(std::string_view(s).substr(2, 4));  // overlapping
  EXPECT_EQ(s, "3zzz");
  s.assign(kLong);
  EXPECT_EQ(s, kLong);
  EXPECT_EQ(s.capacity(), kLong.size());  // assign asks for exactly the bytes
}

TEST(CompactString, CopiesAndMovesOwnTheirBytes) {
  using lfdb::db::CompactString;
  CompactString a(kLong), b("short");
  CompactString c(a);
  EXPECT_NE(c.data(), a.data());
  EXPECT_EQ(c, a);
  CompactString d(std::move(a));
  EXPECT_EQ(d, kLong);
  EXPECT_TRUE(a.empty());  // NOLINT: moved-from is empty, by contract
  EXPECT_FALSE(a.is_heap());
  b = d;
  EXPECT_EQ(b, kLong);
  d = std::move(c);
  EXPECT_EQ(d, kLong);
  b.swap(c);
  EXPECT_EQ(c, kLong);
  EXPECT_TRUE(b.empty());
  const CompactString& same = c;
  c = same;  // self-assignment keeps the bytes
  EXPECT_EQ(c, kLong);
  std::string bytes(40, '\0');
  bytes[7] = 'q';
  CompactString z(bytes);  // NULs inside are bytes like any other
  EXPECT_EQ(z.size(), 40u);
  EXPECT_EQ(z, bytes);
}

}  // namespace
