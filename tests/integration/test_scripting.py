"""EVAL, EVALSHA and SCRIPT: Lua stored procedures (written against redis-server 7.0, run
against both). lfdb refuses keys a script did not declare (it runs a script on the colors of
its declared keys); redis-server allows them, so that test is lfdb's alone."""

import hashlib
import threading
import time
import unittest

import redis

from lfdb_testlib import RawConnection, RespError, ServerTestCase, is_lfdb


def sha1(script):
    return hashlib.sha1(script.encode()).hexdigest()


def script_error(message, script, line=1, position=True):
    """Redis 7's reply to a script that raised `message` on `line` (`position`: the message
    carries Lua's "user_script:N: " prefix, as errors raised by the script's own code do)."""
    where = "user_script:%d: " % line if position else ""
    return "ERR %s%s script: %s, on @user_script:%d." % (where, message, sha1(script), line)


READONLY = "Attempt to modify a readonly table"

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


class Sandbox(ServerTestCase):
    """Scripts run in Redis 7's sandbox: the globals, the libraries and the redis table are
    read-only, so nothing a script does reaches another script (lfdb keeps one Lua state per
    serving thread, and every later script on that thread would see it)."""

    def eval_error(self, script, *keys):
        reply = self.call("EVAL", script, str(len(keys)), *keys)
        self.assertIsInstance(reply, RespError, "%r -> %r" % (script, reply))
        return reply.message

    def test_globals_are_read_only(self):
        for script in ("x = 1", "_G.o = 1", "_G['y'] = 2", "redis = nil", "KEYS = {}", "string = {}"):
            self.assertEqual(self.eval_error(script), script_error(READONLY, script))

    def test_reading_an_undefined_global_is_an_error(self):
        script = "return y"
        self.assertEqual(self.eval_error(script), script_error(
            "Script attempted to access nonexistent global variable 'y'", script))

    def test_libraries_and_redis_are_read_only(self):
        for script in ("redis.call = function() return 'spied' end", "redis.pcall = nil",
                       "redis.foo = 1", "string.upper = nil", "string.x = 1", "math.pi = 3",
                       "table.insert = nil"):
            self.assertEqual(self.eval_error(script), script_error(READONLY, script))
        # rawset and setmetatable refuse from inside the builtin (no position in the message).
        for script in ("rawset(_G, 'o', 1)", "rawset(redis, 'call', nil)",
                       "rawset(string, 'upper', nil)", "setmetatable(_G, nil)",
                       "setmetatable(string, {})"):
            self.assertEqual(self.eval_error(script), script_error(READONLY, script, position=False))

    def test_the_string_metatable_cannot_change(self):
        for script in ("getmetatable('').__index.upper = function() return 'PWNED' end",
                       "local m = getmetatable('') m.__index = {}",
                       "getmetatable('').__add = 1"):
            self.assertEqual(self.eval_error(script), script_error(READONLY, script))
        self.assertEqual(self.rb.eval("return ('abc'):upper()", 0), b"ABC")
        self.assertEqual(self.rb.eval("return getmetatable('').__index == string", 0), 1)

    def test_no_os_io_or_module_loading(self):
        for name in ("os", "io", "dofile", "loadfile", "require", "print", "debug", "package"):
            script = "return type(%s)" % name
            self.assertEqual(self.eval_error(script), script_error(
                "Script attempted to access nonexistent global variable '%s'" % name, script))

    def test_loadstring_compiles_text_never_bytecode(self):
        self.assertIsNone(self.rb.eval("return loadstring(string.dump(function() return 1 end))", 0))
        self.assertEqual(self.rb.eval("return loadstring('return 40 + 2')()", 0), 42)
        # A loaded chunk runs in the same read-only globals.
        self.assertEqual(self.rb.eval("local ok, e = pcall(loadstring('x = 1')) return e", 0),
                         b'[string "x = 1"]:1: ' + READONLY.encode())
        script = "return load('return 1')"
        self.assertEqual(self.eval_error(script), script_error(
            "bad argument #1 to 'load' (function expected, got string)", script))

    def test_what_scripts_may_still_do(self):
        self.assertEqual(self.rb.eval("KEYS[1] = 'changed' return KEYS[1]", 1, "k"), b"changed")
        self.assertEqual(self.rb.eval("return KEYS[1]", 1, "k"), b"k")
        self.assertEqual(self.rb.eval("local t = setmetatable({}, {__index = function() return 5 end}) "
                                      "return t.x", 0), 5)
        self.assertEqual(self.rb.eval("local n = 0 for k, v in pairs(string) do n = n + 1 end "
                                      "return n > 10", 0), 1)
        self.assertEqual(self.rb.eval("return next(string) ~= nil and rawget(_G, 'redis') ~= nil", 0), 1)
        self.assertEqual(self.rb.eval("return {unpack({1, 2, 3})}", 0), [1, 2, 3])
        self.assertEqual(self.rb.eval("return _G._G == _G", 0), 1)

    def test_a_script_cannot_spy_on_the_next(self):
        """The attack: replace redis.call with a logger, then read what the next scripts called.
        Several connections, several times each, so every serving thread's Lua state is tried."""
        spy = ("if not _G.o then _G.o = redis.call; _G.log = {} end "
               "redis.call = function(...) table.insert(_G.log, table.concat({...}, ' ')) "
               "return _G.o(...) end")
        tries = ("redis.call = nil", "string.upper = function() return 'PWNED' end",
                 "getmetatable('').__index = {}", "rawset(_G, 'log', {})", "setmetatable(_G, {})",
                 "_G.o = 1", "math.floor = nil")
        attempt = " ".join("pcall(function() %s end)" % t for t in tries)
        conns = [self.raw() for _ in range(4)]
        for _ in range(5):
            for c in conns:
                reply = c.command("EVAL", spy, "0")
                self.assertEqual(reply, RespError(script_error(
                    "Script attempted to access nonexistent global variable 'o'", spy)))
                self.assertIsNone(c.command("EVAL", attempt, "0"))
        for c in conns:
            self.assertEqual(c.command("EVAL", "return redis.call('SET', KEYS[1], ARGV[1])", "1",
                                       "pw", "hunter2"), b"OK")
            reply = c.command("EVAL", "return _G.log", "0")
            self.assertEqual(reply, RespError(script_error(
                "Script attempted to access nonexistent global variable 'log'", "return _G.log")))
            self.assertEqual(c.command("EVAL", "return {type(redis.call), string.upper('a'), "
                                       "('b'):upper(), tostring(rawget(_G, 'o')), math.floor(2.5)}",
                                       "0"), [b"function", b"A", b"B", b"nil", 2])

    def test_errors_say_where_the_script_raised_them(self):
        self.rb.set("s", "abc")
        script = "error('boom')"
        self.assertEqual(self.eval_error(script), script_error("boom", script))
        script = "local x = 1\n\nreturn redis.call('INCR', KEYS[1])"
        self.assertEqual(self.eval_error(script, "s"), script_error(
            "value is not an integer or out of range", script, line=3, position=False))
        # An error reply the script returns is the reply as it is.
        self.assertEqual(self.eval_error("return redis.pcall('INCR', KEYS[1])", "s"),
                         "ERR value is not an integer or out of range")


if __name__ == "__main__":
    unittest.main()
