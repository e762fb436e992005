"""CONFIG GET / SET / REWRITE and the configuration file, side by side with redis-server 7.0:
every parameter CONFIG GET * lists takes its own value back through CONFIG SET (Redis's suite's
'CONFIG SET sanity'), several pairs at once and all-or-nothing, Redis's errors for immutable
and invalid values, CONFIG REWRITE of the file the server started with, and the tuning
parameters (slow log, latency monitor, stream nodes) given in that file. Runs only against
lfdb-server (it starts the redis peer itself)."""

import os
import shutil
import tempfile
import unittest

from lfdb_testlib import (REDIS_SERVER, SERVER, SERVER_ARGS, HOST, RawConnection, RedisPeer,
                          RespError, ServerProcess, SideBySideTestCase, is_lfdb)

# The parameters Redis's suite leaves out of its round trip: the ones Redis never changes at
# run time, and the ones it protects (dir, dbfilename) or that need a password (requirepass).
SUITE_SKIPS = set("""rdbchecksum daemonize io-threads-do-reads tcp-backlog always-show-logo
    syslog-enabled cluster-enabled disable-thp aclfile unixsocket pidfile syslog-ident
    appendfilename appenddirname supervised syslog-facility databases io-threads logfile
    unixsocketperm replicaof slaveof requirepass server_cpulist bio_cpulist aof_rewrite_cpulist
    bgsave_cpulist set-proc-title cluster-config-file cluster-port oom-score-adj
    oom-score-adj-values enable-protected-configs enable-debug-command enable-module-command
    dbfilename dir socket-mark-id""".split())


class FileServer(ServerProcess):
    """A server started with a configuration file as its first argument, as redis-server takes it."""

    def __init__(self, redis, text):
        super().__init__()
        self.redis = redis
        self.conf = os.path.join(self.dir, "server.conf")
        with open(self.conf, "w") as f:
            f.write(text)

    def command(self, port):
        if self.redis:
            return [REDIS_SERVER, self.conf, "--port", str(port), "--bind", HOST, "--save", "",
                    "--appendonly", "no", "--daemonize", "no", "--dir", self.dir]
        return [SERVER, self.conf, "--port", str(port), "--bind", HOST] + SERVER_ARGS

    def restart(self):
        self._kill()
        return self.start()

    def text(self):
        with open(self.conf) as f:
            return f.read()


def pairs(reply):
    return dict(zip(reply[0::2], reply[1::2]))


@unittest.skipUnless(is_lfdb(), "compares lfdb-server with redis-server")
class ConfigTest(SideBySideTestCase):
    def each(self):
        return ((srv, RawConnection(srv.port)) for srv in (self.peer, self.lfdb))

    def both(self, *args):
        out = []
        for srv, c in self.each():
            with c:
                try:
                    out.append(c.command(*args))
                except RespError as e:  # RawConnection parses errors into values; keep both
                    out.append(e)
        return out

    def same(self, *args):
        want, got = self.both(*args)
        self.assertEqual(got, want, args)
        return got

    def test_every_listed_parameter_takes_its_own_value(self):
        for srv, c in self.each():
            with c:
                before = {k: v for k, v in pairs(c.command("CONFIG", "GET", "*")).items()
                          if k.decode() not in SUITE_SKIPS}
                self.assertGreater(len(before), 30, srv)
                for k, v in before.items():
                    self.assertEqual(c.command("CONFIG", "SET", k, v), b"OK", (srv, k, v))
                after = pairs(c.command("CONFIG", "GET", "*"))
                for k, v in before.items():
                    self.assertEqual(after[k], v, (srv, k))

    def test_immutable_and_aliases(self):
        self.same("CONFIG", "SET", "daemonize", "yes")
        self.same("CONFIG", "SET", "databases", "16")   # even its own value, as Redis answers
        self.same("CONFIG", "GET", "slaveof")
        self.same("CONFIG", "GET", "maxmemory-clients")
        # lfdb's own start-only parameters: their value back is OK, another one is refused.
        with RawConnection(self.lfdb.port) as c:
            threads = pairs(c.command("CONFIG", "GET", "threads"))[b"threads"]
            self.assertEqual(c.command("CONFIG", "SET", "threads", threads), b"OK")
            other = str(int(threads) + 1)
            self.assertEqual(c.command("CONFIG", "SET", "threads", other),
                             RespError("ERR CONFIG SET failed (possibly related to argument "
                                       "'threads') - can't set immutable config"))

    def test_several_pairs_and_rollback(self):
        backups = []  # each server's own (lfdb keeps a larger replication backlog by default)
        for srv, c in self.each():
            with c:
                backups.append(c.command("CONFIG", "GET", "maxmemory", "repl-backlog-size",
                                         "save", "aof-load-truncated"))
        try:
            self.same("CONFIG", "SET", "maxmemory", "10000001", "repl-backlog-size", "10000002",
                      "save", "3000 5", "aof-load-truncated", "no")
            for k, v in (("maxmemory", b"10000001"), ("repl-backlog-size", b"10000002"),
                         ("save", b"3000 5"), ("aof-load-truncated", b"no")):
                self.assertEqual(self.same("CONFIG", "GET", k), [k.encode(), v])
            # One bad value: nothing changes, and the error names it as Redis's does.
            self.same("CONFIG", "SET", "maxmemory", "10000003", "maxmemory-clients", "200%",
                      "client-query-buffer-limit", "invalid")
            self.assertEqual(self.same("CONFIG", "GET", "maxmemory"), [b"maxmemory", b"10000001"])
            self.same("CONFIG", "SET", "maxmemory-clients", "10%")
            self.same("CONFIG", "GET", "maxmemory-clients")
            self.same("CONFIG", "SET", "maxmemory-clients", "0")
            self.same("CONFIG", "SET", "repl-backlog-size", "abc")
            self.same("CONFIG", "SET", "aof-load-truncated", "maybe")
        finally:
            for (srv, c), args in zip(self.each(), backups):
                with c:
                    self.assertEqual(c.command("CONFIG", "SET", *args), b"OK")

    def test_rewrite_without_a_file(self):
        self.same("CONFIG", "REWRITE")

    def session(self, *commands):
        """Each command in turn on one connection per server; both servers' replies compared."""
        out = []
        for srv, c in self.each():
            replies = []
            with c:
                for cmd in commands:
                    try:
                        replies.append(c.command(*cmd))
                    except RespError as e:
                        replies.append(e)
            out.append(replies)
        self.assertEqual(out[1], out[0], commands)
        return out[1]

    def test_min_replicas_to_write_without_replicas(self):
        # A primary with no replica and min-replicas-to-write 1: writes, EXEC with a write
        # queued, scripts that declare they may write, a plain script's first write refused.
        got = self.session(
            ("SET", "x", "some value"),
            ("CONFIG", "SET", "min-replicas-to-write", "1"),
            ("CONFIG", "GET", "min-slaves-to-write"),
            ("CONFIG", "GET", "min-replicas-max-lag"),
            ("SET", "x", "1"),
            ("GET", "x"),
            ("EVAL", "#!lua flags=no-writes\nreturn redis.call('get','x')", "1", "x"),
            ("EVAL", "return redis.call('get','x')", "1", "x"),
            ("EVAL", "#!lua\nreturn redis.call('get','x')", "1", "x"),
            ("EVAL", "return redis.call('set','x', 1)", "1", "x"),
            ("MULTI",), ("GET", "x"), ("SET", "x", "2"), ("EXEC",),
            ("MULTI",), ("GET", "x"), ("EXEC",),
            ("CONFIG", "SET", "min-slaves-max-lag", "0"),  # a lag of 0 turns the rule off
            ("SET", "x", "3"),
            ("CONFIG", "SET", "min-replicas-max-lag", "10"),
            ("INCR", "counter"),
            ("CONFIG", "SET", "min-replicas-to-write", "0"),
            ("SET", "x", "4"),
            ("DEL", "x", "counter"),
        )
        self.assertEqual(got[4], RespError("NOREPLICAS Not enough good replicas to write."))
        self.assertEqual(got[8], RespError("NOREPLICAS Not enough good replicas to write."))
        self.assertEqual(got[18], b"OK")  # the lag at 0: writes pass again
        for srv, c in self.each():
            with c:
                c.command("CONFIG", "SET", "min-replicas-to-write", "1")
                info = c.command("INFO", "replication").decode()
                c.command("CONFIG", "SET", "min-replicas-to-write", "0")
            self.assertIn("min_slaves_good_slaves:0", info, srv)


@unittest.skipUnless(is_lfdb(), "lfdb-server's replication backlog")
class BacklogSizeTest(unittest.TestCase):
    def test_config_set_resizes_the_live_backlog(self):
        srv = ServerProcess(extra=[("appendonly", "yes")]).start()
        try:
            with RawConnection(srv.port) as c:
                self.assertEqual(c.command("CONFIG", "SET", "repl-backlog-size", "32kb"), b"OK")
                self.assertEqual(c.command("CONFIG", "GET", "repl-backlog-size"),
                                 [b"repl-backlog-size", b"32768"])
                info = c.command("INFO", "replication").decode()
                self.assertIn("repl_backlog_size:32768", info)
                # As redis-server 7.0.15: any size from 1 byte, one under 16kb raised to 16kb
                # (Redis's unit/maxmemory sets 10kb).
                self.assertEqual(c.command("CONFIG", "SET", "repl-backlog-size", "10kb"), b"OK")
                self.assertEqual(c.command("CONFIG", "GET", "repl-backlog-size"),
                                 [b"repl-backlog-size", b"16384"])
                self.assertIn("repl_backlog_size:16384", c.command("INFO", "replication").decode())
                self.assertEqual(c.command("CONFIG", "SET", "repl-backlog-size", "0"),
                                 RespError("ERR CONFIG SET failed (possibly related to argument "
                                           "'repl-backlog-size') - argument must be between 1 "
                                           "and 9223372036854775807 inclusive"))
        finally:
            srv.stop()


@unittest.skipUnless(is_lfdb(), "compares lfdb-server with redis-server")
class DirTest(unittest.TestCase):
    """dir and dbfilename at run time, as Redis has them: CONFIG GET dir is the absolute path the
    server works in (Redis chdir()s there), CONFIG SET dir moves it and dbfilename renames the
    next snapshot; both are protected configs (enable-protected-configs yes here)."""

    def setUp(self):
        self.servers = [FileServer(r, "enable-protected-configs yes\n").start() for r in (True, False)]
        self.elsewhere = tempfile.mkdtemp(prefix="lfdb-itest-dir-")

    def tearDown(self):
        for s in self.servers:
            s.stop()
        shutil.rmtree(self.elsewhere, ignore_errors=True)

    def test_dir_is_absolute_and_moves_the_snapshot(self):
        for srv in self.servers:
            with RawConnection(srv.port) as c:
                self.assertEqual(pairs(c.command("CONFIG", "GET", "dir"))[b"dir"],
                                 os.path.realpath(srv.dir).encode(), srv)
                here = os.path.join(self.elsewhere, "redis" if srv.redis else "lfdb")
                os.mkdir(here)
                self.assertEqual(c.command("CONFIG", "SET", "dir", here, "dbfilename", "other.rdb"), b"OK")
                got = pairs(c.command("CONFIG", "GET", "dir", "dbfilename"))
                self.assertEqual(got, {b"dir": os.path.realpath(here).encode(), b"dbfilename": b"other.rdb"})
                c.command("SET", "k", "v")
                self.assertEqual(c.command("SAVE"), b"OK")
                self.assertTrue(os.path.exists(os.path.join(here, "other.rdb")), srv)

    def test_refusals_are_redis_words(self):
        a_file = os.path.join(self.elsewhere, "a-file")
        open(a_file, "w").close()
        cases = [("dir", "/no/such/dir/at/all"), ("dir", a_file), ("dbfilename", "a/b.rdb")]
        for name, value in cases:
            got = []
            for srv in self.servers:
                with RawConnection(srv.port) as c:
                    try:
                        got.append(c.command("CONFIG", "SET", name, value))
                    except RespError as e:
                        got.append(str(e))
                    got.append(pairs(c.command("CONFIG", "GET", name))[name.encode()] != value.encode())
            self.assertEqual(got[2:], got[:2], (name, value))
            self.assertIn("CONFIG SET failed (possibly related to argument '%s')" % name, str(got[0]))


class ConfigFileTest(unittest.TestCase):
    """Each server started from its own copy of one configuration file."""

    FILE = ("# kept: a comment\n"
            "slowlog-log-slower-than 0\n"
            "slowlog-max-len 3\n"
            "latency-monitor-threshold 7\n"
            "stream-node-max-entries 50\n"
            "hash-max-ziplist-entries 20\n"
            "tcp-keepalive 300\n"
            "hz 11\n"
            "hz 12\n"
            "\n# another comment\n")

    def setUp(self):
        self.servers = [FileServer(True, self.FILE).start(), FileServer(False, self.FILE).start()]

    def tearDown(self):
        for s in self.servers:
            s.stop()

    def test_file_values_take_effect(self):
        for srv in self.servers:
            with RawConnection(srv.port) as c:
                got = pairs(c.command("CONFIG", "GET", "slowlog-*", "latency-monitor-threshold",
                                      "stream-node-max-entries", "hash-max-*", "hz"))
                self.assertEqual(got[b"slowlog-max-len"], b"3", srv)
                self.assertEqual(got[b"slowlog-log-slower-than"], b"0")
                self.assertEqual(got[b"latency-monitor-threshold"], b"7")
                self.assertEqual(got[b"stream-node-max-entries"], b"50")
                self.assertEqual(got[b"hash-max-listpack-entries"], b"20")
                self.assertEqual(got[b"hash-max-ziplist-entries"], b"20")
                self.assertEqual(got[b"hz"], b"12")
                # The slow log takes every command, and keeps three.
                for i in range(6):
                    c.command("SET", "k%d" % i, "v")
                self.assertEqual(c.command("SLOWLOG", "LEN"), 3, srv)

    def test_rewrite_keeps_the_file_and_writes_the_changes(self):
        for srv in self.servers:
            with RawConnection(srv.port) as c:
                self.assertEqual(c.command("CONFIG", "SET", "slowlog-max-len", "99", "hz", "15",
                                           "maxmemory", "1mb", "hash-max-listpack-entries", "33",
                                           "notify-keyspace-events", "KEA"), b"OK")
                self.assertEqual(c.command("CONFIG", "REWRITE"), b"OK", srv)
            lines = srv.text().split("\n")
            self.assertEqual(lines[0], "# kept: a comment", srv.redis)
            self.assertEqual(lines[2], "slowlog-max-len 99")
            self.assertIn("tcp-keepalive 300", lines)
            self.assertIn("# another comment", lines)
            self.assertEqual([l for l in lines if l.startswith("hz ")], ["hz 15"])
            self.assertEqual([l for l in lines if l.startswith("hash-max-")],
                             ["hash-max-listpack-entries 33"])
            self.assertIn("# Generated by CONFIG REWRITE", lines)
            self.assertIn("maxmemory 1mb", lines)
            self.assertIn('notify-keyspace-events "AKE"', lines)
            # The server reads back what it wrote.
            srv.restart()
            with RawConnection(srv.port) as c:
                got = pairs(c.command("CONFIG", "GET", "slowlog-max-len", "hz", "maxmemory",
                                      "hash-max-listpack-entries", "notify-keyspace-events"))
                self.assertEqual(got, {b"slowlog-max-len": b"99", b"hz": b"15",
                                       b"maxmemory": b"1048576",
                                       b"hash-max-listpack-entries": b"33",
                                       b"notify-keyspace-events": b"AKE"}, srv.redis)


if __name__ == "__main__":
    unittest.main()
