// Google Benchmark micro-benchmarks of the RESP codec (built with -DLF_BUILD_BENCHMARKS=ON; never
// part of ctest, never a gate). Run: build/bin/resp_bench
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "resp/reply_parser.hpp"
#include "resp/request_parser.hpp"
#include "resp/writer.hpp"

namespace {

constexpr std::string_view kSet = "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n";

// One SET per iteration, as a server sees it: a command at the start of the input buffer.
void parse_set(benchmark::State& state) {
  resp::RequestParser parser;
  std::vector<std::string_view> argv;
  for (auto _ : state) {
    const resp::RequestResult r = parser.parse(kSet, argv);
    benchmark::DoNotOptimize(r);
    benchmark::DoNotOptimize(argv.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(parse_set);

// A pipeline of 64 SETs in one buffer, parsed command by command.
void parse_set_pipeline64(benchmark::State& state) {
  std::string input;
  for (int i = 0; i < 64; ++i) input += kSet;
  resp::RequestParser parser;
  std::vector<std::string_view> argv;
  for (auto _ : state) {
    std::string_view rest = input;
    while (!rest.empty()) {
      const resp::RequestResult r = parser.parse(rest, argv);
      benchmark::DoNotOptimize(argv.data());
      rest.remove_prefix(r.consumed);
    }
  }
  state.SetItemsProcessed(state.iterations() * 64);
}
BENCHMARK(parse_set_pipeline64);

void parse_inline_set(benchmark::State& state) {
  constexpr std::string_view kInline = "SET key value\r\n";
  resp::RequestParser parser;
  std::vector<std::string_view> argv;
  for (auto _ : state) {
    const resp::RequestResult r = parser.parse(kInline, argv);
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(parse_inline_set);

void write_get_reply(benchmark::State& state) {
  std::string out;
  out.reserve(256);
  for (auto _ : state) {
    out.clear();
    resp::Writer w(out);
    w.bulk("value");
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(write_get_reply);

void write_integer(benchmark::State& state) {
  std::string out;
  out.reserve(256);
  std::int64_t v = 1234567;
  for (auto _ : state) {
    out.clear();
    resp::Writer w(out);
    w.integer(v++);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(write_integer);

void parse_mget_reply10(benchmark::State& state) {
  std::string reply = "*10\r\n";
  for (int i = 0; i < 10; ++i) reply += "$5\r\nvalue\r\n";
  resp::ReplyParser parser;
  for (auto _ : state) {
    const resp::ReplyResult r = parser.parse(reply);
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(parse_mget_reply10);

}  // namespace

BENCHMARK_MAIN();
