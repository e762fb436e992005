// The workloads lfdb-bench runs, and helpers their terminals share.
// Thread-safety: see terminal.hpp (Workload shared, Terminal per connection, Tally per worker).
#pragma once

#include <memory>
#include <string>

#include "bench/options.hpp"
#include "bench/terminal.hpp"

namespace bench {

lf::Result<std::unique_ptr<Workload>> make_workload(const Options& o);
lf::Result<std::unique_ptr<Workload>> make_getset(const Options& o);
lf::Result<std::unique_ptr<Workload>> make_reservation(const Options& o);
lf::Result<std::unique_ptr<Workload>> make_transfer(const Options& o);
lf::Result<std::unique_ptr<Workload>> make_xqueue(const Options& o);

// The kind of an error reply: its first word ("ERR", "WRONGTYPE", "EXECABORT", "NOAUTH"), which
// is how Redis classifies errors, so a summary can count them by kind.
std::string error_kind(const resp::Frame& error_reply);

// Runs a set-up batch; an error reply to any command fails the set-up, naming the command.
lf::Status run_setup(SyncClient& c, const std::vector<Command>& cmds);

// A stored procedure's reply (reservation and transfer with --txn eval): true with its integer
// result; false with the failure recorded in `result` when it is anything else (an error after
// the script began may have left part of it done: the caller counts the operation in doubt).
bool script_result(const resp::Frame& reply, OpResult& result, std::int64_t& value);

// Whether a reply is the simple string `text` ("OK", "QUEUED").
bool is_status(const resp::Frame& reply, std::string_view text);

}  // namespace bench
