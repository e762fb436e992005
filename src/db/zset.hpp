// A sorted set: members ordered by (score, member), each member once.
//
// Why this structure: the sorted-set commands need, all in O(log N), (1) a member's score
// (ZSCORE, and every ZADD/ZINCRBY), (2) a member's rank (ZRANK), (3) the element at a rank
// (ZRANGE by index, ZREMRANGEBYRANK), and (4) the first element at or after a score or a
// lexicographic bound (ZRANGEBYSCORE, ZCOUNT, ZRANGEBYLEX), then walking in either direction.
// A hash map member -> node answers (1) in O(1). An ordered tree keyed by (score, member) would
// answer (4) but not (2)/(3) without per-node subtree counts; a skip list whose links carry their
// span (the number of elements they skip, as Redis's zskiplist does) answers (2), (3) and (4)
// in expected O(log N) with simple code, and its level-0 list plus back pointers make range
// walks a pointer chase in either direction.
//
// Members are compared as byte strings (memcmp order, as Redis's sdscmp); scores are never NaN
// (the commands refuse NaN before they get here).
//
// Thread-safety: none; a ZSet is a value inside a partition, touched only under its color.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <memory>
#include <unordered_set>

#include "db/compact/packed_zset.hpp"
#include "db/string_hash.hpp"

namespace lfdb::db {

// A score interval: [min, max], either end open when its `ex` flag is set.
struct ScoreRange {
  double min = 0, max = 0;
  bool min_ex = false, max_ex = false;
  bool above_min(double s) const { return min_ex ? s > min : s >= min; }
  bool below_max(double s) const { return max_ex ? s < max : s <= max; }
  bool empty() const { return min > max || (min == max && (min_ex || max_ex)); }
};

// A lexicographic interval as ZRANGEBYLEX spells it: "-" and "+" are the infinities, "[x"
// includes x, "(x" excludes it.
struct LexRange {
  std::string min, max;
  bool min_ex = false, max_ex = false;
  bool min_inf = false;  // "-": below everything
  bool max_inf = false;  // "+": above everything
  bool min_plus = false;  // "+" given as the minimum: nothing is above it
  bool max_minus = false; // "-" given as the maximum: nothing is below it
  bool above_min(std::string_view m) const;
  bool below_max(std::string_view m) const;
  bool empty() const;
};

// Parses ZRANGEBYSCORE's "(1.5" / "-inf" / "3"; false if not a float (or NaN).
bool parse_score_bound(std::string_view s, double& v, bool& exclusive);
// Parses ZRANGEBYLEX's bounds; false if neither "-", "+", "[x" nor "(x".
bool parse_lex_range(std::string_view min, std::string_view max, LexRange& r);
// Redis's strict double syntax (getDoubleFromObject): no spaces, the whole string, no NaN, no
// overflow; "inf" and "-inf" are fine.
bool parse_double(std::string_view s, double& v);
// A score as Redis writes it (%.17g, "inf", "-inf"): round-trips exactly through parse_double.
std::string format_score(double v);

// The skip list ZSet becomes once it outgrows its compact encoding (compact/packed_zset.hpp).
class ZSkipList {
 public:
  struct Node;
  struct Level {
    Node* forward = nullptr;
    std::size_t span = 0;  // elements between this node and `forward` on this level, plus one
  };
  // One allocation a member: the fields, `height` levels, then the member's bytes (a
  // std::string member cost its 32 bytes plus a heap block past 15 bytes; inline, a node of one
  // level and a 10-byte member is 58 bytes, jemalloc's 64 class).
  struct Node {
    double score = 0;
    Node* backward = nullptr;  // level 0, toward the head (nullptr for the first)
    std::size_t size = 0;      // the member's bytes, after the levels
    int height = 0;
    Level* levels() { return reinterpret_cast<Level*>(this + 1); }
    const Level* levels() const { return reinterpret_cast<const Level*>(this + 1); }
    std::string_view member() const {
      return {reinterpret_cast<const char*>(levels() + height), size};
    }
    Node* next() const { return levels()[0].forward; }
    Node* prev() const { return backward; }
  };

  ZSkipList();
  ~ZSkipList();
  ZSkipList(const ZSkipList&) = delete;
  ZSkipList& operator=(const ZSkipList&) = delete;

  std::size_t size() const { return length_; }
  bool empty() const { return length_ == 0; }

  // The member's node, or nullptr.
  const Node* find(std::string_view member) const;
  // Adds the member, or moves it to `score`; true if it is new.
  bool set(std::string_view member, double score);
  // Removes the member; false if it was not there.
  bool erase(std::string_view member);

  // 0-based rank in ascending order of a node of this set.
  std::size_t rank(const Node* n) const;
  // The node at a 0-based ascending rank (< size()), or nullptr.
  const Node* at(std::size_t rank) const;
  const Node* first() const { return length_ ? head_->levels()[0].forward : nullptr; }
  const Node* last() const { return tail_; }
  // The first node inside the range (ascending), the last one, or nullptr.
  const Node* first_in(const ScoreRange& r) const;
  const Node* last_in(const ScoreRange& r) const;
  const Node* first_in(const LexRange& r) const;
  const Node* last_in(const LexRange& r) const;

 private:
  static constexpr int kMaxLevel = 32;
  static Node* make_node(int height, std::string_view member, double score);
  static void free_node(Node* n);
  static bool before(const Node* n, double score, std::string_view member);
  int random_level();
  Node* insert(double score, std::string_view member);
  void unlink(Node* x, Node* const* update);

  Node* head_;
  Node* tail_ = nullptr;
  std::size_t length_ = 0;
  int level_ = 1;
  std::uint64_t rng_state_;
  // The member index: the nodes themselves, hashed and compared by their members (a lookup
  // takes a view). A libstdc++ node of one pointer is 16 bytes, where a (view, pointer) pair
  // made it 32.
  struct ByMember {
    using is_transparent = void;
    static std::string_view of(const Node* n) { return n->member(); }
    static std::string_view of(std::string_view s) { return s; }
    template <typename A>
    std::size_t operator()(const A& a) const noexcept { return StringHash{}(of(a)); }
    template <typename A, typename B>
    bool operator()(const A& a, const B& b) const noexcept { return of(a) == of(b); }
  };
  std::unordered_set<Node*, ByMember, ByMember> index_;
};


// A sorted set in one of Redis's two encodings: packed (compact::PackedZSet, one buffer, while
// it has at most zset-max-listpack-entries members of at most zset-max-listpack-value bytes) or
// a skip list (ZSkipList) for good once either limit is passed. OBJECT ENCODING tells which
// ("listpack" / "skiplist"); every other answer is the same in both.
//
// Members are reached through Ref, a position in either encoding: valid until the set changes.
class ZSet {
 public:
  class Ref {
   public:
    Ref() = default;
    explicit operator bool() const { return p_ != nullptr; }
    bool operator==(const Ref& o) const { return p_ == o.p_; }
    std::string_view member() const {
      return owner_ != nullptr ? compact::PackedZSet::member(pos()) : node()->member();
    }
    double score() const { return owner_ != nullptr ? compact::PackedZSet::score(pos()) : node()->score; }
    Ref next() const { return owner_ != nullptr ? Ref(owner_, owner_->next(pos())) : Ref(node()->next()); }
    Ref prev() const { return owner_ != nullptr ? Ref(owner_, owner_->prev(pos())) : Ref(node()->prev()); }

   private:
    friend class ZSet;
    explicit Ref(const ZSkipList::Node* n) : p_(n) {}
    Ref(const compact::PackedZSet* owner, compact::PackedZSet::Pos p)
        : p_(p), owner_(p != nullptr ? owner : nullptr) {}
    const ZSkipList::Node* node() const { return static_cast<const ZSkipList::Node*>(p_); }
    compact::PackedZSet::Pos pos() const { return static_cast<compact::PackedZSet::Pos>(p_); }

    const void* p_ = nullptr;
    const compact::PackedZSet* owner_ = nullptr;  // the buffer p_ is in; nullptr: a skip-list node
  };

  ZSet() = default;  // packed
  // A set for a command that brings `size_hint` members, the longest `longest_hint` bytes: a
  // skip list from the start when they would not fit the packed encoding (zsetTypeCreate).
  ZSet(std::size_t size_hint, std::size_t longest_hint);

  std::size_t size() const { return list_ ? list_->size() : packed_.size(); }
  bool empty() const { return size() == 0; }
  bool packed() const { return list_ == nullptr; }
  // What MEMORY USAGE weighs: the packed buffer's bytes, or the skip list (nullptr while packed).
  std::size_t packed_bytes() const { return packed_.bytes(); }
  const ZSkipList* skiplist() const { return list_.get(); }

  Ref find(std::string_view member) const;
  // Adds the member, or moves it to `score`; true if it is new. Converts to the skip list when
  // the member would pass a limit.
  bool set(std::string_view member, double score);
  bool erase(std::string_view member);
  std::size_t rank(Ref r) const;
  Ref at(std::size_t rank) const;
  Ref first() const;
  Ref last() const;
  Ref first_in(const ScoreRange& r) const;
  Ref last_in(const ScoreRange& r) const;
  Ref first_in(const LexRange& r) const;
  Ref last_in(const LexRange& r) const;

  // A copy in the same encoding (COPY).
  std::unique_ptr<ZSet> copy() const;
  // A freshly built set (a *STORE result, a loaded payload) goes back to the packed encoding
  // when it fits, as Redis's zsetConvertToListpackIfNeeded; a key's stored set never does.
  void compact_if_small();

 private:
  void to_skiplist();
  Ref ref(compact::PackedZSet::Pos p) const { return Ref(&packed_, p); }
  Ref ref(const ZSkipList::Node* n) const { return Ref(n); }

  compact::PackedZSet packed_;        // the members while packed()
  std::unique_ptr<ZSkipList> list_;   // the members once converted
};

}  // namespace lfdb::db
