// Blocked XREAD / XREADGROUP readers on the blocking machinery (docs/blocking.md): the reader's
// invocation registers a waiter in the rooms of its streams' colors and parks; the write
// invocation that touches one of those streams serves it in its ready-keys pass, under the
// stream's color, as Redis 7.0 does (blocked.c): a reader is served when the stream's last id
// passed the one it waits after (a group reader: the group's last-delivered id), with only that
// stream in its reply; a reader of a group that was destroyed gets NOGROUP, and one of a stream
// that was deleted or replaced by another type gets UNBLOCKED. Timeouts, CLIENT UNBLOCK and
// hang-ups are the registry's, as for BLPOP.
#include <memory>

#include "db/blocking/registry.hpp"
#include "db/pubsub/notify.hpp"
#include "db/server.hpp"
#include "db/stream/common.hpp"
#include "db/stream/read.hpp"

namespace lfdb::db::stream {
namespace {

constexpr std::int64_t kBlockedDefaultCount = 1000;  // Redis: a blocked reader's COUNT if none

StreamId after_of(const blocking::Waiter& w, std::string_view key) {
  for (std::size_t i = 0; i < w.keys.size(); ++i) {
    if (w.keys[i] == key) return StreamId{w.after_ids[2 * i], w.after_ids[2 * i + 1]};
  }
  return StreamId::max();
}

}  // namespace

bool block_read(CommandContext& c, const ReadArgs& a) {
  blocking::Offer* offer = blocking::t_offer;
  if (offer == nullptr || offer->spec != c.spec || c.server == nullptr) return false;
  auto w = std::make_shared<blocking::Waiter>();
  w->op = blocking::Op::kStream;
  w->count = a.count != 0 ? a.count : kBlockedDefaultCount;
  w->db = c.db;
  for (std::size_t k = 0; k < a.nstreams; ++k) {
    const std::string_view key = c.arg(a.streams_at + k);
    bool seen = false;
    for (const std::string& have : w->keys) seen = seen || have == key;
    if (seen) continue;  // a key named twice waits once, after its first id
    w->keys.emplace_back(key);
    w->after_ids.push_back(a.ids[k].ms);
    w->after_ids.push_back(a.ids[k].seq);
  }
  if (a.has_group) {
    w->group = std::string(a.group);
    w->consumer = std::string(a.consumer);
    w->noack = a.noack;
  }
  w->client_id = offer->client_id;
  w->fd = offer->fd;
  w->protocol = c.out.resp3() ? resp::Protocol::kResp3 : resp::Protocol::kResp2;
  w->deadline_ms = a.deadline;
  w->sleeper = offer->sleeper;
  c.server->blocking().add(w);
  offer->waiter = std::move(w);
  return true;
}

Blocked blocked_state(CommandContext& c, const blocking::Waiter& w, std::string_view key) {
  Entry* e = c.find(key);
  const bool group = !w.group.empty();
  if (e == nullptr || e->value.type() != Type::kStream) return group ? Blocked::kGone : Blocked::kWait;
  Stream& s = *e->value.stream();
  StreamId after = after_of(w, key);
  if (group) {
    const Group* g = s.find_group(w.group);
    if (g == nullptr) return Blocked::kNoGroup;
    after = g->last_id;
  }
  // An entry after `after` must be there: a stream whose newer entries were all deleted serves
  // nothing (Redis answers such a reader at its timeout, never with an empty array).
  return s.length() != 0 && s.last_live_id() > after ? Blocked::kReady : Blocked::kWait;
}

void serve_blocked(CommandContext& c, const blocking::Waiter& w, std::string_view key, Blocked b) {
  if (b == Blocked::kNoGroup) {
    return c.out.error("NOGROUP the consumer group this client was blocked on no longer exists");
  }
  if (b == Blocked::kGone) return c.out.error("UNBLOCKED the stream key no longer exists");
  Stream& s = *c.find(key)->value.stream();
  ReadArgs a;
  a.count = w.count;
  a.noack = w.noack;
  a.group = w.group;
  a.consumer = w.consumer;
  a.has_group = !w.group.empty();
  Group* g = a.has_group ? s.find_group(w.group) : nullptr;
  const StreamId after = g != nullptr ? g->last_id : after_of(w, key);
  if (c.out.resp3()) {
    c.out.map_header(1);
  } else {
    c.out.array_header(1);
    c.out.array_header(2);
  }
  c.out.bulk(key);
  Consumer* cons = nullptr;
  if (g != nullptr) {
    cons = g->find_consumer(w.consumer);
    if (cons != nullptr) {
      cons->seen_time = clock_ms(c);
    } else {
      cons = g->create_consumer(w.consumer, clock_ms(c));
      pubsub::event(pubsub::kEvStream, "xgroup-createconsumer", key);
      log_record(c, {"XGROUP", "CREATECONSUMER", key, w.group, w.consumer});
    }
    c.part(key).modified(key);
  }
  serve_new(c, key, a, s, g, cons, after, a.count);
}

}  // namespace lfdb::db::stream
