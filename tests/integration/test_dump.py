"""DUMP and RESTORE (docs/server.md), side by side with redis-server 7.0.

Payloads cross between the two servers in both directions for every type, in its small
(listpack, intset, integer string) and large (quicklist of many nodes, hash table, skip list,
LZF-compressed string, many stream nodes) encodings: what one server dumps the other restores,
and the restored value reads the same on both. RESTORE's options and errors are compared reply
for reply, and lfdb-server's log replays what RESTORE did. Runs only against lfdb-server (it
starts its own redis-server)."""

import threading
import time
import unittest

import redis

from lfdb_testlib import HOST, RawConnection, RedisPeer, ServerProcess, is_lfdb
from test_replication import wait_caught_up


def error_of(fn, *args):
    try:
        fn(*args)
    except redis.ResponseError as e:
        return str(e)
    return "no error"


# Each case builds one key with plain commands; both servers run the same ones.
def build_cases():
    big_list = [("item-%d" % i) * (1 + i % 7) for i in range(3000)] + [str(i - 50) for i in range(200)]
    big_list.append("x" * 20000)  # an element larger than a listpack node
    return {
        "string_small": [("SET", "k", "bar")],
        "string_int": [("SET", "k", "-12345")],
        "string_int64": [("SET", "k", "1234567890123456")],
        "string_lzf": [("SET", "k", "abcdefgh" * 200)],
        "string_binary": [("SET", "k", bytes(range(256)))],
        "list_small": [("RPUSH", "k", "a", "1", "-7", "300", "70000", "-5000000000", "hello")],
        "list_large": [("RPUSH", "k", *big_list[i:i + 500]) for i in range(0, len(big_list), 500)],
        "set_intset": [("SADD", "k", "1", "-2", "300", "-70000")],
        "set_intset64": [("SADD", "k", "1", str(2 ** 40), str(-2 ** 62))],
        "set_intset500": [("SADD", "k", *[str(70000 + i) for i in range(500)])],  # LZF-compressed
        "set_strings": [("SADD", "k", "a", "b", "1", "c")],
        "set_large": [("SADD", "k", *[str(i) for i in range(1000)])],
        "hash_small": [("HSET", "k", "f1", "v1", "f2", "2", "n", "-300")],
        "hash_long_value": [("HSET", "k", "f", "v" * 100, "g", "1")],
        "hash_large": [("HSET", "k", *[x for i in range(1000) for x in ("f%d" % i, "v%d" % i)])],
        "zset_small": [("ZADD", "k", "1", "a", "1.5", "b", "-inf", "c", "inf", "d", "1e20", "e",
                        "-3", "f", "0.1", "g")],
        "zset_large": [("ZADD", "k", *[x for i in range(300) for x in (str(i * 0.25), "m%d" % i)])],
        "zset_long_member": [("ZADD", "k", "1", "m" * 100, "2", "n")],
        "stream_small": [("XADD", "k", "1-1", "a", "1", "b", "x"),
                         ("XADD", "k", "1-2", "a", "2", "b", "y"),
                         ("XADD", "k", "5-0", "other", "z"),
                         ("XADD", "k", "6-0", "a", "3", "b", "w"),
                         ("XDEL", "k", "5-0"),
                         ("XGROUP", "CREATE", "k", "g1", "0"),
                         ("XGROUP", "CREATE", "k", "g2", "$"),
                         ("XREADGROUP", "GROUP", "g1", "alice", "COUNT", "2", "STREAMS", "k", ">"),
                         ("XGROUP", "CREATECONSUMER", "k", "g1", "bob")],
        "stream_large": [("XADD", "k", "%d-%d" % (1000 + i // 3, i % 3),
                          *(("f", str(i), "g", "v%d" % i) if i % 5 else ("h", "x" * (i % 90))))
                         for i in range(450)],
        "stream_empty": [("XADD", "k", "3-3", "a", "b"), ("XDEL", "k", "3-3")],
    }


STREAM_KEYS = {b"length", b"radix-tree-keys", b"radix-tree-nodes", b"last-generated-id",
               b"max-deleted-entry-id", b"entries-added", b"recorded-first-entry-id", b"entries",
               b"groups", b"name", b"last-delivered-id", b"entries-read", b"lag", b"pel-count",
               b"pel", b"consumers", b"seen-time", b"pending"}


def normalized(x, times):
    """XINFO STREAM FULL as dicts, without the node counts (each server lays out its own nodes)
    and, when `times` is false, without delivery and seen times (they are the clock's)."""
    if isinstance(x, list):
        if x and len(x) % 2 == 0 and all(isinstance(k, bytes) and k in STREAM_KEYS for k in x[::2]):
            return {k: normalized(v, times) for k, v in zip(x[::2], x[1::2])
                    if k not in (b"radix-tree-keys", b"radix-tree-nodes")
                    and (times or k != b"seen-time")}
        return [normalized(v, times) for v in x]
    if isinstance(x, int) and x > 10 ** 12 and not times:
        return "a time"
    return x


def read_back(r, kind, times=True):
    """The key's value and metadata, in a form that compares across servers."""
    t = r.type("k").decode()
    if t == "string":
        value = r.get("k")
    elif t == "list":
        value = r.lrange("k", 0, -1)
    elif t == "set":
        value = sorted(r.smembers("k"))
    elif t == "hash":
        value = sorted(r.hgetall("k").items())
    elif t == "zset":
        value = r.zrange("k", 0, -1, withscores=True)
    elif t == "stream":
        info = r.execute_command("XINFO", "STREAM", "k", "FULL")
        value = (r.xrange("k"), normalized(info, times))
    else:
        value = None
    return t, value


@unittest.skipUnless(is_lfdb(), "starts its own redis-server next to lfdb-server")
class DumpTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.peer = RedisPeer().start()
        cls.lfdb = ServerProcess([("appendonly", "yes"), ("appendfsync", "always")]).start()
        cls.servers = {"redis": cls.peer, "lfdb": cls.lfdb}

    @classmethod
    def tearDownClass(cls):
        cls.peer.stop()
        cls.lfdb.stop()

    def client(self, name):
        return redis.Redis(host=HOST, port=self.servers[name].port, socket_timeout=10)

    def setUp(self):
        for name in self.servers:
            r = self.client(name)
            r.config_set("maxmemory-policy", "noeviction")
            r.flushall()
            r.close()

    def both(self):
        return [(name, self.client(name)) for name in ("redis", "lfdb")]

    def test_payloads_cross_both_ways_for_every_type_and_encoding(self):
        red, lf = self.client("redis"), self.client("lfdb")
        for case, commands in build_cases().items():
            with self.subTest(case=case):
                for r in (red, lf):
                    r.delete("k")
                    for cmd in commands:
                        r.execute_command(*cmd)
                # the same value built on both (streams' delivery times aside)
                self.assertEqual(read_back(lf, case, times=False), read_back(red, case, times=False))
                want = {"redis": read_back(red, case), "lfdb": read_back(lf, case)}
                want_encoding = red.object("encoding", "k")
                from_redis, from_lfdb = red.dump("k"), lf.dump("k")
                self.assertIsNotNone(from_lfdb)
                for r, payload, source, direction in ((lf, from_redis, "redis", "redis->lfdb"),
                                                      (red, from_lfdb, "lfdb", "lfdb->redis"),
                                                      (lf, from_lfdb, "lfdb", "lfdb->lfdb")):
                    r.delete("k")
                    self.assertTrue(r.restore("k", 0, payload), direction)
                    self.assertEqual(read_back(r, case), want[source], direction)
                    self.assertEqual(r.object("encoding", "k"), want_encoding, direction)

    def test_payloads_are_redis_bytes_where_the_layout_is_the_same(self):
        # redis-server writes every string payload by RDB's string rule (rdbcompression yes):
        # over 20 bytes LZF when that saves 4 bytes or more, an integer of up to 11 characters
        # as an integer. So do lfdb's strings, listpacks, intsets, quicklist nodes and stream
        # nodes. Left out: hash tables (each server walks its own table's order; redis-server's
        # is seeded at random per process, so even two fields come out in either order) and
        # streams with consumer groups (delivery and seen times, the nodes' layout).
        cases = {name: cmds for name, cmds in build_cases().items()
                 if name not in ("set_strings", "set_large", "hash_large", "hash_long_value",
                                 "stream_small")}
        cases.update({
            "string_text": [("SET", "k", "the quick brown fox jumps over the lazy dog " * 3)],
            "hash_listpack100": [("HSET", "k", *[x for i in range(100)
                                                 for x in ("field:%d" % i, "value:%d" % i)])],
            "zset_listpack100": [("ZADD", "k", *[x for i in range(100)
                                                 for x in (str(i), "member:%d" % i)])],
            "zset_listpack_halves": [("ZADD", "k", *[x for i in range(100)
                                                     for x in (str(i * 0.5), "member:%d" % i)])],
        })
        red, lf = self.client("redis"), self.client("lfdb")
        compressed = 0
        for case, commands in cases.items():
            with self.subTest(case=case):
                for r in (red, lf):
                    r.delete("k")
                    for cmd in commands:
                        r.execute_command(*cmd)
                from_redis = red.dump("k")
                self.assertEqual(lf.dump("k"), from_redis)
                compressed += b"\xc3" in from_redis[1:3]  # the first string LZF-encoded
        self.assertGreaterEqual(compressed, 6)  # the comparison covered compressed payloads

    def test_intset_payloads_are_redis_bytes(self):
        # An intset is a string payload in RDB: over 20 bytes, redis-server writes it
        # LZF-compressed when that saves 4 bytes or more. lfdb writes the same bytes, compressed
        # or not. (Consecutive 16- or 32-bit members barely compress: those stay plain on both.)
        import random
        rng = random.Random(500)
        cases = {
            "small": ["1", "-2", "300"],  # 14 bytes: never compressed
            "run500": [str(70000 + i) for i in range(500)],  # LZF saves under 4 bytes: plain
            "run500_16bit": [str(i * 3) for i in range(500)],
            "random500": [str(rng.randrange(-2 ** 31, 2 ** 31)) for _ in range(500)],  # does not
            "wide64": [str(2 ** 40 + i) for i in range(100)],  # repeated high bytes: compressed
            "wide64_500": [str(-2 ** 50 + i * 977) for i in range(500)],
            "built_in_steps": None,  # many SADDs, an SREM, a *STORE: not one bulk add
        }
        compressed = 0
        for case, members in cases.items():
            with self.subTest(case=case):
                for _, r in self.both():
                    r.delete("k", "a", "b")
                    if members is None:
                        for i in range(100):
                            r.sadd("a", str(i * 7 * 2 ** 33), str(-i))
                        r.sadd("b", *[str(i) for i in range(0, 400, 2)])
                        r.srem("a", "14")
                        r.sunionstore("k", "a", "b")
                    else:
                        r.sadd("k", *members)
                    self.assertEqual(r.object("encoding", "k"), b"intset")
                red, lf = self.client("redis"), self.client("lfdb")
                from_redis, from_lfdb = red.dump("k"), lf.dump("k")
                self.assertEqual(from_lfdb, from_redis)
                compressed += from_redis[1:2] == b"\xc3"  # the LZF string encoding
                for r, payload in ((lf, from_redis), (red, from_lfdb)):
                    r.delete("k")
                    self.assertTrue(r.restore("k", 0, payload))
                    self.assertEqual(r.object("encoding", "k"), b"intset")
                self.assertEqual(sorted(lf.smembers("k")), sorted(red.smembers("k")))
        self.assertGreaterEqual(compressed, 2)  # the byte comparison covered compressed payloads

    def test_payloads_of_redis_before_7_restore_as_on_redis(self):
        # Redis 6 and older wrote lists, hashes and sorted sets as ziplists; redis-server 7.0
        # still loads them. Hand-made here with every ziplist encoding in them.
        elems = ["a", "7", "12", "0", "-100", "1000", "-70000", "5000000", "-3000000000",
                 "x" * 70, "y" * 20000, "9223372036854775807", "z"]
        scored = ["m4", "-inf", "m1", "1", "m2", "2.5", "m3", "300"]  # in score order, as written
        payloads = {
            "list_ziplist": seal(b"\x0a" + rdb_string(ziplist(elems))),
            "list_quicklist": seal(b"\x0e\x02" + rdb_string(ziplist(elems[:5]))
                                   + rdb_string(ziplist(elems[5:]))),
            "hash_ziplist": seal(b"\x0d" + rdb_string(ziplist(["f1", "v1", "f2", "12", "f3", "-70000"]))),
            "zset_ziplist": seal(b"\x0c" + rdb_string(ziplist(scored))),
        }
        for case, payload in payloads.items():
            with self.subTest(case=case):
                got = []
                for _, r in self.both():
                    self.assertTrue(r.restore("k", 0, payload, replace=True))
                    got.append((read_back(r, case), r.object("encoding", "k")))
                self.assertEqual(got[1], got[0])

    def test_restore_errors_match_redis(self):
        def attempts(r):
            r.set("foo", "bar")
            good = r.dump("foo")
            bad_crc = good[:-1] + bytes([good[-1] ^ 1])
            newer = good[:-10] + b"\x0b\x00" + good[-8:]
            # valid trailers around bodies Redis refuses: an unknown type, an empty set, a
            # length running past the payload (dump.tcl's), an empty list of quicklist nodes
            sealed = {"unknown_type": b"\xc8\x01a", "empty_set": b"\x02\x00",
                      "empty_quicklist": b"\x12\x00", "short_string": b"\x00\x05ab",
                      "string_past_trailer": b"\x00\x0fab", "ziplist_hash": b"\x0d\x00",
                      "intset_bad_width": b"\x0b\x0a\x03\x00\x00\x00\x01\x00\x00\x00\x01\x00"}
            out = {
                "busy": error_of(r.restore, "foo", 0, good),
                "neg_ttl": error_of(r.restore, "n1", -1, good),
                "bad_ttl": error_of(r.execute_command, "RESTORE", "n1", "abc", good),
                "short_payload": error_of(r.restore, "n1", 0, b"..."),
                "bad_crc": error_of(r.restore, "n1", 0, bad_crc),
                "newer_version": error_of(r.restore, "n1", 0, newer),
                "bad_option": error_of(r.execute_command, "RESTORE", "n1", 0, good, "bogus"),
                "idletime_neg": error_of(r.execute_command, "RESTORE", "n1", 0, good, "IDLETIME", -1),
                "idletime_nan": error_of(r.execute_command, "RESTORE", "n1", 0, good, "IDLETIME", "x"),
                "idletime_twice": error_of(r.execute_command, "RESTORE", "n1", 0, good, "IDLETIME",
                                           1, "IDLETIME", 2),
                "idletime_no_arg": error_of(r.execute_command, "RESTORE", "n1", 0, good, "IDLETIME"),
                "freq_big": error_of(r.execute_command, "RESTORE", "n1", 0, good, "FREQ", 256),
                "freq_neg": error_of(r.execute_command, "RESTORE", "n1", 0, good, "FREQ", -1),
                "dump_arity": error_of(r.execute_command, "DUMP"),
                "restore_arity": error_of(r.execute_command, "RESTORE", "n1", 0),
                "invalid_size": error_of(r.restore, "n1", 0, b"\x00\x81\xff\xff\xff\xff\xff\xff\xff"
                                         b"\xf7\x0c\x00" + b"\x00" * 8),
                "dump_missing": r.dump("nope"),
                "n1_exists": r.exists("n1"),
            }
            return out, sealed

        results = {}
        for name, r in self.both():
            results[name], sealed = attempts(r)
        self.assertEqual(results["lfdb"], results["redis"])
        self.assertIn("BUSYKEY", results["lfdb"]["busy"])
        # Bodies with valid trailers (the CRC computed here as both servers check it).
        for name, body in sealed.items():
            payload = seal(body)
            with self.subTest(body=name):
                errors = [error_of(r.restore, "n2", 0, payload, True) for _, r in self.both()]
                self.assertEqual(errors[1], errors[0])
                if name != "short_string":  # Redis reads a value on into the trailer
                    self.assertEqual(errors[1], "Bad data format")

    def test_ttl_absttl_and_replace(self):
        for name, r in self.both():
            with self.subTest(server=name):
                r.set("foo", "bar")
                payload = r.dump("foo")
                r.delete("foo")
                self.assertTrue(r.restore("foo", 5000, payload))
                self.assertTrue(3000 <= r.pttl("foo") <= 5000)
                r.delete("foo")
                r.restore("foo", 2569591501, payload)  # past 32 bits
                self.assertTrue(2569591501 - 3000 <= r.pttl("foo") <= 2569591501)
                r.delete("foo")
                now = int(time.time() * 1000)
                r.restore("foo", now + 3000, payload, absttl=True)
                self.assertTrue(1000 <= r.pttl("foo") <= 3100)
                r.set("foo", "other")
                self.assertTrue(r.restore("foo", 0, payload, replace=True))
                self.assertEqual(r.get("foo"), b"bar")
                self.assertEqual(r.ttl("foo"), -1)
                # already expired on arrival: OK, and the key it replaced is gone
                self.assertTrue(r.restore("foo", now - 3000, payload, replace=True, absttl=True))
                self.assertEqual(r.exists("foo"), 0)

    def test_idletime_and_freq_set_the_access_clock(self):
        for name, r in self.both():
            with self.subTest(server=name):
                r.set("foo", "bar")
                payload = r.dump("foo")
                r.delete("foo")
                r.config_set("maxmemory-policy", "allkeys-lru")
                r.restore("foo", 0, payload, idletime=1000)
                self.assertTrue(1000 <= r.object("idletime", "foo") <= 1010)
                r.delete("foo")
                r.config_set("maxmemory-policy", "allkeys-lfu")
                r.restore("foo", 0, payload, frequency=100)
                self.assertEqual(r.object("freq", "foo"), 100)
                r.config_set("maxmemory-policy", "noeviction")

    def test_restoring_a_list_wakes_a_blocked_pop(self):
        for name, r in self.both():
            with self.subTest(server=name):
                r.rpush("src", "a", "b")
                payload = r.dump("src")
                blocked = self.client(name)
                result = []
                t = threading.Thread(target=lambda: result.append(blocked.blpop("dst", 10)))
                t.start()
                deadline = time.monotonic() + 10
                while r.info("clients")["blocked_clients"] == 0 and time.monotonic() < deadline:
                    time.sleep(0.01)
                r.restore("dst", 0, payload)
                t.join(15)
                blocked.close()
                self.assertEqual(result, [(b"dst", b"a")])
                self.assertEqual(r.lrange("dst", 0, -1), [b"b"])

    def test_restored_keys_reach_a_replica(self):
        lf, red = self.client("lfdb"), self.client("redis")
        replica = ServerProcess([("replicaof", "%s %d" % (HOST, self.lfdb.port))]).start()
        self.addCleanup(replica.stop)
        rc = redis.Redis(host=HOST, port=replica.port, socket_timeout=10)
        self.addCleanup(rc.close)
        cases = build_cases()
        keys = []
        for case in ("string_lzf", "list_large", "zset_small", "stream_small", "set_intset"):
            red.delete("k")
            for cmd in cases[case]:
                red.execute_command(*cmd)
            lf.restore("rep:" + case, 100000 if case == "zset_small" else 0, red.dump("k"))
            keys.append("rep:" + case)
        lf.set("rep:gone", "x")
        lf.restore("rep:gone", 1000, red.dump("k"), absttl=True, replace=True)  # long expired
        wait_caught_up(lf, rc)
        for key in keys:
            self.assertEqual(rc.dump(key), lf.dump(key), key)
        self.assertEqual(rc.pexpiretime("rep:zset_small"), lf.pexpiretime("rep:zset_small"))
        self.assertEqual(rc.exists("rep:gone"), 0)

    def test_key_flags_as_redis(self):
        got = []
        for name in ("redis", "lfdb"):
            with RawConnection(self.servers[name].port) as c:  # redis-py parses COMMAND's own way
                got.append([c.command("COMMAND", "GETKEYSANDFLAGS", *cmd)
                            for cmd in (("DUMP", "k"), ("RESTORE", "k", "0", "x", "REPLACE"))])
        self.assertEqual(got[1], got[0])
        self.assertEqual(got[0][1], [[b"k", [b"OW", b"update"]]])

    def test_info_reports_no_migrate_sockets(self):
        for name, r in self.both():
            with self.subTest(server=name):
                self.assertEqual(r.info("stats")["migrate_cached_sockets"], 0)

    def test_restored_keys_survive_a_restart_from_the_log(self):
        lf = self.client("lfdb")
        red = self.client("redis")
        cases = build_cases()
        wanted = {}
        for case in ("string_lzf", "list_large", "hash_small", "zset_large", "stream_small"):
            red.delete("k")
            for cmd in cases[case]:
                red.execute_command(*cmd)
            lf.restore("r:" + case, 0, red.dump("k"))
            wanted["r:" + case] = lf.dump("r:" + case)
        lf.restore("r:ttl", 100000, red.dump("k"))
        deadline = lf.pexpiretime("r:ttl")
        lf.set("r:gone", "x")
        lf.restore("r:gone", int(time.time() * 1000) - 1000, red.dump("k"), absttl=True, replace=True)
        self.lfdb.stop(keep_dir=True)
        self.lfdb.start()
        lf = self.client("lfdb")
        for key, payload in wanted.items():
            self.assertEqual(lf.dump(key), payload, key)
        self.assertEqual(lf.pexpiretime("r:ttl"), deadline)
        self.assertEqual(lf.exists("r:gone"), 0)


def rdb_length(n):
    if n < 64:
        return bytes([n])
    if n < 16384:
        return bytes([0x40 | (n >> 8), n & 0xFF])
    return b"\x80" + n.to_bytes(4, "big")


def rdb_string(blob):
    return rdb_length(len(blob)) + blob


def ziplist(items):
    """A ziplist as Redis before 7.0 wrote one (integers in the smallest encoding)."""
    body, prev, tail = b"", 0, 10
    for item in items:
        prevlen = bytes([prev]) if prev < 254 else b"\xfe" + prev.to_bytes(4, "little")
        try:
            v = int(item)
            assert str(v) == item
        except (ValueError, AssertionError):
            data = item.encode()
            n = len(data)
            enc = (bytes([n]) if n <= 63 else bytes([0x40 | (n >> 8), n & 0xFF]) if n <= 16383
                   else b"\x80" + n.to_bytes(4, "big")) + data
        else:
            if 0 <= v <= 12:
                enc = bytes([0xF1 + v])
            elif -128 <= v <= 127:
                enc = b"\xfe" + v.to_bytes(1, "little", signed=True)
            elif -2 ** 15 <= v < 2 ** 15:
                enc = b"\xc0" + v.to_bytes(2, "little", signed=True)
            elif -2 ** 23 <= v < 2 ** 23:
                enc = b"\xf0" + v.to_bytes(3, "little", signed=True)
            elif -2 ** 31 <= v < 2 ** 31:
                enc = b"\xd0" + v.to_bytes(4, "little", signed=True)
            else:
                enc = b"\xe0" + v.to_bytes(8, "little", signed=True)
        entry = prevlen + enc
        tail = 10 + len(body)
        body += entry
        prev = len(entry)
    total = 10 + len(body) + 1
    return (total.to_bytes(4, "little") + tail.to_bytes(4, "little")
            + len(items).to_bytes(2, "little") + body + b"\xff")


def seal(body):
    payload = body + b"\x0a\x00"
    return payload + crc64(payload).to_bytes(8, "little")


def crc64(data):
    """Redis's CRC-64 (Jones polynomial, reflected), for hand-made payloads."""
    poly = 0x95AC9329AC4BC9B5
    crc = 0
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ poly if crc & 1 else crc >> 1
    return crc


if __name__ == "__main__":
    unittest.main()
