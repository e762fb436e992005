"""HyperLogLog against a redis-server 7.0 started next to the lfdb-server under test: the
values are Redis's own layout, so after the same commands GET returns the same bytes (sparse and
dense), PFCOUNT the same estimate, PFDEBUG the same registers and decoding; corrupt values get
the same errors from PFCOUNT, and the same answer and bytes from PFADD, which edits a sparse
body in place as far as it reads it (and never crash or hang either server), as the suite's
fuzzing does."""

import random
import unittest

from lfdb_testlib import RawConnection, RespError, SideBySideTestCase, is_lfdb


@unittest.skipUnless(is_lfdb(), "compares lfdb-server with redis-server")
class HyperLogLogDifferentialTest(SideBySideTestCase):
    def setUp(self):
        self.pc = RawConnection(self.peer.port)
        self.lc = RawConnection(self.lfdb.port)
        for c in (self.pc, self.lc):
            c.command("FLUSHALL")

    def tearDown(self):
        self.pc.close()
        self.lc.close()

    def both(self, *cmd):
        want, got = self.pc.command(*cmd), self.lc.command(*cmd)
        self.assertEqual(got, want, repr(cmd)[:200])
        return got

    def test_same_bytes_and_estimates(self):
        rnd = random.Random(7)
        for n in (0, 1, 3, 10, 100, 700, 2000, 6000, 30000):
            self.both("DEL", "h")
            self.both("PFADD", "h")
            items = [str(rnd.random()) for _ in range(n)]
            for i in range(0, n, 1000):
                self.both("PFADD", "h", *items[i:i + 1000])
            self.both("GET", "h")
            self.both("PFDEBUG", "ENCODING", "h")
            if n and n < 2000:
                self.both("PFDEBUG", "DECODE", "h")
            self.both("PFCOUNT", "h")
            self.both("GET", "h")  # the cache, now valid
            self.both("PFADD", "h", *items[:5])  # nothing new: the cache stays
            self.both("GETRANGE", "h", "15", "15")
            self.both("PFDEBUG", "TODENSE", "h")
            self.both("GET", "h")
            self.assertEqual(len(self.both("PFDEBUG", "GETREG", "h")), 16384)

    def test_merge_and_multi_key_count(self):
        rnd = random.Random(8)
        for k, n in (("a", 50), ("b", 500), ("c", 5000)):
            self.both("PFADD", k, *[str(rnd.randint(0, 9000)) for _ in range(n)])
        self.both("PFCOUNT", "a", "b", "c", "missing")
        self.both("PFMERGE", "m", "a", "b")
        self.both("GET", "m")
        self.both("PFMERGE", "m", "c")  # a dense source makes the result dense
        self.both("GET", "m")
        self.both("PFMERGE", "a")
        self.both("PFMERGE", "empty", "missing")
        self.both("GET", "empty")
        self.both("CONFIG", "SET", "hll-sparse-max-bytes", "100")
        self.both("PFADD", "small", *[str(i) for i in range(60)])
        self.both("PFDEBUG", "ENCODING", "small")
        self.both("CONFIG", "SET", "hll-sparse-max-bytes", "3000")

    def test_errors(self):
        self.both("SET", "str", "not an hll at all")
        self.both("LPUSH", "list", "x")
        for cmd in (["PFADD", "str", "a"], ["PFCOUNT", "str"], ["PFCOUNT", "list"],
                    ["PFMERGE", "str", "x"], ["PFMERGE", "x", "list"], ["PFDEBUG", "GETREG", "nokey"],
                    ["PFDEBUG", "WHAT", "str"], ["PFADD"], ["PFDEBUG", "GETREG"]):
            self.assertIsInstance(self.both(*cmd), RespError, cmd)
        self.both("PFADD", "s", "a", "b", "c")
        self.both("PFDEBUG", "DECODE", "s")
        self.both("PFDEBUG", "TODENSE", "s")
        self.both("PFDEBUG", "DECODE", "s")  # not sparse any more
        # Corruptions as Redis's suite makes them.
        self.both("DEL", "s")
        self.both("PFADD", "s", "a", "b", "c")
        self.both("APPEND", "s", "hello")
        self.both("PFCOUNT", "s")
        self.both("SETRANGE", "s", "0", "0123")
        self.both("PFCOUNT", "s")
        self.both("DEL", "s")
        self.both("PFADD", "s", "a", "b", "c")
        self.both("SETRANGE", "s", "4", "\x00")  # dense with a sparse length
        self.both("PFCOUNT", "s")
        # XZERO runs past the registers, then a VAL: refused, nothing read out of bounds.
        payload = b"HYLL\x01" + b"\x00" * 11 + b"\x7f\xff" * 140000 + b"\xff"
        for c in (self.pc, self.lc):
            c.command("SET", "bad", payload)
        self.both("PFCOUNT", "bad", "bad")
        self.both("PFDEBUG", "GETREG", "bad")
        self.both("PFADD", "bad", "x")

    def test_fuzzed_values_get_the_same_answer(self):
        rnd = random.Random(9)
        for _ in range(300):
            self.both("DEL", "f")
            self.both("PFADD", "f", *[str(rnd.random()) for _ in range(rnd.randint(1, 3000))])
            value = bytearray(self.both("GET", "f"))
            for _ in range(rnd.randint(1, 5)):
                value[rnd.randrange(len(value))] = rnd.randrange(256)
            for c in (self.pc, self.lc):
                c.command("SET", "f", bytes(value))
            self.both("PFCOUNT", "f")
            # PFADD reads a sparse body only up to the registers it sets, so it may take a value
            # corrupt further on, and edits it in place: the same answer, the same bytes. (Once:
            # a body cut off inside an XZERO reads the byte after it, which Redis's next command
            # finds as the last edit left it, beyond what a value holds.)
            self.both("PFADD", "f", *[str(rnd.random()) for _ in range(rnd.choice((1, 3, 30)))])
            self.both("GET", "f")
        self.both("PING")

    def test_pfadd_on_a_corrupt_sparse_value(self):
        # Runs past the registers, after the ones PFADD reads: Redis adds (and keeps the tail);
        # PFCOUNT and PFMERGE read it all and refuse it.
        self.both("PFADD", "s", "a", "b", "c")
        self.both("APPEND", "s", "hello")
        self.assertEqual(self.both("PFADD", "s", "d", "e"), 1)
        self.both("GET", "s")
        self.assertIsInstance(self.both("PFCOUNT", "s"), RespError)
        self.assertIsInstance(self.both("PFMERGE", "m", "s"), RespError)
        # Runs that end before the last registers: an element there is refused, the ones before
        # it stay added; elements in the covered part are added.
        for c in (self.pc, self.lc):
            c.command("SET", "short", b"HYLL\x01" + b"\x00" * 11 + b"\x7f\x00")
        replies = []
        for element in ("a", "b", "c", "zz", "q", "x1", "x2", "x3", "x4"):
            replies.append(self.both("PFADD", "short", element))
            self.both("GET", "short")
        self.assertIsInstance(replies[7], RespError)  # x3's register is past the runs
        self.both("PFADD", "short", "x6", "x3", "x5")  # x6 added, then refused at x3
        self.both("GET", "short")
        # An overflowing body PFADD must not grow: refused before any edit.
        payload = b"HYLL\x01" + b"\x00" * 11 + b"\x7f\xff" * 140000 + b"\xff"
        for c in (self.pc, self.lc):
            c.command("SET", "bad", payload)
        self.assertIsInstance(self.both("PFADD", "bad", *[str(i) for i in range(50)]), RespError)
        self.assertEqual(self.both("STRLEN", "bad"), len(payload))


if __name__ == "__main__":
    unittest.main()
