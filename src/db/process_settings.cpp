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

// Whether lfdb controls the score now, and the score it found when it took control: "no" puts
// that one back and leaves the file alone after, so a score someone else writes meanwhile is
// the base of the next "yes" (as Redis reads it again then).
std::mutex oom_mu;
bool oom_adjusted = false;  // guarded by oom_mu
int oom_base = 0;           // guarded by oom_mu

// The score of class 0 (primary), 1 (replica) or 2 (a background child).
int oom_score_of(const std::string& mode, const std::string& values, int cls) {
  std::istringstream words(values);  // validated: three numbers in [-2000, 2000]
  int v[3] = {0, 0, 0};
  words >> v[0] >> v[1] >> v[2];
  return std::clamp(mode == "absolute" ? v[cls] : oom_base + v[cls], -1000, 1000);
}

}  // namespace

bool apply_oom_score(const std::string& mode, const std::string& values, bool replica) {
  std::lock_guard<std::mutex> lock(oom_mu);
  int want = 0;
  if (mode == "no") {
    if (!oom_adjusted) return true;  // not ours: nothing to put back
    oom_adjusted = false;
    want = oom_base;
  } else {
    if (!oom_adjusted) {
      oom_base = read_oom_score();
      oom_adjusted = true;
    }
    want = oom_score_of(mode, values, replica ? 1 : 0);
  }
  std::ofstream out(kOomFile);
  out << want << "\n";
  out.close();
  return !out.fail();
}

int oom_score_for_child(const std::string& mode, const std::string& values) {
  std::lock_guard<std::mutex> lock(oom_mu);
  if (mode == "no" || !oom_adjusted) return kNoOomScore;
  return oom_score_of(mode, values, 2);
}

void set_own_oom_score(int score) {
  if (score == kNoOomScore) return;
  char text[16];
  const int n = std::snprintf(text, sizeof text, "%d\n", score);
  const int fd = ::open(kOomFile, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return;
  (void)!::write(fd, text, static_cast<std::size_t>(n));
  ::close(fd);
}

}  // namespace lfdb::db
