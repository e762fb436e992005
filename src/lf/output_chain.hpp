// Internal to liblf: replies that wait for the socket, held as a chain of blocks.
//
// A client that writes its whole pipeline before it reads (redis-py's pipeline, bulk loaders)
// is read on while its replies wait, as Redis does (Session::reads_while_output_waits): 300 MB
// of replies may wait. In one std::string that `append` doubles they were a 512 MB buffer plus
// the copy each doubling makes. Here they are blocks of about kBlockBytes, sent together with
// one sendmsg (sendv) and each freed as soon as the socket took it; a reply buffer that is a
// block's worth or more joins the chain whole (its buffer moves, nothing is copied).
//
// Thread-safety: none; the connection's serving thread owns it (as it owns the connection).
#pragma once

#include <sys/uio.h>

#include <algorithm>
#include <cstddef>
#include <deque>
#include <string>

#include "lf/concurrency_model.hpp"
#include "lf/net.hpp"

namespace lf::detail {

class OutputChain {
 public:
  // A block's size: large enough that one sendmsg of kMaxIov of them fills any socket buffer,
  // small enough that a sent block gives its memory back soon.
  static constexpr std::size_t kBlockBytes = 64 * 1024;
  static constexpr int kMaxIov = 64;

  bool empty() const { return unsent_ == 0; }
  // Bytes not yet taken by the socket.
  std::size_t unsent() const { return unsent_; }
  // The memory the blocks hold (their capacities, the front block's sent bytes included).
  std::size_t held_bytes() const { return held_; }

  // The rest of `out` from `sent` on waits: the buffer itself becomes the chain's first block
  // (no copy of a large reply) and `out` is left empty, with no buffer. Only when empty().
  void adopt(std::string& out, std::size_t sent) {
    blocks_.emplace_back();
    blocks_.back().swap(out);
    front_sent_ = sent;
    unsent_ = blocks_.back().size() - sent;
    held_ = blocks_.back().capacity();
  }

  // Appends `out`'s bytes after those waiting. A buffer the thread would give back anyway (past
  // kReplyKeepBytes: a large reply) joins whole and `out` is left with no buffer; the bytes of
  // a smaller one are copied into the last block's room and then new blocks of kBlockBytes, and
  // `out` keeps its buffer, cleared (the thread's, reused by the next read).
  void append(std::string& out) {
    if (out.empty()) return;
    if (out.capacity() > kReplyKeepBytes && out.size() >= kBlockBytes) {
      unsent_ += out.size();
      blocks_.emplace_back();
      blocks_.back().swap(out);
      held_ += blocks_.back().capacity();
      return;
    }
    std::size_t at = 0;
    while (at < out.size()) {
      if (blocks_.empty() || blocks_.back().size() >= blocks_.back().capacity()) {
        blocks_.emplace_back();
        // The capacity plus the terminator: an allocation of exactly kBlockBytes (one more
        // byte would take the allocator's next size class, 80 KB).
        blocks_.back().reserve(kBlockBytes - 1);
        held_ += blocks_.back().capacity();
      }
      std::string& tail = blocks_.back();  // filled up to its capacity, never grown
      const std::size_t n = std::min(tail.capacity() - tail.size(), out.size() - at);
      tail.append(out, at, n);
      at += n;
    }
    unsent_ += out.size();
    out.clear();
  }

  // Sends what the socket takes, freeing each block once it is sent. Returns the last send's
  // result: would_block when the socket is full, an error as the stream reported it, ok when
  // everything went. `flags`: as SockStream::sendv's (MSG_DONTWAIT on a blocking socket).
  IoResult send(SockStream& stream, int flags = 0) {
    IoResult w;
    while (!blocks_.empty()) {
      iovec iov[kMaxIov];
      int n = 0;
      for (auto it = blocks_.begin(); it != blocks_.end() && n < kMaxIov; ++it, ++n) {
        const std::size_t off = n == 0 ? front_sent_ : 0;
        iov[n].iov_base = it->data() + off;
        iov[n].iov_len = it->size() - off;
      }
      w = stream.sendv(iov, n, flags);
      if (!w.ok() || w.n <= 0) return w;
      consume(static_cast<std::size_t>(w.n));
    }
    return w;
  }

  // Drops everything that waits (the client is closed with none of it sent).
  void clear() {
    std::deque<std::string>().swap(blocks_);
    front_sent_ = unsent_ = held_ = 0;
  }

 private:
  void consume(std::size_t n) {
    unsent_ -= n;
    while (n > 0) {
      std::string& front = blocks_.front();
      const std::size_t left = front.size() - front_sent_;
      if (n < left) {
        front_sent_ += n;
        return;
      }
      n -= left;
      held_ -= front.capacity();
      blocks_.pop_front();
      front_sent_ = 0;
    }
    if (blocks_.empty()) std::deque<std::string>().swap(blocks_);  // the deque's own map too
  }

  std::deque<std::string> blocks_;
  std::size_t front_sent_ = 0;  // bytes of the front block the socket took
  std::size_t unsent_ = 0;
  std::size_t held_ = 0;
};

}  // namespace lf::detail
