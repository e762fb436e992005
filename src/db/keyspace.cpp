#include "db/keyspace.hpp"

#include "db/pubsub/notify.hpp"

#include <xxhash.h>

#include <algorithm>
#include <chrono>

#include "commands/command_table.hpp"
#include "db/log_records.hpp"
#include "db/memory/allocator.hpp"
#include "lf/hue.hpp"

namespace lfdb::db {

const char* type_name(Type t) {
  switch (t) {
    case Type::kString: return "string";
    case Type::kHash: return "hash";
    case Type::kList: return "list";
    case Type::kSet: return "set";
    case Type::kZSet: return "zset";
    case Type::kStream: return "stream";
  }
  return "string";
}

std::int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::int64_t now_us() {
  using namespace std::chrono;
  return duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
}

Entry* Partition::find(KeyRef key, std::int64_t now, bool touch) {
  KeyNode* n = map_.find(key.key, key.hash);
  if (n == nullptr) return nullptr;
  if (past(n->entry, now)) {
    if (!expiry_held(now)) expire_it(n, key.hash);  // held by CLIENT PAUSE: gone, yet kept in place
    return nullptr;
  }
  if (touch) memory::touch(n->entry.value.access, now);
  return &n->entry;
}

void Partition::expire_it(KeyNode* n, std::uint64_t hash) {
  expired(n->key());
  erase_it(n, hash);
}

std::uint64_t Partition::evict(KeyRef key) {
  KeyNode* n = map_.find(key.key, key.hash);
  if (n == nullptr) return 0;
  evicting(n->key());
  const std::int64_t before = memory::thread_net_freed();
  erase_it(n, key.hash);
  const std::int64_t freed = memory::thread_net_freed() - before;
  return freed > 0 ? static_cast<std::uint64_t>(freed) : 0;
}

std::uint64_t Partition::evict(const KeyTable::Pick& at) {
  KeyNode* n = at.node;
  evicting(n->key());
  const std::int64_t before = memory::thread_net_freed();
  if (n->entry.value.deadline_) expiring_.erase(&n->entry);
  map_.erase_at(at);
  count();
  const std::int64_t freed = memory::thread_net_freed() - before;
  return freed > 0 ? static_cast<std::uint64_t>(freed) : 0;
}

void Partition::evicting(std::string_view key) {
  pubsub::event(pubsub::kEvEvicted, "evicted", key);
  bump_changes(1);
  ++t_invocation_log.changes;
  if (!watchers_.empty()) touch_watchers(key);
  if (tracking_ != nullptr) tracking::key_changed(tracking_, key, true);
  if (std::string* log = t_invocation_log.records) {
    t_invocation_log.select(db_);
    encode_command(*log, {"DEL", key});
  }
}

void Partition::expired(std::string_view key) {
  if (expired_keys_ != nullptr) expired_keys_->fetch_add(1, std::memory_order_relaxed);
  pubsub::key_expired(key);  // the `expired` keyspace event, when notifications are on
  bump_changes(1);
  if (!watchers_.empty()) touch_watchers(key);
  if (tracking_ != nullptr) tracking::key_changed(tracking_, key, true);
  if (std::string* log = t_invocation_log.records) {
    t_invocation_log.select(db_);
    encode_command(*log, {"DEL", key});
  }
}

const Entry* Partition::peek(KeyRef key, std::int64_t now, bool touch) const {
  const KeyNode* n = map_.find(key.key, key.hash);
  if (n == nullptr) return nullptr;
  if (past(n->entry, now)) return nullptr;
  if (touch) memory::touch(n->entry.value.access, now);
  return &n->entry;
}

bool Partition::expired_in_place(KeyRef key, std::int64_t now) const {
  const KeyNode* n = map_.find(key.key, key.hash);
  return n != nullptr && past(n->entry, now);
}

Entry& Partition::find_or_create(KeyRef key, std::int64_t now, bool& created) {
  if (Entry* e = find(key, now)) {
    created = false;
    return *e;
  }
  // An expired key a pause kept in place makes way for the write (one the pause let run).
  if (KeyNode* old = map_.find(key.key, key.hash)) expire_it(old, key.hash);
  created = true;
  KeyNode* n = map_.insert(key.key, key.hash);
  n->entry.value.access = memory::initial_stamp(now);
  count();
  pubsub::event(pubsub::kEvNew, "new", key.key);  // keyspace notifications' `n` class
  return n->entry;
}

bool Partition::erase(KeyRef key, std::int64_t now) {
  KeyNode* n = map_.find(key.key, key.hash);
  if (n == nullptr) return false;
  const bool live = !past(n->entry, now);
  modified(n->key());
  erase_it(n, key.hash);
  return live;
}

void Partition::erase_it(KeyNode* n, std::uint64_t hash) {
  if (n->entry.value.deadline_) expiring_.erase(&n->entry);
  map_.erase(n, hash);
  count();
}

void Partition::set_expire(KeyRef, Entry& e, std::int64_t at) {
  if (at >= 0) {
    expiring_.insert_or_assign(&e, at);
    e.value.deadline_ = true;
  } else if (e.value.deadline_) {
    expiring_.erase(&e);
    e.value.deadline_ = false;
  }
  count();
}

void Partition::count() {
  keys_.store(map_.size(), std::memory_order_relaxed);
  const bool had = expires_count_.load(std::memory_order_relaxed) != 0;
  expires_count_.store(expiring_.size(), std::memory_order_relaxed);
  if (had != !expiring_.empty()) {
    if (had) {
      expiring_partitions_.fetch_sub(1, std::memory_order_relaxed);
    } else {
      expiring_partitions_.fetch_add(1, std::memory_order_relaxed);
    }
  }
}

Partition::~Partition() {
  if (expires_count_.load(std::memory_order_relaxed) != 0) {
    expiring_partitions_.fetch_sub(1, std::memory_order_relaxed);
  }
}

void Partition::watch(std::string_view key, const std::shared_ptr<WatchState>& w) {
  auto it = watchers_.find(key);
  if (it == watchers_.end()) it = watchers_.emplace(std::string(key), decltype(it->second)()).first;
  auto& v = it->second;
  // Prune watchers whose connection moved on: a key watched and never changed must not
  // collect one entry per transaction forever.
  std::erase_if(v, [](const std::shared_ptr<WatchState>& s) {
    return s->released.load(std::memory_order_relaxed);
  });
  v.push_back(w);
}

void Partition::touch_watchers(std::string_view key) {
  auto it = watchers_.find(key);
  if (it == watchers_.end()) return;
  for (const auto& w : it->second) w->dirty.store(true, std::memory_order_relaxed);
  watchers_.erase(it);
}

std::size_t Partition::expire_some(std::int64_t now, std::size_t budget, std::uint64_t& expired) {
  std::size_t examined = 0;
  if (expiry_held(now)) return examined;  // CLIENT PAUSE: nothing is erased meanwhile
  // Each cycle goes on from the bucket where the last one stopped: started from begin(), a
  // partition with more than `budget` deadlines would look at the same first ones forever and
  // never reach a key past them. Empty buckets count too (a table that shrank keeps its
  // buckets), at an eighth of a key each.
  const std::size_t buckets = expiring_.bucket_count();
  const std::size_t visits = std::min(buckets, budget * 8);
  for (std::size_t n = 0; n < visits && examined < budget && !expiring_.empty(); ++n) {
    const std::size_t b = expire_cursor_++ % buckets;
    for (auto it = expiring_.begin(b); it != expiring_.end(b);) {
      ++examined;
      KeyNode* m = KeyNode::of(it->first);
      const std::int64_t at = it->second;
      ++it;  // erase_it removes the current element from expiring_ (an erase never rehashes)
      if (at <= now) {
        expire_it(m, hash_of(m->key()));
        ++expired;
      }
    }
  }
  return examined;
}

void Partition::clear() {
  for (auto& [key, w] : watchers_) {
    if (map_.find(key, hash_of(key)) == nullptr) continue;
    for (const auto& s : w) s->dirty.store(true, std::memory_order_relaxed);
  }
  watchers_.clear();
  bump_changes(map_.size());
  expiring_.clear();
  map_.clear();
  count();
}

void InvocationLog::select(std::uint32_t to) {
  if (records == nullptr || to == db) return;
  const std::string n = std::to_string(to);
  encode_command(*records, {"SELECT", n});
  db = to;
}

void Partition::touch_watchers_if(const Partition& other) {
  for (auto& [key, w] : watchers_) {
    if (!has(key) && !other.has(key)) continue;
    for (const auto& s : w) s->dirty.store(true, std::memory_order_relaxed);
  }
  std::erase_if(watchers_, [&](const auto& kv) {
    return has(kv.first) || other.has(kv.first);
  });
}

void Partition::swap_keys(Partition& other) {
  touch_watchers_if(other);
  other.touch_watchers_if(*this);
  bump_changes(map_.size() + other.map_.size());
  other.bump_changes(map_.size() + other.map_.size());
  // Swapping the maps keeps their nodes: expiring_'s pointers stay valid and follow the keys.
  map_.swap(other.map_);
  expiring_.swap(other.expiring_);
  count();
  other.count();
}

Keyspace::Keyspace(std::uint32_t colors, std::uint32_t index) : mask_(colors - 1), index_(index) {}

Keyspace::~Keyspace() { delete[] parts_.load(std::memory_order_acquire); }

Partition* Keyspace::make_parts() {
  auto made = std::make_unique<Partition[]>(colors());
  for (std::uint32_t c = 0; c <= mask_; ++c) {
    made[c].set_db(index_);
    made[c].set_tracking(tracking_);
    made[c].set_expiry(hold_, expired_keys_);
  }
  Partition* expected = nullptr;
  if (parts_.compare_exchange_strong(expected, made.get(), std::memory_order_acq_rel,
                                     std::memory_order_acquire)) {
    return made.release();
  }
  return expected;  // another thread made them first; ours go
}

const Partition& Keyspace::at(std::uint32_t color) const {
  static const Partition kUnused;
  const Partition* p = parts_.load(std::memory_order_acquire);
  return p != nullptr ? p[color] : kUnused;
}

void Keyspace::set_tracking(tracking::Table* t) {
  tracking_ = t;
  if (Partition* p = parts_.load(std::memory_order_acquire)) {
    for (std::uint32_t c = 0; c <= mask_; ++c) p[c].set_tracking(t);
  }
}

void Keyspace::set_expiry(const ExpiryHold* hold, std::atomic<std::uint64_t>* expired_keys) {
  hold_ = hold;
  expired_keys_ = expired_keys;
  if (Partition* p = parts_.load(std::memory_order_acquire)) {
    for (std::uint32_t c = 0; c <= mask_; ++c) p[c].set_expiry(hold, expired_keys);
  }
}

Databases::Databases(std::uint32_t count, std::uint32_t colors) {
  dbs_.reserve(count);
  for (std::uint32_t i = 0; i < count; ++i) dbs_.push_back(std::make_unique<Keyspace>(colors, i));
}

void Databases::swap(std::uint32_t a, std::uint32_t b) {
  if (a == b || (!dbs_[a]->used() && !dbs_[b]->used())) return;
  for (std::uint32_t c = 0; c < colors(); ++c) dbs_[a]->at(c).swap_keys(dbs_[b]->at(c));
}

void Databases::set_tracking(tracking::Table* t) {
  for (auto& d : dbs_) d->set_tracking(t);
}

void Databases::set_expiry(const ExpiryHold* hold, std::atomic<std::uint64_t>* expired_keys) {
  for (auto& d : dbs_) d->set_expiry(hold, expired_keys);
}

void Databases::clear() {
  for (auto& d : dbs_) {
    if (!d->used()) continue;
    for (std::uint32_t c = 0; c < d->colors(); ++c) d->at(c).clear();
  }
}

std::uint64_t Databases::size() const {
  std::uint64_t n = 0;
  for (const auto& d : dbs_) n += d->size();
  return n;
}

std::uint64_t Databases::changes() const {
  std::uint64_t n = 0;
  for (const auto& d : dbs_) n += d->changes();
  return n;
}

std::uint32_t Keyspace::color_of_key(std::string_view key) const {
  return lf::hue::Scheduler::color_for(commands::key_hash(key), mask_);
}

Partition& Keyspace::of_color_hash(std::uint64_t hash) {
  return parts()[lf::hue::Scheduler::color_for(hash, mask_)];
}

std::uint32_t Keyspace::color_of(KeyRef key) const {
  if (key.untagged) return lf::hue::Scheduler::color_for(key.hash, mask_);
  const std::string_view tag = commands::hash_tag(key.key);
  const std::uint64_t h = tag.size() == key.key.size() ? key.hash : commands::key_hash(key.key);
  return lf::hue::Scheduler::color_for(h, mask_);
}

std::uint64_t Keyspace::size() const {
  const Partition* p = parts_.load(std::memory_order_acquire);
  if (p == nullptr) return 0;
  std::uint64_t n = 0;
  for (std::uint32_t c = 0; c <= mask_; ++c) n += p[c].size();
  return n;
}

std::uint64_t Keyspace::changes() const {
  const Partition* p = parts_.load(std::memory_order_acquire);
  if (p == nullptr) return 0;
  std::uint64_t n = 0;
  for (std::uint32_t c = 0; c <= mask_; ++c) n += p[c].changes();
  return n;
}

std::uint64_t Keyspace::expires() const {
  const Partition* p = parts_.load(std::memory_order_acquire);
  if (p == nullptr) return 0;
  std::uint64_t n = 0;
  for (std::uint32_t c = 0; c <= mask_; ++c) n += p[c].expires();
  return n;
}

}  // namespace lfdb::db
