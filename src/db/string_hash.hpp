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

// Hash and equality for a table of T that hashes and compares each element by the bytes its
// member Key returns (a hash's field, a set's member), so a lookup takes a std::string_view.
template <typename T, std::string_view (T::*Key)() const>
struct ByKeyBytes {
  using is_transparent = void;
  static std::string_view of(const T& e) { return (e.*Key)(); }
  static std::string_view of(std::string_view s) { return s; }
  template <typename A>
  std::size_t operator()(const A& a) const noexcept { return StringHash{}(of(a)); }
  template <typename A, typename B>
  bool operator()(const A& a, const B& b) const noexcept { return of(a) == of(b); }
};

}  // namespace lfdb::db
