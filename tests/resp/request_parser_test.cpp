#include "resp/request_parser.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "request_harness.hpp"

namespace {

using resp::ParseStatus;
using resp::RequestParser;
using resp_test::command;
using resp_test::error;
using resp_test::Event;
using resp_test::need_more;
using resp_test::run_all_splits;
using V = std::vector<Event>;

constexpr std::string_view kSet = "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n";

TEST(RequestParser, MultibulkCommand) {
  EXPECT_EQ(run_all_splits(kSet), (V{command({"SET", "key", "value"})}));
}

TEST(RequestParser, ReportsConsumedBytesAndViewsIntoTheInput) {
  RequestParser parser;
  std::vector<std::string_view> argv;
  const std::string input = std::string(kSet) + "*1\r\n$4\r\nPING\r\n";
  const auto r = parser.parse(input, argv);
  ASSERT_TRUE(r.complete());
  EXPECT_EQ(r.consumed, kSet.size());
  ASSERT_EQ(argv.size(), 3u);
  EXPECT_EQ(argv[0].data(), input.data() + 8);   // zero-copy: "SET" inside the input
  EXPECT_EQ(argv[2].data(), input.data() + 26);  // "value"
}

TEST(RequestParser, PipelinedCommands) {
  const std::string input = std::string(kSet) + "*2\r\n$3\r\nGET\r\n$3\r\nkey\r\nPING\r\n" +
                            "*1\r\n$4\r\nQUIT\r\n";
  EXPECT_EQ(run_all_splits(input), (V{command({"SET", "key", "value"}), command({"GET", "key"}),
                                      command({"PING"}), command({"QUIT"})}));
}

TEST(RequestParser, BinarySafeBulksAndEmptyBulk) {
  const std::string input("*3\r\n$3\r\nSET\r\n$0\r\n\r\n$6\r\na\r\n\0b\n\r\n", 31);
  EXPECT_EQ(run_all_splits(input),
            (V{command({"SET", "", std::string("a\r\n\0b\n", 6)})}));
}

TEST(RequestParser, IncompleteInputNeedsMore) {
  EXPECT_EQ(run_all_splits("*3\r\n$3\r\nSET\r\n$3\r\nke"), (V{need_more()}));
  EXPECT_EQ(run_all_splits("*3\r"), (V{need_more()}));
  EXPECT_EQ(run_all_splits("PING"), (V{need_more()}));
}

TEST(RequestParser, EmptyCommandsAreSkippedLikeRedis) {
  // Blank inline lines, `*0` and negative counts produce no command; Redis answers the PING.
  EXPECT_EQ(run_all_splits("\r\n\n   \r\n*0\r\n*-1\r\n*-10\r\nPING\r\n"), (V{command({"PING"})}));
}

TEST(RequestParser, SkippedBytesAreConsumedEvenWithoutACommand) {
  RequestParser parser;
  std::vector<std::string_view> argv;
  const auto r = parser.parse("\r\n\r\n*0\r\n*1\r\n$4\r\nPI", argv);
  EXPECT_EQ(r.status, ParseStatus::kNeedMore);
  EXPECT_EQ(r.consumed, 8u);  // the blank lines and `*0`, not the partial command
  const auto r2 = parser.parse("*1\r\n$4\r\nPING\r\n", argv);
  ASSERT_TRUE(r2.complete());
  EXPECT_EQ(r2.consumed, 14u);
  EXPECT_EQ(argv, (std::vector<std::string_view>{"PING"}));
}

TEST(RequestParser, InlineCommands) {
  EXPECT_EQ(run_all_splits("PING\r\nSET a b\n  GET\t  x  \r\n"),
            (V{command({"PING"}), command({"SET", "a", "b"}), command({"GET", "x"})}));
}

TEST(RequestParser, InlineQuoting) {
  EXPECT_EQ(run_all_splits("SET \"hello world\" 'it''s'\r\n"),
            (V{error("ERR Protocol error: unbalanced quotes in request")}));
  EXPECT_EQ(run_all_splits("SET \"hello world\" 'it\\'s'\r\n"),
            (V{command({"SET", "hello world", "it's"})}));
  EXPECT_EQ(run_all_splits("ECHO \"\\x41\\x4a\\x4A\" \"\\n\\r\\t\\b\\a\\\\\\\"\"\r\n"),
            (V{command({"ECHO", "AJJ", "\n\r\t\b\a\\\""})}));
  // An escape Redis does not know stands for the byte itself; \x needs two hex digits.
  EXPECT_EQ(run_all_splits("ECHO \"\\q\\xZZ\\x4\"\r\n"), (V{command({"ECHO", "qxZZx4"})}));
  // Single quotes keep backslashes, except before a quote.
  EXPECT_EQ(run_all_splits("ECHO 'a\\nb'\r\n"), (V{command({"ECHO", "a\\nb"})}));
  // A quote inside a word opens a quoted part that is spliced onto the word.
  EXPECT_EQ(run_all_splits("ECHO ab\"c d\" e'f'\r\n"), (V{command({"ECHO", "abc d", "ef"})}));
  EXPECT_EQ(run_all_splits("SET k \"\" ''\r\n"), (V{command({"SET", "k", "", ""})}));
  // A closing quote may be followed by any blank, \v and \f included.
  EXPECT_EQ(run_all_splits("A \"b\"\v\"c\"\f'd'\r\n"), (V{command({"A", "b", "c", "d"})}));
}

TEST(RequestParser, InlineQuotingErrors) {
  const auto unbalanced = error("ERR Protocol error: unbalanced quotes in request");
  for (const char* line : {"SET \"a b\r\n", "SET 'a\r\n", "SET \"a\"b\r\n", "SET 'a'b\r\n",
                           "SET \"a\\\"\r\n", "\"\r\n", "SET \"a\\\r\n"}) {
    EXPECT_EQ(run_all_splits(line), (V{unbalanced})) << line;
  }
  // Commands before the bad line are still delivered, as Redis runs them before closing.
  EXPECT_EQ(run_all_splits("PING\r\nECHO \"oops\r\nPING\r\n"), (V{command({"PING"}), unbalanced}));
}

TEST(RequestParser, InlineNulEndsTheLineLikeRedis) {
  // Redis splits the line as a C string: what follows a NUL byte is ignored.
  EXPECT_EQ(run_all_splits(std::string("GET a\0b c\r\nPING\r\n", 17)),
            (V{command({"GET", "a"}), command({"PING"})}));
  EXPECT_EQ(run_all_splits(std::string("\0GET\r\nPING\r\n", 12)), (V{command({"PING"})}));
}

TEST(RequestParser, InlineArgumentsStayViewsUnlessSpliced) {
  RequestParser parser;
  std::vector<std::string_view> argv;
  const std::string input = "SET \"plain quoted\" esc\"\\x41\"\r\n";
  ASSERT_TRUE(parser.parse(input, argv).complete());
  ASSERT_EQ(argv.size(), 3u);
  EXPECT_EQ(argv[1], "plain quoted");
  EXPECT_EQ(argv[1].data(), input.data() + 5);  // no copy for a quoted word without escapes
  EXPECT_EQ(argv[2], "escA");
  const bool in_input = argv[2].data() >= input.data() && argv[2].data() < input.data() + input.size();
  EXPECT_FALSE(in_input);  // spliced: lives in the parser's scratch
}

TEST(RequestParser, ErrorStrings) {
  struct Case {
    std::string input;
    std::string reply;
  };
  const std::vector<Case> cases = {
      {"*abc\r\n", "ERR Protocol error: invalid multibulk length"},
      {"*2147483648\r\n", "ERR Protocol error: invalid multibulk length"},
      {"*+1\r\n", "ERR Protocol error: invalid multibulk length"},
      {"*01\r\n", "ERR Protocol error: invalid multibulk length"},
      {"*\r\n", "ERR Protocol error: invalid multibulk length"},
      {"*99999999999999999999\r\n", "ERR Protocol error: invalid multibulk length"},
      {"*1\r\n$-1\r\n", "ERR Protocol error: invalid bulk length"},
      {"*1\r\n$abc\r\n", "ERR Protocol error: invalid bulk length"},
      {"*1\r\n$\r\n", "ERR Protocol error: invalid bulk length"},
      {"*1\r\n$536870913\r\n", "ERR Protocol error: invalid bulk length"},
      {"*3\r\n$3\r\nSET\r\n$1\r\nx\r\nfooz\r\n", "ERR Protocol error: expected '$', got 'f'"},
      {"*1\r\n:1\r\n", "ERR Protocol error: expected '$', got ':'"},
      // CR and LF are blanked in the reply so it stays one line.
      {"*1\r\n\r\n", "ERR Protocol error: expected '$', got ' '"},
      {"*1\r\n\n\r\n", "ERR Protocol error: expected '$', got ' '"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(run_all_splits(c.input), (V{error(c.reply)})) << c.input;
  }
}

TEST(RequestParser, ErrorTextOfEveryCode) {
  using resp::RequestError;
  EXPECT_EQ(resp::error_message(RequestError::kTooBigMbulkCount),
            "ERR Protocol error: too big mbulk count string");
  EXPECT_EQ(resp::error_message(RequestError::kTooBigBulkCount),
            "ERR Protocol error: too big bulk count string");
  EXPECT_EQ(resp::error_message(RequestError::kTooBigInline),
            "ERR Protocol error: too big inline request");
  EXPECT_EQ(resp::error_message(RequestError::kUnbalancedQuotes),
            "ERR Protocol error: unbalanced quotes in request");
  EXPECT_EQ(resp::error_message(RequestError::kUnauthenticatedMultibulkLen),
            "ERR Protocol error: unauthenticated multibulk length");
  EXPECT_EQ(resp::error_message(RequestError::kUnauthenticatedBulkLen),
            "ERR Protocol error: unauthenticated bulk length");
  EXPECT_EQ(resp::error_message(RequestError::kExpectedDollar, 'x'),
            "ERR Protocol error: expected '$', got 'x'");
  EXPECT_EQ(resp::error_message(RequestError::kNone), "");
}

TEST(RequestParser, CommandsBeforeAnErrorAreDelivered) {
  EXPECT_EQ(run_all_splits(std::string(kSet) + "*x\r\n" + std::string(kSet)),
            (V{command({"SET", "key", "value"}),
               error("ERR Protocol error: invalid multibulk length")}));
}

TEST(RequestParser, MultibulkCountLimit) {
  // 1024*1024 arguments are allowed (the parser waits for them), one more is not.
  EXPECT_EQ(run_all_splits("*2147483647\r\n"), (V{need_more()}));
  resp_test::Options small;
  small.limits.max_multibulk_len = 3;
  EXPECT_EQ(run_all_splits("*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n", small),
            (V{command({"a", "b", "c"})}));
  EXPECT_EQ(run_all_splits("*4\r\n", small),
            (V{error("ERR Protocol error: invalid multibulk length")}));
}

TEST(RequestParser, BulkLengthLimit) {
  RequestParser parser;
  std::vector<std::string_view> argv;
  // The default proto-max-bulk-len, 512 MB, is accepted: the parser asks for exactly the rest.
  const auto r = parser.parse("*1\r\n$536870912\r\n", argv);
  EXPECT_EQ(r.status, ParseStatus::kNeedMore);
  EXPECT_EQ(r.need, 536870912u + 2);
  resp_test::Options small;
  small.limits.max_bulk_len = 5;
  EXPECT_EQ(run_all_splits("*1\r\n$5\r\nhello\r\n", small), (V{command({"hello"})}));
  EXPECT_EQ(run_all_splits("*1\r\n$6\r\nhello!\r\n", small),
            (V{error("ERR Protocol error: invalid bulk length")}));
}

TEST(RequestParser, TooBigInlineRequest) {
  const std::string at_limit(64 * 1024, 'a');
  EXPECT_EQ(run_all_splits(at_limit), (V{need_more()}));
  EXPECT_EQ(run_all_splits(at_limit + "\n"), (V{command({at_limit})}));
  EXPECT_EQ(run_all_splits(at_limit.substr(1) + "\r\n"), (V{command({at_limit.substr(1)})}));
  EXPECT_EQ(run_all_splits(at_limit + "a"), (V{error("ERR Protocol error: too big inline request")}));
  // Decided by the bytes before the '\n' (a '\r' counts), not by how much happened to be
  // buffered when the check ran: the same verdict for any split of the input.
  EXPECT_EQ(run_all_splits(at_limit + "\r\n"),
            (V{error("ERR Protocol error: too big inline request")}));
}

TEST(RequestParser, TooBigCountStrings) {
  const std::string digits(64 * 1024, '1');
  EXPECT_EQ(run_all_splits("*" + digits),
            (V{error("ERR Protocol error: too big mbulk count string")}));
  EXPECT_EQ(run_all_splits("*1\r\n$" + digits),
            (V{error("ERR Protocol error: too big bulk count string")}));
  // One byte less is still a line that may end: more input is needed.
  EXPECT_EQ(run_all_splits("*1\r\n$" + digits.substr(1)), (V{need_more()}));
  EXPECT_EQ(run_all_splits("*" + digits.substr(1)), (V{need_more()}));
  resp_test::Options small;
  small.limits.max_inline_len = 4;
  EXPECT_EQ(run_all_splits("*1\r\n$1234\r\n", small),
            (V{error("ERR Protocol error: too big bulk count string")}));
  EXPECT_EQ(run_all_splits("*1234\r\n", small),
            (V{error("ERR Protocol error: too big mbulk count string")}));
  EXPECT_EQ(run_all_splits("PINGS\r\n", small),
            (V{error("ERR Protocol error: too big inline request")}));
}

TEST(RequestParser, UnauthenticatedLimits) {
  resp_test::Options unauth;
  unauth.auth_required = true;
  EXPECT_EQ(run_all_splits("*11\r\n", unauth),
            (V{error("ERR Protocol error: unauthenticated multibulk length")}));
  EXPECT_EQ(run_all_splits("*10\r\n", unauth), (V{need_more()}));
  EXPECT_EQ(run_all_splits("*2\r\n$4\r\nAUTH\r\n$16385\r\n", unauth),
            (V{error("ERR Protocol error: unauthenticated bulk length")}));
  EXPECT_EQ(run_all_splits("*2\r\n$4\r\nAUTH\r\n$16384\r\n", unauth), (V{need_more()}));
  // The hard limit is checked first, as in Redis.
  EXPECT_EQ(run_all_splits("*2147483648\r\n", unauth),
            (V{error("ERR Protocol error: invalid multibulk length")}));
}

TEST(RequestParser, BigBulkIsIncrementalAndSaysWhatItNeeds) {
  // 8 MB in 64 KB reads: each call is O(1) while waiting, and `need` is exact, so a server can
  // reserve the whole bulk once.
  constexpr std::size_t kLen = 8 * 1024 * 1024;
  const std::string header = "*2\r\n$3\r\nSET\r\n$" + std::to_string(kLen) + "\r\n";
  RequestParser parser;
  std::vector<std::string_view> argv;
  std::string buf = header;
  auto r = parser.parse(buf, argv);
  ASSERT_EQ(r.status, ParseStatus::kNeedMore);
  EXPECT_EQ(r.need, kLen + 2);
  buf.reserve(header.size() + r.need);
  const std::string piece(64 * 1024, 'v');
  while (buf.size() < header.size() + kLen) {
    buf += piece;
    r = parser.parse(buf, argv);
    ASSERT_EQ(r.status, ParseStatus::kNeedMore);
    EXPECT_EQ(r.need, header.size() + kLen + 2 - buf.size());
    EXPECT_EQ(parser.validated(), header.size());  // resumes after the header, never rescans
  }
  buf += "\r\n";
  r = parser.parse(buf, argv);
  ASSERT_TRUE(r.complete());
  EXPECT_EQ(r.consumed, buf.size());
  ASSERT_EQ(argv.size(), 2u);
  EXPECT_EQ(argv[1].size(), kLen);
  EXPECT_EQ(parser.validated(), 0u);
}

TEST(RequestParser, ManyArgumentsArrivingInPiecesResumeWhereTheyStopped) {
  std::string input = "*20000\r\n";
  for (int i = 0; i < 20000; ++i) input += "$1\r\nx\r\n";
  RequestParser parser;
  std::vector<std::string_view> argv;
  std::string buf;
  std::size_t last_validated = 0;
  for (std::size_t fed = 0; fed < input.size(); fed += 100) {
    buf.append(input, fed, 100);
    const auto r = parser.parse(buf, argv);
    if (r.complete()) {
      EXPECT_EQ(argv.size(), 20000u);
      EXPECT_EQ(r.consumed, input.size());
      return;
    }
    ASSERT_EQ(r.status, ParseStatus::kNeedMore);
    EXPECT_GE(parser.validated(), last_validated);
    EXPECT_GE(parser.validated() + 100, buf.size());  // at most a piece behind the input
    last_validated = parser.validated();
  }
  FAIL() << "command never completed";
}

TEST(RequestParser, BufferMayMoveBetweenCalls) {
  RequestParser parser;
  std::vector<std::string_view> argv;
  std::string first(kSet.substr(0, 20));
  ASSERT_EQ(parser.parse(first, argv).status, ParseStatus::kNeedMore);
  std::string moved;  // a different allocation, as when a read buffer grows
  moved.reserve(1000);
  moved = std::string(kSet);
  first.clear();
  first.shrink_to_fit();
  const auto r = parser.parse(moved, argv);
  ASSERT_TRUE(r.complete());
  EXPECT_EQ(argv, (std::vector<std::string_view>{"SET", "key", "value"}));
  EXPECT_EQ(argv[1].data(), moved.data() + 17);
}

TEST(RequestParser, ShorterInputThanPromisedStartsOver) {
  RequestParser parser;
  std::vector<std::string_view> argv;
  ASSERT_EQ(parser.parse(kSet.substr(0, 30), argv).status, ParseStatus::kNeedMore);
  // A caller bug: fewer bytes than before. The parser must not trust its old offsets.
  EXPECT_EQ(parser.parse(kSet.substr(0, 5), argv).status, ParseStatus::kNeedMore);
  const auto r = parser.parse(kSet, argv);
  ASSERT_TRUE(r.complete());
  EXPECT_EQ(argv.size(), 3u);
}

TEST(RequestParser, ResetClearsAnError) {
  RequestParser parser;
  std::vector<std::string_view> argv;
  ASSERT_TRUE(parser.parse("*x\r\n", argv).failed());
  EXPECT_TRUE(parser.failed());
  parser.reset();
  EXPECT_FALSE(parser.failed());
  EXPECT_TRUE(parser.parse(kSet, argv).complete());
}

TEST(RequestParser, ArgvAndBuffersKeepTheirCapacity) {
  RequestParser parser;
  std::vector<std::string_view> argv;
  std::string input;
  for (int i = 0; i < 100; ++i) input += std::string(kSet) + "ECHO \"a\\x41\"\r\n";
  std::string_view rest = input;
  const auto* storage = static_cast<const void*>(nullptr);
  std::size_t capacity = 0;
  int commands = 0;
  while (!rest.empty()) {
    const auto r = parser.parse(rest, argv);
    ASSERT_TRUE(r.complete());
    if (commands == 2) {
      storage = argv.data();
      capacity = argv.capacity();
    } else if (commands > 2) {
      EXPECT_EQ(argv.data(), storage);  // the same storage, reused: no allocation per command
      EXPECT_EQ(argv.capacity(), capacity);
    }
    ++commands;
    rest.remove_prefix(r.consumed);
  }
  EXPECT_EQ(commands, 200);
}

}  // namespace

// parse_plain (the common case, which parse() takes first and the server's batch reads ahead
// with): for a plain complete command it hands out what parse() does; for anything else it
// returns 0, appends nothing, and parse() gives its own verdict (a command, an error, need more).
namespace plain {

std::vector<std::string_view> parsed(RequestParser& p, std::string_view in, std::size_t& consumed,
                                     ParseStatus& status) {
  std::vector<std::string_view> argv;
  const auto r = p.parse(in, argv);
  consumed = r.consumed;
  status = r.status;
  return argv;
}

TEST(RequestParser, PlainCommandsAreWhatParseHandsOut) {
  const std::string big(70000, 'v');
  const std::vector<std::string> inputs = {
      std::string(kSet), "*1\r\n$4\r\nPING\r\n*1\r\n$4\r\nPING\r\n",
      std::string("*3\r\n$3\r\nSET\r\n$0\r\n\r\n$6\r\na\r\n\0b\n\r\n", 31),
      "*2\r\n$3\r\nGET\r\n$3\r\nkeyXY",                              // trailing bytes unchecked
      "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$70000\r\n" + big + "\r\n"};
  for (const std::string& in : inputs) {
    RequestParser p;
    std::vector<std::string_view> fast{"kept"};
    const std::size_t n = p.parse_plain(in, fast);
    std::size_t consumed = 0;
    ParseStatus status{};
    const auto slow = parsed(p, in, consumed, status);
    ASSERT_EQ(status, ParseStatus::kComplete) << in;
    EXPECT_EQ(n, consumed) << in;
    ASSERT_EQ(fast.size(), slow.size() + 1) << in;  // appended after what was there
    for (std::size_t i = 0; i < slow.size(); ++i) {
      EXPECT_EQ(fast[i + 1].data(), slow[i].data());
      EXPECT_EQ(fast[i + 1].size(), slow[i].size());
    }
  }
}

TEST(RequestParser, PlainLeavesEverythingElseToParse) {
  struct Case {
    std::string in;
    ParseStatus status;
  };
  const std::vector<Case> cases = {
      {"*2\r\n$3\r\nGET\r\n$3\r\nke", ParseStatus::kNeedMore},          // cut short
      {"*2\r\n$3\r\nGET\r\n", ParseStatus::kNeedMore},
      {"PING\r\n", ParseStatus::kComplete},                            // inline
      {"*0\r\n*1\r\n$4\r\nPING\r\n", ParseStatus::kComplete},          // skipped, then a command
      {"*02\r\n$3\r\nGET\r\n$1\r\nk\r\n", ParseStatus::kError},        // leading zero
      {"*2\r\n$03\r\nGET\r\n$1\r\nk\r\n", ParseStatus::kError},
      {"*2\rx$3\r\nGET\r\n$1\r\nk\r\n", ParseStatus::kComplete},       // '\n' unchecked by parse
      {"*2\r\n$3\rxGET\r\n$1\r\nk\r\n", ParseStatus::kComplete},
      {"*1\r\n$-1\r\n", ParseStatus::kError},
      {"*1\r\n#3\r\nGET\r\n", ParseStatus::kError},
      {"*1\r\n$1234567890123456789\r\n", ParseStatus::kError},        // 19 digits
      {"*1\r\n$00\r\n\r\n", ParseStatus::kError},
      {"*1\r\n$\r\n\r\n", ParseStatus::kError},
      {"*-1\r\n", ParseStatus::kNeedMore},
  };
  for (const Case& c : cases) {
    RequestParser p;
    std::vector<std::string_view> fast{"kept"};
    EXPECT_EQ(p.parse_plain(c.in, fast), 0u) << c.in;
    EXPECT_EQ(fast.size(), 1u) << c.in;
    std::size_t consumed = 0;
    ParseStatus status{};
    (void)parsed(p, c.in, consumed, status);
    EXPECT_EQ(status, c.status) << c.in;
  }
  // The limits are the parser's own.
  RequestParser small;
  small.set_max_bulk_len(4);
  std::vector<std::string_view> argv;
  EXPECT_EQ(small.parse_plain("*2\r\n$3\r\nGET\r\n$5\r\nhello\r\n", argv), 0u);
  EXPECT_EQ(small.parse_plain("*2\r\n$3\r\nGET\r\n$4\r\nhell\r\n", argv), 23u);
  RequestParser stranger;
  stranger.set_auth_required(true);
  argv.clear();
  const std::string eleven = "*11\r\n" + [] {
    std::string s;
    for (int i = 0; i < 11; ++i) s += "$1\r\nx\r\n";
    return s;
  }();
  EXPECT_EQ(stranger.parse_plain(eleven, argv), 0u);
  EXPECT_EQ(stranger.parse_plain("*2\r\n$4\r\nAUTH\r\n$16385\r\n" + std::string(16385, 'p') + "\r\n", argv), 0u);
  EXPECT_TRUE(argv.empty());
}

}  // namespace plain
