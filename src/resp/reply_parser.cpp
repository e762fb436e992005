#include "resp/reply_parser.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <limits>

#include "resp/numbers.hpp"

namespace resp {

namespace {

// Bounds the count of owed elements far above anything a real frame can need (every element
// takes at least 3 bytes), so the counter cannot wrap on hostile headers.
constexpr std::uint64_t kMaxPending = 1ull << 56;

enum class ScanStatus : std::uint8_t { kDone, kNeedMore, kError };
struct ScanResult {
  ScanStatus status;
  std::size_t need;
  ReplyError error;
};

ScanResult need(std::size_t n) { return ScanResult{ScanStatus::kNeedMore, n, ReplyError::kNone}; }
ScanResult error(ReplyError e) { return ScanResult{ScanStatus::kError, 0, e}; }

bool is_type_byte(char c) {
  switch (c) {
    case '+': case '-': case ':': case '$': case '*': case '_': case ',': case '#':
    case '!': case '=': case '(': case '%': case '~': case '|': case '>':
      return true;
    default:
      return false;
  }
}

std::size_t skip_digits(std::string_view s, std::size_t i) {
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
  return i;
}

// RESP3 allows a '+' sign on integers and big numbers; Redis never sends one, but accepting it
// costs nothing and follows the spec.
bool parse_signed(std::string_view s, std::int64_t& out) {
  if (s.size() > 1 && s[0] == '+' && s[1] != '-') s.remove_prefix(1);
  return detail::parse_int64(s, out);
}

bool valid_big_number(std::string_view s) {
  std::size_t i = (!s.empty() && (s[0] == '-' || s[0] == '+')) ? 1 : 0;
  const std::size_t digits_end = skip_digits(s, i);
  return digits_end > i && digits_end == s.size();
}

// `[sign] digits [. digits] [(e|E) [sign] digits]`, or inf / -inf / nan. "-nan" is accepted
// because Redis 7.0 formats a negative NaN with %.17g.
bool valid_double(std::string_view s) {
  if (s == "inf" || s == "-inf" || s == "nan" || s == "-nan") return true;
  std::size_t i = (!s.empty() && (s[0] == '-' || s[0] == '+')) ? 1 : 0;
  std::size_t j = skip_digits(s, i);
  if (j == i) return false;
  if (j < s.size() && s[j] == '.') {
    i = j + 1;
    j = skip_digits(s, i);
    if (j == i) return false;
  }
  if (j < s.size() && (s[j] == 'e' || s[j] == 'E')) {
    i = j + 1;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
    j = skip_digits(s, i);
    if (j == i) return false;
  }
  return j == s.size();
}

// Advances `st` over complete elements of `in` until the frame is complete, more input is needed,
// or the input is malformed. One count of owed elements replaces a stack: an aggregate header
// owes its children, any element pays one, and an attribute owes its pairs but pays nothing
// because the element it annotates is still to come.
ScanResult scan_frame(std::string_view in, detail::ScanState& st, const ReplyLimits& limits) {
  while (st.pending > 0) {
    if (st.in_blob) {
      const std::uint64_t end = st.pos + st.blob_len + 2;
      if (in.size() < end) return need(static_cast<std::size_t>(end - in.size()));
      if (in[end - 2] != '\r' || in[end - 1] != '\n') return error(ReplyError::kExpectedCrlf);
      if (st.verbatim && in[st.pos + 3] != ':') return error(ReplyError::kInvalidVerbatim);
      st.pos = st.scan = static_cast<std::size_t>(end);
      st.in_blob = false;
      --st.pending;
      continue;
    }
    // Refuse a bad type byte at once rather than after its line: a desynchronized stream (or a
    // server that is not speaking RESP) fails fast instead of waiting for a CR that may not come.
    if (st.pos < in.size() && !is_type_byte(in[st.pos])) return error(ReplyError::kInvalidType);
    std::size_t cr = std::string_view::npos;
    if (st.scan < in.size()) {
      const void* hit = std::memchr(in.data() + st.scan, '\r', in.size() - st.scan);
      if (hit != nullptr) cr = static_cast<std::size_t>(static_cast<const char*>(hit) - in.data());
    }
    // Judge the line by its own length, so any split of the input gives the same verdict.
    if ((cr == std::string_view::npos ? in.size() : cr) - st.pos > limits.max_line_len + 1) {
      return error(ReplyError::kLineTooLong);
    }
    if (cr == std::string_view::npos) {
      st.scan = in.size();
      return need(1);
    }
    st.scan = cr;
    if (cr + 1 >= in.size()) return need(1);
    if (in[cr + 1] != '\n') return error(ReplyError::kExpectedCrlf);

    const char type = in[st.pos];
    const std::string_view line = in.substr(st.pos + 1, cr - st.pos - 1);
    const std::size_t next = cr + 2;
    switch (type) {
      case '+':
      case '-':
        break;
      case ':': {
        std::int64_t v = 0;
        if (!parse_signed(line, v)) return error(ReplyError::kInvalidInteger);
        break;
      }
      case '(':
        if (!valid_big_number(line)) return error(ReplyError::kInvalidBigNumber);
        break;
      case ',':
        if (!valid_double(line)) return error(ReplyError::kInvalidDouble);
        break;
      case '#':
        if (line != "t" && line != "f") return error(ReplyError::kInvalidBoolean);
        break;
      case '_':
        if (!line.empty()) return error(ReplyError::kInvalidNull);
        break;
      case '$':
      case '!':
      case '=': {
        std::int64_t len = 0;
        if (!detail::parse_int64(line, len)) return error(ReplyError::kInvalidLength);
        if (len == -1 && type == '$') break;  // RESP2 null bulk
        if (len < 0) return error(ReplyError::kInvalidLength);
        if (static_cast<std::uint64_t>(len) > limits.max_bulk_len) {
          return error(ReplyError::kBulkTooLong);
        }
        if (type == '=' && len < 4) return error(ReplyError::kInvalidVerbatim);
        st.in_blob = true;
        st.verbatim = type == '=';
        st.blob_len = static_cast<std::uint64_t>(len);
        st.pos = st.scan = next;
        continue;  // the blob pays its element once its bytes are in
      }
      case '*':
      case '~':
      case '>':
      case '%':
      case '|': {
        std::int64_t n = 0;
        if (!detail::parse_int64(line, n)) return error(ReplyError::kInvalidLength);
        if (n == -1 && type == '*') break;  // RESP2 null array
        if (n < 0) return error(ReplyError::kInvalidLength);
        if (static_cast<std::uint64_t>(n) > limits.max_aggregate_len) {
          return error(ReplyError::kTooManyElements);
        }
        const auto owed = static_cast<std::uint64_t>(n) * ((type == '%' || type == '|') ? 2 : 1);
        if (owed > kMaxPending || st.pending > kMaxPending - owed) {
          return error(ReplyError::kTooManyElements);
        }
        st.pending += owed;
        if (type == '|') {
          st.pos = st.scan = next;
          continue;  // an attribute is not an element: it pays nothing
        }
        break;
      }
      default:
        return error(ReplyError::kInvalidType);  // unreachable: checked above
    }
    --st.pending;
    st.pos = st.scan = next;
  }
  return ScanResult{ScanStatus::kDone, 0, ReplyError::kNone};
}

// Limits that a validated frame cannot exceed: walking it again never fails.
constexpr ReplyLimits kNoLimits{std::numeric_limits<std::size_t>::max() / 4,
                                std::numeric_limits<std::uint64_t>::max() / 4,
                                std::numeric_limits<std::size_t>::max() / 4};

// The byte length of the `count` complete elements at the start of `in` (validated bytes).
std::size_t measure(std::string_view in, std::size_t from, std::uint64_t count) {
  detail::ScanState st;
  st.pos = st.scan = from;
  st.pending = count;
  scan_frame(in, st, kNoLimits);
  return st.pos;
}

}  // namespace

std::string_view reply_error_text(ReplyError error) {
  switch (error) {
    case ReplyError::kNone: return "";
    case ReplyError::kInvalidType: return "invalid reply type byte";
    case ReplyError::kExpectedCrlf: return "expected CRLF";
    case ReplyError::kInvalidLength: return "invalid length";
    case ReplyError::kInvalidInteger: return "invalid integer";
    case ReplyError::kInvalidDouble: return "invalid double";
    case ReplyError::kInvalidBoolean: return "invalid boolean";
    case ReplyError::kInvalidNull: return "invalid null";
    case ReplyError::kInvalidBigNumber: return "invalid big number";
    case ReplyError::kInvalidVerbatim: return "invalid verbatim string";
    case ReplyError::kLineTooLong: return "line too long";
    case ReplyError::kBulkTooLong: return "bulk too long";
    case ReplyError::kTooManyElements: return "too many elements";
  }
  return "unknown reply error";
}

// ---- Frame ---------------------------------------------------------------------------------

Frame Frame::decode(std::string_view complete) {
  Frame f;
  f.bytes_ = complete;
  std::size_t p = 0;
  // Leading attributes: each is `|n` and n key/value pairs; the reply proper follows.
  // The guards only keep a misuse (bytes that were not validated) from looping or reading out
  // of bounds; validated bytes always pass them.
  while (p < complete.size() && complete[p] == '|') {
    const std::size_t cr = complete.find('\r', p);
    std::int64_t n = 0;
    if (cr == std::string_view::npos || !detail::parse_int64(complete.substr(p + 1, cr - p - 1), n) || n < 0) {
      return f;
    }
    const std::size_t after = measure(complete, cr + 2, static_cast<std::uint64_t>(n) * 2);
    if (after <= p) return f;
    p = after;
  }
  f.attribute_ = complete.substr(0, std::min(p, complete.size()));
  if (p >= complete.size()) return f;
  const std::size_t cr = complete.find('\r', p);
  if (cr == std::string_view::npos) return f;
  f.type_ = static_cast<ReplyType>(complete[p]);
  const std::string_view line = complete.substr(p + 1, cr - p - 1);
  const std::size_t body = cr + 2;
  switch (f.type_) {
    case ReplyType::kBulkString:
    case ReplyType::kBlobError:
    case ReplyType::kVerbatim:
      detail::parse_int64(line, f.count_);
      if (f.count_ > 0) f.payload_ = complete.substr(body, static_cast<std::size_t>(f.count_));
      break;
    case ReplyType::kArray:
    case ReplyType::kSet:
    case ReplyType::kPush:
    case ReplyType::kMap:
    case ReplyType::kAttribute:
      detail::parse_int64(line, f.count_);
      if (f.count_ > 0) f.payload_ = complete.substr(body);
      break;
    case ReplyType::kNull:
      break;
    default:
      f.payload_ = line;
      break;
  }
  return f;
}

bool Frame::is_aggregate() const {
  switch (type_) {
    case ReplyType::kArray:
    case ReplyType::kSet:
    case ReplyType::kPush:
    case ReplyType::kMap:
    case ReplyType::kAttribute:
      return true;
    default:
      return false;
  }
}

std::uint64_t Frame::element_count() const {
  if (!is_aggregate() || count_ <= 0) return 0;
  const auto n = static_cast<std::uint64_t>(count_);
  return (type_ == ReplyType::kMap || type_ == ReplyType::kAttribute) ? n * 2 : n;
}

Elements Frame::elements() const { return Elements(payload_, element_count()); }

std::int64_t Frame::integer() const {
  std::int64_t v = 0;
  if (type_ == ReplyType::kInteger) parse_signed(payload_, v);
  return v;
}

double Frame::number() const {
  if (type_ != ReplyType::kDouble) return 0.0;
  std::string_view s = payload_;
  if (!s.empty() && s[0] == '+') s.remove_prefix(1);
  const bool negative = !s.empty() && s[0] == '-';
  if (s == "inf" || s == "-inf") {
    return negative ? -std::numeric_limits<double>::infinity()
                    : std::numeric_limits<double>::infinity();
  }
  if (s == "nan" || s == "-nan") return std::numeric_limits<double>::quiet_NaN();
  double v = 0.0;
  const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  if (r.ec == std::errc::result_out_of_range) {
    // Too large overflows to infinity, too small underflows to zero, as strtod would give.
    const std::size_t e = s.find_first_of("eE");
    const bool tiny = e != std::string_view::npos && e + 1 < s.size() && s[e + 1] == '-';
    const double magnitude = tiny ? 0.0 : std::numeric_limits<double>::infinity();
    return negative ? -magnitude : magnitude;
  }
  return v;
}

bool Frame::boolean() const { return type_ == ReplyType::kBoolean && payload_ == "t"; }

std::string_view Frame::verbatim_format() const {
  return type_ == ReplyType::kVerbatim && payload_.size() >= 4 ? payload_.substr(0, 3)
                                                               : std::string_view{};
}

std::string_view Frame::verbatim_text() const {
  return type_ == ReplyType::kVerbatim && payload_.size() >= 4 ? payload_.substr(4)
                                                               : std::string_view{};
}

// ---- ElementIterator -------------------------------------------------------------------------

void ElementIterator::load() {
  if (left_ == 0) return;
  current_ = Frame::decode(rest_.substr(0, measure(rest_, 0, 1)));
}

ElementIterator& ElementIterator::operator++() {
  rest_.remove_prefix(current_.bytes().size());
  --left_;
  load();
  return *this;
}

// ---- ReplyParser -----------------------------------------------------------------------------

void ReplyParser::reset() {
  state_ = detail::ScanState{};
  seen_ = 0;
  failed_ = false;
  failure_ = ReplyResult{};
}

ReplyResult ReplyParser::parse(std::string_view input) {
  if (failed_) return failure_;
  if (input.size() < seen_) state_ = detail::ScanState{};  // broken contract: start over
  const ScanResult r = scan_frame(input, state_, limits_);
  switch (r.status) {
    case ScanStatus::kNeedMore:
      seen_ = input.size();
      return ReplyResult{ParseStatus::kNeedMore, Frame{}, r.need, ReplyError::kNone};
    case ScanStatus::kError:
      failed_ = true;
      failure_ = ReplyResult{ParseStatus::kError, Frame{}, 0, r.error};
      return failure_;
    case ScanStatus::kDone:
      break;
  }
  const std::size_t size = state_.pos;
  state_ = detail::ScanState{};
  seen_ = 0;
  return ReplyResult{ParseStatus::kComplete, Frame::decode(input.substr(0, size)), 0,
                     ReplyError::kNone};
}

}  // namespace resp
