// MonitorFeed: the connections in MONITOR mode and the line every command executed sends them
// ("+<unix time>.<usec> [<db> <addr>|lua] "<arg>" ..."), as Redis's MONITOR.
//
// Each monitor has an outbox (lf::Outbox): a command's line is encoded once into an immutable
// frame that every monitor's outbox shares, and each monitor's own serving thread sends it in
// order with its replies; the thread that ran the command never writes to a monitor's socket.
//
// Thread-safety: a monitor (sendable_monitor). The list of monitors is guarded by mu_; any()
// is an atomic count read without the lock, so a server with no monitor pays one relaxed load
// per command.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lf/mutex.hpp"
#include "lf/outbox.hpp"

namespace lfdb::db {

class MonitorFeed {
 public:
  using sendable_monitor = void;

  void add(std::uint64_t client_id, std::shared_ptr<lf::Outbox> box);
  void remove(std::uint64_t client_id);
  bool any() const { return count_.load(std::memory_order_relaxed) != 0; }

  // A command run in database `db` by the client at `addr` ("lua" for a script's command).
  // AUTH's and HELLO's AUTH arguments are redacted, as Redis does.
  void feed(std::uint32_t db, std::string_view addr, std::span<const std::string_view> argv);

  // The line feed() sends (without the leading '+' and trailing CRLF): for tests of the format.
  static std::string line(std::int64_t sec, std::int64_t usec, std::uint32_t db,
                          std::string_view addr, std::span<const std::string_view> argv);

 private:
  lf::Mutex mu_;
  std::vector<std::pair<std::uint64_t, std::shared_ptr<lf::Outbox>>> monitors_ LF_GUARDED_BY(mu_);
  std::atomic<std::size_t> count_{0};
};

}  // namespace lfdb::db
