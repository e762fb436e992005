"""ObjectStore's reader/writer split at the gateway: writes go to a shard's primary, reads by the
read policy. The "replica" here is an independent server (no replication), so where a read went
shows in its answer."""

import signal
import tempfile
import unittest

from gateway_testlib import (GATEWAY, HOST, Backend, Gateway, GatewayTestCase, RawConnection,
                             keys_for_shard)
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


class MigrateRouteTest(GatewayTestCase):
    """MIGRATE through the gateway (a dangerous command: allowed here) goes where its keys are:
    the key argument's shard, or the KEYS form's when they share one; keys of two shards are
    Redis Cluster's CROSSSLOT. The target is back-end 1 itself, database 7."""

    gateway_options = {"timeout_ms": 2000, "allow_dangerous": True}

    def test_migrate_goes_to_the_keys_shard_or_is_crossslot(self):
        a = keys_for_shard(0, 2, 3, "m")
        b = keys_for_shard(1, 2, 1, "m")
        one, a = a[2], a[:2]
        for k in a + b + [one]:
            self.r.set(k, "v-" + k)
        target = self.servers[1].port
        moved = redis.Redis(host=HOST, port=target, db=7, decode_responses=True, socket_timeout=10)
        self.addCleanup(moved.close)
        moved.flushdb()
        self.assertEqual(self.r.execute_command("MIGRATE", HOST, target, "", 7, 5000, "KEYS", *a), "OK")
        self.assertEqual(sorted(moved.keys()), sorted(a))
        self.assertEqual(self.direct(0).exists(*a), 0)
        # (a key of shard 1 would be migrated by back-end 1 to itself: it would wait out the timeout)
        self.assertEqual(self.r.execute_command("MIGRATE", HOST, target, one, 7, 5000, "COPY"), "OK")
        self.assertEqual(moved.get(one), "v-" + one)
        self.assertEqual(self.direct(0).get(one), "v-" + one)
        self.r.set(a[0], "again")
        with self.assertRaises(redis.ResponseError) as e:
            self.r.execute_command("MIGRATE", HOST, target, "", 7, 5000, "KEYS", a[0], b[0])
        self.assertTrue(str(e.exception).startswith("CROSSSLOT"), str(e.exception))
        self.assertEqual(self.r.get(a[0]), "again")


if __name__ == "__main__":
    unittest.main()
