#include "resp/reply_parser.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "reply_harness.hpp"

namespace {

using resp::ParseStatus;
using resp::ReplyParser;
using resp::ReplyType;
using resp_test::replies_all_splits;
using S = std::vector<std::string>;

TEST(ReplyParser, Resp2Scalars) {
  EXPECT_EQ(replies_all_splits("+OK\r\n-ERR unknown command\r\n:42\r\n:-7\r\n$5\r\nhello\r\n"
                               "$0\r\n\r\n$-1\r\n*-1\r\n"),
            (S{"+OK", "-ERR unknown command", ":42", ":-7", "$hello", "$", "nil", "nil*"}));
}

TEST(ReplyParser, Resp3Scalars) {
  EXPECT_EQ(replies_all_splits("_\r\n,3.14\r\n,-inf\r\n,nan\r\n#t\r\n#f\r\n!8\r\nSYNTAX x\r\n"
                               "=15\r\ntxt:Some string\r\n(3492890328409238509324850943850943825024385\r\n"),
            (S{"_", ",3.14", ",-inf", ",nan", "#t", "#f", "!SYNTAX x", "=txt:Some string",
               "(3492890328409238509324850943850943825024385"}));
}

TEST(ReplyParser, ScalarPayloadsAndValues) {
  ReplyParser p;
  auto r = p.parse(",1.5e3\r\n");
  ASSERT_TRUE(r.complete());
  EXPECT_EQ(r.frame.type(), ReplyType::kDouble);
  EXPECT_EQ(r.frame.payload(), "1.5e3");
  EXPECT_DOUBLE_EQ(r.frame.number(), 1500.0);
  r = p.parse(",-inf\r\n");
  EXPECT_TRUE(std::isinf(r.frame.number()) && r.frame.number() < 0);
  r = p.parse(",nan\r\n");
  EXPECT_TRUE(std::isnan(r.frame.number()));
  r = p.parse(",1e400\r\n");
  EXPECT_TRUE(std::isinf(r.frame.number()));
  r = p.parse(":-9223372036854775808\r\n");
  EXPECT_EQ(r.frame.integer(), INT64_MIN);
  r = p.parse(":+5\r\n");  // the RESP3 spec allows a plus sign
  EXPECT_EQ(r.frame.integer(), 5);
  r = p.parse("$3\r\nfoo\r\n");
  EXPECT_EQ(r.frame.count(), 3);
  EXPECT_EQ(r.frame.payload(), "foo");
  EXPECT_FALSE(r.frame.is_null());
  r = p.parse("!3\r\nBAD\r\n");
  EXPECT_TRUE(r.frame.is_error());
  EXPECT_EQ(r.frame.payload(), "BAD");
  r = p.parse("=8\r\nmkd:# hi\r\n");
  EXPECT_EQ(r.frame.verbatim_format(), "mkd");
  EXPECT_EQ(r.frame.verbatim_text(), "# hi");
  EXPECT_EQ(r.frame.payload(), "mkd:# hi");
  r = p.parse("_\r\n");
  EXPECT_TRUE(r.frame.is_null());
  EXPECT_EQ(r.frame.bytes(), "_\r\n");
}

TEST(ReplyParser, NestedAggregates) {
  EXPECT_EQ(replies_all_splits("*3\r\n:1\r\n*2\r\n$1\r\na\r\n$-1\r\n*0\r\n"),
            (S{"*[:1, *[$a, nil], *[]]"}));
  EXPECT_EQ(replies_all_splits("%2\r\n+first\r\n:1\r\n+second\r\n~2\r\n#t\r\n_\r\n"),
            (S{"%[+first, :1, +second, ~[#t, _]]"}));
  EXPECT_EQ(replies_all_splits(">3\r\n+message\r\n+chan\r\n$5\r\nhello\r\n"),
            (S{">[+message, +chan, $hello]"}));
  // Deep nesting costs no memory: only a count of owed elements is kept.
  std::string deep;
  for (int i = 0; i < 10000; ++i) deep += "*1\r\n";
  deep += ":7\r\n";
  ReplyParser p;
  const auto r = p.parse(deep);
  ASSERT_TRUE(r.complete());
  EXPECT_EQ(r.frame.bytes().size(), deep.size());
}

TEST(ReplyParser, AttributesPrecedeTheReplyTheyAnnotate) {
  const std::string attr = "|1\r\n+key-popularity\r\n%2\r\n$1\r\na\r\n,0.1923\r\n$1\r\nb\r\n,0.0012\r\n";
  EXPECT_EQ(replies_all_splits(attr + "*2\r\n:2039123\r\n:9543892\r\n"),
            (S{"attr(" + attr + ")*[:2039123, :9543892]"}));
  // Inside an aggregate an attribute is not an element: the array still has two.
  EXPECT_EQ(replies_all_splits("*2\r\n|1\r\n+ttl\r\n:3600\r\n$1\r\nv\r\n:5\r\n"),
            (S{"*[attr(|1\r\n+ttl\r\n:3600\r\n)$v, :5]"}));
  ReplyParser p;
  const std::string annotated = attr + ":1\r\n";  // the frame views these bytes: keep them
  const auto r = p.parse(annotated);
  ASSERT_TRUE(r.complete());
  EXPECT_EQ(r.frame.type(), ReplyType::kInteger);
  EXPECT_EQ(r.frame.attribute(), attr);
  EXPECT_EQ(r.frame.integer(), 1);
}

TEST(ReplyParser, PipelinedRepliesAndIncompleteOnes) {
  EXPECT_EQ(replies_all_splits("+OK\r\n:1\r\n*2\r\n$1\r\nx\r\n"), (S{"+OK", ":1", "MORE"}));
  EXPECT_EQ(replies_all_splits("$5\r\nhel"), (S{"MORE"}));
  EXPECT_EQ(replies_all_splits("+OK\r"), (S{"MORE"}));
}

TEST(ReplyParser, MgetMergeWalksTheElements) {
  // What the gateway does with the per-shard parts of a split MGET.
  const std::string shard_a = "*2\r\n$2\r\nv1\r\n$-1\r\n";
  const std::string shard_b = "*1\r\n$2\r\nv3\r\n";
  ReplyParser pa;
  ReplyParser pb;
  const auto a = pa.parse(shard_a);
  const auto b = pb.parse(shard_b);
  ASSERT_TRUE(a.complete() && b.complete());
  std::string merged = "*" + std::to_string(a.frame.element_count() + b.frame.element_count()) + "\r\n";
  for (const auto& e : a.frame.elements()) merged += e.bytes();
  for (const auto& e : b.frame.elements()) merged += e.bytes();
  EXPECT_EQ(merged, "*3\r\n$2\r\nv1\r\n$-1\r\n$2\r\nv3\r\n");
  auto it = a.frame.elements().begin();
  EXPECT_EQ(it->payload(), "v1");
  ++it;
  EXPECT_TRUE(it->is_null());
  ++it;
  EXPECT_TRUE(it == std::default_sentinel);
}

TEST(ReplyParser, Errors) {
  struct Case {
    std::string input;
    std::string error;
  };
  const std::vector<Case> cases = {
      {"?\r\n", "invalid reply type byte"},
      {"+OK\rX", "expected CRLF"},
      {"$3\r\nfooXY", "expected CRLF"},
      {"$x\r\n", "invalid length"},
      {"$-2\r\n", "invalid length"},
      {"!-1\r\n", "invalid length"},
      {"%-1\r\n", "invalid length"},
      {"*01\r\n", "invalid length"},
      {":1.5\r\n", "invalid integer"},
      {":\r\n", "invalid integer"},
      {":99999999999999999999\r\n", "invalid integer"},
      {",1.\r\n", "invalid double"},
      {",abc\r\n", "invalid double"},
      {",\r\n", "invalid double"},
      {",1e\r\n", "invalid double"},
      {"#x\r\n", "invalid boolean"},
      {"#\r\n", "invalid boolean"},
      {"_x\r\n", "invalid null"},
      {"(12a\r\n", "invalid big number"},
      {"(\r\n", "invalid big number"},
      {"=3\r\ntxt\r\n", "invalid verbatim string"},
      {"=4\r\ntxtx\r\n", "invalid verbatim string"},
      {"*2\r\n:1\r\n?\r\n", "invalid reply type byte"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(replies_all_splits(c.input), (S{"ERR:" + c.error})) << c.input;
  }
}

TEST(ReplyParser, Limits) {
  resp::ReplyLimits small;
  small.max_bulk_len = 4;
  small.max_aggregate_len = 2;
  small.max_line_len = 5;
  EXPECT_EQ(replies_all_splits("$4\r\nabcd\r\n*2\r\n:1\r\n:2\r\n+12345\r\n", small),
            (S{"$abcd", "*[:1, :2]", "+12345"}));
  EXPECT_EQ(replies_all_splits("$5\r\n", small), (S{"ERR:bulk too long"}));
  EXPECT_EQ(replies_all_splits("*3\r\n", small), (S{"ERR:too many elements"}));
  EXPECT_EQ(replies_all_splits("%3\r\n", small), (S{"ERR:too many elements"}));
  EXPECT_EQ(replies_all_splits("+123456\r\n", small), (S{"ERR:line too long"}));
  EXPECT_EQ(replies_all_splits("+123456", small), (S{"ERR:line too long"}));
}

TEST(ReplyParser, OwedElementsCannotOverflow) {
  // Huge declared counts only make the parser wait (nothing is allocated for them)...
  std::string many;
  for (int i = 0; i < 100; ++i) many += "*4294967295\r\n";
  EXPECT_EQ(replies_all_splits(many), (S{"MORE"}));
  // ...and with the aggregate limit lifted, the count of owed elements still cannot wrap.
  resp::ReplyLimits unlimited;
  unlimited.max_aggregate_len = UINT64_MAX;
  EXPECT_EQ(replies_all_splits("*9223372036854775807\r\n", unlimited), (S{"ERR:too many elements"}));
  EXPECT_EQ(replies_all_splits("*72057594037927935\r\n*72057594037927935\r\n", unlimited),
            (S{"ERR:too many elements"}));
}

TEST(ReplyParser, BigBlobIsIncrementalAndSaysWhatItNeeds) {
  constexpr std::size_t kLen = 4 * 1024 * 1024;
  std::string buf = "*2\r\n:1\r\n$" + std::to_string(kLen) + "\r\n";
  const std::size_t header = buf.size();
  ReplyParser p;
  auto r = p.parse(buf);
  ASSERT_EQ(r.status, ParseStatus::kNeedMore);
  EXPECT_EQ(r.need, kLen + 2);
  const std::string piece(64 * 1024, 'z');
  while (buf.size() < header + kLen) {
    buf += piece;
    r = p.parse(buf);
    ASSERT_EQ(r.status, ParseStatus::kNeedMore);
    EXPECT_EQ(r.need, header + kLen + 2 - buf.size());
    EXPECT_EQ(p.validated(), header);
  }
  buf += "\r\n";
  r = p.parse(buf);
  ASSERT_TRUE(r.complete());
  EXPECT_EQ(r.frame.bytes().size(), buf.size());
  auto it = r.frame.elements().begin();
  ++it;
  EXPECT_EQ(it->payload().size(), kLen);
}

TEST(ReplyParser, ManyElementsArrivingInPieces) {
  std::string input = "*30000\r\n";
  for (int i = 0; i < 30000; ++i) input += ":" + std::to_string(i) + "\r\n";
  ReplyParser p;
  std::string buf;
  for (std::size_t fed = 0; fed < input.size(); fed += 100) {
    buf.append(input, fed, 100);
    const auto r = p.parse(buf);
    if (r.complete()) {
      EXPECT_EQ(r.frame.element_count(), 30000u);
      std::int64_t sum = 0;
      for (const auto& e : r.frame.elements()) sum += e.integer();
      EXPECT_EQ(sum, 30000LL * 29999 / 2);
      return;
    }
    ASSERT_EQ(r.status, ParseStatus::kNeedMore);
    EXPECT_GE(p.validated() + 100, buf.size());  // resumes close to the end of the input
  }
  FAIL() << "frame never completed";
}

TEST(ReplyParser, ResetAfterError) {
  ReplyParser p;
  EXPECT_TRUE(p.parse("?").failed());
  EXPECT_TRUE(p.failed());
  p.reset();
  EXPECT_TRUE(p.parse("+OK\r\n").complete());
}

}  // namespace
