// The replica's side of the stream: it cuts the log records it receives (RESP multibulk, as the
// primary's append-only log holds them) into whole transactions. A transaction is one command,
// or a MULTI ... EXEC block (what the primary logs for an EXEC and for a script's effects). The
// replica applies only whole transactions, each atomically, so its readers never see half of
// one; the bytes of an incomplete transaction at the end wait for the rest.
//
// Thread-safety: none; a cutter belongs to the replica's link thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "lf/status.hpp"

namespace lfdb::dispatch {

struct TransactionBatch {
  std::vector<std::string_view> args;       // every argument of every command, back to back
  std::vector<std::uint32_t> command_ends;  // per command: its end index in args (no MULTI/EXEC)
  std::vector<std::uint32_t> txn_ends;      // per transaction: its end index in command_ends
  std::size_t consumed = 0;                 // bytes of the input the whole transactions cover

  void clear() {
    args.clear();
    command_ends.clear();
    txn_ends.clear();
    consumed = 0;
  }
  std::size_t transactions() const { return txn_ends.size(); }
  // Calls fn(std::span<const std::string_view> argv) for each command of transaction t.
  template <class Fn>
  void for_each_command(std::size_t t, Fn&& fn) const {
    std::uint32_t c = t == 0 ? 0 : txn_ends[t - 1];
    for (; c < txn_ends[t]; ++c) {
      const std::uint32_t a = c == 0 ? 0 : command_ends[c - 1];
      fn(std::span<const std::string_view>(args.data() + a, command_ends[c] - a));
    }
  }
};

// Parses `input` from its start into `out` (cleared first): the whole transactions at its
// front; out.consumed says how far they reach. Views in `out` point into `input`. An error
// means the stream is not log records (the link is dropped and the replica resyncs).
lf::Status cut_transactions(std::string_view input, TransactionBatch& out);

}  // namespace lfdb::dispatch
