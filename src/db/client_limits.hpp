// lfdb::db::ClientLimits: the limits a session holds its own client to as it runs, live (CONFIG
// SET changes them between two commands):
//   - client-output-buffer-limit normal: replies built and not yet sent past the hard limit,
//     or past the soft one for its seconds on end, close the connection with none of them
//     sent, as Redis does. A normal client is read on while its replies wait
//     (ServerSession::reads_while_output_waits), as Redis reads on: a client that writes its
//     whole pipeline before it reads would otherwise deadlock with the server. With no limit
//     (the default, 0 0 0) its replies pile up as Redis's do, bounded by maxmemory-clients and
//     maxmemory only. The pubsub class is the subscriber's outbox's (lf::Outbox).
//   - client-query-buffer-limit: a command not yet complete whose bytes pass it closes the
//     connection (Redis 7.0's "max query buffer length").
//   - proto-max-bulk-len: the longest bulk argument the request parser takes.
//   - maxmemory-clients: when the memory of every client together (CLIENT LIST's tot-mem,
//     ClientRegistry::account) passes it, the heaviest clients not under CLIENT NO-EVICT are
//     closed until the sum is under it again (Redis 7.0's client eviction). Bytes, or a
//     percentage of maxmemory; 0 (or a percentage while maxmemory is 0): no limit.
// Each disconnection is logged on stderr, as Redis logs it, and counted (INFO stats).
//
// Thread-safety: atomics, read relaxed by every serving thread; written by CONFIG SET.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <string_view>

namespace lfdb::db {

struct ClientLimits {
  std::atomic<std::uint64_t> normal_hard{0};  // 0: none
  std::atomic<std::uint64_t> normal_soft{0};  // 0: none
  std::atomic<std::int64_t> normal_soft_seconds{0};
  std::atomic<std::uint64_t> query_buffer{1ull << 30};  // client-query-buffer-limit (1gb)
  std::atomic<std::uint64_t> max_bulk{512ull << 20};    // proto-max-bulk-len (512mb)
  std::atomic<std::uint64_t> maxmemory_clients_bytes{0};  // maxmemory-clients as bytes, or
  std::atomic<std::uint32_t> maxmemory_clients_percent{0};  // as a percentage of maxmemory
  // INFO stats, with Redis 7.2's names (7.0 counts neither).
  std::atomic<std::uint64_t> output_disconnections{0};
  std::atomic<std::uint64_t> query_disconnections{0};
  std::atomic<std::uint64_t> evicted_clients{0};  // INFO stats evicted_clients (Redis 7.0's)

  // The value as Config normalized it: "<bytes>" or "<n>%".
  void set_maxmemory_clients(std::string_view v) {
    const bool pct = !v.empty() && v.back() == '%';
    std::uint64_t n = 0;
    for (char ch : pct ? v.substr(0, v.size() - 1) : v) n = n * 10 + static_cast<std::uint64_t>(ch - '0');
    maxmemory_clients_percent.store(pct ? static_cast<std::uint32_t>(n) : 0, std::memory_order_relaxed);
    maxmemory_clients_bytes.store(pct ? 0 : n, std::memory_order_relaxed);
  }
  // The clients' limit in bytes now (0: none). As in Redis, never under kMinMaxmemoryClients,
  // so that a too small setting still lets a client in to change it.
  static constexpr std::uint64_t kMinMaxmemoryClients = 128 << 10;
  std::uint64_t maxmemory_clients(std::uint64_t maxmemory) const {
    const std::uint32_t pct = maxmemory_clients_percent.load(std::memory_order_relaxed);
    const std::uint64_t limit =
        pct != 0 ? maxmemory / 100 * pct : maxmemory_clients_bytes.load(std::memory_order_relaxed);
    return limit == 0 ? 0 : std::max(limit, kMinMaxmemoryClients);
  }
};

}  // namespace lfdb::db
