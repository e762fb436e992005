// transfer: TPC-B-like account updates (the Leader/Followers pattern's point-of-sale and claims terminals).
//   keys of branch B, all with the hash tag {bB} so a sharding gateway keeps them on one shard:
//     account:{bB}:<a>   balance (set to --initial-balance by the set-up)
//     teller:{bB}:<t>    sum of the deltas the teller handled (0 at set-up)
//     branch:{bB}        sum of the deltas of the branch (0 at set-up)
//     history:{bB}       one hash field per transfer: "<terminal>:<seq>" -> "<account> <teller> <delta>"
//   a transfer: WATCH account; GET account; if balance + delta >= 0: MULTI; INCRBY account,
//   teller and branch by delta; HSET history; EXEC (nil: retry); else declined (no overdraft).
//   With --txn eval the same transfer is one stored procedure (the script below): one round
//   trip, no retries, no dedicated connection through a gateway.
// Invariant per branch: (sum of accounts - initial) = sum of tellers = branch = the deltas the
// terminals saw acknowledged; history records = acknowledged transfers; no account below 0.
#include <fmt/format.h>

#include "bench/watched_txn.hpp"
#include "bench/workloads.hpp"
#include "resp/writer.hpp"

namespace bench {
namespace {

// One worker's acknowledgements, per branch. Written by that worker's terminals; read after join.
struct TransferTally {
  std::vector<std::uint64_t> acked;
  std::vector<std::int64_t> acked_delta;
  std::vector<std::uint64_t> doubt;
};

// One transfer: its draw and the names it uses, the same for both forms so they load the same
// keys. The account decides the branch (accounts are numbered branch-major), so a Zipf skew over
// accounts also makes some branches hotter than others, as in a real bank. The strings are
// reused from one transfer to the next (no allocation once they have grown).
struct Transfer {
  std::uint64_t branch = 0, account = 0, teller = 0;
  std::int64_t delta = 0;
  std::string account_key, teller_key, branch_key, history_key, field, record, delta_text;

  void draw(const Options& o, const KeyChooser& accounts, Rng& rng) {
    const std::uint64_t global = accounts.next(rng);
    branch = global / o.accounts;
    account = global % o.accounts;
    teller = rng.below(o.tellers);
    do {
      delta = static_cast<std::int64_t>(rng.below(static_cast<std::uint64_t>(2 * o.max_delta + 1))) - o.max_delta;
    } while (delta == 0);
    account_key.clear();
    fmt::format_to(std::back_inserter(account_key), "{}account:{{b{}}}:{}", o.key_prefix, branch, account);
  }
  // The rest of what the writes name: teller, branch and history keys, the history record.
  void name_writes(const Options& o, std::uint64_t terminal, std::uint64_t seq) {
    for (std::string* s : {&teller_key, &branch_key, &history_key, &field, &record, &delta_text}) s->clear();
    fmt::format_to(std::back_inserter(teller_key), "{}teller:{{b{}}}:{}", o.key_prefix, branch, teller);
    fmt::format_to(std::back_inserter(branch_key), "{}branch:{{b{}}}", o.key_prefix, branch);
    fmt::format_to(std::back_inserter(history_key), "{}history:{{b{}}}", o.key_prefix, branch);
    fmt::format_to(std::back_inserter(field), "{}:{}", terminal, seq);
    fmt::format_to(std::back_inserter(record), "{} {} {}", account, teller, delta);
    fmt::format_to(std::back_inserter(delta_text), "{}", delta);
  }
  void acknowledged(TransferTally& tally) const {
    ++tally.acked[branch];
    tally.acked_delta[branch] += delta;
  }
};

class TransferTerminal final : public WatchedTransaction {
 public:
  TransferTerminal(const Options& o, const KeyChooser& accounts, TransferTally& tally, std::uint64_t index,
                   Rng rng)
      : WatchedTransaction(o), accounts_(accounts), tally_(tally), index_(index), rng_(rng) {}

 protected:
  void choose() override {
    t_.draw(o_, accounts_, rng_);
    ++seq_;
  }
  std::string_view watch_key() const override { return t_.account_key; }

  bool plan(const resp::Frame& value, OpResult& result) override {
    if (value.is_null()) {
      result.fail("account missing");
      return false;
    }
    std::int64_t balance = 0;
    if (!reply_to_int(Reply::from_frame(value), balance)) {
      result.fail("balance not a number");
      return false;
    }
    if (balance + t_.delta < 0) {
      result.outcome = "declined";
      return false;
    }
    return true;
  }

  std::size_t queue(std::string& out) override {
    t_.name_writes(o_, index_, seq_);
    std::string_view a[] = {"INCRBY", t_.account_key, t_.delta_text};
    std::string_view t[] = {"INCRBY", t_.teller_key, t_.delta_text};
    std::string_view b[] = {"INCRBY", t_.branch_key, t_.delta_text};
    std::string_view h[] = {"HSET", t_.history_key, t_.field, t_.record};
    resp::append_command(out, a);
    resp::append_command(out, t);
    resp::append_command(out, b);
    resp::append_command(out, h);
    return 4;
  }

  void committed(const resp::Frame& exec, OpResult& result) override {
    for (const resp::Frame& e : exec.elements()) {
      if (e.type() != resp::ReplyType::kInteger) {
        ++tally_.doubt[t_.branch];
        result.fail("error inside EXEC");
        return;
      }
    }
    t_.acknowledged(tally_);
    result.outcome = "transferred";
  }

  void in_doubt() override { ++tally_.doubt[t_.branch]; }

 private:
  const KeyChooser& accounts_;
  TransferTally& tally_;
  std::uint64_t index_;
  Rng rng_;
  std::uint64_t seq_ = 0;
  Transfer t_;
};

// The transfer as a stored procedure: KEYS = account, teller, branch, history; ARGV = delta,
// history field, history record. Returns 1 (transferred) or 0 (declined: it would overdraw).
constexpr std::string_view kTransferScript =
    "local balance = tonumber(redis.call('GET', KEYS[1]))\n"
    "if balance == nil then return redis.error_reply('ERR account missing') end\n"
    "local delta = tonumber(ARGV[1])\n"
    "if balance + delta < 0 then return 0 end\n"
    "redis.call('INCRBY', KEYS[1], delta)\n"
    "redis.call('INCRBY', KEYS[2], delta)\n"
    "redis.call('INCRBY', KEYS[3], delta)\n"
    "redis.call('HSET', KEYS[4], ARGV[2], ARGV[3])\n"
    "return 1\n";

class TransferScriptTerminal final : public Terminal {
 public:
  TransferScriptTerminal(const Options& o, const KeyChooser& accounts, TransferTally& tally,
                         std::uint64_t index, Rng rng)
      : o_(o), accounts_(accounts), tally_(tally), index_(index), rng_(rng) {}

  void begin(std::string& out) override {
    t_.draw(o_, accounts_, rng_);
    t_.name_writes(o_, index_, ++seq_);
    std::string_view eval[] = {"EVAL",         kTransferScript, "4",     t_.account_key, t_.teller_key,
                               t_.branch_key, t_.history_key,  t_.delta_text, t_.field,  t_.record};
    resp::append_command(out, eval);
    sent_ = true;
  }

  bool on_reply(const resp::Frame& reply, std::string&, OpResult& result) override {
    sent_ = false;
    std::int64_t moved = 0;
    if (!script_result(reply, result, moved)) {
      ++tally_.doubt[t_.branch];
      return true;
    }
    if (moved == 1) {
      t_.acknowledged(tally_);
      result.outcome = "transferred";
    } else {
      result.outcome = "declined";
    }
    return true;
  }

  void abandon() override {
    if (sent_) ++tally_.doubt[t_.branch];
    sent_ = false;
  }

 private:
  const Options& o_;
  const KeyChooser& accounts_;
  TransferTally& tally_;
  std::uint64_t index_;
  Rng rng_;
  std::uint64_t seq_ = 0;
  bool sent_ = false;
  Transfer t_;
};

class TransferWorkload final : public Workload {
 public:
  TransferWorkload(const Options& o, KeyChooser accounts) : o_(o), accounts_(std::move(accounts)) {}
  std::string_view name() const override { return "transfer"; }

  void prepare(int workers) override {
    tallies_.resize(static_cast<std::size_t>(workers));
    for (auto& t : tallies_) {
      t.acked.assign(o_.branches, 0);
      t.acked_delta.assign(o_.branches, 0);
      t.doubt.assign(o_.branches, 0);
    }
  }

  std::string account_key(std::uint64_t b, std::uint64_t a) const {
    return fmt::format("{}account:{{b{}}}:{}", o_.key_prefix, b, a);
  }
  std::string teller_key(std::uint64_t b, std::uint64_t t) const {
    return fmt::format("{}teller:{{b{}}}:{}", o_.key_prefix, b, t);
  }
  std::string branch_key(std::uint64_t b) const { return fmt::format("{}branch:{{b{}}}", o_.key_prefix, b); }
  std::string history_key(std::uint64_t b) const { return fmt::format("{}history:{{b{}}}", o_.key_prefix, b); }

  lf::Status setup(SyncClient& c) override {
    constexpr std::uint64_t kBatch = 1000;
    std::string balance = std::to_string(o_.initial_balance);
    for (std::uint64_t b = 0; b < o_.branches; ++b) {
      std::vector<Command> cmds;
      for (std::uint64_t a0 = 0; a0 < o_.accounts; a0 += kBatch) {
        Command mset{"MSET"};
        for (std::uint64_t a = a0; a < std::min(o_.accounts, a0 + kBatch); ++a) {
          mset.push_back(account_key(b, a));
          mset.push_back(balance);
        }
        cmds.push_back(std::move(mset));
      }
      Command tellers{"MSET"};
      for (std::uint64_t t = 0; t < o_.tellers; ++t) {
        tellers.push_back(teller_key(b, t));
        tellers.push_back("0");
      }
      cmds.push_back(std::move(tellers));
      cmds.push_back({"SET", branch_key(b), "0"});
      cmds.push_back({"DEL", history_key(b)});
      if (auto st = run_setup(c, cmds); !st.ok()) return st;
    }
    return lf::Status();
  }

  std::unique_ptr<Terminal> make_terminal(int worker, std::uint64_t index, Rng rng) override {
    TransferTally& tally = tallies_[static_cast<std::size_t>(worker)];
    if (o_.txn == "eval") return std::make_unique<TransferScriptTerminal>(o_, accounts_, tally, index, rng);
    return std::make_unique<TransferTerminal>(o_, accounts_, tally, index, rng);
  }

  InvariantReport verify(SyncClient& c) override;

 private:
  // Sum of the integers in MGET's reply; false (with a message) if one is missing or no number.
  static bool sum_values(const Reply& mget, std::int64_t& sum, std::int64_t& min, std::string& bad);

  const Options& o_;
  KeyChooser accounts_;
  std::vector<TransferTally> tallies_;
};

bool TransferWorkload::sum_values(const Reply& mget, std::int64_t& sum, std::int64_t& min, std::string& bad) {
  if (mget.type != resp::ReplyType::kArray) {
    bad = mget.describe();
    return false;
  }
  for (const Reply& e : mget.elements) {
    std::int64_t v = 0;
    if (!reply_to_int(e, v)) {
      bad = e.describe();
      return false;
    }
    sum += v;
    if (v < min) min = v;
  }
  return true;
}

InvariantReport TransferWorkload::verify(SyncClient& c) {
  InvariantReport rep;
  rep.checked = true;
  std::int64_t all_accounts = 0, all_tellers = 0, all_branches = 0, all_acked_delta = 0, all_history = 0;
  std::uint64_t all_acked = 0, all_doubt = 0;
  constexpr std::uint64_t kBatch = 1000;
  for (std::uint64_t b = 0; b < o_.branches; ++b) {
    std::uint64_t acked = 0, doubt = 0;
    std::int64_t acked_delta = 0;
    for (const auto& t : tallies_) {
      acked += t.acked[b];
      acked_delta += t.acked_delta[b];
      doubt += t.doubt[b];
    }
    std::vector<Command> cmds;
    for (std::uint64_t a0 = 0; a0 < o_.accounts; a0 += kBatch) {
      Command mget{"MGET"};
      for (std::uint64_t a = a0; a < std::min(o_.accounts, a0 + kBatch); ++a) mget.push_back(account_key(b, a));
      cmds.push_back(std::move(mget));
    }
    std::size_t account_batches = cmds.size();
    Command tellers{"MGET"};
    for (std::uint64_t t = 0; t < o_.tellers; ++t) tellers.push_back(teller_key(b, t));
    cmds.push_back(std::move(tellers));
    cmds.push_back({"GET", branch_key(b)});
    cmds.push_back({"HLEN", history_key(b)});
    auto r = c.pipeline(cmds);
    if (!r.ok()) {
      rep.fail("cannot read the accounts back: " + r.status().message());
      return rep;
    }
    std::int64_t accounts = 0, tellers_sum = 0, branch = 0, history = 0;
    std::int64_t min_balance = INT64_MAX, min_teller = INT64_MAX;
    std::string bad;
    bool readable = true;
    for (std::size_t i = 0; i < account_batches && readable; ++i) {
      readable = sum_values((*r)[i], accounts, min_balance, bad);
    }
    readable = readable && sum_values((*r)[account_batches], tellers_sum, min_teller, bad);
    if (readable && !reply_to_int((*r)[account_batches + 1], branch)) {
      readable = false;
      bad = (*r)[account_batches + 1].describe();
    }
    if (readable && !reply_to_int((*r)[account_batches + 2], history)) {
      readable = false;
      bad = (*r)[account_batches + 2].describe();
    }
    if (!readable) {
      rep.fail(fmt::format("branch {}: unreadable value {}", b, bad));
      continue;
    }
    std::int64_t moved = accounts - static_cast<std::int64_t>(o_.accounts) * o_.initial_balance;
    all_accounts += moved;
    all_tellers += tellers_sum;
    all_branches += branch;
    all_history += history;
    all_acked += acked;
    all_acked_delta += acked_delta;
    all_doubt += doubt;
    if (min_balance < 0) rep.fail(fmt::format("branch {}: an account holds {}: overdrawn", b, min_balance));
    if (moved != tellers_sum || moved != branch) {
      rep.fail(fmt::format("branch {}: accounts moved {} but tellers sum to {} and the branch holds {}", b, moved,
                           tellers_sum, branch));
    }
    auto h = static_cast<std::uint64_t>(history < 0 ? 0 : history);
    if (h < acked || h > acked + doubt) {
      rep.fail(fmt::format("branch {}: {} history records but terminals were told {} transfers succeeded{}", b,
                           history, acked, doubt ? fmt::format(" ({} in doubt)", doubt) : std::string()));
    }
    // With transfers in doubt the acknowledged deltas only bound nothing useful; the three sums
    // must still agree with each other (checked above).
    if (doubt == 0 && moved != acked_delta) {
      rep.fail(fmt::format("branch {}: accounts moved {} but the acknowledged transfers add up to {}", b, moved,
                           acked_delta));
    }
  }
  rep.in_doubt = all_doubt;
  rep.summary = fmt::format(
      "{} branches x {} accounts: accounts moved {}, tellers {}, branches {}, acknowledged deltas {}; history "
      "records {}, acknowledged transfers {}{}",
      o_.branches, o_.accounts, all_accounts, all_tellers, all_branches, all_acked_delta, all_history, all_acked,
      all_doubt ? fmt::format(", in doubt {}", all_doubt) : std::string());
  return rep;
}

}  // namespace

lf::Result<std::unique_ptr<Workload>> make_transfer(const Options& o) {
  if (o.branches * o.accounts > (std::uint64_t{1} << 34)) return lf::Status::error("too many accounts");
  auto accounts = KeyChooser::create(o.branches * o.accounts, o.dist, o.zipf_theta);
  if (!accounts.ok()) return accounts.status();
  return std::unique_ptr<Workload>(new TransferWorkload(o, std::move(accounts.value())));
}

}  // namespace bench
