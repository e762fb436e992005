// The pub/sub commands: SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE, PUNSUBSCRIBE, SSUBSCRIBE,
// SUNSUBSCRIBE (writers of the hue global "pubsub"), PUBLISH, SPUBLISH and PUBSUB (readers).
// The subscribe family changes the connection's own Subscriptions too: a command of a
// connection runs one at a time, so that needs nothing more (registry.hpp says the rest).
#include "db/log_records.hpp"
#include "db/pubsub/registry.hpp"
#include "db/server.hpp"
#include "db/tracking/commands.hpp"

namespace lfdb::db {
namespace {

using pubsub::Kind;
using pubsub::Subscriptions;

pubsub::Registry& registry(CommandContext& c) { return c.server->pubsub(); }

// The connection's subscriptions, made (with its outbox) on its first subscription.
Subscriptions& subscriptions(CommandContext& c) {
  ClientState& cl = *c.client;
  if (!cl.subs) {
    cl.subs = std::make_unique<Subscriptions>();
    // One outbox for every push to the connection: invalidations share it (db/tracking/).
    cl.subs->self = std::make_shared<pubsub::Subscriber>(
        cl.id, tracking::endpoint(cl, *c.server).outbox, cl.protocol == resp::Protocol::kResp3);
  }
  return *cl.subs;
}

void publish_counts(CommandContext& c) {
  ClientState& cl = *c.client;
  const Subscriptions* s = cl.subs.get();
  cl.sub_count.store(s ? s->count(Kind::kChannel) : 0, std::memory_order_relaxed);
  cl.psub_count.store(s ? s->count(Kind::kPattern) : 0, std::memory_order_relaxed);
  cl.ssub_count.store(s ? s->count(Kind::kShard) : 0, std::memory_order_relaxed);
  // A RESP2 connection receives redirected invalidations while it is subscribed.
  if (cl.pushes() != nullptr) cl.pushes()->subscribed.store(s != nullptr && s->total() > 0, std::memory_order_relaxed);
}

// What the (un)subscribe replies count: shard channels alone, or channels and patterns.
std::int64_t reply_count(const Subscriptions* s, Kind k) {
  if (s == nullptr) return 0;
  return static_cast<std::int64_t>(k == Kind::kShard ? s->count(Kind::kShard)
                                                      : s->channels_and_patterns());
}

void confirm(CommandContext& c, std::string_view what, const std::string_view* name,
             std::int64_t count) {
  c.out.push_header(3);
  c.out.bulk(what);
  if (name != nullptr) {
    c.out.bulk(*name);
  } else {
    c.out.null();
  }
  c.out.integer(count);
}

void subscribe(CommandContext& c, Kind k, std::string_view what) {
  Subscriptions& subs = subscriptions(c);
  for (std::size_t i = 1; i < c.argc(); ++i) {
    const std::string name(c.arg(i));
    if (registry(c).add(k, name, subs.self)) subs.of(k).push_back(name);
    const std::string_view v = c.arg(i);
    confirm(c, what, &v, reply_count(&subs, k));
  }
  publish_counts(c);
}

void unsubscribe(CommandContext& c, Kind k, std::string_view what) {
  Subscriptions* subs = c.client->subs.get();
  // What was published before this command (no publisher runs while it does) goes out first.
  if (subs != nullptr) subs->self->outbox->drain(c.out.buffer());
  auto drop = [&](std::string_view name) {
    if (subs == nullptr || !registry(c).remove(k, name, subs->self.get())) return;
    auto& names = subs->of(k);
    names.erase(std::find(names.begin(), names.end(), name));
  };
  if (c.argc() == 1) {
    if (subs == nullptr || subs->count(k) == 0) {
      confirm(c, what, nullptr, reply_count(subs, k));
    } else {
      const std::vector<std::string> names = subs->of(k);
      for (const std::string& n : names) {
        drop(n);
        const std::string_view v = n;
        confirm(c, what, &v, reply_count(subs, k));
      }
    }
  } else {
    for (std::size_t i = 1; i < c.argc(); ++i) {
      const std::string_view v = c.arg(i);
      drop(v);
      confirm(c, what, &v, reply_count(subs, k));
    }
  }
  publish_counts(c);
}

void subscribe_cmd(CommandContext& c) { subscribe(c, Kind::kChannel, "subscribe"); }
void psubscribe_cmd(CommandContext& c) { subscribe(c, Kind::kPattern, "psubscribe"); }
void ssubscribe_cmd(CommandContext& c) {
  // Redis lets SUBSCRIBE run inside EXEC but not SSUBSCRIBE (a transaction's client may not
  // block, and Redis counts shard subscribing as such).
  if (c.client != nullptr && c.client->in_exec) {
    return c.out.error("ERR SSUBSCRIBE isn't allowed for a DENY BLOCKING client");
  }
  subscribe(c, Kind::kShard, "ssubscribe");
}
void unsubscribe_cmd(CommandContext& c) { unsubscribe(c, Kind::kChannel, "unsubscribe"); }
void punsubscribe_cmd(CommandContext& c) { unsubscribe(c, Kind::kPattern, "punsubscribe"); }
void sunsubscribe_cmd(CommandContext& c) { unsubscribe(c, Kind::kShard, "sunsubscribe"); }

void publish(CommandContext& c, bool shard) {
  const std::uint64_t self = c.client != nullptr ? c.client->id : 0;
  const pubsub::ScriptPublisher& script = pubsub::t_script_publisher;
  const bool resp3 = script.out != nullptr ? script.resp3 : c.out.resp3();
  std::string& self_out = script.out != nullptr ? *script.out : c.out.buffer();
  const std::size_t n = registry(c).publish(shard, c.arg(1), c.arg(2), self, resp3, self_out,
                                            c.server->pubsub_limits());
  c.out.integer(static_cast<std::int64_t>(n));
  // Redis propagates every PUBLISH (even one nobody received) so that a replica's subscribers
  // get it: once a replica has been attached it goes in the log like a write (inside a
  // transaction's or a script's block), and a replica, or a restart that loads the log,
  // publishes it again (apply_logged). Before any replica, not: Redis keeps PUBLISH out of its
  // append-only file, and a log read only by the disk would fill with messages. Not a
  // replica's own PUBLISH: its log is its primary's stream, byte for byte (as Redis's replica
  // feeds nothing of its own downstream).
  InvocationLog& il = t_invocation_log;
  const Replication& repl = c.server->replication();
  if (il.records != nullptr && !il.own_unlogged && !repl.is_replica() && repl.has_had_replicas()) {
    il.select(c.db);
    encode_command(*il.records, c.argv);
  }
}
void publish_cmd(CommandContext& c) { publish(c, false); }
void spublish_cmd(CommandContext& c) { publish(c, true); }

void syntax_error(CommandContext& c) {
  c.out.error("ERR unknown subcommand or wrong number of arguments for '" +
              std::string(c.arg(1)) + "'. Try PUBSUB HELP.");
}

void channels(CommandContext& c, bool shard) {
  if (c.argc() > 3) return syntax_error(c);
  const auto names = registry(c).channels(shard, c.argc() == 3 ? c.arg(2) : "", c.argc() == 2);
  c.out.array_header(names.size());
  for (const auto& n : names) c.out.bulk(n);
}

void numsub(CommandContext& c, bool shard) {
  c.out.array_header((c.argc() - 2) * 2);
  for (std::size_t i = 2; i < c.argc(); ++i) {
    c.out.bulk(c.arg(i));
    c.out.integer(static_cast<std::int64_t>(registry(c).subscribers(shard, c.arg(i))));
  }
}

void pubsub_channels_cmd(CommandContext& c) { channels(c, false); }
void pubsub_shardchannels_cmd(CommandContext& c) { channels(c, true); }
void pubsub_numsub_cmd(CommandContext& c) { numsub(c, false); }
void pubsub_shardnumsub_cmd(CommandContext& c) { numsub(c, true); }
void pubsub_numpat_cmd(CommandContext& c) {
  c.out.integer(static_cast<std::int64_t>(registry(c).patterns()));
}

void pubsub_help_cmd(CommandContext& c) {
  static constexpr std::string_view kLines[] = {
      "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
      "CHANNELS [<pattern>]",
      "    Return the currently active channels matching a <pattern> (default: '*').",
      "NUMPAT",
      "    Return number of subscriptions to patterns.",
      "NUMSUB [<channel> ...]",
      "    Return the number of subscribers for the specified channels, excluding",
      "    pattern subscriptions(default: no channels).",
      "SHARDCHANNELS [<pattern>]",
      "    Return the currently active shard level channels matching a <pattern> (default: '*').",
      "SHARDNUMSUB [<shardchannel> ...]",
      "    Return the number of subscribers for the specified shard level channel(s)",
      "HELP",
      "    Prints this help."};
  c.out.array_header(std::size(kLines));
  for (auto l : kLines) c.out.simple_string(l);
}

constexpr HandlerEntry kPubsubHandlers[] = {
    {"subscribe", subscribe_cmd},
    {"psubscribe", psubscribe_cmd},
    {"ssubscribe", ssubscribe_cmd},
    {"unsubscribe", unsubscribe_cmd},
    {"punsubscribe", punsubscribe_cmd},
    {"sunsubscribe", sunsubscribe_cmd},
    {"publish", publish_cmd},
    {"spublish", spublish_cmd},
    {"pubsub|channels", pubsub_channels_cmd},
    {"pubsub|shardchannels", pubsub_shardchannels_cmd},
    {"pubsub|numsub", pubsub_numsub_cmd},
    {"pubsub|shardnumsub", pubsub_shardnumsub_cmd},
    {"pubsub|numpat", pubsub_numpat_cmd},
    {"pubsub|help", pubsub_help_cmd},
};

}  // namespace

std::span<const HandlerEntry> pubsub_handlers() { return kPubsubHandlers; }

}  // namespace lfdb::db
