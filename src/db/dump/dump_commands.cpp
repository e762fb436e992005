// DUMP and RESTORE (rdb_value.hpp has the payload). RESTORE is logged as the state it left:
// RESTORE key <deadline> payload [REPLACE] ABSTTL (or a 0 TTL without ABSTTL; REPLACE as given), or DEL when the
// payload arrived already expired over an existing key, so replaying the log at any later time
// rebuilds the same key (log_records.hpp).
#include <string>
#include <vector>

#include "db/command_context.hpp"
#include "db/dump/rdb_value.hpp"
#include "db/log_records.hpp"
#include "db/memory/access_clock.hpp"
#include "db/pubsub/notify.hpp"

namespace lfdb::db::dump {
namespace {

void dump_cmd(CommandContext& c) {
  const Entry* e = c.find(c.arg(1));
  if (e == nullptr) return c.out.null();
  c.out.bulk(dump_value(e->value));
}

// IDLETIME (seconds, LRU policies) or FREQ (LFU policies) as the key's access clock; the one
// the current policy does not track is ignored, as Redis does.
void set_access(Value& v, std::int64_t idle_s, std::int64_t freq, std::int64_t now_ms) {
  const bool lfu = memory::is_lfu(memory::live().policy.load(std::memory_order_relaxed));
  if (lfu && freq >= 0) {
    v.access = (memory::minutes16(now_ms) << 8) | static_cast<std::uint32_t>(freq);
  } else if (!lfu && idle_s >= 0) {
    // The stamp keeps 32 bits of milliseconds: idle times beyond about 24 days saturate there.
    constexpr std::int64_t kMaxIdleMs = std::int64_t{1} << 31;
    const std::int64_t idle_ms = idle_s >= kMaxIdleMs / 1000 ? kMaxIdleMs : idle_s * 1000;
    v.access = memory::lru_stamp(now_ms - idle_ms);
  }
}

void restore_cmd(CommandContext& c) {
  const std::string_view key = c.arg(1);
  bool replace = false, absttl = false;
  std::string_view replace_word = "REPLACE", absttl_word = "ABSTTL";  // as the client spelled them
  std::int64_t idle = -1, freq = -1;
  for (std::size_t i = 4; i < c.argc(); ++i) {
    const std::string_view o = c.arg(i);
    const bool more = i + 1 < c.argc();
    if (iequal(o, "replace")) {
      replace = true;
      replace_word = o;
    } else if (iequal(o, "absttl")) {
      absttl = true;
      absttl_word = o;
    } else if (iequal(o, "idletime") && more) {
      if (!parse_int(c.arg(++i), idle)) return c.out.error(kErrNotInteger);
      if (idle < 0) return c.out.error("ERR Invalid IDLETIME value, must be >= 0");
    } else if (iequal(o, "freq") && more) {
      if (!parse_int(c.arg(++i), freq)) return c.out.error(kErrNotInteger);
      if (freq < 0 || freq > 255) return c.out.error("ERR Invalid FREQ value, must be >= 0 and <= 255");
    } else {
      return c.out.error(kErrSyntax);
    }
  }
  if (!replace && c.find(key) != nullptr) return c.out.error("BUSYKEY Target key name already exists.");
  std::int64_t ttl = 0;
  if (!parse_int(c.arg(2), ttl)) return c.out.error(kErrNotInteger);
  if (ttl < 0) return c.out.error("ERR Invalid TTL value, must be >= 0");
  Value v;
  std::string err;
  if (!restore_value(c.arg(3), v, err)) return c.out.error(err);
  Partition& p = c.part(key);
  const bool deleted = replace && p.erase(key, c.now_ms);
  if (ttl != 0 && !absttl) ttl = ttl > INT64_MAX - c.now_ms ? INT64_MAX : ttl + c.now_ms;
  std::string* log = t_invocation_log.records;
  if (ttl != 0 && ttl <= c.now_ms) {  // already expired: the key is gone (or never was)
    if (deleted) {
      pubsub::event(pubsub::kEvGeneric, "del", key);
      if (log != nullptr) {
        t_invocation_log.select(c.db);
        encode_command(*log, {"DEL", key});
      }
    }
    return c.out.simple_string("OK");
  }
  bool created = false;
  Entry& e = p.find_or_create(key, c.now_ms, created);
  e.value = std::move(v);
  e.value.access = memory::initial_stamp(c.now_ms);
  set_access(e.value, idle, freq, c.now_ms);
  p.set_expire(key, e, ttl == 0 ? -1 : ttl);
  p.modified(key);
  pubsub::event(pubsub::kEvGeneric, "restore", key);
  if (log != nullptr) {
    t_invocation_log.select(c.db);
    // REPLACE only as given (without it the key did not exist, so replay needs none either):
    // the stream replicas see is then Redis's.
    const std::string deadline = std::to_string(ttl);
    std::vector<std::string_view> args{"RESTORE", key, deadline, c.arg(3)};
    if (replace) args.push_back(replace_word);
    if (ttl != 0) args.push_back(absttl_word);
    encode_command(*log, args);
  }
  c.out.simple_string("OK");
}

constexpr HandlerEntry kDumpHandlers[] = {
    {"dump", dump_cmd},
    {"restore", restore_cmd},
};

}  // namespace
}  // namespace lfdb::db::dump

namespace lfdb::db {
std::span<const HandlerEntry> dump_handlers() { return dump::kDumpHandlers; }
}  // namespace lfdb::db
