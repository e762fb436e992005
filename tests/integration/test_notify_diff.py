"""Differential test of keyspace notifications: every write command of the keyspace, run against
a redis-server 7.0 and the lfdb-server under test side by side with notify-keyspace-events set
to everything (KEA plus n, m), and the events a PSUBSCRIBE to `__key*__:*` receives must be the
same, in the same order, on both. The commands go through one connection (one invocation after
another), so the order of the events is the order of the commands on both servers.
Runs only against lfdb-server."""

import unittest

from lfdb_testlib import RawConnection, RedisPeer, ServerProcess, is_lfdb

SENTINEL = "__notify_diff_done__"

# Each group runs with the flags given; a group's commands run on db 0 unless they SELECT.
SCRIPT = [
    ("KEA", [
        # lists
        ["RPUSH", "l", "a", "b", "c", "d", "e"],
        ["LPUSHX", "l", "z"], ["RPUSHX", "l", "y"], ["LPUSHX", "nol", "z"],
        ["LSET", "l", "0", "zz"], ["LINSERT", "l", "BEFORE", "b", "bb"],
        ["LINSERT", "l", "BEFORE", "nothere", "x"], ["LREM", "l", "1", "bb"],
        ["LREM", "l", "0", "nothere"], ["LTRIM", "l", "1", "-2"],
        ["LMOVE", "l", "l2", "LEFT", "RIGHT"], ["RPOPLPUSH", "l", "l2"],
        ["LMPOP", "2", "none", "l", "RIGHT", "COUNT", "1"],
        ["LPOP", "l", "10"], ["LTRIM", "l2", "5", "10"],
        # sets
        ["SADD", "s", "a", "b", "c", "d"], ["SADD", "t", "c", "d", "e"],
        ["SMOVE", "s", "t", "a"], ["SMOVE", "s", "t", "nothere"],
        ["SINTERSTORE", "si", "s", "t"], ["SUNIONSTORE", "su", "s", "t"],
        ["SDIFFSTORE", "sd", "s", "t"], ["SDIFFSTORE", "si", "s", "s"],
        ["SPOP", "su"], ["SPOP", "su", "2"], ["SPOP", "su", "100"],
        ["SMOVE", "t", "s", "e"],
        # hashes
        ["HSET", "h", "a", "1"], ["HSETNX", "h", "a", "2"], ["HSETNX", "h", "b", "2"],
        ["HMSET", "h", "c", "3"], ["HINCRBY", "h", "a", "5"],
        ["HINCRBYFLOAT", "h", "a", "0.5"], ["HDEL", "h", "a", "b", "c"],
        # sorted sets
        ["ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e"],
        ["ZINCRBY", "z", "1", "a"], ["ZREMRANGEBYSCORE", "z", "100", "200"],
        ["ZREMRANGEBYSCORE", "z", "1", "2"], ["ZREMRANGEBYRANK", "z", "0", "0"],
        ["ZADD", "zl", "0", "a", "0", "b", "0", "c"],
        ["ZREMRANGEBYLEX", "zl", "[a", "[b"], ["ZPOPMIN", "z"], ["ZPOPMAX", "z", "1"],
        ["ZADD", "z", "1", "x", "2", "y"], ["ZUNIONSTORE", "zu", "2", "z", "zl"],
        ["ZINTERSTORE", "zi", "2", "z", "zl"], ["ZDIFFSTORE", "zd", "2", "z", "zl"],
        ["ZRANGESTORE", "zr", "z", "0", "-1"], ["ZRANGESTORE", "zr", "z", "5", "9"],
        ["ZMPOP", "1", "zu", "MIN", "COUNT", "10"],
        # strings, bits, HyperLogLog
        ["SET", "n", "1"], ["INCR", "n"], ["DECR", "n"], ["DECRBY", "n", "3"],
        ["PSETEX", "p", "100000", "v"], ["SETBIT", "bits", "7", "1"],
        ["BITFIELD", "bits", "SET", "u8", "0", "255"], ["BITFIELD", "bits", "GET", "u8", "0"],
        ["BITOP", "OR", "bo", "bits", "n"], ["BITOP", "AND", "bo", "none1", "none2"],
        ["PFADD", "hll", "a", "b"], ["PFADD", "hll", "a"], ["PFMERGE", "hll2", "hll"],
        ["MSETNX", "m1", "1", "m2", "2"], ["SET", "s1", "v", "KEEPTTL"],
        ["SET", "s1", "w", "GET"], ["SET", "s1", "x", "XX", "PX", "100000"],
        # keys
        ["PEXPIRE", "s1", "500000"], ["EXPIREAT", "s1", "99999999999"],
        ["PEXPIREAT", "s1", "1"], ["RENAMENX", "p", "p2"], ["RENAME", "p2", "p2"],
        ["COPY", "m1", "m3"], ["COPY", "m1", "m3", "REPLACE"],
        ["MOVE", "m3", "1"], ["SORT", "l2", "ALPHA", "STORE", "sorted"],
        ["SORT", "nolist", "STORE", "sorted"], ["UNLINK", "m1", "m2"],
        ["GEOADD", "g", "13.361389", "38.115556", "Palermo", "15.087269", "37.502669", "Catania"],
        ["GEOSEARCHSTORE", "gs", "g", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km"],
        ["GEORADIUS", "g", "15", "37", "200", "km", "STORE", "gr"],
        ["SELECT", "1"], ["SET", "db1key", "v"], ["MOVE", "db1key", "0"], ["SELECT", "0"],
        # streams (explicit ids: the replies are compared too)
        ["XADD", "st", "1-1", "f", "v"], ["XADD", "st", "MAXLEN", "1", "2-1", "f", "v"],
        ["XADD", "nost", "NOMKSTREAM", "1-1", "f", "v"], ["XADD", "st", "3-1", "f", "v"],
        ["XGROUP", "CREATE", "st", "g", "0"], ["XGROUP", "CREATE", "st2", "g", "$", "MKSTREAM"],
        ["XGROUP", "CREATECONSUMER", "st", "g", "c1"],
        ["XREADGROUP", "GROUP", "g", "c2", "STREAMS", "st", ">"],
        ["XGROUP", "SETID", "st", "g", "0"], ["XGROUP", "DELCONSUMER", "st", "g", "c1"],
        ["XCLAIM", "st", "g", "c3", "0", "2-1"], ["XAUTOCLAIM", "st", "g", "c4", "0", "0"],
        ["XACK", "st", "g", "2-1"], ["XDEL", "st", "2-1"], ["XDEL", "st", "9-9"],
        ["XTRIM", "st", "MAXLEN", "0"], ["XTRIM", "st", "MAXLEN", "0"], ["XSETID", "st", "5-5"],
        ["XGROUP", "DESTROY", "st", "g"], ["XGROUP", "DESTROY", "st", "g"],
    ]),
    ("KEAm", [
        ["GET", "missing"], ["HGET", "missing", "f"], ["LRANGE", "missing", "0", "-1"],
        ["EXISTS", "missing"], ["GET", "n"],
    ]),
    ("KEAn", [
        ["SET", "fresh", "1"], ["SET", "fresh", "2"], ["RPUSH", "freshl", "a"],
        ["COPY", "fresh", "fresh2"],
    ]),
]


def events(port):
    """[(command, reply, [(channel, message)...])...]: each command with the events it caused."""
    sub = RawConnection(port, timeout=5)
    sub.command("PSUBSCRIBE", "__key*__:*")
    sub.command("SUBSCRIBE", SENTINEL)
    cmd = RawConnection(port, timeout=5)
    out = []
    for flags, commands in SCRIPT:
        cmd.command("CONFIG", "SET", "notify-keyspace-events", flags)
        for c in commands:
            reply = cmd.command(*c)
            cmd.command("PUBLISH", SENTINEL, "x")  # after every event of c
            got = []
            while (m := sub.read_parsed())[0] != b"message":
                got.append((m[2].decode(), m[3].decode()))
            if c[0] == "SPOP":  # which members: random on both servers
                reply = len(reply) if isinstance(reply, list) else reply is not None
            out.append((" ".join(c), reply, got))
    sub.close()
    cmd.close()
    return out


@unittest.skipUnless(is_lfdb(), "compares lfdb-server with redis-server")
class NotifyDiff(unittest.TestCase):
    def test_every_write_notifies_as_redis_does(self):
        peer = RedisPeer().start()
        lfdb = ServerProcess().start()
        try:
            want = events(peer.port)
            got = events(lfdb.port)
        finally:
            peer.stop()
            lfdb.stop()
        self.assertGreater(sum(len(e) for _, _, e in want), 100)
        diffs = ["%s\n  lfdb:  %r %r\n  redis: %r %r" % (c, r1, e1, r2, e2)
                 for (c, r1, e1), (_, r2, e2) in zip(got, want) if (r1, e1) != (r2, e2)]
        self.assertFalse(diffs, "\n".join(["%d of %d commands differ:" % (len(diffs), len(got))] + diffs))


if __name__ == "__main__":
    unittest.main()
