// lfdb::db::ClientLimits: the limits a session holds its own client to as it runs, live (CONFIG
// SET changes them between two commands):
//   - client-output-buffer-limit normal: replies built and not yet sent past the hard limit,
//     or past the soft one for its seconds on end, close the connection with none of them
//     sent, as Redis does. With the model's back-pressure (lf::SessionAction::kYield) a normal
//     client's unsent replies are at most lf::kReplyFlushBytes plus one reply, so a client
//     that does not read is held, not grown; the limit still ends one whose single reply (or
//     transaction) is larger. The pubsub class is the subscriber's outbox's (lf::Outbox).
//   - client-query-buffer-limit: a command not yet complete whose bytes pass it closes the
//     connection (Redis 7.0's "max query buffer length").
//   - proto-max-bulk-len: the longest bulk argument the request parser takes.
// Each disconnection is logged on stderr, as Redis logs it, and counted (INFO stats).
//
// Thread-safety: atomics, read relaxed by every serving thread; written by CONFIG SET.
#pragma once

#include <atomic>
#include <cstdint>

namespace lfdb::db {

struct ClientLimits {
  std::atomic<std::uint64_t> normal_hard{0};  // 0: none
  std::atomic<std::uint64_t> normal_soft{0};  // 0: none
  std::atomic<std::int64_t> normal_soft_seconds{0};
  std::atomic<std::uint64_t> query_buffer{1ull << 30};  // client-query-buffer-limit (1gb)
  std::atomic<std::uint64_t> max_bulk{512ull << 20};    // proto-max-bulk-len (512mb)
  // INFO stats, with Redis 7.2's names (7.0 counts neither).
  std::atomic<std::uint64_t> output_disconnections{0};
  std::atomic<std::uint64_t> query_disconnections{0};
};

}  // namespace lfdb::db
