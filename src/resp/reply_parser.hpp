// resp::ReplyParser and resp::Frame: the client side of RESP (the gateway's upstream connections,
// lfdb-bench). parse() finds the extent of one complete RESP2 or RESP3 reply frame, nested
// aggregates included, without copying: a Frame is a set of views into the caller's bytes (its
// type, its whole bytes, a scalar's payload) and can list an aggregate's elements as Frames, which
// is how the gateway merges the per-shard replies of a split MGET.
//
// Incremental like the request parser: a parser is per connection and resumes where it stopped,
// so a big frame arriving in pieces is scanned once, and it reports how many bytes a blob still
// needs. Nesting costs no memory: the parser only counts the elements still owed.
// Not supported: RESP3 streamed strings and aggregates (`$?`, `*?`); Redis never sends them.
//
// Thread-safety: none inside. One ReplyParser per connection, one thread at a time. A Frame is a
// value of views: valid while the bytes it views are; copy it freely.
#pragma once

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <string_view>

#include "resp/request_parser.hpp"  // ParseStatus

namespace resp {

enum class ReplyType : char {
  kSimpleString = '+',
  kError = '-',
  kInteger = ':',
  kBulkString = '$',
  kArray = '*',
  kNull = '_',
  kDouble = ',',
  kBoolean = '#',
  kBlobError = '!',
  kVerbatim = '=',
  kBigNumber = '(',
  kMap = '%',
  kSet = '~',
  kAttribute = '|',
  kPush = '>',
};

struct ReplyLimits {
  std::size_t max_bulk_len = 512ull * 1024 * 1024;          // a blob's declared length
  std::uint64_t max_aggregate_len = (1ull << 32) - 1;       // elements (pairs) of one aggregate
  std::size_t max_line_len = 1024 * 1024;                   // a header, simple string or error line
};

enum class ReplyError : std::uint8_t {
  kNone,
  kInvalidType,       // a first byte that is no RESP type
  kExpectedCrlf,      // '\r' not followed by '\n', or a blob not followed by CRLF
  kInvalidLength,     // a blob or aggregate length that is not a valid count
  kInvalidInteger,
  kInvalidDouble,
  kInvalidBoolean,
  kInvalidNull,
  kInvalidBigNumber,
  kInvalidVerbatim,   // shorter than "xxx:" or no ':' after the 3-byte format
  kLineTooLong,
  kBulkTooLong,
  kTooManyElements,
};

std::string_view reply_error_text(ReplyError error);

namespace detail {
// Where a frame scan stands; the parser keeps one between calls, an element walk uses a fresh one.
struct ScanState {
  std::size_t pos = 0;        // next header, or the start of the blob being awaited
  std::size_t scan = 0;       // no '\r' at [pos, scan): the search resumes at scan
  std::uint64_t pending = 1;  // elements still owed before the frame is complete
  std::uint64_t blob_len = 0;
  bool in_blob = false;
  bool verbatim = false;
};
}  // namespace detail

class Elements;

class Frame {
 public:
  Frame() = default;

  ReplyType type() const { return type_; }
  // The whole frame, leading attributes included: what to forward, and what to consume.
  std::string_view bytes() const { return bytes_; }
  // The attribute frames (`|...`) before the reply proper; empty when there are none.
  std::string_view attribute() const { return attribute_; }
  // Scalars: the text after the type byte (simple string, error, integer, double, boolean, big
  // number) or the blob's content (bulk string, blob error, verbatim with its "xxx:" prefix).
  // Aggregates: the bytes of all elements. Null: empty.
  std::string_view payload() const { return payload_; }
  // Aggregates: the declared count (pairs for map and attribute). Blobs: the length.
  // -1 for the RESP2 nulls `$-1` and `*-1`. 0 otherwise.
  std::int64_t count() const { return count_; }

  bool is_null() const { return type_ == ReplyType::kNull || count_ < 0; }
  bool is_error() const { return type_ == ReplyType::kError || type_ == ReplyType::kBlobError; }
  bool is_aggregate() const;
  // Elements an aggregate holds: count(), doubled for a map. 0 for scalars and nulls.
  std::uint64_t element_count() const;
  // The elements as Frames (a map's keys and values alternate).
  Elements elements() const;

  // Decoded scalars. The parser validated the syntax; these read it.
  std::int64_t integer() const;       // kInteger; 0 otherwise
  double number() const;              // kDouble (inf, -inf, nan included); 0 otherwise
  bool boolean() const;               // kBoolean: true for "#t"
  std::string_view verbatim_format() const;  // kVerbatim: "txt", "mkd", ...
  std::string_view verbatim_text() const;    // kVerbatim: the text after "xxx:"

 private:
  friend class ElementIterator;
  friend class ReplyParser;
  // A frame from bytes that hold exactly one complete, already validated frame.
  static Frame decode(std::string_view complete);

  ReplyType type_ = ReplyType::kNull;
  std::int64_t count_ = 0;
  std::string_view bytes_;
  std::string_view attribute_;
  std::string_view payload_;
};

// The elements of an aggregate frame, in order; each step measures one element (O(its size)).
class ElementIterator {
 public:
  using value_type = Frame;
  using difference_type = std::ptrdiff_t;

  ElementIterator() = default;
  ElementIterator(std::string_view rest, std::uint64_t left) : rest_(rest), left_(left) { load(); }

  const Frame& operator*() const { return current_; }
  const Frame* operator->() const { return &current_; }
  ElementIterator& operator++();
  ElementIterator operator++(int) {
    ElementIterator old = *this;
    ++*this;
    return old;
  }
  bool operator==(std::default_sentinel_t) const { return left_ == 0; }

 private:
  void load();

  std::string_view rest_;
  std::uint64_t left_ = 0;
  Frame current_;
};

class Elements {
 public:
  Elements(std::string_view body, std::uint64_t count) : body_(body), count_(count) {}
  ElementIterator begin() const { return ElementIterator(body_, count_); }
  std::default_sentinel_t end() const { return {}; }
  std::uint64_t size() const { return count_; }

 private:
  std::string_view body_;
  std::uint64_t count_;
};

struct ReplyResult {
  ParseStatus status = ParseStatus::kNeedMore;
  Frame frame;            // kComplete; consume frame.bytes().size() bytes
  std::size_t need = 0;   // kNeedMore: at least this many more bytes (exact inside a blob; else 1)
  ReplyError error = ReplyError::kNone;

  bool complete() const { return status == ParseStatus::kComplete; }
  bool failed() const { return status == ParseStatus::kError; }
};

class ReplyParser {
 public:
  explicit ReplyParser(const ReplyLimits& limits = ReplyLimits{}) : limits_(limits) {}

  // Finds the next frame at the start of `input`. Each call's input must start with the bytes the
  // previous call did not consume (then maybe more). After kError the stream is out of step, and
  // every further call returns the same error: close the connection.
  [[nodiscard]] ReplyResult parse(std::string_view input);

  bool failed() const { return failed_; }
  std::size_t validated() const { return state_.pos; }  // bytes of a partial frame already checked
  void reset();

 private:
  ReplyLimits limits_;
  detail::ScanState state_;
  std::size_t seen_ = 0;
  bool failed_ = false;
  ReplyResult failure_;
};

}  // namespace resp
