"""Redis's replication protocol from the primary's side: SYNC and PSYNC (docs/replication.md).

What a Redis replica, redis-cli --rdb / --replica and Redis's own test harness see: the payload
is an RDB file (checked by its CRC, by redis-check-rdb and by loading it into a redis-server),
then the stream of writes as RESP commands with SELECT where the database changes. The same
tests run against redis-server; both servers start with appendonly no (Redis's default).
"""

import os
import queue
import re
import shutil
import socket
import subprocess
import threading
import time
import unittest

import redis

from lfdb_testlib import HOST, RawConnection, RedisPeer, ServerProcess, ServerTestCase, Timeout, is_lfdb
from test_dump import crc64

CHECK_RDB = shutil.which("redis-check-rdb")
REDIS_CLI = shutil.which("redis-cli")


class ReplicaStream:
    """A raw connection that became a replica: reads the payload, then commands."""

    def __init__(self, port):
        self.c = RawConnection(port, timeout=5.0)

    def close(self):
        self.c.close()

    def line(self):
        while b"\r\n" not in self.c.buf:
            self.c._fill(time.monotonic() + 5.0)
        i = self.c.buf.index(b"\r\n")
        out, self.c.buf = self.c.buf[:i], self.c.buf[i + 2:]
        return out

    def exactly(self, n):
        while len(self.c.buf) < n:
            self.c._fill(time.monotonic() + 5.0)
        out, self.c.buf = self.c.buf[:n], self.c.buf[n:]
        return out

    def payload(self):
        head = self.line()
        while head == b"":  # newlines keep the link alive while the primary prepares
            head = self.line()
        assert head.startswith(b"$"), head
        return self.exactly(int(head[1:]))  # no CRLF after it

    def command(self):
        """The next command of the stream, its name lowercased, and its size in bytes."""
        before = len(self.c.buf)
        consumed = 0
        head = self.line()
        consumed += len(head) + 2
        assert head.startswith(b"*"), head
        args = []
        for _ in range(int(head[1:])):
            h = self.line()
            consumed += len(h) + 2
            args.append(self.exactly(int(h[1:])))
            self.exactly(2)
            consumed += int(h[1:]) + 2
        del before
        args[0] = args[0].lower()
        return args, consumed

    def commands_until(self, last):
        """Commands up to and including the first whose name and key match `last`, PINGs left
        out."""
        out = []
        while True:
            args, _ = self.command()
            if args == [b"ping"]:
                continue
            out.append(args)
            if args[:2] == last:
                return out


def value_of(r, key):
    t = r.type(key)
    if t == b"string":
        v = r.get(key)
    elif t == b"list":
        v = r.lrange(key, 0, -1)
    elif t == b"hash":
        v = sorted(r.hgetall(key).items())
    elif t == b"set":
        v = sorted(r.smembers(key))
    elif t == b"zset":
        v = r.zrange(key, 0, -1, withscores=True)
    elif t == b"stream":
        v = r.xrange(key)
    else:
        v = None
    return t, v, r.pttl(key) > 0


def keyspace(r, dbs):
    out = {}
    for db in dbs:
        r.execute_command("SELECT", db)
        for k in r.scan_iter(count=1000):
            out[(db, k)] = value_of(r, k)
    r.execute_command("SELECT", 0)
    return out


class SyncTest(ServerTestCase):
    # No diskless-sync delay: redis-server would otherwise wait 5 s before a payload.
    server_config = [("repl-ping-replica-period", "3600"), ("repl-diskless-sync-delay", "0")]

    def fill(self):
        r = self.client(decode=False)
        r.set("s", "hello")
        r.set("n", "12345")
        r.set("ttl", "x", ex=1000)
        r.rpush("l", *[b"e%d" % i for i in range(50)])
        r.hset("h", mapping={"f1": "v1", "f2": "v2"})
        r.hset("bigh", mapping={"f%d" % i: "v" * 80 for i in range(20)})
        r.sadd("si", 1, 2, 3)
        r.sadd("ss", "a", "b")
        r.zadd("z", {"a": 1.5, "b": 2})
        r.xadd("st", {"a": "1"}, id="5-1")
        r.execute_command("SELECT", 3)
        r.set("in3", "v3")
        r.execute_command("SELECT", 0)
        return r

    def test_sync_payload_is_an_rdb_that_redis_loads(self):
        r = self.fill()
        s = ReplicaStream(self.port)
        try:
            s.c.send(b"SYNC\r\n")
            rdb = s.payload()
        finally:
            s.close()
        self.assertEqual(rdb[:9], b"REDIS0010")
        self.assertEqual(rdb[-9], 0xFF)  # EOF opcode, then the CRC
        self.assertEqual(int.from_bytes(rdb[-8:], "little"), crc64(rdb[:-8]))
        d = os.path.join(self.server.dir, "synced")
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "dump.rdb"), "wb") as f:
            f.write(rdb)
        if CHECK_RDB:
            out = subprocess.run([CHECK_RDB, os.path.join(d, "dump.rdb")], capture_output=True,
                                 text=True, timeout=30)
            self.assertIn("RDB looks OK", out.stdout, out.stdout + out.stderr)
            self.assertIn("[info] 11 keys read", out.stdout)
            self.assertIn("[info] 1 expires", out.stdout)
        peer = RedisPeer([("dbfilename", "dump.rdb")])
        shutil.copy(os.path.join(d, "dump.rdb"), os.path.join(peer.dir, "dump.rdb"))
        peer.start()
        try:
            import redis
            loaded = redis.Redis(host=HOST, port=peer.port, socket_timeout=10)
            self.assertEqual(keyspace(loaded, [0, 3]), keyspace(r, [0, 3]))
            loaded.close()
        finally:
            peer.stop()

    def test_the_stream_after_the_payload(self):
        r = self.client(decode=False)
        r.set("before", "1")
        s = ReplicaStream(self.port)
        try:
            s.c.send(b"SYNC\r\n")
            s.payload()
            r.set("foo", "bar")
            r.expire("foo", 100)
            p = r.pipeline(transaction=True)
            p.set("a", "1")
            p.incr("a")
            p.execute()
            r.eval("redis.call('set', 'x', '1'); redis.call('incr', 'x')", 0)
            r.set("t", "v", px=1)
            time.sleep(0.01)
            # Expired: its DEL comes in the stream (Redis's at this read, lfdb's with the expiry
            # cycle's next pass over it), before what follows.
            self.assertIsNone(r.get("t"))
            got = s.commands_until([b"del", b"t"])
            r.execute_command("SELECT", 3)
            r.set("k3", "v3")
            r.execute_command("SELECT", 0)
            got += s.commands_until([b"set", b"k3"])
        finally:
            s.close()
        pexpireat = got[2]
        self.assertEqual(pexpireat[:2], [b"pexpireat", b"foo"])
        self.assertTrue(re.fullmatch(rb"\d{13}", pexpireat[2]), pexpireat)
        pxat = got[11]
        self.assertEqual([a.upper() for a in pxat[:4]], [b"SET", b"T", b"V", b"PXAT"])
        got[2], got[11] = b"pexpireat", b"pxat"
        self.assertEqual(got, [
            [b"select", b"0"],
            [b"set", b"foo", b"bar"], b"pexpireat",
            [b"multi"], [b"set", b"a", b"1"], [b"incrby", b"a", b"1"], [b"exec"],
            [b"multi"], [b"set", b"x", b"1"], [b"incr", b"x"], [b"exec"],
            b"pxat",
            [b"del", b"t"],
            [b"select", b"3"], [b"set", b"k3", b"v3"],
        ])

    def test_a_command_with_several_effects_comes_as_one_transaction(self):
        r = self.client(decode=False)
        r.xadd("q", {"a": "1"}, id="1-1")
        r.xadd("q", {"a": "2"}, id="1-2")
        r.xgroup_create("q", "g", id="0")
        s = ReplicaStream(self.port)
        try:
            s.c.send(b"SYNC\r\n")
            s.payload()
            r.xreadgroup("g", "c", {"q": ">"})  # one XCLAIM per delivered entry
            r.set("end", "1")
            got = [a for a in s.commands_until([b"set", b"end"]) if a[0] != b"select"]
        finally:
            s.close()
        self.assertEqual(got[0], [b"multi"])
        self.assertEqual(got[-2:], [[b"exec"], [b"set", b"end", b"1"]])
        claimed = [a[5] for a in got if a[0] == b"xclaim"]
        self.assertEqual(claimed, [b"1-1", b"1-2"])
        # lfdb also says the consumer and the group's position (Redis: XCLAIM's LASTID only).
        self.assertEqual({a[0] for a in got[1:-2]} - {b"xclaim", b"xgroup"}, set())

    def test_psync_full_then_continue(self):
        r = self.client(decode=False)
        r.config_set("repl-ping-replica-period", 1)
        self.addCleanup(r.config_set, "repl-ping-replica-period", 3600)
        s = ReplicaStream(self.port)
        try:
            # As a replica does: it understands +CONTINUE <replid> (Redis 4.0's PSYNC 2).
            s.c.send(b"REPLCONF capa psync2\r\n")
            self.assertEqual(s.line(), b"+OK")
            # The port a replica announces is what INFO replication and ROLE show for it.
            s.c.send(b"REPLCONF listening-port 16999\r\n")
            self.assertEqual(s.line(), b"+OK")
            s.c.send(b"PSYNC ? -1\r\n")
            head = s.line()
            m = re.fullmatch(rb"\+FULLRESYNC ([0-9a-f]{40}) (\d+)", head)
            self.assertIsNotNone(m, head)
            replid, offset = m.group(1), int(m.group(2))
            s.payload()
            def announced():
                return r.info("replication").get("slave0", {}).get("port")
            deadline = time.time() + 10
            while announced() != 16999 and time.time() < deadline:
                time.sleep(0.05)
            self.assertEqual(announced(), 16999)
            r.set("a", "1")
            seen = []
            while [b"ping"] not in seen or [b"set", b"a", b"1"] not in seen:
                args, n = s.command()  # a PING counts in the offset like any command
                seen.append(args)
                offset += n
        finally:
            s.close()
        r.set("b", "2")
        s = ReplicaStream(self.port)
        try:
            s.c.send(b"REPLCONF capa psync2\r\n")
            self.assertEqual(s.line(), b"+OK")
            # A replica asks for the next byte, counting from 1.
            s.c.send(b"PSYNC %s %d\r\n" % (replid, offset + 1))
            self.assertEqual(s.line(), b"+CONTINUE " + replid)
            args, _ = s.command()
            while args == [b"ping"]:
                args, _ = s.command()
            self.assertEqual(args, [b"set", b"b", b"2"])
        finally:
            s.close()

    def stopped_replica(self, r):
        """A replica that took its payload and reads nothing more (its receive buffer kept
        small, so what it does not read stays with the primary), once the primary has it online."""
        s = ReplicaStream(self.port)
        s.c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.c.send(b"PSYNC ? -1\r\n")
        self.assertTrue(s.line().startswith(b"+FULLRESYNC"))
        s.payload()
        deadline = time.time() + 10
        while r.info("replication").get("slave0", {}).get("state") != "online" and time.time() < deadline:
            time.sleep(0.02)
        self.assertEqual(r.info("replication")["slave0"]["state"], "online")
        return s

    def write_stream(self, r, megabytes):
        value = b"v" * 10000
        for _ in range(megabytes):
            p = r.pipeline(transaction=False)
            for i in range(100):
                p.set(b"k%d" % (i % 10), value)
            p.execute()

    def keep_config(self, r, name):
        got = r.execute_command("CONFIG", "GET", name)
        self.addCleanup(r.config_set, name, got[1])

    def test_a_stopped_replicas_unsent_stream_is_its_output_buffer(self):
        """What a replica has not read is held for it past repl-backlog-size and counted as
        Redis 7.0 counts a replica's output: INFO memory's mem_clients_slaves, left out of
        eviction (mem_not_counted_for_evict), CLIENT LIST's omem; CLIENT KILL TYPE replica lets
        it go before it answers (unit/maxmemory's 'slave buffer are counted correctly')."""
        r = self.client(decode=False)
        self.keep_config(r, "repl-backlog-size")
        r.config_set("repl-backlog-size", "16kb")
        s = self.stopped_replica(r)
        try:
            self.write_stream(r, 12)  # 12 MB of SETs: more than the socket buffers take
            deadline = time.time() + 10
            while r.info("memory")["mem_clients_slaves"] < 2 << 20 and time.time() < deadline:
                time.sleep(0.02)
            mem = r.info("memory")
            self.assertGreater(mem["mem_clients_slaves"], 2 << 20)
            self.assertGreater(mem["mem_not_counted_for_evict"], 2 << 20)

            def replica_fields():
                lines = r.execute_command("CLIENT", "LIST", "TYPE", "replica").decode().splitlines()
                self.assertEqual(len(lines), 1, lines)
                return dict(f.split("=", 1) for f in lines[0].split(" "))
            # lfdb's replica lines come from the dispatcher's published view, which follows the
            # held bytes INFO reads by up to one of its passes.
            fields = replica_fields()
            while int(fields["omem"]) <= 2 << 20 and time.time() < deadline:
                time.sleep(0.02)
                fields = replica_fields()
            self.assertEqual(fields["flags"], "S")
            self.assertGreater(int(fields["omem"]), 2 << 20)
            self.assertEqual(r.execute_command("CLIENT", "KILL", "TYPE", "replica"), 1)
            self.assertEqual(r.info("memory")["mem_clients_slaves"], 0)
            self.assertEqual(r.execute_command("CLIENT", "LIST", "TYPE", "replica"), b"")
            self.assertEqual(r.info("replication")["connected_slaves"], 0)
        finally:
            s.close()

    def test_a_replica_past_its_output_limit_is_dropped(self):
        r = self.client(decode=False)
        self.keep_config(r, "repl-backlog-size")
        self.keep_config(r, "client-output-buffer-limit")
        r.config_set("repl-backlog-size", "16kb")
        r.config_set("client-output-buffer-limit", "replica 1mb 0 0")
        s = self.stopped_replica(r)
        try:
            self.write_stream(r, 8)
            deadline = time.time() + 10
            while r.info("replication")["connected_slaves"] > 0 and time.time() < deadline:
                time.sleep(0.02)
            self.assertEqual(r.info("replication")["connected_slaves"], 0)
            self.assertEqual(r.info("memory")["mem_clients_slaves"], 0)
        finally:
            s.close()

    def test_the_first_writes_after_a_sync_add_no_backlog_block(self):
        """unit/maxmemory's 'replica buffer don't induce eviction' sets maxmemory 32 KB above
        used_memory less mem_not_counted_for_evict once a replica synced. lfdb allocated the
        backlog's first 16 KB block at the first write after the sync: that figure rose 19.9 KB
        at the first writes here (redis-server's, with its first replication-buffer block, 25.8
        KB); the block now comes with the sync (docs/memory.md, "Replicas' output"). The
        smallest of a few readings: a write's transients (a segment on its way, a reply) come
        and go between them."""
        r = self.client(decode=False)
        self.keep_config(r, "repl-backlog-size")
        r.config_set("repl-backlog-size", "10kb")
        self.addCleanup(r.delete, b"rise")
        r.set(b"rise", b"x" * 1000)
        s = self.stopped_replica(r)

        def counted():
            readings = []
            for _ in range(5):
                mem = r.info("memory")
                readings.append(mem["used_memory"] - mem["mem_not_counted_for_evict"] - mem["mem_clients_normal"])
                time.sleep(0.02)
            return min(readings)
        try:
            before = counted()
            for _ in range(20):
                r.setrange(b"rise", 0, b"A" * 100)
            # Both within the unit's 32 KB; lfdb's rise without the block is the log's and the
            # segments' few KB (4,038 bytes measured), redis-server's its first 16 KB buffer block
            # and more (25,848 in this test).
            self.assertLess(counted() - before, 8 * 1024 if is_lfdb() else 32 * 1024)
        finally:
            s.close()

    def test_client_kill_user_and_laddr_reach_replicas(self):
        """A replica's connection keeps its own user and local address: CLIENT LIST prints them
        and CLIENT KILL USER / LADDR match them, as on any other connection."""
        r = self.client(decode=False)
        r.execute_command("ACL", "SETUSER", "repl-sync", "on", ">pw", "+@all", "~*")
        self.addCleanup(r.execute_command, "ACL", "DELUSER", "repl-sync")
        laddr = "%s:%d" % (HOST, self.port)

        def replica():
            s = ReplicaStream(self.port)
            s.c.send(b"AUTH repl-sync pw\r\n")
            self.assertEqual(s.line(), b"+OK")
            s.c.send(b"PSYNC ? -1\r\n")
            self.assertTrue(s.line().startswith(b"+FULLRESYNC"))
            s.payload()
            deadline = time.time() + 10
            while r.info("replication")["connected_slaves"] < 1 and time.time() < deadline:
                time.sleep(0.02)
            return s

        def slaves_become(n):
            deadline = time.time() + 10
            while r.info("replication")["connected_slaves"] != n and time.time() < deadline:
                time.sleep(0.02)
            return r.info("replication")["connected_slaves"]

        s = replica()
        try:
            lines = r.execute_command("CLIENT", "LIST", "TYPE", "replica").decode().splitlines()
            self.assertEqual(len(lines), 1, lines)
            fields = dict(f.split("=", 1) for f in lines[0].split(" "))
            self.assertEqual(fields["user"], "repl-sync")
            self.assertEqual(fields["laddr"], laddr)
            self.assertEqual(r.execute_command("CLIENT", "KILL", "USER", "repl-sync"), 1)
            self.assertEqual(slaves_become(0), 0)
        finally:
            s.close()
        s = replica()
        try:
            self.assertEqual(r.execute_command("CLIENT", "KILL", "LADDR", "127.0.0.1:1", "USER", "repl-sync"), 0)
            self.assertEqual(r.execute_command("CLIENT", "KILL", "LADDR", laddr, "USER", "repl-sync"), 1)
            self.assertEqual(slaves_become(0), 0)
        finally:
            s.close()

    @unittest.skipUnless(REDIS_CLI, "redis-cli is not installed")
    def test_redis_cli_replica_prints_the_stream(self):
        p = subprocess.Popen([REDIS_CLI, "-h", HOST, "-p", str(self.port), "--replica"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            r = self.client()
            lines = queue.Queue()
            threading.Thread(target=lambda: [lines.put(l) for l in iter(p.stdout.readline, b"")],
                             daemon=True).start()
            errs = queue.Queue()
            threading.Thread(target=lambda: [errs.put(l) for l in iter(p.stderr.readline, b"")],
                             daemon=True).start()
            # Once it has the payload, later writes come in its stream.
            while b"SYNC done" not in errs.get(timeout=10):
                pass
            r.set("cli", "seen")
            printed = []
            while not any(b"cli" in l for l in printed):
                printed.append(lines.get(timeout=10).strip().lower())
            self.assertEqual([l for l in printed if l != b'"ping"'][-1], b'"set","cli","seen"')
        finally:
            p.kill()
            p.wait()
            p.stdout.close()
            p.stderr.close()


DBS = range(16)
LIBRARY = """#!lua name=repldiff
redis.register_function('fset', function(keys, args)
  redis.call('set', keys[1], args[1])
  return redis.call('incrbyfloat', keys[2], '1.5')
end)"""


def pairs(flat):
    """A RESP2 flat [name, value, ...] reply as a dict."""
    return {flat[i]: flat[i + 1] for i in range(0, len(flat), 2)}


def stream_state(c, key):
    """XINFO STREAM FULL without what is the server's own layout (radix-tree sizes) or clock
    (a consumer's seen-time: when the replica applied what the primary did)."""
    full = pairs(c.execute_command("XINFO", "STREAM", key, "FULL", "COUNT", 0))
    for k in (b"radix-tree-keys", b"radix-tree-nodes"):
        full.pop(k, None)
    groups = []
    for g in full.pop(b"groups"):
        g = pairs(g)
        consumers = []
        for cons in g.pop(b"consumers"):
            cons = pairs(cons)
            cons.pop(b"seen-time", None)
            cons.pop(b"active-time", None)
            consumers.append(cons)
        g[b"consumers"] = consumers
        groups.append(g)
    full[b"groups"] = groups
    return full


def key_state(c, key):
    """What a key is, as comparable across servers: TYPE and content, OBJECT ENCODING and DUMP
    (compared where the encodings agree), PTTL (compared within a tolerance)."""
    t = c.type(key)
    if t == b"stream":
        content = stream_state(c, key)
    else:
        content = value_of(c, key)[1]
    return {"type": t, "content": content, "encoding": c.object("encoding", key),
            "dump": c.dump(key), "pttl": c.pttl(key)}


def database_state(c):
    """Every database's DBSIZE (which counts a key the replica hides as expired until the
    primary's DEL reaches it) and keys, and the function libraries."""
    out = {}
    for db in DBS:
        c.execute_command("SELECT", db)
        keys = sorted(c.scan_iter(count=1000))
        out[db] = (c.dbsize(), {k: key_state(c, k) for k in keys})
    c.execute_command("SELECT", 0)
    return out, c.execute_command("FUNCTION", "LIST", "WITHCODE")


def differences(primary, replica):
    """What differs between two database_state()s, as readable lines (empty: the same)."""
    (pdbs, pfun), (rdbs, rfun) = primary, replica
    out = []
    if pfun != rfun:
        out.append("functions: %r != %r" % (pfun, rfun))
    for db in DBS:
        (psize, pkeys), (rsize, rkeys) = pdbs[db], rdbs[db]
        if psize != rsize:
            out.append("db %d: dbsize %d on the primary, %d on the replica" % (db, psize, rsize))
        for k in sorted(set(pkeys) | set(rkeys)):
            p, r = pkeys.get(k), rkeys.get(k)
            if p is None or r is None:
                out.append("db %d %r: only on the %s" % (db, k, "replica" if p is None else "primary"))
                continue
            if p["type"] != r["type"]:
                out.append("db %d %r: type %r != %r" % (db, k, p["type"], r["type"]))
            elif isinstance(p["content"], dict):  # a stream: the fields that differ
                for f in sorted(set(p["content"]) | set(r["content"])):
                    pf, rf = p["content"].get(f), r["content"].get(f)
                    if pf != rf:
                        out.append("db %d %r: %s %r != %r" % (db, k, f, pf, rf))
            elif p["content"] != r["content"]:
                out.append("db %d %r: content %r != %r" % (db, k, p["content"], r["content"]))
            # A stream's DUMP holds its consumers' seen-times: when each server ran the read.
            if p["encoding"] == r["encoding"] != b"stream" and p["dump"] != r["dump"]:
                out.append("db %d %r: DUMP differs (%s)" % (db, k, p["encoding"]))
            if (p["pttl"] < 0 or r["pttl"] < 0) and p["pttl"] != r["pttl"]:
                out.append("db %d %r: pttl %d != %d" % (db, k, p["pttl"], r["pttl"]))
            elif abs(p["pttl"] - r["pttl"]) > 2000:
                out.append("db %d %r: pttl %d vs %d" % (db, k, p["pttl"], r["pttl"]))
    return out


class RedisReplica(RedisPeer):
    """redis-server with the directives given (RedisPeer's command takes none)."""

    def command(self, port):
        return self.redis_command(port) + [a for name, value in self.extra for a in ("--" + name, str(value))]


class ReplicaOfThisServerTest(ServerTestCase):
    """A redis-server replica of the server under test, and an lfdb-server one when that is
    lfdb-server: after a workload of the commands whose propagation is not their text (random,
    relative, blocking, scripted, evicted, expired), every database of each replica must be the
    primary's, and a subscriber on a replica gets what was published on the primary."""

    server_config = [("repl-ping-replica-period", "3600"), ("repl-diskless-sync-delay", "0")]
    unreplicated = {(0, b"norepl")}  # written under redis.set_repl(redis.REPL_NONE)
    maxDiff = None

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        of = [("replicaof", "%s %d" % (HOST, cls.port))]
        cls.replicas = [RedisReplica(of).start()]
        if is_lfdb():
            cls.replicas.append(ServerProcess(of).start())

    @classmethod
    def tearDownClass(cls):
        for rep in cls.replicas:
            rep.stop()
        super().tearDownClass()

    def connect(self, port, db=0):
        c = redis.Redis(host=HOST, port=port, db=db, socket_timeout=10, single_connection_client=True)
        self.addCleanup(c.close)
        return c

    def wait_until(self, what, cond, timeout=10.0):
        deadline = time.monotonic() + timeout
        while not cond():
            if time.monotonic() > deadline:
                self.fail("timed out waiting for " + what)
            time.sleep(0.02)

    def blocked_pops_served_after_a_push(self, r):
        results = {}
        def pop(name, *args):
            c = self.connect(self.port)
            results[name] = c.execute_command(*args)
        threads = [threading.Thread(target=pop, args=a) for a in (
            ("blpop", "BLPOP", "bl", 10), ("blmove", "BLMOVE", "bsrc", "bdst", "LEFT", "RIGHT", 10),
            ("bzpopmin", "BZPOPMIN", "bz", 10),
            ("xreadgroup", "XREADGROUP", "GROUP", "gb", "cb", "BLOCK", 10000, "STREAMS", "bst", ">"))]
        r.xgroup_create("bst", "gb", id="$", mkstream=True)
        before = int(r.info("clients")["blocked_clients"])
        for t in threads:
            t.start()
        self.wait_until("four blocked clients",
                        lambda: int(r.info("clients")["blocked_clients"]) == before + 4)
        r.rpush("bl", "a", "b")
        r.rpush("bsrc", "x", "y")
        r.zadd("bz", {"m": 1, "n": 2})
        r.xadd("bst", {"f": "1"}, id="1-1")
        r.xadd("bst", {"f": "2"}, id="1-2")
        for t in threads:
            t.join(15)
        self.assertEqual(results, {"blpop": (b"bl", b"a"), "blmove": b"x", "bzpopmin": (b"bz", b"m", 1.0),
                                   "xreadgroup": [[b"bst", [(b"1-1", {b"f": b"1"})]]]})
        # Redis 7.0 propagates a group's position with its entries-read only for a NOACK read
        # (else by XCLAIM's LASTID alone: its replica shows none): one says it, on both servers.
        r.xadd("bst", {"f": "3"}, id="1-3")
        r.xreadgroup("gb", "cb2", {"bst": ">"}, noack=True)

    def workload(self, r):
        r.sadd("set", *range(40))
        r.spop("set")
        r.spop("set", 3)
        r.srandmember("set", 2)
        r.set("f", "10.5")
        r.incrbyfloat("f", "0.1")
        r.hset("h", "x", "1.5")
        r.hincrbyfloat("h", "x", "2.25")
        r.set("e1", "v")
        r.expire("e1", 100)
        r.setex("e2", 200, "v")
        r.set("e3", "v")
        r.getex("e3", ex=300)
        r.set("e4", "v", ex=400)
        r.getex("e4", persist=True)
        r.set("e5", "v", ex=500)
        expired = int(r.info("stats")["expired_keys"])
        r.set("gone", "v", px=20)
        self.blocked_pops_served_after_a_push(r)
        r.rpush("lm1", *"abcde")
        self.assertEqual(r.execute_command("LMPOP", 2, "lm0", "lm1", "LEFT", "COUNT", 2),
                         [b"lm1", [b"a", b"b"]])
        r.eval("redis.call('set', KEYS[1], 'a') "
               "redis.set_repl(redis.REPL_NONE) redis.call('set', KEYS[2], 'b') "
               "redis.set_repl(redis.REPL_ALL) redis.call('incr', KEYS[3]) "
               "return redis.call('spop', KEYS[4])", 4, "ev1", "norepl", "ev3", "set")
        r.execute_command("FUNCTION", "LOAD", "REPLACE", LIBRARY)
        r.execute_command("FCALL", "fset", 2, "fk1", "fk2", "v")
        p = r.pipeline(transaction=True)
        p.incr("m1")
        p.spop("set")
        p.set("m2", "v", ex=600)
        p.expire("m1", 700)
        p.publish("chan", "in-multi")
        p.execute()
        p = r.pipeline(transaction=False)
        for i in range(300):
            p.execute_command("XADD", "st", "MAXLEN", "~", 100, "*", "i", i)
        p.execute()
        r.xadd("st", {"last": "1"})
        r.xgroup_create("st", "g", id="0")
        r.xgroup_create("st", "g2", id="$")
        first = r.xreadgroup("g", "c1", {"st": ">"}, count=3)[0][1]
        r.xreadgroup("g", "c2", {"st": ">"}, count=2)
        r.xreadgroup("g", "c5", {"st": ">"}, count=2, noack=True)
        r.xreadgroup("g2", "empty", {"st": ">"}, count=2)  # a consumer, nothing delivered
        r.xack("st", "g", first[0][0])
        r.xclaim("st", "g", "c3", 0, [first[1][0]])
        r.xautoclaim("st", "g", "c4", 0, "0-0", count=1)
        d = r.dump("h")
        r.restore("restored", 100000, d)
        r.restore("restored-abs", int(time.time() * 1000) + 800000, d, absttl=True)
        r.copy("h", "hcopy")
        r.execute_command("COPY", "set", "set-in-1", "DB", 1)
        r1, r2, r3 = self.connect(self.port, 1), self.connect(self.port, 2), self.connect(self.port, 3)
        r1.set("one", "1", ex=900)
        r1.incrbyfloat("f1", 2.5)
        r2.set("two", "2")
        r3.rpush("three", "3")
        r3.hset("h3", "a", "1")
        r2.flushdb()
        r2.set("after-flush", "2")
        r.swapdb(3, 4)
        p = self.connect(self.port).pipeline(transaction=True)
        p.execute_command("SELECT", 5)
        p.set("five", "5")
        p.execute_command("SELECT", 6)
        p.incrbyfloat("six", "1.25")
        p.execute()
        self.wait_until("the expiry of a key",
                        lambda: int(r.info("stats")["expired_keys"]) > expired)

    def evict(self, r):
        # Volatile keys only: what the workload wrote without a TTL is not evicted under it.
        used = int(r.info("memory")["used_memory"])
        evicted = int(r.info("stats")["evicted_keys"])
        r.config_set("maxmemory-policy", "volatile-random")
        r.config_set("maxmemory", used + 200 * 1024)
        try:
            r7 = self.connect(self.port, 7)
            for i in range(1000):
                try:
                    r7.set("fill:%d" % i, "x" * 1000, ex=3600)
                except redis.exceptions.ResponseError as e:
                    self.assertIn("OOM", str(e))
        finally:
            r.config_set("maxmemory", 0)
            r.config_set("maxmemory-policy", "noeviction")
        self.assertGreater(int(r.info("stats")["evicted_keys"]), evicted)

    def test_every_database_of_a_replica_is_the_primarys(self):
        r = self.connect(self.port)
        reps = [self.connect(rep.port) for rep in self.replicas]
        for c in reps:
            self.wait_until("the replica's link",
                            lambda: c.info("replication")["master_link_status"] == "up")
        subs, shard_subs = [], []
        for rep in self.replicas:
            ps = self.connect(rep.port).pubsub()
            self.addCleanup(ps.close)
            ps.subscribe("chan")
            self.assertEqual(ps.get_message(timeout=5)["type"], "subscribe")
            subs.append(ps)
            ss = RawConnection(rep.port)
            self.addCleanup(ss.close)
            self.assertEqual(ss.command("SSUBSCRIBE", "shard"), [b"ssubscribe", b"shard", 1])
            shard_subs.append(ss)
        self.workload(r)
        r.publish("chan", "plain")
        r.execute_command("SPUBLISH", "shard", "sharded")
        r.eval("redis.call('publish', 'chan', 'scripted') redis.call('set', 'after-publish', 1)", 0)
        self.evict(r)
        mark = b"%f" % time.time()
        r.set("mark", mark)
        for c in reps:
            self.wait_until("the mark on the replica", lambda: c.get("mark") == mark)
        for ps in subs:
            got = [ps.get_message(timeout=5) for _ in range(3)]
            self.assertEqual([m and m["data"] for m in got], [b"in-multi", b"plain", b"scripted"])
        for ss in shard_subs:
            self.assertEqual(ss.read_parsed(), [b"smessage", b"shard", b"sharded"])
        # The primary's DELs (expiry, eviction) are written as they happen: a replica that has
        # the mark may still be short of one sealed with a sweep that ran alongside.
        want = database_state(r)
        # What ran under REPL_NONE is the primary's alone: the replicas must not have it.
        for db, k in self.unreplicated:
            size, keys = want[0][db]
            self.assertIn(k, keys)
            del keys[k]
            want[0][db] = (size - 1, keys)
        for rep, c in zip(self.replicas, reps):
            deadline = time.monotonic() + 5
            while differences(want, database_state(c)) and time.monotonic() < deadline:
                time.sleep(0.05)
            self.assertEqual(differences(want, database_state(c)), [], rep.command(rep.port)[0])

if __name__ == "__main__":
    unittest.main()
