"""lfdb-bench's workloads against the server under test (redis-server or lfdb-server): each runs
to completion, its invariant holds, and what it says it did matches what the test reads back
from the server with redis-py."""

import unittest

from lfdb_testlib import ServerTestCase
from benchlib import run_bench


class BenchWorkloadsTest(ServerTestCase):

    def assertRan(self, run, ops=None):
        self.assertEqual(run.rc, 0, run)
        self.assertIsNotNone(run.summary, run)
        s = run.summary
        self.assertEqual(s["errors"], 0, run)
        self.assertEqual(s["connections_lost"], 0, run)
        if ops is not None:
            self.assertEqual(s["ops"], ops, run)
        self.assertEqual(sum(s["outcomes"].values()), s["ops"], run)
        self.assertEqual(s["latency_us"]["count"], s["ops"], run)
        return s

    def test_getset_sets_then_gets_what_it_set(self):
        run = run_bench(self.port, "-w", "getset", "-c", 8, "-t", 2, "-n", 2000, "--keys", 100,
                        "--ratio", "1:0", "--value-size", 37, "--key-prefix", "gs:")
        s = self.assertRan(run, ops=2000)
        self.assertEqual(s["outcomes"], {"set": 2000})
        self.assertEqual(s["replies"], 2000)
        # 2000 uniform draws over 100 keys leave none out (p < 1e-6).
        self.assertEqual(len(self.r.keys("gs:key:*")), 100)
        self.assertEqual(self.r.strlen("gs:key:42"), 37)
        run = run_bench(self.port, "-w", "getset", "-c", 8, "-n", 1000, "--keys", 100,
                        "--ratio", "0:1", "--key-prefix", "gs:")
        s = self.assertRan(run, ops=1000)
        self.assertEqual(s["outcomes"], {"get_hit": 1000})

    def test_xqueue_reads_and_acknowledges_each_entry_once(self):
        run = run_bench(self.port, "-w", "xqueue", "-c", 8, "-t", 2, "-n", 2000, "--key-prefix", "xq:")
        s = self.assertRan(run, ops=2000)
        self.assertEqual(s["outcomes"], {"acked": 2000})
        self.assertEqual(s["replies"], 4000)  # an XREADGROUP and an XACK per operation
        group = self.r.xinfo_groups("xq:xqueue")[0]
        self.assertEqual(group["pending"], 0)
        self.assertEqual(group["entries-read"], 2000)
        self.assertEqual(self.r.xlen("xq:xqueue"), 2000 + 4 * 8)  # the set-up's margin

    def test_getset_mix_pipelined_zipf(self):
        run = run_bench(self.port, "-w", "getset", "-c", 10, "-P", 16, "-n", 20000, "--keys", 1000,
                        "--dist", "zipf", "--zipf-theta", 0.99, "--ratio", "1:9")
        s = self.assertRan(run, ops=20000)
        self.assertEqual(s["pipeline"], 16)
        sets = s["outcomes"].get("set", 0)
        self.assertGreater(sets, 1000)  # about 2000 of 20000 at 1:9
        self.assertLess(sets, 3000)
        # Zipf: the hottest key (rank 0) was written, and far fewer distinct keys exist than a
        # uniform spread of ~2000 SETs over 1000 keys would leave (~865).
        self.assertEqual(self.r.exists("key:0"), 1)
        self.assertLess(self.r.dbsize(), 800)

    def test_reservation_sells_every_seat_once(self):
        run = run_bench(self.port, "-w", "reservation", "-c", 20, "-t", 2, "-n", 3000,
                        "--flights", 5, "--seats", 300)
        s = self.assertRan(run, ops=3000)
        inv = s["invariant"]
        self.assertTrue(inv["checked"] and inv["ok"], run)
        self.assertIn("invariant    OK", run.stdout)
        # 1500 seats, 3000 attempts: every seat sold, the rest found the flights full.
        self.assertEqual(s["outcomes"]["booked"], 1500, run)
        self.assertEqual(s["outcomes"]["sold_out"], 1500, run)
        for f in range(5):
            self.assertEqual(self.r.get("flight:{%d}:seats" % f), "0")
            self.assertEqual(self.r.get("flight:{%d}:bookings" % f), "300")
            self.assertEqual(self.r.hlen("flight:{%d}:booked" % f), 300)

    def test_reservation_contended_by_duration(self):
        # Two flights, twenty terminals: WATCH conflicts are certain, and retried.
        run = run_bench(self.port, "-w", "reservation", "-c", 20, "-d", 1, "--flights", 2,
                        "--seats", 100000)
        s = self.assertRan(run)
        self.assertTrue(s["invariant"]["ok"], run)
        self.assertGreater(s["retries"], 0, run)
        sold = sum(int(self.r.get("flight:{%d}:bookings" % f)) for f in range(2))
        self.assertEqual(sold, s["outcomes"]["booked"] + s["warmup_ops"])

    def test_reservation_by_stored_procedure_sells_every_seat_once(self):
        run = run_bench(self.port, "-w", "reservation", "--txn", "eval", "-c", 20, "-t", 2, "-n", 3000,
                        "--flights", 5, "--seats", 300)
        s = self.assertRan(run, ops=3000)
        self.assertTrue(s["invariant"]["ok"], run)
        self.assertEqual(s["outcomes"]["booked"], 1500, run)
        self.assertEqual(s["outcomes"]["sold_out"], 1500, run)
        self.assertEqual(s["retries"], 0, run)  # a script never conflicts: nothing to retry
        for f in range(5):
            self.assertEqual(self.r.get("flight:{%d}:seats" % f), "0")
            self.assertEqual(self.r.hlen("flight:{%d}:booked" % f), 300)

    def test_transfer_conserves_money(self):
        self.check_transfer("multi")

    def test_transfer_by_stored_procedure_conserves_money(self):
        self.check_transfer("eval")

    def check_transfer(self, txn):
        run = run_bench(self.port, "-w", "transfer", "--txn", txn, "-c", 16, "-t", 2, "-n", 3000,
                        "--branches", 3, "--accounts", 50, "--tellers", 4, "--initial-balance", 500,
                        "--max-delta", 400)
        s = self.assertRan(run, ops=3000)
        self.assertTrue(s["invariant"]["ok"], run)
        transferred = s["outcomes"].get("transferred", 0)
        self.assertGreater(transferred, 0)
        # Read it all back independently.
        accounts = tellers = branches = history = 0
        for b in range(3):
            vals = self.r.mget(["account:{b%d}:%d" % (b, a) for a in range(50)])
            self.assertTrue(all(int(v) >= 0 for v in vals))  # declined, never overdrawn
            accounts += sum(int(v) - 500 for v in vals)
            tellers += sum(int(v) for v in self.r.mget(["teller:{b%d}:%d" % (b, t) for t in range(4)]))
            branches += int(self.r.get("branch:{b%d}" % b))
            history += self.r.hlen("history:{b%d}" % b)
        self.assertEqual(accounts, tellers)
        self.assertEqual(accounts, branches)
        self.assertEqual(history, transferred)

    def test_open_loop_runs_its_timetable(self):
        # 2 threads x 1000/s for 2 s: operation k of a thread is due at k ms, so exactly 4000
        # come due before the end, and every one of them runs (late if need be).
        run = run_bench(self.port, "-w", "getset", "-c", 10, "-t", 2, "--rate", 2000, "-d", 2)
        s = self.assertRan(run, ops=4000)
        self.assertEqual(s["mode"], "open")

    def test_warmup_is_not_measured(self):
        run = run_bench(self.port, "-w", "getset", "-c", 4, "-n", 500, "--warmup", 0.3)
        s = self.assertRan(run, ops=500)
        self.assertGreater(s["warmup_ops"], 0)
        self.assertEqual(s["replies"], 500 + s["warmup_ops"])


class BenchUsageTest(ServerTestCase):
    """Bad input gets a clear message and exit status 2 (usage) or 1 (the run failed)."""

    def expect_usage_error(self, text, *args):
        run = run_bench(self.port, *args)
        self.assertEqual(run.rc, 2, run)
        self.assertIn(text, run.stderr)
        self.assertIsNone(run.summary)

    def test_bad_options(self):
        self.expect_usage_error("--pipeline applies to getset only", "-w", "reservation", "-P", 4)
        self.expect_usage_error("--txn", "-w", "transfer", "--txn", "nosuch")
        self.expect_usage_error("--zipf-theta must be in (0, 1)", "--dist", "zipf", "--zipf-theta", 1.5)
        self.expect_usage_error("--ratio must be SET:GET", "--ratio", "9")
        self.expect_usage_error("--key-prefix must not contain", "--key-prefix", "a{b}")
        self.expect_usage_error("workload", "-w", "nosuch")

    def test_nothing_listening(self):
        from lfdb_testlib import free_port
        run = run_bench(free_port(), "-n", 10)
        self.assertEqual(run.rc, 1, run)
        self.assertIn("cannot connect", run.stderr)


class BenchPasswordTest(ServerTestCase):
    server_config = [("requirepass", "sesame")]

    @property
    def r(self):
        cls = type(self)
        if cls._r is None:
            cls._r = cls.client(password="sesame")
        return cls._r

    def test_password(self):
        run = run_bench(self.port, "-a", "sesame", "-w", "reservation", "-c", 4, "-n", 200, "--flights", 2)
        self.assertEqual(run.rc, 0, run)
        self.assertTrue(run.summary["invariant"]["ok"], run)
        run = run_bench(self.port, "-w", "getset", "-n", 10)
        self.assertEqual(run.rc, 1, run)
        self.assertIn("NOAUTH", run.stderr)


if __name__ == "__main__":
    unittest.main()
