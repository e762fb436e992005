// Number parsing/formatting and glob matching with Redis's exact rules, shared by handlers; and
// CommandContext's key lookup.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>

#include "db/client.hpp"
#include "db/command_context.hpp"
#include "db/stats.hpp"
#include "resp/numbers.hpp"

namespace lfdb::db {

Entry* CommandContext::find(std::string_view key, Access access) {
  const KeyRef k = ref(key);
  const bool touch = access == Access::kTouch ||
                     (access == Access::kUse && (client == nullptr || !client->no_touch));
  if (writes) return ks.of(k).find(k, now_ms, touch);
  // A reader looks through the const keyspace: in a database never used that is one empty
  // partition, and its 1,024 partitions (262 KB) are not made for a miss (Keyspace::used).
  const Entry* e = std::as_const(ks).of(k).peek(k, now_ms, touch);
  (e != nullptr ? keyspace_lookups().hits : keyspace_lookups().misses).add();
  if (e == nullptr) pubsub::event(pubsub::kEvKeyMiss, "keymiss", key);
  return const_cast<Entry*>(e);
}

bool parse_int(std::string_view s, std::int64_t& out) { return resp::detail::parse_int64(s, out); }

bool parse_long_double(std::string_view s, long double& out) {
  // string2ld: at most 5k chars, no leading space, the whole string consumed, no NaN.
  if (s.empty() || s.size() >= 5120) return false;
  if (std::isspace(static_cast<unsigned char>(s[0]))) return false;
  std::string buf(s);
  char* end = nullptr;
  errno = 0;
  long double v = std::strtold(buf.c_str(), &end);
  if (end != buf.c_str() + buf.size() || std::isnan(v)) return false;
  if (errno == ERANGE && (v == HUGE_VALL || v == -HUGE_VALL || v == 0)) return false;
  out = v;
  return true;
}

std::string format_long_double(long double v) {
  // ld2string(LD_STR_HUMAN): fixed notation with 17 digits, trailing zeros (and dot) removed.
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[5600];
  int n = std::snprintf(buf, sizeof buf, "%.17Lf", v);
  if (n <= 0 || static_cast<std::size_t>(n) >= sizeof buf) return "0";
  std::string s(buf, static_cast<std::size_t>(n));
  if (s.find('.') != std::string::npos) {
    while (!s.empty() && s.back() == '0') s.pop_back();
    if (!s.empty() && s.back() == '.') s.pop_back();
  }
  if (s == "-0") s = "0";
  return s;
}

std::string format_int(std::int64_t v) { return std::to_string(v); }

namespace {
char fold(char c, bool nocase) {
  return nocase ? static_cast<char>(std::tolower(static_cast<unsigned char>(c))) : c;
}

// Whether the one-character token at p (`?`, a class `[...]`, an escape `\x` or a literal)
// takes c; `next` is set past the token either way.
bool token_takes(const char* p, const char* pend, char c, bool nocase, const char*& next) {
  switch (*p) {
    case '?':
      next = p + 1;
      return true;
    case '[': {
      ++p;
      const bool negate = p < pend && *p == '^';
      if (negate) ++p;
      bool hit = false;
      while (p < pend && *p != ']') {
        if (*p == '\\' && p + 1 < pend) {
          ++p;
          if (fold(*p, nocase) == fold(c, nocase)) hit = true;
        } else if (p + 2 < pend && p[1] == '-' && p[2] != ']') {
          char lo = fold(p[0], nocase), hi = fold(p[2], nocase);
          if (lo > hi) std::swap(lo, hi);
          const char f = fold(c, nocase);
          if (f >= lo && f <= hi) hit = true;
          p += 2;
        } else if (fold(*p, nocase) == fold(c, nocase)) {
          hit = true;
        }
        ++p;
      }
      next = p < pend ? p + 1 : pend;  // an unterminated class ends with the pattern, as in Redis
      return negate ? !hit : hit;
    }
    case '\\':
      if (p + 1 < pend) ++p;
      [[fallthrough]];
    default:
      next = p + 1;
      return fold(*p, nocase) == fold(c, nocase);
  }
}

// Every token but `*` takes exactly one character, so on a mismatch only the last `*` needs to
// take one character more: one backtracking point, O(pattern x text) in the worst case. (Trying
// every split at every `*` is exponential: `KEYS *a*a*a...*b` over a long key would hold its
// thread for good.)
//
// Redis matches by recursion at each `*` and refuses a match deeper than 1000 of them (its guard
// against abusive patterns): a pattern with more than 1000 runs of `*` followed by something
// never matches there. The same answer here, so KEYS, SCAN MATCH and PSUBSCRIBE agree with it.
constexpr int kMaxStars = 1000;

bool match(const char* p, const char* pend, const char* s, const char* send, bool nocase) {
  const char* star_p = nullptr;  // the pattern just after the last `*` met
  const char* star_s = nullptr;  // where that `*`'s share of the text ends now
  int stars = 0;                 // runs of `*` met, a trailing one aside
  while (p < pend || s < send) {
    if (p < pend && *p == '*') {
      while (p < pend && *p == '*') ++p;
      if (p == pend) return true;
      if (++stars > kMaxStars) return false;
      star_p = p;
      star_s = s;
      continue;
    }
    const char* next = nullptr;
    if (p < pend && s < send && token_takes(p, pend, *s, nocase, next)) {
      p = next;
      ++s;
      continue;
    }
    if (star_p == nullptr || star_s == send) return false;
    p = star_p;
    s = ++star_s;
  }
  return true;
}
}  // namespace

std::mt19937_64& random_engine() {
  thread_local std::mt19937_64 gen{std::random_device{}()};
  return gen;
}

bool parse_random_count(CommandContext& c, std::string_view option, std::int64_t& count, bool& with) {
  if (!parse_int(c.arg(2), count)) return c.out.error(kErrNotInteger), false;
  if (count == INT64_MIN) {
    c.out.error("ERR value is out of range, value must between -9223372036854775807 and "
                "9223372036854775807");
    return false;
  }
  if (c.argc() > 4 || (c.argc() == 4 && !iequal(c.arg(3), option))) return c.out.error(kErrSyntax), false;
  with = c.argc() == 4;
  // The reply holds two entries per pick: the count must not overflow when doubled.
  if (with && (count < -INT64_MAX / 2 || count > INT64_MAX / 2)) {
    c.out.error("ERR value is out of range");
    return false;
  }
  return true;
}

bool glob_match(std::string_view pattern, std::string_view text, bool nocase) {
  return match(pattern.data(), pattern.data() + pattern.size(), text.data(),
               text.data() + text.size(), nocase);
}

bool parse_expire(std::string_view value, bool ms, bool absolute, std::int64_t now,
                  std::string_view cmd, resp::Writer& out, std::int64_t& at_ms) {
  std::int64_t v = 0;
  if (!parse_int(value, v)) {
    out.error(kErrNotInteger);
    return false;
  }
  auto invalid = [&] {
    out.error("ERR invalid expire time in '" + std::string(cmd) + "' command");
    return false;
  };
  if (!ms) {
    if (v > INT64_MAX / 1000 || v < INT64_MIN / 1000) return invalid();
    v *= 1000;
  }
  if (!absolute) {
    if ((v > 0 && now > INT64_MAX - v) || (v < 0 && now < INT64_MIN - v)) return invalid();
    v += now;
  }
  at_ms = v;
  return true;
}

}  // namespace lfdb::db
