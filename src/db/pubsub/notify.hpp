// Keyspace notifications (notify-keyspace-events): write handlers and expiry publish
// `__keyspace@<db>__:<key>` (the event as message) and `__keyevent@<db>__:<event>` (the key as
// message) through the pub/sub registry, for the classes the setting selects. The flags and
// their letters are Redis's.
//
// Thread-safety: the flags are an atomic of the Server. Events are published from inside the
// invocation that causes them; every hue that writes keys also reads the hue global "pubsub"
// (executor.cpp), so the registry is read as PUBLISH reads it. t_events is the thread's own.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "db/pubsub/registry.hpp"

namespace lfdb::db::pubsub {

enum EventClass : int {
  kEvKeyspace = 1 << 0,  // K
  kEvKeyevent = 1 << 1,  // E
  kEvGeneric = 1 << 2,   // g
  kEvString = 1 << 3,    // $
  kEvList = 1 << 4,      // l
  kEvSet = 1 << 5,       // s
  kEvHash = 1 << 6,      // h
  kEvZset = 1 << 7,      // z
  kEvExpired = 1 << 8,   // x
  kEvEvicted = 1 << 9,   // e
  kEvStream = 1 << 10,   // t
  kEvKeyMiss = 1 << 11,  // m
  kEvModule = 1 << 12,   // d
  kEvNew = 1 << 13,      // n
  // A: every class but m and n, as Redis defines it.
  kEvAll = kEvGeneric | kEvString | kEvList | kEvSet | kEvHash | kEvZset | kEvExpired |
           kEvEvicted | kEvStream | kEvModule,
};

// "KEA" -> flags; -1 for a letter Redis does not know.
int parse_event_flags(std::string_view s);
// flags -> Redis's canonical letters ("AKE").
std::string format_event_flags(int flags);

// Where the events of the thread's current invocation go (set around a handler or an expiry
// cycle only while notifications are on).
struct EventSink {
  Registry* registry = nullptr;
  int flags = 0;
  std::uint32_t db = 0;
  std::uint64_t self_id = 0;       // the issuing connection: its copy goes to self_out
  bool self_resp3 = false;
  std::string* self_out = nullptr;
  lf::OutboxLimits limits;
};
inline thread_local const EventSink* t_events = nullptr;

void notify(const EventSink& sink, int cls, std::string_view event, std::string_view key);
// From a write handler: the event of its invocation, if notifications are on.
inline void event(int cls, std::string_view name, std::string_view key) {
  if (const EventSink* s = t_events) notify(*s, cls, name, key);
}
// While it lives, the invocation's events are of another database (MOVE, COPY ... DB write
// there: their `new`, `move_to` and `copy_to` are that database's).
class EventsInDb {
 public:
  explicit EventsInDb(std::uint32_t db) : outer_(t_events) {
    if (outer_ == nullptr) return;
    sink_ = *outer_;
    sink_.db = db;
    t_events = &sink_;
  }
  ~EventsInDb() { t_events = outer_; }
  EventsInDb(const EventsInDb&) = delete;
  EventsInDb& operator=(const EventsInDb&) = delete;

 private:
  const EventSink* outer_;
  EventSink sink_;
};
// A key expired (lazily or by the active cycle) in the thread's current invocation.
void key_expired(std::string_view key);

}  // namespace lfdb::db::pubsub
