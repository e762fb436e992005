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
import subprocess
import threading
import time
import unittest

from lfdb_testlib import HOST, RawConnection, RedisPeer, ServerTestCase, Timeout
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


if __name__ == "__main__":
    unittest.main()
