// libFuzzer target for resp::ReplyParser, resp::Frame's element walk and resp::Writer.
// Input: one flags byte, then the bytes a server sends. Flags: bit 0 selects tiny limits, bits
// 1..7 choose the size of the pieces the second run is fed in.
// Invariants: a frame starts at the input's start and fits in it; parsing a frame's bytes alone
// gives the same frame; the element walk covers exactly the declared elements and exactly the
// frame's element bytes; whole and piecewise feeding agree; errors are sticky; writing a frame
// again with resp::Writer (RESP3) and parsing that gives the same values.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.hpp"
#include "resp/reply_parser.hpp"
#include "resp/writer.hpp"

namespace {

using resp::Frame;
using resp::ReplyType;

// A canonical text of a frame's values, in which the differences the writer is allowed to make
// vanish: all nulls are one null, numbers are compared by value, CR/LF in lines become spaces.
std::string canon(const Frame& f) {
  std::string out;
  if (!f.attribute().empty()) out += "A(" + std::string(f.attribute()) + ")";
  if (f.is_null()) return out + "null";
  switch (f.type()) {
    case ReplyType::kInteger:
      return out + "i" + std::to_string(f.integer());
    case ReplyType::kDouble: {
      const double d = f.number();
      if (std::isnan(d)) return out + "dnan";
      char buf[64];
      std::snprintf(buf, sizeof buf, "d%.17g", d);
      return out + buf;
    }
    case ReplyType::kBoolean:
      return out + (f.boolean() ? "T" : "F");
    case ReplyType::kSimpleString:
    case ReplyType::kError: {
      std::string text(f.payload());
      for (char& c : text) {
        if (c == '\n') c = ' ';
      }
      return out + static_cast<char>(f.type()) + text;
    }
    default:
      break;
  }
  out += static_cast<char>(f.type());
  if (!f.is_aggregate()) {
    out += std::to_string(f.payload().size()) + ":";
    return out + std::string(f.payload());
  }
  out += "[";
  std::uint64_t n = 0;
  std::size_t covered = 0;
  for (const Frame& e : f.elements()) {
    FUZZ_CHECK(e.bytes().data() == f.payload().data() + covered);
    covered += e.bytes().size();
    out += canon(e);
    out += ",";
    ++n;
  }
  FUZZ_CHECK(n == f.element_count());
  FUZZ_CHECK(covered == f.payload().size());
  return out + "]";
}

// Writes the frame again through the public writer.
void encode(const Frame& f, resp::Writer& w) {
  w.raw(f.attribute());
  if (f.is_null()) {
    w.null();
    return;
  }
  switch (f.type()) {
    case ReplyType::kSimpleString: w.simple_string(f.payload()); return;
    case ReplyType::kError: w.error(f.payload()); return;
    case ReplyType::kInteger: w.integer(f.integer()); return;
    case ReplyType::kBulkString: w.bulk(f.payload()); return;
    case ReplyType::kDouble: w.double_value(f.number()); return;
    case ReplyType::kBoolean: w.boolean(f.boolean()); return;
    case ReplyType::kVerbatim: w.verbatim(f.verbatim_text(), f.verbatim_format()); return;
    case ReplyType::kBigNumber: w.big_number(f.payload()); return;
    case ReplyType::kBlobError: w.raw(f.bytes().substr(f.attribute().size())); return;
    case ReplyType::kArray: w.array_header(static_cast<std::size_t>(f.count())); break;
    case ReplyType::kSet: w.set_header(static_cast<std::size_t>(f.count())); break;
    case ReplyType::kPush: w.push_header(static_cast<std::size_t>(f.count())); break;
    case ReplyType::kMap: w.map_header(static_cast<std::size_t>(f.count())); break;
    case ReplyType::kNull:
    case ReplyType::kAttribute:
      FUZZ_CHECK(false);  // nulls returned above; attributes are never a frame's own type
  }
  for (const Frame& e : f.elements()) encode(e, w);
}

struct Outcome {
  std::vector<std::string> frames;
  int error = 0;
  bool operator==(const Outcome&) const = default;
};

Outcome run(std::string_view input, std::size_t piece, const resp::ReplyLimits& limits) {
  resp::ReplyParser parser(limits);
  std::string buf;
  Outcome out;
  std::size_t fed = 0;
  for (;;) {
    for (;;) {
      const resp::ReplyResult r = parser.parse(buf);
      if (r.complete()) {
        const Frame& f = r.frame;
        FUZZ_CHECK(f.bytes().data() == buf.data());
        FUZZ_CHECK(!f.bytes().empty() && f.bytes().size() <= buf.size());
        FUZZ_CHECK(parser.validated() == 0);
        out.frames.push_back(canon(f));
        buf.erase(0, f.bytes().size());
        continue;
      }
      if (r.failed()) {
        out.error = static_cast<int>(r.error);
        FUZZ_CHECK(!resp::reply_error_text(r.error).empty());
        FUZZ_CHECK(parser.parse(buf).failed());
        return out;
      }
      FUZZ_CHECK(r.need >= 1);
      FUZZ_CHECK(parser.validated() <= buf.size());
      break;
    }
    if (fed == input.size()) return out;
    const std::size_t n = std::min(piece, input.size() - fed);
    buf.append(input.substr(fed, n));
    fed += n;
  }
}

// A frame's bytes alone parse to the same frame, and writing it again round-trips.
void check_frame_alone_and_rewritten(std::string_view input) {
  resp::ReplyParser parser;
  while (!input.empty()) {
    const resp::ReplyResult r = parser.parse(input);
    if (!r.complete()) return;
    const std::string bytes(r.frame.bytes());
    resp::ReplyParser alone;
    const resp::ReplyResult again = alone.parse(bytes);
    FUZZ_CHECK(again.complete() && again.frame.bytes().size() == bytes.size());
    FUZZ_CHECK(canon(again.frame) == canon(r.frame));

    std::string rewritten;
    resp::Writer w(rewritten, resp::Protocol::kResp3);
    encode(r.frame, w);
    resp::ReplyParser reread;
    const resp::ReplyResult back = reread.parse(rewritten);
    FUZZ_CHECK(back.complete() && back.frame.bytes().size() == rewritten.size());
    FUZZ_CHECK(canon(back.frame) == canon(r.frame));
    input.remove_prefix(bytes.size());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t flags = data[0];
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  resp::ReplyLimits limits;
  if (flags & 1) {
    limits.max_bulk_len = 16;
    limits.max_aggregate_len = 4;
    limits.max_line_len = 12;
  }
  const std::size_t piece = 1 + (flags >> 1) % 19;
  const Outcome whole = run(input, input.size() + 1, limits);
  const Outcome split = run(input, piece, limits);
  FUZZ_CHECK(whole == split);
  check_frame_alone_and_rewritten(input);
  return 0;
}
