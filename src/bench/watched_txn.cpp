#include "bench/watched_txn.hpp"

#include "bench/workloads.hpp"
#include "resp/writer.hpp"

namespace bench {

void WatchedTransaction::begin(std::string& out) {
  LF_CHECK(step_ == Step::kIdle);
  retries_ = 0;
  choose();
  send_read(out);
}

void WatchedTransaction::send_read(std::string& out) {
  std::string_view watch[] = {"WATCH", watch_key()};
  std::string_view get[] = {"GET", watch_key()};
  resp::append_command(out, watch);
  resp::append_command(out, get);
  step_ = Step::kRead;
  left_ = 2;
  index_ = 0;
  proceed_ = false;
  pending_ = OpResult{};
}

bool WatchedTransaction::finish(OpResult& result) {
  result = std::move(pending_);
  result.retries = retries_;
  step_ = Step::kIdle;
  return true;
}

bool WatchedTransaction::on_reply(const resp::Frame& reply, std::string& out, OpResult& result) {
  LF_CHECK(step_ != Step::kIdle && left_ > 0);
  ++index_;
  --left_;
  switch (step_) {
    case Step::kRead:
      if (reply.is_error()) {
        pending_.fail(error_kind(reply));
      } else if (index_ == 1 && !is_status(reply, "OK")) {
        pending_.fail("unexpected reply to WATCH");
      } else if (index_ == 2 && pending_.error.empty()) {
        proceed_ = plan(reply, pending_);
      }
      if (left_ > 0) return false;
      if (!pending_.error.empty()) return finish(result);  // the WATCH goes with the next EXEC
      if (!proceed_) {
        std::string_view unwatch[] = {"UNWATCH"};
        resp::append_command(out, unwatch);
        step_ = Step::kDecline;
        left_ = 1;
        index_ = 0;
        return false;
      } else {
        std::string_view multi[] = {"MULTI"};
        std::string_view exec[] = {"EXEC"};
        resp::append_command(out, multi);
        queued_ = queue(out);
        resp::append_command(out, exec);
        step_ = Step::kCommit;
        left_ = queued_ + 2;
        index_ = 0;
        return false;
      }

    case Step::kDecline:
      if (reply.is_error()) pending_.fail(error_kind(reply));
      return finish(result);

    case Step::kCommit:
      if (left_ > 0) {  // MULTI's +OK, then +QUEUED per command
        if (reply.is_error()) pending_.fail(error_kind(reply));
        else if (!is_status(reply, index_ == 1 ? "OK" : "QUEUED")) pending_.fail("unexpected reply in MULTI");
        return false;
      }
      // EXEC.
      if (reply.is_error()) {  // EXECABORT: nothing ran
        pending_.fail(error_kind(reply));
        return finish(result);
      }
      if (reply.is_null()) {  // a watched key changed: nothing ran, try again
        ++retries_;
        if (retries_ > o_.max_retries) {
          pending_.fail("retries exhausted");
          return finish(result);
        }
        send_read(out);
        return false;
      }
      if (reply.type() != resp::ReplyType::kArray || reply.element_count() != queued_) {
        // It ran, but not as queued: nobody can say what it did.
        in_doubt();
        pending_.fail("unexpected reply to EXEC");
        return finish(result);
      }
      if (!pending_.error.empty()) {  // an error while queueing, yet EXEC ran: in doubt
        in_doubt();
        return finish(result);
      }
      committed(reply, pending_);
      return finish(result);

    case Step::kIdle:
      break;
  }
  return finish(result);
}

void WatchedTransaction::abandon() {
  if (step_ == Step::kCommit) in_doubt();
  step_ = Step::kIdle;
}

}  // namespace bench
