#include "db/log_records.hpp"

#include "commands/command_table.hpp"

#include <unordered_map>

#include <cstdio>

namespace lfdb::db {
namespace {

enum class Form { kArgv, kStringState, kTtlState, kHashField, kZsetScore, kNone };

Form form_of(std::string_view name) {
  static const std::unordered_map<std::string_view, Form> forms = {
      {"set", Form::kStringState},      {"setex", Form::kStringState},
      {"psetex", Form::kStringState},   {"incrbyfloat", Form::kStringState},
      {"getex", Form::kTtlState},       {"expire", Form::kTtlState},
      {"pexpire", Form::kTtlState},     {"expireat", Form::kTtlState},
      {"pexpireat", Form::kTtlState},   {"hincrbyfloat", Form::kHashField},
      {"eval", Form::kNone},            {"evalsha", Form::kNone},  // scripts log their effects
      {"eval_ro", Form::kNone},         {"evalsha_ro", Form::kNone},
      {"fcall", Form::kNone},           {"fcall_ro", Form::kNone},
      // FUNCTION's writers log themselves, on success (functions/function_commands.cpp)
      {"function|load", Form::kNone},   {"function|delete", Form::kNone},
      {"function|flush", Form::kNone},  {"function|restore", Form::kNone},
      {"restore", Form::kNone},  // the state it left: RESTORE ... ABSTTL or DEL (db/dump/)
      {"migrate", Form::kNone},  // the keys it moved away, as one DEL (db/dump/migrate.cpp)
      {"spop", Form::kNone},  // random: the handler logs SREM (or DEL) of what it popped
      // Blocking pops and their multi-key forms log the plain pop they made (db/blocking/).
      {"blpop", Form::kNone},  {"brpop", Form::kNone},  {"brpoplpush", Form::kNone},
      {"blmove", Form::kNone}, {"blmpop", Form::kNone}, {"lmpop", Form::kNone},
      {"bzpopmin", Form::kNone}, {"bzpopmax", Form::kNone}, {"bzmpop", Form::kNone},
      {"zmpop", Form::kNone},
      // Streams log their effects themselves (db/stream/): XADD with its id, trims as exact
      // XTRIMs, group reads and claims as XCLAIM ... FORCE and XGROUP SETID.
      {"xadd", Form::kNone},   {"xtrim", Form::kNone},   {"xdel", Form::kNone},
      {"xsetid", Form::kNone}, {"xack", Form::kNone},    {"xclaim", Form::kNone},
      {"xautoclaim", Form::kNone}, {"xread", Form::kNone}, {"xreadgroup", Form::kNone},
      {"xgroup|create", Form::kNone}, {"xgroup|setid", Form::kNone},
      {"xgroup|destroy", Form::kNone}, {"xgroup|createconsumer", Form::kNone},
      {"xgroup|delconsumer", Form::kNone},
      {"zincrby", Form::kZsetScore},    {"zadd", Form::kZsetScore},
  };
  auto it = forms.find(name);
  return it == forms.end() ? Form::kArgv : it->second;
}

}  // namespace

void encode_command(std::string& out, std::span<const std::string_view> args) {
  char head[32];
  int n = std::snprintf(head, sizeof head, "*%zu\r\n", args.size());
  out.append(head, static_cast<std::size_t>(n));
  for (std::string_view a : args) {
    n = std::snprintf(head, sizeof head, "$%zu\r\n", a.size());
    out.append(head, static_cast<std::size_t>(n));
    out.append(a);
    out.append("\r\n", 2);
  }
}

void encode_command(std::string& out, std::initializer_list<std::string_view> args) {
  encode_command(out, std::span<const std::string_view>(args.begin(), args.size()));
}

std::size_t count_commands(std::string_view records, std::size_t at_most) {
  // Records are encode_command's: "*<n>\r\n" then n x "$<len>\r\n<bytes>\r\n".
  auto number = [&records](std::size_t& pos) {
    std::size_t v = 0;
    while (pos < records.size() && records[pos] >= '0' && records[pos] <= '9') {
      v = v * 10 + static_cast<std::size_t>(records[pos++] - '0');
    }
    pos += 2;  // CRLF
    return v;
  };
  std::size_t pos = 0, count = 0;
  while (pos < records.size() && count < at_most) {
    ++pos;  // '*'
    const std::size_t n = number(pos);
    for (std::size_t i = 0; i < n; ++i) {
      ++pos;  // '$'
      const std::size_t len = number(pos);
      if (i == 0 && !commands::iequal(records.substr(std::min(pos, records.size()), len), "select")) ++count;
      pos += len + 2;
    }
  }
  return count;
}

void log_effect(const commands::CommandSpec& spec, std::span<const std::string_view> argv,
                Keyspace& ks, std::int64_t now_ms, std::string& out) {
  Form form = form_of(spec.name);
  if (form == Form::kNone) return;
  if (form == Form::kZsetScore && spec.name == "zadd") {
    // Only ZADD ... INCR computes a score; its options come before the score/member pair.
    bool incr = false;
    for (std::size_t i = 2; i + 2 < argv.size() && !incr; ++i) {
      const std::string_view a = argv[i];
      incr = a.size() == 4 && (a[0] | 0x20) == 'i' && (a[1] | 0x20) == 'n' &&
             (a[2] | 0x20) == 'c' && (a[3] | 0x20) == 'r';
    }
    if (!incr) form = Form::kArgv;
  }
  if (form == Form::kArgv) return encode_command(out, argv);
  const std::string_view key = argv[1];
  const Partition& part = ks.of(key);
  const Entry* e = part.peek(key, now_ms);
  if (e == nullptr) return encode_command(out, {"DEL", key});
  const std::int64_t at_ms = part.expire_at(*e);
  const std::string at = std::to_string(at_ms);
  switch (form) {
    case Form::kStringState:
      if (e->value.type() != Type::kString) return encode_command(out, {"DEL", key});
      if (at_ms < 0) return encode_command(out, {"SET", key, e->value.str()});
      return encode_command(out, {"SET", key, e->value.str(), "PXAT", at});
    case Form::kTtlState:
      if (at_ms < 0) return encode_command(out, {"PERSIST", key});
      return encode_command(out, {"PEXPIREAT", key, at});
    case Form::kHashField: {
      if (e->value.type() != Type::kHash) return encode_command(out, argv);
      const auto v = e->value.hash()->get(argv[2]);
      if (!v) return encode_command(out, argv);
      return encode_command(out, {"HSET", key, argv[2], *v});
    }
    case Form::kZsetScore: {
      if (e->value.type() != Type::kZSet) return encode_command(out, argv);
      ZSet::Ref n = e->value.zset()->find(argv.back());
      if (!n) return encode_command(out, argv);
      const std::string score = format_score(n.score());
      return encode_command(out, {"ZADD", key, score, n.member()});
    }
    case Form::kArgv:
    case Form::kNone:
      break;
  }
  encode_command(out, argv);
}

}  // namespace lfdb::db
