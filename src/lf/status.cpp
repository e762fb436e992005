#include "lf/status.hpp"

#include <cstring>

namespace lf {

Status Status::from_errno(std::string_view what, int err) {
  std::string m(what);
  m += ": ";
  m += std::strerror(err);
  return error(std::move(m), err);
}

void check_failed(const char* expr, const char* file, int line, const char* msg) {
  std::fprintf(stderr, "LF_CHECK failed: %s at %s:%d%s%s\n", expr, file, line, msg ? ": " : "",
               msg ? msg : "");
  std::abort();
}

}  // namespace lf
