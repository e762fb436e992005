#include "db/client_registry.hpp"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <deque>

#include "db/keyspace.hpp"
#include "db/memory/allocator.hpp"

namespace lfdb::db {

namespace {
// LocalAddr's addresses: added, never removed (a server's own addresses and ports: a few).
lf::Mutex g_local_mu;
std::deque<lf::InetAddr> g_locals LF_GUARDED_BY(g_local_mu);
}  // namespace

LocalAddr LocalAddr::of(const lf::InetAddr& addr) {
  lf::MutexLock lock(g_local_mu);
  LocalAddr l;
  for (std::size_t i = 0; i < g_locals.size(); ++i) {
    if (g_locals[i] == addr) {
      l.number_ = static_cast<std::uint32_t>(i + 1);
      return l;
    }
  }
  g_locals.push_back(addr);
  l.number_ = static_cast<std::uint32_t>(g_locals.size());
  return l;
}

std::string LocalAddr::to_string() const {
  if (number_ == 0) return std::string();
  lf::InetAddr a;
  {
    lf::MutexLock lock(g_local_mu);
    a = g_locals[number_ - 1];
  }
  return a.to_string();
}

std::uint64_t ClientRegistry::add(ClientState* c) {
  const std::uint64_t id = next_id_.fetch_add(1, std::memory_order_relaxed);
  lf::MutexLock lock(mu_);
  c->id = id;  // under the lock: CLIENT KILL ID reads it from other connections' threads
  clients_.push_back(c);
  return id;
}

void ClientRegistry::remove(ClientState* c) {
  lf::MutexLock lock(mu_);
  clients_.remove(c);
  account(*c, 0);  // under the lock: evict_over cannot count it any more
  // An evicted client's memory is freed now (its connection is closing): no longer releasing.
  if (c->evicted.load(std::memory_order_relaxed)) {
    for (auto it = releasing_.begin(); it != releasing_.end(); ++it) {
      if (it->first != c) continue;
      memory::gauge().releasing(-static_cast<std::int64_t>(it->second));
      releasing_.erase(it);
      break;
    }
  }
}

std::vector<std::uint64_t> ClientRegistry::evict_over(std::size_t limit) {
  std::vector<std::uint64_t> ids;
  lf::MutexLock lock(mu_);
  std::vector<std::pair<std::size_t, ClientState*>> heavy;
  for (ClientState* c : clients_) {
    if (!c->evictable.load(std::memory_order_relaxed) || c->evicted.load(std::memory_order_relaxed)) continue;
    // What it holds in its connection and session, and what waits in its outboxes (a
    // subscriber that does not read: its messages stay there, posted by the publishers).
    std::size_t m = c->tot_mem.load(std::memory_order_relaxed);
    {
      lf::MutexLock nl(c->name_mu);
      m += c->name.outbox_bytes();
    }
    if (m != 0) heavy.emplace_back(m, c);
  }
  // Heaviest first (Redis evicts from its largest memory bucket down), and only until under.
  std::sort(heavy.begin(), heavy.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  for (const auto& [m, c] : heavy) {
    const std::size_t total = memory();
    if (total <= limit) break;
    c->evicted.store(true, std::memory_order_seq_cst);  // before account(0): see account()
    // Its memory leaves the sum now: the next client is judged without it. Its outboxes are
    // closed here (their frames freed at once, as Redis frees an evicted client's output; the
    // session closing them again later finds nothing); the rest is freed when its thread
    // closes it, and key eviction leaves it out until then.
    const std::size_t held = c->tot_mem.load(std::memory_order_relaxed);
    account(*c, 0);
    {
      lf::MutexLock nl(c->name_mu);
      c->name.close_outboxes();
    }
    releasing_.emplace_back(c, held);
    memory::gauge().releasing(static_cast<std::int64_t>(held));
    std::fprintf(stderr,
                 "lfdb-server: evicting client id=%" PRIu64 " addr=%s: it uses %zu bytes (tot-mem) "
                 "and the clients %zu, over maxmemory-clients (%zu bytes)\n",
                 c->id, c->addr().c_str(), m, total, limit);
    c->host->request_close();
    ids.push_back(c->id);
  }
  return ids;
}

bool ClientRegistry::has(std::uint64_t id) {
  lf::MutexLock lock(mu_);
  for (const ClientState* c : clients_) {
    if (c->id == id) return true;
  }
  return false;
}

std::size_t ClientRegistry::size() {
  lf::MutexLock lock(mu_);
  return clients_.size();
}

std::string_view client_type(const ClientState& c) {
  const std::uint32_t subs = c.sub_count.load(std::memory_order_relaxed) +
                             c.psub_count.load(std::memory_order_relaxed) +
                             c.ssub_count.load(std::memory_order_relaxed);
  return subs > 0 ? "pubsub" : "normal";
}

bool type_known(std::string_view type) {
  for (std::string_view t : {"normal", "master", "replica", "slave", "pubsub"}) {
    if (commands::iequal(type, t)) return true;
  }
  return false;
}

std::string ClientRegistry::list(const std::string& listener,
                                 const std::function<bool(const ClientState&)>& keep) {
  std::string out;
  const std::int64_t now = now_ms();
  lf::MutexLock lock(mu_);
  for (ClientState* c : clients_) {
    // Closing already (CLIENT KILL, maxmemory-clients): gone as far as a client can tell.
    if (c->killed.load(std::memory_order_relaxed) || c->evicted.load(std::memory_order_relaxed)) continue;
    if (!keep(*c)) continue;
    std::string name, user;
    std::size_t queued = 0;  // in its outboxes: pushes and MONITOR lines not yet sent
    {
      lf::MutexLock nl(c->name_mu);
      name = c->name.view();
      user = c->user_name();
      queued = c->name.outbox_bytes();
    }
    const std::int64_t last = c->last_command_ms.load(std::memory_order_relaxed);
    // Redis's letters, in its order; N when none applies.
    std::string flags;
    if (c->sub_count.load(std::memory_order_relaxed) + c->psub_count.load(std::memory_order_relaxed) +
            c->ssub_count.load(std::memory_order_relaxed) > 0) {
      flags += 'P';
    }
    if (c->in_multi_flag.load(std::memory_order_relaxed)) flags += 'x';
    if (c->blocked.load(std::memory_order_relaxed)) flags += 'b';
    const std::uint8_t tf = c->tracking_flags.load(std::memory_order_relaxed);
    if ((tf & 1) != 0) flags += 't';
    if ((tf & 2) != 0) flags += 'B';
    if (c->peer.is_unix_socket()) flags += 'U';  // came in on the UNIX domain socket
    if (!c->evictable.load(std::memory_order_relaxed)) flags += 'e';  // CLIENT NO-EVICT on
    if (flags.empty()) flags = "N";
    const std::string addr = c->addr();
    std::string laddr = c->laddr();
    if (laddr.empty()) laddr = listener;
    char line[512];
    std::snprintf(line, sizeof line,
                  "id=%" PRIu64 " addr=%s laddr=%s fd=%d name=%s age=%" PRId64 " idle=%" PRId64
                  " flags=%s db=%u sub=%u psub=%u ssub=%u multi=-1 qbuf=%zu qbuf-free=0 argv-mem=0 "
                  "multi-mem=%zu rbs=0 rbp=0 obl=0 oll=0 omem=%zu tot-mem=%zu events=r cmd=%s "
                  "user=%s redir=%" PRId64 " resp=%d\n",
                  c->id, addr.c_str(), laddr.c_str(), c->host != nullptr ? c->host->handle() : -1,
                  name.c_str(), (now - c->created_ms) / 1000,
                  last == 0 ? 0 : (now - last) / 1000,
                  flags.c_str(),
                  c->db_shown.load(std::memory_order_relaxed),
                  c->sub_count.load(std::memory_order_relaxed),
                  c->psub_count.load(std::memory_order_relaxed),
                  c->ssub_count.load(std::memory_order_relaxed),
                  c->qbuf.load(std::memory_order_relaxed),
                  c->multi_mem.load(std::memory_order_relaxed),
                  c->omem.load(std::memory_order_relaxed) + queued,
                  c->tot_mem.load(std::memory_order_relaxed) + queued,
                  c->last_command.load(std::memory_order_relaxed), user.c_str(),
                  c->tracking_redir.load(std::memory_order_relaxed),
                  c->resp_version.load(std::memory_order_relaxed));
    out += line;
  }
  return out;
}

}  // namespace lfdb::db
