#include "resp/request_parser.hpp"

#include <algorithm>
#include <cstring>

#include "resp/numbers.hpp"

namespace resp {

namespace {

constexpr std::size_t kNpos = std::string_view::npos;

// C's isspace in the "C" locale, without the locale lookup.
bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string error_message(RequestError error, char got) {
  std::string text = "ERR Protocol error: ";
  switch (error) {
    case RequestError::kNone:
      return {};
    case RequestError::kInvalidMultibulkLength:
      return text + "invalid multibulk length";
    case RequestError::kInvalidBulkLength:
      return text + "invalid bulk length";
    case RequestError::kExpectedDollar:
      // Redis formats the byte with %c and then blanks CR and LF so the reply stays one line.
      text += "expected '$', got '";
      text += (got == '\r' || got == '\n') ? ' ' : got;
      text += '\'';
      return text;
    case RequestError::kTooBigMbulkCount:
      return text + "too big mbulk count string";
    case RequestError::kTooBigBulkCount:
      return text + "too big bulk count string";
    case RequestError::kTooBigInline:
      return text + "too big inline request";
    case RequestError::kUnbalancedQuotes:
      return text + "unbalanced quotes in request";
    case RequestError::kUnauthenticatedMultibulkLen:
      return text + "unauthenticated multibulk length";
    case RequestError::kUnauthenticatedBulkLen:
      return text + "unauthenticated bulk length";
  }
  return text + "unknown";
}

void RequestParser::reset() {
  phase_ = Phase::kIdle;
  pos_ = scan_ = seen_ = 0;
  remaining_ = bulk_len_ = 0;
  spans_.clear();
  failure_ = RequestResult{};
}

namespace {

// `<type><count>\r\n` at p with a plain count (1 to 18 digits, no sign, no leading zero but "0"
// itself): the pointer past it, or nullptr (parse_int64 and the limits decide about the rest).
inline const char* plain_count(const char* p, const char* end, char type, std::uint64_t& count) {
  if (end - p < 4 || p[0] != type) return nullptr;  // the shortest is `$0\r\n`
  std::uint64_t v = static_cast<unsigned char>(p[1]) - static_cast<unsigned>('0');
  if (v > 9) return nullptr;
  const char* q = p + 2;
  if (v != 0) {  // "0" stands alone: a digit after it is a leading zero, refused below
    for (const char* const stop = end - p > 19 ? p + 19 : end; q < stop; ++q) {
      const unsigned d = static_cast<unsigned char>(*q) - static_cast<unsigned>('0');
      if (d > 9) break;
      v = v * 10 + d;
    }
  }
  if (end - q < 2 || q[0] != '\r' || q[1] != '\n') return nullptr;
  count = v;
  return q + 2;
}

}  // namespace

std::size_t RequestParser::parse_plain(std::string_view input,
                                       std::vector<std::string_view>& argv) const {
  const char* const begin = input.data();
  const char* const end = begin + input.size();
  std::uint64_t argc = 0;
  const char* p = plain_count(begin, end, '*', argc);
  if (p == nullptr || argc == 0 || argc > limits_.max_multibulk_len ||
      (auth_required_ && argc > limits_.unauth_max_multibulk_len)) {
    return 0;
  }
  const std::uint64_t max_len = auth_required_ ? std::min<std::uint64_t>(limits_.max_bulk_len,
                                                                         limits_.unauth_max_bulk_len)
                                               : limits_.max_bulk_len;
  const std::size_t first = argv.size();
  for (std::uint64_t a = 0; a < argc; ++a) {
    std::uint64_t len = 0;
    p = plain_count(p, end, '$', len);
    // The payload and its two trailing bytes are taken unchecked, as parse() takes them.
    if (p == nullptr || len > max_len || static_cast<std::uint64_t>(end - p) < len + 2) {
      argv.resize(first);
      return 0;
    }
    argv.emplace_back(p, static_cast<std::size_t>(len));
    p += len + 2;
  }
  return static_cast<std::size_t>(p - begin);
}

RequestResult RequestParser::parse(std::string_view input, std::vector<std::string_view>& argv) {
  argv.clear();
  if (phase_ == Phase::kIdle) {
    if (const std::size_t n = parse_plain(input, argv); n != 0) {
      seen_ = 0;
      return RequestResult{ParseStatus::kComplete, n, 0, RequestError::kNone, 0};
    }
  }
  if (phase_ == Phase::kFailed) return failure_;
  // A shorter input than last time breaks the calling contract; starting the pending command over
  // keeps every remembered offset inside the input instead of trusting stale ones.
  if (input.size() < seen_) {
    phase_ = Phase::kIdle;
    pos_ = scan_ = 0;
  }
  std::size_t base = 0;
  for (;;) {
    const Outcome o = step(input.substr(base), argv);
    switch (o.step) {
      case Step::kSkip:
        base += o.bytes;
        continue;
      case Step::kCommand:
        seen_ = 0;
        return RequestResult{ParseStatus::kComplete, base + o.bytes, 0, RequestError::kNone, 0};
      case Step::kNeedMore:
        // Offsets are relative to the pending command's first byte, which is where the caller's
        // next input starts once it drops `base` bytes.
        seen_ = input.size() - base;
        return RequestResult{ParseStatus::kNeedMore, base, o.bytes, RequestError::kNone, 0};
      case Step::kError: {
        argv.clear();
        RequestResult r = failure_;
        r.consumed = base;
        return r;
      }
    }
  }
}

RequestParser::Outcome RequestParser::finish(Step step, std::size_t bytes) {
  phase_ = Phase::kIdle;
  pos_ = scan_ = 0;
  return Outcome{step, bytes};
}

RequestParser::Outcome RequestParser::fail(RequestError error, char got) {
  phase_ = Phase::kFailed;
  failure_ = RequestResult{ParseStatus::kError, 0, 0, error, got};
  return Outcome{Step::kError, 0};
}

std::size_t RequestParser::find_from_scan(std::string_view in, char c) {
  // Header lines ("$5") are a few bytes: look at those inline, where memchr's call and setup
  // would cost more than the search; long lines still get memchr's wide compares.
  constexpr std::size_t kInlineScan = 8;
  const std::size_t short_end = std::min(in.size(), scan_ + kInlineScan);
  for (; scan_ < short_end; ++scan_) {
    if (in[scan_] == c) return scan_;
  }
  if (scan_ < in.size()) {
    const void* hit = std::memchr(in.data() + scan_, c, in.size() - scan_);
    if (hit != nullptr) {
      scan_ = static_cast<std::size_t>(static_cast<const char*>(hit) - in.data());
      return scan_;
    }
  }
  scan_ = in.size();
  return kNpos;
}

RequestParser::Outcome RequestParser::step(std::string_view in,
                                           std::vector<std::string_view>& argv) {
  if (phase_ == Phase::kIdle) {
    if (in.empty()) return Outcome{Step::kNeedMore, 1};
    phase_ = in[0] == '*' ? Phase::kMultibulkCount : Phase::kInline;
    pos_ = scan_ = 0;
  }
  if (phase_ == Phase::kInline) return step_inline(in, argv);
  return step_multibulk(in, argv);
}

// A header line counts as too long when the bytes before its '\r' exceed the inline limit,
// whether or not the '\r' has arrived yet. Redis tests "no '\r' yet and more than the limit
// buffered"; deciding on the line alone gives the same verdict for any split of the input.
RequestParser::Outcome RequestParser::step_multibulk(std::string_view in,
                                                     std::vector<std::string_view>& argv) {
  if (phase_ == Phase::kMultibulkCount) {
    const std::size_t cr = find_from_scan(in, '\r');
    if ((cr == kNpos ? in.size() : cr) > limits_.max_inline_len) {
      return fail(RequestError::kTooBigMbulkCount);
    }
    // Like Redis, the byte after '\r' must be present but is not checked.
    if (cr == kNpos || cr + 2 > in.size()) return Outcome{Step::kNeedMore, 1};
    std::int64_t count = 0;
    if (!detail::parse_int64(in.substr(1, cr - 1), count) ||
        (count > 0 && static_cast<std::uint64_t>(count) > limits_.max_multibulk_len)) {
      return fail(RequestError::kInvalidMultibulkLength);
    }
    if (auth_required_ && count > 0 &&
        static_cast<std::uint64_t>(count) > limits_.unauth_max_multibulk_len) {
      return fail(RequestError::kUnauthenticatedMultibulkLen);
    }
    if (count <= 0) return finish(Step::kSkip, cr + 2);  // Redis ignores `*0` and `*-N`
    remaining_ = static_cast<std::uint64_t>(count);
    spans_.clear();
    pos_ = scan_ = cr + 2;
    phase_ = Phase::kBulkLength;
  }
  while (remaining_ > 0) {
    if (phase_ == Phase::kBulkLength) {
      const std::size_t cr = find_from_scan(in, '\r');
      if ((cr == kNpos ? in.size() : cr) - pos_ > limits_.max_inline_len) {
        return fail(RequestError::kTooBigBulkCount);
      }
      if (cr == kNpos || cr + 2 > in.size()) return Outcome{Step::kNeedMore, 1};
      if (in[pos_] != '$') return fail(RequestError::kExpectedDollar, in[pos_]);
      std::int64_t len = 0;
      if (!detail::parse_int64(in.substr(pos_ + 1, cr - pos_ - 1), len) || len < 0 ||
          static_cast<std::uint64_t>(len) > limits_.max_bulk_len) {
        return fail(RequestError::kInvalidBulkLength);
      }
      if (auth_required_ && static_cast<std::uint64_t>(len) > limits_.unauth_max_bulk_len) {
        return fail(RequestError::kUnauthenticatedBulkLen);
      }
      bulk_len_ = static_cast<std::uint64_t>(len);
      pos_ = cr + 2;
      phase_ = Phase::kBulkData;
    }
    // The payload is not scanned at all, and its two trailing bytes are skipped unchecked as
    // Redis does: waiting for a big bulk costs one comparison per call.
    const std::uint64_t end = pos_ + bulk_len_ + 2;
    if (in.size() < end) return Outcome{Step::kNeedMore, static_cast<std::size_t>(end - in.size())};
    spans_.push_back(Span{pos_, static_cast<std::size_t>(bulk_len_)});
    pos_ = scan_ = static_cast<std::size_t>(end);
    --remaining_;
    phase_ = Phase::kBulkLength;
  }
  for (const Span& s : spans_) argv.emplace_back(in.data() + s.offset, s.length);
  return finish(Step::kCommand, pos_);
}

RequestParser::Outcome RequestParser::step_inline(std::string_view in,
                                                  std::vector<std::string_view>& argv) {
  const std::size_t nl = find_from_scan(in, '\n');
  if ((nl == kNpos ? in.size() : nl) > limits_.max_inline_len) {
    return fail(RequestError::kTooBigInline);
  }
  if (nl == kNpos) return Outcome{Step::kNeedMore, 1};
  std::size_t end = nl;
  if (end > 0 && in[end - 1] == '\r') --end;
  std::string_view line = in.substr(0, end);
  // Redis splits the line as a C string, so a NUL byte ends it; behave the same.
  if (const void* nul = std::memchr(line.data(), '\0', line.size()); nul != nullptr) {
    line = line.substr(0, static_cast<std::size_t>(static_cast<const char*>(nul) - line.data()));
  }
  if (!split_inline(line, argv)) return fail(RequestError::kUnbalancedQuotes);
  return finish(argv.empty() ? Step::kSkip : Step::kCommand, nl + 1);
}

// Redis's inline splitting rules: blanks separate arguments; "double quotes" take \n \r \t \b \a
// \\ \" and \xHH escapes (any other escaped byte stands for itself); 'single quotes' take \'
// only; a closing quote must be followed by a blank or the end of the line; an unclosed quote is
// an error. An argument stays a view into the input while its bytes are a contiguous run of the
// input (the common case, quotes or not); it moves to scratch_ once an escape or a quote splice
// breaks the run.
bool RequestParser::split_inline(std::string_view line, std::vector<std::string_view>& argv) {
  scratch_.clear();
  bool scratch_ready = false;
  const char* p = line.data();
  const char* const end = p + line.size();

  struct Arg {
    const char* start = nullptr;  // in the input, while !copied
    std::size_t offset = 0;       // in scratch_, once copied
    std::size_t length = 0;
    bool copied = false;
  };
  // `src` is the input byte that holds c itself, or nullptr for a byte made by an escape.
  const auto append = [&](Arg& a, char c, const char* src) {
    if (!a.copied) {
      if (src != nullptr && (a.length == 0 || src == a.start + a.length)) {
        if (a.length == 0) a.start = src;
        ++a.length;
        return;
      }
      if (!scratch_ready) {
        // Unescaping never produces more bytes than it reads, so the whole line fits: views
        // already handed out into scratch_ cannot be moved by a later reallocation.
        scratch_.reserve(line.size());
        scratch_ready = true;
      }
      a.offset = scratch_.size();
      scratch_.append(a.start, a.length);
      a.copied = true;
    }
    scratch_.push_back(c);
    ++a.length;
  };
  // After a closing quote: only a blank or the end of the line may follow.
  const auto closes = [&](const char* q) { return q + 1 == end || is_space(q[1]); };

  for (;;) {
    while (p != end && is_space(*p)) ++p;
    if (p == end) return true;
    Arg a;
    bool in_double = false;
    bool in_single = false;
    for (bool done = false; !done;) {
      if (in_double) {
        if (p == end) return false;
        if (*p == '\\' && end - p >= 4 && p[1] == 'x' && hex_value(p[2]) >= 0 &&
            hex_value(p[3]) >= 0) {
          append(a, static_cast<char>(hex_value(p[2]) * 16 + hex_value(p[3])), nullptr);
          p += 4;
        } else if (*p == '\\' && end - p >= 2) {
          char c = p[1];
          switch (c) {
            case 'n': c = '\n'; break;
            case 'r': c = '\r'; break;
            case 't': c = '\t'; break;
            case 'b': c = '\b'; break;
            case 'a': c = '\a'; break;
            default: break;
          }
          append(a, c, c == p[1] ? p + 1 : nullptr);
          p += 2;
        } else if (*p == '"') {
          if (!closes(p)) return false;
          ++p;
          done = true;
        } else {
          append(a, *p, p);
          ++p;
        }
      } else if (in_single) {
        if (p == end) return false;
        if (*p == '\\' && end - p >= 2 && p[1] == '\'') {
          append(a, '\'', p + 1);
          p += 2;
        } else if (*p == '\'') {
          if (!closes(p)) return false;
          ++p;
          done = true;
        } else {
          append(a, *p, p);
          ++p;
        }
      } else if (p == end) {
        done = true;
      } else {
        switch (*p) {
          case ' ': case '\n': case '\r': case '\t':
            done = true;
            break;
          case '"':
            in_double = true;
            break;
          case '\'':
            in_single = true;
            break;
          default:
            append(a, *p, p);
            break;
        }
        ++p;
      }
    }
    if (a.copied) {
      argv.emplace_back(scratch_.data() + a.offset, a.length);
    } else {
      argv.emplace_back(a.start, a.length);
    }
  }
}

}  // namespace resp
