"""Durability of lfdb-server: the append-only log, its recovery, and disk errors (issue 4).

Every test starts its own lfdb-server with `appendonly yes` in a fresh directory, restarts it
(cleanly, or with SIGKILL) and compares what comes back with what was acknowledged.
Against redis-server (the peer) these tests are skipped: they exercise lfdb's own log.
"""

import os
import random
import re
import shutil
import signal
import subprocess
import threading
import time
import unittest

import redis

from lfdb_testlib import SANITIZED, ServerProcess, is_lfdb, RawConnection, Closed

AOF = "appendonly.aof"


def lfdb_server(fsync="always", extra=()):
    sp = ServerProcess()
    sp.extra = [("appendonly", "yes"), ("appendfsync", fsync), ("dir", sp.dir),
                ("enable-debug-command", "yes")] + list(extra)
    return sp


def client(sp, **kw):
    return redis.Redis(host="127.0.0.1", port=sp.port, socket_timeout=10, **kw)


def kill9(sp):
    sp.proc.kill()
    sp.proc.wait()
    if sp._log:
        sp._log.close()
        sp._log = None


def dump(r):
    """Every key: (type, value, absolute expiry in ms or -1)."""
    out = {}
    for k in r.keys("*"):
        t = r.type(k)
        if t == b"string":
            v = r.get(k)
        elif t == b"hash":
            v = r.hgetall(k)
        elif t == b"list":
            v = r.lrange(k, 0, -1)
        elif t == b"set":
            v = frozenset(r.smembers(k))
        elif t == b"zset":
            v = r.zrange(k, 0, -1, withscores=True)
        else:
            continue  # expired between KEYS and TYPE
        out[k] = (t, v, r.pexpiretime(k))
    return out


@unittest.skipUnless(is_lfdb(), "lfdb's append-only log")
class RoundTrip(unittest.TestCase):
    def setUp(self):
        self.sp = lfdb_server().start()

    def tearDown(self):
        self.sp.stop()

    def restart(self, sigkill=False):
        if sigkill:
            kill9(self.sp)
        else:
            self.sp.stop(keep_dir=True)
        self.sp.start()
        return client(self.sp)

    def workload(self, r):  # also used unbound (self=None) by other classes
        r.set("s", "plain")
        r.set("ttl", "v", ex=1000)
        r.set("px", "v", px=5_000_000)
        r.setex("setex", 1000, "v")
        r.psetex("psetex", 1_000_000, "v")
        r.set("gone", "v", px=1)          # expires: logged as a DEL
        r.incr("counter")
        r.incrby("counter", 41)
        r.incrbyfloat("float", "1.1")
        r.incrbyfloat("float", "2.2")
        r.append("s", "+more")
        r.setrange("s", 0, "P")
        r.hset("h", mapping={"a": "1", "b": "2", "c": "3"})
        r.hincrby("h", "a", 10)
        r.hincrbyfloat("h", "f", "0.5")
        r.hdel("h", "c")
        r.expire("h", 500)
        r.set("keep", "1", ex=300)
        r.set("keep", "2", keepttl=True)
        r.getex("s", px=7_000_000)
        r.set("p", "x", ex=100)
        r.persist("p")
        r.mset({"m1": "1", "m2": "2", "{t}a": "x", "{t}b": "y"})
        r.rename("m1", "m1renamed")
        r.delete("m2")
        r.getdel("{t}b")
        p = r.pipeline(transaction=True)
        p.incr("tx1").incr("tx2").hset("txh", "k", "v").expire("tx1", 900)
        p.execute()
        r.expireat("ea", 4_000_000_000)   # no such key: nothing logged
        # lists
        r.rpush("l", *["e%d" % i for i in range(20)])
        r.lpush("l", "head")
        r.lpop("l", 2)
        r.rpop("l")
        r.lset("l", 3, "set3")
        r.linsert("l", "BEFORE", "e10", "ins")
        r.lrem("l", 1, "e12")
        r.ltrim("l", 1, -2)
        r.lmove("l", "l2", "LEFT", "RIGHT")
        r.rpoplpush("l", "l2")
        r.rpush("lgone", "x")
        r.lpop("lgone")                   # the last element takes the key
        r.rpush("lttl", "a", "b")
        r.pexpire("lttl", 6_000_000)
        # sets: SPOP is random, the log must hold what it removed
        r.sadd("set", *["m%d" % i for i in range(30)])
        r.srem("set", "m0", "m1")
        r.spop("set")
        r.spop("set", 5)
        r.sadd("set2", "m5", "m6", "m7", "x")
        r.sinterstore("sinter", "set", "set2")
        r.sunionstore("sunion", "set", "set2")
        r.sdiffstore("sdiff", "set2", "set")
        r.smove("set2", "set3", "x")
        r.sadd("ints", 1, 2, 3)
        r.spop("ints", 10)                # every member: the key goes
        r.sadd("sttl", "a")
        r.expire("sttl", 800)
        # sorted sets: ZINCRBY / ZADD INCR are logged as the score they produced
        r.zadd("z", {"a": 0.1, "b": 2, "c": -3.5, "d": float("inf"), "e": 1e-300})
        r.zincrby("z", 0.2, "a")          # 0.30000000000000004
        r.zadd("z", {"b": 1.1}, incr=True)
        r.zadd("z", {"c": 10}, gt=True)
        r.zrem("z", "e")
        r.zadd("z2", {"m%d" % i: i / 3 for i in range(200)})
        r.zremrangebyrank("z2", 0, 9)
        r.zremrangebyscore("z2", 50, "(60")
        r.zpopmin("z2", 3)
        r.zpopmax("z2")
        r.zunionstore("zu", {"z": 2, "z2": 0.5}, aggregate="MAX")
        r.zinterstore("zi", ["z", "z2"])
        r.zadd("zgone", {"x": 1})
        r.zpopmin("zgone")
        r.zadd("zttl", {"x": 1})
        r.pexpire("zttl", 9_000_000)
        time.sleep(0.05)                  # let "gone" expire

    def test_clean_restart_keeps_every_type_and_ttl(self):
        r = client(self.sp)
        self.workload(r)
        before = dump(r)
        self.assertNotIn(b"gone", before)
        self.assertEqual(before[b"float"][1], b"3.3")
        after = dump(self.restart())
        self.assertEqual(before, after)

    def test_sigkill_keeps_every_acknowledged_write(self):
        r = client(self.sp)
        self.workload(r)
        before = dump(r)
        after = dump(self.restart(sigkill=True))
        self.assertEqual(before, after)

    def test_flushall_is_logged(self):
        r = client(self.sp)
        r.set("a", "1")
        r.flushall()
        r.set("b", "2")
        self.assertEqual(dump(self.restart(sigkill=True)), {b"b": (b"string", b"2", -1)})

    def test_watch_aborted_transaction_logs_nothing(self):
        r = client(self.sp)
        r.set("w", "1")
        p = r.pipeline(transaction=True)
        p.watch("w")
        client(self.sp).set("w", "2")
        p.multi()
        p.set("w", "3")
        with self.assertRaises(redis.WatchError):
            p.execute()
        self.assertEqual(self.restart(sigkill=True).get("w"), b"2")

    def test_script_effects_are_logged_not_the_script(self):
        r = client(self.sp)
        r.set("seed", "1")
        # TIME makes the script's result depend on the moment: the log must hold what it did.
        r.eval("local t = redis.call('TIME'); redis.call('SET', KEYS[1], t[1]); "
               "redis.call('HSET', KEYS[2], 'at', t[1]); redis.call('INCR', KEYS[3]); return 1",
               3, "{s}t", "{s}h", "{s}n")
        before = dump(r)
        after = dump(self.restart(sigkill=True))
        self.assertEqual(before, after)
        with open(os.path.join(self.sp.dir, AOF), "rb") as f:
            log = f.read()
        self.assertNotIn(b"EVAL", log.upper())
        self.assertIn(b"MULTI", log)

    def test_publish_stays_out_of_the_log_without_a_replica(self):
        """Redis keeps PUBLISH out of its AOF (it sends it to replicas only): with no replica
        ever attached, a message is not written to the file, before or after a write."""
        r = client(self.sp)
        self.assertEqual(r.publish("chan", "message-one"), 0)
        r.set("after", "1")
        r.eval("redis.call('PUBLISH', 'chan', 'message-two') return redis.call('SET', 'k', 1)", 0)
        with open(os.path.join(self.sp.dir, AOF), "rb") as f:
            log = f.read()
        self.assertIn(b"after", log)
        self.assertNotIn(b"message-one", log)
        self.assertNotIn(b"message-two", log)

    def test_random_and_float_effects_are_logged_as_state(self):
        r = client(self.sp)
        r.sadd("s", *range(20))
        popped = r.spop("s", 3)
        r.zincrby("z", 0.1, "m")
        r.zincrby("z", 0.2, "m")          # 0.30000000000000004: needs all 17 digits
        r.zadd("z", {"n": 1.5}, incr=True)
        with open(os.path.join(self.sp.dir, AOF), "rb") as f:
            log = f.read().upper()
        for word in (b"SPOP", b"ZINCRBY", b"INCR"):
            self.assertNotIn(word, log)
        self.assertIn(b"SREM", log)
        self.assertIn(b"0.30000000000000004", log)
        after = self.restart(sigkill=True)
        self.assertEqual(after.zscore("z", "m"), 0.30000000000000004)
        self.assertEqual(after.scard("s"), 17)
        self.assertFalse(any(after.sismember("s", m) for m in popped))

    def test_redis_check_aof_accepts_the_log(self):
        r = client(self.sp)
        self.workload(r)
        self.sp.stop(keep_dir=True)
        out = subprocess.run(["redis-check-aof", os.path.join(self.sp.dir, AOF)],
                             capture_output=True, text=True, timeout=30)
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        self.assertIn("is valid", out.stdout)
        self.sp.start()

    def test_info_persistence(self):
        r = client(self.sp)
        r.set("a", "1")
        info = r.info("persistence")
        self.assertEqual(info["aof_enabled"], 1)
        self.assertEqual(info["aof_last_write_status"], "ok")
        self.assertGreater(info["aof_current_size"], 0)
        self.assertGreaterEqual(info["lfdb_aof_fsyncs"], 1)
        self.assertEqual(info["lfdb_aof_fsync"], "always")


def wait_info(r, field, value, timeout=30):
    deadline = time.monotonic() + timeout
    while r.info("persistence")[field] != value:
        if time.monotonic() > deadline:
            raise AssertionError("%s did not become %r" % (field, value))
        time.sleep(0.05)


@unittest.skipUnless(is_lfdb(), "lfdb's snapshots")
class Snapshots(unittest.TestCase):
    def setUp(self):
        self.sp = ServerProcess()
        self.sp.extra = [("dir", self.sp.dir)]
        self.sp.start()

    def tearDown(self):
        self.sp.stop()

    def test_save_and_restart_keeps_every_type_and_ttl(self):
        r = client(self.sp)
        RoundTrip.workload(None, r)
        self.assertEqual(r.save(), True)
        before = dump(r)
        r.set("after-save", "lost")  # no log: only the snapshot survives a crash
        kill9(self.sp)
        self.sp.start()
        self.assertEqual(dump(client(self.sp)), before)
        self.assertIn("loaded snapshot", self.sp.log())

    def test_bgsave_is_a_point_in_time_while_writers_run(self):
        r = client(self.sp)
        accounts = ["acct:{%d}" % i for i in range(20)]
        for a in accounts:
            r.set(a, 1000)
        stop = threading.Event()
        errors = []

        def transfers(seed):
            rng = random.Random(seed)
            c = client(self.sp)
            try:
                while not stop.is_set():
                    a, b = rng.sample(accounts, 2)
                    c.pipeline(transaction=True).decrby(a, 7).incrby(b, 7).execute()
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(e)

        threads = [threading.Thread(target=transfers, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        time.sleep(0.2)
        self.assertEqual(r.bgsave(), True)
        wait_info(r, "rdb_bgsave_in_progress", 0)
        stop.set()
        for t in threads:
            t.join()
        self.assertEqual(errors, [])
        info = r.info("persistence")
        self.assertEqual(info["rdb_last_bgsave_status"], "ok")
        self.assertGreater(info["latest_fork_usec"], 0)
        kill9(self.sp)
        self.sp.start()
        r = client(self.sp)
        # MULTI transfers across colors: the snapshot never shows half of one.
        self.assertEqual(sum(int(r.get(a)) for a in accounts), 1000 * len(accounts))

    def test_bgsave_twice(self):
        # In one transaction the second BGSAVE certainly finds the first one's child running
        # (only the ticker reaps it, and the transaction runs alone).
        r = client(self.sp)
        r.set("k", "v")
        first, second = r.pipeline(transaction=True).bgsave().bgsave().execute(raise_on_error=False)
        self.assertEqual(first, True)
        self.assertIsInstance(second, redis.ResponseError)
        self.assertIn("Background save already in progress", str(second))
        wait_info(r, "rdb_bgsave_in_progress", 0)
        self.assertEqual(r.info("persistence")["rdb_last_bgsave_status"], "ok")

    def test_shutdown_snapshot_when_save_is_set_and_not_with_nosave(self):
        sp = ServerProcess()
        sp.extra = [("dir", sp.dir), ("save", "3600 1")]
        sp.start()
        try:
            client(sp).set("k", "v")
            sp.stop(keep_dir=True)
            self.assertTrue(os.path.exists(os.path.join(sp.dir, "dump.lfdb")))
            sp.start()
            r = client(sp)
            self.assertEqual(r.get("k"), b"v")
            r.set("k", "changed")
            try:
                r.shutdown(nosave=True)
            except redis.ConnectionError:
                pass
            sp.proc.wait(10)
            sp.start()
            self.assertEqual(client(sp).get("k"), b"v")
        finally:
            sp.stop()

    def test_save_points_snapshot_in_the_background(self):
        """`save 1 3`: a BGSAVE once 3 changes are a second old; nothing while fewer; the
        snapshot holds them after a kill -9 (appendonly no: the snapshot is all there is)."""
        sp = ServerProcess()
        sp.extra = [("dir", sp.dir), ("save", "1 3")]
        sp.start()
        try:
            r = client(sp)
            r.set("a", "1")
            r.set("b", "2")
            time.sleep(2.5)  # two changes, older than a second: below the point, no snapshot
            self.assertFalse(os.path.exists(os.path.join(sp.dir, "dump.lfdb")))
            self.assertEqual(r.info("persistence")["rdb_changes_since_last_save"], 2)
            r.set("c", "3")
            deadline = time.monotonic() + 20
            while r.info("persistence")["rdb_changes_since_last_save"] != 0:
                self.assertLess(time.monotonic(), deadline, "the save point never saved")
                time.sleep(0.05)
            wait_info(r, "rdb_bgsave_in_progress", 0)
            self.assertEqual(r.info("persistence")["rdb_last_bgsave_status"], "ok")
            self.assertIn("save point reached", sp.log())
            kill9(sp)
            sp.start()
            r = client(sp)
            self.assertEqual(r.mget("a", "b", "c"), [b"1", b"2", b"3"])
            # CONFIG SET validates and turns them off.
            with self.assertRaises(redis.ResponseError):
                r.config_set("save", "60")
            r.config_set("save", "")
            r.set("d", "4")
            time.sleep(2.5)
            self.assertEqual(r.info("persistence")["rdb_changes_since_last_save"], 1)
        finally:
            sp.stop()

    def test_damaged_snapshot_refuses_to_start(self):
        r = client(self.sp)
        r.set("k", "v" * 100)
        r.save()
        self.sp.stop(keep_dir=True)
        path = os.path.join(self.sp.dir, "dump.lfdb")
        with open(path, "r+b") as f:
            f.seek(30)
            b = f.read(1)
            f.seek(30)
            f.write(bytes([b[0] ^ 0xFF]))
        with self.assertRaises(Exception):
            self.sp.start()
        self.assertIn("is damaged (checksum mismatch)", self.sp.log())


@unittest.skipUnless(is_lfdb(), "lfdb's append-only log")
class Rewrite(unittest.TestCase):
    def test_rewrite_compacts_and_loses_nothing_written_meanwhile(self):
        sp = lfdb_server(fsync="always").start()
        try:
            r = client(sp)
            for i in range(300):
                r.set("k%d" % (i % 10), i)
            RoundTrip.workload(None, r)
            size_before = r.info("persistence")["aof_current_size"]
            acked = [0]
            stop = threading.Event()

            def writer():
                c = client(sp)
                while not stop.is_set():
                    acked[0] = c.incr("during-rewrite")

            t = threading.Thread(target=writer)
            t.start()
            time.sleep(0.1)
            self.assertEqual(r.bgrewriteaof(), True)
            wait_info(r, "aof_rewrite_in_progress", 0)
            time.sleep(0.1)
            stop.set()
            t.join()
            info = r.info("persistence")
            self.assertEqual(info["aof_last_bgrewrite_status"], "ok")
            self.assertEqual(info["lfdb_aof_rewrites"], 1)
            r.hset("after", "f", "v")
            before = dump(r)
            self.assertGreaterEqual(int(before[b"during-rewrite"][1]), acked[0])
            kill9(sp)
            out = subprocess.run(["redis-check-aof", os.path.join(sp.dir, AOF)],
                                 capture_output=True, text=True, timeout=30)
            self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
            self.assertLess(os.path.getsize(os.path.join(sp.dir, AOF)), size_before + 100 * acked[0])
            sp.start()
            self.assertEqual(dump(client(sp)), before)
        finally:
            sp.stop()

    def test_snapshot_preamble_then_log_tail(self):
        """Recovery from snapshot plus log: the rewritten log starts with a binary snapshot."""
        sp = lfdb_server(extra=[("aof-use-snapshot-preamble", "yes")]).start()
        try:
            r = client(sp)
            RoundTrip.workload(None, r)
            r.bgrewriteaof()
            wait_info(r, "aof_rewrite_in_progress", 0)
            self.assertEqual(r.info("persistence")["aof_last_bgrewrite_status"], "ok")
            r.set("tail", "after the snapshot")
            r.hset("h2", "f", "v")
            before = dump(r)
            kill9(sp)
            path = os.path.join(sp.dir, AOF)
            with open(path, "rb") as f:
                data = f.read()
            self.assertTrue(data.startswith(b"LFDBSNAP"))
            sp.start()
            self.assertEqual(dump(client(sp)), before)
            info = client(sp).info("persistence")
            self.assertGreater(info["lfdb_snapshot_keys_loaded"], 0)
            # the two writes after the rewrite (and maybe an expiry DEL of the active cycle)
            self.assertGreaterEqual(info["lfdb_aof_loaded_commands"], 2)
            # A torn tail after the preamble is cut as usual; a damaged preamble refuses.
            sp.stop(keep_dir=True)
            with open(path, "wb") as f:
                f.write(data[:-4])
            sp.start()
            self.assertNotIn(b"h2", dump(client(sp)))
            self.assertIn("torn tail", sp.log())
            sp.stop(keep_dir=True)
            with open(path, "wb") as f:
                f.write(data[:20] + bytes([data[20] ^ 0xFF]) + data[21:])
            with self.assertRaises(Exception):
                sp.start()
            self.assertIn("(preamble) is damaged", sp.log())
        finally:
            sp.stop()

    def test_rewrite_needs_the_log(self):
        sp = ServerProcess()
        sp.start()
        try:
            with self.assertRaises(redis.ResponseError) as e:
                client(sp).bgrewriteaof()
            self.assertIn("append-only log is off", str(e.exception))
        finally:
            sp.stop()


def children(pid):
    """The pids of a process's children."""
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(x) for x in out.split()]


def dead_pid():
    """A pid no process has now (one that just exited)."""
    p = subprocess.Popen(["true"])
    p.wait()
    return p.pid


def temp_files(directory):
    return sorted(f for f in os.listdir(directory) if f.startswith("temp-"))


@unittest.skipUnless(is_lfdb(), "lfdb's snapshots and log rewrite")
class StaleTempFiles(unittest.TestCase):
    """A crash in the middle of BGSAVE or BGREWRITEAOF leaves the save's temporary file (named
    after the writing process); the next start removes it, and only such files."""

    def crash_mid_save(self, sp, start_save, pattern):
        """Starts a save slowed down to 50 ms a key, waits for its temporary file, then kills
        the server and its child with SIGKILL (a machine that loses power takes both)."""
        r = client(sp)
        r.mset({"k%d" % i: "v%d" % i for i in range(40)})
        r.config_set("rdb-key-save-delay", 50000)
        start_save(r)
        deadline = time.monotonic() + 30
        while not [f for f in temp_files(sp.dir) if re.fullmatch(pattern, f)]:
            self.assertLess(time.monotonic(), deadline, "the save never created its file")
            time.sleep(0.01)
        kids = children(sp.proc.pid)
        self.assertEqual(len(kids), 1, kids)
        # The server first: alive, it reaps a killed rewrite child and removes its file itself
        # (a failed rewrite cleans up), which it did whenever this process was descheduled
        # between the two kills. Dead, it cleans nothing; the child, orphaned, goes next.
        kill9(sp)
        os.kill(kids[0], signal.SIGKILL)
        left = [f for f in temp_files(sp.dir) if re.fullmatch(pattern, f)]
        self.assertEqual(len(left), 1, temp_files(sp.dir))
        return left[0]

    def test_a_crash_mid_bgsave_leaves_nothing_after_restart(self):
        sp = ServerProcess()
        sp.extra = [("dir", sp.dir), ("appendonly", "yes")]
        sp.start()
        try:
            left = self.crash_mid_save(sp, lambda r: r.bgsave(), r"temp-\d+\.rdb")
            sp.start()
            self.assertEqual(temp_files(sp.dir), [])
            self.assertIn("removed %s/%s, left by a save that did not finish" % (sp.dir, left), sp.log())
            self.assertEqual(client(sp).get("k39"), b"v39")  # the log has every write
        finally:
            sp.stop()

    def test_a_save_child_ends_on_sigterm(self):
        """The server blocks SIGTERM in its threads (its main thread takes it); a forked save's
        thread must not inherit that, or an operator's (a service manager's) SIGTERM to a child
        left behind would be ignored until the save ended."""
        sp = ServerProcess()
        sp.extra = [("dir", sp.dir)]
        sp.start()
        try:
            r = client(sp)
            r.mset({"k%d" % i: "v%d" % i for i in range(40)})
            r.config_set("rdb-key-save-delay", 1000000)  # a second a key: the save lasts 40 s
            r.bgsave()
            deadline = time.monotonic() + 30
            while not children(sp.proc.pid):
                self.assertLess(time.monotonic(), deadline, "no save child")
                time.sleep(0.01)
            kid = children(sp.proc.pid)[0]
            os.kill(kid, signal.SIGTERM)
            deadline = time.monotonic() + 20
            while r.info("persistence")["rdb_bgsave_in_progress"] != 0:
                self.assertLess(time.monotonic(), deadline, "the child did not end on SIGTERM")
                time.sleep(0.05)
            self.assertEqual(r.info("persistence")["rdb_last_bgsave_status"], "err")
        finally:
            sp.stop()

    def test_a_crash_mid_rewrite_leaves_nothing_after_restart(self):
        sp = lfdb_server(fsync="everysec")
        sp.start()
        try:
            left = self.crash_mid_save(sp, lambda r: r.bgrewriteaof(), r"temp-rewriteaof-\d+\.aof")
            sp.start()
            self.assertEqual(temp_files(sp.dir), [])
            self.assertIn("removed %s/%s" % (sp.dir, left), sp.log())
            self.assertEqual(client(sp).get("k39"), b"v39")
        finally:
            sp.stop()

    def test_only_temp_files_of_processes_gone_are_removed(self):
        other = ServerProcess()
        other.start()  # a live lfdb-server that could be saving into the same directory
        sp = ServerProcess()
        sp.extra = [("dir", sp.dir), ("dbfilename", "db.snap")]
        gone = dead_pid()
        stale = ["temp-%d.rdb" % gone, "temp-rewriteaof-%d.aof" % gone, "temp-resync-%d.aof" % gone]
        kept = ["temp-%d.rdb" % other.proc.pid, "temp-rewriteaof-%d.aof" % other.proc.pid,
                "db.snap.tmp-%d" % gone,   # not a temporary file's name
                "temp-x1.rdb", "temp-rewriteaof-1.aof.bak", "temp-rewriteaof-.aof", "temp-.rdb"]
        for f in stale + kept:
            with open(os.path.join(sp.dir, f), "w") as out:
                out.write("x")
        try:
            sp.start()
            self.assertEqual(sorted(os.listdir(sp.dir)), sorted(kept + ["server.log"]))
            for f in stale:
                self.assertIn("removed %s/%s" % (sp.dir, f), sp.log())
        finally:
            sp.stop()
            other.stop()


@unittest.skipUnless(is_lfdb(), "lfdb's append-only log")
class Recovery(unittest.TestCase):
    """A log cut at every byte offset loads as a consistent prefix."""

    @classmethod
    def setUpClass(cls):
        sp = lfdb_server()
        sp.start()
        r = client(sp)
        # Each step, and the state after it.
        cls.states = [{}]
        steps = [
            lambda: r.set("a", "1"),
            lambda: r.pipeline(transaction=True).incr("b").incr("b").set("c", "x").execute(),
            lambda: r.hset("h", "f", "v"),
            lambda: r.set("a", "2"),
            lambda: r.pipeline(transaction=True).delete("a").hset("h", "g", "w").execute(),
        ]
        for step in steps:
            step()
            cls.states.append(dump(r))
        sp.stop(keep_dir=True)
        with open(os.path.join(sp.dir, AOF), "rb") as f:
            cls.log = f.read()
        shutil.rmtree(sp.dir, ignore_errors=True)

    def test_cuts_at_each_record_load_to_a_state_the_server_went_through(self):
        sp = lfdb_server()
        path = os.path.join(sp.dir, AOF)
        try:
            # Every byte prefix is the loader's unit test (tests/db/log_test.cpp, in-process);
            # here each cut is a whole server start, so it cuts where loading changes: each
            # record's edges, a byte either side, and the record's middle.
            starts = [i for i, b in enumerate(self.log) if b == ord("*") and
                      (i == 0 or self.log[i - 1] == ord("\n"))] + [len(self.log)]
            middles = [(a + b) // 2 for a, b in zip(starts, starts[1:])]
            cuts = sorted({c for i in starts for c in (i - 1, i, i + 1) if 0 <= c <= len(self.log)} |
                          set(middles))
            if SANITIZED:  # a server start each: every third cut (and the whole log) will do
                cuts = sorted(set(cuts[::3]) | {len(self.log)})
            for cut in cuts:
                with open(path, "wb") as f:
                    f.write(self.log[:cut])
                sp.start()
                state = dump(client(sp))
                self.assertIn(state, self.states, "log cut at byte %d of %d" % (cut, len(self.log)))
                sp.stop(keep_dir=True)
                # The torn tail was cut off: the file now ends on a record boundary.
                with open(path, "rb") as f:
                    kept = f.read()
                self.assertTrue(self.log.startswith(kept))
                if cut == len(self.log):
                    self.assertEqual(state, self.states[-1])
        finally:
            sp.stop()

    def test_torn_tail_is_reported(self):
        sp = lfdb_server()
        try:
            with open(os.path.join(sp.dir, AOF), "wb") as f:
                f.write(self.log[:-3])
            sp.start()
            self.assertIn("torn tail", sp.log())
            self.assertIn("dropped the last", sp.log())
        finally:
            sp.stop()

    def test_torn_tail_refused_when_asked(self):
        sp = lfdb_server(extra=[("aof-load-truncated", "no")])
        try:
            with open(os.path.join(sp.dir, AOF), "wb") as f:
                f.write(self.log[:-3])
            with self.assertRaises(Exception):
                sp.start()
            self.assertIn("ends in the middle of a command", sp.log())
        finally:
            sp.stop()

    def corrupt_log(self):
        # Damage a byte in the middle: the '$' of a bulk header in the third record.
        pos = self.log.index(b"$", len(self.log) // 2)
        return self.log[:pos] + b"?" + self.log[pos + 1:]

    def test_corruption_in_the_middle_refuses_to_start(self):
        sp = lfdb_server()
        try:
            with open(os.path.join(sp.dir, AOF), "wb") as f:
                f.write(self.corrupt_log())
            with self.assertRaises(Exception):
                sp.start()
            self.assertIn("bad file format reading the append-only log at offset", sp.log())
            self.assertIn("--aof-load-corrupt yes", sp.log())
        finally:
            sp.stop()

    def test_corruption_loaded_up_to_when_opted_in(self):
        sp = lfdb_server(extra=[("aof-load-corrupt", "yes")])
        try:
            with open(os.path.join(sp.dir, AOF), "wb") as f:
                f.write(self.corrupt_log())
            sp.start()
            self.assertIn(dump(client(sp)), self.states)
            self.assertIn("corrupt at offset", sp.log())
        finally:
            sp.stop()


@unittest.skipUnless(is_lfdb(), "lfdb's append-only log")
class DiskErrors(unittest.TestCase):
    def setUp(self):
        self.sp = lfdb_server().start()

    def tearDown(self):
        self.sp.stop()

    def wait_writes_ok(self, r, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                return r.set("probe", "1")
            except redis.ResponseError as e:
                self.assertIn("MISCONF", str(e))
                time.sleep(0.1)
        self.fail("writes did not resume after the disk recovered")

    def check_fault(self, kind):
        r = client(self.sp)
        r.set("before", "1")
        self.assertEqual(r.execute_command("DEBUG", "AOF-FAULT", kind), b"OK")
        # The write that meets the failure runs, but its reply is never sent: the connection
        # closes (its fate is unknown to the client, as after a crash).
        with RawConnection(self.sp.port) as c:
            c.send_command("SET", "during", "1")
            with self.assertRaises(Closed):
                c.read_reply(timeout=10)
        # Writes are refused while the log cannot write; reads go on.
        with self.assertRaises(redis.ResponseError) as e:
            r.set("refused", "1")
        self.assertTrue(str(e.exception).startswith("MISCONF Errors writing to the AOF file: "),
                        str(e.exception))
        self.assertEqual(r.get("before"), b"1")
        self.assertEqual(r.info("persistence")["aof_last_write_status"], "err")
        # Refused inside MULTI too, and EXEC then aborts.
        p = r.pipeline(transaction=True)
        p.set("tx", "1")
        with self.assertRaises(redis.ResponseError) as e:
            p.execute()
        self.assertIn("MISCONF", str(e.exception))
        # The disk recovers: the ticker retries, writes resume, nothing acknowledged was lost,
        # and the write whose reply was dropped is in the log after all.
        r.execute_command("DEBUG", "AOF-FAULT", "OFF")
        self.wait_writes_ok(r)
        r.set("after", "1")
        kill9(self.sp)
        self.sp.start()
        d = dump(client(self.sp))
        for k in (b"before", b"during", b"after", b"probe"):
            self.assertIn(k, d)
        self.assertNotIn(b"refused", d)
        self.assertNotIn(b"tx", d)

    def test_write_failure(self):
        self.check_fault("WRITE")

    def test_fsync_failure(self):
        self.check_fault("FSYNC")

    def test_debug_needs_enabling(self):
        sp = ServerProcess()
        sp.extra = [("appendonly", "yes"), ("dir", sp.dir)]
        sp.start()
        try:
            with self.assertRaises(redis.ResponseError) as e:
                client(sp).execute_command("DEBUG", "AOF-FAULT", "WRITE")
            self.assertIn("DEBUG command not allowed", str(e.exception))
        finally:
            sp.stop()


@unittest.skipUnless(is_lfdb(), "lfdb's append-only log")
@unittest.skipUnless(os.geteuid() == 0, "mounting a small tmpfs needs root")
class FullDisk(unittest.TestCase):
    """A real ENOSPC: the log on a 256 KB tmpfs."""

    def setUp(self):
        self.sp = ServerProcess()
        self.mnt = os.path.join(self.sp.dir, "small")
        os.makedirs(self.mnt)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", self.mnt], check=True)
        self.sp.extra = [("appendonly", "yes"), ("appendfsync", "always"), ("dir", self.mnt)]
        self.sp.start()

    def tearDown(self):
        self.sp.stop(keep_dir=True)
        subprocess.run(["umount", self.mnt], check=False)
        shutil.rmtree(self.sp.dir, ignore_errors=True)

    def test_full_disk_refuses_writes_and_recovers(self):
        r = client(self.sp)
        acked = []
        value = "x" * 1000
        refused = None
        for i in range(1000):
            try:
                r.set("k%d" % i, value)
                acked.append(i)
            except redis.ConnectionError:
                r = client(self.sp)  # the write that hit the full disk lost its connection
            except redis.ResponseError as e:
                refused = str(e)
                break
        self.assertIsNotNone(refused, "the 256 KB disk never filled")
        self.assertIn("MISCONF Errors writing to the AOF file: No space left on device", refused)
        self.assertEqual(r.get("k0"), value.encode())  # reads go on
        subprocess.run(["mount", "-o", "remount,size=4m", self.mnt], check=True)
        deadline = time.monotonic() + 10
        while True:
            try:
                r.set("after", "1")
                break
            except redis.ResponseError:
                self.assertLess(time.monotonic(), deadline, "writes did not resume")
                time.sleep(0.1)
        kill9(self.sp)
        self.sp.start()
        r = client(self.sp)
        for i in acked:
            self.assertEqual(r.get("k%d" % i), value.encode(), "acknowledged k%d lost" % i)
        self.assertEqual(r.get("after"), b"1")


@unittest.skipUnless(is_lfdb(), "lfdb's append-only log")
class GroupCommit(unittest.TestCase):
    def test_many_writers_share_fsyncs(self):
        sp = lfdb_server().start()
        try:
            out = subprocess.run(["redis-benchmark", "-p", str(sp.port), "-c", "50", "-n", "5000",
                                  "-t", "set", "-q"], capture_output=True, text=True, timeout=120)
            self.assertEqual(out.returncode, 0, out.stderr)
            info = client(sp).info("persistence")
            records, fsyncs = info["lfdb_aof_records"], info["lfdb_aof_fsyncs"]
            self.assertGreaterEqual(records, 5000)
            # One fsync per write would make these equal; 50 writers must share.
            self.assertLess(fsyncs, records, info)
            print("group commit: %d records, %d fsyncs (%.3f per record)"
                  % (records, fsyncs, fsyncs / records))
        finally:
            sp.stop()


if __name__ == "__main__":
    unittest.main()
