#include "db/zset.hpp"

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>

#include "db/compact/limits.hpp"

namespace lfdb::db {

// ---- bounds and numbers ---------------------------------------------------------------------

bool parse_double(std::string_view s, double& v) {
  if (s.empty() || s.size() > 5000 || std::isspace(static_cast<unsigned char>(s[0]))) return false;
  const std::string buf(s);
  char* end = nullptr;
  errno = 0;
  v = std::strtod(buf.c_str(), &end);
  if (end != buf.c_str() + buf.size()) return false;  // trailing bytes, or a NUL inside
  if (errno == ERANGE && (v == HUGE_VAL || v == -HUGE_VAL || v == 0)) return false;
  return !std::isnan(v);
}

std::string format_score(double v) {
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[32];
  const int n = std::snprintf(buf, sizeof buf, "%.17g", v);
  return std::string(buf, static_cast<std::size_t>(n));
}

bool parse_score_bound(std::string_view s, double& v, bool& exclusive) {
  exclusive = !s.empty() && s[0] == '(';
  if (exclusive) s.remove_prefix(1);
  // zslParseRange is plain strtod up to the end: leading spaces pass, and "" or "(" is 0.
  if (s.empty()) {
    v = 0;
    return true;
  }
  const std::string buf(s);
  char* end = nullptr;
  v = std::strtod(buf.c_str(), &end);
  return end == buf.c_str() + buf.size() && !std::isnan(v);
}

namespace {
// One ZRANGEBYLEX bound into (string, exclusive, -inf, +inf).
bool parse_lex_item(std::string_view s, std::string& out, bool& ex, bool& minus, bool& plus) {
  if (s.empty()) return false;
  if (s.size() == 1 && (s[0] == '-' || s[0] == '+')) {
    minus = s[0] == '-';
    plus = s[0] == '+';
    return true;
  }
  if (s[0] != '(' && s[0] != '[') return false;
  ex = s[0] == '(';
  out.assign(s.substr(1));
  return true;
}
}  // namespace

bool parse_lex_range(std::string_view min, std::string_view max, LexRange& r) {
  bool min_minus = false, min_plus = false, max_minus = false, max_plus = false;
  if (!parse_lex_item(min, r.min, r.min_ex, min_minus, min_plus)) return false;
  if (!parse_lex_item(max, r.max, r.max_ex, max_minus, max_plus)) return false;
  r.min_inf = min_minus;
  r.min_plus = min_plus;
  r.max_inf = max_plus;
  r.max_minus = max_minus;
  return true;
}

bool LexRange::above_min(std::string_view m) const {
  if (min_inf) return true;
  if (min_plus) return false;
  return min_ex ? m > std::string_view(min) : m >= std::string_view(min);
}

bool LexRange::below_max(std::string_view m) const {
  if (max_inf) return true;
  if (max_minus) return false;
  return max_ex ? m < std::string_view(max) : m <= std::string_view(max);
}

bool LexRange::empty() const {
  if (min_plus || max_minus) return true;
  if (min_inf || max_inf) return false;
  const int c = std::string_view(min).compare(max);
  return c > 0 || (c == 0 && (min_ex || max_ex));
}

// ---- the skip list --------------------------------------------------------------------------

ZSkipList::Node* ZSkipList::make_node(int height, std::string_view member, double score) {
  const std::size_t levels = static_cast<std::size_t>(height) * sizeof(Level);
  void* mem = ::operator new(sizeof(Node) + levels + member.size());
  Node* n = new (mem) Node{score, nullptr, member.size(), height};
  Level* lv = n->levels();
  for (int i = 0; i < height; ++i) new (lv + i) Level{};
  if (!member.empty()) std::memcpy(reinterpret_cast<char*>(lv + height), member.data(), member.size());
  return n;
}

void ZSkipList::free_node(Node* n) {
  ::operator delete(n);  // Node and Level are trivially destructible, the member is bytes
}

ZSkipList::ZSkipList() : head_(make_node(kMaxLevel, {}, 0)), rng_state_(reinterpret_cast<std::uintptr_t>(this) | 1) {}

ZSkipList::~ZSkipList() {
  Node* n = head_->levels()[0].forward;
  while (n != nullptr) {
    Node* next = n->levels()[0].forward;
    free_node(n);
    n = next;
  }
  free_node(head_);
}

// Redis's level distribution: each further level with probability 1/4.
int ZSkipList::random_level() {
  int level = 1;
  for (;;) {
    rng_state_ ^= rng_state_ << 13;  // xorshift64: the structure only needs spread, not secrecy
    rng_state_ ^= rng_state_ >> 7;
    rng_state_ ^= rng_state_ << 17;
    if ((rng_state_ & 3) != 0 || level >= kMaxLevel) return level;
    ++level;
  }
}

// n sorts before (score, member).
bool ZSkipList::before(const Node* n, double score, std::string_view member) {
  return n->score < score || (n->score == score && n->member() < member);
}

ZSkipList::Node* ZSkipList::insert(double score, std::string_view member) {
  Node* update[kMaxLevel];
  std::size_t rank[kMaxLevel];
  Node* x = head_;
  for (int i = level_ - 1; i >= 0; --i) {
    rank[i] = i == level_ - 1 ? 0 : rank[i + 1];
    while (x->levels()[i].forward != nullptr && before(x->levels()[i].forward, score, member)) {
      rank[i] += x->levels()[i].span;
      x = x->levels()[i].forward;
    }
    update[i] = x;
  }
  const int height = random_level();
  if (height > level_) {
    for (int i = level_; i < height; ++i) {
      rank[i] = 0;
      update[i] = head_;
      head_->levels()[i].span = length_;
    }
    level_ = height;
  }
  x = make_node(height, member, score);
  for (int i = 0; i < height; ++i) {
    Level& up = update[i]->levels()[i];
    x->levels()[i].forward = up.forward;
    up.forward = x;
    x->levels()[i].span = up.span - (rank[0] - rank[i]);
    up.span = (rank[0] - rank[i]) + 1;
  }
  for (int i = height; i < level_; ++i) update[i]->levels()[i].span++;
  x->backward = update[0] == head_ ? nullptr : update[0];
  if (Node* f = x->levels()[0].forward) f->backward = x;
  else tail_ = x;
  ++length_;
  return x;
}

void ZSkipList::unlink(Node* x, Node* const* update) {
  for (int i = 0; i < level_; ++i) {
    Level& up = update[i]->levels()[i];
    if (up.forward == x) {
      up.span += x->levels()[i].span - 1;
      up.forward = x->levels()[i].forward;
    } else {
      up.span -= 1;
    }
  }
  if (Node* f = x->levels()[0].forward) f->backward = x->backward;
  else tail_ = x->backward;
  while (level_ > 1 && head_->levels()[level_ - 1].forward == nullptr) --level_;
  --length_;
}

const ZSkipList::Node* ZSkipList::find(std::string_view member) const {
  auto it = index_.find(member);
  return it == index_.end() ? nullptr : *it;
}

bool ZSkipList::set(std::string_view member, double score) {
  // -0 is stored as 0: Redis keeps small sorted sets in a listpack, where a score of -0 is
  // written as the integer 0, and the replies must not tell the two encodings apart.
  if (score == 0) score = 0;
  auto it = index_.find(member);
  if (it != index_.end()) {
    Node* n = *it;
    if (n->score == score) return false;
    // Still between its neighbours: the score changes in place (ZINCRBY's common case).
    const Node* prev = n->backward;
    const Node* next = n->levels()[0].forward;
    if ((prev == nullptr || prev->score < score) && (next == nullptr || next->score > score)) {
      n->score = score;
      return false;
    }
    const std::string keep(n->member());
    erase(keep);
    index_.insert(insert(score, keep));
    return false;
  }
  index_.insert(insert(score, member));
  return true;
}

bool ZSkipList::erase(std::string_view member) {
  auto it = index_.find(member);
  if (it == index_.end()) return false;
  Node* target = *it;
  Node* update[kMaxLevel];
  Node* x = head_;
  for (int i = level_ - 1; i >= 0; --i) {
    while (x->levels()[i].forward != nullptr &&
           before(x->levels()[i].forward, target->score, target->member())) {
      x = x->levels()[i].forward;
    }
    update[i] = x;
  }
  index_.erase(it);
  unlink(target, update);
  free_node(target);
  return true;
}

std::size_t ZSkipList::rank(const Node* n) const {
  std::size_t r = 0;
  const Node* x = head_;
  for (int i = level_ - 1; i >= 0; --i) {
    while (x->levels()[i].forward != nullptr &&
           (before(x->levels()[i].forward, n->score, n->member()) || x->levels()[i].forward == n)) {
      r += x->levels()[i].span;
      x = x->levels()[i].forward;
    }
    if (x == n) break;
  }
  return r - 1;
}

const ZSkipList::Node* ZSkipList::at(std::size_t rank) const {
  if (rank >= length_) return nullptr;
  const std::size_t want = rank + 1;  // spans count from 1
  std::size_t traversed = 0;
  const Node* x = head_;
  for (int i = level_ - 1; i >= 0; --i) {
    while (x->levels()[i].forward != nullptr && traversed + x->levels()[i].span <= want) {
      traversed += x->levels()[i].span;
      x = x->levels()[i].forward;
    }
    if (traversed == want) return x;
  }
  return nullptr;
}

const ZSkipList::Node* ZSkipList::first_in(const ScoreRange& r) const {
  if (r.empty() || length_ == 0) return nullptr;
  const Node* x = head_;
  for (int i = level_ - 1; i >= 0; --i) {
    while (x->levels()[i].forward != nullptr && !r.above_min(x->levels()[i].forward->score)) {
      x = x->levels()[i].forward;
    }
  }
  x = x->levels()[0].forward;
  return x != nullptr && r.below_max(x->score) ? x : nullptr;
}

const ZSkipList::Node* ZSkipList::last_in(const ScoreRange& r) const {
  if (r.empty() || length_ == 0) return nullptr;
  const Node* x = head_;
  for (int i = level_ - 1; i >= 0; --i) {
    while (x->levels()[i].forward != nullptr && r.below_max(x->levels()[i].forward->score)) {
      x = x->levels()[i].forward;
    }
  }
  return x != head_ && r.above_min(x->score) ? x : nullptr;
}

const ZSkipList::Node* ZSkipList::first_in(const LexRange& r) const {
  if (r.empty() || length_ == 0) return nullptr;
  const Node* x = head_;
  for (int i = level_ - 1; i >= 0; --i) {
    while (x->levels()[i].forward != nullptr && !r.above_min(x->levels()[i].forward->member())) {
      x = x->levels()[i].forward;
    }
  }
  x = x->levels()[0].forward;
  return x != nullptr && r.below_max(x->member()) ? x : nullptr;
}

const ZSkipList::Node* ZSkipList::last_in(const LexRange& r) const {
  if (r.empty() || length_ == 0) return nullptr;
  const Node* x = head_;
  for (int i = level_ - 1; i >= 0; --i) {
    while (x->levels()[i].forward != nullptr && r.below_max(x->levels()[i].forward->member())) {
      x = x->levels()[i].forward;
    }
  }
  return x != head_ && r.above_min(x->member()) ? x : nullptr;
}

// ---- the two encodings ---------------------------------------------------------------------

ZSet::ZSet(std::size_t size_hint, std::size_t longest_hint) {
  const compact::EncodingLimits& l = compact::limits();
  if (size_hint > l.zset_max_entries() || longest_hint > l.zset_max_value()) {
    list_ = std::make_unique<ZSkipList>();
  }
}

void ZSet::to_skiplist() {
  auto list = std::make_unique<ZSkipList>();
  for (auto p = packed_.first(); p != nullptr; p = packed_.next(p)) {
    list->set(compact::PackedZSet::member(p), compact::PackedZSet::score(p));
  }
  list_ = std::move(list);
  packed_ = compact::PackedZSet();
}

std::unique_ptr<ZSet> ZSet::copy() const {
  auto out = std::make_unique<ZSet>();
  if (list_ == nullptr) {
    out->packed_ = packed_.clone();
    return out;
  }
  out->list_ = std::make_unique<ZSkipList>();
  for (auto* n = list_->first(); n != nullptr; n = n->next()) out->list_->set(n->member(), n->score);
  return out;
}

void ZSet::compact_if_small() {
  const compact::EncodingLimits& l = compact::limits();
  if (list_ == nullptr || list_->size() > l.zset_max_entries()) return;
  for (auto* n = list_->first(); n != nullptr; n = n->next()) {
    if (n->member().size() > l.zset_max_value()) return;
  }
  compact::PackedZSet packed;
  for (auto* n = list_->first(); n != nullptr; n = n->next()) packed.set(n->member(), n->score);
  packed_ = std::move(packed);
  list_.reset();
}

ZSet::Ref ZSet::find(std::string_view member) const {
  return list_ ? ref(list_->find(member)) : ref(packed_.find(member));
}

bool ZSet::set(std::string_view member, double score) {
  if (list_ == nullptr) {
    const compact::EncodingLimits& l = compact::limits();
    const bool fits = packed_.size() < l.zset_max_entries() && member.size() <= l.zset_max_value();
    if (fits || packed_.find(member) != nullptr) return packed_.set(member, score);
    to_skiplist();
  }
  return list_->set(member, score);
}

bool ZSet::erase(std::string_view member) {
  return list_ ? list_->erase(member) : packed_.erase(member);
}

std::size_t ZSet::rank(Ref r) const { return list_ ? list_->rank(r.node()) : packed_.rank(r.pos()); }
ZSet::Ref ZSet::at(std::size_t rank) const { return list_ ? ref(list_->at(rank)) : ref(packed_.at(rank)); }
ZSet::Ref ZSet::first() const { return list_ ? ref(list_->first()) : ref(packed_.first()); }
ZSet::Ref ZSet::last() const { return list_ ? ref(list_->last()) : ref(packed_.last()); }

// Packed: a walk from either end, as Redis's listpack range queries are.
ZSet::Ref ZSet::first_in(const ScoreRange& r) const {
  if (list_) return ref(list_->first_in(r));
  if (r.empty()) return {};
  for (Ref x = first(); x; x = x.next()) {
    if (r.above_min(x.score())) return r.below_max(x.score()) ? x : Ref();
  }
  return {};
}

ZSet::Ref ZSet::last_in(const ScoreRange& r) const {
  if (list_) return ref(list_->last_in(r));
  if (r.empty()) return {};
  for (Ref x = last(); x; x = x.prev()) {
    if (r.below_max(x.score())) return r.above_min(x.score()) ? x : Ref();
  }
  return {};
}

ZSet::Ref ZSet::first_in(const LexRange& r) const {
  if (list_) return ref(list_->first_in(r));
  if (r.empty()) return {};
  for (Ref x = first(); x; x = x.next()) {
    if (r.above_min(x.member())) return r.below_max(x.member()) ? x : Ref();
  }
  return {};
}

ZSet::Ref ZSet::last_in(const LexRange& r) const {
  if (list_) return ref(list_->last_in(r));
  if (r.empty()) return {};
  for (Ref x = last(); x; x = x.prev()) {
    if (r.below_max(x.member())) return r.above_min(x.member()) ? x : Ref();
  }
  return {};
}

}  // namespace lfdb::db
