// Hash commands (src/db/cmd_hashes.cpp), replies compared byte for byte with what Redis 7.0
// sends, in RESP2 and, where the two differ, RESP3.
#include <map>
#include <set>

#include "handlers_harness.hpp"

namespace lfdb::db::testing {
namespace {

using Hashes = HandlerTest;

TEST_F(Hashes, SetAndGet) {
  EXPECT_EQ(run({"hset", "h", "f", "v"}), integer(1));
  EXPECT_EQ(run({"hset", "h", "f", "w", "g", "x", "g", "y"}), integer(1));
  EXPECT_EQ(run({"hget", "h", "f"}), bulk("w"));
  EXPECT_EQ(run({"hget", "h", "g"}), bulk("y"));
  EXPECT_EQ(run({"hget", "h", "nope"}), kNil);
  EXPECT_EQ(run({"hget", "missing", "f"}), kNil);
  EXPECT_EQ(run3({"hget", "missing", "f"}), kNil3);
  EXPECT_EQ(run({"hset", "h", "f", "v", "odd"}),
            error("ERR wrong number of arguments for 'hset' command"));
  EXPECT_EQ(run({"hset", "h", "f"}), error("ERR wrong number of arguments for 'hset' command"));
  EXPECT_EQ(run({"hmset", "h", "a", "1", "b"}),
            error("ERR wrong number of arguments for 'hmset' command"));
  EXPECT_EQ(run({"hmset", "h", "a", "1", "b", "2"}), kOk);
  EXPECT_EQ(run({"hmget", "h", "a", "nope", "b"}), arr({bulk("1"), kNil, bulk("2")}));
  EXPECT_EQ(run({"hmget", "missing", "a", "b"}), arr({kNil, kNil}));
  EXPECT_EQ(run3({"hmget", "missing", "a"}), arr({kNil3}));
  EXPECT_EQ(run({"hsetnx", "h", "a", "9"}), integer(0));
  EXPECT_EQ(run({"hsetnx", "h", "c", "3"}), integer(1));
  EXPECT_EQ(run({"hsetnx", "new", "c", "3"}), integer(1));
  EXPECT_EQ(run({"hget", "h", "a"}), bulk("1"));
  EXPECT_EQ(run({"hget", "new", "c"}), bulk("3"));
  EXPECT_EQ(run({"hlen", "h"}), integer(5));
  EXPECT_EQ(run({"hset", "bin", std::string("a\0b", 3), std::string("\r\n", 2)}), integer(1));
  EXPECT_EQ(run({"hget", "bin", std::string("a\0b", 3)}), bulk("\r\n"));
}

TEST_F(Hashes, WrongType) {
  run({"set", "s", "v"});
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"hset", "s", "f", "v"}, {"hmset", "s", "f", "v"}, {"hsetnx", "s", "f", "v"},
           {"hget", "s", "f"}, {"hmget", "s", "f"}, {"hgetall", "s"}, {"hdel", "s", "f"},
           {"hlen", "s"}, {"hexists", "s", "f"}, {"hkeys", "s"}, {"hvals", "s"},
           {"hincrby", "s", "f", "1"}, {"hincrbyfloat", "s", "f", "1"}, {"hstrlen", "s", "f"},
           {"hrandfield", "s"}, {"hrandfield", "s", "2"}, {"hrandfield", "s", "-2", "withvalues"},
           {"hscan", "s", "0"}, {"hscan", "s", "0", "foo"}}) {
    EXPECT_EQ(run(args), kWrong) << args[0];
  }
  EXPECT_EQ(run({"get", "s"}), bulk("v"));
  run({"hset", "h", "f", "v"});
  EXPECT_EQ(run({"get", "h"}), kWrong);
  EXPECT_EQ(run({"append", "h", "x"}), kWrong);
  EXPECT_EQ(run({"mget", "h"}), arr({kNil}));
  EXPECT_EQ(run({"set", "h", "v"}), kOk);  // SET replaces any type
  EXPECT_EQ(run({"type", "h"}), status("string"));
}

TEST_F(Hashes, GetAllKeysVals) {
  EXPECT_EQ(run({"hgetall", "missing"}), "*0\r\n");
  EXPECT_EQ(run3({"hgetall", "missing"}), "%0\r\n");
  EXPECT_EQ(run({"hkeys", "missing"}), "*0\r\n");
  EXPECT_EQ(run3({"hvals", "missing"}), "*0\r\n");
  run({"hset", "one", "f", "v"});
  EXPECT_EQ(run({"hgetall", "one"}), bulks({"f", "v"}));
  EXPECT_EQ(run3({"hgetall", "one"}), "%1\r\n" + bulk("f") + bulk("v"));
  EXPECT_EQ(run3({"hkeys", "one"}), bulks({"f"}));
  EXPECT_EQ(run3({"hvals", "one"}), bulks({"v"}));
  run({"hset", "h", "a", "1", "b", "2", "c", "3"});
  const auto all = elements(run({"hgetall", "h"}));
  ASSERT_EQ(all.size(), 6u);
  std::map<std::string, std::string> m;
  for (std::size_t i = 0; i < all.size(); i += 2) m[all[i]] = all[i + 1];
  EXPECT_EQ(m, (std::map<std::string, std::string>{{"a", "1"}, {"b", "2"}, {"c", "3"}}));
  const auto all3 = run3({"hgetall", "h"});
  EXPECT_EQ(all3.substr(0, 4), "%3\r\n");
  EXPECT_EQ(sorted(elements(all3)), (std::vector<std::string>{"1", "2", "3", "a", "b", "c"}));
  EXPECT_EQ(sorted(elements(run({"hkeys", "h"}))), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(sorted(elements(run({"hvals", "h"}))), (std::vector<std::string>{"1", "2", "3"}));
}

TEST_F(Hashes, DelLenExistsStrlen) {
  run({"hset", "h", "a", "hello", "b", "", "c", "3"});
  EXPECT_EQ(run({"hlen", "h"}), integer(3));
  EXPECT_EQ(run({"hlen", "missing"}), integer(0));
  EXPECT_EQ(run({"hexists", "h", "a"}), integer(1));
  EXPECT_EQ(run({"hexists", "h", "z"}), integer(0));
  EXPECT_EQ(run({"hexists", "missing", "a"}), integer(0));
  EXPECT_EQ(run({"hstrlen", "h", "a"}), integer(5));
  EXPECT_EQ(run({"hstrlen", "h", "b"}), integer(0));
  EXPECT_EQ(run({"hstrlen", "h", "z"}), integer(0));
  EXPECT_EQ(run({"hstrlen", "missing", "a"}), integer(0));
  EXPECT_EQ(run({"hdel", "missing", "a"}), integer(0));
  const auto changes = ks.of("h").changes();
  EXPECT_EQ(run({"hdel", "h", "z"}), integer(0));
  EXPECT_EQ(ks.of("h").changes(), changes);
  EXPECT_EQ(run({"hdel", "h", "a", "a", "z", "b"}), integer(2));
  EXPECT_GT(ks.of("h").changes(), changes);
  EXPECT_EQ(run({"hlen", "h"}), integer(1));
  EXPECT_EQ(run({"hdel", "h", "c", "c"}), integer(1));  // the last field takes the key
  EXPECT_EQ(run({"exists", "h"}), integer(0));
  EXPECT_EQ(stored("h"), nullptr);
  EXPECT_EQ(ks.size(), 0u);
}

TEST_F(Hashes, IncrBy) {
  EXPECT_EQ(run({"hincrby", "h", "n", "5"}), integer(5));
  EXPECT_EQ(run({"hincrby", "h", "n", "-7"}), integer(-2));
  EXPECT_EQ(run({"hget", "h", "n"}), bulk("-2"));
  EXPECT_EQ(run({"hincrby", "h", "n", "abc"}), error(kErrNotInteger));
  EXPECT_EQ(run({"hincrby", "h", "n", "1.5"}), error(kErrNotInteger));
  run({"hset", "h", "s", "x", "sp", " 1", "max", "9223372036854775807", "min",
       "-9223372036854775808"});
  EXPECT_EQ(run({"hincrby", "h", "s", "1"}), error("ERR hash value is not an integer"));
  EXPECT_EQ(run({"hincrby", "h", "sp", "1"}), error("ERR hash value is not an integer"));
  EXPECT_EQ(run({"hincrby", "h", "max", "1"}), error(kErrOverflow));
  EXPECT_EQ(run({"hincrby", "h", "min", "-1"}), error(kErrOverflow));
  EXPECT_EQ(run({"hincrby", "h", "max", "-1"}), integer(9223372036854775806));
  EXPECT_EQ(run({"hincrby", "h", "min", "9223372036854775807"}), integer(-1));
  // Nothing is created when the command fails.
  EXPECT_EQ(run({"hincrby", "none", "n", "x"}), error(kErrNotInteger));
  EXPECT_EQ(run({"exists", "none"}), integer(0));
  EXPECT_EQ(run({"hincrby", "other", "n", "0"}), integer(0));
  EXPECT_EQ(run({"hget", "other", "n"}), bulk("0"));
}

TEST_F(Hashes, IncrByFloat) {
  EXPECT_EQ(run({"hincrbyfloat", "h", "x", "10.50"}), bulk("10.5"));
  EXPECT_EQ(run({"hincrbyfloat", "h", "x", "0.1"}), bulk("10.6"));
  EXPECT_EQ(run3({"hincrbyfloat", "h", "x", "-0.6"}), bulk("10"));  // a bulk in RESP3 too
  EXPECT_EQ(run({"hincrbyfloat", "h", "e", "5.0e3"}), bulk("5000"));
  EXPECT_EQ(run({"hincrbyfloat", "h", "z", "-0.0"}), bulk("0"));
  EXPECT_EQ(run({"hget", "h", "x"}), bulk("10"));
  run({"hset", "h", "i", "3", "s", "abc", "sp", " 1", "inf", "inf"});
  EXPECT_EQ(run({"hincrbyfloat", "h", "i", "1.5"}), bulk("4.5"));
  EXPECT_EQ(run({"hincrbyfloat", "h", "s", "1"}), error("ERR hash value is not a float"));
  EXPECT_EQ(run({"hincrbyfloat", "h", "sp", "1"}), error("ERR hash value is not a float"));
  EXPECT_EQ(run({"hincrbyfloat", "h", "x", "abc"}), error(kErrNotFloat));
  EXPECT_EQ(run({"hincrbyfloat", "h", "x", " 1"}), error(kErrNotFloat));
  EXPECT_EQ(run({"hincrbyfloat", "h", "x", "nan"}), error(kErrNotFloat));
  EXPECT_EQ(run({"hincrbyfloat", "h", "x", "inf"}), error("ERR value is NaN or Infinity"));
  EXPECT_EQ(run({"hincrbyfloat", "h", "x", "-inf"}), error("ERR value is NaN or Infinity"));
  EXPECT_EQ(run({"hincrbyfloat", "h", "inf", "1"}), error(kErrNanOrInf));
  EXPECT_EQ(run({"hget", "h", "inf"}), bulk("inf"));
  // The increment is checked before the key's type.
  run({"set", "str", "v"});
  EXPECT_EQ(run({"hincrbyfloat", "str", "f", "inf"}), error("ERR value is NaN or Infinity"));
  EXPECT_EQ(run({"hincrbyfloat", "none", "f", "inf"}), error("ERR value is NaN or Infinity"));
  EXPECT_EQ(run({"exists", "none"}), integer(0));
}

TEST_F(Hashes, RandFieldWithoutCount) {
  EXPECT_EQ(run({"hrandfield", "missing"}), kNil);
  EXPECT_EQ(run3({"hrandfield", "missing"}), kNil3);
  run({"hset", "one", "f", "v"});
  EXPECT_EQ(run({"hrandfield", "one"}), bulk("f"));
  run({"hset", "h", "a", "1", "b", "2", "c", "3"});
  std::set<std::string> seen;
  for (int i = 0; i < 200; ++i) seen.insert(run({"hrandfield", "h"}));
  EXPECT_EQ(seen, (std::set<std::string>{bulk("a"), bulk("b"), bulk("c")}));
}

TEST_F(Hashes, RandFieldWithCount) {
  EXPECT_EQ(run({"hrandfield", "missing", "5"}), "*0\r\n");
  EXPECT_EQ(run3({"hrandfield", "missing", "-5", "withvalues"}), "*0\r\n");
  run({"hset", "one", "f", "v"});
  EXPECT_EQ(run({"hrandfield", "one", "0"}), "*0\r\n");
  EXPECT_EQ(run({"hrandfield", "one", "0", "withvalues"}), "*0\r\n");
  EXPECT_EQ(run({"hrandfield", "one", "5", "WITHVALUES"}), bulks({"f", "v"}));
  EXPECT_EQ(run3({"hrandfield", "one", "5", "withvalues"}), arr({bulks({"f", "v"})}));
  EXPECT_EQ(run3({"hrandfield", "one", "1", "withvalues"}), arr({bulks({"f", "v"})}));
  EXPECT_EQ(run({"hrandfield", "one", "-3"}), bulks({"f", "f", "f"}));
  EXPECT_EQ(run({"hrandfield", "one", "-2", "withvalues"}), bulks({"f", "v", "f", "v"}));
  EXPECT_EQ(run3({"hrandfield", "one", "-2", "withvalues"}),
            arr({bulks({"f", "v"}), bulks({"f", "v"})}));
  std::vector<std::string> fields;
  for (int i = 0; i < 20; ++i) {
    fields.push_back("f" + std::to_string(i));
    run({"hset", "h", fields.back(), "v" + std::to_string(i)});
  }
  // Positive: distinct fields, at most the hash's size.
  for (int count : {1, 5, 19, 20, 50}) {
    const auto got = elements(run({"hrandfield", "h", std::to_string(count)}));
    EXPECT_EQ(got.size(), static_cast<std::size_t>(std::min(count, 20)));
    EXPECT_EQ(std::set<std::string>(got.begin(), got.end()).size(), got.size());
    for (const auto& f : got) EXPECT_TRUE(f.size() >= 2 && f[0] == 'f') << f;
  }
  EXPECT_EQ(sorted(elements(run({"hrandfield", "h", "20"}))), sorted(fields));
  // Negative: exactly |count|, repeats allowed.
  const auto many = elements(run({"hrandfield", "h", "-100"}));
  EXPECT_EQ(many.size(), 100u);
  EXPECT_LT(std::set<std::string>(many.begin(), many.end()).size(), 100u);
  // WITHVALUES: each field with its own value.
  const auto pairs = elements(run({"hrandfield", "h", "7", "withvalues"}));
  ASSERT_EQ(pairs.size(), 14u);
  for (std::size_t i = 0; i < pairs.size(); i += 2) {
    EXPECT_EQ("v" + pairs[i].substr(1), pairs[i + 1]);
  }
  const std::string r3 = run3({"hrandfield", "h", "-3", "withvalues"});
  EXPECT_EQ(r3.substr(0, 8), "*3\r\n*2\r\n");
  EXPECT_EQ(elements(r3).size(), 3u);
}

TEST_F(Hashes, RandFieldErrors) {
  run({"hset", "h", "f", "v"});
  EXPECT_EQ(run({"hrandfield", "h", "abc"}), error(kErrNotInteger));
  EXPECT_EQ(run({"hrandfield", "missing", "abc"}), error(kErrNotInteger));
  EXPECT_EQ(run({"hrandfield", "h", "1", "foo"}), error("ERR syntax error"));
  EXPECT_EQ(run({"hrandfield", "missing", "1", "withvalues", "x"}), error("ERR syntax error"));
  EXPECT_EQ(run({"hrandfield", "h", "-9223372036854775808"}),
            error("ERR value is out of range, value must between -9223372036854775807 and "
                  "9223372036854775807"));
  EXPECT_EQ(run({"hrandfield", "h", "-4611686018427387904", "withvalues"}),
            error("ERR value is out of range"));
  EXPECT_EQ(run({"hrandfield", "h", "4611686018427387904", "withvalues"}),
            error("ERR value is out of range"));
  EXPECT_EQ(run({"hrandfield", "h", "4611686018427387903", "withvalues"}), bulks({"f", "v"}));
  EXPECT_EQ(run({"hrandfield", "h", "9223372036854775807"}), bulks({"f"}));
}

TEST_F(Hashes, Scan) {
  const std::string empty = arr({bulk("0"), "*0\r\n"});
  EXPECT_EQ(run({"hscan", "missing", "0"}), empty);
  EXPECT_EQ(run({"hscan", "missing", "0", "foo"}), empty);  // options are not parsed
  EXPECT_EQ(run3({"hscan", "missing", "0"}), empty);
  EXPECT_EQ(run({"hscan", "missing", "abc"}), error("ERR invalid cursor"));
  run({"hset", "h", "f", "v"});
  EXPECT_EQ(run({"hscan", "h", "0"}), arr({bulk("0"), bulks({"f", "v"})}));
  EXPECT_EQ(run3({"hscan", "h", "7"}), arr({bulk("0"), bulks({"f", "v"})}));
  EXPECT_EQ(run({"hscan", "h", "0", "count", "0"}), error("ERR syntax error"));
  EXPECT_EQ(run({"hscan", "h", "0", "count"}), error("ERR syntax error"));
  EXPECT_EQ(run({"hscan", "h", "0", "count", "x"}), error(kErrNotInteger));
  EXPECT_EQ(run({"hscan", "h", "0", "novalues"}), error("ERR syntax error"));
  EXPECT_EQ(run({"hscan", "h", "0", "type", "hash"}), error("ERR syntax error"));
  for (int i = 0; i < 300; ++i) run({"hset", "h", "k" + std::to_string(i), std::to_string(i)});
  const ScanPage all = scan_page(run({"hscan", "h", "0", "COUNT", "5"}));
  EXPECT_EQ(all.cursor, "0");
  ASSERT_EQ(all.items.size(), 602u);
  std::set<std::string> fields;
  for (std::size_t i = 0; i < all.items.size(); i += 2) {
    fields.insert(all.items[i]);
    if (all.items[i] != "f") {
      EXPECT_EQ("k" + all.items[i + 1], all.items[i]);
    }
  }
  EXPECT_EQ(fields.size(), 301u);
  const ScanPage some = scan_page(run({"hscan", "h", "0", "match", "k1?", "count", "1000"}));
  EXPECT_EQ(some.items.size(), 20u);
  for (std::size_t i = 0; i < some.items.size(); i += 2) {
    EXPECT_EQ(some.items[i].substr(0, 2), "k1");
    EXPECT_EQ(some.items[i].size(), 3u);
  }
}

TEST_F(Hashes, ExpiredHashIsGone) {
  run({"hset", "h", "f", "v"});
  run({"pexpire", "h", "10"});
  now += 10;
  EXPECT_EQ(run({"hget", "h", "f"}), kNil);
  EXPECT_EQ(run({"hlen", "h"}), integer(0));
  EXPECT_EQ(run({"hgetall", "h"}), "*0\r\n");
  EXPECT_EQ(run({"hscan", "h", "0"}), arr({bulk("0"), "*0\r\n"}));
  // A writer starts over with a fresh hash and no TTL.
  EXPECT_EQ(run({"hset", "h", "g", "w"}), integer(1));
  EXPECT_EQ(run({"hgetall", "h"}), bulks({"g", "w"}));
  EXPECT_EQ(run({"ttl", "h"}), integer(-1));
  run({"pexpire", "h", "10"});
  now += 10;
  EXPECT_EQ(run({"hsetnx", "h", "g", "x"}), integer(1));
  EXPECT_EQ(run({"hincrby", "h", "n", "2"}), integer(2));
  EXPECT_EQ(run({"hlen", "h"}), integer(2));
}

TEST_F(Hashes, WritesMarkTheKeyModified) {
  auto changed = [&](std::vector<std::string> args) {
    const auto before = ks.of(args[1]).changes();
    run(args);
    return ks.of(args[1]).changes() > before;
  };
  EXPECT_TRUE(changed({"hset", "h", "f", "v"}));
  EXPECT_TRUE(changed({"hset", "h", "f", "v"}));  // Redis signals even an identical value
  EXPECT_TRUE(changed({"hmset", "h", "g", "v"}));
  EXPECT_FALSE(changed({"hsetnx", "h", "f", "x"}));
  EXPECT_TRUE(changed({"hsetnx", "h", "n", "1"}));
  EXPECT_TRUE(changed({"hincrby", "h", "n", "1"}));
  EXPECT_FALSE(changed({"hincrby", "h", "f", "1"}));
  EXPECT_TRUE(changed({"hincrbyfloat", "h", "n", "1.5"}));
  EXPECT_FALSE(changed({"hdel", "h", "zz"}));
  EXPECT_TRUE(changed({"hdel", "h", "f"}));
}

}  // namespace
}  // namespace lfdb::db::testing
