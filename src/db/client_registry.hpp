// ClientRegistry: every connected client of lfdb-server, for CLIENT LIST / INFO / KILL and
// INFO's connected_clients. A session adds its ClientState when its connection is attached and
// removes it when it ends; other connections read only what ClientState marks as readable from
// other threads (immutable fields and atomics), under the registry's lock.
//
// Thread-safety: every member may be called from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <list>
#include <string>

#include "db/client.hpp"
#include "lf/mutex.hpp"

namespace lfdb::db {

class ClientRegistry {
 public:
  // Registers c and gives it its id (CLIENT ID: unique, increasing), set in c->id under the
  // lock that CLIENT LIST/KILL read it under.
  std::uint64_t add(ClientState* c);
  void remove(ClientState* c);
  std::size_t size();
  // CLIENT LIST's lines (every client, or `only`); laddr is the listening address.
  std::string list(const std::string& laddr, const ClientState* only = nullptr);
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
