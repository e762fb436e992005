// gateway::PubSubHub: pub/sub through the gateway without a connection per subscriber.
//
// The gateway keeps one subscriber connection per back-end (Backend::subscriber(), RESP2) and
// subscribes each channel, pattern and shard channel there once, however many of its clients
// listen to it; the back-end's pushes come back here (PushSink) and the hub fans each message
// out to its clients itself. A message is encoded once per protocol (the back-end's RESP2
// bytes, and the same bytes as a RESP3 push) into one immutable buffer that every recipient's
// lf::Outbox shares; the thread serving each client drains its outbox (docs/pubsub.md), bounded
// by client-output-buffer-limit pubsub.
//
// Where a name is subscribed (docs/gateway.md, "Pub/sub"): a channel and a shard channel on the
// shard of their name's hash slot (where PUBLISH and SPUBLISH are routed), a keyspace or
// keyevent channel (`__keyspace@...`, `__keyevent@...`) and every pattern on every shard.
//
// A subscriber connection that is lost is set up again by the housekeeper (tick()), with every
// subscription of its shard: messages published on that shard in between are lost.
//
// Thread-safety: a monitor. mu_ guards the subscriptions; it is taken by clients (subscribe,
// unsubscribe, counts), by the threads reading the subscriber connections (on_push) and by the
// housekeeper. Lock order: a client's lock, then mu_, then a subscriber connection's lock or an
// outbox's lock (posting); nothing takes mu_ while holding a connection's lock.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "gateway/upstream.hpp"
#include "lf/mutex.hpp"
#include "lf/outbox.hpp"
#include "resp/writer.hpp"

namespace lfdb::gateway {

class Gateway;

class PubSubHub final : public PushSink {
 public:
  enum class Kind : std::uint8_t { kChannel = 0, kPattern = 1, kShard = 2 };
  struct Subscriber {
    std::shared_ptr<lf::Outbox> box;
    resp::Protocol protocol = resp::Protocol::kResp2;
  };

  explicit PubSubHub(Gateway& gw);

  // The client owning `s.box` listens to `name` (once per client; the caller keeps its own
  // set). The first listener of a name subscribes it upstream. The shards it lives on are
  // appended to `shards` (the client's confirmation waits until they have it).
  void subscribe(Kind kind, std::string_view name, const Subscriber& s, std::vector<int>& shards);
  // The last listener of a name leaving unsubscribes it upstream.
  void unsubscribe(Kind kind, std::string_view name, const lf::Outbox* box);
  // The client switched protocols (HELLO): its messages are encoded for the new one.
  void set_protocol(Kind kind, std::string_view name, const lf::Outbox* box, resp::Protocol protocol);
  // This gateway's clients listening to a channel / shard channel; distinct patterns.
  std::size_t listeners(Kind kind, std::string_view name) const;
  std::size_t patterns() const;
  // Distinct channels (or shard channels) with listeners.
  std::size_t listeners_total(Kind kind) const;
  // The shards a name is subscribed on.
  std::vector<int> shards_of(Kind kind, std::string_view name) const;

  void on_push(int shard, const resp::Frame& frame) override;
  // Housekeeping: a subscriber connection that was lost (or never came up) is opened again with
  // every subscription of its shard.
  void tick();

  std::atomic<std::uint64_t> messages{0}, deliveries{0}, resyncs{0}, dropped_subscribers{0};

 private:
  // The connection has every subscription of the shard (nothing lost since it was set up).
  bool in_sync_locked(int shard) LF_REQUIRES(mu_);
  // (Re)opens the shard's subscriber connection with all its subscriptions; false if it could
  // not (down, backing off, ejected): the next tick tries again.
  bool resync_locked(int shard) LF_REQUIRES(mu_);
  // One (UN)SUBSCRIBE-family command for one name on one shard's subscriber connection.
  void send_locked(int shard, std::string_view command, std::string_view name) LF_REQUIRES(mu_);

  Gateway& gw_;
  mutable lf::Mutex mu_;
  std::unordered_map<std::string, std::vector<Subscriber>> subs_[3] LF_GUARDED_BY(mu_);
  // Per shard: the subscriber connection's incarnation that holds every subscription, or ~0.
  std::vector<std::uint64_t> synced_ LF_GUARDED_BY(mu_);
};

}  // namespace lfdb::gateway
