"""Real applications' clients from npm against redis-server and lfdb-server, side by side.

ioredis 5, node-redis 4 and BullMQ 5 (tests/clients/node; installed into the build tree by
scripts/node-clients.sh, the ctest fixture node_clients.install) run the same scenarios against
both servers. Each scenario prints one JSON line (tests/clients/node/harness.js); a scenario
must pass against redis-server, which makes the comparison fair, and lfdb-server must print the
same line.

Environment: LFDB_NODE_MODULES, the node_modules directory (ctest sets it; by hand it defaults
to build/node-clients/node_modules of this checkout, skipped when absent).
"""

import json
import os
import subprocess
import unittest

from lfdb_testlib import (MATRIX_COPY, SANITIZED, SERVER, SERVER_ARGS, ServerProcess,
                          SideBySideTestCase, is_lfdb, lfdb_arg)

HERE = os.path.dirname(os.path.abspath(__file__))
CLIENTS = os.path.join(HERE, "..", "clients", "node")
NODE_MODULES = os.environ.get("LFDB_NODE_MODULES") or os.path.join(
    HERE, "..", "..", "build", "node-clients", "node_modules")
# Sanitized servers run several times slower: the scripts scale every wait by it.
SLOWDOWN = 5 if SANITIZED else 1
RUN_TIMEOUT = 120 * SLOWDOWN


def run_node(script, port, *scenarios):
    """Runs tests/clients/node/<script> against a server: {scenario: line}, stderr."""
    env = dict(os.environ, NODE_PATH=os.path.abspath(NODE_MODULES), LFDB_SLOWDOWN=str(SLOWDOWN))
    proc = subprocess.run(["node", os.path.join(CLIENTS, script), str(port), *scenarios],
                          capture_output=True, text=True, timeout=RUN_TIMEOUT, env=env,
                          stdin=subprocess.DEVNULL)
    lines = {}
    for raw in proc.stdout.splitlines():
        line = json.loads(raw)
        lines[line["scenario"]] = line
    return lines, proc.stderr


def needs_node_clients():
    if not os.path.isdir(NODE_MODULES):
        if os.environ.get("LFDB_NODE_MODULES"):
            raise AssertionError("LFDB_NODE_MODULES=%s does not exist (did node_clients.install run?)"
                                 % NODE_MODULES)
        raise unittest.SkipTest("npm clients not installed: bash scripts/node-clients.sh "
                                "tests/clients/node build/node-clients")


class NodeClientCase(SideBySideTestCase):
    script = None
    scenarios = ()

    @classmethod
    def setUpClass(cls):
        needs_node_clients()
        super().setUpClass()

    def compare(self, lfdb_server):
        """Every scenario passes against redis-server and prints the same line against lfdb_server."""
        redis_lines, redis_err = run_node(self.script, self.peer.port)
        lfdb_lines, lfdb_err = run_node(self.script, lfdb_server.port)
        self.assertEqual(sorted(redis_lines), sorted(self.scenarios), redis_err)
        for name in self.scenarios:
            with self.subTest(scenario=name):
                if not MATRIX_COPY:
                    self.assertTrue(redis_lines[name]["ok"], redis_lines[name].get("error"))
                self.assertIn(name, lfdb_lines, lfdb_err)
                self.assertEqual(lfdb_lines[name], redis_lines[name])


class IoredisTest(NodeClientCase):
    script = "ioredis.js"
    scenarios = ("types", "pipeline", "multi", "watch", "scripts", "scanStream", "pubsub",
                 "blocking", "errors", "reconnect", "streams", "introspection", "misc", "select")

    def test_side_by_side(self):
        self.compare(self.lfdb)


class NodeRedisTest(NodeClientCase):
    script = "node_redis.js"
    scenarios = ("types", "pipelining", "transactions", "blocking", "pubsub", "scripts",
                 "scanIterator", "reconnect", "select")

    def test_side_by_side(self):
        self.compare(self.lfdb)


def with_data(args, data):
    """args with lfdb-server's --data set to data."""
    out, i = [], 0
    while i < len(args):
        if args[i] == "--data" and i + 1 < len(args):
            i += 2
            continue
        out.append(args[i])
        i += 1
    return out + ["--data", data]


class LfdbServer(ServerProcess):
    """lfdb-server with arguments of the test's own (the suite's SERVER_ARGS otherwise)."""

    def __init__(self, args):
        super().__init__()
        self.args = args

    def command(self, port):
        return [SERVER, "--port", str(port), "--bind", "127.0.0.1"] + self.args


BULLMQ_SCENARIOS = ("inOrder", "retries", "delayed", "priorities", "pausedAndCounts",
                    "repeatable", "queueEvents", "flowsAndWorkers", "rateLimited", "obliterate")


class BullmqTest(NodeClientCase):
    """BullMQ's scripts write and then reach a job's hash named by the prefix and id they are given
    (ARGV), keys they do not declare. lfdb-server's default, --data colors, runs a script it has
    not learnt yet alone, so their first calls answer as redis-server's (docs/server.md, scripts)."""
    script = "bullmq.js"
    scenarios = BULLMQ_SCENARIOS

    def test_side_by_side_data_colors(self):
        if not is_lfdb() or lfdb_arg("data", "colors") == "colors":
            self.compare(self.lfdb)
            return
        server = LfdbServer(with_data(SERVER_ARGS, "colors")).start()
        try:
            self.compare(server)
        finally:
            server.stop()


if __name__ == "__main__":
    unittest.main()
