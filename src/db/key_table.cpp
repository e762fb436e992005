#include "db/key_table.hpp"

#include <cstddef>
#include <cstring>
#include <new>
#include <stdexcept>
#include <utility>

namespace lfdb::db {

// ---- KeyNode ----

std::size_t KeyNode::alloc_size(std::size_t n) {
  // The key's bytes start right after len_ (and the long length); a short key may end inside
  // the struct's padding.
  const std::size_t need = sizeof(Entry) + 1 + (n < kLongKey ? 0 : sizeof(std::uint32_t)) + n;
  return need < sizeof(KeyNode) ? sizeof(KeyNode) : need;
}

KeyNode* KeyNode::make(std::string_view key) {
  static_assert(alignof(KeyNode) <= __STDCPP_DEFAULT_NEW_ALIGNMENT__);
  void* mem = ::operator new(alloc_size(key.size()));
  KeyNode* n = new (mem) KeyNode();
  char* at = reinterpret_cast<char*>(&n->len_ + 1);
  if (key.size() < kLongKey) {
    n->len_ = static_cast<std::uint8_t>(key.size());
  } else {
    n->len_ = kLongKey;
    const auto len = static_cast<std::uint32_t>(key.size());
    std::memcpy(at, &len, sizeof len);
    at += sizeof len;
  }
  if (!key.empty()) std::memcpy(at, key.data(), key.size());
  return n;
}

void KeyNode::destroy(KeyNode* n) {
  n->~KeyNode();
  ::operator delete(static_cast<void*>(n));
}

// ---- KeyTable ----

KeyTable::Segment* KeyTable::new_segment(std::size_t slots) {
  void* mem = ::operator new(sizeof(Segment) + slots * sizeof(std::uint64_t));
  auto* s = new (mem) Segment();
  std::memset(s->slots(), 0, slots * sizeof(std::uint64_t));
  return s;
}

void KeyTable::delete_segment(Segment* s) {
  s->~Segment();
  ::operator delete(static_cast<void*>(s));
}

KeyTable::Segment* KeyTable::shared_empty() {
  // Read by every empty table's find(); never written (insert() gives a table its own segment
  // first), so sharing it across threads is safe.
  struct Empty {
    Segment header;
    std::uint64_t slots[kMinSlots] = {};
  };
  static_assert(offsetof(Empty, slots) == sizeof(Segment), "the slots follow the header");
  static Empty empty;
  return &empty.header;
}

KeyTable::KeyTable() : first_(shared_empty()) {}

KeyTable::~KeyTable() { free_all(); }

KeyTable::KeyTable(KeyTable&& o) noexcept : KeyTable() { swap(o); }

KeyTable& KeyTable::operator=(KeyTable&& o) noexcept {
  if (this != &o) {
    KeyTable empty;
    swap(empty);
    swap(o);
  }
  return *this;
}

void KeyTable::swap(KeyTable& o) noexcept {
  std::swap(first_, o.first_);
  dir_.swap(o.dir_);
  segments_.swap(o.segments_);
  std::swap(cap_, o.cap_);
  std::swap(depth_, o.depth_);
  std::swap(size_, o.size_);
}

void KeyTable::free_all() {
  for (Segment* s : segments_) {
    const std::uint64_t* slots = s->slots();
    for (std::size_t i = 0; i < cap_; ++i) {
      if (slots[i] != 0) KeyNode::destroy(node_of(slots[i]));
    }
    delete_segment(s);
  }
  std::vector<Segment*>().swap(segments_);
  std::vector<Segment*>().swap(dir_);
  first_ = shared_empty();
  cap_ = kMinSlots;
  depth_ = 0;
  size_ = 0;
}

void KeyTable::clear() { free_all(); }

KeyNode* KeyTable::find(std::string_view key, std::uint64_t hash) const {
  const std::uint64_t* slots = segment_of(hash)->slots();
  const std::uint64_t tag = tag_of(hash);
  for (std::size_t i = home_of_tag(tag);; i = next(i)) {
    const std::uint64_t slot = slots[i];
    if (slot == 0) return nullptr;
    if ((slot >> 48) == tag) {
      KeyNode* n = node_of(slot);
      if (n->key() == key) return n;
    }
  }
}

void KeyTable::prefetch(std::uint64_t hash) const {
  __builtin_prefetch(&segment_of(hash)->slots()[home_of_tag(tag_of(hash))]);
}

void KeyTable::prefetch_node(std::uint64_t hash) const {
  const std::uint64_t* slots = segment_of(hash)->slots();
  const std::uint64_t tag = tag_of(hash);
  std::size_t i = home_of_tag(tag);
  for (int probe = 0; probe < 4; ++probe, i = next(i)) {  // a few: the lookup walks the rest
    const std::uint64_t slot = slots[i];
    if (slot == 0) return;
    if ((slot >> 48) == tag) {
      // Its Entry and key bytes: a node of a short key spans two lines.
      const char* n = reinterpret_cast<const char*>(node_of(slot));
      __builtin_prefetch(n);
      __builtin_prefetch(n + 64);
      return;
    }
  }
}

void KeyTable::place(Segment& s, KeyNode* n, std::uint64_t hash) const {
  const std::uint64_t tag = tag_of(hash);
  std::uint64_t* slots = s.slots();
  std::size_t i = home_of_tag(tag);
  while (slots[i] != 0) i = next(i);
  slots[i] = (tag << 48) | reinterpret_cast<std::uint64_t>(n);
  ++s.size;
}

KeyNode* KeyTable::insert(std::string_view key, std::uint64_t hash) {
  if (segments_.empty()) {  // the first key: the table's own (small) segment
    first_ = new_segment(cap_);
    try {
      segments_.push_back(first_);
    } catch (...) {
      delete_segment(first_);
      first_ = shared_empty();
      throw;
    }
  }
  // The only segment doubles until it is full-sized; after that, segments split.
  if (cap_ < kSlots && first_->size >= cap_ * 4 / 5) grow();
  KeyNode* n = KeyNode::make(key);
  Segment* s = segment_of(hash);
  // A full segment splits before the insert; a split may leave every key on one side (they
  // share the next bit), so split again until the key's own segment has room.
  while (s->size >= kMaxLoad && s->depth < 48) {
    split(s);
    s = segment_of(hash);
  }
  if (s->size + 1 >= cap_) {
    // 48 equal hash bits on kMaxLoad keys: not a hash function's doing.
    KeyNode::destroy(n);
    throw std::length_error("key table: too many keys with one hash prefix");
  }
  place(*s, n, hash);
  ++size_;
  return n;
}

void KeyTable::grow() {
  // Only while the table is one segment (depth 0): its keys move to a segment twice the size.
  Segment* old = first_;
  const std::size_t old_cap = cap_;
  const std::size_t cap = grown_slots(old_cap);
  Segment* bigger = new_segment(cap);
  cap_ = cap;
  const std::uint64_t* slots = old->slots();
  for (std::size_t i = 0; i < old_cap; ++i) {
    if (slots[i] == 0) continue;
    KeyNode* n = node_of(slots[i]);
    place(*bigger, n, hash_of(n->key()));
  }
  first_ = bigger;
  segments_[0] = bigger;
  delete_segment(old);
}

void KeyTable::split(Segment* s) {
  if (s->depth == depth_) {
    // The directory doubles: entry i becomes entries 2i and 2i+1, both at the same segment.
    std::vector<Segment*> twice(std::size_t{2} << depth_);
    for (std::size_t i = 0; i < twice.size() / 2; ++i) {
      twice[2 * i] = twice[2 * i + 1] = depth_ == 0 ? first_ : dir_[i];
    }
    dir_.swap(twice);
    ++depth_;
  }
  Segment* hi = new_segment(kSlots);
  segments_.push_back(hi);
  const std::uint32_t d = s->depth + 1;
  hi->depth = d;
  hi->prefix = (s->prefix << 1) | 1;
  s->depth = d;
  s->prefix <<= 1;
  // The upper half of s's directory range now points at hi.
  const std::size_t span = std::size_t{1} << (depth_ - d);
  const std::size_t first_hi = static_cast<std::size_t>(hi->prefix) << (depth_ - d);
  for (std::size_t i = first_hi; i < first_hi + span; ++i) dir_[i] = hi;
  // The keys are placed again by their hashes: bit (64 - d) picks the half.
  std::uint64_t old[kSlots];
  std::memcpy(old, s->slots(), sizeof(old));
  std::memset(s->slots(), 0, sizeof(old));
  s->size = 0;
  for (std::uint64_t slot : old) {
    if (slot == 0) continue;
    KeyNode* n = node_of(slot);
    const std::uint64_t h = hash_of(n->key());
    place(((h >> (64 - d)) & 1) != 0 ? *hi : *s, n, h);
  }
}

void KeyTable::erase(KeyNode* n, std::uint64_t hash) {
  Segment& s = *segment_of(hash);
  const std::uint64_t* slots = s.slots();
  std::size_t i = home_of_tag(tag_of(hash));
  while (node_of(slots[i]) != n) i = next(i);
  remove_at(s, i);
}

void KeyTable::erase_at(const Pick& p) {
  // An erase since the pick (another key of the same batch) may have shifted this one back a
  // slot or more: then it is found by its hash.
  if (p.segment < segments_.size() && p.slot < cap_ && node_of(segments_[p.segment]->slots()[p.slot]) == p.node) {
    remove_at(*segments_[p.segment], p.slot);
  } else {
    erase(p.node, hash_of(p.node->key()));
  }
}

void KeyTable::remove_at(Segment& s, std::size_t i) {
  std::uint64_t* slots = s.slots();
  KeyNode* n = node_of(slots[i]);
  // Backward-shift deletion: a later slot of the run moves into the hole when its home does not
  // lie cyclically in (hole, its position].
  std::size_t hole = i;
  for (std::size_t j = next(i);; j = next(j)) {
    const std::uint64_t slot = slots[j];
    if (slot == 0) break;
    const std::size_t home = home_of_tag(slot >> 48);
    const bool stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
    if (!stays) {
      slots[hole] = slot;
      hole = j;
    }
  }
  slots[hole] = 0;
  --s.size;
  --size_;
  KeyNode::destroy(n);
  if (size_ == 0) free_all();  // an empty table holds no memory
}

std::uint64_t KeyTable::range_end(const Segment& s, std::uint64_t) {
  if (s.depth == 0) return 0;
  const std::uint64_t next_prefix = s.prefix + 1;
  if (next_prefix >> s.depth) return 0;  // the last range: the iteration is over
  return next_prefix << (64 - s.depth);
}

KeyTable::Pick KeyTable::first_pick(std::size_t seg) const {
  for (std::size_t k = 0; k <= segments_.size(); ++k) {
    const std::size_t at = (seg + k) % segments_.size();
    const std::uint64_t* slots = segments_[at]->slots();
    for (std::size_t i = 0; i < cap_; ++i) {
      if (slots[i] != 0) return {node_of(slots[i]), static_cast<std::uint32_t>(at), static_cast<std::uint32_t>(i)};
    }
  }
  return {};
}

KeyNode* KeyTable::first_from(std::size_t seg, std::size_t slot) const {
  // A sparse table: the first key from a random place on (used after many empty draws).
  for (std::size_t k = 0; k <= segments_.size(); ++k) {
    const std::uint64_t* slots = segments_[(seg + k) % segments_.size()]->slots();
    for (std::size_t i = k == 0 ? slot : 0; i < cap_; ++i) {
      if (slots[i] != 0) return node_of(slots[i]);
    }
  }
  return nullptr;
}

void KeyTable::Iterator::settle() {
  while (seg_ < t_->segments_.size()) {
    const std::uint64_t* slots = t_->segments_[seg_]->slots();
    while (slot_ < t_->cap_ && slots[slot_] == 0) ++slot_;
    if (slot_ < t_->cap_) return;
    ++seg_;
    slot_ = 0;
  }
  slot_ = 0;
}

bool KeyTable::valid() const {
  std::size_t total = 0;
  if (segments_.empty() != (first_ == shared_empty())) return false;
  if (segments_.size() > 1 && cap_ != kSlots) return false;
  for (const Segment* s : segments_) {
    std::size_t n = 0;
    if (s->depth > depth_) return false;
    const std::uint64_t* slots = s->slots();
    for (std::size_t i = 0; i < cap_; ++i) {
      const std::uint64_t slot = slots[i];
      if (slot == 0) continue;
      ++n;
      const KeyNode* node = node_of(slot);
      const std::uint64_t h = hash_of(node->key());
      if ((slot >> 48) != tag_of(h)) return false;
      if (s->depth > 0 && (h >> (64 - s->depth)) != s->prefix) return false;
      if (segment_of(h) != s) return false;
      if (find(node->key(), h) != node) return false;
    }
    if (n != s->size) return false;
    total += n;
  }
  return total == size_ && (depth_ == 0 ? dir_.empty() : dir_.size() == (std::size_t{1} << depth_));
}

}  // namespace lfdb::db
