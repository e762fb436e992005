// Where the dispatcher sent PINGs to Redis-protocol replicas (SYNC / PSYNC), so their offsets
// and the log's map onto each other.
//
// A Redis replica counts every byte of the stream, PINGs included (Redis's replication offset);
// lfdb's offsets are the log's, and PINGs are not in the log. So the dispatcher sends each PING
// at one log offset to every Redis-protocol replica (a replica behind gets it when its cursor
// reaches that offset), and keeps the offsets here: a replica standing at log offset L having
// sent pings [0, k) of this history is at Redis offset L + 14k, and a PSYNC's offset maps back
// to exactly one (L, k), or to none (it falls inside a PING, or outside what is kept).
//
// Only the newest kMax pings are kept (an idle primary pings every repl-ping-replica-period):
// offsets from before the oldest kept one get a full resync.
//
// Thread-safety: none; the dispatcher thread owns the live one and publishes immutable copies
// (ReplicationView) for the sessions' PSYNC pre-check.
#pragma once

#include <cstdint>
#include <deque>
#include <limits>
#include <string_view>

namespace lfdb::dispatch {

class PingLedger {
 public:
  static constexpr std::string_view kPing = "*1\r\n$4\r\nPING\r\n";
  static constexpr std::size_t kMax = 256;

  // The index the next ping gets (pings so far in this history).
  std::uint64_t end_index() const { return base_ + at_.size(); }
  // Log offset of ping `index` (it must be kept: base() <= index < end_index()).
  std::uint64_t position(std::uint64_t index) const { return at_[index - base_]; }
  std::uint64_t base() const { return base_; }

  // The index of the first ping a replica starting at log offset `log` is sent.
  std::uint64_t first_from(std::uint64_t log) const {
    std::uint64_t i = base_;
    for (std::uint64_t at : at_) {
      if (at >= log) break;
      ++i;
    }
    return i;
  }

  void add(std::uint64_t log) {
    at_.push_back(log);
    while (at_.size() > kMax) drop_front();
  }
  bool any_before(std::uint64_t log) const { return !at_.empty() && at_.front() < log; }
  // Pings before log offset `log` will never be sent again (the backlog let go of them).
  void drop_before(std::uint64_t log) {
    while (!at_.empty() && at_.front() < log) drop_front();
  }

  static std::uint64_t redis_offset(std::uint64_t log, std::uint64_t index) {
    return log + kPing.size() * index;
  }
  // The (log offset, next ping index) a Redis offset stands for, with the log offset in
  // [lo, hi]; false when there is none.
  bool to_log(std::uint64_t redis, std::uint64_t lo, std::uint64_t hi, std::uint64_t& log,
              std::uint64_t& index) const {
    for (std::uint64_t k = base_; k <= end_index(); ++k) {
      if (redis < kPing.size() * k) return false;
      const std::uint64_t l = redis - kPing.size() * k;
      const std::uint64_t before = k == base_ ? floor_ : position(k - 1);
      const std::uint64_t next =
          k == end_index() ? std::numeric_limits<std::uint64_t>::max() : position(k);
      if (l >= before && l <= next && l >= lo && l <= hi) {
        log = l;
        index = k;
        return true;
      }
    }
    return false;
  }

 private:
  void drop_front() {
    floor_ = at_.front();  // what came before it is no longer known
    at_.pop_front();
    ++base_;
  }

  std::uint64_t base_ = 0;   // index of at_.front()
  std::uint64_t floor_ = 0;  // the last dropped ping's offset: no resume before it
  std::deque<std::uint64_t> at_;
};

}  // namespace lfdb::dispatch
