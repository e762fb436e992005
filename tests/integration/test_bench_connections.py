"""lfdb-bench drives 1,000+ connections from two threads (one epoll reactor each), and the
server really has them all open at once."""

import json
import os
import tempfile
import unittest

from lfdb_testlib import ServerTestCase
from benchlib import run_bench, start_bench


class BenchManyConnectionsTest(ServerTestCase):

    def test_getset_2000_connections(self):
        run = run_bench(self.port, "-w", "getset", "-c", 2000, "-t", 2, "-n", 20000)
        self.assertEqual(run.rc, 0, run)
        s = run.summary
        self.assertEqual(s["connections"], 2000)
        self.assertEqual(s["ops"], 20000)
        self.assertEqual(s["errors"], 0)
        self.assertEqual(s["connections_lost"], 0)

    def test_reservation_1000_terminals_all_connected(self):
        with tempfile.TemporaryDirectory(prefix="lfdb-bench-itest-") as d:
            path = os.path.join(d, "summary.json")
            proc = start_bench(self.port, path, "-w", "reservation", "-c", 1000, "-t", 2, "-d", 2,
                               "--flights", 50, "--seats", 100000)
            try:
                # Load is running once the first progress line is out: every terminal is
                # connected by then, so the server counts them (plus the test's own client).
                self.assertIn("ops/s", proc.stderr.readline().decode())
                clients = self.r.info("clients")["connected_clients"]
                self.assertGreaterEqual(clients, 1001)
            finally:
                out, err = proc.communicate(timeout=60)
            self.assertEqual(proc.returncode, 0, out.decode() + err.decode())
            with open(path) as f:
                s = json.load(f)
        self.assertEqual(s["connections"], 1000)
        self.assertEqual(s["errors"], 0)
        self.assertTrue(s["invariant"]["ok"], s["invariant"])
        self.assertGreater(s["outcomes"]["booked"], 0)


if __name__ == "__main__":
    unittest.main()
