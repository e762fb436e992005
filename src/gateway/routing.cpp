#include "gateway/routing.hpp"

#include <cstdio>
#include <cstdlib>

namespace lfdb::gateway {

namespace {

constexpr CommandRoute pubsub_route(PubsubCommand c) {
  CommandRoute r{Route::kPubsub, Merge::kNone};
  r.pubsub = c;
  return r;
}

struct NamedRoute {
  std::string_view name;
  CommandRoute route;
};

// The commands the gateway does not simply send where their keys are. Everything else with
// keys is kKeyed, and without keys kAnyShard.
constexpr NamedRoute kRoutes[] = {
    {"ping", {Route::kLocal, Merge::kNone, TxCommand::kNone, /*queues_in_multi=*/true}},
    {"echo", {Route::kLocal, Merge::kNone, TxCommand::kNone, /*queues_in_multi=*/true}},
    {"hello", {Route::kLocal, Merge::kNone}},
    {"auth", {Route::kLocal, Merge::kNone}},
    {"quit", {Route::kLocal, Merge::kNone, TxCommand::kNone, false, /*ignores_multi=*/true}},
    {"select", {Route::kLocal, Merge::kNone}},
    // Database 0 only (SELECT n is refused): MOVE and SWAPDB are refused as by a cluster node.
    {"move", {Route::kLocal, Merge::kNone}},
    {"swapdb", {Route::kLocal, Merge::kNone}},
    {"client|id", {Route::kLocal, Merge::kNone}},
    {"client|setname", {Route::kLocal, Merge::kNone}},
    {"client|getname", {Route::kLocal, Merge::kNone}},
    {"client|help", {Route::kLocal, Merge::kNone}},
    // Client-side caching: the gateway's own tracking table (TrackingHub).
    {"client|tracking", {Route::kLocal, Merge::kNone}},
    {"client|caching", {Route::kLocal, Merge::kNone}},
    {"client|getredir", {Route::kLocal, Merge::kNone}},
    {"client|trackinginfo", {Route::kLocal, Merge::kNone}},
    // RESET runs at once inside MULTI too (it ends it), as on redis-server.
    {"reset", {Route::kLocal, Merge::kNone, TxCommand::kNone, false, /*ignores_multi=*/true}},
    {"info", {Route::kLocal, Merge::kNone}},
    {"command|getkeys", {Route::kLocal, Merge::kNone}},
    {"multi", {Route::kTransaction, Merge::kNone, TxCommand::kMulti}},
    {"exec", {Route::kTransaction, Merge::kNone, TxCommand::kExec}},
    {"discard", {Route::kTransaction, Merge::kNone, TxCommand::kDiscard}},
    {"watch", {Route::kTransaction, Merge::kNone, TxCommand::kWatch}},
    {"unwatch", {Route::kTransaction, Merge::kNone, TxCommand::kUnwatch}},
    {"mget", {Route::kSplit, Merge::kMget}},
    {"mset", {Route::kSplit, Merge::kAllOk}},
    {"del", {Route::kSplit, Merge::kSum}},
    {"unlink", {Route::kSplit, Merge::kSum}},
    {"exists", {Route::kSplit, Merge::kSum}},
    {"touch", {Route::kSplit, Merge::kSum}},
    {"dbsize", {Route::kFanout, Merge::kSum}},
    {"flushall", {Route::kFanout, Merge::kAllOk}},
    {"flushdb", {Route::kFanout, Merge::kAllOk}},
    {"keys", {Route::kFanout, Merge::kConcat}},
    {"eval", {Route::kKeyed, Merge::kNone, TxCommand::kNone, false, false, /*script=*/true}},
    {"evalsha", {Route::kKeyed, Merge::kNone, TxCommand::kNone, false, false, /*script=*/true}},
    {"copy", {Route::kKeyed, Merge::kNone, TxCommand::kNone, false, false, false, false, /*db_option=*/true}},
    {"sort", {Route::kKeyed, Merge::kNone, TxCommand::kNone, false, false, false, /*store_keyword=*/true}},
    {"georadius", {Route::kKeyed, Merge::kNone, TxCommand::kNone, false, false, false, /*store_keyword=*/true}},
    {"georadiusbymember", {Route::kKeyed, Merge::kNone, TxCommand::kNone, false, false, false, /*store_keyword=*/true}},
    // Scripts: loaded into and flushed from every shard, so EVALSHA finds them wherever its
    // keys live. EVAL/EVALSHA go where their declared keys are (one shard, or CROSSSLOT).
    {"script|load", {Route::kFanout, Merge::kSame}},
    {"script|flush", {Route::kFanout, Merge::kAllOk}},
    {"script|kill", {Route::kFanout, Merge::kAnyOk}},
    {"eval_ro", {Route::kKeyed, Merge::kNone, TxCommand::kNone, false, false, /*script=*/true}},
    {"evalsha_ro", {Route::kKeyed, Merge::kNone, TxCommand::kNone, false, false, /*script=*/true}},
    // Functions likewise: every shard holds every library (LOAD, DELETE, FLUSH and RESTORE go
    // to all of them; LIST, DUMP and STATS read any one); FCALL and FCALL_RO go where their
    // keys are.
    {"fcall", {Route::kKeyed, Merge::kNone, TxCommand::kNone, false, false, /*script=*/true}},
    {"fcall_ro", {Route::kKeyed, Merge::kNone, TxCommand::kNone, false, false, /*script=*/true}},
    {"function|load", {Route::kFanout, Merge::kSame}},
    {"function|delete", {Route::kFanout, Merge::kAllOk}},
    {"function|flush", {Route::kFanout, Merge::kAllOk}},
    {"function|restore", {Route::kFanout, Merge::kAllOk}},
    {"function|kill", {Route::kFanout, Merge::kAnyOk}},
    {"scan", {Route::kUnsupported, Merge::kNone}},
    {"randomkey", {Route::kUnsupported, Merge::kNone}},
    {"shutdown", {Route::kUnsupported, Merge::kNone}},
    {"config|get", {Route::kUnsupported, Merge::kNone}},
    {"config|set", {Route::kUnsupported, Merge::kNone}},
    {"config|resetstat", {Route::kUnsupported, Merge::kNone}},
    {"config|rewrite", {Route::kUnsupported, Merge::kNone}},
    {"client|list", {Route::kUnsupported, Merge::kNone}},
    {"client|kill", {Route::kUnsupported, Merge::kNone}},
    {"client|info", {Route::kUnsupported, Merge::kNone}},
    {"client|no-evict", {Route::kUnsupported, Merge::kNone}},
    {"client|no-touch", {Route::kUnsupported, Merge::kNone}},
    // CLIENT PAUSE holds one back-end's clients, and the gateway's shared connections with
    // them: refused until the gateway pauses its own clients.
    {"client|pause", {Route::kUnsupported, Merge::kNone}},
    {"client|unpause", {Route::kUnsupported, Merge::kNone}},
    // CLIENT REPLY would need the gateway to drop the back-ends' replies for it, and MONITOR
    // to carry every shard's feed: refused with a clear error until it does.
    {"client|reply", {Route::kUnsupported, Merge::kNone}},
    {"monitor", {Route::kUnsupported, Merge::kNone}},
    // One back-end's latency record would pass for the whole cluster's: asked of each shard.
    {"latency|latest", {Route::kUnsupported, Merge::kNone}},
    {"latency|history", {Route::kUnsupported, Merge::kNone}},
    {"latency|reset", {Route::kUnsupported, Merge::kNone}},
    {"latency|doctor", {Route::kUnsupported, Merge::kNone}},
    {"latency|graph", {Route::kUnsupported, Merge::kNone}},
    {"latency|histogram", {Route::kUnsupported, Merge::kNone}},
    {"slowlog|get", {Route::kUnsupported, Merge::kNone}},
    {"slowlog|len", {Route::kUnsupported, Merge::kNone}},
    {"slowlog|reset", {Route::kUnsupported, Merge::kNone}},
    // Pub/sub: subscriptions are the gateway's own (one subscriber connection per back-end, the
    // messages fanned out here); PUBLISH and SPUBLISH go to their channel's shard; the channel
    // lists are the back-ends' (fan-out), the counts the gateway's (docs/gateway.md, "Pub/sub").
    {"subscribe", pubsub_route(PubsubCommand::kSubscribe)},
    {"unsubscribe", pubsub_route(PubsubCommand::kUnsubscribe)},
    {"psubscribe", pubsub_route(PubsubCommand::kPsubscribe)},
    {"punsubscribe", pubsub_route(PubsubCommand::kPunsubscribe)},
    {"ssubscribe", pubsub_route(PubsubCommand::kSsubscribe)},
    {"sunsubscribe", pubsub_route(PubsubCommand::kSunsubscribe)},
    {"publish", pubsub_route(PubsubCommand::kPublish)},
    {"spublish", pubsub_route(PubsubCommand::kSpublish)},
    {"pubsub|channels", {Route::kFanout, Merge::kConcat}},
    {"pubsub|shardchannels", {Route::kFanout, Merge::kConcat}},
    {"pubsub|numsub", pubsub_route(PubsubCommand::kNumsub)},
    {"pubsub|shardnumsub", pubsub_route(PubsubCommand::kShardnumsub)},
    {"pubsub|numpat", pubsub_route(PubsubCommand::kNumpat)},
};

// Every spec's route, by its index, decided once.
const std::vector<CommandRoute>& route_table() {
  static const std::vector<CommandRoute> table = [] {
    std::vector<CommandRoute> t(commands::command_count());
    for (std::uint16_t i = 0; i < t.size(); ++i) {
      const commands::CommandSpec& spec = commands::spec_at(i);
      t[i] = spec.first_key > 0 ? CommandRoute{Route::kKeyed, Merge::kNone}
                                : CommandRoute{Route::kAnyShard, Merge::kNone};
    }
    for (const NamedRoute& r : kRoutes) {
      const commands::CommandSpec* spec = commands::find_command(r.name.substr(0, r.name.find('|')));
      if (spec != nullptr && r.name.find('|') != std::string_view::npos) {
        spec = commands::find_subcommand(*spec, r.name.substr(r.name.find('|') + 1));
      }
      if (spec == nullptr) {  // a name missing from the command table: a bug, found at start
        std::fprintf(stderr, "lfdb-gateway: route for unknown command '%.*s'\n",
                     static_cast<int>(r.name.size()), r.name.data());
        std::abort();
      }
      t[commands::index_of(*spec)] = r.route;
    }
    return t;
  }();
  return table;
}

}  // namespace

CommandRoute route_of(std::uint16_t index) { return route_table()[index]; }

CommandRoute classify(const commands::CommandSpec& spec) { return route_of(commands::index_of(spec)); }

Router::Router(const std::vector<ShardConfig>& shards) : shards_(static_cast<int>(shards.size())) {
  for (std::size_t i = 0; i < shards.size(); ++i) {
    for (int s = shards[i].slot_lo; s <= shards[i].slot_hi; ++s) {
      slot_to_shard_[static_cast<std::size_t>(s)] = static_cast<std::uint16_t>(i);
    }
  }
}

}  // namespace lfdb::gateway
