// HalfSyncHalfReactive: the thread pool the Leader/Followers pattern argues against, built as
// it is usually built (and not weakened): one reactor thread demultiplexes every handle, reads
// each request into a newly allocated message and puts it in a monitor-object queue; worker
// threads take messages off the queue, run the session, write the replies and reactivate the
// handle. Costs per request: an allocation, a queue insert and remove under a lock, and a
// context switch from the reactor thread to a worker.
#include <deque>
#include <thread>

#include "connection.hpp"
#include "models.hpp"

namespace lf::detail {
namespace {

class HalfSyncHalfReactive final : public ConcurrencyModel, public ConnectionHost {
 public:
  HalfSyncHalfReactive(const ModelOptions& o, Service& s)
      : options_(o),
        listeners_(s, *this, Connection::Mode::kHalfSyncHalfReactive, o, open_, accepted_, rejected_) {}
  ~HalfSyncHalfReactive() override { stop(); }

  Status start() override {
    ReactorOptions ro;
    ro.shared = true;  // workers reactivate handles from their own threads
    ro.max_events_per_wait = options_.max_events_per_wait;
    auto r = Reactor::create(ro);
    if (!r.ok()) return r.status();
    reactor_ = std::move(r.value());
    listeners_.attach({reactor_.get()});
    if (Status st = listeners_.listen(options_.bind, options_.port, false); !st.ok()) return st;
    if (Status st = listeners_.listen_unix_socket(); !st.ok()) return st;
    {
      MutexLock lock(mu_);
      stopping_ = false;
    }
    worker_stats_ = std::make_unique<ThreadStats[]>(static_cast<std::size_t>(options_.threads));
    // Before the threads exist: stats() (INFO, on a worker) reads it with no other ordering.
    started_ = true;
    reactor_thread_ = std::thread([this] {
      reactor_stats_.tid = current_tid();
      while (reactor_->handle_events(kInfinite) >= 0) reactor_stats_.bump(reactor_stats_.events);
    });
    for (int i = 0; i < options_.threads; ++i) {
      workers_.emplace_back([this, i] { work(worker_stats_[static_cast<std::size_t>(i)]); });
    }
    return Status();
  }

  void stop() override {
    if (!started_) return;
    started_ = false;
    reactor_->shutdown();
    reactor_thread_.join();
    {
      MutexLock lock(mu_);
      stopping_ = true;
      not_empty_.notify_all();
    }
    for (auto& w : workers_) w.join();
    workers_.clear();
    {
      MutexLock lock(mu_);
      for (auto& item : queue_) delete item.message;  // connections close with the reactor
      queue_.clear();
    }
    final_totals_ = totals_now();
    reactor_.reset();  // closes the connections and the listener
    listeners_.clear();
  }

  Status rebind(const std::string& bind, std::uint16_t port) override {
    return listeners_.listen(bind, port, false);
  }

  std::uint16_t port() const override { return listeners_.port(); }
  ModelKind kind() const override { return ModelKind::kHalfSyncHalfReactive; }
  const char* demultiplexer() const override { return "epoll"; }  // its one reactor's default set

  ModelStats stats() const override {
    ModelStats st;
    st.accepted = accepted_.load();
    st.rejected = rejected_.load();
    st.open_connections = open_.load();
    if (!started_) {
      st.totals = final_totals_;
      return st;
    }
    st.threads.push_back(ThreadStatsSnapshot::of(reactor_stats_, "reactor"));
    for (int i = 0; i < options_.threads; ++i) {
      st.threads.push_back(ThreadStatsSnapshot::of(worker_stats_[static_cast<std::size_t>(i)], "worker"));
    }
    st.totals = totals_now();
    return st;
  }

  void connection_closed() override { open_.fetch_sub(1, std::memory_order_relaxed); }

  void enqueue_message(Connection* c, std::string* message) override {
    MutexLock lock(mu_);
    queue_.push_back(Item{c, message});
    not_empty_.notify_one();
  }

 private:
  struct Item {
    Connection* connection;
    std::string* message;
  };

  void work(ThreadStats& stats) {
    stats.tid = current_tid();
    for (;;) {
      Item item;
      {
        MutexLock lock(mu_);
        while (queue_.empty() && !stopping_) not_empty_.wait(mu_);
        if (stopping_) break;
        item = queue_.front();
        queue_.pop_front();
      }
      stats.bump(stats.queue_waits);
      item.connection->process_message(*item.message);
      delete item.message;
      stats.bump(stats.events);
    }
    stats.refresh_rusage();
  }

  ThreadStatsSnapshot totals_now() const {
    ThreadStatsSnapshot sum = ThreadStatsSnapshot::of(reactor_stats_, "hsha");
    for (int i = 0; i < options_.threads; ++i) {
      sum += ThreadStatsSnapshot::of(worker_stats_[static_cast<std::size_t>(i)], "");
    }
    return sum;
  }

  const ModelOptions options_;
  std::unique_ptr<Reactor> reactor_;
  std::thread reactor_thread_;
  std::vector<std::thread> workers_;
  ThreadStats reactor_stats_;
  std::unique_ptr<ThreadStats[]> worker_stats_;
  bool started_ = false;
  ThreadStatsSnapshot final_totals_;

  // The monitor-object queue between the reactor thread and the workers.
  Mutex mu_;
  CondVar not_empty_;
  std::deque<Item> queue_ LF_GUARDED_BY(mu_);
  bool stopping_ LF_GUARDED_BY(mu_) = false;

  std::atomic<std::uint64_t> open_{0}, accepted_{0}, rejected_{0};
  ListenerSet listeners_;  // after the counters it refers to
};

}  // namespace

std::unique_ptr<ConcurrencyModel> make_half_sync_half_reactive(const ModelOptions& o, Service& s) {
  return std::make_unique<HalfSyncHalfReactive>(o, s);
}

}  // namespace lf::detail
