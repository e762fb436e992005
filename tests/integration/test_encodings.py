"""The compact encodings, side by side with redis-server 7.0: OBJECT ENCODING's answer after each
step (listpack / skiplist for sorted sets), the conversion when zset-max-listpack-entries or
zset-max-listpack-value is passed and never back, the encodings COPY, the *STORE commands and
RESTORE leave, and the same replies from a packed set as from a skip list. Each server gets one
connection that lives for the whole test, and every command goes to both."""

import unittest

from lfdb_testlib import RawConnection, REDIS_SERVER, RespError, SideBySideTestCase, is_lfdb

DEFAULTS = [("zset-max-listpack-entries", "128"), ("zset-max-listpack-value", "64")]


@unittest.skipUnless(is_lfdb() and REDIS_SERVER, "differential: lfdb-server next to redis-server")
class EncodingsDiff(SideBySideTestCase):
    def setUp(self):
        self.conns = [RawConnection(s.port, timeout=10) for s in (self.peer, self.lfdb)]
        self.both("FLUSHALL")
        for name, value in DEFAULTS:
            self.both("CONFIG", "SET", name, value)

    def tearDown(self):
        for name, value in DEFAULTS:
            self.both("CONFIG", "SET", name, value)
        for c in self.conns:
            c.close()

    def both(self, *cmd):
        """Sends cmd to both servers; asserts the replies are equal and returns redis's."""
        replies = []
        for c in self.conns:
            try:
                replies.append(c.command(*cmd))
            except RespError as e:
                replies.append(("error", str(e)))
        self.assertEqual(replies[1], replies[0], cmd)
        return replies[0]

    def encoding(self, key, expected):
        self.assertEqual(self.both("OBJECT", "ENCODING", key), expected, key)

    def read_all(self, key):
        """Every read of a sorted set, compared."""
        for cmd in (("ZRANGE", key, "0", "-1", "WITHSCORES"), ("ZREVRANGE", key, "0", "-1", "WITHSCORES"),
                    ("ZRANGE", key, "1", "-2"), ("ZRANGEBYSCORE", key, "(1", "+inf", "LIMIT", "1", "3"),
                    ("ZREVRANGEBYSCORE", key, "5", "-inf", "WITHSCORES"), ("ZRANGEBYLEX", key, "-", "[m3"),
                    ("ZREVRANGEBYLEX", key, "+", "(m1"), ("ZCOUNT", key, "2", "4"), ("ZLEXCOUNT", key, "-", "+"),
                    ("ZRANK", key, "m2"), ("ZREVRANK", key, "m2"), ("ZSCORE", key, "m3"), ("ZCARD", key),
                    ("ZMSCORE", key, "m1", "nope", "m4")):
            self.both(*cmd)
        # ZSCAN: one reply with cursor 0 either way; in order from a listpack, in the order of
        # Redis's hash table from a skip list (compared as a mapping then).
        scans = [c.command("ZSCAN", key, "0") for c in self.conns]
        if self.both("OBJECT", "ENCODING", key) == b"listpack":
            self.assertEqual(scans[1], scans[0])
        else:
            self.assertEqual([(s[0], dict(zip(s[1][::2], s[1][1::2]))) for s in scans[1:]],
                             [(scans[0][0], dict(zip(scans[0][1][::2], scans[0][1][1::2])))])

    def test_sorted_set_converts_past_the_entries_limit_and_never_back(self):
        self.both("ZADD", "z", *sum(([str(i), "m%d" % i] for i in range(128)), []))
        self.encoding("z", b"listpack")
        self.read_all("z")
        self.both("ZADD", "z", "200", "m200")
        self.encoding("z", b"skiplist")
        self.both("ZREMRANGEBYRANK", "z", "0", "-3")
        self.encoding("z", b"skiplist")
        self.read_all("z")
        # One ZADD bringing more than the limit makes a skip list from the start.
        self.both("ZADD", "big", *sum(([str(i), "m%d" % i] for i in range(129)), []))
        self.encoding("big", b"skiplist")

    def test_sorted_set_converts_past_the_value_limit(self):
        self.both("ZADD", "z", "1", "a" * 64, "2", "b")
        self.encoding("z", b"listpack")
        self.both("ZADD", "z", "3", "c" * 65)
        self.encoding("z", b"skiplist")
        self.both("ZREM", "z", "c" * 65)
        self.encoding("z", b"skiplist")
        self.both("ZADD", "new", "1", "x" * 65)
        self.encoding("new", b"skiplist")

    def test_config_set_moves_the_limits(self):
        self.both("CONFIG", "SET", "zset-max-listpack-entries", "4")
        self.both("CONFIG", "SET", "zset-max-listpack-value", "8")
        self.both("ZADD", "z", "1", "m1", "2", "m2", "3", "m3", "4", "m4")
        self.encoding("z", b"listpack")
        self.both("ZINCRBY", "z", "1.5", "m1")
        self.read_all("z")
        self.both("ZADD", "z", "5", "m5")
        self.encoding("z", b"skiplist")
        self.both("ZADD", "v", "1", "123456789")
        self.encoding("v", b"skiplist")
        self.both("CONFIG", "SET", "zset-max-listpack-entries", "0")
        self.both("ZADD", "zero", "1", "a")
        self.encoding("zero", b"skiplist")

    def test_store_copy_and_restore_pick_the_encoding_as_redis(self):
        self.both("ZADD", "s", "1", "m1", "2", "m2", "3", "m3", "-0", "m0")
        self.both("ZADD", "long", "1", "x" * 65, "2", "m2")
        self.both("ZREM", "long", "x" * 65)
        self.encoding("long", b"skiplist")
        # A *STORE result is packed when it fits, whatever its sources were.
        self.both("ZUNIONSTORE", "u", "2", "s", "long")
        self.encoding("u", b"listpack")
        self.both("ZRANGESTORE", "r", "long", "0", "-1")
        self.encoding("r", b"listpack")
        self.both("ZINTERSTORE", "i", "2", "s", "long", "WEIGHTS", "1", "2")
        self.read_all("i")
        # COPY keeps the source's encoding.
        self.both("COPY", "long", "c")
        self.encoding("c", b"skiplist")
        self.both("COPY", "s", "c2")
        self.encoding("c2", b"listpack")
        self.read_all("c2")
        # RESTORE of either form: packed when it fits (Redis converts a loaded skip list).
        for key in ("s", "long"):
            for c in self.conns:
                payload = c.command("DUMP", key)
                c.command("RESTORE", key + ":back", "0", payload)
            self.encoding(key + ":back", b"listpack")
            self.read_all(key + ":back")

    def test_packed_reads_writes_and_pops_match(self):
        self.both("ZADD", "z", "3", "c", "1", "a", "2", "b", "2", "bb", "-1", "neg", "inf", "top")
        self.read_all("z")
        self.both("ZADD", "z", "GT", "CH", "0", "a", "5", "b")
        self.both("ZADD", "z", "NX", "9", "a", "9", "new")
        self.both("ZINCRBY", "z", "-3", "c")
        self.both("ZRANGE", "z", "0", "-1", "WITHSCORES")
        self.both("ZPOPMIN", "z", "2")
        self.both("ZPOPMAX", "z")
        self.both("ZREMRANGEBYSCORE", "z", "-inf", "(1")
        self.both("ZREMRANGEBYLEX", "z", "[a", "[b")
        self.both("ZRANGE", "z", "0", "-1", "WITHSCORES")
        lengths = [len(c.command("ZRANDMEMBER", "z", "-5")) for c in self.conns]
        self.assertEqual(lengths, [5, 5])
        self.both("ZMPOP", "1", "z", "MIN", "COUNT", "10")
        self.both("EXISTS", "z")


if __name__ == "__main__":
    unittest.main()
