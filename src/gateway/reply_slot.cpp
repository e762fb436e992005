#include "gateway/reply_slot.hpp"

#include "lf/status.hpp"

namespace lfdb::gateway {

void ReplySlot::start(Merge m, std::uint32_t parts, resp::Protocol p) {
  protocol = p;
  ready = false;
  close_after = false;
  merge = m;
  parts_left = parts;
  reply.clear();
  first_error.clear();
  sum = 0;
  count = 0;
  body.clear();
  values.clear();
  part_keys.clear();
}

bool ReplySlot::add_part(std::uint32_t part, const resp::Frame& f) {
  LF_CHECK(parts_left > 0);
  if (merge == Merge::kNone) {
    reply.assign(f.bytes());
  } else if (f.is_error()) {
    if (first_error.empty()) first_error.assign(f.bytes());
  } else {
    switch (merge) {
      case Merge::kSum:
        if (f.type() == resp::ReplyType::kInteger) {
          sum += f.integer();
        } else if (first_error.empty()) {
          first_error = "-ERR lfdb-gateway: unexpected reply type from a back-end\r\n";
        }
        break;
      case Merge::kAllOk:
        if (f.type() != resp::ReplyType::kSimpleString && first_error.empty()) {
          first_error = "-ERR lfdb-gateway: unexpected reply type from a back-end\r\n";
        }
        break;
      case Merge::kConcat:
        if (f.is_aggregate()) {
          count += f.element_count();
          body.append(f.payload());
        } else if (first_error.empty()) {
          first_error = "-ERR lfdb-gateway: unexpected reply type from a back-end\r\n";
        }
        break;
      case Merge::kSame:
        if (count++ == 0) {
          body.assign(f.bytes());
        } else if (body != f.bytes() && first_error.empty()) {
          first_error = "-ERR lfdb-gateway: back-ends answered differently\r\n";
        }
        break;
      case Merge::kMget: {
        const auto& keys = part_keys[part];
        if (!f.is_aggregate() || f.element_count() != keys.size()) {
          if (first_error.empty()) first_error = "-ERR lfdb-gateway: unexpected reply from a back-end\r\n";
          break;
        }
        std::size_t i = 0;
        for (const resp::Frame& e : f.elements()) values[keys[i++]].assign(e.bytes());
        break;
      }
      case Merge::kNone:
        break;
    }
  }
  if (--parts_left > 0) return false;
  if (merge != Merge::kNone) {
    reply.clear();
    resp::Writer w(reply, protocol);
    if (!first_error.empty()) {
      reply = first_error;
    } else {
      switch (merge) {
        case Merge::kSum: w.integer(sum); break;
        case Merge::kAllOk: w.simple_string("OK"); break;
        case Merge::kConcat:
          w.array_header(count);
          reply.append(body);
          break;
        case Merge::kMget:
          w.array_header(values.size());
          for (const auto& v : values) reply.append(v);
          break;
        case Merge::kSame: reply = body; break;
        case Merge::kNone: break;
      }
    }
    // The merge state is not needed any more; keep no big buffers in a queued slot.
    std::string().swap(body);
    std::vector<std::string>().swap(values);
  }
  ready = true;
  return true;
}

resp::Frame error_frame(std::string_view message, std::string& storage) {
  storage.clear();
  resp::Writer(storage).error(message);
  resp::ReplyParser p;
  resp::ReplyResult r = p.parse(storage);
  LF_CHECK(r.complete());
  return r.frame;
}

}  // namespace lfdb::gateway
