// Runs data command handlers over a bare Keyspace, the way the server does (arity checked from
// the command table, `writes` set from the spec's hue class), at a clock the test sets, and
// returns the exact RESP bytes of the reply. Every read-only command run through it is checked
// to leave the keyspace untouched: same size, same entries, same change counters.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "commands/command_table.hpp"
#include "db/command_context.hpp"
#include "db/keyspace.hpp"
#include "resp/reply_parser.hpp"
#include "resp/writer.hpp"

namespace lfdb::db::testing {

// Expected replies.
inline std::string bulk(std::string_view s) {
  return "$" + std::to_string(s.size()) + "\r\n" + std::string(s) + "\r\n";
}
inline std::string integer(std::int64_t n) { return ":" + std::to_string(n) + "\r\n"; }
inline std::string error(std::string_view s) { return "-" + std::string(s) + "\r\n"; }
inline std::string status(std::string_view s) { return "+" + std::string(s) + "\r\n"; }
inline std::string arr(const std::vector<std::string>& elems) {
  std::string out = "*" + std::to_string(elems.size()) + "\r\n";
  for (const auto& e : elems) out += e;
  return out;
}
inline std::string bulks(const std::vector<std::string>& elems) {
  std::vector<std::string> b;
  for (const auto& e : elems) b.push_back(bulk(e));
  return arr(b);
}
inline const std::string kOk = "+OK\r\n";
inline const std::string kNil = "$-1\r\n";
inline const std::string kNil3 = "_\r\n";
inline const std::string kWrong = error(kErrWrongType);

// The scalars of a reply's top-level aggregate (bulk payloads, integers' text), in order.
inline std::vector<std::string> elements(const std::string& reply) {
  resp::ReplyParser parser;
  const auto r = parser.parse(reply);
  EXPECT_TRUE(r.complete()) << reply;
  std::vector<std::string> out;
  if (!r.complete()) return out;
  EXPECT_EQ(r.frame.bytes().size(), reply.size()) << reply;
  for (const auto& f : r.frame.elements()) out.emplace_back(f.payload());
  return out;
}
inline std::vector<std::string> sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

struct ScanPage {
  std::string cursor;
  std::vector<std::string> items;
};
inline ScanPage scan_page(const std::string& reply) {
  resp::ReplyParser parser;
  const auto r = parser.parse(reply);
  ScanPage page;
  EXPECT_TRUE(r.complete() && r.frame.element_count() == 2) << reply;
  if (!r.complete() || r.frame.element_count() != 2) return page;
  auto it = r.frame.elements().begin();
  page.cursor = std::string(it->payload());
  ++it;
  for (const auto& f : it->elements()) page.items.emplace_back(f.payload());
  return page;
}

class HandlerTest : public ::testing::Test {
 protected:
  static constexpr std::int64_t kNow = 1'700'000'000'000;  // ms; tests move `now` by hand

  Keyspace ks{16};
  std::int64_t now = kNow;
  resp::Protocol protocol = resp::Protocol::kResp2;

  static const std::unordered_map<std::string_view, Handler>& handlers() {
    static const auto* table = [] {
      auto* m = new std::unordered_map<std::string_view, Handler>;
      for (auto span : {string_handlers(), key_handlers(), hash_handlers(), list_handlers(),
                        set_handlers(), zset_handlers()}) {
        for (const auto& e : span) m->emplace(e.name, e.handler);
      }
      return m;
    }();
    return *table;
  }

  struct Snapshot {
    std::uint64_t size;
    std::vector<std::uint64_t> changes, stored;
    bool operator==(const Snapshot&) const = default;
  };
  Snapshot snapshot() {
    Snapshot s{ks.size(), {}, {}};
    for (std::uint32_t c = 0; c < ks.colors(); ++c) {
      s.changes.push_back(ks.at(c).changes());
      s.stored.push_back(ks.at(c).map().size());
    }
    return s;
  }

  std::string run(std::vector<std::string> args) {
    std::vector<std::string_view> argv(args.begin(), args.end());
    const commands::Resolved r = commands::resolve(argv);
    if (r.failure == commands::Resolved::Failure::kArity) return error(r.error(argv));
    if (!r) {
      ADD_FAILURE() << "unknown command " << args[0];
      return {};
    }
    const commands::CommandSpec* spec = r.spec;
    auto it = handlers().find(spec->name);
    if (it == handlers().end()) {
      ADD_FAILURE() << "no handler for " << spec->name;
      return {};
    }
    std::string out;
    resp::Writer writer(out, protocol);
    CommandContext ctx{argv, writer, ks, now, nullptr, nullptr, spec};
    using commands::HueClass;
    const bool reader = spec->hue == HueClass::kKeyRead || spec->hue == HueClass::kKeyspaceRead;
    ctx.writes = !reader;
    const Snapshot before = snapshot();
    it->second(ctx);
    if (reader) {
      EXPECT_TRUE(before == snapshot()) << args[0] << " (a reader) changed the keyspace";
    }
    return out;
  }
  std::string run3(std::vector<std::string> args) {
    protocol = resp::Protocol::kResp3;
    std::string out = run(std::move(args));
    protocol = resp::Protocol::kResp2;
    return out;
  }

  // Keys that land in different partitions.
  std::pair<std::string, std::string> keys_in_two_partitions() {
    const std::string a = "key:0";
    for (int i = 1;; ++i) {
      std::string b = "key:" + std::to_string(i);
      if (ks.color_of_key(b) != ks.color_of_key(a)) return {a, b};
    }
  }
  const Entry* stored(std::string_view key) {
    const KeyNode* n = ks.of(key).map().find(key, hash_of(key));
    return n == nullptr ? nullptr : &n->entry;
  }
};

}  // namespace lfdb::db::testing
