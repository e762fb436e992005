#include "lf/detail/leader_role.hpp"

#include <algorithm>

namespace lf {

const char* to_string(Promotion p) {
  switch (p) {
    case Promotion::kFifo: return "fifo";
    case Promotion::kLifo: return "lifo";
    case Promotion::kPriority: return "priority";
  }
  return "?";
}

bool parse_promotion(const std::string& s, Promotion& out) {
  if (s == "fifo") out = Promotion::kFifo;
  else if (s == "lifo") out = Promotion::kLifo;
  else if (s == "priority") out = Promotion::kPriority;
  else return false;
  return true;
}

namespace detail {

Follower* LeaderRole::promote_new_leader() {
  leader_ = nullptr;
  if (followers_.empty()) return nullptr;
  auto it = followers_.begin();  // kFifo
  switch (promotion_) {
    case Promotion::kFifo:
      break;
    case Promotion::kLifo:
      it = followers_.end() - 1;
      break;
    case Promotion::kPriority:
      // max_element keeps the first of equals: FIFO among the same priority.
      it = std::max_element(followers_.begin(), followers_.end(),
                            [](const Follower* a, const Follower* b) { return a->priority < b->priority; });
      break;
  }
  Follower* next = *it;
  followers_.erase(it);
  leader_ = next;
  next->promoted = true;
  next->cv.notify_one();
  return next;
}

void LeaderRole::remove_follower(Follower& f) {
  auto it = std::find(followers_.begin(), followers_.end(), &f);
  if (it != followers_.end()) followers_.erase(it);
}

}  // namespace detail
}  // namespace lf
