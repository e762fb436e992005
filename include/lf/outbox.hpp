// lf::Outbox: post to a connection from any thread. A connection's outbox is a queue of frames
// (immutable buffers, lf::Immutable<std::string>, shared by every recipient of the same
// message) that any thread may post to; posting wakes the handle set that serves the
// connection (SessionHost::wake), and the serving thread drains the frames into its output, in
// post order, at a point of its own choosing — so they go out in order with the connection's
// own replies and no other thread ever writes to its socket.
//
// lfdb-server's subscribers receive published messages this way; anything that must reach a
// connection from elsewhere (a blocked client's wake-up, an invalidation) can use the same.
//
// Limits, as Redis's client-output-buffer-limit: a post that takes the queued bytes past
// `hard_bytes`, or finds them above `soft_bytes` for `soft_for` on end, overflows the outbox:
// its frames are freed at once, later posts are dropped, and the connection is asked to close
// (SessionHost::request_close). Queued frames are only what the serving thread has not drained:
// it drains while the socket takes its output, so a slow reader's backlog stays here, visible
// to the posters.
//
// A meter (OutboxMeter, optional, given to open()) sees every change of the queued bytes, so an
// owner of many outboxes (lfdb-server's client registry, for maxmemory-clients) keeps their sum
// as posts come, without visiting the outboxes.
//
// Thread-safety: a monitor (sendable_monitor): every member locks, none hands out its state.
// open() and drain() are for the connection's serving thread; post() for any thread; close()
// for the session as it ends, or for whoever drops the connection (after it, the host is never
// touched again).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>

#include "lf/concurrency_model.hpp"
#include "lf/immutable.hpp"
#include "lf/mutex.hpp"
#include "lf/thread_annotations.hpp"
#include "lf/time.hpp"

namespace lf {

using Frame = Immutable<std::string>;

struct OutboxLimits {
  std::size_t hard_bytes = 0;  // 0: none
  std::size_t soft_bytes = 0;  // 0: none
  Duration soft_for{};         // how long past soft_bytes on end
};

// The bytes queued in every outbox opened with it: each adds what a post queues and takes off
// what a drain, an overflow or its closing lets go, under its own lock, so the sum is exact
// once no outbox is between two of its steps. A monitor: every member one atomic operation.
class OutboxMeter {
 public:
  using sendable_monitor = void;
  void add(std::int64_t bytes) { bytes_.fetch_add(bytes, std::memory_order_relaxed); }
  std::size_t bytes() const {
    const std::int64_t b = bytes_.load(std::memory_order_relaxed);
    return b < 0 ? 0 : static_cast<std::size_t>(b);
  }

 private:
  std::atomic<std::int64_t> bytes_{0};
};

class Outbox {
 public:
  using sendable_monitor = void;
  enum class Posted : std::uint8_t {
    kQueued,      // the serving thread will send it
    kOverflowed,  // this post went past a limit: the outbox is now closed
    kClosed,      // the outbox was closed (overflowed before, or its session ended): dropped
  };

  // On the connection's serving thread (the host may need to prepare its wake-up there).
  static std::shared_ptr<Outbox> open(SessionHost& host, OutboxLimits limits = {},
                                      std::shared_ptr<OutboxMeter> meter = nullptr);
  Outbox(SessionHost& host, OutboxLimits limits, std::shared_ptr<OutboxMeter> meter);  // use open()
  Outbox(const Outbox&) = delete;
  Outbox& operator=(const Outbox&) = delete;

  Posted post(const Frame& frame);
  // With the limits as they are now (a setting that may change while the outbox lives).
  Posted post(const Frame& frame, const OutboxLimits& limits);
  // Appends every queued frame to `out` in post order; returns how many.
  std::size_t drain(std::string& out);
  void close();
  void set_limits(OutboxLimits limits);

  std::size_t queued_bytes() const;
  std::size_t queued_frames() const;
  bool closed() const;
  bool overflowed() const;

 private:
  void overflow() LF_REQUIRES(mu_);
  void let_go() LF_REQUIRES(mu_);  // frees the queued frames; the meter takes their bytes off

  // Immutable (set by the constructor); its own monitor. Changed only under mu_, with bytes_.
  const std::shared_ptr<OutboxMeter> meter_;
  mutable Mutex mu_;
  SessionHost* host_ LF_GUARDED_BY(mu_);  // nullptr once closed
  OutboxLimits limits_ LF_GUARDED_BY(mu_);
  std::deque<Frame> frames_ LF_GUARDED_BY(mu_);
  std::size_t bytes_ LF_GUARDED_BY(mu_) = 0;
  TimePoint soft_since_ LF_GUARDED_BY(mu_){};  // when the bytes went past soft_bytes (0: below)
  bool woken_ LF_GUARDED_BY(mu_) = false;       // a wake is on its way: no second one
  bool overflowed_ LF_GUARDED_BY(mu_) = false;
};

}  // namespace lf
