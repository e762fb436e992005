// ServerSession: one client connection of lfdb-server. It cuts the input into commands
// (resp::RequestParser), resolves each at the one front door (commands::resolve: existence,
// arity), checks AUTH, MULTI and the write guards, and runs it through its binding:
//   - connection commands (HELLO, AUTH, CLIENT, MULTI, QUIT...) by their session handler, at
//     once, on the serving thread (session_commands.cpp);
//   - data commands through the Executor. When the command's colors are free it runs inline,
//     over argument views into the read buffer (no copy). When they are not, the arguments are
//     copied, the command is queued, and the session parks (SessionAction::kPark): the rest of
//     its pipeline waits with it, and the thread that runs the queued command writes its reply
//     and carries the connection on (docs/hue.md, trap 1).
//
// With `appendfsync always` a write's reply waits for the fsync that covers its log record: the
// session holds its replies (durable_->held), registers with the AppendLog and parks; the elected
// flusher calls committed() and that unparks it (docs/persistence.md).
//
// A command CLIENT PAUSE holds parks the same way (phase kBlocked, a waiter of kind kPause) with
// the command left unread in the input; released, the session processes it afresh.
//
// A blocking command (BLPOP...) that finds nothing registers a waiter on its keys and the session
// parks (phase kBlocked) until a writer, the timer, CLIENT UNBLOCK/KILL or shutdown settles it
// (db/blocking/registry.hpp); the settler unparks it, through the waiter's own Rendezvous.
//
// The session's phase says which of those it is in. States that later features add (a client
// subscribed to channels) become phases or modes here, next to these.
//
// Thread-safety: the model calls a session from one thread at a time; while parked, only the
// queued task (or the flusher's committed()) touches it, and it hands the session back through
// SessionHost::unpark(). Each park is met by an lf::Rendezvous: whichever side arrives second
// carries the connection on.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "db/batch_lookahead.hpp"
#include "db/blocking/registry.hpp"
#include "db/client.hpp"
#include "db/server.hpp"
#include "lf/concurrency_model.hpp"
#include "lf/rendezvous.hpp"
#include "resp/request_parser.hpp"

namespace lfdb::db {

// A client closed by CLIENT KILL or maxmemory-clients while parked (on keys, WAIT, CLIENT
// PAUSE) is settled so that it closes (session_commands.cpp).
void settle_killed(Server& server, std::uint64_t id);

class ServerSession final : public lf::Session, public CommitWaiter, public blocking::Sleeper {
 public:
  ServerSession(Server& server, const lf::InetAddr& peer);
  ~ServerSession() override;

  lf::SessionAction on_input(lf::InputBuffer& in, std::string& out) override;
  // Read on while replies wait for the socket (as Redis does) when a limit bounds what piles
  // up: client-output-buffer-limit normal, or maxmemory-clients for an evictable client.
  bool reads_while_output_waits() const override;
  // The connection's waiting replies grew (an append) or went out: omem and tot-mem recounted,
  // and maxmemory-clients enforced, as after a read (account()).
  void on_output_held() override;
  void committed(bool ok) override;
  void wake() override;  // a blocked command was settled (blocking::Sleeper)

  // ---- controls for the connection commands' handlers (session_commands.cpp) ----
  // AUTH / HELLO AUTH succeeded: the connection runs as `user` (registry generation seen).
  void authenticate(std::shared_ptr<const acl::User> user, std::uint64_t generation);
  void close_after_replies();      // QUIT, CLIENT KILL of this connection
  void shutdown_after_replies();   // SHUTDOWN: this connection closes, then the server stops
  void unwatch();                  // UNWATCH, and the end of every transaction
  void discard_transaction();      // DISCARD: the queue and the watches dropped
  void reset_connection();         // RESET
  // MONITOR: the line of a command this connection ran (nothing when no one monitors).
  void feed_monitors(const commands::CommandSpec& spec, std::span<const std::string_view> argv);
  // EXEC ran its commands (or aborted): its INFO commandstats count, and its MONITOR line
  // after the lines of the commands it ran.
  void finish_exec(bool failed);
  // SLOWLOG: a command this connection ran, if it took long enough.
  void slow_log(const commands::CommandSpec& spec, std::span<const std::string_view> argv,
                std::uint64_t usec);
  // WAIT: the connection parks on w once the command's handler returns (db/replication_wait.hpp).
  void park_on(std::shared_ptr<blocking::Waiter> w);

 private:
  enum class Phase : std::uint8_t {
    kServing,         // reading and running commands on the serving thread
    kAwaitingColors,  // parked: a queued command waits for its colors; its task unparks us
    kAwaitingCommit,  // parked: the replies wait for the fsync of our records (always)
    kBlocked,         // parked: a blocking command waits on its keys; its settler unparks us
  };
  // What becomes of the connection once the replies are out.
  // kOverOutputLimit: a handler stopped its reply at the output limit it was given
  // (CommandContext::reply_limit); that decided it: none of the replies is sent and the
  // connection closes, even if CONFIG SET lifted the limit meanwhile (over_output_limit).
  enum class Ending : std::uint8_t { kOpen, kClose, kCloseThenShutdown, kOverOutputLimit };
  // kHeld: CLIENT PAUSE holds the command (rare_->waiter registered), which stays unread.
  enum class Step { kDone, kParked, kClose, kHeld };

  lf::SessionAction process(lf::InputBuffer& in, std::string& out);
  // The commands at the front of the input, parsed once (into the thread's lookahead) with their
  // likely keys, and, when there are several, their key-table lines brought into cache together
  // before the first of them runs.
  void warm_batch(BatchLookahead& lookahead, std::string_view input);
  void set_user(std::shared_ptr<const acl::User> user, std::uint64_t generation);
  bool refresh_user();
  std::string acl_denied(const commands::CommandSpec& spec, std::uint16_t index,
                         std::span<const std::string_view> argv);
  // Before replies leave: under `always` they wait for the fsync of this session's records.
  lf::SessionAction settle(lf::SessionAction a, std::string& out);
  Step dispatch(std::span<const std::string_view> argv, std::string& out);
  // commands::resolve, remembering the last command resolved by its name's bytes.
  commands::Resolved resolve(std::span<const std::string_view> argv);
  Step execute(const BoundCommand& bc, std::span<const std::string_view> argv, std::string& out);
  // Runs a bound command's data handler writing to `out`.
  void run(const BoundCommand& bc, std::span<const std::string_view> argv, std::string& out);
  // maxmemory (db/memory/evictor.hpp): refused before it runs / room made as it runs.
  bool refused_for_memory(const commands::CommandSpec& spec) const;
  // EXEC: whether a queued command has the flag (false for any other command).
  bool queued_has(commands::Flag flag, const commands::CommandSpec& spec) const;
  bool make_room(const BoundCommand& bc, std::span<const std::string_view> argv, CommandContext& ctx);
  // Runs a connection command's session handler.
  void run_session(const BoundCommand& bc, std::span<const std::string_view> argv,
                   resp::Writer& w);
  // The task of a command that had to queue: reply into rare_->parked_out, then unpark.
  void run_parked();
  bool script_abandoned();
  Step meet_parked_task(std::string& out);
  // A blocking command registered a waiter (rare_->waiter): park until it is settled, or go on with
  // its outcome if it already was.
  Step block(std::string& out);
  // CLIENT PAUSE (db/client_pause.hpp): kHeld with rare_->waiter registered when the pause holds spec.
  Step hold_for_pause(const commands::CommandSpec& spec, std::span<const std::string_view> argv);
  Step unblocked(std::string& out);
  // The command counted in flight for CLIENT PAUSE (in_flight_) has run, or parks: it leaves.
  void leave_flight();
  // The ready-keys pass after a write invocation over `keys` (registry.hpp).
  void serve_blocked(std::span<const std::string_view> keys, std::uint32_t db, bool alone);
  void serve_ready_elsewhere(bool alone);
  void run_ready_pass(const commands::CommandSpec& spec, std::span<const std::string_view> argv,
                      std::uint32_t db);
  void on_attach() override;
  // client-output-buffer-limit normal over `unsent` bytes of replies: true (logged, counted)
  // when the connection must close.
  bool over_output_limit(std::size_t unsent);
  void cut_at_output_limit();  // a handler stopped its reply at CommandContext::reply_limit
  // The replies made and not yet taken by the socket: `out`, and what the model still holds.
  std::size_t unsent(const std::string& out) const {
    return out.size() + (host() != nullptr ? host()->unsent_output() : 0);
  }
  // Closing the client with none of its replies sent: this read's and those the model holds.
  void drop_unsent(std::string& out) {
    std::string().swap(out);  // a thread keeps its buffer up to lf::kReplyKeepBytes: not this one
    if (host() != nullptr) host()->discard_unsent();
  }
  // QUIT and the like: the replies go, then the connection closes. (kOverOutputLimit is not
  // that: over_output_limit() drops the replies after the command.)
  bool closing() const { return ending_ == Ending::kClose || ending_ == Ending::kCloseThenShutdown; }
  void leave_pubsub();
  // The cron's soft-limit clock: `unsent` (all the output not yet sent, as the outboxes were
  // drained) at or under the class's soft limit (ClientState::soft_under).
  void note_soft_under(std::size_t unsent);
  // After a read: the client's memory (CLIENT LIST tot-mem, omem, qbuf, multi-mem) published to
  // the registry, and maxmemory-clients enforced (client_limits.hpp). kClose when this client
  // was the one evicted.
  lf::SessionAction account(lf::SessionAction a, const lf::InputBuffer& in, std::string& out);
  // What the replies not yet sent hold: `out` (this read's), the connection's waiting buffer
  // (its capacity), those held for the disk or a parked command.
  std::size_t output_memory(const std::string& out) const;
  // maxmemory-clients: the sum over the limit evicts the heaviest (ClientRegistry::evict_over).
  void enforce_clients_limit();

  Step submit_parked(const Invocation& inv, const BoundCommand& bc,
                     std::span<const std::string_view> argv, std::string& out);
  Step rerun_alone(const BoundCommand& bc, std::span<const std::string_view> argv, std::string& out);
  Invocation alone_invocation();
  // An EVAL/EVALSHA/FCALL (or _RO) the server has not learnt to run on its keys' colors.
  bool script_runs_alone(const commands::CommandSpec& spec, std::span<const std::string_view> argv);
  void note_rerun_alone(std::string& out, std::size_t mark);
  [[gnu::cold, gnu::noinline]] bool note_error(const commands::CommandSpec& spec,
                                              const std::string& out, std::size_t mark,
                                              const CommandContext& ctx);
  struct TrackingScope {
    TrackingScope(ServerSession& s, const BoundCommand* bc, std::span<const std::string_view> argv);
    ~TrackingScope();
    ServerSession& session;
    const BoundCommand* bc;
    std::span<const std::string_view> argv;
    std::uint64_t prev_writer;
    bool prev_batch;
  };
  void note_caching(std::string_view name);  // the command's name (argv[0])
  void trim_tracking();

  Step exec(std::string& out);
  void run_transaction(std::string& out);

  Server& server_;
  ClientState client_;
  resp::RequestParser parser_;
  std::vector<std::uint64_t> hashes_;    // the current command's keys' hashes
  // The keys of the command being executed whose color hash is their key-table hash (no hash
  // tag), for its handler's lookups (CommandContext::key_hashes); cleared for every command.
  std::vector<CommandContext::KeyHash> key_hashes_;
  // The guessed keys of the commands at the front of the input (scanned by warm_batch) and the
  // arguments of a command the parser cut are the serving thread's, not the session's
  // (ProcessScratch in session.cpp): they are valid during one process() only (it scans afresh
  // first: the input's bytes move between reads), so an idle connection holds none of them
  // (issue 17). execute() takes a guess's hash from there instead of hashing the key again.
  // resolve()'s memo: the last command name (as spelled) that resolved to a command of its own
  // (not a container's subcommand), and that command.
  const commands::CommandSpec* last_spec_ = nullptr;
  std::array<char, 16> last_name_{};
  std::uint16_t last_index_ = 0;
  std::uint8_t last_name_len_ = 0;
  // (Members are ordered to leave no padding: every connection carries them.)
  Phase phase_ = Phase::kServing;
  lf::Rendezvous task_meeting_;          // the submitter and the queued task
  bool drop_reply_ = false;  // CLIENT REPLY OFF / SKIP: the parked command's reply is dropped
  bool exec_alone_ = false;              // the transaction being run holds every color
  // Scripts that reach past their declared keys run alone (db/scripting.hpp): script_alone_
  // while the command runs holding every color, rerun_alone_ when a run stopped to start over
  // alone, rerun_ during that second run (not counted or shown to MONITOR again).
  bool script_alone_ = false;
  bool rerun_alone_ = false;
  bool rerun_ = false;
  bool in_exec_ = false;                 // running EXEC's commands: none blocks, none serves
  // The current command counted itself in ClientPause's in-flight commands and has not left
  // yet. Touched by whichever thread runs the session (or its queued task) at the time.
  bool in_flight_ = false;
  bool last_was_client_ = false;         // the last command was a CLIENT subcommand (CACHING)
  std::int64_t obuf_soft_since_ms_ = 0;  // replies past the soft output limit since (0: not)
  std::size_t accounted_out_ = 0;  // the replies account() last counted in omem

  // Durability. commit_offset_ is the log offset this session's replies wait for (0: none);
  // the buffers are in durable_, made by the first write under appendonly or the first reply
  // held for the disk.
  std::uint64_t commit_offset_ = 0;
  std::uint32_t log_db_ = 0;  // the database log_buf's first record applies to
  lf::Rendezvous commit_meeting_;  // the parking session and the flusher
  std::uint32_t look_at_ = 0;  // the lookahead's command process() is at (here: no padding)
  bool in_transaction_ = false;
  bool commit_ok_ = false;         // committed()'s verdict, published by commit_meeting_
  bool close_after_commit_ = false;
  Ending ending_ = Ending::kOpen;

  // What a plain request/reply client never uses, made on its first use and kept (a client that
  // used it once is likely to again): an idle connection costs only what it needs (issue 17,
  // docs/memory.md "Memory per connection"). Made on the serving thread: a queued task finds it
  // made by the submitter, before submit() published the task.
  struct Tally {  // account()'s running sums, recounted only when their container's size moves
    std::size_t count = 0, bytes = 0;
  };
  struct Rare {
    OwnedCommand parked;                      // the command that queued, with its own bytes
    const BoundCommand* parked_bc = nullptr;  // nullptr: the queued task is a transaction
    std::string parked_out;                   // replies written while parked
    std::shared_ptr<blocking::Waiter> waiter;  // the blocking command's wait, until settled
    // The command a key's waiter blocks, with its own bytes, and the time it ran before it
    // blocked: the slow log has it once a writer serves it, as Redis logs it then (not when it
    // times out).
    OwnedCommand blocked;
    std::uint64_t blocked_us = 0;
    std::string exec_name;  // EXEC as the client spelled it (MONITOR shows it so)
    Tally queued_tally, watched_tally, subs_tally, prefixes_tally;
  };
  Rare& rare();
  // The append log's buffers: a client that never writes under appendonly, and whose replies
  // never wait for the disk, never makes them (two empty strings inline cost every connection 64
  // bytes). Made and touched on the serving thread, or by the parked task that owns the session.
  struct Durable {
    std::string log_buf;  // an invocation's records (a whole MULTI block in a transaction)
    std::string held;     // replies that wait for the disk (or for a parked command)
  };
  Durable& durable() {
    if (!durable_) durable_ = std::make_unique<Durable>();
    return *durable_;
  }
  bool holds_replies() const { return durable_ && !durable_->held.empty(); }
  // The replies held for the disk, put before `out`'s (they were written first).
  void release_held_before(std::string& out) {
    if (holds_replies()) {
      out.insert(0, durable_->held);
      durable_->held.clear();
    }
  }
  // A blocking command, WAIT or CLIENT PAUSE registered a wait this session has not met yet.
  bool waiting() const { return rare_ && rare_->waiter; }
  std::unique_ptr<Rare> rare_;
  std::unique_ptr<Durable> durable_;
};

}  // namespace lfdb::db
