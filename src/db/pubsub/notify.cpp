#include "db/pubsub/notify.hpp"

namespace lfdb::db::pubsub {
namespace {

struct Letter {
  char c;
  int flag;
};
constexpr Letter kLetters[] = {{'g', kEvGeneric}, {'$', kEvString}, {'l', kEvList},
                               {'s', kEvSet},     {'h', kEvHash},   {'z', kEvZset},
                               {'x', kEvExpired}, {'e', kEvEvicted}, {'t', kEvStream},
                               {'d', kEvModule},  {'n', kEvNew}};

}  // namespace

int parse_event_flags(std::string_view s) {
  int flags = 0;
  for (char c : s) {
    if (c == 'A') {
      flags |= kEvAll;
    } else if (c == 'K') {
      flags |= kEvKeyspace;
    } else if (c == 'E') {
      flags |= kEvKeyevent;
    } else if (c == 'm') {
      flags |= kEvKeyMiss;
    } else {
      int f = 0;
      for (const Letter& l : kLetters) {
        if (l.c == c) f = l.flag;
      }
      if (f == 0) return -1;
      flags |= f;
    }
  }
  return flags;
}

std::string format_event_flags(int flags) {
  std::string out;
  if ((flags & kEvAll) == kEvAll) {
    out += 'A';  // Redis 7.0 shows no 'n' next to it
  } else {
    for (const Letter& l : kLetters) {
      if (flags & l.flag) out += l.c;
    }
  }
  if (flags & kEvKeyspace) out += 'K';
  if (flags & kEvKeyevent) out += 'E';
  if (flags & kEvKeyMiss) out += 'm';
  return out;
}

void notify(const EventSink& sink, int cls, std::string_view event, std::string_view key) {
  if ((sink.flags & cls) == 0) return;
  std::string scratch;
  std::string& self = sink.self_out != nullptr ? *sink.self_out : scratch;
  const std::string db = std::to_string(sink.db);
  if (sink.flags & kEvKeyspace) {
    std::string channel = "__keyspace@" + db + "__:";
    channel.append(key);
    sink.registry->publish(false, channel, event, sink.self_id, sink.self_resp3, self, sink.limits);
  }
  if (sink.flags & kEvKeyevent) {
    std::string channel = "__keyevent@" + db + "__:";
    channel.append(event);
    sink.registry->publish(false, channel, key, sink.self_id, sink.self_resp3, self, sink.limits);
  }
}

void key_expired(std::string_view key) {
  if (const EventSink* s = t_events) notify(*s, kEvExpired, "expired", key);
}

}  // namespace lfdb::db::pubsub
