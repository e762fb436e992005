// resp::detail number helpers: strict decimal parsing and fast decimal formatting, shared by the
// request parser, the reply parser and the writer. Internal to the codec (not part of its API).
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace resp::detail {

// Accepts exactly what Redis's string2ll accepts, so a length Redis would refuse is refused here
// too: an optional '-', then "0" or a digit 1-9 followed by digits; no '+', no leading zeros, no
// spaces, no "-0", and the value must fit in int64.
inline bool parse_int64(std::string_view s, std::int64_t& out) {
  const char* p = s.data();
  const char* const end = p + s.size();
  if (p == end || s.size() > 20) return false;  // 20 = strlen("-9223372036854775808")
  if (s.size() == 1 && *p == '0') {
    out = 0;
    return true;
  }
  const bool negative = *p == '-';
  if (negative && ++p == end) return false;
  if (*p < '1' || *p > '9') return false;
  std::uint64_t v = static_cast<std::uint64_t>(*p++ - '0');
  constexpr std::uint64_t kMaxDiv10 = UINT64_MAX / 10;
  for (; p != end; ++p) {
    if (*p < '0' || *p > '9') return false;
    const auto digit = static_cast<std::uint64_t>(*p - '0');
    if (v > kMaxDiv10 || v * 10 > UINT64_MAX - digit) return false;
    v = v * 10 + digit;
  }
  constexpr std::uint64_t kMaxPositive = static_cast<std::uint64_t>(INT64_MAX);
  if (negative) {
    if (v > kMaxPositive + 1) return false;
    // Two's complement negation in unsigned arithmetic avoids the signed overflow of -INT64_MIN.
    out = static_cast<std::int64_t>(~v + 1);
  } else {
    if (v > kMaxPositive) return false;
    out = static_cast<std::int64_t>(v);
  }
  return true;
}

inline int count_digits(std::uint64_t v) {
  int n = 1;
  for (;;) {
    if (v < 10) return n;
    if (v < 100) return n + 1;
    if (v < 1000) return n + 2;
    if (v < 10000) return n + 3;
    v /= 10000;
    n += 4;
  }
}

// Writes v's decimal digits at out (room for 20 bytes) and returns how many. Two digits per
// division: integers are in every reply header, so this is on the hot path of every reply.
inline std::size_t format_uint64(std::uint64_t v, char* out) {
  static constexpr char kPairs[] =
      "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
      "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
      "8081828384858687888990919293949596979899";
  const int n = count_digits(v);
  char* p = out + n;
  while (v >= 100) {
    const auto i = static_cast<std::size_t>(v % 100) * 2;
    v /= 100;
    *--p = kPairs[i + 1];
    *--p = kPairs[i];
  }
  if (v >= 10) {
    const auto i = static_cast<std::size_t>(v) * 2;
    *--p = kPairs[i + 1];
    *--p = kPairs[i];
  } else {
    *--p = static_cast<char>('0' + v);
  }
  return static_cast<std::size_t>(n);
}

// Room for 21 bytes.
inline std::size_t format_int64(std::int64_t v, char* out) {
  if (v >= 0) return format_uint64(static_cast<std::uint64_t>(v), out);
  *out = '-';
  return 1 + format_uint64(~static_cast<std::uint64_t>(v) + 1, out + 1);
}

}  // namespace resp::detail
