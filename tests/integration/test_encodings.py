"""The compact encodings, side by side with redis-server 7.0: OBJECT ENCODING's answer after each
step (listpack / skiplist for sorted sets, listpack / hashtable for hashes, intset / hashtable for
sets), the conversion when zset-max-listpack-entries or zset-max-listpack-value
(hash-max-listpack-entries, -value; set-max-intset-entries or a member that is not an integer
in canonical form) is passed and never back, the encodings COPY, the *STORE commands and
RESTORE leave, and the same replies from a packed set as from a skip list; lists under every kind
of list-max-listpack-size bound (many nodes), every list write, COPY, SORT..STORE and DUMP /
RESTORE across the two servers. Each server gets one
connection that lives for the whole test, and every command goes to both."""

import random
import unittest

from lfdb_testlib import RawConnection, REDIS_SERVER, RespError, SideBySideTestCase, is_lfdb

DEFAULTS = [("zset-max-listpack-entries", "128"), ("zset-max-listpack-value", "64"),
            ("hash-max-listpack-entries", "512"), ("hash-max-listpack-value", "64"),
            ("list-max-listpack-size", "-2"), ("set-max-intset-entries", "512")]


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

    def read_hash(self, key):
        """Every read of a hash, compared: in the same order while packed (a listpack keeps
        insertion order), as mappings from a hash table (whose order is the table's)."""
        packed = self.both("OBJECT", "ENCODING", key) == b"listpack"
        for cmd in (("HLEN", key), ("HGET", key, "f1"), ("HMGET", key, "f0", "nope", "f2"),
                    ("HEXISTS", key, "f3"), ("HSTRLEN", key, "f1")):
            self.both(*cmd)
        replies = [{name: c.command(name, key) for name in ("HGETALL", "HKEYS", "HVALS")} for c in self.conns]
        if packed:
            self.assertEqual(replies[1], replies[0])
        else:
            self.assertEqual(dict(zip(replies[1]["HGETALL"][::2], replies[1]["HGETALL"][1::2])),
                             dict(zip(replies[0]["HGETALL"][::2], replies[0]["HGETALL"][1::2])))
            self.assertEqual(sorted(replies[1]["HKEYS"]), sorted(replies[0]["HKEYS"]))
        # HSCAN: one reply with cursor 0 from a listpack, in its order; from a table, every pair
        # once over the whole scan.
        scans = []
        for c in self.conns:
            cursor, pairs = b"0", []
            for _ in range(10000):
                cursor, part = c.command("HSCAN", key, cursor, "COUNT", "50")
                pairs += part
                if cursor == b"0":
                    break
            scans.append(pairs)
        if packed:
            self.assertEqual(self.conns[1].command("HSCAN", key, "0"), self.conns[0].command("HSCAN", key, "0"))
        self.assertEqual(dict(zip(scans[1][::2], scans[1][1::2])), dict(zip(scans[0][::2], scans[0][1::2])))
        # HRANDFIELD: a count at least the size answers the whole hash (in a listpack's order).
        whole = [c.command("HRANDFIELD", key, "100000", "WITHVALUES") for c in self.conns]
        if packed:
            self.assertEqual(whole[1], whole[0])
        else:
            self.assertEqual(dict(zip(whole[1][::2], whole[1][1::2])), dict(zip(whole[0][::2], whole[0][1::2])))
        lengths = [len(c.command("HRANDFIELD", key, "-7", "WITHVALUES")) for c in self.conns]
        self.assertEqual(lengths, [14, 14])

    def test_hash_converts_past_the_entries_limit_and_never_back(self):
        self.both("HSET", "h", *sum((["f%d" % i, "v%d" % i] for i in range(512)), []))
        self.encoding("h", b"listpack")
        self.read_hash("h")
        self.both("HSET", "h", "f512", "v")
        self.encoding("h", b"hashtable")
        self.both("HDEL", "h", *["f%d" % i for i in range(4, 513)])
        self.encoding("h", b"hashtable")
        self.read_hash("h")
        self.both("HSET", "big", *sum((["f%d" % i, "v"] for i in range(513)), []))
        self.encoding("big", b"hashtable")

    def test_hash_converts_past_the_value_limit(self):
        self.both("HSET", "h", "f" * 64, "v" * 64, "f1", "x")
        self.encoding("h", b"listpack")
        self.both("HSET", "h", "f2", "v" * 65)
        self.encoding("h", b"hashtable")
        self.both("HDEL", "h", "f2")
        self.encoding("h", b"hashtable")
        self.both("HSET", "k", "k" * 65, "v")
        self.encoding("k", b"hashtable")
        self.both("HSETNX", "n", "f1", "v" * 65)
        self.encoding("n", b"hashtable")
        # HINCRBYFLOAT's long result converts too (hashTypeSet checks the value it stores).
        self.both("HSET", "fl", "f1", "1")
        self.both("HINCRBYFLOAT", "fl", "f1", "1e70")
        self.encoding("fl", b"hashtable")
        self.read_hash("fl")

    def test_hash_keeps_insertion_order_through_updates(self):
        self.both("HSET", "h", "f3", "c", "f1", "a", "f2", "b", "f0", "z")
        self.both("HSET", "h", "f1", "longer value", "f9", "new")
        self.both("HINCRBY", "h", "n", "5")
        self.both("HINCRBY", "h", "n", "-105")
        self.both("HINCRBYFLOAT", "h", "fl", "1.5")
        self.both("HINCRBYFLOAT", "h", "fl", "10.25")
        self.both("HDEL", "h", "f2", "nope")
        self.both("HSET", "h", "f2", "back at the end")
        self.both("HSETNX", "h", "f3", "ignored")
        self.both("HMSET", "h", "f0", "", "m", "0")
        self.encoding("h", b"listpack")
        self.read_hash("h")
        self.both("HSCAN", "h", "0", "MATCH", "f*")
        self.both("HDEL", "h", "f3", "f1", "f0", "f9", "n", "fl", "f2", "m")
        self.both("EXISTS", "h")

    def test_hash_config_set_copy_and_restore(self):
        self.both("CONFIG", "SET", "hash-max-listpack-entries", "4")
        self.both("CONFIG", "SET", "hash-max-ziplist-value", "8")
        self.both("HSET", "h", "f1", "1", "f2", "2", "f3", "3", "f4", "4")
        self.encoding("h", b"listpack")
        self.both("HSET", "h", "f5", "5")
        self.encoding("h", b"hashtable")
        self.both("HSET", "v", "f1", "123456789")
        self.encoding("v", b"hashtable")
        self.both("HSET", "s", "b", "2", "a", "1")
        self.both("HSET", "t", "b", "2", "a", "123456789")
        self.both("HDEL", "t", "a")
        self.both("CONFIG", "SET", "hash-max-listpack-entries", "0")
        self.both("HSET", "zero", "f", "v")
        self.encoding("zero", b"hashtable")
        self.both("CONFIG", "SET", "hash-max-listpack-entries", "4")
        # COPY keeps the source's encoding.
        self.both("COPY", "s", "c1")
        self.encoding("c1", b"listpack")
        self.both("COPY", "t", "c2")
        self.encoding("c2", b"hashtable")
        # RESTORE: packed when it fits, whatever form the payload has; each server's DUMP also
        # restores on the other.
        for key in ("s", "t", "h"):
            payloads = [c.command("DUMP", key) for c in self.conns]
            for c in self.conns:
                for i, payload in enumerate(payloads):
                    c.command("RESTORE", "%s:back%d" % (key, i), "0", payload)
            for i in range(2):
                self.encoding("%s:back%d" % (key, i), b"hashtable" if key == "h" else b"listpack")
                self.read_hash("%s:back%d" % (key, i))

    def read_list(self, key):
        """Every read of a list, compared: whole, by index from both ends, ranges, LPOS."""
        n = self.both("LLEN", key)
        self.both("LRANGE", key, "0", "-1")
        for i in list(range(0, n, 7)) + [n - 1, -1, -n, n]:
            self.both("LINDEX", key, str(i))
        self.both("LRANGE", key, str(n // 3), str(-(n // 4) - 1))
        for rank in ("1", "2", "-1", "-3"):
            self.both("LPOS", key, "a", "RANK", rank, "COUNT", "0")

    def test_list_node_bounds_and_every_write_match(self):
        # Each node bound of list-max-listpack-size, small enough that these lists span many
        # nodes, with elements long enough to cross the byte bounds and short enough to repeat.
        rnd = random.Random(31)
        for fill in ("-2", "-1", "3", "1", "-5"):
            self.both("CONFIG", "SET", "list-max-listpack-size", fill)
            key = "l" + fill
            for step in range(600):
                v = rnd.choice(["a", "b", "c", "x" * rnd.choice([1, 100, 1000, 5000])])
                op = rnd.randrange(12)
                if op < 4:
                    self.both(rnd.choice(["LPUSH", "RPUSH"]), key, v, rnd.choice(["a", "b"]))
                elif op < 6:
                    self.both(rnd.choice(["LPOP", "RPOP"]), key, *(["2"] if op == 5 else []))
                elif op == 6:
                    self.both("LINSERT", key, rnd.choice(["BEFORE", "AFTER"]), rnd.choice(["a", "b", "c"]), v)
                elif op == 7:
                    self.both("LSET", key, str(rnd.randrange(-5, 5)), v)
                elif op == 8:
                    self.both("LREM", key, str(rnd.randrange(-2, 3)), rnd.choice(["a", "b", "c"]))
                elif op == 9 and rnd.randrange(10) == 0:
                    self.both("LTRIM", key, str(rnd.randrange(0, 3)), str(rnd.randrange(-3, 60)))
                elif op == 10:
                    self.both("LMOVE", key, key + ":o", rnd.choice(["LEFT", "RIGHT"]), rnd.choice(["LEFT", "RIGHT"]))
                else:
                    self.both("RPUSH", key, "c", v)
                if step % 50 == 0:
                    self.read_list(key)
            self.read_list(key)
            self.encoding(key, b"quicklist")
            # COPY, SORT..STORE, and each server's DUMP restores on the other.
            self.both("COPY", key, key + ":copy")
            self.read_list(key + ":copy")
            self.both("SORT", key, "ALPHA", "STORE", key + ":sorted")
            self.read_list(key + ":sorted")
            payloads = [c.command("DUMP", key) for c in self.conns]
            for c in self.conns:
                for i, payload in enumerate(payloads):
                    c.command("RESTORE", "%s:back%d" % (key, i), "0", payload)
            for i in range(2):
                self.read_list("%s:back%d" % (key, i))
                self.encoding("%s:back%d" % (key, i), b"quicklist")

    def read_set(self, key):
        """Every read of a set, compared: an intset walks in ascending order on both servers, so
        even the order of SMEMBERS and SSCAN must match; a hash table's is compared sorted."""
        intset = self.both("OBJECT", "ENCODING", key) == b"intset"
        for cmd in (("SCARD", key), ("SISMEMBER", key, "3"), ("SISMEMBER", key, "03"),
                    ("SISMEMBER", key, "-5000000000"), ("SMISMEMBER", key, "1", "x", "70000", "+1"),
                    ("SORT", key), ("SORT", key, "DESC", "LIMIT", "1", "2"), ("SORT", key, "ALPHA"),
                    ("SINTERCARD", "1", key), ("SRANDMEMBER", key, "-0"), ("EXISTS", key)):
            self.both(*cmd)
        for cmd in (("SMEMBERS", key), ("SSCAN", key, "0"), ("SSCAN", key, "0", "MATCH", "*0*"),
                    ("SRANDMEMBER", key, "100000"), ("SINTER", key, key), ("SUNION", key, "nokey"),
                    ("SDIFF", key, "nokey")):
            if cmd[0] == "SSCAN" and not intset:
                continue  # Redis walks a big table in several calls, lfdb answers in one
            replies = [c.command(*cmd) for c in self.conns]
            if cmd[0] == "SSCAN":
                self.assertEqual(replies[0][0], b"0")
                replies = [r[1] for r in replies]
            if intset and cmd[0] in ("SMEMBERS", "SSCAN", "SRANDMEMBER"):
                self.assertEqual(replies[1], replies[0], cmd)
            else:
                self.assertEqual(sorted(replies[1]), sorted(replies[0]), cmd)
        return intset

    def test_set_of_integers_is_an_intset_until_a_string_and_never_back(self):
        self.both("SADD", "s", "3", "1", "2")
        self.encoding("s", b"intset")
        self.read_set("s")
        # Wider members (4 and 8 bytes) keep it an intset.
        self.both("SADD", "s", "70000", "-5000000000", "9223372036854775807", "-9223372036854775808")
        self.encoding("s", b"intset")
        self.read_set("s")
        self.both("SREM", "s", "-5000000000", "9223372036854775807", "-9223372036854775808", "nope")
        self.encoding("s", b"intset")
        self.read_set("s")
        self.both("SADD", "s", "x")
        self.encoding("s", b"hashtable")
        self.both("SREM", "s", "x")
        self.encoding("s", b"hashtable")
        self.read_set("s")
        # Integers not in canonical form are strings; so is one past 64 bits.
        for i, odd in enumerate(("01", "+1", "-0", " 1", "1.5", "9223372036854775808", "")):
            self.both("SADD", "odd%d" % i, odd)
            self.encoding("odd%d" % i, b"hashtable")
            self.both("SADD", "late%d" % i, "1", "2")
            self.both("SADD", "late%d" % i, odd)
            self.encoding("late%d" % i, b"hashtable")
        # The first member decides a new set's encoding; SMOVE creates the destination so too.
        self.both("SMOVE", "s", "m1", "70000")
        self.encoding("m1", b"intset")
        self.both("SADD", "str", "a", "1")
        self.both("SMOVE", "str", "m2", "1")
        self.encoding("m2", b"intset")
        self.both("SMOVE", "str", "m3", "a")
        self.encoding("m3", b"hashtable")
        # SPOP and SREM until it is gone.
        # (Random picks: each server pops two distinct members of the same set.)
        before = [sorted(c.command("SMEMBERS", "s")) for c in self.conns]
        self.assertEqual(before[1], before[0])
        before = before[0]
        for c in self.conns:
            popped = c.command("SPOP", "s", "2")
            self.assertEqual(len(set(popped)), 2)
            self.assertTrue(set(popped) <= set(before), (popped, before))
        self.both("SCARD", "s")
        self.both("SADD", "p", *[str(i) for i in range(50)])
        for _ in range(3):
            self.both("SCARD", "p")
            for c in self.conns:
                c.command("SPOP", "p", "20")
        self.both("EXISTS", "p")

    def test_set_converts_past_the_entries_limit_and_config_set_moves_it(self):
        self.both("SADD", "big", *[str(i) for i in range(512)])
        self.encoding("big", b"intset")
        self.both("SADD", "big", "512")
        self.encoding("big", b"hashtable")
        self.both("SREM", "big", "0", "1", "2")
        self.encoding("big", b"hashtable")
        self.read_set("big")
        self.both("CONFIG", "SET", "set-max-intset-entries", "4")
        self.assertEqual(self.both("CONFIG", "GET", "set-max-intset-entries"), [b"set-max-intset-entries", b"4"])
        self.both("SADD", "four", "1", "2", "3", "4")
        self.encoding("four", b"intset")
        self.both("SADD", "four", "4")
        self.encoding("four", b"intset")
        self.both("SADD", "four", "5")
        self.encoding("four", b"hashtable")
        self.both("SADD", "five", "1", "2", "3", "4", "5")  # one SADD past it too
        self.encoding("five", b"hashtable")
        self.both("CONFIG", "SET", "set-max-intset-entries", "0")
        self.both("SADD", "zero", "1")
        self.encoding("zero", b"hashtable")

    def test_set_store_copy_and_restore_pick_the_encoding_as_redis(self):
        self.both("SADD", "i", "1", "2", "3", "70000")
        self.both("SADD", "t", "2", "3", "x")
        self.both("SREM", "t", "x")  # a table of integers only
        self.encoding("t", b"hashtable")
        self.both("SADD", "str", "3", "y")
        # A *STORE result starts an intset and converts only if a member asks it to.
        for cmd, dst, enc in ((("SUNIONSTORE", "u", "i", "t"), "u", b"intset"),
                              (("SINTERSTORE", "n", "t", "i"), "n", b"intset"),
                              (("SDIFFSTORE", "d", "str", "t"), "d", b"hashtable"),
                              (("SDIFFSTORE", "d2", "t", "str"), "d2", b"intset"),
                              (("SUNIONSTORE", "u2", "i", "str"), "u2", b"hashtable")):
            self.both(*cmd)
            self.encoding(dst, enc)
            self.read_set(dst)
        # COPY keeps the source's encoding.
        self.both("COPY", "i", "c1")
        self.encoding("c1", b"intset")
        self.both("COPY", "t", "c2")
        self.encoding("c2", b"hashtable")
        # RESTORE: an intset when it fits, whatever form the payload has; each server's DUMP
        # also restores on the other.
        self.both("SADD", "wide", "-5000000000", "5")
        self.both("SADD", "narrowed", "-5000000000", "5")
        self.both("SREM", "narrowed", "-5000000000")  # an intset keeps its width
        for key in ("i", "t", "str", "wide", "narrowed"):
            payloads = [c.command("DUMP", key) for c in self.conns]
            if key in ("i", "wide", "narrowed"):
                self.assertEqual(payloads[1], payloads[0], key)  # intsets dump byte for byte
            for c in self.conns:
                for i, payload in enumerate(payloads):
                    c.command("RESTORE", "%s:back%d" % (key, i), "0", payload)
            for i in range(2):
                self.encoding("%s:back%d" % (key, i), b"hashtable" if key == "str" else b"intset")
                self.read_set("%s:back%d" % (key, i))
        # A payload of more integers than the limit loads as a table.
        self.both("SADD", "many", *[str(i) for i in range(10)])
        payloads = [c.command("DUMP", "many") for c in self.conns]
        self.both("CONFIG", "SET", "set-max-intset-entries", "5")
        for c in self.conns:
            for i, payload in enumerate(payloads):
                c.command("RESTORE", "many:back%d" % i, "0", payload)
        for i in range(2):
            self.encoding("many:back%d" % i, b"hashtable")

    def test_sorted_set_operations_over_intsets(self):
        # An intset holds no strings: the members the result keeps must outlive the walk.
        self.both("SADD", "one", "100", "101", "102", "103")
        self.both("SADD", "two", "100", "200", "201", "202")
        self.both("ZADD", "three", "1", "500", "1", "501", "1", "502", "1", "503", "1", "100")
        self.encoding("one", b"intset")
        for cmd in (("ZINTERSTORE", "to", "3", "one", "two", "three", "WEIGHTS", "0", "0", "1"),
                    ("ZRANGE", "to", "0", "-1", "WITHSCORES"),
                    ("ZUNIONSTORE", "u", "3", "one", "two", "three", "WEIGHTS", "1", "2", "3"),
                    ("ZRANGE", "u", "0", "-1", "WITHSCORES"),
                    ("ZUNION", "2", "one", "two", "WITHSCORES"),
                    ("ZINTER", "2", "one", "three", "WITHSCORES"),
                    ("ZDIFF", "2", "one", "two", "WITHSCORES"),
                    ("ZDIFFSTORE", "d", "2", "one", "two"), ("ZRANGE", "d", "0", "-1"),
                    ("ZINTERCARD", "2", "one", "two")):
            self.both(*cmd)


if __name__ == "__main__":
    unittest.main()
