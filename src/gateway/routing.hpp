// gateway routing: what the gateway does with each command of the shared command table, and
// which shard a key belongs to.
//
// Keys map to hash slots (CRC16 mod 16384 with {hash tags}, commands::key_slot, the same as
// Redis Cluster), and slots to shards by contiguous ranges (split evenly, by weight, or as
// configured). Within a shard, writes go to the primary and reads by the read policy (seed
// 004: one writer, many read-only units of work).
//
// Thread-safety: a Router is immutable after construction; route_of() and classify() read a
// table built once.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>
#include <vector>

#include "commands/command_table.hpp"
#include "gateway/config.hpp"
#include "gateway/reply_slot.hpp"

namespace lfdb::gateway {

enum class Route : std::uint8_t {
  kLocal,        // answered by the gateway (PING ECHO HELLO AUTH QUIT SELECT CLIENT ID/... INFO)
  kKeyed,        // one shard: every key must be in it, else CROSSSLOT
  kSplit,        // split by shard and merged (MGET MSET DEL UNLINK EXISTS TOUCH)
  kFanout,       // sent to every shard's primary and merged (DBSIZE FLUSHALL FLUSHDB KEYS)
  kAnyShard,     // no keys, same answer anywhere (TIME, COMMAND ...): the first shard
  kTransaction,  // MULTI EXEC DISCARD WATCH UNWATCH: a dedicated connection (docs/gateway.md)
  kUnsupported,  // no meaning across shards (SCAN RANDOMKEY CONFIG CLIENT LIST SHUTDOWN ...)
  kPubsub,       // the subscribe family (the gateway's PubSubHub), PUBLISH/SPUBLISH by channel
};

// kPubsub's commands.
enum class PubsubCommand : std::uint8_t {
  kNone, kSubscribe, kPsubscribe, kSsubscribe, kUnsubscribe, kPunsubscribe, kSunsubscribe,
  kPublish, kSpublish, kNumsub, kShardnumsub, kNumpat,
};

// kTransaction's commands, told apart by the route rather than by name.
enum class TxCommand : std::uint8_t { kNone, kMulti, kExec, kDiscard, kWatch, kUnwatch };

struct CommandRoute {
  Route route = Route::kUnsupported;
  Merge merge = Merge::kNone;  // kSplit / kFanout
  TxCommand tx = TxCommand::kNone;  // kTransaction
  // kLocal inside MULTI: queued and sent with the transaction (PING, ECHO), answered at once
  // whatever the transaction (QUIT), or refused (the rest).
  bool queues_in_multi = false;
  bool ignores_multi = false;
  bool script = false;  // EVAL, EVALSHA: a gone client's are stopped (ScriptReaper)
  // SORT, GEORADIUS[BYMEMBER]: a STORE/STOREDIST option names one more key, by keyword.
  bool store_keyword = false;
  // COPY: a DB option other than 0 is refused, as by a cluster node (the gateway keeps db 0).
  bool db_option = false;
  PubsubCommand pubsub = PubsubCommand::kNone;  // kPubsub
};

// What the gateway does with a command, by its spec's index (commands::Resolved::index),
// decided once for every spec at start.
CommandRoute route_of(std::uint16_t index);
// The same for a spec (a subcommand's spec for containers).
CommandRoute classify(const commands::CommandSpec& spec);

class Router {
 public:
  explicit Router(const std::vector<ShardConfig>& shards);
  int shard_of_slot(std::uint16_t slot) const { return slot_to_shard_[slot]; }
  int shard_of_key(std::string_view key) const { return slot_to_shard_[commands::key_slot(key)]; }
  int shards() const { return shards_; }

 private:
  std::array<std::uint16_t, 16384> slot_to_shard_{};
  int shards_ = 0;
};

// "CROSSSLOT ..." for keys of one request that live in different shards.
inline constexpr std::string_view kCrossSlotError =
    "CROSSSLOT Keys in request don't hash to the same shard";

}  // namespace lfdb::gateway
