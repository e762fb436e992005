// Bitmaps: strings read and written as arrays of bits (SETBIT GETBIT BITCOUNT BITPOS BITOP
// BITFIELD BITFIELD_RO), with Redis 7.0's offsets, ranges, overflow rules and errors. Bit 0 is the
// most significant bit of byte 0; bits past the end of a string read as 0, and a write past it
// grows the string with zero bytes. Each handler runs holding its keys' colors.
#include <bit>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "db/command_context.hpp"
#include "db/strings.hpp"
#include "db/pubsub/notify.hpp"

namespace lfdb::db {
namespace {

constexpr std::string_view kErrBitOffset = "ERR bit offset is not an integer or out of range";
constexpr std::string_view kErrBitValue = "ERR bit is not an integer or out of range";
constexpr std::string_view kErrBitfieldType =
    "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.";

// A bit offset argument: 0 .. 8 * proto-max-bulk-len - width (- 1 for a single bit); with
// `hash_allowed`, "#n" means n * width (BITFIELD).
bool parse_bit_offset(std::string_view arg, bool hash_allowed, int width, std::uint64_t& out) {
  bool hash = false;
  if (hash_allowed && !arg.empty() && arg[0] == '#') {
    hash = true;
    arg.remove_prefix(1);
  }
  std::int64_t v = 0;
  if (!parse_int(arg, v)) return false;
  if (hash) {
    if (v < 0 || v > INT64_MAX / width) return false;
    v *= width;
  }
  const std::int64_t max = static_cast<std::int64_t>(8 * kMaxStringSize) - (width > 0 ? width : 1);
  if (v < 0 || v > max) return false;
  out = static_cast<std::uint64_t>(v);
  return true;
}

int bit_at(std::string_view s, std::uint64_t bit) {
  const std::uint64_t byte = bit >> 3;
  if (byte >= s.size()) return 0;
  return (static_cast<unsigned char>(s[byte]) >> (7 - (bit & 7))) & 1;
}

void set_bit(CompactString& s, std::uint64_t bit, int on) {
  auto& b = reinterpret_cast<unsigned char&>(s[bit >> 3]);
  const auto mask = static_cast<unsigned char>(1u << (7 - (bit & 7)));
  b = on ? static_cast<unsigned char>(b | mask) : static_cast<unsigned char>(b & ~mask);
}

// The string at key grown to hold `bytes` bytes (created when missing), for a write; nullptr with
// WRONGTYPE written when the key holds another type. `grown` says whether it was created or
// grown: a change even when no bit then changes (a BITFIELD whose every write fails under
// OVERFLOW FAIL still leaves the zeros, as in Redis), which the caller marks together with its
// own, once, so the log and replicas see the same key and the change counts once as in Redis.
CompactString* writable_bits(CommandContext& c, std::string_view key, std::uint64_t bytes, bool& grown) {
  bool wrong = false;
  Entry* e = string_at(c, key, wrong);
  if (wrong) {
    c.out.error(kErrWrongType);
    return nullptr;
  }
  if (e == nullptr) {
    bool created = false;
    e = &c.part(key).find_or_create(key, c.now_ms, created);
  }
  CompactString& s = e->value.str();
  grown = s.size() < bytes;
  if (grown) s.resize(bytes, '\0');
  e->value.form = StrForm::kRaw;
  return &s;
}

void setbit_cmd(CommandContext& c) {
  std::uint64_t bit = 0;
  if (!parse_bit_offset(c.arg(2), false, 0, bit)) return c.out.error(kErrBitOffset);
  std::int64_t on = 0;
  if (!parse_int(c.arg(3), on) || (on & ~1) != 0) return c.out.error(kErrBitValue);
  const std::string_view key = c.arg(1);
  bool grown = false;
  CompactString* s = writable_bits(c, key, (bit >> 3) + 1, grown);
  if (s == nullptr) return;
  const int old = bit_at(*s, bit);
  if (grown || old != on) {  // a bit set to what it was changes nothing (no event, no change)
    set_bit(*s, bit, static_cast<int>(on));
    c.part(key).modified(key);
    pubsub::event(pubsub::kEvString, "setbit", key);
  }
  c.out.integer(old);
}

void getbit_cmd(CommandContext& c) {
  std::uint64_t bit = 0;
  if (!parse_bit_offset(c.arg(2), false, 0, bit)) return c.out.error(kErrBitOffset);
  bool wrong = false;
  const Entry* e = string_at(c, c.arg(1), wrong);
  if (wrong) return c.out.error(kErrWrongType);
  c.out.integer(e == nullptr ? 0 : bit_at(e->value.str(), bit));
}

// BITCOUNT's and BITPOS's [start end [BYTE|BIT]] over a string of `len` bytes, as a range of bits
// [first, last]; empty when first > last. Redis's rules: negative indexes count from the end, then
// both are clamped into the string.
struct BitRange {
  std::int64_t first = 0, last = -1;
  bool empty() const { return first > last; }
};

BitRange clamp_range(std::int64_t start, std::int64_t end, bool bits, std::int64_t len) {
  const std::int64_t total = bits ? len * 8 : len;
  if (start < 0) start += total;
  if (end < 0) end += total;
  if (start < 0) start = 0;
  if (end < 0) end = 0;
  if (end >= total) end = total - 1;
  if (start > end) return BitRange{};
  return bits ? BitRange{start, end} : BitRange{start * 8, end * 8 + 7};
}

// BYTE or BIT; false for anything else.
bool parse_unit(std::string_view arg, bool& bits) {
  if (iequal(arg, "bit")) bits = true;
  else if (iequal(arg, "byte")) bits = false;
  else return false;
  return true;
}

std::int64_t count_bits(std::string_view s, BitRange r) {
  std::int64_t n = 0;
  std::int64_t i = r.first;
  for (; i <= r.last && (i & 7) != 0; ++i) n += bit_at(s, static_cast<std::uint64_t>(i));
  for (; i + 63 <= r.last; i += 64) {
    std::uint64_t w = 0;
    for (int k = 0; k < 8; ++k) w = (w << 8) | static_cast<unsigned char>(s[static_cast<std::size_t>(i / 8 + k)]);
    n += std::popcount(w);
  }
  for (; i + 7 <= r.last; i += 8) n += std::popcount(static_cast<unsigned>(static_cast<unsigned char>(s[static_cast<std::size_t>(i / 8)])));
  for (; i <= r.last; ++i) n += bit_at(s, static_cast<std::uint64_t>(i));
  return n;
}

void bitcount_cmd(CommandContext& c) {
  // As Redis: the key first (missing: 0 whatever the arguments), then the range.
  bool wrong = false;
  const Entry* e = string_at(c, c.arg(1), wrong);
  if (wrong) return c.out.error(kErrWrongType);
  if (e == nullptr) return c.out.integer(0);
  const CompactString& s = e->value.str();
  const auto len = static_cast<std::int64_t>(s.size());
  BitRange r{0, len * 8 - 1};
  if (c.argc() == 4 || c.argc() == 5) {
    std::int64_t start = 0, end = 0;
    bool bits = false;
    if (!parse_int(c.arg(2), start) || !parse_int(c.arg(3), end)) return c.out.error(kErrNotInteger);
    if (c.argc() == 5 && !parse_unit(c.arg(4), bits)) return c.out.error(kErrSyntax);
    if (start < 0 && end < 0 && start > end) return c.out.integer(0);
    r = clamp_range(start, end, bits, len);
  } else if (c.argc() != 2) {
    return c.out.error(kErrSyntax);
  }
  c.out.integer(r.empty() ? 0 : count_bits(s, r));
}

void bitpos_cmd(CommandContext& c) {
  std::int64_t bit = 0;
  if (!parse_int(c.arg(2), bit)) return c.out.error(kErrNotInteger);
  if (bit != 0 && bit != 1) return c.out.error("ERR The bit argument must be 1 or 0.");
  bool wrong = false;
  const Entry* e = string_at(c, c.arg(1), wrong);
  if (wrong) return c.out.error(kErrWrongType);
  // A missing key is an endless run of zeros.
  if (e == nullptr) return c.out.integer(bit == 1 ? -1 : 0);
  const CompactString& s = e->value.str();
  const auto len = static_cast<std::int64_t>(s.size());
  BitRange r{0, len * 8 - 1};
  bool end_given = false;
  if (c.argc() >= 4 && c.argc() <= 6) {
    std::int64_t start = 0, end = 0;
    bool bits = false;
    if (!parse_int(c.arg(3), start)) return c.out.error(kErrNotInteger);
    if (c.argc() == 6 && !parse_unit(c.arg(5), bits)) return c.out.error(kErrSyntax);
    if (c.argc() >= 5) {
      if (!parse_int(c.arg(4), end)) return c.out.error(kErrNotInteger);
      end_given = true;
    } else {
      end = bits ? len * 8 - 1 : len - 1;
    }
    r = clamp_range(start, end, bits, len);
  } else if (c.argc() != 3) {
    return c.out.error(kErrSyntax);
  }
  if (r.empty()) return c.out.integer(-1);
  const unsigned char skip = bit == 1 ? 0x00 : 0xff;  // whole bytes that cannot hold it
  std::int64_t i = r.first;
  while (i <= r.last) {
    if ((i & 7) == 0 && i + 7 <= r.last && static_cast<unsigned char>(s[static_cast<std::size_t>(i / 8)]) == skip) {
      i += 8;
      continue;
    }
    if (bit_at(s, static_cast<std::uint64_t>(i)) == bit) return c.out.integer(i);
    ++i;
  }
  // No clear bit inside: without an explicit end the string goes on with zeros, so the first
  // clear bit is the one just past the range (Redis counts it from the range's last byte).
  if (bit == 0 && !end_given) return c.out.integer((r.last / 8 + 1) * 8);
  c.out.integer(-1);
}

void bitop_cmd(CommandContext& c) {
  enum class Op { kAnd, kOr, kXor, kNot } op;
  const std::string_view name = c.arg(1);
  if (iequal(name, "and")) op = Op::kAnd;
  else if (iequal(name, "or")) op = Op::kOr;
  else if (iequal(name, "xor")) op = Op::kXor;
  else if (iequal(name, "not")) op = Op::kNot;
  else return c.out.error(kErrSyntax);
  if (op == Op::kNot && c.argc() != 4) {
    return c.out.error("ERR BITOP NOT must be called with a single source key.");
  }
  // Every source first (a wrong type fails the command before anything is written); missing
  // ones are empty strings.
  std::vector<std::string_view> src;
  std::size_t longest = 0;
  for (std::size_t i = 3; i < c.argc(); ++i) {
    bool wrong = false;
    const Entry* e = string_at(c, c.arg(i), wrong);
    if (wrong) return c.out.error(kErrWrongType);
    src.push_back(e == nullptr ? std::string_view() : std::string_view(e->value.str()));
    longest = std::max(longest, src.back().size());
  }
  std::string out(longest, '\0');
  for (std::size_t b = 0; b < longest; ++b) {
    auto byte = [&](std::size_t k) -> unsigned {
      return b < src[k].size() ? static_cast<unsigned char>(src[k][b]) : 0u;
    };
    unsigned v = byte(0);
    for (std::size_t k = 1; k < src.size(); ++k) {
      if (op == Op::kAnd) v &= byte(k);
      else if (op == Op::kOr) v |= byte(k);
      else v ^= byte(k);
    }
    if (op == Op::kNot) v = ~v;
    out[b] = static_cast<char>(v & 0xff);
  }
  const std::string_view dest = c.arg(2);
  if (longest == 0) {
    // erase() marks the change itself
    if (c.part(dest).erase(dest, c.now_ms)) pubsub::event(pubsub::kEvGeneric, "del", dest);
  } else {
    store(c, dest, out, -1, false);
    c.find(dest)->value.form = StrForm::kRaw;  // built as a buffer, never a shared short string: "raw"
    pubsub::event(pubsub::kEvString, "set", dest);
  }
  c.out.integer(static_cast<std::int64_t>(longest));
}

// ---- BITFIELD ----------------------------------------------------------------------------

struct FieldType {
  bool is_signed = false;
  int bits = 0;
};

bool parse_field_type(std::string_view arg, FieldType& t) {
  if (arg.size() < 2 || (arg[0] != 'i' && arg[0] != 'I' && arg[0] != 'u' && arg[0] != 'U')) return false;
  t.is_signed = arg[0] == 'i' || arg[0] == 'I';
  std::int64_t bits = 0;
  if (!parse_int(arg.substr(1), bits)) return false;
  if (bits < 1 || bits > (t.is_signed ? 64 : 63)) return false;
  t.bits = static_cast<int>(bits);
  return true;
}

std::uint64_t read_field(std::string_view s, std::uint64_t offset, int bits) {
  std::uint64_t v = 0;
  for (int j = 0; j < bits; ++j) v = (v << 1) | static_cast<std::uint64_t>(bit_at(s, offset + static_cast<std::uint64_t>(j)));
  return v;
}

void write_field(CompactString& s, std::uint64_t offset, int bits, std::uint64_t v) {
  for (int j = 0; j < bits; ++j) {
    set_bit(s, offset + static_cast<std::uint64_t>(j), static_cast<int>((v >> (bits - 1 - j)) & 1));
  }
}

std::int64_t as_signed(std::uint64_t v, int bits) {
  if (bits < 64 && (v >> (bits - 1)) & 1) v |= ~std::uint64_t{0} << bits;  // sign-extend
  return static_cast<std::int64_t>(v);
}

enum class Overflow { kWrap, kSat, kFail };

// value + incr in the field's range under the overflow rule; nullopt under FAIL when it does not
// fit. For an unsigned field `value` is taken as unsigned, as Redis does (SET u8 -1 saturates
// to 255).
std::optional<std::int64_t> fit(FieldType t, std::int64_t value, std::int64_t incr, Overflow ow) {
  __extension__ using I = __int128;  // value + incr never overflows it
  I lo, hi, r;
  if (t.is_signed) {
    hi = (I{1} << (t.bits - 1)) - 1;
    lo = -hi - 1;
    r = I{value} + incr;
  } else {
    hi = (I{1} << t.bits) - 1;
    lo = 0;
    r = I{static_cast<std::uint64_t>(value)} + incr;
  }
  if (r >= lo && r <= hi) return static_cast<std::int64_t>(r);
  if (ow == Overflow::kFail) return std::nullopt;
  if (ow == Overflow::kSat) return static_cast<std::int64_t>(r > hi ? hi : lo);
  const auto wrapped = static_cast<std::uint64_t>(r);  // mod 2^64
  if (t.is_signed) return as_signed(t.bits == 64 ? wrapped : wrapped & ((std::uint64_t{1} << t.bits) - 1), t.bits);
  return static_cast<std::int64_t>(wrapped & ((std::uint64_t{1} << t.bits) - 1));
}

struct FieldOp {
  enum Kind { kGet, kSet, kIncrBy } kind = kGet;
  FieldType type;
  std::uint64_t offset = 0;
  std::int64_t value = 0;  // SET's value, INCRBY's increment
  Overflow overflow = Overflow::kWrap;
};

void bitfield_generic(CommandContext& c, bool read_only) {
  // Parse everything first: a bad operation anywhere fails the whole command unapplied.
  std::vector<FieldOp> ops;
  Overflow overflow = Overflow::kWrap;
  bool writes = false;
  std::uint64_t highest_byte = 0;
  for (std::size_t i = 2; i < c.argc();) {
    const std::string_view sub = c.arg(i);
    const std::size_t left = c.argc() - i - 1;
    if (iequal(sub, "overflow") && left >= 1) {
      const std::string_view how = c.arg(i + 1);
      if (iequal(how, "wrap")) overflow = Overflow::kWrap;
      else if (iequal(how, "sat")) overflow = Overflow::kSat;
      else if (iequal(how, "fail")) overflow = Overflow::kFail;
      else return c.out.error("ERR Invalid OVERFLOW type specified");
      i += 2;
      continue;
    }
    FieldOp op;
    std::size_t takes = 0;
    if (iequal(sub, "get") && left >= 2) {
      op.kind = FieldOp::kGet;
      takes = 3;
    } else if (iequal(sub, "set") && left >= 3) {
      op.kind = FieldOp::kSet;
      takes = 4;
    } else if (iequal(sub, "incrby") && left >= 3) {
      op.kind = FieldOp::kIncrBy;
      takes = 4;
    } else {
      return c.out.error(kErrSyntax);
    }
    if (!parse_field_type(c.arg(i + 1), op.type)) return c.out.error(kErrBitfieldType);
    if (!parse_bit_offset(c.arg(i + 2), true, op.type.bits, op.offset)) return c.out.error(kErrBitOffset);
    if (op.kind != FieldOp::kGet) {
      if (!parse_int(c.arg(i + 3), op.value)) return c.out.error(kErrNotInteger);
      writes = true;
      highest_byte = std::max(highest_byte, (op.offset + static_cast<std::uint64_t>(op.type.bits) - 1) / 8 + 1);
    }
    op.overflow = overflow;
    ops.push_back(op);
    i += takes;
  }
  if (read_only && writes) return c.out.error("ERR BITFIELD_RO only supports the GET subcommand");

  const std::string_view key = c.arg(1);
  CompactString* s = nullptr;
  std::string_view view;
  bool changed = false;
  if (writes) {
    s = writable_bits(c, key, highest_byte, changed);
    if (s == nullptr) return;
  } else {
    bool wrong = false;
    const Entry* e = string_at(c, key, wrong);
    if (wrong) return c.out.error(kErrWrongType);
    if (e != nullptr) view = e->value.str();
  }
  c.out.array_header(ops.size());
  for (const FieldOp& op : ops) {
    const std::string_view cur = s != nullptr ? std::string_view(*s) : view;
    const std::uint64_t raw = read_field(cur, op.offset, op.type.bits);
    const std::int64_t old = op.type.is_signed ? as_signed(raw, op.type.bits) : static_cast<std::int64_t>(raw);
    if (op.kind == FieldOp::kGet) {
      c.out.integer(old);
      continue;
    }
    const std::optional<std::int64_t> next =
        op.kind == FieldOp::kSet ? fit(op.type, op.value, 0, op.overflow) : fit(op.type, old, op.value, op.overflow);
    if (!next) {
      c.out.null();
      continue;
    }
    if (*next != old) {  // the same value written back changes nothing
      write_field(*s, op.offset, op.type.bits, static_cast<std::uint64_t>(*next));
      changed = true;
    }
    c.out.integer(op.kind == FieldOp::kSet ? old : *next);
  }
  if (changed) {
    c.part(key).modified(key);
    pubsub::event(pubsub::kEvString, "setbit", key);
  }
}

void bitfield_cmd(CommandContext& c) { bitfield_generic(c, false); }
void bitfield_ro_cmd(CommandContext& c) { bitfield_generic(c, true); }

constexpr HandlerEntry kBitHandlers[] = {
    {"setbit", setbit_cmd},     {"getbit", getbit_cmd},     {"bitcount", bitcount_cmd},
    {"bitpos", bitpos_cmd},     {"bitop", bitop_cmd},       {"bitfield", bitfield_cmd},
    {"bitfield_ro", bitfield_ro_cmd},
};

}  // namespace

std::span<const HandlerEntry> bit_handlers() { return kBitHandlers; }

}  // namespace lfdb::db
