"""Scripts through lfdb-gateway. The sandbox holds there too: no script can spy on the next one,
whichever client sent it. And the scripts of a client that has gone do not run one after another
on its shard for nobody: the gateway's ScriptReaper sends the shard SCRIPT KILL for each of them
still in flight; a back-end connection the gateway closed (its timeout) leaves them to
lfdb-server, which stops a busy script whose client has hung up and runs no more of its
scripts."""

import socket
import time
import unittest

import redis

from gateway_testlib import GATEWAY_ARGS, GatewayTestCase, backend_is_redis, keys_for_shard
from lfdb_testlib import HOST, RawConnection, RespError, encode_command
from test_scripting import READONLY, script_error

LOOP = "while true do end"


def bound_forwarding():
    return "bound" in GATEWAY_ARGS


class Sandbox(GatewayTestCase):
    def test_a_script_cannot_spy_on_the_next(self):
        spy = "redis.call = function(...) return 'spied' end"
        conns = [self.raw() for _ in range(4)]
        for _ in range(3):
            for c in conns:
                self.assertEqual(c.command("EVAL", spy, "1", "{a}k"),
                                 RespError(script_error(READONLY, spy)))
                script = "getmetatable('').__index.upper = function() return 'PWNED' end"
                self.assertEqual(c.command("EVAL", script, "1", "{b}k"),
                                 RespError(script_error(READONLY, script)))
        for c in conns:
            for key in ("{a}k", "{b}k"):  # one of each shard's Lua states at least
                self.assertEqual(c.command("EVAL", "return {redis.call('SET', KEYS[1], 'v'), "
                                           "('x'):upper()}", "1", key), [b"OK", b"X"])


def leave_scripts_behind(port, key, scripts):
    """A client that pipelines `scripts` looping scripts on `key`'s shard, then a SET of
    {key}done, and goes away without reading a reply."""
    s = socket.create_connection((HOST, port))
    s.sendall(b"".join(encode_command("EVAL", LOOP, "1", "{%s}a" % key) for _ in range(scripts))
              + encode_command("SET", "{%s}done" % key, "1"))
    time.sleep(0.2)  # forwarded before the client goes
    s.close()


def wait_done(test, r, key, timeout=90):
    """Until the gone client's last command has run: every script before it was stopped. A
    read may fail meanwhile (the shard is busy; the gateway's timeout)."""
    deadline = time.monotonic() + timeout
    while True:
        test.assertLess(time.monotonic(), deadline, "the gone client's scripts kept running")
        try:
            if r.get("{%s}done" % key) == "1":
                return
        except redis.exceptions.RedisError:
            pass
        time.sleep(0.1)


class GoneClientScripts(GatewayTestCase):
    """The shared back-end connection stays up (a long gateway timeout): the reaper stops the
    scripts, on redis-server and lfdb-server alike."""

    gateway_options = {"timeout_ms": 60000}

    def test_scripts_of_a_client_that_left_are_stopped(self):
        for i in range(len(self.servers)):
            self.direct(i).config_set("busy-reply-threshold", 300)
        key = keys_for_shard(0, len(self.servers), 1, prefix="left")[0]
        leave_scripts_behind(self.port, key, 3)
        wait_done(self, self.client(socket_timeout=70), key)
        with RawConnection(self.servers[0].port, timeout=30) as c:
            self.assertEqual(c.command("SCRIPT", "KILL"),
                             RespError("NOTBUSY No scripts in execution right now."))


@unittest.skipIf(backend_is_redis(), "redis-server runs on a script whose client has gone")
@unittest.skipIf(bound_forwarding(), "a late request fails alone and does not close its shared "
                 "back-end connection (per-request deadlines): the reaper stops the scripts")
class GoneClientScriptsAfterTimeout(GatewayTestCase):
    """The gateway's timeout closes the shared back-end connection (its replies were failed):
    lfdb-server stops the busy script of the closed connection and runs no more of its scripts."""

    gateway_options = {"timeout_ms": 1000}

    def test_scripts_of_a_connection_the_gateway_closed_are_stopped(self):
        for i in range(len(self.servers)):
            self.direct(i).config_set("busy-reply-threshold", 2000)
        key = keys_for_shard(0, len(self.servers), 1, prefix="late")[0]
        leave_scripts_behind(self.port, key, 3)
        wait_done(self, self.client(), key)
        with RawConnection(self.servers[0].port, timeout=30) as c:
            self.assertEqual(c.command("SCRIPT", "KILL"),
                             RespError("NOTBUSY No scripts in execution right now."))


if __name__ == "__main__":
    unittest.main()
