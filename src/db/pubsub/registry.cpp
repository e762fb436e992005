#include "db/pubsub/registry.hpp"

#include <algorithm>
#include <optional>

#include "db/command_context.hpp"
#include "resp/writer.hpp"

namespace lfdb::db::pubsub {

namespace {
resp::Protocol protocol_of(bool resp3) { return resp3 ? resp::Protocol::kResp3 : resp::Protocol::kResp2; }
}  // namespace

std::string encode_message(bool resp3, std::string_view kind, std::string_view channel,
                           std::string_view message) {
  std::string out;
  out.reserve(32 + kind.size() + channel.size() + message.size());
  resp::Writer w(out, protocol_of(resp3));
  w.push_header(3);
  w.bulk(kind);
  w.bulk(channel);
  w.bulk(message);
  return out;
}

std::string encode_pmessage(bool resp3, std::string_view pattern, std::string_view channel,
                            std::string_view message) {
  std::string out;
  out.reserve(48 + pattern.size() + channel.size() + message.size());
  resp::Writer w(out, protocol_of(resp3));
  w.push_header(4);
  w.bulk("pmessage");
  w.bulk(pattern);
  w.bulk(channel);
  w.bulk(message);
  return out;
}

bool Registry::add(Kind k, const std::string& name, const std::shared_ptr<Subscriber>& s) {
  Members& m = maps_[static_cast<int>(k)][name];
  for (const auto& x : m) {
    if (x.get() == s.get()) return false;
  }
  m.push_back(s);
  update_counts();
  return true;
}

bool Registry::remove(Kind k, std::string_view name, const Subscriber* s) {
  auto& map = maps_[static_cast<int>(k)];
  auto it = map.find(std::string(name));
  if (it == map.end()) return false;
  Members& m = it->second;
  auto at = std::find_if(m.begin(), m.end(), [&](const auto& x) { return x.get() == s; });
  if (at == m.end()) return false;
  m.erase(at);  // keeps the others in subscription order
  if (m.empty()) map.erase(it);
  update_counts();
  return true;
}

void Registry::drop(Subscriptions& subs) {
  for (int k = 0; k < 3; ++k) {
    for (const std::string& name : subs.names[k]) remove(static_cast<Kind>(k), name, subs.self.get());
    subs.names[k].clear();
  }
}

void Registry::update_counts() {
  n_channels_.store(maps_[0].size(), std::memory_order_relaxed);
  n_patterns_.store(maps_[1].size(), std::memory_order_relaxed);
  n_shard_.store(maps_[2].size(), std::memory_order_relaxed);
}

template <typename Encode>
std::size_t Registry::deliver(const Members& to, Encode&& encode, std::uint64_t self_id,
                              bool self_resp3, std::string& self_out,
                              const lf::OutboxLimits& limits) {
  std::optional<lf::Frame> frames[2];  // RESP2, RESP3: each encoded once, shared by all
  for (const auto& s : to) {
    if (s->client_id == self_id) {
      self_out.append(encode(self_resp3));
      continue;
    }
    const bool resp3 = s->resp3.load(std::memory_order_relaxed);
    std::optional<lf::Frame>& f = frames[resp3 ? 1 : 0];
    if (!f) f.emplace(lf::make_immutable<std::string>(encode(resp3)));
    if (s->outbox->post(*f, limits) == lf::Outbox::Posted::kOverflowed) {
      overflows_.fetch_add(1, std::memory_order_relaxed);
    }
  }
  return to.size();
}

std::size_t Registry::publish(bool shard, std::string_view channel, std::string_view message,
                              std::uint64_t self_id, bool self_resp3, std::string& self_out,
                              const lf::OutboxLimits& limits) {
  std::size_t n = 0;
  const auto& direct = maps_[static_cast<int>(shard ? Kind::kShard : Kind::kChannel)];
  if (auto it = direct.find(std::string(channel)); it != direct.end()) {
    std::string_view kind = shard ? "smessage" : "message";
    n += deliver(
        it->second,
        [&](bool resp3) { return encode_message(resp3, kind, channel, message); },
        self_id, self_resp3, self_out, limits);
  }
  if (shard) return n;
  for (const auto& entry : maps_[static_cast<int>(Kind::kPattern)]) {
    const std::string& pattern = entry.first;
    if (!glob_match(pattern, channel)) continue;
    n += deliver(
        entry.second,
        [&](bool resp3) { return encode_pmessage(resp3, pattern, channel, message); },
        self_id, self_resp3, self_out, limits);
  }
  return n;
}

std::vector<std::string> Registry::channels(bool shard, std::string_view pattern, bool all) const {
  std::vector<std::string> out;
  for (const auto& [name, members] : maps_[static_cast<int>(shard ? Kind::kShard : Kind::kChannel)]) {
    if (all || glob_match(pattern, name)) out.push_back(name);
  }
  return out;
}

std::size_t Registry::subscribers(bool shard, std::string_view channel) const {
  const auto& map = maps_[static_cast<int>(shard ? Kind::kShard : Kind::kChannel)];
  auto it = map.find(std::string(channel));
  return it == map.end() ? 0 : it->second.size();
}

}  // namespace lfdb::db::pubsub
