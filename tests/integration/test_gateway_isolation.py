"""lfdb-gateway: one client cannot hurt the others, and a client gets what it asked for.

- A client that sends its requests and half-closes (shutdown(SHUT_WR)) gets every reply, as from
  the back-end itself.

Timeouts here are upper bounds for liveness (this machine is shared and loaded), never claims
about how fast the fast path is."""

import socket
import time
import unittest

from gateway_testlib import HOST, GatewayTestCase, keys_for_shard
from lfdb_testlib import encode_command

A = keys_for_shard(0, 2, 40, "a")  # keys of shard 0
B = keys_for_shard(1, 2, 40, "b")  # keys of shard 1
LIVENESS = 60  # seconds: a client waiting this long means something hangs


def wait_until(pred, timeout=LIVENESS, step=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(step)
    return pred()


def read_until_eof(sock, timeout=LIVENESS):
    """Everything the peer sends until it closes (or resets) the connection."""
    sock.settimeout(timeout)
    data = b""
    while True:
        try:
            chunk = sock.recv(1 << 20)
        except ConnectionResetError:
            break
        if not chunk:
            break
        data += chunk
    return data


def half_close_exchange(port, payload):
    """Sends `payload`, shuts the write side down, returns every byte until the peer closes."""
    s = socket.create_connection((HOST, port))
    try:
        s.sendall(payload)
        s.shutdown(socket.SHUT_WR)
        return read_until_eof(s)
    finally:
        s.close()


def rss_bytes(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def backend_fields(info, i):
    return dict(kv.split("=") for kv in info["backend%d" % i].split(","))


class HalfCloseTest(GatewayTestCase):
    """shutdown(SHUT_WR) ends the client's requests, not its interest in the replies."""

    def test_every_reply_after_shutdown_wr(self):
        # The probe: 100 SETs, then the write side shut. The back-end answers all 100.
        payload = b"".join(b"SET hc%d x\r\n" % i for i in range(100))
        self.assertEqual(half_close_exchange(self.servers[0].port, payload).count(b"+OK"), 100)
        self.assertEqual(half_close_exchange(self.port, payload).count(b"+OK"), 100)

    def test_same_bytes_as_the_back_end(self):
        # A transaction and reads of shard 0 only, so the back-end alone can answer it too.
        cmds = [("SET", A[0], "1"), ("MULTI",), ("INCR", A[0]), ("GET", A[0]), ("EXEC",),
                ("GET", A[1]), ("PING",)]
        payload = b"".join(encode_command(*c) for c in cmds)
        direct = half_close_exchange(self.servers[0].port, payload)
        self.direct(0).flushall()
        through = half_close_exchange(self.port, payload)
        self.assertEqual(through, direct)
        self.assertTrue(through.endswith(b"*2\r\n:2\r\n$1\r\n2\r\n$-1\r\n+PONG\r\n"), through)

    def test_pipeline_longer_than_the_window_then_shutdown(self):
        # More commands than max_pipeline, over both shards: the gateway stops reading at the
        # window, and what it had not read when the client's FIN came is still run and answered.
        n = 5000
        payload = b"".join(encode_command("SET", "hcp%d" % i, "v%d" % i) for i in range(n))
        data = half_close_exchange(self.port, payload)
        self.assertEqual(data.count(b"+OK"), n)
        values = self.r.mget(["hcp%d" % i for i in range(0, n, 97)])
        self.assertEqual(values, ["v%d" % i for i in range(0, n, 97)])


if __name__ == "__main__":
    unittest.main()
