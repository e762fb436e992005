"""Open loop measures from the due time: stop the server (SIGSTOP) for a second in the middle of
an open-loop run and the stall shows up in the latency of the operations that came due during
it, none of which goes missing. Counts and magnitudes, not speed: the assertions hold on any
machine that can run 1000 operations a second."""

import json
import os
import signal
import tempfile
import time
import unittest

from lfdb_testlib import ServerTestCase
from benchlib import start_bench

STALL = 1.0


class BenchOpenLoopStallTest(ServerTestCase):

    def test_server_stall_shows_as_latency(self):
        with tempfile.TemporaryDirectory(prefix="lfdb-bench-itest-") as d:
            path = os.path.join(d, "summary.json")
            proc = start_bench(self.port, path, "-w", "getset", "-c", 10, "-t", 2,
                               "--rate", 1000, "-d", 4)
            stopped = False
            try:
                # The first progress line says the load is running; then stall the server.
                first = proc.stderr.readline().decode()
                self.assertIn("ops/s", first)
                self.server.proc.send_signal(signal.SIGSTOP)
                stopped = True
                time.sleep(STALL)
            finally:
                if stopped:
                    self.server.proc.send_signal(signal.SIGCONT)
            out, err = proc.communicate(timeout=60)
            self.assertEqual(proc.returncode, 0, out.decode() + err.decode())
            with open(path) as f:
                s = json.load(f)
        # Every operation of the timetable ran: 1000/s for 4 s.
        self.assertEqual(s["ops"], 4000)
        self.assertEqual(s["errors"], 0)
        lat = s["latency_us"]
        # The one due as the stall began waited for all of it; 1% of the run (40 operations)
        # came due in its first 40 ms and waited nearly as long.
        self.assertGreaterEqual(lat["max"], 0.9 * STALL * 1e6, s)
        self.assertGreaterEqual(lat["p99"], 0.5 * STALL * 1e6, s)
        # The client fell behind its timetable while the connections were stuck.
        self.assertGreater(s["late_starts"], 0)


if __name__ == "__main__":
    unittest.main()
