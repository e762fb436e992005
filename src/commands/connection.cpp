#include "commands/connection.hpp"

#include <algorithm>

#include "commands/command_table.hpp"

namespace lfdb::commands {
namespace {

// Redis's string2ll: an optional '-', digits, no leading zero, no overflow.
bool parse_int64(std::string_view s, std::int64_t& out) {
  if (s.empty() || s.size() > 20) return false;
  std::size_t i = 0;
  const bool neg = s[0] == '-';
  if (neg) i = 1;
  if (i == s.size()) return false;
  if (s[i] == '0' && s.size() > i + 1) return false;
  unsigned long long v = 0;
  for (; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    const unsigned long long d = static_cast<unsigned long long>(s[i] - '0');
    if (v > (18446744073709551615ull - d) / 10) return false;
    v = v * 10 + d;
  }
  if (neg) {
    if (v > 9223372036854775808ull) return false;
    out = v == 9223372036854775808ull ? INT64_MIN : -static_cast<std::int64_t>(v);
  } else {
    if (v > 9223372036854775807ull) return false;
    out = static_cast<std::int64_t>(v);
  }
  return true;
}

}  // namespace

bool valid_client_name(std::string_view name) {
  return std::all_of(name.begin(), name.end(), [](char c) { return c >= '!' && c <= '~'; });
}

std::string parse_hello(std::span<const std::string_view> argv, resp::Protocol current,
                        HelloRequest& out) {
  out = HelloRequest{};
  out.protocol = current;
  std::size_t i = 1;
  if (argv.size() > 1) {
    std::int64_t v = 0;
    if (!parse_int64(argv[1], v)) return "ERR Protocol version is not an integer or out of range";
    if (v < 2 || v > 3) return "NOPROTO unsupported protocol version";
    out.protocol = v == 3 ? resp::Protocol::kResp3 : resp::Protocol::kResp2;
    i = 2;
  }
  for (; i < argv.size(); ++i) {
    const bool more = i + 1 < argv.size();
    if (iequal(argv[i], "auth") && i + 2 < argv.size()) {
      out.auth = true;
      out.user = argv[i + 1];
      out.password = argv[i + 2];
      i += 2;
    } else if (iequal(argv[i], "setname") && more) {
      out.setname = true;
      out.name = argv[++i];
      if (!valid_client_name(out.name)) return std::string(kErrBadClientName);
    } else {
      return "ERR Syntax error in HELLO option '" + std::string(argv[i]) + "'";
    }
  }
  return std::string();
}

void write_hello(resp::Writer& w, const HelloReply& r) {
  w.set_protocol(r.protocol);
  w.map_header(7);
  w.bulk("server");
  w.bulk("redis");
  w.bulk("version");
  w.bulk(kRedisCompat);
  w.bulk("proto");
  w.integer(r.protocol == resp::Protocol::kResp3 ? 3 : 2);
  w.bulk("id");
  w.integer(r.client_id);
  w.bulk("mode");
  w.bulk(r.mode);
  w.bulk("role");
  w.bulk(r.role);
  w.bulk("modules");
  w.array_header(0);
}

std::string parse_db_index(std::string_view arg, std::int64_t& index) {
  if (!parse_int64(arg, index)) return "ERR value is not an integer or out of range";
  // Redis reads the index as an int.
  if (index < INT32_MIN || index > INT32_MAX) {
    return "ERR value is out of range, value must between -2147483648 and 2147483647";
  }
  return std::string();
}

std::string encode_invalidate(resp::Protocol protocol, const std::vector<std::string_view>* keys) {
  std::string out;
  resp::Writer w(out, protocol);
  if (protocol == resp::Protocol::kResp3) {
    w.push_header(2);
    w.bulk("invalidate");
  } else {
    w.push_header(3);
    w.bulk("message");
    w.bulk("__redis__:invalidate");
  }
  if (keys == nullptr) {
    w.null();
  } else {
    w.array_header(keys->size());
    for (std::string_view k : *keys) w.bulk(k);
  }
  return out;
}

std::string encode_redir_broken(std::uint64_t id) {
  std::string out;
  resp::Writer w(out, resp::Protocol::kResp3);
  w.push_header(2);
  w.bulk("tracking-redir-broken");
  w.integer(static_cast<std::int64_t>(id));
  return out;
}

}  // namespace lfdb::commands
