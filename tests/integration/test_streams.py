"""Streams and consumer groups (issue 16).

Differential: the same command sequences (scripted cases, then a seeded random sequence over a
few keys with explicit ids) are sent to a redis-server 7.0 started next to the lfdb-server under
test, in RESP2 and RESP3, and the replies compared one by one; replies that hold times (idle
times, delivery times, `*` ids) are compared by shape. Then lfdb-server alone: a consumer-group
work queue with crashing consumers and XAUTOCLAIM recovery (every entry acknowledged exactly
once), blocked XREAD/XREADGROUP readers, and durability: a kill -9 under `appendfsync always`,
a snapshot and a log rewrite each bring back the same streams, groups and pending lists.
LFDB_DIFF_SEED and LFDB_DIFF_STEPS override the random sequence's seed and length."""

import os
import random
import threading
import time
import unittest

import redis

from lfdb_testlib import HOST, RawConnection, RedisPeer, RespError, ServerProcess, is_lfdb

SEED = int(os.environ.get("LFDB_DIFF_SEED", "20261205"))
STEPS = int(os.environ.get("LFDB_DIFF_STEPS", "2500"))


def raw(port, proto=2):
    c = RawConnection(port)
    if proto == 3:
        c.command("HELLO", "3")
    return c


# Commands whose replies hold clocks: compared by shape (types and lengths), not by value.
def shape(v):
    if isinstance(v, list):
        return [shape(x) for x in v]
    if isinstance(v, dict):
        return {k: shape(x) for k, x in v.items()}
    return type(v).__name__


TIMED = {"XINFO", "XPENDING"}


def normalize(args, reply):
    cmd = args[0].upper()
    if cmd == "XPENDING" and len(args) > 3 and isinstance(reply, list):
        # [id, consumer, idle ms, deliveries]: the idle time is a clock
        return [[e[0], e[1], "idle", e[3]] if isinstance(e, list) else e for e in reply]
    if cmd == "XINFO" and args[1].upper() == "CONSUMERS" and isinstance(reply, list):
        return [strip_keys(e, (b"idle",)) for e in reply]
    if cmd == "XINFO" and args[1].upper() == "STREAM" and len(args) > 3:
        return strip_full(reply)
    if cmd == "XINFO" and args[1].upper() == "STREAM":
        return strip_keys(reply, (b"radix-tree-keys", b"radix-tree-nodes"))
    return reply


def pairs(reply):
    if isinstance(reply, dict):
        return list(reply.items())
    return [(reply[i], reply[i + 1]) for i in range(0, len(reply), 2)]


def strip_keys(reply, keys):
    if not isinstance(reply, (list, dict)):
        return reply
    return [(k, "~" if k in keys else v) for k, v in pairs(reply)]


def strip_full(reply):
    """XINFO STREAM FULL without its clocks and the radix tree's internals."""
    if not isinstance(reply, (list, dict)):
        return reply
    out = []
    for k, v in pairs(reply):
        if k in (b"radix-tree-keys", b"radix-tree-nodes"):
            v = "~"
        elif k == b"groups":
            groups = []
            for g in v:
                gd = []
                for gk, gv in pairs(g):
                    if gk == b"pending":
                        gv = [[p[0], p[1], "t", p[3]] for p in gv]
                    elif gk == b"consumers":
                        gv = [[(ck, "t" if ck == b"seen-time" else
                                [[p[0], "t", p[2]] for p in cv] if ck == b"pending" else cv)
                               for ck, cv in pairs(cons)] for cons in gv]
                    gd.append((gk, gv))
                groups.append(gd)
            v = groups
        out.append((k, v))
    return out


class Pair:
    """The two servers side by side, one raw connection each, same protocol."""

    def __init__(self, tc, lfdb_port, redis_port, proto):
        self.tc = tc
        self.a = raw(lfdb_port, proto)
        self.b = raw(redis_port, proto)

    def close(self):
        self.a.close()
        self.b.close()

    def both(self, *args, compare=True):
        args = [str(x) for x in args]
        x = self.a.command(*args)
        y = self.b.command(*args)
        if compare:
            self.tc.assertEqual(normalize(args, x), normalize(args, y),
                                "lfdb vs redis for %r" % (args,))
        return x, y


@unittest.skipUnless(is_lfdb(), "starts its own redis-server next to lfdb-server")
class StreamsDiffTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.lfdb = ServerProcess().start()
        cls.peer = RedisPeer().start()

    @classmethod
    def tearDownClass(cls):
        cls.lfdb.stop()
        cls.peer.stop()

    def setUp(self):
        self.pairs = []

    def tearDown(self):
        for p in self.pairs:
            p.close()

    def pair(self, proto=2):
        p = Pair(self, self.lfdb.port, self.peer.port, proto)
        self.pairs.append(p)
        p.both("FLUSHALL")
        return p

    def test_add_range_errors(self):
        for proto in (2, 3):
            p = self.pair(proto)
            cases = [
                ["XADD", "s", "1-1", "a", "1", "b", "2"],
                ["XADD", "s", "1-1", "a", "1"],
                ["XADD", "s", "1-0", "a", "1"],
                ["XADD", "s", "1-*", "a", "x"],
                ["XADD", "s", "1", "a", "x"],
                ["XADD", "s", "5-*", "c", "y", "d", "z"],
                ["XADD", "s", "0-0", "a", "1"],
                ["XADD", "fresh", "0-0", "a", "1"],
                ["EXISTS", "fresh"],
                ["XADD", "s", "bad", "a", "1"],
                ["XADD", "s", "6-1", "a"],
                ["XADD", "s", "6-1"],
                ["XADD", "s", "NOMKSTREAM", "7-1", "a", "1"],
                ["XADD", "none", "NOMKSTREAM", "7-1", "a", "1"],
                ["XADD", "none", "NOMKSTREAM", "*", "a", "1"],
                ["XADD", "s", "MAXLEN", "-1", "8-1", "a", "1"],
                ["XADD", "s", "MAXLEN", "x", "8-1", "a", "1"],
                ["XADD", "s", "MAXLEN", "2", "MINID", "1", "8-1", "a", "1"],
                ["XADD", "s", "LIMIT", "5", "8-1", "a", "1"],
                ["XADD", "s", "MAXLEN", "5", "LIMIT", "5", "8-1", "a", "1"],
                ["XADD", "s", "MAXLEN", "~", "5", "LIMIT", "-1", "8-1", "a", "1"],
                ["XADD", "s", "MINID", "+", "8-1", "a", "1"],
                ["XLEN", "s"], ["XLEN", "none"],
                ["XRANGE", "s", "-", "+"],
                ["XRANGE", "s", "-", "+", "COUNT", "2"],
                ["XRANGE", "s", "-", "+", "COUNT", "0"],
                ["XRANGE", "s", "-", "+", "COUNT", "-3"],
                ["XRANGE", "s", "(1-1", "+"],
                ["XRANGE", "s", "1", "1"],
                ["XRANGE", "s", "(1-1", "(5-0"],
                ["XRANGE", "s", "(18446744073709551615-18446744073709551615", "+"],
                ["XRANGE", "s", "-", "(0-0"],
                ["XRANGE", "s", "(-", "+"],
                ["XRANGE", "s", "-", "+", "COUNT"],
                ["XRANGE", "s", "-", "+", "LIMIT", "1"],
                ["XRANGE", "s", "x", "+"],
                ["XREVRANGE", "s", "+", "-"],
                ["XREVRANGE", "s", "+", "-", "COUNT", "1"],
                ["XREVRANGE", "s", "5", "1-1"],
                ["XRANGE", "none", "-", "+"],
                ["SET", "str", "x"],
                ["XADD", "str", "*", "a", "1"],
                ["XRANGE", "str", "-", "+"],
                ["XLEN", "str"],
                ["TYPE", "s"],
                ["OBJECT", "ENCODING", "s"],
                ["XDEL", "s", "1-1", "9-9"],
                ["XDEL", "s", "1-1"],
                ["XDEL", "s", "bad"],
                ["XDEL", "none", "bad"],
                ["XRANGE", "s", "-", "+"],
                ["XINFO", "STREAM", "s"],
                ["XINFO", "STREAM", "none"],
                ["XINFO", "STREAM", "str"],
                ["XINFO", "STREAM", "s", "FULL"],
                ["XINFO", "STREAM", "s", "FULL", "COUNT", "1"],
                ["XINFO", "STREAM", "s", "BAD"],
                ["XSETID", "s", "1-0"],
                ["XSETID", "s", "100-0"],
                ["XSETID", "s", "200-0", "ENTRIESADDED", "1"],
                ["XSETID", "s", "200-0", "ENTRIESADDED", "-1"],
                ["XSETID", "s", "200-0", "MAXDELETEDID", "300-0"],
                ["XSETID", "s", "200-0", "ENTRIESADDED", "50", "MAXDELETEDID", "150-0"],
                ["XSETID", "none", "1-0"],
                ["XSETID", "s", "+"],
                ["XINFO", "STREAM", "s"],
                ["XADD", "s", "200-*", "a", "1"],
                ["XADD", "s", "18446744073709551615-18446744073709551615", "a", "1"],
                ["XADD", "s", "*", "a", "1"],
                ["XADD", "s", "18446744073709551615-*", "a", "1"],
                ["XGROUP", "HELP"],
                ["XINFO", "HELP"],
                ["XGROUP", "FOO", "s", "g"],
            ]
            for c in cases:
                p.both(*c)

    def test_entry_replies(self):
        """Entries are written into replies straight from their blocks: values of every length
        line width (0, 1, 2, 3 and more digits), entries with the block's field names and with
        their own, many fields, large ids, deleted entries in the walk, and every command that
        replies with entries, against redis-server."""
        for proto in (2, 3):
            p = self.pair(proto)
            p.both("CONFIG", "SET", "stream-node-max-entries", "4")
            sizes = [0, 1, 9, 10, 99, 100, 999, 1000, 70000]
            for i, n in enumerate(sizes):
                p.both("XADD", "s", "%d-%d" % (1000 + i, i), "f", "v" * n, "g", str(i))
                p.both("XADD", "s", "%d-%d" % (1000 + i, i + 1), "other%d" % i, "x" * (n % 300))
            many = []
            for k in range(60):
                many += ["field%d" % k, "w" * k]
            p.both("XADD", "s", "18446744073709551614-18446744073709551610", *many)
            p.both("XADD", "s", "18446744073709551614-*", *many[:22])
            p.both("XDEL", "s", "1002-2", "1004-5", "1008-8")
            for args in (["XRANGE", "s", "-", "+"], ["XREVRANGE", "s", "+", "-"],
                         ["XRANGE", "s", "1003", "1006", "COUNT", "3"],
                         ["XREVRANGE", "s", "1006", "(1002-2", "COUNT", "4"],
                         ["XRANGE", "s", "(1002-2", "+", "COUNT", "1"],
                         ["XREAD", "COUNT", "5", "STREAMS", "s", "1001-1"],
                         ["XINFO", "STREAM", "s"], ["XINFO", "STREAM", "s", "FULL", "COUNT", "7"],
                         ["XGROUP", "CREATE", "s", "g", "0"],
                         ["XREADGROUP", "GROUP", "g", "c", "COUNT", "6", "STREAMS", "s", ">"],
                         ["XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", "0"],
                         ["XDEL", "s", "1003-4"],
                         ["XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", "0"],
                         ["XCLAIM", "s", "g", "d", "0", "1001-1", "1003-4", "1000-0"],
                         ["XAUTOCLAIM", "s", "g", "e", "0", "0", "COUNT", "3"],
                         ["XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", ">"]):
                p.both(*args)
            p.both("CONFIG", "SET", "stream-node-max-entries", "100")

    def test_command_getkeys_malformed_xread(self):
        """COMMAND GETKEYS answers from Redis's key specs: the first STREAMS (XREADGROUP's from
        its fourth argument) and half of what follows, however malformed the rest."""
        p = self.pair()
        for args in (["XREAD", "COUNT", "2", "STREAMS", "a", "b", "c"],
                     ["XREAD", "STREAMS", "a", "b", "c"],
                     ["XREAD", "STREAMS", "a", "b", "c", "d", "e"],
                     ["XREAD", "COUNT", "1", "STREAMS", "a", "b", "c", "d", "e"],
                     ["XREAD", "streams", "streams", "streams", "1"],
                     ["XREAD", "a", "STREAMS", "b", "1"],
                     ["XREAD", "COUNT", "1", "COUNT", "2", "STREAMS", "a", "b", "c"],
                     ["XREAD", "COUNT", "STREAMS", "a"],
                     ["XREAD", "BLOCK", "a", "b", "c", "d"],
                     ["XREAD", "a", "b", "c", "STREAMS"],
                     ["XREAD", "STREAMS"], ["XREAD", "STREAMS", "a"], ["XREAD", "foo", "bar"],
                     ["XREAD", "STREAMS", "a", "1"], ["XREAD", "GROUP", "a", "b", "STREAMS", "a", "1"],
                     ["XREADGROUP", "GROUP", "streams", "c", "STREAMS", "a", "b", "1"],
                     ["XREADGROUP", "STREAMS", "a", "b", "c", "d", "e"],
                     ["XREADGROUP", "GROUP", "g", "c", "STREAMS", "a", ">", "x"],
                     ["XREADGROUP", "GROUP", "g", "c", "x", "y", "STREAMS"],
                     ["XREADGROUP", "GROUP", "g", "STREAMS", "a", ">", "b"],
                     ["XREADGROUP", "GROUP", "g", "c", "STREAMS", "a"],
                     ["XREADGROUP", "GROUP", "g", "c", "STREAMS", "a", ">"]):
            p.both("COMMAND", "GETKEYS", *args)

    def test_trim(self):
        p = self.pair()
        for i in range(1, 351):
            p.both("XADD", "t", "%d-1" % i, "f", "v%d" % i, "g", "w")
        for c in [
            ["XTRIM", "t", "MAXLEN", "~", "300"],
            ["XLEN", "t"],
            ["XTRIM", "t", "MAXLEN", "=", "290"],
            ["XLEN", "t"],
            ["XTRIM", "t", "MINID", "~", "150"],
            ["XTRIM", "t", "MINID", "155-1"],
            ["XRANGE", "t", "-", "+", "COUNT", "3"],
            ["XTRIM", "t", "MAXLEN", "~", "10", "LIMIT", "30"],
            ["XLEN", "t"],
            ["XTRIM", "t", "MAXLEN", "~", "10", "LIMIT", "0"],
            ["XLEN", "t"],
            ["XTRIM", "t"],
            ["XTRIM", "t", "LIMIT", "3"],
            ["XTRIM", "t", "MAXLEN", "1", "LIMIT", "3"],
            ["XTRIM", "none", "MAXLEN", "1"],
            ["XADD", "t", "MAXLEN", "5", "400-1", "x", "y"],
            ["XLEN", "t"],
            ["XADD", "t", "MINID", "=", "400-1", "401-1", "x", "y"],
            ["XRANGE", "t", "-", "+"],
            ["XTRIM", "t", "MAXLEN", "0"],
            ["XLEN", "t"],
            ["EXISTS", "t"],
            ["XINFO", "STREAM", "t"],
            ["XADD", "t", "MAXLEN", "0", "500-1", "x", "y"],
            ["XINFO", "STREAM", "t"],
        ]:
            p.both(*c)

    def test_read(self):
        for proto in (2, 3):
            p = self.pair(proto)
            for c in [
                ["XADD", "a", "1-1", "f", "1"],
                ["XADD", "a", "2-1", "f", "2"],
                ["XADD", "b", "1-1", "g", "1"],
                ["XREAD", "STREAMS", "a", "0"],
                ["XREAD", "COUNT", "1", "STREAMS", "a", "b", "0", "0"],
                ["XREAD", "STREAMS", "a", "b", "1-1", "1-1"],
                ["XREAD", "STREAMS", "a", "$"],
                ["XREAD", "STREAMS", "none", "0"],
                ["XREAD", "STREAMS", "a", "b", "0"],
                ["XREAD", "STREAMS", "a", ">"],
                ["XREAD", "STREAMS", "a", "+"],
                ["XREAD", "GROUP", "g", "c", "STREAMS", "a", "0"],
                ["XREAD", "NOACK", "STREAMS", "a", "0"],
                ["XREAD", "COUNT", "x", "STREAMS", "a", "0"],
                ["XREAD", "BLOCK", "-1", "STREAMS", "a", "0"],
                ["XREAD", "BLOCK", "x", "STREAMS", "a", "0"],
                ["XREAD", "a", "0"],
                ["XREAD", "COUNT", "1", "a", "0"],
                ["SET", "str", "x"],
                ["XREAD", "STREAMS", "a", "str", "0", "0"],
                ["XREAD", "BLOCK", "10", "STREAMS", "a", "$"],
                ["MULTI"], ["XREAD", "BLOCK", "0", "STREAMS", "a", "$"], ["EXEC"],
            ]:
                p.both(*c)

    def test_groups(self):
        for proto in (2, 3):
            p = self.pair(proto)
            for c in [
                ["XGROUP", "CREATE", "q", "g", "$"],
                ["XGROUP", "CREATE", "q", "g", "$", "MKSTREAM"],
                ["XGROUP", "CREATE", "q", "g", "$", "MKSTREAM"],
                ["XGROUP", "CREATE", "q", "g2", "0", "ENTRIESREAD", "-2"],
                ["XGROUP", "CREATE", "q", "g2", "bad"],
                ["XGROUP", "CREATE", "q", "g2", "0", "FOO"],
                ["XINFO", "GROUPS", "q"],
                ["XADD", "q", "1-1", "a", "1"],
                ["XADD", "q", "2-1", "a", "2"],
                ["XADD", "q", "3-1", "a", "3"],
                ["XADD", "q", "4-1", "a", "4"],
                ["XGROUP", "CREATE", "q", "g2", "0"],
                ["XINFO", "GROUPS", "q"],
                ["XREADGROUP", "GROUP", "g", "alice", "COUNT", "2", "STREAMS", "q", ">"],
                ["XREADGROUP", "GROUP", "g", "bob", "COUNT", "1", "STREAMS", "q", ">"],
                ["XREADGROUP", "GROUP", "g2", "bob", "NOACK", "STREAMS", "q", ">"],
                ["XINFO", "GROUPS", "q"],
                ["XREADGROUP", "GROUP", "g", "alice", "STREAMS", "q", "0"],
                ["XREADGROUP", "GROUP", "g", "carol", "STREAMS", "q", "0"],
                ["XREADGROUP", "GROUP", "g", "alice", "STREAMS", "q", "$"],
                ["XREADGROUP", "GROUP", "nog", "alice", "STREAMS", "q", ">"],
                ["XREADGROUP", "GROUP", "g", "alice", "STREAMS", "none", ">"],
                ["XREADGROUP", "STREAMS", "q", ">"],
                ["XREADGROUP", "GROUP", "g", "alice", "STREAMS", "q", ">"],
                ["XPENDING", "q", "g"],
                ["XPENDING", "q", "g", "-", "+", "10"],
                ["XPENDING", "q", "g", "-", "+", "10", "alice"],
                ["XPENDING", "q", "g", "-", "+", "10", "nobody"],
                ["XPENDING", "q", "g", "IDLE", "0", "-", "+", "10"],
                ["XPENDING", "q", "g", "IDLE", "100000", "-", "+", "10"],
                ["XPENDING", "q", "g", "-", "+"],
                ["XPENDING", "q", "g", "-", "+", "x"],
                ["XPENDING", "q", "nog"],
                ["XPENDING", "q", "g2"],
                ["XDEL", "q", "2-1"],
                ["XREADGROUP", "GROUP", "g", "alice", "STREAMS", "q", "0"],
                ["XCLAIM", "q", "g", "bob", "0", "1-1", "2-1"],
                ["XPENDING", "q", "g", "-", "+", "10"],
                ["XCLAIM", "q", "g", "bob", "0", "1-1", "JUSTID", "RETRYCOUNT", "7"],
                ["XCLAIM", "q", "g", "bob", "100000", "1-1"],
                ["XCLAIM", "q", "g", "carol", "0", "4-1", "FORCE", "JUSTID"],
                ["XCLAIM", "q", "g", "carol", "0", "9-1", "FORCE", "JUSTID"],
                ["XCLAIM", "q", "g", "bob", "0", "1-1", "FOO"],
                ["XCLAIM", "q", "g", "bob", "x", "1-1"],
                ["XCLAIM", "q", "g", "bob", "0", "1-1", "IDLE", "x"],
                ["XCLAIM", "q", "nog", "bob", "0", "1-1"],
                ["XCLAIM", "q", "g", "bob", "0", "1-1", "LASTID", "3-5", "JUSTID"],
                ["XINFO", "GROUPS", "q"],
                ["XPENDING", "q", "g"],
                ["XAUTOCLAIM", "q", "g", "dave", "0", "0", "COUNT", "1"],
                ["XAUTOCLAIM", "q", "g", "dave", "0", "0", "JUSTID"],
                ["XAUTOCLAIM", "q", "g", "dave", "0", "(1-1"],
                ["XAUTOCLAIM", "q", "g", "dave", "0", "0", "COUNT", "0"],
                ["XAUTOCLAIM", "q", "g", "dave", "x", "0"],
                ["XAUTOCLAIM", "q", "nog", "dave", "0", "0"],
                ["XACK", "q", "g", "1-1", "3-1", "1-1"],
                ["XACK", "q", "g", "bad"],
                ["XACK", "q", "nog", "1-1"],
                ["XACK", "none", "g", "1-1"],
                ["XPENDING", "q", "g"],
                ["XINFO", "CONSUMERS", "q", "g"],
                ["XINFO", "CONSUMERS", "q", "nog"],
                ["XGROUP", "CREATECONSUMER", "q", "g", "erin"],
                ["XGROUP", "CREATECONSUMER", "q", "g", "erin"],
                ["XGROUP", "CREATECONSUMER", "q", "nog", "erin"],
                ["XGROUP", "DELCONSUMER", "q", "g", "dave"],
                ["XGROUP", "DELCONSUMER", "q", "g", "nobody"],
                ["XGROUP", "SETID", "q", "g", "0"],
                ["XGROUP", "SETID", "q", "g", "$", "ENTRIESREAD", "3"],
                ["XGROUP", "SETID", "q", "g", "1-1", "ENTRIESREAD"],
                ["XGROUP", "SETID", "q", "nog", "0"],
                ["XGROUP", "SETID", "none", "g", "0"],
                ["XINFO", "GROUPS", "q"],
                ["XINFO", "STREAM", "q", "FULL"],
                ["XGROUP", "DESTROY", "q", "g2"],
                ["XGROUP", "DESTROY", "q", "g2"],
                ["XINFO", "STREAM", "q"],
                ["XGROUP", "CREATE", "str2", "g", "$"],
                ["SET", "str2", "x"],
                ["XGROUP", "CREATE", "str2", "g", "$", "MKSTREAM"],
                ["XINFO", "GROUPS", "str2"],
            ]:
                p.both(*c)

    def test_lag_and_entries_read(self):
        p = self.pair()
        for c in [
            ["XADD", "l", "1-0", "a", "1"], ["XADD", "l", "2-0", "a", "1"],
            ["XADD", "l", "3-0", "a", "1"], ["XADD", "l", "4-0", "a", "1"],
            ["XGROUP", "CREATE", "l", "g", "0"],
            ["XGROUP", "CREATE", "l", "h", "2-0"],
            ["XINFO", "GROUPS", "l"],
            ["XREADGROUP", "GROUP", "g", "c", "COUNT", "1", "STREAMS", "l", ">"],
            ["XINFO", "GROUPS", "l"],
            ["XDEL", "l", "3-0"],
            ["XINFO", "GROUPS", "l"],
            ["XREADGROUP", "GROUP", "g", "c", "COUNT", "1", "STREAMS", "l", ">"],
            ["XINFO", "GROUPS", "l"],
            ["XREADGROUP", "GROUP", "h", "c", "STREAMS", "l", ">"],
            ["XINFO", "GROUPS", "l"],
            ["XADD", "l", "5-0", "a", "1"],
            ["XINFO", "GROUPS", "l"],
            ["XTRIM", "l", "MAXLEN", "1"],
            ["XINFO", "GROUPS", "l"],
            ["XINFO", "STREAM", "l"],
        ]:
            p.both(*c)

    def test_random_sequence(self):
        rnd = random.Random(SEED)
        p = self.pair()
        keys = ["s1", "s2", "s3"]
        groups = ["g1", "g2"]
        consumers = ["c1", "c2", "c3"]
        fields = [["f", "v"], ["f", "v", "g", "w"], ["x", "1"], ["f", "other"]]
        clock = {k: 1 for k in keys}

        def rid(k):
            return "%d-%d" % (rnd.randint(0, clock[k] + 2), rnd.randint(0, 3))

        for _ in range(STEPS):
            k = rnd.choice(keys)
            g = rnd.choice(groups)
            cons = rnd.choice(consumers)
            op = rnd.random()
            if op < 0.3:
                clock[k] += rnd.randint(0, 2)
                trim = rnd.choice([[], [], ["MAXLEN", str(rnd.randint(0, 30))],
                                   ["MAXLEN", "~", str(rnd.randint(0, 30))],
                                   ["MINID", rid(k)]])
                idarg = rnd.choice(["%d-*" % clock[k], "%d-%d" % (clock[k], rnd.randint(0, 3)),
                                    "%d" % clock[k]])
                cmd = ["XADD", k] + trim + [idarg] + rnd.choice(fields)
            else:
                cmd = rnd.choice([
                    lambda: ["XRANGE", k, "-", "+"],
                    lambda: ["XREVRANGE", k, "+", "-", "COUNT", str(rnd.randint(0, 5))],
                    lambda: ["XRANGE", k, rid(k), rid(k)],
                    lambda: ["XLEN", k],
                    lambda: ["XDEL", k, rid(k), rid(k)],
                    lambda: ["XTRIM", k, "MAXLEN", str(rnd.randint(0, 20))],
                    lambda: ["XTRIM", k, "MINID", rid(k)],
                    lambda: ["XREAD", "COUNT", str(rnd.randint(1, 4)), "STREAMS", k, rid(k)],
                    lambda: ["XGROUP", "CREATE", k, g, rnd.choice(["$", "0", rid(k)])],
                    lambda: ["XGROUP", "SETID", k, g, rnd.choice(["$", "0", rid(k)])],
                    lambda: ["XGROUP", "DESTROY", k, g],
                    lambda: ["XGROUP", "DELCONSUMER", k, g, cons],
                    lambda: ["XREADGROUP", "GROUP", g, cons, "COUNT", str(rnd.randint(1, 3)),
                             "STREAMS", k, ">"],
                    lambda: ["XREADGROUP", "GROUP", g, cons, "NOACK", "STREAMS", k, ">"],
                    lambda: ["XREADGROUP", "GROUP", g, cons, "STREAMS", k, "0"],
                    lambda: ["XACK", k, g, rid(k), rid(k)],
                    lambda: ["XPENDING", k, g],
                    lambda: ["XPENDING", k, g, "-", "+", "5", cons],
                    lambda: ["XCLAIM", k, g, cons, "0", rid(k), rid(k), "JUSTID"],
                    lambda: ["XCLAIM", k, g, cons, "0", rid(k)],
                    lambda: ["XAUTOCLAIM", k, g, cons, "0", "0", "COUNT", str(rnd.randint(1, 4))],
                    lambda: ["XINFO", "GROUPS", k],
                    lambda: ["XINFO", "STREAM", k],
                    lambda: ["XINFO", "STREAM", k, "FULL"],
                    lambda: ["XSETID", k, rid(k)],
                    lambda: ["DEL", k],
                ])()
            p.both(*cmd)


@unittest.skipUnless(is_lfdb(), "starts its own redis-server next to lfdb-server")
class BlockedReadersDiffTest(unittest.TestCase):
    """XREAD / XREADGROUP BLOCK, the same scenarios on both servers, replies compared."""

    @classmethod
    def setUpClass(cls):
        cls.lfdb = ServerProcess().start()
        cls.peer = RedisPeer().start()

    @classmethod
    def tearDownClass(cls):
        cls.lfdb.stop()
        cls.peer.stop()

    def scenario(self, port, proto, setup, blocked, writes):
        """Runs `setup`, sends each of `blocked` on its own connection, waits until the server
        counts them blocked, runs `writes`, and returns what each blocked reader got."""
        admin = raw(port)
        self.addCleanup(admin.close)
        admin.command("FLUSHALL")
        for c in setup:
            admin.command(*c)
        readers = []
        for c in blocked:
            conn = raw(port, proto)
            self.addCleanup(conn.close)
            conn.send_command(*c)
            readers.append(conn)
        if writes:  # the writes must find every reader blocked (a reader alone just times out)
            self.assertTrue(wait_for(lambda: b"blocked_clients:%d" % len(blocked)
                                     in admin.command("INFO", "clients")))
        for c in writes:
            admin.command(*c)
        out = [conn.read_parsed(timeout=10) for conn in readers]
        out.append(admin.command("XPENDING", "s", "g") if any(
            c[0] == "XGROUP" for c in setup) else None)
        return out

    def compare(self, setup, blocked, writes):
        for proto in (2, 3):
            a = self.scenario(self.lfdb.port, proto, setup, blocked, writes)
            b = self.scenario(self.peer.port, proto, setup, blocked, writes)
            self.assertEqual(a, b, "lfdb vs redis, RESP%d: %r then %r" % (proto, blocked, writes))

    def test_xread_served_by_xadd(self):
        self.compare([["XADD", "s", "1-1", "a", "1"]],
                     [["XREAD", "BLOCK", "0", "STREAMS", "s", "$"],
                      ["XREAD", "BLOCK", "0", "COUNT", "1", "STREAMS", "t", "s", "0", "$"],
                      ["XREAD", "BLOCK", "20000", "STREAMS", "s", "1-1"]],
                     [["XADD", "s", "2-1", "b", "2"]])

    def test_xread_other_key_type_and_timeout(self):
        self.compare([], [["XREAD", "BLOCK", "0", "STREAMS", "s", "t", "$", "$"]],
                     [["LPUSH", "s", "x"], ["DEL", "s"], ["XADD", "t", "5-5", "f", "v"]])
        self.compare([], [["XREAD", "BLOCK", "50", "STREAMS", "s", "$"]], [])

    def test_xreadgroup_served_destroyed_deleted(self):
        setup = [["XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"]]
        # The first reader takes one entry (COUNT 1), the second the next.
        self.compare(setup, [["XREADGROUP", "GROUP", "g", "c1", "BLOCK", "0", "COUNT", "1",
                              "STREAMS", "s", ">"],
                             ["XREADGROUP", "GROUP", "g", "c2", "BLOCK", "0", "STREAMS", "s", ">"]],
                     [["MULTI"], ["XADD", "s", "1-1", "a", "1"], ["XADD", "s", "2-1", "a", "2"],
                      ["EXEC"]])
        self.compare(setup, [["XREADGROUP", "GROUP", "g", "c1", "NOACK", "BLOCK", "0",
                              "STREAMS", "s", ">"]], [["XADD", "s", "1-1", "a", "1"]])
        self.compare(setup, [["XREADGROUP", "GROUP", "g", "c1", "BLOCK", "0", "STREAMS", "s", ">"]],
                     [["XGROUP", "DESTROY", "s", "g"]])
        self.compare(setup, [["XREADGROUP", "GROUP", "g", "c1", "BLOCK", "0", "STREAMS", "s", ">"]],
                     [["DEL", "s"]])
        self.compare(setup, [["XREADGROUP", "GROUP", "g", "c1", "BLOCK", "0", "STREAMS", "s", ">"]],
                     [["SET", "s", "x"]])
        self.compare(setup, [["XREADGROUP", "GROUP", "g", "c1", "BLOCK", "0", "STREAMS", "s", ">"],
                             # Blocked long enough to be seen blocked with the other on a
                             # loaded machine; FLUSHALL leaves it to time out.
                             ["XREAD", "BLOCK", "2000", "STREAMS", "s", "$"]],
                     [["FLUSHALL"]])

    def test_script_and_transaction(self):
        for port in (self.lfdb.port, self.peer.port):
            c = raw(port)
            self.addCleanup(c.close)
            c.command("FLUSHALL")
            self.assertEqual(
                c.command("EVAL", "return redis.pcall('xread','block','0','streams',KEYS[1],'$')",
                          "1", "s"),
                RespError("ERR xread command is not allowed with BLOCK option from scripts"))
            c.command("MULTI")
            c.command("XREAD", "BLOCK", "0", "STREAMS", "s", "$")
            self.assertEqual(c.command("EXEC"), [None])

    def test_many_readers_one_xadd(self):
        """200 readers blocked at once hold no thread each; one XADD serves every one."""
        conns = []
        for _ in range(200):
            conn = raw(self.lfdb.port)
            self.addCleanup(conn.close)
            conn.send_command("XREAD", "BLOCK", "0", "STREAMS", "many", "$")
            conns.append(conn)
        admin = raw(self.lfdb.port)
        self.addCleanup(admin.close)
        self.assertTrue(wait_for(lambda: b"blocked_clients:200" in admin.command("INFO", "clients")))
        self.assertEqual(admin.command("PING"), b"PONG")
        admin.command("XADD", "many", "1-1", "f", "v")
        for conn in conns:
            self.assertEqual(conn.read_parsed(timeout=10),
                             [[b"many", [[b"1-1", [b"f", b"v"]]]]])


def wait_for(pred, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.01)
    return False


class LfdbStreamsTest(unittest.TestCase):
    """lfdb-server alone (or redis-server when the suite runs against the peer)."""

    def start(self, extra=None):
        sp = ServerProcess(extra)
        if extra is not None:
            sp.extra.append(("dir", sp.dir))
        sp.start()
        self.addCleanup(sp.stop)
        return sp

    def client(self, sp):
        c = redis.Redis(host=HOST, port=sp.port, socket_timeout=20)
        self.addCleanup(c.close)
        return c

    def test_work_queue_with_crashes(self):
        """8 consumers share a group; some 'crash' holding entries, which XAUTOCLAIM recovers.
        Every entry is acknowledged exactly once (XACK answers 1 once per id, 0 after)."""
        sp = self.start()
        r = self.client(sp)
        total = 1500
        r.xgroup_create("jobs", "workers", "$", mkstream=True)
        ids = []
        pipe = r.pipeline(transaction=False)
        for i in range(total):
            pipe.xadd("jobs", {"n": str(i)})
        ids = [x.decode() for x in pipe.execute()]
        acked = {}
        lock = threading.Lock()
        errors = []
        rng = random.Random(SEED)

        def worker(wid, seed):
            w = random.Random(seed)
            c = redis.Redis(host=HOST, port=sp.port, socket_timeout=20)
            name = "w%d" % wid
            try:
                idle_rounds = 0
                while idle_rounds < 20:
                    got = c.xreadgroup("workers", name, {"jobs": ">"}, count=w.randint(1, 20))
                    entries = got[0][1] if got else []
                    if not entries:
                        # Nothing new: recover what crashed consumers left behind.
                        _, claimed, _ = c.xautoclaim("jobs", "workers", name, 50, "0", count=50)
                        entries = claimed
                    if not entries:
                        idle_rounds += 1
                        time.sleep(0.02)
                        continue
                    idle_rounds = 0
                    if w.random() < 0.1:
                        # A crash: this consumer takes its entries with it, unacknowledged, and
                        # comes back under a new name.
                        name = "w%d-%d" % (wid, w.randint(0, 1 << 30))
                        continue
                    for eid, _ in entries:
                        n = c.xack("jobs", "workers", eid)
                        with lock:
                            acked[eid] = acked.get(eid, 0) + n
            except Exception as e:  # noqa: BLE001 (reported below)
                errors.append(repr(e))
            finally:
                c.close()

        threads = [threading.Thread(target=worker, args=(i, rng.random())) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
            self.assertFalse(t.is_alive(), "a consumer hung")
        self.assertEqual(errors, [])
        self.assertEqual(sorted(k.decode() if isinstance(k, bytes) else k for k in acked),
                         sorted(ids))
        self.assertEqual(set(acked.values()), {1}, "an entry acknowledged more than once")
        self.assertEqual(r.xpending("jobs", "workers")["pending"], 0)

    def state(self, r, seen=True):
        """What must survive a restart: entries, counters, groups, consumers, pending lists
        (with their delivery times and counts). Consumers' seen times are kept by snapshots;
        the log replays group changes at their own time, as Redis's AOF does (seen=False)."""
        out = {}
        for k in sorted(r.keys("*")):
            info = r.execute_command("XINFO", "STREAM", k, "FULL", "COUNT", "0")
            info = dict(zip(info[::2], info[1::2]))
            for key in (b"radix-tree-keys", b"radix-tree-nodes"):
                info.pop(key, None)
            for g in info[b"groups"]:
                for cons in g[g.index(b"consumers") + 1]:
                    if not seen:
                        cons[cons.index(b"seen-time") + 1] = "t"
            out[k] = info
        return out

    def fill(self, r):
        for i in range(1, 400):
            r.xadd("dur", {"n": str(i), "k": "v"}, id="%d-%d" % (i, i % 3))
        r.xadd("dur", {"n": "x"}, maxlen=300, approximate=True)
        r.xdel("dur", "50-2", "51-0")
        r.xgroup_create("dur", "g", "0")
        r.xgroup_create("dur", "h", "$")
        r.xreadgroup("g", "alice", {"dur": ">"}, count=20)
        r.xreadgroup("g", "bob", {"dur": ">"}, count=5, noack=True)
        r.xreadgroup("g", "carol", {"dur": ">"}, count=7)
        r.xack("dur", "g", *[e[0] for e in r.xrange("dur", count=3)])
        r.xclaim("dur", "g", "bob", 0, [e[0] for e in r.xrange("dur", count=6)][3:], retrycount=9)
        r.xgroup_createconsumer("dur", "h", "idle-one")
        r.xadd("empty", {"a": "1"}, id="7-7")
        r.xdel("empty", "7-7")
        r.xgroup_create("made", "g", "$", mkstream=True)
        r.execute_command("XSETID", "dur", "99999999999999-0", "ENTRIESADDED", "1000", "MAXDELETEDID", "9999-0")

    @unittest.skipUnless(is_lfdb(), "lfdb-server's log and snapshot")
    def test_kill9_with_appendfsync_always(self):
        sp = self.start([("appendonly", "yes"), ("appendfsync", "always")])
        r = self.client(sp)
        self.fill(r)
        before = self.state(r, seen=False)
        r.close()
        sp.proc.kill()
        sp.proc.wait()
        sp._log.close()
        sp._log = None
        sp.start()
        r = self.client(sp)
        self.maxDiff = None
        self.assertEqual(self.state(r, seen=False), before)
        # A log rewrite then a restart: the same again.
        r.bgrewriteaof()
        self.assertTrue(wait_for(lambda: r.info("persistence")["aof_rewrite_in_progress"] == 0))
        time.sleep(0.2)
        r.close()
        sp.proc.kill()
        sp.proc.wait()
        sp._log.close()
        sp._log = None
        sp.start()
        r = self.client(sp)
        self.assertEqual(self.state(r, seen=False), before)

    @unittest.skipUnless(is_lfdb(), "lfdb-server's snapshot")
    def test_snapshot_round_trip(self):
        sp = self.start([("appendonly", "no")])
        r = self.client(sp)
        self.fill(r)
        before = self.state(r)
        r.save()
        r.close()
        sp.stop(keep_dir=True)
        sp.start()
        r = self.client(sp)
        self.assertEqual(self.state(r), before)
        # COPY, RENAME, MOVE, EXPIRE of a stream
        self.assertTrue(r.copy("dur", "dur2"))
        self.assertEqual(self.state(r)[b"dur2"], before[b"dur"])
        r.rename("dur2", "dur3")
        self.assertEqual(r.type("dur3"), b"stream")
        self.assertTrue(r.move("dur3", 1))
        r.expire("made", 100)
        self.assertGreater(r.ttl("made"), 0)


if __name__ == "__main__":
    unittest.main()
