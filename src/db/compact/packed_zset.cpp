#include "db/compact/packed_zset.hpp"
#include "db/compact/packed_bytes.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>

namespace lfdb::db::compact {
namespace {

using bytes::get_backlen;
using bytes::get_varint;
using bytes::put_backlen;
using bytes::put_varint;
using bytes::varint_size;

// A score's bytes: a tag byte, then the value in as few bytes as it needs. Integer-valued scores
// (the common 1, 2, 3 or a timestamp in seconds) are stored as integers: one byte for
// kSmallMin..kSmallMax (the tag is the value itself, biased), 2 or 4 more bytes for the rest of
// int16's and int32's ranges; any other double is its 8 bytes. Every integer in int32's range is
// exactly a double, so score() gives back the double that was set, bit for bit (-0 is stored as
// 0 before it gets here, NaN never is; inf, 0.1 or 1e300 take the 8 bytes).
constexpr unsigned char kTagInt16 = 0xFD;
constexpr unsigned char kTagInt32 = 0xFE;
constexpr unsigned char kTagDouble = 0xFF;
constexpr int kSmallMin = -32;
constexpr int kSmallMax = kSmallMin + kTagInt16 - 1;  // 220: every tag below kTagInt16 is a value

// The score's encoded bytes (tag included), and its bytes written at p.
std::size_t score_size(double s) {
  if (!(s >= INT32_MIN && s <= INT32_MAX) || std::trunc(s) != s) return 9;
  const auto i = static_cast<std::int32_t>(s);
  if (i >= kSmallMin && i <= kSmallMax) return 1;
  return i >= INT16_MIN && i <= INT16_MAX ? 3 : 5;
}
unsigned char* put_score(unsigned char* p, double s) {
  switch (score_size(s)) {
    case 1:
      *p = static_cast<unsigned char>(static_cast<int>(s) - kSmallMin);
      return p + 1;
    case 3: {
      const auto i = static_cast<std::int16_t>(s);
      *p = kTagInt16;
      std::memcpy(p + 1, &i, 2);
      return p + 3;
    }
    case 5: {
      const auto i = static_cast<std::int32_t>(s);
      *p = kTagInt32;
      std::memcpy(p + 1, &i, 4);
      return p + 5;
    }
    default:
      *p = kTagDouble;
      std::memcpy(p + 1, &s, 8);
      return p + 9;
  }
}
// The encoded score's size, from its tag byte.
std::size_t stored_score_size(const unsigned char* p) {
  switch (*p) {
    case kTagInt16: return 3;
    case kTagInt32: return 5;
    case kTagDouble: return 9;
    default: return 1;
  }
}
double get_score(const unsigned char* p) {
  switch (*p) {
    case kTagInt16: {
      std::int16_t i;
      std::memcpy(&i, p + 1, 2);
      return i;
    }
    case kTagInt32: {
      std::int32_t i;
      std::memcpy(&i, p + 1, 4);
      return i;
    }
    case kTagDouble: {
      double s;
      std::memcpy(&s, p + 1, 8);
      return s;
    }
    default: return static_cast<int>(*p) + kSmallMin;
  }
}

// The entry's size before its back length: length prefix, member, score.
std::size_t zset_body_size(std::size_t member_len, double score) {
  return varint_size(member_len) + member_len + score_size(score);
}
std::size_t entry_size(std::size_t member_len, double score) {
  const std::size_t body = zset_body_size(member_len, score);
  return body + varint_size(body);
}
// Where an entry's score starts.
const unsigned char* score_at(const unsigned char* p) {
  std::size_t len = 0;
  return get_varint(p, len) + len;
}

// (s1, m1) sorts before (s2, m2): the skip list's order.
bool before(double s1, std::string_view m1, double s2, std::string_view m2) {
  return s1 < s2 || (s1 == s2 && m1 < m2);
}

}  // namespace

PackedZSet::Pos PackedZSet::first() const { return size() == 0 ? nullptr : data(); }

PackedZSet::Pos PackedZSet::last() const { return size() == 0 ? nullptr : prev(end()); }

PackedZSet::Pos PackedZSet::next(Pos p) const {
  const unsigned char* q = score_at(p);
  q += stored_score_size(q);
  const std::size_t body = static_cast<std::size_t>(q - p);
  q += varint_size(body);
  return q == end() ? nullptr : q;
}

PackedZSet::Pos PackedZSet::prev(Pos p) const {
  if (p == data()) return nullptr;
  const unsigned char* start = nullptr;
  const std::size_t body = get_backlen(p, start);
  return start - body;
}

std::string_view PackedZSet::member(Pos p) {
  std::size_t len = 0;
  const unsigned char* m = get_varint(p, len);
  return {reinterpret_cast<const char*>(m), len};
}

double PackedZSet::score(Pos p) { return get_score(score_at(p)); }

PackedZSet::Pos PackedZSet::find(std::string_view m) const {
  for (Pos p = first(); p != nullptr; p = next(p)) {
    if (member(p) == m) return p;
  }
  return nullptr;
}

std::size_t PackedZSet::rank(Pos p) const {
  std::size_t r = 0;
  for (Pos q = first(); q != p; q = next(q)) ++r;
  return r;
}

PackedZSet::Pos PackedZSet::at(std::size_t rank) const {
  if (rank >= size()) return nullptr;
  Pos p = first();
  while (rank-- > 0) p = next(p);
  return p;
}

std::size_t PackedZSet::longest() const {
  std::size_t n = 0;
  for (Pos p = first(); p != nullptr; p = next(p)) n = std::max(n, member(p).size());
  return n;
}

void PackedZSet::remove(Pos p) {
  const std::size_t len = entry_size(member(p).size(), score(p));
  unsigned char* at = buf_ + (p - buf_);
  const std::size_t used = used_;
  std::memmove(at, at + len, static_cast<std::size_t>(end() - (at + len)));
  if (count_ == 1) {
    release();
    return;
  }
  used_ = static_cast<std::uint32_t>(used - len);
  --count_;
  // Shrinking in place cannot fail in practice; keep the larger buffer if it does.
  if (auto* b = static_cast<unsigned char*>(std::realloc(buf_, used - len))) buf_ = b;
}

void PackedZSet::insert(std::string_view m, double s) {
  const std::size_t len = entry_size(m.size(), s);
  const std::size_t used = used_;
  // Where it goes: before the first entry that sorts after it.
  std::size_t off = used;
  for (Pos p = first(); p != nullptr; p = next(p)) {
    if (before(s, m, score(p), member(p))) {
      off = static_cast<std::size_t>(p - data());
      break;
    }
  }
  auto* b = static_cast<unsigned char*>(std::realloc(buf_, used + len));
  if (b == nullptr) throw std::bad_alloc();
  buf_ = b;
  unsigned char* at = data() + off;
  std::memmove(at + len, at, used - off);
  unsigned char* q = put_varint(at, m.size());
  if (!m.empty()) std::memcpy(q, m.data(), m.size());
  q += m.size();
  put_backlen(put_score(q, s), zset_body_size(m.size(), s));
  used_ = static_cast<std::uint32_t>(used + len);
  ++count_;
}

bool PackedZSet::set(std::string_view m, double s) {
  if (s == 0) s = 0;  // -0 is stored as 0 (see the header)
  if (Pos p = find(m)) {
    if (score(p) == s) return false;
    // Still between its neighbours and as many bytes: the score changes in place (ZINCRBY's
    // common case). A score whose encoding grows or shrinks takes the entry out and back in.
    Pos before_p = prev(p);
    Pos after_p = next(p);
    if (score_size(s) == stored_score_size(score_at(p)) &&
        (before_p == nullptr || before(score(before_p), member(before_p), s, m)) &&
        (after_p == nullptr || before(s, m, score(after_p), member(after_p)))) {
      put_score(buf_ + (score_at(p) - buf_), s);
      return false;
    }
    // `m` may point into the buffer (a caller passing member(p)): copy it out first.
    const std::string keep(m);
    remove(p);
    insert(keep, s);
    return false;
  }
  insert(m, s);
  return true;
}

bool PackedZSet::erase(std::string_view m) {
  Pos p = find(m);
  if (p == nullptr) return false;
  remove(p);
  return true;
}

}  // namespace lfdb::db::compact
