"""String commands: GET SET (and its options) SETNX SETEX PSETEX GETSET GETDEL GETEX MGET MSET
MSETNX APPEND STRLEN GETRANGE SETRANGE INCR DECR INCRBY DECRBY INCRBYFLOAT, WRONGTYPE, binary
safety and large values."""

import os
import time
import unittest

from lfdb_testlib import RawConnection, RespError, ServerTestCase, encode_command

WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"
SYNTAX = "ERR syntax error"
NOT_INT = "ERR value is not an integer or out of range"
NOT_FLOAT = "ERR value is not a valid float"
OVERFLOW = "ERR increment or decrement would overflow"
LLONG_MAX = 9223372036854775807
LLONG_MIN = -9223372036854775808


class GetSetTest(ServerTestCase):
    def test_get_set(self):
        self.assertEqual(self.call("SET", "k", "v"), b"OK")
        self.assertEqual(self.call("GET", "k"), b"v")
        self.assertEqual(self.call("SET", "k", "w"), b"OK")
        self.assertEqual(self.call("GET", "k"), b"w")
        self.assertIsNone(self.call("GET", "missing"))
        self.assertEqual(self.raw_command("GET", "missing"), b"$-1\r\n")

    def test_empty_value(self):
        self.assertEqual(self.call("SET", "k", ""), b"OK")
        self.assertEqual(self.raw_command("GET", "k"), b"$0\r\n\r\n")
        self.assertEqual(self.call("EXISTS", "k"), 1)
        self.assertEqual(self.call("STRLEN", "k"), 0)

    def test_set_ex_px(self):
        self.assertEqual(self.call("SET", "k", "v", "EX", "100"), b"OK")
        self.assertIn(self.r.ttl("k"), (99, 100))
        self.assertEqual(self.call("SET", "k", "v", "PX", "100000"), b"OK")
        self.assertTrue(99000 <= self.r.pttl("k") <= 100000)
        # lower-case options
        self.assertEqual(self.call("set", "k", "v", "ex", "50"), b"OK")
        self.assertIn(self.r.ttl("k"), (49, 50))

    def test_set_exat_pxat(self):
        at = int(time.time()) + 100
        self.assertEqual(self.call("SET", "k", "v", "EXAT", str(at)), b"OK")
        self.assertTrue(98 <= self.r.ttl("k") <= 100)
        self.assertEqual(self.call("EXPIRETIME", "k"), at)
        self.assertEqual(self.call("SET", "k", "v", "PXAT", str(at * 1000 + 500)), b"OK")
        self.assertEqual(self.call("PEXPIRETIME", "k"), at * 1000 + 500)

    def test_set_exat_in_the_past_deletes(self):
        self.assertEqual(self.call("SET", "k", "v", "EXAT", "1"), b"OK")
        self.assertEqual(self.call("EXISTS", "k"), 0)
        self.assertEqual(self.call("SET", "k", "v", "PXAT", "1000"), b"OK")
        self.assertIsNone(self.call("GET", "k"))

    def test_set_plain_clears_ttl(self):
        self.r.set("k", "v", ex=100)
        self.assertEqual(self.call("SET", "k", "v2"), b"OK")
        self.assertEqual(self.r.ttl("k"), -1)

    def test_set_keepttl(self):
        self.r.set("k", "v", ex=100)
        self.assertEqual(self.call("SET", "k", "v2", "KEEPTTL"), b"OK")
        self.assertEqual(self.r.get("k"), "v2")
        self.assertIn(self.r.ttl("k"), (99, 100))
        # KEEPTTL on a key without TTL / missing key
        self.assertEqual(self.call("SET", "n", "v", "KEEPTTL"), b"OK")
        self.assertEqual(self.r.ttl("n"), -1)

    def test_set_nx_xx(self):
        self.assertIsNone(self.call("SET", "k", "v", "XX"))
        self.assertEqual(self.raw_command("SET", "k", "v", "XX"), b"$-1\r\n")
        self.assertEqual(self.call("EXISTS", "k"), 0)
        self.assertEqual(self.call("SET", "k", "v1", "NX"), b"OK")
        self.assertIsNone(self.call("SET", "k", "v2", "NX"))
        self.assertEqual(self.call("GET", "k"), b"v1")
        self.assertEqual(self.call("SET", "k", "v3", "XX"), b"OK")
        self.assertEqual(self.call("GET", "k"), b"v3")

    def test_set_nx_with_expire(self):
        self.assertEqual(self.call("SET", "k", "v", "NX", "EX", "100"), b"OK")
        self.assertIn(self.r.ttl("k"), (99, 100))
        self.assertIsNone(self.call("SET", "k", "v2", "NX", "PX", "5"))
        self.assertEqual(self.call("SET", "k", "v3", "XX", "PX", "50000"), b"OK")
        self.assertTrue(49000 <= self.r.pttl("k") <= 50000)

    def test_set_get(self):
        self.assertIsNone(self.call("SET", "k", "v1", "GET"))
        self.assertEqual(self.call("SET", "k", "v2", "GET"), b"v1")
        self.assertEqual(self.call("GET", "k"), b"v2")
        self.assertEqual(self.call("SET", "k", "v3", "GET", "EX", "100"), b"v2")
        self.assertIn(self.r.ttl("k"), (99, 100))

    def test_set_get_with_nx_xx(self):
        # redis 7.0 allows GET together with NX (and XX): the old value is returned either way
        self.assertIsNone(self.call("SET", "k", "v1", "NX", "GET"))
        self.assertEqual(self.call("GET", "k"), b"v1")
        self.assertEqual(self.call("SET", "k", "v2", "NX", "GET"), b"v1")
        self.assertEqual(self.call("GET", "k"), b"v1")
        self.assertEqual(self.call("SET", "k", "v3", "XX", "GET"), b"v1")
        self.assertEqual(self.call("GET", "k"), b"v3")
        self.assertIsNone(self.call("SET", "missing", "v", "XX", "GET"))
        self.assertEqual(self.call("EXISTS", "missing"), 0)

    def test_set_get_wrongtype(self):
        self.r.hset("h", "f", "v")
        self.assertErrorReply(WRONGTYPE, "SET", "h", "v", "GET")
        self.assertEqual(self.r.type("h"), "hash")
        # plain SET overwrites any type
        self.assertEqual(self.call("SET", "h", "v"), b"OK")
        self.assertEqual(self.r.type("h"), "string")

    def test_set_duplicate_option_is_accepted(self):
        self.assertEqual(self.call("SET", "k", "v", "NX", "NX"), b"OK")

    def test_set_syntax_errors(self):
        for args in (("NX", "XX"), ("XX", "NX"), ("EX", "10", "PX", "100"),
                     ("EX", "10", "EXAT", "100"), ("PX", "10", "PXAT", "100"),
                     ("KEEPTTL", "PX", "10"), ("EX", "10", "KEEPTTL"), ("FOO",),
                     ("EX",), ("PX",), ("EXAT",), ("PXAT",), ("GET", "GETX")):
            self.assertErrorReply(SYNTAX, "SET", "k", "v", *args)
        self.assertEqual(self.call("EXISTS", "k"), 0)

    def test_set_invalid_expire(self):
        for opt in ("EX", "PX", "EXAT", "PXAT"):
            for val in ("0", "-1", "-100"):
                self.assertErrorReply("ERR invalid expire time in 'set' command",
                                      "SET", "k", "v", opt, val)
        self.assertErrorReply("ERR invalid expire time in 'set' command",
                              "SET", "k", "v", "EX", "9999999999999999")
        for val in ("abc", "1.5", ""):
            self.assertErrorReply(NOT_INT, "SET", "k", "v", "EX", val)
        self.assertEqual(self.call("EXISTS", "k"), 0)

    def test_set_arity(self):
        self.assertErrorReply("ERR wrong number of arguments for 'set' command", "SET", "k")
        self.assertErrorReply("ERR wrong number of arguments for 'get' command", "GET")


class SetVariantsTest(ServerTestCase):
    def test_setnx(self):
        self.assertEqual(self.call("SETNX", "k", "1"), 1)
        self.assertEqual(self.call("SETNX", "k", "2"), 0)
        self.assertEqual(self.call("GET", "k"), b"1")

    def test_setex_psetex(self):
        self.assertEqual(self.call("SETEX", "k", "100", "v"), b"OK")
        self.assertEqual(self.r.get("k"), "v")
        self.assertIn(self.r.ttl("k"), (99, 100))
        self.assertEqual(self.call("PSETEX", "k", "100000", "w"), b"OK")
        self.assertEqual(self.r.get("k"), "w")
        self.assertTrue(99000 <= self.r.pttl("k") <= 100000)

    def test_setex_errors(self):
        self.assertErrorReply("ERR invalid expire time in 'setex' command", "SETEX", "k", "0", "v")
        self.assertErrorReply("ERR invalid expire time in 'setex' command", "SETEX", "k", "-1", "v")
        self.assertErrorReply("ERR invalid expire time in 'psetex' command", "PSETEX", "k", "0", "v")
        self.assertErrorReply(NOT_INT, "SETEX", "k", "abc", "v")
        self.assertErrorReply("ERR wrong number of arguments for 'setex' command", "SETEX", "k", "10")
        self.assertEqual(self.call("EXISTS", "k"), 0)

    def test_getset(self):
        self.assertIsNone(self.call("GETSET", "k", "a"))
        self.assertEqual(self.call("GETSET", "k", "b"), b"a")
        self.assertEqual(self.call("GET", "k"), b"b")
        self.r.set("t", "v", ex=100)
        self.call("GETSET", "t", "w")
        self.assertEqual(self.r.ttl("t"), -1)  # GETSET discards the TTL
        self.r.hset("h", "f", "v")
        self.assertErrorReply(WRONGTYPE, "GETSET", "h", "x")

    def test_getdel(self):
        self.r.set("k", "v")
        self.assertEqual(self.call("GETDEL", "k"), b"v")
        self.assertIsNone(self.call("GETDEL", "k"))
        self.assertEqual(self.call("EXISTS", "k"), 0)
        self.r.hset("h", "f", "v")
        self.assertErrorReply(WRONGTYPE, "GETDEL", "h")
        self.assertEqual(self.call("EXISTS", "h"), 1)

    def test_getex(self):
        self.r.set("k", "v")
        self.assertEqual(self.call("GETEX", "k"), b"v")
        self.assertEqual(self.r.ttl("k"), -1)
        self.assertEqual(self.call("GETEX", "k", "EX", "100"), b"v")
        self.assertIn(self.r.ttl("k"), (99, 100))
        self.assertEqual(self.call("GETEX", "k", "PX", "50000"), b"v")
        self.assertTrue(49000 <= self.r.pttl("k") <= 50000)
        at = int(time.time()) + 200
        self.assertEqual(self.call("GETEX", "k", "EXAT", str(at)), b"v")
        self.assertEqual(self.call("EXPIRETIME", "k"), at)
        self.assertEqual(self.call("GETEX", "k", "PXAT", str(at * 1000 + 1)), b"v")
        self.assertEqual(self.call("PEXPIRETIME", "k"), at * 1000 + 1)
        self.assertEqual(self.call("GETEX", "k", "PERSIST"), b"v")
        self.assertEqual(self.r.ttl("k"), -1)
        self.assertIsNone(self.call("GETEX", "missing", "EX", "10"))
        self.assertEqual(self.call("EXISTS", "missing"), 0)

    def test_getex_in_the_past_deletes(self):
        self.r.set("k", "v")
        self.assertEqual(self.call("GETEX", "k", "EXAT", "1"), b"v")
        self.assertEqual(self.call("EXISTS", "k"), 0)

    def test_getex_errors(self):
        self.r.set("k", "v")
        for args in (("PERSIST", "EX", "10"), ("EX", "10", "PX", "10"), ("FOO",), ("EX",)):
            self.assertErrorReply(SYNTAX, "GETEX", "k", *args)
        for args in (("EX", "0"), ("PX", "-5"), ("EXAT", "0"), ("PXAT", "-1")):
            self.assertErrorReply("ERR invalid expire time in 'getex' command", "GETEX", "k", *args)
        self.assertErrorReply(NOT_INT, "GETEX", "k", "EX", "ten")
        self.assertEqual(self.r.ttl("k"), -1)
        self.r.hset("h", "f", "v")
        self.assertErrorReply(WRONGTYPE, "GETEX", "h")


class MultiKeyTest(ServerTestCase):
    def test_mset_mget(self):
        self.assertEqual(self.call("MSET", "a", "1", "b", "2", "c", "3"), b"OK")
        self.assertEqual(self.call("MGET", "a", "b", "missing", "c"), [b"1", b"2", None, b"3"])
        self.assertEqual(self.raw_command("MGET", "missing"), b"*1\r\n$-1\r\n")

    def test_mset_last_wins(self):
        self.assertEqual(self.call("MSET", "a", "1", "a", "2"), b"OK")
        self.assertEqual(self.call("GET", "a"), b"2")

    def test_mset_clears_ttl(self):
        self.r.set("a", "1", ex=100)
        self.call("MSET", "a", "2")
        self.assertEqual(self.r.ttl("a"), -1)

    def test_mget_wrong_type_is_nil(self):
        self.r.set("a", "1")
        self.r.hset("h", "f", "v")
        self.assertEqual(self.call("MGET", "a", "h"), [b"1", None])

    def test_msetnx(self):
        self.assertEqual(self.call("MSETNX", "a", "1", "b", "2"), 1)
        self.assertEqual(self.call("MSETNX", "b", "x", "c", "3"), 0)
        self.assertEqual(self.call("MGET", "a", "b", "c"), [b"1", b"2", None])

    def test_arity(self):
        self.assertErrorReply("ERR wrong number of arguments for 'mset' command", "MSET", "a")
        self.assertErrorReply("ERR wrong number of arguments for 'mset' command", "MSET", "a", "1", "b")
        self.assertErrorReply("ERR wrong number of arguments for 'msetnx' command", "MSETNX", "a", "1", "b")
        self.assertErrorReply("ERR wrong number of arguments for 'mget' command", "MGET")
        self.assertEqual(self.call("EXISTS", "a", "b"), 0)


class AppendRangeTest(ServerTestCase):
    def test_append_strlen(self):
        self.assertEqual(self.call("APPEND", "k", "hello"), 5)
        self.assertEqual(self.call("APPEND", "k", " world"), 11)
        self.assertEqual(self.call("GET", "k"), b"hello world")
        self.assertEqual(self.call("STRLEN", "k"), 11)
        self.assertEqual(self.call("STRLEN", "missing"), 0)
        self.assertEqual(self.call("APPEND", "k", ""), 11)

    def test_append_to_integer(self):
        self.r.set("k", "10")
        self.assertEqual(self.call("APPEND", "k", "5"), 3)
        self.assertEqual(self.call("INCR", "k"), 106)

    def test_append_keeps_ttl(self):
        self.r.set("k", "a", ex=100)
        self.call("APPEND", "k", "b")
        self.assertIn(self.r.ttl("k"), (99, 100))

    def test_getrange(self):
        self.r.set("k", "This is a string")
        cases = [((0, 3), b"This"), ((-3, -1), b"ing"), ((0, -1), b"This is a string"),
                 ((10, 100), b"string"), ((5, 2), b""), ((-100, 3), b"This"),
                 ((100, 200), b""), ((15, 15), b"g"), ((-1, -1), b"g"), ((3, -14), b""),
                 # redis 7.0 clamps a negative end to 0 *before* comparing, so an end before
                 # the start of the string still yields the first byte (7.0 behaviour, kept)
                 ((0, -100), b"T"), ((-100, -50), b"T")]
        for (start, end), want in cases:
            self.assertEqual(self.call("GETRANGE", "k", str(start), str(end)), want, (start, end))
        self.assertEqual(self.call("GETRANGE", "missing", "0", "-1"), b"")
        self.assertErrorReply(NOT_INT, "GETRANGE", "k", "a", "1")

    def test_getrange_integer_encoded(self):
        self.r.set("k", "123456")
        self.assertEqual(self.call("GETRANGE", "k", "1", "3"), b"234")
        self.assertEqual(self.call("GETRANGE", "k", "-2", "-1"), b"56")

    def test_setrange(self):
        self.r.set("k", "Hello World")
        self.assertEqual(self.call("SETRANGE", "k", "6", "Redis"), 11)
        self.assertEqual(self.call("GET", "k"), b"Hello Redis")
        self.assertEqual(self.call("SETRANGE", "k", "11", "!!"), 13)
        self.assertEqual(self.call("GET", "k"), b"Hello Redis!!")

    def test_setrange_pads_with_zero_bytes(self):
        self.assertEqual(self.call("SETRANGE", "k", "5", "hi"), 7)
        self.assertEqual(self.rb.get("k"), b"\x00\x00\x00\x00\x00hi")
        self.r.set("s", "ab")
        self.assertEqual(self.call("SETRANGE", "s", "4", "x"), 5)
        self.assertEqual(self.rb.get("s"), b"ab\x00\x00x")

    def test_setrange_empty_value(self):
        # an empty value does not create the key, and leaves an existing one alone
        self.assertEqual(self.call("SETRANGE", "k", "10", ""), 0)
        self.assertEqual(self.call("EXISTS", "k"), 0)
        self.r.set("s", "abc")
        self.assertEqual(self.call("SETRANGE", "s", "10", ""), 3)
        self.assertEqual(self.call("GET", "s"), b"abc")

    def test_setrange_limits(self):
        self.assertErrorReply("ERR offset is out of range", "SETRANGE", "k", "-1", "x")
        self.assertErrorReply("ERR string exceeds maximum allowed size (proto-max-bulk-len)",
                              "SETRANGE", "k", "536870912", "x")
        self.assertErrorReply("ERR string exceeds maximum allowed size (proto-max-bulk-len)",
                              "SETRANGE", "k", "536870911", "xy")
        self.assertErrorReply(NOT_INT, "SETRANGE", "k", "abc", "x")
        self.assertEqual(self.call("EXISTS", "k"), 0)

    def test_wrongtype(self):
        self.r.hset("h", "f", "v")
        for cmd in (("GET", "h"), ("APPEND", "h", "x"), ("STRLEN", "h"), ("GETRANGE", "h", "0", "1"),
                    ("SETRANGE", "h", "0", "x"), ("INCR", "h"), ("DECR", "h"), ("INCRBY", "h", "1"),
                    ("DECRBY", "h", "1"), ("INCRBYFLOAT", "h", "1"), ("GETSET", "h", "x"),
                    ("GETDEL", "h"), ("GETEX", "h")):
            self.assertEqual(self.call(*cmd), RespError(WRONGTYPE), cmd)
        self.assertEqual(self.r.hgetall("h"), {"f": "v"})


class CounterTest(ServerTestCase):
    def test_incr_decr(self):
        self.assertEqual(self.call("INCR", "n"), 1)
        self.assertEqual(self.call("INCR", "n"), 2)
        self.assertEqual(self.call("DECR", "n"), 1)
        self.assertEqual(self.call("DECR", "missing"), -1)
        self.assertEqual(self.call("INCRBY", "n", "10"), 11)
        self.assertEqual(self.call("INCRBY", "n", "-20"), -9)
        self.assertEqual(self.call("DECRBY", "n", "5"), -14)
        self.assertEqual(self.call("DECRBY", "n", "-14"), 0)
        self.assertEqual(self.call("GET", "n"), b"0")

    def test_incr_keeps_ttl(self):
        self.r.set("n", "5", ex=100)
        self.assertEqual(self.call("INCR", "n"), 6)
        self.assertIn(self.r.ttl("n"), (99, 100))

    def test_incr_large_values(self):
        self.r.set("n", str(LLONG_MAX - 1))
        self.assertEqual(self.call("INCR", "n"), LLONG_MAX)
        self.r.set("m", str(LLONG_MIN + 1))
        self.assertEqual(self.call("DECR", "m"), LLONG_MIN)

    def test_overflow(self):
        self.r.set("n", str(LLONG_MAX))
        self.assertErrorReply(OVERFLOW, "INCR", "n")
        self.assertErrorReply(OVERFLOW, "INCRBY", "n", "1")
        self.assertErrorReply(OVERFLOW, "DECRBY", "n", "-1")
        self.r.set("m", str(LLONG_MIN))
        self.assertErrorReply(OVERFLOW, "DECR", "m")
        self.assertErrorReply(OVERFLOW, "INCRBY", "m", "-1")
        self.r.set("z", "-1")
        self.assertEqual(self.call("DECRBY", "z", str(LLONG_MAX)), LLONG_MIN)
        self.r.set("z", "-2")
        self.assertErrorReply(OVERFLOW, "DECRBY", "z", str(LLONG_MAX))
        self.assertEqual(self.call("GET", "n"), str(LLONG_MAX).encode())

    def test_decrby_llong_min(self):
        # negating LLONG_MIN is its own error in redis 7.0
        self.r.set("z", "1")
        self.assertErrorReply("ERR decrement would overflow", "DECRBY", "z", str(LLONG_MIN))

    def test_not_integer(self):
        for bad in ("abc", "1.5", " 1", "1 ", "01", "+1", "-0", "", "1e3", "9223372036854775808"):
            self.r.set("s", bad)
            self.assertErrorReply(NOT_INT, "INCR", "s")
            self.assertErrorReply(NOT_INT, "DECRBY", "s", "1")
        self.r.set("n", "1")
        for bad in ("abc", "1.5", "9223372036854775808", ""):
            self.assertErrorReply(NOT_INT, "INCRBY", "n", bad)
        self.assertEqual(self.call("GET", "n"), b"1")

    def test_incrbyfloat(self):
        self.r.set("f", "10.5")
        self.assertEqual(self.call("INCRBYFLOAT", "f", "0.1"), b"10.6")
        self.assertEqual(self.call("GET", "f"), b"10.6")
        self.assertEqual(self.call("INCRBYFLOAT", "g", "5.0e3"), b"5000")
        self.assertEqual(self.call("INCRBYFLOAT", "g", "1.5e1"), b"5015")
        self.assertEqual(self.call("INCRBYFLOAT", "h", "3.0000"), b"3")
        self.assertEqual(self.call("INCRBYFLOAT", "h", "-0.0000001"), b"2.9999999")
        self.assertEqual(self.call("INCRBYFLOAT", "i", "1e-5"), b"0.00001")
        self.assertEqual(self.call("INCRBYFLOAT", "j", "1e20"), b"100000000000000000000")
        self.assertEqual(self.call("INCRBYFLOAT", "k", "-.5"), b"-0.5")
        self.r.set("n", "5")
        self.assertEqual(self.call("INCRBYFLOAT", "n", "0.5"), b"5.5")
        self.assertEqual(self.call("INCRBYFLOAT", "n", "-5.5"), b"0")
        self.assertEqual(self.call("INCR", "n"), 1)  # the result is a plain integer string

    def test_incrbyfloat_keeps_ttl(self):
        self.r.set("f", "1", ex=100)
        self.call("INCRBYFLOAT", "f", "1.5")
        self.assertIn(self.r.ttl("f"), (99, 100))

    def test_incrbyfloat_errors(self):
        self.r.set("s", "abc")
        self.assertErrorReply(NOT_FLOAT, "INCRBYFLOAT", "s", "1")
        self.r.set("f", "1")
        for bad in ("abc", " 1", "1 ", "nan", "", "1.5x"):
            self.assertErrorReply(NOT_FLOAT, "INCRBYFLOAT", "f", bad)
        self.assertErrorReply("ERR increment would produce NaN or Infinity", "INCRBYFLOAT", "f", "inf")
        self.assertEqual(self.call("GET", "f"), b"1")


class BinaryAndLargeTest(ServerTestCase):
    def test_a_shorter_value_does_not_keep_the_longer_ones_buffer(self):
        self.call("SET", "big", "A" * 100000)
        self.call("SET", "big", "A" * 33000)
        self.assertLess(self.call("MEMORY", "USAGE", "big"), 42000)

    def test_setbit_and_bitfield_count_a_change_only_when_a_bit_changes(self):
        def changes():
            return self.r.info("persistence")["rdb_changes_since_last_save"]
        before = changes()
        self.call("SETBIT", "{b}1", "0", "0")               # created: a change
        self.call("BITFIELD", "{b}2", "SET", "i5", "0", "0")  # created: a change
        self.assertEqual(changes(), before + 2)
        self.call("SETBIT", "{b}1", "0", "0")
        self.call("BITFIELD", "{b}2", "SET", "i5", "0", "0")
        self.assertEqual(changes(), before + 2)
        self.call("SETBIT", "{b}1", "0", "1")
        self.call("BITFIELD", "{b}2", "SET", "i5", "0", "-3")
        self.assertEqual(changes(), before + 4)

    def test_binary_values(self):
        value = b"a\x00b\r\nc\xff\xfe\x00\r\n" + bytes(range(256))
        self.assertTrue(self.rb.set(b"bin", value))
        self.assertEqual(self.rb.get(b"bin"), value)
        self.assertEqual(self.rb.strlen(b"bin"), len(value))
        self.assertEqual(self.rb.getrange(b"bin", 1, 4), b"\x00b\r\n")
        self.rb.append(b"bin", b"\r\n\x00")
        self.assertEqual(self.rb.get(b"bin"), value + b"\r\n\x00")

    def test_binary_keys(self):
        key = b"k\x00e\r\ny\xff"
        self.rb.set(key, b"v")
        self.assertEqual(self.rb.get(key), b"v")
        self.assertIsNone(self.rb.get(b"k"))
        self.assertEqual(self.rb.exists(key), 1)
        self.assertEqual(self.rb.keys(b"*"), [key])

    def test_value_that_looks_like_resp(self):
        value = b"*1\r\n$4\r\nPING\r\n+OK\r\n-ERR x\r\n"
        self.rb.set(b"k", value)
        self.assertEqual(self.raw_command("GET", "k"), b"$%d\r\n%s\r\n" % (len(value), value))

    def test_one_megabyte_values(self):
        mb = 1024 * 1024
        value = os.urandom(mb)
        self.assertTrue(self.rb.set(b"big", value))
        self.assertEqual(self.rb.get(b"big"), value)
        self.assertEqual(self.rb.strlen(b"big"), mb)
        self.assertEqual(self.rb.append(b"big", value), 2 * mb)
        self.assertEqual(self.rb.getrange(b"big", mb - 2, mb + 1), value[-2:] + value[:2])
        self.assertEqual(self.rb.get(b"big"), value + value)

    def test_many_large_values_pipelined(self):
        values = {b"big%d" % i: os.urandom(1024 * 1024 + i) for i in range(8)}
        p = self.rb.pipeline(transaction=False)
        for k, v in values.items():
            p.set(k, v)
        p.mget(list(values))
        replies = p.execute()
        self.assertEqual(replies[:-1], [True] * len(values))
        self.assertEqual(replies[-1], list(values.values()))

    def test_large_value_raw_in_small_chunks(self):
        # a 1 MB bulk string sent in 1000-byte pieces
        value = os.urandom(1024 * 1024)
        data = encode_command(b"SET", b"chunked", value)
        with RawConnection(self.port) as c:
            for i in range(0, len(data), 1000):
                c.send(data[i:i + 1000])
            self.assertEqual(c.read_reply(), b"+OK\r\n")
        self.assertEqual(self.rb.get(b"chunked"), value)


if __name__ == "__main__":
    unittest.main()
