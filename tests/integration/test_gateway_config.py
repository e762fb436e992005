"""lfdb-gateway's configuration: a twemproxy (nutcracker) config accepted as it is, clear
errors (not crashes) for bad files and flags, and protected mode."""

import os
import signal
import tempfile
import unittest

from gateway_testlib import (GATEWAY, HOST, Backend, Gateway, GatewayTestCase, RawConnection,
                             run_gateway)
from test_access import DENIED, NOAUTH, burst, interface_address


@unittest.skipUnless(GATEWAY, "LFDB_GATEWAY is not set")
class TwemproxyConfigTest(unittest.TestCase):

    def test_nutcracker_pool_works_as_is(self):
        d = tempfile.mkdtemp(prefix="lfdb-gw-twem-")
        b0, b1 = Backend(0, d).start(), Backend(1, d).start()
        text = """alpha:
  listen: 127.0.0.1:22121
  hash: fnv1a_64
  hash_tag: "{}"
  distribution: ketama
  auto_eject_hosts: true
  redis: true
  timeout: 400
  server_retry_timeout: 2000
  server_failure_limit: 1
  servers:
   - 127.0.0.1:%d:1
   - 127.0.0.1:%d:1 second
""" % (b0.port, b1.port)
        gw = Gateway(d, text).start()  # --port overrides the listen port of the file
        try:
            c = RawConnection(gw.port)
            for i in range(50):
                self.assertEqual(c.command("SET", "tw:%d" % i, str(i)), b"OK")
            self.assertEqual(c.command("GET", "tw:7"), b"7")
            self.assertEqual(c.command("DBSIZE"), 50)
            info = c.command("INFO").decode()
            self.assertIn("config_source:twemproxy", info)
            self.assertIn("timeout_ms:400", info)
            c.close()
            log = gw.log()
            self.assertIn("warning", log)
            self.assertIn("alpha.hash", log)
        finally:
            gw.kill(signal.SIGTERM)
            b0.kill(signal.SIGTERM)
            b1.kill(signal.SIGTERM)


@unittest.skipUnless(GATEWAY, "LFDB_GATEWAY is not set")
class ConfigErrorTest(unittest.TestCase):

    def write(self, text):
        fd, path = tempfile.mkstemp(suffix=".yml")
        with os.fdopen(fd, "w") as f:
            f.write(text)
        self.addCleanup(os.unlink, path)
        return path

    def assertRefused(self, args, expect):
        rc, out = run_gateway(args)
        self.assertEqual(rc, 1, out)
        self.assertIn(expect, out)
        self.assertNotIn("Segmentation", out)

    def test_bad_files(self):
        self.assertRefused(["--config", self.write("shards: ['127.0.0.1:1']\nbogus_key: 1\n")],
                           "bogus_key: unknown key")
        self.assertRefused(["--config", self.write("shards: ['127.0.0.1:1']\nread_policy: sometimes\n")],
                           "read_policy: expected primary, round-robin or least-outstanding")
        self.assertRefused(["--config", self.write("shards: [\n")], "YAML")
        self.assertRefused(["--config", self.write("pool:\n  servers: ['127.0.0.1:1:1']\n")],
                           "not a redis pool")
        self.assertRefused(["--config", "/nonexistent.yml"], "cannot read config file '/nonexistent.yml'")

    def test_bad_flags(self):
        self.assertRefused(["--shards", "127.0.0.1:1", "--bogus"], "bogus")
        self.assertRefused(["--shards", "127.0.0.1:1", "--threads", "zero"], "threads")
        self.assertRefused(["--shards", "127.0.0.1:1", "--forwarding", "psychic"],
                           "--forwarding: expected async or bound")
        self.assertRefused([], "no back-ends")

    def test_help(self):
        rc, out = run_gateway(["--help"])
        self.assertEqual(rc, 0)
        self.assertIn("--config", out)
        self.assertIn("--forwarding", out)

    def test_port_in_use(self):
        import socket
        s = socket.socket()
        s.bind((HOST, 0))
        s.listen(1)
        try:
            self.assertRefused(["--shards", "127.0.0.1:1", "--port", str(s.getsockname()[1])],
                               "cannot start")
        finally:
            s.close()


if __name__ == "__main__":
    unittest.main()

class ProtectedModeTest(GatewayTestCase):
    """Listening on every address with no requirepass: as lfdb-server and redis-server
    (test_access.py), only clients from 127.0.0.1 are served; others get Redis's DENIED line,
    unasked, and are closed."""

    backends = 1
    gateway_args = ("--bind", "0.0.0.0")

    def test_only_127_0_0_1_is_served(self):
        self.assertEqual(burst(self.port, b"PING\r\n", wait=0.5), (b"+PONG\r\n", False))
        self.assertEqual(burst(self.port, b"", source="127.0.0.2"), (DENIED, True))
        addr = interface_address()
        if addr is not None:
            self.assertEqual(burst(self.port, b"", source=addr, dest=addr), (DENIED, True))
        self.assertGreaterEqual(int(self.info()["rejected_connections"]), 1)


class ProtectedModeOffInTheFileTest(GatewayTestCase):
    backends = 1
    gateway_options = {"protected_mode": False, "timeout_ms": 2000}
    gateway_args = ("--bind", "0.0.0.0")

    def test_everyone_is_served(self):
        self.assertEqual(burst(self.port, b"PING\r\n", source="127.0.0.2", wait=0.5),
                         (b"+PONG\r\n", False))


class ProtectedModeOffByFlagTest(ProtectedModeOffInTheFileTest):
    gateway_options = {"timeout_ms": 2000}
    gateway_args = ("--bind", "0.0.0.0", "--protected-mode", "no")


class ProtectedModeWithPasswordTest(GatewayTestCase):
    backends = 1
    gateway_options = {"requirepass": "s3cret", "timeout_ms": 2000}
    gateway_args = ("--bind", "0.0.0.0")

    def setUp(self):  # the base class's client would need the password
        pass

    def test_a_password_lifts_it(self):
        self.assertEqual(burst(self.port, b"PING\r\n", source="127.0.0.2", wait=0.5), (NOAUTH, False))
