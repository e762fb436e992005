// lf::detail::UringPoller: the io_uring handle set's demultiplexer (HandleSetKind::kIoUring).
//
// Readiness is reported through an io_uring completion queue instead of epoll: each handle has
// one multishot poll request, posted once at registration, that completes again every time the
// handle becomes ready, as EPOLLET reports it (the reactor runs it with the edge-triggered
// slot states). Removal cancels every poll request of the handler's id; completions of a removed
// generation are dropped by the reactor's id check, as epoll's are, so fd reuse stays safe.
//
// It is the pattern's demultiplexer only: the handlers still read and write with recv/send.
// Completions are reaped by the one thread that holds the leader role (single consumer); the
// submission side is shared (register/remove/set_interest from any thread), so it has its own
// lock, held only to fill and submit one entry.
//
// Built only when liburing's header was found (LF_HAVE_LIBURING); create() says why it cannot
// run otherwise (not built in, or the kernel refuses io_uring), and Reactor::create reports it.
#pragma once

#include <sys/epoll.h>

#include <cstdint>
#include <memory>

#include "lf/status.hpp"

namespace lf::detail {

class UringPoller {
 public:
  // Completions carrying this user data are the poller's own (cancellations): never events.
  static constexpr std::uint64_t kInternalToken = ~std::uint64_t{0} - 1;

  static Result<std::unique_ptr<UringPoller>> create(unsigned entries);
  ~UringPoller();
  UringPoller(const UringPoller&) = delete;
  UringPoller& operator=(const UringPoller&) = delete;

  // Post a multishot poll for `poll_events` (POLLIN/POLLOUT/POLLRDHUP bits, the same values as
  // epoll's) on fd; its completions carry `token`.
  Status add(int fd, std::uint32_t poll_events, std::uint64_t token);
  // Cancel every poll request carrying `token` (their completions are dropped).
  Status cancel(std::uint64_t token);

  // The leader's wait: up to `max` completions into `out` as epoll_events (events = the poll
  // result, data.u64 = the token); timeout_ms < 0 waits without limit. A completion without
  // IORING_CQE_F_MORE ended its poll request: its token goes to ended[ended_n++]
  // so the reactor can post it again if the handler is still registered. Returns how many were
  // stored in `out`, or -1 on EINTR/timeout.
  int wait(epoll_event* out, int max, int timeout_ms, std::uint64_t* ended, int& ended_n, int ended_max);

 private:
  struct Ring;
  explicit UringPoller(std::unique_ptr<Ring> ring);
  std::unique_ptr<Ring> ring_;
};

}  // namespace lf::detail
