// MEMORY USAGE/STATS/DOCTOR/MALLOC-STATS/PURGE/HELP, OBJECT FREQ and OBJECT IDLETIME, and INFO's
// memory section, answered from the allocator (allocator.hpp), the estimator (object_size.hpp)
// and the keys' access clocks (access_clock.hpp).
//
// Thread-safety: MEMORY USAGE and OBJECT run on their key's color; the rest read atomics.
#pragma once

#include <span>
#include <string>

#include "db/command_context.hpp"

namespace lfdb::db {
class Server;
}

namespace lfdb::db::memory {

std::span<const HandlerEntry> memory_handlers();
// INFO memory: "# Memory\r\n" and Redis's fields.
std::string info_section(Server& server);
// Records the allocator's figure once the server is built (used_memory_startup).
void note_startup();

}  // namespace lfdb::db::memory
