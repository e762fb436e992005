// Internal to liblf: the session host over the completion handle set (lf::UringProactor), the
// `lf` model's handle set `uring-completion` (HandleSetKind::kUringCompletion; issue 18).
//
// A UringConnection is a proactor handler hosting one Session. Where Connection reads into the
// thread's scratch, here the kernel has already received into one of the ring's buffers: the
// session runs over that buffer in place, and only what it did not consume (a split request,
// or input that arrives while it is parked or yielding) is copied into kept_, so the ring's
// buffer goes back at once. Replies are appended to the thread's scratch and queued with the
// proactor's send (one submission per turn, the kernel holds the bytes until sent).
//
//   kPark   the connection holds its input in the socket (ProactorIo::hold) and stays pinned
//           (no on_close) until unpark(), which notifies the slot with run_here: the unparking
//           thread takes the slot if no thread holds it and runs the session itself; if one
//           does (completions were being routed to it), that thread runs it next. Either way
//           the session runs once, after the on_input that parked returned.
//   kYield  the replies are queued and input held until the proactor says they were all sent
//           (on_drained); then the session runs over the input kept. A session read on while
//           its replies wait (Session::reads_while_output_waits: a normal client, as Redis
//           reads on) runs on at once instead, and the proactor keeps receiving past its
//           output_limit (ProactorIo::read_on); the session's limits see what waits
//           (unsent_output, held_output_bytes) and it is told when that changes
//           (on_output_held, after a run that left replies waiting and once they drained).
//   wake()  a flag, then a notify for a proactor thread (the first wake of a batch only):
//           wakes while parked or yielding are delivered by the run that ends them; a wake
//           with replies unsent waits for them to drain, so what the session would drain
//           stays in its outbox, where the limits see it.
//   request_close()  the proactor's close(id), from any thread.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "lf/concurrency_model.hpp"
#include "lf/uring_proactor.hpp"

namespace lf::detail {

class UringConnection final : public ProactorHandler, public SessionHost {
 public:
  UringConnection(UringProactor& proactor, HandlerId id, int fd, std::unique_ptr<Session> session,
                  std::atomic<std::uint64_t>& open);
  ~UringConnection() override;  // the session goes with it; the open count drops

  // ProactorHandler: on the thread holding the slot.
  void on_data(ProactorIo& io, std::string_view bytes) override;
  void on_notify(ProactorIo& io) override;
  void on_drained(ProactorIo& io) override;

  // SessionHost: from any thread.
  void unpark() override;
  void request_close() override;
  void wake() override;
  int handle() const override { return fd_; }
  // Asked by the session from inside on_input (or on_output_held), while the slot is held.
  std::size_t unsent_output() const override { return io_ != nullptr ? io_->unsent() : 0; }
  void discard_unsent() override {
    if (io_ != nullptr) io_->discard_queued();
  }
  std::size_t held_output_bytes() const override { return io_ != nullptr ? io_->held_bytes() : 0; }

 private:
  // Runs the session over `bytes` (the ring's buffer; kept_ must be empty) or, with none, over
  // kept_; queues its replies and does what its action says.
  void run(ProactorIo& io, const char* bytes, std::size_t size);
  void output_held(ProactorIo& io);  // Session::on_output_held with io_ set

  UringProactor& proactor_;
  const HandlerId id_;
  const int fd_;
  std::unique_ptr<Session> session_;
  std::atomic<std::uint64_t>& open_;
  // The slot holder's (one thread at a time, handed over by the proactor's slot lock).
  std::string kept_;  // input the session has not consumed; empty and unallocated when idle
  bool parked_ = false;
  bool yielded_ = false;
  bool reads_on_ = false;  // Session::reads_while_output_waits, as its last run that did not park
  bool held_counted_ = false;  // the session was told of replies waiting: tell it when they drain
  ProactorIo* io_ = nullptr;   // the slot's, while the session runs on it
  // Set by any thread, cleared by the slot holder.
  std::atomic<bool> unpark_due_{false};
  std::atomic<bool> wake_due_{false};
};

}  // namespace lf::detail
