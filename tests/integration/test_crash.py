"""Crash harness for lfdb-server's append-only log (issue 4).

Writers run under `appendfsync always`, each remembering what the server acknowledged; the
server is killed with SIGKILL at a random moment, restarted on the same log, and checked:
every acknowledged write is there, no write is applied twice, and every transaction is whole.
CI runs 20 cycles; LFDB_CRASH_CYCLES=200 (and LFDB_CRASH_SEED) for a longer run.
"""

import os
import random
import threading
import time
import unittest

import redis

from lfdb_testlib import ServerProcess, is_lfdb

CYCLES = int(os.environ.get("LFDB_CRASH_CYCLES", "20"))
SEED = int(os.environ.get("LFDB_CRASH_SEED", str(int(time.time()))))
WRITERS = 8


class Writer:
    """One connection's history: what it sent and what was acknowledged."""

    def __init__(self, wid):
        self.wid = wid
        self.incr_sent = 0      # INCRs sent, over all cycles (an upper bound for the counter)
        self.incr_acked = 0     # the last value an INCR returned
        self.sets_acked = []    # SET u:<w>:<i> acknowledged
        self.next_set = 0
        self.transfers_acked = 0

    def key(self, name):
        return "%s:{w%d}" % (name, self.wid)  # one color per writer's keys: transactions stay local

    def run(self, port, stop, rng):
        r = redis.Redis(host="127.0.0.1", port=port, socket_timeout=10)
        try:
            while not stop.is_set():
                op = rng.random()
                if op < 0.4:
                    self.incr_sent += 1
                    self.incr_acked = r.incr(self.key("c"))
                elif op < 0.8:
                    i = self.next_set
                    self.next_set += 1
                    r.set(self.key("u") + ":%d" % i, str(i))
                    self.sets_acked.append(i)
                else:
                    p = r.pipeline(transaction=True)
                    p.incrby(self.key("a"), 7).incrby(self.key("b"), -7)
                    p.execute()
                    self.transfers_acked += 1
        except (redis.ConnectionError, redis.TimeoutError, ConnectionResetError, OSError):
            pass  # the server was killed under us: whatever was in flight is unknown
        finally:
            r.close()

    def check(self, tc, r, cycle):
        where = "cycle %d, writer %d (seed %d)" % (cycle, self.wid, SEED)
        c = int(r.get(self.key("c")) or 0)
        tc.assertGreaterEqual(c, self.incr_acked, "acknowledged INCR lost: " + where)
        tc.assertLessEqual(c, self.incr_sent, "an INCR applied twice: " + where)
        # The in-flight INCR (if any) may have landed: continue from the server's value.
        self.incr_acked = c
        self.incr_sent = c
        if self.sets_acked:
            p = r.pipeline(transaction=False)
            for i in self.sets_acked:
                p.get(self.key("u") + ":%d" % i)
            vals = p.execute()
            for i, v in zip(self.sets_acked, vals):
                tc.assertEqual(v, str(i).encode(), "acknowledged SET u:%d lost: %s" % (i, where))
        a = int(r.get(self.key("a")) or 0)
        b = int(r.get(self.key("b")) or 0)
        tc.assertEqual(a + b, 0, "a transaction was applied in part: " + where)
        tc.assertGreaterEqual(a, 7 * self.transfers_acked, "acknowledged transaction lost: " + where)
        tc.assertLessEqual(a, 7 * (self.transfers_acked + 1), "a transaction applied twice: " + where)
        self.transfers_acked = a // 7


@unittest.skipUnless(is_lfdb(), "lfdb's append-only log")
class CrashHarness(unittest.TestCase):
    def test_sigkill_at_random_moments(self):
        rng = random.Random(SEED)
        sp = ServerProcess()
        sp.extra = [("appendonly", "yes"), ("appendfsync", "always"), ("dir", sp.dir)]
        writers = [Writer(w) for w in range(WRITERS)]
        try:
            for cycle in range(CYCLES):
                sp.start()
                r = redis.Redis(host="127.0.0.1", port=sp.port, socket_timeout=10)
                for w in writers:
                    w.check(self, r, cycle)
                r.close()
                stop = threading.Event()
                threads = [threading.Thread(target=w.run,
                                            args=(sp.port, stop, random.Random(rng.random())))
                           for w in writers]
                for t in threads:
                    t.start()
                time.sleep(rng.uniform(0.05, 0.6))
                sp.proc.kill()  # SIGKILL, mid-write
                sp.proc.wait()
                stop.set()
                for t in threads:
                    t.join(30)
                    self.assertFalse(t.is_alive(), "a writer hung after the kill")
                sp._log.close()
                sp._log = None
            sp.start()
            r = redis.Redis(host="127.0.0.1", port=sp.port, socket_timeout=10)
            for w in writers:
                w.check(self, r, CYCLES)
            total = sum(len(w.sets_acked) for w in writers)
            self.assertGreater(total, 0, "no write was ever acknowledged")
            print("crash harness: %d cycles, seed %d, %d acknowledged SETs, counters %s"
                  % (CYCLES, SEED, total, [w.incr_acked for w in writers]))
        finally:
            sp.stop()


if __name__ == "__main__":
    unittest.main()
