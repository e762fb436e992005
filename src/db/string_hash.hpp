// The keyspace's string hash (xxh3), transparent so maps keyed by std::string can be searched
// with a std::string_view without building a string.
#pragma once

#include <xxhash.h>

#include <cstddef>
#include <string_view>

namespace lfdb::db {

struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    return static_cast<std::size_t>(XXH3_64bits(s.data(), s.size()));
  }
};

}  // namespace lfdb::db
