// The client-side caching room of lfdb-server (CLIENT TRACKING): which connections may hold a
// cached copy of which keys, and how an invalidation reaches them.
//
//   Endpoint  a connection as pushes reach it: its outbox (lf::Outbox, a monitor; its pub/sub
//             messages share it) and its protocol. Made on the connection's first need (HELLO 3,
//             a subscription, CLIENT TRACKING ON), so it can be a REDIRECT target.
//   Tracker   one connection's CLIENT TRACKING settings: written by its own commands, read by
//             the writers that invalidate (atomics).
//   Table     the tracked keys (key -> ids of the connections that read it), one room per
//             color; the BCAST prefixes; every tracker and endpoint by client id.
//
// Invalidation frames are immutable buffers posted to the recipient's outbox, as pub/sub's
// messages: the recipient's serving thread sends them in order with its own replies (after the
// reply of the command that caused them, when it is the recipient itself).
//
// Thread-safety (docs/hue.md): a room of tracked keys belongs to its color, as a keyspace
// partition does: it is read and written only by an invocation that holds the color as a
// writer of the context. Key writers invalidate (they write the context anyway); a tracking
// client's readers are submitted with the key-write hue so that they may remember their keys
// (ServerSession::execute); FLUSHALL/FLUSHDB and the trim to tracking-table-max-keys run alone
// (they write "keyspace"). The BCAST prefixes and the maps of trackers and endpoints change on
// connection commands, outside the scheduler: they are a monitor (mu_). Counters for INFO are
// atomics.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "db/string_hash.hpp"
#include "lf/mutex.hpp"
#include "lf/outbox.hpp"
#include "lf/thread_annotations.hpp"

namespace lfdb::db {
class ClientRegistry;
}

namespace lfdb::db::tracking {

struct Endpoint {
  Endpoint(std::uint64_t id, std::shared_ptr<lf::Outbox> box, bool resp3)
      : client_id(id), outbox(std::move(box)), resp3(resp3) {}
  const std::uint64_t client_id;
  const std::shared_ptr<lf::Outbox> outbox;  // a monitor
  std::atomic<bool> resp3;                   // HELLO switches it
  std::atomic<bool> subscribed{false};       // RESP2 redirection needs a subscribed target
};

struct Tracker {
  explicit Tracker(std::shared_ptr<Endpoint> e) : self(std::move(e)) {}
  const std::shared_ptr<Endpoint> self;
  std::atomic<bool> on{false}, bcast{false}, optin{false}, optout{false}, noloop{false};
  std::atomic<bool> caching{false};  // CLIENT CACHING yes|no, for the next command
  std::atomic<bool> broken{false};   // the redirection target is gone (told once)
  std::atomic<std::uint64_t> redirect{0};
  // The connection's own BCAST prefixes, in the order given (its own thread only).
  std::vector<std::string> prefixes;
  // Whether the command being run remembers the keys it reads (OPTIN/OPTOUT and CACHING).
  bool remembers() const {
    if (!on.load(std::memory_order_relaxed) || bcast.load(std::memory_order_relaxed)) return false;
    const bool c = caching.load(std::memory_order_relaxed);
    if (optin.load(std::memory_order_relaxed) && !c) return false;
    if (optout.load(std::memory_order_relaxed) && c) return false;
    return true;
  }
};

// The client running a command on this thread (0: the server itself: expiry, eviction), for
// NOLOOP; and whether BCAST invalidations are batched until the command ends (flush()).
inline thread_local std::uint64_t t_writer = 0;
inline thread_local bool t_batch = false;
// A script ran a read-only command: its declared keys are remembered (as Redis does).
inline thread_local bool t_script_read = false;

class Table {
 public:
  Table(std::uint32_t colors, ClientRegistry& clients);

  // ---- connections (their own serving thread) ----
  void attach(const std::shared_ptr<Endpoint>& e);
  void detach(std::uint64_t id);
  // CLIENT TRACKING ON (after the checks) / OFF; the connection's thread.
  void enable(const std::shared_ptr<Tracker>& t, std::span<const std::string> new_prefixes);
  void disable(Tracker& t);
  // A BCAST prefix of `t` (or a new one) that overlaps `p`: the error text, or "".
  std::string prefix_collision(const Tracker& t, std::span<const std::string> adding) const;
  bool has_client(std::uint64_t id) const;

  // ---- invocations (see the thread-safety note) ----
  // A tracking reader read `keys`: it holds their colors as a writer.
  void remember(std::uint64_t client, std::span<const std::string_view> keys);
  // `key` changed, by client `from` (0: expiry, eviction): its trackers are told and forgotten.
  void invalidate(std::string_view key, std::uint64_t from);
  // The BCAST invalidations batched on this thread (t_batch) go out, one per prefix and client.
  void flush();
  // FLUSHALL / FLUSHDB (alone): every tracking client gets a null invalidation.
  void invalidate_all();
  // Over tracking-table-max-keys: forget (and invalidate) keys until within it (alone).
  void trim();
  bool over_limit() const {
    const std::uint64_t m = max_keys_.load(std::memory_order_relaxed);
    return m != 0 && keys_.load(std::memory_order_relaxed) > m;
  }
  void set_max_keys(std::uint64_t m) { max_keys_.store(m, std::memory_order_relaxed); }
  // A trim is queued (one at a time).
  bool claim_trim() { return !trim_queued_.exchange(true, std::memory_order_acq_rel); }

  bool active() const {
    return keys_.load(std::memory_order_relaxed) != 0 || prefixes_n_.load(std::memory_order_relaxed) != 0;
  }
  // INFO.
  std::uint64_t clients() const { return clients_n_.load(std::memory_order_relaxed); }
  std::uint64_t keys() const { return keys_.load(std::memory_order_relaxed); }
  std::uint64_t items() const { return items_.load(std::memory_order_relaxed); }
  std::uint64_t prefixes() const { return prefixes_n_.load(std::memory_order_relaxed); }

 private:
  struct Room {
    std::unordered_map<std::string, std::vector<std::uint64_t>, StringHash, std::equal_to<>> keys;
  };
  struct Prefix {
    std::vector<std::shared_ptr<Tracker>> clients;
  };
  Room& room_of(std::string_view key);
  std::shared_ptr<Tracker> tracker(std::uint64_t id);
  // Sends `keys` (nullptr: a null, for a flush) to t, directly or through its redirection.
  void deliver(Tracker& t, const std::vector<std::string_view>* keys);
  void forget(Room& r, std::string_view key, std::uint64_t from);

  const std::uint32_t mask_;
  ClientRegistry& clients_;
  std::unique_ptr<Room[]> rooms_;  // by color; each guarded by its color (see above)
  std::uint32_t trim_cursor_ = 0;  // guarded by running alone (trim)
  mutable lf::Mutex mu_;
  std::unordered_map<std::uint64_t, std::shared_ptr<Endpoint>> endpoints_ LF_GUARDED_BY(mu_);
  std::unordered_map<std::uint64_t, std::shared_ptr<Tracker>> trackers_ LF_GUARDED_BY(mu_);
  std::map<std::string, Prefix, std::less<>> prefix_map_ LF_GUARDED_BY(mu_);
  std::atomic<std::uint64_t> clients_n_{0}, keys_{0}, items_{0}, prefixes_n_{0};
  std::atomic<std::uint64_t> max_keys_{1000000};
  std::atomic<bool> trim_queued_{false};
};

}  // namespace lfdb::db::tracking
