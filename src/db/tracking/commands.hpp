// The connection side of client-side caching: a connection's endpoint (its outbox for pushes,
// shared with its pub/sub messages), leaving tracking when it ends or RESETs, and the CLIENT
// subcommands (session handlers: they run on the connection's serving thread).
#pragma once

#include "db/command_context.hpp"
#include "db/tracking/table.hpp"

namespace lfdb::db {
struct ClientState;
class Server;
}  // namespace lfdb::db

namespace lfdb::db::tracking {

// The connection's endpoint, opened (and made a possible REDIRECT target) on first need; on
// its serving thread.
Endpoint& endpoint(ClientState& c, Server& s);
// Tracking off and the endpoint closed: the connection ends, or RESET.
void leave(ClientState& c, Server& s);

void client_tracking_cmd(SessionContext& c);
void client_caching_cmd(SessionContext& c);
void client_getredir_cmd(SessionContext& c);
void client_trackinginfo_cmd(SessionContext& c);

}  // namespace lfdb::db::tracking
