// The dispatcher thread with real sockets (socketpairs stand in for replica connections):
// partial and full resyncs, shipping in order, waiting for the snapshot's offset to be sealed,
// acknowledgements, a stopped replica's unsent bytes held for it, and dropping a replica past
// its output limit or killed.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

#include "dispatch/dispatcher.hpp"

namespace lfdb::dispatch {
namespace {

using namespace std::chrono_literals;

// The test's end of a replica connection.
struct Replica {
  int fd = -1;
  lf::Unique<ReplicaLink> link{nullptr};
  Replica(std::string replid, std::uint64_t offset) {
    int sv[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    fd = sv[1];
    link = lf::make_unique_msg<ReplicaLink>();
    link->fd = sv[0];
    link->ip = "127.0.0.1";
    link->listening_port = 7000;
    link->replid = std::move(replid);
    link->offset = offset;
  }
  ~Replica() { ::close(fd); }
  // Exactly n bytes, or what came within 3 s.
  std::string read(std::size_t n) {
    std::string out;
    const auto deadline = std::chrono::steady_clock::now() + 3s;
    while (out.size() < n && std::chrono::steady_clock::now() < deadline) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 50) != 1) continue;
      char buf[4096];
      const ssize_t got = ::recv(fd, buf, std::min(sizeof buf, n - out.size()), 0);
      if (got <= 0) break;
      out.append(buf, static_cast<std::size_t>(got));
    }
    return out;
  }
  bool quiet_for(std::chrono::milliseconds d) {
    pollfd p{fd, POLLIN, 0};
    return ::poll(&p, 1, static_cast<int>(d.count())) == 0;
  }
  bool closed_within(std::chrono::seconds d) {
    const auto deadline = std::chrono::steady_clock::now() + d;
    char buf[65536];
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 50) != 1) continue;
      if (::recv(fd, buf, sizeof buf, 0) <= 0) return true;
    }
    return false;
  }
};

DispatcherOptions options(std::size_t backlog) {
  DispatcherOptions o;
  o.replid = "r1";
  o.backlog_size = backlog;
  o.base = 0;
  return o;
}

// The replica reads nothing past its greeting and both socket buffers are small, so what the
// dispatcher ships stays with it.
void stall(Replica& r) {
  int small = 4096;
  ::setsockopt(r.link->fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
  ::setsockopt(r.fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
}

// Ships 2 MB in 1 KB segments from offset 0; returns the offset after them.
std::uint64_t ship_two_megabytes(Dispatcher& d) {
  const std::string chunk(1024, 'x');
  std::uint64_t at = 0;
  for (int i = 0; i < 2048; ++i, at += chunk.size()) d.ship(at, chunk);
  return at;
}

TEST(Dispatcher, PartialResyncStreamsFromTheReplicasOffsetInOrder) {
  Dispatcher d(options(1024));
  d.ship(0, "aaaa");
  d.ship(4, "bbbb");
  EXPECT_EQ(d.sealed_end(), 8u);
  // Until the dispatcher has taken the segments the pre-check may lag; it has the last word.
  Replica r("r1", 4);
  d.add_replica(std::move(r.link));
  EXPECT_EQ(r.read(16 + 4), "+CONTINUE r1 4\r\nbbbb");
  d.ship(8, "cc");
  d.ship(10, "dd");
  EXPECT_EQ(r.read(4), "ccdd");
  EXPECT_TRUE(d.can_resume("r1", 12) || !d.can_resume("r1", 13));
}

TEST(Dispatcher, FullResyncWaitsUntilTheSnapshotsOffsetIsSealed) {
  Dispatcher d(options(1024));
  d.ship(0, "aaaa");
  Replica r("?", 0);
  r.link->snapshot = lf::make_immutable<std::string>("SNAP");
  r.link->snapshot_offset = 8;  // the snapshot holds writes up to 8: not sealed yet
  d.add_replica(std::move(r.link));
  EXPECT_TRUE(r.quiet_for(200ms)) << "a replica got data the primary could still lose";
  d.ship(4, "bbbb");
  const std::string head = "+FULLRESYNC r1 8\r\n$4\r\nSNAP";
  EXPECT_EQ(r.read(head.size()), head);
  d.ship(8, "cccc");
  EXPECT_EQ(r.read(4), "cccc");  // the stream continues from the snapshot's offset
  const ReplicationView v = d.view();
  EXPECT_EQ(v.full_syncs, 1u);
}

TEST(Dispatcher, RefusedPartialResyncClosesTheLink) {
  Dispatcher d(options(1024));
  d.ship(0, "aaaa");
  Replica r("another-history", 2);
  d.add_replica(std::move(r.link));
  const std::string line = r.read(13);
  EXPECT_EQ(line, "-NOMASTERLINK");
  EXPECT_TRUE(r.closed_within(3s));
}

TEST(Dispatcher, AcknowledgementsShowInTheView) {
  Dispatcher d(options(1024));
  d.ship(0, "aaaa");
  Replica r("r1", 0);
  d.add_replica(std::move(r.link));
  EXPECT_EQ(r.read(16 + 4), "+CONTINUE r1 0\r\naaaa");
  const std::string ack = "*3\r\n$8\r\nREPLCONF\r\n$3\r\nACK\r\n$1\r\n4\r\n";
  ASSERT_EQ(::send(r.fd, ack.data(), ack.size(), 0), static_cast<ssize_t>(ack.size()));
  ReplicationView v;
  for (int i = 0; i < 100; ++i) {
    v = d.view();
    if (!v.replicas.empty() && v.replicas[0].offset == 4) break;
    std::this_thread::sleep_for(20ms);
  }
  ASSERT_EQ(v.replicas.size(), 1u);
  EXPECT_EQ(v.replicas[0].offset, 4u);
  EXPECT_EQ(v.replicas[0].state, "online");
  EXPECT_EQ(v.replicas[0].port, 7000);
}

// A replica that stops reading keeps what it has not been sent, past the backlog's size, as
// its output buffer (Redis 7.0's replica output), until its output limit drops it.
TEST(Dispatcher, AReplicaPastItsOutputLimitIsDisconnected) {
  DispatcherOptions o = options(16 * 1024);
  o.replica_limit = ReplicaLimit{256 * 1024, 0, 0};
  Dispatcher d(std::move(o));
  Replica slow("r1", 0);
  stall(slow);
  d.add_replica(std::move(slow.link));
  EXPECT_EQ(slow.read(16), "+CONTINUE r1 0\r\n");
  (void)ship_two_megabytes(d);  // never read
  ReplicationView v;
  for (int i = 0; i < 150; ++i) {
    v = d.view();
    if (v.dropped_over_limit == 1) break;
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(v.dropped_over_limit, 1u);
  EXPECT_EQ(v.dropped_behind, 0u);
  EXPECT_TRUE(v.replicas.empty());
  EXPECT_TRUE(slow.closed_within(3s));
  // Nobody needs the old blocks any more: back to the backlog's own size.
  for (int i = 0; i < 100 && d.replica_bytes() != 0; ++i) std::this_thread::sleep_for(20ms);
  EXPECT_EQ(d.replica_bytes(), 0u);
  EXPECT_LE(v.backlog_end - v.backlog_start, 2 * Backlog::kBlockBytes);
}

TEST(Dispatcher, AStoppedReplicasUnsentBytesAreHeldCountedAndFreedWhenItIsKilled) {
  DispatcherOptions o = options(16 * 1024);
  o.replica_limit = ReplicaLimit{0, 0, 0};  // no limit
  Dispatcher d(std::move(o));
  Replica slow("r1", 0);
  stall(slow);
  slow.link->client_id = 42;
  slow.link->addr = "127.0.0.1:5555";
  slow.link->laddr = "127.0.0.1:6379";
  slow.link->user = "repl";
  d.add_replica(std::move(slow.link));
  EXPECT_EQ(slow.read(16), "+CONTINUE r1 0\r\n");
  const std::uint64_t at = ship_two_megabytes(d);  // never read
  ReplicationView v;
  for (int i = 0; i < 150; ++i) {
    v = d.view();
    if (v.backlog_end == at) break;
    std::this_thread::sleep_for(20ms);
  }
  ASSERT_EQ(v.backlog_end, at);
  ASSERT_EQ(v.replicas.size(), 1u);
  EXPECT_EQ(v.replicas[0].client_id, 42u);
  EXPECT_EQ(v.replicas[0].laddr, "127.0.0.1:6379");
  EXPECT_EQ(v.replicas[0].user, "repl");
  // All but what the socket buffers took is unsent, and held for it past the backlog's size.
  EXPECT_GT(v.replicas[0].unsent, 1900u * 1024);
  EXPECT_GT(d.replica_bytes(), 1800u * 1024);
  EXPECT_EQ(v.backlog_start, 0u);
  // Field by field: g++ warns of a designated initializer that leaves members out.
  auto filter = [](std::string addr, std::string laddr, std::string user) {
    ReplicaFilter f;
    f.addr = std::move(addr);
    f.laddr = std::move(laddr);
    f.user = std::move(user);
    return f;
  };
  ReplicaFilter other_id;
  other_id.client_id = 7;
  EXPECT_EQ(d.drop_replicas(other_id), 0u);                                   // another client id
  EXPECT_EQ(d.drop_replicas(filter("127.0.0.1:1", "", "")), 0u);              // another address
  EXPECT_EQ(d.drop_replicas(filter("", "127.0.0.1:1", "")), 0u);              // another local address
  EXPECT_EQ(d.drop_replicas(filter("", "", "default")), 0u);                  // another user
  EXPECT_EQ(d.drop_replicas(filter("127.0.0.1:5555", "127.0.0.1:6379", "repl")), 1u);
  EXPECT_EQ(d.replica_bytes(), 0u);  // let go before the answer
  EXPECT_TRUE(slow.closed_within(3s));
  EXPECT_TRUE(d.view().replicas.empty());
}

}  // namespace
}  // namespace lfdb::dispatch
