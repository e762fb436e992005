// XREAD and XREADGROUP: entries after an id, from one or more streams, for a plain reader or a
// consumer of a group. Options, checks and replies are Redis 7.0's (xreadCommand): a reply
// names only the streams that had something, as an array of [key, entries] pairs (a map in
// RESP3), or a null array when none had.
//
// A group read moves the group's last-delivered id and entries-read counter and, unless NOACK,
// adds each delivered entry to the group's and the consumer's pending lists; the log gets each
// delivery as XCLAIM ... FORCE with its time and count, then the group's position (common.hpp).
#include <climits>
#include <string>
#include <vector>

#include "db/blocking/registry.hpp"
#include "db/pubsub/notify.hpp"
#include "db/stream/common.hpp"
#include "db/stream/read.hpp"

namespace lfdb::db::stream {

bool parse_read(CommandContext& c, ReadArgs& a) {
  for (std::size_t i = 1; i < c.argc(); ++i) {
    const std::size_t more = c.argc() - i - 1;
    const std::string_view o = c.arg(i);
    if (iequal(o, "block") && more != 0) {
      // A script's commands run with their own spec under the script's offer (read.hpp).
      if (blocking::t_offer != nullptr && blocking::t_offer->spec != c.spec) {
        c.out.error("ERR " + std::string(c.arg(0)) + " command is not allowed with BLOCK option from scripts");
        return false;
      }
      std::int64_t ms = 0;
      if (!parse_int(c.arg(++i), ms)) {
        c.out.error("ERR timeout is not an integer or out of range");
        return false;
      }
      if (ms < 0) {
        c.out.error("ERR timeout is negative");
        return false;
      }
      if (ms > 0 && ms > LLONG_MAX - c.now_ms) {
        c.out.error("ERR timeout is out of range");
        return false;
      }
      a.block = true;
      a.deadline = ms > 0 ? c.now_ms + ms : 0;
    } else if (iequal(o, "count") && more != 0) {
      if (!parse_int(c.arg(++i), a.count)) {
        c.out.error(kErrNotInteger);
        return false;
      }
      if (a.count < 0) a.count = 0;
    } else if (iequal(o, "streams") && more != 0) {
      a.streams_at = i + 1;
      const std::size_t n = c.argc() - a.streams_at;
      if (n % 2 != 0) {
        c.out.error("ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.");
        return false;
      }
      a.nstreams = n / 2;
      break;
    } else if (iequal(o, "group") && more >= 2) {
      if (!a.group_read) {
        c.out.error("ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead.");
        return false;
      }
      a.group = c.arg(i + 1);
      a.consumer = c.arg(i + 2);
      a.has_group = true;
      i += 2;
    } else if (iequal(o, "noack")) {
      if (!a.group_read) {
        c.out.error("ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead.");
        return false;
      }
      a.noack = true;
    } else {
      c.out.error(kErrSyntax);
      return false;
    }
  }
  if (a.streams_at == 0) {
    c.out.error(kErrSyntax);
    return false;
  }
  if (a.group_read && !a.has_group) {
    c.out.error("ERR Missing GROUP option for XREADGROUP");
    return false;
  }
  a.ids.resize(a.nstreams);
  for (std::size_t k = 0; k < a.nstreams; ++k) {
    const std::string_view key = c.arg(a.streams_at + k);
    const std::string_view arg = c.arg(a.streams_at + a.nstreams + k);
    bool wrong = false;
    Stream* s = stream_at(c, key, wrong);
    if (wrong) {
      c.out.error(kErrWrongType);
      return false;
    }
    if (a.has_group && (s == nullptr || s->find_group(a.group) == nullptr)) {
      c.out.error("NOGROUP No such key '" + std::string(key) + "' or consumer group '" +
                  std::string(a.group) + "' in XREADGROUP with GROUP option");
      return false;
    }
    if (arg == "$") {
      if (a.group_read) {
        c.out.error(
            "ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the "
            "history of this consumer by specifying a proper ID, or use the > ID to get new "
            "messages. The $ ID would just return an empty result set.");
        return false;
      }
      a.ids[k] = s != nullptr ? s->last_id() : StreamId{};
    } else if (arg == ">") {
      if (!a.group_read) {
        c.out.error(
            "ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> "
            "<consumer> option.");
        return false;
      }
      a.ids[k] = StreamId::max();
    } else if (!parse_id(arg, a.ids[k], 0, true)) {
      c.out.error(kErrInvalidId);
      return false;
    }
  }
  return true;
}

namespace {

// A consumer's own pending entries from `start` (streamReplyWithRangeFromConsumerPEL): an
// entry that is gone from the stream shows as [id, nil].
std::size_t serve_history(CommandContext& c, std::string_view key, std::string_view group,
                          Stream& s, Group& g, Consumer& cons, StreamId start, std::int64_t count) {
  std::vector<StreamId> ids;
  for (auto it = cons.pel.lower_bound(start); it != cons.pel.end(); ++it) {
    if (count != 0 && static_cast<std::int64_t>(ids.size()) >= count) break;
    ids.push_back(*it);
  }
  const std::int64_t now = clock_ms(c);
  c.out.array_header(ids.size());
  for (const StreamId& id : ids) {
    bool found = false;
    s.scan(id, id, false, [&](const EntryRef& e) {
      reply_entry(c, e);
      found = true;
      return false;
    });
    if (!found) {
      c.out.array_header(2);
      reply_id(c, id);
      c.out.null_array();
      continue;
    }
    Nack& n = g.pel.at(id);
    n.delivery_time = now;
    ++n.delivery_count;
    log_claim(c, key, group, g, id, n);
  }
  return ids.size();
}

}  // namespace

// New entries after `after` for a plain reader, or for a group (streamReplyWithRange).
std::size_t serve_new(CommandContext& c, std::string_view key, const ReadArgs& a, Stream& s,
                      Group* g, Consumer* cons, StreamId after, std::int64_t count) {
  StreamId start = after;
  if (!start.incr()) {
    c.out.array_header(0);
    return 0;
  }
  const std::int64_t now = clock_ms(c);
  bool moved = false;
  const std::size_t n = reply_entries(c, s, start, StreamId::max(), false,
                                      static_cast<std::uint64_t>(count), [&](StreamId id) {
    if (g != nullptr && id > g->last_id) {
      if (g->entries_read != kInvalidEntriesRead && !s.range_has_tombstones(id, StreamId::max())) {
        ++g->entries_read;
      } else if (s.entries_added() != 0) {
        g->entries_read = s.estimate_distance(id);
      }
      g->last_id = id;
      moved = true;
    }
    if (g == nullptr || a.noack) return;
    auto [it, fresh] = g->pel.try_emplace(id, Nack{});
    Nack& nack = it->second;
    if (!fresh && nack.consumer != nullptr) nack.consumer->pel.erase(id);
    nack.consumer = cons;
    nack.delivery_time = now;
    nack.delivery_count = 1;
    cons->pel.insert(id);
    log_claim(c, key, a.group, *g, id, nack);
  });
  if (moved) log_group_position(c, key, a.group, *g);
  return n;
}

bool serve_read(CommandContext& c, const ReadArgs& a) {
  std::string body;
  resp::Writer w(body, c.out.resp3() ? resp::Protocol::kResp3 : resp::Protocol::kResp2);
  CommandContext sub{c.argv, w, c.ks, c.now_ms, c.server, c.client, c.spec, c.db};
  sub.writes = c.writes;
  std::size_t served = 0;
  for (std::size_t k = 0; k < a.nstreams; ++k) {
    const std::string_view key = c.arg(a.streams_at + k);
    bool wrong = false;
    Stream* s = stream_at(sub, key, wrong);
    if (s == nullptr) continue;
    StreamId gt = a.ids[k];
    Group* g = a.has_group ? s->find_group(a.group) : nullptr;
    bool history = false, now_serve = false;
    if (a.has_group) {
      if (g == nullptr) continue;  // destroyed while the reader waited
      if (!gt.is_max()) {
        now_serve = history = true;
      } else if (s->length() != 0 && s->last_live_id() > g->last_id) {
        now_serve = true;
        gt = g->last_id;
      }
    } else if (s->length() != 0 && s->last_live_id() > gt) {
      now_serve = true;
    }
    if (!now_serve) continue;
    ++served;
    if (!w.resp3()) w.array_header(2);
    w.bulk(key);
    Consumer* cons = nullptr;
    if (g != nullptr) {
      cons = g->find_consumer(a.consumer);
      if (cons != nullptr) {
        cons->seen_time = clock_ms(c);
      } else {
        cons = g->create_consumer(a.consumer, clock_ms(c));
        pubsub::event(pubsub::kEvStream, "xgroup-createconsumer", key);
        log_record(c, {"XGROUP", "CREATECONSUMER", key, a.group, a.consumer});
      }
      c.part(key).modified(key);
    }
    if (history) {
      StreamId start = gt;
      start.incr();
      serve_history(sub, key, a.group, *s, *g, *cons, start, a.count);
    } else {
      serve_new(sub, key, a, *s, g, cons, gt, a.count);
    }
  }
  if (served == 0) return false;
  if (c.out.resp3()) {
    c.out.map_header(served);
  } else {
    c.out.array_header(served);
  }
  c.out.raw(body);
  return true;
}

namespace {

void read_cmd(CommandContext& c, bool group_read) {
  ReadArgs a;
  a.group_read = group_read;
  if (!parse_read(c, a)) return;
  if (serve_read(c, a)) return;
  if (a.block && block_read(c, a)) return;
  c.out.null_array();
}

void xread_cmd(CommandContext& c) { read_cmd(c, false); }
void xreadgroup_cmd(CommandContext& c) { read_cmd(c, true); }

}  // namespace
}  // namespace lfdb::db::stream

namespace lfdb::db {

std::span<const HandlerEntry> stream_read_handlers() {
  using namespace stream;
  static constexpr HandlerEntry kHandlers[] = {
      {"xread", xread_cmd},
      {"xreadgroup", xreadgroup_cmd},
  };
  return kHandlers;
}

}  // namespace lfdb::db
