// Test harness for resp::RequestParser: plays a connection. It feeds an input to a fresh parser in
// pieces of a given size, the way reads arrive, drops consumed bytes like a server does, and
// records what came out. run_all_splits() checks that every split gives what the whole input
// gives, so each test input is also a split-independence test.
// Thread-safety: test code, one thread.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "resp/request_parser.hpp"

namespace resp_test {

struct Event {
  resp::ParseStatus status;
  std::vector<std::string> argv;  // kComplete
  std::string error;              // kError: the reply text

  bool operator==(const Event&) const = default;
};

inline std::ostream& operator<<(std::ostream& os, const Event& e) {
  os << "{" << static_cast<int>(e.status) << " [";
  for (const auto& a : e.argv) os << '"' << a << "\" ";
  return os << "] " << e.error << "}";
}

struct Options {
  resp::Limits limits;
  bool auth_required = false;
};

// The events of one run; a trailing kNeedMore event when the input ends inside a command.
inline std::vector<Event> run(std::string_view input, std::size_t chunk, const Options& opt = {}) {
  resp::RequestParser parser(opt.limits);
  parser.set_auth_required(opt.auth_required);
  std::string buf;  // the connection's unconsumed input; appending may move it, on purpose
  std::vector<std::string_view> argv;
  std::vector<Event> events;
  std::size_t fed = 0;
  for (;;) {
    for (;;) {
      const resp::RequestResult r = parser.parse(buf, argv);
      EXPECT_LE(r.consumed, buf.size());
      if (r.complete()) {
        EXPECT_GT(r.consumed, 0u);
        Event e{r.status, {}, {}};
        for (std::string_view a : argv) {
          // Views point into the buffer, or into the parser's scratch for spliced inline words.
          e.argv.emplace_back(a);
        }
        events.push_back(std::move(e));
        buf.erase(0, r.consumed);
        continue;
      }
      buf.erase(0, r.consumed);
      if (r.failed()) {
        events.push_back(Event{r.status, {}, resp::error_message(r)});
        // Sticky: the connection is to be closed, the parser keeps saying so.
        const resp::RequestResult again = parser.parse(buf, argv);
        EXPECT_TRUE(again.failed());
        EXPECT_EQ(again.error, r.error);
        return events;
      }
      EXPECT_GE(r.need, 1u);
      break;
    }
    if (fed == input.size()) break;
    const std::size_t n = std::min(chunk, input.size() - fed);
    buf.append(input.substr(fed, n));
    fed += n;
  }
  if (!buf.empty() || parser.validated() != 0) {
    events.push_back(Event{resp::ParseStatus::kNeedMore, {}, {}});
  }
  return events;
}

// Runs the input whole, byte by byte and in a few odd piece sizes; all must agree.
inline std::vector<Event> run_all_splits(std::string_view input, const Options& opt = {}) {
  const std::vector<Event> whole = run(input, input.size() + 1, opt);
  for (std::size_t chunk : {1u, 2u, 3u, 7u, 64u}) {
    EXPECT_EQ(run(input, chunk, opt), whole) << "piece size " << chunk;
  }
  return whole;
}

inline Event command(std::vector<std::string> argv) {
  return Event{resp::ParseStatus::kComplete, std::move(argv), {}};
}
inline Event error(std::string text) { return Event{resp::ParseStatus::kError, {}, std::move(text)}; }
inline Event need_more() { return Event{resp::ParseStatus::kNeedMore, {}, {}}; }

}  // namespace resp_test
