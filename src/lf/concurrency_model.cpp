#include "lf/concurrency_model.hpp"

#include <unistd.h>

#include <algorithm>

#include "models.hpp"

namespace lf {

const char* to_string(ModelKind k) {
  switch (k) {
    case ModelKind::kLeaderFollowers: return "lf";
    case ModelKind::kLeaderFollowersMulti: return "lf-multi";
    case ModelKind::kHalfSyncHalfReactive: return "hsha";
    case ModelKind::kThreadPerConnection: return "tpc";
    case ModelKind::kSingleThreadedReactor: return "reactor";
  }
  return "?";
}

bool parse_model(const std::string& s, ModelKind& out) {
  for (ModelKind k : all_models()) {
    if (s == to_string(k)) {
      out = k;
      return true;
    }
  }
  return false;
}

std::vector<ModelKind> all_models() {
  return {ModelKind::kLeaderFollowers, ModelKind::kLeaderFollowersMulti,
          ModelKind::kHalfSyncHalfReactive, ModelKind::kThreadPerConnection,
          ModelKind::kSingleThreadedReactor};
}

Result<std::unique_ptr<ConcurrencyModel>> ConcurrencyModel::create(ModelKind kind, ModelOptions o,
                                                                   Service& service) {
  if (o.threads < 1) return Status::error("--threads must be at least 1");
  if (o.read_chunk < 512) o.read_chunk = 512;
  if (o.handle_set == HandleSetKind::kUringCompletion) {
    // The completion handle set hosts the sessions itself (uring_connection.hpp): one set,
    // its own threads; the other models' machinery is the reactor's.
    if (kind != ModelKind::kLeaderFollowers) {
      return Status::error(std::string("the handle set uring-completion runs with the model lf only, not ") +
                           to_string(kind));
    }
    return detail::make_uring_completion(o, service);
  }
  switch (kind) {
    case ModelKind::kLeaderFollowers:
      return detail::make_leader_followers(kind, o, service, 1);
    case ModelKind::kLeaderFollowersMulti: {
      int cpus = static_cast<int>(std::max(1L, ::sysconf(_SC_NPROCESSORS_ONLN)));
      int sets = o.handle_sets > 0 ? o.handle_sets : std::min(o.threads, cpus);
      sets = std::clamp(sets, 1, o.threads);
      return detail::make_leader_followers(kind, o, service, sets);
    }
    case ModelKind::kHalfSyncHalfReactive:
      return detail::make_half_sync_half_reactive(o, service);
    case ModelKind::kThreadPerConnection:
      return detail::make_thread_per_connection(o, service);
    case ModelKind::kSingleThreadedReactor:
      return detail::make_single_threaded_reactor(o, service);
  }
  return Status::error("unknown model");
}

}  // namespace lf
