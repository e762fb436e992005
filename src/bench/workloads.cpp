#include "bench/workloads.hpp"

namespace bench {

lf::Result<std::unique_ptr<Workload>> make_workload(const Options& o) {
  switch (o.workload) {
    case WorkloadKind::kGetSet: return make_getset(o);
    case WorkloadKind::kReservation: return make_reservation(o);
    case WorkloadKind::kTransfer: return make_transfer(o);
  }
  return lf::Status::error("unknown workload");
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
