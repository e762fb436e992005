#include "db/functions/library_payload.hpp"

#include <array>

namespace lfdb::db::functions {
namespace {

constexpr unsigned char kOpFunction2 = 245;  // a library's code
constexpr unsigned char kOpFunctionPreGa = 246;
constexpr std::uint16_t kRdbVersion = 10;  // Redis 7.0's

// The table of the reflected Jones polynomial.
const std::array<std::uint64_t, 256>& crc_table() {
  static const std::array<std::uint64_t, 256> table = [] {
    std::array<std::uint64_t, 256> t{};
    constexpr std::uint64_t kPoly = 0x95ac9329ac4bc9b5ULL;  // 0xad93d23594c935a9 reflected
    for (std::uint64_t i = 0; i < 256; ++i) {
      std::uint64_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) != 0 ? (c >> 1) ^ kPoly : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  return table;
}

void put_length(std::string& out, std::uint64_t n) {
  if (n < 64) {
    out.push_back(static_cast<char>(n));
  } else if (n < 16384) {
    out.push_back(static_cast<char>(0x40 | (n >> 8)));
    out.push_back(static_cast<char>(n & 0xff));
  } else if (n <= 0xffffffffULL) {
    out.push_back(static_cast<char>(0x80));
    for (int i = 3; i >= 0; --i) out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
  } else {
    out.push_back(static_cast<char>(0x81));
    for (int i = 7; i >= 0; --i) out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
  }
}

struct Reader {
  std::string_view in;
  std::size_t pos = 0;
  bool byte(unsigned char& b) {
    if (pos >= in.size()) return false;
    b = static_cast<unsigned char>(in[pos++]);
    return true;
  }
  bool bytes(std::size_t n, std::string_view& out) {
    if (in.size() - pos < n) return false;
    out = in.substr(pos, n);
    pos += n;
    return true;
  }
  // An RDB length; `encoded` tells a special encoding (its kind in n).
  bool length(std::uint64_t& n, bool& encoded) {
    unsigned char b = 0;
    if (!byte(b)) return false;
    encoded = false;
    switch (b >> 6) {
      case 0:
        n = b & 0x3f;
        return true;
      case 1: {
        unsigned char c = 0;
        if (!byte(c)) return false;
        n = (static_cast<std::uint64_t>(b & 0x3f) << 8) | c;
        return true;
      }
      case 2: {
        const int width = b == 0x80 ? 4 : b == 0x81 ? 8 : 0;
        if (width == 0) return false;
        n = 0;
        for (int i = 0; i < width; ++i) {
          unsigned char c = 0;
          if (!byte(c)) return false;
          n = (n << 8) | c;
        }
        return true;
      }
      default:
        encoded = true;
        n = b & 0x3f;
        return true;
    }
  }
};

// LZF: literal runs (ctrl < 32: ctrl+1 bytes) and back references (length ctrl>>5, 7 meaning
// "plus the next byte", plus 2; offset from the low 5 bits and the next byte, plus 1).
bool lzf_decompress(std::string_view in, std::size_t expected, std::string& out) {
  out.clear();
  out.reserve(expected);
  std::size_t i = 0;
  while (i < in.size()) {
    const unsigned ctrl = static_cast<unsigned char>(in[i++]);
    if (ctrl < 32) {
      const std::size_t n = ctrl + 1;
      if (in.size() - i < n || out.size() + n > expected) return false;
      out.append(in.substr(i, n));
      i += n;
      continue;
    }
    std::size_t len = ctrl >> 5;
    if (len == 7) {
      if (i >= in.size()) return false;
      len += static_cast<unsigned char>(in[i++]);
    }
    if (i >= in.size()) return false;
    const std::size_t back = ((ctrl & 0x1f) << 8) + static_cast<unsigned char>(in[i++]) + 1;
    len += 2;
    if (back > out.size() || out.size() + len > expected) return false;
    std::size_t from = out.size() - back;
    for (std::size_t k = 0; k < len; ++k) out.push_back(out[from + k]);  // may overlap
  }
  return out.size() == expected;
}

bool read_string(Reader& r, std::string& out) {
  std::uint64_t n = 0;
  bool encoded = false;
  if (!r.length(n, encoded)) return false;
  std::string_view raw;
  if (!encoded) {
    if (!r.bytes(n, raw)) return false;
    out.assign(raw);
    return true;
  }
  switch (n) {
    case 0: case 1: case 2: {  // an integer of 1, 2 or 4 bytes, little endian
      const std::size_t width = std::size_t{1} << n;
      if (!r.bytes(width, raw)) return false;
      std::uint64_t u = 0;
      for (std::size_t k = 0; k < width; ++k) u |= static_cast<std::uint64_t>(static_cast<unsigned char>(raw[k])) << (8 * k);
      const std::int64_t v = width == 1 ? static_cast<std::int8_t>(u)
                             : width == 2 ? static_cast<std::int16_t>(u)
                                          : static_cast<std::int32_t>(u);
      out = std::to_string(v);
      return true;
    }
    case 3: {  // LZF
      std::uint64_t clen = 0, len = 0;
      bool e1 = false, e2 = false;
      if (!r.length(clen, e1) || !r.length(len, e2) || e1 || e2) return false;
      // Three compressed bytes give at most 264: a length beyond that ratio is damage (and never
      // allocated).
      if (clen > r.in.size() || len > clen * 88 + 1 || !r.bytes(clen, raw)) return false;
      return lzf_decompress(raw, static_cast<std::size_t>(len), out);
    }
    default:
      return false;
  }
}

}  // namespace

std::uint64_t crc64_jones(std::uint64_t crc, std::string_view data) {
  const auto& t = crc_table();
  for (char ch : data) crc = t[(crc ^ static_cast<unsigned char>(ch)) & 0xff] ^ (crc >> 8);
  return crc;
}

std::string encode_payload(const std::vector<std::string>& codes) {
  std::string out;
  for (const std::string& code : codes) {
    out.push_back(static_cast<char>(kOpFunction2));
    put_length(out, code.size());
    out.append(code);
  }
  out.push_back(static_cast<char>(kRdbVersion & 0xff));
  out.push_back(static_cast<char>(kRdbVersion >> 8));
  const std::uint64_t crc = crc64_jones(0, out);
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((crc >> (8 * i)) & 0xff));
  return out;
}

bool decode_payload(std::string_view payload, std::vector<std::string>& codes, std::string& err) {
  codes.clear();
  if (payload.size() < 10) {
    err = "ERR DUMP payload version or checksum are wrong";
    return false;
  }
  const std::size_t body = payload.size() - 10;
  const unsigned version = static_cast<unsigned char>(payload[body]) |
                           (static_cast<unsigned>(static_cast<unsigned char>(payload[body + 1])) << 8);
  std::uint64_t crc = 0;
  for (int i = 0; i < 8; ++i) {
    crc |= static_cast<std::uint64_t>(static_cast<unsigned char>(payload[body + 2 + static_cast<std::size_t>(i)])) << (8 * i);
  }
  if (version > kRdbVersion || crc64_jones(0, payload.substr(0, body + 2)) != crc) {
    err = "ERR DUMP payload version or checksum are wrong";
    return false;
  }
  Reader r{payload.substr(0, body)};
  while (r.pos < r.in.size()) {
    unsigned char op = 0;
    (void)r.byte(op);
    if (op == kOpFunctionPreGa) {
      err = "ERR Pre-GA function format not supported";
      return false;
    }
    if (op != kOpFunction2) {
      err = "ERR given type is not a function";
      return false;
    }
    std::string code;
    if (!read_string(r, code)) {
      err = "ERR Failed loading library";
      return false;
    }
    codes.push_back(std::move(code));
  }
  return true;
}

}  // namespace lfdb::db::functions
