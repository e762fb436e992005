#include "db/dump/rdb_format.hpp"

#include <lzf.h>

#include <algorithm>
#include <array>
#include <charconv>

namespace lfdb::db::dump {
namespace {

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

// A canonical decimal integer (no sign on zero, no leading zeros or spaces), as Redis's
// string2ll accepts: only those may be stored as integers and read back unchanged.
bool canonical_int(std::string_view s, std::int64_t& v) {
  if (s.empty() || s.size() > 20) return false;
  if (s.size() > 1 && (s[0] == '0' || (s[0] == '-' && s[1] == '0'))) return false;
  if (s == "-") return false;
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && p == s.data() + s.size() && s[0] != '+';
}

void put_le(std::string& out, std::uint64_t v, int width) {
  for (int i = 0; i < width; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

std::int64_t sign_extend(std::uint64_t u, std::size_t width) {
  if (width >= 8) return static_cast<std::int64_t>(u);
  const std::uint64_t sign = std::uint64_t{1} << (8 * width - 1);
  return static_cast<std::int64_t>((u ^ sign) - sign);
}

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
    const std::size_t from = out.size() - back;
    for (std::size_t k = 0; k < len; ++k) out.push_back(out[from + k]);  // may overlap
  }
  return out.size() == expected;
}

}  // namespace

std::uint64_t crc64_jones(std::uint64_t crc, std::string_view data) {
  const auto& t = crc_table();
  for (char ch : data) crc = t[(crc ^ static_cast<unsigned char>(ch)) & 0xff] ^ (crc >> 8);
  return crc;
}

void seal_payload(std::string& out) {
  put_le(out, kRdbVersion, 2);
  put_le(out, crc64_jones(0, out), 8);
}

bool open_payload(std::string_view payload, std::string_view& body) {
  if (payload.size() < 10) return false;
  const std::size_t n = payload.size() - 10;
  Reader r{payload.substr(n)};
  std::uint64_t version = 0, crc = 0;
  (void)r.le(2, version);
  (void)r.le(8, crc);
  if (version > kRdbVersion || crc64_jones(0, payload.substr(0, n + 2)) != crc) return false;
  body = payload.substr(0, n);
  return true;
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

void put_raw_string(std::string& out, std::string_view s) {
  put_length(out, s.size());
  out.append(s);
}

void put_lzf_string(std::string& out, std::string_view s) {
  // Redis's rule (rdbcompression yes): strings over 20 bytes are tried, and the LZF form is kept
  // when it is at least 4 bytes shorter; lzf_compress gives 0 when it does not fit that room.
  if (s.size() > 20 && s.size() <= UINT32_MAX) {
    std::string z(s.size() - 4, '\0');
    const unsigned int n = ::lzf_compress(s.data(), static_cast<unsigned int>(s.size()), z.data(),
                                          static_cast<unsigned int>(z.size()));
    if (n != 0) {
      out.push_back(static_cast<char>(0xC3));  // the LZF string encoding
      put_length(out, n);
      put_length(out, s.size());
      out.append(z.data(), n);
      return;
    }
  }
  put_raw_string(out, s);
}

void put_string(std::string& out, std::string_view s) {
  std::int64_t v = 0;
  if (s.size() <= 11 && canonical_int(s, v) && v >= INT32_MIN && v <= INT32_MAX) {
    const int width = v >= INT8_MIN && v <= INT8_MAX ? 1 : v >= INT16_MIN && v <= INT16_MAX ? 2 : 4;
    out.push_back(static_cast<char>(0xC0 | (width == 1 ? 0 : width == 2 ? 1 : 2)));
    put_le(out, static_cast<std::uint64_t>(v), width);
    return;
  }
  put_lzf_string(out, s);
}

bool Reader::byte(unsigned char& b) {
  if (pos >= in.size()) return false;
  b = static_cast<unsigned char>(in[pos++]);
  return true;
}

bool Reader::bytes(std::size_t n, std::string_view& out) {
  if (left() < n) return false;
  out = in.substr(pos, n);
  pos += n;
  return true;
}

bool Reader::le(std::size_t width, std::uint64_t& v) {
  std::string_view raw;
  if (width == 0 || width > 8 || !bytes(width, raw)) return false;
  v = 0;
  for (std::size_t k = 0; k < width; ++k) v |= static_cast<std::uint64_t>(static_cast<unsigned char>(raw[k])) << (8 * k);
  return true;
}

bool Reader::length(std::uint64_t& n, bool& encoded) {
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

bool Reader::length(std::uint64_t& n) {
  bool encoded = false;
  return length(n, encoded) && !encoded;
}

bool Reader::string(std::string& out) {
  std::uint64_t n = 0;
  bool encoded = false;
  if (!length(n, encoded)) return false;
  std::string_view raw;
  if (!encoded) {
    if (n > left() || !bytes(static_cast<std::size_t>(n), raw)) return false;
    out.assign(raw);
    return true;
  }
  switch (n) {
    case 0: case 1: case 2: {  // an integer of 1, 2 or 4 bytes, little endian
      const std::size_t width = std::size_t{1} << n;
      std::uint64_t u = 0;
      if (!le(width, u)) return false;
      out = std::to_string(sign_extend(u, width));
      return true;
    }
    case 3: {  // LZF
      std::uint64_t clen = 0, len = 0;
      if (!length(clen) || !length(len)) return false;
      // Three compressed bytes give at most 264: a length beyond that ratio is damage (and never
      // allocated).
      if (clen > left() || len > clen * 88 + 1 || !bytes(static_cast<std::size_t>(clen), raw)) return false;
      return lzf_decompress(raw, static_cast<std::size_t>(len), out);
    }
    default:
      return false;
  }
}

// ---- listpacks ----

void ListpackWriter::backlen(std::size_t l) {
  // The entry's length, 7 bits a byte, most significant first; every byte but the first has
  // its high bit set, so a reader walking backwards knows where it ends.
  if (l <= 127) {
    buf_.push_back(static_cast<char>(l));
  } else if (l < 16383) {
    buf_.push_back(static_cast<char>(l >> 7));
    buf_.push_back(static_cast<char>((l & 127) | 128));
  } else if (l < 2097151) {
    buf_.push_back(static_cast<char>(l >> 14));
    buf_.push_back(static_cast<char>(((l >> 7) & 127) | 128));
    buf_.push_back(static_cast<char>((l & 127) | 128));
  } else if (l < 268435455) {
    buf_.push_back(static_cast<char>(l >> 21));
    buf_.push_back(static_cast<char>(((l >> 14) & 127) | 128));
    buf_.push_back(static_cast<char>(((l >> 7) & 127) | 128));
    buf_.push_back(static_cast<char>((l & 127) | 128));
  } else {
    buf_.push_back(static_cast<char>(l >> 28));
    buf_.push_back(static_cast<char>(((l >> 21) & 127) | 128));
    buf_.push_back(static_cast<char>(((l >> 14) & 127) | 128));
    buf_.push_back(static_cast<char>(((l >> 7) & 127) | 128));
    buf_.push_back(static_cast<char>((l & 127) | 128));
  }
}

void ListpackWriter::add_int(std::int64_t v) {
  const std::size_t start = buf_.size();
  if (v >= 0 && v <= 127) {
    buf_.push_back(static_cast<char>(v));
  } else if (v >= -4096 && v <= 4095) {
    const std::uint64_t u = static_cast<std::uint64_t>(v < 0 ? v + 8192 : v);
    buf_.push_back(static_cast<char>(0xC0 | (u >> 8)));
    buf_.push_back(static_cast<char>(u & 0xff));
  } else if (v >= INT16_MIN && v <= INT16_MAX) {
    buf_.push_back(static_cast<char>(0xF1));
    put_le(buf_, static_cast<std::uint64_t>(v), 2);
  } else if (v >= -(1 << 23) && v < (1 << 23)) {
    buf_.push_back(static_cast<char>(0xF2));
    put_le(buf_, static_cast<std::uint64_t>(v), 3);
  } else if (v >= INT32_MIN && v <= INT32_MAX) {
    buf_.push_back(static_cast<char>(0xF3));
    put_le(buf_, static_cast<std::uint64_t>(v), 4);
  } else {
    buf_.push_back(static_cast<char>(0xF4));
    put_le(buf_, static_cast<std::uint64_t>(v), 8);
  }
  backlen(buf_.size() - start);
  ++count_;
}

void ListpackWriter::add(std::string_view s) {
  std::int64_t v = 0;
  if (canonical_int(s, v)) return add_int(v);
  const std::size_t start = buf_.size();
  if (s.size() < 64) {
    buf_.push_back(static_cast<char>(0x80 | s.size()));
  } else if (s.size() < 4096) {
    buf_.push_back(static_cast<char>(0xE0 | (s.size() >> 8)));
    buf_.push_back(static_cast<char>(s.size() & 0xff));
  } else {
    buf_.push_back(static_cast<char>(0xF0));
    put_le(buf_, s.size(), 4);
  }
  buf_.append(s);
  backlen(buf_.size() - start);
  ++count_;
}

std::string ListpackWriter::finish() {
  buf_.push_back(static_cast<char>(0xFF));
  std::string head;
  put_le(head, buf_.size(), 4);
  put_le(head, count_ < 65535 ? count_ : 65535, 2);
  buf_.replace(0, 6, head);
  return std::move(buf_);
}

bool listpack_decode(std::string_view lp, std::vector<std::string>& out) {
  out.clear();
  Reader r{lp};
  std::uint64_t total = 0, count = 0;
  if (!r.le(4, total) || !r.le(2, count) || total != lp.size() || lp.size() < 7 ||
      static_cast<unsigned char>(lp.back()) != 0xFF) {
    return false;
  }
  r.in = lp.substr(0, lp.size() - 1);  // entries end at the terminator
  while (!r.at_end()) {
    const std::size_t start = r.pos;
    unsigned char b = 0;
    (void)r.byte(b);
    std::uint64_t u = 0;
    std::string_view s;
    bool is_int = true;
    std::int64_t v = 0;
    if ((b & 0x80) == 0) {
      v = b;
    } else if ((b & 0xC0) == 0x80) {
      is_int = false;
      if (!r.bytes(b & 0x3f, s)) return false;
    } else if ((b & 0xE0) == 0xC0) {
      unsigned char c = 0;
      if (!r.byte(c)) return false;
      v = ((b & 0x1f) << 8) | c;
      if (v >= 4096) v -= 8192;
    } else if ((b & 0xF0) == 0xE0) {
      unsigned char c = 0;
      if (!r.byte(c)) return false;
      is_int = false;
      if (!r.bytes(static_cast<std::size_t>((b & 0x0f) << 8) | c, s)) return false;
    } else if (b == 0xF0) {
      is_int = false;
      if (!r.le(4, u) || !r.bytes(static_cast<std::size_t>(u), s)) return false;
    } else if (b >= 0xF1 && b <= 0xF4) {
      const std::size_t width = b == 0xF1 ? 2 : b == 0xF2 ? 3 : b == 0xF3 ? 4 : 8;
      if (!r.le(width, u)) return false;
      v = sign_extend(u, width);
    } else {
      return false;  // 0xF5..0xFE are not encodings; 0xFF only at the end
    }
    const std::size_t len = r.pos - start;
    const std::size_t back = len <= 127 ? 1 : len < 16383 ? 2 : len < 2097151 ? 3 : len < 268435455 ? 4 : 5;
    std::string_view backlen;
    if (!r.bytes(back, backlen)) return false;
    out.push_back(is_int ? std::to_string(v) : std::string(s));
  }
  return count == 65535 || count == out.size();
}

bool ziplist_decode(std::string_view zl, std::vector<std::string>& out) {
  out.clear();
  Reader r{zl};
  std::uint64_t total = 0, tail = 0, count = 0;
  if (!r.le(4, total) || !r.le(4, tail) || !r.le(2, count) || total != zl.size() || zl.size() < 11 ||
      static_cast<unsigned char>(zl.back()) != 0xFF) {
    return false;
  }
  r.in = zl.substr(0, zl.size() - 1);  // entries end at the terminator
  while (!r.at_end()) {
    // The previous entry's length (1 byte, or 0xFE and 4 bytes), then the encoding.
    unsigned char b = 0;
    std::uint64_t u = 0;
    (void)r.byte(b);
    if (b == 0xFE && !r.le(4, u)) return false;
    if (b == 0xFF) return false;
    if (!r.byte(b)) return false;
    std::string_view s;
    switch (b >> 6) {
      case 0:  // a string of up to 63 bytes
        if (!r.bytes(b & 0x3f, s)) return false;
        out.emplace_back(s);
        continue;
      case 1: {  // up to 16383 bytes, 14 bits big endian
        unsigned char c = 0;
        if (!r.byte(c) || !r.bytes(static_cast<std::size_t>((b & 0x3f) << 8) | c, s)) return false;
        out.emplace_back(s);
        continue;
      }
      case 2: {  // 4 bytes big endian
        std::string_view raw;
        if (b != 0x80 || !r.bytes(4, raw)) return false;
        std::uint64_t n = 0;
        for (char ch : raw) n = (n << 8) | static_cast<unsigned char>(ch);
        if (!r.bytes(static_cast<std::size_t>(n), s)) return false;
        out.emplace_back(s);
        continue;
      }
      default:
        break;
    }
    std::size_t width = 0;
    switch (b) {
      case 0xC0: width = 2; break;
      case 0xD0: width = 4; break;
      case 0xE0: width = 8; break;
      case 0xF0: width = 3; break;
      case 0xFE: width = 1; break;
      default:
        if (b >= 0xF1 && b <= 0xFD) {  // an immediate 0..12
          out.push_back(std::to_string((b & 0x0f) - 1));
          continue;
        }
        return false;
    }
    if (!r.le(width, u)) return false;
    out.push_back(std::to_string(sign_extend(u, width)));
  }
  return count == 65535 || count == out.size();
}

std::string intset_encode(std::vector<std::int64_t> values, int min_width) {
  std::sort(values.begin(), values.end());
  values.erase(std::unique(values.begin(), values.end()), values.end());
  int width = min_width;
  for (std::int64_t v : values) {
    if (v < INT32_MIN || v > INT32_MAX) width = 8;
    else if ((v < INT16_MIN || v > INT16_MAX) && width < 4) width = 4;
  }
  std::string out;
  put_le(out, static_cast<std::uint64_t>(width), 4);
  put_le(out, values.size(), 4);
  for (std::int64_t v : values) put_le(out, static_cast<std::uint64_t>(v), width);
  return out;
}

bool intset_decode(std::string_view blob, std::vector<std::int64_t>& out, std::size_t& width) {
  out.clear();
  Reader r{blob};
  std::uint64_t w = 0, count = 0;
  if (!r.le(4, w) || !r.le(4, count)) return false;
  if (w != 2 && w != 4 && w != 8) return false;
  if (count == 0 || r.left() != count * w) return false;
  width = static_cast<std::size_t>(w);
  for (std::uint64_t i = 0; i < count; ++i) {
    std::uint64_t u = 0;
    (void)r.le(width, u);
    const std::int64_t v = sign_extend(u, width);
    if (!out.empty() && v <= out.back()) return false;  // unsorted or repeated
    out.push_back(v);
  }
  return true;
}

}  // namespace lfdb::db::dump
