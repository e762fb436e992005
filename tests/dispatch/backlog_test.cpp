// The backlog: contiguity, bounds, pieces, and the partial-or-full resync decision.
#include <gtest/gtest.h>

#include "dispatch/backlog.hpp"

namespace lfdb::dispatch {
namespace {

SegmentRef seg(std::uint64_t start, std::string bytes) {
  return lf::make_immutable<Segment>(Segment{start, std::move(bytes)});
}

TEST(Backlog, StartsEmptyAtItsBase) {
  Backlog b(100, 40);
  EXPECT_EQ(b.start(), 40u);
  EXPECT_EQ(b.end(), 40u);
  EXPECT_TRUE(b.holds(40));
  EXPECT_FALSE(b.holds(39));
  EXPECT_FALSE(b.holds(41));
  EXPECT_TRUE(b.piece(40).empty());
}

TEST(Backlog, RefusesGapsAndOverlaps) {
  Backlog b(100, 0);
  ASSERT_TRUE(b.append(seg(0, "abc")).ok());
  EXPECT_FALSE(b.append(seg(4, "x")).ok());   // a hole: a lost write
  EXPECT_FALSE(b.append(seg(2, "cd")).ok());  // an overlap: a doubled write
  EXPECT_TRUE(b.append(seg(3, "def")).ok());
  EXPECT_EQ(b.end(), 6u);
}

TEST(Backlog, PiecesRunToTheEndOfTheirSegment) {
  Backlog b(100, 10, 1);
  ASSERT_TRUE(b.append(seg(10, "hello")).ok());
  ASSERT_TRUE(b.append(seg(15, "world")).ok());
  EXPECT_EQ(b.piece(10), "hello");
  EXPECT_EQ(b.piece(12), "llo");
  EXPECT_EQ(b.piece(15), "world");
  EXPECT_EQ(b.piece(19), "d");
  EXPECT_TRUE(b.piece(20).empty());
  EXPECT_TRUE(b.piece(9).empty());
}

TEST(Backlog, KeepsAtMostItsCapacityButAlwaysTheNewestSegment) {
  Backlog b(10, 0, 1);  // every segment its own block
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(b.append(seg(b.end(), "abcd")).ok());
  EXPECT_EQ(b.end(), 40u);
  EXPECT_LE(b.bytes(), 10u);
  EXPECT_EQ(b.start(), 32u);  // two segments of 4 fit, a third would not
  EXPECT_EQ(b.piece(32), "abcd");
  ASSERT_TRUE(b.append(seg(40, std::string(50, 'x'))).ok());  // bigger than the capacity
  EXPECT_EQ(b.start(), 40u);
  EXPECT_EQ(b.segments(), 1u);
  EXPECT_EQ(b.end(), 90u);
}

TEST(Backlog, ATailReservedAtSyncTimeTakesTheFirstWritesWithoutAllocating) {
  Backlog b(10 * 1024, 100);
  EXPECT_EQ(b.footprint(), 0u);
  b.reserve_tail();
  const std::size_t reserved = b.footprint();
  EXPECT_GE(reserved, Backlog::kBlockBytes);
  EXPECT_EQ(b.start(), 100u);
  EXPECT_EQ(b.end(), 100u);
  EXPECT_TRUE(b.piece(100).empty());
  b.reserve_tail();  // the newest block has room: nothing more
  EXPECT_EQ(b.footprint(), reserved);
  ASSERT_TRUE(b.append(seg(100, "*1\r\n$4\r\nPING\r\n")).ok());
  EXPECT_EQ(b.footprint(), reserved);
  EXPECT_EQ(b.segments(), 1u);
  EXPECT_EQ(b.piece(100), "*1\r\n$4\r\nPING\r\n");
  EXPECT_EQ(b.replica_bytes(), 0u);
}

TEST(Backlog, PartialResyncOnlyForOurHistoryInsideTheBacklog) {
  Backlog b(10, 0, 1);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(b.append(seg(b.end(), "abcd")).ok());  // [12, 20)
  EXPECT_EQ(b.decide("ours", "ours", 12), ResyncKind::kPartial);
  EXPECT_EQ(b.decide("ours", "ours", 17), ResyncKind::kPartial);
  EXPECT_EQ(b.decide("ours", "ours", 20), ResyncKind::kPartial);  // up to date: nothing to send
  EXPECT_EQ(b.decide("ours", "ours", 11), ResyncKind::kFull);     // fell out of the backlog
  EXPECT_EQ(b.decide("ours", "ours", 21), ResyncKind::kFull);     // ahead of us: another history
  EXPECT_EQ(b.decide("ours", "theirs", 16), ResyncKind::kFull);
  EXPECT_EQ(b.decide("ours", "?", 16), ResyncKind::kFull);
}

TEST(Backlog, SmallSegmentsAreCopiedTogetherIntoBlocks) {
  Backlog b(1 << 20, 0);
  const std::string cmd(100, 'c');
  for (int i = 0; i < 300; ++i) ASSERT_TRUE(b.append(seg(b.end(), cmd)).ok());
  EXPECT_EQ(b.end(), 30000u);
  EXPECT_EQ(b.segments(), 2u);  // 163 of 100 bytes fill the first 16 KB block
  EXPECT_EQ(b.piece(0).size(), 16300u);
  EXPECT_EQ(b.piece(16300).size(), 13700u);
  EXPECT_EQ(b.piece(29999), "c");
  // A segment of a block or more is held as it came.
  ASSERT_TRUE(b.append(seg(b.end(), std::string(Backlog::kBlockBytes, 'L'))).ok());
  EXPECT_EQ(b.segments(), 3u);
  EXPECT_EQ(b.piece(30000).size(), Backlog::kBlockBytes);
  ASSERT_TRUE(b.append(seg(b.end(), "tail")).ok());
  EXPECT_EQ(b.piece(30000 + Backlog::kBlockBytes), "tail");
  EXPECT_GE(b.footprint(), 3 * Backlog::kBlockBytes);
  EXPECT_EQ(b.replica_bytes(), 0u);  // all inside the window
}

TEST(Backlog, KeepsWhatAReplicaHasNotBeenSentAndCountsItApart) {
  Backlog b(10, 0, 1);
  b.trim(4);  // a replica at offset 4
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(b.append(seg(b.end(), "abcd")).ok());
  EXPECT_EQ(b.start(), 4u);  // [0, 4) nobody needs; [4, 32) only the replica does
  EXPECT_EQ(b.piece(4), "abcd");
  EXPECT_GT(b.replica_bytes(), 0u);
  EXPECT_LT(b.replica_bytes(), b.footprint());
  EXPECT_EQ(b.decide("ours", "ours", 4), ResyncKind::kPartial);  // held, so resumable too
  b.trim(21);  // it was sent up to 21: the block [20, 24) stays, the older ones go
  EXPECT_EQ(b.start(), 20u);
  b.trim(UINT64_MAX);  // it left
  EXPECT_EQ(b.start(), 32u);
  EXPECT_EQ(b.replica_bytes(), 0u);
}

}  // namespace
}  // namespace lfdb::dispatch
