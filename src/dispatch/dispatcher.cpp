#include "dispatch/dispatcher.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <list>
#include <memory>
#include <thread>

#include "resp/request_parser.hpp"

namespace lfdb::dispatch {

ReplicaLink::~ReplicaLink() {
  if (fd >= 0) ::close(fd);
}

namespace {

// What one segment on its way takes: its own allocation and its place in the dispatcher's
// mailbox, whose ring doubles as it fills (at most two slots per message queued past its first
// 16) and is given back once drained (lf/detail/ring_queue.hpp). Left out of eviction until the
// dispatcher takes the segment (ReplicaBytes::add_in_flight): a dispatcher a second behind held
// 4,096 to 8,192 slots, 160 to 320 KB, which eviction otherwise paid for in keys.
std::int64_t in_flight_bytes(const Segment& s) {
  return static_cast<std::int64_t>(segment_footprint(s) + 2 * sizeof(DispatcherInbox::Message));
}

std::int64_t mono_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// One replica as the dispatcher serves it.
struct Peer {
  explicit Peer(lf::Unique<ReplicaLink> l) : link(std::move(l)) {}
  enum class Stage { kWaitSnapshot, kHead, kSnapshot, kStream };
  lf::Unique<ReplicaLink> link;
  Stage stage = Stage::kHead;
  std::string head;  // the resync line (and the snapshot's bulk header)
  std::size_t sent = 0;  // of head, then of the snapshot
  std::uint64_t cursor = 0;  // the next log offset to send
  std::uint64_t acked = 0;
  std::int64_t last_ack_ms = 0;
  std::int64_t soft_since_ms = 0;  // when it went over the soft limit (0: it is not)
  std::int64_t created_mono_ms = 0;  // when the dispatcher took it (CLIENT LIST's age)
  bool blocked = false;  // the socket took less than offered: retry soon
  bool redis = false;    // SYNC / PSYNC: gets PINGs, its offsets count them
  std::uint64_t ping_next = 0;  // the next ping (PingLedger index) it is due
  std::size_t ping_sent = 0;    // of that ping, when a send stopped inside it
  resp::RequestParser parser;
  std::string in;
};

// The dispatcher thread's state: owned by it alone.
class Loop {
 public:
  Loop(DispatcherOptions o, std::shared_ptr<lf::Monitor<ReplicationView>> view,
       std::shared_ptr<ReplicaBytes> replica_bytes)
      : opt_(std::move(o)),
        backlog_(opt_.backlog_size, opt_.base),
        view_(std::move(view)),
        replica_bytes_(std::move(replica_bytes)) {
    ping_period_ms_ = opt_.ping_period_s * 1000;
  }

  void run(const std::stop_token& stop, DispatcherInbox& inbox, lf::Unique<BackupSeed> seed) {
    if (!opt_.backup_dir.empty() && seed) {
      backup_ = std::make_unique<BackupFile>();
      lf::Status st = backup_->open(opt_.backup_dir, opt_.replid, *seed);
      if (st.ok()) {
        backup_path_ = backup_->path();
      } else {
        backup_fail(st);
      }
      seed = lf::Unique<BackupSeed>(nullptr);  // closes the loaded log's descriptor
    }
    bool open = true;
    while (open && !stop.stop_requested()) {
      bool blocked = false;
      for (const Peer& p : peers_) blocked = blocked || p.blocked;
      auto handle = lf::overloaded{
          [this](SegmentRef s) { on_segment(s); },
          [this](lf::Unique<ReplicaLink> l) { on_replica(std::move(l)); },
          [this](NewHistory h) {
            peers_.clear();
            opt_.replid = std::move(h.replid);
            backlog_ = Backlog(opt_.backlog_size, backlog_.end());
            pings_ = PingLedger();
            pings_changed_ = true;
            if (backup_) backup_fail(lf::Status::error("this server became a replica"));
            changed_ = true;
          },
          [this](BacklogSize b) {
            opt_.backlog_size = b.bytes;
            backlog_.set_capacity(b.bytes);
            changed_ = true;
          },
          [this](PingPeriod p) { ping_period_ms_ = p.seconds * 1000; },
          [this](ReplicaLimit l) { opt_.replica_limit = l; },
          [this](const DropReplicas& d) { on_drop(d); },
          [&open](DispatcherStop) { open = false; }};
      if (peers_.empty()) {
        // Nobody to ship to: the backlog can take the segments a few at a time, without a
        // wake-up (a context switch) for each batch the log writes; and while nothing comes
        // (no writes, or appendonly no before the first SYNC) the thread sleeps in the mailbox.
        if (inbox.receive_for(std::chrono::seconds(1), handle)) {
          std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
      } else {
        inbox.receive_for(std::chrono::milliseconds(blocked ? 1 : 50), handle);
      }
      // Take whatever else queued meanwhile before sending: fewer, larger sends.
      for (int i = 0; i < 4096 && open && inbox.try_receive(handle); ++i) {
      }
      if (inbox.closed() && inbox.size() == 0) open = false;
      if (backup_) {
        lf::Status st = backup_->sync();
        if (!st.ok()) backup_fail(st);
      }
      maybe_ping();
      pump_all();
      settle();
      publish(false);
    }
    peers_.clear();
    settle();
    publish(true);
  }

 private:
  void backup_fail(const lf::Status& st) {
    // The backup stops rather than keep a file with a hole in it; the primary goes on.
    backup_error_ = st.message();
    if (backup_) backup_synced_last_ = backup_->synced();
    std::fprintf(stderr, "lfdb-server: dispatcher: backup stopped: %s\n", st.message().c_str());
    backup_.reset();
    changed_ = true;
  }

  // The offset a replica still needs from the backlog.
  std::uint64_t needs(const Peer& p) const {
    return p.stage == Peer::Stage::kWaitSnapshot ? p.link->snapshot_offset : p.cursor;
  }

  // Lets go of the blocks past the backlog's window that no replica needs any more, and tells
  // the server's memory accounting what is held for replicas.
  void settle() {
    std::uint64_t keep = UINT64_MAX;
    for (const Peer& p : peers_) keep = std::min(keep, needs(p));
    backlog_.trim(keep);
    replica_bytes_->set(backlog_.replica_bytes());
    if (pings_.any_before(backlog_.start())) {
      pings_.drop_before(backlog_.start());
      pings_changed_ = true;
    }
  }

  // CLIENT KILL: the replicas go, and the bytes held for them, before the killer is answered.
  void on_drop(const DropReplicas& d) {
    std::size_t n = 0;
    for (auto it = peers_.begin(); it != peers_.end();) {
      const ReplicaLink& l = *it->link;
      const ReplicaFilter& f = d.filter;
      const bool match = (f.client_id == 0 || l.client_id == f.client_id) &&
                         (f.addr.empty() || l.addr == f.addr) &&
                         (f.laddr.empty() || l.laddr == f.laddr) &&
                         (f.user.empty() || l.user == f.user);
      if (match) {
        it = peers_.erase(it);
        ++n;
      } else {
        ++it;
      }
    }
    if (n > 0) {
      changed_ = true;
      settle();
      publish(true);
    }
    if (d.done) d.done->with_notify_all([n](std::optional<std::size_t>& v) { v = n; });
  }

  // client-output-buffer-limit replica over the bytes it has not been sent: true to drop it.
  bool over_limit(Peer& p, std::int64_t now) {
    const ReplicaLimit& lim = opt_.replica_limit;
    const std::uint64_t need = needs(p);
    const std::uint64_t unsent = backlog_.end() > need ? backlog_.end() - need : 0;
    bool drop = lim.hard > 0 && unsent >= lim.hard;
    if (lim.soft > 0 && unsent >= lim.soft) {
      if (p.soft_since_ms == 0) {
        p.soft_since_ms = now;
      } else if (now - p.soft_since_ms > lim.soft_seconds * 1000) {
        drop = true;
      }
    } else {
      p.soft_since_ms = 0;
    }
    if (drop) {
      ++dropped_over_limit_;
      std::fprintf(stderr, "lfdb-server: dispatcher: replica %s (id %llu) has %llu bytes unsent, "
                   "over client-output-buffer-limit replica; disconnected (it resyncs)\n",
                   p.link->addr.c_str(), static_cast<unsigned long long>(p.link->client_id),
                   static_cast<unsigned long long>(unsent));
    }
    return drop;
  }

  void on_segment(const SegmentRef& s) {
    replica_bytes_->add_in_flight(-in_flight_bytes(*s));
    if (backup_) {
      lf::Status b = s->start == backup_->end()
                         ? backup_->append(s->bytes)
                         : lf::Status::error("a segment does not follow the backup's end");
      if (!b.ok()) backup_fail(b);
    }
    lf::Status st = backlog_.append(s);
    if (!st.ok()) {
      // A hole in what we ship would be a lost write on every replica: drop them all (they
      // resync from a snapshot) and restart the backlog at this segment.
      std::fprintf(stderr, "lfdb-server: dispatcher: %s; replicas resync\n", st.message().c_str());
      peers_.clear();
      backlog_ = Backlog(opt_.backlog_size, s->start);
      (void)backlog_.append(s);
      changed_ = true;
    }
    // At once: a write that reads used_memory meanwhile must not count a block it would have
    // left out a moment later.
    replica_bytes_->set(backlog_.replica_bytes());
  }

  // Redis sends its replicas a PING every repl-ping-replica-period (their link timeout counts
  // on it); each one is sent to every Redis-protocol replica at the same log offset.
  void maybe_ping() {
    bool any = false;
    for (const Peer& p : peers_) any = any || (p.redis && p.stage == Peer::Stage::kStream);
    const std::int64_t now = mono_ms();
    if (!any) {
      last_ping_ms_ = now;  // the first ping one period after a replica comes online
      return;
    }
    if (ping_period_ms_ <= 0 || now - last_ping_ms_ < ping_period_ms_) return;
    last_ping_ms_ = now;
    pings_.add(backlog_.end());
    pings_changed_ = true;
  }

  void on_replica(lf::Unique<ReplicaLink> l) {
    const int fl = ::fcntl(l->fd, F_GETFL, 0);
    if (fl >= 0) (void)::fcntl(l->fd, F_SETFL, fl | O_NONBLOCK);
    Peer& p = peers_.emplace_back(std::move(l));
    p.last_ack_ms = p.created_mono_ms = mono_ms();
    p.redis = p.link->wire != Wire::kLfdb;
    std::uint64_t log = 0, ping = 0;
    if (p.link->snapshot) {
      p.stage = Peer::Stage::kWaitSnapshot;
      p.acked = p.link->snapshot_offset;
      ++full_syncs_;
    } else if (p.redis) {
      if (p.link->replid == opt_.replid &&
          pings_.to_log(p.link->offset, backlog_.start(), backlog_.end(), log, ping)) {
        p.head = "+CONTINUE " + opt_.replid + "\r\n";
        p.cursor = p.acked = log;
        p.ping_next = ping;
        ++partial_syncs_;
      } else {
        refuse(p);
        changed_ = true;
        return;
      }
    } else if (backlog_.decide(opt_.replid, p.link->replid, p.link->offset) ==
               ResyncKind::kPartial) {
      p.head = "+CONTINUE " + opt_.replid + " " + std::to_string(p.link->offset) + "\r\n";
      p.cursor = p.link->offset;
      p.acked = p.cursor;
      ++partial_syncs_;
    } else {
      refuse(p);
      changed_ = true;
      return;
    }
    // The block this replica's first writes go to is allocated now, with the sync, not at the
    // first write after it (docs/memory.md, "Replicas' output").
    // (After settle(): what the backlog may let go of for it counts this replica's needs.)
    settle();
    backlog_.reserve_tail();
    replica_bytes_->set(backlog_.replica_bytes());
    changed_ = true;
  }

  // The session's pre-check raced with the backlog moving on: the replica asks again and gets
  // a full resync. `p` is the newest peer.
  void refuse(Peer& p) {
    p.head = "-NOMASTERLINK partial resync not possible any more, ask for a full one\r\n";
    ++partial_refused_;
    (void)send_some(p, p.head);
    peers_.pop_back();
  }

  // Sends from `bytes` starting at p.sent; false when the link broke.
  bool send_some(Peer& p, std::string_view bytes) {
    while (p.sent < bytes.size()) {
      const ssize_t n = ::send(p.link->fd, bytes.data() + p.sent, bytes.size() - p.sent,
                               MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        p.blocked = true;
        return true;
      }
      if (n <= 0) return false;
      p.sent += static_cast<std::size_t>(n);
    }
    return true;
  }

  // Moves one replica on as far as its socket takes; false: drop it.
  bool pump(Peer& p) {
    p.blocked = false;
    if (p.stage == Peer::Stage::kWaitSnapshot) {
      // The snapshot holds writes up to snapshot_offset: they go out only once sealed (under
      // appendfsync always, on the primary's disk).
      if (backlog_.end() < p.link->snapshot_offset) return read_acks(p);
      if (!backlog_.holds(p.link->snapshot_offset)) return false;
      const std::uint64_t at = p.link->snapshot_offset;
      const std::string bulk = "$" + std::to_string(p.link->snapshot->get().size()) + "\r\n";
      if (p.redis) p.ping_next = pings_.first_from(at);
      // Redis's SYNC (before PSYNC existed) has no first line: the payload comes at once.
      p.head = p.link->wire == Wire::kRedisSync
                   ? bulk
                   : "+FULLRESYNC " + opt_.replid + " " +
                         std::to_string(p.redis ? PingLedger::redis_offset(at, p.ping_next) : at) +
                         "\r\n" + bulk;
      p.cursor = at;
      p.stage = Peer::Stage::kHead;
      changed_ = true;
    }
    if (p.stage == Peer::Stage::kHead) {
      if (!send_some(p, p.head)) return false;
      if (p.blocked) return true;
      p.sent = 0;
      p.stage = p.link->snapshot ? Peer::Stage::kSnapshot : Peer::Stage::kStream;
      changed_ = true;
    }
    if (p.stage == Peer::Stage::kSnapshot) {
      if (!send_some(p, p.link->snapshot->get())) return false;
      if (p.blocked) return true;
      p.sent = 0;
      p.link->snapshot.reset();  // the last reference frees it
      p.stage = Peer::Stage::kStream;
      changed_ = true;
    }
    if (p.cursor < backlog_.start()) {
      ++dropped_behind_;
      std::fprintf(stderr, "lfdb-server: dispatcher: replica %s:%u fell out of the backlog; "
                   "disconnected (it resyncs)\n", p.link->ip.c_str(), p.link->listening_port);
      return false;
    }
    for (;;) {
      const bool ping_due = p.redis && p.ping_next < pings_.end_index();
      if (ping_due && pings_.position(p.ping_next) <= p.cursor) {
        p.sent = p.ping_sent;
        if (!send_some(p, PingLedger::kPing)) return false;
        p.ping_sent = p.blocked ? p.sent : 0;
        p.sent = 0;
        if (p.blocked) break;
        ++p.ping_next;
        continue;
      }
      if (p.cursor >= backlog_.end()) break;
      std::string_view piece = backlog_.piece(p.cursor);
      if (ping_due) piece = piece.substr(0, pings_.position(p.ping_next) - p.cursor);
      p.sent = 0;
      if (!send_some(p, piece)) return false;
      p.cursor += p.sent;
      p.sent = 0;
      if (p.blocked) break;
    }
    return read_acks(p);
  }

  // The replica's REPLCONF ACK <offset> lines; false when it closed the link.
  bool read_acks(Peer& p) {
    char buf[512];
    for (;;) {
      const ssize_t n = ::recv(p.link->fd, buf, sizeof buf, MSG_DONTWAIT);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      if (n <= 0) return false;
      p.in.append(buf, static_cast<std::size_t>(n));
      if (p.in.size() > 64 * 1024) return false;  // not a replica speaking
    }
    std::vector<std::string_view> argv;
    for (;;) {
      const resp::RequestResult r = p.parser.parse(p.in, argv);
      if (r.failed()) return false;
      if (!r.complete()) {
        p.in.erase(0, r.consumed);
        return true;
      }
      if (argv.size() == 3 && (argv[1] == "ACK" || argv[1] == "ack")) {
        std::uint64_t v = 0, log = 0, ping = 0;
        for (char c : argv[2]) v = c >= '0' && c <= '9' ? v * 10 + static_cast<std::uint64_t>(c - '0') : v;
        // A Redis replica's offset counts our PINGs: back to the log's.
        if (!p.redis) {
          p.acked = v;
        } else if (pings_.to_log(v, 0, backlog_.end(), log, ping)) {
          p.acked = log;
        }
        p.last_ack_ms = mono_ms();
      }
      p.in.erase(0, r.consumed);
    }
  }

  void pump_all() {
    const std::int64_t now = mono_ms();
    for (auto it = peers_.begin(); it != peers_.end();) {
      if (pump(*it) && !over_limit(*it, now)) {
        ++it;
      } else {
        it = peers_.erase(it);
        changed_ = true;
      }
    }
  }

  void publish(bool force) {
    const std::int64_t now = mono_ms();
    if (!force && !changed_ && now - last_publish_ms_ < 100) return;
    last_publish_ms_ = now;
    changed_ = false;
    ReplicationView v;
    v.replid = opt_.replid;
    v.backlog_start = backlog_.start();
    v.backlog_end = backlog_.end();
    v.backlog_size = backlog_.capacity();
    v.full_syncs = full_syncs_;
    v.partial_syncs = partial_syncs_;
    v.partial_refused = partial_refused_;
    v.dropped_behind = dropped_behind_;
    v.dropped_over_limit = dropped_over_limit_;
    v.replica_bytes = backlog_.replica_bytes();
    v.backup_path = backup_path_;
    v.backup_synced = backup_ ? backup_->synced() : backup_synced_last_;
    v.backup_error = backup_error_;
    if (pings_changed_) {
      pings_view_ = lf::make_immutable<PingLedger>(pings_);
      pings_changed_ = false;
    }
    v.pings = pings_view_;
    for (const Peer& p : peers_) {
      ReplicaView r;
      r.ip = p.link->ip;
      r.port = p.link->listening_port;
      r.state = p.stage == Peer::Stage::kWaitSnapshot ? "wait_bgsave"
                : p.stage == Peer::Stage::kStream     ? "online"
                                                      : "send_bulk";
      r.offset = p.acked;  // the log's offset, also for Redis replicas (WAIT compares it)
      r.lag_s = (now - p.last_ack_ms) / 1000;
      r.client_id = p.link->client_id;
      r.addr = p.link->addr;
      r.laddr = p.link->laddr;
      r.user = p.link->user;
      r.age_s = (now - p.created_mono_ms) / 1000;
      const std::uint64_t need = needs(p);
      r.unsent = backlog_.end() > need ? backlog_.end() - need : 0;
      v.replicas.push_back(std::move(r));
    }
    view_->with([&v](ReplicationView& shared) { shared = std::move(v); });
  }

  DispatcherOptions opt_;
  Backlog backlog_;
  std::shared_ptr<lf::Monitor<ReplicationView>> view_;
  std::shared_ptr<ReplicaBytes> replica_bytes_;
  std::list<Peer> peers_;
  PingLedger pings_;
  lf::Immutable<PingLedger> pings_view_ = lf::make_immutable<PingLedger>();  // the last published
  bool pings_changed_ = false;
  std::int64_t ping_period_ms_ = 10000;
  std::int64_t last_ping_ms_ = 0;
  std::unique_ptr<BackupFile> backup_;  // null: no backup (or it failed)
  std::string backup_path_;
  std::string backup_error_;
  std::uint64_t backup_synced_last_ = 0;
  bool changed_ = true;
  std::int64_t last_publish_ms_ = 0;
  std::uint64_t full_syncs_ = 0, partial_syncs_ = 0, partial_refused_ = 0, dropped_behind_ = 0;
  std::uint64_t dropped_over_limit_ = 0;
};

void dispatcher_main(std::stop_token stop, std::shared_ptr<DispatcherInbox> inbox,
                     std::shared_ptr<lf::Monitor<ReplicationView>> view,
                     std::shared_ptr<ReplicaBytes> replica_bytes, DispatcherOptions o,
                     lf::Unique<BackupSeed> seed) {
  Loop loop(std::move(o), std::move(view), std::move(replica_bytes));
  loop.run(stop, *inbox, std::move(seed));
}

}  // namespace

Dispatcher::Dispatcher(DispatcherOptions options, lf::Unique<BackupSeed> seed)
    : sealed_end_(options.base),
      inbox_(std::make_shared<DispatcherInbox>()),
      view_(std::make_shared<lf::Monitor<ReplicationView>>()),
      replica_bytes_(options.replica_bytes ? options.replica_bytes : std::make_shared<ReplicaBytes>()) {
  view_->with([&options](ReplicationView& v) {
    v.replid = options.replid;
    v.backlog_start = v.backlog_end = options.base;
    v.backlog_size = options.backlog_size;
  });
  thread_ = lf::spawn(dispatcher_main, inbox_, view_, replica_bytes_, std::move(options), std::move(seed));
}

Dispatcher::~Dispatcher() {
  (void)inbox_->send(DispatcherStop{});
  inbox_->close();
  thread_.request_stop();
  thread_.join();
}

void Dispatcher::ship(std::uint64_t start, std::string_view bytes) {
  SegmentRef s = lf::make_immutable<Segment>(Segment{start, std::string(bytes)});
  replica_bytes_->add_in_flight(in_flight_bytes(*s));
  (void)inbox_->send(std::move(s));
  sealed_end_.store(start + bytes.size(), std::memory_order_release);
}

void Dispatcher::add_replica(lf::Unique<ReplicaLink> link) { (void)inbox_->send(std::move(link)); }

void Dispatcher::set_backlog_size(std::size_t bytes) {
  (void)inbox_->send(BacklogSize{bytes});
  view_->with([bytes](ReplicationView& v) { v.backlog_size = bytes; });  // INFO shows it at once
}

void Dispatcher::set_ping_period(std::int64_t seconds) { (void)inbox_->send(PingPeriod{seconds}); }

void Dispatcher::set_replica_limit(ReplicaLimit limit) { (void)inbox_->send(limit); }

std::size_t Dispatcher::drop_replicas(ReplicaFilter filter) {
  auto done = std::make_shared<lf::Monitor<std::optional<std::size_t>>>();
  if (!inbox_->send(DropReplicas{std::move(filter), done})) return 0;
  // The thread takes it within its next turn (it waits at most 50 ms for its mailbox while it
  // has replicas, and wakes at once for a message); the bound only guards a stopping server.
  const auto n = done->wait_for(std::chrono::seconds(5), [](const std::optional<std::size_t>& v) { return v.has_value(); },
                                [](std::optional<std::size_t>& v) { return *v; });
  return n.value_or(0);
}

void Dispatcher::new_history(std::string replid) {
  (void)inbox_->send(NewHistory{std::move(replid)});
  // Until the thread publishes it, no pre-check may approve a resume of the old history: "-"
  // is no replica's replid. (Not `= "-"`: g++ 12 at -O3 takes that copy for an overlapping one,
  // a -Wrestrict false positive.)
  view_->with([](ReplicationView& v) { v.replid.assign(1, '-'); });
}

bool Dispatcher::can_resume(std::string_view replid, std::uint64_t offset) const {
  return view_->with([&](const ReplicationView& v) {
    return replid == v.replid && offset >= v.backlog_start && offset <= sealed_end();
  });
}

bool Dispatcher::can_resume_redis(std::string_view replid, std::uint64_t redis_offset) const {
  return view_->with([&](const ReplicationView& v) {
    std::uint64_t log = 0, ping = 0;
    return replid == v.replid &&
           v.pings->to_log(redis_offset, v.backlog_start, sealed_end(), log, ping);
  });
}

ReplicationView Dispatcher::view() const {
  return view_->with([](const ReplicationView& v) { return v; });
}

}  // namespace lfdb::dispatch
