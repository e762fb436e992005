"""lfdb-gateway holding 10,000 client connections at once over a few upstream connections.

The gateway is started with a low open-files limit (1024) so the test shows it raises its own
limit to fit max_clients. Every client connection runs a command, all of them stay open, then
every one runs a second command that reads back what the first wrote: 10,000 live sessions at
the same time. Meanwhile the gateway's INFO shows at most `connections_per_backend` upstream
connections per back-end, and the back-ends' own INFO clients and CLIENT LIST agree.

Also measures the gateway's memory per idle client connection (VmRSS growth / N), printed for
the report (docs/gateway.md) and checked against a generous bound: a per-client buffer of tens
of kilobytes kept while idle would fail it.

LFDB_GATEWAY_SCALE_N overrides N (default 10000).
"""

import os
import resource
import selectors
import signal
import socket
import sys
import time
import unittest

from gateway_testlib import (HOST, Backend, Gateway, GatewayTestCase, keys_for_shard,
                             lfdb_config)
from lfdb_testlib import encode_command, parse_reply, _reply_end

N = int(os.environ.get("LFDB_GATEWAY_SCALE_N", "10000"))
UPSTREAM_PER_BACKEND = 2
GATEWAY_START_NOFILE = 1024  # the gateway must raise this itself
MAX_IDLE_BYTES_PER_CLIENT = 16 * 1024
MAX_BOUND_NESTING = 8  # ClientConn::kMaxBoundDepth


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS for pid %d" % pid)


def open_files_limit(pid):
    with open("/proc/%d/limits" % pid) as f:
        for line in f:
            if line.startswith("Max open files"):
                return int(line.split()[3])
    raise AssertionError("no open-files limit for pid %d" % pid)


def info_fields(text):
    out = {}
    for line in text.splitlines():
        if ":" in line and not line.startswith("#"):
            k, v = line.split(":", 1)
            out[k] = v
    return out


def low_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(GATEWAY_START_NOFILE, hard), hard))


class ManyClients:
    """N raw client sockets driven together: every one sends, then every reply is collected."""

    def __init__(self, port, n):
        self.socks = []
        self.bufs = []
        for _ in range(n):
            s = socket.create_connection((HOST, port), timeout=30)
            s.setblocking(False)
            self.socks.append(s)
            self.bufs.append(b"")

    def round(self, commands, timeout=120.0):
        """Sends commands[i] on socket i (all of them first), then returns one parsed reply each."""
        for s, c in zip(self.socks, commands):
            data = encode_command(*c)
            while data:
                try:
                    data = data[s.send(data):]
                except BlockingIOError:
                    time.sleep(0.001)
        replies = [None] * len(self.socks)
        left = len(self.socks)
        sel = selectors.DefaultSelector()
        for i, s in enumerate(self.socks):
            sel.register(s, selectors.EVENT_READ, i)
        deadline = time.monotonic() + timeout
        try:
            while left > 0:
                if time.monotonic() > deadline:
                    raise AssertionError("%d of %d clients got no reply" % (left, len(self.socks)))
                for key, _ in sel.select(1.0):
                    i = key.data
                    chunk = self.socks[i].recv(65536)
                    if not chunk:
                        raise AssertionError("client %d: the gateway closed the connection" % i)
                    self.bufs[i] += chunk
                    end = _reply_end(self.bufs[i], 0)
                    if end is not None:
                        replies[i] = parse_reply(self.bufs[i][:end])
                        self.bufs[i] = self.bufs[i][end:]
                        sel.unregister(self.socks[i])
                        left -= 1
        finally:
            sel.close()
        return replies

    def close(self):
        for s in self.socks:
            s.close()


class TenThousandClientsTest(GatewayTestCase):
    gateway_options = {"timeout_ms": 5000, "connections_per_backend": UPSTREAM_PER_BACKEND,
                       "limits": "{max_clients: %d}" % (N + 100)}

    @classmethod
    def setUpClass(cls):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        need = N + 1000
        if hard < need:
            raise unittest.SkipTest("RLIMIT_NOFILE hard limit %d is below %d" % (hard, need))
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, need), hard))
        # The gateway starts with a low limit (see Gateway.spawn's preexec) and must raise it.
        cls._saved_preexec = Gateway.preexec
        Gateway.preexec = staticmethod(low_nofile)
        try:
            super().setUpClass()
        finally:
            Gateway.preexec = cls._saved_preexec

    def backend_clients(self, i):
        """(INFO connected_clients, CLIENT LIST entries, the gateway's among them) of back-end i.
        The gateway's are those that ran the test's GET/SET; the others are the harness's own."""
        d = self.direct(i)
        connected = int(d.info("clients")["connected_clients"])
        listed = d.client_list()
        gateway = [c for c in listed if c.get("cmd") in ("get", "set")]
        return connected, len(listed), len(gateway)

    def test_ten_thousand_clients_share_few_upstream_connections(self):
        pid = self.gateway.proc.pid
        self.assertGreaterEqual(open_files_limit(pid), N + 100,
                                "the gateway did not raise its open-files limit for max_clients")
        keys = keys_for_shard(0, 2, N // 2, "s0-") + keys_for_shard(1, 2, N - N // 2, "s1-")
        time.sleep(0.3)
        rss_before = rss_kb(pid)

        clients = ManyClients(self.port, N)
        try:
            replies = clients.round([("SET", keys[i], "v%d" % i) for i in range(N)])
            bad = [(i, r) for i, r in enumerate(replies) if r != b"OK"]
            self.assertEqual(bad[:5], [], "%d SETs failed" % len(bad))
            # Every session still open: each reads back its own write.
            replies = clients.round([("GET", keys[i]) for i in range(N)])
            bad = [(i, r) for i, r in enumerate(replies) if r != b"v%d" % i]
            self.assertEqual(bad[:5], [], "%d GETs wrong" % len(bad))

            time.sleep(0.5)  # idle: whatever a client's command left behind has been released
            rss_after = rss_kb(pid)
            per_client = (rss_after - rss_before) * 1024.0 / N
            sys.stderr.write("\n%d idle clients through lfdb-gateway (%s): VmRSS %d kB -> %d kB, "
                             "%.0f bytes per client connection\n"
                             % (N, " ".join(self.gateway.extra_args + list(os.environ.get(
                                 "LFDB_GATEWAY_ARGS", "").split())) or "defaults",
                                rss_before, rss_after, per_client))

            info = self.info()
            self.assertEqual(int(info["connected_clients"]), N + 1)  # + the INFO connection
            self.assertEqual(int(info["rejected_connections"]), 0)
            self.assertEqual(int(info["connections_per_backend"]), UPSTREAM_PER_BACKEND)
            for i in range(2):
                line = dict(kv.split("=", 1) for kv in info["backend%d" % i].split(","))
                self.assertEqual(line["state"], "up")
                self.assertGreaterEqual(int(line["requests"]), N // 2 * 2)  # a SET and a GET each
                self.assertGreaterEqual(int(line["connections"]), 1)
                self.assertLessEqual(int(line["connections"]), UPSTREAM_PER_BACKEND)
                # The back-end agrees: the gateway's few connections carried all 10,000 clients.
                connected, listed, from_gateway = self.backend_clients(i)
                self.assertEqual(connected, listed)
                self.assertEqual(from_gateway, int(line["connections"]), line)
            self.assertLess(per_client, MAX_IDLE_BYTES_PER_CLIENT)
            if info["forwarding"] == "bound":
                # 10,000 clients at once nest dispatches on the waiting threads' stacks: the
                # nesting stays bounded (deeper batches are forwarded without waiting).
                self.assertLessEqual(int(info["bound_max_nesting"]), MAX_BOUND_NESTING + 1)
        finally:
            clients.close()
        # All gone again: the gateway notices every close (one connection asks, so it is the
        # only client left).
        c = self.raw()

        def clients_now():
            return int(info_fields(c.command("INFO").decode())["connected_clients"])
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and clients_now() > 1:
            time.sleep(0.1)
        self.assertEqual(clients_now(), 1)


if __name__ == "__main__":
    unittest.main()
