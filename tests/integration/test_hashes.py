"""Hash commands: HSET HSETNX HGET HMGET HMSET HGETALL HDEL HLEN HEXISTS HKEYS HVALS HINCRBY
HINCRBYFLOAT HSTRLEN HRANDFIELD HSCAN. Field order is not part of the contract: replies are
compared as sets/dicts."""

import unittest

from lfdb_testlib import RespError, ServerTestCase

WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"
NOT_INT = "ERR value is not an integer or out of range"


def pairs(flat):
    """[f1, v1, f2, v2, ...] -> {f1: v1, ...} (bytes decoded)."""
    flat = [x.decode() if isinstance(x, bytes) else x for x in flat]
    assert len(flat) % 2 == 0, flat
    return dict(zip(flat[::2], flat[1::2]))


class HashBasicsTest(ServerTestCase):
    def test_hset_returns_added_count(self):
        self.assertEqual(self.call("HSET", "h", "a", "1", "b", "2"), 2)
        self.assertEqual(self.call("HSET", "h", "a", "3", "c", "4"), 1)
        self.assertEqual(self.call("HSET", "h", "a", "5"), 0)
        self.assertEqual(pairs(self.call("HGETALL", "h")), {"a": "5", "b": "2", "c": "4"})

    def test_hset_same_field_twice_in_one_call(self):
        self.assertEqual(self.call("HSET", "h", "a", "1", "a", "2"), 1)
        self.assertEqual(self.call("HGET", "h", "a"), b"2")

    def test_hset_odd_arguments(self):
        msg = "ERR wrong number of arguments for 'hset' command"
        self.assertErrorReply(msg, "HSET", "h", "a")
        self.assertErrorReply(msg, "HSET", "h", "a", "1", "b")
        self.assertErrorReply(msg, "HSET", "h")
        self.assertEqual(self.call("EXISTS", "h"), 0)

    def test_hsetnx(self):
        self.assertEqual(self.call("HSETNX", "h", "a", "1"), 1)
        self.assertEqual(self.call("HSETNX", "h", "a", "2"), 0)
        self.assertEqual(self.call("HGET", "h", "a"), b"1")

    def test_hget_hmget(self):
        self.r.hset("h", mapping={"a": "1", "b": "2"})
        self.assertEqual(self.call("HGET", "h", "a"), b"1")
        self.assertIsNone(self.call("HGET", "h", "nofield"))
        self.assertIsNone(self.call("HGET", "missing", "a"))
        self.assertEqual(self.call("HMGET", "h", "a", "nofield", "b"), [b"1", None, b"2"])
        self.assertEqual(self.call("HMGET", "missing", "a", "b"), [None, None])

    def test_hmset(self):
        self.assertEqual(self.call("HMSET", "h", "a", "1", "b", "2"), b"OK")
        self.assertEqual(self.call("HMSET", "h", "a", "3"), b"OK")
        self.assertEqual(pairs(self.call("HGETALL", "h")), {"a": "3", "b": "2"})
        self.assertErrorReply("ERR wrong number of arguments for 'hmset' command", "HMSET", "h", "x")

    def test_hgetall_hkeys_hvals(self):
        self.r.hset("h", mapping={"a": "1", "b": "2", "c": "3"})
        reply = self.call("HGETALL", "h")
        self.assertEqual(len(reply), 6)
        self.assertEqual(pairs(reply), {"a": "1", "b": "2", "c": "3"})
        self.assertEqual(sorted(self.call("HKEYS", "h")), [b"a", b"b", b"c"])
        self.assertEqual(sorted(self.call("HVALS", "h")), [b"1", b"2", b"3"])
        # HKEYS and HVALS come in the same order as HGETALL
        self.assertEqual(self.call("HKEYS", "h"), reply[::2])
        self.assertEqual(self.call("HVALS", "h"), reply[1::2])
        for cmd in ("HGETALL", "HKEYS", "HVALS"):
            self.assertEqual(self.call(cmd, "missing"), [])

    def test_hdel(self):
        self.r.hset("h", mapping={"a": "1", "b": "2", "c": "3"})
        self.assertEqual(self.call("HDEL", "h", "a", "a", "nofield"), 1)
        self.assertEqual(self.call("HDEL", "h", "b", "c"), 2)
        # the last field gone removes the key
        self.assertEqual(self.call("EXISTS", "h"), 0)
        self.assertEqual(self.call("HDEL", "missing", "a"), 0)

    def test_hlen_hexists(self):
        self.assertEqual(self.call("HLEN", "h"), 0)
        self.r.hset("h", mapping={"a": "1", "b": "2"})
        self.assertEqual(self.call("HLEN", "h"), 2)
        self.assertEqual(self.call("HEXISTS", "h", "a"), 1)
        self.assertEqual(self.call("HEXISTS", "h", "z"), 0)
        self.assertEqual(self.call("HEXISTS", "missing", "a"), 0)

    def test_hstrlen(self):
        self.r.hset("h", mapping={"s": "hello", "n": "12345", "e": ""})
        self.assertEqual(self.call("HSTRLEN", "h", "s"), 5)
        self.assertEqual(self.call("HSTRLEN", "h", "n"), 5)
        self.assertEqual(self.call("HSTRLEN", "h", "e"), 0)
        self.assertEqual(self.call("HSTRLEN", "h", "nofield"), 0)
        self.assertEqual(self.call("HSTRLEN", "missing", "f"), 0)

    def test_binary_fields_and_values(self):
        field, value = b"f\x00\r\n\xff", b"v\r\n\x00" + bytes(range(256))
        self.rb.hset(b"h", field, value)
        self.assertEqual(self.rb.hget(b"h", field), value)
        self.assertEqual(self.rb.hgetall(b"h"), {field: value})
        self.assertEqual(self.rb.hstrlen(b"h", field), len(value))

    def test_large_hash(self):
        # big enough to leave the compact encoding in redis
        mapping = {"field:%d" % i: "value:%d" % i for i in range(2000)}
        self.r.hset("big", mapping=mapping)
        self.r.hset("bigval", "f", "x" * 100000)
        self.assertEqual(self.call("HLEN", "big"), 2000)
        self.assertEqual(self.r.hgetall("big"), mapping)
        self.assertEqual(self.call("HGET", "big", "field:1234"), b"value:1234")
        self.assertEqual(self.call("HSTRLEN", "bigval", "f"), 100000)
        self.assertEqual(self.call("HDEL", "big", *["field:%d" % i for i in range(1000)]), 1000)
        self.assertEqual(self.call("HLEN", "big"), 1000)

    def test_wrongtype(self):
        self.r.set("s", "v")
        for cmd in (("HSET", "s", "a", "b"), ("HSETNX", "s", "a", "b"), ("HGET", "s", "a"),
                    ("HMGET", "s", "a"), ("HMSET", "s", "a", "b"), ("HGETALL", "s"),
                    ("HDEL", "s", "a"), ("HLEN", "s"), ("HEXISTS", "s", "a"), ("HKEYS", "s"),
                    ("HVALS", "s"), ("HINCRBY", "s", "a", "1"), ("HINCRBYFLOAT", "s", "a", "1"),
                    ("HSTRLEN", "s", "a"), ("HRANDFIELD", "s"), ("HSCAN", "s", "0")):
            self.assertEqual(self.call(*cmd), RespError(WRONGTYPE), cmd)
        self.assertEqual(self.r.get("s"), "v")

    def test_arity(self):
        for cmd in ("HGET", "HDEL", "HEXISTS", "HSTRLEN", "HMGET", "HINCRBY"):
            self.assertErrorReply("ERR wrong number of arguments for '%s' command" % cmd.lower(),
                                  cmd, "h")
        self.assertErrorReply("ERR wrong number of arguments for 'hgetall' command", "HGETALL")
        self.assertErrorReply("ERR wrong number of arguments for 'hlen' command", "HLEN", "a", "b")


class HashCounterTest(ServerTestCase):
    def test_hincrby(self):
        self.assertEqual(self.call("HINCRBY", "h", "n", "5"), 5)
        self.assertEqual(self.call("HINCRBY", "h", "n", "-7"), -2)
        self.assertEqual(self.call("HGET", "h", "n"), b"-2")
        self.assertEqual(self.call("HINCRBY", "h", "m", "0"), 0)

    def test_hincrby_errors(self):
        self.r.hset("h", mapping={"str": "abc", "fl": "1.5", "sp": " 1", "big": "9223372036854775807"})
        for f in ("str", "fl", "sp"):
            self.assertErrorReply("ERR hash value is not an integer", "HINCRBY", "h", f, "1")
        self.assertErrorReply("ERR increment or decrement would overflow", "HINCRBY", "h", "big", "1")
        self.assertErrorReply(NOT_INT, "HINCRBY", "h", "n", "abc")
        self.assertErrorReply(NOT_INT, "HINCRBY", "h", "n", "1.5")
        self.assertEqual(self.call("HEXISTS", "h", "n"), 0)

    def test_hincrbyfloat(self):
        self.r.hset("h", "f", "10.5")
        self.assertEqual(self.call("HINCRBYFLOAT", "h", "f", "0.1"), b"10.6")
        self.assertEqual(self.call("HGET", "h", "f"), b"10.6")
        self.assertEqual(self.call("HINCRBYFLOAT", "h", "g", "5.0e3"), b"5000")
        self.assertEqual(self.call("HINCRBYFLOAT", "h", "g", "-5000"), b"0")
        self.assertEqual(self.call("HINCRBYFLOAT", "h", "i", "1e-5"), b"0.00001")
        self.r.hset("h", "n", "3")
        self.assertEqual(self.call("HINCRBYFLOAT", "h", "n", "1.25"), b"4.25")

    def test_hincrbyfloat_errors(self):
        self.r.hset("h", mapping={"str": "abc", "sp": " 1", "f": "1"})
        for f in ("str", "sp"):
            self.assertErrorReply("ERR hash value is not a float", "HINCRBYFLOAT", "h", f, "1")
        self.assertErrorReply("ERR value is not a valid float", "HINCRBYFLOAT", "h", "f", "abc")
        # note: differs from INCRBYFLOAT's "ERR increment would produce NaN or Infinity"
        self.assertErrorReply("ERR value is NaN or Infinity", "HINCRBYFLOAT", "h", "f", "inf")
        self.assertEqual(self.call("HGET", "h", "f"), b"1")


class HRandFieldTest(ServerTestCase):
    FIELDS = {"f%d" % i: "v%d" % i for i in range(10)}

    def setUp(self):
        super().setUp()
        self.r.hset("h", mapping=self.FIELDS)

    def test_single(self):
        for _ in range(20):
            self.assertIn(self.call("HRANDFIELD", "h").decode(), self.FIELDS)
        self.assertIsNone(self.call("HRANDFIELD", "missing"))

    def test_positive_count_distinct(self):
        reply = self.call("HRANDFIELD", "h", "5")
        self.assertEqual(len(reply), 5)
        self.assertEqual(len(set(reply)), 5)
        self.assertTrue({f.decode() for f in reply} <= set(self.FIELDS))
        # more than the hash has: every field once
        reply = self.call("HRANDFIELD", "h", "100")
        self.assertEqual(sorted(f.decode() for f in reply), sorted(self.FIELDS))

    def test_negative_count_may_repeat(self):
        reply = self.call("HRANDFIELD", "h", "-30")
        self.assertEqual(len(reply), 30)
        self.assertTrue({f.decode() for f in reply} <= set(self.FIELDS))
        self.assertLess(len(set(reply)), 30)

    def test_withvalues(self):
        reply = self.call("HRANDFIELD", "h", "3", "WITHVALUES")
        self.assertEqual(len(reply), 6)
        got = pairs(reply)
        self.assertEqual(len(got), 3)
        for f, v in got.items():
            self.assertEqual(self.FIELDS[f], v)
        reply = self.call("HRANDFIELD", "h", "-20", "WITHVALUES")
        self.assertEqual(len(reply), 40)
        for i in range(0, 40, 2):
            self.assertEqual(self.FIELDS[reply[i].decode()], reply[i + 1].decode())

    def test_zero_and_missing(self):
        self.assertEqual(self.call("HRANDFIELD", "h", "0"), [])
        self.assertEqual(self.call("HRANDFIELD", "missing", "5"), [])
        self.assertEqual(self.call("HRANDFIELD", "missing", "-5", "WITHVALUES"), [])

    def test_errors(self):
        self.assertErrorReply(NOT_INT, "HRANDFIELD", "h", "abc")
        self.assertErrorReply("ERR syntax error", "HRANDFIELD", "h", "1", "foo")
        self.assertErrorReply("ERR syntax error", "HRANDFIELD", "h", "1", "WITHVALUES", "x")
        self.assertErrorReply(
            "ERR value is out of range, value must between -9223372036854775807 and "
            "9223372036854775807", "HRANDFIELD", "h", "-9223372036854775808")
        self.assertErrorReply("ERR value is out of range",
                              "HRANDFIELD", "h", "-4611686018427387904", "WITHVALUES")


class HScanTest(ServerTestCase):
    def hscan_all(self, key, *opts):
        cursor, out, rounds = b"0", [], 0
        while True:
            cursor, batch = self.call("HSCAN", key, cursor, *opts)
            self.assertEqual(len(batch) % 2, 0)
            out.extend(zip((f.decode() for f in batch[::2]), (v.decode() for v in batch[1::2])))
            rounds += 1
            self.assertLess(rounds, 100000)
            if cursor == b"0":
                return out

    def test_small_hash(self):
        self.r.hset("h", mapping={"a": "1", "b": "2"})
        self.assertEqual(dict(self.hscan_all("h")), {"a": "1", "b": "2"})

    def test_large_hash_every_field(self):
        mapping = {"f%d" % i: "v%d" % i for i in range(1500)}
        self.r.hset("h", mapping=mapping)
        got = self.hscan_all("h", "COUNT", "13")
        self.assertEqual(dict(got), mapping)  # at least once each, values match

    def test_match(self):
        mapping = {"f%d" % i: "v%d" % i for i in range(1000)}
        self.r.hset("h", mapping=mapping)
        got = dict(self.hscan_all("h", "MATCH", "f1*"))
        self.assertEqual(got, {k: v for k, v in mapping.items() if k.startswith("f1")})
        small = {"a1": "x", "a2": "y", "b1": "z"}
        self.r.hset("s", mapping=small)
        self.assertEqual(dict(self.hscan_all("s", "MATCH", "a?")), {"a1": "x", "a2": "y"})

    def test_missing_and_errors(self):
        self.assertEqual(self.call("HSCAN", "missing", "0"), [b"0", []])
        self.r.hset("h", "a", "1")
        self.assertErrorReply("ERR invalid cursor", "HSCAN", "h", "abc")
        self.assertErrorReply("ERR syntax error", "HSCAN", "h", "0", "COUNT", "0")
        self.assertErrorReply("ERR syntax error", "HSCAN", "h", "0", "FOO")


if __name__ == "__main__":
    unittest.main()
