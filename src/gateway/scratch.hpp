// Per-thread read buffers for the gateway's event handlers (thread-specific storage, as the
// Leader/Followers pattern recommends: a request is read into the processing thread's own
// buffer, not the connection's).
//
// Why a stack rather than one buffer per thread: with bound forwarding a thread that waits for
// a back-end reply leads the handle set meanwhile and may dispatch another client (or an
// upstream connection) on the same stack, while the waiting handler's argv still points into
// its buffer. Each nested dispatch takes the next buffer, so no dispatch overwrites the input
// of one further up the stack.
// Thread-safety: thread-local; a ScratchLease is used by the thread that took it.
#pragma once

#include <memory>
#include <string>
#include <vector>

namespace lfdb::gateway {

class ScratchLease {
 public:
  static constexpr std::size_t kChunk = 16 * 1024;
  ScratchLease() {
    auto& st = stack();
    if (st.depth == st.buffers.size()) st.buffers.push_back(std::make_unique<std::string>());
    buf_ = st.buffers[st.depth++].get();
    if (buf_->size() < kChunk) buf_->resize(kChunk);
  }
  ~ScratchLease() { --stack().depth; }
  ScratchLease(const ScratchLease&) = delete;
  ScratchLease& operator=(const ScratchLease&) = delete;

  // Leases the calling thread holds now: how deeply dispatches are nested on its stack.
  static std::size_t depth() { return stack().depth; }

  char* data() { return buf_->data(); }
  std::size_t size() const { return buf_->size(); }

 private:
  struct Stack {
    std::vector<std::unique_ptr<std::string>> buffers;
    std::size_t depth = 0;
  };
  static Stack& stack() {
    thread_local Stack s;
    return s;
  }
  std::string* buf_;
};

// A small index for the calling thread (0, 1, 2, ... in order of first use), so statistics can
// tell whether a reply was completed by the thread that forwarded its request.
int thread_index();

}  // namespace lfdb::gateway
