// bench::Options: everything lfdb-bench is told on its command line, parsed with CLI11 and
// checked before anything connects (a bad value is a clear message and exit status 2).
// Thread-safety: a value; built once in main and read-only afterwards.
#pragma once

#include <cstdint>
#include <string>

#include "bench/random.hpp"

namespace bench {

enum class WorkloadKind { kGetSet, kReservation, kTransfer, kXQueue };

struct Options {
  // Where.
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string password;

  // How many and how fast.
  int connections = 50;
  int threads = 2;
  int pipeline = 1;          // operations in flight per connection (getset)
  double rate = 0;           // > 0: open loop, operations per second in all
  double duration_s = 10;    // measured seconds (unless --requests)
  std::uint64_t requests = 0;  // > 0: stop after this many measured operations
  double warmup_s = 0;
  double timeout_s = 10;     // an operation unanswered this long fails its connection

  // What.
  WorkloadKind workload = WorkloadKind::kGetSet;
  std::string txn = "multi";  // multi | eval (the OLTP workloads' transaction form)
  std::string key_prefix;     // prepended to every key, e.g. "run7:"
  std::uint64_t seed = 1;
  Distribution dist = Distribution::kUniform;
  double zipf_theta = 0.99;
  // getset
  std::uint32_t ratio_set = 1, ratio_get = 9;
  std::uint32_t value_size = 100;
  std::uint64_t keys = 100000;
  // reservation
  std::uint64_t flights = 100;
  std::int64_t seats = 200;
  // transfer
  std::uint64_t branches = 10;
  std::uint64_t tellers = 10;       // per branch
  std::uint64_t accounts = 1000;    // per branch
  std::int64_t initial_balance = 10000;
  std::int64_t max_delta = 1000;
  std::uint32_t max_retries = 1000;  // WATCH conflicts before an operation is given up

  // Output.
  std::string json;       // "" none, "-" stdout, else a file
  bool progress = false;  // live line even when stderr is no terminal
  bool quiet = false;     // no live line at all
  std::uint64_t max_errors = 0;

  bool open_loop() const { return rate > 0; }
};

// Parses argv. Returns 0 to go on, else the exit status to return at once (help printed: 0
// is reported as -1 so the caller can tell "go on" from "done").
int parse_options(int argc, char** argv, Options& o);

const char* workload_name(WorkloadKind k);

}  // namespace bench
