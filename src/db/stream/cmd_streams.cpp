// The stream commands on entries: XADD XRANGE XREVRANGE XLEN XDEL XTRIM XSETID and XINFO.
// Replies and error texts are Redis 7.0's; arguments are checked in Redis's order, and every
// check comes before the first change.
//
// The log gets effects, never a command whose outcome depends on the clock or the stream's
// layout: XADD with the id it assigned, and a trim (XADD's or XTRIM's, approximate or limited)
// as the exact XTRIM that removes the same entries (MINID = the first entry left, or MAXLEN = 0
// when none is left).
#include <algorithm>
#include <charconv>
#include <cstring>
#include <string>
#include <vector>

#include "db/pubsub/notify.hpp"
#include "db/stream/common.hpp"

namespace lfdb::db::stream {

namespace {

// A RESP length line ("$3\r\n", "*6\r\n") at p; returns its end.
char* put_header(char* p, char type, std::size_t n) {
  *p++ = type;
  if (n < 10) {
    *p++ = static_cast<char>('0' + n);
  } else if (n < 100) {
    *p++ = static_cast<char>('0' + n / 10);
    *p++ = static_cast<char>('0' + n % 10);
  } else {
    p = std::to_chars(p, p + 20, n).ptr;
  }
  *p++ = '\r';
  *p++ = '\n';
  return p;
}

char* put_bulk(char* p, std::string_view s) {
  p = put_header(p, '$', s.size());
  std::memcpy(p, s.data(), s.size());
  p += s.size();
  *p++ = '\r';
  *p++ = '\n';
  return p;
}

}  // namespace

void EntryWriter::write(const EntryRef& e) {
  // Room for the worst case: every length line at its longest (23 bytes), the id's 41
  // characters, and the bytes of the names and values (their varint lengths become lines).
  constexpr std::size_t kLine = 23 + 2;
  const std::size_t room = 4 + kLine + 41 + kLine + e.names_size + e.body_size +
                           2 * static_cast<std::size_t>(e.pairs) * kLine;
  const std::size_t at = out_.size();
  out_.resize(at + room);
  char* p = out_.data() + at;
  std::memcpy(p, "*2\r\n", 4);
  p += 4;
  if (!have_ms_ || e.id.ms != ms_) {
    ms_len_ = static_cast<std::size_t>(std::to_chars(ms_text_, ms_text_ + sizeof ms_text_, e.id.ms).ptr - ms_text_);
    ms_ = e.id.ms;
    have_ms_ = true;
  }
  char seq[24];
  const auto seq_len = static_cast<std::size_t>(std::to_chars(seq, seq + sizeof seq, e.id.seq).ptr - seq);
  p = put_header(p, '$', ms_len_ + 1 + seq_len);
  std::memcpy(p, ms_text_, ms_len_);
  p += ms_len_;
  *p++ = '-';
  std::memcpy(p, seq, seq_len);
  p += seq_len;
  *p++ = '\r';
  *p++ = '\n';
  p = put_header(p, '*', 2 * static_cast<std::size_t>(e.pairs));
  e.each([&](std::string_view f, std::string_view v) {
    p = put_bulk(p, f);
    p = put_bulk(p, v);
  });
  out_.resize(static_cast<std::size_t>(p - out_.data()));
}

void insert_array_header(CommandContext& c, std::size_t mark, std::size_t n) {
  char line[24];
  const char* end = put_header(line, '*', n);
  c.out.buffer().insert(mark, line, static_cast<std::size_t>(end - line));
}

bool parse_range_start(CommandContext& c, std::string_view arg, StreamId& id) {
  const bool ex = arg.size() > 1 && arg[0] == '(';
  if (!parse_id(ex ? arg.substr(1) : arg, id, 0, ex)) {
    c.out.error(kErrInvalidId);
    return false;
  }
  if (ex && !id.incr()) {
    c.out.error(kErrStartId);
    return false;
  }
  return true;
}

bool parse_range_end(CommandContext& c, std::string_view arg, StreamId& id) {
  const bool ex = arg.size() > 1 && arg[0] == '(';
  if (!parse_id(ex ? arg.substr(1) : arg, id, ~std::uint64_t{0}, ex)) {
    c.out.error(kErrInvalidId);
    return false;
  }
  if (ex && !id.decr()) {
    c.out.error(kErrEndId);
    return false;
  }
  return true;
}

void subcommand_syntax_error(CommandContext& c) {
  std::string upper(c.arg(0));
  for (char& ch : upper) ch = (ch >= 'a' && ch <= 'z') ? static_cast<char>(ch - 'a' + 'A') : ch;
  c.out.error("ERR unknown subcommand or wrong number of arguments for '" +
              std::string(c.arg(1).substr(0, 128)) + "'. Try " + upper + " HELP.");
}

namespace {

struct AddArgs {
  TrimSpec trim;
  bool nomkstream = false;
  bool id_given = false;
  bool seq_given = true;
  StreamId id;
};

// XADD's and XTRIM's options (streamParseAddOrTrimArgsOrReply): the position of XADD's id, or
// 0 with the error written.
std::size_t parse_add_trim(CommandContext& c, AddArgs& a, bool xadd) {
  using S = TrimSpec::Strategy;
  std::size_t i = 2;
  bool limit_given = false;
  for (; i < c.argc(); ++i) {
    const std::size_t more = c.argc() - 1 - i;
    const std::string_view opt = c.arg(i);
    const bool maxlen = iequal(opt, "maxlen");
    if (xadd && opt == "*") {
      break;
    } else if ((maxlen || iequal(opt, "minid")) && more != 0) {
      if (a.trim.strategy != S::kNone) {
        c.out.error("ERR syntax error, MAXLEN and MINID options at the same time are not compatible");
        return 0;
      }
      a.trim.approx = false;
      const std::string_view next = c.arg(i + 1);
      if (more >= 2 && next == "~") {
        a.trim.approx = true;
        ++i;
      } else if (more >= 2 && next == "=") {
        ++i;
      }
      if (maxlen) {
        std::int64_t n = 0;
        if (!parse_int(c.arg(i + 1), n)) {
          c.out.error(kErrNotInteger);
          return 0;
        }
        if (n < 0) {
          c.out.error("ERR The MAXLEN argument must be >= 0.");
          return 0;
        }
        a.trim.maxlen = static_cast<std::uint64_t>(n);
        a.trim.strategy = S::kMaxLen;
      } else {
        if (!parse_id(c.arg(i + 1), a.trim.minid, 0, true)) {
          c.out.error(kErrInvalidId);
          return 0;
        }
        a.trim.strategy = S::kMinId;
      }
      ++i;
    } else if (iequal(opt, "limit") && more != 0) {
      if (!parse_int(c.arg(i + 1), a.trim.limit)) {
        c.out.error(kErrNotInteger);
        return 0;
      }
      if (a.trim.limit < 0) {
        c.out.error("ERR The LIMIT argument must be >= 0.");
        return 0;
      }
      limit_given = true;
      ++i;
    } else if (xadd && iequal(opt, "nomkstream")) {
      a.nomkstream = true;
    } else if (xadd) {
      if (!parse_id(opt, a.id, 0, true, &a.seq_given)) {
        c.out.error(kErrInvalidId);
        return 0;
      }
      a.id_given = true;
      break;
    } else {
      c.out.error(kErrSyntax);
      return 0;
    }
  }
  if (a.trim.limit != 0 && a.trim.strategy == S::kNone) {
    c.out.error("ERR syntax error, LIMIT cannot be used without specifying a trimming strategy");
    return 0;
  }
  if (!xadd && a.trim.strategy == S::kNone) {
    c.out.error("ERR syntax error, XTRIM must be called with a trimming strategy");
    return 0;
  }
  if (limit_given) {
    if (!a.trim.approx) {
      c.out.error("ERR syntax error, LIMIT cannot be used without the special ~ option");
      return 0;
    }
  } else {
    // Approximate trimming does at most 100 blocks' worth of work unless told otherwise.
    std::int64_t limit = static_cast<std::int64_t>(std::min<std::uint64_t>(
        100 * Stream::block_entries(), 1000000));
    if (limit <= 0) limit = 10000;
    a.trim.limit = a.trim.approx ? limit : 0;
  }
  return i;
}

// A trim that removed entries, as the exact XTRIM that removes the same ones.
void log_trim(CommandContext& c, std::string_view key, const Stream& s) {
  if (s.length() == 0) return log_record(c, {"XTRIM", key, "MAXLEN", "=", "0"});
  const std::string first = s.first_id().str();
  log_record(c, {"XTRIM", key, "MINID", "=", first});
}

void xadd_cmd(CommandContext& c) {
  AddArgs a;
  const std::size_t idpos = parse_add_trim(c, a, true);
  if (idpos == 0) return;
  const std::size_t fields_at = idpos + 1;
  if (c.argc() < fields_at + 2 || (c.argc() - fields_at) % 2 != 0) {
    return c.out.error(commands::wrong_arity_error(c.spec->name));
  }
  if (a.id_given && a.seq_given && a.id.is_zero()) {
    return c.out.error("ERR The ID specified in XADD must be greater than 0-0");
  }
  const std::string_view key = c.arg(1);
  bool wrong = false;
  Stream* s = stream_at(c, key, wrong);
  if (wrong) return c.out.error(kErrWrongType);
  if (s == nullptr && a.nomkstream) return c.out.null();
  const StreamId last = s != nullptr ? s->last_id() : StreamId{};
  if (last.is_max()) {
    return c.out.error("ERR The stream has exhausted the last possible ID, unable to add more items");
  }
  StreamId id;
  bool ok = true;
  if (!a.id_given) {
    const auto now = static_cast<std::uint64_t>(clock_ms(c));
    id = now > last.ms ? StreamId{now, 0} : last;
    if (now <= last.ms) id.incr();
  } else if (!a.seq_given) {
    id = a.id;
    if (last.ms == a.id.ms) {
      id = last;
      ok = id.incr() && id.ms == a.id.ms;
    }
  } else {
    id = a.id;
  }
  if (!ok || id <= last) {
    return c.out.error("ERR The ID specified in XADD is equal or smaller than the target stream top item");
  }
  if (s == nullptr) s = &stream_create(c, key);
  const std::span<const std::string_view> fields = c.argv.subspan(fields_at);
  s->append(id, fields);
  StreamId::Text buf;
  const std::string_view ids = id.text(buf);
  c.out.bulk(ids);
  c.part(key).modified(key);
  pubsub::event(pubsub::kEvStream, "xadd", key);
  if (logging()) {
    std::vector<std::string_view> rec{"XADD", key, ids};
    rec.insert(rec.end(), fields.begin(), fields.end());
    log_record(c, rec);
  }
  if (a.trim.strategy != TrimSpec::Strategy::kNone && s->trim(a.trim) != 0) {
    pubsub::event(pubsub::kEvStream, "xtrim", key);
    log_trim(c, key, *s);
  }
}

void xtrim_cmd(CommandContext& c) {
  AddArgs a;
  if (parse_add_trim(c, a, false) == 0) return;
  const std::string_view key = c.arg(1);
  bool wrong = false;
  Stream* s = stream_at(c, key, wrong);
  if (wrong) return c.out.error(kErrWrongType);
  if (s == nullptr) return c.out.integer(0);
  const std::uint64_t n = s->trim(a.trim);
  if (n != 0) {
    pubsub::event(pubsub::kEvStream, "xtrim", key);
    c.part(key).modified(key);
    log_trim(c, key, *s);
  }
  c.out.integer(static_cast<std::int64_t>(n));
}

void range_generic(CommandContext& c, bool rev) {
  StreamId start, end;
  if (!parse_range_start(c, c.arg(rev ? 3 : 2), start)) return;
  if (!parse_range_end(c, c.arg(rev ? 2 : 3), end)) return;
  std::int64_t count = -1;
  for (std::size_t j = 4; j < c.argc(); ++j) {
    if (iequal(c.arg(j), "count") && j + 1 < c.argc()) {
      if (!parse_int(c.arg(j + 1), count)) return c.out.error(kErrNotInteger);
      if (count < 0) count = 0;
      ++j;
    } else {
      return c.out.error(kErrSyntax);
    }
  }
  bool wrong = false;
  const Stream* s = stream_at(c, c.arg(1), wrong);
  if (wrong) return c.out.error(kErrWrongType);
  if (s == nullptr) return c.out.array_header(0);
  if (count == 0) return c.out.null_array();
  reply_entries(c, *s, start, end, rev, count < 0 ? 0 : static_cast<std::uint64_t>(count),
                [](StreamId) {});
}

void xrange_cmd(CommandContext& c) { range_generic(c, false); }
void xrevrange_cmd(CommandContext& c) { range_generic(c, true); }

void xlen_cmd(CommandContext& c) {
  bool wrong = false;
  const Stream* s = stream_at(c, c.arg(1), wrong);
  if (wrong) return c.out.error(kErrWrongType);
  c.out.integer(s == nullptr ? 0 : static_cast<std::int64_t>(s->length()));
}

void xdel_cmd(CommandContext& c) {
  const std::string_view key = c.arg(1);
  bool wrong = false;
  Stream* s = stream_at(c, key, wrong);
  if (wrong) return c.out.error(kErrWrongType);
  if (s == nullptr) return c.out.integer(0);
  std::vector<StreamId> ids(c.argc() - 2);
  for (std::size_t j = 2; j < c.argc(); ++j) {
    if (!parse_id(c.arg(j), ids[j - 2], 0, true)) return c.out.error(kErrInvalidId);
  }
  std::int64_t deleted = 0;
  for (const StreamId& id : ids) {
    if (!s->erase(id)) continue;
    if (id > s->max_deleted_id()) s->set_max_deleted_id(id);
    ++deleted;
  }
  if (deleted != 0) {
    c.part(key).modified(key);
    pubsub::event(pubsub::kEvStream, "xdel", key);
    log_record(c, c.argv);
  }
  c.out.integer(deleted);
}

void xsetid_cmd(CommandContext& c) {
  StreamId id, maxdel;
  std::int64_t added = -1;
  if (!parse_id(c.arg(2), id, 0, true)) return c.out.error(kErrInvalidId);
  for (std::size_t i = 3; i < c.argc(); i += 2) {
    const bool more = i + 1 < c.argc();
    if (iequal(c.arg(i), "entriesadded") && more) {
      if (!parse_int(c.arg(i + 1), added)) return c.out.error(kErrNotInteger);
      if (added < 0) return c.out.error("ERR entries_added must be positive");
    } else if (iequal(c.arg(i), "maxdeletedid") && more) {
      if (!parse_id(c.arg(i + 1), maxdel, 0, true)) return c.out.error(kErrInvalidId);
      if (id < maxdel) {
        return c.out.error("ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id");
      }
    } else {
      return c.out.error(kErrSyntax);
    }
  }
  const std::string_view key = c.arg(1);
  bool wrong = false;
  Stream* s = stream_at(c, key, wrong);
  if (wrong) return c.out.error(kErrWrongType);
  if (s == nullptr) return c.out.error(kErrNoSuchKey);
  if (s->length() > 0) {
    if (id < s->last_live_id()) {
      return c.out.error("ERR The ID specified in XSETID is smaller than the target stream top item");
    }
    if (added != -1 && s->length() > static_cast<std::uint64_t>(added)) {
      return c.out.error("ERR The entries_added specified in XSETID is smaller than the target stream length");
    }
  }
  s->set_last_id(id);
  if (added != -1) s->set_entries_added(static_cast<std::uint64_t>(added));
  if (!maxdel.is_zero()) s->set_max_deleted_id(maxdel);
  c.out.simple_string("OK");
  c.part(key).modified(key);
  pubsub::event(pubsub::kEvStream, "xsetid", key);
  log_record(c, c.argv);
}

// ---- XINFO ----

void reply_first_or_last(CommandContext& c, const Stream& s, bool last) {
  bool any = false;
  s.scan(StreamId{}, StreamId::max(), last, [&](const EntryRef& e) {
    reply_entry(c, e);
    any = true;
    return false;
  });
  if (!any) c.out.null();
}

void reply_lag(CommandContext& c, const Stream& s, const Group& g) {
  std::int64_t lag = 0;
  if (s.lag(g, lag)) {
    c.out.integer(lag);
  } else {
    c.out.null();
  }
}

void reply_entries_read(CommandContext& c, const Group& g) {
  if (g.entries_read != kInvalidEntriesRead) {
    c.out.integer(g.entries_read);
  } else {
    c.out.null();
  }
}

void xinfo_stream_cmd(CommandContext& c) {
  bool wrong = false;
  const Stream* s = stream_at(c, c.arg(2), wrong);
  if (s == nullptr && !wrong) return c.out.error(kErrNoSuchKey);
  if (wrong) return c.out.error(kErrWrongType);
  bool full = false;
  std::int64_t count = 10;
  const std::size_t optc = c.argc() - 3;
  if (optc != 0) {
    if (optc != 1 && optc != 3) return subcommand_syntax_error(c);
    if (!iequal(c.arg(3), "full")) return subcommand_syntax_error(c);
    if (optc == 3) {
      if (!iequal(c.arg(4), "count")) return subcommand_syntax_error(c);
      if (!parse_int(c.arg(5), count)) return c.out.error(kErrNotInteger);
      if (count < 0) count = 10;
    }
    full = true;
  }
  c.out.map_header(full ? 9 : 10);
  c.out.bulk("length");
  c.out.integer(static_cast<std::int64_t>(s->length()));
  // The block index plays the radix tree's part: one key per block.
  c.out.bulk("radix-tree-keys");
  c.out.integer(static_cast<std::int64_t>(s->blocks()));
  c.out.bulk("radix-tree-nodes");
  c.out.integer(static_cast<std::int64_t>(s->blocks() + 1));
  c.out.bulk("last-generated-id");
  reply_id(c, s->last_id());
  c.out.bulk("max-deleted-entry-id");
  reply_id(c, s->max_deleted_id());
  c.out.bulk("entries-added");
  c.out.integer(static_cast<std::int64_t>(s->entries_added()));
  c.out.bulk("recorded-first-entry-id");
  reply_id(c, s->first_id());
  if (!full) {
    c.out.bulk("groups");
    c.out.integer(static_cast<std::int64_t>(s->groups().size()));
    c.out.bulk("first-entry");
    reply_first_or_last(c, *s, false);
    c.out.bulk("last-entry");
    reply_first_or_last(c, *s, true);
    return;
  }
  const auto limit = static_cast<std::size_t>(count);
  c.out.bulk("entries");
  reply_entries(c, *s, StreamId{}, StreamId::max(), false, limit, [](StreamId) {});
  c.out.bulk("groups");
  c.out.array_header(s->groups().size());
  for (const auto& [name, g] : s->groups()) {
    c.out.map_header(7);
    c.out.bulk("name");
    c.out.bulk(name);
    c.out.bulk("last-delivered-id");
    reply_id(c, g->last_id);
    c.out.bulk("entries-read");
    reply_entries_read(c, *g);
    c.out.bulk("lag");
    reply_lag(c, *s, *g);
    c.out.bulk("pel-count");
    c.out.integer(static_cast<std::int64_t>(g->pel.size()));
    c.out.bulk("pending");
    const std::size_t np = limit == 0 ? g->pel.size() : std::min(limit, g->pel.size());
    c.out.array_header(np);
    std::size_t k = 0;
    for (auto it = g->pel.begin(); k < np; ++it, ++k) {
      c.out.array_header(4);
      reply_id(c, it->first);
      c.out.bulk(it->second.consumer->name);
      c.out.integer(it->second.delivery_time);
      c.out.integer(static_cast<std::int64_t>(it->second.delivery_count));
    }
    c.out.bulk("consumers");
    c.out.array_header(g->consumers.size());
    for (const auto& [cname, cons] : g->consumers) {
      c.out.map_header(4);
      c.out.bulk("name");
      c.out.bulk(cname);
      c.out.bulk("seen-time");
      c.out.integer(cons->seen_time);
      c.out.bulk("pel-count");
      c.out.integer(static_cast<std::int64_t>(cons->pel.size()));
      c.out.bulk("pending");
      const std::size_t cp = limit == 0 ? cons->pel.size() : std::min(limit, cons->pel.size());
      c.out.array_header(cp);
      std::size_t m = 0;
      for (auto it = cons->pel.begin(); m < cp; ++it, ++m) {
        const Nack& n = g->pel.at(*it);
        c.out.array_header(3);
        reply_id(c, *it);
        c.out.integer(n.delivery_time);
        c.out.integer(static_cast<std::int64_t>(n.delivery_count));
      }
    }
  }
}

void xinfo_groups_cmd(CommandContext& c) {
  bool wrong = false;
  Stream* s = stream_at(c, c.arg(2), wrong);
  if (s == nullptr && !wrong) return c.out.error(kErrNoSuchKey);
  if (wrong) return c.out.error(kErrWrongType);
  c.out.array_header(s->groups().size());
  for (const auto& [name, g] : s->groups()) {
    c.out.map_header(6);
    c.out.bulk("name");
    c.out.bulk(name);
    c.out.bulk("consumers");
    c.out.integer(static_cast<std::int64_t>(g->consumers.size()));
    c.out.bulk("pending");
    c.out.integer(static_cast<std::int64_t>(g->pel.size()));
    c.out.bulk("last-delivered-id");
    reply_id(c, g->last_id);
    c.out.bulk("entries-read");
    reply_entries_read(c, *g);
    c.out.bulk("lag");
    reply_lag(c, *s, *g);
  }
}

void xinfo_consumers_cmd(CommandContext& c) {
  bool wrong = false;
  Stream* s = stream_at(c, c.arg(2), wrong);
  if (s == nullptr && !wrong) return c.out.error(kErrNoSuchKey);
  if (wrong) return c.out.error(kErrWrongType);
  const Group* g = s->find_group(c.arg(3));
  if (g == nullptr) {
    return c.out.error("NOGROUP No such consumer group '" + std::string(c.arg(3)) +
                       "' for key name '" + std::string(c.arg(2)) + "'");
  }
  const std::int64_t now = clock_ms(c);
  c.out.array_header(g->consumers.size());
  for (const auto& [name, cons] : g->consumers) {
    c.out.map_header(3);
    c.out.bulk("name");
    c.out.bulk(name);
    c.out.bulk("pending");
    c.out.integer(static_cast<std::int64_t>(cons->pel.size()));
    c.out.bulk("idle");
    c.out.integer(std::max<std::int64_t>(0, now - cons->seen_time));
  }
}

void xinfo_help_cmd(CommandContext& c) {
  static constexpr std::string_view kLines[] = {
      "XINFO <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
      "CONSUMERS <key> <groupname>",
      "    Show consumers of <groupname>.",
      "GROUPS <key>",
      "    Show the stream consumer groups.",
      "STREAM <key> [FULL [COUNT <count>]",
      "    Show information about the stream.",
      "HELP",
      "    Prints this help.",
  };
  c.out.array_header(std::size(kLines));
  for (std::string_view line : kLines) c.out.simple_string(line);
}

}  // namespace

}  // namespace lfdb::db::stream

namespace lfdb::db {

std::span<const HandlerEntry> stream_entry_handlers() {
  using namespace stream;
  static constexpr HandlerEntry kHandlers[] = {
      {"xadd", xadd_cmd},
      {"xtrim", xtrim_cmd},
      {"xrange", xrange_cmd},
      {"xrevrange", xrevrange_cmd},
      {"xlen", xlen_cmd},
      {"xdel", xdel_cmd},
      {"xsetid", xsetid_cmd},
      {"xinfo|stream", xinfo_stream_cmd},
      {"xinfo|groups", xinfo_groups_cmd},
      {"xinfo|consumers", xinfo_consumers_cmd},
      {"xinfo|help", xinfo_help_cmd},
  };
  return kHandlers;
}

}  // namespace lfdb::db
