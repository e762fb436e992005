// The consumer-group commands: XGROUP's subcommands, XACK, XPENDING, XCLAIM and XAUTOCLAIM.
// Replies and error texts are Redis 7.0's.
//
// What the log gets (so that replaying it, at any later time, rebuilds the same groups): a
// claimed or delivered entry as `XCLAIM key group consumer 0 id TIME t RETRYCOUNT n FORCE JUSTID
// LASTID last` (its delivery time and count as they are, not recomputed), a pending entry
// dropped because its stream entry is gone as XACK, and a group's new position as
// `XGROUP SETID key group id ENTRIESREAD n` (`$` resolved).
#include <string>
#include <vector>

#include "db/pubsub/notify.hpp"
#include "db/stream/common.hpp"

namespace lfdb::db::stream {

void log_claim(CommandContext& c, std::string_view key, std::string_view group, const Group& g,
               StreamId id, const Nack& n) {
  if (t_invocation_log.records == nullptr) return;
  const std::string ids = id.str(), time = std::to_string(n.delivery_time),
                    count = std::to_string(n.delivery_count), last = g.last_id.str();
  log_record(c, {"XCLAIM", key, group, n.consumer->name, "0", ids, "TIME", time, "RETRYCOUNT",
                 count, "FORCE", "JUSTID", "LASTID", last});
}

void log_group_position(CommandContext& c, std::string_view key, std::string_view group,
                        const Group& g) {
  if (t_invocation_log.records == nullptr) return;
  const std::string last = g.last_id.str(), read = std::to_string(g.entries_read);
  log_record(c, {"XGROUP", "SETID", key, group, last, "ENTRIESREAD", read});
}

namespace {

std::string no_group(std::string_view key, std::string_view group) {
  return "NOGROUP No such key '" + std::string(key) + "' or consumer group '" +
         std::string(group) + "'";
}

// ---- XGROUP ----

// The parts every XGROUP subcommand with a key shares (xgroupCommand's prologue): options
// from argv[5], the stream, the group. False with the reply written.
struct GroupArgs {
  bool mkstream = false;
  std::int64_t entries_read = kInvalidEntriesRead;
  Stream* s = nullptr;
  Group* g = nullptr;
};

bool group_prologue(CommandContext& c, GroupArgs& a, bool create, bool setid, bool need_group) {
  for (std::size_t i = 5; i < c.argc();) {
    if (create && iequal(c.arg(i), "mkstream")) {
      a.mkstream = true;
      ++i;
    } else if ((create || setid) && iequal(c.arg(i), "entriesread") && i + 1 < c.argc()) {
      if (!parse_int(c.arg(i + 1), a.entries_read)) {
        c.out.error(kErrNotInteger);
        return false;
      }
      if (a.entries_read < 0 && a.entries_read != kInvalidEntriesRead) {
        c.out.error("ERR value for ENTRIESREAD must be positive or -1");
        return false;
      }
      i += 2;
    } else {
      subcommand_syntax_error(c);
      return false;
    }
  }
  bool wrong = false;
  a.s = stream_at(c, c.arg(2), wrong);
  if (wrong) {
    c.out.error(kErrWrongType);
    return false;
  }
  if (a.mkstream) return true;
  if (a.s == nullptr) {
    c.out.error(
        "ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want "
        "to use the MKSTREAM option to create an empty stream automatically.");
    return false;
  }
  a.g = a.s->find_group(c.arg(3));
  if (a.g == nullptr && need_group) {
    c.out.error("NOGROUP No such consumer group '" + std::string(c.arg(3)) + "' for key name '" +
                std::string(c.arg(2)) + "'");
    return false;
  }
  return true;
}

void xgroup_create_cmd(CommandContext& c) {
  GroupArgs a;
  if (!group_prologue(c, a, true, false, false)) return;
  if (c.argc() > 8) return subcommand_syntax_error(c);
  StreamId id;
  if (c.arg(4) == "$") {
    id = a.s != nullptr ? a.s->last_id() : StreamId{};
  } else if (!parse_id(c.arg(4), id, 0, true)) {
    return c.out.error(kErrInvalidId);
  }
  const std::string_view key = c.arg(2), name = c.arg(3);
  const bool created = a.s == nullptr;
  if (created) a.s = &stream_create(c, key);
  if (a.s->find_group(name) != nullptr) {
    return c.out.error("BUSYGROUP Consumer Group name already exists");
  }
  auto g = std::make_unique<Group>();
  g->last_id = id;
  g->entries_read = a.entries_read;
  a.s->groups().emplace(std::string(name), std::move(g));
  c.out.simple_string("OK");
  c.part(key).modified(key);
  pubsub::event(pubsub::kEvStream, "xgroup-create", key);
  const std::string ids = id.str(), read = std::to_string(a.entries_read);
  if (created) {
    log_record(c, {"XGROUP", "CREATE", key, name, ids, "ENTRIESREAD", read, "MKSTREAM"});
  } else {
    log_record(c, {"XGROUP", "CREATE", key, name, ids, "ENTRIESREAD", read});
  }
}

void xgroup_setid_cmd(CommandContext& c) {
  GroupArgs a;
  if (!group_prologue(c, a, false, true, true)) return;
  if (c.argc() != 5 && c.argc() != 7) return subcommand_syntax_error(c);
  StreamId id;
  if (c.arg(4) == "$") {
    id = a.s->last_id();
  } else if (!parse_id(c.arg(4), id, 0, false)) {
    return c.out.error(kErrInvalidId);
  }
  a.g->last_id = id;
  a.g->entries_read = a.entries_read;
  c.out.simple_string("OK");
  c.part(c.arg(2)).modified(c.arg(2));
  pubsub::event(pubsub::kEvStream, "xgroup-setid", c.arg(2));
  log_group_position(c, c.arg(2), c.arg(3), *a.g);
}

void xgroup_destroy_cmd(CommandContext& c) {
  GroupArgs a;
  if (!group_prologue(c, a, false, false, false)) return;
  if (a.g == nullptr) return c.out.integer(0);
  a.s->groups().erase(a.s->groups().find(c.arg(3)));
  c.out.integer(1);
  c.part(c.arg(2)).modified(c.arg(2));
  pubsub::event(pubsub::kEvStream, "xgroup-destroy", c.arg(2));
  log_record(c, c.argv);
}

void xgroup_createconsumer_cmd(CommandContext& c) {
  GroupArgs a;
  if (!group_prologue(c, a, false, false, true)) return;
  const bool created = a.g->create_consumer(c.arg(4), clock_ms(c)) != nullptr;
  c.out.integer(created ? 1 : 0);
  if (!created) return;
  c.part(c.arg(2)).modified(c.arg(2));
  pubsub::event(pubsub::kEvStream, "xgroup-createconsumer", c.arg(2));
  log_record(c, c.argv);
}

void xgroup_delconsumer_cmd(CommandContext& c) {
  GroupArgs a;
  if (!group_prologue(c, a, false, false, true)) return;
  if (a.g->find_consumer(c.arg(4)) == nullptr) return c.out.integer(0);
  const std::size_t pending = a.g->delete_consumer(c.arg(4));
  c.out.integer(static_cast<std::int64_t>(pending));
  c.part(c.arg(2)).modified(c.arg(2));
  pubsub::event(pubsub::kEvStream, "xgroup-delconsumer", c.arg(2));
  log_record(c, c.argv);
}

void xgroup_help_cmd(CommandContext& c) {
  static constexpr std::string_view kLines[] = {
      "XGROUP <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
      "CREATE <key> <groupname> <id|$> [option]",
      "    Create a new consumer group. Options are:",
      "    * MKSTREAM",
      "      Create the empty stream if it does not exist.",
      "    * ENTRIESREAD entries_read",
      "      Set the group's entries_read counter (internal use).",
      "CREATECONSUMER <key> <groupname> <consumer>",
      "    Create a new consumer in the specified group.",
      "DELCONSUMER <key> <groupname> <consumer>",
      "    Remove the specified consumer.",
      "DESTROY <key> <groupname>",
      "    Remove the specified group.",
      "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
      "    Set the current group ID and entries_read counter.",
      "HELP",
      "    Prints this help.",
  };
  c.out.array_header(std::size(kLines));
  for (std::string_view line : kLines) c.out.simple_string(line);
}

// ---- XACK, XPENDING ----

void xack_cmd(CommandContext& c) {
  const std::string_view key = c.arg(1);
  bool wrong = false;
  Stream* s = stream_at(c, key, wrong);
  if (wrong) return c.out.error(kErrWrongType);
  Group* g = s != nullptr ? s->find_group(c.arg(2)) : nullptr;
  if (g == nullptr) return c.out.integer(0);
  std::vector<StreamId> ids(c.argc() - 3);
  for (std::size_t j = 3; j < c.argc(); ++j) {
    if (!parse_id(c.arg(j), ids[j - 3], 0, true)) return c.out.error(kErrInvalidId);
  }
  std::int64_t acked = 0;
  for (const StreamId& id : ids) {
    auto it = g->pel.find(id);
    if (it == g->pel.end()) continue;
    g->ack(it);
    ++acked;
  }
  if (acked != 0) {
    c.part(key).modified(key);
    log_record(c, c.argv);
  }
  c.out.integer(acked);
}

void xpending_cmd(CommandContext& c) {
  const bool summary = c.argc() == 3;
  if (!summary && (c.argc() < 6 || c.argc() > 9)) return c.out.error(kErrSyntax);
  StreamId start, end;
  std::int64_t count = 0, minidle = 0;
  std::string_view consumer_name;
  bool has_consumer = false;
  if (!summary) {
    std::size_t at = 3;
    if (iequal(c.arg(3), "idle")) {
      if (!parse_int(c.arg(4), minidle)) return c.out.error(kErrNotInteger);
      if (c.argc() < 8) return c.out.error(kErrSyntax);
      at += 2;
    }
    if (!parse_int(c.arg(at + 2), count)) return c.out.error(kErrNotInteger);
    if (count < 0) count = 0;
    if (!parse_range_start(c, c.arg(at), start)) return;
    if (!parse_range_end(c, c.arg(at + 1), end)) return;
    if (at + 3 < c.argc()) {
      consumer_name = c.arg(at + 3);
      has_consumer = true;
    }
  }
  bool wrong = false;
  Stream* s = stream_at(c, c.arg(1), wrong);
  if (wrong) return c.out.error(kErrWrongType);
  Group* g = s != nullptr ? s->find_group(c.arg(2)) : nullptr;
  if (g == nullptr) return c.out.error(no_group(c.arg(1), c.arg(2)));
  if (summary) {
    c.out.array_header(4);
    c.out.integer(static_cast<std::int64_t>(g->pel.size()));
    if (g->pel.empty()) {
      c.out.null();
      c.out.null();
      c.out.null_array();
      return;
    }
    reply_id(c, g->pel.begin()->first);
    reply_id(c, g->pel.rbegin()->first);
    std::size_t n = 0;
    for (const auto& [name, cons] : g->consumers) n += cons->pel.empty() ? 0 : 1;
    c.out.array_header(n);
    for (const auto& [name, cons] : g->consumers) {
      if (cons->pel.empty()) continue;
      c.out.array_header(2);
      c.out.bulk(name);
      c.out.bulk(std::to_string(cons->pel.size()));
    }
    return;
  }
  const Consumer* only = nullptr;
  if (has_consumer) {
    only = g->find_consumer(consumer_name);
    if (only == nullptr) return c.out.array_header(0);
  }
  const std::int64_t now = clock_ms(c);
  struct Row {
    StreamId id;
    const Nack* n;
  };
  std::vector<Row> rows;
  auto visit = [&](StreamId id, const Nack& n) {
    if (minidle != 0 && now - n.delivery_time < minidle) return;
    rows.push_back(Row{id, &n});
    --count;
  };
  if (only != nullptr) {
    for (auto it = only->pel.lower_bound(start); count > 0 && it != only->pel.end() && *it <= end; ++it) {
      visit(*it, g->pel.at(*it));
    }
  } else {
    for (auto it = g->pel.lower_bound(start); count > 0 && it != g->pel.end() && it->first <= end; ++it) {
      visit(it->first, it->second);
    }
  }
  c.out.array_header(rows.size());
  for (const Row& r : rows) {
    c.out.array_header(4);
    reply_id(c, r.id);
    c.out.bulk(r.n->consumer->name);
    c.out.integer(std::max<std::int64_t>(0, now - r.n->delivery_time));
    c.out.integer(static_cast<std::int64_t>(r.n->delivery_count));
  }
}

// ---- XCLAIM, XAUTOCLAIM ----

// The consumer `name` of g, created (and announced) when new; its seen time refreshed.
Consumer& consumer_for(CommandContext& c, std::string_view key, Group& g, std::string_view name,
                       std::int64_t now) {
  if (Consumer* cons = g.find_consumer(name)) {
    cons->seen_time = now;
    return *cons;
  }
  pubsub::event(pubsub::kEvStream, "xgroup-createconsumer", key);
  return *g.create_consumer(name, now);
}

// Moves the pending entry to `to`.
void reassign(Nack& n, StreamId id, Consumer& to) {
  if (n.consumer == &to) return;
  if (n.consumer != nullptr) n.consumer->pel.erase(id);
  to.pel.insert(id);
  n.consumer = &to;
}

void reply_claimed(CommandContext& c, const Stream& s, StreamId id, bool justid) {
  if (justid) return reply_id(c, id);
  s.scan(id, id, false, [&](const EntryRef& e) {
    reply_entry(c, e);
    return false;
  });
}

void xclaim_cmd(CommandContext& c) {
  const std::string_view key = c.arg(1), group = c.arg(2);
  bool wrong = false;
  Stream* s = stream_at(c, key, wrong);
  if (wrong) return c.out.error(kErrWrongType);
  Group* g = s != nullptr ? s->find_group(group) : nullptr;
  if (g == nullptr) return c.out.error(no_group(key, group));
  std::int64_t minidle = 0;
  if (!parse_int(c.arg(4), minidle)) return c.out.error("ERR Invalid min-idle-time argument for XCLAIM");
  if (minidle < 0) minidle = 0;
  std::vector<StreamId> ids;
  std::size_t j = 5;
  for (; j < c.argc(); ++j) {
    StreamId id;
    if (!parse_id(c.arg(j), id, 0, true)) break;
    ids.push_back(id);
  }
  const std::int64_t now = clock_ms(c);
  std::int64_t retrycount = -1, deliverytime = -1;
  bool force = false, justid = false;
  StreamId last_id;
  for (; j < c.argc(); ++j) {
    const bool more = j + 1 < c.argc();
    const std::string_view opt = c.arg(j);
    if (iequal(opt, "force")) {
      force = true;
    } else if (iequal(opt, "justid")) {
      justid = true;
    } else if (iequal(opt, "idle") && more) {
      if (!parse_int(c.arg(++j), deliverytime)) return c.out.error("ERR Invalid IDLE option argument for XCLAIM");
      deliverytime = now - deliverytime;
    } else if (iequal(opt, "time") && more) {
      if (!parse_int(c.arg(++j), deliverytime)) return c.out.error("ERR Invalid TIME option argument for XCLAIM");
    } else if (iequal(opt, "retrycount") && more) {
      if (!parse_int(c.arg(++j), retrycount)) return c.out.error("ERR Invalid RETRYCOUNT option argument for XCLAIM");
    } else if (iequal(opt, "lastid") && more) {
      if (!parse_id(c.arg(++j), last_id, 0, true)) return c.out.error(kErrInvalidId);
    } else {
      return c.out.error("ERR Unrecognized XCLAIM option '" + std::string(opt) + "'");
    }
  }
  bool moved_last = false;
  if (last_id > g->last_id) {
    g->last_id = last_id;
    moved_last = true;
  }
  if (deliverytime < 0 || deliverytime > now) deliverytime = now;
  std::vector<StreamId> out;
  Consumer* cons = nullptr;
  bool changed = moved_last;
  for (const StreamId& id : ids) {
    auto it = g->pel.find(id);
    if (!s->contains(id)) {
      if (it != g->pel.end()) {
        g->ack(it);
        changed = true;
        const std::string ids_ = id.str();
        log_record(c, {"XACK", key, group, ids_});
      }
      continue;
    }
    if (force && it == g->pel.end()) it = g->pel.emplace(id, Nack{}).first;
    if (it == g->pel.end()) continue;
    Nack& n = it->second;
    if (n.consumer != nullptr && minidle != 0 && now - n.delivery_time < minidle) continue;
    if (cons == nullptr) cons = &consumer_for(c, key, *g, c.arg(3), now);
    reassign(n, id, *cons);
    n.delivery_time = deliverytime;
    if (retrycount >= 0) {
      n.delivery_count = static_cast<std::uint64_t>(retrycount);
    } else if (!justid) {
      ++n.delivery_count;
    }
    out.push_back(id);
    changed = true;
    log_claim(c, key, group, *g, id, n);
  }
  if (moved_last && out.empty()) log_group_position(c, key, group, *g);
  if (changed) c.part(key).modified(key);
  c.out.array_header(out.size());
  for (const StreamId& id : out) reply_claimed(c, *s, id, justid);
}

void xautoclaim_cmd(CommandContext& c) {
  const std::string_view key = c.arg(1), group = c.arg(2);
  std::int64_t minidle = 0;
  if (!parse_int(c.arg(4), minidle)) return c.out.error("ERR Invalid min-idle-time argument for XAUTOCLAIM");
  if (minidle < 0) minidle = 0;
  StreamId start;
  if (!parse_range_start(c, c.arg(5), start)) return;
  std::int64_t count = 100;
  bool justid = false;
  for (std::size_t j = 6; j < c.argc(); ++j) {
    if (iequal(c.arg(j), "count") && j + 1 < c.argc()) {
      constexpr std::int64_t kMaxCount = INT64_MAX / 16;
      if (!parse_int(c.arg(j + 1), count) || count < 1 || count > kMaxCount) {
        return c.out.error("ERR COUNT must be > 0");
      }
      ++j;
    } else if (iequal(c.arg(j), "justid")) {
      justid = true;
    } else {
      return c.out.error(kErrSyntax);
    }
  }
  bool wrong = false;
  Stream* s = stream_at(c, key, wrong);
  if (wrong) return c.out.error(kErrWrongType);
  Group* g = s != nullptr ? s->find_group(group) : nullptr;
  if (g == nullptr) return c.out.error(no_group(key, group));
  const std::int64_t now = clock_ms(c);
  std::int64_t attempts = count * 10;
  std::vector<StreamId> claimed, deleted;
  Consumer* cons = nullptr;
  auto it = g->pel.lower_bound(start);
  while (attempts-- > 0 && count > 0 && it != g->pel.end()) {
    const StreamId id = it->first;
    if (!s->contains(id)) {
      auto next = std::next(it);
      g->ack(it);
      it = next;
      deleted.push_back(id);
      --count;
      const std::string ids = id.str();
      log_record(c, {"XACK", key, group, ids});
      continue;
    }
    Nack& n = it->second;
    if (minidle != 0 && now - n.delivery_time < minidle) {
      ++it;
      continue;
    }
    if (cons == nullptr) cons = &consumer_for(c, key, *g, c.arg(3), now);
    reassign(n, id, *cons);
    n.delivery_time = now;
    if (!justid) ++n.delivery_count;
    claimed.push_back(id);
    --count;
    log_claim(c, key, group, *g, id, n);
    ++it;
  }
  if (!claimed.empty() || !deleted.empty()) c.part(key).modified(key);
  c.out.array_header(3);
  reply_id(c, it == g->pel.end() ? StreamId{} : it->first);
  c.out.array_header(claimed.size());
  for (const StreamId& id : claimed) reply_claimed(c, *s, id, justid);
  c.out.array_header(deleted.size());
  for (const StreamId& id : deleted) reply_id(c, id);
}

}  // namespace
}  // namespace lfdb::db::stream

namespace lfdb::db {

std::span<const HandlerEntry> stream_group_handlers() {
  using namespace stream;
  static constexpr HandlerEntry kHandlers[] = {
      {"xgroup|create", xgroup_create_cmd},
      {"xgroup|setid", xgroup_setid_cmd},
      {"xgroup|destroy", xgroup_destroy_cmd},
      {"xgroup|createconsumer", xgroup_createconsumer_cmd},
      {"xgroup|delconsumer", xgroup_delconsumer_cmd},
      {"xgroup|help", xgroup_help_cmd},
      {"xack", xack_cmd},
      {"xpending", xpending_cmd},
      {"xclaim", xclaim_cmd},
      {"xautoclaim", xautoclaim_cmd},
  };
  return kHandlers;
}

}  // namespace lfdb::db
