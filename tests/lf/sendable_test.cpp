#include "lf/sendable.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <numeric>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <variant>
#include <vector>

#include "lf/mailbox.hpp"
#include "lf/spawn.hpp"

namespace {

// --- What the concept admits and refuses, checked when this file compiles. ---

enum class Color { kRed, kBlue };
struct Tagged {
  int id = 0;
  std::string name;
  using sendable_value = void;
};
struct ViaTrait {
  double x = 0;
};
struct NotOptedIn {
  int counter = 0;
};
class UserMonitor {
 public:
  using sendable_monitor = void;
  void bump() { state_.with([](int& v) { ++v; }); }

 private:
  lf::Monitor<int> state_;
};

}  // namespace

template <>
struct lf::is_value<ViaTrait> : std::true_type {};

namespace {

// Values.
static_assert(lf::Sendable<int>);
static_assert(lf::Sendable<bool>);
static_assert(lf::Sendable<const double>);
static_assert(lf::Sendable<Color>);
static_assert(lf::Sendable<std::string>);
static_assert(lf::Sendable<std::chrono::milliseconds>);
static_assert(lf::Sendable<std::chrono::steady_clock::time_point>);
static_assert(lf::Sendable<std::optional<std::string>>);
static_assert(lf::Sendable<std::vector<std::vector<int>>>);
static_assert(lf::Sendable<std::array<Color, 3>>);
static_assert(lf::Sendable<std::pair<int, std::string>>);
static_assert(lf::Sendable<std::tuple<int, Tagged, std::optional<ViaTrait>>>);
static_assert(lf::Sendable<std::variant<std::monostate, int, std::string>>);
static_assert(lf::Sendable<Tagged>);
static_assert(lf::Sendable<ViaTrait>);
// Monitors, shared.
static_assert(lf::Sendable<std::shared_ptr<lf::Monitor<std::vector<int*>>>>);
static_assert(lf::Sendable<std::shared_ptr<const lf::Monitor<int>>>);
static_assert(lf::Sendable<std::shared_ptr<lf::Mailbox<int, std::string>>>);
static_assert(lf::Sendable<std::shared_ptr<UserMonitor>>);
// Immutable and unique, of anything.
static_assert(lf::Sendable<lf::Immutable<NotOptedIn>>);
static_assert(lf::Sendable<lf::Unique<NotOptedIn>>);
static_assert(lf::Sendable<std::vector<lf::Unique<std::string>>>);

// Aliases of any kind.
static_assert(!lf::Sendable<int*>);
static_assert(!lf::Sendable<const char*>);
static_assert(!lf::Sendable<int&>);
static_assert(!lf::Sendable<const std::string&>);
static_assert(!lf::Sendable<int&&>);
static_assert(!lf::Sendable<std::reference_wrapper<int>>);
static_assert(!lf::Sendable<std::string_view>);
static_assert(!lf::Sendable<std::shared_ptr<int>>);
static_assert(!lf::Sendable<std::shared_ptr<const int>>);
static_assert(!lf::Sendable<std::shared_ptr<NotOptedIn>>);
static_assert(!lf::Sendable<std::unique_ptr<int>>);
static_assert(!lf::Sendable<std::weak_ptr<lf::Monitor<int>>>);
static_assert(!lf::Sendable<NotOptedIn>);
static_assert(!lf::Sendable<UserMonitor>);  // a monitor itself is shared, never copied
static_assert(!lf::Sendable<std::function<void()>>);
static_assert(!lf::Sendable<void (*)()>);
static_assert(!lf::Sendable<int Tagged::*>);
static_assert(!lf::Sendable<std::nullptr_t>);
// ... also when buried inside a value.
static_assert(!lf::Sendable<std::vector<int*>>);
static_assert(!lf::Sendable<std::optional<std::string_view>>);
static_assert(!lf::Sendable<std::pair<int, int&>>);
static_assert(!lf::Sendable<std::tuple<int, std::shared_ptr<int>>>);
static_assert(!lf::Sendable<std::variant<int, NotOptedIn>>);
static_assert(!lf::Sendable<std::array<std::reference_wrapper<int>, 2>>);

TEST(Sendable, LambdasAreNotMessages) {
  int local = 0;
  auto by_ref = [&local] { ++local; };
  auto by_value = [local] { return local; };
  auto captureless = [] {};
  static_assert(!lf::Sendable<decltype(by_ref)>);
  static_assert(!lf::Sendable<decltype(by_value)>);
  static_assert(!lf::Sendable<decltype(captureless)>);
  by_ref();
  EXPECT_EQ(by_value(), 0);
  EXPECT_EQ(local, 1);
}

// --- Immutable ---

TEST(Immutable, CopiesShareOneObject) {
  lf::Immutable<std::string> a = lf::make_immutable<std::string>("frozen");
  lf::Immutable<std::string> b = a;
  EXPECT_EQ(&*a, &*b);
  EXPECT_EQ(a.use_count(), 2);
  lf::Immutable<std::string> c = std::move(a);
  // Moving copies the handle, so the source is never empty.
  EXPECT_EQ(*a, "frozen");
  EXPECT_EQ(c->size(), 6u);
  EXPECT_EQ(c.use_count(), 3);
}

TEST(Immutable, AggregatesAreBraceInitialized) {
  auto t = lf::make_immutable<Tagged>(7, std::string("seven"));
  EXPECT_EQ(t->id, 7);
  EXPECT_EQ(t.get().name, "seven");
}

TEST(Immutable, ManyThreadsReadOneCopyWithoutLocks) {
  constexpr int kThreads = 8;
  constexpr int kElements = 100000;
  std::vector<int> data(kElements);
  std::iota(data.begin(), data.end(), 1);
  const long expected = std::accumulate(data.begin(), data.end(), 0L);
  auto shared = lf::make_immutable<std::vector<int>>(std::move(data));
  auto sums = lf::make_monitor<std::vector<long>>();
  auto addresses = lf::make_monitor<std::vector<std::uintptr_t>>();
  {
    std::vector<lf::SpawnedThread> readers;
    for (int t = 0; t < kThreads; ++t) {
      readers.push_back(lf::spawn(
          [](lf::Immutable<std::vector<int>> v, std::shared_ptr<lf::Monitor<std::vector<long>>> out,
             std::shared_ptr<lf::Monitor<std::vector<std::uintptr_t>>> where) {
            long sum = 0;
            for (int rounds = 0; rounds < 4; ++rounds) {
              sum = std::accumulate(v->begin(), v->end(), 0L);
            }
            out->with([sum](std::vector<long>& o) { o.push_back(sum); });
            auto address = reinterpret_cast<std::uintptr_t>(v->data());
            where->with([address](std::vector<std::uintptr_t>& w) { w.push_back(address); });
          },
          shared, sums, addresses));
    }
  }
  auto results = sums->with([](const std::vector<long>& s) { return s; });
  ASSERT_EQ(results.size(), static_cast<std::size_t>(kThreads));
  for (long s : results) EXPECT_EQ(s, expected);
  // Every reader saw the very same vector: sharing, not copying.
  auto seen = addresses->with([](const std::vector<std::uintptr_t>& w) { return w; });
  for (auto a : seen) EXPECT_EQ(a, reinterpret_cast<std::uintptr_t>(shared->data()));
  EXPECT_EQ(shared.use_count(), 1);
}

TEST(Immutable, FreezePublishesWhatAUniqueBuilt) {
  lf::Unique<std::vector<int>> draft = lf::make_unique_msg<std::vector<int>>();
  draft->push_back(1);
  draft->push_back(2);
  const int* where = draft->data();
  lf::Immutable<std::vector<int>> published = lf::freeze(std::move(draft));
  EXPECT_TRUE(draft.empty());
  EXPECT_EQ(published->size(), 2u);
  EXPECT_EQ(published->data(), where);
}

// --- Unique ---

TEST(Unique, MoveLeavesTheSourceEmpty) {
  lf::Unique<std::string> a = lf::make_unique_msg<std::string>("mine");
  ASSERT_FALSE(a.empty());
  const std::string* where = &*a;
  lf::Unique<std::string> b = std::move(a);
  EXPECT_TRUE(a.empty());
  EXPECT_FALSE(static_cast<bool>(a));
  EXPECT_EQ(&*b, where);
  std::string plain = b.take();
  EXPECT_EQ(plain, "mine");
  EXPECT_TRUE(b.empty());
}

TEST(Unique, AdoptsAUniquePtr) {
  lf::Unique<int> u(std::make_unique<int>(5));
  EXPECT_EQ(*u, 5);
  std::unique_ptr<int> back = std::move(u).release();
  EXPECT_EQ(*back, 5);
  EXPECT_TRUE(u.empty());
}

TEST(UniqueDeathTest, ReachingThroughAnEmptyUniqueIsABug) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  lf::Unique<int> a = lf::make_unique_msg<int>(1);
  lf::Unique<int> b = std::move(a);
  EXPECT_EQ(*b, 1);
  EXPECT_DEATH(static_cast<void>(*a), "empty lf::Unique");
  EXPECT_DEATH(static_cast<void>(a.take()), "empty lf::Unique");
}

}  // namespace
