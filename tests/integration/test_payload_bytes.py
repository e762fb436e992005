"""Payloads byte for byte redis-server's where both hold the same bytes (docs/server.md DUMP and
FUNCTION, docs/memory.md intsets), side by side with redis-server 7.0.

- An intset keeps its element width when its widest member goes (SREM), and so does a
  RESTOREd intset payload: redis-server loads the intset's bytes as they are, so a set that
  once held a 64-bit member dumps 8-byte elements until it is built anew. What builds a new
  set (the *STORE commands, SMOVE's new destination, SPOP taking most of a set) narrows it.
- The RESTORE decoder refuses intsets out of order or repeated, as redis-server does with
  sanitize-dump-payload yes.
- FUNCTION DUMP writes each library's code by RDB's string rule (LZF over 20 bytes when that
  saves 4), as redis-server does: one library's payload is the same bytes on both (several
  libraries come out in each server's own table order), and each server restores the other's.

Runs only against lfdb-server (it starts its own redis-server)."""

import unittest

import redis

from lfdb_testlib import HOST, SideBySideTestCase, is_lfdb
from test_dump import seal

WIDE = 2 ** 40  # a member that needs 8 bytes


def intset(width, members):
    """An intset payload as RDB lays it out (type 11, a plain string), sealed."""
    blob = width.to_bytes(4, "little") + len(members).to_bytes(4, "little") + b"".join(
        m.to_bytes(width, "little", signed=True) for m in members)
    assert len(blob) < 64
    return seal(b"\x0b" + bytes([len(blob)]) + blob)


LIBRARIES = {
    # repeated text: LZF saves far more than 4 bytes
    "lzf": "#!lua name=lzf\n" + "".join(
        "redis.register_function('f%d', function(keys, args) return redis.call('GET', keys[1]) end)\n" % i
        for i in range(6)),
    # a few repeats: LZF saves a little (the name's letters come back as back references)
    "keyword_args": "#!lua name=zq\nredis.register_function{function_name='zq1', callback=function() return 7 end}",
    # over 20 bytes but LZF saves under 4: written plain by both
    "plain": "#!lua name=s\nredis.register_function('s1', function() return 1 end)",
}


def libraries(r):
    """FUNCTION LIST WITHCODE as {library: (code, sorted function names)}: redis-server lists
    libraries and their functions in its tables' order."""
    out = {}
    for lib in r.function_list(withcode=True):
        d = dict(zip(lib[::2], lib[1::2]))
        names = sorted(dict(zip(f[::2], f[1::2]))[b"name"] for f in d[b"functions"])
        out[d[b"library_name"]] = (d[b"library_code"], names)
    return out


@unittest.skipUnless(is_lfdb(), "starts its own redis-server next to lfdb-server")
class PayloadBytesTest(SideBySideTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.red = redis.Redis(host=HOST, port=cls.peer.port, socket_timeout=10)
        cls.lf = redis.Redis(host=HOST, port=cls.lfdb.port, socket_timeout=10)

    @classmethod
    def tearDownClass(cls):
        cls.red.close()
        cls.lf.close()
        super().tearDownClass()

    def setUp(self):
        for r in (self.red, self.lf):
            r.flushall()
            r.function_flush()

    def both(self, *cmd):
        return [r.execute_command(*cmd) for r in (self.red, self.lf)]

    def assert_same_dump(self, key, encoding=b"intset"):
        red, lf = self.both("DUMP", key)
        self.assertEqual(lf, red, key)
        self.assertEqual([r.object("encoding", key) for r in (self.red, self.lf)],
                         [encoding, encoding], key)
        return red

    def test_a_restored_intset_keeps_its_width(self):
        # redis-server: SADD k 1 2^40, SREM k 2^40 leaves 8-byte elements (an intset never
        # narrows); its DUMP says so, and lfdb's own SREM keeps them too.
        self.both("SADD", "k", 1, WIDE)
        self.both("SREM", "k", WIDE)
        self.assertEqual(self.assert_same_dump("k")[:4], b"\x0b\x10\x08\x00")  # 16 bytes, width 8
        # Three members: 24 bytes of elements at width 8 (a block in lfdb), 6 at width 2.
        self.both("SADD", "m", 1, 2, 3, WIDE)
        self.both("SREM", "m", WIDE)
        payload = self.assert_same_dump("m")
        built_usage = self.lf.memory_usage("m")
        # Restored on lfdb, the set keeps the payload's width: the same DUMP, the same memory as
        # the set built with SADD/SREM.
        for key, p in (("r", payload), ("r1", self.red.dump("k"))):
            self.lf.restore(key, 0, p)
            self.assertEqual(self.lf.dump(key), p)
            self.assertEqual(self.lf.object("encoding", key), b"intset")
        self.assertEqual(self.lf.memory_usage("r"), built_usage)
        # Every width, restored on both servers, dumps the payload again.
        for width in (2, 4, 8):
            with self.subTest(width=width):
                p = intset(width, [-5, 0, 7, 300])
                for r in (self.red, self.lf):
                    r.restore("w%d" % width, 0, p)
                self.assert_same_dump("w%d" % width)  # redis-server keeps the payload's width
                # a wider member still widens it on both
                self.both("SADD", "w%d" % width, 70000)
                self.assert_same_dump("w%d" % width)

    def test_commands_keep_or_narrow_the_width_as_redis(self):
        def wide_set(key, members):
            self.both("SADD", key, *members, WIDE)
            self.both("SREM", key, WIDE)

        wide_set("a", range(1, 11))
        wide_set("b", range(5, 9))
        cases = [
            ("SINTERSTORE", ("SINTERSTORE", "d1", "a", "b")),  # a new set: narrow
            ("SUNIONSTORE", ("SUNIONSTORE", "d2", "a", "b")),
            ("SDIFFSTORE", ("SDIFFSTORE", "d3", "a", "b")),
            ("SDIFFSTORE one", ("SDIFFSTORE", "d4", "a")),
            ("COPY", ("COPY", "a", "d5")),  # the same bytes: wide
            ("SMOVE", ("SMOVE", "b", "d6", 5)),  # a new destination: narrow; the source: wide
        ]
        for name, cmd in cases:
            with self.subTest(case=name):
                red, lf = self.both(*cmd)
                self.assertEqual(lf, red)
                self.assert_same_dump(cmd[2] if name == "COPY" else cmd[1])
        self.assert_same_dump("b")
        # SPOP taking most of a set builds a new one of what stays (narrow); a few popped come
        # out of the set itself (the width stays). Which members go is random, the width is not:
        # 4-byte sets small enough to dump plain (type, length, then the width's low byte).
        for size, count, width in ((6, 5, 2), (3, 1, 4)):
            with self.subTest(spop=count):
                self.both("DEL", "p")
                self.both("SADD", "p", *range(1, size + 1), 70000)
                self.both("SREM", "p", 70000)
                self.both("SPOP", "p", count)
                self.assertEqual(self.both("SCARD", "p"), [size - count] * 2)
                for name, r in (("redis", self.red), ("lfdb", self.lf)):
                    payload = r.dump("p")
                    self.assertEqual(payload[2], width, name)
                    other = self.lf if r is self.red else self.red
                    other.delete("q")
                    other.restore("q", 0, payload)  # the other server keeps it as it was
                    self.assertEqual(other.dump("q"), payload, name)

    def test_restore_refuses_unsorted_or_repeated_intsets(self):
        # redis-server checks an intset's order with sanitize-dump-payload yes (without it, it
        # takes the bytes unchecked and the set misbehaves); lfdb always does.
        self.red.config_set("sanitize-dump-payload", "yes")
        try:
            for name, p in (("descending", intset(2, [5, 1])),
                            ("repeated", intset(4, [1, 7, 7])),
                            ("bad width", seal(b"\x0b\x0c\x03\x00\x00\x00\x02\x00\x00\x00\x01\x00\x02\x00"))):
                with self.subTest(case=name):
                    errors = []
                    self.both("DEL", "k")
                    for r in (self.red, self.lf):
                        with self.assertRaises(redis.ResponseError) as cm:
                            r.restore("k", 0, p)
                        errors.append(str(cm.exception))
                    self.assertEqual(errors[1], errors[0])
                    self.assertEqual(self.both("EXISTS", "k"), [0, 0])
        finally:
            self.red.config_set("sanitize-dump-payload", "no")

    def test_function_dump_is_redis_bytes(self):
        compressed = 0
        for name, code in LIBRARIES.items():
            with self.subTest(library=name):
                for r in (self.red, self.lf):
                    r.function_flush()
                    r.function_load(code)
                red, lf = self.red.function_dump(), self.lf.function_dump()
                self.assertEqual(lf, red)
                compressed += red[1] == 0xC3  # the code LZF-encoded
                # Each server restores the other's payload and lists the same library.
                for r, payload in ((self.red, lf), (self.lf, red)):
                    r.function_flush()
                    self.assertTrue(r.function_restore(payload))
                self.assertEqual(libraries(self.lf), libraries(self.red))
        self.assertGreaterEqual(compressed, 2)  # the comparison covered compressed codes
        self.assertLess(compressed, len(LIBRARIES))  # and a plain one

    def test_function_dump_of_several_libraries_crosses_both_ways(self):
        # The libraries come out in each server's table order (redis-server seeds it per
        # process): compared as restored, not as bytes.
        for r in (self.red, self.lf):
            for code in LIBRARIES.values():
                r.function_load(code)
        red, lf = self.red.function_dump(), self.lf.function_dump()
        self.assertEqual(len(lf), len(red))
        want = libraries(self.red)
        self.assertEqual(len(want), len(LIBRARIES))
        for r, payload in ((self.red, lf), (self.lf, red)):
            r.function_flush()
            self.assertTrue(r.function_restore(payload))
            self.assertEqual(libraries(r), want)


if __name__ == "__main__":
    unittest.main()
