#include "resp/writer.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>

#include "resp/numbers.hpp"

namespace resp {

namespace {

constexpr std::string_view kCrlf = "\r\n";

// Redis 7.0 formats doubles with "%.17g"; to_chars with that precision is defined to give the
// same text, without printf's locale lookup and varargs.
std::size_t format_double(double value, char* out, std::size_t room) {
  const auto r = std::to_chars(out, out + room, value, std::chars_format::general, 17);
  return static_cast<std::size_t>(r.ptr - out);
}

constexpr std::size_t kDoubleRoom = 32;  // "%.17g" of any double fits in 24 bytes

}  // namespace

void Writer::header(char type, std::uint64_t n) {
  char buf[24];
  buf[0] = type;
  const std::size_t len = detail::format_uint64(n, buf + 1);
  buf[len + 1] = '\r';
  buf[len + 2] = '\n';
  out_->append(buf, len + 3);
}

void Writer::line(char type, std::string_view text) {
  const std::size_t start = out_->size() + 1;
  out_->push_back(type);
  out_->append(text);
  const auto first = out_->begin() + static_cast<std::ptrdiff_t>(start);
  std::replace_if(first, out_->end(), [](char c) { return c == '\r' || c == '\n'; }, ' ');
  out_->append(kCrlf);
}

void Writer::simple_string(std::string_view text) { line('+', text); }

void Writer::error(std::string_view text) { line('-', text); }

void Writer::integer(std::int64_t value) {
  char buf[24];
  buf[0] = ':';
  const std::size_t len = detail::format_int64(value, buf + 1);
  buf[len + 1] = '\r';
  buf[len + 2] = '\n';
  out_->append(buf, len + 3);
}

void Writer::bulk(std::string_view data) {
  header('$', data.size());
  out_->append(data);
  out_->append(kCrlf);
}

void Writer::null() { out_->append(resp3() ? "_\r\n" : "$-1\r\n"); }

void Writer::null_array() { out_->append(resp3() ? "_\r\n" : "*-1\r\n"); }

void Writer::array_header(std::size_t count) { header('*', count); }

void Writer::map_header(std::size_t pairs) {
  if (resp3()) {
    header('%', pairs);
  } else {
    header('*', static_cast<std::uint64_t>(pairs) * 2);
  }
}

void Writer::set_header(std::size_t count) { header(resp3() ? '~' : '*', count); }

void Writer::push_header(std::size_t count) { header(resp3() ? '>' : '*', count); }

bool Writer::attribute_header(std::size_t pairs) {
  if (!resp3()) return false;
  header('|', pairs);
  return true;
}

void Writer::double_value(double value) {
  if (std::isinf(value)) {
    // Spelled out explicitly, as Redis does, rather than trusting the C library's spelling.
    if (resp3()) {
      out_->append(value > 0 ? ",inf\r\n" : ",-inf\r\n");
    } else {
      bulk(value > 0 ? "inf" : "-inf");
    }
    return;
  }
  char buf[kDoubleRoom];
  if (resp3()) {
    if (std::isnan(value)) {
      out_->append(",nan\r\n");  // the RESP3 spelling, whatever the NaN's sign bit
      return;
    }
    const std::size_t len = format_double(value, buf, sizeof buf);
    out_->push_back(',');
    out_->append(buf, len);
    out_->append(kCrlf);
  } else {
    bulk(std::string_view(buf, format_double(value, buf, sizeof buf)));
  }
}

void Writer::boolean(bool value) {
  if (resp3()) {
    out_->append(value ? "#t\r\n" : "#f\r\n");
  } else {
    out_->append(value ? ":1\r\n" : ":0\r\n");
  }
}

void Writer::verbatim(std::string_view text, std::string_view format) {
  if (!resp3()) {
    bulk(text);
    return;
  }
  header('=', static_cast<std::uint64_t>(text.size()) + 4);
  char prefix[4] = {' ', ' ', ' ', ':'};
  std::copy_n(format.data(), std::min<std::size_t>(format.size(), 3), prefix);
  out_->append(prefix, 4);
  out_->append(text);
  out_->append(kCrlf);
}

void Writer::big_number(std::string_view digits) {
  if (resp3()) {
    out_->push_back('(');
    out_->append(digits);
    out_->append(kCrlf);
  } else {
    bulk(digits);
  }
}

void append_command(std::string& out, std::span<const std::string_view> argv) {
  Writer w(out);
  w.array_header(argv.size());
  for (std::string_view arg : argv) w.bulk(arg);
}

}  // namespace resp
