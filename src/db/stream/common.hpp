// What the stream command handlers share: finding a stream under its key, the replies of ids
// and entries, logging an effect, and Redis's stream error texts.
//
// Thread-safety: as every handler's (command_context.hpp): under the keys' colors.
#pragma once

#include <initializer_list>
#include <span>
#include <string>
#include <string_view>

#include "db/command_context.hpp"
#include "db/log_records.hpp"
#include "db/stream/stream.hpp"

namespace lfdb::db::stream {

inline constexpr std::string_view kErrInvalidId =
    "ERR Invalid stream ID specified as stream command argument";
inline constexpr std::string_view kErrStartId = "ERR invalid start ID for the interval";
inline constexpr std::string_view kErrEndId = "ERR invalid end ID for the interval";

// The stream at key (nullptr when absent or of another type: `wrong` tells).
inline Stream* stream_at(CommandContext& c, std::string_view key, bool& wrong) {
  Entry* e = c.find(key);
  wrong = e != nullptr && e->value.type() != Type::kStream;
  return e != nullptr && !wrong ? e->value.stream() : nullptr;
}

// The stream at key, created empty when absent (the caller checked the type).
inline Stream& stream_create(CommandContext& c, std::string_view key) {
  bool created = false;
  Entry& e = c.part(key).find_or_create(key, c.now_ms, created);
  if (created) {
    e.value.reset(std::make_unique<Stream>());
  }
  return *e.value.stream();
}

// The clock of delivery and seen times: the invocation's, or the wall clock while the log is
// replayed (its invocations run with the clock at 0 so that nothing expires).
inline std::int64_t clock_ms(const CommandContext& c) { return c.now_ms > 0 ? c.now_ms : now_ms(); }

inline void reply_id(CommandContext& c, StreamId id) {
  StreamId::Text buf;
  c.out.bulk(id.text(buf));
}

// Writes entries as RESP replies, [id, [field, value, ...]] (the same bytes in RESP2 and
// RESP3), straight from their blocks into the reply buffer: no field list, no id string; an
// id's milliseconds are formatted once for the entries that share them.
class EntryWriter {
 public:
  explicit EntryWriter(std::string& out) : out_(out) {}
  void write(const EntryRef& e);

 private:
  std::string& out_;
  bool have_ms_ = false;
  std::uint64_t ms_ = 0;  // the milliseconds whose digits ms_text_ holds
  char ms_text_[24];
  std::size_t ms_len_ = 0;
};

inline void reply_entry(CommandContext& c, const EntryRef& e) { EntryWriter(c.out.buffer()).write(e); }

// Writes the array header of `n` elements at `mark`, in front of the elements written since
// (a reply whose length is known only once its elements are out).
void insert_array_header(CommandContext& c, std::size_t mark, std::size_t n);

// The live entries of [lo, hi] (descending when rev), at most `count` of them (0: no limit),
// as a reply array; on_entry(id) runs after each one is written. Returns how many.
template <typename Fn>
std::size_t reply_entries(CommandContext& c, const Stream& s, StreamId lo, StreamId hi, bool rev,
                          std::uint64_t count, Fn&& on_entry) {
  const std::size_t mark = c.out.buffer().size();
  EntryWriter w(c.out.buffer());
  std::uint64_t n = 0;
  s.scan(lo, hi, rev, [&](const EntryRef& e) {
    w.write(e);
    on_entry(e.id);
    return ++n != count;
  });
  insert_array_header(c, mark, n);
  return n;
}

// Whether the invocation keeps effect records (a log or replicas): without, a command need not
// build one.
inline bool logging() { return t_invocation_log.records != nullptr; }

// An effect record for the log (and replicas), when the invocation keeps one.
inline void log_record(CommandContext& c, std::span<const std::string_view> args) {
  if (std::string* log = t_invocation_log.records) {
    t_invocation_log.select(c.db);
    encode_command(*log, args);
  }
}
inline void log_record(CommandContext& c, std::initializer_list<std::string_view> args) {
  log_record(c, std::span<const std::string_view>(args.begin(), args.size()));
}

// XRANGE's interval ends: "-", "+", "ms", "ms-seq", "(id" (exclusive). False: error written.
bool parse_range_start(CommandContext& c, std::string_view arg, StreamId& id);
bool parse_range_end(CommandContext& c, std::string_view arg, StreamId& id);

// Redis's syntax error of a container's subcommand (XGROUP, XINFO).
void subcommand_syntax_error(CommandContext& c);

// The group's pending-entry change that XCLAIM and XREADGROUP log, as Redis propagates it.
void log_claim(CommandContext& c, std::string_view key, std::string_view group, const Group& g,
               StreamId id, const Nack& n);
// The group's last id and entries-read, as XGROUP SETID.
void log_group_position(CommandContext& c, std::string_view key, std::string_view group,
                        const Group& g);

}  // namespace lfdb::db::stream
