// resp::RequestParser: the server side of RESP. It cuts a connection's input into commands, one
// per call, as argv views into that input: multibulk requests (`*N\r\n$len\r\n...`) and inline
// ones (a text line, split with Redis's quoting rules). Limits and error replies are Redis 7.0's.
//
// Incremental: a parser is per connection and remembers how far it has validated the command it
// is waiting for, so a 512 MB bulk arriving in 64 KB reads costs O(total), and it says how many
// more bytes it needs when it knows (so the caller can grow its buffer once).
// Zero-copy: argv views point into the caller's input (an inline argument that had escapes or
// quotes spliced into it points into the parser's own scratch buffer instead). No allocation per
// command in steady state: the caller's argv vector and the parser's buffers keep their capacity.
//
// Thread-safety: none inside. One parser per connection, used by one thread at a time (whichever
// thread is serving the connection); distinct parsers are independent.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace resp {

// Redis's defaults. Every limit is a per-element or per-line bound, never an allocation up front.
struct Limits {
  std::size_t max_bulk_len = 512ull * 1024 * 1024;    // proto-max-bulk-len
  std::size_t max_multibulk_len = 2147483647;         // arguments per command (INT_MAX, as 7.0)
  std::size_t max_inline_len = 64 * 1024;             // an inline line, and a '*'/'$' header line
  std::size_t unauth_max_multibulk_len = 10;          // before AUTH, when a password is required
  std::size_t unauth_max_bulk_len = 16 * 1024;        // idem
};

enum class ParseStatus : std::uint8_t {
  kComplete,  // a command (request parser) or a reply frame (reply parser) is ready
  kNeedMore,  // read more input and call again with everything not yet consumed
  kError,     // protocol error: reply with the error text, then close the connection
};

enum class RequestError : std::uint8_t {
  kNone,
  kInvalidMultibulkLength,      // "ERR Protocol error: invalid multibulk length"
  kInvalidBulkLength,           // "ERR Protocol error: invalid bulk length"
  kExpectedDollar,              // "ERR Protocol error: expected '$', got '%c'"
  kTooBigMbulkCount,            // "ERR Protocol error: too big mbulk count string"
  kTooBigBulkCount,             // "ERR Protocol error: too big bulk count string"
  kTooBigInline,                // "ERR Protocol error: too big inline request"
  kUnbalancedQuotes,            // "ERR Protocol error: unbalanced quotes in request"
  kUnauthenticatedMultibulkLen, // "ERR Protocol error: unauthenticated multibulk length"
  kUnauthenticatedBulkLen,      // "ERR Protocol error: unauthenticated bulk length"
};

struct RequestResult {
  ParseStatus status = ParseStatus::kNeedMore;
  // Bytes to drop from the front of the input, whatever the status: the command's bytes, plus any
  // empty commands skipped before it (blank inline lines, `*0`, `*-1`). Drop them only after you
  // are done with argv, whose views point into those bytes.
  std::size_t consumed = 0;
  // kNeedMore: at least this many more bytes are needed (exact while inside a bulk; else 1).
  std::size_t need = 0;
  RequestError error = RequestError::kNone;
  char got = 0;  // kExpectedDollar: the byte found instead of '$'

  bool complete() const { return status == ParseStatus::kComplete; }
  bool failed() const { return status == ParseStatus::kError; }
};

// The error reply text, e.g. "ERR Protocol error: invalid bulk length" (no '-', no CRLF: hand it
// to Writer::error). Allocates, which is fine: the connection is about to be closed.
std::string error_message(RequestError error, char got = 0);
inline std::string error_message(const RequestResult& r) { return error_message(r.error, r.got); }

class RequestParser {
 public:
  explicit RequestParser(const Limits& limits = Limits{}) : limits_(limits) {}

  // Parses the next command from `input`, the connection's unconsumed bytes. The input of each
  // call must start with the bytes the previous call did not consume (then maybe more): the
  // parser resumes where it stopped. On kComplete, argv holds the arguments (cleared first);
  // its views stay valid while those input bytes (and this parser) are left untouched.
  // After kError every further call returns the same error: the connection must be closed.
  [[nodiscard]] RequestResult parse(std::string_view input, std::vector<std::string_view>& argv);

  // The common case alone, without touching the parser's state: a complete multibulk command in
  // its plain form at the front of `input` (`*N\r\n`, then N `$len\r\n<bytes>\r\n`, counts with
  // no sign and no leading zero, N >= 1, every limit of this parser met). Appends its arguments to
  // argv and returns its bytes: exactly what parse() would hand out for it. Anything else (cut
  // short, inline, empty, an error to report) returns 0 and appends nothing: parse() decides.
  // parse() takes this path first; a caller may also read commands ahead with it (the session's
  // pipelined batch) and hand parse() the input after them.
  [[nodiscard]] std::size_t parse_plain(std::string_view input,
                                        std::vector<std::string_view>& argv) const;

  // Redis refuses big requests from a client that has not authenticated yet when a password is
  // set (protects memory from strangers). The server sets this per connection.
  void set_auth_required(bool required) { auth_required_ = required; }
  bool auth_required() const { return auth_required_; }

  const Limits& limits() const { return limits_; }
  // proto-max-bulk-len, which the server may change between two commands (CONFIG SET).
  void set_max_bulk_len(std::size_t n) { limits_.max_bulk_len = n; }
  bool failed() const { return phase_ == Phase::kFailed; }
  // Between commands: no command is pending, so parse_plain's reading of the input's front is
  // the command parse() would return next.
  bool idle() const { return phase_ == Phase::kIdle; }
  // Bytes of the pending, incomplete command already validated: the next call resumes there
  // rather than at the start (what makes a big command O(total)). 0 between commands.
  std::size_t validated() const { return pos_; }
  // While a bulk argument's payload is arriving: its length, and how many of its bytes the
  // input lacked at the last call (a server that reserves a big argument's whole length on its
  // header, as Redis does, counts them already). 0 otherwise.
  std::uint64_t arriving_bulk_len() const { return phase_ == Phase::kBulkData ? bulk_len_ : 0; }
  std::uint64_t arriving_bulk_awaited() const {
    const std::uint64_t end = pos_ + bulk_len_ + 2;
    return phase_ == Phase::kBulkData && end > seen_ ? end - seen_ : 0;
  }
  // Where inline arguments that are not views into the input live (escapes, quote splices):
  // valid until the next call. For checks such as "every argv view lies in the input or here".
  std::string_view spliced() const { return scratch_; }
  // Forgets any partial command and a previous error (for a connection object reused by another
  // client); keeps the buffers' capacity.
  void reset();

 private:
  enum class Phase : std::uint8_t { kIdle, kMultibulkCount, kBulkLength, kBulkData, kInline, kFailed };
  enum class Step : std::uint8_t { kCommand, kSkip, kNeedMore, kError };
  struct Outcome {
    Step step;
    std::size_t bytes;  // kCommand / kSkip: bytes used; kNeedMore: bytes needed
  };
  struct Span {  // an argument as offsets: the caller may move its buffer between calls
    std::size_t offset;
    std::size_t length;
  };

  Outcome step(std::string_view in, std::vector<std::string_view>& argv);
  Outcome step_multibulk(std::string_view in, std::vector<std::string_view>& argv);
  Outcome step_inline(std::string_view in, std::vector<std::string_view>& argv);
  bool split_inline(std::string_view line, std::vector<std::string_view>& argv);
  std::size_t find_from_scan(std::string_view in, char c);
  Outcome fail(RequestError error, char got = 0);
  Outcome finish(Step step, std::size_t bytes);

  Limits limits_;
  bool auth_required_ = false;
  Phase phase_ = Phase::kIdle;
  std::size_t pos_ = 0;        // offset of the next element of the pending command
  std::size_t scan_ = 0;       // no line end at offsets [pos_, scan_): the search resumes at scan_
  std::size_t seen_ = 0;       // input size at the previous call (a shorter input restarts)
  std::uint64_t remaining_ = 0;  // bulks still to read
  std::uint64_t bulk_len_ = 0;
  std::vector<Span> spans_;    // completed arguments of the pending multibulk command
  std::string scratch_;        // inline arguments that could not be views into the input
  RequestResult failure_;
};

}  // namespace resp
