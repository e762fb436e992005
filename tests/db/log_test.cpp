// The append-only log's pieces without a server: the loader over every prefix of a log, its
// corruption reports, and AppendLog's group commit under concurrent writers.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "db/append_log.hpp"
#include "db/log_loader.hpp"
#include "db/log_records.hpp"

namespace lfdb::db {
namespace {

// Applies by recording the command, so a test can compare what was applied.
struct Recorder {
  std::vector<std::string> applied;
  ApplyLogged fn() {
    return [this](std::span<const std::string_view> argv, bool check) -> lf::Status {
      if (argv[0] == "BAD") return lf::Status::error("unknown command 'BAD'");
      if (!check) {
        std::string s;
        for (auto a : argv) s += std::string(a) + " ";
        applied.push_back(s);
      }
      return lf::Status();
    };
  }
};

std::string sample_log(std::vector<std::size_t>& boundaries) {
  std::string log;
  auto mark = [&] { boundaries.push_back(log.size()); };
  mark();
  encode_command(log, {"SET", "a", "1"});
  mark();
  encode_command(log, {"MULTI"});
  encode_command(log, {"INCR", "b"});
  encode_command(log, {"HSET", "h", "f", "v"});
  encode_command(log, {"EXEC"});
  mark();
  encode_command(log, {"DEL", "a"});
  mark();
  return log;
}

TEST(LogLoader, EveryPrefixLoadsWholeRecordsOnly) {
  std::vector<std::size_t> boundaries;
  const std::string log = sample_log(boundaries);
  for (std::size_t cut = 0; cut <= log.size(); ++cut) {
    Recorder r;
    auto res = load_log(std::string_view(log).substr(0, cut), {}, r.fn());
    ASSERT_TRUE(res.ok()) << cut << ": " << res.status().message();
    // The valid prefix is the last record boundary at or before the cut.
    std::size_t expect = 0;
    for (std::size_t b : boundaries) {
      if (b <= cut) expect = b;
    }
    EXPECT_EQ(res->valid_bytes, expect) << "cut at " << cut;
    EXPECT_EQ(res->warning.empty(), expect == cut) << "cut at " << cut;
    // A transaction is applied whole or not at all.
    const std::size_t n = r.applied.size();
    EXPECT_TRUE(n == 0 || n == 1 || n == 3 || n == 4) << "cut at " << cut << ": " << n;
  }
}

TEST(LogLoader, TornTailRefusedWhenAsked) {
  std::vector<std::size_t> b;
  const std::string log = sample_log(b);
  Recorder r;
  LogLoadOptions o;
  o.load_truncated = false;
  auto res = load_log(std::string_view(log).substr(0, log.size() - 2), o, r.fn());
  ASSERT_FALSE(res.ok());
  EXPECT_NE(res.status().message().find("ends in the middle of a command"), std::string::npos);
}

TEST(LogLoader, CorruptionInTheMiddleNamesTheOffset) {
  std::vector<std::size_t> b;
  std::string log = sample_log(b);
  log[b[2]] = '#';  // the DEL record no longer starts with '*'
  Recorder r;
  auto res = load_log(log, {}, r.fn());
  ASSERT_FALSE(res.ok());
  EXPECT_NE(res.status().message().find("at offset " + std::to_string(b[2])), std::string::npos)
      << res.status().message();
  LogLoadOptions o;
  o.load_corrupt = true;
  Recorder r2;
  auto res2 = load_log(log, o, r2.fn());
  ASSERT_TRUE(res2.ok());
  EXPECT_EQ(res2->valid_bytes, b[2]);
  EXPECT_EQ(r2.applied.size(), 3u);
}

TEST(LogLoader, UnknownCommandInATransactionAppliesNoneOfIt) {
  std::string log;
  encode_command(log, {"MULTI"});
  encode_command(log, {"SET", "a", "1"});
  encode_command(log, {"BAD"});
  encode_command(log, {"EXEC"});
  Recorder r;
  LogLoadOptions o;
  o.load_corrupt = true;
  auto res = load_log(log, o, r.fn());
  ASSERT_TRUE(res.ok());
  EXPECT_EQ(res->valid_bytes, 0u);
  EXPECT_TRUE(r.applied.empty());
}

// An empty count followed by an inline command (found by the fuzzer): the request parser would
// take the inline command, its arguments spliced into the parser's own buffer, which the next
// record overwrites while a MULTI block still pointed into it. The loader calls it corrupt.
TEST(LogLoader, EmptyCountThenInlineIsCorruptNotACommand) {
  for (const std::string bad : {"*0\r\nSET \"a\\x41\" 1\r\n", "*-1\r\nSET a 1\r\n"}) {
    std::string log;
    encode_command(log, {"MULTI"});
    encode_command(log, {"SET", "x", "1"});
    const std::size_t at = log.size();
    log += bad;
    encode_command(log, {"SET", "y", "2"});
    encode_command(log, {"EXEC"});
    Recorder r;
    auto res = load_log(log, {}, r.fn());
    ASSERT_FALSE(res.ok());
    EXPECT_NE(res.status().message().find("at offset " + std::to_string(at) + " "), std::string::npos)
        << res.status().message();
    EXPECT_NE(res.status().message().find("empty record"), std::string::npos) << res.status().message();
    EXPECT_TRUE(r.applied.empty());
  }
}

class TempFile {
 public:
  TempFile() {
    char tmpl[] = "/tmp/lfdb-log-test-XXXXXX";
    const int fd = ::mkstemp(tmpl);
    ::close(fd);
    path_ = tmpl;
  }
  ~TempFile() { std::remove(path_.c_str()); }
  const std::string& path() const { return path_; }
  std::string read() const {
    std::ifstream f(path_, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
  }

 private:
  std::string path_;
};

struct CountingWaiter : CommitWaiter {
  std::atomic<int> calls{0};
  std::atomic<bool> ok{false};
  void committed(bool v) override {
    ok = v;
    calls.fetch_add(1);
  }
};

TEST(AppendLog, GroupCommitCoversEveryWriterOnce) {
  TempFile f;
  auto log = AppendLog::open(f.path(), FsyncPolicy::kAlways);
  ASSERT_TRUE(log.ok());
  constexpr int kThreads = 8, kPerThread = 200;
  std::vector<std::thread> ts;
  std::vector<CountingWaiter> waiters(kThreads * kPerThread);
  std::atomic<int> immediate{0};
  for (int t = 0; t < kThreads; ++t) {
    ts.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        std::string rec;
        encode_command(rec, {"SET", "k" + std::to_string(t), std::to_string(i)});
        const std::uint64_t off = (*log)->append_verbatim(rec);
        bool ok = false;
        CountingWaiter& w = waiters[t * kPerThread + i];
        if ((*log)->commit_or_wait(off, &w, ok)) {
          EXPECT_TRUE(ok);
          immediate.fetch_add(1);
          w.calls.fetch_add(1);
          w.ok = true;
        }
      }
    });
  }
  for (auto& t : ts) t.join();
  ASSERT_TRUE((*log)->sync_all().ok());
  for (const auto& w : waiters) {
    EXPECT_EQ(w.calls.load(), 1);
    EXPECT_TRUE(w.ok.load());
  }
  const AppendLogStats s = (*log)->stats();
  EXPECT_EQ(s.records, static_cast<std::uint64_t>(kThreads * kPerThread));
  EXPECT_LE(s.fsyncs, s.records);
  // Every record is in the file, each exactly once, in each writer's order.
  Recorder r;
  const std::string bytes = f.read();
  EXPECT_EQ(bytes.size(), s.size);
  auto res = load_log(bytes, {}, r.fn());
  ASSERT_TRUE(res.ok());
  EXPECT_EQ(r.applied.size(), static_cast<std::size_t>(kThreads * kPerThread));
  std::vector<int> next(kThreads, 0);
  for (const std::string& a : r.applied) {
    int t = 0, i = 0;
    ASSERT_EQ(std::sscanf(a.c_str(), "SET k%d %d", &t, &i), 2) << a;
    EXPECT_EQ(i, next[t]++);
  }
}

// As Redis's AOF: a SELECT goes before a record only when the log's last record was for another
// database; the first record of a freshly opened log, and the first after a rewrite started or
// a replica began reading, always says its database.
TEST(AppendLog, SelectOnlyWhenTheDatabaseChanges) {
  TempFile f;
  auto log = AppendLog::open(f.path(), FsyncPolicy::kNo);
  ASSERT_TRUE(log.ok());
  std::string set, two_dbs;
  encode_command(set, {"SET", "a", "1"});
  (*log)->append(set, 0, 0);
  (*log)->append(set, 0, 0);
  (*log)->append(set, 3, 3);
  // Records that SELECT inside (a script): the log stands in their last database after them.
  encode_command(two_dbs, {"SET", "a", "1"});
  encode_command(two_dbs, {"SELECT", "5"});
  encode_command(two_dbs, {"SET", "b", "2"});
  (*log)->append(two_dbs, 3, 5);
  (*log)->append(set, 5, 5);
  (*log)->forget_db();
  (*log)->append(set, 5, 5);
  (*log)->append_verbatim(set);
  (*log)->append(set, 5, 5);
  ASSERT_TRUE((*log)->sync_all().ok());
  Recorder r;
  auto res = load_log(f.read(), {}, r.fn());
  ASSERT_TRUE(res.ok());
  const std::vector<std::string> want = {
      "SELECT 0 ", "SET a 1 ", "SET a 1 ", "SELECT 3 ", "SET a 1 ", "SET a 1 ", "SELECT 5 ",
      "SET b 2 ",  "SET a 1 ", "SELECT 5 ", "SET a 1 ", "SET a 1 ", "SELECT 5 ", "SET a 1 "};
  EXPECT_EQ(r.applied, want);
}

TEST(AppendLog, FailedWriteFailsWaitersKeepsBytesAndRecovers) {
  TempFile f;
  auto log = AppendLog::open(f.path(), FsyncPolicy::kAlways);
  ASSERT_TRUE(log.ok());
  std::string rec;
  encode_command(rec, {"SET", "a", "1"});
  bool ok = false;
  CountingWaiter first, w;
  // Nobody else flushes: this thread is elected and commits itself before returning.
  EXPECT_FALSE((*log)->commit_or_wait((*log)->append_verbatim(rec), &first, ok));
  EXPECT_EQ(first.calls.load(), 1);
  EXPECT_TRUE(first.ok.load());
  (*log)->inject_fault(/*writes=*/true, /*fsyncs=*/false);
  const std::uint64_t off = (*log)->append_verbatim(rec);
  const bool done = (*log)->commit_or_wait(off, &w, ok);
  // The flush ran on this thread and failed us (through the waiter, before we returned).
  EXPECT_FALSE(done);
  EXPECT_EQ(w.calls.load(), 1);
  EXPECT_FALSE(w.ok.load());
  EXPECT_TRUE((*log)->failing());
  EXPECT_EQ((*log)->write_error(), "Input/output error");
  EXPECT_EQ(f.read(), rec);  // the partial write was cut off
  // Later commits fail at once while the disk is failing.
  EXPECT_TRUE((*log)->commit_or_wait((*log)->append_verbatim(rec), &w, ok));
  EXPECT_FALSE(ok);
  (*log)->inject_fault(false, false);
  (*log)->tick();  // the retry
  EXPECT_FALSE((*log)->failing());
  EXPECT_EQ(f.read(), rec + rec + rec);
}

}  // namespace
}  // namespace lfdb::db
