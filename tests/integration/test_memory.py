"""maxmemory, its policies and the memory introspection commands (docs/memory.md).

Every behaviour runs against a redis-server 7.0 started next to the lfdb-server under test, so
each check is known to be fair: the same commands, the same errors, and for the numbers (memory
kept under the limit, the hot set kept by LRU, MEMORY USAGE) lfdb is held to what redis-server
does in the same run. Runs only against lfdb-server (it starts its own redis-server)."""

import os
import socket
import time
import unittest

import redis

from lfdb_testlib import (HOST, SERVER, SERVER_ARGS, RedisPeer, ServerProcess, SideBySideTestCase,
                          is_lfdb)

OOM = "OOM command not allowed when used memory > 'maxmemory'."
# How far over maxmemory used_memory may be seen right after a burst of writes. Redis evicts
# before each command, to the byte; lfdb's writers read used_memory from a figure refreshed every
# millisecond (allocator.hpp), so a burst can run past the limit by what the server writes in one
# millisecond before the next refresh sees it. 512 KB covers it with room (docs/memory.md).
SLACK = 512 * 1024
VALUE = b"v" * 1000


def used(r):
    return int(r.info("memory")["used_memory"])


def error_of(fn, *args):
    try:
        fn(*args)
    except redis.ResponseError as e:
        return str(e)
    return None


def log_text(srv):
    """What a server's append-only log holds: lfdb's one file, Redis 7's appendonlydir parts."""
    out = b""
    for path in (os.path.join(srv.dir, "appendonly.aof"), os.path.join(srv.dir, "appendonlydir")):
        if os.path.isdir(path):
            for name in sorted(os.listdir(path)):
                if name.endswith(".aof"):
                    with open(os.path.join(path, name), "rb") as f:
                        out += f.read()
        elif os.path.exists(path):
            with open(path, "rb") as f:
                out += f.read()
    return out


class RedisWith(RedisPeer):
    """The redis-server peer with directives of the test's own."""

    def command(self, port):
        directives = []
        for name, value in self.extra:
            directives += ["--" + name, str(value)]
        return self.redis_command(port) + directives


class LfdbWithData(ServerProcess):
    """lfdb-server under the suite's arguments with its own --data (and directives)."""

    def __init__(self, data, extra):
        super().__init__(extra)
        self.data = data

    def command(self, port):
        args, skip = [], False
        for a in SERVER_ARGS:
            if skip or a == "--data":
                skip = not skip
            elif not a.startswith("--data="):
                args.append(a)
        directives = []
        for name, value in self.extra:
            directives += ["--" + name, str(value)]
        return [SERVER, "--port", str(port), "--bind", HOST] + directives + args + ["--data", self.data]


@unittest.skipUnless(is_lfdb(), "starts its own redis-server next to lfdb-server")
class MemoryTest(SideBySideTestCase):
    def client(self, name, **kw):
        return redis.Redis(host=HOST, port=self.servers[name].port, **kw)

    def setUp(self):
        for name in self.servers:
            r = self.client(name)
            r.config_set("maxmemory", 0)
            r.config_set("maxmemory-policy", "noeviction")
            r.flushall()
            r.close()

    def both(self):
        return [(name, self.client(name)) for name in ("redis", "lfdb")]

    # ---- accounting ---------------------------------------------------------------------------

    def test_info_memory_has_redis_fields_and_used_memory_follows_the_data(self):
        for name, r in self.both():
            with self.subTest(server=name):
                info = r.info("memory")
                for field in ("used_memory", "used_memory_human", "used_memory_rss",
                              "used_memory_peak", "used_memory_dataset", "used_memory_startup",
                              "mem_fragmentation_ratio", "maxmemory", "maxmemory_policy",
                              "mem_allocator"):
                    self.assertIn(field, info)
                before = used(r)
                p = r.pipeline(transaction=False)
                for i in range(10000):
                    p.set("k:%d" % i, VALUE)
                p.execute()
                grown = used(r) - before
                # 10,000 values of 1,000 bytes: at least the bytes themselves, at most 3x.
                self.assertGreater(grown, 10000 * 1000)
                self.assertLess(grown, 3 * 10000 * 1100)
                self.assertGreaterEqual(int(r.info("memory")["used_memory_peak"]), used(r) - SLACK)
                r.flushall()

    def test_reads_in_a_database_never_used_take_no_memory(self):
        """Reads of a database nothing was written to answer from nothing: lfdb made a
        database's 1,024 partitions (262 KB of used_memory) on a GET there before; it makes
        them on the first write now, and readers look through the const keyspace. Databases
        no test in this file uses (the server is shared: FLUSHALL leaves made ones made)."""
        reads = [["GET", "x"], ["MGET", "x", "y"], ["EXISTS", "x"], ["TYPE", "x"], ["STRLEN", "x"],
                 ["TTL", "x"], ["LRANGE", "x", "0", "-1"], ["HGET", "x", "f"], ["SMEMBERS", "x"],
                 ["ZSCORE", "x", "m"], ["XLEN", "x"], ["GETRANGE", "x", "0", "1"], ["DUMP", "x"],
                 ["OBJECT", "ENCODING", "x"], ["MEMORY", "USAGE", "x"], ["KEYS", "*"], ["SCAN", "0"],
                 ["RANDOMKEY"], ["DBSIZE"]]
        for name, r in self.both():
            with self.subTest(server=name):
                c = self.client(name)

                def read_all():
                    for cmd in reads:
                        if cmd[0] == "OBJECT":
                            c.object(cmd[1], cmd[2])  # redis-py parses OBJECT's reply only through object()
                        else:
                            c.execute_command(*cmd)

                # Once in another database first: what the first run of these commands makes
                # (redis-server grew 444 KB there, once) is not the database's.
                c.execute_command("SELECT", 9)
                read_all()
                c.execute_command("SELECT", 11)
                before = used(r)
                read_all()
                grown = used(r) - before
                # 1,024 partitions of 256 bytes would be 262,144; a connection's buffers are less.
                self.assertLess(grown, 64 * 1024, "%d bytes for reads of an empty database" % grown)
                c.execute_command("SELECT", 11)
                c.set("x", "v")  # the first write makes them (and the reads now find the key)
                self.assertEqual(c.get("x"), b"v")
                c.delete("x")
                c.close()

    def test_lfdb_allocates_from_one_arena(self):
        """lfdb-server sets jemalloc's narenas:1 in the binary (src/db/main.cpp; docs/memory.md,
        "Allocator settings"): a link change that drops the setting shows here. Builds without
        jemalloc (sanitizers) have no such line."""
        stats = self.client("lfdb").execute_command("MEMORY", "MALLOC-STATS")
        stats = stats.decode() if isinstance(stats, bytes) else stats
        if "opt.narenas" not in stats:
            self.skipTest("lfdb-server built without jemalloc")
        self.assertIn("opt.narenas: 1\n", stats)

    def test_used_memory_counts_the_data_not_the_allocators_caches(self):
        # Redis's unit/maxmemory sets maxmemory 100 KB above used_memory right after a FLUSHALL
        # and writes small keys up to it. used_memory must count what the program holds: a
        # figure that counted the allocator's per-thread caches (blocks freed and kept for the
        # thread's next malloc, a batch refilled at once) grew by about 250 KB at the first INFO
        # on a fresh server, past the limit with no key to evict: the writes got OOM (redis-server
        # grows by about 77 KB here: its first use of database 9, the clients' buffers).
        for server in (RedisPeer(), ServerProcess()):
            server.start()
            try:
                r = redis.Redis(host=HOST, port=server.port, db=9)
                with self.subTest(server=type(server).__name__):
                    r.set("a", 1)
                    r.flushall()
                    before = used(r)
                    r.info()
                    r.info("all")
                    r.config_set("maxmemory", before + 100 * 1024)
                    r.config_set("maxmemory-policy", "allkeys-random")
                    for i in range(20):
                        self.assertTrue(r.setex("key:%d" % i, 10000, "x"))
                    grew = used(r) - before
                    self.assertLess(grew, 100 * 1024, "INFO and 20 small keys grew used_memory by %d" % grew)
                r.close()
            finally:
                server.stop()

    def test_an_idle_server_holds_after_its_first_seconds_what_it_held_before(self):
        # A maxmemory set from used_memory right after the start (Redis's replica-buffer test
        # leaves 32 KB) must not be spent by the server's own background work: lfdb's ticker made
        # its allocator cache (28 KB) at its first once-a-second duty and evicted a key for it.
        for server in (RedisPeer(), ServerProcess()):
            server.start()
            try:
                r = redis.Redis(host=HOST, port=server.port)
                with self.subTest(server=type(server).__name__):
                    r.set("a", 1)
                    before = used(r)
                    start = r.info("server")["uptime_in_seconds"]
                    while r.info("server")["uptime_in_seconds"] < start + 2:
                        time.sleep(0.05)
                    grew = used(r) - before
                    self.assertLess(grew, 16 * 1024, "two idle seconds grew used_memory by %d" % grew)
                r.close()
            finally:
                server.stop()

    def test_config_units_and_errors_as_redis(self):
        results = {}
        for name, r in self.both():
            out = []
            for value in ("100mb", "1gb", "64k", "12345", "2GB"):
                r.config_set("maxmemory", value)
                out.append(r.config_get("maxmemory")["maxmemory"])
            out.append(error_of(r.config_set, "maxmemory", "12xb"))
            out.append(error_of(r.config_set, "maxmemory-policy", "lru"))
            out.append(error_of(r.config_set, "maxmemory-samples", "0"))
            out.append(error_of(r.config_set, "maxmemory-eviction-tenacity", "101"))
            out.append(error_of(r.config_set, "lfu-log-factor", "x"))
            for policy in ("ALLKEYS-LRU", "volatile-ttl", "allkeys-lfu"):
                r.config_set("maxmemory-policy", policy)
                out.append(r.config_get("maxmemory-policy")["maxmemory-policy"])
            r.config_set("lfu-decay-time", "3")
            out.append(r.config_get("lfu-decay-time")["lfu-decay-time"])
            r.config_set("maxmemory", 0)
            results[name] = out
        self.assertEqual(results["lfdb"], results["redis"])

    SHAPES = {
        "string": lambda r, k: r.set(k, "x" * 200),
        "hash": lambda r, k: r.hset(k, mapping={"f%d" % i: "v%d" % i for i in range(50)}),
        "list": lambda r, k: r.rpush(k, *["item%d" % i for i in range(50)]),
        "intset": lambda r, k: r.sadd(k, *range(50)),
        "set": lambda r, k: r.sadd(k, *["member%d" % i for i in range(50)]),
        "zset": lambda r, k: r.zadd(k, {"m%d" % i: i for i in range(50)}),
    }

    def test_memory_usage_per_type_tracks_what_the_key_costs(self):
        """MEMORY USAGE of a key against what 300 such keys really added to used_memory, on both
        servers; and lfdb's figure against redis-server's (lfdb keeps no intsets or packed lists
        yet, issue 17 item 5, so those small containers cost several times Redis's)."""
        usage = {}
        for name, r in self.both():
            for shape, make in self.SHAPES.items():
                with self.subTest(server=name, shape=shape):
                    r.flushall()
                    before = used(r)
                    # 2000 keys: the allocator's thread caches keep what the last shape freed
                    # counted as allocated, and new keys reuse it without a change in
                    # used_memory; over 2000 keys that error is a few percent.
                    pipe = r.pipeline(transaction=False)
                    for i in range(2000):
                        make(pipe, "%s:%d" % (shape, i))
                    pipe.execute()
                    per_key = (used(r) - before) / 2000
                    est = r.memory_usage("%s:7" % shape, samples=0)
                    usage.setdefault(shape, {})[name] = (est, round(per_key))
                    self.assertGreater(est, 0.5 * per_key)
                    self.assertLess(est, 2.0 * per_key)
            r.flushall()
            r.set("str:small", "hello")
            self.assertIsNone(r.memory_usage("nosuchkey"))
            self.assertEqual(error_of(r.execute_command, "MEMORY", "USAGE", "str:small", "SAMPLES", "x"),
                             "value is not an integer or out of range")
            self.assertEqual(error_of(r.execute_command, "MEMORY", "USAGE", "str:small", "FOO"), "syntax error")
            self.assertEqual(error_of(r.execute_command, "MEMORY", "USAGE", "str:small", "SAMPLES", "-1"),
                             "syntax error")
        print("\nMEMORY USAGE (estimate, measured bytes per key):", usage)
        self.assertLess(usage["string"]["lfdb"][0], 2 * usage["string"]["redis"][0])
        for shape, v in usage.items():
            self.assertLess(v["lfdb"][0], 25 * v["redis"][0], shape)

    def test_memory_subcommands_reply_shapes(self):
        for name, r in self.both():
            with self.subTest(server=name):
                r.set("a", "1")
                stats = r.execute_command("MEMORY", "STATS")
                keys = stats[0::2]
                for field in (b"peak.allocated", b"total.allocated", b"startup.allocated",
                              b"overhead.total", b"keys.count", b"dataset.bytes", b"fragmentation"):
                    self.assertIn(field, keys)
                self.assertIn(b"db.0", keys)
                self.assertIsInstance(r.execute_command("MEMORY", "DOCTOR"), bytes)
                self.assertIsInstance(r.execute_command("MEMORY", "MALLOC-STATS"), bytes)
                self.assertTrue(r.execute_command("MEMORY", "PURGE"))
                self.assertIn(b"USAGE <key> [SAMPLES <count>]", r.execute_command("MEMORY", "HELP"))
                self.assertIn("unknown subcommand", error_of(r.execute_command, "MEMORY", "NOPE"))

    # ---- the limit ----------------------------------------------------------------------------

    def test_noeviction_refuses_writes_reads_go_on(self):
        results = {}
        for name, r in self.both():
            r.set("kept", "yes")
            other = self.client(name)
            tx = other.pipeline(transaction=True)  # queued before the limit, EXEC after it
            other.execute_command("MULTI")
            other.execute_command("SET", "t", "1")
            r.config_set("maxmemory", 1)
            out = [error_of(r.set, "k", "v"),
                   error_of(r.execute_command, "SETRANGE", "big", 536870911, "x"),
                   error_of(r.lpush, "l", "x"),
                   r.get("kept"),
                   r.delete("kept"),  # DEL is not deny-oom
                   r.exists("big"),
                   error_of(other.execute_command, "EXEC")]
            out.append(r.execute_command("MULTI"))
            out.append(error_of(r.execute_command, "GET", "kept"))  # nothing queues over the limit
            out.append(error_of(r.execute_command, "EXEC"))
            out.append(r.execute_command("MULTI"))
            out.append(r.execute_command("DISCARD"))
            r.config_set("maxmemory", 0)
            out.append(r.set("k", "v"))
            results[name] = out
            del tx
            other.close()
        self.assertEqual(results["lfdb"], results["redis"])
        self.assertEqual(results["lfdb"][0], OOM)
        self.assertEqual(results["lfdb"][1], OOM)

    def fill_under_policy(self, r, policy, limit, volatile_first=0):
        r.config_set("maxmemory-policy", policy)
        base = used(r)
        r.config_set("maxmemory", base + limit)
        p = r.pipeline(transaction=False)
        for i in range(volatile_first):
            p.set("persist:%d" % i, VALUE)
        p.execute()
        peak_over = 0
        written = 0
        i = 0
        while written < 3 * limit:
            p = r.pipeline(transaction=False)
            for _ in range(500):
                if policy.startswith("volatile"):
                    p.set("k:%d" % i, VALUE, ex=3600 + i)
                else:
                    p.set("k:%d" % i, VALUE)
                i += 1
            replies = p.execute(raise_on_error=False)
            errors = [x for x in replies if isinstance(x, Exception)]
            self.assertEqual(errors, [], policy)
            written += 500 * len(VALUE)
            peak_over = max(peak_over, used(r) - (base + limit))
        return base, peak_over

    def test_every_policy_keeps_used_memory_under_the_limit(self):
        limit = 2 << 20
        for policy in ("allkeys-lru", "allkeys-lfu", "allkeys-random", "volatile-lru",
                       "volatile-lfu", "volatile-random", "volatile-ttl"):
            for name, r in self.both():
                with self.subTest(policy=policy, server=name):
                    r.flushall()
                    persistent = 200 if policy.startswith("volatile") else 0
                    base, over = self.fill_under_policy(r, policy, limit, persistent)
                    self.assertLessEqual(over, SLACK, "used_memory ran %d bytes past maxmemory" % over)
                    self.assertGreater(int(r.info("stats")["evicted_keys"]), 0)
                    if persistent:  # volatile-*: keys without a TTL are never evicted
                        self.assertEqual(r.exists(*["persist:%d" % i for i in range(persistent)]), persistent)
                    r.config_set("maxmemory", 0)
                    self.assertTrue(r.ping())

    def test_small_writes_one_at_a_time_stay_within_4kb_of_the_limit(self):
        # Redis's unit/maxmemory 'is the memory limit honoured': maxmemory 100 KB above
        # used_memory, small keys (1-256 bytes, a TTL) one at a time until within 4 KB of it,
        # then as many again with no INFO in between; used_memory must end under limit + 4 KB.
        # lfdb ended 20-130 KB over: eviction took MEMORY USAGE's estimate off its figure (more
        # than the allocator got back), a writer's colors held one key or none (about 600 keys
        # over 1,024 colors), and writes between two refreshes of the figure did not see each
        # other (docs/memory.md, "Eviction and colors").
        def key(i):
            n = 1 + (i * 7919) % 256
            return ("%d:" % i + "k" * n)[:n] if i % 4 == 3 else str(i * 2654435761 % 4000000000)

        for policy in ("allkeys-random", "allkeys-lru", "allkeys-lfu", "volatile-lru",
                       "volatile-lfu", "volatile-random", "volatile-ttl"):
            for name, r in self.both():
                with self.subTest(policy=policy, server=name):
                    r.flushall()
                    limit = used(r) + 100 * 1024
                    r.config_set("maxmemory", limit)
                    r.config_set("maxmemory-policy", policy)
                    n = 0
                    while True:
                        r.setex(key(n), 10000, "x")
                        n += 1
                        if used(r) + 4096 > limit:
                            break
                    self.assertGreater(n, 10)
                    for i in range(n, 2 * n):
                        r.setex(key(i), 10000, "x")
                    over = used(r) - limit
                    self.assertLess(over, 4096, "%d keys, then as many again: %d bytes over" % (n, over))
                    self.assertGreater(int(r.info("stats")["evicted_keys"]), 0)
                    r.config_set("maxmemory", 0)

    def test_large_replies_leave_no_memory_behind(self):
        # A reply buffer is the server's memory only while the reply waits. lfdb's threads kept
        # up to 64 spare buffers of up to 256 KB each, and any reply buffer under 256 KB: after
        # 20 clients' MGETs of a 100 KB value, 4.5 MB of used_memory stayed with no data and no
        # client (taken out of the keys under maxmemory), and one 150 KB reply left ~200 KB
        # (Redis's obuf-limits allows 10 KB; redis-server itself grows 25-50 KB here). A thread now keeps at most 128 KB of spares and
        # gives back a buffer past 128 KB: 1 MB covers two threads' keep with room; Redis frees
        # a client's buffers with the client.
        for name, r in self.both():
            with self.subTest(server=name):
                r.set("big", "x" * 100000)
                r.rpush("list", *(["y" * 1000] * 150))
                before = used(r)
                r.lrange("list", 0, -1)  # one 150 KB reply, read
                self.assertLess(used(r) - before, 64 * 1024, "one 150 KB reply")
                socks = []
                for _ in range(20):
                    s = socket.create_connection((HOST, self.servers[name].port))
                    s.sendall(b"*2\r\n$4\r\nMGET\r\n$3\r\nbig\r\n" * 8)
                    socks.append(s)
                for s in socks:  # each has its replies on the way
                    self.assertTrue(s.recv(1))
                for s in socks:
                    s.close()
                deadline = time.monotonic() + 10
                while int(r.info("clients")["connected_clients"]) > 1 and time.monotonic() < deadline:
                    time.sleep(0.01)
                self.assertEqual(int(r.info("clients")["connected_clients"]), 1)
                grew = used(r) - before
                self.assertLess(grew, 1 << 20, "20 clients of 800 KB of replies each, gone: %d bytes left" % grew)

    def test_volatile_policy_without_ttl_keys_refuses_like_noeviction(self):
        results = {}
        for name, r in self.both():
            r.set("a", "1")
            r.config_set("maxmemory-policy", "volatile-lru")
            r.config_set("maxmemory", 1)
            results[name] = [error_of(r.set, "b", "2"), r.get("a")]
            r.config_set("maxmemory", 0)
        self.assertEqual(results["lfdb"], results["redis"])
        self.assertEqual(results["lfdb"][0], OOM)

    def hot_set_kept(self, policy, n=20000):
        """Redis's LRU test, on both servers at once (their clocks move together): n keys fill
        maxmemory, a quarter of them are read again, then n/2 new keys are written. Returns, per
        server, the fractions of the hot and of the cold keys still there."""
        val = b"v" * 100
        clients = dict(self.both())

        def batch(r, cmds):
            for i in range(0, len(cmds), 500):
                p = r.pipeline(transaction=False)
                for c in cmds[i:i + 500]:
                    p.execute_command(*c)
                p.execute()

        hot = ["k:%d" % i for i in range(0, n, 4)]
        cold = ["k:%d" % i for i in range(n) if i % 4]
        for r in clients.values():
            r.config_set("maxmemory-policy", policy)
            batch(r, [("SET", "k:%d" % i, val) for i in range(n)])
            r.config_set("maxmemory", used(r))  # full: new keys evict
        lru = policy.endswith("lru")
        if lru:
            time.sleep(1.1)  # Redis's LRU clock counts seconds
        for r in clients.values():
            batch(r, [("GET", k) for k in hot] * (1 if lru else 3))
        if lru:
            time.sleep(1.1)
        out = {}
        for name, r in clients.items():
            batch(r, [("SET", "new:%d" % i, val) for i in range(n // 2)])
            self.assertGreater(int(r.info("stats")["evicted_keys"]), 0)
            out[name] = (sum(r.exists(*hot[i:i + 1000]) for i in range(0, len(hot), 1000)) / len(hot),
                         sum(r.exists(*cold[i:i + 1000]) for i in range(0, len(cold), 1000)) / len(cold))
            r.config_set("maxmemory", 0)
            r.flushall()
        return out

    def test_lru_and_lfu_keep_the_hot_set_as_well_as_redis(self):
        for policy in ("allkeys-lru", "allkeys-lfu"):
            got = self.hot_set_kept(policy)
            with self.subTest(policy=policy, redis=got["redis"], lfdb=got["lfdb"]):
                # (fraction of the hot set kept, fraction of the cold keys kept). lfdb's writers
                # choose among their own colors' keys (about 20 per color here), Redis among all:
                # docs/memory.md has the numbers; lfdb must keep the hot set far better than
                # chance and within 15% of what redis-server keeps.
                self.assertGreater(got["lfdb"][0], got["lfdb"][1] + 0.3)
                self.assertGreaterEqual(got["lfdb"][0], 0.85 * got["redis"][0])

    def test_object_refcount_of_small_integers_follows_the_policy(self):
        # Redis shares the integers 0..9999 (OBJECT REFCOUNT answers INT_MAX) except while
        # maxmemory is set under an LRU or LFU policy, where each key needs its own access clock.
        results = {}
        for name, r in self.both():
            out = []
            for maxmemory, policy in ((0, "allkeys-lru"), (1 << 30, "noeviction"), (1 << 30, "allkeys-random"),
                                      (1 << 30, "volatile-ttl"), (1 << 30, "allkeys-lru"), (1 << 30, "volatile-lfu")):
                r.config_set("maxmemory", maxmemory)
                r.config_set("maxmemory-policy", policy)
                r.set("a", 1)
                r.set("big", 123456)
                out.append((r.object("refcount", "a"), r.object("refcount", "big")))
            r.config_set("maxmemory", 0)
            results[name] = out
        self.assertEqual(results["lfdb"], results["redis"])
        self.assertEqual(results["lfdb"][4], (1, 1))

    def test_object_freq_and_idletime(self):
        results = {}
        for name, r in self.both():
            # LFU counters decay once a minute of the wall clock: a minute turning between the
            # SET and OBJECT FREQ below took the new key's 5 down to 4 on one server only.
            while time.time() % 60 > 55:
                time.sleep(0.5)
            r.set("k", "v")
            out = [error_of(r.object, "freq", "k"), r.object("freq", "nokey")]
            r.config_set("maxmemory-policy", "allkeys-lfu")
            r.set("f", "v")
            out.append(r.object("freq", "f"))  # a new key starts at 5
            for _ in range(200):
                r.get("f")
            out.append(r.object("freq", "f") > 5)
            out.append(error_of(r.object, "idletime", "f"))
            r.config_set("maxmemory-policy", "allkeys-lru")
            r.set("i", "v")
            out.append(r.object("idletime", "i") <= 3)  # whole seconds, on a loaded machine
            results[name] = out
        self.assertEqual(results["lfdb"], results["redis"])

    # Each runs against key k (a string) that RESTORE ... IDLETIME left idle for 1000 s: which
    # commands are an access to the key (its clock restarts) and which only look at it.
    LOOKUPS = [
        ["TTL", "k"], ["PTTL", "k"], ["EXPIRETIME", "k"], ["PEXPIRETIME", "k"], ["TYPE", "k"],
        ["EXISTS", "k", "k"], ["OBJECT", "ENCODING", "k"], ["OBJECT", "IDLETIME", "k"],
        ["MEMORY", "USAGE", "k"], ["SCAN", "0"], ["KEYS", "*"], ["RANDOMKEY"], ["DBSIZE"],
        ["TOUCH", "k", "nokey"], ["GET", "k"], ["MGET", "k"], ["STRLEN", "k"], ["DUMP", "k"],
        ["GETRANGE", "k", "0", "1"], ["COPY", "k", "k2"], ["EXPIRE", "k", "100"], ["APPEND", "k", "x"],
    ]

    def idle_after(self, r, cmd):
        r.flushall()
        r.set("src", "v")
        r.restore("k", 0, r.dump("src"), replace=True, idletime=1000)
        if cmd[0] == "OBJECT":
            r.object(cmd[1], cmd[2])  # redis-py parses OBJECT's reply only through object()
        else:
            r.execute_command(*cmd)
        return r.object("idletime", "k") >= 1000

    def test_which_commands_touch_the_access_clock(self):
        self.maxDiff = None
        results = {}
        for name, r in self.both():
            results[name] = [(" ".join(cmd[:2]), self.idle_after(r, cmd)) for cmd in self.LOOKUPS]
        self.assertEqual(results["lfdb"], results["redis"])
        # CLIENT NO-TOUCH (Redis 7.2; 7.0 lacks it): the connection's reads leave the clock
        # alone, but TOUCH, whose whole point is the access.
        r = self.client("lfdb")
        self.assertTrue(r.execute_command("CLIENT", "NO-TOUCH", "ON"))
        self.assertEqual([self.idle_after(r, ["GET", "k"]), self.idle_after(r, ["TOUCH", "k"])],
                         [True, False])
        r.execute_command("CLIENT", "NO-TOUCH", "OFF")
        self.assertFalse(self.idle_after(r, ["GET", "k"]))

    def test_evictions_are_notified_and_counted(self):
        for name, r in self.both():
            with self.subTest(server=name):
                r.config_set("notify-keyspace-events", "Ee")
                ps = self.client(name).pubsub()
                ps.subscribe("__keyevent@0__:evicted")
                ps.get_message(timeout=1.0)
                before = int(r.info("stats")["evicted_keys"])
                self.fill_under_policy(r, "allkeys-random", 1 << 20)
                msg = None
                deadline = time.monotonic() + 5
                while msg is None and time.monotonic() < deadline:
                    msg = ps.get_message(timeout=1.0)
                self.assertIsNotNone(msg)
                self.assertEqual(msg["type"], "message")
                self.assertTrue(msg["data"].startswith(b"k:"))
                self.assertGreater(int(r.info("stats")["evicted_keys"]), before)
                r.config_set("notify-keyspace-events", "")
                r.config_set("maxmemory", 0)
                ps.close()

    def test_config_set_maxmemory_below_use_evicts_at_once(self):
        # Redis evicts while applying the new limit, before any write asks for room: here in a
        # database other than 0, with the keys' `evicted` events and evicted_keys.
        for name, r in self.both():
            with self.subTest(server=name):
                db9 = self.client(name, db=9)
                r.config_set("notify-keyspace-events", "Ee")
                r.config_set("maxmemory-policy", "allkeys-lru")
                ps = self.client(name).pubsub()
                ps.psubscribe("*")
                ps.get_message(timeout=1.0)
                db9.set("foo", "bar")
                before = int(r.info("stats")["evicted_keys"])
                r.config_set("maxmemory", 1)
                r.config_set("maxmemory", 0)  # after: what the first limit set off still goes
                msg = None
                deadline = time.monotonic() + 5
                while msg is None and time.monotonic() < deadline:
                    msg = ps.get_message(timeout=1.0)
                self.assertEqual((msg or {}).get("channel"), b"__keyevent@9__:evicted")
                self.assertEqual(msg["data"], b"foo")
                self.assertEqual(db9.dbsize(), 0)
                self.assertEqual(int(r.info("stats")["evicted_keys"]), before + 1)
                r.config_set("notify-keyspace-events", "")
                ps.close()
                db9.close()

    def test_evictions_reach_the_log_as_del(self):
        srv = ServerProcess([("appendonly", "yes"), ("appendfsync", "always")]).start()
        try:
            r = redis.Redis(host=HOST, port=srv.port)
            self.fill_under_policy(r, "allkeys-lru", 1 << 20)
            evicted = int(r.info("stats")["evicted_keys"])
            self.assertGreater(evicted, 0)
            with open(os.path.join(srv.dir, "appendonly.aof"), "rb") as f:
                log = f.read()
            self.assertGreaterEqual(log.count(b"$3\r\nDEL\r\n"), evicted)
        finally:
            srv.stop()

    def test_reads_evictions_reach_the_log_under_either_data_mode(self):
        # Redis evicts before any command past the limit, a GET too, and logs each eviction as a
        # DEL. lfdb's reader drains through other colors (docs/memory.md, "Eviction and
        # colors"); under --data global the reader holds the one mutex and evicts itself, and
        # those DELs were once never logged: a replica or a restart kept keys the primary lost.
        aof = [("appendonly", "yes"), ("appendfsync", "always")]
        servers = {"redis": RedisWith(aof), "lfdb colors": LfdbWithData("colors", aof),
                   "lfdb global": LfdbWithData("global", aof)}
        try:
            for name, srv in servers.items():
                with self.subTest(server=name):
                    srv.start()
                    r = redis.Redis(host=HOST, port=srv.port)
                    p = r.pipeline(transaction=False)
                    for i in range(2000):
                        p.set("k:%d" % i, VALUE)
                    p.execute()
                    # Past the limit with no write asking for room: a client's half-sent
                    # command of 1 MB (as unit/maxmemory's dead client), then reads.
                    r.config_set("maxmemory-policy", "allkeys-random")
                    r.config_set("maxmemory", used(r) + 300 * 1024)
                    dead = socket.create_connection((HOST, srv.port))
                    dead.sendall(b"*3\r\n$3\r\nSET\r\n$1\r\nx\r\n$4000000\r\n" + b"x" * (1 << 20))
                    deadline = time.monotonic() + 10
                    while r.dbsize() == 2000 and time.monotonic() < deadline:
                        r.get("absent")
                    r.config_set("maxmemory", 0)
                    dead.close()
                    # lfdb's drains run on the colors' owners: some may finish after the GET.
                    deadline = time.monotonic() + 10
                    while True:
                        evicted = int(r.info("stats")["evicted_keys"])
                        if r.dbsize() + evicted == 2000 or time.monotonic() > deadline:
                            break
                        time.sleep(0.02)
                    self.assertGreater(evicted, 0)
                    self.assertEqual(r.dbsize(), 2000 - evicted)
                    deadline = time.monotonic() + 10
                    while (log_text(srv).lower().count(b"$3\r\ndel\r\n") < evicted
                           and time.monotonic() < deadline):
                        time.sleep(0.05)
                    self.assertEqual(log_text(srv).lower().count(b"$3\r\ndel\r\n"), evicted)
                    # A limit set inside MULTI evicts after the block: the DELs follow its EXEC
                    # in the log, none lands inside it (unit/maxmemory's 'propagation with
                    # eviction in MULTI').
                    tx = r.pipeline(transaction=True)
                    tx.incr("x").config_set("maxmemory", 1).incr("x")
                    self.assertEqual(tx.execute(), [1, True, 2])
                    deadline = time.monotonic() + 10
                    while r.dbsize() != 0 and time.monotonic() < deadline:
                        time.sleep(0.01)
                    r.config_set("maxmemory", 0)
                    self.assertEqual(r.dbsize(), 0)
                    deadline = time.monotonic() + 10
                    while (b"$3\r\ndel\r\n$1\r\nx\r\n" not in log_text(srv).lower()
                           and time.monotonic() < deadline):
                        time.sleep(0.05)
                    log = log_text(srv).lower()
                    block = log[log.rindex(b"multi"):log.rindex(b"exec")]
                    self.assertIn(b"$1\r\nx\r\n", block)
                    self.assertNotIn(b"$3\r\ndel\r\n", block)
                    self.assertGreater(log.rindex(b"$3\r\ndel\r\n$1\r\nx\r\n"), log.rindex(b"exec"))
                    r.close()
        finally:
            for srv in servers.values():
                if srv.proc is not None:
                    srv.stop()

    def test_reads_past_the_limit_do_not_sweep_when_nothing_can_go(self):
        # Reads past the limit are answered on both servers whatever the policy. lfdb drains
        # before them (docs/memory.md): none under noeviction, and a drain that freed nothing
        # (here no key at all) holds the readers' drains off for 100 ms; without those rules a
        # full server swept 64 colors before every GET (2.4x-5.6x the CPU per GET).
        for name, r in self.both():
            with self.subTest(server=name):
                r.set("kept", "yes")
                r.config_set("maxmemory", 1)
                self.assertEqual([r.get("kept") for _ in range(50)], [b"yes"] * 50)
                r.config_set("maxmemory", 0)
                r.delete("kept")
        r = self.client("lfdb")

        def drains():
            return int(r.info("stats")["lfdb_eviction_drains"])

        # Each phase begins past any earlier drain's 100 ms hold (the rule under test).
        time.sleep(0.15)
        before = drains()
        r.config_set("maxmemory", 1)  # noeviction, from setUp
        for _ in range(200):
            r.get("absent")
        self.assertEqual(drains(), before)  # (an INFO drains too, but not under noeviction)
        time.sleep(0.15)
        began = time.monotonic()
        r.config_set("maxmemory-policy", "allkeys-lru")  # and nothing to evict
        for _ in range(200):
            r.get("absent")
        took = time.monotonic() - began
        ran = drains() - before  # this INFO's drain included
        # One drain, then one per 100 ms at most (the bound follows the time the GETs took).
        self.assertGreaterEqual(ran, 1)
        self.assertLessEqual(ran, 2 + int(took / 0.1) + 1)
        r.config_set("maxmemory", 0)


if __name__ == "__main__":
    unittest.main()
