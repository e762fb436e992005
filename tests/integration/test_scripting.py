"""EVAL, EVALSHA and SCRIPT: Lua stored procedures (written against redis-server 7.0, run
against both). lfdb runs a script it has not learnt yet alone, then on the colors of its declared
keys when that first run stayed within them, and alone for good when it reached further; only a
script learnt on its keys that reaches further after it wrote gets an error (once), so that test
is lfdb's alone."""

import hashlib
import signal
import socket
import threading
import time
import unittest

import redis

from lfdb_testlib import (Closed, RawConnection, RespError, ServerProcess, ServerTestCase,
                          SideBySideTestCase, Timeout, encode_command, is_lfdb, is_redis, lfdb_arg)


def sha1(script):
    return hashlib.sha1(script.encode()).hexdigest()


def script_error(message, script, line=1, position=True):
    """Redis 7's reply to a script that raised `message` on `line` (`position`: the message
    carries Lua's "user_script:N: " prefix, as errors raised by the script's own code do)."""
    where = "user_script:%d: " % line if position else ""
    return "ERR %s%s script: %s, on @user_script:%d." % (where, message, sha1(script), line)


READONLY = "Attempt to modify a readonly table"
LOOP = "while true do end"
# Loops until its key says stop: its first run (the key set) ends, so the server learns that it
# stays on its keys, and later runs on other keys loop side by side, one per serving thread
# (a script not learnt yet, like LOOP, runs alone: the others wait for it without a thread).
LEARNT = "while redis.call('GET', KEYS[1]) ~= 'stop' do end return 1"
KILLED = "ERR Script killed by user with SCRIPT KILL... script: %s, on @user_script:1." % sha1(LOOP)
BUSY = "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."

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

    def test_undeclared_keys_and_keyspace_commands(self):
        """Redis (outside cluster mode) lets a script reach keys it did not declare and call
        KEYS or FLUSHDB; lfdb runs such a script again alone, then alone from the start."""
        self.rb.set("other", "v")
        for _ in range(2):  # the second call runs alone from the start
            self.assertEqual(self.rb.eval("return redis.call('GET', 'other')", 1, "mine"), b"v")
            self.assertEqual(self.rb.eval("redis.call('SET', 'made', '1') "
                                          "return redis.call('KEYS', 'made*')", 0), [b"made"])
        self.assertEqual(self.rb.eval("redis.call('FLUSHDB') return redis.call('DBSIZE')", 0), 0)
        self.assertIsNone(self.rb.get("other"))

    def test_a_script_stopped_to_start_over_runs_its_effects_once(self):
        """Lua's pcall catches the undeclared GET's error, yet the first run goes no further:
        the INCR runs once, in the second run."""
        script = "pcall(redis.call, 'GET', 'far') return redis.call('INCR', KEYS[1])"
        self.assertEqual(self.rb.eval(script, 1, "near"), 1)
        self.assertEqual(self.rb.get("near"), b"1")
        script = "redis.pcall('GET', 'far2') return redis.call('INCR', KEYS[1])"
        self.assertEqual(self.rb.eval(script, 1, "near2"), 1)

    def test_an_undeclared_push_wakes_a_blocked_client(self):
        got = []
        waiter = threading.Thread(target=lambda: got.append(
            self.client(socket_timeout=60).blpop("jobs", timeout=30)))
        waiter.start()
        deadline = time.monotonic() + 30
        while int(self.rb.info("clients")["blocked_clients"]) != 1:
            self.assertLess(time.monotonic(), deadline, "BLPOP did not block")
            time.sleep(0.02)
        self.assertEqual(self.rb.eval("return redis.call('RPUSH', 'jobs', 'j1')", 0), 1)
        waiter.join(30)
        self.assertEqual(got, [("jobs", "j1")])

    @unittest.skipUnless(is_lfdb() and lfdb_arg("data") != "global",
                         "redis-server (and lfdb under --data global) runs any script on any key")
    def test_a_script_learnt_on_its_keys_that_reaches_past_after_a_write_is_refused_once(self):
        """A script's first call runs alone and teaches lfdb whether it stays within its keys.
        One that did (here: ARGV[1] is empty) runs on its keys' colors from then on; if a later
        call reaches past them after it wrote, it cannot start over: an error (its write stays,
        as after any script error), and it runs alone from its next call on."""
        script = ("redis.call('SET', KEYS[1], 'x') "
                  "if ARGV[1] == '' then return 'mine' end return redis.call('GET', ARGV[1])")
        self.rb.set("far", "f")
        self.assertEqual(self.rb.eval(script, 1, "near", ""), b"mine")  # learnt: on its colors
        self.rb.delete("near")
        with self.assertRaises(redis.ResponseError) as e:
            self.rb.eval(script, 1, "near", "far")
        self.assertIn("not among its KEYS", str(e.exception))
        self.assertIn("alone from its next call on", str(e.exception))
        self.assertEqual(self.rb.get("near"), b"x")
        self.assertEqual(self.rb.eval(script, 1, "near", "far"), b"f")
        p = self.rb.pipeline(transaction=True)  # known now: inside MULTI too
        p.eval(script, 1, "near", "far")
        self.assertEqual(p.execute(), [b"f"])
        # The same script's SHA1 is the same script: EVALSHA runs it alone too.
        self.assertEqual(self.rb.evalsha(sha1(script), 1, "near", "far"), b"f")

    def test_inside_multi(self):
        p = self.rb.pipeline(transaction=True)
        p.set("k", 1)
        p.eval("return redis.call('INCR', KEYS[1])", 1, "k")
        self.assertEqual(p.execute(), [True, 2])


@unittest.skipUnless(is_lfdb(), "side by side: lfdb-server next to redis-server")
class ReachPastOnFirstCall(SideBySideTestCase):
    """BullMQ's pattern: a script writes a declared key, then reaches a key it builds from a
    prefix in ARGV (allowed outside cluster mode). Its FIRST call answers on lfdb-server as on
    redis-server: lfdb runs a script it has not learnt yet alone."""

    ADD = ("local id = redis.call('INCR', KEYS[1]) "
           "local job = ARGV[1] .. id "
           "redis.call('HSET', job, 'data', ARGV[2]) "
           "redis.call('RPUSH', KEYS[2], id) "
           "return {id, redis.call('HGETALL', job), redis.call('EXISTS', ARGV[1] .. 'paused')}")
    LIBRARY = ("#!lua name=jobs%s\n"
               "redis.register_function('add%s', function(keys, args) "
               "local id = redis.call('INCR', keys[1]) "
               "redis.call('HSET', args[1] .. id, 'data', args[2]) "
               "return {id, redis.call('HGET', args[1] .. id, 'data')} end)")

    def setUp(self):
        self.conns = {name: RawConnection(s.port, timeout=10) for name, s in self.servers.items()}
        self.each("FLUSHALL")
        self.each("SCRIPT", "FLUSH")
        self.each("FUNCTION", "FLUSH")

    def tearDown(self):
        for c in self.conns.values():
            c.close()

    def each(self, *cmd):
        """Runs cmd on both servers; asserts the same reply (or error) and returns it."""
        got = {name: c.command(*cmd) for name, c in self.conns.items()}  # errors: RespError
        self.assertEqual(got["lfdb"], got["redis"], cmd)
        return got["lfdb"]

    def test_eval_and_evalsha_first_calls(self):
        sha = self.each("SCRIPT", "LOAD", self.ADD)
        self.assertEqual(self.each("EVALSHA", sha, 2, "q:id", "q:wait", "q:", "a"),
                         [1, [b"data", b"a"], 0])
        other = self.ADD + " -- another script"
        self.assertEqual(self.each("EVAL", other, 2, "q:id", "q:wait", "q:", "b")[0], 2)
        self.each("EVALSHA", sha, 2, "q:id", "q:wait", "q:", "c")  # its second call
        self.each("HGETALL", "q:2")
        self.each("LRANGE", "q:wait", 0, -1)

    def test_fcall_first_call_and_after_a_replace(self):
        self.each("FUNCTION", "LOAD", self.LIBRARY % ("", ""))
        self.assertEqual(self.each("FCALL", "add", 1, "q:id", "q:", "a"), [1, b"a"])
        # A new library, and the old one replaced: lfdb learns their functions again.
        self.each("FUNCTION", "LOAD", self.LIBRARY % ("2", "2"))
        self.assertEqual(self.each("FCALL", "add2", 1, "q:id", "q:", "b"), [2, b"b"])
        self.each("FUNCTION", "LOAD", "REPLACE",
                  (self.LIBRARY % ("", "")).replace("return {id", "redis.call('SET', 'q:last', id) return {id"))
        self.assertEqual(self.each("FCALL", "add", 1, "q:id", "q:", "c"), [3, b"c"])
        self.each("GET", "q:last")

    def test_an_unlearnt_script_inside_multi(self):
        self.each("MULTI")
        self.each("SET", "q:id", 41)
        self.each("EVAL", self.ADD, 2, "q:id", "q:wait", "q:", "m")
        self.assertEqual(self.each("EXEC"), [b"OK", [42, [b"data", b"m"], 0]])

    def test_script_flush_forgets_what_was_learnt(self):
        """A script learnt on its keys' colors (its first call stays within them), then
        forgotten by SCRIPT FLUSH: its next first call reaches past after a write, and succeeds."""
        script = ("redis.call('SET', KEYS[1], 'x') "
                  "if ARGV[1] == '' then return 'mine' end return redis.call('SET', ARGV[1], 'y')")
        self.each("EVAL", script, 1, "k", "")
        self.each("SCRIPT", "FLUSH")
        self.assertEqual(self.each("EVAL", script, 1, "k", "far"), b"OK")
        self.each("GET", "far")


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

    def test_a_refused_eval_keeps_no_script(self):
        refused = [("return 1 +", "0"), ("return 71", "2", "a"), ("return 72", "-1"), ("return 73", "x"),
                   ("#!lua flags=nosuch\nreturn 1", "0"), ("#!lua", "0")]
        for script, *rest in refused:
            self.assertIsInstance(self.call("EVAL", script, *rest), RespError, script)
            self.assertEqual(self.call("SCRIPT", "EXISTS", hashlib.sha1(script.encode()).hexdigest()), [0], script)

    def test_eval_errors_as_redis_orders_them(self):
        unknown = "0123456789" * 4
        for args, error in (((unknown, "x"), "ERR value is not an integer or out of range"),
                            ((unknown, "5"), "ERR Number of keys can't be greater than number of args"),
                            ((unknown, "0"), "NOSCRIPT No matching script. Please use EVAL."),
                            (("short", "x"), "NOSCRIPT No matching script. Please use EVAL.")):
            self.assertErrorReply(error, "EVALSHA", *args)
        for script, error in (("#!lua", "ERR Invalid script shebang"),
                              ("#!LUA\nreturn 1", "ERR Unexpected engine in script shebang: #!LUA"),
                              ("#!lua flags=no-writes,\nreturn 1", "ERR Unexpected flag in script shebang: "),
                              ("#!lua foo\nreturn 1", "ERR Unknown lua shebang option: foo")):
            self.assertErrorReply(error, "EVAL", script, "0")
        self.assertEqual(self.call("EVAL", "#!lua flags=\nreturn 1", "0"), 1)
        self.assertErrorReply("ERR SCRIPT FLUSH only support SYNC|ASYNC option", "SCRIPT", "FLUSH", "LAZY")

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
        """SCRIPT KILL, answered once the script is past the busy threshold, on a new
        connection each time (a reply that does not come in time is retried elsewhere)."""
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


def model():
    return lfdb_arg("model", "lf") if is_lfdb() else "redis"


def serving_threads():
    """How many looping scripts take every serving thread: redis-server runs one at a time."""
    return int(lfdb_arg("threads", "2")) if model() not in ("redis", "reactor") else 1


def exact_busy():
    """Whether the looping scripts surely hold every thread that could read a connection: under
    lf-multi a connection may land in a handle set whose thread is free, so other clients may be
    served rather than told BUSY."""
    return model() in ("redis", "lf", "reactor")


def needs_hook_service(test):
    return unittest.skipIf(model() in ("hsha", "tpc"),
                           "tpc gives every connection a thread (there is no running out of them); "
                           "under hsha a busy script's hook serves nothing (docs/server.md)")(test)


def start_loopers(port, n, script=LOOP, written=0):
    """n connections, each running a script that never ends on keys of its own (the first
    `written` of them write first)."""
    loopers = []
    for i in range(n):
        c = RawConnection(port, timeout=60)
        body = ("redis.call('SET', KEYS[1], 'half') " + script) if i < written else script
        c.send_command("EVAL", body, "1", "{s%d}a" % i)
        loopers.append(c)
    return loopers


def until_busy(test, port):
    """PING on fresh connections until one is answered BUSY. Before the scripts are busy a PING
    waits (every thread is in a script) or is served (a thread is still free)."""
    deadline = time.monotonic() + 60
    while True:
        test.assertLess(time.monotonic(), deadline, "never answered BUSY")
        with RawConnection(port, timeout=30) as c:
            reply = c.command("PING")
        if reply == RespError(BUSY):
            return
        test.assertEqual(reply, b"PONG")
        time.sleep(0.05)


def learn_script(r):
    """Runs LEARNT once to its end, so the server knows it stays on its keys."""
    r.set("{learn}a", "stop")
    assert r.eval(LEARNT, 1, "{learn}a") == 1


def kill_loopers(test, port, loopers):
    """SCRIPT KILL until every looper has its reply: OK the first time (a script is busy); a
    script that was not busy yet is left alone and killed by a later SCRIPT KILL (which waits
    for it to be busy). Returns the loopers' replies."""
    replies = []
    left = list(loopers)
    first = True
    deadline = time.monotonic() + 60
    while left:
        test.assertLess(time.monotonic(), deadline, "the scripts were not killed")
        with RawConnection(port, timeout=30) as c:
            reply = c.command("SCRIPT", "KILL")
        if first:
            test.assertEqual(reply, b"OK")
            first = False
        still = []
        for c in left:
            try:
                replies.append(c.read_parsed(timeout=2))
                c.close()
            except Timeout:
                still.append(c)
        left = still
    return replies


def no_script_left(test, port):
    """After a test, whatever it left running: SCRIPT KILL until NOTBUSY."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with RawConnection(port, timeout=30) as c:
                if c.command("SCRIPT", "KILL") == RespError("NOTBUSY No scripts in execution right now."):
                    return
        except (Timeout, Closed):
            pass
        time.sleep(0.1)
    test.fail("a script is still running")


def until_closed(conn, timeout=30):
    """Replies until the server closes the connection (a script killed at shutdown may be
    answered first)."""
    replies = []
    deadline = time.monotonic() + timeout
    while True:
        try:
            replies.append(conn.read_parsed(timeout=max(0.1, deadline - time.monotonic())))
        except Closed:
            return replies


@needs_hook_service
class Busy(ServerTestCase):
    """As many looping scripts as serving threads: the server keeps answering, as Redis does
    (BUSY, except SCRIPT KILL, SHUTDOWN NOSAVE and a connection's own commands)."""

    threshold_ms = 500

    def setUp(self):
        super().setUp()
        self.r.config_set("busy-reply-threshold", self.threshold_ms)

    def tearDown(self):
        no_script_left(self, self.port)
        self.r.config_set("busy-reply-threshold", 5000)
        super().tearDown()

    def test_every_thread_looping_still_answers(self):
        loopers = start_loopers(self.port, serving_threads())
        until_busy(self, self.port)
        if exact_busy():
            with RawConnection(self.port, timeout=30) as c:
                for cmd in (("GET", "x"), ("MULTI",), ("SET", "x", "1"), ("EXEC",), ("DISCARD",),
                            ("HELLO", "2")):
                    c.send_command(*cmd)
                replies = [c.read_parsed() for _ in range(6)]
            self.assertEqual(replies[:5], [
                RespError(BUSY), b"OK", RespError(BUSY),
                RespError("EXECABORT Transaction discarded because of: " + BUSY),
                RespError("ERR DISCARD without MULTI")])
            self.assertIsInstance(replies[5], list)  # HELLO answers (RESP2: a flat array)
        for reply in kill_loopers(self, self.port, loopers):
            if exact_busy():
                self.assertEqual(reply, RespError(KILLED))
            else:  # a second script may have met a busy first one in its handle set
                self.assertIn(reply, (RespError(KILLED), RespError(BUSY)))
        self.assertEqual(self.r.ping(), True)
        with RawConnection(self.port) as c:
            self.assertEqual(c.command("SCRIPT", "KILL"),
                             RespError("NOTBUSY No scripts in execution right now."))

    def test_every_thread_in_a_learnt_script_still_answers(self):
        """As many scripts as serving threads loop at once (learnt, on keys of their own): the
        server still answers, BUSY and SCRIPT KILL (redis-server: the first loops, the others
        are answered BUSY)."""
        learn_script(self.r)
        loopers = start_loopers(self.port, serving_threads(), script=LEARNT)
        until_busy(self, self.port)
        with RawConnection(self.port, timeout=30) as c:
            self.assertEqual(c.command("GET", "x"), RespError(BUSY))
        killed = RespError("ERR Script killed by user with SCRIPT KILL... script: %s, on @user_script:1."
                           % sha1(LEARNT))
        for reply in kill_loopers(self, self.port, loopers):
            self.assertIn(reply, (killed, RespError(BUSY)))
        self.assertEqual(self.r.ping(), True)

    @unittest.skipUnless(exact_busy(), "SHUTDOWN could be served by a free thread and stop the server")
    def test_shutdown_without_nosave_is_refused_while_busy(self):
        loopers = start_loopers(self.port, serving_threads())
        until_busy(self, self.port)
        with RawConnection(self.port, timeout=30) as c:
            self.assertEqual(c.command("SHUTDOWN"), RespError(BUSY))
            self.assertEqual(c.command("SHUTDOWN", "SAVE"), RespError(BUSY))
        self.assertEqual(kill_loopers(self, self.port, loopers), [RespError(KILLED)] * len(loopers))

    @unittest.skipUnless(is_lfdb(), "redis-server runs on a script whose client has gone")
    def test_the_scripts_of_a_client_that_hung_up_are_stopped(self):
        """A client pipelines looping scripts and a SET, and goes: once busy the running script
        is stopped (nobody waits for its reply), the others are not run, the SET is."""
        s = socket.create_connection(("127.0.0.1", self.port))
        s.sendall(b"".join(encode_command("EVAL", LOOP, "1", "{gone}a") for _ in range(3))
                  + encode_command("SET", "{gone}done", "1"))
        time.sleep(0.2)
        s.close()
        deadline = time.monotonic() + 60
        while True:
            try:
                if self.r.get("{gone}done") == "1":
                    break
            except redis.ResponseError as e:  # BUSY until the script is stopped
                self.assertEqual(str(e), BUSY)
            self.assertLess(time.monotonic(), deadline, "the gone client's scripts kept running")
            time.sleep(0.05)

    def test_other_keys_are_busy_too(self):
        """While a script is busy, Redis answers BUSY to every other command, whatever keys it
        names; EXEC then aborts its transaction."""
        looper = RawConnection(self.port, timeout=60)
        looper.send_command("EVAL", LOOP, "1", "{loop}a")
        until_busy(self, self.port)
        with RawConnection(self.port, timeout=30) as c:
            for cmd in (("GET", "elsewhere"), ("MULTI",), ("INCR", "elsewhere"), ("EXEC",)):
                c.send_command(*cmd)
            self.assertEqual([c.read_parsed() for _ in range(4)], [
                RespError(BUSY), b"OK", RespError(BUSY),
                RespError("EXECABORT Transaction discarded because of: " + BUSY)])
        self.assertEqual(kill_loopers(self, self.port, [looper]), [RespError(KILLED)])
        self.assertIsNone(self.r.get("elsewhere"))

    def test_a_client_flooding_behind_its_own_busy_script_leaves_the_others_served(self):
        """A client sends a looping script and, behind it, more bytes than lfdb's completion
        set has receive buffers (one 6 MB SET): the others are still read (BUSY, then SCRIPT
        KILL); the flood is read once the script is gone. (Its bytes once took every buffer of
        the ring while the script ran, and no other connection was read.)"""
        flooder = RawConnection(self.port, timeout=60)
        flood = encode_command("EVAL", LOOP, "1", "{flood}a") + encode_command("SET", "{flood}b", "x" * (6 << 20))
        sent = [0]

        def send():
            for i in range(0, len(flood), 1 << 16):
                flooder.send(flood[i:i + (1 << 16)])
                sent[0] = i + (1 << 16)

        sender = threading.Thread(target=send, daemon=True)
        sender.start()
        # Until the server takes no more of it (or all of it): then the others' requests come.
        deadline = time.monotonic() + 30
        last = -1
        while sender.is_alive() and sent[0] != last and time.monotonic() < deadline:
            last = sent[0]
            time.sleep(0.2)
        until_busy(self, self.port)
        with RawConnection(self.port, timeout=30) as c:
            self.assertEqual(c.command("PING"), RespError(BUSY))
            self.assertEqual(c.command("SCRIPT", "KILL"), b"OK")
        self.assertEqual(flooder.read_parsed(timeout=60), RespError(KILLED))
        self.assertEqual(flooder.read_parsed(timeout=60), b"OK")
        sender.join(60)
        flooder.close()
        self.assertEqual(self.r.strlen("{flood}b"), 6 << 20)

    def test_many_clients_flooding_while_a_script_is_busy_are_all_answered(self):
        """Sixteen clients each send a 1 MB SET at once while a script is busy (four times what lfdb's
        completion set has receive buffers: their recvs run out, ENOBUFS): every one is read in
        full and answered BUSY, none waits for the script to end, then SCRIPT KILL."""
        looper = RawConnection(self.port, timeout=60)
        looper.send_command("EVAL", LOOP, "1", "{many}a")
        until_busy(self, self.port)
        flooders = [RawConnection(self.port, timeout=60) for _ in range(16)]
        senders = [threading.Thread(target=c.send, args=(encode_command("SET", "{many}%d" % i, "y" * (1 << 20)),),
                                    daemon=True) for i, c in enumerate(flooders)]
        for t in senders:
            t.start()
        for c in flooders:
            self.assertEqual(c.read_parsed(timeout=60), RespError(BUSY))
        for t in senders:
            t.join(60)
        for c in flooders:
            c.close()
        self.assertEqual(kill_loopers(self, self.port, [looper]), [RespError(KILLED)])
        self.assertEqual(self.r.exists(*["{many}%d" % i for i in range(16)]), 0)

    def wait_running(self):
        """Until the looping script has started (lfdb: its connection's command is EVAL; one
        thread is still free to say so). redis-server (and the single reactor) read nothing
        meanwhile: a pause, after which they read the EVAL sent before the SCRIPT KILL first."""
        if model() != "lf":
            time.sleep(0.3)
            return
        deadline = time.monotonic() + 30
        while "cmd=eval" not in self.r.execute_command("CLIENT", "LIST"):
            self.assertLess(time.monotonic(), deadline, "the script did not start")
            time.sleep(0.02)
        time.sleep(0.1)

    @unittest.skipIf(model() == "lf-multi", "no way to see the script start from the other handle set")
    def test_script_kill_before_the_threshold_waits_for_it(self):
        """Redis answers a SCRIPT KILL sent before the script is busy once it is (it reads
        nothing until then): OK, and the script is killed; lfdb answered NOTBUSY at once."""
        self.r.config_set("busy-reply-threshold", 3000)
        looper = RawConnection(self.port, timeout=60)
        looper.send_command("EVAL", LOOP, "0")
        self.wait_running()
        with RawConnection(self.port, timeout=60) as killer:
            self.assertEqual(killer.command("SCRIPT", "KILL"), b"OK")
        self.assertEqual(looper.read_parsed(timeout=30), RespError(KILLED))
        looper.close()

    @unittest.skipIf(model() == "lf-multi", "no way to see the script start from the other handle set")
    def test_script_kill_before_the_threshold_of_a_script_that_ends(self):
        self.r.config_set("busy-reply-threshold", 10000)
        script = ("local t0 = tonumber(redis.call('TIME')[1]) "
                  "while tonumber(redis.call('TIME')[1]) - t0 < 2 do end return 5")
        looper = RawConnection(self.port, timeout=60)
        looper.send_command("EVAL", script, "0")
        self.wait_running()
        with RawConnection(self.port, timeout=60) as killer:
            self.assertEqual(killer.command("SCRIPT", "KILL"),
                             RespError("NOTBUSY No scripts in execution right now."))
        self.assertEqual(looper.read_parsed(timeout=30), 5)
        looper.close()


@needs_hook_service
class ShutdownStopsScripts(unittest.TestCase):
    """SHUTDOWN NOSAVE (and, in lfdb, SIGTERM) ends the server whatever its scripts do; a script
    stopped after it wrote leaves nothing on disk."""

    def start(self, sp=None):
        if sp is None:
            sp = ServerProcess([("busy-reply-threshold", 500), ("appendonly", "yes")])
            self.addCleanup(sp.stop)
        sp.start()
        return sp

    def wait_exit(self, sp):
        try:
            sp.proc.wait(60)
        except Exception:
            self.fail("the server did not exit\n----- log -----\n%s" % sp.log())
        last = "bye bye"
        self.assertIn(last, sp.log().strip().splitlines()[-1])

    def restart_and_get(self, sp, *keys):
        sp.stop(keep_dir=True)
        self.start(sp)
        r = redis.Redis(host="127.0.0.1", port=sp.port, socket_timeout=10)
        deadline = time.monotonic() + 30
        try:
            while True:
                try:
                    return r.mget(*keys)
                except redis.exceptions.BusyLoadingError:  # redis-server reads its log first
                    self.assertLess(time.monotonic(), deadline)
                    time.sleep(0.05)
        finally:
            r.close()

    def test_shutdown_nosave_with_every_thread_looping(self):
        self.shutdown_nosave_with_every_thread_in(self.start())

    def test_shutdown_nosave_with_every_thread_in_a_learnt_script(self):
        sp = self.start()
        r = redis.Redis(host="127.0.0.1", port=sp.port, socket_timeout=30)
        learn_script(r)
        r.close()
        self.shutdown_nosave_with_every_thread_in(sp, script=LEARNT)

    def shutdown_nosave_with_every_thread_in(self, sp, **looper_options):
        loopers = start_loopers(sp.port, serving_threads(), **looper_options)
        until_busy(self, sp.port)
        with RawConnection(sp.port, timeout=30) as c:
            c.send_command("SHUTDOWN", "NOSAVE")
            until_closed(c)
        self.wait_exit(sp)
        for c in loopers:
            until_closed(c)
            c.close()

    def test_shutdown_nosave_after_a_script_wrote(self):
        """SCRIPT KILL answers UNKILLABLE; SHUTDOWN NOSAVE then exits, and the half-done script
        is not in the append-only log."""
        sp = self.start()
        r = redis.Redis(host="127.0.0.1", port=sp.port, socket_timeout=30)
        r.set("before", "1")
        looper = start_loopers(sp.port, 1, written=1)[0]
        deadline = time.monotonic() + 60
        while True:  # NOTBUSY: the script has not started yet (another thread took SCRIPT KILL)
            self.assertLess(time.monotonic(), deadline)
            with RawConnection(sp.port, timeout=60) as c:
                reply = c.command("SCRIPT", "KILL")
            if reply != RespError("NOTBUSY No scripts in execution right now."):
                break
            time.sleep(0.05)
        self.assertIsInstance(reply, RespError)
        self.assertTrue(reply.message.startswith(
            "UNKILLABLE Sorry the script already executed write commands against the dataset."),
            reply.message)
        with RawConnection(sp.port, timeout=30) as c:
            c.send_command("SHUTDOWN", "NOSAVE")
            until_closed(c)
        self.wait_exit(sp)
        until_closed(looper)
        looper.close()
        r.close()
        self.assertEqual(self.restart_and_get(sp, "before", "{s0}a"), [b"1", None])

    @unittest.skipUnless(is_lfdb(), "redis-server acts on SIGTERM only once its script ends")
    def test_sigterm_with_every_thread_looping(self):
        """Once the scripts are busy they are stopped (the one that wrote, abandoned: no log
        record, no snapshot) and the server exits."""
        sp = self.start()
        r = redis.Redis(host="127.0.0.1", port=sp.port, socket_timeout=30)
        r.set("before", "1")
        r.close()
        # Every looper writes first: under lf-multi two of them can land in one handle set, so
        # the one that runs may be any of them (with only the first writing, it failed 1 in 5).
        n = serving_threads()
        loopers = start_loopers(sp.port, n, written=n)
        until_busy(self, sp.port)
        sp.proc.send_signal(signal.SIGTERM)
        self.wait_exit(sp)
        self.assertIn("a script that had written was stopped by the shutdown", sp.log())
        for c in loopers:
            until_closed(c)
            c.close()
        keys = ["{s%d}a" % i for i in range(n)]
        self.assertEqual(self.restart_and_get(sp, "before", *keys), [b"1"] + [None] * n)


if __name__ == "__main__":
    unittest.main()
