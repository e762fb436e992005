"""MULTI EXEC DISCARD WATCH UNWATCH: queueing, queue-time vs run-time errors, and every way a
WATCH can be broken (another client's write, expiry, FLUSHALL, DEL, the client's own write)."""

import time
import unittest

import redis

from lfdb_testlib import RawConnection, ServerTestCase

EXECABORT = "EXECABORT Transaction discarded because of previous errors."


class MultiExecTest(ServerTestCase):
    def setUp(self):
        super().setUp()
        self.c = RawConnection(self.port)

    def tearDown(self):
        self.c.close()
        super().tearDown()

    def raw(self, *args):
        self.c.send_command(*args)
        return self.c.read_reply()

    def test_queued_replies_and_exec(self):
        self.assertEqual(self.raw("MULTI"), b"+OK\r\n")
        self.assertEqual(self.raw("SET", "a", "1"), b"+QUEUED\r\n")
        self.assertEqual(self.raw("INCR", "a"), b"+QUEUED\r\n")
        self.assertEqual(self.raw("GET", "a"), b"+QUEUED\r\n")
        self.assertEqual(self.raw("GET", "missing"), b"+QUEUED\r\n")
        # nothing ran yet
        self.assertIsNone(self.r.get("a"))
        self.assertEqual(self.raw("EXEC"), b"*4\r\n+OK\r\n:2\r\n$1\r\n2\r\n$-1\r\n")
        self.assertEqual(self.r.get("a"), "2")

    def test_empty_transaction(self):
        self.assertEqual(self.raw("MULTI"), b"+OK\r\n")
        self.assertEqual(self.raw("EXEC"), b"*0\r\n")

    def test_discard(self):
        self.assertEqual(self.raw("MULTI"), b"+OK\r\n")
        self.assertEqual(self.raw("SET", "a", "1"), b"+QUEUED\r\n")
        self.assertEqual(self.raw("DISCARD"), b"+OK\r\n")
        self.assertIsNone(self.r.get("a"))
        # no longer in a transaction
        self.assertEqual(self.raw("SET", "b", "2"), b"+OK\r\n")
        self.assertEqual(self.raw("EXEC"), b"-ERR EXEC without MULTI\r\n")

    def test_exec_discard_without_multi(self):
        self.assertEqual(self.raw("EXEC"), b"-ERR EXEC without MULTI\r\n")
        self.assertEqual(self.raw("DISCARD"), b"-ERR DISCARD without MULTI\r\n")

    def test_nested_multi(self):
        self.assertEqual(self.raw("MULTI"), b"+OK\r\n")
        self.assertEqual(self.raw("SET", "a", "1"), b"+QUEUED\r\n")
        self.assertEqual(self.raw("MULTI"), b"-ERR MULTI calls can not be nested\r\n")
        # a nested MULTI does not abort the transaction
        self.assertEqual(self.raw("EXEC"), b"*1\r\n+OK\r\n")
        self.assertEqual(self.r.get("a"), "1")

    def test_watch_inside_multi(self):
        self.assertEqual(self.raw("MULTI"), b"+OK\r\n")
        self.assertEqual(self.raw("SET", "a", "1"), b"+QUEUED\r\n")
        self.assertEqual(self.raw("WATCH", "a"), b"-ERR WATCH inside MULTI is not allowed\r\n")
        # not a queueing error either: EXEC still runs
        self.assertEqual(self.raw("EXEC"), b"*1\r\n+OK\r\n")

    def test_queueing_error_aborts_exec(self):
        self.r.set("a", "old")
        self.assertEqual(self.raw("MULTI"), b"+OK\r\n")
        self.assertEqual(self.raw("SET", "a", "1"), b"+QUEUED\r\n")
        self.assertEqual(self.raw("SET", "b"), b"-ERR wrong number of arguments for 'set' command\r\n")
        self.assertEqual(self.raw("SET", "c", "3"), b"+QUEUED\r\n")
        self.assertEqual(self.raw("EXEC"), ("-%s\r\n" % EXECABORT).encode())
        self.assertEqual(self.r.get("a"), "old")
        self.assertIsNone(self.r.get("c"))
        self.assertEqual(self.raw("EXEC"), b"-ERR EXEC without MULTI\r\n")

    def test_save_and_shutdown_are_refused_inside_multi_and_abort_it(self):
        for cmd in ("SAVE", "SHUTDOWN"):
            self.assertEqual(self.raw("MULTI"), b"+OK\r\n")
            self.assertEqual(self.raw("SET", "a", "1"), b"+QUEUED\r\n")
            self.assertEqual(self.raw(cmd), b"-ERR Command not allowed inside a transaction\r\n")
            self.assertEqual(self.raw("EXEC"), ("-%s\r\n" % EXECABORT).encode())
            self.assertIsNone(self.r.get("a"))
        self.assertEqual(self.r.ping(), True)  # the SHUTDOWN never ran

    def test_a_debug_command_not_enabled_is_refused_at_queueing(self):
        # DEBUG is protected (enable-debug-command no, the default): refused at once, like an
        # unknown command, so EXEC aborts.
        self.assertEqual(self.raw("MULTI"), b"+OK\r\n")
        self.assertEqual(self.raw("SET", "a", "1"), b"+QUEUED\r\n")
        self.assertTrue(self.raw("DEBUG", "SLEEP", "0").startswith(b"-ERR DEBUG command not allowed."))
        self.assertEqual(self.raw("EXEC"), ("-%s\r\n" % EXECABORT).encode())
        self.assertIsNone(self.r.get("a"))

    def test_unknown_command_aborts_exec(self):
        self.assertEqual(self.raw("MULTI"), b"+OK\r\n")
        self.assertEqual(self.raw("SET", "a", "1"), b"+QUEUED\r\n")
        self.assertEqual(self.raw("NOSUCHCOMMAND", "x"),
                         b"-ERR unknown command 'NOSUCHCOMMAND', with args beginning with: 'x' \r\n")
        self.assertEqual(self.raw("EXEC"), ("-%s\r\n" % EXECABORT).encode())
        self.assertIsNone(self.r.get("a"))

    def test_discard_after_queueing_error(self):
        self.assertEqual(self.raw("MULTI"), b"+OK\r\n")
        self.assertEqual(self.raw("GET"), b"-ERR wrong number of arguments for 'get' command\r\n")
        self.assertEqual(self.raw("DISCARD"), b"+OK\r\n")
        self.assertEqual(self.raw("MULTI"), b"+OK\r\n")
        self.assertEqual(self.raw("SET", "a", "1"), b"+QUEUED\r\n")
        self.assertEqual(self.raw("EXEC"), b"*1\r\n+OK\r\n")

    def test_runtime_errors_do_not_abort_others(self):
        self.r.hset("h", "f", "v")
        self.assertEqual(self.raw("MULTI"), b"+OK\r\n")
        self.assertEqual(self.raw("SET", "a", "x"), b"+QUEUED\r\n")
        self.assertEqual(self.raw("INCR", "a"), b"+QUEUED\r\n")
        self.assertEqual(self.raw("GET", "h"), b"+QUEUED\r\n")
        self.assertEqual(self.raw("SET", "b", "2", "EX", "0"), b"+QUEUED\r\n")
        self.assertEqual(self.raw("SET", "c", "3"), b"+QUEUED\r\n")
        self.assertEqual(self.raw("EXEC"),
                         b"*5\r\n+OK\r\n-ERR value is not an integer or out of range\r\n"
                         b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
                         b"-ERR invalid expire time in 'set' command\r\n+OK\r\n")
        self.assertEqual(self.r.mget("a", "b", "c"), ["x", None, "3"])

    def test_transaction_is_isolated(self):
        # while a transaction is queued, other clients' writes interleave freely
        self.assertEqual(self.raw("MULTI"), b"+OK\r\n")
        self.assertEqual(self.raw("INCR", "n"), b"+QUEUED\r\n")
        self.r.set("n", "10")
        self.assertEqual(self.raw("INCR", "n"), b"+QUEUED\r\n")
        self.assertEqual(self.raw("EXEC"), b"*2\r\n:11\r\n:12\r\n")

    def test_disconnect_discards_queued_commands(self):
        with RawConnection(self.port) as c:
            c.send_command("MULTI")
            self.assertEqual(c.read_reply(), b"+OK\r\n")
            c.send_command("SET", "a", "1")
            self.assertEqual(c.read_reply(), b"+QUEUED\r\n")
        time.sleep(0.1)
        self.assertIsNone(self.r.get("a"))

    def test_pipelined_transaction(self):
        self.c.send(b"*1\r\n$5\r\nMULTI\r\n*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n"
                    b"*2\r\n$4\r\nINCR\r\n$1\r\na\r\n*1\r\n$4\r\nEXEC\r\n")
        self.assertEqual(self.c.read_reply(), b"+OK\r\n")
        self.assertEqual(self.c.read_reply(), b"+QUEUED\r\n")
        self.assertEqual(self.c.read_reply(), b"+QUEUED\r\n")
        self.assertEqual(self.c.read_reply(), b"*2\r\n+OK\r\n:2\r\n")

    def test_redis_py_transaction(self):
        p = self.r.pipeline(transaction=True)
        p.set("a", "1").incr("a").hset("h", "f", "v").hget("h", "f")
        self.assertEqual(p.execute(), [True, 2, 1, "v"])

    def test_arity(self):
        self.assertEqual(self.raw("MULTI", "x"), b"-ERR wrong number of arguments for 'multi' command\r\n")
        self.assertEqual(self.raw("WATCH"), b"-ERR wrong number of arguments for 'watch' command\r\n")


class WatchTest(ServerTestCase):
    def setUp(self):
        super().setUp()
        self.c = RawConnection(self.port)
        self.other = self.client()

    def tearDown(self):
        self.c.close()
        super().tearDown()

    def cmd(self, *args):
        self.c.send_command(*args)
        return self.c.read_reply()

    def exec_set(self, key="result", value="done"):
        """MULTI / SET key value / EXEC; returns EXEC's raw reply."""
        self.assertEqual(self.cmd("MULTI"), b"+OK\r\n")
        self.assertEqual(self.cmd("SET", key, value), b"+QUEUED\r\n")
        return self.cmd("EXEC")

    def assertAborted(self):
        self.assertEqual(self.exec_set(), b"*-1\r\n")
        self.assertIsNone(self.r.get("result"))

    def assertCommitted(self):
        self.assertEqual(self.exec_set(), b"*1\r\n+OK\r\n")
        self.assertEqual(self.r.get("result"), "done")

    def test_untouched_watch_commits(self):
        self.r.set("k", "v")
        self.assertEqual(self.cmd("WATCH", "k"), b"+OK\r\n")
        self.other.get("k")  # reads do not break a WATCH
        self.assertCommitted()

    def test_broken_by_other_clients_write(self):
        self.r.set("k", "v")
        self.assertEqual(self.cmd("WATCH", "k"), b"+OK\r\n")
        self.other.set("k", "v2")
        self.assertAborted()

    def test_broken_by_write_of_same_value(self):
        self.r.set("k", "v")
        self.cmd("WATCH", "k")
        self.other.set("k", "v")
        self.assertAborted()

    def test_broken_by_write_between_multi_and_exec(self):
        self.r.set("k", "v")
        self.cmd("WATCH", "k")
        self.assertEqual(self.cmd("MULTI"), b"+OK\r\n")
        self.assertEqual(self.cmd("SET", "result", "done"), b"+QUEUED\r\n")
        self.other.incr("counter")
        self.other.append("k", "x")
        self.assertEqual(self.cmd("EXEC"), b"*-1\r\n")
        self.assertIsNone(self.r.get("result"))

    def test_broken_by_own_write(self):
        self.r.set("k", "v")
        self.cmd("WATCH", "k")
        self.assertEqual(self.cmd("SET", "k", "w"), b"+OK\r\n")
        self.assertAborted()

    def test_broken_by_other_types_of_write(self):
        for breaker in (lambda o: o.expire("k", 100), lambda o: o.hset("h", "f", "x"),
                        lambda o: o.rename("k", "k2"), lambda o: o.incrbyfloat("n", 1.5),
                        lambda o: o.getdel("k"), lambda o: o.persist("t")):
            self.r.flushall()
            self.r.set("k", "v")
            self.r.set("n", "1")
            self.r.set("t", "v", ex=100)
            self.r.hset("h", "f", "v")
            self.cmd("WATCH", "k", "h", "n", "t")
            breaker(self.other)
            self.assertAborted()

    def test_broken_by_expiry(self):
        self.r.set("k", "v", px=100)
        self.assertEqual(self.cmd("WATCH", "k"), b"+OK\r\n")
        time.sleep(0.25)
        self.assertAborted()

    def test_broken_by_flushall(self):
        self.r.set("k", "v")
        self.cmd("WATCH", "k")
        self.other.flushall()
        self.assertAborted()

    def test_broken_by_flushdb(self):
        self.r.set("k", "v")
        self.cmd("WATCH", "k")
        self.other.flushdb()
        self.assertAborted()

    def test_broken_by_del(self):
        self.r.set("k", "v")
        self.cmd("WATCH", "k")
        self.assertEqual(self.other.delete("k"), 1)
        self.assertAborted()

    def test_missing_key_then_set(self):
        self.assertEqual(self.cmd("WATCH", "nokey"), b"+OK\r\n")
        self.other.set("nokey", "now-exists")
        self.assertAborted()

    def test_missing_key_untouched(self):
        self.cmd("WATCH", "nokey")
        self.other.delete("nokey")  # deleting a missing key changes nothing
        self.assertCommitted()

    def test_unwatch(self):
        self.r.set("k", "v")
        self.cmd("WATCH", "k")
        self.assertEqual(self.cmd("UNWATCH"), b"+OK\r\n")
        self.other.set("k", "v2")
        self.assertCommitted()

    def test_exec_clears_watches(self):
        self.r.set("k", "v")
        self.cmd("WATCH", "k")
        self.assertCommitted()
        self.r.delete("result")
        self.other.set("k", "v2")
        self.assertCommitted()

    def test_aborted_exec_clears_watches(self):
        self.r.set("k", "v")
        self.cmd("WATCH", "k")
        self.other.set("k", "v2")
        self.assertAborted()
        self.other.set("k", "v3")
        self.assertCommitted()

    def test_discard_clears_watches(self):
        self.r.set("k", "v")
        self.cmd("WATCH", "k")
        self.assertEqual(self.cmd("MULTI"), b"+OK\r\n")
        self.assertEqual(self.cmd("DISCARD"), b"+OK\r\n")
        self.other.set("k", "v2")
        self.assertCommitted()

    def test_several_keys_and_several_watch_calls(self):
        self.r.mset({"a": "1", "b": "2", "c": "3"})
        self.assertEqual(self.cmd("WATCH", "a", "b"), b"+OK\r\n")
        self.assertEqual(self.cmd("WATCH", "c"), b"+OK\r\n")
        self.other.set("c", "30")
        self.assertAborted()

    def test_write_to_unwatched_key_does_not_break(self):
        self.r.mset({"a": "1", "b": "2"})
        self.cmd("WATCH", "a")
        self.other.set("b", "20")
        self.other.set("unrelated", "x")
        self.assertCommitted()

    def test_abort_discards_all_queued_commands(self):
        self.r.set("k", "v")
        self.cmd("WATCH", "k")
        self.other.set("k", "v2")
        self.assertEqual(self.cmd("MULTI"), b"+OK\r\n")
        for i in range(5):
            self.assertEqual(self.cmd("INCR", "n%d" % i), b"+QUEUED\r\n")
        self.assertEqual(self.cmd("EXEC"), b"*-1\r\n")
        self.assertEqual(self.r.exists(*["n%d" % i for i in range(5)]), 0)

    def test_aborted_exec_in_resp3_is_null(self):
        self.cmd("HELLO", "3")
        self.r.set("k", "v")
        self.cmd("WATCH", "k")
        self.other.set("k", "v2")
        self.assertEqual(self.cmd("MULTI"), b"+OK\r\n")
        self.assertEqual(self.cmd("SET", "result", "done"), b"+QUEUED\r\n")
        self.assertEqual(self.cmd("EXEC"), b"_\r\n")

    def test_redis_py_watch_error(self):
        self.r.set("k", "1")
        with self.r.pipeline() as p:
            p.watch("k")
            value = int(p.get("k"))
            self.other.set("k", "100")
            p.multi()
            p.set("k", value + 1)
            with self.assertRaises(redis.WatchError):
                p.execute()
        self.assertEqual(self.r.get("k"), "100")


if __name__ == "__main__":
    unittest.main()
