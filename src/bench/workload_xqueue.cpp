// xqueue: a stream consumer group used as a work queue. Each operation is one pair: XREADGROUP
// GROUP g c<terminal> COUNT 1 STREAMS <stream> > (the next undelivered entry), then XACK of
// the id it delivered; the pair is what a worker of a job queue does per job. The set-up adds
// the entries the run will consume (--requests plus a margin, or 1,000,000 for a timed run) and
// creates the group. No invariant: it measures, and counts an XACK that does not answer 1 (or
// a stream run dry) as a failed operation.
#include <fmt/format.h>

#include "bench/workloads.hpp"
#include "resp/writer.hpp"

namespace bench {
namespace {

class XQueueWorkload;

class XQueueTerminal final : public Terminal {
 public:
  XQueueTerminal(const XQueueWorkload& w, std::uint64_t index);
  void begin(std::string& out) override;
  bool on_reply(const resp::Frame& reply, std::string& out, OpResult& result) override;
  void abandon() override {}

 private:
  const XQueueWorkload& w_;
  std::string consumer_;
  bool reading_ = false;  // the XREADGROUP of the pair in flight (else its XACK)
};

class XQueueWorkload final : public Workload {
 public:
  explicit XQueueWorkload(const Options& o) : o_(o), stream_(o.key_prefix + "xqueue") {}
  std::string_view name() const override { return "xqueue"; }
  void prepare(int) override {}
  lf::Status setup(SyncClient& c) override {
    const std::uint64_t entries = o_.requests > 0 && o_.warmup_s == 0
                                      ? o_.requests + 4 * static_cast<std::uint64_t>(o_.connections)
                                      : 1000000;
    if (auto st = run_setup(c, {{"DEL", stream_}}); !st.ok()) return st;
    std::vector<Command> batch;
    for (std::uint64_t i = 0; i < entries; ++i) {
      batch.push_back({"XADD", stream_, "*", "job", std::to_string(i), "state", "new"});
      if (batch.size() == 1000 || i + 1 == entries) {
        if (auto st = run_setup(c, batch); !st.ok()) return st;
        batch.clear();
      }
    }
    return run_setup(c, {{"XGROUP", "CREATE", stream_, "g", "0"}});
  }
  std::unique_ptr<Terminal> make_terminal(int, std::uint64_t index, Rng) override {
    return std::make_unique<XQueueTerminal>(*this, index);
  }
  InvariantReport verify(SyncClient&) override { return InvariantReport{}; }

  const Options& o_;
  std::string stream_;
};

XQueueTerminal::XQueueTerminal(const XQueueWorkload& w, std::uint64_t index)
    : w_(w), consumer_(fmt::format("c{}", index)) {}

void XQueueTerminal::begin(std::string& out) {
  std::string_view argv[] = {"XREADGROUP", "GROUP", "g", consumer_, "COUNT", "1", "STREAMS", w_.stream_, ">"};
  resp::append_command(out, argv);
  reading_ = true;
}

// The id of the one entry in an XREADGROUP reply [[stream, [[id, [field, value, ...]]]]], or
// empty when there is none.
std::string_view delivered_id(const resp::Frame& reply) {
  if (reply.is_null() || !reply.is_aggregate()) return {};
  for (const resp::Frame& per_stream : reply.elements()) {
    int i = 0;
    for (const resp::Frame& part : per_stream.elements()) {
      if (i++ != 1) continue;  // [stream name, entries]
      for (const resp::Frame& entry : part.elements()) {
        for (const resp::Frame& id : entry.elements()) return id.payload();
      }
    }
  }
  return {};
}

bool XQueueTerminal::on_reply(const resp::Frame& reply, std::string& out, OpResult& result) {
  if (reply.is_error()) {
    result.fail(error_kind(reply));
    return true;
  }
  if (reading_) {
    std::string_view id = delivered_id(reply);
    if (id.empty()) {
      result.fail("stream exhausted");
      return true;
    }
    std::string_view argv[] = {"XACK", w_.stream_, "g", id};
    resp::append_command(out, argv);
    reading_ = false;
    return false;
  }
  if (reply.type() == resp::ReplyType::kInteger && reply.integer() == 1) {
    result.outcome = "acked";
  } else {
    result.fail("XACK did not answer 1");
  }
  return true;
}

}  // namespace

lf::Result<std::unique_ptr<Workload>> make_xqueue(const Options& o) {
  return std::unique_ptr<Workload>(new XQueueWorkload(o));
}

}  // namespace bench
