#include "gateway/pubsub_hub.hpp"

#include <algorithm>
#include <optional>

#include "gateway/gateway.hpp"
#include "lf/immutable.hpp"

namespace lfdb::gateway {

namespace {

constexpr std::uint64_t kNotSynced = ~std::uint64_t{0};

constexpr std::string_view kSubscribe[] = {"SUBSCRIBE", "PSUBSCRIBE", "SSUBSCRIBE"};
constexpr std::string_view kUnsubscribe[] = {"UNSUBSCRIBE", "PUNSUBSCRIBE", "SUNSUBSCRIBE"};

std::size_t index(PubSubHub::Kind k) { return static_cast<std::size_t>(k); }

// Keyspace notifications are published by the shard that holds the key, whatever the channel's
// own slot: such channels are listened to everywhere, as patterns are.
bool everywhere(PubSubHub::Kind kind, std::string_view name) {
  if (kind == PubSubHub::Kind::kPattern) return true;
  return kind == PubSubHub::Kind::kChannel &&
         (name.starts_with("__keyspace@") || name.starts_with("__keyevent@"));
}

lf::OutboxLimits outbox_limits(const OutputBufferLimit& l) {
  return lf::OutboxLimits{l.hard, l.soft, l.soft_time};
}

}  // namespace

PubSubHub::PubSubHub(Gateway& gw) : gw_(gw) {
  lf::MutexLock lock(mu_);
  synced_.assign(static_cast<std::size_t>(gw_.router().shards()), kNotSynced);
}

std::vector<int> PubSubHub::shards_of(Kind kind, std::string_view name) const {
  std::vector<int> v;
  if (everywhere(kind, name)) {
    for (int s = 0; s < gw_.router().shards(); ++s) v.push_back(s);
  } else {
    v.push_back(gw_.router().shard_of_key(name));
  }
  return v;
}

void PubSubHub::subscribe(Kind kind, std::string_view name, const Subscriber& s, std::vector<int>& shards) {
  const std::vector<int> where = shards_of(kind, name);
  shards.insert(shards.end(), where.begin(), where.end());
  lf::MutexLock lock(mu_);
  auto [it, fresh] = subs_[index(kind)].try_emplace(std::string(name));
  it->second.push_back(s);
  if (!fresh) return;  // already subscribed upstream
  for (int shard : where) send_locked(shard, kSubscribe[index(kind)], name);
}

void PubSubHub::unsubscribe(Kind kind, std::string_view name, const lf::Outbox* box) {
  lf::MutexLock lock(mu_);
  auto& map = subs_[index(kind)];
  auto it = map.find(std::string(name));
  if (it == map.end()) return;
  std::erase_if(it->second, [&](const Subscriber& s) { return s.box.get() == box; });
  if (!it->second.empty()) return;
  map.erase(it);
  for (int shard : shards_of(kind, name)) send_locked(shard, kUnsubscribe[index(kind)], name);
}

void PubSubHub::set_protocol(Kind kind, std::string_view name, const lf::Outbox* box, resp::Protocol protocol) {
  lf::MutexLock lock(mu_);
  auto& map = subs_[index(kind)];
  auto it = map.find(std::string(name));
  if (it == map.end()) return;
  for (Subscriber& s : it->second) {
    if (s.box.get() == box) s.protocol = protocol;
  }
}

std::size_t PubSubHub::listeners(Kind kind, std::string_view name) const {
  lf::MutexLock lock(mu_);
  const auto& map = subs_[index(kind)];
  auto it = map.find(std::string(name));
  return it == map.end() ? 0 : it->second.size();
}

std::size_t PubSubHub::patterns() const {
  lf::MutexLock lock(mu_);
  return subs_[index(Kind::kPattern)].size();
}

std::size_t PubSubHub::listeners_total(Kind kind) const {
  lf::MutexLock lock(mu_);
  return subs_[index(kind)].size();
}

bool PubSubHub::in_sync_locked(int shard) {
  UpstreamConn& c = gw_.primary(shard).subscriber();
  const UpstreamConn::State st = c.state();
  return synced_[static_cast<std::size_t>(shard)] == c.incarnation() &&
         (st == UpstreamConn::State::kConnected || st == UpstreamConn::State::kConnecting);
}

bool PubSubHub::resync_locked(int shard) {
  UpstreamConn& c = gw_.primary(shard).subscriber();
  bool any = false;
  for (std::size_t k = 0; k < 3; ++k) {
    for (const auto& [name, subscribers] : subs_[k]) {
      const std::vector<int> where = shards_of(static_cast<Kind>(k), name);
      if (std::find(where.begin(), where.end(), shard) == where.end()) continue;
      const std::string_view cmd[] = {kSubscribe[k], name};
      Pending p;
      p.kind = PendingKind::kSwallow;
      std::string why;
      // The first command opens the connection (its set-up goes first); one that cannot be
      // sent leaves the shard out of sync, for the next tick.
      if (!c.enqueue(cmd, p, why)) return false;
      any = true;
    }
  }
  if (!any) return false;  // nothing to listen to: no connection needed
  c.flush();
  synced_[static_cast<std::size_t>(shard)] = c.incarnation();
  resyncs.fetch_add(1, std::memory_order_relaxed);
  return true;
}

void PubSubHub::send_locked(int shard, std::string_view command, std::string_view name) {
  if (!in_sync_locked(shard)) {
    (void)resync_locked(shard);  // the subscriptions as they are now, this one included (or not)
    return;
  }
  UpstreamConn& c = gw_.primary(shard).subscriber();
  const std::string_view cmd[] = {command, name};
  Pending p;
  p.kind = PendingKind::kSwallow;
  std::string why;
  if (c.enqueue(cmd, p, why)) {
    c.flush();
  } else {
    synced_[static_cast<std::size_t>(shard)] = kNotSynced;  // the next tick sets it up again
  }
}

void PubSubHub::tick() {
  lf::MutexLock lock(mu_);
  for (int s = 0; s < static_cast<int>(synced_.size()); ++s) {
    if (!in_sync_locked(s)) (void)resync_locked(s);
  }
}

void PubSubHub::on_push(int, const resp::Frame& frame) {
  // message <channel> <payload> | pmessage <pattern> <channel> <payload> | smessage <channel> <payload>
  auto it = frame.elements().begin();
  const std::string_view kind = it->payload();
  ++it;
  if (it == std::default_sentinel) return;
  const std::string_view name = it->payload();
  const Kind k = kind == "pmessage" ? Kind::kPattern : kind == "smessage" ? Kind::kShard : Kind::kChannel;
  messages.fetch_add(1, std::memory_order_relaxed);
  const lf::OutboxLimits limits = outbox_limits(gw_.config().pubsub_limit);
  lf::MutexLock lock(mu_);
  auto& map = subs_[index(k)];
  auto found = map.find(std::string(name));
  if (found == map.end()) return;  // nobody listens any more (an unsubscribe crossed it)
  // Encoded once per protocol, shared by every recipient: the back-end's RESP2 bytes, and the
  // same message as a RESP3 push (only the aggregate's type byte differs).
  const lf::Frame resp2 = lf::make_immutable<std::string>(frame.bytes());
  std::optional<lf::Frame> resp3;
  for (const Subscriber& s : found->second) {
    if (s.protocol == resp::Protocol::kResp3 && !resp3) {
      std::string b(frame.bytes());
      b[0] = '>';
      resp3 = lf::make_immutable<std::string>(std::move(b));
    }
    const lf::Outbox::Posted r = s.box->post(s.protocol == resp::Protocol::kResp3 ? *resp3 : resp2, limits);
    if (r == lf::Outbox::Posted::kQueued) {
      deliveries.fetch_add(1, std::memory_order_relaxed);
    } else if (r == lf::Outbox::Posted::kOverflowed) {
      dropped_subscribers.fetch_add(1, std::memory_order_relaxed);
    }
  }
}

}  // namespace lfdb::gateway
