"""ObjectStore's reader/writer split at the gateway: writes go to a shard's primary, reads by the
read policy. The "replica" here is an independent server (no replication), so where a read went
shows in its answer."""

import signal
import tempfile
import unittest

from gateway_testlib import GATEWAY, HOST, Backend, Gateway, RawConnection
import redis


def config(primary, replica, policy):
    return ("read_policy: %s\ntimeout_ms: 2000\nshards:\n  - primary: %s:%d\n    replicas: [%s:%d]\n"
            % (policy, HOST, primary, HOST, replica))


@unittest.skipUnless(GATEWAY, "LFDB_GATEWAY is not set")
class ReadPolicyTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="lfdb-gw-policy-")
        cls.primary = Backend(0, cls.dir).start()
        cls.replica = Backend(1, cls.dir).start()
        redis.Redis(host=HOST, port=cls.replica.port).set("k", "from-replica")

    @classmethod
    def tearDownClass(cls):
        cls.primary.kill(signal.SIGTERM)
        cls.replica.kill(signal.SIGTERM)

    def gateway(self, policy):
        gw = Gateway(self.dir, config(self.primary.port, self.replica.port, policy)).start()
        self.addCleanup(gw.kill, signal.SIGTERM)
        c = RawConnection(gw.port)
        self.addCleanup(c.close)
        return c

    def test_primary_policy_reads_and_writes_the_primary(self):
        c = self.gateway("primary")
        self.assertEqual(c.command("SET", "k", "from-primary"), b"OK")
        for _ in range(4):
            self.assertEqual(c.command("GET", "k"), b"from-primary")

    def test_round_robin_reads_the_replica_writes_the_primary(self):
        c = self.gateway("round-robin")
        self.assertEqual(c.command("SET", "k2", "w"), b"OK")
        self.assertEqual(redis.Redis(host=HOST, port=self.primary.port).get("k2"), b"w")
        self.assertIsNone(redis.Redis(host=HOST, port=self.replica.port).get("k2"))
        for _ in range(4):
            self.assertEqual(c.command("GET", "k"), b"from-replica")
        info = c.command("INFO").decode()
        self.assertIn("role=replica", info)

    def test_least_outstanding_with_idle_back_ends_prefers_the_primary(self):
        c = self.gateway("least-outstanding")
        self.assertEqual(c.command("SET", "k", "from-primary"), b"OK")
        self.assertEqual(c.command("GET", "k"), b"from-primary")


if __name__ == "__main__":
    unittest.main()
