// Eviction: a writer makes room within its own colors before it writes (docs/memory.md).
//
// Which thread evicts: the one running the write, inside its invocation, after it holds its
// keys' colors and before its handler runs. It samples keys only in the partitions of the colors
// it holds (in every database: a color owns its partition in each), so it never needs, waits for
// or holds a color another invocation needs, and its evictions are logged as DELs among its own
// records (replicas and the log see them in the same order as the write), counted
// (evicted_keys) and notified (`evicted`), exactly like a lazy expiry.
//
// When its colors hold nothing the policy may evict while other colors do, the write goes on
// over the limit (their own writers evict there); a deny-oom command is refused with Redis's OOM
// error only when nothing in the whole keyspace can be evicted (noeviction, or a volatile policy
// and no key with a TTL), which is when Redis refuses it too.
//
// Thread-safety: make_room runs on the invocation that holds `keys`' colors.
#pragma once

#include <atomic>
#include <cstdint>
#include <span>
#include <string_view>

namespace lfdb::db {
class Databases;
class Partition;
}

namespace lfdb::db::memory {

inline constexpr std::string_view kErrOom = "OOM command not allowed when used memory > 'maxmemory'.";

struct EvictionCounters {
  std::atomic<std::uint64_t> evicted_keys{0};
  std::atomic<std::uint64_t> eviction_exceeded_time{0};  // writes that stopped at the tenacity budget
};
EvictionCounters& counters();

// True when used memory is over maxmemory and nothing anywhere can be evicted: a deny-oom
// command must be refused. Cheap (an atomic load) when no limit is set. Needs no color.
bool out_of_memory(const Databases& dbs);

// Evicts keys of `colors` (each once: the colors of the keys of a write whose invocation holds
// them, bringing `incoming` bytes of arguments) until used memory is under maxmemory, or twice
// `incoming` is freed, or the tenacity budget is spent. Returns whether deny-oom commands must
// be refused afterwards (out_of_memory() after the evictions). `short_of_share`: the colors ran
// out of candidates before this write's share was freed: the caller then has other colors drain
// (Server::drain_over_limit). A write that freed its share, or declined a poor candidate while
// the overshoot is small, leaves the rest to the writes that made it, which costs no sweep.
bool make_room(Databases& dbs, std::span<const std::uint32_t> colors, std::size_t incoming,
               std::int64_t now_ms, bool& short_of_share);

// CONFIG SET maxmemory below what is used (Server::evict_over_limit), and the drain of what a
// writer's own colors could not free (Server::drain_over_limit): evicts keys of one partition,
// on the invocation that owns it, until used memory is at most `limit`, or the sweeps sharing
// `to_free` (the overshoot when they were sent, as Redis fixes what to free before it starts)
// freed that much, or `most` keys went, or the partition has nothing the policy may evict.
// The fixed amount is what keeps memory the evictions themselves allocate (a tracked key's
// invalidations, growing the clients' output) from asking for more evictions without end.
// `picky`: a candidate much fresher (LRU) or more used (LFU) than the colors' running bar is
// left, so the caller can look in another color first (the drain's first colors).
// Returns how many went.
std::uint64_t evict_down_to(Partition& p, std::uint64_t limit, std::int64_t now_ms, std::atomic<std::int64_t>& to_free,
                            std::uint64_t most = UINT64_MAX, bool picky = false);

}  // namespace lfdb::db::memory
