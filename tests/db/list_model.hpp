// The plain model the list tests check lfdb's lists against: a deque of the elements, and
// LREM's meaning on it (the packed-node tests and the compression tests share it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>

namespace lfdb::db::list_model {

using ListModel = std::deque<std::string>;

// LREM on the model: up to `limit` (0: all) elements equal to `e`, from the head, or from the
// tail when `tail`; returns how many went.
inline std::size_t model_remove(ListModel& m, const std::string& e, std::uint64_t limit, bool tail) {
  std::size_t removed = 0;
  if (!tail) {
    for (auto it = m.begin(); it != m.end() && (limit == 0 || removed < limit);) {
      if (*it == e) {
        it = m.erase(it);
        ++removed;
      } else {
        ++it;
      }
    }
    return removed;
  }
  for (std::size_t i = m.size(); i-- > 0 && (limit == 0 || removed < limit);) {
    if (m[i] == e) {
      m.erase(m.begin() + static_cast<std::ptrdiff_t>(i));
      ++removed;
    }
  }
  return removed;
}

}  // namespace lfdb::db::list_model
