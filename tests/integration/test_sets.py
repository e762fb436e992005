"""Set commands: SADD SREM SMEMBERS SISMEMBER SMISMEMBER SCARD SPOP SRANDMEMBER SINTER SUNION
SDIFF SINTERSTORE SUNIONSTORE SDIFFSTORE SINTERCARD SMOVE SSCAN, and the generic commands over
sets. Member order is not part of the contract: replies are compared as sets."""

import unittest

from lfdb_testlib import RawConnection, RespError, ServerTestCase

WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"
NOT_INT = "ERR value is not an integer or out of range"
POSITIVE = "ERR value is out of range, must be positive"


def members(reply):
    return sorted(reply)


class SetBasicsTest(ServerTestCase):
    def test_sadd_srem_scard(self):
        self.assertEqual(self.call("SADD", "s", "a", "b", "a"), 2)
        self.assertEqual(self.call("SADD", "s", "b", "c"), 1)
        self.assertEqual(self.call("SCARD", "s"), 3)
        self.assertEqual(self.call("SCARD", "missing"), 0)
        self.assertEqual(self.call("SREM", "s", "a", "zz"), 1)
        self.assertEqual(self.call("SREM", "missing", "a"), 0)
        self.assertEqual(members(self.call("SMEMBERS", "s")), [b"b", b"c"])
        self.assertEqual(self.call("SREM", "s", "b", "c"), 2)
        self.assertEqual(self.call("EXISTS", "s"), 0)
        self.assertEqual(self.call("SMEMBERS", "s"), [])

    def test_ismember(self):
        self.call("SADD", "s", "a", "b")
        self.assertEqual(self.call("SISMEMBER", "s", "a"), 1)
        self.assertEqual(self.call("SISMEMBER", "s", "z"), 0)
        self.assertEqual(self.call("SISMEMBER", "missing", "z"), 0)
        self.assertEqual(self.call("SMISMEMBER", "s", "a", "z", "b"), [1, 0, 1])
        self.assertEqual(self.call("SMISMEMBER", "missing", "a"), [0])

    def test_resp3_sets(self):
        self.call("SADD", "s", "a")
        with RawConnection(self.port) as c:
            c.command("HELLO", "3")
            c.send_command("SMEMBERS", "s")
            self.assertEqual(c.read_reply(), b"~1\r\n$1\r\na\r\n")
            c.send_command("SINTER", "missing")
            self.assertEqual(c.read_reply(), b"~0\r\n")
            c.send_command("SPOP", "missing", "3")
            self.assertEqual(c.read_reply(), b"~0\r\n")
            c.send_command("SRANDMEMBER", "missing", "3")
            self.assertEqual(c.read_reply(), b"*0\r\n")

    def test_encoding_and_type(self):
        self.call("SADD", "n", "1", "2", "-3")
        self.assertEqual(self.call("TYPE", "n"), b"set")
        self.assertEqual(self.call("OBJECT", "ENCODING", "n"), b"intset")
        self.call("SADD", "n", "x")
        self.assertEqual(self.call("OBJECT", "ENCODING", "n"), b"hashtable")

    def test_wrongtype(self):
        self.call("SET", "str", "v")
        for args in (("SADD", "str", "a"), ("SREM", "str", "a"), ("SMEMBERS", "str"),
                     ("SISMEMBER", "str", "a"), ("SMISMEMBER", "str", "a"), ("SCARD", "str"),
                     ("SPOP", "str"), ("SRANDMEMBER", "str"), ("SINTER", "missing", "str"),
                     ("SUNION", "str"), ("SDIFF", "missing", "str"),
                     ("SINTERSTORE", "d", "str"), ("SINTERCARD", "1", "str"), ("SSCAN", "str", "0")):
            self.assertErrorReply(WRONGTYPE, *args)
        self.call("SADD", "s", "a")
        self.assertErrorReply(WRONGTYPE, "LPUSH", "s", "a")
        self.assertErrorReply(WRONGTYPE, "GET", "s")


class SetRandomTest(ServerTestCase):
    def setUp(self):
        super().setUp()
        self.call("SADD", "s", *["m%d" % i for i in range(10)])

    def test_spop(self):
        got = self.call("SPOP", "s")
        self.assertTrue(got.startswith(b"m"))
        self.assertEqual(self.call("SISMEMBER", "s", got), 0)
        popped = self.call("SPOP", "s", "4")
        self.assertEqual(len(set(popped)), 4)
        self.assertEqual(self.call("SCARD", "s"), 5)
        self.assertEqual(self.call("SPOP", "s", "0"), [])
        rest = self.call("SPOP", "s", "100")
        self.assertEqual(len(rest), 5)
        self.assertEqual(self.call("EXISTS", "s"), 0)
        self.assertIsNone(self.call("SPOP", "s"))
        self.assertEqual(self.call("SPOP", "s", "2"), [])
        self.assertErrorReply(POSITIVE, "SPOP", "s", "-1")
        self.assertErrorReply("ERR syntax error", "SPOP", "s", "1", "2")

    def test_srandmember(self):
        one = self.call("SRANDMEMBER", "s")
        self.assertEqual(self.call("SISMEMBER", "s", one), 1)
        distinct = self.call("SRANDMEMBER", "s", "6")
        self.assertEqual(len(set(distinct)), 6)
        self.assertEqual(len(self.call("SRANDMEMBER", "s", "50")), 10)
        many = self.call("SRANDMEMBER", "s", "-50")
        self.assertEqual(len(many), 50)
        self.assertTrue(set(many) <= set(self.call("SMEMBERS", "s")))
        self.assertEqual(self.call("SCARD", "s"), 10)
        self.assertEqual(self.call("SRANDMEMBER", "s", "0"), [])
        self.assertIsNone(self.call("SRANDMEMBER", "missing"))
        self.assertEqual(self.call("SRANDMEMBER", "missing", "-3"), [])
        self.assertErrorReply(NOT_INT, "SRANDMEMBER", "s", "x")
        self.assertErrorReply("ERR syntax error", "SRANDMEMBER", "s", "1", "2")
        self.assertErrorReply(
            "ERR value is out of range, value must between -9223372036854775807 and "
            "9223372036854775807", "SRANDMEMBER", "s", "-9223372036854775808")


class SetAlgebraTest(ServerTestCase):
    def setUp(self):
        super().setUp()
        self.call("SADD", "{t}a", "1", "2", "3", "4")
        self.call("SADD", "{t}b", "3", "4", "5")
        self.call("SADD", "{t}c", "4", "5", "6")

    def test_inter_union_diff(self):
        self.assertEqual(members(self.call("SINTER", "{t}a", "{t}b", "{t}c")), [b"4"])
        self.assertEqual(members(self.call("SUNION", "{t}a", "{t}c")),
                         [b"1", b"2", b"3", b"4", b"5", b"6"])
        self.assertEqual(members(self.call("SDIFF", "{t}a", "{t}b")), [b"1", b"2"])
        self.assertEqual(members(self.call("SDIFF", "{t}a", "{t}b", "{t}x")), [b"1", b"2"])
        self.assertEqual(self.call("SDIFF", "{t}a", "{t}a"), [])
        self.assertEqual(self.call("SINTER", "{t}a", "{t}x"), [])
        self.assertEqual(members(self.call("SUNION", "{t}x", "{t}b")), [b"3", b"4", b"5"])
        self.assertEqual(self.call("SDIFF", "{t}x", "{t}a"), [])

    def test_store(self):
        self.call("SET", "{t}d", "a string, replaced")
        self.assertEqual(self.call("SINTERSTORE", "{t}d", "{t}a", "{t}b"), 2)
        self.assertEqual(members(self.call("SMEMBERS", "{t}d")), [b"3", b"4"])
        self.assertEqual(self.call("SUNIONSTORE", "{t}d", "{t}d", "{t}c"), 4)
        self.assertEqual(members(self.call("SMEMBERS", "{t}d")), [b"3", b"4", b"5", b"6"])
        self.assertEqual(self.call("SDIFFSTORE", "{t}d", "{t}d", "{t}a"), 2)
        self.assertEqual(members(self.call("SMEMBERS", "{t}d")), [b"5", b"6"])
        self.assertEqual(self.call("SINTERSTORE", "{t}d", "{t}a", "{t}x"), 0)
        self.assertEqual(self.call("EXISTS", "{t}d"), 0)

    def test_sintercard(self):
        self.assertEqual(self.call("SINTERCARD", "2", "{t}a", "{t}b"), 2)
        self.assertEqual(self.call("SINTERCARD", "2", "{t}a", "{t}b", "LIMIT", "1"), 1)
        self.assertEqual(self.call("SINTERCARD", "2", "{t}a", "{t}b", "LIMIT", "0"), 2)
        self.assertEqual(self.call("SINTERCARD", "1", "{t}x"), 0)
        self.assertErrorReply("ERR numkeys should be greater than 0", "SINTERCARD", "0", "{t}a")
        self.assertErrorReply("ERR numkeys should be greater than 0", "SINTERCARD", "x", "{t}a")
        self.assertErrorReply("ERR Number of keys can't be greater than number of args",
                              "SINTERCARD", "3", "{t}a", "{t}b")
        self.assertErrorReply("ERR LIMIT can't be negative",
                              "SINTERCARD", "1", "{t}a", "LIMIT", "-1")
        self.assertErrorReply("ERR syntax error", "SINTERCARD", "1", "{t}a", "FOO", "1")
        self.assertErrorReply("ERR LIMIT can't be negative",
                              "SINTERCARD", "1", "{t}a", "LIMIT", "a")

    def test_smove(self):
        self.assertEqual(self.call("SMOVE", "{t}a", "{t}n", "1"), 1)
        self.assertEqual(self.call("SMEMBERS", "{t}n"), [b"1"])
        self.assertEqual(self.call("SMOVE", "{t}a", "{t}n", "1"), 0)
        self.assertEqual(self.call("SMOVE", "{t}a", "{t}a", "2"), 1)
        self.assertEqual(self.call("SMOVE", "{t}a", "{t}a", "9"), 0)
        self.call("SET", "{t}s", "v")
        self.assertErrorReply(WRONGTYPE, "SMOVE", "{t}a", "{t}s", "2")
        self.assertEqual(self.call("SMOVE", "{t}missing", "{t}s", "2"), 0)
        self.assertEqual(self.call("SMOVE", "{t}n", "{t}b", "1"), 1)
        self.assertEqual(self.call("EXISTS", "{t}n"), 0)

    def test_smove_to_a_set_that_has_the_member_leaves_it_unchanged(self):
        # Only the source changed: a transaction watching the destination still runs.
        self.call("SADD", "{t}src", "a", "b")
        self.call("SADD", "{t}dst", "a")
        w = self.client()
        with w.pipeline(transaction=True) as pipe:
            pipe.watch("{t}dst")
            pipe.multi()
            pipe.sadd("{t}dst", "c")
            self.assertEqual(self.call("SMOVE", "{t}src", "{t}dst", "a"), 1)
            self.assertEqual(pipe.execute(), [1])
        self.assertEqual(self.call("SCARD", "{t}dst"), 2)
        self.assertEqual(self.call("SMEMBERS", "{t}src"), [b"b"])


class SetScanTest(ServerTestCase):
    def sscan_all(self, key, *opts):
        cursor, out, rounds = b"0", set(), 0
        while True:
            cursor, batch = self.call("SSCAN", key, cursor, *opts)
            out.update(batch)
            rounds += 1
            self.assertLess(rounds, 100000)
            if cursor == b"0":
                return out

    def test_sscan(self):
        self.call("SADD", "s", *["m%d" % i for i in range(1200)])
        self.assertEqual(len(self.sscan_all("s", "COUNT", "50")), 1200)
        self.assertEqual(self.sscan_all("s", "MATCH", "m11??"),
                         {("m%d" % i).encode() for i in range(1100, 1200)})
        self.assertEqual(self.call("SSCAN", "missing", "0"), [b"0", []])
        self.assertErrorReply("ERR syntax error", "SSCAN", "s", "0", "COUNT", "0")
        self.assertErrorReply("ERR invalid cursor", "SSCAN", "s", "x")

    def test_script_and_transaction(self):
        self.assertEqual(self.r.eval("redis.call('sadd', KEYS[1], 'a', 'b'); "
                                     "return redis.call('scard', KEYS[1])", 1, "s"), 2)
        self.assertEqual(sorted(self.r.eval("return redis.call('smembers', KEYS[1])", 1, "s")),
                         ["a", "b"])
        p = self.r.pipeline(transaction=True)
        p.srem("s", "a").sismember("s", "b").spop("s")
        self.assertEqual(p.execute(), [1, 1, "b"])


if __name__ == "__main__":
    unittest.main()
