// reservation: terminals book seats on flights (the Leader/Followers pattern's travel agents).
//   keys of flight F, all with the hash tag {F} so a sharding gateway keeps them on one shard:
//     flight:{F}:seats     seats left (a counter, set to --seats by the set-up)
//     flight:{F}:bookings  seats sold (a counter)
//     flight:{F}:booked    one hash field per booking: "<terminal>:<seq>" -> terminal
//   a booking: WATCH seats; GET seats; if > 0: MULTI; DECR seats; HSET booked; INCR bookings;
//   EXEC (nil: retry). Sold out is a normal outcome.
//   With --txn eval the same booking is one stored procedure (EVAL, the script below): one
//   round trip, no retries, and through a gateway it needs no connection of its own.
// Invariant per flight: seats left >= 0; left + sold = initial; bookings recorded = sold =
// bookings the terminals saw acknowledged (give or take those in doubt).
#include <fmt/format.h>

#include "bench/watched_txn.hpp"
#include "bench/workloads.hpp"
#include "resp/writer.hpp"

namespace bench {
namespace {

// One worker's acknowledgements. Written by that worker's terminals only; read after join.
struct ReservationTally {
  std::vector<std::uint64_t> acked;  // per flight
  std::vector<std::uint64_t> doubt;  // per flight
};

class ReservationWorkload;

class ReservationTerminal final : public WatchedTransaction {
 public:
  ReservationTerminal(const Options& o, const KeyChooser& flights, ReservationTally& tally,
                      std::uint64_t index, Rng rng)
      : WatchedTransaction(o), flights_(flights), tally_(tally), index_(index), rng_(rng) {}

 protected:
  void choose() override {
    flight_ = flights_.next(rng_);
    ++seq_;
    seats_key_.clear();
    fmt::format_to(std::back_inserter(seats_key_), "{}flight:{{{}}}:seats", o_.key_prefix, flight_);
  }
  std::string_view watch_key() const override { return seats_key_; }

  bool plan(const resp::Frame& value, OpResult& result) override {
    if (value.is_null()) {
      result.fail("flight missing");
      return false;
    }
    std::int64_t left = 0;
    if (!parse_int(value, left)) {
      result.fail("seats not a number");
      return false;
    }
    if (left <= 0) {
      result.outcome = "sold_out";
      return false;
    }
    return true;
  }

  std::size_t queue(std::string& out) override {
    bookings_key_.clear();
    booked_key_.clear();
    field_.clear();
    who_.clear();
    fmt::format_to(std::back_inserter(bookings_key_), "{}flight:{{{}}}:bookings", o_.key_prefix, flight_);
    fmt::format_to(std::back_inserter(booked_key_), "{}flight:{{{}}}:booked", o_.key_prefix, flight_);
    fmt::format_to(std::back_inserter(field_), "{}:{}", index_, seq_);
    fmt::format_to(std::back_inserter(who_), "terminal {}", index_);
    std::string_view decr[] = {"DECR", seats_key_};
    std::string_view hset[] = {"HSET", booked_key_, field_, who_};
    std::string_view incr[] = {"INCR", bookings_key_};
    resp::append_command(out, decr);
    resp::append_command(out, hset);
    resp::append_command(out, incr);
    return 3;
  }

  void committed(const resp::Frame& exec, OpResult& result) override {
    // The transaction ran; whatever it says, the terminal was told "booked" only if all of it
    // succeeded, and otherwise it cannot know what the flight holds now.
    bool ok = true;
    std::int64_t left = 0;
    int i = 0;
    for (const resp::Frame& e : exec.elements()) {
      if (e.type() != resp::ReplyType::kInteger) ok = false;
      if (i == 0) left = e.integer();
      ++i;
    }
    if (!ok) {
      ++tally_.doubt[flight_];
      result.fail("error inside EXEC");
      return;
    }
    ++tally_.acked[flight_];
    if (left < 0) {
      result.fail("oversold");  // DECR under WATCH took seats below 0: the server lost isolation
      return;
    }
    result.outcome = "booked";
  }

  void in_doubt() override { ++tally_.doubt[flight_]; }

 private:
  static bool parse_int(const resp::Frame& f, std::int64_t& out) {
    Reply r = Reply::from_frame(f);
    return reply_to_int(r, out);
  }

  const KeyChooser& flights_;
  ReservationTally& tally_;
  std::uint64_t index_;
  Rng rng_;
  std::uint64_t flight_ = 0;
  std::uint64_t seq_ = 0;
  std::string seats_key_, bookings_key_, booked_key_, field_, who_;
};

// The booking as a stored procedure: KEYS = seats, booked, bookings; ARGV = field, who.
// Returns 1 (booked) or 0 (sold out).
constexpr std::string_view kBookScript =
    "local left = tonumber(redis.call('GET', KEYS[1]))\n"
    "if left == nil then return redis.error_reply('ERR flight missing') end\n"
    "if left <= 0 then return 0 end\n"
    "redis.call('DECR', KEYS[1])\n"
    "redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])\n"
    "redis.call('INCR', KEYS[3])\n"
    "return 1\n";

class ReservationScriptTerminal final : public Terminal {
 public:
  ReservationScriptTerminal(const Options& o, const KeyChooser& flights, ReservationTally& tally,
                            std::uint64_t index, Rng rng)
      : o_(o), flights_(flights), tally_(tally), index_(index), rng_(rng) {}

  void begin(std::string& out) override {
    flight_ = flights_.next(rng_);
    ++seq_;
    auto key = [&](std::string& k, std::string_view what) {
      k.clear();
      fmt::format_to(std::back_inserter(k), "{}flight:{{{}}}:{}", o_.key_prefix, flight_, what);
    };
    key(seats_key_, "seats");
    key(booked_key_, "booked");
    key(bookings_key_, "bookings");
    field_.clear();
    who_.clear();
    fmt::format_to(std::back_inserter(field_), "{}:{}", index_, seq_);
    fmt::format_to(std::back_inserter(who_), "terminal {}", index_);
    std::string_view eval[] = {"EVAL", kBookScript, "3", seats_key_, booked_key_, bookings_key_,
                               field_, who_};
    resp::append_command(out, eval);
    sent_ = true;
  }

  bool on_reply(const resp::Frame& reply, std::string&, OpResult& result) override {
    sent_ = false;
    std::int64_t booked = 0;
    if (!script_result(reply, result, booked)) {
      ++tally_.doubt[flight_];
      return true;
    }
    if (booked == 1) {
      ++tally_.acked[flight_];
      result.outcome = "booked";
    } else {
      result.outcome = "sold_out";
    }
    return true;
  }

  void abandon() override {
    if (sent_) ++tally_.doubt[flight_];
    sent_ = false;
  }

 private:
  const Options& o_;
  const KeyChooser& flights_;
  ReservationTally& tally_;
  std::uint64_t index_;
  Rng rng_;
  std::uint64_t flight_ = 0;
  std::uint64_t seq_ = 0;
  bool sent_ = false;
  std::string seats_key_, bookings_key_, booked_key_, field_, who_;
};

class ReservationWorkload final : public Workload {
 public:
  ReservationWorkload(const Options& o, KeyChooser flights) : o_(o), flights_(std::move(flights)) {}
  std::string_view name() const override { return "reservation"; }

  void prepare(int workers) override {
    tallies_.resize(static_cast<std::size_t>(workers));
    for (auto& t : tallies_) {
      t.acked.assign(o_.flights, 0);
      t.doubt.assign(o_.flights, 0);
    }
  }

  std::string key(std::uint64_t flight, std::string_view what) const {
    return fmt::format("{}flight:{{{}}}:{}", o_.key_prefix, flight, what);
  }

  lf::Status setup(SyncClient& c) override {
    constexpr std::uint64_t kBatch = 500;
    for (std::uint64_t f0 = 0; f0 < o_.flights; f0 += kBatch) {
      std::vector<Command> cmds;
      for (std::uint64_t f = f0; f < std::min(o_.flights, f0 + kBatch); ++f) {
        cmds.push_back({"SET", key(f, "seats"), std::to_string(o_.seats)});
        cmds.push_back({"SET", key(f, "bookings"), "0"});
        cmds.push_back({"DEL", key(f, "booked")});
      }
      if (auto st = run_setup(c, cmds); !st.ok()) return st;
    }
    return lf::Status();
  }

  std::unique_ptr<Terminal> make_terminal(int worker, std::uint64_t index, Rng rng) override {
    ReservationTally& tally = tallies_[static_cast<std::size_t>(worker)];
    if (o_.txn == "eval") return std::make_unique<ReservationScriptTerminal>(o_, flights_, tally, index, rng);
    return std::make_unique<ReservationTerminal>(o_, flights_, tally, index, rng);
  }

  InvariantReport verify(SyncClient& c) override;

 private:
  const Options& o_;
  KeyChooser flights_;
  std::vector<ReservationTally> tallies_;
};

InvariantReport ReservationWorkload::verify(SyncClient& c) {
  InvariantReport rep;
  std::vector<std::uint64_t> acked(o_.flights, 0), doubt(o_.flights, 0);
  for (const auto& t : tallies_) {
    for (std::uint64_t f = 0; f < o_.flights; ++f) {
      acked[f] += t.acked[f];
      doubt[f] += t.doubt[f];
    }
  }
  std::int64_t total_left = 0, total_sold = 0, total_recorded = 0;
  std::uint64_t total_acked = 0, total_doubt = 0;
  constexpr std::uint64_t kBatch = 500;
  for (std::uint64_t f0 = 0; f0 < o_.flights; f0 += kBatch) {
    std::vector<Command> cmds;
    std::uint64_t f1 = std::min(o_.flights, f0 + kBatch);
    for (std::uint64_t f = f0; f < f1; ++f) {
      cmds.push_back({"GET", key(f, "seats")});
      cmds.push_back({"GET", key(f, "bookings")});
      cmds.push_back({"HLEN", key(f, "booked")});
    }
    auto r = c.pipeline(cmds);
    if (!r.ok()) {
      rep.checked = true;
      rep.fail("cannot read the flights back: " + r.status().message());
      return rep;
    }
    for (std::uint64_t f = f0; f < f1; ++f) {
      const Reply* rs = &(*r)[(f - f0) * 3];
      std::int64_t left = 0, sold = 0, recorded = 0;
      if (!reply_to_int(rs[0], left) || !reply_to_int(rs[1], sold) || !reply_to_int(rs[2], recorded)) {
        rep.fail(fmt::format("flight {}: unreadable: seats {}, bookings {}, booked {}", f, rs[0].describe(),
                             rs[1].describe(), rs[2].describe()));
        continue;
      }
      total_left += left;
      total_sold += sold;
      total_recorded += recorded;
      total_acked += acked[f];
      total_doubt += doubt[f];
      if (left < 0) rep.fail(fmt::format("flight {}: {} seats left: oversold", f, left));
      if (left + sold != o_.seats) {
        rep.fail(fmt::format("flight {}: seats left {} + seats sold {} = {}, not the {} it started with", f, left,
                             sold, left + sold, o_.seats));
      }
      if (recorded != sold) {
        rep.fail(fmt::format("flight {}: {} bookings recorded but {} seats sold", f, recorded, sold));
      }
      auto s = static_cast<std::uint64_t>(sold < 0 ? 0 : sold);
      if (sold < 0 || s < acked[f] || s > acked[f] + doubt[f]) {
        if (doubt[f] == 0) {
          rep.fail(fmt::format("flight {}: {} seats sold but terminals were told {} bookings succeeded", f, sold,
                               acked[f]));
        } else {
          rep.fail(fmt::format("flight {}: {} seats sold but terminals were told {} bookings succeeded ({} in doubt)",
                               f, sold, acked[f], doubt[f]));
        }
      }
    }
  }
  rep.checked = true;
  rep.in_doubt = total_doubt;
  rep.summary = fmt::format(
      "{} flights x {} seats: sold {} + left {} = {} (initial {}); bookings recorded {}, acknowledged {}{}",
      o_.flights, o_.seats, total_sold, total_left, total_sold + total_left,
      static_cast<std::int64_t>(o_.flights) * o_.seats, total_recorded, total_acked,
      total_doubt ? fmt::format(", in doubt {}", total_doubt) : std::string());
  return rep;
}

}  // namespace

lf::Result<std::unique_ptr<Workload>> make_reservation(const Options& o) {
  auto flights = KeyChooser::create(o.flights, o.dist, o.zipf_theta);
  if (!flights.ok()) return flights.status();
  return std::unique_ptr<Workload>(new ReservationWorkload(o, std::move(flights.value())));
}

}  // namespace bench
