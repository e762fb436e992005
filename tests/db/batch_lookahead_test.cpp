// BatchLookahead (src/db/batch_lookahead.cpp): its commands are the very commands the request
// parser cuts from the same input (same arguments at the same addresses, same bytes, in the same
// order), the guesses are their argv[1], the scan stops where it should (and where the parser's
// limits say), and a guess answers only for the bytes it hashed.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "db/batch_lookahead.hpp"
#include "db/key_table.hpp"
#include "resp/request_parser.hpp"

namespace {

using lfdb::db::BatchLookahead;
using lfdb::db::hash_of;

std::string command(const std::vector<std::string>& args) {
  std::string s = "*" + std::to_string(args.size()) + "\r\n";
  for (const std::string& a : args) s += "$" + std::to_string(a.size()) + "\r\n" + a + "\r\n";
  return s;
}

TEST(BatchLookahead, GuessesTheFirstArgumentOfEachCommand) {
  const std::string in = command({"GET", "key:1"}) + command({"SET", "key:22", "v"}) +
                         command({"PING"}) + command({"GET", "{tag}x"});
  const resp::RequestParser parser;
  BatchLookahead look;
  ASSERT_EQ(look.scan(in, parser), 4u);
  EXPECT_EQ(std::string_view(look.at(0).data, look.at(0).size), "key:1");
  EXPECT_EQ(look.at(0).hash, hash_of("key:1"));
  EXPECT_EQ(std::string_view(look.at(1).data, look.at(1).size), "key:22");
  EXPECT_EQ(look.at(1).hash, hash_of("key:22"));
  EXPECT_EQ(look.at(2).data, nullptr);  // no argument
  EXPECT_EQ(look.at(3).data, nullptr);  // a hash tag: its color hashes the tag only
  // The guesses point into the input itself.
  EXPECT_EQ(look.at(0).data, in.data() + in.find("key:1"));
}

TEST(BatchLookahead, StopsAtWhatItDoesNotRead) {
  const resp::RequestParser parser;
  BatchLookahead look;
  const std::string two = command({"GET", "a"}) + command({"GET", "b"});
  EXPECT_EQ(look.scan(two + "*2\r\n$3\r\nGET\r\n$5\r\nke", parser), 2u);  // incomplete
  EXPECT_EQ(look.scan(two + "PING\r\n" + command({"GET", "c"}), parser), 2u);  // inline
  EXPECT_EQ(look.scan(two + "*0\r\n" + command({"GET", "c"}), parser), 2u);   // empty, skipped by the parser
  EXPECT_EQ(look.scan(two + "*-1\r\n", parser), 2u);
  EXPECT_EQ(look.scan("*2\r\n$3\r\nGET\r\n$x\r\n", parser), 0u);
  EXPECT_EQ(look.scan("", parser), 0u);
  std::string many;
  for (int i = 0; i < 40; ++i) many += command({"GET", "k" + std::to_string(i)});
  EXPECT_EQ(look.scan(many, parser), BatchLookahead::kMax);
  EXPECT_EQ(std::string_view(look.at(15).data, look.at(15).size), "k15");
}

TEST(BatchLookahead, AGuessAnswersOnlyForTheBytesItHashed) {
  const std::string in = command({"GET", "key:1"}) + command({"GET", "key:2"});
  const resp::RequestParser parser;
  BatchLookahead look;
  ASSERT_EQ(look.scan(in, parser), 2u);
  const std::string_view first(look.at(0).data, look.at(0).size);
  std::uint64_t h = 0;
  EXPECT_TRUE(look.hash_of_guess(0, first, h));
  EXPECT_EQ(h, hash_of("key:1"));
  const std::string copy(first);  // equal bytes elsewhere
  EXPECT_FALSE(look.hash_of_guess(0, copy, h));
  EXPECT_FALSE(look.hash_of_guess(1, first, h));   // another command's key
  EXPECT_FALSE(look.hash_of_guess(2, first, h));   // past the scan
  EXPECT_FALSE(look.hash_of_guess(0, first.substr(0, 3), h));
  look.clear();
  EXPECT_FALSE(look.hash_of_guess(0, first, h));
}

// Random batches: each guess is the parser's argv[1] of the command with the same number.
TEST(BatchLookahead, AgreesWithTheRequestParser) {
  std::mt19937 rng(7);
  for (int round = 0; round < 500; ++round) {
    std::string in;
    const int n = static_cast<int>(rng() % 24);
    for (int i = 0; i < n; ++i) {
      std::vector<std::string> args{"CMD"};
      const int argc = static_cast<int>(rng() % 4);
      for (int a = 0; a < argc; ++a) args.push_back(std::string(1 + rng() % 40, static_cast<char>('a' + rng() % 26)));
      in += command(args);
    }
    if (rng() % 2) in += "*3\r\n$3\r\nSET\r\n";  // a command cut short
    resp::RequestParser parser;
    BatchLookahead look;
    const std::size_t found = look.scan(in, parser);
    std::vector<std::string_view> argv;
    std::string_view rest = in;
    std::size_t parsed = 0;
    for (; parsed < found; ++parsed) {
      const resp::RequestResult r = parser.parse(rest, argv);
      ASSERT_TRUE(r.complete());
      EXPECT_EQ(look.bytes(parsed), r.consumed);
      const auto mine = look.argv(parsed);
      ASSERT_EQ(mine.size(), argv.size());
      for (std::size_t a = 0; a < argv.size(); ++a) {
        EXPECT_EQ(mine[a].data(), argv[a].data());
        EXPECT_EQ(mine[a].size(), argv[a].size());
      }
      if (argv.size() >= 2) {
        EXPECT_EQ(look.at(parsed).data, argv[1].data());
        EXPECT_EQ(look.at(parsed).size, argv[1].size());
      } else {
        EXPECT_EQ(look.at(parsed).data, nullptr);
      }
      rest.remove_prefix(r.consumed);
    }
    EXPECT_EQ(found, std::min<std::size_t>(static_cast<std::size_t>(n), BatchLookahead::kMax));
  }
}

// What the parser would refuse or read otherwise is left to it: the scan stops before it.
TEST(BatchLookahead, LeavesToTheParserWhatItsLimitsRefuse) {
  const std::string two = command({"GET", "a"}) + command({"GET", "b"});
  const std::string big = command({"SET", "k", std::string(2000, 'v')});
  resp::RequestParser parser;
  BatchLookahead look;
  EXPECT_EQ(look.scan(two + big, parser), 3u);
  parser.set_max_bulk_len(1000);  // proto-max-bulk-len
  EXPECT_EQ(look.scan(two + big, parser), 2u);
  parser.set_max_bulk_len(512ull * 1024 * 1024);
  EXPECT_EQ(look.scan(two + "*02\r\n$3\r\nGET\r\n$1\r\nc\r\n", parser), 2u);  // a leading zero
  EXPECT_EQ(look.scan(two + "*2\r\n$03\r\nGET\r\n$1\r\nc\r\n", parser), 2u);
  EXPECT_EQ(look.scan(two + "*2\n\n$3\r\nGET\r\n$1\r\nc\r\n", parser), 2u);  // no '\r'
  EXPECT_EQ(look.scan(two + "*1\r\n$-1\r\n", parser), 2u);  // a negative length
  // Before AUTH (a password is set) the limits are Redis's for strangers: 10 arguments, 16 KB.
  parser.set_auth_required(true);
  const std::string eleven = command({"A", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10"});
  EXPECT_EQ(look.scan(two + eleven, parser), 2u);
  EXPECT_EQ(look.scan(two + command({"SET", "k", std::string(20000, 'v')}), parser), 2u);
  EXPECT_EQ(look.scan(two + big, parser), 3u);
}

// A scan holds at most kMaxArgs arguments' views (the command that reaches it is kept whole).
TEST(BatchLookahead, StopsAfterManyArguments) {
  std::vector<std::string> mset{"MSET"};
  for (int i = 0; i < 300; ++i) mset.push_back("x");
  const std::string in = command({"GET", "a"}) + command(mset) + command({"GET", "b"});
  const resp::RequestParser parser;
  BatchLookahead look;
  ASSERT_EQ(look.scan(in, parser), 2u);
  EXPECT_EQ(look.argv(1).size(), mset.size());
  EXPECT_EQ(look.bytes(0) + look.bytes(1), in.size() - command({"GET", "b"}).size());
}

}  // namespace
