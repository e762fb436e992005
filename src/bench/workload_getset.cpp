// getset: each operation is one GET or one SET on a key drawn uniformly or by Zipf's law from
// --keys keys, SET:GET in --ratio, values of --value-size bytes. No invariant: it measures.
#include <fmt/format.h>

#include "bench/workloads.hpp"
#include "resp/writer.hpp"

namespace bench {
namespace {

class GetSetWorkload;

class GetSetTerminal final : public Terminal {
 public:
  GetSetTerminal(const GetSetWorkload& w, Rng rng);
  void begin(std::string& out) override;
  bool on_reply(const resp::Frame& reply, std::string& out, OpResult& result) override;
  void abandon() override {}

 private:
  const GetSetWorkload& w_;
  Rng rng_;
  // Whether each operation in flight is a SET, oldest first (a ring of --pipeline entries).
  std::vector<bool> is_set_;
  std::size_t head_ = 0, count_ = 0;
  std::string key_;
};

class GetSetWorkload final : public Workload {
 public:
  GetSetWorkload(const Options& o, KeyChooser keys)
      : o_(o), keys_(std::move(keys)), value_(o.value_size, 'x') {
    // A value that is not one repeated byte, so nothing along the way can shortcut it.
    for (std::size_t i = 0; i < value_.size(); ++i) value_[i] = static_cast<char>('a' + (i * 7) % 26);
  }
  std::string_view name() const override { return "getset"; }
  void prepare(int) override {}
  lf::Status setup(SyncClient&) override { return lf::Status(); }
  std::unique_ptr<Terminal> make_terminal(int, std::uint64_t, Rng rng) override {
    return std::make_unique<GetSetTerminal>(*this, rng);
  }
  InvariantReport verify(SyncClient&) override { return InvariantReport{}; }

  const Options& o_;
  KeyChooser keys_;
  std::string value_;
};

GetSetTerminal::GetSetTerminal(const GetSetWorkload& w, Rng rng)
    : w_(w), rng_(rng), is_set_(static_cast<std::size_t>(w.o_.pipeline)) {}

void GetSetTerminal::begin(std::string& out) {
  const Options& o = w_.o_;
  bool set = rng_.below(o.ratio_set + o.ratio_get) < o.ratio_set;
  key_.clear();
  fmt::format_to(std::back_inserter(key_), "{}key:{}", o.key_prefix, w_.keys_.next(rng_));
  if (set) {
    std::string_view argv[] = {"SET", key_, w_.value_};
    resp::append_command(out, argv);
  } else {
    std::string_view argv[] = {"GET", key_};
    resp::append_command(out, argv);
  }
  LF_CHECK(count_ < is_set_.size());
  is_set_[(head_ + count_) % is_set_.size()] = set;
  ++count_;
}

bool GetSetTerminal::on_reply(const resp::Frame& reply, std::string&, OpResult& result) {
  LF_CHECK(count_ > 0);
  bool set = is_set_[head_];
  head_ = (head_ + 1) % is_set_.size();
  --count_;
  if (reply.is_error()) {
    result.fail(error_kind(reply));
  } else if (set) {
    if (reply.type() == resp::ReplyType::kSimpleString && reply.payload() == "OK") result.outcome = "set";
    else result.fail("unexpected reply to SET");
  } else if (reply.is_null()) {
    result.outcome = "get_miss";
  } else if (reply.type() == resp::ReplyType::kBulkString) {
    result.outcome = "get_hit";
  } else {
    result.fail("unexpected reply to GET");
  }
  return true;
}

}  // namespace

lf::Result<std::unique_ptr<Workload>> make_getset(const Options& o) {
  auto keys = KeyChooser::create(o.keys, o.dist, o.zipf_theta);
  if (!keys.ok()) return keys.status();
  return std::unique_ptr<Workload>(new GetSetWorkload(o, std::move(keys.value())));
}

}  // namespace bench
