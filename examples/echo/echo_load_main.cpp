// lf-echo-load: closed-loop load against any echo server; prints throughput and latency.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "echo_load.hpp"

int main(int argc, char** argv) {
  CLI::App app{"lf-echo-load: closed-loop echo load"};
  echo::LoadOptions o;
  int port = 7000;
  double seconds = 2.0;
  app.add_option("--host", o.host)->capture_default_str();
  app.add_option("--port", port)->capture_default_str();
  app.add_option("--connections,-c", o.connections)->capture_default_str();
  app.add_option("--size", o.size, "message bytes")->capture_default_str();
  app.add_option("--pipeline,-P", o.pipeline, "messages in flight per connection")->capture_default_str();
  app.add_option("--threads", o.threads, "client threads")->capture_default_str();
  app.add_option("--seconds", seconds, "measured seconds")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  o.port = static_cast<std::uint16_t>(port);
  o.duration = std::chrono::duration_cast<lf::Duration>(std::chrono::duration<double>(seconds));
  auto r = echo::run_load(o, nullptr, nullptr);
  if (!r.ok()) {
    std::fprintf(stderr, "lf-echo-load: %s\n", r.status().message().c_str());
    return 1;
  }
  const auto& h = r.value().latency_ns;
  // `messages`: all echoed since the connections opened (warm-up included), for CPU per message.
  std::printf("requests/s %.0f  p50 %.1f us  p99 %.1f us  max %.1f us  errors %llu  messages %llu\n", r.value().rate(),
              static_cast<double>(h.percentile(0.5)) / 1e3, static_cast<double>(h.percentile(0.99)) / 1e3,
              static_cast<double>(h.max()) / 1e3, static_cast<unsigned long long>(r.value().errors),
              static_cast<unsigned long long>(r.value().all_messages));
  return r.value().errors == 0 ? 0 : 1;
}
