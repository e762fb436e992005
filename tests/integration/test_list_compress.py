"""list-compress-depth (docs/memory.md, "Compact encodings"), side by side with redis-server 7.0.

Both servers get the same depth and the same random list commands over lists of many nodes
(pushes, pops, LINDEX, LSET, LRANGE, LINSERT, LREM, LPOS, LTRIM), reply for reply; the DUMP
payloads are compared byte for byte and each restores on the other server; MEMORY USAGE counts
the compressed nodes; a new depth set with CONFIG SET takes hold as the nodes are touched. Runs
only against lfdb-server (it starts its own redis-server)."""

import random
import unittest

import redis

from lfdb_testlib import HOST, RedisPeer, ServerProcess, is_lfdb

WORDS = ["job:", "user", "42", "timeline", "-", "event", "ok", "7"]


def element(rng, longer=False):
    n = rng.randrange(60, 200) if longer else rng.randrange(0, 6)
    return "".join(rng.choice(WORDS) for _ in range(n))


@unittest.skipUnless(is_lfdb(), "starts its own redis-server next to lfdb-server")
class ListCompressTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.peer = RedisPeer().start()
        cls.lfdb = ServerProcess().start()

    @classmethod
    def tearDownClass(cls):
        cls.peer.stop()
        cls.lfdb.stop()

    def setUp(self):
        self.red = redis.Redis(host=HOST, port=self.peer.port, socket_timeout=20)
        self.lf = redis.Redis(host=HOST, port=self.lfdb.port, socket_timeout=20)
        for r in (self.red, self.lf):
            r.flushall()
            r.config_set("list-max-listpack-size", "-2")
            r.config_set("list-compress-depth", "0")

    def tearDown(self):
        for r in (self.red, self.lf):
            r.config_set("list-compress-depth", "0")
            r.close()

    def both(self, *cmd):
        replies = []
        for r in (self.red, self.lf):
            try:
                replies.append(r.execute_command(*cmd))
            except redis.ResponseError as e:
                replies.append(("error", str(e)))
        self.assertEqual(replies[1], replies[0], cmd)
        return replies[0]

    def fill(self, key, rng, n):
        for i in range(0, n, 200):
            self.both("RPUSH", key, *[element(rng, rng.random() < 0.05) for _ in range(min(200, n - i))])

    def test_random_commands_agree_at_depths_1_to_3(self):
        for depth in (1, 2, 3):
            with self.subTest(depth=depth):
                rng = random.Random(depth)
                self.both("DEL", "k")
                self.both("CONFIG", "SET", "list-compress-depth", str(depth))
                self.fill("k", rng, 6000)
                for step in range(400):
                    n = self.both("LLEN", "k")
                    i = rng.randrange(-n, n) if n else 0
                    op = rng.randrange(10)
                    if op == 0:
                        self.both(rng.choice(["LPUSH", "RPUSH"]), "k", element(rng), element(rng))
                    elif op == 1:
                        self.both(rng.choice(["LPOP", "RPOP"]), "k", str(rng.randrange(1, 30)))
                    elif op == 2:
                        self.both("LINDEX", "k", str(i))
                    elif op == 3:
                        self.both("LSET", "k", str(i), element(rng, rng.random() < 0.2))
                    elif op == 4:
                        self.both("LRANGE", "k", str(i), str(i + rng.randrange(0, 300)))
                    elif op == 5:
                        pivot = self.both("LINDEX", "k", str(i)) or "none"
                        self.both("LINSERT", "k", rng.choice(["BEFORE", "AFTER"]), pivot, element(rng))
                    elif op == 6:
                        self.both("LREM", "k", str(rng.randrange(-3, 4)), rng.choice(WORDS))
                    elif op == 7:
                        self.both("LPOS", "k", rng.choice(WORDS), "RANK", str(rng.choice([1, -1, 2])),
                                  "COUNT", "3")
                    elif op == 8 and rng.random() < 0.1:
                        self.both("LTRIM", "k", str(rng.randrange(0, 50)), str(-rng.randrange(1, 50)))
                    else:
                        self.both("RPUSH", "k", element(rng, True))
                    if step % 100 == 99:
                        self.both("LRANGE", "k", "0", "-1")
                self.assertEqual(self.lf.object("encoding", "k"), b"quicklist")
                self.assertEqual(self.red.object("encoding", "k"), b"quicklist")
                self.both("LRANGE", "k", "0", "-1")

    def test_dump_payloads_match_and_cross(self):
        rng = random.Random(11)
        for depth in (0, 1, 2):
            for n in (5, 1000, 10000):
                with self.subTest(depth=depth, n=n):
                    self.both("CONFIG", "SET", "list-compress-depth", str(depth))
                    self.both("DEL", "k")
                    self.fill("k", rng, n)
                    self.both("LINDEX", "k", str(n // 2))  # an interior node opened and closed
                    red, lf = self.red.dump("k"), self.lf.dump("k")
                    self.assertEqual(lf, red)  # byte for byte
                    want = self.red.lrange("k", 0, -1)
                    for r, payload in ((self.lf, red), (self.red, lf), (self.lf, lf)):
                        r.delete("k2")
                        self.assertTrue(r.restore("k2", 0, payload))
                        self.assertEqual(r.lrange("k2", 0, -1), want)
                        self.assertEqual(r.object("encoding", "k2"), b"quicklist")

    def test_memory_usage_counts_compressed_nodes(self):
        rng = random.Random(5)
        values = [element(rng) for _ in range(10000)]
        sizes = {}
        for depth in (0, 1):
            self.both("CONFIG", "SET", "list-compress-depth", str(depth))
            self.both("DEL", "k")
            for i in range(0, len(values), 500):
                self.both("RPUSH", "k", *values[i:i + 500])
            sizes[depth] = (self.lf.memory_usage("k", samples=0), self.red.memory_usage("k", samples=0))
        lf_ratio = sizes[1][0] / sizes[0][0]
        red_ratio = sizes[1][1] / sizes[0][1]
        # Both servers keep the interior compressed: each list shrinks by far (redis-server's
        # ratio is the yardstick, measured here), and lfdb's no less than half as much.
        self.assertLess(red_ratio, 0.7, sizes)
        self.assertLess(lf_ratio, 0.7, sizes)
        self.assertLess(1 - lf_ratio, 2 * (1 - red_ratio) + 0.1, sizes)

    def test_new_depth_takes_hold_as_nodes_are_touched(self):
        rng = random.Random(7)
        values = [element(rng) for _ in range(10000)]
        for i in range(0, len(values), 500):
            self.both("RPUSH", "k", *values[i:i + 500])
        plain = self.lf.memory_usage("k", samples=0)
        self.both("CONFIG", "SET", "list-compress-depth", "1")
        self.assertEqual(self.lf.memory_usage("k", samples=0), plain)  # nothing touched yet
        self.both("LREM", "k", "0", "no-such-element")  # LREM walks (and touches) every node
        self.assertLess(self.lf.memory_usage("k", samples=0), plain * 0.7)
        self.both("LRANGE", "k", "0", "-1")
        self.both("CONFIG", "SET", "list-compress-depth", "0")
        self.both("LREM", "k", "0", "no-such-element")
        self.assertEqual(self.lf.memory_usage("k", samples=0), plain)  # plain again as touched
        self.both("LRANGE", "k", "0", "-1")


if __name__ == "__main__":
    unittest.main()
