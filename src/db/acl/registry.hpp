// The user registry: every ACL user by name, server-wide shared state (docs/hue.md: the global
// "acl"). Its writers (ACL SETUSER, DELUSER) are declared acl-write and so never run at once;
// each publishes whole new immutable Users and moves the generation. Readers (AUTH, ACL GETUSER,
// a session refreshing its snapshot) take the registry's mutex only to copy a shared_ptr out.
//
// The hot path does not touch the registry: a session keeps a snapshot (shared_ptr to const
// User) and compares generation() — one relaxed load — before each command; only when it moved
// does it look its user up again (and a deleted user's connections close, as Redis closes them).
//
// AclLog: ACL LOG's entries (refused commands, keys, channels, failed AUTHs), grouped as Redis
// groups them; a monitor of its own (any thread appends).
//
// Thread-safety: registry and log guard themselves (their mutexes); Users are immutable.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "db/acl/user.hpp"
#include "lf/mutex.hpp"
#include "lf/thread_annotations.hpp"

namespace lfdb::db::acl {

class UserRegistry {
 public:
  UserRegistry();

  std::shared_ptr<const User> find(std::string_view name) const LF_EXCLUDES(mu_);
  std::shared_ptr<const User> default_user() const LF_EXCLUDES(mu_) { return find("default"); }
  std::uint64_t generation() const { return generation_.load(std::memory_order_relaxed); }
  std::vector<std::shared_ptr<const User>> users() const LF_EXCLUDES(mu_);  // by name

  // ACL SETUSER: the rules applied to a copy of the user (a new one when none has the name),
  // published only when all apply. "" or Redis's error (without '-').
  std::string set_user(std::string_view name, std::span<const std::string_view> rules)
      LF_EXCLUDES(mu_);
  // ACL DELUSER: how many of the names were deleted (`default` is refused before, by the caller).
  std::size_t del_users(std::span<const std::string_view> names) LF_EXCLUDES(mu_);
  // ACL LOAD / the server's start: `users` (checked, names unique) become the whole set at
  // once. The default user keeps its identity (its connections stay), with the rules the set
  // gives it or, when it names none, the rules a new server starts with; every other user is
  // new. Returns the names of the users replaced, whose connections Redis closes.
  std::vector<std::string> replace_all(std::vector<std::shared_ptr<User>> users) LF_EXCLUDES(mu_);
  // requirepass: the default user's password (`resetpass` then `>pass`, or `nopass` when empty).
  void set_default_password(std::string_view pass) LF_EXCLUDES(mu_);
  // Whether a new connection starts unauthenticated: the default user is off or has a password.
  bool auth_required() const LF_EXCLUDES(mu_);

 private:
  static std::shared_ptr<User> new_default_user();
  void publish(std::shared_ptr<User> u) LF_EXCLUDES(mu_);
  void publish_locked(std::shared_ptr<User> u) LF_REQUIRES(mu_);

  mutable lf::Mutex mu_;
  std::map<std::string, std::shared_ptr<const User>, std::less<>> users_ LF_GUARDED_BY(mu_);
  std::uint64_t next_id_ LF_GUARDED_BY(mu_) = 1;
  std::atomic<std::uint64_t> generation_{1};
};

struct AclLogEntry {
  std::uint64_t count = 1;
  std::string reason;   // command, key, channel, auth
  std::string context;  // toplevel, multi, lua
  std::string object;
  std::string username;
  std::int64_t ctime_ms = 0;
  std::string client_info;
};

class AclLog {
 public:
  void add(AclLogEntry e) LF_EXCLUDES(mu_);
  std::vector<AclLogEntry> newest(std::size_t n) const LF_EXCLUDES(mu_);
  void reset() LF_EXCLUDES(mu_);
  // acllog-max-len: the entries kept; a smaller bound trims the oldest at the next add, as in
  // Redis.
  void set_max_len(std::size_t n) LF_EXCLUDES(mu_);

 private:
  mutable lf::Mutex mu_;
  std::deque<AclLogEntry> entries_ LF_GUARDED_BY(mu_);  // newest first
  std::size_t max_len_ LF_GUARDED_BY(mu_) = 128;        // acllog-max-len's default
};

}  // namespace lfdb::db::acl
