"""FUNCTION and FCALL, and the script flags (EVAL_RO, EVALSHA_RO, `#!lua flags=`),
differentially: every command runs on a redis-server 7.0 and on the lfdb-server under test,
started side by side, and their replies (errors included) must be equal. FUNCTION LIST's
functions are compared sorted by name (Redis keeps them in a hash table). Then lfdb's own
guarantees: libraries survive a restart (from the log, from a snapshot, from a rewritten log)
and reach replicas (streamed, and by a full resync). Runs only against lfdb-server (it starts
the redis peer itself)."""

import threading
import time
import unittest

import redis

from lfdb_testlib import HOST, RawConnection, REDIS_SERVER, RespError, SideBySideTestCase, is_lfdb
from test_replication import FixedPortServer, wait_caught_up, wait_for


LIB = """#!lua name=mylib
local function helper(x) return 'helped ' .. x end
redis.register_function('myfunc', function(keys, args) return {keys[1], args[1], helper(args[1])} end)
redis.register_function{function_name='ro', callback=function(keys, args) return redis.call('get', keys[1]) end, flags={'no-writes'}}
redis.register_function{function_name='wr', callback=function(keys, args) return redis.call('set', keys[1], args[1]) end}
redis.register_function{function_name='err', callback=function(keys, args) return error('boom') end, description='fails'}
redis.register_function{function_name='stale', callback=function() return 1 end, flags={'allow-stale', 'no-cluster', 'allow-oom', 'allow-cross-slot-keys'}}
"""
OTHER = """#!lua name=other
redis.register_function('other_f', function(keys, args) return cjson.encode({n = tonumber(args[1])}) end)
"""


def lib(name, body):
    return "#!lua name=%s\n%s" % (name, body)


# Commands whose replies must be equal, run in order on both servers (state carries over).
STEPS = [
    ("FUNCTION", "LOAD", LIB),
    ("FUNCTION", "LOAD", LIB),
    ("FUNCTION", "LOAD", "REPLACE", LIB),
    ("FUNCTION", "LOAD", OTHER),
    ("FCALL", "myfunc", "1", "k", "a"),
    ("FCALL", "nofunc", "0"),
    ("FCALL", "MYFUNC", "1", "k", "case"),
    ("FCALL", "Err", "0"),
    ("FCALL_RO", "RO", "1", "k"),
    ("FCALL", "myfunc", "2", "k"),
    ("FCALL", "myfunc", "-1"),
    ("FCALL", "myfunc", "x"),
    ("FCALL_RO", "wr", "1", "k", "v"),
    ("FCALL_RO", "ro", "1", "k"),
    ("FCALL_RO", "wr", "1", "k", "v"),
    ("FCALL", "err", "0"),
    ("FCALL", "wr", "1", "k", "v"),
    ("FCALL_RO", "ro", "1", "k"),
    ("FCALL", "ro", "1", "k"),
    ("FCALL", "other_f", "0", "42"),
    ("FCALL", "stale", "0"),
    ("EVAL_RO", "return redis.call('set', KEYS[1], 'x')", "1", "k"),
    # A read-only script's write is refused before anything looks at its keys (undeclared here).
    ("EVAL_RO", "return redis.call('set', 'undeclared', 'x')", "0"),
    ("FUNCTION", "LOAD", lib("nw", "redis.register_function{function_name='nw', callback=function() return redis.call('set', 'x', '1') end, flags={'no-writes'}}")),
    ("FCALL_RO", "nw", "0"),
    ("FUNCTION", "DELETE", "nw"),
    ("FUNCTION", "flush", "sync", "extra"),
    ("FUNCTION", "FLUSH", "bad"),
    # The header splits as Redis's config lines do: quotes around the name, unbalanced quotes.
    ("FUNCTION", "LOAD", "#!lua name=\"quoted\"\nredis.register_function('qf', function() return 1 end)"),
    ("FCALL", "qf", "0"),
    ("FUNCTION", "DELETE", "quoted"),
    ("FUNCTION", "LOAD", "#!lua name=\"open\nredis.register_function('qg', function() return 1 end)"),
    ("EVAL_RO", "return redis.call('get', KEYS[1])", "1", "k"),
    ("EVAL", "#!lua flags=no-writes\nreturn redis.call('set', KEYS[1], 'x')", "1", "k"),
    ("EVAL", "#!lua flags=no-writes,allow-oom\nreturn redis.call('get', KEYS[1])", "1", "k"),
    ("EVAL", "#!lua\nreturn redis.call('set', KEYS[1], 'y')", "1", "k"),
    ("EVAL", "#!lua flags=\nreturn 1", "0"),
    ("EVAL", "#!lua flags=bogus\nreturn 1", "0"),
    ("EVAL", "#!lua flags=no-writes flags=x\nreturn 2", "0"),
    ("EVAL", "#!js\nreturn 1", "0"),
    ("EVAL", "#!luax\nreturn 2", "0"),
    ("EVAL", "#!lua name=x\nreturn 1", "0"),
    ("EVAL", "#!lua\nreturn error('line two')", "0"),
    ("EVAL_RO", "#!lua\nreturn redis.call('get', KEYS[1])", "1", "k"),
    ("EVAL_RO", "#!lua flags=no-writes\nreturn redis.call('get', KEYS[1])", "1", "k"),
    ("SCRIPT", "LOAD", "#!lua flags=no-writes\nreturn redis.call('get', KEYS[1])"),
    ("EVALSHA_RO", "8b1ef4b0a1d2e2b4c8ed2d4b8a0b0b3a4c2f9f8e", "0"),
    ("FUNCTION", "DELETE", "nolib"),
    ("FUNCTION", "DELETE", "other"),
    ("FCALL", "other_f", "0", "1"),
    ("FUNCTION", "FLUSH", "bogus"),
    ("FUNCTION", "LIST", "bogus"),
    ("FUNCTION", "LIST", "LIBRARYNAME"),
    ("FUNCTION", "LIST", "WITHCODE", "WITHCODE"),
    ("FUNCTION", "STATS"),
    ("FUNCTION", "KILL"),
    ("FUNCTION", "HELP"),
    ("FUNCTION", "RESTORE", "bad"),
    ("FUNCTION", "RESTORE", "x" * 20, "BOGUS"),
    ("FUNCTION", "RESTORE", "a", "b", "c"),
    # Names: functions clash whatever their case, library names keep theirs. (Two functions of
    # one library differing only in case are left out: redis-server 7.0.15 accepts them and then
    # dies deleting the library.)
    ("FUNCTION", "LOAD", lib("other3", "redis.register_function('myFUNC', function() return 1 end)")),
    ("FUNCTION", "LOAD", lib("Dup", "redis.register_function('dupper', function() return 3 end)")),
    ("FUNCTION", "DELETE", "DUP"),
    ("FUNCTION", "DELETE", "Dup"),
    ("FUNCTION", "LOAD", lib("clash", "redis.register_function('MyFunc', function() return 1 end)")),
    ("FUNCTION", "LOAD", "return 1"),
    ("FUNCTION", "LOAD", "#!lua\nreturn 1"),
    ("FUNCTION", "LOAD", "#!lua name=a b=c\nreturn 1"),
    ("FUNCTION", "LOAD", "#!lua name=a-b\nreturn 1"),
    ("FUNCTION", "LOAD", "#!lua name=x name=y\nreturn 1"),
    ("FUNCTION", "LOAD", "#!js name=x\nreturn 1"),
    ("FUNCTION", "LOAD", lib("ok", "return 1")),
    ("FUNCTION", "LOAD", lib("ok", "redis.register_function('f2', function() end) redis.register_function('f2', function() end)")),
    ("FUNCTION", "LOAD", lib("ok", "redis.register_function('f-2', function() end)")),
    ("FUNCTION", "LOAD", lib("ok", "redis.register_function{function_name='f3', callback=function() end, flags={'bad'}}")),
    ("FUNCTION", "LOAD", lib("ok", "redis.register_function('myfunc', function() end)")),
    ("FUNCTION", "LOAD", lib("ok", "redis.call('set','x','y')")),
    # (Lua 5.4's syntax error messages are not Lua 5.1's: a compile error is compared by its prefix)
    ("FUNCTION", "LOAD", lib("ok", "redis.register_function()")),
    ("FUNCTION", "LOAD", lib("ok", "redis.register_function('a')")),
    ("FUNCTION", "LOAD", lib("ok", "redis.register_function({})")),
    ("FUNCTION", "LOAD", lib("ok", "redis.register_function{function_name='z', callback=function() end, bogus=1}")),
    ("FUNCTION", "LOAD", lib("ok", "redis.register_function{function_name='gg'}")),
    ("FUNCTION", "LOAD", lib("ok", "error('x')")),
    ("FUNCTION", "LOAD", lib("ok", "local x = KEYS")),
    ("FUNCTION", "LOAD", lib("ok", "x = 1")),
    ("FUNCTION", "LOAD", lib("ok", "redis.register_function('q', 1)")),
    ("FUNCTION", "LOAD", lib("ok", "redis.register_function(1, function() end)")),
    ("FUNCTION", "LOAD", lib("ok", "redis.register_function('a', function() end, 3)")),
    ("FUNCTION", "LOAD", lib("ok", "local v = redis.REDIS_VERSION .. redis.LOG_WARNING redis.log(redis.LOG_DEBUG, v) redis.register_function('okf', function() return v end)")),
    ("FCALL", "okf", "0"),
    ("FUNCTION", "LOAD", lib("lp", "while true do end")),
    ("FUNCTION", "DELETE", "ok"),
    ("FUNCTION", "STATS"),
    # register_function kept past its load (the loading `redis` table in a local) is refused
    # when a function calls it; the functions' own `redis` table has none.
    ("FUNCTION", "LOAD", lib("late", "local lib = redis\n"
                                     "lib.register_function('late1', function() lib.register_function('late2', function() return 2 end) return 1 end)\n"
                                     "redis.register_function('late3', function() return redis.register_function('late4', function() return 4 end) end)")),
    ("FCALL", "late1", "0"),
    ("FCALL", "late3", "0"),
    ("FCALL", "late2", "0"),
    ("FUNCTION", "DELETE", "late"),
]


def normalize(reply):
    """FUNCTION LIST's functions sorted by name: Redis's order is its hash table's."""
    if isinstance(reply, list) and reply and isinstance(reply[0], list) and b"library_name" in reply[0]:
        out = []
        for libinfo in reply:
            libinfo = list(libinfo)
            i = libinfo.index(b"functions")
            libinfo[i + 1] = sorted(libinfo[i + 1], key=lambda f: f[1])
            out.append(libinfo)
        return sorted(out, key=lambda l: l[1])
    return reply


@unittest.skipUnless(is_lfdb() and REDIS_SERVER, "differential: lfdb-server next to redis-server")
class FunctionsDiff(SideBySideTestCase):
    def both(self, *cmd):
        replies = []
        for server in (self.peer, self.lfdb):
            with RawConnection(server.port, timeout=10) as c:
                try:
                    replies.append(normalize(c.command(*cmd)))
                except RespError as e:
                    replies.append(e)
        return replies

    def setUp(self):
        self.both("FLUSHALL")
        self.both("FUNCTION", "FLUSH")

    def test_compile_error(self):
        a, b = self.both("FUNCTION", "LOAD", lib("ok", "syntax error here"))
        for e in (a, b):
            self.assertTrue(str(e).startswith("ERR Error compiling function: user_function:2: "), e)

    def test_same_replies(self):
        for step in STEPS:
            with self.subTest(step=step[:3]):
                a, b = self.both(*step)
                self.assertEqual(b, a)
        for listing in (("FUNCTION", "LIST"), ("FUNCTION", "LIST", "WITHCODE"),
                        ("FUNCTION", "LIST", "LIBRARYNAME", "my*"),
                        ("FUNCTION", "LIST", "libraryname", "zz", "withcode")):
            a, b = self.both(*listing)
            self.assertEqual(b, a)

    def test_past_maxmemory_the_script_flags_decide(self):
        """Past maxmemory a function or shebang script that may write is refused with OOM before
        it runs; no-writes and allow-oom ones run, and so do scripts without a shebang."""
        self.both("FUNCTION", "LOAD", LIB)
        self.both("SET", "k", "v" * 1000)
        ro = "#!lua flags=no-writes\nreturn redis.call('get', KEYS[1])"
        rw = "#!lua\nreturn redis.call('get', KEYS[1])"
        oom_ok = "#!lua flags=allow-oom\nreturn redis.call('get', KEYS[1])"
        self.both("SCRIPT", "LOAD", rw)
        sha = self.both("SCRIPT", "LOAD", rw)[0].decode()
        self.both("CONFIG", "SET", "maxmemory", "1")
        try:
            for cmd in (("FCALL", "wr", "1", "k", "x"), ("FCALL", "myfunc", "1", "k", "a"),
                        ("FCALL", "ro", "1", "k"), ("FCALL_RO", "ro", "1", "k"),
                        ("FCALL", "stale", "0"), ("EVAL", ro, "1", "k"), ("EVAL", rw, "1", "k"),
                        ("EVAL", oom_ok, "1", "k"), ("EVALSHA", sha, "1", "k"),
                        ("EVAL_RO", ro, "1", "k"), ("EVAL", "return redis.call('get', KEYS[1])", "1", "k"),
                        ("FCALL", "nosuch", "0")):
                with self.subTest(cmd=cmd[:2]):
                    a, b = self.both(*cmd)
                    self.assertEqual(b, a)
            self.assertEqual(self.both("FCALL", "wr", "1", "k", "x")[0],
                             RespError("OOM command not allowed when used memory > 'maxmemory'."))
        finally:
            self.both("CONFIG", "SET", "maxmemory", "0")

    def test_busy_function_and_the_kill_commands(self):
        """A looping function: FUNCTION STATS names it, BUSY names FUNCTION KILL, SCRIPT KILL
        is refused; a looping EVAL the other way round. Same replies from both servers."""
        loop = lib("loops", "redis.register_function('spin', function() local a = 1 "
                            "while true do a = a + 1 end end)")
        self.both("FUNCTION", "LOAD", loop)
        self.both("CONFIG", "SET", "busy-reply-threshold", "100")
        try:
            for start, wrong, right in (
                    (("FCALL", "spin", "0"), ("SCRIPT", "KILL"), ("FUNCTION", "KILL")),
                    (("EVAL", "local a = 1 while true do a = a + 1 end", "0"),
                     ("FUNCTION", "KILL"), ("SCRIPT", "KILL"))):
                with self.subTest(start=start[0]):
                    loopers = []
                    for server in (self.peer, self.lfdb):
                        c = RawConnection(server.port, timeout=30)
                        c.send_command(*start)
                        loopers.append(c)
                    for server in (self.peer, self.lfdb):  # until busy
                        deadline = time.monotonic() + 30
                        while True:
                            with RawConnection(server.port, timeout=30) as c:
                                if isinstance(c.command("PING"), RespError):
                                    break
                            self.assertLess(time.monotonic(), deadline, "never busy")
                            time.sleep(0.05)
                    replies = []
                    for server in (self.peer, self.lfdb):
                        with RawConnection(server.port, timeout=30) as c:
                            replies.append([c.command("PING"), c.command(*wrong)])
                    self.assertEqual(replies[1], replies[0])
                    self.assertEqual(self.both(*right), [b"OK", b"OK"])
                    for c in loopers:
                        self.assertIsInstance(c.read_parsed(timeout=30), RespError)
                        c.close()
            if is_lfdb():  # FUNCTION STATS while it runs (Redis answers only between commands)
                c = RawConnection(self.lfdb.port, timeout=30)
                c.send_command("FCALL", "spin", "0")
                deadline = time.monotonic() + 30
                with RawConnection(self.lfdb.port, timeout=30) as q:
                    while True:
                        stats = q.command("FUNCTION", "STATS")
                        if stats[1] is not None:
                            break
                        self.assertLess(time.monotonic(), deadline, "the function never ran")
                        time.sleep(0.02)
                self.assertEqual(stats[1][:4], [b"name", b"spin", b"command", [b"FCALL", b"spin", b"0"]])
                self.assertEqual(stats[1][4], b"duration_ms")
                deadline = time.monotonic() + 30
                while True:
                    with RawConnection(self.lfdb.port, timeout=30) as k:
                        if k.command("FUNCTION", "KILL") == b"OK":
                            break
                    self.assertLess(time.monotonic(), deadline, "never killed")
                    time.sleep(0.05)
                self.assertIsInstance(c.read_parsed(timeout=30), RespError)
                c.close()
        finally:
            self.both("CONFIG", "SET", "busy-reply-threshold", "5000")

    def test_dump_and_restore_across_servers(self):
        self.both("FUNCTION", "LOAD", LIB)
        self.both("FUNCTION", "LOAD", OTHER)
        redis_dump, lfdb_dump = self.both("FUNCTION", "DUMP")
        for payload in (redis_dump, lfdb_dump):  # Redis's (LZF-compressed) and lfdb's, both ways
            for policy in ((), ("APPEND",), ("REPLACE",), ("FLUSH",)):
                a, b = self.both("FUNCTION", "RESTORE", payload, *policy)
                if isinstance(a, RespError):
                    # Which of two colliding libraries Redis names depends on its hash order.
                    for e in (a, b):
                        self.assertRegex(str(e), r"ERR Library \w+ already exists", policy)
                else:
                    self.assertEqual(b, a, policy)
            self.both("FUNCTION", "FLUSH")
            a, b = self.both("FUNCTION", "RESTORE", payload)
            self.assertEqual((a, b), (b"OK", b"OK"))
            self.assertEqual(*self.both("FCALL", "myfunc", "1", "k", "restored"))
            self.assertEqual(*self.both("FUNCTION", "LIST", "WITHCODE"))
        damaged = lfdb_dump[:-1] + bytes([lfdb_dump[-1] ^ 1])
        self.assertEqual(*self.both("FUNCTION", "RESTORE", damaged))
        self.assertEqual(*self.both("FUNCTION", "RESTORE", redis_dump[:12] + redis_dump[-10:]))
        # Nothing changed by the failures.
        self.assertEqual(*self.both("FUNCTION", "LIST", "WITHCODE"))


def client(s):
    return redis.Redis(host=HOST, port=s.port, socket_timeout=10)


@unittest.skipUnless(is_lfdb(), "lfdb's threads: each reloads the libraries in its own Lua state")
class FunctionsConcurrent(unittest.TestCase):
    def test_fcall_while_libraries_change(self):
        s = FixedPortServer([("threads", "4")]).start()
        try:
            version = lambda n: lib("v", "redis.register_function('ver', function(keys, args) "
                                         "redis.call('incr', keys[1]) return %d end)" % n)
            client(s).function_load(version(0))
            stop = threading.Event()
            seen, problems = [], []

            def caller(i):
                c = client(s)
                while not stop.is_set():
                    try:
                        seen.append(c.fcall("ver", 1, "counter:%d" % i))
                    except Exception as e:  # noqa: BLE001 - any failure is the finding
                        problems.append(repr(e))
                        return

            threads = [threading.Thread(target=caller, args=(i,)) for i in range(4)]
            for t in threads:
                t.start()
            loader = client(s)
            for n in range(1, 200):
                loader.function_load(version(n), replace=True)
            stop.set()
            for t in threads:
                t.join(timeout=30)
            self.assertEqual(problems, [])
            self.assertTrue(seen and all(0 <= v < 200 for v in seen), seen[:10])
            # Every call ran once: the counters add up to the calls made.
            total = sum(int(client(s).get("counter:%d" % i) or 0) for i in range(4))
            self.assertEqual(total, len(seen))
            self.assertEqual(client(s).fcall("ver", 1, "counter:0"), 199)
        finally:
            s.stop()


@unittest.skipUnless(is_lfdb(), "lfdb's persistence and replication of libraries")
class FunctionsKept(unittest.TestCase):
    def setUp(self):
        self.servers = []

    def tearDown(self):
        for s in self.servers:
            s.stop()

    def server(self, *extra, port=None):
        s = FixedPortServer(list(extra), port=port).start()
        self.servers.append(s)
        return s

    def restart(self, s):
        s.stop(keep_dir=True)
        t = FixedPortServer(s.extra, port=s.port)
        t.dir = s.dir
        t.log_path = s.log_path
        self.servers.append(t.start())
        return t

    def load_some(self, r):
        r.function_load(LIB)
        r.function_load(OTHER)
        r.function_load(lib("gone", "redis.register_function('gone_f', function() return 1 end)"))
        r.function_delete("gone")
        r.fcall("wr", 1, "k", "v1")

    def check_kept(self, r):
        names = sorted(l[l.index(b"library_name") + 1] for l in r.function_list())
        self.assertEqual(names, [b"mylib", b"other"])
        self.assertEqual(r.fcall("myfunc", 1, "k", "x"), [b"k", b"x", b"helped x"])
        self.assertEqual(r.fcall("other_f", 0, "7"), b'{"n":7}')
        self.assertEqual(r.fcall_ro("ro", 1, "k"), b"v1")
        with self.assertRaises(redis.ResponseError):
            r.fcall("gone_f", 0)

    def test_kept_in_the_log(self):
        s = self.server(("appendonly", "yes"))
        self.load_some(client(s))
        s = self.restart(s)
        self.check_kept(client(s))

    def test_kept_in_a_snapshot(self):
        s = self.server()
        r = client(s)
        self.load_some(r)
        r.save()
        s = self.restart(s)
        self.check_kept(client(s))

    def test_kept_in_a_rewritten_log(self):
        for preamble in ("yes", "no"):
            s = self.server(("appendonly", "yes"), ("aof-use-snapshot-preamble", preamble))
            r = client(s)
            self.load_some(r)
            r.bgrewriteaof()
            wait_for("the rewrite", lambda: r.info("persistence")["aof_rewrite_in_progress"] == 0)
            r.function_flush()
            r.function_load(LIB)
            r.function_load(OTHER)
            s = self.restart(s)
            self.check_kept(client(s))

    def test_replicas_see_loaded_functions(self):
        p = self.server(("appendonly", "yes"))
        pc = client(p)
        self.load_some(pc)
        late = self.server(("replicaof", "127.0.0.1 %d" % p.port))  # full resync
        wait_caught_up(pc, client(late))
        self.check_kept(client(late))
        pc.function_load(lib("streamed", "redis.register_function('streamed_f', function() return 's' end)"))
        pc.function_delete("other")
        wait_caught_up(pc, client(late))
        self.assertEqual(client(late).fcall("streamed_f", 0), b"s")
        with self.assertRaises(redis.ResponseError) as e:
            client(late).fcall("other_f", 0)
        self.assertEqual(str(e.exception), "Function not found")
        with self.assertRaises(redis.exceptions.ReadOnlyError):
            client(late).function_load(lib("nope", "redis.register_function('nope', function() end)"))


if __name__ == "__main__":
    unittest.main()
