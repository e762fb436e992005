// hue-check's proof that it can fail: a small command table whose handlers touch more than their
// hue class allows, each in a different way (a helper's write, a registry, the partition tables,
// a function pointer, a pointer a call computes, a template's call resolved only per
// instantiation, a destructor), next to one handler that is declared right and one declared too
// wide.
// This file is analysed by test_hue_check.py only; no binary links it.
#include <memory>
#include <string>
#include <thread>

#include "db/command_context.hpp"
#include "db/pubsub/registry.hpp"
#include "db/server.hpp"

namespace lfdb::db::hue_check_fixture {
namespace {

using commands::CommandSpec;
using H = commands::HueClass;

// Two calls down from the handler: the access the check must find, with its path.
bool drop_if_empty(CommandContext& c, std::string_view key) {
  return c.part(key).erase(key, c.now_ms);
}
void tidy(CommandContext& c) { (void)drop_if_empty(c, c.arg(1)); }

// Declared key-read, but its helper erases the key: a write of the context.
void fixture_get_cmd(CommandContext& c) {
  const Entry* e = c.find(c.arg(1));
  if (e == nullptr) tidy(c);
  c.out.null();
}

// Declared pubsub-read, but it adds a subscription: a write of global 'pubsub'.
void fixture_listen_cmd(CommandContext& c) {
  (void)c.server->pubsub().add(pubsub::Kind::kChannel, std::string(c.arg(1)), nullptr);
  c.out.simple_string("OK");
}

// Declared key-write, but it empties every database: a write of global 'keyspace'.
void fixture_wipe_cmd(CommandContext& c) {
  c.server->databases().clear();
  c.out.simple_string("OK");
}

// Declared key-read, but it calls through a function pointer the analysis cannot follow.
void (*g_hook)(CommandContext&) = nullptr;
void fixture_hook_cmd(CommandContext& c) {
  if (g_hook != nullptr) g_hook(c);
  c.out.simple_string("OK");
}

// Declared key-read, but it calls through a pointer a call computes (the shape GEOADD's call of
// ZADD once had): no declaration names the callee, so the worst case.
void fixture_erase_cmd(CommandContext& c) { (void)drop_if_empty(c, c.arg(1)); }
Handler pick_handler() { return fixture_erase_cmd; }
void fixture_computed_cmd(CommandContext& c) { pick_handler()(c); }

// Declared key-write, but a template calls a member on an object of its parameter's type:
// instantiated with Wiper, that member empties every database, a write of global 'keyspace'.
// libclang gives the call no callee (it is resolved per instantiation): followed by its name.
struct Wiper {
  Server* server;
  void wipe_everything() { server->databases().clear(); }
};
template <typename Target>
void sweep(Target& t) {
  t.wipe_everything();
}
void fixture_sweep_cmd(CommandContext& c) {
  Wiper w{c.server};
  sweep(w);
  c.out.simple_string("OK");
}

// Declared key-read, but a template calls a member that no project function has and that is not
// a library container's (std::thread's detach): what runs is not known, so the worst case.
template <typename Worker>
void let_go(Worker& w) {
  w.detach();
}
void fixture_detach_cmd(CommandContext& c) {
  std::thread t;
  if (t.joinable()) let_go(t);
  c.out.simple_string("OK");
}

// Declared key-write, but a local object's destructor, which runs where its scope ends (a call
// libclang does not show), empties every database: a write of global 'keyspace'.
struct WipeOnExit {
  Server* server;
  ~WipeOnExit() { server->databases().clear(); }
};
void fixture_scope_cmd(CommandContext& c) {
  WipeOnExit guard{c.server};
  c.out.simple_string("OK");
}

// Declared right: reads its key.
void fixture_strlen_cmd(CommandContext& c) {
  const Entry* e = c.find(c.arg(1));
  c.out.integer(e == nullptr ? 0 : 1);
}

// Declared key-write, touches nothing shared: over-declared (reported, not failed).
void fixture_ping_cmd(CommandContext& c) { c.out.simple_string("OK"); }

}  // namespace

constexpr CommandSpec kFixtureCommands[] = {
    {"fixture.get", 2, 0, 1, 1, 1, H::kKeyRead, {}, "fixture", "reads; its helper erases"},
    {"fixture.listen", 2, 0, 0, 0, 0, H::kPubsubRead, {}, "fixture", "subscribes"},
    {"fixture.wipe", 1, 0, 0, 0, 0, H::kKeyWrite, {}, "fixture", "flushes every database"},
    {"fixture.hook", 2, 0, 1, 1, 1, H::kKeyRead, {}, "fixture", "calls a hook"},
    {"fixture.computed", 2, 0, 1, 1, 1, H::kKeyRead, {}, "fixture", "calls a computed pointer"},
    {"fixture.sweep", 1, 0, 0, 0, 0, H::kKeyWrite, {}, "fixture", "a template's member call flushes"},
    {"fixture.detach", 1, 0, 0, 0, 0, H::kKeyRead, {}, "fixture", "a template's unknown member call"},
    {"fixture.scope", 1, 0, 0, 0, 0, H::kKeyWrite, {}, "fixture", "a destructor flushes"},
    {"fixture.strlen", 2, 0, 1, 1, 1, H::kKeyRead, {}, "fixture", "reads its key"},
    {"fixture.ping", 1, 0, 0, 0, 0, H::kKeyWrite, {}, "fixture", "touches nothing"},
};

constexpr HandlerEntry kFixtureHandlers[] = {
    {"fixture.get", fixture_get_cmd},       {"fixture.listen", fixture_listen_cmd},
    {"fixture.wipe", fixture_wipe_cmd},     {"fixture.hook", fixture_hook_cmd},
    {"fixture.strlen", fixture_strlen_cmd}, {"fixture.ping", fixture_ping_cmd},
    {"fixture.computed", fixture_computed_cmd}, {"fixture.sweep", fixture_sweep_cmd},
    {"fixture.detach", fixture_detach_cmd},     {"fixture.scope", fixture_scope_cmd},
};

}  // namespace lfdb::db::hue_check_fixture
