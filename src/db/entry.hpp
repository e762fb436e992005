// A key's value and entry: what the key table (db/key_table.hpp) stores per key and the
// partitions hand to handlers. See db/keyspace.hpp for how values change and expire.
#pragma once

#include <cassert>
#include <cstdint>
#include <new>
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
// do. The string and the pointer to the container share one union, as a value is never both:
// the type byte says which member is alive, and every change of type goes through reset() or
// drop_containers(), which end one member's life and begin the other's. The type byte, `raw`
// and the access clock share one word: 40 bytes in all.
class Value {
 public:
  Value() : str_() {}
  Value(Value&& o) noexcept : type_(o.type_), raw(o.raw), access(o.access) {
    if (o.type_ == Type::kString) {
      new (&str_) std::string(std::move(o.str_));
    } else {
      box_ = o.box_;
      o.become_string();  // o keeps no container: it is an empty string, as after a move
    }
  }
  Value& operator=(Value&& o) noexcept {
    if (this != &o) {
      if (o.type_ == Type::kString) {
        drop_containers();  // this holds a string now, whatever it held
        str_ = std::move(o.str_);
      } else {
        end_member();
        type_ = o.type_;
        box_ = o.box_;
        o.become_string();
      }
      raw = o.raw;
      access = o.access;
    }
    return *this;
  }
  ~Value() { end_member(); }

  Type type() const { return type_; }
  // The string: only while type() is kString (the union's other member is alive otherwise).
  std::string& str() {
    assert(type_ == Type::kString);
    return str_;
  }
  const std::string& str() const {
    assert(type_ == Type::kString);
    return str_;
  }
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

  // The value becomes a string: the container goes (SET over a list, say). A string value
  // keeps its bytes.
  void drop_containers() {
    if (type_ == Type::kString) return;
    end_member();
    become_string();
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

 private:
  template <class T>
  T* held(Type t) const { return type_ == t ? static_cast<T*>(box_) : nullptr; }
  void adopt(Type t, void* c) {
    end_member();  // a string value's heap buffer goes with it
    type_ = t;
    box_ = c;
  }
  // Ends the life of the member type_ names: the string, or the container the pointer owns.
  // The caller begins the next member's (become_string, or box_ and type_).
  void end_member() {
    switch (type_) {
      case Type::kString: str_.~basic_string(); break;
      case Type::kHash: delete static_cast<Hash*>(box_); break;
      case Type::kList: delete static_cast<List*>(box_); break;
      case Type::kSet: delete static_cast<Set*>(box_); break;
      case Type::kZSet: delete static_cast<ZSet*>(box_); break;
      case Type::kStream: delete static_cast<stream::Stream*>(box_); break;
    }
  }
  // After end_member() (or a container's pointer moved out): an empty string again.
  void become_string() {
    new (&str_) std::string();
    type_ = Type::kString;
  }

  union {
    std::string str_;  // kString
    void* box_;        // the container type_ names
  };
};
static_assert(sizeof(Value) == 40, "type, raw and the clock in one word, then the string or the pointer");
struct Entry {
  Value value;
  std::int64_t expire_at_ms = -1;  // -1: no expiry
};
static_assert(sizeof(Entry) == 48, "a key of up to 12 bytes makes a node of jemalloc's 64 class");

}  // namespace lfdb::db
