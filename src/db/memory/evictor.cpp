#include "db/memory/evictor.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <random>

#include "db/keyspace.hpp"
#include "db/memory/allocator.hpp"
#include "db/memory/object_size.hpp"

namespace lfdb::db::memory {
namespace {

// The samples' random numbers: splitmix64, a counter and a mix of it. A sample draws a number per
// key (two per key it does not find) and mt19937_64's refill of its 312 words showed in perf;
// eviction needs numbers spread evenly, not unpredictable ones.
struct SplitMix {
  std::uint64_t state;
  std::uint64_t operator()() {
    std::uint64_t z = state += 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
};

SplitMix& rng() {
  thread_local SplitMix r{(static_cast<std::uint64_t>(std::random_device{}()) << 32) ^ std::random_device{}()};
  return r;
}

// Stops at the first partition that has a candidate: a full scan (every color of every
// database) only when there is none, which is when the server refuses writes anyway.
bool anything_evictable(const Databases& dbs, Policy policy) {
  if (policy == Policy::kNoEviction) return false;
  const bool vol = is_volatile(policy);
  for (std::uint32_t d = 0; d < dbs.count(); ++d) {
    const Keyspace& ks = dbs.db(d);
    for (std::uint32_t c = 0; c < ks.colors(); ++c) {
      if ((vol ? ks.at(c).expires() : ks.at(c).size()) != 0) return true;
    }
  }
  return false;
}

// The best candidate seen in one round: the higher the score, the better to evict. The node
// stays valid until the round's eviction (nothing is erased while a round samples), so a round
// copies no key and the evictor needs no second lookup to size what it evicts. A key drawn from
// the key table also has its place there (`at`), so its erase needs neither a hash nor a probe.
struct Candidate {
  Partition* part = nullptr;
  const KeyNode* node = nullptr;
  KeyTable::Pick at;  // at.node == nullptr: not drawn from the table (a volatile policy's sample)
  double score = 0;
};

double score_of(const Partition& p, const Entry& e, Policy policy, std::int64_t now_ms) {
  switch (policy) {
    case Policy::kAllKeysLru:
    case Policy::kVolatileLru:
      return static_cast<double>(idle_ms(read(e.value.access), now_ms));
    case Policy::kAllKeysLfu:
    case Policy::kVolatileLfu:
      return 255.0 - static_cast<double>(lfu_decayed(read(e.value.access), now_ms));
    case Policy::kVolatileTtl:
      return -static_cast<double>(p.expire_at(e));  // the soonest deadline first
    default:
      return static_cast<double>(rng()() >> 11);  // random
  }
}

void consider(Partition& p, const KeyNode& n, const KeyTable::Pick& at, Policy policy, std::int64_t now_ms,
              Candidate& best) {
  const double s = score_of(p, n.entry, policy, now_ms);
  if (best.part == nullptr || s > best.score) best = {&p, &n, at, s};
}

// Samples up to n keys of p (those with a TTL under a volatile policy) into best.
void sample(Partition& p, Policy policy, int samples, std::int64_t now_ms, Candidate& best) {
  const KeyTable& map = p.map();
  if (map.empty()) return;
  const int n = static_cast<int>(std::min<std::size_t>(static_cast<std::size_t>(samples), map.size()));
  if (is_volatile(policy)) {
    const auto& exp = p.expiring();
    if (exp.empty()) return;
    const std::size_t buckets = exp.bucket_count();
    std::size_t b = rng()() % buckets;
    for (int taken = 0, looked = 0; taken < n && looked < static_cast<int>(buckets); ++looked) {
      for (auto it = exp.begin(b); it != exp.end(b) && taken < n; ++it, ++taken) {
        consider(p, *KeyNode::of(it->first), {}, policy, now_ms, best);
      }
      if (++b == buckets) b = 0;
    }
    return;
  }
  // n keys drawn from the whole table, each key as likely as any other, with no hashing. The
  // draws are made together (KeyTable::pick): their slots' and nodes' cache misses overlap, where
  // one draw after another waited for each (three quarters of the evictor's cycles in perf).
  KeyTable::Pick picks[KeyTable::kMaxPicks];
  const int got = map.pick(rng(), picks, n);
  for (int i = 0; i < got; ++i) consider(p, *picks[i].node, picks[i], policy, now_ms, best);
}

// Evicts best (what sample() chose); returns the bytes it gave back to used_memory: what the
// allocator's per-thread counters saw the erase free (Partition::evict), or MEMORY USAGE's
// estimate without them. The estimate was up to about 90 bytes a key above what the allocator
// got back (the expires index's bucket array, size classes), and a writer that took the
// estimate off the gauge and stopped there left that much over the limit with every write:
// Redis's unit/maxmemory ended 20-130 KB over after 1,000 small writes (docs/memory.md).
std::uint64_t evict(const Candidate& best) {
  const bool measured = has_thread_counters();
  const std::uint64_t estimate =
      measured ? 0 : best.node->key().size() + key_usage(best.node->key(), best.node->entry, 5);
  const std::uint64_t freed =
      best.at.node != nullptr ? best.part->evict(best.at) : best.part->evict(KeyRef(best.node->key()));
  return measured ? freed : estimate;
}

// The databases that hold keys, as a bit per database (the first 64; any further database is
// always sampled), refreshed at most every kDbsRefreshMs by one writer. A round samples only
// these, so a write in database 0 does not read the fifteen empty databases' partitions: their
// cold cache lines were a quarter of the sampling's cost in perf. A database that gains its
// first keys is sampled from the next refresh on.
constexpr std::int64_t kDbsRefreshMs = 100;
std::atomic<std::uint64_t> g_db_mask{0};
std::atomic<std::int64_t> g_db_mask_ms{0};  // when it was refreshed (0: never)

std::uint64_t databases_with_keys(const Databases& dbs, std::int64_t now_ms) {
  std::int64_t at = g_db_mask_ms.load(std::memory_order_relaxed);
  if ((now_ms - at >= kDbsRefreshMs || now_ms < at) &&
      g_db_mask_ms.compare_exchange_strong(at, now_ms, std::memory_order_relaxed)) {
    std::uint64_t mask = 0;
    for (std::uint32_t d = 0; d < dbs.count() && d < 64; ++d) {
      if (dbs.db(d).size() != 0) mask |= std::uint64_t{1} << d;
    }
    g_db_mask.store(mask, std::memory_order_relaxed);
  }
  return g_db_mask.load(std::memory_order_relaxed);
}

// How long one write may keep evicting: 500 µs at the default tenacity 10, growing 15% per step,
// unbounded at 100 (the shape Redis documents for maxmemory-eviction-tenacity).
std::int64_t budget_us(int tenacity) {
  if (tenacity >= 100) return -1;
  return static_cast<std::int64_t>(500.0 * std::pow(1.15, tenacity - 10));
}

// The colors' shared sense of what a good candidate is: a running average of the best score
// each LRU/LFU round found. A writer whose colors hold only keys much fresher (or more used)
// than that leaves the eviction to writers of other colors while the overshoot is small, so
// a color that happens to be written often is not emptied of its hot keys (docs/memory.md).
std::atomic<double> g_bar{0.0};

bool below_bar(const Candidate& best, Policy policy) {
  if (policy != Policy::kAllKeysLru && policy != Policy::kVolatileLru && policy != Policy::kAllKeysLfu &&
      policy != Policy::kVolatileLfu) {
    return false;
  }
  const double bar = g_bar.load(std::memory_order_relaxed);
  g_bar.store(bar + (best.score - bar) / 64.0, std::memory_order_relaxed);
  return best.score < 0.8 * bar;
}

}  // namespace

EvictionCounters& counters() {
  static EvictionCounters c;
  return c;
}

bool out_of_memory(const Databases& dbs) {
  const std::uint64_t max = live().maxmemory.load(std::memory_order_relaxed);
  if (max == 0 || gauge().used() <= max) return false;
  return !anything_evictable(dbs, live().policy.load(std::memory_order_relaxed));
}

bool make_room(Databases& dbs, std::span<const std::uint32_t> colors, std::size_t incoming,
               std::int64_t now_ms, bool& short_of_share) {
  short_of_share = false;
  const Limits lim = live().load();
  if (lim.maxmemory == 0) return false;
  std::uint64_t used = gauge().used(incoming);
  if (used <= lim.maxmemory) return false;
  if (lim.policy == Policy::kNoEviction) return out_of_memory(dbs);
  // What this write frees: what is over, but no more than about what it brings while the
  // overshoot is small (then each color evicts as fast as it grows, and a color that happens to
  // be written often is not emptied of its hot keys), twice that when it is not (so the
  // overshoot other writers ran up before the gauge's refresh drains within a few writes).
  const std::uint64_t over = used - lim.maxmemory;
  const std::uint64_t soft = std::min<std::uint64_t>(256 << 10, lim.maxmemory / 16);
  const std::uint64_t need = std::min<std::uint64_t>(over, over < soft ? incoming + 128 : 2 * incoming + 512);

  const auto started = std::chrono::steady_clock::now();
  const std::int64_t budget = budget_us(lim.tenacity);
  std::uint64_t freed = 0, evicted = 0;
  const std::uint64_t with_keys = databases_with_keys(dbs, now_ms);
  bool dry = false;
  while (freed < need) {
    Candidate best;
    for (std::uint32_t c : colors) {
      for (std::uint32_t d = 0; d < dbs.count(); ++d) {
        if ((d < 64 && (with_keys >> d & 1) == 0) || !dbs.db(d).used()) continue;
        sample(dbs.db(d).at(c), lim.policy, lim.samples, now_ms, best);
      }
    }
    if (best.part == nullptr) {  // nothing left to evict in our colors
      dry = true;
      break;
    }
    // Small overshoot: the 1/16 of maxmemory (at most 256 KB) the writers of other colors may
    // take care of, when our best is a poor candidate.
    if (below_bar(best, lim.policy) && over < soft) break;
    freed += evict(best);
    ++evicted;
    if (budget >= 0 && (evicted & 15) == 0 &&
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started).count() > budget) {
      counters().eviction_exceeded_time.fetch_add(1, std::memory_order_relaxed);
      break;
    }
  }
  if (evicted != 0) {
    counters().evicted_keys.fetch_add(evicted, std::memory_order_relaxed);
    gauge().forget(freed);
  }
  // Short only when our colors ran out: a writer that declined a poor candidate leaves the small
  // overshoot to the next writers, as before the drain (a drain for every decline cost about 40%
  // more CPU per SET at the limit with 1M keys, in sweeps).
  short_of_share = dry && freed < need;
  return out_of_memory(dbs);
}

std::uint64_t evict_down_to(Partition& p, std::uint64_t limit, std::int64_t now_ms, std::atomic<std::int64_t>& to_free,
                            std::uint64_t most, bool picky) {
  const Limits lim = live().load();
  if (limit == 0 || lim.policy == Policy::kNoEviction) return 0;
  std::uint64_t evicted = 0;
  while (evicted < most && to_free.load(std::memory_order_relaxed) > 0 && gauge().used() > limit) {
    Candidate best;
    sample(p, lim.policy, lim.samples, now_ms, best);
    if (best.part == nullptr) break;  // nothing here the policy may evict
    if (picky && below_bar(best, lim.policy)) break;  // a poor candidate: the next color's may be better
    const std::uint64_t freed = evict(best);
    gauge().forget(freed);
    to_free.fetch_sub(static_cast<std::int64_t>(freed), std::memory_order_relaxed);
    ++evicted;
  }
  if (evicted != 0) counters().evicted_keys.fetch_add(evicted, std::memory_order_relaxed);
  return evicted;
}

}  // namespace lfdb::db::memory
