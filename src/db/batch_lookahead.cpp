#include "db/batch_lookahead.hpp"

#include <cstdint>

#include "commands/command_table.hpp"
#include "db/key_table.hpp"
#include "resp/request_parser.hpp"

namespace lfdb::db {
namespace {

// A longer argv[1] is left unguessed: hashing it twice would cost more than its miss.
constexpr std::size_t kMaxKeyBytes = 256;

}  // namespace

std::size_t BatchLookahead::scan(std::string_view in, const resp::RequestParser& parser) {
  n_ = 0;
  args_.clear();
  // A long command once scanned leaves no big buffer behind in an idle connection.
  if (args_.capacity() > 4 * kMaxArgs) std::vector<std::string_view>().swap(args_);
  std::size_t at = 0;
  while (n_ < kMax && args_.size() < kMaxArgs) {
    const std::size_t first = args_.size();
    const std::size_t bytes = parser.parse_plain(in.substr(at), args_);
    if (bytes == 0 || bytes > UINT32_MAX) {
      args_.resize(first);
      break;
    }
    const std::size_t argc = args_.size() - first;
    Guess g;
    if (argc >= 2 && args_[first + 1].size() <= kMaxKeyBytes) {
      const std::string_view key = args_[first + 1];
      if (commands::hash_tag(key).size() == key.size()) g = {key.data(), key.size(), db::hash_of(key)};
    }
    if (n_ == cmds_.size()) cmds_.emplace_back();
    cmds_[n_++] = {g, static_cast<std::uint32_t>(first), static_cast<std::uint32_t>(bytes)};
    at += bytes;
  }
  return n_;
}

}  // namespace lfdb::db
