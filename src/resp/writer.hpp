// resp::Writer: serializes replies (and, with append_command, requests) by appending to a
// std::string the caller owns and reuses, so a connection's steady state allocates nothing.
// The protocol version (RESP2 or RESP3) is per connection: HELLO switches it, and every typed
// call writes what Redis 7.0 writes for that version, e.g. a map is `%n` in RESP3 and an array of
// 2n elements in RESP2; a double is `,` in RESP3 and a bulk string in RESP2.
//
// Thread-safety: none inside. A Writer and its string belong to one connection, one thread at a
// time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace resp {

enum class Protocol : std::uint8_t { kResp2 = 2, kResp3 = 3 };

class Writer {
 public:
  explicit Writer(std::string& out, Protocol protocol = Protocol::kResp2)
      : out_(&out), protocol_(protocol) {}

  Protocol protocol() const { return protocol_; }
  void set_protocol(Protocol protocol) { protocol_ = protocol; }
  bool resp3() const { return protocol_ == Protocol::kResp3; }
  std::string& buffer() { return *out_; }
  std::size_t size() const { return out_->size(); }  // the bytes in the buffer, replies before this one's too

  // `+text`. CR and LF in text become spaces: a simple string is one line.
  void simple_string(std::string_view text);
  // `-text`; the caller passes the whole text with its code ("ERR ...", "WRONGTYPE ...").
  // CR and LF become spaces, as Redis does for formatted errors.
  void error(std::string_view text);
  void integer(std::int64_t value);
  void bulk(std::string_view data);
  void null();        // RESP2 `$-1` (null bulk), RESP3 `_`
  void null_array();  // RESP2 `*-1`, RESP3 `_`
  void array_header(std::size_t count);
  void map_header(std::size_t pairs);       // RESP3 `%n`; RESP2 `*2n`, keys and values alternate
  void set_header(std::size_t count);       // RESP3 `~n`; RESP2 `*n`
  void push_header(std::size_t count);      // RESP3 `>n`; RESP2 `*n` (how pub/sub sends in RESP2)
  // RESP3 `|n` followed by n pairs, then the reply they annotate. RESP2 has no attributes:
  // writes nothing and returns false, and the caller must skip the pairs.
  [[nodiscard]] bool attribute_header(std::size_t pairs);
  // RESP3 `,` with inf / -inf / nan; RESP2 a bulk string ("inf", "-inf" or Redis 7.0's %.17g).
  void double_value(double value);
  void boolean(bool value);                 // RESP3 `#t` / `#f`; RESP2 `:1` / `:0`
  // RESP3 `=` with a 3-byte format ("txt", "mkd"; shorter is padded with spaces); RESP2 bulk.
  void verbatim(std::string_view text, std::string_view format = "txt");
  void big_number(std::string_view digits); // RESP3 `(`; RESP2 a bulk string, as Redis does
  // Bytes already in RESP form (a forwarded reply, a cached frame).
  void raw(std::string_view bytes) { out_->append(bytes); }

 private:
  void header(char type, std::uint64_t n);
  void line(char type, std::string_view text);

  std::string* out_;
  Protocol protocol_;
};

// Appends a request as a multibulk command (`*N` then one bulk per argument): what a client, the
// gateway's upstream side or the append-only log writes.
void append_command(std::string& out, std::span<const std::string_view> argv);

}  // namespace resp
