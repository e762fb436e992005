// HyperLogLog: PFADD PFCOUNT PFMERGE PFDEBUG PFSELFTEST, kept in Redis's own string layout so
// HLL values move between lfdb and Redis (GET/SET, DUMP-free copies) and tools read them:
//
//   "HYLL" | u8 encoding (0 dense, 1 sparse) | 3 unused | u64 cached cardinality, little endian;
//            the top bit of its last byte set means "stale, recompute"
//   dense:   16384 registers of 6 bits, packed from the least significant bit of each byte
//   sparse:  runs of registers: ZERO 00xxxxxx (1-64 zeros), XZERO 01xxxxxx yyyyyyyy
//            (1-16384 zeros), VAL 1vvvvvxx (1-4 registers of value 1-32)
//
// An element goes to register hash & 16383 with the length of the run of zero bits that follows
// (MurmurHash64A, seed 0xadc83b19), and the estimate is Ertl's improved estimator over the
// registers' histogram, as Redis 7 computes it, so PFCOUNT answers the same number.
//
// PFADD edits a sparse value in place, run by run, as Redis does (sparse_set), so both keep the
// same bytes and fail alike on a corrupt body; PFMERGE decodes to registers and encodes them
// again. A value turns dense once a register passes 32 or it grows past hll-sparse-max-bytes.
// A value that is not a well-formed HLL is refused with WRONGTYPE before anything changes; a
// corrupt sparse body gets INVALIDOBJ (from PFADD, only when the runs it reads are corrupt). Each handler runs holding its keys' colors; PFCOUNT writes its
// cache, so it is declared as writing its keys' partitions.
#include <array>
#include <bit>
#include <cmath>
#include <cstring>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "db/command_context.hpp"
#include "db/pubsub/notify.hpp"
#include "db/server.hpp"

namespace lfdb::db {
namespace {

constexpr int kP = 14;
constexpr std::size_t kRegisters = std::size_t{1} << kP;
constexpr int kQ = 64 - kP;
constexpr int kBits = 6;
constexpr std::size_t kHeader = 16;
constexpr std::size_t kDenseSize = kHeader + (kRegisters * kBits + 7) / 8;
constexpr std::uint8_t kDense = 0, kSparse = 1;
constexpr int kSparseValMax = 32;
constexpr std::size_t kXZeroMax = 16384, kZeroMax = 64, kValRunMax = 4;

constexpr std::string_view kErrNotHll = "WRONGTYPE Key is not a valid HyperLogLog string value.";
constexpr std::string_view kErrCorrupt = "INVALIDOBJ Corrupted HLL object detected";

using Registers = std::array<std::uint8_t, kRegisters>;

// MurmurHash64A (Austin Appleby's, public domain), little-endian blocks.
std::uint64_t murmur64a(std::string_view data, std::uint64_t seed) {
  constexpr std::uint64_t m = 0xc6a4a7935bd1e995ULL;
  constexpr int r = 47;
  std::uint64_t h = seed ^ (data.size() * m);
  const std::size_t blocks = data.size() / 8;
  for (std::size_t i = 0; i < blocks; ++i) {
    std::uint64_t k = 0;
    for (int b = 7; b >= 0; --b) k = (k << 8) | static_cast<unsigned char>(data[i * 8 + static_cast<std::size_t>(b)]);
    k *= m;
    k ^= k >> r;
    k *= m;
    h ^= k;
    h *= m;
  }
  const std::size_t tail = data.size() & 7;
  if (tail != 0) {
    const std::size_t base = blocks * 8;
    for (std::size_t b = tail; b-- > 0;) h ^= static_cast<std::uint64_t>(static_cast<unsigned char>(data[base + b])) << (8 * b);
    h *= m;
  }
  h ^= h >> r;
  h *= m;
  h ^= h >> r;
  return h;
}

// The register an element sets and the value it offers there.
std::pair<std::size_t, std::uint8_t> position(std::string_view element) {
  std::uint64_t hash = murmur64a(element, 0xadc83b19ULL);
  const std::size_t index = hash & (kRegisters - 1);
  hash >>= kP;
  hash |= std::uint64_t{1} << kQ;  // the run ends by bit Q: values stay <= Q + 1
  return {index, static_cast<std::uint8_t>(std::countr_zero(hash) + 1)};
}

// ---- dense registers -------------------------------------------------------------------

std::uint8_t dense_get(const CompactString& s, std::size_t i) {
  const std::size_t bit = i * kBits, byte = kHeader + bit / 8, shift = bit & 7;
  unsigned v = static_cast<unsigned char>(s[byte]) >> shift;
  if (shift > 8 - kBits) v |= static_cast<unsigned>(static_cast<unsigned char>(s[byte + 1])) << (8 - shift);
  return static_cast<std::uint8_t>(v & 63);
}

void dense_set(CompactString& s, std::size_t i, std::uint8_t val) {
  const std::size_t bit = i * kBits, byte = kHeader + bit / 8, shift = bit & 7;
  auto& b0 = reinterpret_cast<unsigned char&>(s[byte]);
  b0 = static_cast<unsigned char>((b0 & ~(63u << shift)) | (static_cast<unsigned>(val) << shift));
  if (shift > 8 - kBits) {
    auto& b1 = reinterpret_cast<unsigned char&>(s[byte + 1]);
    b1 = static_cast<unsigned char>((b1 & ~(63u >> (8 - shift))) | (static_cast<unsigned>(val) >> (8 - shift)));
  }
}

// ---- sparse runs -----------------------------------------------------------------------

// Calls fn(first register, run length, value) for each run of a sparse body; false when the
// runs do not cover exactly the 16384 registers (corrupt), checked before any run past the end
// is reported. past_end: the byte after the body (see sparse_set).
template <typename Fn>
bool sparse_runs(std::string_view body, Fn&& fn, unsigned past_end = 0) {
  std::size_t index = 0;
  for (std::size_t p = 0; p < body.size();) {
    const auto b = static_cast<unsigned char>(body[p]);
    std::size_t run = 0;
    std::uint8_t value = 0;
    if ((b & 0xc0) == 0x00) {
      run = (b & 0x3f) + 1u;
      p += 1;
    } else if ((b & 0xc0) == 0x40) {
      // An XZERO cut off by the end reads the byte after the body, as Redis's: such a body is
      // corrupt only if the runs then miss the register count.
      const unsigned low = p + 1 < body.size() ? static_cast<unsigned char>(body[p + 1]) : past_end;
      run = ((static_cast<std::size_t>(b & 0x3f) << 8) | low) + 1;
      p += 2;
    } else {
      value = static_cast<std::uint8_t>(((b >> 2) & 0x1f) + 1);
      run = (b & 3u) + 1;
      p += 1;
    }
    if (run > kRegisters - index) return false;
    fn(index, run, value);
    index += run;
  }
  return index == kRegisters;
}

void encode_sparse(const Registers& regs, std::string& out) {
  for (std::size_t i = 0; i < kRegisters;) {
    std::size_t run = 1;
    const std::uint8_t v = regs[i];
    const std::size_t cap = v == 0 ? kXZeroMax : kValRunMax;
    while (i + run < kRegisters && run < cap && regs[i + run] == v) ++run;
    if (v != 0) {
      out.push_back(static_cast<char>(0x80 | ((v - 1) << 2) | (run - 1)));
    } else if (run <= kZeroMax) {
      out.push_back(static_cast<char>(run - 1));
    } else {
      out.push_back(static_cast<char>(0x40 | ((run - 1) >> 8)));
      out.push_back(static_cast<char>((run - 1) & 0xff));
    }
    i += run;
  }
}

// One opcode's parts, for editing a sparse body in place (sparse_set).
bool op_is_zero(unsigned b) { return (b & 0xc0) == 0x00; }
bool op_is_xzero(unsigned b) { return (b & 0xc0) == 0x40; }
bool op_is_val(unsigned b) { return (b & 0x80) != 0; }
unsigned op_value(unsigned b) { return ((b >> 2) & 0x1f) + 1; }
unsigned op_val_run(unsigned b) { return (b & 3) + 1; }
char val_op(unsigned value, std::size_t run) {
  return static_cast<char>(0x80 | ((value - 1) << 2) | (run - 1));
}
// A run of zeros: one ZERO up to 64 registers, else one XZERO (up to 16384).
void zeros_op(std::string& out, std::size_t run) {
  if (run <= kZeroMax) {
    out.push_back(static_cast<char>(run - 1));
  } else {
    out.push_back(static_cast<char>(0x40 | ((run - 1) >> 8)));
    out.push_back(static_cast<char>((run - 1) & 0xff));
  }
}

// ---- values ----------------------------------------------------------------------------

std::uint8_t encoding_of(const CompactString& s) { return static_cast<std::uint8_t>(s[4]); }

bool well_formed(const CompactString& s) {
  if (s.size() < kHeader || s.view().substr(0, 4) != "HYLL") return false;
  const std::uint8_t enc = encoding_of(s);
  if (enc > kSparse) return false;
  return enc != kDense || s.size() == kDenseSize;
}

// The HLL string at key for reading: nullptr when missing (also when an error was written;
// `failed` tells). `own`: the command may change it (PFADD, PFCOUNT of one key, PFDEBUG), so,
// as Redis makes such a value a private copy first, its encoding becomes "raw".
CompactString* hll_at(CommandContext& c, std::string_view key, bool& failed, bool own) {
  failed = false;
  Entry* e = c.find(key);
  if (e == nullptr) return nullptr;
  failed = true;
  if (e->value.type() != Type::kString) return c.out.error(kErrWrongType), nullptr;
  if (!well_formed(e->value.str())) return c.out.error(kErrNotHll), nullptr;
  if (own) e->value.form = StrForm::kRaw;
  failed = false;
  return &e->value.str();
}

// Every register of a well-formed value; false for a corrupt sparse body.
bool registers_of(const CompactString& s, Registers& regs, unsigned past_end = 0) {
  if (encoding_of(s) == kDense) {
    for (std::size_t i = 0; i < kRegisters; ++i) regs[i] = dense_get(s, i);
    return true;
  }
  regs.fill(0);
  return sparse_runs(std::string_view(s).substr(kHeader), [&](std::size_t at, std::size_t run, std::uint8_t v) {
    if (v != 0) std::fill_n(regs.begin() + static_cast<std::ptrdiff_t>(at), run, v);
  }, past_end);
}

// Registers into max(registers, the value's); false for a corrupt sparse body.
bool merge_into(const CompactString& s, Registers& max) {
  Registers regs;
  if (!registers_of(s, regs)) return false;
  for (std::size_t i = 0; i < kRegisters; ++i) max[i] = std::max(max[i], regs[i]);
  return true;
}

std::string empty_hll() {
  std::string s(kHeader, '\0');
  std::memcpy(s.data(), "HYLL", 4);
  s[4] = static_cast<char>(kSparse);
  Registers zero{};
  encode_sparse(zero, s);
  return s;
}

void mark_stale(CompactString& s) { s[15] = static_cast<char>(static_cast<unsigned char>(s[15]) | 0x80); }
bool cache_valid(const CompactString& s) { return (static_cast<unsigned char>(s[15]) & 0x80) == 0; }

std::uint64_t cached(const CompactString& s) {
  std::uint64_t v = 0;
  for (int b = 7; b >= 0; --b) v = (v << 8) | static_cast<unsigned char>(s[kHeader - 8 + static_cast<std::size_t>(b)]);
  return v;
}

void cache(CompactString& s, std::uint64_t card) {
  for (std::size_t b = 0; b < 8; ++b) s[8 + b] = static_cast<char>((card >> (8 * b)) & 0xff);
}

// The value rewritten from registers: dense if it already was, or if sparse cannot hold them
// (a register past 32, or more than max_sparse bytes).
void store_registers(CompactString& s, const Registers& regs, std::size_t max_sparse) {
  if (encoding_of(s) == kSparse) {
    bool fits = std::all_of(regs.begin(), regs.end(), [](std::uint8_t v) { return v <= kSparseValMax; });
    if (fits) {
      std::string out(s.view().substr(0, kHeader));
      encode_sparse(regs, out);
      if (out.size() <= max_sparse) {
        s = out;
        return;
      }
    }
    s.resize(kDenseSize);
    s[4] = static_cast<char>(kDense);
  }
  for (std::size_t i = 0; i < kRegisters; ++i) dense_set(s, i, regs[i]);
}

// Raises register `index` of a sparse value to `count` by editing its runs in place, as Redis
// does, so that both servers keep the same bytes, and a corrupt body fails as Redis's does: the
// runs are read only up to the one that covers `index` (-1 when they end before it: corrupt),
// that run is split around the register (a run of zeros or of another value on either side),
// and equal neighbouring values within five opcodes of the change are joined again. The value
// turns dense instead when `count` does not fit a sparse register or the edit would grow it
// past max_sparse (-1 when the whole body turns out corrupt then). Returns 1 when the register
// rose, 0 when it already held as much.
//
// past_end: the byte just after the value, which Redis reads for an XZERO cut off by the end
// (its strings end in a NUL, until such an edit leaves the cut-off run's last byte there); it
// is followed through one command's edits, and 0 when a command starts.

// max_sparse() is asked only when the value would grow (a config lookup costs more than most
// edits).
// The sparse value made dense, with the register set (a named function, not a lambda: the
// hue checker follows direct calls only).
int promote_to_dense(CompactString& s, std::size_t index, std::uint8_t count, unsigned past_end) {
  Registers regs;
  if (!registers_of(s, regs, past_end)) return -1;
  s.resize(kDenseSize);
  s[4] = static_cast<char>(kDense);
  for (std::size_t i = 0; i < kRegisters; ++i) dense_set(s, i, regs[i]);
  dense_set(s, index, count);
  return 1;
}

// The value's byte i, or past_end (the byte after it) for i at or past its end.
unsigned byte_at(const CompactString& s, std::size_t i, std::size_t end, unsigned past_end) {
  return i < end ? static_cast<unsigned char>(s[i]) : past_end;
}

template <typename Limit>
int sparse_set(CompactString& s, std::size_t index, std::uint8_t count, Limit&& max_sparse,
               unsigned& past_end) {
  if (count > kSparseValMax) return promote_to_dense(s, index, count, past_end);
  const std::size_t end = s.size();
  constexpr std::size_t kNone = SIZE_MAX;
  std::size_t p = kHeader, prev = kNone;
  std::uint64_t first = 0, span = 0;  // the registers the opcode at p covers: [first, first + span)
  while (p < end) {
    const unsigned b = byte_at(s, p, end, past_end);
    std::size_t len = 1;
    if (op_is_zero(b)) {
      span = (b & 0x3f) + 1;
    } else if (op_is_val(b)) {
      span = op_val_run(b);
    } else {
      span = (((b & 0x3fu) << 8) | byte_at(s, p + 1, end, past_end)) + 1;
      len = 2;
    }
    if (index < first + span) break;
    prev = p;
    p += len;
    first += span;
  }
  if (span == 0 || p >= end) return -1;  // the runs end before the register: corrupt

  const unsigned b = byte_at(s, p, end, past_end);
  const bool is_val = op_is_val(b);
  bool in_place = false;  // the register is the whole run: its one byte changes
  if (is_val) {
    if (op_value(b) >= count) return 0;
    in_place = op_val_run(b) == 1;
  } else {
    in_place = op_is_zero(b) && span == 1;
  }
  if (in_place) {
    s[p] = val_op(count, 1);
  } else {
    // The run split around the register: what it held before it, the register, after it.
    const std::uint64_t last = first + span - 1;
    std::string seq;
    if (is_val) {
      if (index != first) seq.push_back(val_op(op_value(b), index - first));
      seq.push_back(val_op(count, 1));
      if (index != last) seq.push_back(val_op(op_value(b), last - index));
    } else {
      if (index != first) zeros_op(seq, index - first);
      seq.push_back(val_op(count, 1));
      if (index != last) zeros_op(seq, last - index);
    }
    const std::size_t old_len = op_is_xzero(b) ? 2 : 1;
    const auto delta = static_cast<std::ptrdiff_t>(seq.size()) - static_cast<std::ptrdiff_t>(old_len);
    if (delta > 0 && end + static_cast<std::size_t>(delta) > max_sparse()) {
      return promote_to_dense(s, index, count, past_end);
    }
    const auto new_size = static_cast<std::size_t>(static_cast<std::ptrdiff_t>(end) + delta);
    if (delta > 0) s.resize(new_size, '\0');
    if (delta != 0 && p + old_len < end) {
      std::memmove(s.data() + p + seq.size(), s.data() + p + old_len, end - p - old_len);
    }
    if (delta < 0) s.resize(new_size);
    // A cut-off XZERO counted two bytes where it had one: the new run loses its last byte then,
    // to the byte past the end.
    std::memcpy(s.data() + p, seq.data(), std::min(seq.size(), new_size - p));
    past_end = p + seq.size() > new_size ? static_cast<unsigned char>(seq.back()) : 0u;
  }
  // Equal values side by side are joined, up to four registers a VAL, looking at five opcodes
  // from the one before the change.
  std::size_t q = prev == kNone ? kHeader : prev;
  for (int left = 5; q < s.size() && left-- > 0;) {
    const auto c0 = static_cast<unsigned char>(s[q]);
    if (op_is_xzero(c0)) {
      q += 2;
      continue;
    }
    if (op_is_zero(c0)) {
      q += 1;
      continue;
    }
    if (q + 1 < s.size()) {
      const auto c1 = static_cast<unsigned char>(s[q + 1]);
      const std::size_t run = op_val_run(c0) + op_val_run(c1);
      if (op_is_val(c1) && op_value(c0) == op_value(c1) && run <= kValRunMax) {
        s[q + 1] = val_op(op_value(c0), run);
        std::memmove(s.data() + q, s.data() + q + 1, s.size() - q - 1);
        s.resize(s.size() - 1);
        past_end = 0;
        continue;
      }
    }
    ++q;
  }
  mark_stale(s);
  return 1;
}

// ---- the estimate ----------------------------------------------------------------------

double sigma(double x) {
  if (x == 1.0) return INFINITY;
  double y = 1, z = x, prev = 0;
  do {
    x *= x;
    prev = z;
    z += x * y;
    y += y;
  } while (prev != z);
  return z;
}

double tau(double x) {
  if (x == 0.0 || x == 1.0) return 0.0;
  double y = 1.0, z = 1 - x, prev = 0;
  do {
    x = std::sqrt(x);
    prev = z;
    y *= 0.5;
    z -= std::pow(1 - x, 2) * y;
  } while (prev != z);
  return z / 3;
}

std::uint64_t estimate(const Registers& regs) {
  std::array<int, 64> histo{};
  for (std::uint8_t v : regs) ++histo[v];
  const double m = kRegisters;
  double z = m * tau((m - histo[kQ + 1]) / m);
  for (int j = kQ; j >= 1; --j) {
    z += histo[static_cast<std::size_t>(j)];
    z *= 0.5;
  }
  z += m * sigma(histo[0] / m);
  constexpr double kAlphaInf = 0.721347520444481703680;  // 0.5 / ln 2
  return static_cast<std::uint64_t>(std::llround(kAlphaInf * m * m / z));
}

std::size_t sparse_limit(CommandContext& c) {
  if (c.server == nullptr) return 3000;
  const auto v = c.server->config().get("hll-sparse-max-bytes");
  std::int64_t n = 3000;
  if (!v.empty() && !parse_int(v.front().second, n)) n = 3000;
  return static_cast<std::size_t>(std::max<std::int64_t>(n, 0));
}

// ---- commands --------------------------------------------------------------------------

// Element by element, as Redis adds them: a sparse value is edited in place (sparse_set), so a
// body corrupt past the registers the elements reach is not noticed, and one noticed stops the
// command with INVALIDOBJ, the elements before it added.
void pfadd_cmd(CommandContext& c) {
  const std::string_view key = c.arg(1);
  bool failed = false;
  CompactString* s = hll_at(c, key, failed, true);
  if (failed) return;
  bool updated = false;
  if (s == nullptr) {
    bool created = false;
    Entry& e = c.part(key).find_or_create(key, c.now_ms, created);
    e.value.str() = empty_hll();
    e.value.form = StrForm::kRaw;
    s = &e.value.str();
    updated = true;
  }
  std::optional<std::size_t> limit;
  auto max_sparse = [&] { return limit ? *limit : *(limit = sparse_limit(c)); };
  unsigned past_end = 0;
  bool changed = false;
  for (std::size_t i = 2; i < c.argc(); ++i) {
    const auto [at, v] = position(c.arg(i));
    int r = 0;
    if (encoding_of(*s) == kDense) {
      if (v > dense_get(*s, at)) {
        dense_set(*s, at, v);
        r = 1;
      }
    } else {
      r = sparse_set(*s, at, v, max_sparse, past_end);
    }
    if (r < 0) {
      // Redis neither notifies nor propagates then; the change is still logged here (modified)
      // so that a replica, replaying the same command on the same bytes, keeps the same value.
      if (changed) c.part(key).modified(key);
      return c.out.error(kErrCorrupt);
    }
    changed = changed || r == 1;
  }
  updated = updated || changed;
  if (updated) {
    mark_stale(*s);
    c.part(key).modified(key);
    pubsub::event(pubsub::kEvString, "pfadd", key);
  }
  c.out.integer(updated ? 1 : 0);
}

void pfcount_cmd(CommandContext& c) {
  if (c.argc() > 2) {
    Registers max{};
    for (std::size_t i = 1; i < c.argc(); ++i) {
      bool failed = false;
      const CompactString* s = hll_at(c, c.arg(i), failed, false);
      if (failed) return;
      if (s != nullptr && !merge_into(*s, max)) return c.out.error(kErrCorrupt);
    }
    return c.out.integer(static_cast<std::int64_t>(estimate(max)));
  }
  bool failed = false;
  CompactString* s = hll_at(c, c.arg(1), failed, true);
  if (failed) return;
  if (s == nullptr) return c.out.integer(0);
  if (cache_valid(*s)) return c.out.integer(static_cast<std::int64_t>(cached(*s)));
  Registers regs;
  if (!registers_of(*s, regs)) return c.out.error(kErrCorrupt);
  const std::uint64_t card = estimate(regs);
  // The cache is the value's own: a replica or the log recomputes it, so it is not logged.
  cache(*s, card);
  c.out.integer(static_cast<std::int64_t>(card));
}

void pfmerge_cmd(CommandContext& c) {
  Registers max{};
  bool dense = false;
  for (std::size_t i = 1; i < c.argc(); ++i) {  // the destination counts as a source too
    bool failed = false;
    const CompactString* s = hll_at(c, c.arg(i), failed, false);
    if (failed) return;
    if (s == nullptr) continue;
    dense = dense || encoding_of(*s) == kDense;
    if (!merge_into(*s, max)) return c.out.error(kErrCorrupt);
  }
  const std::string_view key = c.arg(1);
  bool created = false;
  Entry& e = c.part(key).find_or_create(key, c.now_ms, created);
  if (created) e.value.str() = empty_hll();
  e.value.form = StrForm::kRaw;
  CompactString& s = e.value.str();
  if (dense && encoding_of(s) == kSparse) {  // one dense input makes the result dense at once
    s.resize(kDenseSize);
    s[4] = static_cast<char>(kDense);
  }
  store_registers(s, max, sparse_limit(c));
  mark_stale(s);
  c.part(key).modified(key);
  pubsub::event(pubsub::kEvString, "pfadd", key);  // PFMERGE notifies as PFADD, as in Redis
  c.out.simple_string("OK");
}

void pfdebug_cmd(CommandContext& c) {
  const std::string_view sub = c.arg(1), key = c.arg(2);
  Entry* e = c.find(key);
  if (e == nullptr) return c.out.error("ERR The specified key does not exist");
  bool failed = false;
  CompactString* s = hll_at(c, key, failed, true);
  if (failed) return;
  auto to_dense = [&]() -> bool {  // false: corrupt
    if (encoding_of(*s) == kDense) return true;
    Registers regs;
    if (!registers_of(*s, regs)) return false;
    s->resize(kDenseSize);
    (*s)[4] = static_cast<char>(kDense);
    for (std::size_t i = 0; i < kRegisters; ++i) dense_set(*s, i, regs[i]);
    c.part(key).modified(key);
    return true;
  };
  if (iequal(sub, "getreg")) {
    if (!to_dense()) return c.out.error(kErrCorrupt);
    c.out.array_header(kRegisters);
    for (std::size_t i = 0; i < kRegisters; ++i) c.out.integer(dense_get(*s, i));
  } else if (iequal(sub, "decode")) {
    if (encoding_of(*s) != kSparse) return c.out.error("ERR HLL encoding is not sparse");
    std::string text;
    const std::string_view body = std::string_view(*s).substr(kHeader);
    for (std::size_t p = 0; p < body.size();) {
      const auto b = static_cast<unsigned char>(body[p]);
      if ((b & 0xc0) == 0x00) {
        text += "z:" + std::to_string((b & 0x3f) + 1) + " ";  // Redis's names: z ZERO, Z XZERO
        p += 1;
      } else if ((b & 0xc0) == 0x40) {
        const unsigned next = p + 1 < body.size() ? static_cast<unsigned char>(body[p + 1]) : 0u;
        text += "Z:" + std::to_string((((b & 0x3fu) << 8) | next) + 1) + " ";
        p += 2;
      } else {
        text += "v:" + std::to_string(((b >> 2) & 0x1f) + 1) + "," + std::to_string((b & 3) + 1) + " ";
        p += 1;
      }
    }
    while (!text.empty() && text.back() == ' ') text.pop_back();
    c.out.simple_string(text);
  } else if (iequal(sub, "encoding")) {
    c.out.simple_string(encoding_of(*s) == kDense ? "dense" : "sparse");
  } else if (iequal(sub, "todense")) {
    const bool was_sparse = encoding_of(*s) == kSparse;
    if (!to_dense()) return c.out.error(kErrCorrupt);
    c.out.integer(was_sparse ? 1 : 0);
  } else {
    c.out.error("ERR Unknown PFDEBUG subcommand '" + std::string(sub) + "'");
  }
}

// PFSELFTEST: the layouts and the estimate checked against themselves: every dense register
// holds any value without touching its neighbours; sparse and dense values built from the same
// elements agree register for register and estimate; the estimate stays within five standard
// errors of the truth up to 100,000 elements.
void pfselftest_cmd(CommandContext& c) {
  std::mt19937_64 gen(c.now_ms);
  CompactString dense;
  dense.resize(kDenseSize);
  Registers want{};
  for (std::size_t i = 0; i < kRegisters; ++i) {
    want[i] = static_cast<std::uint8_t>(gen() % 64);
    dense_set(dense, i, want[i]);
  }
  for (std::size_t i = 0; i < kRegisters; ++i) {
    if (dense_get(dense, i) != want[i]) return c.out.error("ERR TESTFAILED Register error at " + std::to_string(i));
  }
  Registers regs{};
  const double relerr = 1.04 / std::sqrt(static_cast<double>(kRegisters));
  std::uint64_t checkpoint = 1;
  for (std::uint64_t n = 1; n <= 100000; ++n) {
    const auto [at, v] = position(std::to_string(gen()));
    regs[at] = std::max(regs[at], v);
    if (n != checkpoint) continue;
    checkpoint *= 10;
    CompactString sparse = empty_hll(), as_dense = empty_hll();
    store_registers(sparse, regs, SIZE_MAX);
    as_dense.resize(kDenseSize);
    as_dense[4] = static_cast<char>(kDense);
    store_registers(as_dense, regs, 0);
    Registers a, b;
    if (!registers_of(sparse, a) || !registers_of(as_dense, b) || a != regs || b != regs) {
      return c.out.error("ERR TESTFAILED sparse and dense registers differ at " + std::to_string(n));
    }
    const auto est = static_cast<double>(estimate(regs));
    if (std::abs(est - static_cast<double>(n)) > 5 * relerr * static_cast<double>(n) + 1) {
      return c.out.error("ERR TESTFAILED Too big error. card:" + std::to_string(n) +
                         " error:" + std::to_string(est - static_cast<double>(n)));
    }
  }
  c.out.simple_string("OK");
}

constexpr HandlerEntry kHllHandlers[] = {
    {"pfadd", pfadd_cmd},     {"pfcount", pfcount_cmd},       {"pfmerge", pfmerge_cmd},
    {"pfdebug", pfdebug_cmd}, {"pfselftest", pfselftest_cmd},
};

}  // namespace

std::span<const HandlerEntry> hll_handlers() { return kHllHandlers; }

}  // namespace lfdb::db
