// Writer output must be what the parsers read back: serialize, parse, compare.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "reply_harness.hpp"
#include "request_harness.hpp"
#include "resp/reply_parser.hpp"
#include "resp/request_parser.hpp"
#include "resp/writer.hpp"

namespace {

using resp::Protocol;
using resp::ReplyType;
using resp::Writer;

// Every writer call once, nested: an array holding a map and a set.
void write_everything(Writer& w) {
  w.array_header(14);
  w.simple_string("OK");
  w.error("WRONGTYPE Operation against a key holding the wrong kind of value");
  w.integer(-42);
  w.bulk(std::string_view("bin\r\n\0ary", 9));
  w.null();
  w.null_array();
  w.double_value(0.25);
  w.double_value(-std::numeric_limits<double>::infinity());
  w.boolean(true);
  w.verbatim("text", "txt");
  w.big_number("-123456789012345678901234567890");
  w.map_header(2);
  w.bulk("k1");
  w.integer(1);
  w.bulk("k2");
  w.set_header(2);
  w.bulk("a");
  w.bulk("b");
  w.set_header(0);
  w.push_header(2);
  w.bulk("message");
  w.bulk("hi");
}

TEST(RoundTrip, Resp3RepliesParseBackToWhatWasWritten) {
  std::string out;
  Writer w(out, Protocol::kResp3);
  write_everything(w);
  EXPECT_EQ(resp_test::replies_all_splits(out),
            (std::vector<std::string>{
                "*[+OK, -WRONGTYPE Operation against a key holding the wrong kind of value, :-42, "
                "$" + std::string("bin\r\n\0ary", 9) + ", _, _, ,0.25, ,-inf, #t, =txt:text, "
                "(-123456789012345678901234567890, %[$k1, :1, $k2, ~[$a, $b]], ~[], "
                ">[$message, $hi]]"}));
  resp::ReplyParser p;
  const auto r = p.parse(out);
  ASSERT_TRUE(r.complete());
  EXPECT_EQ(r.frame.bytes().size(), out.size());
  auto it = r.frame.elements().begin();
  for (int i = 0; i < 6; ++i) ++it;
  EXPECT_EQ(it->type(), ReplyType::kDouble);
  EXPECT_EQ(it->number(), 0.25);
}

TEST(RoundTrip, Resp2RepliesParseBackToWhatWasWritten) {
  std::string out;
  Writer w(out, Protocol::kResp2);
  write_everything(w);
  EXPECT_EQ(resp_test::replies_all_splits(out),
            (std::vector<std::string>{
                "*[+OK, -WRONGTYPE Operation against a key holding the wrong kind of value, :-42, "
                "$" + std::string("bin\r\n\0ary", 9) + ", nil, nil*, $0.25, $-inf, :1, $text, "
                "$-123456789012345678901234567890, *[$k1, :1, $k2, *[$a, $b]], *[], "
                "*[$message, $hi]]"}));
}

TEST(RoundTrip, DoublesSurviveTheTrip) {
  for (double d : {0.1, -2.5e-300, 1e300, 123456789.125, 5e-324, -0.0}) {
    std::string out;
    Writer w(out, Protocol::kResp3);
    w.double_value(d);
    resp::ReplyParser p;
    const auto r = p.parse(out);
    ASSERT_TRUE(r.complete()) << out;
    EXPECT_EQ(r.frame.number(), d) << out;  // %.17g is exact for every double
  }
}

TEST(RoundTrip, CommandsParseBackToTheirArguments) {
  const std::vector<std::vector<std::string>> commands = {
      {"SET", "key", "value"},
      {"PING"},
      {"MSET", "a", "", "b", std::string("\0\r\n\r\n", 5)},
      {std::string(1000, 'x')},
  };
  std::string stream;
  for (const auto& c : commands) {
    std::vector<std::string_view> views(c.begin(), c.end());
    resp::append_command(stream, views);
  }
  std::vector<resp_test::Event> expected;
  for (const auto& c : commands) expected.push_back(resp_test::command(c));
  EXPECT_EQ(resp_test::run_all_splits(stream), expected);
}

}  // namespace
