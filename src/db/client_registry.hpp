// ClientRegistry: every connected client of lfdb-server, for CLIENT LIST / INFO / KILL and
// INFO's connected_clients. A session adds its ClientState when its connection is attached and
// removes it when it ends; other connections read only what ClientState marks as readable from
// other threads (immutable fields and atomics), under the registry's lock.
//
// Thread-safety: every member may be called from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <list>
#include <string>
#include <string_view>

#include "db/client.hpp"
#include "lf/mutex.hpp"

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
  // may read what other threads may read of a ClientState); laddr is the listening address.
  std::string list(const std::string& laddr, const std::function<bool(const ClientState&)>& keep);
  // Asks the connections `match` selects to close; returns how many.
  template <typename Match>
  std::size_t kill(Match&& match) {
    lf::MutexLock lock(mu_);
    std::size_t n = 0;
    for (ClientState* c : clients_) {
      if (match(*c)) {
        c->host->request_close();
        ++n;
      }
    }
    return n;
  }

 private:
  lf::Mutex mu_;
  std::list<ClientState*> clients_ LF_GUARDED_BY(mu_);
  std::atomic<std::uint64_t> next_id_{1};
};

}  // namespace lfdb::db
