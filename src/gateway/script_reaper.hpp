// gateway::ScriptReaper: stops the scripts of clients that have gone.
//
// A client that disconnects while its EVALs still run or wait on a shard leaves them to run one
// after another on the back-end, though nobody will read their replies; a runaway one holds a
// back-end thread, and the shared connection it came on, for good. The client tells the reaper
// how many of its scripts are in flight on which shard (gone) and then of each one that is
// answered, killed or not (answered). While a shard has any left, the reaper sends it SCRIPT KILL,
// one at a time, on a connection of its own (the shared ones are queued behind the scripts). The
// back-end kills a script once it is busy (past busy-reply-threshold; a SCRIPT KILL sent earlier
// is answered then, as Redis answers it); one that has written runs to its end (UNKILLABLE).
// SCRIPT KILL stops every busy script of the shard, also another client's: what a busy script
// is there for.
//
// Bound forwarding awaits a script's reply in the client's own dispatch, so nothing else reads
// that client meanwhile: it asks the reaper to watch the client's socket while it waits (watch,
// unwatch), and the reaper counts the script as a gone client's once the socket hangs up.
//
// Thread-safety: gone() and answered() post to the reaper's mailbox from any thread; its own
// thread (lf::spawn) owns the counts and the sockets.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "gateway/config.hpp"
#include "lf/mailbox.hpp"
#include "lf/spawn.hpp"

namespace lfdb::gateway {

class ScriptReaper {
 public:
  // The shards' primaries, in shard order; `password` is sent as AUTH first when not empty.
  ScriptReaper(const std::vector<Endpoint>& primaries, const std::string& password);
  ~ScriptReaper();  // stops its thread (a SCRIPT KILL waiting for its reply is abandoned)
  ScriptReaper(const ScriptReaper&) = delete;
  ScriptReaper& operator=(const ScriptReaper&) = delete;

  void gone(int shard, int scripts);  // a gone client's scripts in flight on `shard`
  void answered(int shard);           // one of them has its reply (or failed)
  // A script's reply awaited on `shard` for the client on fd (open until unwatch: its handler is
  // held by the waiting thread); the returned id ends the watch once the reply is in.
  std::uint64_t watch(int fd, int shard);
  void unwatch(std::uint64_t id);

  struct Gone {
    using sendable_value = void;
    int shard;
    int scripts;
  };
  struct Answered {
    using sendable_value = void;
    int shard;
  };
  struct Watch {
    using sendable_value = void;
    std::uint64_t id;
    int fd;
    int shard;
  };
  struct Unwatch {
    using sendable_value = void;
    std::uint64_t id;
  };
  using Box = lf::Mailbox<Gone, Answered, Watch, Unwatch>;

 private:
  std::shared_ptr<Box> box_;
  std::atomic<std::uint64_t> next_watch_{1};
  lf::SpawnedThread thread_;
};

}  // namespace lfdb::gateway
