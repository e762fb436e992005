#include "db/replication_wait.hpp"

#include <chrono>

#include "db/replication.hpp"
#include "db/server.hpp"
#include "db/session.hpp"

namespace lfdb::db {

void AckWaits::add(const std::shared_ptr<blocking::Waiter>& w, std::uint64_t offset,
                   std::int64_t needed) {
  std::lock_guard<std::mutex> lock(mu_);
  if (stopping_) {
    if (w->claim()) {
      w->close = true;
      w->finish();
    }
    return;
  }
  entries_.push_back({w, offset, needed});
  by_client_[w->client_id] = Entry{w, offset, needed};
  parked_.fetch_add(1, std::memory_order_relaxed);
  if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
  cv_.notify_one();
}

void AckWaits::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    cv_.notify_one();
  }
  if (thread_.joinable()) thread_.join();
}

bool AckWaits::settle(std::uint64_t client_id, blocking::Settle how) {
  Entry e{};
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = by_client_.find(client_id);
    if (it == by_client_.end()) return false;
    e = std::move(it->second);
    by_client_.erase(it);
  }
  // The timer thread drops it from entries_ once it sees it settled.
  if (!e.waiter->claim()) return false;
  parked_.fetch_sub(1, std::memory_order_relaxed);
  resp::Writer out(e.waiter->reply, e.waiter->protocol);
  switch (how) {
    case blocking::Settle::kTimeout:
      out.integer(static_cast<std::int64_t>(repl_.replicas_acked(e.offset)));
      break;
    case blocking::Settle::kError:
      out.error("UNBLOCKED client unblocked via CLIENT UNBLOCK");
      break;
    case blocking::Settle::kClose:
      e.waiter->close = true;
      break;
  }
  blocking::note_woken(std::move(e.waiter));
  return true;
}

void AckWaits::run() {
  std::vector<std::shared_ptr<blocking::Waiter>> settled;
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    if (entries_.empty() && !stopping_) cv_.wait(lock, [&] { return stopping_ || !entries_.empty(); });
    const bool stopping = stopping_;
    std::vector<Entry> now = std::move(entries_);
    entries_.clear();
    lock.unlock();
    std::vector<Entry> keep;
    const std::int64_t t = now_ms();
    for (Entry& e : now) {
      if (!e.waiter->waiting()) continue;  // settled by CLIENT UNBLOCK / KILL: dropped
      keep.push_back(std::move(e));
    }
    now.swap(keep);
    keep.clear();
    for (Entry& e : now) {
      const std::int64_t acked = static_cast<std::int64_t>(repl_.replicas_acked(e.offset));
      const bool due = e.waiter->deadline_ms != 0 && t >= e.waiter->deadline_ms;
      if (!stopping && acked < e.needed && !due) {
        keep.push_back(std::move(e));
        continue;
      }
      if (!e.waiter->claim()) continue;  // CLIENT UNBLOCK / KILL settled it
      parked_.fetch_sub(1, std::memory_order_relaxed);
      settled.push_back(e.waiter);
      e.waiter->reply = ":" + std::to_string(acked) + "\r\n";
      e.waiter->close = stopping;
      e.waiter->finish();  // may carry the connection on: nothing of it touched after
    }
    lock.lock();
    for (const auto& w : settled) {
      auto it = by_client_.find(w->client_id);
      if (it != by_client_.end() && it->second.waiter == w) by_client_.erase(it);
    }
    settled.clear();
    if (stopping) return;
    for (Entry& e : keep) entries_.push_back(std::move(e));
    if (!entries_.empty()) cv_.wait_for(lock, std::chrono::milliseconds(5));
  }
}

void wait_cmd(SessionContext& c) {
  if (c.server.replication().is_replica()) {
    return c.out.error(
        "ERR WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if "
        "a replica is configured to be writable (which is not the default) writes to replicas are "
        "just local and are not propagated.");
  }
  std::int64_t needed = 0, timeout = 0;
  if (!parse_int(c.argv[1], needed)) return c.out.error("ERR value is not an integer or out of range");
  if (!parse_int(c.argv[2], timeout)) return c.out.error("ERR timeout is not an integer or out of range");
  if (timeout < 0) return c.out.error("ERR timeout is negative");
  const std::uint64_t offset = c.client.write_offset;
  const auto acked = static_cast<std::int64_t>(c.server.replication().replicas_acked(offset));
  // Inside MULTI it cannot wait: it answers with what is acknowledged now, as Redis does.
  if (acked >= needed || c.client.in_exec) return c.out.integer(acked);
  auto w = std::make_shared<blocking::Waiter>();
  w->op = blocking::Op::kWait;
  w->client_id = c.client.id;
  w->protocol = c.client.protocol;
  w->deadline_ms = timeout == 0 ? 0 : now_ms() + timeout;
  c.session.park_on(w);  // the session parks once this handler returns
  c.server.acks().add(w, offset, needed);
}

}  // namespace lfdb::db
