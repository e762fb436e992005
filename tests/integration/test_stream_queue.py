"""A consumer group as a work queue, under load (issue 16).

Producers XADD while 8 consumers XREADGROUP ... BLOCK (served by the producers' XADDs) and XACK
what they processed. Consumers die: some drop what they hold and come back under a new name,
some close their connection while blocked (whatever the server delivered to them stays pending
under a consumer nobody runs). Live consumers recover both with XAUTOCLAIM. At the end every
entry was processed at least once and acknowledged exactly once (XACK answers 1 once per id),
and the group's pending list is empty.

Runs against redis-server and lfdb-server (every --model and --data in ctest; LFDB_SANITIZED
shrinks the load). Then, lfdb-server alone under `appendfsync always`: the same queue with the
server killed (SIGKILL) at random moments; after each restart every acknowledged XADD is in the
stream, every delivered and unacknowledged entry is still pending, every acknowledged entry is
not, the group's counters agree with its pending lists, and the stream, the group's position and
its pending list are what redis-server rebuilds from the same log (the file the restart loaded,
replayed into it). Timeouts are liveness bounds only. LFDB_QUEUE_SEED overrides the seed."""

import os
import random
import shutil
import socket
import subprocess
import threading
import time
import unittest

import redis

from lfdb_testlib import (HOST, REDIS_SERVER, SANITIZED, RedisPeer, ServerProcess, ServerTestCase,
                          encode_command, is_lfdb, lfdb_arg)

SEED = int(os.environ.get("LFDB_QUEUE_SEED", str(int(time.time()))))
WAIT = 120.0 if SANITIZED else 60.0
CONSUMERS = 8
CLAIM_IDLE_MS = 200
DISCONNECT_ERRORS = (redis.ConnectionError, redis.TimeoutError, ConnectionError, OSError)


def xinfo_full(r):
    """XINFO STREAM jobs FULL, every entry and pending entry, as nested dicts; without what
    depends on when the log was replayed (consumers' seen times) or on the layout (radix tree
    counts, which lfdb reports for its blocks)."""
    def pairs(flat):
        return {flat[i]: flat[i + 1] for i in range(0, len(flat), 2)}
    info = pairs(r.execute_command("XINFO", "STREAM", "jobs", "FULL", "COUNT", "0"))
    info.pop("radix-tree-keys")
    info.pop("radix-tree-nodes")
    groups = []
    for g in info.pop("groups"):
        g = pairs(g)
        consumers = []
        for cons in g.pop("consumers"):
            cons = pairs(cons)
            cons.pop("seen-time")
            consumers.append(cons)
        g["consumers"] = sorted(consumers, key=lambda c: c["name"])
        groups.append(g)
    info["groups"] = groups
    return info


def id_key(eid):
    ms, seq = eid.split("-")
    return int(ms), int(seq)


class Ledger:
    """What the clients saw, shared by every thread: ids the server acknowledged adding, ids
    delivered (by XREADGROUP or XAUTOCLAIM) and processed, XACKs sent and XACK's answers."""

    def __init__(self):
        self.lock = threading.Lock()
        self.added = set()
        self.processed = {}      # id -> times processed
        self.ack_sent = set()
        self.acked = {}          # id -> sum of XACK answers
        self.errors = []

    def add(self, eid):
        with self.lock:
            self.added.add(eid)

    def process(self, eids):
        with self.lock:
            for e in eids:
                self.processed[e] = self.processed.get(e, 0) + 1

    def ack_sending(self, eids):
        with self.lock:
            self.ack_sent.update(eids)

    def ack(self, eid, n):
        with self.lock:
            self.acked[eid] = self.acked.get(eid, 0) + n

    def acked_count(self):
        with self.lock:
            return sum(1 for v in self.acked.values() if v)

    def error(self, what):
        with self.lock:
            self.errors.append(what)


def producer(port, ledger, pid, count, rng, stop=None):
    c = redis.Redis(host=HOST, port=port, socket_timeout=WAIT, decode_responses=True)
    try:
        for j in range(count):
            if stop is not None and stop.is_set():
                return
            ledger.add(c.xadd("jobs", {"p": str(pid), "j": str(j)}))
            if rng.random() < 0.05:
                time.sleep(rng.uniform(0, 0.02))  # let blocked consumers catch up, now and then
    except DISCONNECT_ERRORS:
        if stop is None:
            raise
    finally:
        c.close()


def die_while_blocked(port, name, rng):
    """A consumer whose connection goes away in the middle of a blocked XREADGROUP: what the
    server delivered to it (if anything) stays pending under `name`."""
    s = socket.create_connection((HOST, port), timeout=WAIT)
    try:
        s.sendall(encode_command("XREADGROUP", "GROUP", "workers", name, "COUNT", str(rng.randint(1, 5)),
                                 "BLOCK", "2000", "STREAMS", "jobs", ">"))
        time.sleep(rng.uniform(0, 0.05))
    finally:
        s.close()


def consumer(port, ledger, wid, rng, done, server_dies=False):
    """Reads with BLOCK, recovers what idles in the pending list with XAUTOCLAIM, acknowledges
    each entry after processing it, dies now and then. Returns when `done` is set (or, with
    server_dies, when the server goes away)."""
    c = redis.Redis(host=HOST, port=port, socket_timeout=WAIT, decode_responses=True)
    generation = 0
    name = "w%d" % wid
    cursor = "0-0"
    try:
        while not done.is_set():
            fate = rng.random()
            if fate < 0.03:
                generation += 1
                die_while_blocked(port, "ghost-%d-%d" % (wid, generation), rng)
                continue
            got = c.xreadgroup("workers", name, {"jobs": ">"}, count=rng.randint(1, 10), block=100)
            entries = got[0][1] if got else []
            if not entries:
                # Nothing new: recover what dead consumers left pending.
                cursor, entries, _ = c.xautoclaim("jobs", "workers", name, CLAIM_IDLE_MS, cursor,
                                                  count=20)
            if not entries:
                continue
            eids = [e for e, _ in entries]
            ledger.process(eids)
            if fate < 0.1:
                # A crash: the consumer leaves with its entries unacknowledged; a new one
                # takes its place on a new connection.
                c.close()
                generation += 1
                name = "w%d-%d" % (wid, generation)
                c = redis.Redis(host=HOST, port=port, socket_timeout=WAIT, decode_responses=True)
                continue
            ledger.ack_sending(eids)
            for e in eids:
                ledger.ack(e, c.xack("jobs", "workers", e))
    except DISCONNECT_ERRORS as e:
        if not server_dies:
            ledger.error("consumer %d: %r" % (wid, e))
    except Exception as e:  # noqa: BLE001 - reported by the main thread
        ledger.error("consumer %d: %r" % (wid, e))
    finally:
        c.close()


class WorkQueueTest(ServerTestCase):
    PRODUCERS = 3
    PER_PRODUCER = 100 if SANITIZED else 300

    def test_every_entry_processed_and_acknowledged_once(self):
        rng = random.Random(SEED)
        ledger = Ledger()
        self.r.xgroup_create("jobs", "workers", "$", mkstream=True)
        done = threading.Event()
        consumers = [threading.Thread(target=consumer,
                                      args=(self.port, ledger, w, random.Random(rng.random()), done))
                     for w in range(CONSUMERS)]
        producers = [threading.Thread(target=producer,
                                      args=(self.port, ledger, p, self.PER_PRODUCER,
                                            random.Random(rng.random())))
                     for p in range(self.PRODUCERS)]
        for t in consumers + producers:
            t.start()
        for t in producers:
            t.join(WAIT)
            self.assertFalse(t.is_alive(), "a producer hung")
        total = self.PRODUCERS * self.PER_PRODUCER
        self.assertEqual(len(ledger.added), total, "an XADD failed (seed %d)" % SEED)
        deadline = time.monotonic() + WAIT
        while ledger.acked_count() < total and not ledger.errors and time.monotonic() < deadline:
            time.sleep(0.05)
        done.set()
        for t in consumers:
            t.join(WAIT)
            self.assertFalse(t.is_alive(), "a consumer hung")
        self.assertEqual(ledger.errors, [], "seed %d" % SEED)
        where = " (seed %d)" % SEED
        self.assertEqual(set(ledger.processed), ledger.added, "an entry was never processed" + where)
        self.assertEqual(set(ledger.acked), ledger.added, "an entry was never acknowledged" + where)
        twice = [e for e, n in ledger.acked.items() if n != 1]
        self.assertEqual(twice, [], "acknowledged more than once" + where)
        # The server agrees: nothing pending, everything delivered, no lag.
        self.assertEqual(self.r.xpending("jobs", "workers")["pending"], 0)
        self.assertEqual(self.r.xlen("jobs"), total)
        group = self.r.xinfo_groups("jobs")[0]
        last = max(ledger.added, key=id_key)
        self.assertEqual(group["last-delivered-id"], last)
        self.assertEqual(group["pending"], 0)
        self.assertEqual(group["entries-read"], total)
        self.assertEqual(group["lag"], 0)
        for cons in self.r.xinfo_consumers("jobs", "workers"):
            self.assertEqual(cons["pending"], 0, cons)
        deadline = time.monotonic() + WAIT
        while int(self.r.info("clients")["blocked_clients"]) != 0:
            self.assertLess(time.monotonic(), deadline, "a blocked reader was left behind")
            time.sleep(0.05)


@unittest.skipUnless(is_lfdb() and os.path.isdir("/proc/self/task"), "lfdb's blocked-client timer, Linux")
class BlockedReaderTimerTest(ServerTestCase):
    """The blocked-client timer (one thread for every blocked client) looks at deadlines and
    hang-ups every 100 ms. A reader that blocks must not wake it unless it has to look sooner
    (the first reader, or a deadline before its next look): a work queue's consumers block on
    nearly every XREADGROUP, and each wake-up polled every blocked socket."""
    READS = 300

    def timer_wakeups(self):
        task = "/proc/%d/task" % self.server.proc.pid
        for tid in os.listdir(task):
            try:
                with open(os.path.join(task, tid, "comm")) as f:
                    if f.read().strip() != "lfdb-blocking":
                        continue
                with open(os.path.join(task, tid, "status")) as f:
                    for line in f:
                        if line.startswith("voluntary_ctxt_switches:"):
                            return int(line.split()[1])
            except FileNotFoundError:
                continue
        self.fail("no lfdb-blocking thread in the server")

    def wait_blocked(self, n):
        deadline = time.monotonic() + WAIT
        while int(self.r.info("clients")["blocked_clients"]) != n:
            self.assertLess(time.monotonic(), deadline, "the reader never blocked")
            time.sleep(0.001)

    def test_blocked_readers_do_not_wake_the_timer_each(self):
        self.r.xgroup_create("q", "g", "$", mkstream=True)
        # A reader blocked throughout (the timer always has a client to watch), with a deadline
        # well after the test.
        idle = self.raw(timeout=WAIT)
        idle.send_command("XREAD", "BLOCK", "600000", "STREAMS", "idle", "$")
        self.wait_blocked(1)
        reader = self.raw(timeout=WAIT)
        before = self.timer_wakeups()
        start = time.monotonic()
        for i in range(self.READS):
            reader.send_command("XREADGROUP", "GROUP", "g", "c", "COUNT", "1", "BLOCK",
                                "0" if i % 2 else "600000", "STREAMS", "q", ">")
            self.wait_blocked(2)
            eid = self.r.xadd("q", {"i": str(i)})
            got = reader.read_parsed()
            self.assertEqual(got[0][1][0][0].decode(), eid)
        elapsed = time.monotonic() - start
        wakeups = self.timer_wakeups() - before
        # Its own looks: one per 100 ms (twice that, for slack), whatever the readers do.
        looks = 2 * (10 * elapsed + 1)
        self.assertLess(wakeups, looks + self.READS / 3,
                        "%d blocked XREADGROUPs in %.1f s woke the timer %d times"
                        % (self.READS, elapsed, wakeups))
        self.assertEqual(self.r.xpending("q", "g")["pending"], self.READS)


# Group commit parks and resumes a connection the same way under every model (test_concurrency
# runs under `appendfsync always` per model): the kill -9 cycles run under the default model,
# both data modes.
@unittest.skipUnless(is_lfdb() and lfdb_arg("model", "lf") == "lf", "lfdb's log, under the lf model")
@unittest.skipUnless(shutil.which(REDIS_SERVER) and shutil.which("redis-cli"),
                     "redis-server replays the log for the comparison")
class KilledQueueTest(unittest.TestCase):
    CYCLES = 3 if SANITIZED else 4
    PRODUCERS = 2
    WORKERS = 4

    def check(self, r, ledger, cycle):
        """The stream and group after a restart, against what the clients were told."""
        where = "cycle %d (seed %d)" % (cycle, SEED)
        present = {e for e, _ in r.xrange("jobs")}
        self.assertEqual(r.xlen("jobs"), len(present))
        lost = ledger.added - present
        self.assertFalse(lost, "acknowledged XADDs lost: %s, %s" % (sorted(lost)[:5], where))
        pel = r.xpending_range("jobs", "workers", "-", "+", 1 << 30)
        pending = {p["message_id"] for p in pel}
        self.assertEqual(len(pending), len(pel))
        self.assertLessEqual(pending, present, "a pending id that is not in the stream: " + where)
        acked = {e for e, n in ledger.acked.items() if n}
        self.assertFalse(acked & pending, "acknowledged entries pending again: " + where)
        # Delivered and never sent an XACK: must still be pending (the delivery was logged
        # before its reply was sent).
        held = set(ledger.processed) - ledger.ack_sent
        self.assertLessEqual(held, pending, "a delivered entry left the pending list: " + where)
        group = r.xinfo_groups("jobs")[0]
        self.assertEqual(group["pending"], len(pending), where)
        if ledger.processed:
            last = max(ledger.processed, key=id_key)
            self.assertGreaterEqual(id_key(group["last-delivered-id"]), id_key(last), where)
        if pending:
            self.assertGreaterEqual(id_key(group["last-delivered-id"]),
                                    max(id_key(p) for p in pending), where)
        per_consumer = {}
        for p in pel:
            per_consumer[p["consumer"]] = per_consumer.get(p["consumer"], 0) + 1
        for cons in r.xinfo_consumers("jobs", "workers"):
            self.assertEqual(cons["pending"], per_consumer.pop(cons["name"], 0), where)
        self.assertEqual(per_consumer, {}, "pending under a consumer the group lacks: " + where)
        summary = r.xpending("jobs", "workers")
        self.assertEqual(summary["pending"], len(pending), where)
        # The entries-read counter never runs ahead of what was added.
        self.assertLessEqual(group["entries-read"], len(present), where)

    def check_log(self, r, aof, peer, cycle):
        """The restarted server holds what its log says: redis-server, given the same records
        (the file as the restart left it, a torn tail cut), has the same entries and counters,
        the same group position (last-delivered id, entries-read, lag) and the same pending
        entries, each with its consumer, delivery time and count."""
        where = "cycle %d (seed %d)" % (cycle, SEED)
        p = redis.Redis(host=HOST, port=peer.port, socket_timeout=WAIT, decode_responses=True)
        try:
            p.flushall()
            with open(aof, "rb") as f:
                replay = subprocess.run(["redis-cli", "-p", str(peer.port), "--pipe"], stdin=f,
                                        capture_output=True, timeout=WAIT)
            self.assertEqual(replay.returncode, 0, "redis-server refused records of the log: %s, %s"
                             % (replay.stdout.decode(errors="replace")[-300:], where))
            want, got = xinfo_full(p), xinfo_full(r)
        finally:
            p.close()
        self.assertEqual(got["groups"], want["groups"], "the group is not what the log says: " + where)
        self.assertEqual(got, want, "the stream is not what the log says: " + where)

    def test_sigkill_with_appendfsync_always(self):
        rng = random.Random(SEED)
        sp = ServerProcess([("appendonly", "yes"), ("appendfsync", "always")])
        sp.extra.append(("dir", sp.dir))
        aof = os.path.join(sp.dir, "appendonly.aof")
        peer = RedisPeer()
        ledger = Ledger()
        try:
            peer.start()
            sp.start()
            r = redis.Redis(host=HOST, port=sp.port, socket_timeout=WAIT, decode_responses=True)
            r.xgroup_create("jobs", "workers", "$", mkstream=True)
            r.close()
            for cycle in range(self.CYCLES):
                done = threading.Event()
                threads = [threading.Thread(target=producer,
                                            args=(sp.port, ledger, 10 * cycle + p, 100000,
                                                  random.Random(rng.random()), done))
                           for p in range(self.PRODUCERS)]
                threads += [threading.Thread(target=consumer,
                                             args=(sp.port, ledger, 10 * cycle + w,
                                                   random.Random(rng.random()), done, True))
                            for w in range(self.WORKERS)]
                for t in threads:
                    t.start()
                time.sleep(rng.uniform(0.3, 1.0) * (3 if SANITIZED else 1))
                # The clients take a server gone as the kill: it must not have gone by itself.
                self.assertTrue(sp.alive(), "the server exited before the kill:\n" + sp.log())
                sp.proc.kill()  # SIGKILL, mid-write
                sp.proc.wait()
                done.set()
                for t in threads:
                    t.join(WAIT)
                    self.assertFalse(t.is_alive(), "a client hung after the kill")
                sp._log.close()
                sp._log = None
                sp.start()
                r = redis.Redis(host=HOST, port=sp.port, socket_timeout=WAIT, decode_responses=True)
                self.check(r, ledger, cycle)
                self.check_log(r, aof, peer, cycle)
                r.close()
            self.assertEqual(ledger.errors, [])
            self.assertGreater(len(ledger.added), 0, "no XADD was ever acknowledged")
            self.assertGreater(len(ledger.acked), 0, "no XACK was ever answered")
            # Drain what is left with one consumer: every added entry ends up processed at
            # least once, and no entry is acknowledged (answered 1) twice over all the lives.
            r = redis.Redis(host=HOST, port=sp.port, socket_timeout=WAIT, decode_responses=True)
            while True:
                got = r.xreadgroup("workers", "drain", {"jobs": ">"}, count=500)
                entries = got[0][1] if got else []
                if not entries:
                    _, entries, _ = r.xautoclaim("jobs", "workers", "drain", 0, "0-0", count=500)
                if not entries:
                    break
                ledger.process([e for e, _ in entries])
                for e, _ in entries:
                    ledger.ack(e, r.xack("jobs", "workers", e))
            self.assertEqual(r.xpending("jobs", "workers")["pending"], 0)
            present = {e for e, _ in r.xrange("jobs")}
            self.assertLessEqual(ledger.added, set(ledger.processed))
            self.assertLessEqual(present, set(ledger.processed) | set(ledger.ack_sent))
            twice = [e for e, n in ledger.acked.items() if n > 1]
            self.assertEqual(twice, [], "acknowledged more than once (seed %d)" % SEED)
            # An id never answered 1 was acknowledged by an XACK whose answer the kill lost.
            unanswered = {e for e in present if not ledger.acked.get(e)}
            self.assertLessEqual(unanswered, ledger.ack_sent)
            r.close()
            print("killed queue: %d cycles, seed %d, %d entries added (acknowledged), %d in the stream"
                  % (self.CYCLES, SEED, len(ledger.added), len(present)))
        finally:
            sp.stop()
            peer.stop()


if __name__ == "__main__":
    unittest.main()
