// What OBJECT and DEBUG OBJECT say about one value (cmd_keys.cpp): its encoding as Redis 7.0
// names it, and DEBUG OBJECT's one-line description of a key.
//
// Thread-safety: the caller holds the key's color (DEBUG runs alone: its hue class is
// kUndeclared, so it may read any key of its database).
#pragma once

#include "db/command_context.hpp"

namespace lfdb::db {

// "int", "embstr", "raw", "quicklist", "listpack", "intset", "hashtable", "skiplist", "stream".
const char* encoding_of(const Value& v);

// DEBUG OBJECT <key>: Redis's `Value at:... refcount:... encoding:... serializedlength:...
// lru:... lru_seconds_idle:...` line (and a list's quicklist fields), or `ERR no such key`.
void debug_object(CommandContext& c);

}  // namespace lfdb::db
