// ClientRegistry: every connected client of lfdb-server, for CLIENT LIST / INFO / KILL and
// INFO's connected_clients. A session adds its ClientState when its connection is attached and
// removes it when it ends; other connections read only what ClientState marks as readable from
// other threads (immutable fields and atomics), under the registry's lock.
//
// It also keeps the sum of every client's memory (tot-mem) for maxmemory-clients: each serving
// thread publishes its own client's figure after a read (account), the clients' outboxes (pub/sub
// messages and invalidations, MONITOR lines) add what posters queue and take off what their
// sessions drain through one meter (outbox_meter), and the thread that finds the sum over the
// limit closes the heaviest evictable clients (evict_over), as CLIENT KILL does.
//
// Thread-safety: every member may be called from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "db/client.hpp"
#include "lf/mutex.hpp"
#include "lf/outbox.hpp"

namespace lfdb::db {

// CLIENT LIST TYPE / CLIENT KILL TYPE: the client's type as Redis names it ("normal",
// "pubsub"; lfdb's replicas stream over a connection handed to the replication dispatcher and
// are not listed). type_known says whether Redis knows the name at all.
std::string_view client_type(const ClientState& c);
bool type_known(std::string_view type);

class ClientRegistry {
 public:
  // Registers c and gives it its id (CLIENT ID: unique, increasing), set in c->id under the
  // lock that CLIENT LIST/KILL read it under.
  std::uint64_t add(ClientState* c);
  void remove(ClientState* c);
  std::size_t size();
  bool has(std::uint64_t id);  // a connected client with this id (CLIENT TRACKING REDIRECT)
  // CLIENT LIST's lines, of the clients `keep` selects (called under the registry's lock: it
  // may read what other threads may read of a ClientState); `listener` stands in for a client's
  // laddr when its connection has no socket of its own to ask.
  std::string list(const std::string& listener, const std::function<bool(const ClientState&)>& keep);
  // The serving thread's new figure for its client: CLIENT LIST's tot-mem, and the sum.
  void account(ClientState& c, std::size_t bytes) {
    set_tot_mem(c, bytes);
    // An evicted client left the sum when evict_over picked it, but its session still runs
    // until its thread closes it: what it counts then must not come back into the sum, or the
    // next heaviest client (an idle one) is evicted for it. Sequentially consistent with
    // evict_over's store of `evicted` and its own set_tot_mem(0): whichever runs second zeroes.
    if (bytes != 0 && c.evicted.load(std::memory_order_seq_cst)) set_tot_mem(c, 0);
  }
  // Every client's memory together (INFO memory mem_clients_normal): what the serving threads
  // counted and what waits in the outboxes.
  std::size_t memory() const {
    const std::int64_t t = total_mem_.load(std::memory_order_relaxed);  // an add may trail its exchange
    return (t < 0 ? 0 : static_cast<std::size_t>(t)) + outboxes_->bytes();
  }
  // Given to every client's outbox as it is opened (lf::Outbox::open): a post by a publisher's
  // thread is in the sum at once, before the subscriber's session runs again (it does not while
  // its socket is full), and the publisher's own check of the limit sees it.
  const std::shared_ptr<lf::OutboxMeter>& outbox_meter() const { return outboxes_; }
  // maxmemory-clients: asks the heaviest clients not under CLIENT NO-EVICT to close until the
  // sum is at most `limit`, each logged; returns their ids (the caller settles parked ones as
  // CLIENT KILL does).
  std::vector<std::uint64_t> evict_over(std::size_t limit);
  // Asks the connections `match` selects to close; returns how many.
  template <typename Match>
  std::size_t kill(Match&& match) {
    lf::MutexLock lock(mu_);
    std::size_t n = 0;
    for (ClientState* c : clients_) {
      if (c->killed.load(std::memory_order_relaxed) || c->evicted.load(std::memory_order_relaxed)) continue;
      if (match(*c)) {
        c->killed.store(true, std::memory_order_relaxed);
        c->host->request_close();
        ++n;
      }
    }
    return n;
  }

 private:
  void set_tot_mem(ClientState& c, std::size_t bytes) {
    const std::size_t old = c.tot_mem.exchange(bytes, std::memory_order_seq_cst);
    if (old != bytes) {
      total_mem_.fetch_add(static_cast<std::int64_t>(bytes) - static_cast<std::int64_t>(old),
                           std::memory_order_relaxed);
    }
  }
  lf::Mutex mu_;
  std::list<ClientState*> clients_ LF_GUARDED_BY(mu_);
  // Evicted clients not yet closed, and the tot-mem each had: they still hold it until their
  // own threads close them, and memory::Gauge::releasing leaves it out of key eviction's figure
  // meanwhile (Redis frees an evicted client at once).
  std::vector<std::pair<ClientState*, std::size_t>> releasing_ LF_GUARDED_BY(mu_);
  std::atomic<std::uint64_t> next_id_{1};
  // The sum of the registered clients' tot_mem: moved only by exchanges of a tot_mem.
  std::atomic<std::int64_t> total_mem_{0};
  // The bytes queued in the clients' outboxes: a monitor (one atomic) the outboxes share.
  const std::shared_ptr<lf::OutboxMeter> outboxes_ = std::make_shared<lf::OutboxMeter>();
};

}  // namespace lfdb::db
