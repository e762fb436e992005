// A key's value and entry: what the key table (db/key_table.hpp) stores per key and the
// partitions hand to handlers. See db/keyspace.hpp for how values change and expire.
#pragma once

#include <cassert>
#include <cstdint>
#include <new>
#include <memory>
#include <string>
#include <utility>
#include <unordered_map>

#include "db/compact_string.hpp"
#include "db/hash.hpp"
#include "db/list.hpp"
#include "db/set.hpp"
#include "db/stream/stream.hpp"
#include "db/string_hash.hpp"
#include "db/zset.hpp"

namespace lfdb::db {

enum class Type : std::uint8_t { kString, kHash, kList, kSet, kZSet, kStream };
const char* type_name(Type t);  // "string", "hash", "list", "set", "zset", "stream"

// What OBJECT ENCODING names a string value (db/object_inspect.hpp): Redis 7.0 keeps the
// encoding a string object was made with, and the commands make them three ways.
enum class StrForm : std::uint8_t {
  kShaped,  // shaped by its bytes, as SET's argument is: "int", else "embstr" up to 44, "raw"
  kText,    // made as text, never tried as an integer (INCRBYFLOAT): "embstr" or "raw"
  kRaw,     // changed in place (APPEND, SETRANGE, SETBIT, BITFIELD, BITOP, PFADD): "raw"
};

// A key's value: a string, or one container, matching type(); a container is never empty (the
// key is deleted with its last element), except a stream, which outlives its entries as Redis's
// do. The members share one union of 24 bytes, as a value is never two of them: the string
// (CompactString: 22 bytes inline), the hash, the set and the sorted set themselves (a small
// container costs its one buffer and no box; a small intset not even that), or the pointer to a
// list or a stream. The type byte says which member is alive; every change of type goes through
// reset(), make_*() or drop_containers(), which end one member's life and begin the other's.
// The type byte, `form` and the access clock share one word: 32 bytes in all.
//
// An inline container moves with its Value: a Hash*, Set* or ZSet* taken from a value is good
// until that value is moved (RENAME, MOVE, RESTORE move a value to another key's node; a node
// itself never moves, so other keys' changes leave it valid).
class Value {
 public:
  Value() : str_() {}
  Value(Value&& o) noexcept : form(o.form), access(o.access) { take(o); }
  Value& operator=(Value&& o) noexcept {
    if (this != &o) {
      end_member();
      take(o);
      form = o.form;
      access = o.access;
    }
    return *this;
  }
  ~Value() { end_member(); }

  Type type() const { return type_; }
  // The key has a deadline, kept in its partition's expires index (Partition::expire_at): only
  // a key with one pays for the 8 bytes and the lookup. Set by the partition alone; it belongs
  // to the key's node, not to what is stored there, so moves leave it where it is (a moved-from
  // value keeps its own, a value moved in takes the node's).
  bool has_deadline() const { return deadline_; }
  // The string: only while type() is kString (the union's other member is alive otherwise).
  CompactString& str() {
    assert(type_ == Type::kString);
    return str_;
  }
  const CompactString& str() const {
    assert(type_ == Type::kString);
    return str_;
  }
  // The container this value holds, or nullptr when it holds another type. Shallow const, as
  // the unique_ptrs these replace were: a reader's const Entry still reaches the elements (no
  // Value is defined const: they live in the key table's nodes).
  Hash* hash() const { return type_ == Type::kHash ? const_cast<Hash*>(&hash_) : nullptr; }
  List* list() const { return type_ == Type::kList ? static_cast<List*>(box_) : nullptr; }
  Set* set() const { return type_ == Type::kSet ? const_cast<Set*>(&set_) : nullptr; }
  ZSet* zset() const { return type_ == Type::kZSet ? const_cast<ZSet*>(&zset_) : nullptr; }
  stream::Stream* stream() const { return type_ == Type::kStream ? static_cast<stream::Stream*>(box_) : nullptr; }

  // The value becomes an empty container of that type, in place (the type follows); the string
  // or the container held before goes.
  Hash& make_hash() {
    end_member();
    new (&hash_) Hash();
    type_ = Type::kHash;
    return hash_;
  }
  Set& make_set() {
    end_member();
    new (&set_) Set();
    type_ = Type::kSet;
    return set_;
  }
  template <class... Args>
  ZSet& make_zset(Args&&... args) {
    end_member();
    new (&zset_) ZSet(std::forward<Args>(args)...);
    type_ = Type::kZSet;
    return zset_;
  }
  // The value becomes this container (a hash, set or sorted set moves in; a list or stream is
  // adopted by pointer); the string or the container held before goes.
  void reset(std::unique_ptr<Hash> c) { make_hash() = std::move(*c); }
  void reset(std::unique_ptr<Set> c) { make_set() = std::move(*c); }
  void reset(std::unique_ptr<ZSet> c) { make_zset() = std::move(*c); }
  void reset(std::unique_ptr<List> c) { adopt(Type::kList, c.release()); }
  void reset(std::unique_ptr<stream::Stream> c) { adopt(Type::kStream, c.release()); }

  // The value becomes a string: the container goes (SET over a list, say). A string value
  // keeps its bytes.
  void drop_containers() {
    if (type_ == Type::kString) return;
    end_member();
    become_string();
  }

 private:
  friend class Partition;
  Type type_ = Type::kString;
  bool deadline_ = false;

 public:
  // How the string was made (StrForm), as Redis 7.0 never converts one back: OBJECT ENCODING
  // only. (The containers know their own encodings: Hash::packed(), Set::intset(),
  // ZSet::packed().)
  StrForm form = StrForm::kShaped;
  // The access clock (LRU stamp or LFU counter, db/memory/access_clock.hpp): it sits in the
  // word of `type`, so it costs no byte. Mutable: readers stamp it (atomically).
  mutable std::uint32_t access = 0;

 private:
  void adopt(Type t, void* c) {
    end_member();  // a string value's heap buffer goes with it
    type_ = t;
    box_ = c;
  }
  // Ends the life of the member type_ names: the string, the inline container, or the boxed
  // one the pointer owns. The caller begins the next member's.
  void end_member() {
    switch (type_) {
      case Type::kString: str_.~CompactString(); break;
      case Type::kHash: hash_.~Hash(); break;
      case Type::kSet: set_.~Set(); break;
      case Type::kZSet: zset_.~ZSet(); break;
      case Type::kList: delete static_cast<List*>(box_); break;
      case Type::kStream: delete static_cast<stream::Stream*>(box_); break;
    }
  }
  // After end_member() (or a boxed container's pointer moved out): an empty string again.
  void become_string() {
    new (&str_) CompactString();
    type_ = Type::kString;
  }
  // This value has no live member: it takes o's, and o is left an empty string (as a moved-from
  // value always was).
  void take(Value& o) {
    type_ = o.type_;
    switch (o.type_) {
      case Type::kString: new (&str_) CompactString(std::move(o.str_)); return;
      case Type::kHash: new (&hash_) Hash(std::move(o.hash_)); break;
      case Type::kSet: new (&set_) Set(std::move(o.set_)); break;
      case Type::kZSet: new (&zset_) ZSet(std::move(o.zset_)); break;
      case Type::kList: case Type::kStream: box_ = o.box_; o.become_string(); return;
    }
    o.end_member();  // the moved-from container (empty now)
    o.become_string();
  }

  union {
    CompactString str_;  // kString
    Hash hash_;        // kHash
    Set set_;          // kSet
    ZSet zset_;        // kZSet
    void* box_;        // kList, kStream: the container, on its own allocation
  };
};
static_assert(sizeof(CompactString) == 24 && sizeof(Hash) <= 24 && sizeof(Set) <= 24 && sizeof(ZSet) <= 24,
              "every member fits the 24-byte union");
static_assert(sizeof(Value) == 32, "type, form and the clock in one word, then the string, a small container or a pointer");
// A key's entry: its value; its deadline, when it has one, is in the partition's expires index
// (value.has_deadline() says whether). 32 bytes: a key of up to 15 bytes makes a node of
// jemalloc's 48 class (key_table.hpp).
struct Entry {
  Value value;
};
static_assert(sizeof(Entry) == 32, "a key of up to 15 bytes makes a node of jemalloc's 48 class");

}  // namespace lfdb::db
