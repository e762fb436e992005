// The session hosts a model test runs over: every model on its default handle set, and the lf
// model on the completion handle set (uring-completion), which hosts sessions itself.
#pragma once

#include <string>
#include <vector>

#include "lf/concurrency_model.hpp"
#include "lf/uring_proactor.hpp"

namespace lf_test {

struct HostCase {
  lf::ModelKind model;
  lf::HandleSetKind handle_set;
};

inline std::vector<HostCase> host_cases() {
  std::vector<HostCase> cases;
  for (lf::ModelKind m : lf::all_models()) cases.push_back({m, lf::ModelOptions{}.handle_set});
  cases.push_back({lf::ModelKind::kLeaderFollowers, lf::HandleSetKind::kUringCompletion});
  return cases;
}

inline std::string host_case_name(const HostCase& c) {
  std::string n = lf::to_string(c.model);
  if (c.handle_set == lf::HandleSetKind::kUringCompletion) n += "_uring_completion";
  for (auto& ch : n) if (ch == '-') ch = '_';
  return n;
}

// Why `c` cannot run here ("" if it can): the completion handle set needs liburing built in and
// a kernel with io_uring and provided buffer rings.
inline std::string host_case_unavailable(const HostCase& c) {
  if (c.handle_set != lf::HandleSetKind::kUringCompletion) return {};
  auto p = lf::UringProactor::create(lf::ProactorOptions{}, [](lf::HandlerId, int) { return nullptr; });
  return p.ok() ? std::string() : p.status().message();
}

}  // namespace lf_test
