// The append log's sealed segments: contiguous, in order, equal to the file, each ending on an
// appended invocation's boundary; under appendfsync always only after the fsync.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "db/append_log.hpp"
#include "db/log_records.hpp"
#include "lf/mutex.hpp"

namespace lfdb::db {
namespace {

struct Collected {
  lf::Mutex mu;
  std::vector<std::pair<std::uint64_t, std::string>> segments LF_GUARDED_BY(mu);
  SegmentSink sink() {
    return [this](std::uint64_t start, std::string_view bytes) {
      lf::MutexLock lock(mu);
      segments.emplace_back(start, std::string(bytes));
    };
  }
  std::vector<std::pair<std::uint64_t, std::string>> taken() {
    lf::MutexLock lock(mu);
    return segments;
  }
};

std::string temp_path() {
  char tmpl[] = "/tmp/lfdb-sealed-XXXXXX";
  const int fd = ::mkstemp(tmpl);
  ::close(fd);
  return tmpl;
}

std::string file_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

TEST(SealedSegments, ContiguousInOrderAndOnInvocationBoundaries) {
  const std::string path = temp_path();
  auto log = AppendLog::open(path, FsyncPolicy::kEverySec);
  ASSERT_TRUE(log.ok());
  Collected c;
  (*log)->set_segment_sink(c.sink());
  lf::Mutex ends_mu;
  std::set<std::uint64_t> ends;  // every invocation's end offset
  std::vector<std::thread> writers;
  for (int w = 0; w < 4; ++w) {
    writers.emplace_back([&, w] {
      for (int i = 0; i < 500; ++i) {
        std::string rec;
        if (i % 3 == 0) {
          encode_command(rec, {"MULTI"});
          encode_command(rec, {"INCR", "k" + std::to_string(w)});
          encode_command(rec, {"EXEC"});
        } else {
          encode_command(rec, {"SET", "k" + std::to_string(w), std::to_string(i)});
        }
        const std::uint64_t end = (*log)->append_verbatim(rec);
        {
          lf::MutexLock lock(ends_mu);
          ends.insert(end);
        }
        (*log)->write_pending();
      }
    });
  }
  for (auto& t : writers) t.join();
  ASSERT_TRUE((*log)->sync_all().ok());
  const auto segs = c.taken();
  ASSERT_FALSE(segs.empty());
  std::uint64_t at = 0;
  std::string all;
  lf::MutexLock lock(ends_mu);
  for (const auto& [start, bytes] : segs) {
    EXPECT_EQ(start, at) << "a gap or overlap between sealed segments";
    at = start + bytes.size();
    EXPECT_TRUE(ends.count(at)) << "a segment ends inside an invocation, at " << at;
    all += bytes;
  }
  EXPECT_EQ(at, (*log)->appended());
  EXPECT_EQ(all, file_bytes(path));
  ::unlink(path.c_str());
}

TEST(SealedSegments, UnderAlwaysNothingIsSealedBeforeItsFsync) {
  const std::string path = temp_path();
  auto log = AppendLog::open(path, FsyncPolicy::kAlways);
  ASSERT_TRUE(log.ok());
  Collected c;
  (*log)->set_segment_sink(c.sink());
  std::string rec;
  encode_command(rec, {"SET", "a", "1"});
  (*log)->append_verbatim(rec);
  EXPECT_TRUE(c.taken().empty());
  ASSERT_TRUE((*log)->sync_all().ok());  // write + fsync
  const auto segs = c.taken();
  ASSERT_EQ(segs.size(), 1u);
  EXPECT_EQ(segs[0].first, 0u);
  EXPECT_EQ(segs[0].second, rec);
  ::unlink(path.c_str());
}

TEST(SealedSegments, AFailedWriteSealsNothingUntilTheRetryWorks) {
  const std::string path = temp_path();
  auto log = AppendLog::open(path, FsyncPolicy::kEverySec);
  ASSERT_TRUE(log.ok());
  Collected c;
  (*log)->set_segment_sink(c.sink());
  std::string rec;
  encode_command(rec, {"SET", "a", "1"});
  (*log)->inject_fault(/*writes=*/true, /*fsyncs=*/false);
  (*log)->append_verbatim(rec);
  (*log)->write_pending();
  EXPECT_TRUE((*log)->failing());
  EXPECT_TRUE(c.taken().empty());
  (*log)->inject_fault(false, false);
  (*log)->tick();  // the retry
  const auto segs = c.taken();
  ASSERT_EQ(segs.size(), 1u);
  EXPECT_EQ(segs[0].second, rec);
  EXPECT_EQ(file_bytes(path), rec);
  ::unlink(path.c_str());
}

}  // namespace
}  // namespace lfdb::db
