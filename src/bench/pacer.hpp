// bench::OpenLoopPacer: the timetable of an open-loop run. Operation k of a thread is due at
// start + k / rate, whatever happened to the operations before it; a run that falls behind
// (a stalled server, all connections busy) does not slide its timetable, it starts the overdue
// operations as soon as a connection is free, and each one's latency is measured from its due
// time. That is what keeps a stall visible as latency instead of as fewer requests (no
// coordinated omission).
//
// It is a counter and two times, with no clock of its own: every call takes `now`, so tests
// drive it with a fake clock and the engine with lf::Clock.
// Thread-safety: none; one per worker thread.
#pragma once

#include <cstdint>
#include <limits>

#include "lf/time.hpp"

namespace bench {

class OpenLoopPacer {
 public:
  // `rate` operations per second (> 0) from `start`; at most `limit` operations in all.
  OpenLoopPacer(lf::TimePoint start, double rate,
                std::uint64_t limit = std::numeric_limits<std::uint64_t>::max())
      : start_(start), interval_ns_(1e9 / rate), limit_(limit) {}

  // No operation due at or after `end` is ever released (the end of the measured window).
  void stop_at(lf::TimePoint end) { end_ = end; }

  // The due time of operation k.
  lf::TimePoint due_time(std::uint64_t k) const {
    return start_ + std::chrono::nanoseconds(
                        static_cast<std::int64_t>(static_cast<double>(k) * interval_ns_));
  }
  // The due time of the next operation not yet released; TimePoint::max() when none is left.
  lf::TimePoint next_due() const {
    if (exhausted()) return lf::TimePoint::max();
    return due_time(next_);
  }
  bool exhausted() const { return next_ >= limit_ || due_time(next_) >= end_; }

  // Releases the next operation if it is due by `now`: returns true with its due time in
  // `intended`. Called while a connection is free; overdue operations come out one per call,
  // oldest first, each with its own due time (the wait since then is charged to it).
  bool release(lf::TimePoint now, lf::TimePoint& intended) {
    if (exhausted()) return false;
    lf::TimePoint due = due_time(next_);
    if (due > now) return false;
    intended = due;
    ++next_;
    return true;
  }

  // Operations due by `now` and not yet released: how far behind the run is.
  std::uint64_t backlog(lf::TimePoint now) const {
    if (exhausted() || now < start_) return 0;
    auto elapsed = static_cast<double>((now - start_).count());
    auto due = static_cast<std::uint64_t>(elapsed / interval_ns_) + 1;  // ops 0..due-1 are due
    if (due > limit_) due = limit_;
    if (end_ != lf::TimePoint::max() && end_ > start_) {
      auto before_end =
          static_cast<std::uint64_t>(static_cast<double>((end_ - start_).count() - 1) / interval_ns_) + 1;
      if (due > before_end) due = before_end;
    }
    return due > next_ ? due - next_ : 0;
  }
  std::uint64_t released() const { return next_; }

 private:
  lf::TimePoint start_;
  double interval_ns_;
  std::uint64_t limit_;
  lf::TimePoint end_ = lf::TimePoint::max();
  std::uint64_t next_ = 0;
};

// Latency of an operation: from when it was due (open loop) or sent (closed loop) to the reply
// that completed it. Never negative, so a clock step cannot wrap the histogram.
inline std::uint64_t charged_latency_ns(lf::TimePoint intended, lf::TimePoint done) {
  return done > intended ? static_cast<std::uint64_t>((done - intended).count()) : 0;
}

}  // namespace bench
