#include "dispatch/backup.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

namespace lfdb::dispatch {

namespace {
lf::Status write_all(int fd, const char* p, std::size_t n, const std::string& what) {
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return lf::Status::from_errno("write " + what);
    p += w;
    n -= static_cast<std::size_t>(w);
  }
  return lf::Status();
}
}  // namespace

BackupSeed::~BackupSeed() {
  if (fd >= 0) ::close(fd);
}

BackupFile::~BackupFile() {
  if (fd_ >= 0) ::close(fd_);
}

lf::Status BackupFile::open(const std::string& dir, const std::string& replid, BackupSeed& seed) {
  if (seed.fd < 0 && seed.size > 0) return lf::Status::error("the loaded log cannot be read");
  path_ = dir + "/backup-" + replid + ".aof";
  const std::string tmp = path_ + ".tmp";
  fd_ = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) return lf::Status::from_errno("open " + tmp);
  char buf[1 << 16];
  std::uint64_t off = 0;
  while (seed.fd >= 0 && off < seed.size) {
    const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(sizeof buf, seed.size - off));
    const ssize_t r = ::pread(seed.fd, buf, want, static_cast<off_t>(off));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return lf::Status::error("reading the loaded log for the backup: short read");
    lf::Status st = write_all(fd_, buf, static_cast<std::size_t>(r), tmp);
    if (!st.ok()) return st;
    off += static_cast<std::uint64_t>(r);
  }
  if (::fdatasync(fd_) != 0) return lf::Status::from_errno("fdatasync " + tmp);
  if (::rename(tmp.c_str(), path_.c_str()) != 0) return lf::Status::from_errno("rename " + tmp);
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    (void)::fsync(dfd);
    ::close(dfd);
  }
  end_ = synced_ = seed.size;
  return lf::Status();
}

lf::Status BackupFile::append(std::string_view bytes) {
  lf::Status st = write_all(fd_, bytes.data(), bytes.size(), path_);
  if (st.ok()) end_ += bytes.size();
  return st;
}

lf::Status BackupFile::sync() {
  if (synced_ == end_) return lf::Status();
  if (::fdatasync(fd_) != 0) return lf::Status::from_errno("fdatasync " + path_);
  synced_ = end_;
  return lf::Status();
}

}  // namespace lfdb::dispatch
