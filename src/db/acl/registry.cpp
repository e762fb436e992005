#include "db/acl/registry.hpp"

namespace lfdb::db::acl {

std::shared_ptr<User> UserRegistry::new_default_user() {
  auto u = std::make_shared<User>("default");
  for (std::string_view r : {"+@all", "~*", "&*", "on", "nopass"}) (void)u->apply_rule(r);
  return u;
}

UserRegistry::UserRegistry() { publish(new_default_user()); }

std::vector<std::string> UserRegistry::replace_all(std::vector<std::shared_ptr<User>> users) {
  std::shared_ptr<User> def;
  for (auto& u : users) {
    if (u->name == "default") def = u;
  }
  if (!def) users.push_back(def = new_default_user());
  std::vector<std::string> replaced;
  lf::MutexLock lock(mu_);
  for (const auto& [name, u] : users_) {
    if (name != "default") replaced.push_back(name);
  }
  const std::uint64_t default_id = users_.at("default")->id;
  users_.clear();
  for (auto& u : users) {
    u->id = u == def ? default_id : next_id_++;
    u->refresh();
    users_[u->name] = std::move(u);
  }
  generation_.fetch_add(1, std::memory_order_relaxed);
  return replaced;
}

std::shared_ptr<const User> UserRegistry::find(std::string_view name) const {
  lf::MutexLock lock(mu_);
  const auto it = users_.find(name);
  return it == users_.end() ? nullptr : it->second;
}

std::vector<std::shared_ptr<const User>> UserRegistry::users() const {
  lf::MutexLock lock(mu_);
  std::vector<std::shared_ptr<const User>> out;
  out.reserve(users_.size());
  for (const auto& [name, u] : users_) out.push_back(u);
  return out;
}

void UserRegistry::publish(std::shared_ptr<User> u) {
  lf::MutexLock lock(mu_);
  publish_locked(std::move(u));
}

void UserRegistry::publish_locked(std::shared_ptr<User> u) {
  u->refresh();
  if (u->id == 0) u->id = next_id_++;
  users_[u->name] = std::move(u);
  generation_.fetch_add(1, std::memory_order_relaxed);
}

// The whole read-modify-write under the mutex: a CONFIG SET requirepass (which changes the
// default user outside the "acl" declaration) cannot fall between the copy and the publish.
std::string UserRegistry::set_user(std::string_view name, std::span<const std::string_view> rules) {
  std::vector<std::string> merged;
  std::size_t bad = 0;
  if (!merge_selector_args(rules, merged, bad)) {
    return "ERR Unmatched parenthesis in acl selector starting at '" + std::string(rules[bad]) + "'.";
  }
  lf::MutexLock lock(mu_);
  const auto it = users_.find(name);
  auto u = it != users_.end() ? std::make_shared<User>(*it->second)
                              : std::make_shared<User>(std::string(name));
  for (const std::string& r : merged) {
    if (std::string e = u->apply_rule(r); !e.empty()) {
      return "ERR Error in ACL SETUSER modifier '" + r + "': " + e;
    }
  }
  publish_locked(std::move(u));
  return "";
}

std::size_t UserRegistry::del_users(std::span<const std::string_view> names) {
  std::size_t n = 0;
  lf::MutexLock lock(mu_);
  for (std::string_view name : names) {
    const auto it = users_.find(name);
    if (it == users_.end() || name == "default") continue;
    users_.erase(it);
    ++n;
  }
  if (n != 0) generation_.fetch_add(1, std::memory_order_relaxed);
  return n;
}

void UserRegistry::set_default_password(std::string_view pass) {
  lf::MutexLock lock(mu_);
  auto u = std::make_shared<User>(*users_.at("default"));
  (void)u->apply_rule("resetpass");
  if (pass.empty()) {
    (void)u->apply_rule("nopass");
  } else {
    (void)u->apply_rule(">" + std::string(pass));
  }
  publish_locked(std::move(u));
}

bool UserRegistry::auth_required() const {
  const std::shared_ptr<const User> d = default_user();
  return !(d->enabled && d->nopass);
}

void AclLog::add(AclLogEntry e) {
  lf::MutexLock lock(mu_);
  // An entry like one of the latest ten within a minute counts there instead (Redis's grouping).
  const std::size_t look = std::min<std::size_t>(entries_.size(), 10);
  for (std::size_t i = 0; i < look; ++i) {
    AclLogEntry& old = entries_[i];
    const std::int64_t delta = old.ctime_ms > e.ctime_ms ? old.ctime_ms - e.ctime_ms : e.ctime_ms - old.ctime_ms;
    if (old.reason == e.reason && old.context == e.context && old.object == e.object &&
        old.username == e.username && delta <= 60000) {
      AclLogEntry moved = std::move(old);
      moved.count++;
      moved.ctime_ms = e.ctime_ms;
      moved.client_info = std::move(e.client_info);
      entries_.erase(entries_.begin() + static_cast<std::ptrdiff_t>(i));
      entries_.push_front(std::move(moved));
      return;
    }
  }
  entries_.push_front(std::move(e));
  while (entries_.size() > max_len_) entries_.pop_back();
}

void AclLog::set_max_len(std::size_t n) {
  lf::MutexLock lock(mu_);
  max_len_ = n;
}

std::vector<AclLogEntry> AclLog::newest(std::size_t n) const {
  lf::MutexLock lock(mu_);
  const std::size_t k = std::min(n, entries_.size());
  return std::vector<AclLogEntry>(entries_.begin(), entries_.begin() + static_cast<std::ptrdiff_t>(k));
}

void AclLog::reset() {
  lf::MutexLock lock(mu_);
  entries_.clear();
}

}  // namespace lfdb::db::acl
