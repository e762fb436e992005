// lf::hue::Task: typical handler captures stay inline; big or throwing-move callables go to the
// heap; ownership moves exactly once and captured state is destroyed exactly once.
#include "lf/hue_task.hpp"

#include <gtest/gtest.h>

#include <array>
#include <memory>
#include <string>

namespace {

using lf::hue::Task;

struct Counted {
  explicit Counted(int* destroyed) : destroyed_(destroyed) {}
  Counted(Counted&& o) noexcept : destroyed_(o.destroyed_) { o.destroyed_ = nullptr; }
  ~Counted() {
    if (destroyed_ != nullptr) ++*destroyed_;
  }
  int* destroyed_;
};

TEST(HueTask, SmallLambdaIsInline) {
  int hits = 0;
  void* conn = &hits;
  std::uint64_t key_hash = 42;
  Task t = [&hits, conn, key_hash] {
    hits += static_cast<int>(key_hash) + (conn != nullptr ? 1 : 0);
  };
  EXPECT_TRUE(t.is_inline());
  t();
  EXPECT_EQ(hits, 43);
}

TEST(HueTask, FortyEightBytesOfCapturesStayInline) {
  std::array<std::uint64_t, 6> words{1, 2, 3, 4, 5, 6};
  std::uint64_t sum = 0;
  Task t = [words, sum_ptr = &sum]() mutable {
    for (auto w : words) *sum_ptr += w;
  };
  // 6 words + a pointer = 56 bytes: one word too many.
  EXPECT_FALSE(t.is_inline());
  t();
  EXPECT_EQ(sum, 21u);
  std::array<std::uint64_t, 5> five{1, 2, 3, 4, 5};
  Task u = [five, sum_ptr = &sum] {
    for (auto w : five) *sum_ptr += w;
  };
  EXPECT_TRUE(u.is_inline());
}

TEST(HueTask, MoveOnlyCapturesWork) {
  auto owned = std::make_unique<int>(7);
  int seen = 0;
  Task t = [p = std::move(owned), &seen] { seen = *p; };
  Task moved = std::move(t);
  EXPECT_FALSE(t);
  ASSERT_TRUE(moved);
  moved();
  EXPECT_EQ(seen, 7);
}

TEST(HueTask, CapturedStateIsDestroyedExactlyOnce) {
  int destroyed = 0;
  {
    Task a = [c = Counted(&destroyed)] { (void)c; };
    Task b = std::move(a);
    Task c;
    c = std::move(b);
    EXPECT_EQ(destroyed, 0);
  }
  EXPECT_EQ(destroyed, 1);
  {
    std::array<char, 100> big{};
    Task h = [c = Counted(&destroyed), big] { (void)c; (void)big; };
    EXPECT_FALSE(h.is_inline());
    Task h2 = std::move(h);
    h2.reset();
    EXPECT_EQ(destroyed, 2);
    EXPECT_FALSE(h2);
  }
  EXPECT_EQ(destroyed, 2);
}

struct ThrowingMove {
  ThrowingMove() = default;
  ThrowingMove(ThrowingMove&&) noexcept(false) {}
  void operator()() const {}
};

TEST(HueTask, CallableWithThrowingMoveGoesToTheHeap) {
  Task t = ThrowingMove();
  EXPECT_FALSE(t.is_inline());
  Task u = std::move(t);
  u();
}

TEST(HueTask, MoveAssignReplacesAndDestroysThePrevious) {
  int destroyed = 0;
  std::string out;
  Task a = [c = Counted(&destroyed)] { (void)c; };
  a = Task([&out] { out = "second"; });
  EXPECT_EQ(destroyed, 1);
  a();
  EXPECT_EQ(out, "second");
}

}  // namespace
