#include "db/snapshot.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <xxhash.h>

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <memory>
#include <vector>

#include "db/log_records.hpp"

namespace lfdb::db {
namespace {

constexpr char kMagic[8] = {'L', 'F', 'D', 'B', 'S', 'N', 'A', 'P'};
// Version 2 added lists, sets and sorted sets (tags 3, 4, 5; a sorted set's scores are the
// doubles' 8 bytes, exact); version 3 added databases (tag 0xFE + varint index: the records
// after it belong to that database). Versions 1 and 2 still load, into database 0.
// Version 4 added function libraries (tag 6: str code, no expiry or key; FUNCTION LOAD), first.
// Version 5 added streams (tag 7: one str holding stream::encode's form, db/stream/stream.hpp).
constexpr std::uint32_t kSnapshotVersion = 5, kOldestSnapshotVersion = 1;
constexpr std::uint8_t kString = 1, kHash = 2, kList = 3, kSet = 4, kZSet = 5, kLibrary = 6,
                       kStream = 7, kSelectDb = 0xFE,
                       kEnd = 0xFF;

std::uint8_t tag_of(Type t) {
  switch (t) {
    case Type::kString: return kString;
    case Type::kHash: return kHash;
    case Type::kList: return kList;
    case Type::kSet: return kSet;
    case Type::kZSet: return kZSet;
    case Type::kStream: return kStream;
  }
  return kString;
}

// Buffered output to a file descriptor that also hashes what it writes. Plain write(2), no
// stdio: it runs in a forked child too.
class SnapshotOut {
 public:
  explicit SnapshotOut(int fd) : fd_(fd), state_(XXH3_createState()) {
    XXH3_64bits_reset(state_);
    buf_.reserve(kChunk);
  }
  ~SnapshotOut() { XXH3_freeState(state_); }
  void bytes(const void* p, std::size_t n) {
    XXH3_64bits_update(state_, p, n);
    buf_.append(static_cast<const char*>(p), n);
    if (buf_.size() >= kChunk) drain();
  }
  void u8(std::uint8_t v) { bytes(&v, 1); }
  void u32(std::uint32_t v) { bytes(&v, 4); }
  void u64(std::uint64_t v) { bytes(&v, 8); }
  void i64(std::int64_t v) { bytes(&v, 8); }
  void varint(std::uint64_t v) {
    std::uint8_t b[10];
    std::size_t n = 0;
    do {
      b[n] = static_cast<std::uint8_t>(v & 0x7F);
      v >>= 7;
      if (v) b[n] |= 0x80;
      ++n;
    } while (v);
    bytes(b, n);
  }
  void str(std::string_view s) {
    varint(s.size());
    bytes(s.data(), s.size());
  }
  std::uint64_t digest() const { return XXH3_64bits_digest(state_); }
  // Unhashed bytes (the checksum itself).
  void raw_u64(std::uint64_t v) { buf_.append(reinterpret_cast<const char*>(&v), 8); }
  bool drain() {
    std::size_t off = 0;
    while (off < buf_.size() && err_ == 0) {
      const ssize_t n = ::write(fd_, buf_.data() + off, buf_.size() - off);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) err_ = errno != 0 ? errno : EIO;
      else off += static_cast<std::size_t>(n);
    }
    buf_.clear();
    return err_ == 0;
  }
  int error() const { return err_; }

 private:
  static constexpr std::size_t kChunk = 1 << 16;
  int fd_;
  XXH3_state_t* state_;
  std::string buf_;
  int err_ = 0;
};


lf::Status sync_and_close(int fd, const std::string& what) {
  if (::fsync(fd) != 0) {
    lf::Status s = lf::Status::from_errno("fsync " + what);
    ::close(fd);
    return s;
  }
  if (::close(fd) != 0) return lf::Status::from_errno("close " + what);
  return lf::Status();
}

void fsync_dir_of(const std::string& path) {
  const auto slash = path.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "." : path.substr(0, slash + 1);
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    (void)::fsync(dfd);
    ::close(dfd);
  }
}

// Reading side: bounds-checked cursor.
class In {
 public:
  In(std::string_view b, std::size_t end) : b_(b), end_(end) {}
  bool u8(std::uint8_t& v) { return take(&v, 1); }
  bool u32(std::uint32_t& v) { return take(&v, 4); }
  bool u64(std::uint64_t& v) { return take(&v, 8); }
  bool i64(std::int64_t& v) { return take(&v, 8); }
  bool varint(std::uint64_t& v) {
    v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      std::uint8_t b = 0;
      if (!u8(b)) return false;
      v |= static_cast<std::uint64_t>(b & 0x7F) << shift;
      if (!(b & 0x80)) return true;
    }
    return false;
  }
  bool str(std::string_view& s) {
    std::uint64_t n = 0;
    if (!varint(n) || n > end_ - pos_) return false;
    s = b_.substr(pos_, n);
    pos_ += n;
    return true;
  }
  std::size_t pos() const { return pos_; }

 private:
  bool take(void* p, std::size_t n) {
    if (end_ - pos_ < n) return false;
    std::memcpy(p, b_.data() + pos_, n);
    pos_ += n;
    return true;
  }
  std::string_view b_;
  std::size_t end_;
  std::size_t pos_ = 0;
};

}  // namespace

namespace {

// rdb-key-save-delay, as Redis sleeps it: n > 0 microseconds after every key; n < 0 one
// microsecond after every -n keys.
class KeyDelay {
 public:
  explicit KeyDelay(int us) : us_(us) {}
  void after_key() {
    if (us_ > 0) {
      ::usleep(static_cast<useconds_t>(us_));
    } else if (us_ < 0 && ++keys_ % -static_cast<std::int64_t>(us_) == 0) {
      ::usleep(1);
    }
  }

 private:
  const int us_;
  std::int64_t keys_ = 0;
};

// The snapshot itself, streamed to fd. Returns the number of keys, or the write error.
lf::Status write_snapshot_body(const Databases& dbs, int fd, std::int64_t now_ms, std::uint64_t& n,
                               const std::string& what, int key_delay_us,
                               const std::vector<std::string>& libraries) {
  n = 0;
  KeyDelay delay(key_delay_us);
  SnapshotOut out(fd);
  out.bytes(kMagic, sizeof kMagic);
  out.u32(kSnapshotVersion);
  out.i64(now_ms);
  for (const std::string& code : libraries) {
    out.u8(kLibrary);
    out.str(code);
  }
  for (std::uint32_t d = 0; d < dbs.count(); ++d) {
    const Keyspace& ks = dbs.db(d);
    if (ks.size() == 0) continue;
    out.u8(kSelectDb);
    out.varint(d);
    for (std::uint32_t c = 0; c < ks.colors(); ++c) {
      const Partition& p = ks.at(c);
      for (const auto& [key, e] : p.map()) {
        if (p.past(e, now_ms)) continue;
        out.u8(tag_of(e.value.type()));
        out.i64(p.expire_at(e));
        out.str(key);
        switch (e.value.type()) {
          case Type::kString:
            out.str(e.value.str());
            break;
          case Type::kHash:
            out.varint(e.value.hash()->size());
            for (const auto& [f, v] : *e.value.hash()) {
              out.str(f);
              out.str(v);
            }
            break;
          case Type::kList:
            out.varint(e.value.list()->size());
            for (std::string_view v : *e.value.list()) out.str(v);
            break;
          case Type::kSet:
            out.varint(e.value.set()->size());
            for (Set::Member m : *e.value.set()) out.str(m.view());
            break;
          case Type::kZSet:
            out.varint(e.value.zset()->size());
            for (ZSet::Ref z = e.value.zset()->first(); z; z = z.next()) {
              out.str(z.member());
              std::uint64_t bits = 0;
              const double score = z.score();
              std::memcpy(&bits, &score, sizeof bits);
              out.u64(bits);
            }
            break;
          case Type::kStream: {
            std::string blob;
            stream::encode(*e.value.stream(), blob);
            out.str(blob);
            break;
          }
        }
        ++n;
        delay.after_key();
      }
    }
  }
  out.u8(kEnd);
  out.u64(n);
  out.raw_u64(out.digest());
  if (!out.drain()) return lf::Status::error("writing " + what + ": " + std::strerror(out.error()));
  return lf::Status();
}

}  // namespace

std::string snapshot_temp_path(const std::string& path, pid_t pid) {
  const std::size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? std::string() : path.substr(0, slash + 1);
  return dir + kSnapshotTempPrefix + std::to_string(pid) + kSnapshotTempSuffix;
}

lf::Status save_snapshot(const Databases& ks, const std::string& path, std::int64_t now_ms,
                         std::uint64_t& keys_written, int key_delay_us,
                         const std::vector<std::string>& libraries) {
  const std::string tmp = snapshot_temp_path(path, ::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return lf::Status::from_errno("open " + tmp);
  std::uint64_t n = 0;
  lf::Status st = write_snapshot_body(ks, fd, now_ms, n, tmp, key_delay_us, libraries);
  if (!st.ok()) {
    ::close(fd);
    ::unlink(tmp.c_str());
    return st;
  }
  st = sync_and_close(fd, tmp);
  if (st.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) st = lf::Status::from_errno("rename " + tmp);
  if (!st.ok()) {
    ::unlink(tmp.c_str());
    return st;
  }
  fsync_dir_of(path);
  keys_written = n;
  return lf::Status();
}

lf::Result<std::string> snapshot_to_bytes(const Databases& ks, std::int64_t now_ms,
                                          const std::vector<std::string>& libraries) {
  // Through a memory file, so the one writer of the format serves both.
  const int fd = ::memfd_create("lfdb-snapshot", MFD_CLOEXEC);
  if (fd < 0) return lf::Status::from_errno("memfd_create");
  std::uint64_t n = 0;
  lf::Status st = write_snapshot_body(ks, fd, now_ms, n, "the in-memory snapshot", 0, libraries);
  std::string bytes;
  if (st.ok()) {
    const off_t size = ::lseek(fd, 0, SEEK_END);
    bytes.resize(size > 0 ? static_cast<std::size_t>(size) : 0);
    std::size_t got = 0;
    while (got < bytes.size()) {
      const ssize_t r = ::pread(fd, bytes.data() + got, bytes.size() - got, static_cast<off_t>(got));
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) {
        st = lf::Status::from_errno("reading the in-memory snapshot");
        break;
      }
      got += static_cast<std::size_t>(r);
    }
  }
  ::close(fd);
  if (!st.ok()) return st;
  return bytes;
}

bool is_snapshot(std::string_view bytes) {
  return bytes.size() >= sizeof kMagic && std::memcmp(bytes.data(), kMagic, sizeof kMagic) == 0;
}

lf::Result<SnapshotLoad> load_snapshot_bytes(std::string_view b, Databases& dbs,
                                             const std::string& what) {
  SnapshotLoad out;
  auto bad = [&](const std::string& why) {
    return lf::Status::error("snapshot " + what + " is damaged (" + why +
                             "); move it away to start without it");
  };
  if (!is_snapshot(b)) return bad("not an lfdb snapshot");
  In in(b, b.size());
  for (std::size_t i = 0; i < sizeof kMagic; ++i) {
    std::uint8_t v = 0;
    (void)in.u8(v);
  }
  std::uint32_t version = 0;
  if (!in.u32(version)) return bad("cut short");
  if (version < kOldestSnapshotVersion || version > kSnapshotVersion) {
    return bad("unknown version " + std::to_string(version));
  }
  const std::uint8_t last_tag = version == 1 ? kHash : version >= 5 ? kStream : kZSet;
  if (!in.i64(out.created_ms)) return bad("cut short");
  Keyspace* ks = &dbs.db(0);  // versions 1 and 2 had one database
  std::vector<std::string_view> members;  // a set record's, reused from record to record
  for (;;) {
    std::uint8_t type = 0;
    if (!in.u8(type)) return bad("cut short");
    if (type == kEnd) break;
    if (type == kSelectDb && version >= 3) {
      std::uint64_t d = 0;
      if (!in.varint(d)) return bad("bad database at byte " + std::to_string(in.pos()));
      if (d >= dbs.count()) {
        return bad("database " + std::to_string(d) + " at byte " + std::to_string(in.pos()) +
                   ", beyond 'databases " + std::to_string(dbs.count()) + "'");
      }
      ks = &dbs.db(static_cast<std::uint32_t>(d));
      continue;
    }
    if (type == kLibrary && version >= 4) {
      std::string_view code;
      if (!in.str(code)) return bad("bad library at byte " + std::to_string(in.pos()));
      out.libraries.emplace_back(code);
      continue;
    }
    std::int64_t at = -1;
    std::string_view key;
    if (type < kString || type > last_tag || !in.i64(at) || !in.str(key)) {
      return bad("bad record at byte " + std::to_string(in.pos()));
    }
    Partition& p = ks->of(key);
    bool created = false;
    Entry& e = p.find_or_create(key, 0, created);
    e.value.drop_containers();  // a key that repeats: the last record wins, whole
    e.value.form = StrForm::kShaped;
    if (type == kString) {
      std::string_view v;
      if (!in.str(v)) return bad("bad string at byte " + std::to_string(in.pos()));
      e.value.str().assign(v);
    } else if (type == kStream) {
      std::string_view blob;
      std::string why;
      if (!in.str(blob)) return bad("bad stream at byte " + std::to_string(in.pos()));
      e.value.reset(stream::decode(blob, why));
      if (!e.value.stream()) {
        p.erase(key, 0);
        return bad(why + " at byte " + std::to_string(in.pos()));
      }
    } else if (type == kLibrary) {
      return bad("bad record at byte " + std::to_string(in.pos()));
    } else {
      std::uint64_t n = 0;
      // A container is never empty, and each element takes at least a byte: a count that
      // says otherwise is damage.
      if (!in.varint(n) || n == 0 || n > b.size()) {
        return bad("bad container at byte " + std::to_string(in.pos()));
      }
      auto bad_element = [&] { return bad("bad element at byte " + std::to_string(in.pos())); };
      if (type == kHash) {
        e.value.make_hash();
        for (std::uint64_t i = 0; i < n; ++i) {
          std::string_view f, v;
          if (!in.str(f) || !in.str(v)) return bad_element();
          e.value.hash()->set(f, v);  // packed while it fits, as a RESTOREd hash
        }
      } else if (type == kList) {
        e.value.reset(std::make_unique<List>());
        for (std::uint64_t i = 0; i < n; ++i) {
          std::string_view v;
          if (!in.str(v)) return bad_element();
          e.value.list()->push_back(v);
        }
      } else if (type == kSet) {
        // All members at once, as SADD and RESTORE add them: an intset is built at its final
        // size in one step (Set::add_all) instead of growing a member at a time.
        e.value.make_set();
        members.clear();
        for (std::uint64_t i = 0; i < n; ++i) {
          std::string_view v;
          if (!in.str(v)) return bad_element();
          members.push_back(v);  // a view of the snapshot's bytes, alive until the load ends
        }
        e.value.set()->add_all(members);
      } else {
        e.value.make_zset();
        for (std::uint64_t i = 0; i < n; ++i) {
          std::string_view m;
          std::uint64_t bits = 0;
          if (!in.str(m) || !in.u64(bits)) return bad_element();
          double score = 0;
          std::memcpy(&score, &bits, sizeof score);
          if (std::isnan(score)) return bad_element();  // the skip list's order needs numbers
          e.value.zset()->set(m, score);
        }
      }
    }
    if (at >= 0) p.set_expire(key, e, at);
    ++out.keys;
  }
  std::uint64_t count = 0;
  if (!in.u64(count)) return bad("cut short");
  if (count != out.keys) return bad("record count mismatch");
  const std::size_t body = in.pos();
  std::uint64_t sum = 0;
  if (!in.u64(sum)) return bad("cut short");
  if (XXH3_64bits(b.data(), body) != sum) return bad("checksum mismatch");
  out.bytes = in.pos();
  return out;
}

lf::Result<SnapshotLoad> load_snapshot(const std::string& path, Databases& ks) {
  std::string b;
  {
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (f == nullptr) {
      if (errno == ENOENT) return SnapshotLoad{};
      return lf::Status::from_errno("open " + path);
    }
    char buf[1 << 16];
    std::size_t n = 0;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) b.append(buf, n);
    std::fclose(f);
  }
  auto r = load_snapshot_bytes(b, ks, path);
  if (r.ok() && r->bytes != b.size()) {
    return lf::Status::error("snapshot " + path + " is damaged (bytes after its end); move it away "
                             "to start without it");
  }
  return r;
}

namespace {
// One container as commands of at most kChunk elements after the head (HSET key f v ...,
// RPUSH key e ...), so no single log record is huge.
class Chunked {
 public:
  Chunked(std::string& out, std::initializer_list<std::string_view> head)
      : out_(out), args_(head), head_(head.size()) {}
  Chunked(const Chunked&) = delete;
  Chunked& operator=(const Chunked&) = delete;
  ~Chunked() { flush(); }
  template <typename... S>
  void add(const S&... parts) {
    (args_.push_back(parts), ...);
    if (args_.size() >= head_ + kChunk) flush();
  }

 private:
  static constexpr std::size_t kChunk = 1024;
  void flush() {
    if (args_.size() > head_) encode_command(out_, args_);
    args_.resize(head_);
  }
  std::string& out_;
  std::vector<std::string_view> args_;
  std::size_t head_;
};
}  // namespace

lf::Status write_log_base(const Databases& dbs, const std::string& path, std::int64_t now_ms,
                          bool snapshot_preamble, int key_delay_us,
                          const std::vector<std::string>& libraries) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return lf::Status::from_errno("open " + path);
  if (snapshot_preamble) {
    std::uint64_t n = 0;
    lf::Status st = write_snapshot_body(dbs, fd, now_ms, n, path, key_delay_us, libraries);
    if (!st.ok()) {
      ::close(fd);
      return st;
    }
    return sync_and_close(fd, path);
  }
  SnapshotOut out(fd);
  std::string rec;
  KeyDelay delay(key_delay_us);
  for (const std::string& code : libraries) {
    rec.clear();
    encode_command(rec, {"FUNCTION", "LOAD", code});
    out.bytes(rec.data(), rec.size());
  }
  for (std::uint32_t d = 0; d < dbs.count(); ++d) {
    const Keyspace& ks = dbs.db(d);
    if (ks.size() == 0) continue;
    rec.clear();
    const std::string index = std::to_string(d);
    encode_command(rec, {"SELECT", index});
    out.bytes(rec.data(), rec.size());
    for (std::uint32_t c = 0; c < ks.colors(); ++c) {
      const Partition& p = ks.at(c);
      for (const auto& [key, e] : p.map()) {
        if (p.past(e, now_ms)) continue;
        rec.clear();
        const std::int64_t at_ms = p.expire_at(e);
        switch (e.value.type()) {
          case Type::kString:
            if (at_ms >= 0) {
              const std::string at = std::to_string(at_ms);
              encode_command(rec, {"SET", key, e.value.str(), "PXAT", at});
            } else {
              encode_command(rec, {"SET", key, e.value.str()});
            }
            break;
          case Type::kHash: {
            Chunked cmd(rec, {"HSET", key});
            for (const auto& [f, v] : *e.value.hash()) cmd.add(f, v);
            break;
          }
          case Type::kList: {
            Chunked cmd(rec, {"RPUSH", key});
            for (std::string_view v : *e.value.list()) cmd.add(v);
            break;
          }
          case Type::kSet: {
            // Declared before `cmd`, whose destructor writes the views into them; never
            // reallocated.
            std::vector<Set::Member> members(e.value.set()->begin(), e.value.set()->end());
            Chunked cmd(rec, {"SADD", key});
            for (const Set::Member& m : members) cmd.add(m.view());
            break;
          }
          case Type::kZSet: {
            // Declared before `cmd`, whose destructor writes the views into these.
            std::vector<std::string> scores;
            scores.reserve(e.value.zset()->size());
            Chunked cmd(rec, {"ZADD", key});
            for (ZSet::Ref z = e.value.zset()->first(); z; z = z.next()) {
              scores.push_back(format_score(z.score()));
            }
            std::size_t i = 0;
            for (ZSet::Ref z = e.value.zset()->first(); z; z = z.next()) {
              cmd.add(std::string_view(scores[i++]), std::string_view(z.member()));
            }
            break;
          }
          case Type::kStream:
            stream::rewrite_commands(key, *e.value.stream(), rec);
            break;
        }
        if (e.value.type() != Type::kString && at_ms >= 0) {
          const std::string at = std::to_string(at_ms);
          encode_command(rec, {"PEXPIREAT", key, at});
        }
        out.bytes(rec.data(), rec.size());
        delay.after_key();
      }
    }
  }
  if (!out.drain()) {
    ::close(fd);
    return lf::Status::error("writing " + path + ": " + std::strerror(out.error()));
  }
  return sync_and_close(fd, path);
}

namespace {

// The pid in a name made of prefix, decimal pid, suffix; -1 for any other name.
pid_t pid_in_name(std::string_view name, std::string_view prefix, std::string_view suffix) {
  if (name.size() <= prefix.size() + suffix.size() || !name.starts_with(prefix) ||
      !name.ends_with(suffix)) {
    return -1;
  }
  const std::string_view digits = name.substr(prefix.size(), name.size() - prefix.size() - suffix.size());
  pid_t pid = 0;
  auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), pid);
  return ec == std::errc() && p == digits.data() + digits.size() && pid > 0 ? pid : -1;
}

// Whether `pid` is another lfdb-server (or redis-server) still running: its save may be under way. A zombie (a
// killed child not reaped yet) runs nothing.
bool another_live_server(pid_t pid) {
  if (pid == ::getpid()) return false;
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");  // "pid (comm) state ..."
  std::string stat;
  if (!std::getline(f, stat)) return false;
  const std::size_t open = stat.find('('), close = stat.rfind(')');
  if (open == std::string::npos || close == std::string::npos || close + 2 >= stat.size()) return false;
  const std::string_view comm(stat.data() + open + 1, close - open - 1);
  const char state = stat[close + 2];
  // redis-server too: its snapshot's temporary file has the same name.
  return (comm.starts_with("lfdb-server") || comm.starts_with("redis-server")) && state != 'Z' &&
         state != 'X';
}

}  // namespace

std::vector<std::string> remove_stale_temp_files(const std::string& dir) {
  std::vector<std::string> removed;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    pid_t pid = pid_in_name(name, kSnapshotTempPrefix, kSnapshotTempSuffix);
    if (pid < 0) pid = pid_in_name(name, kRewriteTempPrefix, kLogTempSuffix);
    if (pid < 0) pid = pid_in_name(name, kResyncTempPrefix, kLogTempSuffix);
    if (pid < 0 || another_live_server(pid)) continue;
    if (::unlink(entry.path().c_str()) == 0) removed.push_back(entry.path().string());
  }
  return removed;
}

}  // namespace lfdb::db
