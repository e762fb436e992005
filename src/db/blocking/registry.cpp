#include "db/blocking/registry.hpp"

#include <poll.h>
#include <pthread.h>

#include <algorithm>
#include <chrono>
#include <cstring>

#include "commands/command_table.hpp"
#include "db/blocking/pop.hpp"
#include "db/server.hpp"
#include "db/stream/read.hpp"

namespace lfdb::db::blocking {
namespace {

// One key's queue in its color's room: the database and the key.
std::string wait_key(std::uint32_t db, std::string_view key) {
  std::string k(reinterpret_cast<const char*>(&db), sizeof db);
  k.append(key);
  return k;
}

// The peer has gone (or half-closed): it must not be handed an element it will never read.
bool hung_up(int fd) {
  if (fd < 0) return false;
  pollfd p{fd, POLLRDHUP, 0};
  return ::poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)) != 0;
}

Request request_of(const Waiter& w) {
  Request r;
  r.op = w.op;
  r.left = w.left;
  r.to_left = w.to_left;
  r.count = w.count;
  r.dest = w.dest;
  return r;
}

thread_local std::vector<std::shared_ptr<Waiter>> t_woken;

}  // namespace

bool HeldColors::has(std::uint32_t c) const {
  return all || std::find(colors.begin(), colors.end(), c) != colors.end();
}

void note_woken(std::shared_ptr<Waiter> w) { t_woken.push_back(std::move(w)); }

void wake_pending() {
  while (!t_woken.empty()) {
    std::vector<std::shared_ptr<Waiter>> now;
    now.swap(t_woken);
    // Each finish() may carry a connection on, here, and its commands may serve more clients.
    for (auto& w : now) w->finish();
  }
}

Registry::Registry(Server& server) : server_(server), rooms_(server.databases().colors()) {}

Registry::~Registry() { stop(); }

void Registry::start() {
  timer_ = std::thread([this] { run_timer(); });
  // Named here, not by the thread itself: the name (top -H, /proc/<pid>/task/*/comm) is then
  // there before the server serves anyone, however late the new thread first runs.
  pthread_setname_np(timer_.native_handle(), "lfdb-blocking");
}

void Registry::stop() {
  std::vector<std::shared_ptr<Waiter>> all;
  {
    lf::MutexLock lock(mu_);
    stopping_ = true;
    for (auto& [id, w] : by_client_) all.push_back(w);
    by_client_.clear();
    cv_.notify_all();
  }
  if (timer_.joinable()) timer_.join();
  for (auto& w : all) {
    if (!w->claim()) continue;
    w->close = true;
    settled(*w);
    w->finish();
  }
}

void Registry::add(const std::shared_ptr<Waiter>& w) {
  Keyspace& ks = server_.db(w->db);  // a key's color is the same in every database
  for (const std::string& key : w->keys) {
    Queue& q = rooms_[ks.color_of_key(key)].queues[wait_key(w->db, key)];
    if (q.empty()) keys_.fetch_add(1, std::memory_order_relaxed);
    q.push_back(w);
  }
  blocked_.fetch_add(1, std::memory_order_acq_rel);
  index(w);
}

void Registry::remove(const Waiter& w) {
  Keyspace& ks = server_.db(w.db);
  for (const std::string& key : w.keys) {
    Room& room = rooms_[ks.color_of_key(key)];
    auto it = room.queues.find(wait_key(w.db, key));
    if (it == room.queues.end()) continue;
    Queue& q = it->second;
    q.erase(std::remove_if(q.begin(), q.end(), [&](const auto& p) { return p.get() == &w; }),
            q.end());
    if (q.empty()) {
      room.queues.erase(it);
      keys_.fetch_sub(1, std::memory_order_relaxed);
    }
  }
}

void Registry::index(const std::shared_ptr<Waiter>& w) {
  lf::MutexLock lock(mu_);
  if (stopping_) {
    // Shutting down: the timer is gone; settle it here so the connection closes.
    if (w->claim()) {
      w->close = true;
      settled(*w);
      note_woken(w);
    }
    return;
  }
  by_client_[w->client_id] = w;
  // The first waiter to watch for hang-ups, or a deadline before the timer's next look; any
  // other waiter is seen at that look (at most kHangupCheckMs away).
  if (timer_wake_ms_ == 0 || (w->deadline_ms != 0 && w->deadline_ms < timer_wake_ms_)) {
    cv_.notify_one();
  }
}

void Registry::settled(Waiter& w) {
  blocked_.fetch_sub(1, std::memory_order_acq_rel);
  if (w.close) w.reply.clear();
}

bool Registry::settle(std::uint64_t client_id, Settle how) {
  std::shared_ptr<Waiter> w;
  {
    lf::MutexLock lock(mu_);
    auto it = by_client_.find(client_id);
    if (it == by_client_.end()) return false;
    w = it->second;
    by_client_.erase(it);
  }
  if (!w->claim()) return false;
  resp::Writer out(w->reply, w->protocol);
  switch (how) {
    case Settle::kTimeout:
      write_timeout(out, w->op);
      break;
    case Settle::kError:
      out.error("UNBLOCKED client unblocked via CLIENT UNBLOCK");
      break;
    case Settle::kClose:
      w->close = true;
      break;
  }
  settled(*w);
  note_woken(std::move(w));  // the caller wakes it once it holds nothing (wake_pending)
  return true;
}

void Registry::forget(const std::shared_ptr<Waiter>& w) {
  if (w->served_from_key && w->keys.size() == 1) return;  // its only entry went when served
  Executor& ex = server_.executor();
  std::vector<std::uint64_t> hashes;
  for (const std::string& k : w->keys) hashes.push_back(commands::key_hash(k));
  const Invocation inv{ex.hue_of(commands::HueClass::kKeyWrite), Placement::kKeys, hashes};
  (void)ex.submit(inv, lf::hue::Task([this, w] { remove(*w); }));
}

std::vector<std::string> Registry::waited_keys(std::uint32_t db) const {
  std::vector<std::string> keys;
  for (const Room& room : rooms_) {
    for (const auto& [k, q] : room.queues) {
      std::uint32_t in = 0;
      std::memcpy(&in, k.data(), sizeof in);
      if (in == db && !q.empty()) keys.push_back(k.substr(sizeof in));
    }
  }
  return keys;
}

void Registry::serve(std::span<const std::string_view> keys, std::uint32_t db,
                     const HeldColors& held, std::int64_t now_ms) {
  Keyspace& ks = server_.db(db);
  // A write that ran alone without keys (FLUSHALL, FLUSHDB, SWAPDB) may have taken any stream
  // from under its group readers: each is looked at.
  if (keys.empty() && held.all) sweep_stream_groups(now_ms);
  std::vector<std::string> todo(keys.begin(), keys.end());
  std::string records;
  AppendLog* log = server_.record_log();
  const std::size_t first_woken = t_woken.size();
  for (std::size_t t = 0; t < todo.size(); ++t) {
    const std::string key = todo[t];
    Room& room = rooms_[ks.color_of_key(key)];
    auto it = room.queues.find(wait_key(db, key));
    if (it == room.queues.end()) continue;
    Queue& q = it->second;
    for (std::size_t i = 0; i < q.size();) {
      std::shared_ptr<Waiter> w = q[i];
      if (!w->waiting()) {  // settled elsewhere: a leftover
        q.erase(q.begin() + static_cast<long>(i));
        continue;
      }
      if (w->op == Op::kStream) {
        serve_stream_reader(q, i, key, db, now_ms, log != nullptr ? &records : nullptr);
        continue;
      }
      const Entry* e = ks.of(key).find(key, now_ms);
      if (e == nullptr) break;
      const bool list = e->value.type() == Type::kList;
      if (list != wants_list(w->op) || (!list && e->value.type() != Type::kZSet)) {
        ++i;  // a list's waiters ignore a sorted set and the other way round
        continue;
      }
      if (w->op == Op::kMove && !held.has(ks.color_of_key(w->dest))) {
        // Its destination's color is not ours: an invocation on both serves it (and those
        // behind it on this key), queued now, ahead of anything submitted later.
        deferred_serve(db, key, w->dest);
        break;
      }
      if (!w->claim()) {
        q.erase(q.begin() + static_cast<long>(i));
        continue;
      }
      q.erase(q.begin() + static_cast<long>(i));
      if (hung_up(w->fd)) {
        w->close = true;  // gone: nothing popped for it
      } else {
        resp::Writer out(w->reply, w->protocol);
        CommandContext c{{}, out, ks, now_ms, &server_, nullptr, nullptr};
        c.db = db;
        const Popped p = pop_for(c, request_of(*w), key, log != nullptr ? &records : nullptr,
                                 /*strict=*/false);
        w->served_from_key = true;
        if (p == Popped::kServed && w->op == Op::kMove && w->dest != key) {
          todo.push_back(w->dest);  // the pushed element may serve the destination's waiters
        }
      }
      settled(*w);
      note_woken(std::move(w));
    }
    if (q.empty()) {
      room.queues.erase(it);
      keys_.fetch_sub(1, std::memory_order_relaxed);
    }
  }
  if (log != nullptr && !records.empty()) {
    const std::uint64_t at = log->append(records, db, db);  // every served pop is in `db`
    for (std::size_t i = first_woken; i < t_woken.size(); ++i) t_woken[i]->commit_offset = at;
  }
}

// A blocked XREAD / XREADGROUP reader at q[i] (db/stream/read.hpp): left waiting (i moves
// on), or claimed and answered from the stream at key, its records into `records`.
void Registry::sweep_stream_groups(std::int64_t now_ms) {
  for (Room& room : rooms_) {
    for (auto it = room.queues.begin(); it != room.queues.end();) {
      Queue& q = it->second;
      const std::string key = it->first.substr(sizeof(std::uint32_t));
      for (std::size_t i = 0; i < q.size();) {
        const std::shared_ptr<Waiter>& w = q[i];
        if (w->op != Op::kStream || w->group.empty()) {
          ++i;
          continue;
        }
        serve_stream_reader(q, i, key, w->db, now_ms, nullptr, /*errors_only=*/true);
      }
      if (q.empty()) {
        it = room.queues.erase(it);
        keys_.fetch_sub(1, std::memory_order_relaxed);
      } else {
        ++it;
      }
    }
  }
}

void Registry::serve_stream_reader(Queue& q, std::size_t& i, const std::string& key,
                                   std::uint32_t db, std::int64_t now_ms, std::string* records,
                                   bool errors_only) {
  Keyspace& ks = server_.db(db);
  std::shared_ptr<Waiter> w = q[i];
  std::string probe;
  resp::Writer probe_out(probe, w->protocol);
  CommandContext look{{}, probe_out, ks, now_ms, &server_, nullptr, nullptr};
  look.db = db;
  const stream::Blocked b = stream::blocked_state(look, *w, key);
  if (b == stream::Blocked::kWait || (errors_only && b == stream::Blocked::kReady)) {
    ++i;
    return;
  }
  q.erase(q.begin() + static_cast<long>(i));
  if (!w->claim()) return;
  w->served_from_key = true;  // out of this key's queue already
  if (hung_up(w->fd)) {
    w->close = true;  // gone: nothing delivered to it
  } else {
    resp::Writer out(w->reply, w->protocol);
    CommandContext c{{}, out, ks, now_ms, &server_, nullptr, nullptr};
    c.db = db;
    // The reader's group changes are logged with the pops of this pass, in `db`.
    const InvocationLog saved = t_invocation_log;
    t_invocation_log.records = records;
    t_invocation_log.db = db;
    stream::serve_blocked(c, *w, key, b);
    t_invocation_log = saved;
  }
  settled(*w);
  note_woken(std::move(w));
}

void Registry::deferred_serve(std::uint32_t db, std::string key, std::string dest) {
  Executor& ex = server_.executor();
  const std::uint64_t hashes[2] = {commands::key_hash(key), commands::key_hash(dest)};
  const Invocation inv{ex.hue_of(commands::HueClass::kKeyWrite), Placement::kKeys, hashes};
  struct Job {
    std::uint32_t db;
    std::string key, dest;
  };
  auto job = std::make_shared<Job>(Job{db, std::move(key), std::move(dest)});
  (void)ex.submit(inv, lf::hue::Task([this, job] {
    Keyspace& ks = server_.db(job->db);
    HeldColors held;
    held.colors = {ks.color_of_key(job->key), ks.color_of_key(job->dest)};
    const std::string_view keys[2] = {job->key, job->dest};
    serve(keys, job->db, held, now_ms());
    wake_pending();  // colors mode only queues this (global holds every color): unpark here
  }));
}

void Registry::run_timer() {
  constexpr std::int64_t kHangupCheckMs = 100;  // how soon a vanished blocked client is noticed
  for (;;) {
    std::vector<std::shared_ptr<Waiter>> timed_out, gone;
    {
      lf::MutexLock lock(mu_);
      if (stopping_) return;
      if (by_client_.empty()) {
        timer_wake_ms_ = 0;
        cv_.wait(mu_);
        continue;
      }
      const std::int64_t now = now_ms();
      std::vector<pollfd> fds;
      std::vector<std::shared_ptr<Waiter>> polled;
      std::int64_t next = now + kHangupCheckMs;
      for (auto it = by_client_.begin(); it != by_client_.end();) {
        const std::shared_ptr<Waiter>& w = it->second;
        if (!w->waiting()) {
          it = by_client_.erase(it);  // served by a writer
        } else if (w->deadline_ms != 0 && w->deadline_ms <= now) {
          timed_out.push_back(w);
          it = by_client_.erase(it);
        } else {
          if (w->deadline_ms != 0) next = std::min(next, w->deadline_ms);
          if (w->fd >= 0) {
            fds.push_back(pollfd{w->fd, POLLRDHUP, 0});
            polled.push_back(w);
          }
          ++it;
        }
      }
      if (!fds.empty() && ::poll(fds.data(), fds.size(), 0) > 0) {
        for (std::size_t i = 0; i < fds.size(); ++i) {
          if ((fds[i].revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)) == 0) continue;
          gone.push_back(polled[i]);
          by_client_.erase(polled[i]->client_id);
        }
      }
      if (timed_out.empty() && gone.empty()) {
        timer_wake_ms_ = next;
        (void)cv_.wait_until(mu_, std::chrono::system_clock::time_point(
                                      std::chrono::milliseconds(next)));
        continue;
      }
    }
    // Settled outside the lock: finish() may carry a connection on, on this thread.
    for (auto& w : timed_out) {
      if (!w->claim()) continue;
      resp::Writer out(w->reply, w->protocol);
      write_timeout(out, w->op);
      settled(*w);
      w->finish();
    }
    for (auto& w : gone) {
      if (!w->claim()) continue;
      w->close = true;
      settled(*w);
      w->finish();
    }
  }
}

}  // namespace lfdb::db::blocking
