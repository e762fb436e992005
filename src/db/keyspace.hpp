// The keyspace: every key and its value, partitioned by color. Partition c holds exactly the keys
// whose hash (commands::key_hash, hash tags included) the hue scheduler maps to color c, so an
// invocation that holds a key's color owns that key's partition: handlers touch partitions
// without locks (docs/hue.md). With `--data global` the same partitions sit behind one mutex.
//
// Values are strings, hashes, lists, sets, sorted sets or streams; an entry may carry an absolute expiry time (ms since the epoch).
// Expired keys disappear lazily (the first access after the deadline erases them) and actively
// (Server's expiry cycle sweeps partitions under their color).
//
// Databases (SELECT): a Keyspace is one database; Databases holds `databases` of them, each with
// its own partitions. A key's color depends on the key only, so the invocation that holds a
// color owns that color's partition in every database (MOVE and COPY ... DB touch the same
// colors in two databases; SWAPDB and FLUSHALL run alone).
//
// WATCH: a partition remembers which connections watch which of its keys; any change to a
// watched key (write, delete, expiry, flush) marks those connections' WatchState dirty.
//
// Thread-safety: a Partition is touched only by the invocation that holds its color (or the
// global mutex): no internal locking. The counters read without a color (DBSIZE, INFO) are
// atomics. Keyspace itself is immutable after construction apart from its partitions.
#pragma once

#include <cassert>
#include <atomic>
#include <concepts>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "db/entry.hpp"
#include "db/key_table.hpp"
#include "db/memory/access_clock.hpp"
#include "db/string_hash.hpp"

namespace lfdb::db {
namespace tracking {
class Table;
// A key changed: its trackers are told (db/tracking/table.hpp); from 0: by the server itself.
void key_changed(Table* t, std::string_view key, bool by_server);
}  // namespace tracking

// What one connection's WATCH left behind; shared between the connection and the partitions
// of its watched keys. Set dirty from any color, read by EXEC: atomics.
struct WatchState {
  std::atomic<bool> dirty{false};
  std::atomic<bool> released{false};  // the connection is done with it (EXEC, UNWATCH, close)
};

// A key and its key-table hash (hash_of). Built from the key alone it hashes the key; a command
// that hashed its key already (for its color) builds it with that hash, so the key is hashed
// once for all the lookups it makes.
struct KeyRef {
  std::string_view key;
  std::uint64_t hash;
  // Known to have no hash tag (its color hashes the whole key: `hash`), so the partition's choice
  // needs no look for one; false: not known (it is looked for).
  bool untagged = false;
  KeyRef(std::string_view k, std::uint64_t h, bool no_tag = false) : key(k), hash(h), untagged(no_tag) {}
  template <class S>
    requires std::convertible_to<const S&, std::string_view>
  KeyRef(const S& k) : key(k), hash(hash_of(key)) {}  // NOLINT: implicit on purpose
};

// What the invocation running on this thread leaves for the append-only log: its records
// (nullptr when nothing is logged: no log, or loading one) and how many changes its handlers
// made. Set by whoever runs an invocation; expiry writes its DEL records here, in place, so they
// keep their order with the command that caused them.
inline constexpr std::uint32_t kNoDb = ~std::uint32_t{0};  // the log's database is not known
struct InvocationLog {
  std::string* records = nullptr;
  std::uint64_t changes = 0;
  bool in_block = false;  // the records are inside a MULTI ... EXEC already (a transaction)
  // The running command's own record is left out (a script's redis.set_repl(REPL_NONE)); what
  // it causes besides (a lazy expiry's DEL) is still logged.
  bool own_unlogged = false;
  // The database the records written so far leave the log in (kNoDb: none yet known). A record
  // for another database is preceded by SELECT, as Redis's AOF does (select()).
  std::uint32_t db = kNoDb;
  // Before a record that applies to database `to`: a SELECT when the records stand elsewhere.
  void select(std::uint32_t to);
};
inline thread_local InvocationLog t_invocation_log;

// CLIENT PAUSE (db/client_pause.hpp) keeps the dataset still: while it lasts, an expired key
// reads as gone but is not erased, lazily or by the active cycle (Redis's rule, so that a
// failover's new primary finds what the old one had). Owned by the pause, read from any color.
struct ExpiryHold {
  std::atomic<std::int64_t> until_ms{0};  // the pause's end; 0: nothing held
  bool held(std::int64_t now_ms) const {
    const std::int64_t until = until_ms.load(std::memory_order_acquire);
    return until != 0 && now_ms <= until;
  }
};

class Partition {
 public:
  Partition() = default;
  ~Partition();
  Partition(const Partition&) = delete;
  Partition& operator=(const Partition&) = delete;

  // The live entry for key, or nullptr; an entry past its deadline is erased first (lazy expiry).
  // `touch`: the lookup is an access, which stamps the key's access clock (access_clock.hpp).
  Entry* find(KeyRef key, std::int64_t now_ms, bool touch = true);
  // As find() without erasing: for invocations that only read the partition (they may run
  // alongside other readers of the same color, so they must not change it).
  const Entry* peek(KeyRef key, std::int64_t now_ms, bool touch = true) const;
  // WATCH's expiry rule: the key is still stored but its deadline has passed.
  bool expired_in_place(KeyRef key, std::int64_t now_ms) const;
  // Inserts an empty string entry if the key is missing (after lazy expiry). `created` tells.
  Entry& find_or_create(KeyRef key, std::int64_t now_ms, bool& created);
  // Erases the key; returns whether it was there (expired keys count as absent).
  bool erase(KeyRef key, std::int64_t now_ms);
  // Sets or clears (-1) the entry's deadline, keeping the expires index in step.
  void set_expire(KeyRef key, Entry& e, std::int64_t at_ms);
  // The deadline of an entry of this partition (ms since the epoch), or -1: none. A key without
  // one answers from its own bit; one with it, from the expires index.
  std::int64_t expire_at(const Entry& e) const {
    if (!e.value.deadline_) return -1;
    const auto it = expiring_.find(&e);
    assert(it != expiring_.end() && "the deadline bit and the expires index are kept in step");
    return it->second;
  }
  // Whether the entry is past its deadline at `now`.
  bool past(const Entry& e, std::int64_t now) const {
    return e.value.deadline_ && expire_at(e) <= now;
  }

  // Every change to a key goes through here: watchers become dirty, the change counter moves.
  void modified(std::string_view key) {
    bump_changes(1);
    ++t_invocation_log.changes;
    if (!watchers_.empty()) touch_watchers(key);
    if (tracking_ != nullptr) tracking::key_changed(tracking_, key, false);
  }
  void watch(std::string_view key, const std::shared_ptr<WatchState>& w);
  // Eviction (db/memory/evictor.hpp): erases a live key as an expiry does (watchers dirty, a
  // DEL in the invocation's log) and says so with the `evicted` keyspace event. Returns the
  // bytes the erase gave back to the allocator, by its per-thread counters (0 without them:
  // memory::has_thread_counters()); what the notices allocate (the DEL record, invalidations,
  // events) is not taken off, as Redis measures only the delete (else a tracked key's
  // invalidations would make every eviction look free, and evict the whole keyspace).
  std::uint64_t evict(KeyRef key);
  // The same for a key sampled from map() (KeyTable::pick), with no insert or erase since: no
  // hash and no lookup (the sample already found the node).
  std::uint64_t evict(const KeyTable::Pick& at);

  // Active expiry: erases up to `budget` expired keys; returns how many were examined.
  std::size_t expire_some(std::int64_t now_ms, std::size_t budget, std::uint64_t& expired);
  // FLUSHALL: drop everything, dirtying watchers of keys that existed.
  void clear();
  // SWAPDB: the two partitions (same color, two databases) trade their keys; watchers stay
  // with their database and become dirty when their key exists on either side.
  void swap_keys(Partition& other);

  // The database this partition belongs to (its expiry DELs are logged there).
  std::uint32_t db() const { return db_; }
  void set_db(std::uint32_t db) { db_ = db; }
  // The server's table of tracked keys (CLIENT TRACKING); set once, before sharing.
  void set_tracking(tracking::Table* t) { tracking_ = t; }
  // The pause's hold on expiry, and INFO's expired_keys counter; idem.
  void set_expiry(const ExpiryHold* hold, std::atomic<std::uint64_t>* expired_keys) {
    hold_ = hold;
    expired_keys_ = expired_keys;
  }

  const KeyTable& map() const { return map_; }
  std::uint64_t size() const { return keys_.load(std::memory_order_relaxed); }
  std::uint64_t expires() const { return expires_count_.load(std::memory_order_relaxed); }
  // How many partitions, of every keyspace in the process, hold a key with a deadline: while
  // none does, the active expiry cycle skips its walk over every color of every database.
  static std::uint64_t expiring_partitions() {
    return expiring_partitions_.load(std::memory_order_relaxed);
  }
  // Changes made to this partition (read by the ticker for `save` points, from another thread).
  std::uint64_t changes() const { return dirty_.load(std::memory_order_relaxed); }
  // The expires index (each entry with a deadline, and the deadline): eviction's volatile samples.
  using Expiring = std::unordered_map<const Entry*, std::int64_t>;
  const Expiring& expiring() const { return expiring_; }

 private:
  void erase_it(KeyNode* n, std::uint64_t hash);
  // An eviction's notices (event, watchers, tracking, the log's DEL), before its erase.
  void evicting(std::string_view key);
  // An expired key erased: expired() then erase_it().
  void expire_it(KeyNode* n, std::uint64_t hash);
  bool expiry_held(std::int64_t now) const { return hold_ != nullptr && hold_->held(now); }
  // A key that expired (lazily or actively): watchers see a change, the log a DEL.
  void expired(std::string_view key);
  void touch_watchers(std::string_view key);
  void count();
  void touch_watchers_if(const Partition& other);
  bool has(std::string_view key) const { return map_.find(key, hash_of(key)) != nullptr; }

  std::uint32_t db_ = 0;  // set once, before the partition is shared
  tracking::Table* tracking_ = nullptr;  // idem
  const ExpiryHold* hold_ = nullptr;     // idem
  std::atomic<std::uint64_t>* expired_keys_ = nullptr;  // idem
  KeyTable map_;
  // Every entry with a deadline, and the deadline (nodes never move, so the pointers stay good;
  // KeyNode::of finds an entry's key). A node in libstdc++'s table is 24 bytes (the 32 class),
  // the class of the set of key views it replaces (32 bytes: a view and its cached hash): a key
  // with a TTL pays what it did, less the 16 bytes its node no longer has.
  std::unordered_map<const Entry*, std::int64_t> expiring_;
  std::size_t expire_cursor_ = 0;  // the bucket of expiring_ the next expire_some() starts at
  std::unordered_map<std::string, std::vector<std::shared_ptr<WatchState>>, StringHash,
                     std::equal_to<>> watchers_;
  // One writer at a time (the color's owner), any reader: a relaxed load and store, no RMW.
  void bump_changes(std::uint64_t n) { dirty_.store(dirty_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
  std::atomic<std::uint64_t> dirty_{0};
  std::atomic<std::uint64_t> keys_{0};           // map_.size(), for readers without the color
  std::atomic<std::uint64_t> expires_count_{0};  // expiring_.size(), idem
  // Moved by count() when expiring_ turns empty or non-empty (by the color's owner), and by the
  // destructor: a hint read without any color (a cycle that misses a key added meanwhile runs
  // again 1/hz later; lazy expiry covers reads in between).
  inline static std::atomic<std::uint64_t> expiring_partitions_{0};
};

class Keyspace {
 public:
  // colors: a power of two, as the scheduler's; index: which database this is.
  explicit Keyspace(std::uint32_t colors, std::uint32_t index = 0);
  ~Keyspace();
  Keyspace(const Keyspace&) = delete;
  Keyspace& operator=(const Keyspace&) = delete;

  std::uint32_t index() const { return index_; }
  std::uint32_t colors() const { return mask_ + 1; }
  std::uint32_t color_of_key(std::string_view key) const;
  // The key's partition. A KeyRef's hash is its color's hash too unless the key has a hash tag.
  Partition& of(KeyRef key) { return parts()[color_of(key)]; }
  // Read-only: in a database never used, one empty partition (nothing is made for a read).
  const Partition& of(KeyRef key) const { return at(color_of(key)); }
  // The color of a key (its hash tag's color when it has one), from its hash when known untagged.
  std::uint32_t color_of(KeyRef key) const;
  // The partition of a key whose color hash is `hash` (a key without a hash tag: its hash_of).
  Partition& of_color_hash(std::uint64_t hash);
  Partition& at(std::uint32_t color) { return parts()[color]; }
  // Read-only: a database never used reads as one empty partition (nothing is made for it).
  const Partition& at(std::uint32_t color) const;
  // Whether this database's partitions exist yet. They are made on the first non-const access
  // (a key looked up or written in it): an idle server's 16 databases x 1,024 colors of
  // partitions were 4 MB of its used_memory at start, where redis-server starts at about 1 MB
  // (unit/maxmemory's client-eviction tests leave an 11 MB server 3 MB for clients). Walks
  // over every database (expiry, eviction, FLUSHALL) skip the unused ones.
  bool used() const { return parts_.load(std::memory_order_acquire) != nullptr; }

  // Set before the keyspace is shared; handed to every partition, now or when it is made.
  void set_tracking(tracking::Table* t);
  void set_expiry(const ExpiryHold* hold, std::atomic<std::uint64_t>* expired_keys);

  // Atomic sums over partitions: approximate while writers run, exact when quiet.
  std::uint64_t size() const;
  std::uint64_t expires() const;
  std::uint64_t changes() const;

 private:
  // The partitions, made on first need: one acquire load on the hot path, and a race between
  // two first users is settled by a compare-exchange (the loser's array is never shared).
  Partition* parts() {
    Partition* p = parts_.load(std::memory_order_acquire);
    return p != nullptr ? p : make_parts();
  }
  Partition* make_parts();

  std::uint32_t mask_;
  std::uint32_t index_;
  tracking::Table* tracking_ = nullptr;                 // set before sharing, then read only
  const ExpiryHold* hold_ = nullptr;                    // idem
  std::atomic<std::uint64_t>* expired_keys_ = nullptr;  // idem
  std::atomic<Partition*> parts_{nullptr};              // an array of colors(), owned
};

// Every database of the server (`databases`, 16 by default), fixed at start.
class Databases {
 public:
  Databases(std::uint32_t count, std::uint32_t colors);

  std::uint32_t count() const { return static_cast<std::uint32_t>(dbs_.size()); }
  std::uint32_t colors() const { return dbs_[0]->colors(); }
  Keyspace& db(std::uint32_t i) { return *dbs_[i]; }
  const Keyspace& db(std::uint32_t i) const { return *dbs_[i]; }
  // SWAPDB: databases a and b trade their keys, color by color (the caller runs alone).
  void swap(std::uint32_t a, std::uint32_t b);
  // FLUSHALL, a full resync: every database emptied (the caller holds every color).
  void clear();
  // Every partition tells this table of its changes (set once, before sharing).
  void set_tracking(tracking::Table* t);
  void set_expiry(const ExpiryHold* hold, std::atomic<std::uint64_t>* expired_keys);

  // Atomic sums over every database.
  std::uint64_t size() const;
  std::uint64_t changes() const;

 private:
  std::vector<std::unique_ptr<Keyspace>> dbs_;
};

std::int64_t now_ms();  // wall clock, ms since the epoch
std::int64_t now_us();  // wall clock, µs since the epoch (now_us() / 1000 is a now_ms())

}  // namespace lfdb::db
