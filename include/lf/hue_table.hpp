// lf::hue::HueTable and lf::hue::HueMatrix: what each handler touches, and the constraint matrix
// derived from it.
//
// A handler (a "hue") declares the globals it reads, the globals it writes, and whether it reads
// or writes its context (the key or connection it is invoked on; the context's hash is its
// "color"). From those declarations HueTable::build() derives, for every pair of hues, two bits:
//   bit 0 (kGlobalConflict):  they may never run at the same time, whatever their colors: one
//                             writes a global the other reads or writes, or either is undeclared.
//   bit 1 (kContextConflict): one writes the context the other reads or writes; they may run at
//                             the same time only on different colors.
// A hue left undeclared conflicts with everything (bit 0 with every hue, itself included):
// serial and correct is the default, and concurrency is added by declaring. explain() says in
// words why two hues conflict, and to_string() prints the matrix, so a reviewer can check the
// declarations of a command table before trusting the scheduler to enforce them.
//
// Thread-safety: HueTable is a builder for one thread. HueMatrix is an immutable value once built:
// any number of threads may read it concurrently.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lf/status.hpp"

namespace lf::hue {

using HueId = std::uint32_t;

enum class Access : std::uint8_t { kNone, kRead, kWrite };

inline constexpr std::uint8_t kGlobalConflict = 1;   // bit 0
inline constexpr std::uint8_t kContextConflict = 2;  // bit 1

// At most this many distinct globals in one table: the scheduler keeps one bit per global that
// some hue writes.
inline constexpr std::size_t kMaxGlobals = 63;

// What one handler touches. Built fluently:
//   Touches().reads("keyspace").writes_context()
class Touches {
 public:
  Touches& reads(std::string global) {
    reads_.push_back(std::move(global));
    return *this;
  }
  Touches& writes(std::string global) {
    writes_.push_back(std::move(global));
    return *this;
  }
  Touches& reads_context() {
    if (context_ == Access::kNone) context_ = Access::kRead;
    return *this;
  }
  Touches& writes_context() {
    context_ = Access::kWrite;
    return *this;
  }

  const std::vector<std::string>& global_reads() const { return reads_; }
  const std::vector<std::string>& global_writes() const { return writes_; }
  Access context() const { return context_; }

 private:
  std::vector<std::string> reads_;
  std::vector<std::string> writes_;
  Access context_ = Access::kNone;
};

// One hue as the matrix knows it: its name and its normalized declaration (a global both read
// and written counts as written; globals are indices into HueMatrix::globals()).
struct HueInfo {
  std::string name;
  bool declared = false;
  Access context = Access::kNone;
  std::vector<std::uint32_t> reads;   // global indices, sorted, disjoint from writes
  std::vector<std::uint32_t> writes;  // global indices, sorted
};

class HueMatrix {
 public:
  std::size_t size() const { return hues_.size(); }
  // An unknown HueId is a bug (LF_CHECK), not an exception: none crosses liblf's API.
  const HueInfo& hue(HueId id) const {
    LF_CHECK_MSG(id < hues_.size(), "hue: unknown HueId");
    return hues_[id];
  }
  std::string_view name(HueId id) const { return hue(id).name; }
  std::optional<HueId> find(std::string_view name) const;
  // Every global named by some declaration, in first-declared order.
  const std::vector<std::string>& globals() const { return globals_; }

  // The two bits for (a, b); symmetric.
  std::uint8_t bits(HueId a, HueId b) const {
    LF_CHECK_MSG(a < hues_.size() && b < hues_.size(), "hue: unknown HueId");
    return bits_[std::size_t{a} * hues_.size() + b];
  }
  bool conflict_on_global(HueId a, HueId b) const { return (bits(a, b) & kGlobalConflict) != 0; }
  bool conflict_through_context(HueId a, HueId b) const {
    return (bits(a, b) & kContextConflict) != 0;
  }
  // True when the hue conflicts with nothing, itself included: it may run anywhere, any time.
  bool is_free(HueId id) const;

  // Why a and b conflict, in words, e.g.
  //   "SET and FLUSHALL conflict on global 'keyspace': FLUSHALL writes it, SET reads it"
  //   "GET and SET conflict through the context: SET writes it"
  //   "GET and DBSIZE: no conflict"
  std::string explain(HueId a, HueId b) const;

  // The lower triangle of the matrix, one row per hue, each cell "<bit1><bit0>", then a legend.
  std::string to_string() const;

 private:
  friend class HueTable;
  std::vector<HueInfo> hues_;
  std::vector<std::string> globals_;
  std::vector<std::uint8_t> bits_;  // size() * size(), row-major
};

class HueTable {
 public:
  // Registers a handler with its declaration. Fails on a duplicate or empty name.
  Result<HueId> add(std::string name, const Touches& touches);
  // Registers a handler that declares nothing: it conflicts with every hue, itself included.
  Result<HueId> add_undeclared(std::string name);

  std::size_t size() const { return entries_.size(); }

  // Derives the matrix. Fails if the declarations name more than kMaxGlobals globals.
  Result<HueMatrix> build() const;

 private:
  struct Entry {
    std::string name;
    bool declared;
    Touches touches;
  };
  Status check_name(const std::string& name) const;
  std::vector<Entry> entries_;
};

}  // namespace lf::hue
