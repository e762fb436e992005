"""SORT and SORT_RO, compared reply for reply with a redis-server 7.0 started next to the
lfdb-server under test: numeric and ALPHA order, DESC, LIMIT's edge cases, BY with string and
hash-field patterns (missing ones, and BY without `*`, which does not sort), GET (`#`, missing
keys), STORE (a list replacing any type, deleted when empty, the destination also a source),
the errors, and the options SORT_RO refuses. Orders Redis leaves undefined (an unsorted set,
ties under ALPHA BY) are not compared."""

import unittest

from lfdb_testlib import RawConnection, SideBySideTestCase, is_lfdb

SETUP = [
    ["RPUSH", "nums", "3", "10", "-1.5", "2", "2", "0x10", " 7", "inf"],
    ["RPUSH", "words", "pear", "Apple", "fig", "apple", "", "banana"],
    ["SADD", "sset", "5", "1", "4", "3", "2"],
    ["SADD", "wset", "b", "a", "d", "c"],
    ["ZADD", "z", "1", "c", "2", "b", "3", "a", "3", "d"],
    ["RPUSH", "ids", "1", "2", "3", "4"],
    ["MSET", "w_1", "40", "w_2", "10", "w_3", "30", "w_4", "20", "bad_1", "x", "n_1", "one", "n_2", "two"],
    ["HSET", "h_1", "f", "9", "name", "z1"], ["HSET", "h_2", "f", "7", "name", "z2"],
    ["HSET", "h_3", "f", "8"], ["SET", "str", "v"], ["HSET", "hash", "a", "b"],
]

CASES = [
    ["SORT", "nums"], ["SORT", "nums", "DESC"], ["SORT", "words", "ALPHA"],
    ["SORT", "words", "ALPHA", "DESC"], ["SORT", "words"], ["SORT", "sset"], ["SORT", "wset", "ALPHA"],
    ["SORT", "z"], ["SORT", "z", "ALPHA"], ["SORT", "missing"], ["SORT", "str"], ["SORT", "hash"],
    ["SORT", "nums", "LIMIT", "1", "3"], ["SORT", "nums", "LIMIT", "0", "0"],
    ["SORT", "nums", "LIMIT", "-5", "2"], ["SORT", "nums", "LIMIT", "6", "-1"],
    ["SORT", "nums", "LIMIT", "100", "5"], ["SORT", "nums", "LIMIT", "x", "1"],
    ["SORT", "nums", "LIMIT", "1"], ["SORT", "nums", "BOGUS"],
    ["SORT", "nums", "LIMIT", "2", "9223372036854775807"], ["SORT_RO", "nums", "LIMIT", "9223372036854775807", "9223372036854775807"],
    ["SORT", "ids", "BY", "w_*"], ["SORT", "ids", "BY", "w_*", "DESC"],
    ["SORT", "ids", "BY", "h_*->f"], ["SORT", "ids", "BY", "bad_*"],
    ["SORT", "ids", "BY", "nosort"], ["SORT", "ids", "BY", "nosort", "DESC"],
    ["SORT", "ids", "BY", "nosort", "LIMIT", "1", "2"], ["SORT", "ids", "BY", "nosort", "DESC", "LIMIT", "1", "2"],
    ["SORT", "z", "BY", "nosort"], ["SORT", "z", "BY", "nosort", "DESC", "LIMIT", "1", "2"],
    ["SORT", "ids", "GET", "#", "GET", "w_*", "GET", "h_*->name", "GET", "n_*"],
    ["SORT", "ids", "BY", "w_*", "GET", "#", "GET", "h_*->f"], ["SORT", "ids", "GET", "nostar"],
    ["SORT", "ids", "GET", "h_*->"], ["SORT", "ids", "BY", "w_*", "LIMIT", "1", "2", "GET", "#"],
    ["SORT", "ids", "STORE", "out"], ["LRANGE", "out", "0", "-1"], ["TYPE", "out"],
    ["SORT", "ids", "BY", "w_*", "GET", "n_*", "STORE", "out"], ["LRANGE", "out", "0", "-1"],
    ["SET", "out", "x"], ["EXPIRE", "out", "100"], ["SORT", "missing", "STORE", "out"], ["EXISTS", "out"],
    ["SORT", "sset", "BY", "nosort", "STORE", "out"], ["LRANGE", "out", "0", "-1"], ["TTL", "out"],
    ["SORT", "ids", "DESC", "STORE", "ids"], ["LRANGE", "ids", "0", "-1"],
    ["SORT_RO", "nums"], ["SORT_RO", "ids", "BY", "w_*", "GET", "#"], ["SORT_RO", "ids", "STORE", "x"],
    ["SORT_RO", "str"],
]


@unittest.skipUnless(is_lfdb(), "compares lfdb-server with redis-server")
class SortDifferentialTest(SideBySideTestCase):
    def test_cases(self):
        for proto in ("2", "3"):
            with RawConnection(self.peer.port) as pc, RawConnection(self.lfdb.port) as lc:
                for c in (pc, lc):
                    c.command("HELLO", proto)
                    c.command("FLUSHALL")
                    for cmd in SETUP:
                        c.command(*cmd)
                for cmd in CASES:
                    pc.send_command(*cmd)
                    lc.send_command(*cmd)
                    want, got = pc.read_reply(), lc.read_reply()
                    self.assertEqual(got, want, "RESP%s: %r" % (proto, cmd))


if __name__ == "__main__":
    unittest.main()
