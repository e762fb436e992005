// struct: binary packing for scripts, the library Redis's scripts know as struct.pack,
// struct.unpack and struct.size. lfdb's own implementation of its documented behaviour.
//
// A format is a string of options, each optionally followed by a decimal size:
//   >  <     big / little endian from here on (native: little)
//   !n       align fields to min(their size, n) from here on (n a power of two, default 8)
//   x        one byte of padding
//   b B      signed / unsigned char      h H   short (2)      l L   long (8)
//   T        size_t (8)                  i In  signed / unsigned integer of n bytes (default 4)
//   f d      float / double              cn    n bytes of string (pack: c0 = the whole string;
//   s        a zero-terminated string                        unpack: c0 = the previous value)
//   (space)  ignored
// unpack returns the values, then the position after the last byte read.
#include <lua5.4/lauxlib.h>
#include <lua5.4/lua.h>

#include <cctype>
#include <cstdint>
#include <cstring>
#include <utility>

#include "db/script_libs.hpp"

namespace lfdb::db {
namespace {

constexpr int kMaxIntSize = 32;
constexpr int kMaxAlign = 8;

struct Header {
  bool little = true;
  int align = 1;
};

bool is_digit(char c) { return c >= '0' && c <= '9'; }

int read_number(const char*& fmt, int dflt) {
  if (!is_digit(*fmt)) return dflt;
  int a = 0;
  do {
    if (a > 100000000) break;  // absurd sizes fail the checks below
    a = a * 10 + (*fmt++ - '0');
  } while (is_digit(*fmt));
  return a;
}

int integer_size(lua_State* L, const char*& fmt) {
  const int size = read_number(fmt, 4);
  if (size > kMaxIntSize) {
    luaL_error(L, "integral size %d is larger than limit of %d", size, kMaxIntSize);
  }
  return size;
}

// The size of option `opt` (its number read from fmt); 0 for s and c0.
std::size_t option_size(lua_State* L, char opt, const char*& fmt) {
  switch (opt) {
    case 'B': case 'b': return 1;
    case 'H': case 'h': return 2;
    case 'L': case 'l': return 8;
    case 'T': return sizeof(std::size_t);
    case 'f': return sizeof(float);
    case 'd': return sizeof(double);
    case 'x': return 1;
    case 'c': return static_cast<std::size_t>(read_number(fmt, 1));
    case 'i': case 'I': return static_cast<std::size_t>(integer_size(L, fmt));
    default: return 0;
  }
}

std::size_t padding(lua_State* L, std::size_t len, const Header& h, char opt, std::size_t size) {
  if (size <= 1 || opt == 'c') return 0;
  std::size_t align = size;
  if (align > static_cast<std::size_t>(h.align)) align = static_cast<std::size_t>(h.align);
  if ((align & (align - 1)) != 0) luaL_error(L, "alignment %d is not a power of 2", static_cast<int>(align));
  return (align - (len & (align - 1))) & (align - 1);
}

// Options that change the header rather than describe a field; returns true when `opt` was one.
bool header_option(char opt, const char*& fmt, Header& h) {
  switch (opt) {
    case ' ': return true;
    case '>': h.little = false; return true;
    case '<': h.little = true; return true;
    case '!': {
      h.align = read_number(fmt, kMaxAlign);
      return true;
    }
    default: return false;
  }
}

void bad_option(lua_State* L, char opt) {
  luaL_argerror(L, 1, lua_pushfstring(L, "invalid format option '%c'", opt));
}

// Packing builds a luaL_Buffer, not a std::string: a Lua error longjmps past C++ destructors.
void put_integer(luaL_Buffer& out, std::uint64_t v, bool little, std::size_t size) {
  char buf[kMaxIntSize];
  for (std::size_t i = 0; i < size; ++i) {
    buf[little ? i : size - 1 - i] =
        static_cast<char>(i < 8 ? (v >> (8 * i)) & 0xff : 0);  // Redis pads wide integers with 0
  }
  luaL_addlstring(&out, buf, size);
}

void put_bytes(luaL_Buffer& out, const void* p, std::size_t size, bool little) {
  char buf[8];
  std::memcpy(buf, p, size);
  if (!little) {
    for (std::size_t i = 0; i < size / 2; ++i) std::swap(buf[i], buf[size - 1 - i]);
  }
  luaL_addlstring(&out, buf, size);
}

int struct_pack(lua_State* L) {
  const char* fmt = luaL_checkstring(L, 1);
  Header h;
  int arg = 2;
  luaL_Buffer out;
  luaL_buffinit(L, &out);
  while (*fmt != '\0') {
    const char opt = *fmt++;
    if (header_option(opt, fmt, h)) continue;
    std::size_t size = option_size(L, opt, fmt);
    for (std::size_t pad = padding(L, luaL_bufflen(&out), h, opt, size); pad > 0; --pad) {
      luaL_addchar(&out, '\0');
    }
    switch (opt) {
      case 'b': case 'B': case 'h': case 'H': case 'l': case 'L': case 'T': case 'i': case 'I': {
        const lua_Number n = luaL_checknumber(L, arg++);
        const bool neg = n < 0;
        std::uint64_t v;
        if (lua_isinteger(L, arg - 1)) {
          v = static_cast<std::uint64_t>(lua_tointeger(L, arg - 1));
        } else if (neg) {
          v = static_cast<std::uint64_t>(static_cast<std::int64_t>(n));
        } else {
          v = n >= 18446744073709551616.0 ? UINT64_MAX : static_cast<std::uint64_t>(n);
        }
        put_integer(out, v, h.little, size);
        break;
      }
      case 'x':
        luaL_addchar(&out, '\0');
        break;
      case 'f': {
        const float f = static_cast<float>(luaL_checknumber(L, arg++));
        put_bytes(out, &f, sizeof f, h.little);
        break;
      }
      case 'd': {
        const double d = luaL_checknumber(L, arg++);
        put_bytes(out, &d, sizeof d, h.little);
        break;
      }
      case 'c': case 's': {
        std::size_t l = 0;
        const char* s = luaL_checklstring(L, arg, &l);
        if (opt == 's') {
          luaL_addlstring(&out, s, l);
          luaL_addchar(&out, '\0');
        } else {
          if (size == 0) size = l;
          luaL_argcheck(L, l >= size, arg + 1, "string too short");
          luaL_addlstring(&out, s, size);
        }
        ++arg;
        break;
      }
      default:
        bad_option(L, opt);
    }
  }
  luaL_pushresult(&out);
  return 1;
}

int struct_unpack(lua_State* L) {
  const char* fmt = luaL_checkstring(L, 1);
  std::size_t ld = 0;
  const char* data = luaL_checklstring(L, 2, &ld);
  const lua_Integer init = luaL_optinteger(L, 3, 1);
  std::size_t pos = init > 0 ? static_cast<std::size_t>(init - 1) : 0;
  luaL_argcheck(L, init > 0 && pos <= ld, 3, "offset must be 1 or greater");
  Header h;
  int pushed = 0;
  while (*fmt != '\0') {
    const char opt = *fmt++;
    if (header_option(opt, fmt, h)) continue;
    std::size_t size = option_size(L, opt, fmt);
    pos += padding(L, pos, h, opt, size);
    luaL_argcheck(L, pos <= ld && size <= ld - pos, 2, "data string too short");
    luaL_checkstack(L, 2, "too many results");
    switch (opt) {
      case 'b': case 'B': case 'h': case 'H': case 'l': case 'L': case 'T': case 'i': case 'I': {
        std::uint64_t v = 0;
        for (std::size_t i = 0; i < size; ++i) {
          const auto byte = static_cast<unsigned char>(data[pos + (h.little ? size - 1 - i : i)]);
          v = (v << 8) | byte;
        }
        const bool is_signed = std::islower(static_cast<unsigned char>(opt)) != 0;
        if (is_signed && size < 8 && size > 0) {
          const std::uint64_t sign = std::uint64_t{1} << (8 * size - 1);
          v = (v ^ sign) - sign;  // sign-extend
        }
        if (is_signed || v <= static_cast<std::uint64_t>(INT64_MAX)) {
          lua_pushinteger(L, static_cast<lua_Integer>(v));
        } else {
          lua_pushnumber(L, static_cast<lua_Number>(v));
        }
        ++pushed;
        break;
      }
      case 'x':
        break;
      case 'f': {
        float f;
        char buf[sizeof f];
        for (std::size_t i = 0; i < sizeof f; ++i) buf[i] = data[pos + (h.little ? i : sizeof f - 1 - i)];
        std::memcpy(&f, buf, sizeof f);
        push_number_like_lua51(L, f);
        ++pushed;
        break;
      }
      case 'd': {
        double d;
        char buf[sizeof d];
        for (std::size_t i = 0; i < sizeof d; ++i) buf[i] = data[pos + (h.little ? i : sizeof d - 1 - i)];
        std::memcpy(&d, buf, sizeof d);
        push_number_like_lua51(L, d);
        ++pushed;
        break;
      }
      case 'c': {
        if (size == 0) {
          if (pushed == 0 || !lua_isnumber(L, -1)) luaL_error(L, "format 'c0' needs a previous size");
          const lua_Number n = lua_tonumber(L, -1);
          lua_pop(L, 1);
          --pushed;
          size = n > 0 ? static_cast<std::size_t>(n) : 0;
          luaL_argcheck(L, size <= ld - pos, 2, "data string too short");
        }
        lua_pushlstring(L, data + pos, size);
        ++pushed;
        break;
      }
      case 's': {
        const void* e = std::memchr(data + pos, '\0', ld - pos);
        if (e == nullptr) luaL_error(L, "unfinished string in data");
        size = static_cast<std::size_t>(static_cast<const char*>(e) - (data + pos)) + 1;
        lua_pushlstring(L, data + pos, size - 1);
        ++pushed;
        break;
      }
      default:
        bad_option(L, opt);
    }
    pos += size;
  }
  lua_pushinteger(L, static_cast<lua_Integer>(pos + 1));
  return pushed + 1;
}

int struct_size(lua_State* L) {
  const char* fmt = luaL_checkstring(L, 1);
  Header h;
  std::size_t pos = 0;
  while (*fmt != '\0') {
    const char opt = *fmt++;
    if (header_option(opt, fmt, h)) continue;
    const std::size_t size = option_size(L, opt, fmt);
    if (opt == 's' || (opt == 'c' && size == 0)) {
      luaL_argerror(L, 1, opt == 's' ? "option 's' has no fixed size" : "option 'c0' has no fixed size");
    }
    if (size == 0 && opt != 'c') bad_option(L, opt);
    pos += padding(L, pos, h, opt, size);
    pos += size;
  }
  lua_pushinteger(L, static_cast<lua_Integer>(pos));
  return 1;
}

}  // namespace

int open_struct_library(lua_State* L) {
  static const luaL_Reg kFunctions[] = {
      {"pack", struct_pack}, {"unpack", struct_unpack}, {"size", struct_size}, {nullptr, nullptr}};
  luaL_newlib(L, kFunctions);
  return 1;
}

}  // namespace lfdb::db
