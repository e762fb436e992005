// The dispatcher's backup destination (`backup-dir DIR`): one file per primary history,
// DIR/backup-<replid>.aof, that is a complete append-only log at every moment. It starts as a
// copy of the log the server loaded at start (bytes [0, base) of the logical log), and every
// sealed segment is appended to it and fdatasync'ed before the next is taken. Restoring is
// copying the newest file over a server's appendonly.aof (docs/replication.md).
//
// Thread-safety: none; a BackupFile belongs to the dispatcher thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "lf/status.hpp"

namespace lfdb::dispatch {

// The log file as the server loaded it, opened before serving: a rewrite may rename another
// file over its path later, but this descriptor keeps reading the loaded bytes.
struct BackupSeed {
  int fd = -1;
  std::uint64_t size = 0;  // the log's logical offset when the server started
  BackupSeed() = default;
  BackupSeed(const BackupSeed&) = delete;
  BackupSeed& operator=(const BackupSeed&) = delete;
  ~BackupSeed();
};

class BackupFile {
 public:
  BackupFile() = default;
  BackupFile(const BackupFile&) = delete;
  BackupFile& operator=(const BackupFile&) = delete;
  ~BackupFile();

  // Creates DIR/backup-<replid>.aof with the seed's bytes, fsynced (and the directory).
  lf::Status open(const std::string& dir, const std::string& replid, BackupSeed& seed);
  // Appends a segment; sync() makes everything appended durable.
  lf::Status append(std::string_view bytes);
  lf::Status sync();

  const std::string& path() const { return path_; }
  std::uint64_t end() const { return end_; }        // logical offset after the last append
  std::uint64_t synced() const { return synced_; }  // ... after the last sync

 private:
  int fd_ = -1;
  std::string path_;
  std::uint64_t end_ = 0;
  std::uint64_t synced_ = 0;
};

}  // namespace lfdb::dispatch
