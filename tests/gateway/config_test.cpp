// The gateway's two config shapes (lfdb's own and twemproxy's), slot assignment, and the clear
// errors for bad input.
#include <gtest/gtest.h>

#include "gateway/config.hpp"

namespace lfdb::gateway {
namespace {

lf::Status parse(const std::string& text, Config& c) { return parse_config_text(text, "test.yml", c); }

TEST(GatewayConfig, LfdbShapeWithEverything) {
  Config c;
  const lf::Status st = parse(R"(
listen: 127.0.0.1:7100
threads: 3
forwarding: bound
read_policy: least-outstanding
hash_tag: "{}"
timeout_ms: 500
server_retry_timeout_ms: 1500
server_failure_limit: 3
connections_per_backend: 2
allow-admin: true
allow_dangerous: yes
requirepass: secret
limits:
  max_clients: 50
  max_pipeline: 64
shards:
  - primary: 127.0.0.1:7001
    replicas: [127.0.0.1:7011, 127.0.0.1:7012]
  - primary: 127.0.0.1:7002
)", c);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(c.source, "lfdb");
  EXPECT_EQ(c.bind, "127.0.0.1");
  EXPECT_EQ(c.port, 7100);
  EXPECT_EQ(c.threads, 3);
  EXPECT_EQ(c.forwarding, Forwarding::kBound);
  EXPECT_EQ(c.read_policy, ReadPolicy::kLeastOutstanding);
  EXPECT_EQ(c.timeout, std::chrono::milliseconds(500));
  EXPECT_EQ(c.server_retry_timeout, std::chrono::milliseconds(1500));
  EXPECT_EQ(c.server_failure_limit, 3);
  EXPECT_EQ(c.connections_per_backend, 2);
  EXPECT_TRUE(c.allow_admin);
  EXPECT_TRUE(c.allow_dangerous);
  EXPECT_EQ(c.requirepass, "secret");
  EXPECT_EQ(c.limits.max_clients, 50u);
  EXPECT_EQ(c.limits.max_pipeline, 64u);
  ASSERT_EQ(c.shards.size(), 2u);
  EXPECT_EQ(c.shards[0].replicas.size(), 2u);
  EXPECT_EQ(c.shards[0].replicas[1].port, 7012);
  EXPECT_EQ(c.shards[0].slot_lo, 0);
  EXPECT_EQ(c.shards[0].slot_hi, 8191);
  EXPECT_EQ(c.shards[1].slot_lo, 8192);
  EXPECT_EQ(c.shards[1].slot_hi, 16383);
}

TEST(GatewayConfig, ExplicitSlotRangesMustCoverEverySlotOnce) {
  Config c;
  EXPECT_TRUE(parse("shards:\n  - {primary: 'h:1', slots: 0-99}\n  - {primary: 'h:2', slots: 100-16383}\n", c).ok());
  EXPECT_EQ(c.shards[0].slot_hi, 99);
  Config gap;
  const lf::Status g = parse("shards:\n  - {primary: 'h:1', slots: 0-99}\n  - {primary: 'h:2', slots: 101-16383}\n", gap);
  ASSERT_FALSE(g.ok());
  EXPECT_NE(g.message().find("slot 100 belongs to no shard"), std::string::npos) << g.message();
  Config overlap;
  const lf::Status o = parse("shards:\n  - {primary: 'h:1', slots: 0-100}\n  - {primary: 'h:2', slots: 100-16383}\n", overlap);
  ASSERT_FALSE(o.ok());
  EXPECT_NE(o.message().find("slot 100 is given to shard 0 and shard 1"), std::string::npos) << o.message();
  Config partial;
  EXPECT_FALSE(parse("shards:\n  - {primary: 'h:1', slots: 0-100}\n  - {primary: 'h:2'}\n", partial).ok());
}

TEST(GatewayConfig, TwemproxyPoolAcceptedAsIs) {
  Config c;
  const lf::Status st = parse(R"(
alpha:
  listen: 127.0.0.1:22121
  hash: fnv1a_64
  hash_tag: "{}"
  distribution: ketama
  auto_eject_hosts: true
  redis: true
  timeout: 400
  server_retry_timeout: 2000
  server_failure_limit: 1
  server_connections: 2
  preconnect: true
  servers:
   - 127.0.0.1:6379:1
   - 127.0.0.1:6380:3 server2
)", c);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(c.source, "twemproxy");
  EXPECT_EQ(c.port, 22121);
  EXPECT_EQ(c.timeout, std::chrono::milliseconds(400));
  EXPECT_EQ(c.server_retry_timeout, std::chrono::milliseconds(2000));
  EXPECT_EQ(c.server_failure_limit, 1);
  EXPECT_EQ(c.connections_per_backend, 2);
  ASSERT_EQ(c.shards.size(), 2u);
  EXPECT_EQ(c.shards[1].primary.name, "server2");
  EXPECT_EQ(c.shards[1].primary.port, 6380);
  // Weights 1:3 split the slots 1:3.
  EXPECT_EQ(c.shards[0].slot_hi, 4095);
  EXPECT_EQ(c.shards[1].slot_lo, 4096);
  // hash, distribution and preconnect are accepted with a warning each.
  EXPECT_EQ(c.warnings.size(), 3u);
}

TEST(GatewayConfig, TwemproxyWithoutAutoEjectNeverEjects) {
  Config c;
  ASSERT_TRUE(parse("p:\n  redis: true\n  server_failure_limit: 3\n  servers: ['127.0.0.1:1:1']\n", c).ok());
  EXPECT_EQ(c.server_failure_limit, 0);
}

TEST(GatewayConfig, TwemproxyErrors) {
  Config a;
  lf::Status st = parse("p:\n  servers: ['127.0.0.1:1:1']\n", a);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("not a redis pool"), std::string::npos) << st.message();
  Config b;
  st = parse("p:\n  redis: true\n  servers: ['127.0.0.1:1']\n", b);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("host:port:weight"), std::string::npos) << st.message();
  Config c;
  st = parse("p:\n  redis: true\n  servers: ['h:1:1']\nq:\n  redis: true\n  servers: ['h:2:1']\n", c);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("more than one pool"), std::string::npos) << st.message();
}

TEST(GatewayConfig, ClearErrorsForBadInput) {
  struct Case {
    const char* text;
    const char* expect;
  };
  const Case cases[] = {
      {"shards: ['h:1']\nbogus: 1\n", "test.yml: bogus: unknown key"},
      {"shards: ['h:1']\nthreads: many\n", "threads: expected an integer"},
      {"shards: ['h:1']\nread_policy: random\n", "expected primary, round-robin or least-outstanding"},
      {"shards: ['h:1']\nhash_tag: '[]'\n", "only \"{}\" is supported"},
      {"shards: ['nohost']\n", "expected host:port"},
      {"shards: [{replicas: ['h:2']}]\n", "a shard needs a 'primary'"},
      {"listen: 1.2.3.4\n", "expected host:port"},
      {"threads: 2\n", "no shards configured"},
      {"shards: ['h:1']\nlimits: {max_fun: 3}\n", "limits.max_fun: unknown limit"},
      {"- a\n- b\n", "expected a YAML map"},
      {"shards: [\n", "YAML"},
  };
  for (const Case& k : cases) {
    Config c;
    const lf::Status st = parse(k.text, c);
    ASSERT_FALSE(st.ok()) << k.text;
    EXPECT_NE(st.message().find(k.expect), std::string::npos) << k.text << " -> " << st.message();
  }
}

TEST(GatewayConfig, CommandLine) {
  Config c;
  std::string usage;
  const char* argv[] = {"lfdb-gateway", "--shards", "127.0.0.1:1,127.0.0.1:2,127.0.0.1:3",
                        "--port", "0", "--threads", "4", "--forwarding", "bound"};
  const lf::Status st = parse_command_line(9, const_cast<char**>(argv), c, usage);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(c.shards.size(), 3u);
  EXPECT_EQ(c.shards[2].slot_hi, 16383);
  EXPECT_EQ(c.port, 0);
  EXPECT_EQ(c.threads, 4);
  EXPECT_EQ(c.forwarding, Forwarding::kBound);

  Config d;
  const char* bad_flag[] = {"lfdb-gateway", "--shards", "h:1", "--frobnicate", "1"};
  lf::Status e = parse_command_line(5, const_cast<char**>(bad_flag), d, usage);
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.message().find("frobnicate"), std::string::npos) << e.message();

  Config f;
  const char* bad_model[] = {"lfdb-gateway", "--shards", "h:1", "--model", "hsha"};
  e = parse_command_line(5, const_cast<char**>(bad_model), f, usage);
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.message().find("--model"), std::string::npos) << e.message();

  Config g;
  const char* none[] = {"lfdb-gateway"};
  e = parse_command_line(1, const_cast<char**>(none), g, usage);
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.message().find("no back-ends"), std::string::npos) << e.message();

  Config h;
  const char* missing[] = {"lfdb-gateway", "--config", "/nonexistent/gw.yml"};
  e = parse_command_line(3, const_cast<char**>(missing), h, usage);
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.message().find("cannot read config file '/nonexistent/gw.yml'"), std::string::npos);
}

}  // namespace
}  // namespace lfdb::gateway

namespace lfdb::gateway {
namespace {

TEST(GatewayConfig, EventsPerTurn) {
  Config c;
  EXPECT_EQ(c.events_per_turn, 8);  // the default, chosen by measurement (docs/benchmarks-gateway.md)
  ASSERT_TRUE(parse_config_text("events_per_turn: 4\nshards:\n  - primary: 'h:1'\n", "t.yml", c).ok());
  EXPECT_EQ(c.events_per_turn, 4);
  Config bad;
  const lf::Status st = parse_config_text("events_per_turn: 65\nshards:\n  - primary: 'h:1'\n", "t.yml", bad);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("events_per_turn"), std::string::npos) << st.message();
}

TEST(GatewayConfig, LazyPromotion) {
  Config c;
  EXPECT_TRUE(c.lazy_promotion);
  ASSERT_TRUE(parse_config_text("lazy_promotion: false\nshards:\n  - primary: 'h:1'\n", "t.yml", c).ok());
  EXPECT_FALSE(c.lazy_promotion);
  Config f;
  std::string usage;
  const char* ok[] = {"lfdb-gateway", "--shards", "h:1", "--lazy-promotion", "yes"};
  ASSERT_TRUE(parse_command_line(5, const_cast<char**>(ok), f, usage).ok());
  EXPECT_TRUE(f.lazy_promotion);
  Config g;
  const char* bad[] = {"lfdb-gateway", "--shards", "h:1", "--lazy-promotion", "maybe"};
  const lf::Status st = parse_command_line(5, const_cast<char**>(bad), g, usage);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("--lazy-promotion"), std::string::npos) << st.message();
}

}  // namespace
}  // namespace lfdb::gateway

namespace lfdb::gateway {
namespace {

TEST(GatewayConfig, ClientOutputBufferLimitAsRedisWritesIt) {
  Config c;
  EXPECT_EQ(c.output_limit.hard, 512ull << 20);  // the defaults (docs/gateway.md)
  EXPECT_EQ(c.output_limit.soft, 64ull << 20);
  EXPECT_EQ(c.output_limit.soft_time, std::chrono::seconds(60));
  // Redis's own key spelling works too ('-' and '_' alike), and its size units.
  ASSERT_TRUE(parse_config_text("client-output-buffer-limit: normal 256mb 32MB 30\nshards: ['h:1']\n", "t.yml", c).ok());
  EXPECT_EQ(c.output_limit.hard, 256ull << 20);
  EXPECT_EQ(c.output_limit.soft, 32ull << 20);
  EXPECT_EQ(c.output_limit.soft_time, std::chrono::seconds(30));
  OutputBufferLimit l;
  ASSERT_TRUE(parse_output_buffer_limit("normal 0 0 0", l).ok());  // Redis's default: none
  EXPECT_EQ(l.hard, 0u);
  EXPECT_EQ(l.soft, 0u);
  ASSERT_TRUE(parse_output_buffer_limit("Normal 1k 1kb 1", l).ok());
  EXPECT_EQ(l.hard, 1000u);  // k is 1000, kb 1024, as in redis.conf
  EXPECT_EQ(l.soft, 1024u);
  ASSERT_TRUE(parse_output_buffer_limit("normal 2g 3m 0", l).ok());
  EXPECT_EQ(l.hard, 2000000000u);
  EXPECT_EQ(l.soft, 3000000u);
  const char* bad[] = {"pubsub 32mb 8mb 60", "normal 1mb 1mb", "normal lots 1mb 1", "normal 1mb 1mb -1", ""};
  for (const char* b : bad) EXPECT_FALSE(parse_output_buffer_limit(b, l).ok()) << b;
  const lf::Status st = parse_config_text("client_output_buffer_limit: replica 1 1 1\nshards: ['h:1']\n", "t.yml", c);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("only the 'normal' and 'pubsub' classes"), std::string::npos) << st.message();
  // Both classes in one line, as redis.conf writes them; the pubsub class bounds subscribers.
  ASSERT_TRUE(parse_config_text("client_output_buffer_limit: normal 1mb 1mb 1 pubsub 2mb 1mb 5\nshards: ['h:1']\n",
                                "t.yml", c).ok());
  EXPECT_EQ(c.output_limit.hard, 1ull << 20);
  EXPECT_EQ(c.pubsub_limit.hard, 2ull << 20);
  EXPECT_EQ(c.pubsub_limit.soft_time, std::chrono::seconds(5));
  // The old byte limit names its replacement.
  const lf::Status old = parse_config_text("limits: {max_output_bytes: 1000}\nshards: ['h:1']\n", "t.yml", c);
  ASSERT_FALSE(old.ok());
  EXPECT_NE(old.message().find("client_output_buffer_limit"), std::string::npos) << old.message();
}

TEST(GatewayConfig, TxIdleTimeout) {
  Config c;
  EXPECT_EQ(c.tx_idle_timeout, std::chrono::milliseconds(5000));
  ASSERT_TRUE(parse_config_text("tx_idle_timeout_ms: 0\nshards: ['h:1']\n", "t.yml", c).ok());
  EXPECT_EQ(c.tx_idle_timeout, lf::Duration::zero());  // never
  ASSERT_TRUE(parse_config_text("tx_idle_timeout_ms: 1500\nshards: ['h:1']\n", "t.yml", c).ok());
  EXPECT_EQ(c.tx_idle_timeout, std::chrono::milliseconds(1500));
  EXPECT_FALSE(parse_config_text("tx_idle_timeout_ms: -1\nshards: ['h:1']\n", "t.yml", c).ok());
}

TEST(GatewayConfig, LivenessTimeout) {
  Config c;
  EXPECT_EQ(c.liveness_timeout, std::chrono::milliseconds(5000));
  ASSERT_TRUE(parse_config_text("liveness_timeout_ms: 750\nshards: ['h:1']\n", "t.yml", c).ok());
  EXPECT_EQ(c.liveness_timeout, std::chrono::milliseconds(750));
}

}  // namespace
}  // namespace lfdb::gateway
