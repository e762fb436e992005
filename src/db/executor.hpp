// How a command's invocation gets the right to touch the keyspace: `--data colors` asks the
// hue scheduler (lock-free, per-color exclusion; a command that must wait is queued and its
// connection parks), `--data global` takes one mutex around every data access (ObjectStore's
// ObjectStore 5.1 model, kept as the measured baseline).
//
// Thread-safety: both executors are called by every serving thread at once.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "commands/command_table.hpp"
#include "db/config.hpp"
#include "lf/hue.hpp"
#include "lf/mutex.hpp"

namespace lfdb::db {

// How an invocation is placed, decided per command (and per EXEC).
enum class Placement : std::uint8_t {
  kKeys,        // on the colors of its keys (or of the connection, when it has none)
  kAllColors,   // on every color (KEYS, SCAN)
};

struct Invocation {
  lf::hue::HueId hue = 0;
  Placement placement = Placement::kKeys;
  std::span<const std::uint64_t> hashes;  // key hashes; may be empty
};

class Executor {
 public:
  virtual ~Executor() = default;
  // Runs `task` now if nothing conflicting runs (true); otherwise does nothing (false).
  virtual bool try_run(const Invocation& inv, lf::hue::Task& task) = 0;
  // Runs now or queues `task` to run on another thread later.
  virtual lf::hue::Submitted submit(const Invocation& inv, lf::hue::Task task) = 0;
  // Active expiry: runs `task` as the owner of one color's partition.
  virtual void submit_on_color(std::uint32_t color, lf::hue::Task task) = 0;
  // Waits until nothing is queued or running (not from inside a task).
  virtual void quiesce() = 0;
  virtual std::string stats() const = 0;
  virtual std::uint64_t queued_runs() const = 0;

  // The hue of each command class, and of the server's own work.
  lf::hue::HueId hue_of(commands::HueClass c) const { return class_hues_[static_cast<int>(c)]; }
  lf::hue::HueId exec_alone() const { return exec_alone_; }
  lf::hue::HueId expire_cycle() const { return expire_cycle_; }
  const lf::hue::HueMatrix& matrix() const { return *matrix_; }

  static std::unique_ptr<Executor> create(DataMode mode, std::uint32_t colors);

 protected:
  lf::hue::HueId class_hues_[16] = {};
  lf::hue::HueId exec_alone_ = 0;
  lf::hue::HueId expire_cycle_ = 0;
  std::unique_ptr<lf::hue::HueMatrix> matrix_;
};

}  // namespace lfdb::db
