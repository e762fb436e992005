#include "db/monitor.hpp"

#include <sys/time.h>

#include <cstdio>

#include "commands/command_table.hpp"

namespace lfdb::db {
namespace {

// An argument as Redis quotes it: printable bytes as they are, \" \\ \n \r \t \a \b escaped,
// other bytes as \xHH.
void append_quoted(std::string& s, std::string_view a) {
  s += '"';
  for (unsigned char ch : a) {
    switch (ch) {
      case '\\': s += "\\\\"; break;
      case '"': s += "\\\""; break;
      case '\n': s += "\\n"; break;
      case '\r': s += "\\r"; break;
      case '\t': s += "\\t"; break;
      case '\a': s += "\\a"; break;
      case '\b': s += "\\b"; break;
      default:
        if (ch >= 0x20 && ch < 0x7f) {
          s += static_cast<char>(ch);
        } else {
          char hex[8];
          std::snprintf(hex, sizeof hex, "\\x%02x", ch);
          s += hex;
        }
    }
  }
  s += '"';
}

// How many arguments from the start stay visible: AUTH shows none, HELLO up to its AUTH.
std::size_t visible_args(std::span<const std::string_view> argv) {
  if (argv.empty()) return 0;
  if (commands::iequal(argv[0], "auth")) return 1;
  if (commands::iequal(argv[0], "hello")) {
    for (std::size_t i = 1; i < argv.size(); ++i) {
      if (commands::iequal(argv[i], "auth")) return i + 1;
    }
  }
  return argv.size();
}

}  // namespace

void MonitorFeed::add(std::uint64_t client_id, std::shared_ptr<lf::Outbox> box) {
  lf::MutexLock lock(mu_);
  monitors_.emplace_back(client_id, std::move(box));
  count_.store(monitors_.size(), std::memory_order_relaxed);
}

void MonitorFeed::remove(std::uint64_t client_id) {
  lf::MutexLock lock(mu_);
  std::erase_if(monitors_, [&](const auto& m) { return m.first == client_id; });
  count_.store(monitors_.size(), std::memory_order_relaxed);
}

std::string MonitorFeed::line(std::int64_t sec, std::int64_t usec, std::uint32_t db,
                              std::string_view addr, std::span<const std::string_view> argv) {
  char head[64];
  std::snprintf(head, sizeof head, "%lld.%06lld [%u ", static_cast<long long>(sec),
                static_cast<long long>(usec), db);
  std::string s = head;
  s += addr;
  s += ']';
  const std::size_t shown = visible_args(argv);
  for (std::size_t i = 0; i < argv.size(); ++i) {
    s += ' ';
    if (i < shown) append_quoted(s, argv[i]);
    else s += "\"(redacted)\"";
  }
  return s;
}

void MonitorFeed::feed(std::uint32_t db, std::string_view addr,
                       std::span<const std::string_view> argv) {
  if (!any()) return;
  timeval tv{};
  ::gettimeofday(&tv, nullptr);
  std::string text = "+" + line(tv.tv_sec, tv.tv_usec, db, addr, argv) + "\r\n";
  const lf::Frame frame = lf::make_immutable<std::string>(std::move(text));
  lf::MutexLock lock(mu_);
  for (auto& [id, box] : monitors_) (void)box->post(frame);
}

}  // namespace lfdb::db
