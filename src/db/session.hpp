// ServerSession: one client connection of lfdb-server. It cuts the input into commands
// (resp::RequestParser), validates each against the command table (existence, arity, AUTH,
// MULTI), and runs it:
//   - connection commands (HELLO, AUTH, CLIENT, MULTI, ...) at once, on the serving thread;
//   - data commands through the Executor. When the command's colors are free it runs inline,
//     over argument views into the read buffer (no copy). When they are not, the arguments are
//     copied, the command is queued, and the session parks (SessionAction::kPark): the rest of
//     its pipeline waits with it, and the thread that runs the queued command writes its reply
//     and carries the connection on (docs/hue.md, trap 1).
//
// With `appendfsync always` a write's reply waits for the fsync that covers its log record: the
// session holds its replies (held_), registers with the AppendLog and parks; the elected
// flusher calls committed() and that unparks it (docs/persistence.md).
//
// Thread-safety: the model calls a session from one thread at a time; while parked, only the
// queued task (or the flusher's committed()) touches it, and it hands the session back through
// SessionHost::unpark().
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "db/client.hpp"
#include "db/server.hpp"
#include "lf/concurrency_model.hpp"
#include "resp/request_parser.hpp"

namespace lfdb::db {

class ServerSession final : public lf::Session, public CommitWaiter {
 public:
  ServerSession(Server& server, const lf::InetAddr& peer);
  ~ServerSession() override;

  lf::SessionAction on_input(lf::InputBuffer& in, std::string& out) override;
  void committed(bool ok) override;

 private:
  enum class Step { kDone, kParked, kClose };

  lf::SessionAction process(lf::InputBuffer& in, std::string& out);
  // Before replies leave: under `always` they wait for the fsync of this session's records.
  lf::SessionAction settle(lf::SessionAction a, std::string& out);
  Step dispatch(std::span<const std::string_view> argv, std::string& out);
  Step execute(const BoundCommand& bc, std::span<const std::string_view> argv, std::string& out);
  // Runs a bound command's handler (or connection command) writing to `out`.
  void run(const BoundCommand& bc, std::span<const std::string_view> argv, std::string& out);
  // The task of a command that had to queue: reply into parked_out_, then unpark.
  void run_parked();
  bool script_abandoned();
  Step meet_parked_task(std::string& out);
  void on_attach() override;

  // Connection commands, answered by the session itself. Return false to close after reply.
  bool connection_command(const BoundCommand& bc, std::span<const std::string_view> argv,
                          resp::Writer& w);
  void hello(std::span<const std::string_view> argv, resp::Writer& w);
  void auth(std::span<const std::string_view> argv, resp::Writer& w);
  void client(const commands::CommandSpec& spec, std::span<const std::string_view> argv,
              resp::Writer& w);
  void command(const commands::CommandSpec& spec, std::span<const std::string_view> argv,
               resp::Writer& w);
  Step exec(std::string& out);
  void run_transaction(std::string& out);
  void unwatch();
  void shutdown_command(std::span<const std::string_view> argv, resp::Writer& w);
  void debug_command(std::span<const std::string_view> argv, resp::Writer& w);

  Server& server_;
  ClientState client_;
  resp::RequestParser parser_;
  std::vector<std::string_view> argv_;   // the current command (views into the input)
  std::vector<std::uint64_t> hashes_;    // its keys' hashes
  OwnedCommand parked_;                  // the command that queued, with its own bytes
  const BoundCommand* parked_bc_ = nullptr;
  std::string parked_out_;               // replies written while parked
  bool close_ = false;                   // QUIT/SHUTDOWN/kill: close after the replies
  bool shutdown_after_ = false;
  // Rendezvous of the submitter and the parked task (see meet_parked_task).
  std::atomic<int> park_{0};

  // Durability. log_buf_ collects an invocation's records (a whole MULTI block in a
  // transaction); commit_offset_ is the log offset this session's replies wait for (0: none).
  std::string log_buf_;
  bool in_transaction_ = false;
  std::uint64_t commit_offset_ = 0;
  std::string held_;               // replies that wait for the disk (or for a parked command)
  bool awaiting_commit_ = false;   // parked until committed()
  bool commit_ok_ = false;         // committed()'s verdict, published by commit_park_
  bool close_after_commit_ = false;
  std::atomic<int> commit_park_{0};  // rendezvous of the parking session and the flusher
};

}  // namespace lfdb::db
