#include "bench/sync_client.hpp"

#include <sys/socket.h>
#include <sys/time.h>

#include <charconv>

#include "resp/writer.hpp"

namespace bench {

Reply Reply::from_frame(const resp::Frame& f) {
  Reply r;
  r.type = f.type();
  r.null = f.is_null();
  switch (f.type()) {
    case resp::ReplyType::kInteger:
      r.integer = f.integer();
      r.str = std::string(f.payload());
      break;
    case resp::ReplyType::kArray:
    case resp::ReplyType::kSet:
    case resp::ReplyType::kMap:
    case resp::ReplyType::kPush:
      if (!r.null) {
        for (const resp::Frame& e : f.elements()) r.elements.push_back(from_frame(e));
      }
      break;
    default:
      r.str = std::string(f.payload());
  }
  return r;
}

std::string Reply::describe() const {
  if (null) return "(nil)";
  switch (type) {
    case resp::ReplyType::kInteger:
      return "(integer) " + std::to_string(integer);
    case resp::ReplyType::kError:
    case resp::ReplyType::kBlobError:
      return "(error) " + str;
    case resp::ReplyType::kArray:
    case resp::ReplyType::kSet:
    case resp::ReplyType::kMap:
    case resp::ReplyType::kPush: {
      std::string s = "[";
      for (std::size_t i = 0; i < elements.size(); ++i) {
        if (i) s += ", ";
        s += elements[i].describe();
      }
      return s + "]";
    }
    default:
      return "\"" + str + "\"";
  }
}

bool reply_to_int(const Reply& r, std::int64_t& out) {
  if (r.is_integer()) {
    out = r.integer;
    return true;
  }
  if (!r.is_bulk()) return false;
  const char* b = r.str.data();
  const char* e = b + r.str.size();
  auto [p, ec] = std::from_chars(b, e, out);
  return ec == std::errc() && p == e;
}

lf::Result<SyncClient> SyncClient::connect(const lf::InetAddr& addr, const std::string& password,
                                           lf::Duration timeout) {
  auto s = lf::Connector::connect(addr, timeout);
  if (!s.ok()) return s.status();
  timeval tv{};
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(timeout).count();
  tv.tv_sec = static_cast<time_t>(us / 1000000);
  tv.tv_usec = static_cast<suseconds_t>(us % 1000000);
  ::setsockopt(s->handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(s->handle(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  SyncClient c(std::move(s.value()));
  std::vector<Command> hello;
  if (!password.empty()) hello.push_back({"AUTH", password});
  hello.push_back({"PING"});
  auto replies = c.pipeline(hello);
  if (!replies.ok()) return replies.status();
  for (const Reply& r : *replies) {
    // A server at its connection limit, or a wrong password, answers the first command so.
    if (r.is_error()) return lf::Status::error("server refused the connection: " + r.str);
  }
  return c;
}

lf::Result<std::vector<Reply>> SyncClient::pipeline(const std::vector<Command>& commands) {
  std::string out;
  std::vector<std::string_view> argv;
  for (const Command& c : commands) {
    argv.assign(c.begin(), c.end());
    resp::append_command(out, argv);
  }
  lf::Status st = stream_.send_all(out);
  if (!st.ok()) return st;
  std::vector<Reply> replies;
  replies.reserve(commands.size());
  for (std::size_t i = 0; i < commands.size(); ++i) {
    auto r = read_reply();
    if (!r.ok()) return r.status();
    replies.push_back(std::move(r.value()));
  }
  return replies;
}

lf::Result<Reply> SyncClient::command(const Command& command) {
  auto r = pipeline({command});
  if (!r.ok()) return r.status();
  return std::move(r.value()[0]);
}

lf::Result<Reply> SyncClient::read_reply() {
  for (;;) {
    if (!in_.empty()) {
      resp::ReplyResult res = parser_.parse(in_);
      if (res.failed()) {
        return lf::Status::error(std::string("protocol error in a reply: ") +
                                 std::string(resp::reply_error_text(res.error)));
      }
      if (res.complete()) {
        Reply r = Reply::from_frame(res.frame);
        in_.erase(0, res.frame.bytes().size());
        return r;
      }
    }
    char buf[16384];
    lf::IoResult io = stream_.recv(buf, sizeof buf);
    if (io.eof) return lf::Status::error("the server closed the connection");
    if (io.would_block) return lf::Status::error("no reply from the server within the timeout");
    if (!io.ok()) return lf::Status::error("recv failed", io.err);
    in_.append(buf, static_cast<std::size_t>(io.n));
  }
}

}  // namespace bench
