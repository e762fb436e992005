#include "db/tracking/table.hpp"

#include <algorithm>

#include "db/client_registry.hpp"
#include "lf/hue.hpp"
#include "commands/command_table.hpp"
#include "commands/connection.hpp"
#include "resp/writer.hpp"

namespace lfdb::db::tracking {

namespace {
// BCAST invalidations of the command running on this thread, sent when it ends (one message
// per prefix and client, as Redis sends them once per event loop).
struct Pending {
  std::shared_ptr<Tracker> to;
  std::string prefix;
  std::string key;
  std::uint64_t from;
};
thread_local std::vector<Pending> t_pending;

void post(const Endpoint& e, std::string frame) {
  (void)e.outbox->post(lf::make_immutable<std::string>(std::move(frame)));
}
}  // namespace

Table::Table(std::uint32_t colors, ClientRegistry& clients)
    : mask_(colors - 1), clients_(clients), rooms_(std::make_unique<Room[]>(colors)) {}

Table::Room& Table::room_of(std::string_view key) {
  return rooms_[lf::hue::Scheduler::color_for(commands::key_hash(key), mask_)];
}

void Table::attach(const std::shared_ptr<Endpoint>& e) {
  lf::MutexLock lock(mu_);
  endpoints_[e->client_id] = e;
}

void Table::detach(std::uint64_t id) {
  lf::MutexLock lock(mu_);
  endpoints_.erase(id);
}

bool Table::has_client(std::uint64_t id) const { return clients_.has(id); }

std::string Table::prefix_collision(const Tracker& t, std::span<const std::string> adding) const {
  auto overlaps = [](std::string_view a, std::string_view b) {
    return a.substr(0, std::min(a.size(), b.size())) == b.substr(0, std::min(a.size(), b.size()));
  };
  for (std::size_t i = 0; i < adding.size(); ++i) {
    for (const std::string& mine : t.prefixes) {
      if (mine != adding[i] && overlaps(mine, adding[i])) {
        return "ERR Prefix '" + adding[i] + "' overlaps with an existing prefix '" + mine +
               "'. Prefixes for a single client must not overlap.";
      }
    }
    for (std::size_t j = i + 1; j < adding.size(); ++j) {
      if (overlaps(adding[i], adding[j])) {
        return "ERR Prefix '" + adding[i] + "' overlaps with another provided prefix '" +
               adding[j] + "'. Prefixes for a single client must not overlap.";
      }
    }
  }
  return "";
}

void Table::enable(const std::shared_ptr<Tracker>& t, std::span<const std::string> new_prefixes) {
  lf::MutexLock lock(mu_);
  if (!t->on.exchange(true, std::memory_order_relaxed)) {
    clients_n_.fetch_add(1, std::memory_order_relaxed);
  }
  trackers_[t->self->client_id] = t;
  for (const std::string& p : new_prefixes) {
    if (std::find(t->prefixes.begin(), t->prefixes.end(), p) != t->prefixes.end()) continue;
    t->prefixes.push_back(p);
    prefix_map_[p].clients.push_back(t);
  }
  prefixes_n_.store(prefix_map_.size(), std::memory_order_relaxed);
}

void Table::disable(Tracker& t) {
  lf::MutexLock lock(mu_);
  for (const std::string& p : t.prefixes) {
    auto it = prefix_map_.find(p);
    if (it == prefix_map_.end()) continue;
    std::erase_if(it->second.clients, [&](const auto& x) { return x.get() == &t; });
    if (it->second.clients.empty()) prefix_map_.erase(it);
  }
  t.prefixes.clear();
  prefixes_n_.store(prefix_map_.size(), std::memory_order_relaxed);
  trackers_.erase(t.self->client_id);
  if (t.on.exchange(false, std::memory_order_relaxed)) {
    clients_n_.fetch_sub(1, std::memory_order_relaxed);
  }
}

std::shared_ptr<Tracker> Table::tracker(std::uint64_t id) {
  lf::MutexLock lock(mu_);
  auto it = trackers_.find(id);
  return it == trackers_.end() ? nullptr : it->second;
}

void Table::remember(std::uint64_t client, std::span<const std::string_view> keys) {
  for (std::string_view key : keys) {
    Room& r = room_of(key);
    auto it = r.keys.find(key);
    if (it == r.keys.end()) {
      it = r.keys.emplace(std::string(key), std::vector<std::uint64_t>()).first;
      keys_.fetch_add(1, std::memory_order_relaxed);
    }
    auto& ids = it->second;
    if (std::find(ids.begin(), ids.end(), client) == ids.end()) {
      ids.push_back(client);
      items_.fetch_add(1, std::memory_order_relaxed);
    }
  }
}

void Table::deliver(Tracker& t, const std::vector<std::string_view>* keys) {
  const std::uint64_t redir = t.redirect.load(std::memory_order_relaxed);
  if (redir == 0) {
    // RESP2 cannot carry a push on the connection's own replies: nothing is sent (as Redis).
    if (t.self->resp3.load(std::memory_order_relaxed)) post(*t.self, commands::encode_invalidate(resp::Protocol::kResp3, keys));
    return;
  }
  std::shared_ptr<Endpoint> target;
  {
    lf::MutexLock lock(mu_);
    auto it = endpoints_.find(redir);
    if (it != endpoints_.end()) target = it->second;
  }
  if (!target) {
    if (has_client(redir)) return;  // a RESP2 connection that never subscribed: nothing to say
    if (!t.broken.exchange(true, std::memory_order_relaxed) &&
        t.self->resp3.load(std::memory_order_relaxed)) {
      post(*t.self, commands::encode_redir_broken(redir));
    }
    return;
  }
  if (target->resp3.load(std::memory_order_relaxed)) {
    post(*target, commands::encode_invalidate(resp::Protocol::kResp3, keys));
  } else if (target->subscribed.load(std::memory_order_relaxed)) {
    post(*target, commands::encode_invalidate(resp::Protocol::kResp2, keys));
  }
}

void Table::forget(Room& r, std::string_view key, std::uint64_t from) {
  auto it = r.keys.find(key);
  if (it == r.keys.end()) return;
  const std::string name = it->first;
  const std::vector<std::uint64_t> ids = std::move(it->second);
  r.keys.erase(it);
  keys_.fetch_sub(1, std::memory_order_relaxed);
  items_.fetch_sub(ids.size(), std::memory_order_relaxed);
  const std::vector<std::string_view> one{name};
  for (std::uint64_t id : ids) {
    std::shared_ptr<Tracker> t = tracker(id);
    if (!t || !t->on.load(std::memory_order_relaxed) || t->bcast.load(std::memory_order_relaxed)) continue;
    if (from != 0 && from == id && t->noloop.load(std::memory_order_relaxed)) continue;
    deliver(*t, &one);
  }
}

void Table::invalidate(std::string_view key, std::uint64_t from) {
  if (keys_.load(std::memory_order_relaxed) != 0) forget(room_of(key), key, from);
  if (prefixes_n_.load(std::memory_order_relaxed) == 0) return;
  {
    lf::MutexLock lock(mu_);
    for (const auto& [prefix, p] : prefix_map_) {
      if (key.substr(0, prefix.size()) != prefix) continue;
      for (const auto& t : p.clients) t_pending.push_back({t, prefix, std::string(key), from});
    }
  }
  if (!t_batch) flush();
}

void Table::flush() {
  if (t_pending.empty()) return;
  std::vector<Pending> pending = std::move(t_pending);
  t_pending.clear();
  std::vector<bool> done(pending.size(), false);
  for (std::size_t i = 0; i < pending.size(); ++i) {
    if (done[i]) continue;
    Tracker& t = *pending[i].to;
    const bool noloop = t.noloop.load(std::memory_order_relaxed);
    std::vector<std::string_view> keys;
    for (std::size_t j = i; j < pending.size(); ++j) {
      if (done[j] || pending[j].to.get() != &t || pending[j].prefix != pending[i].prefix) continue;
      done[j] = true;
      if (noloop && pending[j].from == t.self->client_id) continue;
      if (std::find(keys.begin(), keys.end(), pending[j].key) == keys.end()) keys.push_back(pending[j].key);
    }
    if (!keys.empty() && t.on.load(std::memory_order_relaxed)) deliver(t, &keys);
  }
}

void Table::invalidate_all() {
  std::vector<std::shared_ptr<Tracker>> all;
  {
    lf::MutexLock lock(mu_);
    for (const auto& [id, t] : trackers_) all.push_back(t);
  }
  for (std::uint32_t c = 0; c <= mask_; ++c) rooms_[c].keys.clear();
  keys_.store(0, std::memory_order_relaxed);
  items_.store(0, std::memory_order_relaxed);
  for (const auto& t : all) {
    if (t->on.load(std::memory_order_relaxed)) deliver(*t, nullptr);
  }
}

void Table::trim() {
  while (over_limit()) {
    Room* r = nullptr;
    for (std::uint32_t n = 0; n <= mask_ && r == nullptr; ++n) {
      trim_cursor_ = (trim_cursor_ + 1) & mask_;
      if (!rooms_[trim_cursor_].keys.empty()) r = &rooms_[trim_cursor_];
    }
    if (r == nullptr) break;
    const std::string key = r->keys.begin()->first;
    forget(*r, key, 0);
  }
  trim_queued_.store(false, std::memory_order_release);
}

}  // namespace lfdb::db::tracking

namespace lfdb::db::tracking {
void key_changed(Table* t, std::string_view key, bool by_server) {
  if (!t->active()) return;
  t->invalidate(key, by_server ? 0 : t_writer);
}
}  // namespace lfdb::db::tracking
