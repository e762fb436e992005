// CLIENT TRACKING, CLIENT CACHING, CLIENT GETREDIR, CLIENT TRACKINGINFO: connection commands,
// run on the connection's serving thread (their settings are the connection's; what other
// threads read of them is atomic, and the table's shared maps are its monitor).
#include "db/tracking/commands.hpp"

#include "db/server.hpp"
#include "db/session.hpp"

#include <algorithm>

namespace lfdb::db::tracking {

namespace {
constexpr std::uint8_t kFlagOn = 1, kFlagBcast = 2;

bool ieq(std::string_view a, std::string_view b) { return commands::iequal(a, b); }

void show_flags(ClientState& c) {
  const Tracker* t = c.tracker();
  const bool on = t != nullptr && t->on.load(std::memory_order_relaxed);
  std::uint8_t f = 0;
  if (on) f |= kFlagOn;
  if (on && t->bcast.load(std::memory_order_relaxed)) f |= kFlagBcast;
  c.tracking_flags.store(f, std::memory_order_relaxed);
  c.tracking_redir.store(on ? static_cast<std::int64_t>(t->redirect.load(std::memory_order_relaxed)) : -1,
                         std::memory_order_relaxed);
}
}  // namespace

Endpoint& endpoint(ClientState& c, Server& s) {
  if (c.pushes() == nullptr) {
    ClientState::Channels& ch = c.open_channels();
    // Its queued bytes are in the clients' sum as they are posted (maxmemory-clients).
    std::shared_ptr<lf::Outbox> box = lf::Outbox::open(*c.host, s.pubsub_limits(), s.clients().outbox_meter());
    ch.pushes = std::make_shared<Endpoint>(c.id, std::move(box), c.protocol == resp::Protocol::kResp3);
    s.tracking().attach(ch.pushes);
    lf::MutexLock lock(c.name_mu);
    c.name.show_outbox(ClientName::kPushes, ch.pushes->outbox);
  }
  return *c.pushes();
}

void leave(ClientState& c, Server& s) {
  if (c.tracker() != nullptr) {
    s.tracking().disable(*c.tracker());
    c.channels->tracker.reset();
    show_flags(c);
  }
  if (c.pushes() != nullptr) {
    s.tracking().detach(c.id);
    c.pushes()->outbox->close();
    c.channels->pushes.reset();
    lf::MutexLock lock(c.name_mu);
    c.name.show_outbox(ClientName::kPushes, nullptr);
  }
}

void client_tracking_cmd(SessionContext& c) {
  std::uint64_t redirect = 0;
  bool bcast = false, optin = false, optout = false, noloop = false;
  std::vector<std::string> prefixes;
  for (std::size_t j = 3; j < c.argc(); ++j) {
    const bool more = j + 1 < c.argc();
    const std::string_view a = c.argv[j];
    if (ieq(a, "redirect") && more) {
      ++j;
      if (redirect != 0) return c.out.error("ERR A client can only redirect to a single other client");
      std::int64_t id = 0;
      if (!parse_int(c.argv[j], id)) return c.out.error("ERR value is not an integer or out of range");
      if (!c.server.clients().has(static_cast<std::uint64_t>(id))) {
        return c.out.error("ERR The client ID you want redirect to does not exist");
      }
      redirect = static_cast<std::uint64_t>(id);
    } else if (ieq(a, "bcast")) {
      bcast = true;
    } else if (ieq(a, "optin")) {
      optin = true;
    } else if (ieq(a, "optout")) {
      optout = true;
    } else if (ieq(a, "noloop")) {
      noloop = true;
    } else if (ieq(a, "prefix") && more) {
      prefixes.emplace_back(c.argv[++j]);
    } else {
      return c.out.error("ERR syntax error");
    }
  }
  Table& table = c.server.tracking();
  Tracker* t = c.client.tracker();
  const bool was_on = t != nullptr && t->on.load(std::memory_order_relaxed);
  if (ieq(c.argv[2], "on")) {
    if (!bcast && !prefixes.empty()) {
      return c.out.error("ERR PREFIX option requires BCAST mode to be enabled");
    }
    if (was_on && t->bcast.load(std::memory_order_relaxed) != bcast) {
      return c.out.error(
          "ERR You can't switch BCAST mode on/off before disabling tracking for this client, and "
          "then re-enabling it with a different mode.");
    }
    if (bcast && (optin || optout)) return c.out.error("ERR OPTIN and OPTOUT are not compatible with BCAST");
    if (optin && optout) return c.out.error("ERR You can't specify both OPTIN mode and OPTOUT mode");
    if (was_on && ((optin && t->optout.load(std::memory_order_relaxed)) ||
                   (optout && t->optin.load(std::memory_order_relaxed)))) {
      return c.out.error(
          "ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and "
          "then re-enabling it with a different mode.");
    }
    if (c.client.tracker() == nullptr) {
      endpoint(c.client, c.server);  // invalidations reach this connection by its outbox
      c.client.channels->tracker = std::make_shared<Tracker>(c.client.channels->pushes);
    }
    if (bcast) {
      if (std::string e = table.prefix_collision(*c.client.tracker(), prefixes); !e.empty()) {
        return c.out.error(e);
      }
      if (prefixes.empty()) prefixes.emplace_back();
    }
    Tracker& tr = *c.client.tracker();
    tr.broken.store(false, std::memory_order_relaxed);
    tr.redirect.store(redirect, std::memory_order_relaxed);
    tr.bcast.store(bcast, std::memory_order_relaxed);
    tr.optin.store(optin, std::memory_order_relaxed);
    tr.optout.store(optout, std::memory_order_relaxed);
    tr.noloop.store(noloop, std::memory_order_relaxed);
    table.enable(c.client.channels->tracker, prefixes);
  } else if (ieq(c.argv[2], "off")) {
    if (t != nullptr) {
      table.disable(*t);
      t->caching.store(false, std::memory_order_relaxed);
    }
  } else {
    return c.out.error("ERR syntax error");
  }
  show_flags(c.client);
  c.out.simple_string("OK");
}

void client_caching_cmd(SessionContext& c) {
  Tracker* t = c.client.tracker();
  if (t == nullptr || !t->on.load(std::memory_order_relaxed)) {
    return c.out.error(
        "ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or "
        "OPTOUT mode enabled");
  }
  if (ieq(c.argv[2], "yes")) {
    if (!t->optin.load(std::memory_order_relaxed)) {
      return c.out.error("ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.");
    }
  } else if (ieq(c.argv[2], "no")) {
    if (!t->optout.load(std::memory_order_relaxed)) {
      return c.out.error("ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.");
    }
  } else {
    return c.out.error("ERR syntax error");
  }
  t->caching.store(true, std::memory_order_relaxed);
  c.out.simple_string("OK");
}

void client_getredir_cmd(SessionContext& c) {
  const Tracker* t = c.client.tracker();
  if (t == nullptr || !t->on.load(std::memory_order_relaxed)) return c.out.integer(-1);
  c.out.integer(static_cast<std::int64_t>(t->redirect.load(std::memory_order_relaxed)));
}

void client_trackinginfo_cmd(SessionContext& c) {
  const Tracker* t = c.client.tracker();
  const bool on = t != nullptr && t->on.load(std::memory_order_relaxed);
  std::vector<std::string_view> flags{on ? "on" : "off"};
  if (on) {
    const bool caching = t->caching.load(std::memory_order_relaxed);
    if (t->bcast.load(std::memory_order_relaxed)) flags.push_back("bcast");
    if (t->optin.load(std::memory_order_relaxed)) {
      flags.push_back("optin");
      if (caching) flags.push_back("caching-yes");
    }
    if (t->optout.load(std::memory_order_relaxed)) {
      flags.push_back("optout");
      if (caching) flags.push_back("caching-no");
    }
    if (t->noloop.load(std::memory_order_relaxed)) flags.push_back("noloop");
    if (t->broken.load(std::memory_order_relaxed)) flags.push_back("broken_redirect");
  }
  c.out.map_header(3);
  c.out.bulk("flags");
  c.out.set_header(flags.size());
  for (std::string_view f : flags) c.out.bulk(f);
  c.out.bulk("redirect");
  c.out.integer(on ? static_cast<std::int64_t>(t->redirect.load(std::memory_order_relaxed)) : -1);
  c.out.bulk("prefixes");
  std::vector<std::string> prefixes = on ? t->prefixes : std::vector<std::string>();
  std::sort(prefixes.begin(), prefixes.end());
  c.out.array_header(prefixes.size());
  for (const std::string& p : prefixes) c.out.bulk(p);
}

}  // namespace lfdb::db::tracking
