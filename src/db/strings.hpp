// What the handlers of string values share (cmd_strings.cpp, cmd_bits.cpp): the size limit, the
// lookup that tells a wrong type, and storing a whole new value.
// Thread-safety: as the handlers (command_context.hpp): the caller holds the key's color.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "db/command_context.hpp"

namespace lfdb::db {

inline constexpr std::size_t kMaxStringSize = 512ull * 1024 * 1024;  // proto-max-bulk-len
inline constexpr std::string_view kErrStringTooLong =
    "ERR string exceeds maximum allowed size (proto-max-bulk-len)";

// The live string at key: nullptr if missing; sets `wrong` if it holds another type.
inline Entry* string_at(CommandContext& c, std::string_view key, bool& wrong) {
  Entry* e = c.find(key);
  wrong = e != nullptr && e->value.type() != Type::kString;
  return e;
}

// The key becomes the string `value` (whatever it held); its deadline becomes at_ms (-1: none)
// unless keep_ttl.
inline void store(CommandContext& c, std::string_view key, std::string_view value, std::int64_t at_ms,
                  bool keep_ttl) {
  const KeyRef k = c.ref(key);
  Partition& p = c.ks.of(k);
  bool created = false;
  Entry& e = p.find_or_create(k, c.now_ms, created);
  e.value.drop_containers();
  // assign() keeps the old buffer: a short value over a long one would keep the long one's
  // bytes for as long as the key lives, so a buffer much larger than the value is replaced,
  // and a value that fits the inline bytes goes there (its heap block goes).
  CompactString& str = e.value.str();
  if ((str.is_heap() && value.size() <= CompactString::kInline) ||
      str.capacity() > value.size() + value.size() / 8 + 64) {
    str = CompactString(value);
  } else {
    str.assign(value);
  }
  e.value.form = StrForm::kShaped;
  if (!keep_ttl) p.set_expire(k, e, at_ms);
  p.modified(key);
}

}  // namespace lfdb::db
