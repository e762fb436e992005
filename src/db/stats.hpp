// Server statistics for INFO. Hot counters are striped per thread (each thread bumps its own
// cache line; INFO sums), so counting a command costs one uncontended atomic add.
//
// Thread-safety: all members are atomics.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

namespace lfdb::db {

class StripedCounter {
 public:
  void add(std::uint64_t n = 1) {
    slots_[slot()].v.fetch_add(n, std::memory_order_relaxed);
  }
  std::uint64_t sum() const {
    std::uint64_t s = 0;
    for (const auto& x : slots_) s += x.v.load(std::memory_order_relaxed);
    return s;
  }
  void reset() {
    for (auto& x : slots_) x.v.store(0, std::memory_order_relaxed);
  }

 private:
  static constexpr std::size_t kSlots = 16;
  struct alignas(64) Slot {
    std::atomic<std::uint64_t> v{0};
  };
  static std::size_t slot() {
    static std::atomic<std::size_t> next{0};
    thread_local const std::size_t mine = next.fetch_add(1, std::memory_order_relaxed) % kSlots;
    return mine;
  }
  std::array<Slot, kSlots> slots_;
};

struct ServerStats {
  StripedCounter commands;           // total_commands_processed
  StripedCounter parked;             // commands that waited for their color (connection parked)
  std::atomic<std::uint64_t> connections{0};   // total_connections_received
  std::atomic<std::uint64_t> expired_keys{0};
  std::atomic<std::uint64_t> expiry_cycles{0};
  std::atomic<std::uint64_t> protocol_errors{0};

  void reset() {
    commands.reset();
    parked.reset();
    connections = 0;
    expired_keys = 0;
    expiry_cycles = 0;
    protocol_errors = 0;
  }
};

}  // namespace lfdb::db
