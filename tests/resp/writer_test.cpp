#include "resp/writer.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

namespace {

using resp::Protocol;
using resp::Writer;

// Runs `fn` on a fresh writer of the given protocol and returns the bytes written.
template <class Fn>
std::string written(Protocol protocol, Fn fn) {
  std::string out;
  Writer w(out, protocol);
  fn(w);
  return out;
}

template <class Fn>
void expect_both(Fn fn, const std::string& resp2, const std::string& resp3) {
  EXPECT_EQ(written(Protocol::kResp2, fn), resp2);
  EXPECT_EQ(written(Protocol::kResp3, fn), resp3);
}

TEST(Writer, SameInBothProtocols) {
  expect_both([](Writer& w) { w.simple_string("OK"); }, "+OK\r\n", "+OK\r\n");
  expect_both([](Writer& w) { w.error("ERR unknown command 'x'"); }, "-ERR unknown command 'x'\r\n",
              "-ERR unknown command 'x'\r\n");
  expect_both([](Writer& w) { w.bulk("hello"); }, "$5\r\nhello\r\n", "$5\r\nhello\r\n");
  expect_both([](Writer& w) { w.bulk(""); }, "$0\r\n\r\n", "$0\r\n\r\n");
  expect_both([](Writer& w) { w.bulk(std::string_view("a\r\n\0", 4)); },
              std::string("$4\r\na\r\n\0\r\n", 10), std::string("$4\r\na\r\n\0\r\n", 10));
  expect_both([](Writer& w) { w.array_header(3); }, "*3\r\n", "*3\r\n");
  expect_both([](Writer& w) { w.raw("+PONG\r\n"); }, "+PONG\r\n", "+PONG\r\n");
}

TEST(Writer, LineRepliesStayOneLine) {
  expect_both([](Writer& w) { w.error("ERR bad\r\nthing"); }, "-ERR bad  thing\r\n",
              "-ERR bad  thing\r\n");
  expect_both([](Writer& w) { w.simple_string("a\nb"); }, "+a b\r\n", "+a b\r\n");
}

TEST(Writer, Integers) {
  const std::vector<std::pair<std::int64_t, std::string>> cases = {
      {0, ":0\r\n"},
      {1, ":1\r\n"},
      {-1, ":-1\r\n"},
      {9, ":9\r\n"},
      {10, ":10\r\n"},
      {99, ":99\r\n"},
      {100, ":100\r\n"},
      {12345, ":12345\r\n"},
      {-100000, ":-100000\r\n"},
      {1000000007, ":1000000007\r\n"},
      {INT64_MAX, ":9223372036854775807\r\n"},
      {INT64_MIN, ":-9223372036854775808\r\n"},
  };
  for (const auto& [value, bytes] : cases) {
    expect_both([v = value](Writer& w) { w.integer(v); }, bytes, bytes);
  }
  // Every digit count formats right (the two-digits-at-a-time loop has odd and even paths).
  std::int64_t v = 1;
  for (int digits = 1; digits <= 18; ++digits, v *= 10) {
    for (std::int64_t x : {v, v + 1, v * 10 - 1}) {
      EXPECT_EQ(written(Protocol::kResp2, [x](Writer& w) { w.integer(x); }),
                ":" + std::to_string(x) + "\r\n");
    }
  }
}

TEST(Writer, Nulls) {
  expect_both([](Writer& w) { w.null(); }, "$-1\r\n", "_\r\n");
  expect_both([](Writer& w) { w.null_array(); }, "*-1\r\n", "_\r\n");
}

TEST(Writer, AggregateHeaders) {
  expect_both([](Writer& w) { w.map_header(2); }, "*4\r\n", "%2\r\n");
  expect_both([](Writer& w) { w.set_header(3); }, "*3\r\n", "~3\r\n");
  expect_both([](Writer& w) { w.push_header(3); }, "*3\r\n", ">3\r\n");
  expect_both([](Writer& w) { w.array_header(0); }, "*0\r\n", "*0\r\n");
  std::string out;
  Writer w2(out, Protocol::kResp2);
  EXPECT_FALSE(w2.attribute_header(1));
  EXPECT_EQ(out, "");
  Writer w3(out, Protocol::kResp3);
  EXPECT_TRUE(w3.attribute_header(1));
  EXPECT_EQ(out, "|1\r\n");
}

TEST(Writer, Doubles) {
  expect_both([](Writer& w) { w.double_value(1.5); }, "$3\r\n1.5\r\n", ",1.5\r\n");
  // Redis 7.0 uses %.17g, which shows the binary value's digits.
  expect_both([](Writer& w) { w.double_value(0.1); }, "$19\r\n0.10000000000000001\r\n",
              ",0.10000000000000001\r\n");
  expect_both([](Writer& w) { w.double_value(3.0); }, "$1\r\n3\r\n", ",3\r\n");
  expect_both([](Writer& w) { w.double_value(-0.0); }, "$2\r\n-0\r\n", ",-0\r\n");
  expect_both([](Writer& w) { w.double_value(1e17); }, "$5\r\n1e+17\r\n", ",1e+17\r\n");
  expect_both([](Writer& w) { w.double_value(1.7976931348623157e308); },
              "$23\r\n1.7976931348623157e+308\r\n", ",1.7976931348623157e+308\r\n");
  expect_both([](Writer& w) { w.double_value(5e-324); }, "$23\r\n4.9406564584124654e-324\r\n",
              ",4.9406564584124654e-324\r\n");
  const double inf = std::numeric_limits<double>::infinity();
  expect_both([inf](Writer& w) { w.double_value(inf); }, "$3\r\ninf\r\n", ",inf\r\n");
  expect_both([inf](Writer& w) { w.double_value(-inf); }, "$4\r\n-inf\r\n", ",-inf\r\n");
  const double nan = std::numeric_limits<double>::quiet_NaN();
  expect_both([nan](Writer& w) { w.double_value(nan); }, "$3\r\nnan\r\n", ",nan\r\n");
  // RESP3 has one NaN spelling; RESP2 keeps what %.17g prints.
  expect_both([nan](Writer& w) { w.double_value(-nan); }, "$4\r\n-nan\r\n", ",nan\r\n");
}

TEST(Writer, Booleans) {
  expect_both([](Writer& w) { w.boolean(true); }, ":1\r\n", "#t\r\n");
  expect_both([](Writer& w) { w.boolean(false); }, ":0\r\n", "#f\r\n");
}

TEST(Writer, VerbatimStrings) {
  expect_both([](Writer& w) { w.verbatim("Some string"); }, "$11\r\nSome string\r\n",
              "=15\r\ntxt:Some string\r\n");
  expect_both([](Writer& w) { w.verbatim("# T", "mkd"); }, "$3\r\n# T\r\n", "=7\r\nmkd:# T\r\n");
  // Shorter formats are padded with spaces, longer ones cut to three bytes, as Redis does.
  expect_both([](Writer& w) { w.verbatim("x", "md"); }, "$1\r\nx\r\n", "=5\r\nmd :x\r\n");
  expect_both([](Writer& w) { w.verbatim("", "text"); }, "$0\r\n\r\n", "=4\r\ntex:\r\n");
}

TEST(Writer, BigNumbers) {
  expect_both([](Writer& w) { w.big_number("3492890328409238509324850943850943825024385"); },
              "$43\r\n3492890328409238509324850943850943825024385\r\n",
              "(3492890328409238509324850943850943825024385\r\n");
}

TEST(Writer, ProtocolSwitchesPerConnection) {
  std::string out;
  Writer w(out);
  EXPECT_EQ(w.protocol(), Protocol::kResp2);
  w.map_header(1);
  w.set_protocol(Protocol::kResp3);  // HELLO 3
  EXPECT_TRUE(w.resp3());
  w.map_header(1);
  EXPECT_EQ(out, "*2\r\n%1\r\n");
  EXPECT_EQ(&w.buffer(), &out);
}

TEST(Writer, AppendsToTheCallersStringWithoutReallocatingWhenItHasRoom) {
  std::string out;
  out.reserve(4096);
  const char* storage = out.data();
  for (int i = 0; i < 50; ++i) {
    out.clear();  // a connection reusing its output buffer after each flush
    Writer w(out, Protocol::kResp3);
    w.array_header(2);
    w.bulk("value");
    w.double_value(2.5);
  }
  EXPECT_EQ(out.data(), storage);
  EXPECT_EQ(out, "*2\r\n$5\r\nvalue\r\n,2.5\r\n");
}

TEST(Writer, AppendCommand) {
  std::string out = "prefix";
  const std::vector<std::string_view> argv = {"SET", "key", ""};
  resp::append_command(out, argv);
  EXPECT_EQ(out, "prefix*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$0\r\n\r\n");
}

}  // namespace
