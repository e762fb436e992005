// Sealed log segments and the backlog of recent ones the dispatcher keeps for resyncs.
//
// A Segment is the bytes [start, end) of the primary's logical append-only log: written (and,
// under appendfsync always, fsynced), ending on an invocation's boundary, so a replica that
// applies it never applies half a transaction. It is made once by the log's flusher and then
// only read: it travels as lf::Immutable<Segment>.
//
// The Backlog is the one copy of the recent stream every replica reads from: each replica is a
// cursor into it, never a copy of its own (Redis 7.0 shares its replication buffer the same
// way). It holds blocks, contiguous in the log: a segment of `block` bytes or more is kept as it
// came (shared with nobody else by then), smaller ones are copied together into blocks of
// `block` bytes, so a stream of one-command segments costs a few bytes of bookkeeping per 16 KB
// rather than an allocation and a control block per command (by jemalloc's size classes 96
// bytes on a 144-byte SET: its bytes in a 160-byte block, a 64-byte control block, a deque slot).
//
// What it keeps: the newest `capacity` bytes (repl-backlog-size; whole blocks, the newest
// always), which partial resyncs may resume from; and, older than that, whatever a connected
// replica has not been sent yet (trim(keep_from)). Those older blocks are the replicas' output
// buffers in Redis's terms: replica_bytes() is their allocated size (INFO's mem_clients_slaves,
// left out of eviction as mem_not_counted_for_evict), and a replica's own share is end() less
// its cursor (client-output-buffer-limit replica, CLIENT LIST's omem).
//
// Thread-safety: none; a Backlog belongs to the dispatcher thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
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
// What a segment made by make_immutable takes from the allocator (its bytes, its control block).
std::size_t segment_footprint(const Segment& s);

enum class ResyncKind { kPartial, kFull };

class Backlog {
 public:
  // Redis's block size for its replication buffer; the smallest repl-backlog-size is one block.
  static constexpr std::size_t kBlockBytes = 16 * 1024;

  // `base`: the log offset where shipping starts (the log's size when the server started).
  // `block`: segments smaller than this are copied together into blocks of this size (1: every
  // segment is its own block, as the unit tests of the window want).
  Backlog(std::size_t capacity, std::uint64_t base, std::size_t block = kBlockBytes)
      : capacity_(capacity), block_(block), start_(base), end_(base) {}

  // Appends the next segment. It must start where the previous one ended (a gap or an overlap
  // means a lost or doubled write: refused). Drops the blocks past the window that nothing
  // needs (what the last trim() was told is needed still holds).
  lf::Status append(const SegmentRef& s);
  // Blocks older than the window are kept only while they hold bytes from `keep_from` on (the
  // oldest cursor of a connected replica; UINT64_MAX: none): drops the others.
  void trim(std::uint64_t keep_from);
  // Makes sure the next small segment has room in a block already allocated: a replica that
  // just synced has the block its first writes go to in used_memory already, as Redis counts
  // its replication buffer from the sync on, rather than a 16 KB step at the first write after
  // it (which the maxmemory a test or an operator set from the figure right after the sync
  // would then pay for in evictions). No-op while the newest block has room.
  void reserve_tail();

  std::uint64_t start() const { return start_; }  // oldest offset still held
  std::uint64_t end() const { return end_; }      // the sealed end of the log
  std::size_t bytes() const { return end_ - start_; }
  std::size_t capacity() const { return capacity_; }
  void set_capacity(std::size_t bytes);  // a smaller window lets go of blocks at the next trim
  std::size_t segments() const { return blocks_.size(); }  // blocks held
  bool holds(std::uint64_t offset) const { return offset >= start_ && offset <= end_; }
  // The allocated bytes of the blocks held only for replicas (older than the window).
  std::size_t replica_bytes() const { return excess_; }
  // The allocated bytes of every block held.
  std::size_t footprint() const { return footprint_; }

  // The contiguous bytes from `offset` to the end of the block holding it; empty when offset
  // is end() or not held.
  std::string_view piece(std::uint64_t offset) const;

  ResyncKind decide(std::string_view our_replid, std::string_view their_replid,
                    std::uint64_t offset) const {
    return their_replid == our_replid && holds(offset) ? ResyncKind::kPartial : ResyncKind::kFull;
  }

 private:
  struct Block {
    std::uint64_t start = 0;
    std::optional<SegmentRef> shared;  // a large segment as it came
    std::string own;                   // else small segments copied together
    std::size_t footprint = 0;         // what its bytes take from the allocator
    std::string_view bytes() const { return shared ? std::string_view((*shared)->bytes) : own; }
    std::uint64_t end() const { return start + bytes().size(); }
  };
  void make_room(std::uint64_t new_end);  // before a new block: drops what it would push out
  void push(Block b);
  void pop_front();
  void advance_window();  // moves window_ on to the first block the capacity alone keeps

  std::size_t capacity_;
  std::size_t block_;
  std::uint64_t start_;
  std::uint64_t end_;
  std::deque<Block> blocks_;
  std::size_t window_ = 0;      // blocks_[window_...] are inside the capacity
  std::size_t footprint_ = 0;   // of every block
  std::size_t excess_ = 0;      // of blocks_[0, window_)
  std::uint64_t keep_from_ = UINT64_MAX;  // the last trim()'s
};

}  // namespace lfdb::dispatch
