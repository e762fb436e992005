"""List commands: LPUSH RPUSH LPUSHX RPUSHX LPOP RPOP LLEN LRANGE LINDEX LSET LREM LTRIM LINSERT
LPOS LMOVE RPOPLPUSH, and what the generic commands do with lists (TYPE, OBJECT ENCODING, DEL,
EXPIRE, RENAME). Written against redis-server 7.0; run unchanged against lfdb-server."""

import threading
import unittest

from lfdb_testlib import RawConnection, RespError, ServerTestCase

WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"
NOT_INT = "ERR value is not an integer or out of range"
POSITIVE = "ERR value is out of range, must be positive"


class ListPushPopTest(ServerTestCase):
    def test_push_order_and_length(self):
        self.assertEqual(self.call("RPUSH", "l", "a", "b"), 2)
        self.assertEqual(self.call("LPUSH", "l", "x", "y"), 4)
        self.assertEqual(self.call("LRANGE", "l", "0", "-1"), [b"y", b"x", b"a", b"b"])
        self.assertEqual(self.call("LLEN", "l"), 4)
        self.assertEqual(self.call("LLEN", "missing"), 0)

    def test_pushx_only_existing(self):
        self.assertEqual(self.call("LPUSHX", "l", "a"), 0)
        self.assertEqual(self.call("RPUSHX", "l", "a"), 0)
        self.assertEqual(self.call("EXISTS", "l"), 0)
        self.call("RPUSH", "l", "m")
        self.assertEqual(self.call("LPUSHX", "l", "a", "b"), 3)
        self.assertEqual(self.call("RPUSHX", "l", "z"), 4)
        self.assertEqual(self.call("LRANGE", "l", "0", "-1"), [b"b", b"a", b"m", b"z"])

    def test_pop_single_and_last_element_deletes(self):
        self.call("RPUSH", "l", "a", "b", "c")
        self.assertEqual(self.call("LPOP", "l"), b"a")
        self.assertEqual(self.call("RPOP", "l"), b"c")
        self.assertEqual(self.call("RPOP", "l"), b"b")
        self.assertEqual(self.call("EXISTS", "l"), 0)
        self.assertIsNone(self.call("LPOP", "l"))
        self.assertIsNone(self.call("RPOP", "l"))

    def test_pop_with_count(self):
        self.call("RPUSH", "l", "a", "b", "c", "d")
        self.assertEqual(self.call("LPOP", "l", "2"), [b"a", b"b"])
        self.assertEqual(self.call("RPOP", "l", "0"), [])
        self.assertEqual(self.call("RPOP", "l", "10"), [b"d", b"c"])
        self.assertEqual(self.call("EXISTS", "l"), 0)
        self.assertIsNone(self.call("LPOP", "l", "2"))  # nil array
        self.assertErrorReply(POSITIVE, "LPOP", "l", "-1")
        self.assertErrorReply(POSITIVE, "RPOP", "l", "x")
        self.assertErrorReply("ERR wrong number of arguments for 'lpop' command", "LPOP", "l", "1", "2")

    def test_resp3_null_array(self):
        with RawConnection(self.port) as c:
            c.command("HELLO", "3")
            c.send_command("LPOP", "missing", "2")
            self.assertEqual(c.read_reply(), b"_\r\n")
            c.send_command("LPOP", "missing")
            self.assertEqual(c.read_reply(), b"_\r\n")


class ListIndexTest(ServerTestCase):
    def setUp(self):
        super().setUp()
        self.call("RPUSH", "l", "a", "b", "c", "d", "e")

    def test_lrange(self):
        self.assertEqual(self.call("LRANGE", "l", "1", "2"), [b"b", b"c"])
        self.assertEqual(self.call("LRANGE", "l", "-2", "-1"), [b"d", b"e"])
        self.assertEqual(self.call("LRANGE", "l", "-100", "100"), [b"a", b"b", b"c", b"d", b"e"])
        self.assertEqual(self.call("LRANGE", "l", "3", "1"), [])
        self.assertEqual(self.call("LRANGE", "l", "5", "10"), [])
        self.assertEqual(self.call("LRANGE", "missing", "0", "-1"), [])
        self.assertErrorReply(NOT_INT, "LRANGE", "l", "a", "1")

    def test_lindex_lset(self):
        self.assertEqual(self.call("LINDEX", "l", "0"), b"a")
        self.assertEqual(self.call("LINDEX", "l", "-1"), b"e")
        self.assertIsNone(self.call("LINDEX", "l", "5"))
        self.assertIsNone(self.call("LINDEX", "missing", "0"))
        self.assertErrorReply(NOT_INT, "LINDEX", "l", "x")
        self.assertEqual(self.call("LSET", "l", "-2", "D"), b"OK")
        self.assertEqual(self.call("LINDEX", "l", "3"), b"D")
        self.assertErrorReply("ERR index out of range", "LSET", "l", "5", "x")
        self.assertErrorReply("ERR no such key", "LSET", "missing", "0", "x")

    def test_ltrim(self):
        self.assertEqual(self.call("LTRIM", "l", "1", "-2"), b"OK")
        self.assertEqual(self.call("LRANGE", "l", "0", "-1"), [b"b", b"c", b"d"])
        self.assertEqual(self.call("LTRIM", "l", "5", "10"), b"OK")
        self.assertEqual(self.call("EXISTS", "l"), 0)
        self.assertEqual(self.call("LTRIM", "missing", "0", "1"), b"OK")

    def test_lrem(self):
        self.call("DEL", "l")
        self.call("RPUSH", "l", "x", "a", "x", "b", "x", "c", "x")
        self.assertEqual(self.call("LREM", "l", "2", "x"), 2)
        self.assertEqual(self.call("LRANGE", "l", "0", "-1"), [b"a", b"b", b"x", b"c", b"x"])
        self.assertEqual(self.call("LREM", "l", "-1", "x"), 1)
        self.assertEqual(self.call("LRANGE", "l", "0", "-1"), [b"a", b"b", b"x", b"c"])
        self.assertEqual(self.call("LREM", "l", "0", "x"), 1)
        self.assertEqual(self.call("LREM", "l", "0", "nothing"), 0)
        self.assertEqual(self.call("LREM", "missing", "0", "x"), 0)
        self.assertEqual(self.call("LREM", "l", "0", "a"), 1)
        self.call("LREM", "l", "0", "b")
        self.call("LREM", "l", "0", "c")
        self.assertEqual(self.call("EXISTS", "l"), 0)

    def test_linsert(self):
        self.assertEqual(self.call("LINSERT", "l", "BEFORE", "c", "X"), 6)
        self.assertEqual(self.call("LINSERT", "l", "after", "e", "Y"), 7)
        self.assertEqual(self.call("LRANGE", "l", "0", "-1"),
                         [b"a", b"b", b"X", b"c", b"d", b"e", b"Y"])
        self.assertEqual(self.call("LINSERT", "l", "BEFORE", "nope", "Z"), -1)
        self.assertEqual(self.call("LINSERT", "missing", "BEFORE", "a", "Z"), 0)
        self.assertErrorReply("ERR syntax error", "LINSERT", "l", "MIDDLE", "a", "Z")

    def test_lpos(self):
        self.call("DEL", "l")
        self.call("RPUSH", "l", "a", "b", "c", "1", "2", "3", "c", "c")
        self.assertEqual(self.call("LPOS", "l", "c"), 2)
        self.assertEqual(self.call("LPOS", "l", "c", "RANK", "2"), 6)
        self.assertEqual(self.call("LPOS", "l", "c", "RANK", "-1"), 7)
        self.assertEqual(self.call("LPOS", "l", "c", "COUNT", "0"), [2, 6, 7])
        self.assertEqual(self.call("LPOS", "l", "c", "COUNT", "2", "RANK", "-1"), [7, 6])
        self.assertEqual(self.call("LPOS", "l", "c", "COUNT", "0", "MAXLEN", "7"), [2, 6])
        self.assertIsNone(self.call("LPOS", "l", "zz"))
        self.assertEqual(self.call("LPOS", "l", "zz", "COUNT", "0"), [])
        self.assertIsNone(self.call("LPOS", "missing", "a"))
        self.assertEqual(self.call("LPOS", "missing", "a", "COUNT", "1"), [])
        self.assertErrorPrefix("ERR RANK can't be zero", "LPOS", "l", "c", "RANK", "0")
        self.assertErrorReply("ERR COUNT can't be negative", "LPOS", "l", "c", "COUNT", "-1")
        self.assertErrorReply("ERR MAXLEN can't be negative", "LPOS", "l", "c", "MAXLEN", "-1")
        self.assertErrorReply("ERR syntax error", "LPOS", "l", "c", "FOO", "1")
        self.assertErrorReply("ERR syntax error", "LPOS", "l", "c", "RANK")
        self.assertErrorReply(NOT_INT, "LPOS", "l", "c", "RANK", "x")


class ListMoveTest(ServerTestCase):
    def test_lmove_directions(self):
        self.call("RPUSH", "src", "a", "b", "c")
        self.assertEqual(self.call("LMOVE", "src", "dst", "LEFT", "RIGHT"), b"a")
        self.assertEqual(self.call("LMOVE", "src", "dst", "right", "left"), b"c")
        self.assertEqual(self.call("LRANGE", "dst", "0", "-1"), [b"c", b"a"])
        self.assertEqual(self.call("RPOPLPUSH", "src", "dst"), b"b")
        self.assertEqual(self.call("EXISTS", "src"), 0)
        self.assertEqual(self.call("LRANGE", "dst", "0", "-1"), [b"b", b"c", b"a"])
        self.assertIsNone(self.call("LMOVE", "src", "dst", "LEFT", "LEFT"))
        self.assertIsNone(self.call("RPOPLPUSH", "src", "dst"))
        self.assertErrorReply("ERR syntax error", "LMOVE", "dst", "x", "UP", "LEFT")

    def test_rotate_same_key(self):
        self.call("RPUSH", "l", "a", "b", "c")
        self.assertEqual(self.call("RPOPLPUSH", "l", "l"), b"c")
        self.assertEqual(self.call("LRANGE", "l", "0", "-1"), [b"c", b"a", b"b"])
        self.call("DEL", "one")
        self.call("RPUSH", "one", "x")
        self.assertEqual(self.call("LMOVE", "one", "one", "LEFT", "RIGHT"), b"x")
        self.assertEqual(self.call("LRANGE", "one", "0", "-1"), [b"x"])

    def test_wrong_type_destination_pops_nothing(self):
        self.call("RPUSH", "l", "a")
        self.call("SET", "s", "v")
        self.assertErrorReply(WRONGTYPE, "LMOVE", "l", "s", "LEFT", "LEFT")
        self.assertErrorReply(WRONGTYPE, "RPOPLPUSH", "l", "s")
        self.assertEqual(self.call("LRANGE", "l", "0", "-1"), [b"a"])
        self.assertErrorReply(WRONGTYPE, "RPOPLPUSH", "s", "l")
        self.assertIsNone(self.call("RPOPLPUSH", "missing", "s"))


class ListGenericTest(ServerTestCase):
    def test_wrongtype_everywhere(self):
        self.call("SET", "s", "v")
        for args in (("LPUSH", "s", "a"), ("RPUSH", "s", "a"), ("LPUSHX", "s", "a"),
                     ("LPOP", "s"), ("RPOP", "s", "2"), ("LLEN", "s"), ("LRANGE", "s", "0", "1"),
                     ("LINDEX", "s", "0"), ("LSET", "s", "0", "a"), ("LREM", "s", "0", "a"),
                     ("LTRIM", "s", "0", "1"), ("LINSERT", "s", "BEFORE", "a", "b"),
                     ("LPOS", "s", "a")):
            self.assertErrorReply(WRONGTYPE, *args)
        self.call("RPUSH", "l", "a")
        self.assertErrorReply(WRONGTYPE, "GET", "l")
        self.assertErrorReply(WRONGTYPE, "HSET", "l", "f", "v")
        self.assertEqual(self.call("SET", "l", "now a string"), b"OK")
        self.assertEqual(self.call("TYPE", "l"), b"string")

    def test_type_encoding_del_expire_rename(self):
        self.call("RPUSH", "l", "a", "b")
        self.assertEqual(self.call("TYPE", "l"), b"list")
        self.assertEqual(self.call("OBJECT", "ENCODING", "l"), b"quicklist")
        self.assertEqual(self.call("EXPIRE", "l", "100"), 1)
        self.assertGreater(self.call("TTL", "l"), 0)
        self.assertEqual(self.call("RENAME", "l", "l2"), b"OK")
        self.assertEqual(self.call("LRANGE", "l2", "0", "-1"), [b"a", b"b"])
        self.assertGreater(self.call("TTL", "l2"), 0)
        self.assertEqual(self.call("SCAN", "0", "TYPE", "list", "COUNT", "1000"), [b"0", [b"l2"]])
        self.assertEqual(self.call("DEL", "l2"), 1)
        self.assertEqual(self.call("EXISTS", "l2"), 0)

    def test_binary_and_large(self):
        blob = bytes(range(256)) * 4
        self.rb.rpush("l", blob, b"", b"\r\n")
        self.assertEqual(self.rb.lrange("l", 0, -1), [blob, b"", b"\r\n"])
        self.r.delete("big")
        self.r.rpush("big", *["e%d" % i for i in range(5000)])
        self.assertEqual(self.call("LLEN", "big"), 5000)
        self.assertEqual(self.call("LINDEX", "big", "4321"), b"e4321")
        self.assertEqual(self.call("LRANGE", "big", "-2", "-1"), [b"e4998", b"e4999"])

    def test_arity(self):
        for args in (("LPUSH", "l"), ("LLEN",), ("LRANGE", "l", "0"), ("LINSERT", "l", "BEFORE", "a"),
                     ("LMOVE", "a", "b", "LEFT"), ("RPOPLPUSH", "a")):
            self.assertErrorReply("ERR wrong number of arguments for '%s' command" % args[0].lower(),
                                  *args)

    def test_in_transaction_and_script(self):
        p = self.r.pipeline(transaction=True)
        p.rpush("l", "a", "b").lpop("l").llen("l")
        self.assertEqual(p.execute(), [2, "a", 1])
        self.assertEqual(self.r.eval("redis.call('rpush', KEYS[1], 'x', 'y'); "
                                     "return redis.call('lrange', KEYS[1], 0, -1)", 1, "l"),
                         ["b", "x", "y"])
        self.assertIsNone(self.r.eval("return redis.call('lpop', KEYS[1], 2)", 1, "nokey"))
        self.assertEqual(self.r.eval("return redis.call('lpos', KEYS[1], 'zz')", 1, "l"), None)


class ContainerConcurrencyTest(ServerTestCase):
    """Multi-key moves from several connections at once: each takes both keys' colors in the
    scheduler's fixed order, so none is lost or doubled and nothing deadlocks."""

    def hammer(self, fn, threads=4, rounds=300):
        errors = []

        def run(i):
            c = self.client()
            try:
                for j in range(rounds):
                    fn(c, i, j)
            except Exception as e:  # reported below
                errors.append(e)

        ts = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(60)
        self.assertEqual(errors, [])

    def test_moves_between_lists_sets_and_sorted_sets(self):
        keys = ["ca", "cb", "cc"]  # different colors (no hash tag)
        self.r.rpush("ca", *range(100))
        self.r.sadd("sa", *range(100))
        self.r.zadd("za", {str(i): i for i in range(100)})

        def step(c, i, j):
            a, b = keys[(i + j) % 3], keys[(i + j + 1) % 3]
            c.lmove(a, b, "LEFT", "RIGHT")
            c.rpoplpush(b, a)
            m = str((i * 7 + j) % 100)
            c.smove("s" + a[1], "s" + b[1], m)
            c.zunionstore("zu%d" % i, ["za", "z" + b[1]])
            if c.zrem("za", m):
                c.zadd("z" + b[1], {m: j})
            c.zadd("za", {m: 0}, nx=True)

        self.hammer(step)
        self.assertEqual(sum(self.r.llen(k) for k in keys), 100)
        self.assertEqual(sorted(int(x) for k in keys for x in self.r.lrange(k, 0, -1)), list(range(100)))
        members = [m for k in ("sa", "sb", "sc") for m in self.r.smembers(k)]
        self.assertEqual(sorted(int(x) for x in members), list(range(100)))
        self.assertEqual(self.r.zcard("za"), 100)


if __name__ == "__main__":
    unittest.main()
