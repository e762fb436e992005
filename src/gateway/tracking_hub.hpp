// gateway::TrackingHub: client-side caching (CLIENT TRACKING) through the gateway.
//
// The back-ends see only the gateway's shared connections, so they cannot know which of its
// clients read a key. The gateway keeps the tracking table itself, as redis-server keeps its
// own: key -> ids of the clients that read it (default mode, recorded when the read is
// forwarded, before it can reach the back-end), and the BCAST clients with their prefixes. It
// learns what changed from one **tracker connection** per back-end (Backend::tracker(), RESP3)
// with `CLIENT TRACKING ON BCAST` and no prefix, opened while at least one client tracks: every
// key the shard modifies comes back as an `invalidate` push, and the hub sends each key to the
// clients that read it (one message per key, as Redis) or whose BCAST prefixes match (one
// message per prefix), as a RESP3 push or, redirected to a subscribed RESP2 connection, a
// message on `__redis__:invalidate`. FLUSHALL/FLUSHDB (a null `invalidate`) and the loss of a
// tracker connection invalidate everything (a null to every tracking client): the feed may have
// missed writes, as a redis-server that drops the connection forgets what it tracked. Why one
// BCAST feed per back-end rather than tracking upstream per client: docs/gateway.md,
// "Client-side caching".
//
// Endpoints: a client that can receive invalidations (its own, or as a REDIRECT target) is
// registered with its outbox, the one its pub/sub messages use, once it has asked for its id
// (CLIENT ID, HELLO), subscribed, or turned tracking on.
//
// Thread-safety: a monitor. mu_ guards the table, the trackers, the endpoints and the feeds'
// state; taken by clients (under their own lock), by the threads reading tracker connections
// (on_push, on_reply, no connection lock held) and by the housekeeper. Lock order: a client's
// lock, then mu_, then a tracker connection's lock or an outbox's lock.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
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

class TrackingHub final : public PushSink, public ReplySink {
 public:
  // One client's CLIENT TRACKING ON options.
  struct Settings {
    bool bcast = false, optin = false, optout = false, noloop = false;
    std::uint64_t redirect = 0;
    std::vector<std::string> prefixes;  // BCAST: "" when none was given (every key)
  };

  // Keys the table holds at most (Redis's default tracking-table-max-keys): past it, keys are
  // invalidated for their readers and forgotten.
  static constexpr std::size_t kMaxKeys = 1'000'000;

  explicit TrackingHub(Gateway& gw);

  // A client's outbox as a destination of invalidations (its own or redirected ones).
  void attach(std::uint64_t id, std::shared_ptr<lf::Outbox> box, resp::Protocol protocol, bool subscribed);
  void update(std::uint64_t id, resp::Protocol protocol, bool subscribed);
  // The client goes: no endpoint and no tracking.
  void detach(std::uint64_t id);
  bool has_endpoint(std::uint64_t id) const;
  // The error for BCAST prefixes that overlap the client's own or each other ("" if none).
  std::string prefix_collision(std::uint64_t id, std::span<const std::string> adding) const;
  // Tracking on (again) with these settings (BCAST prefixes add to the ones it has). The shards
  // whose feed is not confirmed yet are appended to `waiting`: the client's OK waits for them,
  // so whatever it reads after the OK is invalidated when it changes.
  void enable(std::uint64_t id, const Settings& s, std::vector<int>& waiting);
  void disable(std::uint64_t id);
  // Whether the redirection of a tracking client was found broken (TRACKINGINFO).
  bool broken(std::uint64_t id) const;
  // The prefixes of a BCAST client (TRACKINGINFO).
  std::vector<std::string> prefixes(std::uint64_t id) const;
  // A tracking client forwards a read of these keys.
  void remember(std::uint64_t id, std::span<const std::string_view> keys);
  // NOLOOP: a client's write of `keys` is about to be forwarded (begin), and every invalidation
  // it caused has come back through the feeds (end: ClientConn holds the write's reply until a
  // marker behind it on its shards' tracker connections is answered). In between, an
  // invalidation of one of these keys is taken for the client's own and not sent to it, unless
  // it read the key again after the write was sent (then it may hold a value read after
  // another client's write: it is told, as an extra invalidation never leaves a stale value).
  void own_write_begin(std::uint64_t id, std::span<const std::string> keys);
  void own_write_end(std::uint64_t id, std::span<const std::string> keys);

  // A tracker connection's `invalidate` push (keys, or null for a flush).
  void on_push(int shard, const resp::Frame& frame) override;
  // A tracker connection's reply to CLIENT TRACKING ON (p.part is the shard).
  void on_reply(const Pending& p, const resp::Frame& reply, bool more_follow) override;
  void retain() override {}   // the hub outlives every connection
  void release() override {}
  // Housekeeping: a lost feed invalidates everything and is set up again.
  void tick();

  std::size_t clients() const;
  std::size_t keys() const;
  std::atomic<std::uint64_t> invalidations{0}, flushes{0}, evictions{0}, dropped_clients{0};

 private:
  struct Endpoint {
    std::shared_ptr<lf::Outbox> box;
    resp::Protocol protocol = resp::Protocol::kResp2;
    bool subscribed = false;
  };
  struct Tracker {
    Settings s;
    bool broken = false;  // the redirection target was gone (told once)
  };
  // A NOLOOP client's writes of a key under way, and whether it read the key since.
  struct OwnWrite {
    std::uint64_t id = 0;
    std::uint32_t writes = 0;
    bool reread = false;
  };
  struct Feed {
    std::uint64_t synced = ~std::uint64_t{0};  // the tracker connection's incarnation with BCAST on
    bool live = false;          // the back-end confirmed it
    bool flush_on_live = false;  // it was lost: invalidate everything once it is back
  };

  bool in_sync_locked(int shard) const LF_REQUIRES(mu_);
  // CLIENT TRACKING ON BCAST on the shard's tracker connection (opened by it if needed).
  void start_feed_locked(int shard) LF_REQUIRES(mu_);
  // Every tracking client is told to drop everything (a null invalidation).
  void flush_all_locked() LF_REQUIRES(mu_);
  // Sends `keys` (nullptr: null) to the client `id` tracks for, or to its redirection target.
  void deliver_locked(std::uint64_t id, Tracker& t, const std::vector<std::string_view>* keys) LF_REQUIRES(mu_);
  void post_locked(const Endpoint& e, std::string frame) LF_REQUIRES(mu_);
  // The client's own write of `key` under way (nullptr: none), and whether an invalidation of
  // it is the client's own to keep from it (NOLOOP, no read since).
  OwnWrite* own_locked(std::string_view key, std::uint64_t id) LF_REQUIRES(mu_);
  bool own_change_locked(std::string_view key, std::uint64_t id, const Tracker& t) LF_REQUIRES(mu_);
  void forget_own_locked(std::uint64_t id) LF_REQUIRES(mu_);

  Gateway& gw_;
  mutable lf::Mutex mu_;
  std::unordered_map<std::uint64_t, Endpoint> endpoints_ LF_GUARDED_BY(mu_);
  std::unordered_map<std::uint64_t, Tracker> trackers_ LF_GUARDED_BY(mu_);
  std::unordered_map<std::string, std::vector<std::uint64_t>> keys_ LF_GUARDED_BY(mu_);
  std::vector<Feed> feeds_ LF_GUARDED_BY(mu_);
  std::unordered_map<std::string, std::vector<OwnWrite>> own_ LF_GUARDED_BY(mu_);
};

}  // namespace lfdb::gateway
