#include "uring_poller.hpp"

#include <cerrno>

#include "lf/mutex.hpp"

#ifdef LF_HAVE_LIBURING
#include <liburing.h>
#endif

namespace lf::detail {

#ifdef LF_HAVE_LIBURING

struct UringPoller::Ring {
  // Submission (io_uring_get_sqe + io_uring_submit) from any thread, one entry at a time.
  Mutex sq_mu;
  // The ring: its submission half under sq_mu; its completion half only touched by the one
  // thread in wait() (the leader), which never submits (liburing's waits with a timeout submit
  // nothing when the kernel takes the timeout as an argument, IORING_FEAT_EXT_ARG, checked at
  // create). Not annotated: the two halves share one struct.
  io_uring ring{};
  bool ready = false;
  ~Ring() {
    if (ready) io_uring_queue_exit(&ring);
  }

  // Fill one submission entry and submit it. The submission queue is only ever used here, so a
  // full queue cannot happen (each call submits what it filled); a refusal from the kernel is
  // returned.
  template <typename Prep>
  Status submit(Prep&& prep) {
    MutexLock lock(sq_mu);
    io_uring_sqe* sqe = io_uring_get_sqe(&ring);
    if (sqe == nullptr) {
      (void)io_uring_submit(&ring);
      sqe = io_uring_get_sqe(&ring);
      if (sqe == nullptr) return Status::error("io_uring: submission queue full");
    }
    prep(sqe);
    int rc = io_uring_submit(&ring);
    if (rc < 0) return Status::error("io_uring_submit failed", -rc);
    return Status();
  }
};

Result<std::unique_ptr<UringPoller>> UringPoller::create(unsigned entries) {
  auto ring = std::make_unique<Ring>();
  int rc = io_uring_queue_init(entries, &ring->ring, 0);
  if (rc < 0) return Status::error("io_uring_queue_init failed (the kernel refuses io_uring)", -rc);
  ring->ready = true;
  if (!(ring->ring.features & IORING_FEAT_EXT_ARG) || !(ring->ring.features & IORING_FEAT_NODROP)) {
    return Status::error("io_uring: this kernel lacks timeouts as wait arguments or lossless completions (5.11 or newer needed)");
  }
  return std::unique_ptr<UringPoller>(new UringPoller(std::move(ring)));
}

Status UringPoller::add(int fd, std::uint32_t poll_events, std::uint64_t token) {
  return ring_->submit([&](io_uring_sqe* sqe) {
    io_uring_prep_poll_multishot(sqe, fd, poll_events);
    io_uring_sqe_set_data64(sqe, token);
  });
}

Status UringPoller::cancel(std::uint64_t token) {
  return ring_->submit([&](io_uring_sqe* sqe) {
    io_uring_prep_cancel64(sqe, token, IORING_ASYNC_CANCEL_ALL);
    io_uring_sqe_set_data64(sqe, kInternalToken);
  });
}

int UringPoller::wait(epoll_event* out, int max, int timeout_ms, std::uint64_t* ended, int& ended_n,
                      int ended_max) {
  io_uring* ring = &ring_->ring;
  io_uring_cqe* cqe = nullptr;
  int rc;
  if (timeout_ms < 0) {
    rc = io_uring_wait_cqe(ring, &cqe);
  } else {
    __kernel_timespec ts{};
    ts.tv_sec = timeout_ms / 1000;
    ts.tv_nsec = static_cast<long long>(timeout_ms % 1000) * 1000000;
    rc = io_uring_wait_cqe_timeout(ring, &cqe, &ts);
  }
  if (rc < 0) {
    LF_CHECK_MSG(rc == -ETIME || rc == -EINTR || rc == -EAGAIN, "io_uring wait failed");
    return -1;
  }
  int n = 0;
  unsigned seen = 0;
  unsigned head;
  io_uring_for_each_cqe(ring, head, cqe) {
    if (n >= max || ended_n >= ended_max) break;
    ++seen;
    const std::uint64_t token = cqe->user_data;
    if (token == kInternalToken || cqe->res == -ECANCELED) continue;  // a cancellation's own
    if (!(cqe->flags & IORING_CQE_F_MORE)) ended[ended_n++] = token;
    if (cqe->res > 0) {
      out[n].events = static_cast<std::uint32_t>(cqe->res);
      out[n].data.u64 = token;
      ++n;
    } else if (cqe->res < 0) {
      // The poll failed: report it as an error, so the handler reads and sees why.
      out[n].events = EPOLLERR;
      out[n].data.u64 = token;
      ++n;
    }
  }
  io_uring_cq_advance(ring, seen);
  return n;
}

#else  // !LF_HAVE_LIBURING

struct UringPoller::Ring {};

Result<std::unique_ptr<UringPoller>> UringPoller::create(unsigned) {
  return Status::error("io_uring handle set not built in (liburing's header was not found at build time)");
}
Status UringPoller::add(int, std::uint32_t, std::uint64_t) { return Status::error("io_uring not built in"); }
Status UringPoller::cancel(std::uint64_t) { return Status::error("io_uring not built in"); }
int UringPoller::wait(epoll_event*, int, int, std::uint64_t*, int&, int) { return -1; }

#endif

UringPoller::UringPoller(std::unique_ptr<Ring> ring) : ring_(std::move(ring)) {}
UringPoller::~UringPoller() = default;

}  // namespace lf::detail
