"""Replication: an lfdb primary ships its sealed log segments to lfdb replicas (docs/replication.md).

Every test starts real lfdb-server processes on free ports: a primary with appendonly yes and
one replica (`--replicaof 127.0.0.1 PORT`). Catching up is waited for on offsets from INFO
replication (the replica's slave_repl_offset reaching the primary's master_repl_offset), never
on sleeps, and every wait is bounded and says what it waited for when it fails.
"""

import os
import random
import socket
import threading
import time
import unittest

import redis

from lfdb_testlib import HOST, RawConnection, ServerProcess, is_lfdb
import gateway_testlib

WAIT = 10.0  # seconds: the bound of every wait for catching up


class FixedPortServer(ServerProcess):
    """A ServerProcess that keeps its port and directory across restarts."""

    def __init__(self, extra=None, port=None):
        super().__init__(extra)
        self.fixed_port = port

    def start(self):
        if self.fixed_port is None:
            super().start()
            self.fixed_port = self.port
            return self
        import lfdb_testlib
        real = lfdb_testlib.free_port
        lfdb_testlib.free_port = lambda: self.fixed_port
        try:
            return super().start()
        finally:
            lfdb_testlib.free_port = real

    def kill9(self):
        self.proc.kill()
        self.proc.wait()
        if self._log:
            self._log.close()
            self._log = None


class CutProxy:
    """Forwards TCP bytes to a port; cut() breaks every connection it carries (the replica's
    link), so the replica reconnects through it."""

    def __init__(self, upstream_port):
        self.upstream = upstream_port
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind((HOST, 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self.lock = threading.Lock()
        self.socks = []
        self.connections = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                c, _ = self.listener.accept()
            except OSError:
                return
            try:
                u = socket.create_connection((HOST, self.upstream))
            except OSError:
                c.close()
                continue
            with self.lock:
                self.socks += [c, u]
                self.connections += 1
            for a, b in ((c, u), (u, c)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(a, b):
        try:
            while True:
                d = a.recv(65536)
                if not d:
                    break
                b.sendall(d)
        except OSError:
            pass
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cut(self):
        with self.lock:
            socks, self.socks = self.socks, []
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
                s.close()
            except OSError:
                pass

    def close(self):
        self.cut()
        self.listener.close()


def info(r):
    return r.info("replication")


def wait_for(what, pred, timeout=WAIT):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = pred()
            if last:
                return last
        except (redis.ConnectionError, redis.TimeoutError, ConnectionResetError):
            pass
        time.sleep(0.02)
    raise AssertionError("timed out after %.0f s waiting for %s (last: %r)" % (timeout, what, last))


def wait_caught_up(primary, replica, timeout=WAIT):
    """Until the replica's link is up and it applied everything the primary sealed so far."""
    target = int(info(primary)["master_repl_offset"])
    replid = info(primary)["master_replid"]

    def ok():
        i = info(replica)
        return (i.get("master_link_status") == "up" and i.get("master_replid") == replid and
                int(i["slave_repl_offset"]) >= target), i
    wait_for("the replica to reach offset %d of %s" % (target, replid), lambda: ok()[0], timeout)
    return target


def dump(r):
    """Every key: (type, value, has a TTL)."""
    out = {}
    for k in r.scan_iter(count=1000):
        t = r.type(k)
        if t == b"string":
            v = r.get(k)
        elif t == b"hash":
            v = tuple(sorted(r.hgetall(k).items()))
        elif t == b"none":
            continue
        else:
            v = t
        out[k] = (t, v, r.pttl(k) > 0)
    return out


@unittest.skipUnless(is_lfdb(), "lfdb's replication (LFDB.SYNC) is tested against lfdb-server")
class ReplicationTest(unittest.TestCase):
    def setUp(self):
        self.servers = []
        self.proxies = []
        result = getattr(self._outcome, "result", None)
        self._problems = len(getattr(result, "failures", [])) + len(getattr(result, "errors", []))

    def tearDown(self):
        result = getattr(self._outcome, "result", None)
        problems = len(getattr(result, "failures", [])) + len(getattr(result, "errors", []))
        failed = problems != self._problems or not getattr(self._outcome, "success", True)
        for s in self.servers:
            if failed and s.proc is not None:
                print("\n----- %s -----\n%s" % (s.log_path, s.log()))
            s.stop()
        for p in self.proxies:
            p.close()

    def primary(self, *extra):
        s = FixedPortServer([("appendonly", "yes")] + list(extra)).start()
        self.servers.append(s)
        return s

    def replica(self, primary_port, *extra, port=None):
        s = FixedPortServer([("replicaof", "127.0.0.1 %d" % primary_port)] + list(extra), port=port)
        s.start()
        self.servers.append(s)
        return s

    @staticmethod
    def client(s, **kw):
        return redis.Redis(host=HOST, port=s.port, socket_timeout=10, **kw)

    # ---------------------------------------------------------------------------------------

    def test_writes_of_every_kind_reach_the_replica(self):
        p = self.primary()
        pc = self.client(p)
        pc.set("before", "sync")
        r = self.replica(p.port)
        rc = self.client(r)
        pc.set("s", "v")
        pc.set("n", 10)
        pc.incrby("n", 5)
        pc.incrbyfloat("f", 1.5)
        pc.append("s", "w")
        pc.hset("h", mapping={"a": "1", "b": "2"})
        pc.hincrby("h", "a", 10)
        pc.hdel("h", "b")
        pc.set("ttl", "x", ex=1000)
        pc.set("gone", "x")
        pc.expire("gone", 1000)
        pc.persist("gone")
        pc.set("short", "x", px=50)
        pc.mset({"m1": "1", "m2": "2"})
        pc.delete("m2")
        tx = pc.pipeline(transaction=True)
        tx.set("t1", "a").incr("t2").hset("th", "f", "v")
        tx.execute()
        pc.eval("redis.call('SET', KEYS[1], ARGV[1]); redis.call('INCR', KEYS[2]); return 1",
                2, "e1", "e2", "val")
        time.sleep(0.1)
        self.assertIsNone(pc.get("short"))
        self.assertIsNone(rc.get("short"))  # expired for the replica's readers too
        # The primary's expiry cycle deletes it and logs a DEL, which the replica applies.
        wait_for("the primary to expire 'short'", lambda: pc.dbsize() == 13)
        wait_caught_up(pc, rc)
        self.assertEqual(pc.dbsize(), rc.dbsize())
        self.assertEqual(dump(pc), dump(rc))
        self.assertEqual(rc.get("e1"), b"val")
        self.assertEqual(rc.get("t2"), b"1")
        self.assertGreater(rc.pttl("ttl"), 0)
        self.assertEqual(rc.pttl("gone"), -1)
        i = info(rc)
        self.assertEqual(i["role"], "slave")
        self.assertEqual(i["master_port"], p.port)
        pi = info(pc)
        self.assertEqual(pi["role"], "master")
        self.assertEqual(pi["connected_slaves"], 1)
        self.assertEqual(pi["slave0"]["port"], r.port)
        self.assertEqual(pc.execute_command("ROLE")[0], b"master")
        role = rc.execute_command("ROLE")
        self.assertEqual(role[0], b"slave")
        self.assertEqual(role[3], b"connected")
        pc.flushall()
        pc.set("after-flush", "1")
        wait_caught_up(pc, rc)
        self.assertEqual(rc.dbsize(), 1)
        self.assertEqual(dump(pc), dump(rc))

    def test_served_blocking_pops_reach_the_replica_as_plain_pops(self):
        p = self.primary()
        pc = self.client(p)
        r = self.replica(p.port)
        rc = self.client(r)
        blocked = []
        for cmd in (["BLPOP", "q", "0"], ["BLMOVE", "q", "d", "LEFT", "RIGHT", "0"]):
            c = RawConnection(p.port, timeout=10)
            c.send_command(*cmd)
            self.assertTrue(c.expect_silence(0.2))
            blocked.append(c)
        pc.rpush("q", "1", "2", "3")
        self.assertEqual(blocked[0].read_parsed(10), [b"q", b"1"])
        self.assertEqual(blocked[1].read_parsed(10), b"2")
        for c in blocked:
            c.close()
        wait_caught_up(pc, rc)
        self.assertEqual(dump(pc), dump(rc))
        self.assertEqual(rc.lrange("d", 0, -1), [b"2"])
        # A replica never blocks: BLPOP is a write there.
        with self.assertRaises(redis.exceptions.ReadOnlyError):
            rc.blpop("q", 0)
        log = open(os.path.join(p.dir, "appendonly.aof"), "rb").read()
        self.assertNotIn(b"BLPOP", log.upper())
        self.assertNotIn(b"BLMOVE", log.upper())

    def test_masterauth_authenticates_the_replica(self):
        p = self.primary(("requirepass", "s3cret"))
        pc = self.client(p, password="s3cret")
        pc.set("k", "v")
        r = self.replica(p.port, ("masterauth", "s3cret"))
        rc = self.client(r)
        wait_caught_up(pc, rc)
        self.assertEqual(rc.get("k"), b"v")
        bad = self.replica(p.port, ("masterauth", "wrong"))
        bc = self.client(bad)
        wait_for("the refused AUTH in the replica's log",
                 lambda: "Unable to AUTH to MASTER" in bad.log())
        self.assertEqual(info(bc)["master_link_status"], "down")
        self.assertEqual(bc.dbsize(), 0)
        # CONFIG SET masterauth at run time: the replica's next handshake uses it.
        self.assertTrue(bc.config_set("masterauth", "s3cret"))
        wait_caught_up(pc, bc)
        self.assertEqual(bc.get("k"), b"v")

    def test_readers_on_the_replica_see_whole_transactions(self):
        p = self.primary()
        pc = self.client(p)
        accounts = ["acct:%d" % i for i in range(16)]
        for a in accounts:
            pc.set(a, 100)
        total = 100 * len(accounts)
        r = self.replica(p.port)
        rc = self.client(r)
        wait_caught_up(pc, rc)
        stop = threading.Event()
        errors = []
        transfers = [0]

        def transfer(seed):
            rng = random.Random(seed)
            c = self.client(p)
            while not stop.is_set():
                a, b = rng.sample(accounts, 2)
                amount = rng.randint(1, 20)
                tx = c.pipeline(transaction=True)
                tx.decrby(a, amount).incrby(b, amount)
                tx.execute()
                transfers[0] += 1

        writers = [threading.Thread(target=transfer, args=(i,)) for i in range(3)]
        for w in writers:
            w.start()
        reads = 0
        script = "local s = 0 for _, k in ipairs(KEYS) do s = s + tonumber(redis.call('GET', k)) end return s"
        try:
            deadline = time.monotonic() + 2.0
            while time.monotonic() < deadline:
                tx = rc.pipeline(transaction=True)
                for a in accounts:
                    tx.get(a)
                seen = sum(int(v) for v in tx.execute())
                if seen != total:
                    errors.append("MULTI read %d" % seen)
                seen = rc.eval(script, len(accounts), *accounts)
                if seen != total:
                    errors.append("EVAL read %d" % seen)
                reads += 2
        finally:
            stop.set()
            for w in writers:
                w.join()
        self.assertEqual(errors, [], "a reader on the replica saw half a transfer")
        self.assertGreater(transfers[0], 20)
        self.assertGreater(reads, 10)
        wait_caught_up(pc, rc)
        self.assertEqual(dump(pc), dump(rc))
        self.assertGreater(int(info(rc)["lfdb_applied_transactions"]), transfers[0] // 2)

    def test_replica_refuses_writes_until_replicaof_no_one(self):
        p = self.primary()
        pc = self.client(p)
        pc.set("k", "1")
        r = self.replica(p.port)
        rc = self.client(r)
        wait_caught_up(pc, rc)
        for cmd in (("SET", "k", "2"), ("DEL", "k"), ("HSET", "h", "f", "v"), ("INCR", "k")):
            with self.assertRaises(redis.ResponseError) as e:
                rc.execute_command(*cmd)
            self.assertEqual(str(e.exception), "You can't write against a read only replica.")
        raw = socket.create_connection((HOST, r.port))
        raw.sendall(b"SET k 2\r\n")
        self.assertEqual(raw.recv(100), b"-READONLY You can't write against a read only replica.\r\n")
        raw.close()
        with self.assertRaises(redis.ResponseError) as e:
            rc.eval("return redis.call('SET', KEYS[1], 'x')", 1, "k")
        self.assertIn("You can't write against a read only replica.", str(e.exception))
        with self.assertRaises(redis.ResponseError):
            tx = rc.pipeline(transaction=True)
            tx.set("k", "3")
            tx.execute()
        self.assertEqual(rc.get("k"), b"1")  # reads are served
        self.assertTrue(rc.execute_command("REPLICAOF", "NO", "ONE"))
        self.assertEqual(info(rc)["role"], "master")
        rc.set("k", "mine")
        rc.set("only-here", "x")
        self.assertEqual(rc.get("k"), b"mine")
        pc.set("k", "primary's")
        time.sleep(0.2)
        self.assertEqual(rc.get("k"), b"mine")  # no longer following
        # And back: SLAVEOF makes it a replica again, resynced from scratch.
        self.assertTrue(rc.execute_command("SLAVEOF", "127.0.0.1", str(p.port)))
        wait_caught_up(pc, rc)
        self.assertEqual(rc.get("k"), b"primary's")
        self.assertIsNone(rc.get("only-here"))  # a full resync: its own writes are gone
        self.assertEqual(dump(pc), dump(rc))

    def test_min_replicas_to_write_follows_the_replicas(self):
        # The config file's directive (Redis's older name), then the rule tracking a replica
        # that comes, and one that stops acknowledging (killed: its lag passes max-lag).
        p = self.primary(("min-slaves-to-write", "1"), ("min-replicas-max-lag", "2"))
        pc = self.client(p)
        with self.assertRaises(redis.ResponseError) as e:
            pc.set("k", "1")
        self.assertEqual(str(e.exception), "NOREPLICAS Not enough good replicas to write.")
        self.assertEqual(info(pc)["min_slaves_good_slaves"], 0)
        r = self.replica(p.port)
        wait_for("a good replica", lambda: info(pc).get("min_slaves_good_slaves") == 1)
        self.assertTrue(pc.set("k", "1"))
        rc = self.client(r)
        wait_caught_up(pc, rc)
        self.assertEqual(rc.get("k"), b"1")
        r.kill9()
        wait_for("the replica to stop counting", lambda: info(pc).get("min_slaves_good_slaves") == 0)
        with self.assertRaises(redis.ResponseError) as e:
            pc.set("k", "2")
        self.assertEqual(str(e.exception), "NOREPLICAS Not enough good replicas to write.")
        self.assertEqual(pc.get("k"), b"1")

    def test_primary_without_appendonly_streams_from_memory(self):
        # appendonly no (Redis's default): the records exist once a replica asked (the stream's
        # log without a file), so the replica gets the snapshot, the writes after it, the expiry
        # cycle's DELs, and a partial resync after its link is cut.
        p = FixedPortServer([("appendonly", "no")]).start()
        self.servers.append(p)
        pc = self.client(p)
        pc.set("before", "1")
        pc.set("soon", "gone", px=200)
        proxy = CutProxy(p.port)
        self.proxies.append(proxy)
        r = self.replica(proxy.port)
        rc = self.client(r)
        wait_caught_up(pc, rc)
        for i in range(100):
            pc.set("a:%d" % i, i)
        pc.execute_command("SELECT", 2)
        pc.lpush("l", "x", "y")
        pc.execute_command("SELECT", 0)
        wait_for("the primary to expire `soon`", lambda: pc.dbsize() == 101)
        wait_caught_up(pc, rc)
        proxy.cut()
        pc.set("after-cut", "1")
        wait_caught_up(pc, rc)
        self.assertEqual(info(rc)["lfdb_full_syncs"], 1)
        self.assertGreaterEqual(info(rc)["lfdb_partial_syncs"], 1)
        self.assertEqual(rc.execute_command("DBSIZE"), 102)  # the DEL came: not just hidden
        self.assertEqual(dump(pc), dump(rc))
        self.assertEqual(self.client(r, db=2).lrange("l", 0, -1), [b"y", b"x"])
        self.assertEqual(pc.info("persistence")["aof_enabled"], 0)

    def test_a_replica_sees_every_database(self):
        # Keys in database 2 before the replica exists (its full resync's snapshot), then writes
        # in database 3 and MOVE, COPY ... DB, SWAPDB, FLUSHDB in the stream (SELECT records).
        p = self.primary()
        pc = self.client(p, db=2)
        pc.set("snap", "2")
        r = self.replica(p.port)
        wait_caught_up(pc, self.client(r))
        pc.set("after", "2")  # the stream's first record: it must say its database
        p3 = self.client(p, db=3)
        p3.set("k", "three")
        p3.hset("h", "f", "v")
        p3.execute_command("MOVE", "h", 4)
        p3.execute_command("COPY", "k", "k", "DB", 5)
        p3.eval("redis.call('SELECT', 6); redis.call('SET', KEYS[1], 'six')", 1, "s")
        p0 = self.client(p, db=0)
        p0.set("zero", "0")
        p0.execute_command("SWAPDB", 0, 7)
        p0.set("new-zero", "0")
        self.client(p, db=5).flushdb()
        wait_caught_up(p0, self.client(r))
        for n, want in [(0, {b"new-zero": (b"string", b"0", False)}),
                        (2, {b"snap": (b"string", b"2", False), b"after": (b"string", b"2", False)}),
                        (3, {b"k": (b"string", b"three", False)}),
                        (4, {b"h": (b"hash", ((b"f", b"v"),), False)}),
                        (5, {}),
                        (6, {b"s": (b"string", b"six", False)}),
                        (7, {b"zero": (b"string", b"0", False)})]:
            self.assertEqual(dump(self.client(r, db=n)), want, "database %d" % n)
            self.assertEqual(dump(self.client(p, db=n)), want, "database %d" % n)

    def test_streams_and_groups_reach_the_replica(self):
        # A stream and a group before the replica exists (its full resync's snapshot), then
        # every kind of stream and group change in the stream of records: the replica ends with
        # the same entries, ids, counters, groups, consumers and pending lists (delivery times
        # and counts included; consumers' seen-times are the replica's own).
        p = self.primary()
        pc = self.client(p)
        for i in range(1, 50):
            pc.xadd("s", {"n": i, "k": "v"}, id="%d-%d" % (i, i % 3))
        pc.xgroup_create("s", "g", "0")
        pc.xreadgroup("g", "alice", {"s": ">"}, count=5)
        r = self.replica(p.port)
        rc = self.client(r)
        wait_caught_up(pc, rc)
        pc.xadd("s", {"n": "auto"})
        pc.xadd("s", {"n": "trimmed"}, maxlen=40)
        pc.xgroup_create("s", "h", "$")
        pc.xreadgroup("g", "bob", {"s": ">"}, count=7)
        pc.xreadgroup("g", "carol", {"s": ">"}, count=2, noack=True)
        pc.xclaim("s", "g", "dave", 0, [e[0] for e in pc.xrange("s", count=8)][5:], retrycount=4)
        pc.xack("s", "g", *[e[0] for e in pc.xrange("s", count=3)])
        pc.xautoclaim("s", "g", "erin", 0, "0-0", count=2)
        pc.xdel("s", "30-0", "31-1")
        pc.xgroup_createconsumer("s", "h", "idle")
        pc.xgroup_delconsumer("s", "g", "carol")
        pc.xgroup_setid("s", "h", "20-2")
        pc.xgroup_create("made", "g", "$", mkstream=True)
        pc.execute_command("XSETID", "made", "5-5", "ENTRIESADDED", "3", "MAXDELETEDID", "4-0")
        wait_caught_up(pc, rc)

        def state(c):
            out = {}
            for k in (b"s", b"made"):
                info = c.execute_command("XINFO", "STREAM", k, "FULL")
                for g in info[info.index(b"groups") + 1]:
                    for cons in g[g.index(b"consumers") + 1]:
                        cons[cons.index(b"seen-time") + 1] = "t"
                out[k] = info
            return out

        self.maxDiff = None
        self.assertEqual(state(rc), state(pc))

    def test_late_replica_gets_a_full_resync(self):
        p = self.primary()
        pc = self.client(p)
        pipe = pc.pipeline(transaction=False)
        for i in range(5000):
            pipe.set("key:%d" % i, "value-%d" % i)
            if i % 10 == 0:
                pipe.hset("hash:%d" % i, mapping={"a": i, "b": "x" * 50})
        pipe.execute()
        r = self.replica(p.port)
        rc = self.client(r)
        wait_caught_up(pc, rc)
        self.assertEqual(info(rc)["lfdb_full_syncs"], 1)
        self.assertEqual(pc.dbsize(), rc.dbsize())
        self.assertEqual(dump(pc), dump(rc))

    def test_link_cut_resumes_with_a_partial_resync(self):
        p = self.primary()
        pc = self.client(p)
        proxy = CutProxy(p.port)
        self.proxies.append(proxy)
        r = self.replica(proxy.port)
        rc = self.client(r)
        for i in range(200):
            pc.set("a:%d" % i, i)
        wait_caught_up(pc, rc)
        for round_ in range(3):
            proxy.cut()
            for i in range(200):
                pc.set("b:%d:%d" % (round_, i), i)
            wait_caught_up(pc, rc)
        i = info(rc)
        self.assertEqual(i["lfdb_full_syncs"], 1)
        self.assertGreaterEqual(i["lfdb_partial_syncs"], 3)
        self.assertEqual(dump(pc), dump(rc))

    def test_replica_killed_and_restarted_catches_up(self):
        p = self.primary()
        pc = self.client(p)
        r = self.replica(p.port)
        rc = self.client(r)
        stop = threading.Event()
        count = [0]

        def write():
            c = self.client(p)
            while not stop.is_set():
                c.set("w:%d" % count[0], count[0])
                count[0] += 1

        w = threading.Thread(target=write)
        w.start()
        try:
            wait_for("some writes", lambda: count[0] > 300)
            r.kill9()  # mid-stream
            before = count[0]
            wait_for("writes while the replica is down", lambda: count[0] > before + 300)
            r.start()
            rc = self.client(r)
            wait_for("writes after the restart", lambda: count[0] > before + 600)
        finally:
            stop.set()
            w.join()
        wait_caught_up(pc, rc)
        self.assertEqual(pc.dbsize(), rc.dbsize())
        self.assertEqual(dump(pc), dump(rc))

    def test_replica_with_its_own_log_resumes_after_kill9_with_a_partial_resync(self):
        p = self.primary()
        pc = self.client(p)
        r = self.replica(p.port, ("appendonly", "yes"))
        rc = self.client(r)
        pc.set("first", "1")
        wait_caught_up(pc, rc)  # its full resync (and its log's rewrite) are done
        # A replica's own PUBLISH stays out of its log (which must stay its primary's stream).
        self.assertEqual(rc.publish("chan", "on the replica"), 0)
        stop = threading.Event()
        count = [0]

        def write():
            c = self.client(p)
            while not stop.is_set():
                tx = c.pipeline(transaction=True)
                tx.set("w:%d" % count[0], count[0]).incr("n")
                tx.execute()
                count[0] += 1

        w = threading.Thread(target=write)
        w.start()
        try:
            wait_for("some writes", lambda: count[0] > 300)
            r.kill9()  # mid-stream: its log may end in a torn transaction
            before = count[0]
            wait_for("writes while the replica is down", lambda: count[0] > before + 300)
            r.start()
            rc = self.client(r)
            wait_for("writes after the restart", lambda: count[0] > before + 600)
        finally:
            stop.set()
            w.join()
        wait_caught_up(pc, rc)
        i = info(rc)
        self.assertEqual(i["lfdb_full_syncs"], 0, "the restarted replica did not resume from its log")
        self.assertGreaterEqual(i["lfdb_partial_syncs"], 1)
        self.assertIn("resuming", r.log())
        self.assertEqual(pc.dbsize(), rc.dbsize())
        self.assertEqual(dump(pc), dump(rc))
        # Promoted, it keeps the data across its own restart (its log has it).
        self.assertTrue(rc.execute_command("REPLICAOF", "NO", "ONE"))
        wait_for("the promotion's log rewrite", lambda: int(rc.info("persistence")["aof_rewrite_in_progress"]) == 0)
        expected = dump(rc)
        r.stop(keep_dir=True)
        r.extra = [("appendonly", "yes")]
        r.start()
        self.assertEqual(dump(self.client(r)), expected)

    def test_primary_restart_replica_reconnects(self):
        p = self.primary()
        pc = self.client(p)
        r = self.replica(p.port)
        rc = self.client(r)
        for i in range(100):
            pc.set("x:%d" % i, i)
        wait_caught_up(pc, rc)
        p.stop(keep_dir=True)
        wait_for("the replica to see its link down", lambda: info(rc)["master_link_status"] == "down")
        p.start()
        pc = self.client(p)
        self.assertEqual(pc.dbsize(), 100)  # from the primary's own log
        for i in range(100):
            pc.set("y:%d" % i, i)
        pc.delete("x:0")
        wait_caught_up(pc, rc)
        self.assertEqual(dump(pc), dump(rc))

    def test_appendfsync_always_every_acknowledged_write_reaches_the_replica(self):
        p = self.primary(("appendfsync", "always"))
        pc = self.client(p)
        r = self.replica(p.port)
        rc = self.client(r)
        acked = [[] for _ in range(4)]
        stop = threading.Event()

        def write(w):
            c = self.client(p)
            i = 0
            while not stop.is_set():
                c.set("a:%d:%d" % (w, i), i)
                acked[w].append(i)
                i += 1

        ws = [threading.Thread(target=write, args=(w,)) for w in range(4)]
        for t in ws:
            t.start()
        time.sleep(1.0)
        stop.set()
        for t in ws:
            t.join()
        wait_caught_up(pc, rc)
        total = 0
        for w in range(4):
            keys = ["a:%d:%d" % (w, i) for i in acked[w]]
            for start in range(0, len(keys), 500):
                values = rc.mget(keys[start:start + 500])
                missing = [k for k, v in zip(keys[start:start + 500], values) if v is None]
                self.assertEqual(missing, [], "acknowledged writes missing on the replica")
            total += len(keys)
        self.assertGreater(total, 10)
        self.assertEqual(dump(pc), dump(rc))


    def test_log_rewrite_on_the_primary_keeps_the_stream_whole(self):
        p = self.primary()
        pc = self.client(p)
        r = self.replica(p.port)
        rc = self.client(r)
        for i in range(300):
            pc.set("r:%d" % i, i)
        pc.bgrewriteaof()
        for i in range(300):
            pc.incr("r:%d" % i)
        wait_for("the rewrite to finish",
                 lambda: int(pc.info("persistence")["aof_rewrite_in_progress"]) == 0 and
                 pc.info("persistence").get("aof_rewrites", 1) != 0)
        for i in range(100):
            pc.hset("after", str(i), i)
        wait_caught_up(pc, rc)
        self.assertEqual(dump(pc), dump(rc))
        self.assertEqual(info(rc)["lfdb_full_syncs"], 1)

    def test_a_primary_that_follows_another_starts_a_new_history(self):
        q = self.primary()
        qc = self.client(q)
        qc.set("q", "1")
        p = self.primary()
        pc = self.client(p)
        pc.set("p", "1")
        r = self.replica(p.port)
        rc = self.client(r)
        wait_caught_up(pc, rc)
        old = info(pc)["master_replid"]
        self.assertTrue(pc.execute_command("REPLICAOF", "127.0.0.1", str(q.port)))
        wait_caught_up(qc, pc)
        self.assertIsNone(pc.get("p"))
        # Its replica lost its link: a replica cannot serve replicas of its own.
        wait_for("the second-level link to drop", lambda: info(rc)["master_link_status"] == "down")
        self.assertTrue(pc.execute_command("REPLICAOF", "NO", "ONE"))
        self.assertNotEqual(info(pc)["master_replid"], old)
        pc.set("after", "promotion")
        wait_caught_up(pc, rc)
        self.assertEqual(dump(pc), dump(rc))
        self.assertEqual(rc.get("q"), b"1")
        self.assertEqual(info(rc)["lfdb_full_syncs"], 2)

    def test_backup_dir_restores_to_the_primarys_data(self):
        import glob
        import os
        import shutil
        import tempfile
        backup = tempfile.mkdtemp(prefix="lfdb-backup-")
        self.addCleanup(shutil.rmtree, backup, True)
        p = self.primary(("backup-dir", backup))
        pc = self.client(p)

        def restored():
            """The newest backup file, once it holds everything sealed, loaded by a new server."""
            target = int(info(pc)["master_repl_offset"])
            wait_for("the backup to reach offset %d" % target,
                     lambda: int(info(pc).get("lfdb_backup_offset", -1)) >= target)
            path = info(pc)["lfdb_backup_file"]
            self.assertEqual(info(pc)["lfdb_backup_status"], "ok")
            s = FixedPortServer([("appendonly", "yes")])
            shutil.copy(path, os.path.join(s.dir, "appendonly.aof"))
            s.start()
            self.servers.append(s)
            return self.client(s)

        for i in range(200):
            pc.set("k:%d" % i, i)
        tx = pc.pipeline(transaction=True)
        tx.incr("k:1").hset("h", "f", "v").expire("k:2", 1000)
        tx.execute()
        pc.bgrewriteaof()
        for i in range(200):
            pc.incr("k:%d" % i)
        wait_for("the rewrite to finish", lambda: int(pc.info("persistence")["aof_rewrite_in_progress"]) == 0)
        pc.eval("redis.call('SET', KEYS[1], 'script')", 1, "s")
        self.assertEqual(dump(restored()), dump(pc))
        # A restart starts a new history and a new backup file, again complete on its own.
        p.stop(keep_dir=True)
        p.start()
        pc = self.client(p)
        pc.set("after", "restart")
        self.assertEqual(dump(restored()), dump(pc))  # waits for the new file to catch up
        self.assertEqual(len(glob.glob(os.path.join(backup, "backup-*.aof"))), 2)

    @unittest.skipUnless(gateway_testlib.GATEWAY, "LFDB_GATEWAY is not set")
    def test_gateway_reads_from_an_lfdb_replica(self):
        p = self.primary()
        pc = self.client(p)
        r = self.replica(p.port)
        rc = self.client(r)
        wait_caught_up(pc, rc)
        import tempfile
        d = tempfile.mkdtemp(prefix="lfdb-repl-gw-")
        gw = gateway_testlib.Gateway(d, "read_policy: round-robin\ntimeout_ms: 2000\nshards:\n"
                                     "  - primary: %s:%d\n    replicas: [%s:%d]\n"
                                     % (HOST, p.port, HOST, r.port)).start()
        self.addCleanup(gw.kill)
        g = redis.Redis(host=HOST, port=gw.port, socket_timeout=10)
        for i in range(20):
            self.assertTrue(g.set("g:%d" % i, i))  # writes go to the primary
        wait_caught_up(pc, rc)
        before = int(rc.info("stats")["total_commands_processed"])
        for i in range(20):
            self.assertEqual(g.get("g:%d" % i), str(i).encode())
        after = int(rc.info("stats")["total_commands_processed"])
        self.assertGreaterEqual(after - before, 20, "the reads were not answered by the replica")
        self.assertEqual(dump(pc), dump(rc))


if __name__ == "__main__":
    unittest.main()
