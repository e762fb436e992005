// Test harness for resp::ReplyParser: plays a client connection. It feeds a reply stream to a
// fresh parser in pieces, consumes each frame and renders it as text through the element walk
// (so the walk is checked too). run_all_splits() checks that every split gives what the whole
// stream gives.
// Thread-safety: test code, one thread.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "resp/reply_parser.hpp"

namespace resp_test {

// A canonical rendering: "$foo", ":12", "*[$a, nil]", "%[+k, :1]", "attr(...)" before a reply
// that has attributes.
inline std::string describe(const resp::Frame& f) {
  using resp::ReplyType;
  std::string out;
  if (!f.attribute().empty()) out += "attr(" + std::string(f.attribute()) + ")";
  if (f.is_null() && f.type() != ReplyType::kNull) {
    return out + (f.type() == ReplyType::kArray ? "nil*" : "nil");
  }
  switch (f.type()) {
    case ReplyType::kInteger:
      return out + ":" + std::to_string(f.integer());
    case ReplyType::kBoolean:
      return out + (f.boolean() ? "#t" : "#f");
    case ReplyType::kNull:
      return out + "_";
    case ReplyType::kVerbatim:
      return out + "=" + std::string(f.verbatim_format()) + ":" + std::string(f.verbatim_text());
    default:
      break;
  }
  out += static_cast<char>(f.type());
  if (!f.is_aggregate()) return out + std::string(f.payload());
  out += "[";
  std::uint64_t seen = 0;
  std::size_t covered = 0;
  for (const resp::Frame& e : f.elements()) {
    if (seen++ > 0) out += ", ";
    out += describe(e);
    covered += e.bytes().size();
  }
  // The walk must cover exactly the declared elements and exactly the frame's element bytes.
  EXPECT_EQ(seen, f.element_count());
  EXPECT_EQ(covered, f.payload().size());
  return out + "]";
}

inline std::vector<std::string> run_replies(std::string_view input, std::size_t chunk,
                                            const resp::ReplyLimits& limits = {}) {
  resp::ReplyParser parser(limits);
  std::string buf;
  std::vector<std::string> out;
  std::size_t fed = 0;
  for (;;) {
    for (;;) {
      const resp::ReplyResult r = parser.parse(buf);
      if (r.complete()) {
        EXPECT_GT(r.frame.bytes().size(), 0u);
        EXPECT_LE(r.frame.bytes().size(), buf.size());
        EXPECT_EQ(r.frame.bytes().data(), buf.data());
        out.push_back(describe(r.frame));
        buf.erase(0, r.frame.bytes().size());
        continue;
      }
      if (r.failed()) {
        out.push_back("ERR:" + std::string(resp::reply_error_text(r.error)));
        EXPECT_TRUE(parser.parse(buf).failed());  // sticky
        return out;
      }
      EXPECT_GE(r.need, 1u);
      break;
    }
    if (fed == input.size()) break;
    const std::size_t n = std::min(chunk, input.size() - fed);
    buf.append(input.substr(fed, n));
    fed += n;
  }
  if (!buf.empty()) out.push_back("MORE");
  return out;
}

inline std::vector<std::string> replies_all_splits(std::string_view input,
                                                   const resp::ReplyLimits& limits = {}) {
  const std::vector<std::string> whole = run_replies(input, input.size() + 1, limits);
  for (std::size_t chunk : {1u, 2u, 3u, 7u, 64u}) {
    EXPECT_EQ(run_replies(input, chunk, limits), whole) << "piece size " << chunk;
  }
  return whole;
}

}  // namespace resp_test
