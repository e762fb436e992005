// The replica's cutter: only whole transactions, at every possible cut of the stream.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "db/log_records.hpp"
#include "dispatch/transaction_cutter.hpp"

namespace lfdb::dispatch {
namespace {

using db::encode_command;

// Three transactions: a single SET, a MULTI block of two commands, a DEL.
std::string stream(std::vector<std::size_t>& ends) {
  std::string s;
  encode_command(s, {"SET", "a", "1"});
  ends.push_back(s.size());
  encode_command(s, {"MULTI"});
  encode_command(s, {"DECRBY", "x", "5"});
  encode_command(s, {"INCRBY", "y", "5"});
  encode_command(s, {"EXEC"});
  ends.push_back(s.size());
  encode_command(s, {"DEL", "a"});
  ends.push_back(s.size());
  return s;
}

std::vector<std::string> flatten(const TransactionBatch& b, std::size_t t) {
  std::vector<std::string> out;
  b.for_each_command(t, [&](std::span<const std::string_view> argv) {
    std::string c;
    for (auto a : argv) c += std::string(a) + " ";
    out.push_back(c);
  });
  return out;
}

TEST(TransactionCutter, CutsWholeTransactions) {
  std::vector<std::size_t> ends;
  const std::string s = stream(ends);
  TransactionBatch b;
  ASSERT_TRUE(cut_transactions(s, b).ok());
  ASSERT_EQ(b.transactions(), 3u);
  EXPECT_EQ(b.consumed, s.size());
  EXPECT_EQ(flatten(b, 0), std::vector<std::string>{"SET a 1 "});
  EXPECT_EQ(flatten(b, 1), (std::vector<std::string>{"DECRBY x 5 ", "INCRBY y 5 "}));
  EXPECT_EQ(flatten(b, 2), std::vector<std::string>{"DEL a "});
}

TEST(TransactionCutter, EveryPrefixYieldsOnlyTheTransactionsItHoldsWhole) {
  std::vector<std::size_t> ends;
  const std::string s = stream(ends);
  for (std::size_t cut = 0; cut <= s.size(); ++cut) {
    TransactionBatch b;
    ASSERT_TRUE(cut_transactions(std::string_view(s).substr(0, cut), b).ok()) << cut;
    std::size_t whole = 0;
    while (whole < ends.size() && ends[whole] <= cut) ++whole;
    EXPECT_EQ(b.transactions(), whole) << "cut at " << cut;
    EXPECT_EQ(b.consumed, whole == 0 ? 0 : ends[whole - 1]) << "cut at " << cut;
    // Half a MULTI block never shows: its commands are not in the batch.
    std::size_t commands = 0;
    for (std::size_t t = 0; t < b.transactions(); ++t) commands += flatten(b, t).size();
    EXPECT_EQ(commands, whole == 0 ? 0 : whole == 1 ? 1 : whole == 2 ? 3 : 4) << cut;
  }
}

TEST(TransactionCutter, RefusesWhatIsNotALog) {
  TransactionBatch b;
  std::string s;
  encode_command(s, {"EXEC"});
  EXPECT_FALSE(cut_transactions(s, b).ok());
  s.clear();
  encode_command(s, {"MULTI"});
  encode_command(s, {"MULTI"});
  EXPECT_FALSE(cut_transactions(s, b).ok());
  EXPECT_FALSE(cut_transactions("*1\r\n$x\r\n", b).ok());
}

}  // namespace
}  // namespace lfdb::dispatch
