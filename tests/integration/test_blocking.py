"""Blocking commands: BLPOP BRPOP BRPOPLPUSH BLMOVE BLMPOP BZPOPMIN BZPOPMAX BZMPOP (and LMPOP,
ZMPOP, CLIENT UNBLOCK, INFO blocked_clients, CLIENT LIST flags=b). Written against redis-server
7.0; run unchanged against lfdb-server. A blocked client is a raw connection whose reply has not
come yet (expect_silence); the liveness timeouts are generous upper bounds, never timings."""

import time
import unittest

from lfdb_testlib import RespError, ServerTestCase, is_lfdb

WRONGTYPE = RespError("WRONGTYPE Operation against a key holding the wrong kind of value")
WAIT = 10.0  # upper bound for a reply that must come (the machine is loaded)


class BlockingBase(ServerTestCase):
    def blocked(self, *args):
        """A new connection that sends `args` and is still waiting for its reply."""
        c = self.raw(timeout=WAIT)
        c.send_command(*args)
        self.assertTrue(c.expect_silence(0.2), "%s did not block" % (args,))
        return c

    def wait_blocked(self, n):
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            if int(self.r.info("clients")["blocked_clients"]) == n:
                return
            time.sleep(0.01)
        self.fail("blocked_clients never reached %d" % n)


class ImmediateTest(BlockingBase):
    def test_keys_served_in_the_order_given(self):
        self.call("RPUSH", "b", "b1", "b2")
        self.call("RPUSH", "c", "c1")
        self.assertEqual(self.call("BLPOP", "a", "b", "c", "0"), [b"b", b"b1"])
        self.assertEqual(self.call("BRPOP", "a", "c", "b", "0"), [b"c", b"c1"])
        self.assertEqual(self.call("BRPOPLPUSH", "b", "d", "0"), b"b2")
        self.assertEqual(self.call("LRANGE", "d", "0", "-1"), [b"b2"])
        self.assertEqual(self.call("BLMOVE", "d", "e", "RIGHT", "LEFT", "0"), b"b2")
        self.assertEqual(self.call("EXISTS", "b", "c", "d"), 0)

    def test_wrong_type_comes_first_when_it_comes_first(self):
        self.call("SET", "s", "x")
        self.call("RPUSH", "l", "1")
        self.assertEqual(self.call("BLPOP", "s", "l", "0"), WRONGTYPE)
        self.assertEqual(self.call("BLPOP", "l", "s", "0"), [b"l", b"1"])
        self.assertEqual(self.call("BZPOPMIN", "s", "0"), WRONGTYPE)
        self.call("RPUSH", "l", "1")
        self.assertEqual(self.call("BLMOVE", "l", "s", "LEFT", "LEFT", "0"), WRONGTYPE)
        self.assertEqual(self.call("LLEN", "l"), 1)

    def test_timeout_errors(self):
        for cmd in (["BLPOP", "k"], ["BRPOP", "k"], ["BZPOPMIN", "k"], ["BZPOPMAX", "k"],
                    ["BRPOPLPUSH", "k", "d"], ["BLMOVE", "k", "d", "LEFT", "RIGHT"]):
            self.assertEqual(self.call(*cmd, "-1"), RespError("ERR timeout is negative"))
            self.assertEqual(self.call(*cmd, "abc"),
                             RespError("ERR timeout is not a float or out of range"))
        self.assertEqual(self.call("BLMPOP", "-0.5", "1", "k", "LEFT"),
                         RespError("ERR timeout is negative"))
        self.assertEqual(self.call("BZMPOP", "x", "1", "k", "MIN"),
                         RespError("ERR timeout is not a float or out of range"))

    def test_decimal_timeouts_expire(self):
        self.assertIsNone(self.call("BLPOP", "k", "0.05"))
        self.assertIsNone(self.call("BLMOVE", "k", "d", "LEFT", "RIGHT", "0.05"))
        self.assertIsNone(self.call("BZPOPMAX", "k", "0.05"))
        self.assertIsNone(self.call("BLMPOP", "0.05", "2", "a", "b", "RIGHT"))
        self.assertEqual(self.call("BLMPOP", "0.01", "1", "k", "LEFT", "COUNT", "2"), None)

    def test_a_millisecond_or_less_is_a_millisecond_not_forever(self):
        # 0.001 * 1000 is a hair under 1 in binary: truncated, it was 0, which waits forever.
        # Job queues (BullMQ's workers) block for exactly 0.001 s.
        self.assertIsNone(self.call("BLPOP", "k", "0.001"))
        self.assertIsNone(self.call("BRPOP", "k", "0.0001"))
        self.assertIsNone(self.call("BLMPOP", "0.001", "1", "k", "LEFT"))
        self.assertIsNone(self.call("BZPOPMIN", "k", "0.001"))
        self.assertEqual(int(self.r.info("clients")["blocked_clients"]), 0)

    def test_mpop_arguments(self):
        for cmd in (["LMPOP"], ["BLMPOP", "0"]):
            self.assertEqual(self.call(*cmd, "0", "k", "LEFT"),
                             RespError("ERR numkeys should be greater than 0"))
            self.assertEqual(self.call(*cmd, "1", "k", "UP"), RespError("ERR syntax error"))
            self.assertEqual(self.call(*cmd, "1", "k", "LEFT", "COUNT", "0"),
                             RespError("ERR count should be greater than 0"))
            self.assertEqual(self.call(*cmd, "1", "k", "LEFT", "COUNT"), RespError("ERR syntax error"))
            self.assertEqual(self.call(*cmd, "3", "k", "LEFT"), RespError("ERR syntax error"))
        self.assertEqual(self.call("ZMPOP", "1", "k", "LEFT"), RespError("ERR syntax error"))
        self.call("RPUSH", "b", "1", "2", "3")
        self.assertIsNone(self.call("LMPOP", "1", "a", "LEFT"))
        self.assertEqual(self.call("LMPOP", "2", "a", "b", "RIGHT", "COUNT", "2"),
                         [b"b", [b"3", b"2"]])
        self.assertEqual(self.call("BLMPOP", "0", "2", "a", "b", "LEFT", "COUNT", "9"),
                         [b"b", [b"1"]])
        self.call("ZADD", "z", "1", "a", "2", "b", "3", "c")
        self.assertEqual(self.call("ZMPOP", "1", "z", "MAX", "COUNT", "2"),
                         [b"z", [[b"c", b"3"], [b"b", b"2"]]])
        self.assertEqual(self.call("BZMPOP", "0", "1", "z", "MIN"), [b"z", [[b"a", b"1"]]])
        self.assertEqual(self.call("EXISTS", "z", "b"), 0)

    def test_in_multi_and_scripts_they_do_not_block(self):
        self.assertEqual(self.call("MULTI"), b"OK")
        for cmd in (["BLPOP", "k", "0"], ["BRPOPLPUSH", "k", "d", "0"],
                    ["BLMOVE", "k", "d", "LEFT", "LEFT", "0"], ["BZPOPMIN", "k", "0"],
                    ["BLMPOP", "0", "1", "k", "LEFT"], ["BZMPOP", "0", "1", "k", "MIN"]):
            self.assertEqual(self.call(*cmd), b"QUEUED")
        self.assertEqual(self.call("EXEC"), [None] * 6)
        # Redis 7.0 refuses the single-key forms in scripts; [B]LMPOP and [B]ZMPOP run there,
        # never blocking.
        refused = self.call("EVAL", "return redis.call('blpop', KEYS[1], 0)", "1", "k")
        self.assertTrue(str(refused).find("This Redis command is not allowed from script") > 0)
        self.assertIsNone(self.call("EVAL", "return redis.call('blmpop', 0, 1, KEYS[1], 'left')",
                                    "1", "k"))
        self.assertIsNone(self.call("EVAL", "return redis.call('bzmpop', 0, 1, KEYS[1], 'min')",
                                    "1", "k"))
        self.call("RPUSH", "k", "v")
        self.assertEqual(self.call("EVAL", "return redis.call('blmpop', 0, 1, KEYS[1], 'left')",
                                   "1", "k"), [b"k", [b"v"]])


class WakeTest(BlockingBase):
    def test_first_come_first_served(self):
        a = self.blocked("BLPOP", "k", "0")
        b = self.blocked("BLPOP", "k", "0")
        self.wait_blocked(2)
        self.assertEqual(self.call("RPUSH", "k", "1"), 1)
        self.assertEqual(a.read_parsed(WAIT), [b"k", b"1"])
        self.assertTrue(b.expect_silence(0.2))
        self.assertEqual(self.call("RPUSH", "k", "2", "3"), 2)
        self.assertEqual(b.read_parsed(WAIT), [b"k", b"2"])
        self.assertEqual(self.call("LRANGE", "k", "0", "-1"), [b"3"])

    def test_each_waiter_served_from_one_push(self):
        a = self.blocked("BRPOP", "k", "0")
        b = self.blocked("BLPOP", "x", "k", "0")
        self.assertEqual(self.call("RPUSH", "k", "1", "2", "3"), 3)
        self.assertEqual(a.read_parsed(WAIT), [b"k", b"3"])
        self.assertEqual(b.read_parsed(WAIT), [b"k", b"1"])
        self.assertEqual(self.call("LRANGE", "k", "0", "-1"), [b"2"])
        self.wait_blocked(0)
        if is_lfdb():  # INFO total_blocking_keys came with Redis 7.2
            self.assertEqual(int(self.r.info("clients")["total_blocking_keys"]), 0)

    def test_served_after_the_whole_transaction(self):
        a = self.blocked("BLPOP", "k", "0")
        self.assertEqual(self.call("MULTI"), b"OK")
        self.call("RPUSH", "k", "x")
        self.call("LPOP", "k")
        self.assertEqual(self.call("EXEC"), [1, b"x"])
        self.assertTrue(a.expect_silence(0.2))
        self.assertEqual(self.call("MULTI"), b"OK")
        self.call("RPUSH", "k", "y")
        self.call("RPUSH", "k", "z")
        self.assertEqual(self.call("EXEC"), [1, 2])
        self.assertEqual(a.read_parsed(WAIT), [b"k", b"y"])
        self.assertEqual(self.call("LRANGE", "k", "0", "-1"), [b"z"])

    def test_served_after_the_whole_script(self):
        a = self.blocked("BLPOP", "k", "0")
        self.assertEqual(self.call("EVAL", "redis.call('rpush', KEYS[1], 'x'); "
                                   "return redis.call('lpop', KEYS[1])", "1", "k"), b"x")
        self.assertTrue(a.expect_silence(0.2))
        self.call("EVAL", "return redis.call('rpush', KEYS[1], 'y')", "1", "k")
        self.assertEqual(a.read_parsed(WAIT), [b"k", b"y"])

    def test_pipelined_pop_after_push_finds_the_waiter_served(self):
        a = self.blocked("BLPOP", "k", "0")
        c = self.raw()
        c.send(b"RPUSH k v\r\nLPOP k\r\n")
        self.assertEqual(c.read_parsed(WAIT), 1)
        self.assertIsNone(c.read_parsed(WAIT))
        self.assertEqual(a.read_parsed(WAIT), [b"k", b"v"])

    def test_blmove_chain_wakes_the_next(self):
        a = self.blocked("BLMOVE", "s", "d", "LEFT", "RIGHT", "0")
        b = self.blocked("BRPOPLPUSH", "d", "e", "0")
        c = self.blocked("BLPOP", "e", "0")
        self.call("LPUSH", "s", "v")
        self.assertEqual(a.read_parsed(WAIT), b"v")
        self.assertEqual(b.read_parsed(WAIT), b"v")
        self.assertEqual(c.read_parsed(WAIT), [b"e", b"v"])
        self.assertEqual(self.call("EXISTS", "s", "d", "e"), 0)

    def test_blmove_onto_itself_then_the_next_waiter(self):
        a = self.blocked("BLMOVE", "k", "k", "LEFT", "RIGHT", "0")
        b = self.blocked("BLPOP", "k", "0")
        self.call("RPUSH", "k", "v")
        self.assertEqual(a.read_parsed(WAIT), b"v")
        self.assertEqual(b.read_parsed(WAIT), [b"k", b"v"])
        self.assertEqual(self.call("EXISTS", "k"), 0)

    def test_key_of_the_wrong_type_leaves_waiters_blocked(self):
        a = self.blocked("BLPOP", "k", "0")
        z = self.blocked("BZPOPMIN", "k", "0")
        self.call("SET", "k", "str")
        self.assertTrue(a.expect_silence(0.2))
        self.call("DEL", "k")
        self.call("ZADD", "k", "1", "m")
        self.assertEqual(z.read_parsed(WAIT), [b"k", b"m", b"1"])
        self.assertTrue(a.expect_silence(0.2))
        self.call("RPUSH", "k", "x")
        self.assertEqual(a.read_parsed(WAIT), [b"k", b"x"])

    def test_blmove_destination_of_the_wrong_type_errors(self):
        a = self.blocked("BLMOVE", "s", "d", "LEFT", "RIGHT", "0")
        self.call("SET", "d", "str")
        self.call("RPUSH", "s", "v")
        self.assertEqual(a.read_parsed(WAIT), WRONGTYPE)
        self.assertEqual(self.call("LRANGE", "s", "0", "-1"), [b"v"])

    def test_rename_makes_a_key_ready(self):
        a = self.blocked("BLPOP", "k", "0")
        self.call("RPUSH", "other", "x")
        self.assertEqual(self.call("RENAME", "other", "k"), b"OK")
        self.assertEqual(a.read_parsed(WAIT), [b"k", b"x"])

    def test_sort_and_georadius_store_make_their_destination_ready(self):
        a = self.blocked("BLPOP", "{t}sorted", "0")
        self.call("RPUSH", "{t}src", "c", "a", "b")
        self.assertEqual(self.call("SORT", "{t}src", "ALPHA", "STORE", "{t}sorted"), 3)
        self.assertEqual(a.read_parsed(WAIT), [b"{t}sorted", b"a"])
        z = self.blocked("BZPOPMIN", "{t}near", "0")
        self.call("GEOADD", "{t}geo", "13.361389", "38.115556", "Palermo")
        self.assertEqual(self.call("GEORADIUS", "{t}geo", "15", "37", "200", "km",
                                   "STORE", "{t}near"), 1)
        key, member, _ = z.read_parsed(WAIT)
        self.assertEqual((key, member), (b"{t}near", b"Palermo"))
        self.wait_blocked(0)

    def test_move_copy_and_swapdb_make_keys_ready_in_their_database(self):
        moved = self.raw(timeout=WAIT)
        self.assertEqual(moved.command("SELECT", "1"), b"OK")
        moved.send_command("BLPOP", "m", "0")
        copied = self.raw(timeout=WAIT)
        self.assertEqual(copied.command("SELECT", "2"), b"OK")
        copied.send_command("BZPOPMIN", "c", "0")
        swapped = self.raw(timeout=WAIT)
        self.assertEqual(swapped.command("SELECT", "3"), b"OK")
        swapped.send_command("BLMPOP", "0", "1", "s", "LEFT")
        self.wait_blocked(3)
        self.call("RPUSH", "m", "x")
        self.assertEqual(self.call("MOVE", "m", "1"), 1)
        self.assertEqual(moved.read_parsed(WAIT), [b"m", b"x"])
        self.call("ZADD", "c", "1", "y")
        self.assertEqual(self.call("COPY", "c", "c", "DB", "2"), 1)
        self.assertEqual(copied.read_parsed(WAIT), [b"c", b"y", b"1"])
        self.assertEqual(self.call("ZCARD", "c"), 1)  # the source stays
        self.assertEqual(self.call("SELECT", "4"), b"OK")
        try:
            self.call("RPUSH", "s", "z")
            self.assertEqual(self.call("SWAPDB", "3", "4"), b"OK")
        finally:
            self.call("SELECT", "0")  # the class's connection, for the tests after this one
        self.assertEqual(swapped.read_parsed(WAIT), [b"s", [b"z"]])
        self.wait_blocked(0)

    def test_flushall_and_del_leave_waiters_blocked(self):
        a = self.blocked("BLPOP", "k", "0")
        self.call("FLUSHALL")
        self.call("DEL", "k")
        self.assertTrue(a.expect_silence(0.2))
        self.call("RPUSH", "k", "x")
        self.assertEqual(a.read_parsed(WAIT), [b"k", b"x"])

    def test_blmpop_and_zsets_served_with_count(self):
        a = self.blocked("BLMPOP", "0", "2", "a", "b", "LEFT", "COUNT", "2")
        z = self.blocked("BZMPOP", "0", "1", "z", "MAX", "COUNT", "5")
        m = self.blocked("BZPOPMAX", "y", "0")
        self.call("RPUSH", "b", "1", "2", "3")
        self.call("ZADD", "z", "1", "p", "2", "q")
        self.call("ZADD", "y", "1.5", "r")
        self.assertEqual(a.read_parsed(WAIT), [b"b", [b"1", b"2"]])
        self.assertEqual(z.read_parsed(WAIT), [b"z", [[b"q", b"2"], [b"p", b"1"]]])
        self.assertEqual(m.read_parsed(WAIT), [b"y", b"r", b"1.5"])

    def test_same_key_twice_is_served_once(self):
        a = self.blocked("BLPOP", "k", "k", "0")
        self.call("RPUSH", "k", "1", "2")
        self.assertEqual(a.read_parsed(WAIT), [b"k", b"1"])
        self.assertEqual(self.call("LRANGE", "k", "0", "-1"), [b"2"])

    def test_timeout_while_blocked(self):
        # Timeouts well past blocked()'s 0.2 s of silence: on a loaded machine the test can be
        # descheduled for a good part of a second, and must not see the timeout's reply then.
        a = self.blocked("BLPOP", "k", "1.5")
        self.assertIsNone(a.read_parsed(WAIT))
        b = self.blocked("BLMOVE", "k", "d", "LEFT", "RIGHT", "1.2")
        self.assertIsNone(b.read_parsed(WAIT))
        self.wait_blocked(0)
        self.call("RPUSH", "k", "x")
        self.assertEqual(self.call("LLEN", "k"), 1)


class ControlTest(BlockingBase):
    def test_info_and_client_list(self):
        a = self.blocked("BLPOP", "k1", "k2", "0")
        self.wait_blocked(1)
        if is_lfdb():  # INFO total_blocking_keys came with Redis 7.2
            self.assertEqual(int(self.r.info("clients")["total_blocking_keys"]), 2)
        flags = {c["cmd"]: c["flags"] for c in self.r.client_list()}
        self.assertEqual(flags["blpop"], "b")
        self.call("RPUSH", "k2", "x")
        self.assertEqual(a.read_parsed(WAIT), [b"k2", b"x"])
        self.wait_blocked(0)

    def test_client_unblock(self):
        a = self.raw(timeout=WAIT)
        aid = a.command("CLIENT", "ID")
        a.send_command("BLPOP", "k", "0")
        self.assertTrue(a.expect_silence(0.2))
        self.assertEqual(self.call("CLIENT", "UNBLOCK", str(aid)), 1)
        self.assertIsNone(a.read_parsed(WAIT))
        self.assertEqual(self.call("CLIENT", "UNBLOCK", str(aid)), 0)
        a.send_command("BZPOPMIN", "k", "0")
        self.assertTrue(a.expect_silence(0.2))
        self.assertEqual(self.call("CLIENT", "UNBLOCK", str(aid), "ERROR"), 1)
        self.assertEqual(a.read_parsed(WAIT),
                         RespError("UNBLOCKED client unblocked via CLIENT UNBLOCK"))
        self.assertEqual(self.call("CLIENT", "UNBLOCK", str(aid), "MAYBE"),
                         RespError("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR"))
        self.call("RPUSH", "k", "x")
        self.assertEqual(self.call("LLEN", "k"), 1)

    def test_killed_or_gone_clients_take_nothing(self):
        a = self.raw(timeout=WAIT)
        aid = a.command("CLIENT", "ID")
        a.send_command("BLPOP", "k", "0")
        b = self.blocked("BLPOP", "k", "0")
        self.wait_blocked(2)
        self.assertEqual(self.call("CLIENT", "KILL", "ID", str(aid)), 1)
        self.assertTrue(a.is_closed(WAIT))
        b.close()
        self.wait_blocked(0)
        self.call("RPUSH", "k", "x")
        self.assertEqual(self.call("LRANGE", "k", "0", "-1"), [b"x"])

    def test_gone_client_takes_nothing_even_before_it_is_noticed(self):
        b = self.blocked("BLPOP", "k", "0")
        b.close()
        self.call("RPUSH", "k", "x")  # at once: the server may not have noticed yet
        self.assertEqual(self.call("LRANGE", "k", "0", "-1"), [b"x"])


if __name__ == "__main__":
    unittest.main()
