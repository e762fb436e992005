#include "gateway/script_reaper.hpp"

#include <poll.h>

#include <algorithm>
#include <chrono>
#include <stop_token>
#include <unordered_map>

#include "lf/net.hpp"
#include "lf/time.hpp"
#include "resp/writer.hpp"

namespace lfdb::gateway {
namespace {

using namespace std::chrono_literals;

// One SCRIPT KILL on a connection of its own. Returns the reply's line ("+OK", "-NOTBUSY ...",
// "-UNKILLABLE ..."), or "" when the back-end could not be reached or the reaper stops. The
// back-end may hold the reply until a script is busy: it is awaited in slices, to see a stop.
std::string kill_once(const std::string& host, int port, const std::string& password,
                      const std::stop_token& stop) {
  auto addr = lf::InetAddr::resolve(host, static_cast<std::uint16_t>(port));
  if (!addr.ok()) return "";
  auto conn = lf::Connector::connect(*addr, 1s);
  if (!conn.ok()) return "";
  lf::SockStream& s = *conn;
  std::string request;
  resp::Writer w(request, resp::Protocol::kResp2);
  if (!password.empty()) {
    w.array_header(2);
    w.bulk("AUTH");
    w.bulk(password);
  }
  w.array_header(2);
  w.bulk("SCRIPT");
  w.bulk("KILL");
  if (!s.send_all(request).ok()) return "";
  const std::size_t lines = password.empty() ? 1 : 2;  // AUTH's reply comes first
  std::string in;
  while (static_cast<std::size_t>(std::count(in.begin(), in.end(), '\n')) < lines) {
    if (stop.stop_requested()) return "";
    pollfd p{s.handle(), POLLIN, 0};
    const int r = ::poll(&p, 1, 200);
    if (r <= 0) {
      if (r < 0 && errno != EINTR) return "";
      continue;
    }
    char buf[512];
    const lf::IoResult io = s.recv(buf, sizeof buf);
    if (io.n <= 0) return "";
    in.append(buf, static_cast<std::size_t>(io.n));
  }
  in.pop_back();  // the last "\n"
  const std::size_t start = in.rfind('\n');
  std::string line = in.substr(start == std::string::npos ? 0 : start + 1);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

// The peer has gone, or half-closed (as a client that ends its input is treated everywhere).
bool hung_up(int fd) {
  pollfd p{fd, POLLRDHUP, 0};
  return ::poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)) != 0;
}

struct Watched {
  int fd;
  int shard;
  bool gone = false;  // counted in `left` of its shard
};

void reap(std::stop_token stop, std::shared_ptr<ScriptReaper::Box> box,
          std::vector<std::string> hosts, std::vector<int> ports, std::string password) {
  std::vector<int> left(hosts.size(), 0);  // gone clients' scripts in flight, per shard
  std::vector<lf::TimePoint> next_try(hosts.size());
  std::unordered_map<std::uint64_t, Watched> watched;  // bound forwarding's awaited scripts
  auto answered = [&](int shard) {
    int& n = left[static_cast<std::size_t>(shard)];
    if (n > 0) --n;
  };
  auto note = lf::overloaded{
      [&](ScriptReaper::Gone g) { left[static_cast<std::size_t>(g.shard)] += g.scripts; },
      [&](ScriptReaper::Answered a) { answered(a.shard); },
      [&](ScriptReaper::Watch w) { watched.emplace(w.id, Watched{w.fd, w.shard}); },
      [&](ScriptReaper::Unwatch u) {
        auto it = watched.find(u.id);
        if (it == watched.end()) return;
        if (it->second.gone) answered(it->second.shard);
        watched.erase(it);
      }};
  for (;;) {
    const bool pending = !watched.empty() ||
                         std::any_of(left.begin(), left.end(), [](int n) { return n > 0; });
    // Idle: sleep until news. Otherwise look again soon.
    const bool got = pending ? box->receive_for(50ms, note) : box->receive(note);
    if (!got && box->closed()) return;
    while (box->try_receive(note)) {
    }
    if (stop.stop_requested()) return;
    // Looked at after the mailbox, so an unwatched fd (which its client may close right after)
    // is not polled any more.
    for (auto& [id, w] : watched) {
      if (w.gone || !hung_up(w.fd)) continue;
      w.gone = true;
      ++left[static_cast<std::size_t>(w.shard)];
    }
    for (std::size_t s = 0; s < hosts.size(); ++s) {
      if (left[s] == 0 || lf::Clock::now() < next_try[s]) continue;
      const std::string r = kill_once(hosts[s], ports[s], password, stop);
      // +OK: a script was killed, and its reply is on its way to the gateway (answered): give
      // it time to come before the next kill. -NOTBUSY: none busy yet (the gone ones wait
      // behind others, or ended). -UNKILLABLE, or no reply: try again later.
      next_try[s] = lf::Clock::now() + (r == "+OK" ? 300ms : r.starts_with("-NOTBUSY") ? 100ms : 1s);
    }
  }
}

}  // namespace

ScriptReaper::ScriptReaper(const std::vector<Endpoint>& primaries, const std::string& password)
    : box_(std::make_shared<Box>()) {
  std::vector<std::string> hosts;
  std::vector<int> ports;
  for (const Endpoint& e : primaries) {
    hosts.push_back(e.host);
    ports.push_back(e.port);
  }
  thread_ = lf::spawn(reap, box_, std::move(hosts), std::move(ports), password);
}

ScriptReaper::~ScriptReaper() {
  box_->close();
  thread_.request_stop();
  thread_.join();
}

void ScriptReaper::gone(int shard, int scripts) { (void)box_->send(Gone{shard, scripts}); }

void ScriptReaper::answered(int shard) { (void)box_->send(Answered{shard}); }

std::uint64_t ScriptReaper::watch(int fd, int shard) {
  const std::uint64_t id = next_watch_.fetch_add(1, std::memory_order_relaxed);
  (void)box_->send(Watch{id, fd, shard});
  return id;
}

void ScriptReaper::unwatch(std::uint64_t id) { (void)box_->send(Unwatch{id}); }

}  // namespace lfdb::gateway
