#include "db/config_line.hpp"

#include <cctype>

namespace lfdb::db {

bool split_config_line(const std::string& line, std::vector<std::string>& out) {
  out.clear();
  std::size_t i = 0;
  const std::size_t n = line.size();
  while (true) {
    while (i < n && std::isspace(static_cast<unsigned char>(line[i]))) ++i;
    if (i >= n) return true;
    std::string cur;
    bool inq = false, insq = false;
    for (;; ++i) {
      if (i >= n) {
        if (inq || insq) return false;
        break;
      }
      const char c = line[i];
      if (inq) {
        if (c == '\\' && i + 1 < n) {
          const char e = line[++i];
          cur += e == 'n' ? '\n' : e == 'r' ? '\r' : e == 't' ? '\t' : e;
        } else if (c == '"') {
          if (i + 1 < n && !std::isspace(static_cast<unsigned char>(line[i + 1]))) return false;
          inq = false;
          ++i;
          break;
        } else {
          cur += c;
        }
      } else if (insq) {
        if (c == '\\' && i + 1 < n && line[i + 1] == '\'') {
          cur += '\'';
          ++i;
        } else if (c == '\'') {
          if (i + 1 < n && !std::isspace(static_cast<unsigned char>(line[i + 1]))) return false;
          insq = false;
          ++i;
          break;
        } else {
          cur += c;
        }
      } else if (std::isspace(static_cast<unsigned char>(c))) {
        break;
      } else if (c == '"') {
        inq = true;
      } else if (c == '\'') {
        insq = true;
      } else {
        cur += c;
      }
    }
    out.push_back(std::move(cur));
  }
}

}  // namespace lfdb::db
