#include "bench/workloads.hpp"

#include <fmt/format.h>

namespace bench {

lf::Result<std::unique_ptr<Workload>> make_workload(const Options& o) {
  switch (o.workload) {
    case WorkloadKind::kGetSet: return make_getset(o);
    case WorkloadKind::kReservation: return make_reservation(o);
    case WorkloadKind::kTransfer: return make_transfer(o);
    case WorkloadKind::kXQueue: return make_xqueue(o);
  }
  return lf::Status::error("unknown workload");
}

lf::Status run_setup(SyncClient& c, const std::vector<Command>& cmds) {
  auto r = c.pipeline(cmds);
  if (!r.ok()) return r.status();
  for (std::size_t i = 0; i < r->size(); ++i) {
    if ((*r)[i].is_error()) {
      return lf::Status::error(fmt::format("set-up: {} {}: {}", cmds[i][0], cmds[i][1], (*r)[i].str));
    }
  }
  return lf::Status();
}

bool script_result(const resp::Frame& reply, OpResult& result, std::int64_t& value) {
  if (reply.type() == resp::ReplyType::kInteger) {
    value = reply.integer();
    return true;
  }
  result.fail(reply.type() == resp::ReplyType::kError ? error_kind(reply) : std::string("unexpected reply"));
  return false;
}

std::string error_kind(const resp::Frame& reply) {
  std::string_view text = reply.payload();
  auto space = text.find(' ');
  if (space != std::string_view::npos) text = text.substr(0, space);
  if (text.empty()) return "error reply";
  return std::string(text);
}

bool is_status(const resp::Frame& reply, std::string_view text) {
  return reply.type() == resp::ReplyType::kSimpleString && reply.payload() == text;
}

}  // namespace bench
