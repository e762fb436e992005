// Steady state allocates nothing: once a connection's buffers have grown to fit its commands,
// parsing a command, writing its reply and parsing that reply cost no heap allocation.
// Allocations are counted by replacing global operator new; under a sanitizer, whose runtime owns
// operator new, by the sanitizer's own allocation hook instead.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include "resp/reply_parser.hpp"
#include "resp/request_parser.hpp"
#include "resp/writer.hpp"

#if defined(LF_SANITIZED)
#include <sanitizer/allocator_interface.h>
#endif

namespace {
std::atomic<long> g_allocations{0};
}  // namespace

#if defined(LF_SANITIZED)
namespace {
void count_malloc(const volatile void*, std::size_t) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
}
void ignore_free(const volatile void*) {}
const int kHooksInstalled = __sanitizer_install_malloc_and_free_hooks(count_malloc, ignore_free);
}  // namespace
#else
void* operator new(std::size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
#endif

namespace {

long allocations() { return g_allocations.load(std::memory_order_relaxed); }

TEST(Allocation, NonePerCommandInSteadyState) {
#if defined(LF_SANITIZED)
  ASSERT_NE(kHooksInstalled, 0) << "the sanitizer did not take the allocation hook";
#endif
  std::string input;
  for (int i = 0; i < 1000; ++i) {
    input += "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n";
    input += "ECHO \"quoted \\x41\" plain\r\n";  // inline with an escape: uses the scratch buffer
    input += "*4\r\n$4\r\nMGET\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n";
  }
  resp::RequestParser parser;
  resp::ReplyParser reply_parser;
  std::vector<std::string_view> argv;
  std::string out;
  out.reserve(4096);
  argv.reserve(8);

  const auto serve = [&](std::string_view& rest, int commands) {
    for (int i = 0; i < commands; ++i) {
      const resp::RequestResult r = parser.parse(rest, argv);
      ASSERT_TRUE(r.complete());
      out.clear();
      resp::Writer w(out, resp::Protocol::kResp3);
      w.array_header(argv.size());
      for (std::string_view a : argv) w.bulk(a);
      w.double_value(1.25);
      const resp::ReplyResult reply = reply_parser.parse(out);
      ASSERT_TRUE(reply.complete());
      for (const resp::Frame& e : reply.frame.elements()) ASSERT_FALSE(e.bytes().empty());
      rest.remove_prefix(r.consumed);
    }
  };
  std::string_view rest = input;
  serve(rest, 30);  // warm-up: buffers grow to fit
  const long before = allocations();
  serve(rest, 2900);
  EXPECT_EQ(allocations() - before, 0) << "heap allocations in steady state";
}

}  // namespace
