"""lfdb-gateway when back-ends fail: a back-end killed under load, a back-end that is down, one
that accepts and never answers. Every request gets a reply or an error naming the back-end, no
client hangs (the clients' own socket timeouts are far above the gateway's request timeout, so
a hang shows as a client-side timeout), and service resumes when the back-end returns."""

import signal
import socket
import threading
import time
import unittest

import redis

from gateway_testlib import (HOST, SLOWDOWN, Backend, Gateway, GatewayTestCase, RawConnection,
                             RespError, free_port, keys_for_shard, lfdb_config, wait_until)

A = keys_for_shard(0, 2, 10, "a")
B = keys_for_shard(1, 2, 10, "b")
CLIENT_TIMEOUT = 8  # seconds: a client waiting this long means the gateway let it hang


class KillBackendTest(GatewayTestCase):
    # A killed back-end fails at once (its connections close); the timeout only bounds shard
    # 0's requests, which must all succeed while eight clients hammer a loaded machine.
    gateway_options = {"timeout_ms": 3000 * SLOWDOWN, "server_failure_limit": 2,
                       "server_retry_timeout_ms": 500}

    def test_kill_under_load_then_recover(self):
        dead = self.servers[1]
        dead_label = "%s:%d" % (HOST, dead.port)
        stop = threading.Event()
        killed = threading.Event()
        lock = threading.Lock()
        outcomes = {"ok_a": 0, "ok_b": 0, "err_b": 0, "ok_a_after_kill": 0}
        problems = []

        def worker(t):
            r = self.client(socket_timeout=CLIENT_TIMEOUT)
            i = 0
            while not stop.is_set():
                i += 1
                for keys, name in ((A, "a"), (B, "b")):
                    k = keys[(t + i) % len(keys)]
                    try:
                        p = r.pipeline(transaction=False)
                        p.set(k, i)
                        p.get(k)
                        res = p.execute(raise_on_error=False)
                    except (redis.TimeoutError, redis.ConnectionError) as e:
                        with lock:
                            problems.append("client %d hung or lost its connection on %s: %r" % (t, k, e))
                        return
                    errs = [x for x in res if isinstance(x, Exception)]
                    with lock:
                        if not errs:
                            outcomes["ok_" + name] += 1
                            if name == "a" and killed.is_set():
                                outcomes["ok_a_after_kill"] += 1
                        elif name == "a":
                            problems.append("shard 0 failed: %r" % errs)
                        else:
                            outcomes["err_b"] += 1
                            for e in errs:
                                if dead_label not in str(e):
                                    problems.append("error does not name the back-end: %s" % e)

        threads = [threading.Thread(target=worker, args=(t,)) for t in range(8)]
        for th in threads:
            th.start()
        self.assertTrue(wait_until(lambda: outcomes["ok_b"] > 50))
        dead.kill(signal.SIGKILL)
        killed.set()
        self.assertTrue(wait_until(lambda: outcomes["err_b"] > 20 and outcomes["ok_a_after_kill"] > 50))
        stop.set()
        for th in threads:
            th.join(60)
        self.assertEqual(problems[:5], [])
        self.assertFalse(any(th.is_alive() for th in threads), "a client never got its answer")

        # While it is down: fail fast, with the back-end's name; the other shard serves.
        c = RawConnection(self.port, timeout=CLIENT_TIMEOUT)
        try:
            reply = c.command("GET", B[0])
            self.assertIsInstance(reply, RespError)
            self.assertIn(dead_label, reply.message)
            self.assertEqual(c.command("SET", A[0], "still"), b"OK")
            # A split command with a part on the dead shard reports the failure.
            reply = c.command("MGET", A[0], B[0])
            self.assertIsInstance(reply, RespError)
            self.assertIn(dead_label, reply.message)
        finally:
            c.close()
        # Reconnect attempts fail too; after server_failure_limit failures it is ejected, and
        # requests for it fail fast saying so.
        def backend1():
            return dict(kv.split("=") for kv in self.info()["backend1"].split(","))
        self.assertTrue(wait_until(lambda: backend1()["state"] == "ejected"), backend1())
        c = RawConnection(self.port, timeout=CLIENT_TIMEOUT)
        try:
            reply = c.command("GET", B[0])
            self.assertIsInstance(reply, RespError)
            self.assertIn(dead_label, reply.message)
        finally:
            c.close()

        # The back-end returns on the same port: the gateway reconnects (after the retry
        # timeout) and serves it again.
        dead.start(port=dead.port)
        r = self.client(socket_timeout=CLIENT_TIMEOUT)

        def b_works():
            try:
                return r.set(B[1], "back") is True
            except redis.ResponseError:
                return False
        self.assertTrue(wait_until(b_works), "shard 1 never came back:\n" + str(self.info()))
        self.assertEqual(r.get(B[1]), "back")
        fields = dict(kv.split("=") for kv in self.info()["backend1"].split(","))
        self.assertEqual(fields["state"], "up")
        self.assertGreaterEqual(int(fields["failures"]), 1)
        self.assertGreaterEqual(int(fields["reconnects"]), 1)
        self.assertGreaterEqual(int(fields["ejections"]), 1)
        self.assertEqual(fields["in_flight"], "0")


class FailureCountingTest(GatewayTestCase):
    """A dead back-end's connections all fail at once: one failure toward ejection, not one per
    connection (with two connections and a limit of 2 it used to be ejected at the first loss)."""
    gateway_options = {"timeout_ms": 1500, "server_failure_limit": 2, "connections_per_backend": 2,
                       "server_retry_timeout_ms": 10000}

    def backend1(self):
        return dict(kv.split("=") for kv in self.info()["backend1"].split(","))

    def test_connections_of_one_outage_count_once(self):
        self.assertTrue(wait_until(lambda: self.backend1()["connections"] == "2"), self.backend1())
        dead = self.servers[1]
        dead.kill(signal.SIGKILL)
        try:
            # Both connections see the loss (round 1, one failure); the retry round fails too
            # (round 2): now it is ejected, and the long retry timeout keeps it so while we look.
            self.assertTrue(wait_until(lambda: self.backend1()["state"] == "ejected"), self.backend1())
            b = self.backend1()
            self.assertEqual(int(b["failures"]), 2, b)
            self.assertGreaterEqual(int(b["connection_failures"]), 3, b)
            self.assertEqual(int(b["ejections"]), 1, b)
        finally:
            dead.start(port=dead.port)


class TransactionBackendDeathTest(GatewayTestCase):
    """A client's dedicated (pinned) connection dies inside MULTI or after WATCH: the back-end's
    transaction state is gone, so later commands of the transaction are refused (never run at once
    on a new connection) and EXEC answers EXECABORT."""
    gateway_options = {"timeout_ms": 2000, "server_failure_limit": 0}

    def restart_shard1(self):
        dead = self.servers[1]
        dead.kill(signal.SIGKILL)
        dead.start(port=dead.port)
        r = self.client(socket_timeout=CLIENT_TIMEOUT)

        def serves():
            try:
                return r.set(B[5], "x") is True
            except redis.ResponseError:
                return False
        self.assertTrue(wait_until(serves), "shard 1 never came back:\n" + str(self.info()))

    def assert_execabort(self, reply):
        self.assertIsInstance(reply, RespError)
        self.assertTrue(reply.message.startswith("EXECABORT"), reply.message)

    def test_multi_then_backend_dies(self):
        c = self.raw(timeout=CLIENT_TIMEOUT)
        self.assertEqual(c.command("MULTI"), b"OK")
        self.assertEqual(c.command("SET", B[0], "queued-before"), b"QUEUED")  # pins shard 1
        self.restart_shard1()
        reply = c.command("SET", B[1], "queued-after")
        self.assertIsInstance(reply, RespError)
        self.assertIn("lost during the transaction", reply.message)
        self.assert_execabort(c.command("EXEC"))
        d = self.direct(1)
        self.assertIsNone(d.get(B[0]))
        self.assertIsNone(d.get(B[1]))  # it would have run at once on a new connection
        # The client goes on: a new transaction on the same shard commits.
        self.assertEqual(c.command("MULTI"), b"OK")
        self.assertEqual(c.command("SET", B[2], "v"), b"QUEUED")
        self.assertEqual(c.command("EXEC"), [b"OK"])
        self.assertEqual(d.get(B[2]), "v")

    def test_watch_then_backend_dies(self):
        c = self.raw(timeout=CLIENT_TIMEOUT)
        self.assertEqual(c.command("WATCH", B[3]), b"OK")
        self.restart_shard1()
        reply = c.command("MULTI")  # the WATCH went with the connection
        self.assertIsInstance(reply, RespError)
        self.assertIn("lost during the transaction", reply.message)
        self.assertIsInstance(c.command("SET", B[3], "v"), RespError)
        self.assert_execabort(c.command("EXEC"))
        self.assertIsNone(self.direct(1).get(B[3]))
        self.assertEqual(c.command("WATCH", B[3]), b"OK")  # a new transaction pins afresh
        self.assertEqual(c.command("MULTI"), b"OK")
        self.assertEqual(c.command("SET", B[3], "w"), b"QUEUED")
        self.assertEqual(c.command("EXEC"), [b"OK"])

    def test_discard_after_death(self):
        c = self.raw(timeout=CLIENT_TIMEOUT)
        self.assertEqual(c.command("MULTI"), b"OK")
        self.assertEqual(c.command("SET", B[4], "x"), b"QUEUED")
        self.restart_shard1()
        self.assertEqual(c.command("DISCARD"), b"OK")
        self.assertEqual(c.command("GET", B[4]), None)


class SilentBackend:
    """Accepts connections and reads requests, never answers: a hung back-end."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((HOST, 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.conns = []
        self.stopped = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        self.sock.settimeout(0.2)
        while not self.stopped:
            try:
                c, _ = self.sock.accept()
            except OSError:
                continue
            self.conns.append(c)
            threading.Thread(target=self._drain, args=(c,), daemon=True).start()

    @staticmethod
    def _drain(c):
        try:
            while c.recv(65536):
                pass
        except OSError:
            pass

    def close(self):
        self.stopped = True
        self.sock.close()
        for c in self.conns:
            c.close()


class HungBackendTest(unittest.TestCase):
    """Shard 1 is a back-end that never answers: its requests time out, shard 0 is unaffected."""

    # The request timeout applies to shard 0's requests too, which must be answered: it is a
    # bound a loaded machine (and a sanitizer's back-end, SLOWDOWN) stays far below, not 600 ms.
    TIMEOUT_MS = 2000 * SLOWDOWN

    @classmethod
    def setUpClass(cls):
        import tempfile
        from gateway_testlib import GATEWAY
        if not GATEWAY:
            raise unittest.SkipTest("LFDB_GATEWAY is not set")
        cls.dir = tempfile.mkdtemp(prefix="lfdb-gw-hung-")
        cls.good = Backend(0, cls.dir).start()
        cls.silent = SilentBackend()
        cls.gateway = Gateway(cls.dir, lfdb_config([cls.good.port, cls.silent.port], timeout_ms=cls.TIMEOUT_MS,
                                                   server_failure_limit=0)).start()

    @classmethod
    def tearDownClass(cls):
        alive = cls.gateway.alive()
        cls.gateway.kill(signal.SIGTERM)
        cls.good.kill(signal.SIGTERM)
        cls.silent.close()
        if not alive:
            raise AssertionError("gateway died:\n" + cls.gateway.log())

    def test_requests_time_out_and_name_the_back_end(self):
        label = "%s:%d" % (HOST, self.silent.port)
        c = RawConnection(self.gateway.port, timeout=CLIENT_TIMEOUT + self.TIMEOUT_MS / 1000)
        try:
            # A pipeline: the slow shard's reply comes first in order; every reply arrives.
            c.send(b"".join([
                b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$1\r\n1\r\n" % (len(B[0]), B[0].encode()),
                b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$1\r\n1\r\n" % (len(A[0]), A[0].encode()),
                b"*2\r\n$4\r\nPING\r\n$1\r\nx\r\n",
            ]))
            first = c.read_parsed(timeout=CLIENT_TIMEOUT + self.TIMEOUT_MS / 1000)
            self.assertIsInstance(first, RespError)
            self.assertIn(label, first.message)
            self.assertIn("timed out", first.message)
            self.assertEqual(c.read_parsed(), b"OK")
            self.assertEqual(c.read_parsed(), b"x")
            # Shard 0 alone is served at once.
            self.assertEqual(c.command("GET", A[0]), b"1")
        finally:
            c.close()


class DownAtStartTest(unittest.TestCase):
    """A back-end that is not there at all: clear errors, fast, and the rest works."""

    def test_down_backend(self):
        import tempfile
        from gateway_testlib import GATEWAY
        if not GATEWAY:
            raise unittest.SkipTest("LFDB_GATEWAY is not set")
        d = tempfile.mkdtemp(prefix="lfdb-gw-down-")
        good = Backend(0, d).start()
        nobody = free_port()
        gw = Gateway(d, lfdb_config([good.port, nobody], timeout_ms=1000)).start()
        try:
            c = RawConnection(gw.port, timeout=CLIENT_TIMEOUT)
            for _ in range(20):
                reply = c.command("GET", B[0])
                self.assertIsInstance(reply, RespError)
                self.assertIn("%s:%d" % (HOST, nobody), reply.message)
            self.assertEqual(c.command("SET", A[0], "v"), b"OK")
            self.assertIsInstance(c.command("DBSIZE"), RespError)  # a fan-out needs every shard
            c.close()
            self.assertTrue(gw.alive())
        finally:
            gw.kill(signal.SIGTERM)
            good.kill(signal.SIGTERM)


class TransactionPoolTest(GatewayTestCase):
    """More WATCH/MULTI clients than dedicated connections (tx_connections: 1): the next client
    waits for a connection to come free, keeps its order, and gets a clear error only when none
    comes free within the request timeout."""

    # A waiting client's turn must come within the timeout while the test makes a few round
    # trips (queueing the others, the holder's transaction): 3 s is far above that on a loaded
    # machine, 700 ms was not.
    gateway_options = {"timeout_ms": 3000, "tx_connections": 1}

    def test_a_waiting_client_gets_the_connection_when_it_is_released(self):
        a = RawConnection(self.port, timeout=CLIENT_TIMEOUT)
        b = RawConnection(self.port, timeout=CLIENT_TIMEOUT)
        waits = int(self.info()["transaction_waits"])
        self.assertEqual(a.command("WATCH", A[0]), b"OK")  # takes the only connection
        # b's WATCH waits; the GET pipelined behind it must not overtake it.
        b.send_command("WATCH", A[1])
        b.send_command("GET", A[2])
        with self.assertRaises(Exception):
            b.read_reply(timeout=0.2)
        self.assertTrue(wait_until(lambda: int(self.info()["transaction_waits"]) == waits + 1, 5))
        self.assertEqual(a.command("MULTI"), b"OK")
        self.assertEqual(a.command("SET", A[0], "1"), b"QUEUED")
        self.assertEqual(a.command("EXEC"), [b"OK"])  # releases the connection: b goes on
        self.assertEqual(b.read_parsed(), b"OK")
        self.assertIsNone(b.read_parsed())  # the GET, after the WATCH
        self.assertEqual(b.command("MULTI"), b"OK")
        self.assertEqual(b.command("INCR", A[1]), b"QUEUED")
        self.assertEqual(b.command("EXEC"), [1])
        self.assertEqual(self.r.get(A[0]), "1")
        a.close()
        b.close()

    def test_waiters_are_served_in_arrival_order(self):
        holder = RawConnection(self.port, timeout=CLIENT_TIMEOUT)
        self.assertEqual(holder.command("WATCH", A[0]), b"OK")
        waiters = [RawConnection(self.port, timeout=CLIENT_TIMEOUT) for _ in range(3)]
        for w in waiters:
            base = int(self.info()["transaction_waits"])
            w.send_command("WATCH", A[1])
            # queued before the next one arrives
            self.assertTrue(wait_until(lambda: int(self.info()["transaction_waits"]) == base + 1, 5))
        self.assertEqual(holder.command("UNWATCH"), b"OK")
        for w in waiters:  # each in turn: WATCH answered, then UNWATCH passes the connection on
            self.assertEqual(w.read_parsed(timeout=CLIENT_TIMEOUT), b"OK")
            self.assertEqual(w.command("UNWATCH"), b"OK")
        for w in waiters + [holder]:
            w.close()

    def test_no_connection_within_the_timeout_is_a_clear_error(self):
        a = RawConnection(self.port, timeout=CLIENT_TIMEOUT)
        b = RawConnection(self.port, timeout=CLIENT_TIMEOUT)
        timeouts = int(self.info()["transaction_wait_timeouts"])
        self.assertEqual(a.command("WATCH", A[0]), b"OK")
        t0 = time.monotonic()
        reply = b.command("WATCH", A[1])
        waited = time.monotonic() - t0
        self.assertIsInstance(reply, RespError)
        self.assertIn("no transaction connection to backend", reply.message)
        self.assertIn("tx_connections", reply.message)
        self.assertGreater(waited, 2.5)  # it waited for the 3 s timeout, not failed at once
        self.assertEqual(int(self.info()["transaction_wait_timeouts"]), timeouts + 1)
        self.assertEqual(b.command("PING"), b"PONG")  # the client goes on
        self.assertEqual(a.command("UNWATCH"), b"OK")
        self.assertEqual(b.command("WATCH", A[1]), b"OK")  # free now: at once
        self.assertEqual(b.command("UNWATCH"), b"OK")
        a.close()
        b.close()

    def test_a_waiting_client_that_disconnects_is_skipped(self):
        a = RawConnection(self.port, timeout=CLIENT_TIMEOUT)
        gone = RawConnection(self.port, timeout=CLIENT_TIMEOUT)
        c = RawConnection(self.port, timeout=CLIENT_TIMEOUT)
        self.assertEqual(a.command("WATCH", A[0]), b"OK")
        gone.send_command("WATCH", A[1])
        time.sleep(0.1)
        c.send_command("WATCH", A[2])
        time.sleep(0.1)
        gone.close()
        time.sleep(0.1)
        self.assertEqual(a.command("UNWATCH"), b"OK")
        self.assertEqual(c.read_parsed(timeout=CLIENT_TIMEOUT), b"OK")
        self.assertEqual(c.command("UNWATCH"), b"OK")
        a.close()
        c.close()


if __name__ == "__main__":
    unittest.main()
