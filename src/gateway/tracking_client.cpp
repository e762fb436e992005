// ClientConn's client-side caching commands and RESET (docs/gateway.md, "Client-side caching"):
// CLIENT TRACKING, CACHING, GETREDIR and TRACKINGINFO with lfdb-server's and Redis's replies,
// the settings kept here and the table in the gateway's TrackingHub; RESET puts the client back
// as it connected.
#include "gateway/client.hpp"
#include "gateway/gateway.hpp"
#include "gateway/scratch.hpp"

#include <algorithm>
#include <charconv>

namespace lfdb::gateway {

namespace {
bool ieq(std::string_view a, std::string_view b) { return commands::iequal(a, b); }

bool parse_id(std::string_view s, std::int64_t& v) {
  if (s.empty()) return false;
  const char* end = s.data() + s.size();
  auto [p, ec] = std::from_chars(s.data(), end, v);
  return ec == std::errc() && p == end;
}
}  // namespace

void ClientConn::open_outbox_locked() {
  if (outbox_) return;
  const OutputBufferLimit& l = gw_.config().pubsub_limit;
  outbox_ = lf::Outbox::open(*this, lf::OutboxLimits{l.hard, l.soft, l.soft_time});
}

void ClientConn::ensure_endpoint_locked() {
  open_outbox_locked();
  if (!endpoint_) {
    endpoint_ = true;
    gw_.tracking().attach(id_, outbox_, protocol_, subscribed());
  }
}

void ClientConn::endpoint_changed_locked() {
  if (endpoint_) gw_.tracking().update(id_, protocol_, subscribed());
}

void ClientConn::remember_reads(const commands::CommandSpec& spec, std::span<const std::string_view> argv) {
  // Redis's rule: the keys of read-only commands, unless OPTIN without CACHING yes or OPTOUT
  // with CACHING no. Remembered before the read is forwarded, so a write that follows it at the
  // back-end is always invalidated (a write just before it may invalidate it too: harmless).
  // A script (EVAL, EVALSHA, FCALL and their _RO forms) remembers the keys it declares: Redis
  // remembers what the script's read commands touch, which the gateway cannot see; a script
  // keeps to its declared keys through the gateway (they name its shard), so that covers its
  // reads, and a key it only writes costs an extra invalidation, never a missed one.
  if (!track_.on || track_.bcast) return;
  if (!spec.has(commands::kReadonly) && !commands::runs_script(spec)) return;
  if ((track_.optin && !track_.caching) || (track_.optout && track_.caching)) return;
  std::vector<std::string_view> keys;
  commands::for_each_key(spec, argv, [&](std::size_t i) { keys.push_back(argv[i]); });
  if (!keys.empty()) gw_.tracking().remember(id_, keys);
}

// ---- NOLOOP --------------------------------------------------------------------------
//
// The back-ends see the gateway's connections, not its clients, so the feeds cannot say who
// wrote a key. The gateway knows which of its clients' writes are under way: a NOLOOP client's
// write opens a window for its keys (TrackingHub::own_write_begin) before it is forwarded, and
// its reply is held until a PING sent behind it, once it is answered, on the tracker connection
// of each shard it wrote is answered too. A back-end sends a write's invalidations to the
// tracker connection before it reads anything that connection sends after the write's reply
// left, so by then every invalidation the write caused has come in, and the window closes
// before the client sees its reply: a write another client makes after that is told to it as
// usual. What comes in during the window is the client's own (or another client's at the same
// time, which a NOLOOP client cannot tell from its own on redis-server either).

bool ClientConn::own_write_wanted(const commands::CommandSpec& spec, CommandRoute route) const {
  if (!track_.on || !track_.noloop || tx_.in_multi()) return false;
  if (route.route != Route::kKeyed && route.route != Route::kSplit) return false;
  return spec.has(commands::kWrite) || (route.script && !spec.has(commands::kReadonly));
}

void ClientConn::own_write(const commands::CommandSpec& spec, CommandRoute route, std::span<const std::string_view> argv) {
  // An asynchronous slot also under bound forwarding: its reply waits for the markers, which
  // come back to on_reply; nothing bound overtakes it.
  std::vector<BoundCall>* const bound_calls = bound_calls_;
  bound_calls_ = nullptr;
  if (route.route == Route::kKeyed) {
    keyed(spec, route, argv);
  } else {
    split(spec, route.merge, argv);
  }
  bound_calls_ = bound_calls;
  if (bound_calls_ != nullptr) switching_ = true;
  if (!own_keys_.empty()) return end_own_write();  // refused (CROSSSLOT): never forwarded
  ReplySlot& slot = slots_.back();
  if (slot.ready && slot.own == ReplySlot::Own::kWrite) {
    // Every part failed to be sent: nothing was written.
    gw_.tracking().own_write_end(id_, slot.own_keys);
    slot.own = ReplySlot::Own::kNone;
  }
}

void ClientConn::take_own_write(ReplySlot& slot, std::vector<int> shards) {
  slot.own = ReplySlot::Own::kWrite;
  slot.own_keys = std::move(own_keys_);
  slot.own_shards = std::move(shards);
  own_keys_.clear();
}

void ClientConn::end_own_write() {
  if (own_keys_.empty()) return;
  gw_.tracking().own_write_end(id_, own_keys_);
  own_keys_.clear();
}

bool ClientConn::own_write_reply_locked(ReplySlot& slot, const Pending& p, const resp::Frame& reply) {
  if (!slot.add_part(p.part, reply)) return false;
  if (slot.own == ReplySlot::Own::kMarker) {
    // Every invalidation of the write has come in: the window closes, the reply leaves.
    gw_.tracking().own_write_end(id_, slot.own_keys);
    slot.own = ReplySlot::Own::kNone;
    return true;
  }
  // The write is answered: its reply waits for the markers (a client gone waits for nothing).
  std::vector<std::string> keys = std::move(slot.own_keys);
  std::vector<int> shards = std::move(slot.own_shards);
  if (closed_ || broken_ || gw_.stopping()) {
    gw_.tracking().own_write_end(id_, keys);
    slot.own = ReplySlot::Own::kNone;
    return true;
  }
  std::string written = std::move(slot.reply);
  slot.start(Merge::kPrepared, static_cast<std::uint32_t>(shards.size()), slot.protocol);
  slot.body = std::move(written);
  slot.own = ReplySlot::Own::kMarker;
  slot.own_keys = std::move(keys);
  // A shard whose feed is down answers at once (everything is invalidated when it returns).
  if (ping_behind_locked(slot, shards, &Backend::tracker)) {
    gw_.tracking().own_write_end(id_, slot.own_keys);
    slot.own = ReplySlot::Own::kNone;
    return true;
  }
  return false;
}

void ClientConn::client_tracking_cmd(LocalCall& c) {
  TrackingHub::Settings s;
  for (std::size_t j = 3; j < c.argv.size(); ++j) {
    const bool more = j + 1 < c.argv.size();
    const std::string_view a = c.argv[j];
    if (ieq(a, "redirect") && more) {
      ++j;
      if (s.redirect != 0) return c.out.error("ERR A client can only redirect to a single other client");
      std::int64_t id = 0;
      if (!parse_id(c.argv[j], id)) return c.out.error("ERR value is not an integer or out of range");
      // A client of the gateway that asked for its id, subscribed or tracks (TrackingHub).
      if (id <= 0 || !gw_.tracking().has_endpoint(static_cast<std::uint64_t>(id))) {
        return c.out.error("ERR The client ID you want redirect to does not exist");
      }
      s.redirect = static_cast<std::uint64_t>(id);
    } else if (ieq(a, "bcast")) {
      s.bcast = true;
    } else if (ieq(a, "optin")) {
      s.optin = true;
    } else if (ieq(a, "optout")) {
      s.optout = true;
    } else if (ieq(a, "noloop")) {
      s.noloop = true;
    } else if (ieq(a, "prefix") && more) {
      s.prefixes.emplace_back(c.argv[++j]);
    } else {
      return c.out.error("ERR syntax error");
    }
  }
  if (ieq(c.argv[2], "off")) {
    if (track_.on) gw_.tracking().disable(id_);
    track_ = Tracking{};
    return c.out.simple_string("OK");
  }
  if (!ieq(c.argv[2], "on")) return c.out.error("ERR syntax error");
  if (!s.bcast && !s.prefixes.empty()) return c.out.error("ERR PREFIX option requires BCAST mode to be enabled");
  if (track_.on && track_.bcast != s.bcast) {
    return c.out.error(
        "ERR You can't switch BCAST mode on/off before disabling tracking for this client, and then "
        "re-enabling it with a different mode.");
  }
  if (s.bcast && (s.optin || s.optout)) return c.out.error("ERR OPTIN and OPTOUT are not compatible with BCAST");
  if (s.optin && s.optout) return c.out.error("ERR You can't specify both OPTIN mode and OPTOUT mode");
  if (track_.on && ((s.optin && track_.optout) || (s.optout && track_.optin))) {
    return c.out.error(
        "ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and then "
        "re-enabling it with a different mode.");
  }
  if (s.bcast) {
    if (std::string e = gw_.tracking().prefix_collision(id_, s.prefixes); !e.empty()) return c.out.error(e);
    if (s.prefixes.empty()) s.prefixes.emplace_back();
  }
  // Bound forwarding: the OK may be an asynchronous slot; replies a bound batch owes go first.
  if (bound_calls_ != nullptr && !bound_calls_->empty() && wait_for_earlier_replies()) {
    c.answered = true;
    return;
  }
  ensure_endpoint_locked();
  std::vector<int> waiting;
  gw_.tracking().enable(id_, s, waiting);
  track_.on = true;
  track_.bcast = s.bcast;
  track_.optin = s.optin;
  track_.optout = s.optout;
  track_.noloop = s.noloop;
  track_.redirect = s.redirect;
  if (waiting.empty()) return c.out.simple_string("OK");
  // The OK waits until each shard's tracker connection has BCAST on (a PING behind it is
  // answered): whatever the client reads after its OK is invalidated when it changes. A
  // back-end that is down starts its feed when it returns, and everything is invalidated then.
  c.answered = true;
  std::string ok;
  resp::Writer(ok, protocol_).simple_string("OK");
  answer_after_ping(std::move(ok), waiting, &Backend::tracker);
}

void ClientConn::client_caching_cmd(LocalCall& c) {
  if (!track_.on || (!track_.optin && !track_.optout)) {
    return c.out.error(
        "ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT "
        "mode enabled");
  }
  if (ieq(c.argv[2], "yes")) {
    if (!track_.optin) return c.out.error("ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.");
  } else if (ieq(c.argv[2], "no")) {
    if (!track_.optout) return c.out.error("ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.");
  } else {
    return c.out.error("ERR syntax error");
  }
  track_.caching = true;
  c.out.simple_string("OK");
}

void ClientConn::client_getredir_cmd(LocalCall& c) {
  c.out.integer(track_.on ? static_cast<std::int64_t>(track_.redirect) : -1);
}

void ClientConn::client_trackinginfo_cmd(LocalCall& c) {
  std::vector<std::string_view> flags{track_.on ? "on" : "off"};
  if (track_.on) {
    if (track_.bcast) flags.push_back("bcast");
    if (track_.optin) {
      flags.push_back("optin");
      if (track_.caching) flags.push_back("caching-yes");
    }
    if (track_.optout) {
      flags.push_back("optout");
      if (track_.caching) flags.push_back("caching-no");
    }
    if (track_.noloop) flags.push_back("noloop");
    if (gw_.tracking().broken(id_)) flags.push_back("broken_redirect");
  }
  c.out.map_header(3);
  c.out.bulk("flags");
  c.out.set_header(flags.size());
  for (std::string_view f : flags) c.out.bulk(f);
  c.out.bulk("redirect");
  c.out.integer(track_.on ? static_cast<std::int64_t>(track_.redirect) : -1);
  c.out.bulk("prefixes");
  std::vector<std::string> prefixes = track_.on ? gw_.tracking().prefixes(id_) : std::vector<std::string>();
  std::sort(prefixes.begin(), prefixes.end());
  c.out.array_header(prefixes.size());
  for (const std::string& p : prefixes) c.out.bulk(p);
}

void ClientConn::reset_cmd(LocalCall& c) {
  // As Redis's RESET: out of MULTI and WATCH (the dedicated connection goes back clean), out of
  // every subscription (no confirmations) and tracking, RESP2, no name, database 0, and the
  // default user again (with requirepass: not authenticated).
  if (const std::string_view cmd = tx_.cleanup_command(); !cmd.empty()) {
    const std::string_view cleanup[] = {cmd};
    forward_pinned(cleanup, nullptr, PendingKind::kSwallow);
  }
  end_transaction();
  // What was posted before it arrives before its reply.
  if (outbox_ && slots_.empty() && out_sent_ == out_.size()) (void)outbox_->drain(out_);
  for (std::size_t k = 0; k < 3; ++k) {
    for (const std::string& name : subs_[k]) gw_.hub().unsubscribe(static_cast<PubSubHub::Kind>(k), name, outbox_.get());
    subs_[k].clear();
  }
  if (track_.on) gw_.tracking().disable(id_);
  track_ = Tracking{};
  protocol_ = resp::Protocol::kResp2;
  endpoint_changed_locked();
  name_.clear();
  authenticated_ = gw_.config().requirepass.empty();
  parser_.set_auth_required(!authenticated_);
  c.out.simple_string("RESET");
}

}  // namespace lfdb::gateway
