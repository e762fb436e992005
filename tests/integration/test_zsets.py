"""Sorted set commands: ZADD (NX XX GT LT CH INCR) ZREM ZSCORE ZMSCORE ZINCRBY ZCARD ZCOUNT ZRANGE
(BYSCORE BYLEX REV LIMIT WITHSCORES) ZREVRANGE ZRANGEBYSCORE ZREVRANGEBYSCORE ZRANGEBYLEX
ZREVRANGEBYLEX ZLEXCOUNT ZRANK ZREVRANK ZPOPMIN ZPOPMAX ZREMRANGEBYRANK ZREMRANGEBYSCORE
ZREMRANGEBYLEX ZUNIONSTORE ZINTERSTORE ZSCAN, scores in RESP2 and RESP3, and the generic
commands over sorted sets. Written against redis-server 7.0; run unchanged against lfdb-server."""

import unittest

from lfdb_testlib import RawConnection, RespError, ServerTestCase

WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"
NOT_INT = "ERR value is not an integer or out of range"
NOT_FLOAT = "ERR value is not a valid float"
MINMAX = "ERR min or max is not a float"
LEXERR = "ERR min or max not valid string range item"


class ZAddTest(ServerTestCase):
    def test_add_update_and_scores(self):
        self.assertEqual(self.call("ZADD", "z", "1", "a", "2", "b", "1", "a"), 2)
        self.assertEqual(self.call("ZADD", "z", "3", "a", "4", "c"), 1)
        self.assertEqual(self.call("ZSCORE", "z", "a"), b"3")
        self.assertIsNone(self.call("ZSCORE", "z", "nope"))
        self.assertIsNone(self.call("ZSCORE", "missing", "a"))
        self.assertEqual(self.call("ZMSCORE", "z", "a", "nope", "c"), [b"3", None, b"4"])
        self.assertEqual(self.call("ZMSCORE", "missing", "a"), [None])
        self.assertEqual(self.call("ZCARD", "z"), 3)
        self.assertEqual(self.call("ZCARD", "missing"), 0)

    def test_score_formatting(self):
        self.call("ZADD", "z", "0.1", "a", "inf", "b", "-inf", "c", "1e300", "d", "3.0", "e")
        self.assertEqual(self.call("ZSCORE", "z", "a"), b"0.10000000000000001")
        self.assertEqual(self.call("ZSCORE", "z", "b"), b"inf")
        self.assertEqual(self.call("ZSCORE", "z", "c"), b"-inf")
        self.assertEqual(self.call("ZSCORE", "z", "d"), b"1.0000000000000001e+300")
        self.assertEqual(self.call("ZSCORE", "z", "e"), b"3")
        self.assertEqual(self.call("ZINCRBY", "z", "0.2", "a"), b"0.30000000000000004")

    def test_options(self):
        self.call("ZADD", "z", "1", "a", "2", "b")
        self.assertEqual(self.call("ZADD", "z", "XX", "5", "a", "5", "new"), 0)
        self.assertIsNone(self.call("ZSCORE", "z", "new"))
        self.assertEqual(self.call("ZSCORE", "z", "a"), b"5")
        self.assertEqual(self.call("ZADD", "z", "NX", "9", "a", "3", "c"), 1)
        self.assertEqual(self.call("ZSCORE", "z", "a"), b"5")
        self.assertEqual(self.call("ZADD", "z", "GT", "CH", "1", "a", "3", "b"), 1)
        self.assertEqual(self.call("ZADD", "z", "LT", "CH", "1", "a", "9", "b"), 1)
        self.assertEqual(self.call("ZRANGE", "z", "0", "-1", "WITHSCORES"),
                         [b"a", b"1", b"b", b"3", b"c", b"3"])
        self.assertEqual(self.call("ZADD", "z", "CH", "1", "a", "7", "b", "0", "d"), 2)
        self.assertEqual(self.call("ZADD", "missing", "XX", "1", "a"), 0)
        self.assertEqual(self.call("EXISTS", "missing"), 0)

    def test_incr(self):
        self.assertEqual(self.call("ZADD", "z", "INCR", "2", "a"), b"2")
        self.assertEqual(self.call("ZADD", "z", "INCR", "1.5", "a"), b"3.5")
        self.assertIsNone(self.call("ZADD", "z", "NX", "INCR", "1", "a"))
        self.assertIsNone(self.call("ZADD", "z", "GT", "INCR", "-1", "a"))
        self.assertEqual(self.call("ZADD", "z", "LT", "INCR", "-1", "a"), b"2.5")
        self.assertIsNone(self.call("ZADD", "z", "XX", "INCR", "1", "nope"))
        self.assertIsNone(self.call("ZADD", "missing", "XX", "INCR", "1", "a"))
        self.assertEqual(self.call("ZINCRBY", "z", "-0.5", "a"), b"2")
        self.assertEqual(self.call("ZINCRBY", "z", "1", "new"), b"1")
        self.call("ZADD", "z", "inf", "i")
        self.assertErrorReply("ERR resulting score is not a number (NaN)", "ZINCRBY", "z", "-inf", "i")
        self.assertErrorReply("ERR resulting score is not a number (NaN)",
                              "ZADD", "z", "INCR", "-inf", "i")
        self.assertEqual(self.call("ZSCORE", "z", "i"), b"inf")

    def test_errors(self):
        self.assertErrorReply("ERR XX and NX options at the same time are not compatible",
                              "ZADD", "z", "XX", "NX", "1", "a")
        for opts in (("GT", "LT"), ("NX", "GT"), ("NX", "LT")):
            self.assertErrorReply("ERR GT, LT, and/or NX options at the same time are not compatible",
                                  "ZADD", "z", *opts, "1", "a")
        self.assertErrorReply("ERR INCR option supports a single increment-element pair",
                              "ZADD", "z", "INCR", "1", "a", "2", "b")
        self.assertErrorReply("ERR syntax error", "ZADD", "z", "1", "a", "2")
        self.assertErrorReply(NOT_FLOAT, "ZADD", "z", "x", "a")
        self.assertErrorReply(NOT_FLOAT, "ZADD", "z", "nan", "a")
        self.assertErrorReply(NOT_FLOAT, "ZINCRBY", "z", "x", "a")
        self.assertErrorReply("ERR wrong number of arguments for 'zadd' command", "ZADD", "z", "1")
        self.assertEqual(self.call("EXISTS", "z"), 0)

    def test_zrem_deletes_empty(self):
        self.call("ZADD", "z", "1", "a", "2", "b")
        self.assertEqual(self.call("ZREM", "z", "a", "nope"), 1)
        self.assertEqual(self.call("ZREM", "missing", "a"), 0)
        self.assertEqual(self.call("ZREM", "z", "b"), 1)
        self.assertEqual(self.call("EXISTS", "z"), 0)


class ZRangeTest(ServerTestCase):
    def setUp(self):
        super().setUp()
        self.call("ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e")

    def test_by_rank(self):
        self.assertEqual(self.call("ZRANGE", "z", "0", "1"), [b"a", b"b"])
        self.assertEqual(self.call("ZRANGE", "z", "-2", "-1", "WITHSCORES"), [b"d", b"4", b"e", b"5"])
        self.assertEqual(self.call("ZRANGE", "z", "0", "1", "REV"), [b"e", b"d"])
        self.assertEqual(self.call("ZREVRANGE", "z", "0", "0", "WITHSCORES"), [b"e", b"5"])
        self.assertEqual(self.call("ZRANGE", "z", "3", "1"), [])
        self.assertEqual(self.call("ZRANGE", "z", "-100", "100"), [b"a", b"b", b"c", b"d", b"e"])
        self.assertEqual(self.call("ZRANGE", "missing", "0", "-1"), [])
        self.assertErrorReply(NOT_INT, "ZRANGE", "z", "a", "1")

    def test_by_score(self):
        self.assertEqual(self.call("ZRANGE", "z", "(1", "3", "BYSCORE"), [b"b", b"c"])
        self.assertEqual(self.call("ZRANGEBYSCORE", "z", "-inf", "+inf", "LIMIT", "1", "2"), [b"b", b"c"])
        self.assertEqual(self.call("ZRANGEBYSCORE", "z", "2", "4", "WITHSCORES", "LIMIT", "0", "-1"),
                         [b"b", b"2", b"c", b"3", b"d", b"4"])
        self.assertEqual(self.call("ZREVRANGEBYSCORE", "z", "4", "(2"), [b"d", b"c"])
        self.assertEqual(self.call("ZRANGE", "z", "4", "(2", "BYSCORE", "REV", "LIMIT", "0", "1"), [b"d"])
        self.assertEqual(self.call("ZRANGEBYSCORE", "z", "0", "10", "LIMIT", "-1", "2"), [])
        self.assertEqual(self.call("ZRANGEBYSCORE", "z", "(3", "(3"), [])
        self.assertEqual(self.call("ZCOUNT", "z", "(1", "4"), 3)
        self.assertEqual(self.call("ZCOUNT", "z", "10", "20"), 0)
        self.assertErrorReply(MINMAX, "ZRANGEBYSCORE", "z", "x", "1")
        self.assertErrorReply(MINMAX, "ZCOUNT", "z", "nan", "1")

    def test_by_lex(self):
        self.call("ZADD", "l", "0", "a", "0", "b", "0", "c", "0", "d")
        self.assertEqual(self.call("ZRANGEBYLEX", "l", "[b", "(d"), [b"b", b"c"])
        self.assertEqual(self.call("ZRANGE", "l", "+", "(b", "BYLEX", "REV"), [b"d", b"c"])
        self.assertEqual(self.call("ZREVRANGEBYLEX", "l", "+", "-", "LIMIT", "1", "2"), [b"c", b"b"])
        self.assertEqual(self.call("ZLEXCOUNT", "l", "-", "+"), 4)
        self.assertEqual(self.call("ZLEXCOUNT", "l", "(a", "[c"), 2)
        self.assertErrorReply(LEXERR, "ZRANGEBYLEX", "l", "a", "[c")
        self.assertErrorReply(LEXERR, "ZLEXCOUNT", "l", "-", "+x")

    def test_option_errors(self):
        self.assertErrorReply("ERR syntax error, LIMIT is only supported in combination with "
                              "either BYSCORE or BYLEX", "ZRANGE", "z", "0", "-1", "LIMIT", "0", "1")
        self.assertErrorReply("ERR syntax error, WITHSCORES not supported in combination with BYLEX",
                              "ZRANGE", "z", "-", "+", "BYLEX", "WITHSCORES")
        self.assertErrorReply("ERR syntax error", "ZREVRANGE", "z", "0", "1", "REV")
        self.assertErrorReply("ERR syntax error", "ZRANGEBYSCORE", "z", "0", "1", "BYLEX")
        self.assertErrorReply("ERR syntax error", "ZRANGE", "z", "0", "1", "LIMIT", "1")
        self.assertErrorReply(NOT_INT, "ZRANGE", "z", "0", "1", "BYSCORE", "LIMIT", "x", "1")

    def test_rank(self):
        self.assertEqual(self.call("ZRANK", "z", "c"), 2)
        self.assertEqual(self.call("ZREVRANK", "z", "c"), 2)
        self.assertEqual(self.call("ZREVRANK", "z", "a"), 4)
        self.assertIsNone(self.call("ZRANK", "z", "nope"))
        self.assertIsNone(self.call("ZRANK", "missing", "a"))

    def test_resp3_scores(self):
        with RawConnection(self.port) as c:
            c.command("HELLO", "3")
            c.send_command("ZSCORE", "z", "a")
            self.assertEqual(c.read_reply(), b",1\r\n")
            c.send_command("ZRANGE", "z", "0", "0", "WITHSCORES")
            self.assertEqual(c.read_reply(), b"*1\r\n*2\r\n$1\r\na\r\n,1\r\n")
            c.send_command("ZMSCORE", "z", "a", "nope")
            self.assertEqual(c.read_reply(), b"*2\r\n,1\r\n_\r\n")
            c.send_command("ZINCRBY", "z", "0.5", "a")
            self.assertEqual(c.read_reply(), b",1.5\r\n")
            c.send_command("ZPOPMIN", "z")
            self.assertEqual(c.read_reply(), b"*2\r\n$1\r\na\r\n,1.5\r\n")
            c.send_command("ZPOPMAX", "z", "1")
            self.assertEqual(c.read_reply(), b"*1\r\n*2\r\n$1\r\ne\r\n,5\r\n")


class ZRemoveTest(ServerTestCase):
    def setUp(self):
        super().setUp()
        self.call("ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e")

    def test_pop(self):
        self.assertEqual(self.call("ZPOPMIN", "z"), [b"a", b"1"])
        self.assertEqual(self.call("ZPOPMAX", "z", "2"), [b"e", b"5", b"d", b"4"])
        self.assertEqual(self.call("ZPOPMIN", "z", "0"), [])
        self.assertEqual(self.call("ZPOPMIN", "z", "10"), [b"b", b"2", b"c", b"3"])
        self.assertEqual(self.call("EXISTS", "z"), 0)
        self.assertEqual(self.call("ZPOPMIN", "z"), [])
        self.assertErrorReply("ERR value is out of range, must be positive", "ZPOPMIN", "z", "-1")
        self.assertErrorReply("ERR syntax error", "ZPOPMAX", "z", "1", "2")

    def test_remrange(self):
        self.assertEqual(self.call("ZREMRANGEBYRANK", "z", "0", "1"), 2)
        self.assertEqual(self.call("ZREMRANGEBYSCORE", "z", "(3", "4"), 1)
        self.assertEqual(self.call("ZRANGE", "z", "0", "-1"), [b"c", b"e"])
        self.assertEqual(self.call("ZREMRANGEBYSCORE", "z", "10", "20"), 0)
        self.assertEqual(self.call("ZREMRANGEBYRANK", "z", "0", "-1"), 2)
        self.assertEqual(self.call("EXISTS", "z"), 0)
        self.call("ZADD", "l", "0", "a", "0", "b", "0", "c")
        self.assertEqual(self.call("ZREMRANGEBYLEX", "l", "[a", "(c"), 2)
        self.assertEqual(self.call("ZRANGE", "l", "0", "-1"), [b"c"])
        self.assertEqual(self.call("ZREMRANGEBYLEX", "missing", "-", "+"), 0)
        self.assertErrorReply(NOT_INT, "ZREMRANGEBYRANK", "z", "x", "1")
        self.assertErrorReply(MINMAX, "ZREMRANGEBYSCORE", "z", "x", "1")
        self.assertErrorReply(LEXERR, "ZREMRANGEBYLEX", "z", "a", "b")


class ZStoreTest(ServerTestCase):
    def setUp(self):
        super().setUp()
        self.call("ZADD", "{t}a", "1", "x", "2", "y", "3", "z")
        self.call("ZADD", "{t}b", "10", "y", "20", "z", "30", "w")
        self.call("SADD", "{t}s", "z", "q")

    def test_union(self):
        self.assertEqual(self.call("ZUNIONSTORE", "{t}d", "2", "{t}a", "{t}b"), 4)
        self.assertEqual(self.call("ZRANGE", "{t}d", "0", "-1", "WITHSCORES"),
                         [b"x", b"1", b"y", b"12", b"z", b"23", b"w", b"30"])
        self.assertEqual(self.call("ZUNIONSTORE", "{t}d", "3", "{t}a", "{t}b", "{t}s",
                                   "WEIGHTS", "2", "1", "100", "AGGREGATE", "MAX"), 5)
        self.assertEqual(self.call("ZRANGE", "{t}d", "0", "-1", "WITHSCORES"),
                         [b"x", b"2", b"y", b"10", b"w", b"30", b"q", b"100", b"z", b"100"])
        self.assertEqual(self.call("ZUNIONSTORE", "{t}d", "1", "{t}missing"), 0)
        self.assertEqual(self.call("EXISTS", "{t}d"), 0)

    def test_inter(self):
        self.assertEqual(self.call("ZINTERSTORE", "{t}d", "2", "{t}a", "{t}b", "AGGREGATE", "MIN"), 2)
        self.assertEqual(self.call("ZRANGE", "{t}d", "0", "-1", "WITHSCORES"),
                         [b"y", b"2", b"z", b"3"])
        self.assertEqual(self.call("ZINTERSTORE", "{t}d", "3", "{t}a", "{t}b", "{t}s"), 1)
        self.assertEqual(self.call("ZSCORE", "{t}d", "z"), b"24")
        # the destination may be a source
        self.assertEqual(self.call("ZINTERSTORE", "{t}a", "2", "{t}a", "{t}a", "WEIGHTS", "1", "2"), 3)
        self.assertEqual(self.call("ZSCORE", "{t}a", "y"), b"6")
        self.assertEqual(self.call("ZINTERSTORE", "{t}d", "2", "{t}a", "{t}missing"), 0)

    def test_errors(self):
        self.call("SET", "{t}str", "v")
        self.assertErrorReply(WRONGTYPE, "ZUNIONSTORE", "{t}d", "2", "{t}a", "{t}str", "WEIGHTS", "x")
        self.assertErrorReply("ERR at least 1 input key is needed for 'zunionstore' command",
                              "ZUNIONSTORE", "{t}d", "0", "{t}a")
        self.assertErrorReply("ERR at least 1 input key is needed for 'zinterstore' command",
                              "ZINTERSTORE", "{t}d", "-1", "{t}a")
        self.assertErrorReply(NOT_INT, "ZUNIONSTORE", "{t}d", "x", "{t}a")
        self.assertErrorReply("ERR syntax error", "ZUNIONSTORE", "{t}d", "3", "{t}a")
        self.assertErrorReply("ERR weight value is not a float",
                              "ZUNIONSTORE", "{t}d", "1", "{t}a", "WEIGHTS", "x")
        self.assertErrorReply("ERR syntax error", "ZUNIONSTORE", "{t}d", "1", "{t}a", "AGGREGATE", "AVG")
        self.assertErrorReply("ERR syntax error", "ZUNIONSTORE", "{t}d", "1", "{t}a", "WITHSCORES")
        self.assertEqual(self.call("EXISTS", "{t}d"), 0)


class ZGenericTest(ServerTestCase):
    def test_wrongtype(self):
        self.call("SET", "s", "v")
        for args in (("ZADD", "s", "1", "a"), ("ZINCRBY", "s", "1", "a"), ("ZREM", "s", "a"),
                     ("ZSCORE", "s", "a"), ("ZMSCORE", "s", "a"), ("ZCARD", "s"),
                     ("ZCOUNT", "s", "0", "1"), ("ZLEXCOUNT", "s", "-", "+"),
                     ("ZRANGE", "s", "0", "1"), ("ZRANGEBYSCORE", "s", "0", "1"),
                     ("ZRANK", "s", "a"), ("ZPOPMIN", "s"), ("ZREMRANGEBYRANK", "s", "0", "1"),
                     ("ZSCAN", "s", "0")):
            self.assertErrorReply(WRONGTYPE, *args)
        self.call("ZADD", "z", "1", "a")
        self.assertErrorReply(WRONGTYPE, "SADD", "z", "a")
        self.assertErrorReply(WRONGTYPE, "GET", "z")

    def test_type_encoding_rename_expire_scan(self):
        self.call("ZADD", "z", "1", "a", "2", "b")
        self.assertEqual(self.call("TYPE", "z"), b"zset")
        self.assertEqual(self.call("OBJECT", "ENCODING", "z"), b"listpack")
        self.call("ZADD", "z", "3", "x" * 65)
        self.assertEqual(self.call("OBJECT", "ENCODING", "z"), b"skiplist")
        self.call("ZREM", "z", "x" * 65)
        self.assertEqual(self.call("OBJECT", "ENCODING", "z"), b"skiplist")  # never converted back
        self.assertEqual(self.call("RENAME", "z", "z2"), b"OK")
        self.assertEqual(self.call("EXPIRE", "z2", "100"), 1)
        self.assertEqual(self.call("ZRANGE", "z2", "0", "-1"), [b"a", b"b"])
        self.assertEqual(self.call("SCAN", "0", "TYPE", "zset", "COUNT", "1000"), [b"0", [b"z2"]])
        cursor, flat = self.call("ZSCAN", "z2", "0")  # a skiplist set scans in hash order
        self.assertEqual((cursor, dict(zip(flat[::2], flat[1::2]))), (b"0", {b"a": b"1", b"b": b"2"}))
        self.assertEqual(self.call("ZSCAN", "z2", "0", "MATCH", "b*"), [b"0", [b"b", b"2"]])
        self.assertEqual(self.call("ZSCAN", "missing", "0"), [b"0", []])
        self.assertEqual(self.call("DEL", "z2"), 1)

    def test_large_set_ranks(self):
        self.r.zadd("big", {"m%04d" % i: i for i in range(3000)})
        self.assertEqual(self.call("ZRANK", "big", "m1234"), 1234)
        self.assertEqual(self.call("ZRANGE", "big", "2000", "2001"), [b"m2000", b"m2001"])
        self.assertEqual(self.call("ZCOUNT", "big", "(100", "200"), 100)
        self.assertEqual(self.call("ZREMRANGEBYSCORE", "big", "0", "999"), 1000)
        self.assertEqual(self.call("ZRANK", "big", "m1234"), 234)
        self.assertEqual(self.call("OBJECT", "ENCODING", "big"), b"skiplist")

    def test_script_and_transaction(self):
        self.assertEqual(self.r.eval("redis.call('zadd', KEYS[1], 1.5, 'a', 2, 'b'); "
                                     "return redis.call('zrange', KEYS[1], 0, -1, 'withscores')",
                                     1, "z"), ["a", "1.5", "b", "2"])
        self.assertEqual(self.r.eval("return redis.call('zscore', KEYS[1], 'a')", 1, "z"), "1.5")
        self.assertIsNone(self.r.eval("return redis.call('zscore', KEYS[1], 'nope')", 1, "z"))
        p = self.r.pipeline(transaction=True)
        p.zincrby("z", 1, "a").zrank("z", "a").zpopmax("z")
        self.assertEqual(p.execute(), [2.5, 1, [("a", 2.5)]])


if __name__ == "__main__":
    unittest.main()
