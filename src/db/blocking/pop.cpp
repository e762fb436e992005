#include "db/blocking/pop.hpp"

#include <algorithm>
#include <memory>

#include "db/log_records.hpp"
#include "db/pubsub/notify.hpp"

namespace lfdb::db::blocking {
namespace {

// After the pop's own event: the key goes with its last element (and says so), else it changed.
void gone_or_changed(CommandContext& c, std::string_view key, bool empty) {
  Partition& p = c.part(key);
  if (empty) {
    p.erase(key, c.now_ms);
    pubsub::event(pubsub::kEvGeneric, "del", key);
  } else {
    p.modified(key);
  }
}

Popped pop_list(CommandContext& c, const Request& r, std::string_view key, List& l,
                std::string* log) {
  if (r.op == Op::kMove) {
    // The destination's type is checked before anything leaves the source (LMOVE's rule).
    Entry* d = c.find(r.dest);
    if (d != nullptr && d->value.type() != Type::kList) {
      c.out.error(kErrWrongType);
      return Popped::kDestWrong;
    }
    std::string v(r.left ? l.front() : l.back());
    if (r.left) l.pop_front();
    else l.pop_back();
    bool created = false;
    Entry& de = c.part(r.dest).find_or_create(r.dest, c.now_ms, created);
    if (created) {
      de.value.reset(std::make_unique<List>());
    }
    if (r.to_left) de.value.list()->push_front(v);
    else de.value.list()->push_back(v);
    c.part(r.dest).modified(r.dest);
    // As LMOVE: the push is notified before the pop.
    pubsub::event(pubsub::kEvList, r.to_left ? "lpush" : "rpush", r.dest);
    pubsub::event(pubsub::kEvList, r.left ? "lpop" : "rpop", key);
    if (key != r.dest) gone_or_changed(c, key, l.empty());
    c.out.bulk(v);
    if (log != nullptr) {
      encode_command(*log, {"LMOVE", key, r.dest, r.left ? "LEFT" : "RIGHT",
                            r.to_left ? "LEFT" : "RIGHT"});
    }
    return Popped::kServed;
  }
  const std::size_t n =
      r.op == Op::kMPop ? std::min<std::uint64_t>(static_cast<std::uint64_t>(r.count), l.size()) : 1;
  c.out.array_header(2);
  c.out.bulk(key);
  if (r.op == Op::kMPop) c.out.array_header(n);
  for (std::size_t i = 0; i < n; ++i) {
    c.out.bulk(r.left ? l.front() : l.back());
    if (r.left) l.pop_front();
    else l.pop_back();
  }
  pubsub::event(pubsub::kEvList, r.left ? "lpop" : "rpop", key);
  gone_or_changed(c, key, l.empty());
  if (log != nullptr) {
    const std::string cnt = std::to_string(n);
    if (r.op == Op::kMPop) encode_command(*log, {r.left ? "LPOP" : "RPOP", key, cnt});
    else encode_command(*log, {r.left ? "LPOP" : "RPOP", key});
  }
  return Popped::kServed;
}

Popped pop_zset(CommandContext& c, const Request& r, std::string_view key, ZSet& z,
                std::string* log) {
  const std::size_t n =
      r.op == Op::kZMPop ? std::min<std::uint64_t>(static_cast<std::uint64_t>(r.count), z.size()) : 1;
  c.out.array_header(r.op == Op::kZMPop ? 2 : 3);
  c.out.bulk(key);
  if (r.op == Op::kZMPop) c.out.array_header(n);
  for (std::size_t i = 0; i < n; ++i) {
    ZSet::Ref e = r.left ? z.first() : z.last();
    if (r.op == Op::kZMPop) c.out.array_header(2);
    c.out.bulk(e.member());
    c.out.double_value(e.score());
    const std::string member(e.member());
    z.erase(member);
  }
  pubsub::event(pubsub::kEvZset, r.left ? "zpopmin" : "zpopmax", key);
  gone_or_changed(c, key, z.empty());
  if (log != nullptr) {
    const std::string cnt = std::to_string(n);
    if (r.op == Op::kZMPop) encode_command(*log, {r.left ? "ZPOPMIN" : "ZPOPMAX", key, cnt});
    else encode_command(*log, {r.left ? "ZPOPMIN" : "ZPOPMAX", key});
  }
  return Popped::kServed;
}

}  // namespace

Popped pop_for(CommandContext& c, const Request& r, std::string_view key, std::string* log,
               bool strict) {
  Entry* e = c.find(key);
  if (!e) return Popped::kNothing;
  const Type want = wants_list(r.op) ? Type::kList : Type::kZSet;
  if (e->value.type() != want) {
    if (!strict) return Popped::kNothing;
    c.out.error(kErrWrongType);
    return Popped::kWrongType;
  }
  if (want == Type::kList) return pop_list(c, r, key, *e->value.list(), log);
  return pop_zset(c, r, key, *e->value.zset(), log);
}

void write_timeout(resp::Writer& out, Op op) {
  if (op == Op::kMove) out.null();
  else out.null_array();
}

}  // namespace lfdb::db::blocking
