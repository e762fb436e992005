// bench::Report: the run's summary as text (for people) and as JSON (for scripts: `make demo`,
// `make bench`), and the live progress line.
// Thread-safety: values and free functions; used by the main thread only.
#pragma once

#include <cstdio>
#include <string>

#include "bench/engine.hpp"
#include "bench/options.hpp"
#include "bench/terminal.hpp"

namespace bench {

struct Report {
  const Options* opt = nullptr;
  std::string target;       // "127.0.0.1:6379"
  RunStats stats;
  InvariantReport invariant;
  bool errors_over_limit = false;
  int exit_code = 0;
};

// One line per second: "[   3.0s] ops/s 41234  p50 0.212 ms  p99 1.301 ms  errors 0".
std::string progress_line(const Interval& iv);
void print_text(const Report& r, std::FILE* out);
// The JSON document; see docs/bench.md for its fields.
std::string to_json(const Report& r);

}  // namespace bench
