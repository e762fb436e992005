#include "db/batch_lookahead.hpp"

#include "commands/command_table.hpp"
#include "db/key_table.hpp"

namespace lfdb::db {
namespace {

// A decimal count after its type byte, ending in CRLF; false when anything else is there (a
// sign, no digits, more than 9 digits: the real parser decides about those).
bool read_count(std::string_view in, std::size_t& at, char type, std::size_t& count) {
  if (at >= in.size() || in[at] != type) return false;
  std::size_t i = at + 1, v = 0, digits = 0;
  while (i < in.size() && in[i] >= '0' && in[i] <= '9') {
    if (++digits > 9) return false;
    v = v * 10 + static_cast<std::size_t>(in[i] - '0');
    ++i;
  }
  if (digits == 0 || i + 1 >= in.size() || in[i] != '\r' || in[i + 1] != '\n') return false;
  at = i + 2;
  count = v;
  return true;
}

// A longer argv[1] is left unguessed: hashing it twice would cost more than its miss.
constexpr std::size_t kMaxKeyBytes = 256;

}  // namespace

std::size_t BatchLookahead::scan(std::string_view in) {
  n_ = 0;
  std::size_t at = 0;
  while (n_ < kMax) {
    std::size_t argc = 0;
    if (!read_count(in, at, '*', argc) || argc == 0) break;
    Guess g;
    bool complete = true;
    for (std::size_t a = 0; a < argc; ++a) {
      std::size_t len = 0;
      if (!read_count(in, at, '$', len) || in.size() - at < len + 2) {
        complete = false;
        break;
      }
      if (a == 1 && len <= kMaxKeyBytes) {
        const std::string_view key = in.substr(at, len);
        if (commands::hash_tag(key).size() == key.size()) {
          g.data = key.data();
          g.size = key.size();
          g.hash = db::hash_of(key);
        }
      }
      at += len + 2;
    }
    if (!complete) break;
    guesses_[n_++] = g;
  }
  return n_;
}

}  // namespace lfdb::db
