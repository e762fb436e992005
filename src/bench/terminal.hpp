// bench::Terminal and bench::Workload: what a simulated terminal says on its connection, and the
// run-wide part of a workload (set-up, one terminal per connection, the invariant check).
//
// The engine owns the sockets and the clock; a Terminal only writes commands and reads replies.
// An operation is what the latency histogram measures: one GET or SET for getset, one whole
// transaction for the OLTP workloads (its WATCH retries included, as the terminal's user
// would wait through them).
//
// Thread-safety: a Terminal belongs to one connection, driven by one worker thread. A Workload
// is shared: make_terminal() is called by worker threads while they connect, so it only reads
// immutable configuration; each worker's terminals write that worker's Tally (one per worker,
// never shared), and verify() reads the tallies after every worker has been joined.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "bench/random.hpp"
#include "bench/sync_client.hpp"
#include "lf/status.hpp"
#include "resp/reply_parser.hpp"

namespace bench {

// How one operation ended.
struct OpResult {
  std::string_view outcome;  // a normal ending: "get", "set", "booked", "sold_out", ...
  std::string error;         // not empty: the operation failed, this is its kind ("ERR", ...)
  std::uint32_t retries = 0; // WATCH conflicts it went through (EXEC answered nil)

  void fail(std::string kind) {
    if (error.empty()) error = std::move(kind);
  }
};

class Terminal {
 public:
  virtual ~Terminal() = default;
  // Starts an operation: appends its first commands to `out`. With --pipeline > 1 (getset only)
  // several operations are in flight and their replies come back in order.
  virtual void begin(std::string& out) = 0;
  // The next reply, for the oldest operation in flight. Returns true when that operation is
  // finished (and fills `result`); false when it goes on, having maybe appended commands to `out`.
  virtual bool on_reply(const resp::Frame& reply, std::string& out, OpResult& result) = 0;
  // The connection is gone with this terminal's operations unfinished. A terminal whose EXEC was
  // sent but not answered cannot know whether it committed, and records it as in doubt.
  virtual void abandon() = 0;
};

// The outcome of the invariant check.
struct InvariantReport {
  bool checked = false;  // the workload has an invariant and it was read back
  bool ok = true;
  std::string summary;                // one line: what was checked and what held
  std::vector<std::string> failures;  // one line per broken check (capped)
  std::uint64_t failed_checks = 0;    // all broken checks, also those not listed
  std::uint64_t in_doubt = 0;         // operations whose commit is unknown (connection lost)

  void fail(std::string line) {
    ok = false;
    ++failed_checks;
    if (failures.size() < 20) failures.push_back(std::move(line));
  }
};

class Workload {
 public:
  virtual ~Workload() = default;
  virtual std::string_view name() const = 0;
  // Called once before any worker starts: how many workers (tallies) there will be.
  virtual void prepare(int workers) = 0;
  // Writes what the run needs (flights, accounts). Runs on one blocking connection.
  virtual lf::Status setup(SyncClient& client) = 0;
  virtual std::unique_ptr<Terminal> make_terminal(int worker, std::uint64_t index, Rng rng) = 0;
  // Reads everything back and checks the workload's invariant against what the terminals saw
  // acknowledged. Workloads without an invariant return checked = false.
  virtual InvariantReport verify(SyncClient& client) = 0;
};

}  // namespace bench
