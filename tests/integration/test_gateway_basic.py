"""lfdb-gateway in front of two back-ends (redis-server or lfdb-server): redis-py, raw RESP,
redis-cli and redis-benchmark through the gateway; cross-shard commands; reply order under
pipelining across shards; validation; transactions pinned to one shard; INFO."""

import os
import re
import socket
import subprocess
import threading
import unittest

import redis

from gateway_testlib import (HOST, GatewayTestCase, RespError, keys_for_shard, shard_of)
from lfdb_testlib import encode_command
from test_access import WRONGPASS, burst

A = keys_for_shard(0, 2, 24, "a")  # keys of shard 0
B = keys_for_shard(1, 2, 24, "b")  # keys of shard 1


class RoutingTest(GatewayTestCase):

    def test_keys_land_in_their_shard(self):
        for k in A[:5] + B[:5]:
            self.assertTrue(self.r.set(k, "v-" + k))
        d0, d1 = self.direct(0), self.direct(1)
        for k in A[:5]:
            self.assertEqual(d0.get(k), "v-" + k)
            self.assertIsNone(d1.get(k))
        for k in B[:5]:
            self.assertEqual(d1.get(k), "v-" + k)
            self.assertIsNone(d0.get(k))
        for k in A[:5] + B[:5]:
            self.assertEqual(self.r.get(k), "v-" + k)

    def test_hash_tags_keep_keys_together(self):
        keys = ["{user7}.name", "{user7}.mail", "{user7}.age"]
        self.assertEqual(len({shard_of(k, 2) for k in keys}), 1)
        self.r.mset({k: k for k in keys})
        self.assertEqual(self.r.mget(keys), keys)
        self.assertEqual(self.r.rename(keys[0], "{user7}.nick"), True)

    def test_cross_shard_mget_mset_del(self):
        keys = [A[0], B[0], A[1], B[1], A[2], "missing-" + B[2]]
        self.assertTrue(self.r.mset({k: "val:" + k for k in keys[:5]}))
        self.assertEqual(self.r.mget(keys), ["val:" + k for k in keys[:5]] + [None])
        self.assertEqual(self.direct(0).dbsize() + self.direct(1).dbsize(), 5)
        self.assertGreater(self.direct(0).dbsize(), 0)
        self.assertGreater(self.direct(1).dbsize(), 0)
        self.assertEqual(self.r.exists(*keys), 5)
        self.assertEqual(self.r.exists(A[0], A[0], B[0]), 3)  # counted per argument, as Redis
        self.assertEqual(self.r.touch(*keys), 5)
        self.assertEqual(self.r.dbsize(), 5)
        self.assertEqual(self.r.delete(A[0], B[0], "nope"), 2)
        self.assertEqual(self.r.unlink(A[1], B[1], A[2]), 3)
        self.assertEqual(self.r.dbsize(), 0)
        self.assertEqual(self.r.mget(keys), [None] * 6)

    def test_mget_with_many_keys_over_both_shards(self):
        keys = ["many:%d" % i for i in range(500)]
        self.r.mset({k: str(i) for i, k in enumerate(keys)})
        self.assertEqual(self.r.mget(keys), [str(i) for i in range(500)])
        self.assertEqual(self.r.delete(*keys), 500)

    def test_crossslot_for_commands_that_cannot_split(self):
        with self.assertRaises(redis.ResponseError) as e:
            self.r.rename(A[0], B[0])
        self.assertTrue(str(e.exception).startswith("CROSSSLOT"), str(e.exception))
        with self.assertRaises(redis.ResponseError) as e:
            self.r.msetnx({A[0]: 1, B[0]: 2})
        self.assertTrue(str(e.exception).startswith("CROSSSLOT"))
        self.assertTrue(self.r.msetnx({A[0]: 1, A[1]: 2}))

    def test_crossslot_for_list_set_and_sorted_set_commands(self):
        # The gateway finds the keys from the command table: fixed positions (LMOVE, SMOVE),
        # every argument (SINTERSTORE), keys after a count (SINTERCARD), and a destination
        # before the count (ZUNIONSTORE).
        self.r.rpush(A[15], "x")
        self.r.sadd(A[16], "m")
        for args in (("LMOVE", A[15], B[15], "LEFT", "LEFT"), ("RPOPLPUSH", A[15], B[15]),
                     ("SMOVE", A[16], B[16], "m"), ("SINTERSTORE", A[17], A[16], B[16]),
                     ("SUNION", A[16], B[16]), ("SINTERCARD", "2", A[16], B[16]),
                     ("ZUNIONSTORE", A[17], "2", A[16], B[16]), ("ZUNIONSTORE", B[17], "1", A[16]),
                     ("ZINTERSTORE", A[17], "1", B[16], "WEIGHTS", "2")):
            with self.assertRaises(redis.ResponseError) as e:
                self.r.execute_command(*args)
            self.assertTrue(str(e.exception).startswith("CROSSSLOT"), "%r: %s" % (args, e.exception))
        self.assertEqual(self.r.lmove(A[15], A[18], "LEFT", "RIGHT"), "x")
        self.assertEqual(self.r.execute_command("SINTERCARD", "2", A[16], A[16]), 1)
        self.assertEqual(self.r.sunionstore(A[17], [A[16], A[19]]), 1)
        self.assertEqual(self.direct(0).smembers(A[17]), {"m"})
        self.assertEqual(self.r.zunionstore(A[18], [A[16], A[17]]), 1)
        self.assertEqual(self.direct(0).zscore(A[18], "m"), 2.0)

    def test_stream_reads_route_by_the_keys_after_streams(self):
        # XREAD and XREADGROUP name their keys after STREAMS: keys of one shard are forwarded
        # there, keys of two shards are Redis Cluster's CROSSSLOT.
        self.r.xadd(A[20], {"f": "v"}, id="1-1")
        self.r.xadd(A[21], {"f": "w"}, id="2-2")
        self.r.xgroup_create(A[20], "g", "0")
        self.assertEqual(self.r.xread({A[20]: "0", A[21]: "0"}, count=1),
                         [[A[20], [("1-1", {"f": "v"})]], [A[21], [("2-2", {"f": "w"})]]])
        self.assertEqual(self.direct(0).xlen(A[21]), 1)
        self.assertEqual(self.r.xreadgroup("g", "c", {A[20]: ">"}),
                         [[A[20], [("1-1", {"f": "v"})]]])
        for args in (("XREAD", "COUNT", "1", "STREAMS", A[20], B[20], "0", "0"),
                     ("XREADGROUP", "GROUP", "g", "c", "STREAMS", A[20], B[20], ">", ">")):
            with self.assertRaises(redis.ResponseError) as e:
                self.r.execute_command(*args)
            self.assertTrue(str(e.exception).startswith("CROSSSLOT"), "%r: %s" % (args, e.exception))

    def test_crossslot_for_bitmap_hll_geo_and_sort_stores(self):
        # Positional keys (BITOP, ZRANGESTORE, GEOSEARCHSTORE, PFMERGE, PFCOUNT) and the keys
        # SORT and GEORADIUS name after STORE/STOREDIST.
        self.r.rpush(A[10], "3", "1", "2")
        self.r.geoadd(A[11], (13.361389, 38.115556, "Palermo"))
        self.r.pfadd(A[12], "x")
        for args in (("BITOP", "OR", A[13], A[14], B[14]), ("ZRANGESTORE", B[13], A[11], "0", "-1"),
                     ("GEOSEARCHSTORE", B[13], A[11], "FROMLONLAT", "13", "38", "BYRADIUS", "500", "km"),
                     ("PFMERGE", B[13], A[12]), ("PFCOUNT", A[12], B[12]),
                     ("SORT", A[10], "STORE", B[13]),
                     ("GEORADIUS", A[11], "13", "38", "500", "km", "STOREDIST", B[13])):
            with self.assertRaises(redis.ResponseError) as e:
                # Not through redis-py's reply callbacks (GEORADIUS's wants its own options).
                self.r.execute_command(*args, **({"store": None, "store_dist": B[13]} if args[0] == "GEORADIUS" else {}))
            self.assertTrue(str(e.exception).startswith("CROSSSLOT"), "%r: %s" % (args, e.exception))
        self.assertEqual(self.r.execute_command("SORT", A[10], "STORE", A[13]), 3)
        self.assertEqual(self.direct(0).lrange(A[13], 0, -1), ["1", "2", "3"])
        self.assertEqual(self.r.georadius(A[11], 13, 38, 500, unit="km", store=A[14]), 1)
        self.assertTrue(self.r.pfmerge(A[15], A[12]))
        self.assertEqual(self.r.pfcount(A[15]), 1)

    def test_dump_and_restore_go_to_their_keys_shard(self):
        # DUMP and RESTORE route by their key (the command table's); the payload is binary.
        r = redis.Redis(host=HOST, port=self.port)
        self.addCleanup(r.close)
        r.rpush(A[17], "x", "1", "y")
        payload = r.dump(A[17])
        self.assertTrue(r.restore(B[17], 0, payload))
        self.assertEqual(self.direct(1).lrange(B[17], 0, -1), ["x", "1", "y"])
        self.assertIsNone(self.direct(0).get(B[17]))
        with self.assertRaises(redis.ResponseError) as e:
            r.restore(B[17], 0, payload)
        self.assertTrue(str(e.exception).startswith("BUSYKEY"), str(e.exception))
        self.assertIsNone(r.dump("missing-" + A[17]))

    def test_eval_goes_to_the_shard_of_its_keys(self):
        script = "redis.call('SET', KEYS[1], ARGV[1]); return redis.call('GET', KEYS[1])"
        self.assertEqual(self.r.eval(script, 1, A[4], "a"), "a")
        self.assertEqual(self.r.eval(script, 1, B[4], "b"), "b")
        self.assertEqual(self.direct(0).get(A[4]), "a")
        self.assertEqual(self.direct(1).get(B[4]), "b")
        with self.assertRaises(redis.ResponseError) as e:
            self.r.eval(script, 2, A[4], B[4], "x")
        self.assertTrue(str(e.exception).startswith("CROSSSLOT"), str(e.exception))
        # SCRIPT LOAD reaches every shard, so EVALSHA works wherever the keys live.
        sha = self.r.script_load("return redis.call('GET', KEYS[1])")
        self.assertEqual(self.r.evalsha(sha, 1, A[4]), "a")
        self.assertEqual(self.r.evalsha(sha, 1, B[4]), "b")
        self.assertEqual(self.direct(0).script_exists(sha), [True])
        self.assertEqual(self.direct(1).script_exists(sha), [True])

    def test_binary_and_large_values(self):
        rb = self.client(decode=False)
        big = os.urandom(1 << 20)
        rb.set(A[3], big)
        rb.set(B[3], b"\x00\r\n\xff")
        self.assertEqual(rb.get(A[3]), big)
        self.assertEqual(rb.mget(A[3], B[3]), [big, b"\x00\r\n\xff"])


class ValidationTest(GatewayTestCase):

    def test_local_commands(self):
        self.assertTrue(self.r.ping())
        self.assertEqual(self.r.echo("hi"), "hi")
        self.assertTrue(self.r.execute_command("SELECT", "0"))
        c = self.raw()
        self.assertEqual(c.command("PING", "x"), b"x")
        self.assertEqual(c.command("PING", "x", "y"),
                         RespError("ERR wrong number of arguments for 'ping' command"))
        # Database 0 only, with Redis Cluster's errors (a cluster node answers these).
        cluster = "ERR SELECT is not allowed in cluster mode"
        self.assertEqual(c.command("SELECT", "1"), RespError(cluster))
        self.assertEqual(c.command("SELECT", "16"), RespError(cluster))
        self.assertEqual(c.command("SELECT", "-1"), RespError(cluster))
        self.assertEqual(c.command("SELECT", "x"),
                         RespError("ERR value is not an integer or out of range"))
        self.assertEqual(c.command("MOVE", A[0], "1"),
                         RespError("ERR MOVE is not allowed in cluster mode"))
        self.assertEqual(c.command("SWAPDB", "0", "1"),
                         RespError("ERR SWAPDB is not allowed in cluster mode"))
        self.assertEqual(c.command("COPY", A[0], A[1], "DB", "1"),
                         RespError("ERR Copying to another database is not allowed in cluster mode"))
        self.assertEqual(c.command("SET", A[0], "v"), b"OK")
        self.assertEqual(c.command("COPY", A[0], A[1], "DB", "0"), 1)
        self.assertEqual(c.command("GET", A[1]), b"v")
        self.assertEqual(c.command("CLIENT", "SETNAME", "me"), b"OK")
        self.assertEqual(c.command("CLIENT", "GETNAME"), b"me")
        self.assertIsInstance(c.command("CLIENT", "ID"), int)
        # COMMAND GETKEYS: answered here, from the key positions the gateway routes by.
        self.assertEqual(c.command("COMMAND", "GETKEYS", "SORT", "a", "STORE", "b"), [b"a", b"b"])
        self.assertEqual(c.command("COMMAND", "GETKEYS", "PING", "x"),
                         RespError("ERR The command has no key arguments"))
        self.assertEqual(c.command("COMMAND", "GETKEYS", "NOSUCH", "x"),
                         RespError("ERR Invalid command specified"))
        # What has no single answer across shards is refused with a clear error (the admin
        # ones, MONITOR and LATENCY, by allow_admin first).
        for args in (("MONITOR",), ("CLIENT", "REPLY", "OFF"), ("LATENCY", "LATEST")):
            reply = c.command(*args)
            self.assertIsInstance(reply, RespError, args)
            self.assertIn("lfdb-gateway", str(reply))
        self.assertEqual(c.command("CLIENT", "REPLY", "OFF"),
                         RespError("ERR lfdb-gateway does not support 'client|reply' (it has no "
                                   "single answer across shards)"))
        self.assertEqual(c.command("QUIT"), b"OK")
        self.assertTrue(c.is_closed())

    def test_same_errors_as_the_back_end(self):
        direct = self.direct(0)
        for cmd in (["NOSUCH", "a", "b"], ["GET"], ["SET", "x"], ["CLIENT", "BOGUS"], ["MGET"]):
            with self.assertRaises(redis.ResponseError) as via_gw:
                self.r.execute_command(*cmd)
            with self.assertRaises(redis.ResponseError) as via_db:
                direct.execute_command(*cmd)
            self.assertEqual(str(via_gw.exception), str(via_db.exception), cmd)

    def test_back_end_errors_pass_through(self):
        self.r.set(A[0], "notanumber")
        with self.assertRaises(redis.ResponseError) as e:
            self.r.incr(A[0])
        self.assertEqual(str(e.exception), "value is not an integer or out of range")
        self.r.hset(B[0], "f", "v")
        with self.assertRaises(redis.ResponseError) as e:
            self.r.get(B[0])
        self.assertTrue(str(e.exception).startswith("WRONGTYPE"))

    def test_dangerous_and_admin_refused(self):
        c = self.raw()
        for cmd in (["FLUSHALL"], ["KEYS", "*"], ["CONFIG", "GET", "maxmemory"], ["SHUTDOWN"],
                    ["CLIENT", "LIST"]):
            reply = c.command(*cmd)
            self.assertIsInstance(reply, RespError, cmd)
            self.assertTrue(reply.message.startswith("NOPERM lfdb-gateway refuses"), reply.message)
        self.assertTrue(self.gateway.alive())

    def test_blocking_commands_outside_and_inside_multi(self):
        # Outside MULTI each blocks on a connection of its own (never the shared one) and times
        # out as on redis-server; inside MULTI they do not block, and run with the transaction.
        c = self.raw()
        for cmd in (["BLPOP", A[0], "0.1"], ["BRPOPLPUSH", A[0], A[1], "0.1"],
                    ["BZPOPMIN", A[0], "0.1"], ["BLMPOP", "0.1", "1", A[0], "LEFT"],
                    ["XREAD", "BLOCK", "100", "STREAMS", A[1], "$"]):
            self.assertIsNone(c.command(*cmd), cmd)
        self.assertEqual(c.command("RPUSH", A[0], "x"), 1)
        self.assertEqual(c.command("BLPOP", A[0], "0"), [A[0].encode(), b"x"])
        self.assertEqual(c.command("MULTI"), b"OK")
        self.assertEqual(c.command("BLPOP", A[0], "0"), b"QUEUED")
        self.assertEqual(c.command("EXEC"), [None])
        self.assertTrue(self.gateway.alive())

    def test_unsupported_keyless_commands_say_so(self):
        reply = self.raw().command("RANDOMKEY")
        self.assertEqual(reply, RespError(
            "ERR lfdb-gateway does not support 'randomkey' (it has no single answer across shards)"))

    def test_resp3_through_the_gateway(self):
        c = self.raw()
        hello = c.command("HELLO", "3")
        self.assertEqual(hello[b"proto"], 3)
        c.send_command("GET", "nothing-here")
        self.assertEqual(c.read_reply(), b"_\r\n")
        c.send_command("SET", A[0], "x")
        self.assertEqual(c.read_reply(), b"+OK\r\n")
        c.send_command("MGET", A[0], B[0])
        self.assertEqual(c.read_reply(), b"*2\r\n$1\r\nx\r\n_\r\n")
        c.send_command("HSET", B[1], "f", "1")
        c.read_reply()
        c.send_command("HGETALL", B[1])
        self.assertEqual(c.read_reply(), b"%1\r\n$1\r\nf\r\n$1\r\n1\r\n")
        # and RESP2 again: replies from the gateway's RESP2 connections
        self.assertIsInstance(c.command("HELLO", "2"), list)
        c.send_command("GET", "nothing-here")
        self.assertEqual(c.read_reply(), b"$-1\r\n")

    def test_protocol_error_closes_after_the_error(self):
        c = self.raw()
        c.send(b"*1\r\n$4\r\nPING\r\n*x\r\n")
        self.assertEqual(c.read_reply(), b"+PONG\r\n")
        self.assertEqual(c.read_parsed(), RespError("ERR Protocol error: invalid multibulk length"))
        self.assertTrue(c.is_closed())


class AuthTest(GatewayTestCase):
    gateway_options = {"requirepass": "s3cret", "timeout_ms": 2000}

    def setUp(self):
        for i, s in enumerate(self.servers):
            self.direct(i).flushall()

    def test_auth_at_the_gateway(self):
        c = self.raw()
        self.assertEqual(c.command("GET", "x"), RespError("NOAUTH Authentication required."))
        self.assertEqual(c.command("AUTH", "wrong"), RespError(
            "WRONGPASS invalid username-password pair or user is disabled."))
        self.assertEqual(c.command("AUTH", "s3cret"), b"OK")
        self.assertEqual(c.command("SET", A[0], "1"), b"OK")
        r = self.client(password="s3cret")
        self.assertEqual(r.get(A[0]), "1")
        with self.assertRaises((redis.AuthenticationError, redis.ResponseError)) as e:
            self.client(password="nope").get(A[0])
        self.assertIn("WRONGPASS", str(e.exception))

    def wrongpass_count(self):
        c = self.raw()
        self.assertEqual(c.command("AUTH", "s3cret"), b"OK")
        m = re.search(r"^errorstat_WRONGPASS:count=(\d+)", c.command("INFO").decode(), re.M)
        return int(m.group(1)) if m else 0

    def test_a_pipelined_guesser_is_dropped(self):
        # As lfdb-server and redis-server (test_access.py): replies that pile up past 16 KiB
        # before AUTH drop the client with none of them sent; every guess made is counted.
        before = self.wrongpass_count()
        self.assertEqual(burst(self.port, b"AUTH guess\r\n" * 256), (WRONGPASS * 256, False))
        self.assertEqual(burst(self.port, b"AUTH guess\r\n" * 400), (b"", True))
        self.assertEqual(burst(self.port, b"GET k\r\n" * 1000), (b"", True))
        self.assertEqual(self.wrongpass_count(), before + 256 + 257)
        # Authenticated, the same pipeline is answered in full.
        got, closed = burst(self.port, b"AUTH s3cret\r\n" + b"AUTH guess\r\n" * 400)
        self.assertEqual((got, closed), (b"+OK\r\n" + WRONGPASS * 400, False))


class PipelineOrderTest(GatewayTestCase):

    def test_replies_in_order_across_shards(self):
        # 2000 pipelined commands alternating between the shards, with values that say where
        # each reply belongs; the shards answer in their own time, the client sees them in order.
        for k in A[:10] + B[:10]:
            self.r.set(k, k)
        c = self.raw(timeout=20)
        order = []
        payload = []
        for i in range(2000):
            k = (A if i % 3 else B)[i % 10]
            if i % 7 == 0:
                payload.append(encode_command("ECHO", "e%d" % i))
                order.append(("e%d" % i).encode())
            elif i % 11 == 0:
                payload.append(encode_command("MGET", A[i % 10], B[i % 10]))
                order.append([A[i % 10].encode(), B[i % 10].encode()])
            else:
                payload.append(encode_command("GET", k))
                order.append(k.encode())
        c.send(b"".join(payload))
        got = [c.read_parsed(timeout=20) for _ in order]
        self.assertEqual(got, order)

    def test_many_clients_pipelining_concurrently(self):
        errors = []

        def worker(t):
            try:
                r = self.client()
                for rnd in range(20):
                    p = r.pipeline(transaction=False)
                    keys = ["t%d:%d:%d" % (t, rnd, i) for i in range(30)]
                    for i, k in enumerate(keys):
                        p.set(k, i)
                    for k in keys:
                        p.incr(k)
                    p.mget(keys)
                    res = p.execute()
                    expect = [True] * 30 + list(range(1, 31)) + [[str(i + 1) for i in range(30)]]
                    if res != expect:
                        errors.append((t, rnd, res[:5]))
                        return
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append((t, repr(e)))

        threads = [threading.Thread(target=worker, args=(t,)) for t in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        self.assertEqual(errors, [])
        self.assertEqual(self.r.dbsize(), 16 * 20 * 30)


class TransactionTest(GatewayTestCase):

    def test_multi_exec_on_one_shard(self):
        p = self.r.pipeline(transaction=True)
        p.set(A[0], 1).incr(A[0]).get(A[0]).set(A[1], "x")
        self.assertEqual(p.execute(), [True, 2, "2", True])
        self.assertEqual(self.direct(0).get(A[0]), "2")

    def test_multi_across_shards_aborts(self):
        c = self.raw()
        self.assertEqual(c.command("MULTI"), b"OK")
        self.assertEqual(c.command("SET", A[0], "1"), b"QUEUED")
        reply = c.command("SET", B[0], "1")
        self.assertIsInstance(reply, RespError)
        self.assertTrue(reply.message.startswith("CROSSSLOT"))
        self.assertEqual(c.command("EXEC"), RespError(
            "EXECABORT Transaction discarded because of previous errors."))
        self.assertIsNone(self.r.get(A[0]))
        self.assertEqual(c.command("GET", B[0]), None)  # the connection still works

    def test_keyless_commands_queued_before_the_shard_is_known(self):
        c = self.raw()
        self.assertEqual(c.command("MULTI"), b"OK")
        self.assertEqual(c.command("PING"), b"QUEUED")
        self.assertEqual(c.command("SET", B[4], "v"), b"QUEUED")
        self.assertEqual(c.command("ECHO", "e"), b"QUEUED")
        self.assertEqual(c.command("EXEC"), [b"PONG", b"OK", b"e"])
        self.assertEqual(c.command("MULTI"), b"OK")
        self.assertEqual(c.command("EXEC"), [])
        self.assertEqual(c.command("EXEC"), RespError("ERR EXEC without MULTI"))
        self.assertEqual(c.command("DISCARD"), RespError("ERR DISCARD without MULTI"))

    def test_watch_broken_by_another_client(self):
        c = self.raw()
        self.r.set(B[0], "1")
        self.assertEqual(c.command("WATCH", B[0], B[1]), b"OK")
        self.assertEqual(c.command("GET", B[0]), b"1")
        self.r.set(B[0], "2")  # another client, through the gateway's shared connection
        self.assertEqual(c.command("MULTI"), b"OK")
        self.assertEqual(c.command("SET", B[0], "3"), b"QUEUED")
        self.assertIsNone(c.command("EXEC"))
        self.assertEqual(self.r.get(B[0]), "2")
        # unwatched: the next transaction goes through
        self.assertEqual(c.command("WATCH", B[0]), b"OK")
        self.assertEqual(c.command("MULTI"), b"OK")
        self.assertEqual(c.command("INCR", B[0]), b"QUEUED")
        self.assertEqual(c.command("EXEC"), [3])

    def test_watch_keys_of_two_shards(self):
        c = self.raw()
        reply = c.command("WATCH", A[0], B[0])
        self.assertTrue(isinstance(reply, RespError) and reply.message.startswith("CROSSSLOT"))
        self.assertEqual(c.command("WATCH", A[0]), b"OK")
        reply = c.command("WATCH", B[0])
        self.assertTrue(isinstance(reply, RespError) and reply.message.startswith("CROSSSLOT"))
        self.assertEqual(c.command("UNWATCH"), b"OK")
        self.assertEqual(c.command("WATCH", B[0]), b"OK")
        self.assertEqual(c.command("DISCARD"), RespError("ERR DISCARD without MULTI"))
        self.assertEqual(c.command("UNWATCH"), b"OK")

    def test_optimistic_counter_with_many_clients(self):
        # Each client increments with WATCH/MULTI/EXEC retries: no update may be lost.
        self.r.set(A[5], 0)
        n_clients, per_client = 8, 25

        def worker():
            r = self.client()
            for _ in range(per_client):
                while True:
                    with r.pipeline() as p:
                        try:
                            p.watch(A[5])
                            v = int(p.get(A[5]))
                            p.multi()
                            p.set(A[5], v + 1)
                            p.execute()
                            break
                        except redis.WatchError:
                            continue

        threads = [threading.Thread(target=worker) for _ in range(n_clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        self.assertEqual(int(self.r.get(A[5])), n_clients * per_client)

    def test_client_closing_mid_transaction_leaves_no_state(self):
        # The dedicated connection goes back to its pool; the next client that gets it must not
        # inherit a MULTI or a WATCH.
        for _ in range(40):
            s = socket.create_connection((HOST, self.port))
            s.sendall(encode_command("WATCH", A[6]) + encode_command("MULTI") +
                      encode_command("SET", A[6], "left"))
            s.recv(100)
            s.close()
        c = self.raw()
        self.assertEqual(c.command("WATCH", A[6]), b"OK")
        self.assertEqual(c.command("MULTI"), b"OK")
        self.assertEqual(c.command("SET", A[6], "mine"), b"QUEUED")
        self.assertEqual(c.command("EXEC"), [b"OK"])
        self.assertEqual(self.r.get(A[6]), "mine")


class ToolsTest(GatewayTestCase):

    def test_redis_cli(self):
        def cli(*args):
            return subprocess.run(["redis-cli", "-p", str(self.port)] + list(args),
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30,
                                  check=False).stdout.decode()
        self.assertEqual(cli("SET", A[0], "hello"), "OK\n")
        self.assertEqual(cli("GET", A[0]), "hello\n")
        self.assertEqual(cli("MSET", A[1], "1", B[1], "2"), "OK\n")
        self.assertEqual(cli("MGET", A[1], B[1]), "1\n2\n")
        self.assertEqual(cli("DBSIZE"), "3\n")
        self.assertIn("unknown command 'FOO'", cli("FOO"))
        pipe = "".join("SET pipe:%d %d\n" % (i, i) for i in range(1000))
        out = subprocess.run(["redis-cli", "-p", str(self.port), "--pipe"], input=pipe.encode(),
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60).stdout.decode()
        self.assertIn("errors: 0, replies: 1000", out)
        self.assertEqual(cli("DBSIZE"), "1003\n")

    def test_redis_benchmark(self):
        out = subprocess.run(["redis-benchmark", "-p", str(self.port), "-c", "20", "-n", "4000",
                              "-r", "1000", "-t", "set,get,mset", "-q"],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120).stdout.decode()
        for t in ("SET:", "GET:", "MSET (10 keys):"):
            self.assertIn(t, out)
        # -r spreads the keys over both shards
        self.assertGreater(self.direct(0).dbsize(), 0)
        self.assertGreater(self.direct(1).dbsize(), 0)
        info = self.info()
        self.assertEqual(info["protocol_errors"], "0")


class InfoTest(GatewayTestCase):

    def test_info_has_backends_and_threads(self):
        self.r.set(A[0], 1)
        self.r.set(B[0], 1)
        info = self.info()
        self.assertIn("backend0", info)
        self.assertIn("backend1", info)
        for b in ("backend0", "backend1"):
            fields = dict(kv.split("=") for kv in info[b].split(","))
            self.assertEqual(fields["state"], "up")
            self.assertGreaterEqual(int(fields["requests"]), 1)
            self.assertIn("latency_p99_us", fields)
            self.assertEqual(fields["in_flight"], "0")
        self.assertIn("thread0", info)
        self.assertIn("promotions", info)
        self.assertTrue("async_replies_same_thread" in info or "bound_handoffs" in info)


if __name__ == "__main__":
    unittest.main()
