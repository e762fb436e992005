// Generic key commands (src/db/cmd_keys.cpp), replies compared byte for byte with what Redis 7.0
// sends. Hash commands are in hash_handlers_test.cpp.
#include <map>
#include <set>

#include "handlers_harness.hpp"

namespace lfdb::db::testing {
namespace {

using Keys = HandlerTest;

TEST_F(Keys, DelAndUnlink) {
  run({"set", "a", "1"});
  run({"set", "b", "2"});
  run({"hset", "h", "f", "v"});
  EXPECT_EQ(run({"del", "a", "a", "missing", "h"}), integer(2));
  EXPECT_EQ(run({"exists", "a", "h"}), integer(0));
  EXPECT_EQ(run({"unlink", "b", "b"}), integer(1));
  EXPECT_EQ(run({"del", "nothing"}), integer(0));
  EXPECT_EQ(ks.size(), 0u);
  // An expired key is not counted, but it is gone afterwards.
  run({"set", "t", "v", "px", "100"});
  now += 100;
  EXPECT_EQ(run({"del", "t"}), integer(0));
  EXPECT_EQ(stored("t"), nullptr);
}

TEST_F(Keys, ExistsTouchType) {
  run({"set", "s", "v"});
  run({"hset", "h", "f", "v"});
  run({"set", "t", "v", "px", "10"});
  EXPECT_EQ(run({"exists", "s", "s", "h", "t", "none"}), integer(4));
  EXPECT_EQ(run({"touch", "s", "h", "none"}), integer(2));
  EXPECT_EQ(run({"type", "s"}), status("string"));
  EXPECT_EQ(run({"type", "h"}), status("hash"));
  EXPECT_EQ(run({"type", "none"}), status("none"));
  now += 10;
  EXPECT_EQ(run({"exists", "t"}), integer(0));
  EXPECT_EQ(run({"touch", "t"}), integer(0));
  EXPECT_EQ(run({"type", "t"}), status("none"));
  EXPECT_NE(stored("t"), nullptr);  // readers leave it for a writer or the expiry cycle
}

TEST_F(Keys, RenameMovesValueAndTtl) {
  run({"set", "a", "va", "px", "5000"});
  run({"set", "b", "vb", "ex", "100"});
  EXPECT_EQ(run({"rename", "a", "b"}), kOk);
  EXPECT_EQ(run({"get", "b"}), bulk("va"));
  EXPECT_EQ(run({"pttl", "b"}), integer(5000));
  EXPECT_EQ(run({"exists", "a"}), integer(0));
  EXPECT_EQ(ks.expires(), 1u);
  // No TTL on the source: the destination loses its own.
  run({"set", "c", "vc"});
  EXPECT_EQ(run({"rename", "c", "b"}), kOk);
  EXPECT_EQ(run({"ttl", "b"}), integer(-1));
  EXPECT_EQ(ks.expires(), 0u);
  EXPECT_EQ(ks.size(), 1u);
  // Hashes move whole.
  run({"hset", "h", "f", "v", "g", "w"});
  EXPECT_EQ(run({"rename", "h", "h2"}), kOk);
  EXPECT_EQ(run({"hlen", "h2"}), integer(2));
  EXPECT_EQ(run({"type", "h"}), status("none"));
}

// The active cycle examines a budget of deadlines a partition at a time; a partition with more
// deadlines than that must still reach every one of them across cycles, not the same first ones.
TEST_F(Keys, ActiveExpiryReachesEveryDeadlinePastItsBudget) {
  for (int i = 0; i < 300; ++i) {
    run({"set", "long" + std::to_string(i), "v", "px", "1000000"});
    run({"set", "short" + std::to_string(i), "v", "px", "10"});
  }
  ASSERT_EQ(ks.expires(), 600u);
  now += 50;
  for (int cycle = 0; cycle < 400 && ks.expires() > 300; ++cycle) {
    for (std::uint32_t c = 0; c < ks.colors(); ++c) {
      std::uint64_t expired = 0;
      (void)ks.at(c).expire_some(now, 4, expired);
    }
  }
  EXPECT_EQ(ks.expires(), 300u);
  EXPECT_EQ(ks.size(), 300u);
}

TEST_F(Keys, RenameEdgeCases) {
  EXPECT_EQ(run({"rename", "missing", "x"}), error("ERR no such key"));
  EXPECT_EQ(run({"rename", "missing", "missing"}), error("ERR no such key"));
  EXPECT_EQ(run({"renamenx", "missing", "x"}), error("ERR no such key"));
  run({"set", "s", "v"});
  const auto changes = ks.of("s").changes();
  EXPECT_EQ(run({"rename", "s", "s"}), kOk);
  EXPECT_EQ(run({"renamenx", "s", "s"}), integer(0));
  EXPECT_EQ(ks.of("s").changes(), changes);
  run({"set", "d", "x"});
  EXPECT_EQ(run({"renamenx", "s", "d"}), integer(0));
  EXPECT_EQ(run({"get", "d"}), bulk("x"));
  EXPECT_EQ(run({"renamenx", "s", "n"}), integer(1));
  EXPECT_EQ(run({"get", "n"}), bulk("v"));
  // An expired source is missing; an expired destination is free.
  run({"set", "old", "v", "px", "1"});
  run({"set", "gone", "v", "px", "1"});
  now += 1;
  EXPECT_EQ(run({"rename", "old", "x"}), error("ERR no such key"));
  EXPECT_EQ(run({"renamenx", "n", "gone"}), integer(1));
  EXPECT_EQ(run({"pttl", "gone"}), integer(-1));
}

TEST_F(Keys, RenameAcrossPartitions) {
  auto [a, b] = keys_in_two_partitions();
  ASSERT_NE(ks.color_of_key(a), ks.color_of_key(b));
  run({"set", a, "value", "px", "700"});
  const auto ca = ks.of(a).changes(), cb = ks.of(b).changes();
  EXPECT_EQ(run({"rename", a, b}), kOk);
  EXPECT_EQ(stored(a), nullptr);
  ASSERT_NE(stored(b), nullptr);
  EXPECT_EQ(stored(b)->value.str(), "value");
  EXPECT_EQ(ks.of(b).expire_at(*stored(b)), now + 700);
  EXPECT_EQ(ks.of(a).size(), 0u);
  EXPECT_EQ(ks.of(a).expires(), 0u);
  EXPECT_EQ(ks.of(b).expires(), 1u);
  EXPECT_GT(ks.of(a).changes(), ca);  // both keys' watchers see the change
  EXPECT_GT(ks.of(b).changes(), cb);
  now += 700;
  EXPECT_EQ(run({"get", b}), kNil);
}

TEST_F(Keys, KeysPattern) {
  for (const char* k : {"one", "two", "three", "four", "h?llo", "[x]"}) run({"set", k, "v"});
  run({"hset", "hash", "f", "v"});
  run({"set", "expired", "v", "px", "5"});
  now += 5;
  EXPECT_EQ(sorted(elements(run({"keys", "*"}))),
            (std::vector<std::string>{"[x]", "four", "h?llo", "hash", "one", "three", "two"}));
  EXPECT_EQ(sorted(elements(run({"keys", "t*"}))), (std::vector<std::string>{"three", "two"}));
  EXPECT_EQ(sorted(elements(run({"keys", "*o*"}))),
            (std::vector<std::string>{"four", "h?llo", "one", "two"}));
  EXPECT_EQ(run({"keys", "h\\?llo"}), bulks({"h?llo"}));
  EXPECT_EQ(run({"keys", "\\[x]"}), bulks({"[x]"}));
  EXPECT_EQ(run({"keys", "nomatch*"}), "*0\r\n");
}

TEST_F(Keys, ScanErrors) {
  EXPECT_EQ(run({"scan", "abc"}), error("ERR invalid cursor"));
  EXPECT_EQ(run({"scan", " 0"}), error("ERR invalid cursor"));
  EXPECT_EQ(run({"scan", "18446744073709551616"}), error("ERR invalid cursor"));
  EXPECT_EQ(run({"scan", "0", "count", "0"}), error("ERR syntax error"));
  EXPECT_EQ(run({"scan", "0", "count", "-1"}), error("ERR syntax error"));
  EXPECT_EQ(run({"scan", "0", "count", "x"}), error(kErrNotInteger));
  EXPECT_EQ(run({"scan", "0", "match"}), error("ERR syntax error"));
  EXPECT_EQ(run({"scan", "0", "foo", "bar"}), error("ERR syntax error"));
  const std::string empty = arr({bulk("0"), "*0\r\n"});
  EXPECT_EQ(run({"scan", "0"}), empty);
  EXPECT_EQ(run({"scan", "18446744073709551615"}), empty);
  EXPECT_EQ(run({"scan", "-1"}), empty);  // strtoul wraps it, as in Redis
  EXPECT_EQ(run({"scan", "99"}), empty);
  EXPECT_EQ(run({"scan", ""}), empty);
}

TEST_F(Keys, ScanReturnsEveryKeyExactlyOnce) {
  constexpr int kKeys = 1000;
  for (int i = 0; i < kKeys; ++i) run({"set", "k" + std::to_string(i), "v"});
  std::set<std::uint32_t> colors;
  for (int i = 0; i < kKeys; ++i) colors.insert(ks.color_of_key("k" + std::to_string(i)));
  EXPECT_EQ(colors.size(), 16u);
  std::map<std::string, int> seen;
  std::string cursor = "0";
  int calls = 0;
  std::uint64_t last = 0;
  do {
    const ScanPage page = scan_page(run({"scan", cursor, "COUNT", "7"}));
    for (const auto& k : page.items) ++seen[k];
    cursor = page.cursor;
    ++calls;
    if (cursor != "0") {
      EXPECT_GT(std::stoull(cursor), last);
      last = std::stoull(cursor);
    }
    ASSERT_LE(calls, 17);
  } while (cursor != "0");
  EXPECT_GT(calls, 1);
  EXPECT_EQ(seen.size(), static_cast<std::size_t>(kKeys));
  for (const auto& [k, n] : seen) EXPECT_EQ(n, 1) << k;
  // The default COUNT is 10: one call covers at least ten keys unless it reaches the end.
  const ScanPage first = scan_page(run({"scan", "0"}));
  EXPECT_GE(first.items.size(), 10u);
  // Keys added or removed meanwhile do not disturb the others: each is still returned once.
  const ScanPage p1 = scan_page(run({"scan", "0", "count", "1"}));
  ASSERT_NE(p1.cursor, "0");
  for (const auto& k : p1.items) run({"del", k});
  run({"set", "late", "v"});
  std::map<std::string, int> rest;
  for (std::string c = p1.cursor; c != "0";) {
    const ScanPage p = scan_page(run({"scan", c, "count", "50"}));
    for (const auto& k : p.items) ++rest[k];
    c = p.cursor;
  }
  const std::set<std::string> first_page(p1.items.begin(), p1.items.end());
  for (int i = 0; i < kKeys; ++i) {
    const std::string k = "k" + std::to_string(i);
    EXPECT_EQ(rest.count(k) ? rest[k] : 0, first_page.count(k) ? 0 : 1) << k;
  }
  EXPECT_LE(rest.count("late"), 1u);
}

TEST_F(Keys, ScanMatchTypeAndExpiry) {
  for (int i = 0; i < 40; ++i) run({"set", "s" + std::to_string(i), "v"});
  for (int i = 0; i < 40; ++i) run({"hset", "h" + std::to_string(i), "f", "v"});
  run({"set", "s-expired", "v", "px", "1"});
  now += 1;
  auto all = [&](std::vector<std::string> opts) {
    std::vector<std::string> found;
    std::string cursor = "0";
    do {
      std::vector<std::string> args{"scan", cursor};
      args.insert(args.end(), opts.begin(), opts.end());
      const ScanPage p = scan_page(run(args));
      found.insert(found.end(), p.items.begin(), p.items.end());
      cursor = p.cursor;
    } while (cursor != "0");
    return found;
  };
  EXPECT_EQ(all({}).size(), 80u);
  EXPECT_EQ(all({"type", "HASH"}).size(), 40u);
  EXPECT_EQ(all({"type", "string", "match", "s1*"}).size(), 11u);
  EXPECT_EQ(all({"match", "h3?"}).size(), 10u);
  EXPECT_EQ(all({"type", "list"}).size(), 0u);
  EXPECT_EQ(all({"match", "s-*"}).size(), 0u);
  EXPECT_EQ(all({"count", "1000"}).size(), 80u);
  EXPECT_EQ(scan_page(run({"scan", "0", "count", "1000"})).cursor, "0");
  EXPECT_NE(stored("s-expired"), nullptr);
}

TEST_F(Keys, RandomKey) {
  EXPECT_EQ(run({"randomkey"}), kNil);
  EXPECT_EQ(run3({"randomkey"}), kNil3);
  run({"set", "only", "v"});
  EXPECT_EQ(run({"randomkey"}), bulk("only"));
  run({"del", "only"});
  for (int i = 0; i < 50; ++i) run({"set", "x" + std::to_string(i), "v", "px", "10"});
  now += 10;
  EXPECT_EQ(run({"randomkey"}), kNil);  // everything expired (and still stored)
  for (const char* k : {"a", "b", "c", "d", "e"}) run({"set", k, "v"});
  std::set<std::string> seen;
  for (int i = 0; i < 500; ++i) {
    const std::string r = run({"randomkey"});
    ASSERT_EQ(r.size(), 7u) << r;  // $1\r\nk\r\n: one of the live keys
    seen.insert(r.substr(4, 1));
  }
  EXPECT_EQ(seen, (std::set<std::string>{"a", "b", "c", "d", "e"}));
}

TEST_F(Keys, ExpireAndTtl) {
  run({"set", "s", "v"});
  EXPECT_EQ(run({"ttl", "s"}), integer(-1));
  EXPECT_EQ(run({"pttl", "s"}), integer(-1));
  EXPECT_EQ(run({"expiretime", "s"}), integer(-1));
  EXPECT_EQ(run({"pexpiretime", "s"}), integer(-1));
  EXPECT_EQ(run({"ttl", "missing"}), integer(-2));
  EXPECT_EQ(run({"pexpiretime", "missing"}), integer(-2));
  EXPECT_EQ(run({"expire", "missing", "10"}), integer(0));
  EXPECT_EQ(run({"expire", "s", "10"}), integer(1));
  EXPECT_EQ(run({"ttl", "s"}), integer(10));
  EXPECT_EQ(run({"pttl", "s"}), integer(10000));
  EXPECT_EQ(run({"pexpiretime", "s"}), integer(now + 10000));
  EXPECT_EQ(run({"expiretime", "s"}), integer((now + 10000) / 1000));
  now += 8500;  // 1500 ms left: TTL rounds to nearest
  EXPECT_EQ(run({"ttl", "s"}), integer(2));
  now += 1;
  EXPECT_EQ(run({"ttl", "s"}), integer(1));
  EXPECT_EQ(run({"pexpire", "s", "1234"}), integer(1));
  EXPECT_EQ(run({"pttl", "s"}), integer(1234));
  EXPECT_EQ(run({"pexpireat", "s", "99999999999500"}), integer(1));
  EXPECT_EQ(run({"expiretime", "s"}), integer(100000000000));
  EXPECT_EQ(run({"pexpireat", "s", "99999999999499"}), integer(1));
  EXPECT_EQ(run({"expiretime", "s"}), integer(99999999999));
  EXPECT_EQ(run({"expireat", "s", std::to_string(now / 1000 + 100)}), integer(1));
  EXPECT_EQ(run({"pexpiretime", "s"}), integer((now / 1000 + 100) * 1000));
  EXPECT_EQ(run({"persist", "s"}), integer(1));
  EXPECT_EQ(run({"persist", "s"}), integer(0));
  EXPECT_EQ(run({"persist", "missing"}), integer(0));
  EXPECT_EQ(run({"ttl", "s"}), integer(-1));
  EXPECT_EQ(ks.expires(), 0u);
  // The deadline passes: gone for readers and writers alike.
  run({"pexpire", "s", "50"});
  now += 49;
  EXPECT_EQ(run({"pttl", "s"}), integer(1));
  now += 1;
  EXPECT_EQ(run({"pttl", "s"}), integer(-2));
  EXPECT_EQ(run({"persist", "s"}), integer(0));
  EXPECT_EQ(stored("s"), nullptr);  // the writer erased it
}

TEST_F(Keys, ExpireInThePastDeletes) {
  for (const char* k : {"a", "b", "c", "d", "e"}) run({"set", k, "v"});
  run({"hset", "h", "f", "v"});
  EXPECT_EQ(run({"expire", "a", "-1"}), integer(1));
  EXPECT_EQ(run({"pexpire", "b", "0"}), integer(1));
  EXPECT_EQ(run({"pexpireat", "c", std::to_string(now)}), integer(1));  // == now: expired
  EXPECT_EQ(run({"expireat", "d", "1"}), integer(1));
  EXPECT_EQ(run({"expire", "h", "0", "lt"}), integer(1));  // no TTL counts as infinite
  EXPECT_EQ(run({"pexpireat", "e", std::to_string(now + 1)}), integer(1));
  EXPECT_EQ(sorted(elements(run({"keys", "*"}))), std::vector<std::string>{"e"});
  EXPECT_EQ(ks.size(), 1u);
  EXPECT_EQ(ks.expires(), 1u);
}

TEST_F(Keys, ExpireOptions) {
  run({"set", "s", "v"});
  EXPECT_EQ(run({"expire", "s", "10", "xx"}), integer(0));
  EXPECT_EQ(run({"expire", "s", "10", "gt"}), integer(0));  // no TTL is infinite
  EXPECT_EQ(run({"expire", "s", "10", "xx", "gt"}), integer(0));
  EXPECT_EQ(run({"expire", "s", "10", "NX"}), integer(1));
  EXPECT_EQ(run({"expire", "s", "20", "nx"}), integer(0));
  EXPECT_EQ(run({"expire", "s", "5", "gt"}), integer(0));
  EXPECT_EQ(run({"expire", "s", "10", "gt"}), integer(0));  // not greater
  EXPECT_EQ(run({"expire", "s", "20", "GT"}), integer(1));
  EXPECT_EQ(run({"ttl", "s"}), integer(20));
  EXPECT_EQ(run({"expire", "s", "30", "lt"}), integer(0));
  EXPECT_EQ(run({"expire", "s", "20", "lt"}), integer(0));  // not less
  EXPECT_EQ(run({"expire", "s", "15", "lt", "xx"}), integer(1));
  EXPECT_EQ(run({"expire", "s", "12", "xx"}), integer(1));
  EXPECT_EQ(run({"ttl", "s"}), integer(12));
  run({"set", "p", "v"});
  EXPECT_EQ(run({"expire", "p", "100", "lt"}), integer(1));  // infinite -> 100 is less
  // A condition that fails changes nothing.
  const auto changes = ks.of("s").changes();
  EXPECT_EQ(run({"expire", "s", "5", "gt"}), integer(0));
  EXPECT_EQ(ks.of("s").changes(), changes);
  EXPECT_EQ(run({"expire", "s", "5"}), integer(1));
  EXPECT_GT(ks.of("s").changes(), changes);
}

TEST_F(Keys, ExpireErrors) {
  run({"set", "s", "v"});
  const std::string incompatible =
      error("ERR NX and XX, GT or LT options at the same time are not compatible");
  EXPECT_EQ(run({"expire", "s", "10", "nx", "xx"}), incompatible);
  EXPECT_EQ(run({"expire", "s", "10", "nx", "gt"}), incompatible);
  EXPECT_EQ(run({"pexpire", "s", "10", "lt", "nx"}), incompatible);
  EXPECT_EQ(run({"expire", "s", "10", "gt", "lt"}),
            error("ERR GT and LT options at the same time are not compatible"));
  EXPECT_EQ(run({"expire", "s", "10", "foo"}), error("ERR Unsupported option foo"));
  EXPECT_EQ(run({"expire", "s", "10", "nx", "xx", "Bar"}), error("ERR Unsupported option Bar"));
  // Options are checked before the time, the time before the key.
  EXPECT_EQ(run({"expire", "missing", "abc", "foo"}), error("ERR Unsupported option foo"));
  EXPECT_EQ(run({"expire", "missing", "abc"}), error(kErrNotInteger));
  EXPECT_EQ(run({"expire", "s", "1.5"}), error(kErrNotInteger));
  EXPECT_EQ(run({"expire", "missing", "9223372036854776"}),
            error("ERR invalid expire time in 'expire' command"));
  EXPECT_EQ(run({"pexpire", "s", "9223372036854775807"}),
            error("ERR invalid expire time in 'pexpire' command"));
  EXPECT_EQ(run({"expireat", "s", "9223372036854776"}),
            error("ERR invalid expire time in 'expireat' command"));
  EXPECT_EQ(run({"pexpireat", "s", "9223372036854775807"}), integer(1));
  EXPECT_EQ(run({"pexpiretime", "s"}), integer(9223372036854775807));
  EXPECT_EQ(run({"expiretime", "s"}), integer(9223372036854776));  // rounded, no overflow
  EXPECT_EQ(run({"ttl", "s"}), integer((9223372036854775807 - now + 500) / 1000));
}

TEST_F(Keys, ObjectEncoding) {
  auto enc = [&](const std::string& key) { return run({"object", "encoding", key}); };
  EXPECT_EQ(enc("missing"), kNil);
  EXPECT_EQ(run3({"object", "ENCODING", "missing"}), kNil3);
  const std::pair<const char*, const char*> strings[] = {
      {"123", "int"}, {"-9223372036854775808", "int"}, {"9223372036854775808", "embstr"},
      {"01", "embstr"}, {"-0", "embstr"}, {" 1", "embstr"}, {"", "embstr"},
  };
  for (const auto& [value, encoding] : strings) {
    run({"set", "s", value});
    EXPECT_EQ(enc("s"), bulk(encoding)) << value;
  }
  run({"set", "s", std::string(44, 'x')});
  EXPECT_EQ(enc("s"), bulk("embstr"));
  run({"set", "s", std::string(45, 'x')});
  EXPECT_EQ(enc("s"), bulk("raw"));
  run({"hset", "h", std::string(64, 'f'), std::string(64, 'v')});
  EXPECT_EQ(enc("h"), bulk("listpack"));
  run({"hset", "h", "f", std::string(65, 'v')});
  EXPECT_EQ(enc("h"), bulk("hashtable"));
  run({"hset", "h2", std::string(65, 'f'), "v"});
  EXPECT_EQ(enc("h2"), bulk("hashtable"));
  for (int i = 0; i < 512; ++i) run({"hset", "h3", "f" + std::to_string(i), "v"});
  EXPECT_EQ(enc("h3"), bulk("listpack"));
  run({"hset", "h3", "one-more", "v"});
  EXPECT_EQ(enc("h3"), bulk("hashtable"));
  EXPECT_EQ(run({"object", "encoding", "a", "b"}),
            error("ERR wrong number of arguments for 'object|encoding' command"));
}

TEST_F(Keys, ObjectHelp) {
  const auto lines = elements(run({"object", "help"}));
  ASSERT_EQ(lines.size(), 15u);
  EXPECT_EQ(lines.front(), "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:");
  EXPECT_EQ(lines.back(), "    Prints this help.");
  EXPECT_EQ(run({"object", "help"}).substr(0, 6), "*15\r\n+");
}

// Every reader leaves the keyspace alone, expired entries included (run() checks the counters
// and sizes after each; here we also check the expired entries are still stored).
TEST_F(Keys, ReadersNeverChangeTheKeyspace) {
  for (int i = 0; i < 30; ++i) {
    run({"set", "s" + std::to_string(i), "v", "px", std::to_string(1 + i % 2)});
    run({"hset", "h" + std::to_string(i), "f", "1"});
    run({"pexpire", "h" + std::to_string(i), std::to_string(1 + i % 2)});
  }
  now += 1;  // half of them have expired, all are still stored
  const auto stored_before = ks.size();
  ASSERT_EQ(stored_before, 60u);
  for (int i = 0; i < 30; ++i) {
    const std::string s = "s" + std::to_string(i), h = "h" + std::to_string(i);
    for (const auto& args : std::vector<std::vector<std::string>>{
             {"exists", s, h}, {"touch", s, h}, {"type", s}, {"ttl", s}, {"pttl", h},
             {"expiretime", s}, {"pexpiretime", h}, {"object", "encoding", s}, {"get", s},
             {"strlen", s}, {"mget", s, h}, {"getrange", s, "0", "-1"}, {"hget", h, "f"},
             {"hmget", h, "f"}, {"hgetall", h}, {"hlen", h}, {"hexists", h, "f"}, {"hkeys", h},
             {"hvals", h}, {"hstrlen", h, "f"}, {"hrandfield", h}, {"hrandfield", h, "-3"},
             {"hscan", h, "0"}, {"hget", s, "f"}}) {
      run(args);
    }
  }
  run({"keys", "*"});
  run({"scan", "0", "count", "1000"});
  run({"randomkey"});
  EXPECT_EQ(ks.size(), stored_before);
  for (int i = 0; i < 30; ++i) {
    EXPECT_EQ(ks.of("s" + std::to_string(i)).expired_in_place("s" + std::to_string(i), now),
              i % 2 == 0);
  }
}

}  // namespace
}  // namespace lfdb::db::testing
