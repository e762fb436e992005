#include "echo_load.hpp"

#include <sys/epoll.h>
#include <unistd.h>

#include <atomic>
#include <thread>
#include <vector>

#include "lf/net.hpp"

namespace echo {
namespace {

struct Conn {
  lf::SockStream stream;
  std::size_t expect = 0;  // bytes still to come back for the current batch
  std::size_t received_in_batch = 0;
  lf::TimePoint sent_at;
};

// 0: warming up, 1: measuring, 2: done.
struct Shared {
  std::atomic<int> phase{0};
};

void client_thread(const LoadOptions& o, std::vector<Conn>& conns, Shared& shared,
                   LoadResult& result) {
  int ep = ::epoll_create1(EPOLL_CLOEXEC);
  std::string batch(static_cast<std::size_t>(o.size) * static_cast<std::size_t>(o.pipeline), 'x');
  for (std::size_t i = 0; i < batch.size(); ++i) batch[i] = static_cast<char>('a' + i % 26);
  std::vector<char> buf(64 * 1024);
  const std::size_t msg = static_cast<std::size_t>(o.size);
  auto send_batch = [&](Conn& c) {
    c.expect = batch.size();
    c.received_in_batch = 0;
    c.sent_at = lf::Clock::now();
    if (!c.stream.send_all(batch).ok()) ++result.errors;
  };
  for (std::size_t i = 0; i < conns.size(); ++i) {
    (void)conns[i].stream.set_nonblocking(true);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = i;
    ::epoll_ctl(ep, EPOLL_CTL_ADD, conns[i].stream.handle(), &ev);
    send_batch(conns[i]);
  }
  std::vector<epoll_event> evs(256);
  while (shared.phase.load(std::memory_order_relaxed) < 2) {
    int n = ::epoll_wait(ep, evs.data(), static_cast<int>(evs.size()), 100);
    bool measuring = shared.phase.load(std::memory_order_relaxed) == 1;
    for (int k = 0; k < n; ++k) {
      Conn& c = conns[evs[k].data.u64];
      lf::IoResult r = c.stream.recv(buf.data(), buf.size());
      if (r.n <= 0) {
        if (!r.would_block) {
          ++result.errors;
          ::epoll_ctl(ep, EPOLL_CTL_DEL, c.stream.handle(), nullptr);
        }
        continue;
      }
      auto got = static_cast<std::size_t>(r.n);
      // Every message whose last byte arrived now is complete.
      std::size_t before = c.received_in_batch / msg;
      c.received_in_batch += got;
      std::size_t after = c.received_in_batch / msg;
      result.all_messages += after - before;
      if (measuring && after > before) {
        auto lat = static_cast<std::uint64_t>((lf::Clock::now() - c.sent_at).count());
        for (std::size_t m = before; m < after; ++m) result.latency_ns.record(lat);
        result.requests += after - before;
      }
      if (c.received_in_batch >= c.expect) send_batch(c);
    }
  }
  ::close(ep);
}

}  // namespace

lf::Result<LoadResult> run_load(const LoadOptions& o, const std::function<void()>& on_window_start,
                                const std::function<void()>& on_window_end) {
  auto addr = lf::InetAddr::resolve(o.host, o.port);
  if (!addr.ok()) return addr.status();
  int threads = std::max(1, o.threads);
  std::vector<std::vector<Conn>> groups(static_cast<std::size_t>(threads));
  for (int i = 0; i < o.connections; ++i) {
    auto s = lf::Connector::connect(*addr);
    if (!s.ok()) return s.status();
    Conn c;
    c.stream = std::move(s.value());
    groups[static_cast<std::size_t>(i % threads)].push_back(std::move(c));
  }
  Shared shared;
  std::vector<LoadResult> results(static_cast<std::size_t>(threads));
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t) {
    ts.emplace_back(client_thread, std::cref(o), std::ref(groups[static_cast<std::size_t>(t)]),
                    std::ref(shared), std::ref(results[static_cast<std::size_t>(t)]));
  }
  std::this_thread::sleep_for(o.warmup);
  if (on_window_start) on_window_start();
  auto t0 = lf::Clock::now();
  shared.phase.store(1);
  std::this_thread::sleep_for(o.duration);
  shared.phase.store(2);
  auto t1 = lf::Clock::now();
  if (on_window_end) on_window_end();
  for (auto& t : ts) t.join();
  LoadResult total;
  total.seconds = std::chrono::duration<double>(t1 - t0).count();
  for (auto& r : results) {
    total.requests += r.requests;
    total.errors += r.errors;
    total.all_messages += r.all_messages;
    total.latency_ns.merge(r.latency_ns);
  }
  return total;
}

}  // namespace echo
