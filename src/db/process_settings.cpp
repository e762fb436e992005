#include "db/process_settings.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>

namespace lfdb::db {

lf::Status open_logfile(const std::string& path) {
  if (path.empty()) return lf::Status();
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return lf::Status::error("Can't open the log file: " + std::string(std::strerror(errno)));
  std::fflush(stdout);
  std::fflush(stderr);
  const bool moved = ::dup2(fd, STDOUT_FILENO) >= 0 && ::dup2(fd, STDERR_FILENO) >= 0;
  const int err = errno;
  ::close(fd);
  if (!moved) return lf::Status::error("Can't open the log file: " + std::string(std::strerror(err)));
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // a file would otherwise hold lines back
  return lf::Status();
}

bool write_pidfile(const std::string& path) {
  if (path.empty()) return true;
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr) return false;
  std::fprintf(f, "%d\n", static_cast<int>(::getpid()));
  return std::fclose(f) == 0;
}

void remove_pidfile(const std::string& path) {
  if (!path.empty()) (void)::unlink(path.c_str());
}

namespace {

constexpr const char* kOomFile = "/proc/self/oom_score_adj";

int read_oom_score() {
  std::ifstream in(kOomFile);
  int v = 0;
  in >> v;
  return v;
}

}  // namespace

bool apply_oom_score(const std::string& mode, const std::string& values, bool replica) {
  static std::mutex mu;
  static bool have_base = false;
  static int base = 0;  // the score before lfdb's first change (guarded by mu)
  std::lock_guard<std::mutex> lock(mu);
  if (!have_base) {
    if (mode == "no") return true;  // never changed: nothing to put back
    base = read_oom_score();
    have_base = true;
  }
  int want = base;
  if (mode != "no") {
    std::istringstream words(values);  // validated: three numbers in [-2000, 2000]
    int primary = 0, replica_value = 0;
    words >> primary >> replica_value;
    const int v = replica ? replica_value : primary;
    want = std::clamp(mode == "absolute" ? v : base + v, -1000, 1000);
  }
  std::ofstream out(kOomFile);
  out << want << "\n";
  out.close();
  return !out.fail();
}

}  // namespace lfdb::db
