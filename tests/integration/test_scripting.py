"""EVAL, EVALSHA and SCRIPT: Lua stored procedures (written against redis-server 7.0, run
against both). lfdb refuses keys a script did not declare (it runs a script on the colors of
its declared keys); redis-server allows them, so that test is lfdb's alone."""

import threading
import time
import unittest

import redis

from lfdb_testlib import RawConnection, RespError, ServerTestCase, is_lfdb

BOOK = """
local left = tonumber(redis.call('GET', KEYS[1]))
if left == nil then return redis.error_reply('ERR no such flight') end
if left <= 0 then return 0 end
redis.call('DECR', KEYS[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
return 1
"""


class Eval(ServerTestCase):
    def test_keys_and_argv(self):
        self.assertEqual(self.rb.eval("return {KEYS[1], KEYS[2], ARGV[1], #KEYS, #ARGV}", 2, "a", "b", "x"),
                         [b"a", b"b", b"x", 2, 1])

    def test_conversions_lua_to_resp(self):
        self.assertEqual(self.rb.eval("return 3.99", 0), 3)
        self.assertEqual(self.rb.eval("return 'str'", 0), b"str")
        self.assertEqual(self.rb.eval("return true", 0), 1)
        self.assertIsNone(self.rb.eval("return false", 0))
        self.assertIsNone(self.rb.eval("return nil", 0))
        self.assertEqual(self.rb.eval("return {1, 2, {3, 'x'}, nil, 5}", 0), [1, 2, [3, b"x"]])
        self.assertEqual(self.rb.eval("return redis.status_reply('FINE')", 0), b"FINE")
        with self.assertRaises(redis.ResponseError) as e:
            self.rb.eval("return redis.error_reply('MYERR something')", 0)
        self.assertEqual(str(e.exception), "MYERR something")

    def test_conversions_resp_to_lua(self):
        self.rb.set("s", "v")
        self.rb.hset("h", "f", "1")
        self.assertEqual(self.rb.eval("return type(redis.call('GET', KEYS[1]))", 1, "s"), b"string")
        self.assertEqual(self.rb.eval("return redis.call('GET', KEYS[1]) == false", 1, "missing"), 1)
        self.assertEqual(self.rb.eval("return redis.call('INCR', KEYS[1]) + 1", 1, "n"), 2)
        self.assertEqual(self.rb.eval("return redis.call('SET', KEYS[1], 'x')['ok']", 1, "s"), b"OK")
        self.assertEqual(self.rb.eval("return redis.call('HGETALL', KEYS[1])", 1, "h"), [b"f", b"1"])

    def test_writes_are_visible_and_atomic(self):
        self.rb.set("seats", 2)
        for i in range(3):
            self.rb.eval(BOOK, 2, "seats", "booked", "t%d" % i, "me")
        self.assertEqual(self.rb.get("seats"), b"0")
        self.assertEqual(self.rb.hlen("booked"), 2)

    def test_call_error_aborts_and_pcall_returns_it(self):
        self.rb.hset("h", "f", "v")
        with self.assertRaises(redis.ResponseError) as e:
            self.rb.eval("redis.call('INCR', KEYS[1]); return 1", 1, "h")
        self.assertIn("WRONGTYPE", str(e.exception))
        self.assertEqual(self.rb.eval("local r = redis.pcall('INCR', KEYS[1]); return r['err'] ~= nil", 1, "h"), 1)

    def test_errors(self):
        with self.assertRaises(redis.ResponseError) as e:
            self.rb.eval("return 1", -1)
        self.assertIn("Number of keys can't be negative", str(e.exception))
        with self.assertRaises(redis.ResponseError) as e:
            self.rb.eval("return 1", 3, "a")
        self.assertIn("Number of keys can't be greater than number of args", str(e.exception))
        with self.assertRaises(redis.ResponseError) as e:
            self.rb.eval("return 1", "x")
        self.assertIn("value is not an integer or out of range", str(e.exception))
        with self.assertRaises(redis.ResponseError) as e:
            self.rb.eval("this is not lua", 0)
        self.assertIn("Error compiling script", str(e.exception))
        with self.assertRaises(redis.ResponseError) as e:
            self.rb.eval("return redis.call('NOSUCHCMD')", 0)
        self.assertIn("Unknown Redis command called from script", str(e.exception))
        with self.assertRaises(redis.ResponseError) as e:
            self.rb.eval("return redis.call('GET')", 0)
        self.assertIn("Wrong number of args calling Redis command from script", str(e.exception))
        with self.assertRaises(redis.ResponseError) as e:
            self.rb.eval("return redis.call('EVAL', 'return 1', 0)", 0)
        self.assertIn("This Redis command is not allowed from script", str(e.exception))

    @unittest.skipUnless(is_lfdb(), "redis-server lets a script touch undeclared keys")
    def test_undeclared_key_is_refused(self):
        with self.assertRaises(redis.ResponseError) as e:
            self.rb.eval("return redis.call('GET', 'other')", 1, "mine")
        self.assertIn("not among its KEYS", str(e.exception))
        with self.assertRaises(redis.ResponseError) as e:
            self.rb.eval("return redis.call('KEYS', '*')", 0)
        self.assertIn("not allowed from script", str(e.exception))

    def test_inside_multi(self):
        p = self.rb.pipeline(transaction=True)
        p.set("k", 1)
        p.eval("return redis.call('INCR', KEYS[1])", 1, "k")
        self.assertEqual(p.execute(), [True, 2])


class ScriptCache(ServerTestCase):
    def test_load_exists_evalsha_flush(self):
        sha = self.rb.script_load("return ARGV[1]")
        self.assertEqual(len(sha), 40)
        self.assertEqual(self.rb.script_exists(sha, "0" * 40), [True, False])
        self.assertEqual(self.rb.evalsha(sha, 0, "hi"), b"hi")
        self.assertEqual(self.rb.evalsha(sha.upper(), 0, "hi"), b"hi")
        self.rb.script_flush()
        self.assertEqual(self.rb.script_exists(sha), [False])
        with self.assertRaises(redis.exceptions.NoScriptError):
            self.rb.evalsha(sha, 0, "hi")

    def test_eval_caches_the_script(self):
        self.rb.eval("return 7", 0)
        import hashlib
        sha = hashlib.sha1(b"return 7").hexdigest()
        self.assertEqual(self.rb.evalsha(sha, 0), 7)

    def test_load_compile_error(self):
        with self.assertRaises(redis.ResponseError) as e:
            self.rb.script_load("not lua at all")
        self.assertIn("Error compiling script", str(e.exception))


class Concurrency(ServerTestCase):
    def test_concurrent_bookings_never_oversell(self):
        flights = 8
        for f in range(flights):
            self.rb.set("seats:{%d}" % f, 50)
        booked = [0] * 10
        book = self.rb.register_script(BOOK)

        def agent(t):
            c = self.client(decode=False)
            for i in range(100):
                f = (t + i) % flights
                if book(keys=["seats:{%d}" % f, "booked:{%d}" % f], args=["%d:%d" % (t, i), "x"], client=c) == 1:
                    booked[t] += 1

        ts = [threading.Thread(target=agent, args=(t,)) for t in range(10)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        self.assertEqual(sum(booked), 50 * flights)
        for f in range(flights):
            self.assertEqual(self.rb.get("seats:{%d}" % f), b"0")
            self.assertEqual(self.rb.hlen("booked:{%d}" % f), 50)


class ScriptKill(ServerTestCase):
    """SCRIPT KILL stops a runaway script that has not written (its client gets an error and
    the server goes on); one that has written is UNKILLABLE; with none running, NOTBUSY."""

    def setUp(self):
        super().setUp()
        self.r.config_set("busy-reply-threshold", 100)

    def tearDown(self):
        self.r.config_set("busy-reply-threshold", 5000)
        super().tearDown()

    def kill_until_answered(self):
        """SCRIPT KILL once the script is past the busy threshold (redis-server answers others
        only from then on; lfdb says NOTBUSY before it), on a new connection each time: under
        --model lf-multi a connection may land in the handle set whose only thread runs the
        script, and is served only when it ends."""
        deadline = time.monotonic() + 30
        while True:
            self.assertLess(time.monotonic(), deadline, "no SCRIPT KILL was answered")
            c = RawConnection(self.port, timeout=1.0)
            try:
                reply = c.command("SCRIPT", "KILL")
            except Exception:
                continue  # not served while the script runs: try another connection
            finally:
                c.close()
            if not (isinstance(reply, RespError) and reply.message.startswith("NOTBUSY")):
                return reply
            time.sleep(0.05)

    def test_a_runaway_script_is_killed(self):
        looper = RawConnection(self.port, timeout=20)
        looper.send_command("EVAL", "local n = 0 while true do n = n + 1 end", "0")
        time.sleep(0.15)
        self.assertEqual(self.kill_until_answered(), b"OK")
        reply = looper.read_parsed(timeout=10)
        self.assertIsInstance(reply, RespError)
        self.assertTrue(reply.message.startswith("ERR Script killed by user with SCRIPT KILL..."),
                        reply.message)
        self.assertIn("@user_script:1", reply.message)
        # The connection and the server go on.
        self.assertEqual(looper.command("PING"), b"PONG")
        reply = looper.command("SCRIPT", "KILL")
        self.assertIsInstance(reply, RespError)
        self.assertEqual(reply.message, "NOTBUSY No scripts in execution right now.")
        self.assertEqual(self.r.eval("return 7", 0), 7)
        looper.close()

    def test_a_script_that_wrote_is_unkillable(self):
        slow = RawConnection(self.port, timeout=60)
        # Writes, then loops for 3 s of the server's clock (not forever: it must end by itself;
        # and not by an iteration count, which a loaded machine would make too short).
        slow.send_command("EVAL", "redis.call('SET', KEYS[1], 'x') "
                          "local t0 = tonumber(redis.call('TIME')[1]) "
                          "while tonumber(redis.call('TIME')[1]) - t0 < tonumber(ARGV[1]) do end "
                          "return 1", "1", "wrote", "3")
        time.sleep(0.15)
        reply = self.kill_until_answered()
        self.assertIsInstance(reply, RespError)
        self.assertTrue(reply.message.startswith(
            "UNKILLABLE Sorry the script already executed write commands against the dataset."),
            reply.message)
        self.assertEqual(slow.read_parsed(timeout=60), 1)  # it ran to its end, atomically
        self.assertEqual(self.r.get("wrote"), "x")
        slow.close()

    def test_notbusy_without_scripts(self):
        with self.assertRaises(redis.ResponseError) as e:
            self.r.script_kill()
        self.assertEqual(str(e.exception), "NOTBUSY No scripts in execution right now.")


if __name__ == "__main__":
    unittest.main()
