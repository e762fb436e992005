#include "gateway/tracking_hub.hpp"

#include <algorithm>

#include "commands/connection.hpp"
#include "gateway/gateway.hpp"
#include "lf/immutable.hpp"

namespace lfdb::gateway {

namespace {

constexpr std::uint64_t kFeedNotSynced = ~std::uint64_t{0};

bool overlaps(std::string_view a, std::string_view b) {
  const std::size_t n = std::min(a.size(), b.size());
  return a.substr(0, n) == b.substr(0, n);
}

}  // namespace

TrackingHub::TrackingHub(Gateway& gw) : gw_(gw) {
  lf::MutexLock lock(mu_);
  feeds_.resize(static_cast<std::size_t>(gw_.router().shards()));
}

void TrackingHub::attach(std::uint64_t id, std::shared_ptr<lf::Outbox> box, resp::Protocol protocol, bool subscribed) {
  lf::MutexLock lock(mu_);
  endpoints_[id] = Endpoint{std::move(box), protocol, subscribed};
}

void TrackingHub::update(std::uint64_t id, resp::Protocol protocol, bool subscribed) {
  lf::MutexLock lock(mu_);
  auto it = endpoints_.find(id);
  if (it == endpoints_.end()) return;
  it->second.protocol = protocol;
  it->second.subscribed = subscribed;
}

void TrackingHub::detach(std::uint64_t id) {
  lf::MutexLock lock(mu_);
  endpoints_.erase(id);
  trackers_.erase(id);  // its ids left in keys_ are skipped, and go with their keys
  forget_own_locked(id);
}

bool TrackingHub::has_endpoint(std::uint64_t id) const {
  lf::MutexLock lock(mu_);
  return endpoints_.contains(id);
}

std::string TrackingHub::prefix_collision(std::uint64_t id, std::span<const std::string> adding) const {
  lf::MutexLock lock(mu_);
  auto it = trackers_.find(id);
  for (std::size_t i = 0; i < adding.size(); ++i) {
    if (it != trackers_.end()) {
      for (const std::string& mine : it->second.s.prefixes) {
        if (mine != adding[i] && overlaps(mine, adding[i])) {
          return "ERR Prefix '" + adding[i] + "' overlaps with an existing prefix '" + mine +
                 "'. Prefixes for a single client must not overlap.";
        }
      }
    }
    for (std::size_t j = i + 1; j < adding.size(); ++j) {
      if (overlaps(adding[i], adding[j])) {
        return "ERR Prefix '" + adding[i] + "' overlaps with another provided prefix '" + adding[j] +
               "'. Prefixes for a single client must not overlap.";
      }
    }
  }
  return "";
}

void TrackingHub::enable(std::uint64_t id, const Settings& s, std::vector<int>& waiting) {
  lf::MutexLock lock(mu_);
  Tracker& t = trackers_[id];
  std::vector<std::string> prefixes = std::move(t.s.prefixes);
  t.s = s;
  t.broken = false;
  if (s.bcast) {
    for (const std::string& p : s.prefixes) {
      if (std::find(prefixes.begin(), prefixes.end(), p) == prefixes.end()) prefixes.push_back(p);
    }
    t.s.prefixes = std::move(prefixes);
  } else {
    t.s.prefixes.clear();
  }
  for (int shard = 0; shard < static_cast<int>(feeds_.size()); ++shard) {
    if (!in_sync_locked(shard)) start_feed_locked(shard);
    if (!feeds_[static_cast<std::size_t>(shard)].live) waiting.push_back(shard);
  }
}

void TrackingHub::disable(std::uint64_t id) {
  lf::MutexLock lock(mu_);
  trackers_.erase(id);
  forget_own_locked(id);
  if (!trackers_.empty()) return;
  // Nobody tracks: the back-ends stop sending every write's keys to the gateway.
  keys_.clear();
  for (int shard = 0; shard < static_cast<int>(feeds_.size()); ++shard) {
    Feed& f = feeds_[static_cast<std::size_t>(shard)];
    if (!in_sync_locked(shard)) {
      f = Feed{};
      continue;
    }
    UpstreamConn& c = gw_.primary(shard).tracker();
    const std::string_view off[] = {"CLIENT", "TRACKING", "OFF"};
    Pending p;
    p.kind = PendingKind::kSwallow;
    std::string why;
    if (c.enqueue(off, p, why)) c.flush();
    f = Feed{};
  }
}

bool TrackingHub::broken(std::uint64_t id) const {
  lf::MutexLock lock(mu_);
  auto it = trackers_.find(id);
  return it != trackers_.end() && it->second.broken;
}

std::vector<std::string> TrackingHub::prefixes(std::uint64_t id) const {
  lf::MutexLock lock(mu_);
  auto it = trackers_.find(id);
  if (it == trackers_.end() || !it->second.s.bcast) return {};
  std::vector<std::string> v;
  for (const std::string& p : it->second.s.prefixes) {
    if (!p.empty()) v.push_back(p);
  }
  return v;
}

void TrackingHub::remember(std::uint64_t id, std::span<const std::string_view> keys) {
  lf::MutexLock lock(mu_);
  for (std::string_view k : keys) {
    auto& ids = keys_[std::string(k)];
    if (std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(id);
    if (OwnWrite* w = own_.empty() ? nullptr : own_locked(k, id); w != nullptr) w->reread = true;
  }
  // The table is bounded as Redis bounds its own (tracking-table-max-keys' default): a key
  // forgotten is invalidated for its readers first, so nobody keeps a value nobody watches.
  std::vector<std::string_view> one(1);
  while (keys_.size() > kMaxKeys) {
    auto victim = keys_.begin();
    one[0] = victim->first;
    for (std::uint64_t reader : victim->second) {
      auto t = trackers_.find(reader);
      if (t != trackers_.end() && !t->second.s.bcast) deliver_locked(reader, t->second, &one);
    }
    keys_.erase(victim);
    evictions.fetch_add(1, std::memory_order_relaxed);
  }
}

void TrackingHub::own_write_begin(std::uint64_t id, std::span<const std::string> keys) {
  lf::MutexLock lock(mu_);
  for (const std::string& k : keys) {
    OwnWrite* w = own_locked(k, id);
    if (w == nullptr) {
      own_[k].push_back(OwnWrite{id, 0, false});
      w = &own_[k].back();
    }
    ++w->writes;
    // A value it read before this write is its own to drop (NOLOOP clients update or drop
    // what they write, Redis tells them nothing).
    w->reread = false;
  }
}

void TrackingHub::own_write_end(std::uint64_t id, std::span<const std::string> keys) {
  lf::MutexLock lock(mu_);
  for (const std::string& k : keys) {
    auto it = own_.find(k);
    if (it == own_.end()) continue;  // forgotten (tracking off, the client gone)
    auto& v = it->second;
    for (auto w = v.begin(); w != v.end(); ++w) {
      if (w->id != id) continue;
      if (--w->writes == 0) v.erase(w);
      break;
    }
    if (v.empty()) own_.erase(it);
  }
}

TrackingHub::OwnWrite* TrackingHub::own_locked(std::string_view key, std::uint64_t id) {
  auto it = own_.find(std::string(key));
  if (it == own_.end()) return nullptr;
  for (OwnWrite& w : it->second) {
    if (w.id == id) return &w;
  }
  return nullptr;
}

bool TrackingHub::own_change_locked(std::string_view key, std::uint64_t id, const Tracker& t) {
  if (!t.s.noloop || own_.empty()) return false;
  const OwnWrite* w = own_locked(key, id);
  return w != nullptr && w->writes > 0 && !w->reread;
}

void TrackingHub::forget_own_locked(std::uint64_t id) {
  for (auto it = own_.begin(); it != own_.end();) {
    std::erase_if(it->second, [id](const OwnWrite& w) { return w.id == id; });
    it = it->second.empty() ? own_.erase(it) : std::next(it);
  }
}

bool TrackingHub::in_sync_locked(int shard) const {
  UpstreamConn& c = gw_.primary(shard).tracker();
  const UpstreamConn::State st = c.state();
  return feeds_[static_cast<std::size_t>(shard)].synced == c.incarnation() &&
         (st == UpstreamConn::State::kConnected || st == UpstreamConn::State::kConnecting);
}

void TrackingHub::start_feed_locked(int shard) {
  Feed& f = feeds_[static_cast<std::size_t>(shard)];
  UpstreamConn& c = gw_.primary(shard).tracker();
  // BCAST without a prefix: every key the shard modifies, whoever modified it. The reply comes
  // back to on_reply (the feed is live from then on).
  const std::string_view on[] = {"CLIENT", "TRACKING", "ON", "BCAST"};
  Pending p;
  p.kind = PendingKind::kSlot;
  p.sink = this;
  p.part = static_cast<std::uint32_t>(shard);
  std::string why;
  f.live = false;
  if (!c.enqueue(on, p, why)) {
    f.synced = kFeedNotSynced;  // down: the next tick tries again
    return;
  }
  c.flush();
  f.synced = c.incarnation();
}

void TrackingHub::on_reply(const Pending& p, const resp::Frame& reply, bool) {
  lf::MutexLock lock(mu_);
  if (p.part >= feeds_.size()) return;
  Feed& f = feeds_[p.part];
  if (reply.is_error() || !in_sync_locked(static_cast<int>(p.part))) return;  // lost: tick starts over
  f.live = true;
  if (f.flush_on_live) {
    // Writes between the loss and now were not seen: whatever was read meanwhile may be stale.
    f.flush_on_live = false;
    flush_all_locked();
  }
}

void TrackingHub::tick() {
  lf::MutexLock lock(mu_);
  for (int shard = 0; shard < static_cast<int>(feeds_.size()); ++shard) {
    Feed& f = feeds_[static_cast<std::size_t>(shard)];
    if (f.synced != kFeedNotSynced && !in_sync_locked(shard)) {
      // The feed was lost (the back-end died, restarted, or stopped answering): what it would
      // have told is unknown, so everything is invalidated now (once, not at every failed
      // retry) and again once it is back.
      const bool was_live = f.live;
      f = Feed{};
      f.flush_on_live = true;
      if (was_live) flush_all_locked();
    }
    if (!trackers_.empty() && f.synced == kFeedNotSynced) start_feed_locked(shard);
  }
}

void TrackingHub::flush_all_locked() {
  flushes.fetch_add(1, std::memory_order_relaxed);
  keys_.clear();
  for (auto& [id, t] : trackers_) deliver_locked(id, t, nullptr);
}

void TrackingHub::on_push(int, const resp::Frame& frame) {
  // invalidate <keys> | invalidate <null>
  auto it = frame.elements().begin();
  if (it == std::default_sentinel || it->payload() != "invalidate") return;
  ++it;
  if (it == std::default_sentinel) return;
  const resp::Frame keys = *it;
  lf::MutexLock lock(mu_);
  if (keys.is_null()) return flush_all_locked();
  std::vector<std::string_view> names;
  for (const resp::Frame& k : keys.elements()) names.push_back(k.payload());
  invalidations.fetch_add(names.size(), std::memory_order_relaxed);
  // Default mode: one message per key to each client that read it; the key is forgotten.
  std::vector<std::string_view> one(1);
  for (std::string_view name : names) {
    auto found = keys_.find(std::string(name));
    if (found == keys_.end()) continue;
    const std::vector<std::uint64_t> ids = std::move(found->second);
    keys_.erase(found);
    one[0] = name;
    for (std::uint64_t id : ids) {
      auto t = trackers_.find(id);
      if (t == trackers_.end() || t->second.s.bcast) continue;
      // NOLOOP: its own write; the key is forgotten for it all the same, as Redis forgets it.
      if (own_change_locked(name, id, t->second)) continue;
      deliver_locked(id, t->second, &one);
    }
  }
  // BCAST: one message per prefix with the keys it matches.
  std::vector<std::string_view> matched;
  for (auto& [id, t] : trackers_) {
    if (!t.s.bcast) continue;
    for (const std::string& prefix : t.s.prefixes) {
      matched.clear();
      for (std::string_view name : names) {
        if (name.starts_with(prefix) && !own_change_locked(name, id, t)) matched.push_back(name);
      }
      if (!matched.empty()) deliver_locked(id, t, &matched);
    }
  }
}

void TrackingHub::deliver_locked(std::uint64_t id, Tracker& t, const std::vector<std::string_view>* keys) {
  if (t.s.redirect == 0) {
    // A RESP2 client cannot carry a push between its replies: nothing is sent (as Redis).
    auto self = endpoints_.find(id);
    if (self != endpoints_.end() && self->second.protocol == resp::Protocol::kResp3) {
      post_locked(self->second, commands::encode_invalidate(resp::Protocol::kResp3, keys));
    }
    return;
  }
  auto target = endpoints_.find(t.s.redirect);
  if (target == endpoints_.end()) {
    // The redirection target is gone: a RESP3 tracker is told, once.
    if (!t.broken) {
      t.broken = true;
      auto self = endpoints_.find(id);
      if (self != endpoints_.end() && self->second.protocol == resp::Protocol::kResp3) {
        post_locked(self->second, commands::encode_redir_broken(t.s.redirect));
      }
    }
    return;
  }
  const Endpoint& e = target->second;
  if (e.protocol == resp::Protocol::kResp3 || e.subscribed) post_locked(e, commands::encode_invalidate(e.protocol, keys));
}

void TrackingHub::post_locked(const Endpoint& e, std::string frame) {
  const OutputBufferLimit& l = gw_.config().pubsub_limit;
  const lf::Outbox::Posted r =
      e.box->post(lf::make_immutable<std::string>(std::move(frame)), lf::OutboxLimits{l.hard, l.soft, l.soft_time});
  if (r == lf::Outbox::Posted::kOverflowed) dropped_clients.fetch_add(1, std::memory_order_relaxed);
}

std::size_t TrackingHub::clients() const {
  lf::MutexLock lock(mu_);
  return trackers_.size();
}

std::size_t TrackingHub::keys() const {
  lf::MutexLock lock(mu_);
  return keys_.size();
}

}  // namespace lfdb::gateway
