// EventHandler: the hook a Reactor dispatches, and the vocabulary around it (event types,
// handler identity, what a handler asks the reactor to do when it returns).
//
// A handler is identified by a HandlerId (slot + generation), never by its fd: the OS reuses an
// fd number the moment it is closed, and a stale event for the old connection must never reach
// whoever owns the new one.
// Thread-safety: the reactor never dispatches one handler on two threads at once (its handle is
// deactivated while it is dispatched), so a handler's own state needs no lock for that.
#pragma once

#include <cstdint>

namespace lf {

// The pattern's event types, less SIGNAL: signals are no event of this reactor. A handler is
// dispatched on whichever thread leads, and a signal can be routed to a descriptor (signalfd)
// only if every thread of the process blocks it, which a library cannot promise. lfdb's mains
// catch SIGTERM/SIGINT themselves and tell their main thread, which stops the server.
using EventMask = std::uint32_t;
inline constexpr EventMask kReadEvent = 01;
inline constexpr EventMask kAcceptEvent = 01;  // an alias of kReadEvent, as in the pattern
inline constexpr EventMask kWriteEvent = 02;
inline constexpr EventMask kTimeoutEvent = 04;
inline constexpr EventMask kCloseEvent = 020;  // peer hung up or the socket failed
inline constexpr EventMask kWakeEvent = 040;   // Reactor::notify'd from another thread: "look again"

struct HandlerId {
  std::uint32_t slot = 0;
  std::uint32_t gen = 0;  // 0 never names a live handler

  bool valid() const { return gen != 0; }
  std::uint64_t raw() const { return (static_cast<std::uint64_t>(gen) << 32) | slot; }
  static HandlerId from_raw(std::uint64_t r) {
    return HandlerId{static_cast<std::uint32_t>(r), static_cast<std::uint32_t>(r >> 32)};
  }
  friend bool operator==(HandlerId a, HandlerId b) { return a.raw() == b.raw(); }
};

// What the reactor does with the handle once handle_event returns.
enum class Disposition {
  kResume,         // reactivate the handle: wait for its next event
  kKeepSuspended,  // leave it deactivated; someone calls Reactor::resume_handler later.
                   // If another thread may resume it before handle_event returns, call
                   // suspend_handler first instead (that resume must not be lost).
  kRemove,         // remove it; handle_close follows once no thread dispatches it
};

class EventHandler {
 public:
  virtual ~EventHandler() = default;

  // Hook method: `events` holds the event types that occurred. Runs with the handle
  // deactivated, so it is this handler's only dispatch in flight.
  virtual Disposition handle_event(int handle, EventMask events) = 0;

  virtual int get_handle() const = 0;

  // Called exactly once, after the handler was removed and no thread is dispatching it any
  // more: the point where its owner may close the handle and delete it.
  virtual void handle_close(int handle) {}
  // Called by register_handler with the new id before the handle can produce events (even
  // with no interest, epoll reports hang-ups): a handler that needs its id gets it here. The
  // events returned are delivered as if notify'd at once: a handler that another thread could
  // reach before its id was known (and so could not notify) says here what it missed.
  virtual EventMask on_registered(HandlerId id) {
    (void)id;
    return 0;
  }
};

}  // namespace lf
