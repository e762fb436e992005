#include "db/functions/library_registry.hpp"

#include <cctype>
#include <utility>

namespace lfdb::db::functions {

namespace {
struct NamedFlag {
  std::string_view name;
  std::uint32_t flag;
};
constexpr NamedFlag kFlags[] = {{"no-writes", kNoWrites},
                                {"allow-oom", kAllowOom},
                                {"allow-stale", kAllowStale},
                                {"no-cluster", kNoCluster},
                                {"allow-cross-slot-keys", kAllowCrossSlotKeys}};
// Function names are case-insensitive, as in Redis (FCALL TEST finds test).
bool same_name(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto x = static_cast<unsigned char>(a[i]), y = static_cast<unsigned char>(b[i]);
    if (std::tolower(x) != std::tolower(y)) return false;
  }
  return true;
}
}  // namespace

std::uint32_t flag_by_name(std::string_view name) {
  for (const NamedFlag& f : kFlags) {
    if (f.name == name) return f.flag;
  }
  return 0;
}

std::vector<std::string_view> flag_names(std::uint32_t flags) {
  std::vector<std::string_view> out;
  for (const NamedFlag& f : kFlags) {
    if ((flags & f.flag) != 0) out.push_back(f.name);
  }
  return out;
}

bool LibraryRegistry::conflicts(const Library& lib, std::string& err) const {
  for (const auto& [name, other] : libraries_) {
    if (name == lib.name) continue;  // replaced
    for (const FunctionInfo& mine : lib.functions) {
      for (const FunctionInfo& theirs : other.functions) {
        if (same_name(mine.name, theirs.name)) {
          err = "ERR Function " + mine.name + " already exists";
          return true;
        }
      }
    }
  }
  return false;
}

bool LibraryRegistry::add(Library lib, bool replace, std::string& err) {
  lf::MutexLock lock(mu_);
  if (!replace && libraries_.find(lib.name) != libraries_.end()) {
    err = "ERR Library '" + lib.name + "' already exists";
    return false;
  }
  if (conflicts(lib, err)) return false;
  std::string name = lib.name;
  libraries_[name] = std::move(lib);
  generation_.fetch_add(1, std::memory_order_acq_rel);
  return true;
}

bool LibraryRegistry::remove(std::string_view name) {
  lf::MutexLock lock(mu_);
  auto it = libraries_.find(name);
  if (it == libraries_.end()) return false;
  libraries_.erase(it);
  generation_.fetch_add(1, std::memory_order_acq_rel);
  return true;
}

void LibraryRegistry::flush() {
  lf::MutexLock lock(mu_);
  libraries_.clear();
  generation_.fetch_add(1, std::memory_order_acq_rel);
}

void LibraryRegistry::assign(std::vector<Library> libs) {
  lf::MutexLock lock(mu_);
  libraries_.clear();
  for (Library& l : libs) {
    std::string name = l.name;
    libraries_[name] = std::move(l);
  }
  generation_.fetch_add(1, std::memory_order_acq_rel);
}

std::vector<Library> LibraryRegistry::snapshot() const {
  lf::MutexLock lock(mu_);
  std::vector<Library> out;
  out.reserve(libraries_.size());
  for (const auto& [name, lib] : libraries_) out.push_back(lib);
  return out;
}

bool LibraryRegistry::find_function(std::string_view function, std::string& library,
                                    std::string& canonical, std::uint32_t& flags) const {
  lf::MutexLock lock(mu_);
  for (const auto& [name, lib] : libraries_) {
    for (const FunctionInfo& f : lib.functions) {
      if (same_name(f.name, function)) {
        library = name;
        canonical = f.name;
        flags = f.flags;
        return true;
      }
    }
  }
  return false;
}

bool LibraryRegistry::has_library(std::string_view name) const {
  lf::MutexLock lock(mu_);
  return libraries_.find(name) != libraries_.end();
}

std::size_t LibraryRegistry::library_count() const {
  lf::MutexLock lock(mu_);
  return libraries_.size();
}

std::size_t LibraryRegistry::function_count() const {
  lf::MutexLock lock(mu_);
  std::size_t n = 0;
  for (const auto& [name, lib] : libraries_) n += lib.functions.size();
  return n;
}

}  // namespace lfdb::db::functions
