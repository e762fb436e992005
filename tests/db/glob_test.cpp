// glob_match (src/db/util.cpp): the rules KEYS, SCAN MATCH and CONFIG GET share, checked case by
// case, against a reference that tries every split at every `*` (exponential, so only over short
// inputs), and over the patterns that made that reference take forever.
#include <gtest/gtest.h>

#include <random>
#include <string>

#include "db/command_context.hpp"

namespace {

using lfdb::db::glob_match;

char fold(char c, bool nocase) {
  return nocase ? static_cast<char>(std::tolower(static_cast<unsigned char>(c))) : c;
}

// The obvious recursive matcher: every way to split the text at every `*`.
bool reference(const char* p, const char* pe, const char* s, const char* se, bool nocase) {
  while (p < pe) {
    if (*p == '*') {
      for (const char* t = s; t <= se; ++t) {
        if (reference(p + 1, pe, t, se, nocase)) return true;
      }
      return false;
    }
    if (s == se) return false;
    if (*p == '?') {
      ++p, ++s;
      continue;
    }
    if (*p == '[') {
      ++p;
      const bool neg = p < pe && *p == '^';
      if (neg) ++p;
      bool hit = false;
      while (p < pe && *p != ']') {
        if (*p == '\\' && p + 1 < pe) {
          ++p;
          hit |= fold(*p, nocase) == fold(*s, nocase);
        } else if (p + 2 < pe && p[1] == '-' && p[2] != ']') {
          char lo = fold(p[0], nocase), hi = fold(p[2], nocase);
          if (lo > hi) std::swap(lo, hi);
          hit |= fold(*s, nocase) >= lo && fold(*s, nocase) <= hi;
          p += 2;
        } else {
          hit |= fold(*p, nocase) == fold(*s, nocase);
        }
        ++p;
      }
      if (neg) hit = !hit;
      if (!hit) return false;
      p = p < pe ? p + 1 : pe;
      ++s;
      continue;
    }
    if (*p == '\\' && p + 1 < pe) ++p;
    if (fold(*p, nocase) != fold(*s, nocase)) return false;
    ++p, ++s;
  }
  return s == se;
}

bool ref(const std::string& p, const std::string& s, bool nocase = false) {
  return reference(p.data(), p.data() + p.size(), s.data(), s.data() + s.size(), nocase);
}

TEST(Glob, RedisRules) {
  EXPECT_TRUE(glob_match("h?llo", "hello"));
  EXPECT_TRUE(glob_match("h*llo", "heeeello"));
  EXPECT_TRUE(glob_match("h*llo", "hllo"));
  EXPECT_TRUE(glob_match("h[ae]llo", "hallo"));
  EXPECT_FALSE(glob_match("h[ae]llo", "hillo"));
  EXPECT_TRUE(glob_match("h[^e]llo", "hallo"));
  EXPECT_FALSE(glob_match("h[^e]llo", "hello"));
  EXPECT_TRUE(glob_match("h[a-b]llo", "hbllo"));
  EXPECT_TRUE(glob_match("h[b-a]llo", "hallo"));  // a reversed range still holds
  EXPECT_TRUE(glob_match("h\\*llo", "h*llo"));
  EXPECT_FALSE(glob_match("h\\*llo", "hello"));
  EXPECT_TRUE(glob_match("a[bc", "ab"));  // an unterminated class ends with the pattern
  EXPECT_TRUE(glob_match("*", ""));
  EXPECT_FALSE(glob_match("?", ""));
  EXPECT_TRUE(glob_match("HELLO*", "hello world", true));
  EXPECT_FALSE(glob_match("HELLO*", "hello world", false));
  EXPECT_TRUE(glob_match("*a*b*c", "xaybzc"));
  EXPECT_FALSE(glob_match("*a*b*c", "xaybzcx"));
  EXPECT_TRUE(glob_match("a\\", "a\\"));  // a trailing backslash is itself
}

TEST(Glob, AgreesWithTheReference) {
  std::mt19937 rng(7);
  const std::string pat_alphabet = "ab*?[]^-\\c";
  const std::string text_alphabet = "abc-\\]";
  for (int i = 0; i < 200000; ++i) {
    std::string p, s;
    const int plen = static_cast<int>(rng() % 8), slen = static_cast<int>(rng() % 8);
    for (int j = 0; j < plen; ++j) p += pat_alphabet[rng() % pat_alphabet.size()];
    for (int j = 0; j < slen; ++j) s += text_alphabet[rng() % text_alphabet.size()];
    const bool nocase = (rng() & 1) != 0;
    ASSERT_EQ(glob_match(p, s, nocase), ref(p, s, nocase)) << "pattern '" << p << "' text '" << s << "'";
  }
}

// `*a` thirty times then `b`, over sixty `a`s: every split at every star is ~10^17 tries; the
// one-backtrack matcher answers in a few thousand steps. Failing means the test never returns
// (ctest's timeout), which is how the server's thread hung on KEYS before.
TEST(Glob, ManyStarsStayLinearInPractice) {
  std::string p;
  for (int i = 0; i < 30; ++i) p += "*a";
  p += "b";
  const std::string text(60, 'a');
  EXPECT_FALSE(glob_match(p, text));
  EXPECT_TRUE(glob_match(p, text + "b"));
  std::string big(1 << 20, 'a');
  EXPECT_FALSE(glob_match(p, big));
}

}  // namespace
