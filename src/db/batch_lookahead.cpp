#include "db/batch_lookahead.hpp"

#include "commands/command_table.hpp"
#include "db/key_table.hpp"

namespace lfdb::db {
namespace {

// `<type><count>\r\n` at p: the pointer past it, or nullptr for anything else (no digits, more
// than 9, a sign, not all there yet: the real parser decides about those).
inline const char* read_count(const char* p, const char* end, char type, std::size_t& count) {
  if (end - p < 4 || *p != type) return nullptr;  // the shortest is `$0\r\n`
  const char* digits = ++p;
  std::size_t v = 0;
  while (p < end && static_cast<unsigned>(*p - '0') < 10) v = v * 10 + static_cast<std::size_t>(*p++ - '0');
  if (p == digits || p - digits > 9 || end - p < 2 || p[0] != '\r' || p[1] != '\n') return nullptr;
  count = v;
  return p + 2;
}

// A longer argv[1] is left unguessed: hashing it twice would cost more than its miss.
constexpr std::size_t kMaxKeyBytes = 256;

}  // namespace

std::size_t BatchLookahead::scan(std::string_view in) {
  n_ = 0;
  const char* p = in.data();
  const char* const end = p + in.size();
  while (n_ < kMax) {
    std::size_t argc = 0;
    p = read_count(p, end, '*', argc);
    if (p == nullptr || argc == 0) break;
    Guess g;
    for (std::size_t a = 0; a < argc && p != nullptr; ++a) {
      std::size_t len = 0;
      p = read_count(p, end, '$', len);
      if (p == nullptr || static_cast<std::size_t>(end - p) < len + 2) {
        p = nullptr;
        break;
      }
      if (a == 1 && len <= kMaxKeyBytes) {
        const std::string_view key(p, len);
        if (commands::hash_tag(key).size() == len) g = {p, len, db::hash_of(key)};
      }
      p += len + 2;
    }
    if (p == nullptr) break;
    guesses_[n_++] = g;
  }
  return n_;
}

}  // namespace lfdb::db
