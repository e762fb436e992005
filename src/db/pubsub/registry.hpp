// The pub/sub room of lfdb-server: who is subscribed to what, and how a message reaches them.
//
//   Subscriber     one subscribed connection as publishers see it: its outbox (lf::Outbox, a
//                  monitor) and its protocol. Shared by the registry's entries and the
//                  connection, so a publisher never touches the connection itself.
//   Subscriptions  the connection's own list of what it subscribed to (for UNSUBSCRIBE with no
//                  arguments, the counts of its replies and for its cleanup when it closes).
//   Registry       channel -> subscribers, pattern -> subscribers, shard channel ->
//                  subscribers.
//
// A published message is encoded once per protocol (and pattern) into an immutable frame
// that every recipient's outbox shares; each connection's serving thread sends it in order
// with its own replies. A publisher that is a recipient itself gets its frame written straight
// into its own reply, before PUBLISH's count, as Redis does.
//
// Thread-safety: the Registry is guarded by the hue global "pubsub" (docs/hue.md): the
// subscribe family (and a closing connection's cleanup) write it, PUBLISH, SPUBLISH and
// PUBSUB read it, and the command table declares which is which (HueClass::kPubsubWrite /
// kPubsubRead), so the scheduler never runs a writer next to anything else that touches it.
// Its statistics for INFO are atomics. Subscriptions belong to their connection: touched by
// its own commands only (one at a time), and by its cleanup once it is gone.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "lf/outbox.hpp"

namespace lfdb::db::pubsub {

enum class Kind : std::uint8_t { kChannel = 0, kPattern = 1, kShard = 2 };

struct Subscriber {
  Subscriber(std::uint64_t id, std::shared_ptr<lf::Outbox> box, bool resp3)
      : client_id(id), outbox(std::move(box)), resp3(resp3) {}
  const std::uint64_t client_id;
  const std::shared_ptr<lf::Outbox> outbox;  // a monitor
  std::atomic<bool> resp3;                   // HELLO may switch it; publishers read it
};

struct Subscriptions {
  std::shared_ptr<Subscriber> self;
  std::vector<std::string> names[3];  // by Kind, in subscription order

  std::vector<std::string>& of(Kind k) { return names[static_cast<int>(k)]; }
  std::size_t count(Kind k) const { return names[static_cast<int>(k)].size(); }
  // What SUBSCRIBE and PSUBSCRIBE report: channels and patterns together.
  std::size_t channels_and_patterns() const { return count(Kind::kChannel) + count(Kind::kPattern); }
  std::size_t total() const { return channels_and_patterns() + count(Kind::kShard); }
};

class Registry {
 public:
  // false: the subscriber had it already.
  bool add(Kind k, const std::string& name, const std::shared_ptr<Subscriber>& s);
  bool remove(Kind k, std::string_view name, const Subscriber* s);
  // Everything a connection subscribed to, when it closes.
  void drop(Subscriptions& subs);

  // Sends `message` to the subscribers of `channel` (and, unless shard, of every pattern that
  // matches it); returns how many got it. The publisher's own copy (self_id) goes to self_out,
  // in its protocol.
  std::size_t publish(bool shard, std::string_view channel, std::string_view message,
                      std::uint64_t self_id, bool self_resp3, std::string& self_out,
                      const lf::OutboxLimits& limits);

  // PUBSUB CHANNELS / SHARDCHANNELS (pattern empty: all), NUMSUB / SHARDNUMSUB, NUMPAT.
  std::vector<std::string> channels(bool shard, std::string_view pattern, bool all) const;
  std::size_t subscribers(bool shard, std::string_view channel) const;
  std::size_t patterns() const { return maps_[1].size(); }

  // Every subscription as fn(kind, name, subscriber's client id): ACL SETUSER's search for the
  // subscribers a user's new rules no longer allow (a reader of "pubsub").
  template <typename Fn>
  void for_each_subscription(Fn&& fn) const {
    for (int k = 0; k < 3; ++k) {
      for (const auto& [name, members] : maps_[k]) {
        for (const auto& m : members) fn(static_cast<Kind>(k), name, m->client_id);
      }
    }
  }

  // INFO, from any thread.
  std::size_t channel_count() const { return n_channels_.load(std::memory_order_relaxed); }
  std::size_t pattern_count() const { return n_patterns_.load(std::memory_order_relaxed); }
  std::size_t shard_channel_count() const { return n_shard_.load(std::memory_order_relaxed); }
  std::uint64_t overflows() const { return overflows_.load(std::memory_order_relaxed); }

 private:
  using Members = std::vector<std::shared_ptr<Subscriber>>;
  // Posts the frame of each member's protocol (made once, on first need) to its outbox.
  template <typename Encode>
  std::size_t deliver(const Members& to, Encode&& encode, std::uint64_t self_id, bool self_resp3,
                      std::string& self_out, const lf::OutboxLimits& limits);
  void update_counts();

  std::unordered_map<std::string, Members> maps_[3];  // by Kind; guarded by the hue "pubsub"
  std::atomic<std::size_t> n_channels_{0}, n_patterns_{0}, n_shard_{0};
  std::atomic<std::uint64_t> overflows_{0};
};

// A script's PUBLISH (redis.call): the publisher's own copy goes to the connection's replies,
// before the script's reply, in the connection's protocol (not into the script's reply buffer).
// Set by the script's call of the command, on its thread.
struct ScriptPublisher {
  std::string* out = nullptr;
  bool resp3 = false;
};
inline thread_local ScriptPublisher t_script_publisher;

// The frames Redis sends a subscriber, in either protocol (push in RESP3, array in RESP2).
std::string encode_message(bool resp3, std::string_view kind, std::string_view channel,
                           std::string_view message);
std::string encode_pmessage(bool resp3, std::string_view pattern, std::string_view channel,
                            std::string_view message);

}  // namespace lfdb::db::pubsub
