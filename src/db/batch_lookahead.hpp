// BatchLookahead: the commands at the front of a pipelined batch, parsed before the batch runs,
// each with its likely key, so that the key table's lines of all of them can be asked for at
// once (ServerSession::warm_batch; docs/benchmarks-server.md, "Prefetching a pipelined batch")
// and so that each command is parsed once: the session runs the commands found here from their
// arguments here, and hands the request parser only the input after them.
//
// Why: a pipelined GET or SET spends most of its time waiting for its key's slot and node from
// memory, and two commands' misses never overlap: each lookup is thousands of instructions after
// the previous one. Touching every key of the batch in one short loop first lets them overlap.
//
// The commands are cut by resp::RequestParser::parse_plain (complete multibulk commands in their
// plain form, every limit of the connection's parser met: what parse() would hand out for them);
// the scan stops at the first command that is anything else, which the parser then reads as
// always. Each command's guessed key is its argv[1] (GET, SET, INCR, HGET, LPUSH...: most commands
// with a key have their first one there). A wrong guess costs a wasted prefetch and nothing else:
// the session uses a guess's hash only for a key at the same address with the same length (the
// very bytes the scan hashed).
//
// Thread-safety: none inside; one per serving thread and nesting level (ServerSession::process
// leases it for one call: session.cpp's ProcessScratch), used by that thread only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace resp {
class RequestParser;
}

namespace lfdb::db {

class BatchLookahead {
 public:
  // At most this many commands per scan: the hue scheduler's try_run_multi takes up to 16 colors.
  static constexpr std::size_t kMax = 16;
  // A scan stops once its commands hold this many arguments: the views kept stay small (a long
  // MSET is parsed by the parser on its own, as before).
  static constexpr std::size_t kMaxArgs = 256;

  struct Guess {
    const char* data = nullptr;  // argv[1]; nullptr: no guess (one argument, or a hash tag)
    std::size_t size = 0;
    std::uint64_t hash = 0;      // hash_of(argv[1]): its key-table hash and its color's
  };

  // Parses up to kMax complete commands at the front of `input` with parser.parse_plain; returns
  // how many it found. Guesses of keys with a hash tag are left out (their color hashes the tag
  // only).
  std::size_t scan(std::string_view input, const resp::RequestParser& parser);

  std::size_t commands() const { return n_; }
  // The guess for the i-th command of the last scan (i < commands()).
  const Guess& at(std::size_t i) const { return cmds_[i].guess; }
  // The i-th command's arguments (views into the scanned input) and its bytes in the input.
  std::span<const std::string_view> argv(std::size_t i) const {
    const std::size_t end = i + 1 < n_ ? cmds_[i + 1].first : args_.size();
    return std::span<const std::string_view>(args_).subspan(cmds_[i].first, end - cmds_[i].first);
  }
  std::size_t bytes(std::size_t i) const { return cmds_[i].bytes; }
  // The hash of `key` when it is the i-th command's guess (same bytes at the same address).
  bool hash_of_guess(std::size_t i, std::string_view key, std::uint64_t& hash) const {
    if (i >= n_) return false;
    const Guess& g = cmds_[i].guess;
    if (g.data != key.data() || g.size != key.size() || g.data == nullptr) return false;
    hash = g.hash;
    return true;
  }
  void clear() { n_ = 0; }
  // Gives back the argument array when one scan grew it past `limit` views (a huge command):
  // the lookahead lives as long as its thread. Empties the lookahead.
  void trim(std::size_t limit) {
    if (args_.capacity() > limit) [[unlikely]] {
      std::vector<std::string_view>().swap(args_);
      n_ = 0;
    }
  }

 private:
  // A command of 4 GiB or more is the parser's.
  struct Command {
    Guess guess;
    std::uint32_t first = 0;  // its first argument in args_ (the next command's first ends them)
    std::uint32_t bytes = 0;
  };
  // Vectors, not arrays of kMax: a lookahead grows to what its scans needed (kMax once some
  // client pipelined) and keeps it. (Each connection carried one until the threads took them
  // over, issue 17: memory per idle connection.) cmds_ keeps the most records a scan needed, n_
  // says how many the last scan filled: a scan overwrites records in place (as it did the
  // arrays) and grows the vector only past that mark.
  std::vector<Command> cmds_;
  std::vector<std::string_view> args_;  // every scanned command's arguments, one after another
  std::uint32_t n_ = 0;
};

}  // namespace lfdb::db
