// LeaderFollowers (one handle set) and LeaderFollowersPerHandleSet (K handle sets, each with
// its own SO_REUSEPORT listener and its own thread group), and the SingleThreadedReactor, which
// is the same machinery with one thread and a reactor that needs no re-arming.
#include <thread>

#include "connection.hpp"
#include "models.hpp"

namespace lf::detail {
namespace {

// One handle set with its listener and the threads that lead it.
struct HandleSet {
  std::unique_ptr<Reactor> reactor;
  std::unique_ptr<UnboundThreadSet> threads;  // null for the single-threaded reactor
  std::vector<std::thread> workers;
  ThreadStats single_stats;  // the single-threaded reactor's own thread
};

class ReactorModel final : public ConcurrencyModel, public ConnectionHost {
 public:
  ReactorModel(ModelKind kind, const ModelOptions& o, Service& s, int sets)
      : kind_(kind), options_(o), nsets_(sets),
        listeners_(s, *this, Connection::Mode::kInline, o, open_, accepted_, rejected_) {}
  ~ReactorModel() override { stop(); }

  Status start() override {
    const bool single = kind_ == ModelKind::kSingleThreadedReactor;
    for (int i = 0; i < nsets_; ++i) {
      auto hs = std::make_unique<HandleSet>();
      auto r = Reactor::create(reactor_options());
      if (!r.ok()) return r.status();
      hs->reactor = std::move(r.value());
      if (!single) {
        hs->threads = std::make_unique<UnboundThreadSet>(*hs->reactor, options_.promotion,
                                                         options_.events_per_turn);
        hs->threads->set_lazy_promotion(options_.lazy_promotion);
      }
      sets_.push_back(std::move(hs));
    }
    std::vector<Reactor*> reactors;
    for (auto& hs : sets_) reactors.push_back(hs->reactor.get());
    listeners_.attach(std::move(reactors));
    if (Status st = listeners_.listen(options_.bind, options_.port, reuse_port()); !st.ok()) return st;
    if (Status st = listeners_.listen_unix_socket(); !st.ok()) return st;
    // Threads are dealt to the handle sets round-robin.
    int nthreads = single ? 1 : options_.threads;
    for (int t = 0; t < nthreads; ++t) {
      HandleSet& hs = *sets_[static_cast<std::size_t>(t % nsets_)];
      if (single) {
        hs.workers.emplace_back([&hs] {
          hs.single_stats.tid = current_tid();
          while (hs.reactor->handle_events(kInfinite) >= 0) hs.single_stats.bump(hs.single_stats.events);
          hs.single_stats.refresh_rusage();
        });
      } else {
        hs.workers.emplace_back([&hs, t] { (void)hs.threads->join(kInfinite, 0, t); });
      }
    }
    started_ = true;
    return Status();
  }

  void stop() override {
    if (!started_) {
      sets_.clear();
      listeners_.clear();
      return;
    }
    started_ = false;
    for (auto& hs : sets_) {
      if (hs->threads) hs->threads->shutdown();
      else hs->reactor->shutdown();
    }
    for (auto& hs : sets_) {
      for (auto& w : hs->workers) w.join();
      hs->workers.clear();
    }
    for (auto& hs : sets_) {
      final_totals_ += hs->threads ? hs->threads->totals()
                                   : ThreadStatsSnapshot::of(hs->single_stats, "reactor");
      hs->threads.reset();
      hs->reactor.reset();  // closes every remaining connection and the listener
    }
    listeners_.clear();
    sets_.clear();
  }

  Status rebind(const std::string& bind, std::uint16_t port) override {
    return listeners_.listen(bind, port, reuse_port());
  }

  std::uint16_t port() const override { return listeners_.port(); }
  ModelKind kind() const override { return kind_; }
  const char* demultiplexer() const override { return Reactor::demultiplexer(reactor_options()); }

  ModelStats stats() const override {
    ModelStats st;
    st.accepted = accepted_.load();
    st.rejected = rejected_.load();
    st.open_connections = open_.load();
    st.totals = final_totals_;
    for (const auto& hs : sets_) {
      if (hs->threads) {
        for (auto& ti : hs->threads->threads()) st.threads.push_back(ti.stats);
        st.totals += hs->threads->totals();
      } else {
        auto snap = ThreadStatsSnapshot::of(hs->single_stats, "reactor");
        st.threads.push_back(snap);
        st.totals += snap;
      }
    }
    return st;
  }

  void connection_closed() override { open_.fetch_sub(1, std::memory_order_relaxed); }

 private:
  bool reuse_port() const { return kind_ == ModelKind::kLeaderFollowersMulti; }
  ReactorOptions reactor_options() const {
    ReactorOptions ro;
    ro.shared = kind_ != ModelKind::kSingleThreadedReactor;
    ro.handle_set = options_.handle_set;
    ro.max_events_per_wait = options_.max_events_per_wait;
    return ro;
  }

  const ModelKind kind_;
  const ModelOptions options_;
  const int nsets_;
  std::vector<std::unique_ptr<HandleSet>> sets_;
  bool started_ = false;
  ThreadStatsSnapshot final_totals_;
  std::atomic<std::uint64_t> open_{0}, accepted_{0}, rejected_{0};
  ListenerSet listeners_;  // after the counters it refers to
};

}  // namespace

std::unique_ptr<ConcurrencyModel> make_leader_followers(ModelKind kind, const ModelOptions& o,
                                                        Service& s, int sets) {
  return std::make_unique<ReactorModel>(kind, o, s, sets);
}

std::unique_ptr<ConcurrencyModel> make_single_threaded_reactor(const ModelOptions& o, Service& s) {
  return std::make_unique<ReactorModel>(ModelKind::kSingleThreadedReactor, o, s, 1);
}

}  // namespace lf::detail
