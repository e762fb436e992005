// The terminals' protocol logic, fed scripted replies (no server): what each step sends, a nil
// EXEC retried, sold out and declined as normal endings, errors counted by kind, pipelined
// getset replies matched to their commands in order.
#include <gtest/gtest.h>

#include <deque>
#include <string>

#include "bench/workloads.hpp"

namespace {

using bench::OpResult;
using bench::Options;
using bench::Terminal;

// Parses one reply and hands it to the terminal; the bytes live as long as the call.
bool feed(Terminal& t, const std::string& bytes, std::string& out, OpResult& r) {
  resp::ReplyParser parser;
  resp::ReplyResult res = parser.parse(bytes);
  EXPECT_TRUE(res.complete()) << bytes;
  EXPECT_EQ(res.frame.bytes().size(), bytes.size()) << bytes;
  return t.on_reply(res.frame, out, r);
}

// The command names in a buffer of RESP requests, in order.
std::deque<std::string> names(const std::string& out) {
  std::deque<std::string> v;
  std::size_t pos = 0;
  while ((pos = out.find('*', pos)) != std::string::npos) {
    std::size_t dollar = out.find('$', pos);
    std::size_t nl = out.find("\r\n", dollar);
    std::size_t len = std::stoul(out.substr(dollar + 1, nl - dollar - 1));
    v.push_back(out.substr(nl + 2, len));
    pos = nl + 2 + len;
  }
  return v;
}

std::unique_ptr<bench::Workload> workload(Options& o) {
  auto w = bench::make_workload(o);
  EXPECT_TRUE(w.ok());
  w.value()->prepare(1);
  return std::move(w.value());
}

TEST(ReservationTerminal, BooksRetriesAndSellsOut) {
  Options o;
  o.workload = bench::WorkloadKind::kReservation;
  o.flights = 1;
  auto w = workload(o);
  auto t = w->make_terminal(0, 7, bench::Rng(1));
  std::string out;
  OpResult r;

  t->begin(out);
  EXPECT_EQ(names(out), (std::deque<std::string>{"WATCH", "GET"}));
  EXPECT_NE(out.find("flight:{0}:seats"), std::string::npos);  // the flight's hash tag
  out.clear();
  EXPECT_FALSE(feed(*t, "+OK\r\n", out, r));
  EXPECT_FALSE(feed(*t, "$1\r\n5\r\n", out, r));  // 5 seats left: book one
  EXPECT_EQ(names(out), (std::deque<std::string>{"MULTI", "DECR", "HSET", "INCR", "EXEC"}));
  EXPECT_NE(out.find("flight:{0}:booked"), std::string::npos);
  out.clear();
  EXPECT_FALSE(feed(*t, "+OK\r\n", out, r));
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(feed(*t, "+QUEUED\r\n", out, r));
  EXPECT_FALSE(feed(*t, "*-1\r\n", out, r));  // WATCH conflict: start again
  EXPECT_EQ(names(out), (std::deque<std::string>{"WATCH", "GET"}));
  out.clear();
  EXPECT_FALSE(feed(*t, "+OK\r\n", out, r));
  EXPECT_FALSE(feed(*t, "$1\r\n4\r\n", out, r));
  out.clear();
  EXPECT_FALSE(feed(*t, "+OK\r\n", out, r));
  for (int i = 0; i < 3; ++i) EXPECT_FALSE(feed(*t, "+QUEUED\r\n", out, r));
  EXPECT_TRUE(feed(*t, "*3\r\n:3\r\n:1\r\n:1\r\n", out, r));
  EXPECT_EQ(r.outcome, "booked");
  EXPECT_TRUE(r.error.empty());
  EXPECT_EQ(r.retries, 1u);
  EXPECT_TRUE(out.empty());

  r = OpResult{};
  t->begin(out);
  out.clear();
  EXPECT_FALSE(feed(*t, "+OK\r\n", out, r));
  EXPECT_FALSE(feed(*t, "$1\r\n0\r\n", out, r));  // sold out: release the WATCH
  EXPECT_EQ(names(out), (std::deque<std::string>{"UNWATCH"}));
  out.clear();
  EXPECT_TRUE(feed(*t, "+OK\r\n", out, r));
  EXPECT_EQ(r.outcome, "sold_out");
  EXPECT_TRUE(r.error.empty());
  EXPECT_EQ(r.retries, 0u);
}

TEST(ReservationTerminal, ErrorsEndTheOperationWithTheirKind) {
  Options o;
  o.workload = bench::WorkloadKind::kReservation;
  o.flights = 3;
  auto w = workload(o);
  auto t = w->make_terminal(0, 1, bench::Rng(2));
  std::string out;
  OpResult r;
  t->begin(out);
  out.clear();
  EXPECT_FALSE(feed(*t, "-NOAUTH Authentication required.\r\n", out, r));
  EXPECT_TRUE(feed(*t, "-NOAUTH Authentication required.\r\n", out, r));
  EXPECT_EQ(r.error, "NOAUTH");
  EXPECT_TRUE(out.empty());

  // EXECABORT after a queueing error: nothing ran.
  r = OpResult{};
  t->begin(out);
  out.clear();
  EXPECT_FALSE(feed(*t, "+OK\r\n", out, r));
  EXPECT_FALSE(feed(*t, "$2\r\n10\r\n", out, r));
  out.clear();
  EXPECT_FALSE(feed(*t, "+OK\r\n", out, r));
  EXPECT_FALSE(feed(*t, "-ERR unknown command\r\n", out, r));
  EXPECT_FALSE(feed(*t, "+QUEUED\r\n", out, r));
  EXPECT_FALSE(feed(*t, "+QUEUED\r\n", out, r));
  EXPECT_TRUE(feed(*t, "-EXECABORT Transaction discarded because of previous errors.\r\n", out, r));
  EXPECT_EQ(r.error, "ERR");  // the first error of the operation names it

  // A flight that does not exist.
  r = OpResult{};
  t->begin(out);
  out.clear();
  EXPECT_FALSE(feed(*t, "+OK\r\n", out, r));
  EXPECT_TRUE(feed(*t, "$-1\r\n", out, r));
  EXPECT_EQ(r.error, "flight missing");
}

TEST(ReservationTerminal, GivesUpAfterMaxRetries) {
  Options o;
  o.workload = bench::WorkloadKind::kReservation;
  o.flights = 1;
  o.max_retries = 2;
  auto w = workload(o);
  auto t = w->make_terminal(0, 1, bench::Rng(3));
  std::string out;
  OpResult r;
  t->begin(out);
  bool done = false;
  int attempts = 0;
  while (!done) {
    ++attempts;
    ASSERT_FALSE(feed(*t, "+OK\r\n", out, r));
    ASSERT_FALSE(feed(*t, "$1\r\n9\r\n", out, r));
    ASSERT_FALSE(feed(*t, "+OK\r\n", out, r));
    for (int i = 0; i < 3; ++i) ASSERT_FALSE(feed(*t, "+QUEUED\r\n", out, r));
    done = feed(*t, "*-1\r\n", out, r);
  }
  EXPECT_EQ(attempts, 3);
  EXPECT_EQ(r.error, "retries exhausted");
  EXPECT_EQ(r.retries, 3u);
}

TEST(TransferTerminal, MovesMoneyOrDeclinesAnOverdraft) {
  Options o;
  o.workload = bench::WorkloadKind::kTransfer;
  o.branches = 2;
  o.accounts = 5;
  o.tellers = 2;
  auto w = workload(o);
  int declined = 0, moved = 0;
  for (std::uint64_t seed = 0; seed < 20; ++seed) {
    auto t = w->make_terminal(0, seed, bench::Rng(seed));
    std::string out;
    OpResult r;
    t->begin(out);
    ASSERT_EQ(names(out), (std::deque<std::string>{"WATCH", "GET"}));
    EXPECT_NE(out.find("account:{b"), std::string::npos);
    out.clear();
    ASSERT_FALSE(feed(*t, "+OK\r\n", out, r));
    ASSERT_FALSE(feed(*t, "$1\r\n0\r\n", out, r));  // an empty account: only deposits go through
    if (names(out) == std::deque<std::string>{"UNWATCH"}) {
      ASSERT_TRUE(feed(*t, "+OK\r\n", out, r));
      EXPECT_EQ(r.outcome, "declined");
      ++declined;
      continue;
    }
    ASSERT_EQ(names(out), (std::deque<std::string>{"MULTI", "INCRBY", "INCRBY", "INCRBY", "HSET", "EXEC"}));
    // The delta is positive, and the same on account, teller and branch, all in one branch.
    std::size_t p = out.find("INCRBY");
    std::size_t key_end = out.find("\r\n", out.find("\r\n", p + 8) + 2);
    std::string tail = out.substr(key_end + 2);
    std::size_t nl = tail.find("\r\n");
    std::string delta = tail.substr(nl + 2, tail.find("\r\n", nl + 2) - nl - 2);
    EXPECT_GT(std::stol(delta), 0) << out;
    ASSERT_FALSE(feed(*t, "+OK\r\n", out, r));
    for (int i = 0; i < 4; ++i) ASSERT_FALSE(feed(*t, "+QUEUED\r\n", out, r));
    ASSERT_TRUE(feed(*t, "*4\r\n:5\r\n:5\r\n:5\r\n:1\r\n", out, r));
    EXPECT_EQ(r.outcome, "transferred");
    ++moved;
  }
  EXPECT_GT(declined, 0);
  EXPECT_GT(moved, 0);
}

TEST(GetSetTerminal, PipelinedRepliesMatchTheirCommands) {
  Options o;
  o.workload = bench::WorkloadKind::kGetSet;
  o.pipeline = 4;
  o.ratio_set = 1;
  o.ratio_get = 1;
  auto w = workload(o);
  auto t = w->make_terminal(0, 0, bench::Rng(11));
  std::string out;
  for (int i = 0; i < 4; ++i) t->begin(out);
  std::deque<std::string> sent = names(out);
  ASSERT_EQ(sent.size(), 4u);
  out.clear();
  for (const std::string& cmd : sent) {
    OpResult r;
    if (cmd == "SET") {
      ASSERT_TRUE(feed(*t, "+OK\r\n", out, r));
      EXPECT_EQ(r.outcome, "set");
    } else {
      ASSERT_EQ(cmd, "GET");
      ASSERT_TRUE(feed(*t, "$-1\r\n", out, r));
      EXPECT_EQ(r.outcome, "get_miss");
    }
    EXPECT_TRUE(r.error.empty());
  }
  // A reply of the wrong type is an error, not a silent success.
  t->begin(out);
  OpResult r;
  ASSERT_TRUE(feed(*t, ":1\r\n", out, r));
  EXPECT_FALSE(r.error.empty());
}

}  // namespace
