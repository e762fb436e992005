// bench::SyncClient: a blocking RESP client on one TCP connection, for the parts of a run that
// are not measured: each connection's handshake (AUTH, PING), a workload's set-up, and the
// invariant check that reads everything back. Replies are copied into owned Reply values.
// Every read has a timeout, so a server that stops answering gives an error, not a hang.
// Thread-safety: none; one thread at a time.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "lf/net.hpp"
#include "lf/status.hpp"
#include "resp/reply_parser.hpp"

namespace bench {

// An owned copy of one reply frame.
struct Reply {
  resp::ReplyType type = resp::ReplyType::kNull;
  bool null = false;
  std::string str;        // simple string, error line, bulk payload
  std::int64_t integer = 0;
  std::vector<Reply> elements;

  static Reply from_frame(const resp::Frame& f);
  bool is_error() const { return type == resp::ReplyType::kError || type == resp::ReplyType::kBlobError; }
  bool is_integer() const { return type == resp::ReplyType::kInteger; }
  bool is_bulk() const { return type == resp::ReplyType::kBulkString && !null; }
  bool is_ok() const { return type == resp::ReplyType::kSimpleString && str == "OK"; }
  // The reply as redis-cli would print it on one line, for error messages.
  std::string describe() const;
};

using Command = std::vector<std::string>;

class SyncClient {
 public:
  // Connects, authenticates when `password` is not empty, and checks the server answers PING.
  static lf::Result<SyncClient> connect(const lf::InetAddr& addr, const std::string& password,
                                        lf::Duration timeout = std::chrono::seconds(10));

  // Sends every command in one write and reads one reply for each (a pipeline). An error reply
  // is a Reply, not a failed Result; the Result fails on I/O or protocol trouble.
  lf::Result<std::vector<Reply>> pipeline(const std::vector<Command>& commands);
  lf::Result<Reply> command(const Command& command);

  // The stream, for handing a handshaken connection over to the engine (non-blocking there).
  lf::SockStream release_stream() { return std::move(stream_); }

 private:
  explicit SyncClient(lf::SockStream s) : stream_(std::move(s)) {}
  lf::Result<Reply> read_reply();

  lf::SockStream stream_;
  std::string in_;
  resp::ReplyParser parser_;
};

// The integer value of an integer reply or a bulk string holding an integer.
bool reply_to_int(const Reply& r, std::int64_t& out);

}  // namespace bench
