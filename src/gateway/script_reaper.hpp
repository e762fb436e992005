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
// Thread-safety: gone() and answered() post to the reaper's mailbox from any thread; its own
// thread (lf::spawn) owns the counts and the sockets.
#pragma once

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

  struct Gone {
    using sendable_value = void;
    int shard;
    int scripts;
  };
  struct Answered {
    using sendable_value = void;
    int shard;
  };
  using Box = lf::Mailbox<Gone, Answered>;

 private:
  std::shared_ptr<Box> box_;
  lf::SpawnedThread thread_;
};

}  // namespace lfdb::gateway
