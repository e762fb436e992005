// A key's value and entry: what the key table (db/key_table.hpp) stores per key and the
// partitions hand to handlers. See db/keyspace.hpp for how values change and expire.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>

#include "db/hash.hpp"
#include "db/list.hpp"
#include "db/set.hpp"
#include "db/stream/stream.hpp"
#include "db/string_hash.hpp"
#include "db/zset.hpp"

namespace lfdb::db {

enum class Type : std::uint8_t { kString, kHash, kList, kSet, kZSet, kStream };
const char* type_name(Type t);  // "string", "hash", "list", "set", "zset", "stream"

// A key's value: a string, or one container, matching type(); a container is never empty (the
// key is deleted with its last element), except a stream, which outlives its entries as Redis's
// do. One pointer stands for whichever container the type names (not one per type side by
// side), and the type byte, `raw` and the access clock share one word: 48 bytes in all.
class Value {
 public:
  Value() = default;
  Value(Value&& o) noexcept
      : type_(o.type_), raw(o.raw), access(o.access), str(std::move(o.str)), box_(o.box_) {
    o.type_ = Type::kString;
    o.box_ = nullptr;
  }
  Value& operator=(Value&& o) noexcept {
    if (this != &o) {
      drop_containers();
      type_ = o.type_;
      raw = o.raw;
      access = o.access;
      str = std::move(o.str);
      box_ = o.box_;
      o.type_ = Type::kString;
      o.box_ = nullptr;
    }
    return *this;
  }
  ~Value() { drop_containers(); }

  Type type() const { return type_; }
  // The container this value holds, or nullptr when it holds another type. Shallow const, as
  // the unique_ptrs these replace were: a reader's const Entry still reaches the elements.
  Hash* hash() const { return held<Hash>(Type::kHash); }
  List* list() const { return held<List>(Type::kList); }
  Set* set() const { return held<Set>(Type::kSet); }
  ZSet* zset() const { return held<ZSet>(Type::kZSet); }
  stream::Stream* stream() const { return held<stream::Stream>(Type::kStream); }

  // The value becomes this container (the type follows); the string or the container held
  // before goes.
  void reset(std::unique_ptr<Hash> c) { adopt(Type::kHash, c.release()); }
  void reset(std::unique_ptr<List> c) { adopt(Type::kList, c.release()); }
  void reset(std::unique_ptr<Set> c) { adopt(Type::kSet, c.release()); }
  void reset(std::unique_ptr<ZSet> c) { adopt(Type::kZSet, c.release()); }
  void reset(std::unique_ptr<stream::Stream> c) { adopt(Type::kStream, c.release()); }

  // The value becomes a string: the container goes (SET over a list, say).
  void drop_containers() {
    switch (type_) {
      case Type::kString: break;
      case Type::kHash: delete static_cast<Hash*>(box_); break;
      case Type::kList: delete static_cast<List*>(box_); break;
      case Type::kSet: delete static_cast<Set*>(box_); break;
      case Type::kZSet: delete static_cast<ZSet*>(box_); break;
      case Type::kStream: delete static_cast<stream::Stream*>(box_); break;
    }
    box_ = nullptr;
    type_ = Type::kString;
  }

 private:
  Type type_ = Type::kString;

 public:
  // The string left its compact encoding for good, as Redis 7.0 never converts back: changed in
  // place (APPEND, SETRANGE: "raw"). OBJECT ENCODING only. (The containers know their own
  // encodings: Hash::packed(), Set::intset(), ZSet::packed().)
  bool raw = false;
  // The access clock (LRU stamp or LFU counter, db/memory/access_clock.hpp): it sits in the
  // word of `type`, so it costs no byte. Mutable: readers stamp it (atomically).
  mutable std::uint32_t access = 0;
  std::string str;  // kString

 private:
  template <class T>
  T* held(Type t) const { return type_ == t ? static_cast<T*>(box_) : nullptr; }
  void adopt(Type t, void* c) {
    drop_containers();
    str.clear();
    str.shrink_to_fit();  // a string value's heap buffer goes with it
    type_ = t;
    box_ = c;
  }

  void* box_ = nullptr;  // the container type_ names; nullptr for a string
};
static_assert(sizeof(Value) == 48, "type, raw and the clock in one word, the string, one pointer");

struct Entry {
  Value value;
  std::int64_t expire_at_ms = -1;  // -1: no expiry
};

}  // namespace lfdb::db
