"""MIGRATE (docs/server.md), side by side with redis-server 7.0.

Keys move lfdb-server -> redis-server, redis-server -> lfdb-server and lfdb-server ->
lfdb-server, with COPY, REPLACE, the KEYS form, AUTH/AUTH2 and a destination database; each
scenario is run with redis-server as the source too, and the replies (OK, NOKEY, the target's
error forwarded, BUSYKEY, IOERR from a target that never answers or is not there) compared.
The keys MIGRATE removed reach a replica and the log as DEL. Runs only against lfdb-server (it
starts its own redis-server)."""

import socket
import time
import unittest

import redis

from lfdb_testlib import HOST, RawConnection, RedisPeer, ServerProcess, is_lfdb
from test_replication import wait_caught_up


def reply_of(r, *args):
    try:
        return r.execute_command(*args)
    except redis.ResponseError as e:
        return "error: " + str(e)


@unittest.skipUnless(is_lfdb(), "starts its own redis-server next to lfdb-server")
class MigrateTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.peer = RedisPeer().start()
        cls.lfdb = ServerProcess([("appendonly", "yes")]).start()
        cls.lfdb2 = ServerProcess().start()
        cls.servers = {"redis": cls.peer, "lfdb": cls.lfdb, "lfdb2": cls.lfdb2}

    @classmethod
    def tearDownClass(cls):
        for s in cls.servers.values():
            s.stop()

    def client(self, name, db=0):
        r = redis.Redis(host=HOST, port=self.servers[name].port, db=db, socket_timeout=20)
        self.addCleanup(r.close)
        return r

    def setUp(self):
        for name in self.servers:
            self.client(name).flushall()

    def fill(self, r):
        """One key of each kind; the hash expires in 100 s."""
        r.set("s", "value")
        r.rpush("l", *[str(i) for i in range(300)])
        r.hset("h", mapping={"f%d" % i: "v%d" % i for i in range(20)})
        r.pexpire("h", 100000)
        r.zadd("z", {"a": 1.5, "b": -2})

    @staticmethod
    def content(r, k):
        """A key's value as its type's reads give it (the encodings of two servers differ)."""
        t = r.type(k)
        if t == b"string":
            return r.get(k)
        if t == b"list":
            return r.lrange(k, 0, -1)
        if t == b"hash":
            return r.hgetall(k)
        if t == b"zset":
            return r.zrange(k, 0, -1, withscores=True)
        return t

    def migrate(self, src, dst, key, *rest, db=0, timeout=5000):
        return reply_of(self.client(src), "MIGRATE", HOST, self.servers[dst].port, key, db,
                        timeout, *rest)

    def test_keys_move_between_every_pair_with_their_ttl(self):
        for src, dst in (("lfdb", "redis"), ("redis", "lfdb"), ("lfdb", "lfdb2"), ("redis", "lfdb2")):
            with self.subTest(src=src, dst=dst):
                s, d = self.client(src), self.client(dst, db=3)
                self.client(src).flushall()
                self.client(dst).flushall()
                self.fill(s)
                values = {k: self.content(s, k) for k in ("s", "l", "h", "z")}
                deadline = s.pexpiretime("h")
                for k in values:
                    self.assertEqual(self.migrate(src, dst, k, db=3), b"OK", k)
                    self.assertEqual(s.exists(k), 0, k)
                    self.assertEqual(self.content(d, k), values[k], k)
                self.assertEqual(self.client(dst).dbsize(), 0)  # database 3 only
                # The TTL is sent relative: the target's deadline is the source's, give or take
                # the transfer.
                self.assertTrue(d.pttl("h") > 0)
                self.assertTrue(abs(d.pexpiretime("h") - deadline) < 5000)
                self.assertEqual(d.pttl("s"), -1)

    def test_copy_keeps_the_source_and_replace_overwrites(self):
        got = {}
        for src, dst in (("redis", "lfdb"), ("lfdb", "redis")):
            s, d = self.client(src), self.client(dst)
            s.flushall()
            d.flushall()
            s.set("k", "new")
            d.set("k", "old")
            busy = self.migrate(src, dst, "k", "COPY")
            kept = (s.get("k"), d.get("k"))
            copied = self.migrate(src, dst, "k", "COPY", "REPLACE")
            after_copy = (s.get("k"), d.get("k"))
            d.delete("k")
            moved = self.migrate(src, dst, "k")
            got[src] = (busy, kept, copied, after_copy, moved, s.exists("k"), d.get("k"))
        self.assertEqual(got["lfdb"], got["redis"])
        self.assertEqual(got["lfdb"][0],
                         "error: Target instance replied with error: BUSYKEY Target key name already exists.")
        self.assertEqual(got["lfdb"][1:], ((b"new", b"old"), b"OK", (b"new", b"new"), b"OK", 0, b"new"))

    def test_keys_form_and_nokey(self):
        got = {}
        for src, dst in (("redis", "lfdb"), ("lfdb", "redis")):
            s, d = self.client(src), self.client(dst)
            s.flushall()
            d.flushall()
            s.mset({"a": "1", "b": "2", "c": "3"})
            moved = self.migrate(src, dst, "", "REPLACE", "KEYS", "a", "missing", "b")
            nokey = self.migrate(src, dst, "missing")
            nokeys = self.migrate(src, dst, "", "KEYS", "x", "y")
            bad = self.migrate(src, dst, "c", "KEYS", "c")
            got[src] = (moved, nokey, nokeys, bad, sorted(s.keys()), sorted(d.keys()))
        self.assertEqual(got["lfdb"], got["redis"])
        self.assertEqual(got["lfdb"][:3], (b"OK", b"NOKEY", b"NOKEY"))
        self.assertEqual(got["lfdb"][4:], ([b"c"], [b"a", b"b"]))

    def test_options_and_arguments_refused_as_redis(self):
        self.client("lfdb").set("k", "v")
        self.client("redis").set("k", "v")
        port = self.lfdb2.port
        for args in ((HOST, port, "k", 0, 1000, "BOGUS"), (HOST, port, "k", 0, 1000, "AUTH"),
                     (HOST, port, "k", 0, 1000, "AUTH2", "u"), (HOST, port, "k", 0, "soon"),
                     (HOST, port, "k", "db", 1000), (HOST, port, "k", 0)):
            with self.subTest(args=args):
                self.assertEqual(reply_of(self.client("lfdb"), "MIGRATE", *args),
                                 reply_of(self.client("redis"), "MIGRATE", *args))
        self.assertEqual(self.client("lfdb").get("k"), b"v")

    def test_auth_and_refusals_of_the_target(self):
        for name in ("lfdb2", "redis"):
            self.client(name).execute_command("ACL", "SETUSER", "mover", "on", ">pw", "~*", "+@all")
            self.addCleanup(lambda n=name: self.client(n).execute_command("ACL", "DELUSER", "mover"))
        got = {}
        for src, dst in (("redis", "lfdb2"), ("lfdb", "lfdb2"), ("lfdb", "redis")):
            s = self.client(src)
            s.flushall()
            self.client(dst).flushall()
            s.set("k", "v")
            wrong = self.migrate(src, dst, "k", "AUTH2", "mover", "nope")
            # Refused AUTH, yet the target's connection stays the default user's (no password):
            # its RESTORE runs, and the source keeps the key, as MIGRATE reported an error.
            no_pass = self.migrate(src, dst, "k", "AUTH", "nope")
            ok = self.migrate(src, dst, "k", "REPLACE", "AUTH2", "mover", "pw")
            got[(src, dst)] = (wrong, no_pass, ok, s.exists("k"), self.client(dst).get("k"))
        self.assertEqual(got[("lfdb", "lfdb2")], got[("redis", "lfdb2")])
        self.assertEqual(got[("lfdb", "redis")][0],
                         "error: Target instance replied with error: "
                         "WRONGPASS invalid username-password pair or user is disabled.")
        self.assertEqual(got[("lfdb", "redis")][2:], (b"OK", 0, b"v"))

    def test_a_silent_or_absent_target_is_an_ioerr_within_the_timeout(self):
        silent = socket.socket()
        silent.bind((HOST, 0))
        silent.listen(4)  # connections complete in the backlog, nothing ever answers
        self.addCleanup(silent.close)
        absent = socket.socket()
        absent.bind((HOST, 0))  # bound, never listening: the connection is refused
        self.addCleanup(absent.close)
        for src in ("redis", "lfdb"):
            with self.subTest(src=src):
                s = self.client(src)
                s.set("k", "v")
                start = time.monotonic()
                self.assertEqual(reply_of(s, "MIGRATE", HOST, silent.getsockname()[1], "k", 0, 300),
                                 "error: IOERR error or timeout reading to target instance")
                self.assertLess(time.monotonic() - start, 15)  # liveness only: the timeout is 0.3 s
                # A refused connection shows when the request is written, as in Redis.
                self.assertEqual(reply_of(s, "MIGRATE", HOST, absent.getsockname()[1], "k", 0, 300),
                                 "error: IOERR error or timeout writing to target instance")
                self.assertEqual(reply_of(s, "MIGRATE", "no-such-host.invalid", 1, "k", 0, 300),
                                 "error: IOERR error or timeout connecting to the client")
                self.assertEqual(s.get("k"), b"v")

    def test_moved_keys_leave_the_replica_and_the_log_as_del(self):
        lf = self.client("lfdb")
        replica = ServerProcess([("replicaof", "%s %d" % (HOST, self.lfdb.port))]).start()
        self.addCleanup(replica.stop)
        rc = redis.Redis(host=HOST, port=replica.port, socket_timeout=10)
        self.addCleanup(rc.close)
        lf.mset({"m1": "1", "m2": "2", "stay": "3"})
        self.assertEqual(self.migrate("lfdb", "redis", "", "KEYS", "m1", "m2"), b"OK")
        self.assertEqual(self.migrate("lfdb", "redis", "stay", "COPY"), b"OK")
        wait_caught_up(lf, rc)
        self.assertEqual(sorted(rc.keys()), [b"stay"])
        self.lfdb.stop(keep_dir=True)
        self.lfdb.start()
        self.assertEqual(sorted(self.client("lfdb").keys()), [b"stay"])

    def test_command_introspection_as_redis(self):
        cases = (("MIGRATE", "h", "1", "k", "0", "10"),
                 ("MIGRATE", "h", "1", "", "0", "10", "COPY", "AUTH", "keys", "KEYS", "a", "b"),
                 ("MIGRATE", "h", "1", "", "0", "10", "AUTH2", "u", "p", "KEYS", "a"),
                 ("MIGRATE", "h", "1", "k", "0", "10", "KEYS", "a"))
        got = []
        for name in ("redis", "lfdb"):
            with RawConnection(self.servers[name].port) as c:
                info = c.command("COMMAND", "INFO", "MIGRATE")[0]
                got.append([info[:2], b"movablekeys" in info[2]]
                           + [c.command("COMMAND", "GETKEYSANDFLAGS", *cmd) for cmd in cases])
        self.assertEqual(got[1], got[0])
        self.assertEqual(got[0][0], [b"migrate", -6])
        self.assertTrue(got[0][1])


if __name__ == "__main__":
    unittest.main()
