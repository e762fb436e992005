"""CLIENT PAUSE timeout [WRITE|ALL] and CLIENT UNPAUSE, and WAIT as a blocked client (INFO
blocked_clients, CLIENT UNBLOCK). Written against redis-server 7.0; run unchanged against
lfdb-server (under every --model and --data). A held client is a raw connection whose reply has
not come yet (expect_silence); the timeouts are generous upper bounds for liveness, never
timings."""

import time
import unittest

from lfdb_testlib import RespError, ServerTestCase, is_lfdb, lfdb_arg

WAIT = 10.0  # upper bound for a reply that must come (the machine is loaded)
LONG = "600000"  # a pause no test waits out: each ends it with CLIENT UNPAUSE


class PauseBase(ServerTestCase):
    def tearDown(self):
        # A failed test must not leave the next one paused (WRITE mode lets UNPAUSE through).
        self.r.execute_command("CLIENT", "UNPAUSE")
        super().tearDown()

    def sent(self, *args):
        """A new connection that has sent `args`."""
        c = self.raw(timeout=WAIT)
        c.send_command(*args)
        return c

    def held(self, *args, blocked=None):
        """A new connection whose command `args` is held (no reply; blocked_clients reaches
        `blocked` when given)."""
        c = self.sent(*args)
        if blocked is not None:
            self.wait_blocked(blocked)
        self.assertTrue(c.expect_silence(0.2), "%s was not held" % (args,))
        return c

    def blocked_clients(self):
        return int(self.r.info("clients")["blocked_clients"])

    def wait_blocked(self, n):
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            if self.blocked_clients() == n:
                return
            time.sleep(0.01)
        self.fail("blocked_clients never reached %d (it is %d)" % (n, self.blocked_clients()))

    def pause(self, *args):
        self.assertEqual(self.r.execute_command("CLIENT", "PAUSE", *args), "OK")

    def unpause(self):
        self.assertEqual(self.r.execute_command("CLIENT", "UNPAUSE"), "OK")


class ArgumentsTest(PauseBase):
    def test_errors(self):
        self.assertEqual(self.call("CLIENT", "PAUSE", "abc"),
                         RespError("ERR timeout is not an integer or out of range"))
        self.assertEqual(self.call("CLIENT", "PAUSE", "1.5"),
                         RespError("ERR timeout is not an integer or out of range"))
        self.assertEqual(self.call("CLIENT", "PAUSE", "-1"), RespError("ERR timeout is negative"))
        self.assertEqual(self.call("CLIENT", "PAUSE", "10", "foo"),
                         RespError("ERR CLIENT PAUSE mode must be WRITE or ALL"))
        self.assertEqual(self.call("CLIENT", "PAUSE"),
                         RespError("ERR wrong number of arguments for 'client|pause' command"))
        self.assertEqual(self.call("CLIENT", "UNPAUSE", "x"),
                         RespError("ERR wrong number of arguments for 'client|unpause' command"))
        self.assertEqual(self.call("CLIENT", "PAUSE", "10", "write", "x"), RespError(
            "ERR unknown subcommand or wrong number of arguments for 'PAUSE'. Try CLIENT HELP."))

    def test_zero_timeout_pauses_nothing(self):
        self.assertEqual(self.call("CLIENT", "PAUSE", "0", "ALL"), b"OK")
        self.assertEqual(self.call("SET", "k", "v"), b"OK")
        self.assertEqual(self.call("GET", "k"), b"v")


class WriteModeTest(PauseBase):
    def test_writes_held_reads_served(self):
        self.call("SET", "k", "old")
        self.pause(LONG, "WRITE")
        w = self.held("SET", "k", "new", blocked=1)
        # Reads, PING and INFO go on; the held client shows flags=b.
        self.assertEqual(self.call("GET", "k"), b"old")
        self.assertEqual(self.call("PING"), b"PONG")
        lines = [l for l in self.r.execute_command("CLIENT", "LIST").splitlines() if "flags=b" in l]
        self.assertEqual(len(lines), 1, lines)
        self.unpause()
        self.assertEqual(w.read_parsed(), b"OK")
        self.assertEqual(self.call("GET", "k"), b"new")
        self.assertEqual(self.blocked_clients(), 0)

    def test_may_replicate_commands_held(self):
        self.call("PFADD", "hll", "a")
        self.pause(LONG, "WRITE")
        pf = self.held("PFCOUNT", "hll", blocked=1)
        pub = self.held("PUBLISH", "ch", "m", blocked=2)
        ev = self.held("EVAL", "return 1", "0", blocked=3)
        ev2 = self.held("EVAL", "#!lua\nreturn 2", "0", blocked=4)
        self.unpause()
        self.assertEqual(pf.read_parsed(), 1)
        self.assertEqual(pub.read_parsed(), 0)
        self.assertEqual(ev.read_parsed(), 1)
        self.assertEqual(ev2.read_parsed(), 2)

    def test_read_only_scripts_run(self):
        self.call("SET", "x", "y")
        self.assertEqual(self.call("FUNCTION", "LOAD", "REPLACE",
                                   "#!lua name=plib\nredis.register_function{function_name='pf1', "
                                   "callback=function() return 'hello' end, flags={'no-writes'}}"),
                         b"plib")
        self.pause(LONG, "WRITE")
        c = self.client()
        self.assertEqual(c.eval("#!lua flags=no-writes\nreturn 'ro'", 0), "ro")
        self.assertEqual(c.execute_command("EVAL_RO", "return redis.call('get', KEYS[1])", 1, "x"), "y")
        sha = c.script_load("#!lua flags=no-writes\nreturn 3")
        self.assertEqual(c.evalsha(sha, 0), 3)
        self.assertEqual(c.execute_command("FCALL", "pf1", 0), "hello")
        self.assertEqual(self.blocked_clients(), 0)

    def test_read_only_scripts_refuse_publish(self):
        for cmd in (["EVAL_RO", "return redis.call('publish','ch','m')", "0"],
                    ["EVAL", "#!lua flags=no-writes\nreturn redis.call('publish','ch','m')", "0"]):
            reply = self.call(*cmd)
            self.assertIsInstance(reply, RespError)
            self.assertTrue(str(reply.args[0]).startswith(
                "ERR Write commands are not allowed from read-only scripts."), reply)

    def test_transactions(self):
        self.call("SET", "k", "v")
        self.pause(LONG, "WRITE")
        # A read-only transaction runs.
        c = self.raw(timeout=WAIT)
        self.assertEqual(c.command("MULTI"), b"OK")
        self.assertEqual(c.command("GET", "k"), b"QUEUED")
        self.assertEqual(c.command("EXEC"), [b"v"])
        # A writing one queued before the pause is held at EXEC.
        self.unpause()
        w = self.raw(timeout=WAIT)
        self.assertEqual(w.command("MULTI"), b"OK")
        self.assertEqual(w.command("SET", "k", "w"), b"QUEUED")
        self.pause(LONG, "WRITE")
        w.send_command("EXEC")
        self.wait_blocked(1)
        self.assertTrue(w.expect_silence(0.2))
        self.assertEqual(self.call("GET", "k"), b"v")
        self.unpause()
        self.assertEqual(w.read_parsed(), [b"OK"])
        self.assertEqual(self.call("GET", "k"), b"w")

    def test_pause_starts_at_the_end_of_a_transaction(self):
        self.assertEqual(self.call("MULTI"), b"OK")
        self.assertEqual(self.call("SET", "a", "1"), b"QUEUED")
        self.assertEqual(self.call("CLIENT", "PAUSE", LONG, "WRITE"), b"QUEUED")
        self.assertEqual(self.call("SET", "b", "2"), b"QUEUED")
        self.assertEqual(self.call("EXEC"), [b"OK", b"OK", b"OK"])
        w = self.held("SET", "c", "3", blocked=1)
        self.assertEqual(self.call("MGET", "a", "b", "c"), [b"1", b"2", None])
        self.unpause()
        self.assertEqual(w.read_parsed(), b"OK")

    def test_errors_answered_at_once(self):
        self.pause(LONG, "WRITE")
        self.assertEqual(self.call("SET", "k"),
                         RespError("ERR wrong number of arguments for 'set' command"))
        self.assertEqual(self.call("NOSUCHCOMMAND"), RespError(
            "ERR unknown command 'NOSUCHCOMMAND', with args beginning with: "))

    def test_released_in_arrival_order(self):
        if is_lfdb() and lfdb_arg("model") == "tpc":
            # Each connection has its thread there: the releasing thread wakes them in order, but
            # their commands run on their own threads (docs/blocking.md, "CLIENT PAUSE").
            self.skipTest("tpc: released clients run on their own threads")
        self.pause(LONG, "WRITE")
        conns = [self.held("RPUSH", "q", str(i), blocked=i + 1) for i in range(5)]
        self.unpause()
        for c in conns:
            self.assertIsInstance(c.read_parsed(), int)
        self.assertEqual(self.call("LRANGE", "q", "0", "-1"), [b"0", b"1", b"2", b"3", b"4"])

    def test_pipeline_behind_the_held_command_waits(self):
        self.pause(LONG, "WRITE")
        c = self.raw(timeout=WAIT)
        c.send(b"*1\r\n$4\r\nPING\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n")
        self.assertEqual(c.read_parsed(), b"PONG")
        self.wait_blocked(1)
        self.assertTrue(c.expect_silence(0.2))
        self.unpause()
        self.assertEqual(c.read_parsed(), b"OK")
        self.assertEqual(c.read_parsed(), b"v")

    def test_expiry_deletes_nothing_while_paused(self):
        before = int(self.r.info("stats")["expired_keys"])
        self.assertEqual(self.call("MULTI"), b"OK")
        self.call("SET", "e1", "x", "PX", "10")
        self.call("SET", "e2", "x", "PX", "10")
        self.call("CLIENT", "PAUSE", LONG, "WRITE")
        self.assertEqual(self.call("EXEC"), [b"OK", b"OK", b"OK"])
        time.sleep(0.3)  # past their deadline, and past several active expire cycles
        # Gone for readers, yet neither lazily nor actively erased.
        self.assertIsNone(self.call("GET", "e1"))
        self.assertEqual(self.call("EXISTS", "e1", "e2"), 0)
        self.assertEqual(int(self.r.info("stats")["expired_keys"]), before)
        self.assertEqual(self.call("DBSIZE"), 2)
        self.unpause()
        self.assertIsNone(self.call("GET", "e1"))
        self.assertIsNone(self.call("GET", "e2"))
        # Erased now: by the reads (Redis) or by the expire cycle UNPAUSE starts, whose sweeps
        # run on their colors' owners a moment later (lfdb): wait for them (liveness).
        deadline = time.monotonic() + 10
        while int(self.r.info("stats")["expired_keys"]) != before + 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertEqual(int(self.r.info("stats")["expired_keys"]), before + 2)

    def test_client_unblock_does_not_release(self):
        if not is_lfdb():
            self.skipTest("redis-server 7.0.15 aborts on CLIENT UNBLOCK of a paused client")
        self.pause(LONG, "WRITE")
        w = self.held("SET", "k", "v", blocked=1)
        ident = [l.split()[0][3:] for l in self.r.execute_command("CLIENT", "LIST").splitlines()
                 if "flags=b" in l][0]
        self.assertEqual(self.call("CLIENT", "UNBLOCK", ident), 0)
        self.assertTrue(w.expect_silence(0.2))
        self.unpause()
        self.assertEqual(w.read_parsed(), b"OK")

    def test_killed_while_held(self):
        self.pause(LONG, "WRITE")
        w = self.held("SET", "k", "v", blocked=1)
        ident = [l.split()[0][3:] for l in self.r.execute_command("CLIENT", "LIST").splitlines()
                 if "flags=b" in l][0]
        self.assertEqual(self.call("CLIENT", "KILL", "ID", ident), 1)
        self.assertTrue(w.is_closed(timeout=WAIT))
        self.wait_blocked(0)
        self.unpause()
        self.assertIsNone(self.call("GET", "k"))


class AllModeTest(PauseBase):
    # Under ALL every command is held, CLIENT UNPAUSE too (as in Redis): these pauses end by
    # their own end, and tearDown's UNPAUSE waits for it.
    def test_all_holds_reads_until_the_end(self):
        self.call("SET", "k", "v")
        self.pause("2000", "ALL")
        g = self.sent("GET", "k")
        u = self.sent("CLIENT", "UNPAUSE")
        self.assertTrue(g.expect_silence(0.2))
        self.assertTrue(u.expect_silence(0.01))
        # Released when the pause times out.
        self.assertEqual(g.read_parsed(timeout=WAIT), b"v")
        self.assertEqual(u.read_parsed(timeout=WAIT), b"OK")

    def test_later_pause_is_stricter_and_longer(self):
        self.call("SET", "k", "v")
        self.pause("2000", "WRITE")
        self.pause("1", "ALL")  # the stricter mode wins, the later end stays
        time.sleep(0.1)         # past the second pause's own end
        g = self.sent("GET", "k")
        self.assertTrue(g.expect_silence(0.2))
        self.assertEqual(g.read_parsed(timeout=WAIT), b"v")


class WaitTest(PauseBase):
    def test_wait_counts_as_blocked_and_unblocks(self):
        self.call("SET", "k", "v")
        w = self.raw(timeout=WAIT)
        ident = w.command("CLIENT", "ID")
        w.send_command("WAIT", "1", "0")
        self.wait_blocked(1)
        self.assertTrue(w.expect_silence(0.2))
        self.assertEqual(self.call("CLIENT", "UNBLOCK", str(ident)), 1)
        self.assertEqual(w.read_parsed(), 0)  # TIMEOUT: the count reached so far
        self.wait_blocked(0)
        w.send_command("WAIT", "1", "0")
        self.wait_blocked(1)
        self.assertEqual(self.call("CLIENT", "UNBLOCK", str(ident), "ERROR"), 1)
        self.assertEqual(w.read_parsed(), RespError("UNBLOCKED client unblocked via CLIENT UNBLOCK"))
        self.assertEqual(self.call("CLIENT", "UNBLOCK", str(ident)), 0)
        self.assertEqual(w.command("PING"), b"PONG")

    def test_wait_killed(self):
        w = self.raw(timeout=WAIT)
        ident = w.command("CLIENT", "ID")
        w.send_command("WAIT", "1", "0")
        self.wait_blocked(1)
        self.assertEqual(self.call("CLIENT", "KILL", "ID", str(ident)), 1)
        self.assertTrue(w.is_closed(timeout=WAIT))
        self.wait_blocked(0)


if __name__ == "__main__":
    unittest.main()


# Spins for ARGV[1] microseconds of server time, then writes KEYS[1]: a write that is running
# (on its own thread, in lfdb) when CLIENT PAUSE comes.
SLOW_WRITE = """
local t = redis.call('TIME')
local start = t[1] * 1000000 + t[2]
repeat
  local n = redis.call('TIME')
until n[1] * 1000000 + n[2] - start > tonumber(ARGV[1])
redis.call('SET', KEYS[1], 'slow')
return 1
"""


class DrainTest(PauseBase):
    """Once CLIENT PAUSE WRITE has answered, no write runs until the pause ends (failover relies
    on it): a write already running (or queued for its keys) when it came is over before the OK.
    What the writes did is read from INFO keyspace, which waits for no key."""

    def wait_for_command(self, name, cmd):
        """Until CLIENT LIST shows the connection named `name` with `cmd` as its command (lfdb:
        it is running or queued; redis-server answers once it has run)."""
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            for c in self.r.client_list():
                if c.get("name") == self.unique(name) and c.get("cmd") == cmd:
                    return
            time.sleep(0.01)
        self.fail("%s never showed cmd=%s" % (name, cmd))

    def named(self, name):
        """A new connection named `name`-<this test> (a connection of an earlier test may not be
        gone yet: its name must not match)."""
        c = self.raw(timeout=WAIT)
        self.assertEqual(c.command("CLIENT", "SETNAME", self.unique(name)), b"OK")
        return c

    def unique(self, name):
        return "%s-%s" % (name, self._testMethodName)

    def keys(self):
        return self.r.info("keyspace").get("db0", {}).get("keys", 0)

    def test_running_write_ends_before_ok(self):
        slow = self.named("slow")
        slow.send_command("EVAL", SLOW_WRITE, "1", "k", "1000000")
        self.wait_for_command("slow", "eval")
        self.pause(LONG, "WRITE")
        self.assertEqual(self.keys(), 1)  # the write ran before the OK
        self.assertEqual(slow.read_parsed(), 1)
        self.assertEqual(self.keys(), 1)
        self.assertEqual(self.call("GET", "k"), b"slow")

    def test_queued_write_ends_before_ok(self):
        # A write queued behind the running script (it waits for its key) is in flight too.
        slow = self.named("slow")
        slow.send_command("EVAL", SLOW_WRITE, "1", "k", "1000000")
        self.wait_for_command("slow", "eval")
        queued = self.named("queued")
        queued.send_command("MSET", "k", "queued", "k3", "v")
        self.wait_for_command("queued", "mset")
        self.pause(LONG, "WRITE")
        self.assertEqual(self.keys(), 2)
        self.assertEqual(slow.read_parsed(), 1)
        self.assertEqual(queued.read_parsed(), b"OK")
        self.assertEqual(self.keys(), 2)
        self.assertEqual(self.call("GET", "k"), b"queued")

    def test_running_transaction_ends_before_ok(self):
        slow = self.named("slow")
        self.assertEqual(slow.command("MULTI"), b"OK")
        self.assertEqual(slow.command("EVAL", SLOW_WRITE, "1", "k", "1000000"), b"QUEUED")
        self.assertEqual(slow.command("SET", "k2", "after"), b"QUEUED")
        slow.send_command("EXEC")
        self.wait_for_command("slow", "exec")
        self.pause(LONG, "WRITE")
        self.assertEqual(self.keys(), 2)
        self.assertEqual(slow.read_parsed(), [1, b"OK"])
        self.assertEqual(self.keys(), 2)
