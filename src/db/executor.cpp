#include "db/executor.hpp"

#include "lf/unbound_thread_set.hpp"

namespace lfdb::db {
namespace {

using commands::HueClass;
using lf::hue::Touches;

// The declarations of docs/hue.md's table, one hue per command class.
lf::hue::HueMatrix build_matrix(lf::hue::HueId* class_hues, lf::hue::HueId& exec_alone,
                                lf::hue::HueId& expire_cycle) {
  lf::hue::HueTable t;
  auto add = [&](HueClass c, const Touches& touches) {
    class_hues[static_cast<int>(c)] = *t.add(commands::to_string(c), touches);
  };
  add(HueClass::kFree, Touches());
  // Readers publish keymiss notifications (when asked to): they read the subscriptions too.
  add(HueClass::kKeyRead, Touches().reads("keyspace").reads("pubsub").reads_context());
  // Writers of keys publish keyspace notifications: they read the subscriptions too.
  add(HueClass::kKeyWrite, Touches().reads("keyspace").reads("pubsub").writes_context());
  add(HueClass::kKeyspaceRead, Touches().reads("keyspace").reads("pubsub").reads_context());
  add(HueClass::kKeyspaceCount, Touches().reads("keyspace"));
  add(HueClass::kKeyspaceWrite, Touches().writes("keyspace").reads("pubsub"));
  add(HueClass::kConfigRead, Touches().reads("config"));
  add(HueClass::kConfigWrite, Touches().writes("config"));
  add(HueClass::kTransaction, Touches().reads("keyspace").reads("pubsub").writes_context());
  add(HueClass::kPubsubRead, Touches().reads("pubsub"));
  add(HueClass::kPubsubWrite, Touches().writes("pubsub"));
  add(HueClass::kAclRead, Touches().reads("acl"));
  // ACL SETUSER reads the subscriptions: it closes the subscribers its new rules refuse.
  add(HueClass::kAclWrite, Touches().writes("acl").reads("pubsub"));
  class_hues[static_cast<int>(HueClass::kUndeclared)] = *t.add_undeclared("undeclared");
  exec_alone = *t.add_undeclared("exec-alone");
  expire_cycle = *t.add("expire-cycle", Touches().reads("keyspace").reads("pubsub").writes_context());
  return *t.build();
}

class ColorExecutor final : public Executor {
 public:
  explicit ColorExecutor(std::uint32_t colors)
      : sched_(make_matrix(), colors) {}

  bool try_run(const Invocation& inv, lf::hue::Task& task) override {
    if (inv.placement == Placement::kAllColors) return false;
    if (inv.hashes.size() <= 1) {
      return sched_.try_run(inv.hue, inv.hashes.empty() ? 0 : inv.hashes[0], task);
    }
    return sched_.try_run_multi(inv.hue, inv.hashes, task);
  }
  lf::hue::Submitted submit(const Invocation& inv, lf::hue::Task task) override {
    if (inv.placement == Placement::kAllColors) return sched_.submit_all_colors(inv.hue, std::move(task));
    if (inv.hashes.size() <= 1) {
      return sched_.submit(inv.hue, inv.hashes.empty() ? 0 : inv.hashes[0], std::move(task));
    }
    return sched_.submit_multi(inv.hue, inv.hashes, std::move(task));
  }
  void submit_on_color(std::uint32_t color, lf::hue::Task task) override {
    (void)sched_.submit_on_color(expire_cycle_, color, std::move(task));
  }
  void quiesce() override { (void)sched_.quiesce_for(std::chrono::seconds(5)); }
  std::string stats() const override { return sched_.stats().to_string(); }
  std::uint64_t queued_runs() const override {
    const auto st = sched_.stats();
    std::uint64_t n = 0;
    for (const auto& c : st.by_class) n += c.queued_runs;
    return n;
  }

 private:
  lf::hue::HueMatrix make_matrix() {
    matrix_ = std::make_unique<lf::hue::HueMatrix>(build_matrix(class_hues_, exec_alone_, expire_cycle_));
    return *matrix_;
  }
  lf::hue::Scheduler sched_;
};

// `--data global`: every data access under one mutex. Nothing ever queues.
class GlobalExecutor final : public Executor {
 public:
  GlobalExecutor() {
    matrix_ = std::make_unique<lf::hue::HueMatrix>(build_matrix(class_hues_, exec_alone_, expire_cycle_));
  }
  bool try_run(const Invocation&, lf::hue::Task& task) override {
    if (!mu_.try_lock()) {
      // Held, maybe for long (a script): a thread that waits for it first hands on the leader
      // role it kept and the rest of its turn, so the other connections are served meanwhile
      // (by the busy script itself, if nobody else is left).
      (void)lf::UnboundThreadSet::promote_new_leader();
      mu_.lock();
    }
    t_holding_ = true;
    task();
    task.reset();
    // Sweeps the invocation submitted (below) run now, after it and before anyone else.
    while (!t_deferred_.empty()) {
      lf::hue::Task next = std::move(t_deferred_.back());
      t_deferred_.pop_back();
      next();
    }
    t_holding_ = false;
    mu_.unlock();
    return true;
  }
  lf::hue::Submitted submit(const Invocation& inv, lf::hue::Task task) override {
    (void)try_run(inv, task);
    return lf::hue::Submitted::kInline;
  }
  void submit_on_color(std::uint32_t, lf::hue::Task task) override {
    // Submitted by the invocation that holds the mutex (CONFIG SET maxmemory inside EXEC): it
    // would wait for itself, and run inside the transaction besides. It runs once that
    // invocation is done, as the colors' sweeps wait for the colors an EXEC holds.
    if (t_holding_) {
      t_deferred_.push_back(std::move(task));
      return;
    }
    lf::MutexLock lock(mu_);
    task();
  }
  void quiesce() override {}
  std::string stats() const override { return "data=global (one mutex)"; }
  std::uint64_t queued_runs() const override { return 0; }

 private:
  // Whether this thread runs an invocation under mu_, and the sweeps it submitted meanwhile
  // (this thread's own: no sharing).
  inline static thread_local bool t_holding_ = false;
  inline static thread_local std::vector<lf::hue::Task> t_deferred_;
  lf::Mutex mu_;  // guards the whole keyspace (not expressible per field: it is every partition)
};

}  // namespace

std::unique_ptr<Executor> Executor::create(DataMode mode, std::uint32_t colors) {
  if (mode == DataMode::kGlobal) return std::make_unique<GlobalExecutor>();
  return std::make_unique<ColorExecutor>(colors);
}

}  // namespace lfdb::db
