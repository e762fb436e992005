#include "bench/engine.hpp"

#include <sys/resource.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <deque>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "bench/pacer.hpp"
#include "bench/sync_client.hpp"
#include "lf/mutex.hpp"
#include "lf/reactor.hpp"

namespace bench {
namespace {

using lf::Clock;
using lf::TimePoint;

constexpr auto kLateStart = std::chrono::milliseconds(1);

lf::Duration seconds(double s) {
  return std::chrono::duration_cast<lf::Duration>(std::chrono::duration<double>(s));
}

// The run's timetable, fixed before any operation starts.
struct Timetable {
  TimePoint start;
  TimePoint warmup_end;
  TimePoint measure_end = TimePoint::max();  // max: --requests decides the end
};

class Worker;

// The state every worker shares. The gate holds workers between connecting and starting.
class Run {
 public:
  Run(const Options& o, const lf::InetAddr& addr, Workload& w, const std::atomic<bool>& stop)
      : opt(o), addr(addr), workload(w), external_stop(stop) {}

  const Options& opt;
  const lf::InetAddr addr;
  Workload& workload;
  const std::atomic<bool>& external_stop;
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> tickets{0};  // measured operations claimed (closed loop --requests)

  bool stopping() const {
    return stop.load(std::memory_order_relaxed) || external_stop.load(std::memory_order_relaxed);
  }

  // Worker side: report connected (or failed), then wait for the timetable.
  std::optional<Timetable> connected_and_wait(const lf::Status& st) {
    lf::MutexLock lock(mu_);
    if (!st.ok() && first_error_.ok()) first_error_ = st;
    ++connected_;
    cv_.notify_all();
    while (!released_) cv_.wait(mu_);
    return go_;
  }
  // Main side: wait until every worker connected; the first failure, if any.
  lf::Status wait_connected(int workers) {
    lf::MutexLock lock(mu_);
    while (connected_ < workers) cv_.wait(mu_);
    return first_error_;
  }
  void release(std::optional<Timetable> t) {
    lf::MutexLock lock(mu_);
    go_ = t;
    released_ = true;
    cv_.notify_all();
  }
  void worker_done() {
    lf::MutexLock lock(mu_);
    ++done_;
    cv_.notify_all();
  }
  // Waits until every worker is done or `until`; true when they are.
  bool wait_done(int workers, TimePoint until) {
    lf::MutexLock lock(mu_);
    while (done_ < workers) {
      if (!cv_.wait_until(mu_, until)) return done_ >= workers;
    }
    return true;
  }

 private:
  lf::Mutex mu_;
  lf::CondVar cv_;
  int connected_ LF_GUARDED_BY(mu_) = 0;
  int done_ LF_GUARDED_BY(mu_) = 0;
  bool released_ LF_GUARDED_BY(mu_) = false;
  std::optional<Timetable> go_ LF_GUARDED_BY(mu_);
  lf::Status first_error_ LF_GUARDED_BY(mu_);
};

// One terminal's connection: an event handler in its worker's reactor.
class Connection final : public lf::EventHandler {
 public:
  Connection(Worker& w, lf::SockStream s, std::unique_ptr<Terminal> t, std::size_t capacity)
      : worker_(w), stream_(std::move(s)), fd_(stream_.handle()), term_(std::move(t)), ring_(capacity) {}

  lf::Disposition handle_event(int handle, lf::EventMask events) override;
  int get_handle() const override { return fd_; }
  lf::EventMask on_registered(lf::HandlerId id) override {
    id_ = id;
    return 0;
  }
  void handle_close(int) override { stream_.close(); }

  // Starts an operation due at `intended`; its commands go out at the next flush.
  void start(TimePoint intended, bool measured);
  // Sends what is buffered, from outside this connection's own dispatch.
  void flush_now();
  // Fails the connection: its unfinished operations are abandoned and counted.
  void fail(std::string_view kind);

  bool dead() const { return dead_; }
  bool busy() const { return busy_; }
  std::size_t in_flight() const { return count_; }
  bool has_room() const { return count_ < ring_.size(); }
  TimePoint oldest_sent() const { return ring_[head_].sent; }
  lf::HandlerId id() const { return id_; }

 private:
  struct Op {
    TimePoint intended;
    TimePoint sent;
    bool measured = false;
  };

  void read_input();
  void consume(const char* data, std::size_t n);
  void deliver(const resp::Frame& frame, TimePoint now);
  void send_output();   // one send() of what is buffered; fails the connection on error
  void update_interest();

  Worker& worker_;
  lf::SockStream stream_;
  int fd_;
  std::unique_ptr<Terminal> term_;
  lf::HandlerId id_;
  std::vector<Op> ring_;  // operations in flight, oldest at head_
  std::size_t head_ = 0, count_ = 0;
  std::string out_;
  std::size_t out_sent_ = 0;
  std::string in_;  // bytes of a reply that has not fully arrived
  resp::ReplyParser parser_;
  bool busy_ = false;     // inside handle_event
  bool dead_ = false;
  bool writing_ = false;  // registered for kWriteEvent
};

// The pacer's alarm: a timerfd in the worker's reactor, armed at the next due time.
class PacerTimer final : public lf::EventHandler {
 public:
  explicit PacerTimer(Worker& w) : worker_(w), fd_(::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC)) {}
  ~PacerTimer() override {
    if (fd_ >= 0) ::close(fd_);
  }
  bool valid() const { return fd_ >= 0; }
  lf::Disposition handle_event(int, lf::EventMask) override;
  int get_handle() const override { return fd_; }
  // lf::Clock is steady_clock, which is CLOCK_MONOTONIC on Linux: its time points are the
  // timerfd's absolute times.
  void arm(TimePoint at) {
    if (at == armed_at_) return;
    armed_at_ = at;
    itimerspec its{};
    if (at != TimePoint::max()) {
      auto ns = at.time_since_epoch().count();
      if (ns <= 0) ns = 1;  // an all-zero it_value would disarm it
      its.it_value.tv_sec = static_cast<time_t>(ns / 1000000000);
      its.it_value.tv_nsec = static_cast<long>(ns % 1000000000);
    }
    ::timerfd_settime(fd_, TFD_TIMER_ABSTIME, &its, nullptr);
  }
  void disarm() { arm(TimePoint::max()); }

 private:
  Worker& worker_;
  int fd_;
  TimePoint armed_at_ = TimePoint::max();
};

class Worker {
 public:
  Worker(Run& run, int index, std::uint64_t first, std::uint64_t count)
      : run_(run), opt_(run.opt), index_(index), first_(first), count_(count), scratch_(64 * 1024) {}

  void thread_main();

  // Reporter side: what finished since the last call.
  void take_interval(Interval& into) {
    lf::MutexLock lock(mu_);
    into.latency.merge(interval_latency_);
    into.ops += interval_ops_;
    into.errors += interval_errors_;
    interval_latency_.clear();
    interval_ops_ = interval_errors_ = 0;
  }
  // After join.
  void add_to(RunStats& s, TimePoint& last_done) {
    lf::MutexLock lock(mu_);
    s.latency.merge(stats_.latency);
    s.ops += stats_.ops;
    s.errors += stats_.errors;
    s.retries += stats_.retries;
    s.replies += stats_.replies;
    s.warmup_ops += stats_.warmup_ops;
    for (auto& [k, v] : stats_.outcomes) s.outcomes[k] += v;
    for (auto& [k, v] : stats_.error_kinds) s.error_kinds[k] += v;
    s.connections += stats_.connections;
    s.connections_lost += stats_.connections_lost;
    s.unfinished += stats_.unfinished;
    s.late_starts += stats_.late_starts;
    if (stats_.max_start_lag_ns > s.max_start_lag_ns) s.max_start_lag_ns = stats_.max_start_lag_ns;
    if (last_measured_done_ > last_done) last_done = last_measured_done_;
  }

  // Called by connections and the timer, on this worker's thread.
  std::vector<char>& scratch() { return scratch_; }
  void op_done(Connection& c, bool measured, TimePoint intended, TimePoint now, const OpResult& r);
  void op_started(TimePoint intended, TimePoint now) {
    ++in_flight_;
    if (opt_.open_loop() && now - intended > kLateStart) {
      auto lag = static_cast<std::uint64_t>((now - intended).count());
      lf::MutexLock lock(mu_);
      ++stats_.late_starts;
      if (lag > stats_.max_start_lag_ns) stats_.max_start_lag_ns = lag;
    }
  }
  void connection_failed(std::string_view kind, std::size_t unfinished) {
    in_flight_ -= unfinished;
    lf::MutexLock lock(mu_);
    ++stats_.connections_lost;
    ++interval_errors_;  // the live line shows it the second it happens
    stats_.unfinished += unfinished;
    auto it = stats_.error_kinds.find(kind);
    if (it == stats_.error_kinds.end()) stats_.error_kinds.emplace(std::string(kind), 1);
    else ++it->second;
  }
  void count_reply() {
    lf::MutexLock lock(mu_);
    ++stats_.replies;
  }
  void remove(Connection& c) { (void)reactor_->remove_handler(c.id()); }
  void set_interest(lf::HandlerId id, bool write) {
    (void)reactor_->set_interest(id, write ? lf::kReadEvent | lf::kWriteEvent : lf::kReadEvent);
  }
  void pump(TimePoint now);

 private:
  lf::Status connect_all();
  bool try_start(Connection& c, TimePoint now);
  bool measured_at(TimePoint t) const { return t >= tt_.warmup_end && t < tt_.measure_end; }
  void check_timeouts(TimePoint now);
  bool finished() const;

  // Everything down to mu_ belongs to the worker's own thread (the reactor dispatches on it);
  // the main thread touches none of it until the worker is joined.
  Run& run_;
  const Options& opt_;
  const int index_;
  const std::uint64_t first_, count_;
  Timetable tt_;
  std::vector<char> scratch_;
  // Declared before the reactor: the reactor's destructor closes the handlers still in it.
  std::vector<std::unique_ptr<Connection>> conns_;
  std::unique_ptr<PacerTimer> timer_;
  std::unique_ptr<lf::Reactor> reactor_;
  std::optional<OpenLoopPacer> pacer_;
  std::deque<Connection*> free_;  // open loop: one entry per free slot (pipeline) of a connection
  std::size_t in_flight_ = 0;
  bool out_of_tickets_ = false;
  TimePoint last_measured_done_{};

  lf::Mutex mu_;  // the reporter reads these while the worker runs
  RunStats stats_ LF_GUARDED_BY(mu_);
  lf::Histogram interval_latency_ LF_GUARDED_BY(mu_);
  std::uint64_t interval_ops_ LF_GUARDED_BY(mu_) = 0;
  std::uint64_t interval_errors_ LF_GUARDED_BY(mu_) = 0;
};

// ------------------------------------------------------------------------------------------
// Connection

void Connection::start(TimePoint intended, bool measured) {
  LF_CHECK(!dead_ && has_room());
  TimePoint now = Clock::now();
  term_->begin(out_);
  ring_[(head_ + count_) % ring_.size()] = Op{intended, now, measured};
  ++count_;
  worker_.op_started(intended, now);
}

lf::Disposition Connection::handle_event(int, lf::EventMask events) {
  busy_ = true;
  if (events & lf::kWriteEvent) send_output();
  if (!dead_ && (events & (lf::kReadEvent | lf::kCloseEvent))) read_input();
  if (!dead_) send_output();
  if (!dead_) update_interest();
  busy_ = false;
  return dead_ ? lf::Disposition::kRemove : lf::Disposition::kResume;
}

void Connection::flush_now() {
  LF_CHECK(!busy_);
  send_output();
  if (dead_) {
    worker_.remove(*this);
    return;
  }
  update_interest();
}

void Connection::send_output() {
  while (out_sent_ < out_.size()) {
    lf::IoResult r = stream_.send(out_.data() + out_sent_, out_.size() - out_sent_);
    if (r.would_block) break;
    if (!r.ok()) {
      fail(r.err == EPIPE || r.err == ECONNRESET ? "connection reset" : "send failed");
      return;
    }
    out_sent_ += static_cast<std::size_t>(r.n);
  }
  if (out_sent_ == out_.size()) {
    out_.clear();
    out_sent_ = 0;
  }
}

void Connection::update_interest() {
  bool want = out_sent_ < out_.size();
  if (want == writing_) return;
  writing_ = want;
  worker_.set_interest(id_, want);
}

void Connection::read_input() {
  std::vector<char>& buf = worker_.scratch();
  for (int i = 0; i < 8; ++i) {
    lf::IoResult r = stream_.recv(buf.data(), buf.size());
    if (r.would_block) return;
    if (r.eof) {
      fail("connection closed by server");
      return;
    }
    if (!r.ok()) {
      fail(r.err == ECONNRESET ? "connection reset" : "recv failed");
      return;
    }
    consume(buf.data(), static_cast<std::size_t>(r.n));
    if (dead_ || static_cast<std::size_t>(r.n) < buf.size()) return;
  }
}

void Connection::consume(const char* data, std::size_t n) {
  std::string_view input;
  if (in_.empty()) {
    input = std::string_view(data, n);
  } else {
    in_.append(data, n);
    input = in_;
  }
  std::size_t used = 0;
  TimePoint now = Clock::now();
  while (used < input.size()) {
    resp::ReplyResult res = parser_.parse(input.substr(used));
    if (res.failed()) {
      fail("protocol error");
      return;
    }
    if (!res.complete()) break;
    used += res.frame.bytes().size();
    deliver(res.frame, now);
    if (dead_) return;
  }
  if (in_.empty()) {
    in_.assign(input.substr(used));
  } else {
    in_.erase(0, used);
  }
}

void Connection::deliver(const resp::Frame& frame, TimePoint now) {
  worker_.count_reply();
  if (count_ == 0) {  // e.g. "-ERR max number of clients reached" before a close
    fail(frame.is_error() ? "unsolicited error reply" : "unsolicited reply");
    return;
  }
  OpResult result;
  if (!term_->on_reply(frame, out_, result)) return;
  Op op = ring_[head_];
  head_ = (head_ + 1) % ring_.size();
  --count_;
  worker_.op_done(*this, op.measured, op.intended, now, result);
}

void Connection::fail(std::string_view kind) {
  if (dead_) return;
  dead_ = true;
  std::size_t unfinished = count_;
  if (count_ > 0) term_->abandon();
  count_ = 0;
  worker_.connection_failed(kind, unfinished);
}

// ------------------------------------------------------------------------------------------
// PacerTimer

lf::Disposition PacerTimer::handle_event(int, lf::EventMask) {
  std::uint64_t expirations;
  ssize_t n = ::read(fd_, &expirations, sizeof expirations);
  (void)n;  // EAGAIN: a stale readiness after re-arming; pump anyway
  armed_at_ = TimePoint::max();
  worker_.pump(Clock::now());
  return lf::Disposition::kResume;
}

// ------------------------------------------------------------------------------------------
// Worker

lf::Status Worker::connect_all() {
  auto reactor = lf::Reactor::create(lf::ReactorOptions{false, 256});
  if (!reactor.ok()) return reactor.status();
  reactor_ = std::move(reactor.value());
  auto capacity = static_cast<std::size_t>(opt_.pipeline);
  conns_.reserve(count_);
  for (std::uint64_t i = first_; i < first_ + count_; ++i) {
    auto client = SyncClient::connect(run_.addr, opt_.password);
    if (!client.ok()) {
      return lf::Status::error("connection " + std::to_string(i + 1) + " of " + std::to_string(opt_.connections) +
                               " to " + run_.addr.to_string() + ": " + client.status().message());
    }
    lf::SockStream s = client->release_stream();
    lf::Status st = s.set_nonblocking(true);
    if (!st.ok()) return st;
    auto term = run_.workload.make_terminal(index_, i, Rng(terminal_seed(opt_.seed, i)));
    conns_.push_back(std::make_unique<Connection>(*this, std::move(s), std::move(term), capacity));
    auto id = reactor_->register_handler(conns_.back().get(), lf::kReadEvent);
    if (!id.ok()) return id.status();
    {
      lf::MutexLock lock(mu_);
      ++stats_.connections;
    }
  }
  if (opt_.open_loop()) {
    timer_ = std::make_unique<PacerTimer>(*this);
    if (!timer_->valid()) return lf::Status::from_errno("timerfd_create");
    auto id = reactor_->register_handler(timer_.get(), lf::kReadEvent);
    if (!id.ok()) return id.status();
  }
  return lf::Status();
}

void Worker::thread_main() {
  lf::Status st = connect_all();
  std::optional<Timetable> go = run_.connected_and_wait(st);
  if (!st.ok() || !go) {
    run_.worker_done();
    return;
  }
  tt_ = *go;
  std::this_thread::sleep_until(tt_.start);  // every worker starts on the same instant
  TimePoint now = Clock::now();
  if (opt_.open_loop()) {
    double rate = opt_.rate / opt_.threads;
    std::uint64_t limit = std::numeric_limits<std::uint64_t>::max();
    if (opt_.requests > 0) {
      // This worker's share of the measured operations, after the warm-up's.
      std::uint64_t share = opt_.requests / static_cast<std::uint64_t>(opt_.threads) +
                            (static_cast<std::uint64_t>(index_) < opt_.requests % static_cast<std::uint64_t>(opt_.threads) ? 1 : 0);
      double warm_ops = std::ceil(opt_.warmup_s * rate);
      limit = static_cast<std::uint64_t>(warm_ops) + share;
    }
    pacer_.emplace(tt_.start, rate, limit);
    pacer_->stop_at(tt_.measure_end);
    for (auto& c : conns_) {
      for (int p = 0; p < opt_.pipeline; ++p) free_.push_back(c.get());
    }
    pump(now);
  } else {
    for (auto& c : conns_) {
      for (int p = 0; p < opt_.pipeline && try_start(*c, Clock::now()); ++p) {
      }
      if (!c->dead()) c->flush_now();
    }
  }
  TimePoint next_check = now;
  while (!finished()) {
    reactor_->handle_events(std::chrono::milliseconds(20));
    now = Clock::now();
    if (now >= next_check) {
      check_timeouts(now);
      if (opt_.open_loop()) pump(now);  // notices a stop or the end of the timetable
      next_check = now + std::chrono::milliseconds(100);
    }
  }
  run_.worker_done();
}

bool Worker::finished() const {
  if (in_flight_ > 0) return false;
  if (!opt_.open_loop()) return true;  // closed loop: nothing in flight means nothing will start
  if (run_.stopping() || pacer_->exhausted()) return true;
  for (Connection* c : free_) {
    if (!c->dead()) return false;
  }
  return true;  // every connection is gone
}

bool Worker::try_start(Connection& c, TimePoint now) {
  if (c.dead() || !c.has_room() || run_.stopping() || now >= tt_.measure_end || out_of_tickets_) return false;
  bool measured = now >= tt_.warmup_end;
  if (measured && opt_.requests > 0) {
    if (run_.tickets.fetch_add(1, std::memory_order_relaxed) >= opt_.requests) {
      out_of_tickets_ = true;
      return false;
    }
  }
  c.start(now, measured);
  return true;
}

void Worker::pump(TimePoint now) {
  if (run_.stopping()) {
    timer_->disarm();
    return;
  }
  while (!free_.empty()) {
    Connection* c = free_.front();
    if (c->dead()) {
      free_.pop_front();
      continue;
    }
    TimePoint intended;
    if (!pacer_->release(now, intended)) break;
    free_.pop_front();
    c->start(intended, measured_at(intended));
    if (!c->busy()) c->flush_now();
  }
  if (!free_.empty() && !pacer_->exhausted()) timer_->arm(pacer_->next_due());
  else timer_->disarm();  // a connection that frees up pumps again
}

void Worker::op_done(Connection& c, bool measured, TimePoint intended, TimePoint now, const OpResult& r) {
  --in_flight_;
  {
    lf::MutexLock lock(mu_);
    if (measured) {
      std::uint64_t ns = charged_latency_ns(intended, now);
      stats_.latency.record(ns);
      interval_latency_.record(ns);
      ++stats_.ops;
      ++interval_ops_;
      stats_.retries += r.retries;
      if (!r.error.empty()) {
        ++stats_.errors;
        ++interval_errors_;
      }
      if (now > last_measured_done_) last_measured_done_ = now;
    } else {
      ++stats_.warmup_ops;
    }
    if (!r.error.empty()) {
      auto it = stats_.error_kinds.find(r.error);
      if (it == stats_.error_kinds.end()) stats_.error_kinds.emplace(r.error, 1);
      else ++it->second;
    } else if (measured) {
      auto it = stats_.outcomes.find(r.outcome);
      if (it == stats_.outcomes.end()) stats_.outcomes.emplace(std::string(r.outcome), 1);
      else ++it->second;
    }
  }
  if (opt_.open_loop()) {
    free_.push_back(&c);
    pump(now);
  } else {
    try_start(c, now);
  }
}

void Worker::check_timeouts(TimePoint now) {
  lf::Duration limit = seconds(opt_.timeout_s);
  for (auto& c : conns_) {
    if (c->dead() || c->in_flight() == 0) continue;
    if (now - c->oldest_sent() > limit) {
      c->fail("timeout");
      remove(*c);
    }
  }
}

}  // namespace

lf::Status raise_fd_limit(std::uint64_t needed) {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return lf::Status::from_errno("getrlimit(RLIMIT_NOFILE)");
  if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur >= needed) return lf::Status();
  rlimit want = rl;
  want.rlim_cur = needed;
  if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < needed) want.rlim_max = needed;  // works as root
  if (::setrlimit(RLIMIT_NOFILE, &want) == 0) return lf::Status();
  if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < needed) {
    want.rlim_cur = rl.rlim_max;
    want.rlim_max = rl.rlim_max;
    (void)::setrlimit(RLIMIT_NOFILE, &want);
  }
  return lf::Status::error("need " + std::to_string(needed) + " file descriptors but the limit is " +
                           std::to_string(rl.rlim_max) + " (ulimit -n); use fewer --connections");
}

lf::Result<RunStats> run_load(const Options& opt, const lf::InetAddr& addr, Workload& workload,
                              const ProgressFn& progress, const std::atomic<bool>& stop) {
  lf::Status st = raise_fd_limit(static_cast<std::uint64_t>(opt.connections) + 64);
  if (!st.ok()) return st;
  Run run(opt, addr, workload, stop);
  const int threads = opt.threads;
  workload.prepare(threads);
  std::vector<std::unique_ptr<Worker>> workers;
  auto conns = static_cast<std::uint64_t>(opt.connections);
  std::uint64_t first = 0;
  for (int t = 0; t < threads; ++t) {
    std::uint64_t n = conns / static_cast<std::uint64_t>(threads) +
                      (static_cast<std::uint64_t>(t) < conns % static_cast<std::uint64_t>(threads) ? 1 : 0);
    workers.push_back(std::make_unique<Worker>(run, t, first, n));
    first += n;
  }
  std::vector<std::thread> ts;
  ts.reserve(workers.size());
  for (auto& w : workers) ts.emplace_back([&w] { w->thread_main(); });

  st = run.wait_connected(threads);
  if (!st.ok() || run.stopping()) {
    run.release(std::nullopt);
    for (auto& t : ts) t.join();
    if (st.ok()) st = lf::Status::error("interrupted while connecting");
    return st;
  }
  Timetable tt;
  tt.start = Clock::now() + std::chrono::milliseconds(5);
  tt.warmup_end = tt.start + seconds(opt.warmup_s);
  if (opt.requests == 0) tt.measure_end = tt.warmup_end + seconds(opt.duration_s);
  run.release(tt);

  // Progress, once a second, until every worker is done.
  TimePoint next_tick = tt.start + std::chrono::seconds(1);
  TimePoint last_tick = tt.start;
  bool interrupted = false;
  TimePoint stopped_at = TimePoint::max();
  for (;;) {
    TimePoint until = std::min(next_tick, Clock::now() + std::chrono::milliseconds(100));
    if (run.wait_done(threads, until)) break;
    if (stop.load() && !interrupted) {
      interrupted = true;
      stopped_at = Clock::now();
      run.stop.store(true);
    }
    TimePoint now = Clock::now();
    if (now >= next_tick) {
      Interval iv;
      for (auto& w : workers) w->take_interval(iv);
      iv.elapsed_s = std::chrono::duration<double>(now - tt.start).count();
      iv.seconds = std::chrono::duration<double>(now - last_tick).count();
      iv.warmup = now < tt.warmup_end;
      if (progress) progress(iv);
      last_tick = now;
      next_tick += std::chrono::seconds(1);
      if (next_tick < now) next_tick = now + std::chrono::seconds(1);
    }
  }
  for (auto& t : ts) t.join();
  const TimePoint finished_at = Clock::now();  // before measure_end when every connection died
  if (!interrupted && stop.load()) {  // the workers saw it first and finished within the tick
    interrupted = true;
    stopped_at = Clock::now();
  }

  RunStats s;
  TimePoint last_done{};
  for (auto& w : workers) w->add_to(s, last_done);
  s.interrupted = interrupted;
  TimePoint window_end = tt.measure_end;
  if (opt.requests > 0) window_end = last_done > tt.warmup_end ? last_done : tt.warmup_end;
  if (stopped_at < window_end) window_end = stopped_at;
  if (finished_at < window_end) window_end = finished_at;
  s.seconds = window_end > tt.warmup_end ? std::chrono::duration<double>(window_end - tt.warmup_end).count() : 0.0;
  return s;
}

}  // namespace bench
