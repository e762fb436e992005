// List, set and sorted set handlers (src/db/cmd_lists.cpp, cmd_sets.cpp, cmd_zsets.cpp) over a
// bare keyspace: replies byte for byte as Redis 7.0 sends them, readers that leave the keyspace
// untouched (the harness checks every reader), containers that never stay empty, and the log
// records of the commands that are not logged as sent (SPOP, ZINCRBY, ZADD INCR).
#include "db/log_records.hpp"
#include "handlers_harness.hpp"

namespace lfdb::db::testing {
namespace {

using Containers = HandlerTest;

TEST_F(Containers, ListsDieWithTheirLastElement) {
  EXPECT_EQ(run({"rpush", "l", "a", "b", "c"}), integer(3));
  EXPECT_EQ(run({"lpush", "l", "z"}), integer(4));
  EXPECT_EQ(run({"lrange", "l", "0", "-1"}), bulks({"z", "a", "b", "c"}));
  EXPECT_EQ(run({"lindex", "l", "-1"}), bulk("c"));
  EXPECT_EQ(run({"lpos", "l", "b"}), integer(2));
  EXPECT_EQ(run({"lpop", "l", "3"}), bulks({"z", "a", "b"}));
  EXPECT_EQ(run({"rpop", "l"}), bulk("c"));
  EXPECT_EQ(stored("l"), nullptr);
  EXPECT_EQ(run({"lpop", "l", "2"}), "*-1\r\n");
  EXPECT_EQ(run3({"lpop", "l", "2"}), kNil3);
  EXPECT_EQ(run({"lset", "l", "0", "x"}), error("ERR no such key"));
  EXPECT_EQ(run({"set", "s", "v"}), kOk);
  EXPECT_EQ(run({"lpush", "s", "a"}), kWrong);
}

TEST_F(Containers, SetsReplyAsSetsInResp3) {
  EXPECT_EQ(run({"sadd", "s", "a", "b", "a"}), integer(2));
  EXPECT_EQ(sorted(elements(run({"smembers", "s"}))), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(run3({"sinter", "missing"}), "~0\r\n");
  EXPECT_EQ(run({"smismember", "s", "a", "x"}), arr({integer(1), integer(0)}));
  EXPECT_EQ(run({"srem", "s", "a", "b"}), integer(2));
  EXPECT_EQ(stored("s"), nullptr);
  EXPECT_EQ(run({"sintercard", "0", "s"}), error("ERR numkeys should be greater than 0"));
}

TEST_F(Containers, SpopLogsWhatItRemoved) {
  EXPECT_EQ(run({"sadd", "s", "1", "2", "3", "4"}), integer(4));
  std::string log;
  t_invocation_log.records = &log;
  t_invocation_log.db = 0;  // the invocation's database, as the session starts it
  const std::string reply = run({"spop", "s", "2"});
  t_invocation_log.records = nullptr;
  const std::vector<std::string> popped = elements(reply);
  ASSERT_EQ(popped.size(), 2u);
  std::string want;
  encode_command(want, {"SREM", "s", popped[0], popped[1]});
  EXPECT_EQ(log, want);
  log.clear();
  t_invocation_log.records = &log;
  EXPECT_EQ(elements(run({"spop", "s", "9"})).size(), 2u);
  t_invocation_log.records = nullptr;
  std::string del;
  encode_command(del, {"DEL", "s"});
  EXPECT_EQ(log, del);  // it took everything
  EXPECT_EQ(stored("s"), nullptr);
}

TEST_F(Containers, SortedSetScoresAndRanges) {
  EXPECT_EQ(run({"zadd", "z", "1", "a", "2", "b", "3", "c"}), integer(3));
  EXPECT_EQ(run({"zscore", "z", "b"}), bulk("2"));
  EXPECT_EQ(run3({"zscore", "z", "b"}), ",2\r\n");
  EXPECT_EQ(run({"zrange", "z", "(1", "+inf", "BYSCORE", "WITHSCORES"}),
            bulks({"b", "2", "c", "3"}));
  EXPECT_EQ(run3({"zrange", "z", "0", "0", "WITHSCORES"}), arr({arr({bulk("a"), ",1\r\n"})}));
  EXPECT_EQ(run({"zrevrank", "z", "a"}), integer(2));
  EXPECT_EQ(run({"zcount", "z", "-inf", "(3"}), integer(2));
  EXPECT_EQ(run({"zremrangebyrank", "z", "0", "-1"}), integer(3));
  EXPECT_EQ(stored("z"), nullptr);
  EXPECT_EQ(run({"zadd", "z", "nan", "a"}), error("ERR value is not a valid float"));
  EXPECT_EQ(stored("z"), nullptr);
}

TEST_F(Containers, FloatIncrementsAreLoggedAsTheirResult) {
  EXPECT_EQ(run({"zincrby", "z", "0.1", "m"}), bulk("0.10000000000000001"));
  EXPECT_EQ(run({"zincrby", "z", "0.2", "m"}), bulk("0.30000000000000004"));
  std::vector<std::string_view> argv = {"zincrby", "z", "0.2", "m"};
  std::string log;
  log_effect(*commands::find_command("zincrby"), argv, ks, now, log);
  std::string want;
  encode_command(want, {"ZADD", "z", "0.30000000000000004", "m"});
  EXPECT_EQ(log, want);
  // ZADD without INCR is logged as sent; with it, as the score it produced.
  std::vector<std::string_view> plain = {"zadd", "z", "5", "m"};
  log.clear();
  log_effect(*commands::find_command("zadd"), plain, ks, now, log);
  want.clear();
  encode_command(want, plain);
  EXPECT_EQ(log, want);
  std::vector<std::string_view> incr = {"zadd", "z", "XX", "incr", "1", "m"};
  log.clear();
  log_effect(*commands::find_command("zadd"), incr, ks, now, log);
  want.clear();
  encode_command(want, {"ZADD", "z", "0.30000000000000004", "m"});
  EXPECT_EQ(log, want);
}

TEST_F(Containers, MovesAcrossPartitions) {
  const auto [a, b] = keys_in_two_partitions();
  EXPECT_EQ(run({"rpush", a, "x", "y"}), integer(2));
  EXPECT_EQ(run({"lmove", a, b, "LEFT", "RIGHT"}), bulk("x"));
  EXPECT_EQ(run({"rpoplpush", a, b}), bulk("y"));
  EXPECT_EQ(stored(a), nullptr);
  EXPECT_EQ(run({"lrange", b, "0", "-1"}), bulks({"y", "x"}));
  EXPECT_EQ(run({"zadd", a, "1", "m"}), integer(1));
  EXPECT_EQ(run({"zunionstore", b, "1", a, "WEIGHTS", "3"}), integer(1));  // b was a list
  EXPECT_EQ(run({"zscore", b, "m"}), bulk("3"));
  EXPECT_EQ(run({"type", b}), status("zset"));
}

}  // namespace
}  // namespace lfdb::db::testing
