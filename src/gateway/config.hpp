// gateway::Config: everything lfdb-gateway is told at start-up, and the two ways to say it.
//
//   1. lfdb's own YAML (listen, shards with a primary and replicas, read policy, timeouts,
//      limits, what clients may do), see docs/gateway.md;
//   2. a twemproxy (nutcracker) YAML holding one redis pool, accepted as it is so users of
//      twemproxy can switch: listen, servers (host:port:weight [name]), hash_tag, timeout,
//      server_retry_timeout, server_failure_limit, server_connections, redis_auth, ... Keys
//      lfdb has no use for are accepted with a warning.
// Command-line flags (--port, --bind, --threads, --model, --forwarding, --protected-mode, ...)
// override the file.
//
// Thread-safety: a Config is a value, built once before the gateway starts and read-only after.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "lf/reactor.hpp"
#include "lf/status.hpp"
#include "lf/time.hpp"

namespace lfdb::gateway {

enum class ReadPolicy { kPrimary, kRoundRobin, kLeastOutstanding };
const char* to_string(ReadPolicy p);
bool parse_read_policy(const std::string& s, ReadPolicy& out);

// How a forwarded request's reply reaches its client (docs/gateway.md, "Threads").
enum class Forwarding {
  kAsync,  // no thread waits: whoever reads a reply writes it to its client
  kBound,  // the forwarding thread waits for its reply (bound thread set, hybrid: it leads
           // the handle set meanwhile) and writes it itself
};
const char* to_string(Forwarding f);
bool parse_forwarding(const std::string& s, Forwarding& out);

struct Endpoint {
  std::string host;
  std::uint16_t port = 0;
  std::string name;  // twemproxy's optional server name; else "host:port"
  std::string to_string() const { return host + ":" + std::to_string(port); }
};

struct ShardConfig {
  Endpoint primary;
  std::vector<Endpoint> replicas;
  // Hash slots [slot_lo, slot_hi] of this shard; -1 until assigned (evenly, or by weight).
  int slot_lo = -1;
  int slot_hi = -1;
  int weight = 1;  // twemproxy's server weight: a share of the slots
};

struct Limits {
  std::size_t max_clients = 10000;
  std::size_t max_bulk_len = 512ull * 1024 * 1024;
  std::size_t max_multibulk_len = 2147483647;
  std::size_t max_inline_len = 64 * 1024;
  // Commands of one client forwarded and not yet answered; past it the gateway stops reading
  // that client until replies drain (backpressure instead of unbounded memory).
  std::size_t max_pipeline = 1024;
};

// Redis's client-output-buffer-limit for normal clients ("normal <hard> <soft> <soft seconds>"),
// over the reply bytes a client has not taken yet. At `soft` the gateway stops reading and
// forwarding for the client (backpressure) until it drains to half; a client past `hard`, or held
// at `soft` for longer than `soft_time` without draining, is disconnected, as redis-server
// disconnects one. 0 turns a limit off (Redis's default for normal clients is 0 0 0: no limit at
// all; a proxy shared by many clients needs one, see docs/gateway.md).
struct OutputBufferLimit {
  std::size_t hard = 512ull << 20;  // proto-max-bulk-len: a reader still gets any single value
  std::size_t soft = 64ull << 20;
  lf::Duration soft_time = std::chrono::seconds(60);
};
// Parses "normal 512mb 64mb 60" (sizes as Redis writes them: 1k = 1000, 1kb = 1024, ... gb).
lf::Status parse_output_buffer_limit(const std::string& text, OutputBufferLimit& out);
// The directive as redis.conf writes it, one or more classes: "normal 512mb 64mb 60 pubsub 32mb
// 8mb 60" (normal and pubsub apply to the gateway's clients).
lf::Status parse_output_buffer_limits(const std::string& text, OutputBufferLimit& normal,
                                      OutputBufferLimit& pubsub);

struct Config {
  std::string bind = "127.0.0.1";
  std::uint16_t port = 6380;
  int threads = 2;
  std::string model = "lf";  // "lf" (Leader/Followers) or "reactor" (one thread)
  Forwarding forwarding = Forwarding::kAsync;
  ReadPolicy read_policy = ReadPolicy::kPrimary;
  std::vector<ShardConfig> shards;

  // Per request, counted while its connection receives nothing: a request fails with
  // "timed out" once it is older than this and no byte of any reply came on its connection for
  // as long (a back-end delivering another client's backlog is not late).
  lf::Duration timeout = std::chrono::milliseconds(2000);
  // A connection that receives nothing for `timeout` while requests wait is stalled: the
  // back-end is probed with a PING on a connection of its own; no answer within this marks it
  // failed (busy Redis answers BUSY once a script passes busy-reply-threshold, 5 s).
  lf::Duration liveness_timeout = std::chrono::milliseconds(5000);
  lf::Duration connect_timeout = std::chrono::milliseconds(1000);
  lf::Duration server_retry_timeout = std::chrono::milliseconds(3000);  // ejected: retry after
  int server_failure_limit = 2;   // consecutive failures that eject a back-end; 0: never eject
  int connections_per_backend = 1;  // shared, multiplexed connections per back-end and protocol
  // Async forwarding: ready events a leader takes per turn before it promotes a follower; the
  // upstream requests of one turn leave in one send (bound forwarding always takes one).
  int events_per_turn = 8;
  // Async forwarding: wake a follower only when the leader leaves ready events behind.
  bool lazy_promotion = true;
  // How the threads share the handle set (lf::HandleSetKind): epoll-oneshot | epoll-et | io_uring.
  lf::HandleSetKind handle_set = lf::HandleSetKind::kEpollEdge;
  int tx_connections = 16;          // dedicated (MULTI/WATCH) connections per back-end, at most
  // Connections per back-end for blocking commands (BLPOP, BRPOP, BLMOVE, BZPOPMIN, XREAD BLOCK
  // ...), one blocked command each; past it a blocking command gets an error at once.
  int blocking_connections = 256;
  // A client pinned to a dedicated connection (inside MULTI, or after WATCH) that sends nothing
  // for this long loses its transaction: discarded on the back-end, the connection back to the
  // pool, an error to the client at its next command. 0: never.
  lf::Duration tx_idle_timeout = std::chrono::milliseconds(5000);

  std::string requirepass;       // clients must AUTH at the gateway
  // Protected mode, as lfdb-server's: without requirepass, clients from 127.0.0.1 only.
  bool protected_mode = true;
  std::string backend_password;  // sent as AUTH on every upstream connection
  bool allow_admin = false;
  bool allow_dangerous = false;
  Limits limits;
  OutputBufferLimit output_limit;
  // client-output-buffer-limit's pubsub class, over the messages a subscriber has not taken
  // (Redis's default 32mb 8mb 60); past it the subscriber is disconnected.
  OutputBufferLimit pubsub_limit{32ull << 20, 8ull << 20, std::chrono::seconds(60)};

  std::vector<std::string> warnings;  // accepted-but-ignored keys, for the log
  std::string source;                 // "lfdb", "twemproxy" or "flags"
};

// Reads a YAML file in either shape (recognized by its layout) into `out`, on top of the
// defaults already in it. Errors name the file and the key.
lf::Status load_config_file(const std::string& path, Config& out);
lf::Status parse_config_text(const std::string& text, const std::string& name, Config& out);

// Parses argv (flags override the file given with --config). Returns "usage" as the error
// message for --help, with the usage text in `usage`.
lf::Status parse_command_line(int argc, char** argv, Config& out, std::string& usage);

// Fills slot ranges that were not given (evenly, or by weight) and checks the whole map covers
// 0..16383 once. Called by both parsers.
lf::Status assign_slots(std::vector<ShardConfig>& shards);

lf::Status parse_endpoint(const std::string& text, Endpoint& out);

}  // namespace lfdb::gateway
