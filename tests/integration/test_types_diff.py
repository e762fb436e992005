"""Differential test of the container types: a seeded random sequence of list, set, sorted
set and bitmap commands over a small key space (so types collide and WRONGTYPE, empty-container deletion
and multi-key commands over missing keys all happen) is sent to a redis-server 7.0 and to the
lfdb-server under test, started side by side, and their replies are compared one by one.

Replies whose order Redis does not define (SMEMBERS, SINTER, ...) are compared sorted. Random
commands (SPOP, SRANDMEMBER) are compared by shape, and SPOP's divergence is undone by removing
what either server popped from both. Runs only against lfdb-server (it starts the redis peer
itself). LFDB_DIFF_SEED and LFDB_DIFF_STEPS override the seed and the length."""

import os
import random
import unittest

from lfdb_testlib import RawConnection, RespError, SideBySideTestCase, is_lfdb, parse_reply

SEED = int(os.environ.get("LFDB_DIFF_SEED", "20261122"))
STEPS = int(os.environ.get("LFDB_DIFF_STEPS", "4000"))

KEYS = ["a", "b", "c", "d", "e"]
ELEMS = ["v0", "v1", "v2", "v3", "v4", "v5", "1", "2", "3", "-7", ""]
UNORDERED = {"SMEMBERS", "SINTER", "SUNION", "SDIFF"}
LEX_KEY = "lex"  # a sorted set whose scores are all 0 (Generator.lex_cmd)


def normalize(cmd, reply):
    if cmd in UNORDERED and isinstance(reply, list):
        return sorted(reply)
    if cmd == "SSCAN" and isinstance(reply, list):
        return [reply[0], sorted(reply[1])]
    if cmd == "OBJECT" and reply in (b"intset", b"hashtable"):
        # A set's encoding depends on the path Redis took to build it (SDIFFSTORE's algorithm
        # may leave an all-integer result in a hash table): not part of the comparison.
        return b"set encoding"
    return reply


class Generator:
    def __init__(self, rnd):
        self.r = rnd

    def key(self):
        return self.r.choice(KEYS)

    def elem(self):
        return self.r.choice(ELEMS)

    def elems(self, lo=1, hi=4):
        return [self.elem() for _ in range(self.r.randint(lo, hi))]

    def index(self):
        return str(self.r.choice([0, 1, 2, -1, -2, 3, 5, -10, 10, 100]))

    def side(self):
        return self.r.choice(["LEFT", "RIGHT", "left"])

    def list_cmd(self):
        r, k = self.r, self.key()
        choices = [
            lambda: [r.choice(["LPUSH", "RPUSH"]), k] + self.elems(),
            lambda: [r.choice(["LPUSHX", "RPUSHX"]), k] + self.elems(),
            lambda: [r.choice(["LPOP", "RPOP"]), k],
            lambda: [r.choice(["LPOP", "RPOP"]), k, str(r.choice([0, 1, 2, 5, -1]))],
            lambda: ["LLEN", k],
            lambda: ["LRANGE", k, self.index(), self.index()],
            lambda: ["LINDEX", k, self.index()],
            lambda: ["LSET", k, self.index(), self.elem()],
            lambda: ["LREM", k, str(r.choice([0, 1, 2, -1, -2])), self.elem()],
            lambda: ["LTRIM", k, self.index(), self.index()],
            lambda: ["LINSERT", k, r.choice(["BEFORE", "AFTER"]), self.elem(), self.elem()],
            lambda: ["LPOS", k, self.elem()] + r.choice(
                [[], ["RANK", str(r.choice([1, 2, -1, -2]))], ["COUNT", str(r.choice([0, 1, 2]))],
                 ["RANK", "-1", "COUNT", "0"], ["MAXLEN", str(r.choice([0, 1, 3]))]]),
            lambda: ["LMOVE", k, self.key(), self.side(), self.side()],
            lambda: ["RPOPLPUSH", k, self.key()],
            lambda: ["OBJECT", "ENCODING", k],
        ]
        return r.choice(choices)()

    def set_cmd(self):
        r, k = self.r, self.key()
        choices = [
            lambda: ["SADD", k] + self.elems(),
            lambda: ["SADD", k] + self.elems(),
            lambda: ["SREM", k] + self.elems(),
            lambda: ["SMEMBERS", k],
            lambda: ["SISMEMBER", k, self.elem()],
            lambda: ["SMISMEMBER", k] + self.elems(),
            lambda: ["SCARD", k],
            lambda: ["SPOP", k],
            lambda: ["SPOP", k, str(r.choice([0, 1, 2, 10]))],
            lambda: ["SRANDMEMBER", k] + r.choice([[], ["2"], ["-3"], ["0"]]),
            lambda: [r.choice(["SINTER", "SUNION", "SDIFF"])] + [self.key() for _ in range(r.randint(1, 3))],
            lambda: [r.choice(["SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE"]), k] +
                    [self.key() for _ in range(r.randint(1, 3))],
            lambda: ["SINTERCARD", "2", k, self.key()] + r.choice([[], ["LIMIT", "1"]]),
            lambda: ["SMOVE", k, self.key(), self.elem()],
            lambda: ["SSCAN", k, "0", "COUNT", "1000"],
        ]
        return r.choice(choices)()

    def score(self):
        return self.r.choice(["0", "1", "2", "1.5", "-3", "0.1", "inf", "-inf", "1e3", "x"])

    def bound(self):
        b = self.r.choice(["0", "1", "2", "1.5", "-3", "inf", "-inf", "+inf", "(1", "(2", "x"])
        return b

    def lex(self):
        return self.r.choice(["-", "+", "[v1", "(v1", "[v3", "(v4", "[1", "[", "(", "v1"])

    def zset_cmd(self):
        r, k = self.r, self.key()

        def pairs(n):
            out = []
            for _ in range(n):
                out += [self.score(), self.elem()]
            return out

        def limit():
            return r.choice([[], [], ["LIMIT", "0", "2"], ["LIMIT", "1", "-1"], ["LIMIT", "-1", "1"]])

        def ws():
            return r.choice([[], ["WITHSCORES"]])

        choices = [
            lambda: ["ZADD", k] + pairs(r.randint(1, 4)),
            lambda: ["ZADD", k] + pairs(r.randint(1, 3)),
            lambda: ["ZADD", k] + r.sample(["NX", "XX", "GT", "LT", "CH"], r.randint(1, 2)) + pairs(r.randint(1, 2)),
            lambda: ["ZADD", k] + r.choice([[], ["GT"], ["LT"], ["XX"], ["NX"]]) + ["INCR"] + pairs(1),
            lambda: ["ZINCRBY", k, self.score(), self.elem()],
            lambda: ["ZREM", k] + self.elems(),
            lambda: ["ZSCORE", k, self.elem()],
            lambda: ["ZMSCORE", k] + self.elems(),
            lambda: ["ZCARD", k],
            lambda: ["ZCOUNT", k, self.bound(), self.bound()],
            lambda: self.lex_cmd(),
            lambda: self.lex_cmd(),
            lambda: ["ZRANGE", k, self.index(), self.index()] + ws() + r.choice([[], ["REV"]]),
            lambda: ["ZRANGE", k, self.bound(), self.bound(), "BYSCORE"] + r.choice([[], ["REV"]]) + limit() + ws(),
            lambda: ["ZRANGE", k, "0", "-1"] + r.choice([["LIMIT", "0", "1"], ["BYLEX", "WITHSCORES"], ["REV", "REV"]]),
            lambda: ["ZREVRANGE", k, self.index(), self.index()] + ws(),
            lambda: [r.choice(["ZRANGEBYSCORE", "ZREVRANGEBYSCORE"]), k, self.bound(), self.bound()] + ws() + limit(),
            lambda: [r.choice(["ZRANK", "ZREVRANK"]), k, self.elem()],
            lambda: [r.choice(["ZPOPMIN", "ZPOPMAX"]), k] + r.choice([[], ["0"], ["1"], ["2"], ["5"]]),
            lambda: ["ZREMRANGEBYRANK", k, self.index(), self.index()],
            lambda: ["ZREMRANGEBYSCORE", k, self.bound(), self.bound()],
            lambda: self.zstore(k),
            lambda: self.zsetop(k),
            lambda: ["ZRANGESTORE", k, self.key(), self.index(), self.index()] + r.choice([[], ["REV"]]),
            lambda: ["ZRANGESTORE", k, self.key(), self.bound(), self.bound(), "BYSCORE"] + r.choice([[], ["REV"]]) + limit() + r.choice([[], [], ["WITHSCORES"]]),
            lambda: ["ZRANDMEMBER", k] + r.choice([[], ["0"], ["3"], ["-5"], ["2", "WITHSCORES"], ["-3", "withscores"], ["x"], ["1", "BAD"]]),
            lambda: ["ZSCAN", k, "0"],
            lambda: ["OBJECT", "ENCODING", k],
        ]
        return r.choice(choices)()

    def lex_cmd(self):
        # Lexicographic ranges are defined only when every score is equal (Redis answers from
        # the shape of its listpack or skip list otherwise): they get a key of their own whose
        # scores are all 0.
        r, k = self.r, LEX_KEY

        def limit():
            return r.choice([[], ["LIMIT", "0", "2"], ["LIMIT", "1", "-1"], ["LIMIT", "-1", "1"]])

        return r.choice([
            lambda: ["ZADD", k] + [x for e in self.elems() for x in ("0", e)],
            lambda: ["ZREM", k] + self.elems(),
            lambda: ["ZLEXCOUNT", k, self.lex(), self.lex()],
            lambda: ["ZRANGE", k, self.lex(), self.lex(), "BYLEX"] + r.choice([[], ["REV"]]) + limit(),
            lambda: [r.choice(["ZRANGEBYLEX", "ZREVRANGEBYLEX"]), k, self.lex(), self.lex()] + limit(),
            lambda: ["ZREMRANGEBYLEX", k, self.lex(), self.lex()],
            lambda: ["ZRANGE", k, "0", "-1", "WITHSCORES"],
        ])()

    def zstore(self, dst):
        r = self.r
        n = r.randint(1, 3)
        cmd = [r.choice(["ZUNIONSTORE", "ZINTERSTORE"]), dst, str(n)] + [self.key() for _ in range(n)]
        if r.random() < 0.4:
            cmd += ["WEIGHTS"] + [r.choice(["1", "2", "0.5", "-1", "0", "inf"]) for _ in range(n)]
        if r.random() < 0.4:
            cmd += ["AGGREGATE", r.choice(["SUM", "MIN", "MAX"])]
        return cmd

    def zsetop(self, dst):
        """ZUNION ZINTER ZDIFF, their STORE forms and ZINTERCARD, with the options each takes
        and some it does not."""
        r = self.r
        n = r.randint(1, 3)
        name = r.choice(["ZDIFFSTORE", "ZUNION", "ZINTER", "ZDIFF", "ZINTERCARD"])
        keys = [str(n)] + [self.key() for _ in range(n)]
        cmd = [name] + ([dst] if name.endswith("STORE") else []) + keys
        if r.random() < 0.1:
            cmd[cmd.index(str(n))] = r.choice(["0", "-1", "9", "x"])
        if r.random() < 0.3:
            cmd += ["WEIGHTS"] + [r.choice(["1", "2", "-1", "x"]) for _ in range(n)]
        if r.random() < 0.3:
            cmd += ["AGGREGATE", r.choice(["SUM", "MIN", "MAX", "AVG"])]
        if r.random() < 0.4:
            cmd += ["WITHSCORES"]
        if r.random() < 0.3:
            cmd += ["LIMIT", r.choice(["0", "1", "2", "-1", "x"])]
        return cmd

    def bit_cmd(self):
        """Bitmaps over the same keys (so strings meet lists and WRONGTYPE), with offsets and
        values near the edges of each field type and every overflow rule."""
        r, k = self.r, self.key()
        # The largest legal offset only where it allocates nothing (GETBIT): a SETBIT there
        # makes a 512 MB string on both servers.
        off = lambda: str(r.choice([0, 1, 7, 8, 13, 31, 64, 100, -1, 4294967296]))
        idx = lambda: str(r.choice([0, 1, 2, -1, -2, -100, 3, 100]))
        ftype = lambda: r.choice(["u1", "u8", "i8", "u16", "i5", "u63", "i64", "u64", "i0", "x8"])
        foff = lambda: r.choice(["0", "3", "#1", "#2", "17", "-1", "#-1"])
        val = lambda: str(r.choice([0, 1, -1, 127, 128, -128, 255, 256, 1000,
                                    9223372036854775807, -9223372036854775808]))
        unit = lambda: r.choice([[], ["BYTE"], ["BIT"], ["bit"], ["NIBBLE"]])

        def field_ops():
            ops = []
            for _ in range(r.randint(1, 4)):
                x = r.random()
                if x < 0.2:
                    ops += ["OVERFLOW", r.choice(["WRAP", "SAT", "FAIL", "sat", "BAD"])]
                elif x < 0.5:
                    ops += ["GET", ftype(), foff()]
                elif x < 0.75:
                    ops += ["SET", ftype(), foff(), val()]
                else:
                    ops += ["INCRBY", ftype(), foff(), val()]
            return ops
        return r.choice([
            lambda: ["SETBIT", k, off(), r.choice(["0", "1", "2", "-1", "x"])],
            lambda: ["GETBIT", k, r.choice([off(), "4294967295"])],
            lambda: ["BITCOUNT", k],
            lambda: ["BITCOUNT", k, idx(), idx()] + unit(),
            lambda: ["BITCOUNT", k, idx()],
            lambda: ["BITPOS", k, r.choice(["0", "1", "2"])],
            lambda: ["BITPOS", k, r.choice(["0", "1"]), idx()],
            lambda: ["BITPOS", k, r.choice(["0", "1"]), idx(), idx()] + unit(),
            lambda: ["BITOP", r.choice(["AND", "OR", "XOR", "NOT", "nand"]), self.key()]
                    + [self.key() for _ in range(r.randint(1, 3))],
            lambda: ["BITFIELD", k] + field_ops(),
            lambda: ["BITFIELD_RO", k] + field_ops(),
            lambda: ["SET", k, r.choice(["\xff\xf0\x00", "foobar", "", "\x00\x00\xff"])],
            lambda: ["GET", k],
            lambda: ["LCS", k, self.key()] + r.sample(["LEN", "IDX", "WITHMATCHLEN", "BAD"], r.randint(0, 2))
                    + r.choice([[], [], ["MINMATCHLEN", r.choice(["0", "2", "-1", "x"])]]),
            lambda: ["SET", k, r.choice(["ohmytext", "mynewtext", "abcdefgh", "xaxbxcxd"])],
            lambda: ["SUBSTR", k, idx(), idx()],
        ])()

    def generic_cmd(self):
        r, k = self.r, self.key()
        return r.choice([
            ["TYPE", k], ["EXISTS", k], ["DEL", k], ["SET", k, "str"], ["HSET", k, "f", "v"],
            ["RENAME", k, self.key()], ["GET", k], ["OBJECT", "REFCOUNT", k],
            ["SET", k, r.choice(["0", "9999", "10000", "-1", "12"])],
        ])

    def next(self):
        x = self.r.random()
        if x < 0.08:
            return self.generic_cmd()
        if x < 0.20:
            return self.bit_cmd()
        if x < 0.50:
            return self.zset_cmd()
        if x < 0.72:
            return self.list_cmd()
        return self.set_cmd()


@unittest.skipUnless(is_lfdb(), "compares lfdb-server with redis-server")
class TypesDifferentialTest(SideBySideTestCase):
    def run_sequence(self, seed, steps, resp3=False):
        rnd = random.Random(seed)
        gen = Generator(rnd)
        with RawConnection(self.peer.port) as pc, RawConnection(self.lfdb.port) as lc:
            for c in (pc, lc):
                if resp3:
                    c.command("HELLO", "3")
                self.assertEqual(c.command("FLUSHALL"), b"OK")
            history = []
            for step in range(steps):
                cmd = gen.next()
                name = cmd[0].upper()
                pc.send_command(*cmd)
                lc.send_command(*cmd)
                raw_want, raw_got = pc.read_reply(), lc.read_reply()
                want, got = parse_reply(raw_want), parse_reply(raw_got)
                history.append(cmd)
                where = "step %d of seed %d: %r (last commands: %r)" % (step, seed, cmd, history[-8:])
                # The reply's type byte too: RESP3 tells sets, doubles and nulls apart.
                self.assertEqual(raw_got[:1], raw_want[:1], where)
                if name in ("SPOP", "SRANDMEMBER", "ZRANDMEMBER"):
                    self.check_random(name, cmd, want, got, pc, lc, where)
                elif name in UNORDERED or name in ("SSCAN", "OBJECT"):
                    self.assertEqual(normalize(name, got), normalize(name, want), where)
                else:
                    self.assertEqual(raw_got, raw_want, where)  # byte for byte
            # The final states agree key by key.
            for k in KEYS + [LEX_KEY]:
                self.assertEqual(lc.command("TYPE", k), pc.command("TYPE", k), k)

    def check_random(self, name, cmd, want, got, pc, lc, where):
        if isinstance(want, RespError) or want is None:
            self.assertEqual(got, want, where)
            return
        if isinstance(want, bytes):
            self.assertIsInstance(got, bytes, where)
            want, got = [want], [got]
        self.assertIsInstance(got, list, where)
        self.assertEqual(len(got), len(want), where)
        if name == "SPOP":
            # Each popped something of the same size: remove the union from both.
            union = sorted(set(want) | set(got))
            if union:
                pc.command("SREM", cmd[1], *union)
                lc.command("SREM", cmd[1], *union)
            self.assertEqual(sorted(lc.command("SMEMBERS", cmd[1])),
                             sorted(pc.command("SMEMBERS", cmd[1])), where)

    def test_random_sequences(self):
        self.run_sequence(SEED, STEPS)

    def test_other_seeds(self):
        for seed in range(SEED + 1, SEED + 4):
            self.run_sequence(seed, STEPS // 4)

    def test_resp3(self):
        self.run_sequence(SEED + 10, STEPS // 2, resp3=True)


if __name__ == "__main__":
    unittest.main()
