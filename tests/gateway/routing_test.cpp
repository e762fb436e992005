// What the gateway does with each command of the table, and key -> slot -> shard.
#include <gtest/gtest.h>

#include <set>

#include "gateway/routing.hpp"

namespace lfdb::gateway {
namespace {

using commands::find_command;
using commands::find_subcommand;

Route route_of(const char* name, const char* sub = nullptr) {
  const commands::CommandSpec* s = find_command(name);
  EXPECT_NE(s, nullptr) << name;
  if (sub != nullptr) s = find_subcommand(*s, sub);
  EXPECT_NE(s, nullptr) << name << " " << (sub ? sub : "");
  return classify(*s).route;
}

TEST(GatewayRouting, Classify) {
  for (const char* n : {"ping", "echo", "hello", "auth", "quit", "select", "info", "move", "swapdb"}) {
    EXPECT_EQ(route_of(n), Route::kLocal) << n;
  }
  EXPECT_EQ(route_of("client", "id"), Route::kLocal);
  EXPECT_EQ(route_of("client", "list"), Route::kUnsupported);
  for (const char* n : {"get", "set", "incr", "hset", "rename", "expire", "getrange", "copy"}) {
    EXPECT_EQ(route_of(n), Route::kKeyed) << n;
  }
  EXPECT_EQ(route_of("object", "encoding"), Route::kKeyed);
  for (const char* n : {"mget", "mset", "del", "unlink", "exists", "touch"}) {
    EXPECT_EQ(route_of(n), Route::kSplit) << n;
  }
  EXPECT_EQ(route_of("msetnx"), Route::kKeyed);  // atomic: never split
  // Multi-key list and set commands are atomic: one shard, else CROSSSLOT.
  for (const char* n : {"lmove", "rpoplpush", "smove", "sinter", "sinterstore", "sintercard",
                        "zunionstore", "zinterstore", "zadd", "zrange"}) {
    EXPECT_EQ(route_of(n), Route::kKeyed) << n;
  }
  for (const char* n : {"dbsize", "flushall", "flushdb", "keys"}) EXPECT_EQ(route_of(n), Route::kFanout) << n;
  for (const char* n : {"multi", "exec", "discard", "watch", "unwatch"}) {
    EXPECT_EQ(route_of(n), Route::kTransaction) << n;
  }
  for (const char* n : {"scan", "randomkey", "shutdown"}) EXPECT_EQ(route_of(n), Route::kUnsupported) << n;
  EXPECT_EQ(route_of("config", "get"), Route::kUnsupported);
  // Pub/sub: the gateway's own (PubSubHub); the channel lists come from every shard.
  for (const char* n : {"subscribe", "psubscribe", "ssubscribe", "unsubscribe", "publish", "spublish"}) {
    EXPECT_EQ(route_of(n), Route::kPubsub) << n;
  }
  EXPECT_EQ(route_of("pubsub", "channels"), Route::kFanout);
  EXPECT_EQ(route_of("pubsub", "numsub"), Route::kPubsub);
  EXPECT_EQ(route_of("time"), Route::kAnyShard);
  EXPECT_EQ(classify(*find_command("mget")).merge, Merge::kMget);
  EXPECT_EQ(classify(*find_command("del")).merge, Merge::kSum);
  EXPECT_EQ(classify(*find_command("mset")).merge, Merge::kAllOk);
  EXPECT_EQ(classify(*find_command("keys")).merge, Merge::kConcat);
}

TEST(GatewayRouting, EveryCommandOfTheTableHasARoute) {
  // A command added to the table later must not fall through unnoticed: each gets a route, and
  // keyless commands that would need a back-end are either any-shard or named here.
  for (const commands::CommandSpec& c : commands::all_commands()) {
    if (c.is_container()) {
      for (const commands::CommandSpec& s : c.subcommands) (void)classify(s);
      continue;
    }
    const Route r = classify(c).route;
    // MOVE names a key but reaches another database: the gateway (database 0 only) refuses it.
    if (c.name == "move") {
      EXPECT_EQ(r, Route::kLocal);
      continue;
    }
    if (c.first_key > 0) {
      EXPECT_TRUE(r == Route::kKeyed || r == Route::kSplit || r == Route::kTransaction) << c.name;
    }
  }
}

TEST(GatewayRouting, SlotsToShards) {
  std::vector<ShardConfig> shards(3);
  ASSERT_TRUE(assign_slots(shards).ok());
  Router r(shards);
  EXPECT_EQ(r.shards(), 3);
  EXPECT_EQ(r.shard_of_slot(0), 0);
  EXPECT_EQ(r.shard_of_slot(16383), 2);
  // Redis Cluster's known slots: "foo" is 12182, "bar" 5061.
  EXPECT_EQ(commands::key_slot("foo"), 12182);
  EXPECT_EQ(r.shard_of_key("foo"), r.shard_of_slot(12182));
  // Hash tags keep keys together.
  EXPECT_EQ(r.shard_of_key("{user1000}.following"), r.shard_of_key("{user1000}.followers"));
  // Many keys spread over every shard.
  std::set<int> seen;
  for (int i = 0; i < 100; ++i) seen.insert(r.shard_of_key("key:" + std::to_string(i)));
  EXPECT_EQ(seen.size(), 3u);
}

}  // namespace
}  // namespace lfdb::gateway
