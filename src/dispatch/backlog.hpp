// Sealed log segments and the backlog of recent ones the dispatcher keeps for resyncs.
//
// A Segment is the bytes [start, end) of the primary's logical append-only log: written (and,
// under appendfsync always, fsynced), ending on an invocation's boundary, so a replica that
// applies it never applies half a transaction. It is made once by the log's flusher and then
// only read: it travels as lf::Immutable<Segment>, shared by the backlog and by every replica
// it is being sent to, never copied again.
//
// The Backlog holds the most recent segments, at most `capacity` bytes (the newest segment is
// kept whatever its size), contiguous in the log. It decides how a replica that asks to resume
// at (replid, offset) is served: partially (stream from offset) when the replid is ours and the
// offset still lies in the backlog, else by a full resync.
//
// Thread-safety: none; a Backlog belongs to the dispatcher thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>

#include "lf/immutable.hpp"
#include "lf/status.hpp"

namespace lfdb::dispatch {

struct Segment {
  std::uint64_t start = 0;
  std::string bytes;
  std::uint64_t end() const { return start + bytes.size(); }
};
using SegmentRef = lf::Immutable<Segment>;

enum class ResyncKind { kPartial, kFull };

class Backlog {
 public:
  // `base`: the log offset where shipping starts (the log's size when the server started).
  Backlog(std::size_t capacity, std::uint64_t base) : capacity_(capacity), start_(base), end_(base) {}

  // Appends the next segment. It must start where the previous one ended (a gap or an overlap
  // means a lost or doubled write: refused).
  lf::Status append(const SegmentRef& s);

  std::uint64_t start() const { return start_; }  // oldest offset still held
  std::uint64_t end() const { return end_; }      // the sealed end of the log
  std::size_t bytes() const { return end_ - start_; }
  std::size_t capacity() const { return capacity_; }
  void set_capacity(std::size_t bytes) { capacity_ = bytes; }  // takes hold at the next append
  std::size_t segments() const { return segments_.size(); }
  bool holds(std::uint64_t offset) const { return offset >= start_ && offset <= end_; }

  // The contiguous bytes from `offset` to the end of the segment holding it; empty when offset
  // is end() or not held.
  std::string_view piece(std::uint64_t offset) const;

  ResyncKind decide(std::string_view our_replid, std::string_view their_replid,
                    std::uint64_t offset) const {
    return their_replid == our_replid && holds(offset) ? ResyncKind::kPartial : ResyncKind::kFull;
  }

 private:
  std::size_t capacity_;
  std::uint64_t start_;
  std::uint64_t end_;
  std::deque<SegmentRef> segments_;
};

}  // namespace lfdb::dispatch
