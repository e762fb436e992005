// The command table: lookups, arity, key positions, error texts and key hashing/slots.
#include "commands/command_table.hpp"

#include <gtest/gtest.h>

#include <set>
#include <vector>

namespace {

using namespace lfdb::commands;

TEST(CommandTable, LookupIsCaseInsensitiveAndRejectsUnknown) {
  ASSERT_NE(find_command("GET"), nullptr);
  EXPECT_EQ(find_command("gEt"), find_command("get"));
  EXPECT_EQ(find_command("get")->arity, 2);
  EXPECT_EQ(find_command("nosuch"), nullptr);
  EXPECT_EQ(find_command(""), nullptr);
  const CommandSpec* client = find_command("client");
  ASSERT_NE(client, nullptr);
  ASSERT_TRUE(client->is_container());
  const CommandSpec* setname = find_subcommand(*client, "SETNAME");
  ASSERT_NE(setname, nullptr);
  EXPECT_EQ(setname->name, "client|setname");
  EXPECT_EQ(find_subcommand(*client, "nosuch"), nullptr);
}

TEST(CommandTable, NamesAreUniqueAndEveryDataCommandDeclaresAHue) {
  std::set<std::string_view> names;
  for (const CommandSpec& c : all_commands()) {
    EXPECT_TRUE(names.insert(c.name).second) << c.name;
    EXPECT_EQ(find_command(c.name), &c);
    // Commands that name more keys than their positions say (SORT's BY/GET patterns, a
    // STORE key found by keyword, MIGRATE's KEYS) take the whole keyspace instead: alone, or
    // every color.
    const bool more_keys = c.name == "sort" || c.name == "sort_ro" || c.name == "georadius" ||
                           c.name == "georadiusbymember" || c.has(kKeysOption);
    if (c.first_key > 0 && !more_keys) {
      EXPECT_TRUE(c.hue == HueClass::kKeyRead || c.hue == HueClass::kKeyWrite) << c.name;
    }
    if (more_keys) {
      EXPECT_TRUE(c.hue == HueClass::kUndeclared || c.hue == HueClass::kKeyspaceRead) << c.name;
    }
    if (c.has(kWrite)) {
      EXPECT_FALSE(c.has(kReadonly)) << c.name;
    }
  }
  EXPECT_GE(all_commands().size(), 76u);  // issue 3's list
}

// MIGRATE's keys: the key argument, or what follows KEYS (AUTH's and AUTH2's arguments are not
// options, even when they read "keys"); none when KEYS comes with a non-empty key argument.
TEST(CommandTable, MigrateKeysOption) {
  const CommandSpec& m = *find_command("migrate");
  auto keys_of = [&](std::vector<std::string_view> argv) {
    std::vector<std::size_t> out;
    for_each_key(m, std::span<const std::string_view>(argv), [&](std::size_t i) { out.push_back(i); });
    return out;
  };
  EXPECT_EQ(keys_of({"migrate", "h", "1", "k", "0", "10"}), (std::vector<std::size_t>{3}));
  EXPECT_EQ(keys_of({"migrate", "h", "1", "", "0", "10", "COPY", "KEYS", "a", "b"}),
            (std::vector<std::size_t>{8, 9}));
  EXPECT_EQ(keys_of({"migrate", "h", "1", "", "0", "10", "AUTH", "keys", "KEYS", "a"}),
            (std::vector<std::size_t>{9}));
  EXPECT_EQ(keys_of({"migrate", "h", "1", "", "0", "10", "AUTH2", "keys", "keys", "KEYS", "a"}),
            (std::vector<std::size_t>{10}));
  EXPECT_TRUE(keys_of({"migrate", "h", "1", "k", "0", "10", "KEYS", "a"}).empty());
}

TEST(CommandTable, Arity) {
  EXPECT_TRUE(find_command("get")->arity_ok(2));
  EXPECT_FALSE(find_command("get")->arity_ok(3));
  EXPECT_TRUE(find_command("set")->arity_ok(3));
  EXPECT_TRUE(find_command("set")->arity_ok(9));
  EXPECT_FALSE(find_command("set")->arity_ok(2));
}

std::vector<std::size_t> keys(const char* name, std::size_t argc) {
  std::vector<std::size_t> out;
  for_each_key(*find_command(name), argc, [&](std::size_t i) { out.push_back(i); });
  return out;
}

TEST(CommandTable, KeyPositions) {
  EXPECT_EQ(keys("get", 2), (std::vector<std::size_t>{1}));
  EXPECT_EQ(keys("mset", 7), (std::vector<std::size_t>{1, 3, 5}));
  EXPECT_EQ(keys("mget", 4), (std::vector<std::size_t>{1, 2, 3}));
  EXPECT_EQ(keys("rename", 3), (std::vector<std::size_t>{1, 2}));
  EXPECT_EQ(keys("hset", 6), (std::vector<std::size_t>{1}));
  EXPECT_TRUE(keys("ping", 1).empty());
  const CommandSpec* enc = find_subcommand(*find_command("object"), "encoding");
  std::vector<std::size_t> k;
  for_each_key(*enc, 3, [&](std::size_t i) { k.push_back(i); });
  EXPECT_EQ(k, (std::vector<std::size_t>{2}));
}

TEST(CommandTable, ListSetAndSortedSetKeyPositions) {
  EXPECT_EQ(keys("lmove", 5), (std::vector<std::size_t>{1, 2}));
  EXPECT_EQ(keys("rpoplpush", 3), (std::vector<std::size_t>{1, 2}));
  EXPECT_EQ(keys("smove", 4), (std::vector<std::size_t>{1, 2}));
  EXPECT_EQ(keys("sinterstore", 4), (std::vector<std::size_t>{1, 2, 3}));
  EXPECT_EQ(keys("lpush", 5), (std::vector<std::size_t>{1}));
  // SINTERCARD's keys follow their count, options after them are not keys.
  std::vector<std::string_view> argv = {"sintercard", "2", "a", "b", "LIMIT", "1"};
  std::vector<std::size_t> k;
  for_each_key(*find_command("sintercard"), std::span<const std::string_view>(argv),
               [&](std::size_t i) { k.push_back(i); });
  EXPECT_EQ(k, (std::vector<std::size_t>{2, 3}));
  EXPECT_TRUE(find_command("lpush")->has(kDenyOom));
  // ZUNIONSTORE: the destination, then the keys its count names (WEIGHTS are not keys).
  std::vector<std::string_view> z = {"zunionstore", "dst", "2", "a", "b", "WEIGHTS", "1", "2"};
  k.clear();
  for_each_key(*find_command("zunionstore"), std::span<const std::string_view>(z),
               [&](std::size_t i) { k.push_back(i); });
  EXPECT_EQ(k, (std::vector<std::size_t>{1, 3, 4}));
  std::vector<std::string_view> bad = {"zinterstore", "dst", "x", "a"};
  k.clear();
  for_each_key(*find_command("zinterstore"), std::span<const std::string_view>(bad),
               [&](std::size_t i) { k.push_back(i); });
  EXPECT_EQ(k, (std::vector<std::size_t>{1}));  // the handler reports the bad count
  // BLPOP: every argument but the last (the timeout) is a key.
  std::vector<std::string_view> b = {"blpop", "a", "b", "0"};
  k.clear();
  for_each_key(*find_command("blpop"), std::span<const std::string_view>(b),
               [&](std::size_t i) { k.push_back(i); });
  EXPECT_EQ(k, (std::vector<std::size_t>{1, 2}));
  EXPECT_TRUE(find_command("blpop")->has(kBlocking));
  EXPECT_FALSE(find_command("lmpop")->has(kBlocking));
}

TEST(CommandTable, ErrorTextsAreRedis70s) {
  std::vector<std::string_view> argv = {"foo", "a", "b"};
  EXPECT_EQ(unknown_command_error(argv), "ERR unknown command 'foo', with args beginning with: 'a' 'b' ");
  std::vector<std::string_view> none = {"foo"};
  EXPECT_EQ(unknown_command_error(none), "ERR unknown command 'foo', with args beginning with: ");
  std::string big(300, 'x');
  std::vector<std::string_view> long_args = {"foo", big, "y"};
  // The argument text stops once 128 bytes of it have been written.
  EXPECT_EQ(unknown_command_error(long_args),
            "ERR unknown command 'foo', with args beginning with: '" + std::string(128, 'x') + "' ");
  EXPECT_EQ(wrong_arity_error("get"), "ERR wrong number of arguments for 'get' command");
  EXPECT_EQ(unknown_subcommand_error("client", "bad"), "ERR unknown subcommand 'bad'. Try CLIENT HELP.");
}

// The one front door: what a request names, or Redis's exact error for why it names nothing.
TEST(CommandTable, ResolveGivesTheSpecOrRedissError) {
  auto resolved = [](std::vector<std::string_view> argv) { return resolve(argv); };
  auto error_of = [](std::vector<std::string_view> argv) { return resolve(argv).error(argv); };

  const Resolved get = resolved({"GeT", "k"});
  ASSERT_TRUE(get);
  EXPECT_EQ(get.spec, find_command("get"));
  EXPECT_EQ(&spec_at(get.index), get.spec);

  const Resolved setname = resolved({"client", "SETNAME", "x"});
  ASSERT_TRUE(setname);
  EXPECT_EQ(setname.spec->name, "client|setname");
  EXPECT_EQ(&spec_at(setname.index), setname.spec);

  // A container whose arity allows it alone resolves to itself (COMMAND); one that needs a
  // subcommand does not (CONFIG).
  ASSERT_TRUE(resolved({"command"}));
  EXPECT_EQ(resolved({"command"}).spec->name, "command");
  EXPECT_FALSE(resolved({"config"}));

  EXPECT_EQ(error_of({"nosuch", "a"}), "ERR unknown command 'nosuch', with args beginning with: 'a' ");
  EXPECT_EQ(error_of({"get"}), "ERR wrong number of arguments for 'get' command");
  EXPECT_EQ(error_of({"config"}), "ERR wrong number of arguments for 'config' command");
  EXPECT_EQ(error_of({"client", "bogus"}), "ERR unknown subcommand 'bogus'. Try CLIENT HELP.");
  EXPECT_EQ(error_of({"client", "setname"}),
            wrong_arity_error("client|setname"));
  EXPECT_EQ(resolved({"client", "bogus"}).failure, Resolved::Failure::kUnknownSubcommand);
  EXPECT_EQ(resolved({"get"}).failure, Resolved::Failure::kArity);
  EXPECT_EQ(resolved({"nosuch"}).failure, Resolved::Failure::kUnknownCommand);
}

// Every spec has its own index, dense from 0, and spec_at inverts index_of.
TEST(CommandTable, EverySpecHasADenseIndex) {
  std::vector<bool> seen(command_count(), false);
  std::size_t specs = 0;
  auto visit = [&](const CommandSpec& s) {
    const std::uint16_t i = index_of(s);
    ASSERT_LT(i, command_count());
    EXPECT_FALSE(seen[i]) << s.name;
    seen[i] = true;
    EXPECT_EQ(&spec_at(i), &s);
    ++specs;
  };
  for (const CommandSpec& c : all_commands()) {
    visit(c);
    for (const CommandSpec& sub : c.subcommands) visit(sub);
  }
  EXPECT_EQ(specs, command_count());
}

// The behaviour a session, a script or a log replay gives a command comes from its flags, not
// from comparing its name; each flag is on exactly the commands that get that behaviour (as in
// Redis 7.0): allowed while a script is busy, answered in RESP2 subscribed mode (besides the
// subscribe family's hue), ending MULTI without running it, arguments kept out of the slow log,
// moving the database.
TEST(CommandTable, BehaviourFlagsAreOnExactlyTheirCommands) {
  auto with = [](std::uint32_t flag) {
    std::set<std::string_view> names;
    auto visit = [&](const CommandSpec& s) {
      if (s.has(flag)) names.insert(s.name);
    };
    for (const CommandSpec& c : all_commands()) {
      visit(c);
      for (const CommandSpec& sub : c.subcommands) visit(sub);
    }
    return names;
  };
  using Names = std::set<std::string_view>;
  EXPECT_EQ(with(kAllowBusy), (Names{"auth", "discard", "function|kill", "function|stats", "hello",
                                     "multi", "quit", "script|kill", "shutdown", "unwatch"}));
  EXPECT_EQ(with(kSubscribed), (Names{"ping", "quit", "reset"}));
  EXPECT_EQ(with(kLeavesMulti), (Names{"discard", "quit", "reset"}));
  EXPECT_EQ(with(kSecretArgs), (Names{"auth", "hello", "migrate"}));  // MIGRATE: AUTH, AUTH2
  EXPECT_EQ(with(kSelectsDb), (Names{"select"}));
}

TEST(CommandTable, HashTagsAndSlotsMatchRedisCluster) {
  EXPECT_EQ(hash_tag("{user1000}.following"), "user1000");
  EXPECT_EQ(hash_tag("foo{}{bar}"), "foo{}{bar}");  // an empty first tag: the whole key
  EXPECT_EQ(hash_tag("foo{{bar}}zap"), "{bar");
  EXPECT_EQ(hash_tag("nobraces"), "nobraces");
  EXPECT_EQ(key_hash("{a}x"), key_hash("{a}y"));
  EXPECT_NE(key_hash("ax"), key_hash("ay"));
  // Values from Redis Cluster (CLUSTER KEYSLOT).
  EXPECT_EQ(key_slot("foo"), 12182);
  EXPECT_EQ(key_slot("bar"), 5061);
  EXPECT_EQ(key_slot("{foo}bar"), 12182);
}

}  // namespace
