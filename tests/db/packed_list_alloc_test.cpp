// How a list node asks the allocator for room (issue 17): a push grows the node's block only
// when the entry does not fit in what the block already has (malloc_usable_size), not once per
// element. A realloc per element, even one the allocator does in place, counts its whole block
// toward jemalloc's per-thread cache GC (tcache_gc_incr_bytes): a 1,000-element RPUSH then
// flushed the cache's blocks of every size class the node passed through, freed their one-page
// slabs and left them as dirty pages between the live nodes (docs/memory.md, "Lists of short
// strings").
//
// The test binary is not linked with jemalloc: realloc is interposed here, forwarding to glibc's,
// to see each call. Sanitizer builds keep their own realloc; the test skips there.
#include "db/compact/packed_list.hpp"

#include <gtest/gtest.h>
#include <malloc.h>

#include <cstddef>
#include <string>

#include "db/compact/limits.hpp"
#include "db/list.hpp"

#if !defined(LF_SANITIZED)
extern "C" void* __libc_realloc(void* p, std::size_t n) noexcept;

namespace {
// Calls that grew a block past its usable size; calls that asked for no more than the block
// already had (the needless ones). glibc's blocks step by 16 bytes, so the first count stays
// large here; under jemalloc's size classes it is one a class.
thread_local bool g_watch = false;
thread_local std::size_t g_grows = 0, g_needless = 0;
}  // namespace

extern "C" void* realloc(void* p, std::size_t n) noexcept {
  if (g_watch && p != nullptr) {
    const std::size_t have = malloc_usable_size(p);
    // Only pushes run while watched: every call is meant to grow the block.
    ++(n > have ? g_grows : g_needless);
  }
  return __libc_realloc(p, n);
}
#endif

namespace lfdb::db {
namespace {

using compact::PackedList;

#if !defined(LF_SANITIZED)
struct AllocWatch {
  AllocWatch() { g_watch = true, g_grows = 0, g_needless = 0; }
  ~AllocWatch() { g_watch = false; }
};
#endif

TEST(PackedListAlloc, PushGrowsTheBlockOnlyWhenItIsFull) {
#if defined(LF_SANITIZED)
  GTEST_SKIP() << "the sanitizer's realloc cannot be interposed";
#else
  PackedList n;
  std::size_t pushes = 0;
  {
    AllocWatch w;
    for (int i = 0; i < 1000; ++i, ++pushes) n.push_back("e" + std::to_string(i) + ":42");
    for (int i = 0; i < 100; ++i, ++pushes) n.push_front("f" + std::to_string(i));
  }
  EXPECT_EQ(g_needless, 0u) << "of " << pushes << " pushes, " << g_grows << " grew the block";
  EXPECT_GT(g_grows, 0u);  // the block did grow: the calls were seen
  EXPECT_EQ(n.size(), 1100u);
  EXPECT_EQ(PackedList::value(n.first()), "f99");
  EXPECT_EQ(PackedList::value(n.last()), "e999:42");
#endif
}

TEST(PackedListAlloc, RpushOfManyElementsReallocatesPerBlockNotPerElement) {
#if defined(LF_SANITIZED)
  GTEST_SKIP() << "the sanitizer's realloc cannot be interposed";
#else
  List l;
  {
    AllocWatch w;
    for (int i = 0; i < 10000; ++i) l.push_back("e" + std::to_string(i) + ":7");
  }
  EXPECT_EQ(g_needless, 0u) << g_grows << " grew a block";
  EXPECT_GT(g_grows, 0u);
  ASSERT_EQ(l.size(), 10000u);
  EXPECT_EQ(l.at(0), "e0:7");
  EXPECT_EQ(l.at(9999), "e9999:7");
  EXPECT_GT(l.node_count(), 1u);
#endif
}

}  // namespace
}  // namespace lfdb::db
