// Internal to liblf: constructors of the concurrency models (see concurrency_model.hpp).
#pragma once

#include "lf/concurrency_model.hpp"

namespace lf::detail {

std::unique_ptr<ConcurrencyModel> make_leader_followers(ModelKind kind, const ModelOptions& o, Service& s,
                                                        int handle_sets);
std::unique_ptr<ConcurrencyModel> make_single_threaded_reactor(const ModelOptions& o, Service& s);
std::unique_ptr<ConcurrencyModel> make_half_sync_half_reactive(const ModelOptions& o, Service& s);
std::unique_ptr<ConcurrencyModel> make_thread_per_connection(const ModelOptions& o, Service& s);
// lf over the completion handle set (HandleSetKind::kUringCompletion): uring_connection.cpp.
std::unique_ptr<ConcurrencyModel> make_uring_completion(const ModelOptions& o, Service& s);

}  // namespace lf::detail
