// bench::WatchedTransaction: the shape every OLTP terminal shares. One operation is
//   WATCH k; GET k                      read the row the decision depends on
//   UNWATCH                             when the read says no (sold out, insufficient funds)
//   MULTI; <writes>; EXEC               otherwise; EXEC answers nil when k changed since WATCH,
//                                       and the whole operation starts again (a retry)
// Subclasses choose the row, decide from its value, queue the writes and check what EXEC
// returned; this class keeps count of the replies each step owes and of the retries, so a
// subclass never sees a reply out of place.
// Thread-safety: a Terminal: one connection, one worker thread.
#pragma once

#include <string>
#include <string_view>

#include "bench/options.hpp"
#include "bench/terminal.hpp"

namespace bench {

class WatchedTransaction : public Terminal {
 public:
  explicit WatchedTransaction(const Options& o) : o_(o) {}
  void begin(std::string& out) final;
  bool on_reply(const resp::Frame& reply, std::string& out, OpResult& result) final;
  void abandon() final;

 protected:
  // Picks the operation's row and parameters (once per operation, kept across retries).
  virtual void choose() = 0;
  virtual std::string_view watch_key() const = 0;
  // The watched row's value (the GET reply, not an error). Returns true to commit; false ends
  // the operation with `result.outcome` set (a normal ending) or `result.fail(...)` called.
  virtual bool plan(const resp::Frame& value, OpResult& result) = 0;
  // Appends the commands between MULTI and EXEC; returns how many.
  virtual std::size_t queue(std::string& out) = 0;
  // EXEC's array (the transaction ran): check it, record the acknowledgement, set the outcome.
  virtual void committed(const resp::Frame& exec, OpResult& result) = 0;
  // EXEC was sent and its reply will never come: it may or may not have run.
  virtual void in_doubt() = 0;

  const Options& o_;

 private:
  enum class Step { kIdle, kRead, kDecline, kCommit };
  void send_read(std::string& out);
  bool finish(OpResult& result);

  Step step_ = Step::kIdle;
  std::size_t left_ = 0;    // replies this step still owes
  std::size_t index_ = 0;   // replies of this step seen so far
  std::size_t queued_ = 0;  // commands between MULTI and EXEC
  std::uint32_t retries_ = 0;
  bool proceed_ = false;
  OpResult pending_;        // the ending decided before the step's last reply
};

}  // namespace bench
