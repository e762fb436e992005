"""Databases: SELECT, per-database keyspace commands, MOVE, SWAPDB, COPY, WATCH, MULTI and scripts
in the caller's database (issue 13, item 2).

The `Databases` class runs unchanged against redis-server 7.0 (the peer) and lfdb-server, so every
reply and error text below is Redis's. `Persistence` (lfdb only) restarts lfdb-server from its
append-only log and from its snapshot and checks every database came back, and that the log
carries SELECT only where the database changes, as Redis's AOF does.
"""

import os
import time
import unittest

import redis

from lfdb_testlib import RespError, ServerProcess, ServerTestCase, is_lfdb

DB_RANGE = "ERR DB index is out of range"
NOT_INT = "ERR value is not an integer or out of range"
INT_RANGE = "ERR value is out of range, value must between -2147483648 and 2147483647"
SAME = "ERR source and destination objects are the same"


class Databases(ServerTestCase):
    def setUp(self):
        super().setUp()
        self.assertEqual(self.call("SELECT", "0"), b"OK")

    def db(self, n):
        return self.client(db=n)

    def test_sixteen_databases_by_default(self):
        self.assertEqual(self.r.config_get("databases"), {"databases": "16"})
        self.assertEqual(self.call("SELECT", "15"), b"OK")
        self.assertErrorReply(DB_RANGE, "SELECT", "16")
        self.assertErrorReply(DB_RANGE, "SELECT", "-1")
        self.assertErrorReply(NOT_INT, "SELECT", "abc")
        self.assertErrorReply(NOT_INT, "SELECT", "1.5")
        self.assertErrorReply(NOT_INT, "SELECT", "99999999999999999999")
        self.assertErrorReply(INT_RANGE, "SELECT", "4294967296")
        self.assertErrorReply("ERR invalid first DB index", "SWAPDB", "4294967296", "0")
        self.assertErrorReply("ERR wrong number of arguments for 'select' command", "SELECT")

    def test_each_database_is_its_own_keyspace(self):
        d0, d9 = self.db(0), self.db(9)
        d0.set("k", "zero")
        d9.set("k", "nine")
        d9.set("only9", "x")
        d9.hset("h", "f", "v")
        self.assertEqual(d0.get("k"), "zero")
        self.assertEqual(d9.get("k"), "nine")
        self.assertIsNone(d0.get("only9"))
        self.assertEqual(d0.dbsize(), 1)
        self.assertEqual(d9.dbsize(), 3)
        self.assertEqual(sorted(d9.keys("*")), ["h", "k", "only9"])
        self.assertEqual(d0.keys("*"), ["k"])
        self.assertEqual(sorted(d9.scan_iter()), ["h", "k", "only9"])
        self.assertEqual(d0.randomkey(), "k")
        self.assertIsNone(self.db(4).randomkey())
        self.assertEqual(d0.exists("only9"), 0)
        ks = self.r.info("keyspace")
        self.assertEqual(ks["db0"], {"keys": 1, "expires": 0, "avg_ttl": 0})
        self.assertEqual(ks["db9"], {"keys": 3, "expires": 0, "avg_ttl": 0})
        self.assertNotIn("db4", ks)
        d9.expire("k", 100)
        self.assertEqual(self.r.info("keyspace")["db9"]["expires"], 1)
        self.assertEqual(d0.ttl("k"), -1)

    def test_flushdb_empties_one_database_flushall_every_one(self):
        d0, d1, d2 = self.db(0), self.db(1), self.db(2)
        for d in (d0, d1, d2):
            d.set("k", "v")
        self.assertTrue(d1.flushdb())
        self.assertEqual((d0.dbsize(), d1.dbsize(), d2.dbsize()), (1, 0, 1))
        self.assertTrue(d2.flushall())
        self.assertEqual((d0.dbsize(), d1.dbsize(), d2.dbsize()), (0, 0, 0))
        self.assertEqual(self.r.info("keyspace"), {})

    def test_move(self):
        d0, d1 = self.db(0), self.db(1)
        d0.set("k", "v", px=100000)
        self.assertEqual(self.call("MOVE", "k", "1"), 1)
        self.assertIsNone(d0.get("k"))
        self.assertEqual(d1.get("k"), "v")
        self.assertGreater(d1.pttl("k"), 0)  # the TTL moves with the key
        self.assertEqual(self.call("MOVE", "k", "1"), 0)  # no longer here
        d0.set("k", "again")
        self.assertEqual(self.call("MOVE", "k", "1"), 0)  # already there: nothing moves
        self.assertEqual(d0.get("k"), "again")
        self.assertEqual(d1.get("k"), "v")
        self.assertErrorReply(SAME, "MOVE", "k", "0")
        self.assertErrorReply(DB_RANGE, "MOVE", "k", "16")
        self.assertErrorReply(DB_RANGE, "MOVE", "k", "-1")
        self.assertErrorReply(NOT_INT, "MOVE", "k", "x")
        self.assertErrorReply(INT_RANGE, "MOVE", "k", "4294967296")
        self.assertErrorReply("ERR wrong number of arguments for 'move' command", "MOVE", "k")
        d0.rpush("l", "a", "b")
        self.assertEqual(self.call("MOVE", "l", "15"), 1)
        self.assertEqual(self.db(15).lrange("l", 0, -1), ["a", "b"])

    def test_swapdb(self):
        d0, d1 = self.db(0), self.db(1)
        d0.set("a", "0")
        d0.set("t", "x", px=100000)
        d1.set("b", "1")
        self.assertEqual(self.call("SWAPDB", "0", "1"), b"OK")
        self.assertEqual(sorted(d0.keys("*")), ["b"])
        self.assertEqual(sorted(d1.keys("*")), ["a", "t"])
        self.assertGreater(d1.pttl("t"), 0)
        self.assertEqual(self.r.info("keyspace")["db1"], {"keys": 2, "expires": 1,
                                                          "avg_ttl": self.r.info("keyspace")["db1"]["avg_ttl"]})
        self.assertEqual(self.call("SWAPDB", "3", "3"), b"OK")
        self.assertErrorReply("ERR invalid first DB index", "SWAPDB", "x", "1")
        self.assertErrorReply("ERR invalid second DB index", "SWAPDB", "1", "y")
        self.assertErrorReply("ERR invalid first DB index", "SWAPDB", "1.5", "y")
        self.assertErrorReply(DB_RANGE, "SWAPDB", "0", "16")
        self.assertErrorReply(DB_RANGE, "SWAPDB", "-1", "0")
        self.assertErrorReply("ERR wrong number of arguments for 'swapdb' command", "SWAPDB", "0")

    def test_copy(self):
        d0, d2 = self.db(0), self.db(2)
        d0.set("s", "v", px=100000)
        d0.hset("h", mapping={"f": "1", "g": "2"})
        d0.rpush("l", "a", "b", "c")
        d0.sadd("set", "x", "y")
        d0.zadd("z", {"m": 1.5, "n": 2})
        self.assertEqual(self.call("COPY", "s", "s2"), 1)
        self.assertEqual(d0.get("s2"), "v")
        self.assertGreater(d0.pttl("s2"), 0)
        for k in ("h", "l", "set", "z"):
            self.assertEqual(self.call("COPY", k, k, "DB", "2"), 1, k)
        self.assertEqual(d2.hgetall("h"), {"f": "1", "g": "2"})
        self.assertEqual(d2.lrange("l", 0, -1), ["a", "b", "c"])
        self.assertEqual(d2.smembers("set"), {"x", "y"})
        self.assertEqual(d2.zrange("z", 0, -1, withscores=True), [("m", 1.5), ("n", 2.0)])
        # The copy is a copy: changing it leaves the source alone.
        d2.rpush("l", "d")
        d2.hset("h", "f", "changed")
        self.assertEqual(d0.lrange("l", 0, -1), ["a", "b", "c"])
        self.assertEqual(d0.hget("h", "f"), "1")
        # An existing destination: 0 without REPLACE, replaced with it (TTL included).
        d0.set("dst", "old")
        self.assertEqual(self.call("COPY", "l", "dst"), 0)
        self.assertEqual(d0.get("dst"), "old")
        self.assertEqual(self.call("COPY", "l", "dst", "REPLACE"), 1)
        self.assertEqual(d0.lrange("dst", 0, -1), ["a", "b", "c"])
        d0.set("ttl", "x", px=100000)
        self.assertEqual(self.call("COPY", "h", "ttl", "replace"), 1)
        self.assertEqual(d0.pttl("ttl"), -1)
        self.assertEqual(self.call("COPY", "missing", "x"), 0)
        self.assertErrorReply(SAME, "COPY", "s", "s")
        self.assertErrorReply(SAME, "COPY", "s", "s", "DB", "0")
        self.assertEqual(self.call("COPY", "s", "s", "DB", "1"), 1)
        self.assertErrorReply(DB_RANGE, "COPY", "s", "x", "DB", "16")
        self.assertErrorReply(DB_RANGE, "COPY", "s", "x", "DB", "-1")
        self.assertErrorReply(NOT_INT, "COPY", "s", "x", "DB", "one")
        self.assertErrorReply("ERR syntax error", "COPY", "s", "x", "DB")
        self.assertErrorReply("ERR syntax error", "COPY", "s", "x", "NOW")
        self.assertErrorReply("ERR wrong number of arguments for 'copy' command", "COPY", "s")

    def test_watch_is_per_database(self):
        w = self.client(db=0, single_connection_client=True)
        other0, other1 = self.db(0), self.db(1)
        w.execute_command("WATCH", "k")
        other1.set("k", "elsewhere")  # the same name in another database: not the watched key
        w.execute_command("MULTI")
        w.execute_command("SET", "k", "mine")
        self.assertEqual(w.execute_command("EXEC"), ["OK"])
        w.execute_command("WATCH", "k")
        other0.set("k", "theirs")
        w.execute_command("MULTI")
        w.execute_command("SET", "k", "mine")
        self.assertIsNone(w.execute_command("EXEC"))
        self.assertEqual(other0.get("k"), "theirs")

    def test_swapdb_and_flushdb_touch_watched_keys(self):
        w = self.client(db=0, single_connection_client=True)
        self.db(1).set("k", "in1")
        w.execute_command("WATCH", "k")  # missing in 0, present in 1
        self.assertEqual(self.call("SWAPDB", "0", "1"), b"OK")
        w.execute_command("MULTI")
        w.execute_command("GET", "k")
        self.assertIsNone(w.execute_command("EXEC"))
        w.execute_command("WATCH", "k")  # present in 0 now
        self.db(0).flushdb()
        w.execute_command("MULTI")
        w.execute_command("GET", "k")
        self.assertIsNone(w.execute_command("EXEC"))

    def test_multi_runs_in_the_selected_database_and_select_inside_moves_it(self):
        c = self.client(db=4, single_connection_client=True)
        c.execute_command("MULTI")
        c.execute_command("SET", "a", "in4")
        c.execute_command("SELECT", "5")
        c.execute_command("SET", "a", "in5")
        self.assertEqual(c.execute_command("EXEC"), ["OK", "OK", "OK"])
        self.assertEqual(c.execute_command("GET", "a"), "in5")  # the SELECT stays after EXEC
        self.assertEqual(self.db(4).get("a"), "in4")
        self.assertEqual(self.db(0).get("a"), None)

    def test_scripts_run_in_the_callers_database(self):
        c = self.client(db=3, single_connection_client=True)
        c.set("k", "three")
        self.assertEqual(c.eval("return redis.call('GET', KEYS[1])", 1, "k"), "three")
        # A script's SELECT moves the script, not its caller (Redis 7).
        src = "redis.call('SELECT', 6); redis.call('SET', KEYS[1], 'six'); return redis.call('GET', KEYS[1])"
        self.assertEqual(c.eval(src, 1, "k"), "six")
        self.assertEqual(c.get("k"), "three")
        self.assertEqual(self.db(6).get("k"), "six")
        with self.assertRaises(redis.ResponseError) as e:
            c.eval("return redis.call('SELECT', 16)", 0)
        self.assertIn("DB index is out of range", str(e.exception))

    def test_client_list_shows_the_database(self):
        c = self.client(db=7, single_connection_client=True)
        me = c.client_id()
        self.assertEqual([x["db"] for x in c.client_list() if x["id"] == str(me)], ["7"])
        self.assertEqual(str(c.client_info()["db"]), "7")


def dump_all(r):
    """{db: {key: (type, value, has ttl)}} over every non-empty database."""
    out = {}
    for n in range(16):
        r.execute_command("SELECT", n)
        keys = r.keys("*")
        if not keys:
            continue
        d = {}
        for k in keys:
            t = r.type(k)
            if t == b"string":
                v = r.get(k)
            elif t == b"hash":
                v = r.hgetall(k)
            elif t == b"list":
                v = r.lrange(k, 0, -1)
            elif t == b"set":
                v = frozenset(r.smembers(k))
            else:
                v = r.zrange(k, 0, -1, withscores=True)
            d[k] = (t, v, r.pttl(k) > 0)
        out[n] = d
    return out


def fill(port):
    """Writes in several databases, with MOVE, COPY, SWAPDB, FLUSHDB, a script and a transaction
    among them; returns nothing (the caller dumps)."""
    r = redis.Redis(host="127.0.0.1", port=port, single_connection_client=True)
    r.set("k", "zero")
    r.execute_command("SELECT", 3)
    r.set("k", "three", px=1000000)
    r.hset("h", mapping={"a": "1", "b": "2"})
    r.rpush("l", "x", "y")
    r.execute_command("MOVE", "l", 4)
    r.execute_command("COPY", "h", "h", "DB", 5)
    r.execute_command("SELECT", 7)
    r.sadd("s", "m")
    r.zadd("z", {"a": 1})
    r.execute_command("SWAPDB", 7, 8)
    r.execute_command("SELECT", 9)
    r.set("gone", "1")
    r.flushdb()
    r.eval("redis.call('SELECT', 10); redis.call('SET', KEYS[1], 'ten')", 1, "sk")
    r.set("nine", "9")
    r.execute_command("MULTI")  # on this connection (a pipeline would take another one)
    r.execute_command("SET", "t", "in9")
    r.execute_command("SELECT", 11)
    r.execute_command("SET", "t", "in11")
    r.execute_command("EXEC")
    r.set("after", "11")
    r.close()


@unittest.skipUnless(is_lfdb(), "lfdb's append-only log and snapshots")
class Persistence(unittest.TestCase):
    expected = {
        0: {b"k": (b"string", b"zero", False)},
        3: {b"k": (b"string", b"three", True), b"h": (b"hash", {b"a": b"1", b"b": b"2"}, False)},
        4: {b"l": (b"list", [b"x", b"y"], False)},
        5: {b"h": (b"hash", {b"a": b"1", b"b": b"2"}, False)},
        8: {b"s": (b"set", frozenset([b"m"]), False), b"z": (b"zset", [(b"a", 1.0)], False)},
        9: {b"nine": (b"string", b"9", False), b"t": (b"string", b"in9", False)},
        10: {b"sk": (b"string", b"ten", False)},
        11: {b"t": (b"string", b"in11", False), b"after": (b"string", b"11", False)},
    }

    def server(self, extra):
        sp = ServerProcess()
        sp.extra = [("dir", sp.dir)] + extra
        self.addCleanup(sp.stop)
        return sp.start()

    def check(self, sp):
        r = redis.Redis(host="127.0.0.1", port=sp.port, single_connection_client=True)
        self.assertEqual(dump_all(r), self.expected)
        r.close()

    def test_the_log_keeps_every_database(self):
        sp = self.server([("appendonly", "yes"), ("appendfsync", "always")])
        fill(sp.port)
        self.check(sp)
        sp.stop(keep_dir=True)
        sp.start()
        self.check(sp)
        # Rewritten (both forms of base), then restarted: still every database.
        for preamble in ("no", "yes"):
            r = redis.Redis(host="127.0.0.1", port=sp.port)
            r.bgrewriteaof()
            deadline = time.monotonic() + 30
            while r.info("persistence")["aof_rewrite_in_progress"] and time.monotonic() < deadline:
                time.sleep(0.01)
            r.close()
            sp.stop(keep_dir=True)
            sp.extra = [e for e in sp.extra if e[0] != "aof-use-snapshot-preamble"]
            sp.extra.append(("aof-use-snapshot-preamble", "yes" if preamble == "no" else "no"))
            sp.start()
            self.check(sp)

    def test_the_log_selects_only_when_the_database_changes(self):
        sp = self.server([("appendonly", "yes"), ("appendfsync", "always")])
        r = redis.Redis(host="127.0.0.1", port=sp.port, single_connection_client=True)
        for _ in range(3):
            r.set("a", "1")
        r.execute_command("SELECT", 2)
        for _ in range(3):
            r.set("b", "1")
        r.get("b")
        r.execute_command("SELECT", 0)  # reads and SELECT alone log nothing
        r.execute_command("SELECT", 2)
        r.set("c", "1")
        r.close()
        with open(os.path.join(sp.dir, "appendonly.aof"), "rb") as f:
            log = f.read()
        records = [x for x in log.split(b"*") if x]
        selects = [x.split(b"\r\n")[4] for x in records if b"SELECT" in x]
        self.assertEqual(selects, [b"0", b"2"])
        self.assertEqual(len(records), 9)

    def test_the_snapshot_keeps_every_database(self):
        sp = self.server([("save", "")])
        fill(sp.port)
        r = redis.Redis(host="127.0.0.1", port=sp.port)
        self.assertTrue(r.save())
        r.close()
        sp.stop(keep_dir=True)
        sp.start()
        self.check(sp)

    def test_a_snapshot_for_more_databases_than_configured_is_refused(self):
        sp = self.server([("save", "")])
        r = redis.Redis(host="127.0.0.1", port=sp.port, db=12)
        r.set("k", "v")
        self.assertTrue(r.save())
        r.close()
        sp.stop(keep_dir=True)
        sp.extra.append(("databases", "4"))
        with self.assertRaises(Exception):
            sp.start()
        self.assertIn("database 12", sp.log())


if __name__ == "__main__":
    unittest.main()
