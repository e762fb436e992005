// set_interest called by a handler from inside its own dispatch must take effect, in both
// reactor modes: a client that finds its socket full while handling a reply asks for
// kWriteEvent right there (lfdb-bench does), and must get it.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lf/reactor.hpp"

namespace {

class AsksForWrite : public lf::EventHandler {
 public:
  AsksForWrite(lf::Reactor& r, int fd) : r_(r), fd_(fd) {}
  lf::Disposition handle_event(int, lf::EventMask ev) override {
    if (ev & lf::kReadEvent) {
      char buf[64];
      while (::read(fd_, buf, sizeof buf) > 0) {
      }
      EXPECT_TRUE(r_.set_interest(id_, lf::kReadEvent | lf::kWriteEvent).ok());
    }
    if (ev & lf::kWriteEvent) {
      ++writes;
      EXPECT_TRUE(r_.set_interest(id_, lf::kReadEvent).ok());
    }
    return lf::Disposition::kResume;
  }
  int get_handle() const override { return fd_; }
  lf::EventMask on_registered(lf::HandlerId id) override {
    id_ = id;
    return 0;
  }
  int writes = 0;

 private:
  lf::Reactor& r_;
  int fd_;
  lf::HandlerId id_;
};

void run_case(bool shared, lf::HandleSetKind kind = lf::HandleSetKind::kEpollOneShot) {
  lf::ReactorOptions o;
  o.shared = shared;
  o.handle_set = kind;
  auto created = lf::Reactor::create(o);
  if (kind == lf::HandleSetKind::kIoUring && !created.ok()) GTEST_SKIP() << created.status().message();
  auto r = std::move(created.value());
  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);
  AsksForWrite h(*r, fds[0]);
  ASSERT_TRUE(r->register_handler(&h, lf::kReadEvent).ok());
  ASSERT_EQ(::write(fds[1], "x", 1), 1);
  // The read event, then the write event it asked for (the socket is writable at once). Each
  // wait is bounded only so a broken reactor fails the test instead of hanging it.
  for (int i = 0; i < 50 && h.writes == 0; ++i) r->handle_events(std::chrono::milliseconds(100));
  EXPECT_EQ(h.writes, 1);
  // And the interest went back to read only: no further write events.
  EXPECT_EQ(r->handle_events(std::chrono::milliseconds(50)), 0);
  EXPECT_EQ(h.writes, 1);
  r.reset();
  ::close(fds[0]);
  ::close(fds[1]);
}

TEST(ReactorInterest, ChangedDuringOwnDispatchShared) { run_case(true); }
TEST(ReactorInterest, ChangedDuringOwnDispatchEdgeTriggered) { run_case(true, lf::HandleSetKind::kEpollEdge); }
TEST(ReactorInterest, ChangedDuringOwnDispatchIoUring) { run_case(true, lf::HandleSetKind::kIoUring); }
TEST(ReactorInterest, ChangedDuringOwnDispatchSingleThreaded) { run_case(false); }

}  // namespace
