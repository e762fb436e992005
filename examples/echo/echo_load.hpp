// The echo load client: N connections in a closed loop, each sending `pipeline` messages of
// `size` bytes and waiting for all of them to come back before sending again. Latency is taken
// per message, from the send of its batch to the arrival of its last byte.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "lf/histogram.hpp"
#include "lf/status.hpp"
#include "lf/time.hpp"

namespace echo {

struct LoadOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  int connections = 100;
  int size = 64;
  int pipeline = 1;
  int threads = 1;
  lf::Duration warmup = std::chrono::milliseconds(500);
  lf::Duration duration = std::chrono::seconds(2);
};

struct LoadResult {
  std::uint64_t requests = 0;  // messages echoed inside the measured window
  std::uint64_t all_messages = 0;  // echoed over the whole run, warm-up included (CPU per message)
  double seconds = 0;
  lf::Histogram latency_ns;
  std::uint64_t errors = 0;
  double rate() const { return seconds > 0 ? static_cast<double>(requests) / seconds : 0; }
};

// Runs the load. `on_window_start` and `on_window_end` are called at the edges of the measured
// window (the demo samples the server's counters there).
lf::Result<LoadResult> run_load(const LoadOptions& o, const std::function<void()>& on_window_start,
                                const std::function<void()>& on_window_end);

}  // namespace echo
