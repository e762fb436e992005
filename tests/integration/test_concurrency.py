"""Many clients at once (threads, one connection each): exact counter totals, MULTI/EXEC transfers
that preserve a total across ~20 keys (different colors in lfdb), atomic multi-key reads and
writes, WATCH-based optimistic retry loops, and pipelines from many clients."""

import random
import socket
import threading
import time
import unittest

import redis

from lfdb_testlib import RawConnection, ServerTestCase

CLIENTS = 50


def run_threads(n, target, timeout=60):
    """Run target(i) in n threads started together; re-raise the first failure."""
    barrier = threading.Barrier(n)
    errors = []

    def body(i):
        try:
            barrier.wait(timeout)
            target(i)
        except BaseException as e:  # noqa: report everything
            errors.append((i, e))

    threads = [threading.Thread(target=body, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + timeout
    for t in threads:
        t.join(max(0.1, deadline - time.monotonic()))
    alive = [t for t in threads if t.is_alive()]
    if alive:
        raise AssertionError("%d of %d client threads still running after %d s"
                             % (len(alive), n, timeout))
    if errors:
        i, e = errors[0]
        raise AssertionError("%d client thread(s) failed; thread %d: %r" % (len(errors), i, e)) from e


class ConcurrencyTest(ServerTestCase):
    def connections(self, n=CLIENTS):
        """n clients, each with exactly one connection, connected before the threads start."""
        out = []
        for _ in range(n):
            c = self.client(single_connection_client=True)
            c.ping()
            out.append(c)
        return out

    def test_incr_totals_exact(self):
        keys = ["counter:%d" % i for i in range(5)]
        clients = self.connections()
        per_client = 200

        def work(i):
            c = clients[i]
            for j in range(per_client):
                c.incr(keys[(i + j) % len(keys)])

        run_threads(CLIENTS, work)
        total = CLIENTS * per_client
        self.assertEqual([int(v) for v in self.r.mget(keys)], [total // len(keys)] * len(keys))

    def test_mixed_counters_exact(self):
        clients = self.connections()

        def work(i):
            c = clients[i]
            for j in range(48):
                c.incrby("by", 3)
                c.decr("down")
                c.hincrby("h", "f%d" % (j % 4), 2)
                c.incrbyfloat("fl", 0.5)

        run_threads(CLIENTS, work)
        n = CLIENTS * 48
        self.assertEqual(int(self.r.get("by")), 3 * n)
        self.assertEqual(int(self.r.get("down")), -n)
        self.assertEqual(self.r.hgetall("h"), {"f%d" % k: str(2 * n // 4) for k in range(4)})
        self.assertEqual(float(self.r.get("fl")), 0.5 * n)

    def test_multi_exec_transfers_preserve_total(self):
        accounts = ["account:%d" % i for i in range(20)]
        start = 1000
        self.r.mset({a: start for a in accounts})
        total = start * len(accounts)
        clients = self.connections()
        stop = threading.Event()
        bad_snapshots = []

        def transfer(i):
            c = clients[i]
            rnd = random.Random(i)
            for _ in range(40):
                a, b = rnd.sample(accounts, 2)
                amount = rnd.randint(1, 50)
                p = c.pipeline(transaction=True)
                p.decrby(a, amount)
                p.incrby(b, amount)
                r = p.execute()
                assert len(r) == 2 and all(isinstance(x, int) for x in r), r

        def auditor(c, use_mget):
            # every atomic snapshot of all accounts must show the exact total
            while not stop.is_set():
                if use_mget:
                    values = c.mget(accounts)
                else:
                    p = c.pipeline(transaction=True)
                    for a in accounts:
                        p.get(a)
                    values = p.execute()
                s = sum(int(v) for v in values)
                if s != total:
                    bad_snapshots.append(("MGET" if use_mget else "MULTI", s))

        auditors = [threading.Thread(target=auditor, args=(self.client(), m), daemon=True)
                    for m in (True, False)]
        for t in auditors:
            t.start()
        try:
            run_threads(CLIENTS, transfer)
        finally:
            stop.set()
            for t in auditors:
                t.join(10)
        values = [int(v) for v in self.r.mget(accounts)]
        self.assertEqual(sum(values), total)
        self.assertEqual(bad_snapshots[:5], [])
        self.assertNotEqual(values, [start] * len(accounts))  # something moved

    def test_mset_is_atomic_for_readers(self):
        keys = ["m:%d" % i for i in range(16)]
        self.r.mset({k: "0" for k in keys})
        writers = self.connections(20)
        readers = self.connections(10)
        torn = []

        def work(i):
            if i < len(writers):
                c = writers[i]
                for j in range(50):
                    c.mset({k: "%d-%d" % (i, j) for k in keys})
            else:
                c = readers[i - len(writers)]
                for _ in range(100):
                    values = c.mget(keys)
                    if len(set(values)) != 1:
                        torn.append(values)

        run_threads(len(writers) + len(readers), work)
        self.assertEqual(torn[:1], [])
        self.assertEqual(len(set(self.r.mget(keys))), 1)

    def test_watch_retry_loops_exact(self):
        keys = ["opt:%d" % i for i in range(5)]
        clients = self.connections()
        per_client = 10
        retries = [0] * CLIENTS

        def work(i):
            c = clients[i]
            for j in range(per_client):
                key = keys[(i + j) % len(keys)]
                while True:
                    with c.pipeline() as p:
                        try:
                            p.watch(key)
                            value = int(p.get(key) or 0)
                            p.multi()
                            p.set(key, value + 1)
                            p.execute()
                            break
                        except redis.WatchError:
                            retries[i] += 1

        run_threads(CLIENTS, work)
        total = CLIENTS * per_client
        self.assertEqual([int(v) for v in self.r.mget(keys)], [total // len(keys)] * len(keys))

    def test_watch_two_key_moves_preserve_total(self):
        accounts = ["w:%d" % i for i in range(20)]
        self.r.mset({a: 100 for a in accounts})
        clients = self.connections()

        def work(i):
            c = clients[i]
            rnd = random.Random(1000 + i)
            for _ in range(10):
                a, b = rnd.sample(accounts, 2)
                while True:
                    with c.pipeline() as p:
                        try:
                            p.watch(a, b)
                            va, vb = int(p.get(a)), int(p.get(b))
                            amount = min(va, rnd.randint(1, 10))
                            p.multi()
                            p.set(a, va - amount)
                            p.set(b, vb + amount)
                            p.execute()
                            break
                        except redis.WatchError:
                            pass

        run_threads(CLIENTS, work)
        values = [int(v) for v in self.r.mget(accounts)]
        self.assertEqual(sum(values), 100 * len(accounts))
        self.assertTrue(all(v >= 0 for v in values), values)

    def test_pipelines_from_many_clients(self):
        clients = self.connections()
        n = 100

        def work(i):
            c = clients[i]
            p = c.pipeline(transaction=False)
            for j in range(n):
                p.set("own:%d:%d" % (i, j), j)
                p.incr("shared")
                p.hset("hash:%d" % i, "f%d" % j, j)
                p.get("own:%d:%d" % (i, j))
                p.append("log:%d" % i, "x")
            replies = p.execute()
            assert len(replies) == 5 * n
            for j in range(n):
                s, inc, hs, g, ap = replies[5 * j:5 * j + 5]
                assert s is True, s
                assert isinstance(inc, int) and 1 <= inc <= CLIENTS * n, inc
                assert hs == 1, hs
                assert g == str(j), (g, j)
                assert ap == j + 1, (ap, j)

        run_threads(CLIENTS, work)
        self.assertEqual(int(self.r.get("shared")), CLIENTS * n)
        for i in (0, CLIENTS // 2, CLIENTS - 1):
            self.assertEqual(self.r.hlen("hash:%d" % i), n)
            self.assertEqual(self.r.strlen("log:%d" % i), n)
        self.assertEqual(self.r.dbsize(), CLIENTS * n + 2 * CLIENTS + 1)

    def test_pipeline_sent_whole_before_reading(self):
        # A client that writes its whole pipeline before it reads a reply (redis-py's pipeline,
        # bulk loaders): ~40 MB of requests and ~40 MB of replies, far past both directions'
        # socket buffers. Redis reads on and holds the replies; a server that stopped reading
        # while replies wait left both sides blocked in their sends (the socket timeout turns
        # that into a failure). Every reply must come, in order.
        count, size = 400, 100 * 1024
        payload = [(b"%08d" % i) + b"x" * (size - 8) for i in range(count)]
        s = socket.create_connection(("127.0.0.1", self.port), timeout=30)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        try:
            s.sendall(b"".join(b"*2\r\n$4\r\nECHO\r\n$%d\r\n%s\r\n" % (size, p) for p in payload))
            want = b"".join(b"$%d\r\n%s\r\n" % (size, p) for p in payload)
            got = bytearray()
            while len(got) < len(want):
                chunk = s.recv(1 << 20)
                self.assertTrue(chunk, "closed after %d of %d bytes" % (len(got), len(want)))
                got += chunk
            self.assertTrue(got == want, "replies out of order or altered")
        finally:
            s.close()
        self.assertTrue(self.r.ping())

    def test_incr_results_are_unique(self):
        # every INCR reply on one key is distinct: no two clients see the same value
        clients = self.connections()
        seen = [[] for _ in range(CLIENTS)]

        def work(i):
            c = clients[i]
            for _ in range(40):
                seen[i].append(c.incr("ticket"))

        run_threads(CLIENTS, work)
        all_values = sorted(v for s in seen for v in s)
        self.assertEqual(all_values, list(range(1, CLIENTS * 40 + 1)))
        for s in seen:
            self.assertEqual(s, sorted(s))  # each client sees its own increments in order

    def test_many_connections(self):
        conns = [RawConnection(self.port) for _ in range(200)]
        try:
            for c in conns:
                c.send(b"*1\r\n$4\r\nPING\r\n")
            for c in conns:
                self.assertEqual(c.read_reply(), b"+PONG\r\n")
            info = self.r.info("clients")
            self.assertGreaterEqual(info["connected_clients"], 200)
        finally:
            for c in conns:
                c.close()

    def test_connect_disconnect_churn(self):
        def work(i):
            for j in range(10):
                with RawConnection(self.port) as c:
                    c.send_command("SET", "churn:%d:%d" % (i, j), "v")
                    assert c.read_reply() == b"+OK\r\n"

        run_threads(CLIENTS, work)
        self.assertEqual(self.r.dbsize(), CLIENTS * 10)


if __name__ == "__main__":
    unittest.main()
