"""Blocking commands through lfdb-gateway: each blocked command on a connection of its own from
a bounded pool per back-end, never on the shared pipelined ones (docs/gateway.md, "Blocking
commands")."""

import signal
import threading
import time
import unittest

import redis

from gateway_testlib import GatewayTestCase, keys_for_shard, wait_until


def blocked_clients(r):
    return int(r.info("clients")["blocked_clients"])


class BlockingTest(GatewayTestCase):
    gateway_options = {"timeout_ms": 1000, "blocking_connections": 4}

    def test_producer_consumer_no_loss_no_duplicate(self):
        q0, q1 = keys_for_shard(0, 2, 1, "q")[0], keys_for_shard(1, 2, 1, "q")[0]
        items = 400
        consumed = []
        lock = threading.Lock()
        stop = threading.Event()
        errors = []

        def consumer(q):
            c = self.client()
            try:
                while not stop.is_set():
                    r = c.brpop(q, timeout=0.5)  # shorter than the gateway's request timeout and longer
                    if r is not None:
                        with lock:
                            consumed.append(r[1])
            except Exception as e:  # noqa: BLE001
                errors.append(e)
        threads = [threading.Thread(target=consumer, args=(q,)) for q in (q0, q0, q1, q1)]
        for t in threads:
            t.start()
        producer = self.client()
        for i in range(items):
            producer.lpush(q0 if i % 2 == 0 else q1, "item%d" % i)
            if i % 50 == 0:
                time.sleep(0.05)  # let consumers block and be woken, not only pop ready lists
        self.assertTrue(wait_until(lambda: len(consumed) >= items, 30), len(consumed))
        stop.set()
        for t in threads:
            t.join(10)
        self.assertEqual(errors, [])
        self.assertEqual(sorted(consumed), sorted("item%d" % i for i in range(items)))
        self.assertEqual(producer.llen(q0) + producer.llen(q1), 0)
        self.assertGreater(int(self.info()["blocking_commands"]), 0)

    def test_blocked_client_does_not_stall_pipelines(self):
        q = keys_for_shard(0, 2, 1, "bq")[0]
        keys = keys_for_shard(0, 2, 200, "pk")
        result = {}
        blocker = self.client(socket_timeout=30)
        t = threading.Thread(target=lambda: result.setdefault("r", blocker.blpop(q, timeout=0)))
        t.start()
        self.assertTrue(wait_until(lambda: blocked_clients(self.direct(0)) == 1, 10))
        # Other clients' pipelines on the same shard flow meanwhile.
        c = self.client(socket_timeout=5)
        for _ in range(5):
            p = c.pipeline(transaction=False)
            for k in keys:
                p.set(k, k)
                p.get(k)
            out = p.execute()
            self.assertEqual(out[1::2], keys)
        self.assertTrue(t.is_alive())
        self.r.rpush(q, "wake")
        t.join(10)
        self.assertEqual(result["r"], (q, "wake"))

    def test_commands_after_a_blocking_one_wait_for_it(self):
        # One pipeline: SET, BLPOP (served by the list the SET's neighbour creates), GET: in order.
        q = keys_for_shard(1, 2, 1, "oq")[0]
        self.r.rpush(q, "ready")
        p = self.client().pipeline(transaction=False)
        p.set("a", "1")
        p.blpop(q, timeout=1)
        p.get("a")
        p.blpop(q, timeout=0.2)  # empty now: times out with nil
        p.get("a")
        self.assertEqual(p.execute(), [True, (q, "ready"), "1", None, "1"])

    def test_limit_is_a_clear_error(self):
        q = keys_for_shard(1, 2, 1, "lq")[0]
        holders = []
        for _ in range(4):
            c = self.raw(timeout=10)
            c.send_command("BLPOP", q, "0")
            holders.append(c)
        self.assertTrue(wait_until(lambda: blocked_clients(self.direct(1)) == 4, 10))
        extra = self.raw()
        reply = extra.command("BLPOP", q, "0")
        self.assertIn("blocking connections to backend", reply.message)
        self.assertIn("(blocking_connections)", reply.message)
        self.assertEqual(extra.command("PING"), b"PONG")  # the client carries on
        # A client that leaves while blocked gives its connection back, and loses no element.
        holders[0].close()
        self.assertTrue(wait_until(lambda: blocked_clients(self.direct(1)) == 3, 10))
        # The pool has room again: a new blocked client is accepted.
        again = self.raw(timeout=10)
        again.send_command("BLPOP", q, "0")
        self.assertTrue(wait_until(lambda: blocked_clients(self.direct(1)) == 4, 10))
        self.r.rpush(q, "e1", "e2", "e3", "e4")
        # (Which blocked client gets which element is the back-end's order of arrival.)
        replies = sorted(c.read_parsed(timeout=10)[1] for c in holders[1:] + [again])
        self.assertEqual(replies, [b"e1", b"e2", b"e3", b"e4"])
        self.assertEqual(self.r.llen(q), 0)
        self.assertGreaterEqual(int(self.info()["blocking_abandoned"]), 1)

    def test_left_blocked_clients_do_not_take_elements(self):
        q = keys_for_shard(0, 2, 1, "gone")[0]
        # One at a time: each BRPOP is seen blocked on the back-end, then gone after its client
        # left, before the next is sent (a BRPOP still on its way when the element is pushed
        # would take it, as it would from a client connected to the back-end directly).
        for _ in range(3):
            c = self.raw(timeout=10)
            c.send_command("BRPOP", q, "0")
            self.assertTrue(wait_until(lambda: blocked_clients(self.direct(0)) == 1, 10))
            c.close()
            self.assertTrue(wait_until(lambda: blocked_clients(self.direct(0)) == 0, 10))
        self.r.lpush(q, "kept")
        time.sleep(0.2)
        self.assertEqual(self.r.lrange(q, 0, -1), ["kept"])


class BlockedBackendDiesTest(GatewayTestCase):
    gateway_options = {"timeout_ms": 1000, "server_failure_limit": 0, "blocking_connections": 8}

    def test_backend_killed_while_blocked(self):
        q = keys_for_shard(1, 2, 1, "dq")[0]
        clients = [self.raw(timeout=15) for _ in range(5)]
        for c in clients:
            c.send_command("BLPOP", q, "0")
        self.assertTrue(wait_until(lambda: blocked_clients(self.direct(1)) == 5, 10))
        dead = self.servers[1]
        start = time.monotonic()
        dead.kill(signal.SIGKILL)
        for c in clients:
            reply = c.read_parsed(timeout=10)
            self.assertIn("backend", reply.message)
        self.assertLess(time.monotonic() - start, 10)
        # The other shard is unaffected; the dead one answers again once it is back.
        self.assertTrue(self.r.set(keys_for_shard(0, 2, 1, "ok")[0], "1"))
        dead.start(port=dead.port)

        def serves():
            try:
                return self.r.blpop(q, timeout=0.1) is None
            except redis.ResponseError:
                return False
        self.assertTrue(wait_until(serves, 20))


if __name__ == "__main__":
    unittest.main()
