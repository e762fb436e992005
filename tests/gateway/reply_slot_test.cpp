// Merging the replies of a split or fanned-out command, part by part, in any arrival order.
#include <gtest/gtest.h>

#include "gateway/reply_slot.hpp"

namespace lfdb::gateway {
namespace {

resp::Frame frame(const std::string& bytes) {
  resp::ReplyParser p;
  const resp::ReplyResult r = p.parse(bytes);
  EXPECT_TRUE(r.complete()) << bytes;
  return r.frame;
}

TEST(ReplySlot, SinglePartPassesThrough) {
  ReplySlot s;
  s.start(Merge::kNone, 1);
  const std::string b = "$3\r\nabc\r\n";
  EXPECT_TRUE(s.add_part(0, frame(b)));
  EXPECT_TRUE(s.ready);
  EXPECT_EQ(s.reply, b);
}

TEST(ReplySlot, MgetRestoresKeyOrderWhateverTheArrivalOrder) {
  // Keys k0..k3: part 0 holds k0 and k2, part 1 holds k1 and k3. Part 1 answers first.
  ReplySlot s;
  s.start(Merge::kMget, 2);
  s.values.assign(4, "");
  s.part_keys = {{0, 2}, {1, 3}};
  const std::string p1 = "*2\r\n$2\r\nv1\r\n$-1\r\n", p0 = "*2\r\n$2\r\nv0\r\n$2\r\nv2\r\n";
  EXPECT_FALSE(s.add_part(1, frame(p1)));
  EXPECT_FALSE(s.ready);
  EXPECT_TRUE(s.add_part(0, frame(p0)));
  EXPECT_EQ(s.reply, "*4\r\n$2\r\nv0\r\n$2\r\nv1\r\n$2\r\nv2\r\n$-1\r\n");
}

TEST(ReplySlot, MgetResp3NullsStayResp3) {
  ReplySlot s;
  s.start(Merge::kMget, 2, resp::Protocol::kResp3);
  s.values.assign(2, "");
  s.part_keys = {{0}, {1}};
  s.add_part(0, frame("*1\r\n_\r\n"));
  s.add_part(1, frame("*1\r\n$1\r\nx\r\n"));
  EXPECT_EQ(s.reply, "*2\r\n_\r\n$1\r\nx\r\n");
}

TEST(ReplySlot, SumAllOkConcat) {
  ReplySlot sum;
  sum.start(Merge::kSum, 3);
  sum.add_part(2, frame(":2\r\n"));
  sum.add_part(0, frame(":0\r\n"));
  sum.add_part(1, frame(":5\r\n"));
  EXPECT_EQ(sum.reply, ":7\r\n");

  ReplySlot ok;
  ok.start(Merge::kAllOk, 2);
  ok.add_part(0, frame("+OK\r\n"));
  ok.add_part(1, frame("+OK\r\n"));
  EXPECT_EQ(ok.reply, "+OK\r\n");

  ReplySlot cat;
  cat.start(Merge::kConcat, 2);
  cat.add_part(1, frame("*1\r\n$1\r\nb\r\n"));
  cat.add_part(0, frame("*2\r\n$1\r\na\r\n$1\r\nc\r\n"));
  EXPECT_EQ(cat.reply, "*3\r\n$1\r\nb\r\n$1\r\na\r\n$1\r\nc\r\n");
}

TEST(ReplySlot, SameAnswerFromEveryPart) {
  // SCRIPT LOAD on every shard: each returns the script's SHA1; the client gets it once.
  const std::string sha = "$40\r\ne0e1f9fabfc9d4800c877a703b823ac0578ff8db\r\n";
  ReplySlot same;
  same.start(Merge::kSame, 2);
  EXPECT_FALSE(same.add_part(1, frame(sha)));
  EXPECT_TRUE(same.add_part(0, frame(sha)));
  EXPECT_EQ(same.reply, sha);

  ReplySlot differ;
  differ.start(Merge::kSame, 2);
  differ.add_part(0, frame(sha));
  differ.add_part(1, frame("$1\r\nx\r\n"));
  EXPECT_EQ(differ.reply, "-ERR lfdb-gateway: back-ends answered differently\r\n");
}

TEST(ReplySlot, AnErrorOfAnyPartIsTheReply) {
  ReplySlot s;
  s.start(Merge::kSum, 2);
  std::string storage;
  s.add_part(0, error_frame("ERR lfdb-gateway: backend 127.0.0.1:1 is down", storage));
  EXPECT_TRUE(s.add_part(1, frame(":1\r\n")));
  EXPECT_EQ(s.reply, "-ERR lfdb-gateway: backend 127.0.0.1:1 is down\r\n");

  ReplySlot m;
  m.start(Merge::kMget, 2);
  m.values.assign(2, "");
  m.part_keys = {{0}, {1}};
  m.add_part(0, frame("*1\r\n$1\r\nx\r\n"));
  m.add_part(1, frame("-ERR boom\r\n"));
  EXPECT_EQ(m.reply, "-ERR boom\r\n");
}

TEST(ReplySlot, AMalformedPartIsAnErrorNotACrash) {
  ReplySlot m;
  m.start(Merge::kMget, 1);
  m.values.assign(2, "");
  m.part_keys = {{0, 1}};
  m.add_part(0, frame("*1\r\n$1\r\nx\r\n"));  // one value for two keys
  EXPECT_EQ(m.reply.rfind("-ERR lfdb-gateway: unexpected reply", 0), 0u) << m.reply;
}

TEST(ReplySlot, AnyOkIsOkIfAnyPartDidItElseTheMostTellingError) {
  ReplySlot one;
  one.start(Merge::kAnyOk, 3);
  one.add_part(0, frame("-NOTBUSY No scripts in execution right now.\r\n"));
  one.add_part(1, frame("+OK\r\n"));
  EXPECT_TRUE(one.add_part(2, frame("-UNKILLABLE Sorry\r\n")));
  EXPECT_EQ(one.reply, "+OK\r\n");

  ReplySlot none;
  none.start(Merge::kAnyOk, 3);
  none.add_part(0, frame("-NOTBUSY No scripts in execution right now.\r\n"));
  none.add_part(1, frame("-UNKILLABLE Sorry\r\n"));
  EXPECT_TRUE(none.add_part(2, frame("-NOTBUSY No scripts in execution right now.\r\n")));
  EXPECT_EQ(none.reply, "-UNKILLABLE Sorry\r\n");

  ReplySlot idle;
  idle.start(Merge::kAnyOk, 2);
  idle.add_part(0, frame("-NOTBUSY No scripts in execution right now.\r\n"));
  EXPECT_TRUE(idle.add_part(1, frame("-NOTBUSY No scripts in execution right now.\r\n")));
  EXPECT_EQ(idle.reply, "-NOTBUSY No scripts in execution right now.\r\n");
}

TEST(SlotQueue, FifoWithStableAddressesAndReusedNodes) {
  SlotQueue q;
  EXPECT_TRUE(q.empty());
  std::vector<ReplySlot*> addrs;
  for (int i = 0; i < 5; ++i) {
    ReplySlot& s = q.emplace_back();
    s.start(Merge::kNone, 1);
    s.reply = "r" + std::to_string(i);
    addrs.push_back(&s);
  }
  EXPECT_EQ(q.size(), 5u);
  // Pushing more never moves the queued slots (Pendings point at them).
  for (int i = 5; i < 50; ++i) {
    ReplySlot& s = q.emplace_back();
    s.start(Merge::kNone, 1);
    addrs.push_back(&s);
  }
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(&q.front(), addrs[static_cast<std::size_t>(i)]);
    EXPECT_EQ(q.front().reply, "r" + std::to_string(i));
    q.front().ready = true;
    q.front().close_after = true;
    q.pop_front();
  }
  ReplySlot* last = nullptr;
  while (!q.empty()) {
    last = &q.front();
    q.pop_front();
  }
  EXPECT_EQ(q.size(), 0u);
  // The node popped last comes back first (no allocation), reset to a default slot's flags.
  ReplySlot& again = q.emplace_back();
  EXPECT_EQ(&again, last);
  EXPECT_FALSE(again.ready);
  EXPECT_FALSE(again.close_after);
  EXPECT_EQ(again.merge, Merge::kNone);
  EXPECT_EQ(&q.back(), &again);
  q.pop_front();
  // The fifth slot was popped with its flags set; its node is reset too when reused.
  for (int i = 0; i < 50; ++i) {
    ReplySlot& s = q.emplace_back();
    EXPECT_FALSE(s.ready);
    EXPECT_FALSE(s.close_after);
  }
  while (!q.empty()) q.pop_front();
}

TEST(SlotQueue, AnMgetSlotComesBackEmpty) {
  SlotQueue q;
  ReplySlot& m = q.emplace_back();
  m.start(Merge::kMget, 1);
  m.values.assign(2, "");
  m.part_keys = {{0, 1}};
  m.add_part(0, frame("*2\r\n$1\r\nx\r\n$1\r\ny\r\n"));
  EXPECT_EQ(m.reply, "*2\r\n$1\r\nx\r\n$1\r\ny\r\n");
  q.pop_front();
  ReplySlot& next = q.emplace_back();
  next.start(Merge::kNone, 1);
  EXPECT_TRUE(next.values.empty());
  EXPECT_TRUE(next.part_keys.empty());
  EXPECT_TRUE(next.reply.empty());
  q.pop_front();
}

}  // namespace
}  // namespace lfdb::gateway
