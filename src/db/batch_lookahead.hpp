// BatchLookahead: the likely key of each command at the front of a pipelined batch, found before
// the batch runs, so that the key table's lines of all of them can be asked for at once
// (ServerSession::warm_batch; docs/benchmarks-server.md, "Prefetching a pipelined batch").
//
// Why: a pipelined GET or SET spends most of its time waiting for its key's slot and node from
// memory, and two commands' misses never overlap: each lookup is thousands of instructions after
// the previous one. Touching every key of the batch in one short loop first lets them overlap.
//
// The scan is a guess, not a parse: it reads well-formed multibulk commands only (`*N\r\n` and
// then N `$len\r\n<bytes>\r\n`), takes argv[1] of each as its key (GET, SET, INCR, HGET, LPUSH...:
// most commands with a key have their first one there), and stops at the first byte it does not
// expect. A wrong guess costs a wasted prefetch and nothing else: the session uses a guess's hash
// only for a key at the same address with the same length (the very bytes the scan hashed).
//
// Thread-safety: none inside; one per session, used by the thread serving it.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace lfdb::db {

class BatchLookahead {
 public:
  // At most this many commands per scan: the hue scheduler's try_run_multi takes up to 16 colors.
  static constexpr std::size_t kMax = 16;

  struct Guess {
    const char* data = nullptr;  // argv[1]; nullptr: no guess (one argument, or a hash tag)
    std::size_t size = 0;
    std::uint64_t hash = 0;      // hash_of(argv[1]): its key-table hash and its color's
  };

  // Scans up to kMax complete commands at the front of `input`; returns how many it found.
  // Guesses of keys with a hash tag are left out (their color hashes the tag only).
  std::size_t scan(std::string_view input);

  std::size_t commands() const { return n_; }
  // The guess for the i-th command of the last scan (i < commands()).
  const Guess& at(std::size_t i) const { return guesses_[i]; }
  // The hash of `key` when it is the i-th command's guess (same bytes at the same address).
  bool hash_of_guess(std::size_t i, std::string_view key, std::uint64_t& hash) const {
    if (i >= n_) return false;
    const Guess& g = guesses_[i];
    if (g.data != key.data() || g.size != key.size() || g.data == nullptr) return false;
    hash = g.hash;
    return true;
  }
  void clear() { n_ = 0; }

 private:
  std::array<Guess, kMax> guesses_{};
  std::size_t n_ = 0;
};

}  // namespace lfdb::db
