#include "dispatch/backlog.hpp"

#include <algorithm>

namespace lfdb::dispatch {

lf::Status Backlog::append(const SegmentRef& s) {
  if (s->start != end_) {
    return lf::Status::error("segment [" + std::to_string(s->start) + ", " +
                             std::to_string(s->end()) + ") does not follow the backlog's end " +
                             std::to_string(end_));
  }
  if (s->bytes.empty()) return lf::Status();
  segments_.push_back(s);
  end_ = s->end();
  // At most capacity_ bytes, but the newest segment stays whatever its size: a replica at its
  // start can still resume.
  while (segments_.size() > 1 && end_ - segments_.front()->start > capacity_) {
    segments_.pop_front();
  }
  start_ = segments_.front()->start;
  return lf::Status();
}

std::string_view Backlog::piece(std::uint64_t offset) const {
  if (offset < start_ || offset >= end_) return {};
  // The last segment whose start is <= offset.
  auto it = std::upper_bound(segments_.begin(), segments_.end(), offset,
                             [](std::uint64_t off, const SegmentRef& s) { return off < s->start; });
  const Segment& seg = **(it - 1);
  return std::string_view(seg.bytes).substr(offset - seg.start);
}

}  // namespace lfdb::dispatch
