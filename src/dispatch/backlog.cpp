#include "dispatch/backlog.hpp"

#include <malloc.h>

#include <algorithm>

namespace lfdb::dispatch {

namespace {

// What a string's bytes take from the allocator: its heap block, none while it is inline.
std::size_t heap_size(const std::string& s) {
  return s.capacity() > std::string().capacity() ? ::malloc_usable_size(const_cast<char*>(s.data())) : 0;
}

// A shared segment's own allocation (make_shared: the control block and the Segment together),
// rounded as the allocator's small size classes round it.
constexpr std::size_t kSharedSegmentBytes = (sizeof(Segment) + 16 + 15) / 16 * 16;

}  // namespace

std::size_t segment_footprint(const Segment& s) { return heap_size(s.bytes) + kSharedSegmentBytes; }

lf::Status Backlog::append(const SegmentRef& s) {
  if (s->start != end_) {
    return lf::Status::error("segment [" + std::to_string(s->start) + ", " +
                             std::to_string(s->end()) + ") does not follow the backlog's end " +
                             std::to_string(end_));
  }
  if (s->bytes.empty()) return lf::Status();
  const std::size_t n = s->bytes.size();
  const bool new_block = n >= block_ || blocks_.empty() || blocks_.back().shared ||
                         blocks_.back().own.size() + n > blocks_.back().own.capacity();
  if (new_block) make_room(s->end());
  if (n >= block_) {
    Block b;
    b.start = s->start;
    b.shared = s;
    b.footprint = heap_size(s->bytes) + kSharedSegmentBytes + sizeof(Block);
    push(std::move(b));
  } else {
    if (blocks_.empty() || blocks_.back().shared ||
        blocks_.back().own.size() + n > blocks_.back().own.capacity()) {
      Block b;
      b.start = s->start;
      b.own.reserve(block_ - 1);  // with its terminator, one allocation of exactly `block_`
      b.footprint = heap_size(b.own) + sizeof(Block);
      push(std::move(b));
    }
    blocks_.back().own.append(s->bytes);
  }
  end_ = s->end();
  advance_window();
  trim(keep_from_);
  return lf::Status();
}

void Backlog::reserve_tail() {
  if (block_ <= 1) return;  // every segment is its own block
  if (!blocks_.empty() && !blocks_.back().shared && blocks_.back().own.size() < blocks_.back().own.capacity()) {
    return;
  }
  make_room(end_ + 1);
  Block b;
  b.start = end_;
  b.own.reserve(block_ - 1);  // with its terminator, one allocation of exactly `block_`
  b.footprint = heap_size(b.own) + sizeof(Block);
  push(std::move(b));
  advance_window();
}

void Backlog::make_room(std::uint64_t new_end) {
  // What the new block will push out of the window and nobody needs goes before it is
  // allocated, not after: the allocator then hands the same memory back for it, and used_memory
  // never holds both (a 16 KB step up and down on every block a caught-up replica passes).
  while (!blocks_.empty() && new_end - blocks_.front().start > capacity_ &&
         blocks_.front().end() <= keep_from_) {
    pop_front();
  }
  start_ = blocks_.empty() ? end_ : blocks_.front().start;
}

void Backlog::push(Block b) {
  footprint_ += b.footprint;
  blocks_.push_back(std::move(b));
}

void Backlog::pop_front() {
  const std::size_t f = blocks_.front().footprint;
  footprint_ -= f;
  if (window_ > 0) {
    excess_ -= f;
    --window_;
  }
  blocks_.pop_front();
}

void Backlog::advance_window() {
  // At most capacity_ bytes, but the newest block stays whatever its size: a replica at its
  // start can still resume.
  while (window_ + 1 < blocks_.size() && end_ - blocks_[window_].start > capacity_) {
    excess_ += blocks_[window_].footprint;
    ++window_;
  }
}

void Backlog::set_capacity(std::size_t bytes) {
  capacity_ = bytes;
  window_ = 0;
  excess_ = 0;
  advance_window();
}

void Backlog::trim(std::uint64_t keep_from) {
  keep_from_ = keep_from;
  while (window_ > 0 && blocks_.front().end() <= keep_from) pop_front();
  start_ = blocks_.empty() ? end_ : blocks_.front().start;
}

std::string_view Backlog::piece(std::uint64_t offset) const {
  if (offset < start_ || offset >= end_) return {};
  // The last block whose start is <= offset.
  auto it = std::upper_bound(blocks_.begin(), blocks_.end(), offset,
                             [](std::uint64_t off, const Block& b) { return off < b.start; });
  const Block& b = *(it - 1);
  return b.bytes().substr(offset - b.start);
}

}  // namespace lfdb::dispatch
