"""The invariant checks of lfdb-bench can fail: between the bench and the server under test sits
a proxy that loses one write in a hundred and still answers as if it had done it
(lossy_proxy.py). The reservation and transfer runs must then exit 1 with the invariant's
message; through the same proxy losing nothing, they pass (so the proxy itself is not what
breaks them)."""

import unittest

from lfdb_testlib import ServerTestCase
from lossy_proxy import LossyProxy
from benchlib import run_bench

RESERVATION = ("-w", "reservation", "-c", 4, "-t", 2, "-n", 600, "--flights", 5, "--seats", 1000)
TRANSFER = ("-w", "transfer", "-c", 4, "-t", 2, "-n", 600, "--branches", 2, "--accounts", 20,
            "--tellers", 2)


class BenchInvariantTest(ServerTestCase):

    def through_proxy(self, drop_every, *args):
        proxy = LossyProxy(self.port, drop_every).start()
        try:
            return run_bench(proxy.port, *args), proxy
        finally:
            proxy.stop()

    def assertCaught(self, run, proxy):
        self.assertGreater(proxy.dropped, 0, "the proxy lost nothing: the test proves nothing")
        self.assertEqual(run.rc, 1, run)
        self.assertIn("invariant FAILED", run.stderr, run)
        self.assertIn("invariant    FAILED", run.stdout, run)
        self.assertFalse(run.summary["invariant"]["ok"], run)
        self.assertGreater(run.summary["invariant"]["failed_checks"], 0, run)
        # The run itself saw no error: only the read-back can tell.
        self.assertEqual(run.summary["errors"], 0, run)

    def test_reservation_catches_lost_writes(self):
        run, proxy = self.through_proxy(100, *RESERVATION)
        self.assertCaught(run, proxy)
        self.assertRegex(run.stdout, r"flight \d+: ")

    def test_transfer_catches_lost_writes(self):
        run, proxy = self.through_proxy(100, *TRANSFER)
        self.assertCaught(run, proxy)
        self.assertRegex(run.stdout, r"branch \d+: ")

    def test_honest_proxy_passes(self):
        for args in (RESERVATION, TRANSFER):
            run, proxy = self.through_proxy(0, *args)
            self.assertEqual(proxy.dropped, 0)
            self.assertGreater(proxy.writes, 0)
            self.assertEqual(run.rc, 0, run)
            self.assertTrue(run.summary["invariant"]["ok"], run)


if __name__ == "__main__":
    unittest.main()
