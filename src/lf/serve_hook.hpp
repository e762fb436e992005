// Internal to liblf: how a thread of another handle set (the completion set, lf::UringProactor)
// lets UnboundThreadSet::serve_while_processing() serve its set from inside a long handler,
// as set_thread_promote_hook does for promote_new_leader().
#pragma once

namespace lf::detail {

// Serves the calling thread's set for one turn when no thread of it leads; returns how many
// handlers it ran. Per thread; (nullptr, nullptr) unregisters.
using ServeHook = int (*)(void* arg);
void set_thread_serve_hook(ServeHook hook, void* arg);

}  // namespace lf::detail
