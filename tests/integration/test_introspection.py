"""The server surface clients and tools touch, side by side with redis-server 7.0: CLIENT LIST /
INFO / KILL / REPLY, MONITOR, COMMAND GETKEYS / GETKEYSANDFLAGS / LIST FILTERBY, INFO
commandstats / latencystats / cpu, CONFIG RESETSTAT, LATENCY. Each check sends the same requests
to a redis-server it starts and to lfdb-server, and compares what Redis defines (replies, error
strings, the shape of CLIENT LIST's lines); numbers that depend on the server (ids, times, fds)
are compared by form. Runs only against lfdb-server (it starts the redis peer itself)."""

import os
import re
import time
import unittest
from unittest import mock

from lfdb_testlib import (RawConnection, RespError, ServerProcess, SideBySideTestCase, encode_command, is_lfdb,
                          lfdb_arg)


CLIENT_FIELDS = ("id addr laddr fd name age idle flags db sub psub ssub multi qbuf qbuf-free "
                 "argv-mem multi-mem rbs rbp obl oll omem tot-mem events cmd user redir resp").split()


def fields(line):
    return dict(kv.split("=", 1) for kv in line.strip().split(" "))


@unittest.skipUnless(is_lfdb(), "compares lfdb-server with redis-server")
class IntrospectionTest(SideBySideTestCase):
    def both(self, *args):
        """The parsed replies of redis-server and lfdb-server to one command."""
        out = []
        for srv in (self.peer, self.lfdb):
            with RawConnection(srv.port) as c:
                out.append(c.command(*args))
        return out

    def same(self, *args):
        want, got = self.both(*args)
        self.assertEqual(got, want, args)
        return got

    def test_client_list_fields(self):
        for srv in (self.peer, self.lfdb):
            with RawConnection(srv.port) as c:
                line = c.command("CLIENT", "LIST").decode()
                f = fields(line)
                self.assertEqual(list(f), CLIENT_FIELDS, srv)
                # qbuf: the bytes of the CLIENT LIST request itself, as Redis counts them.
                self.assertEqual((f["flags"], f["cmd"], f["qbuf"], f["multi"]),
                                 ("N", "client|list", "26", "-1"))
                self.assertRegex(f["fd"], r"^\d+$")
                me = c.command("CLIENT", "ID")
                by_id = c.command("CLIENT", "LIST", "ID", str(me), "999999").decode()
                self.assertEqual(len(by_id.strip().split("\n")), 1)
                self.assertEqual(fields(by_id)["id"], str(me))
                self.assertIn(f"id={me} ", c.command("CLIENT", "LIST", "TYPE", "normal").decode())
                self.assertEqual(c.command("CLIENT", "LIST", "TYPE", "pubsub"), b"")
                info = fields(c.command("CLIENT", "INFO").decode())
                self.assertEqual(info["cmd"], "client|info")
                # omem: replies the client has already read are no longer output memory.
                c.command("SET", "big", "x" * 10000)
                c.command("GET", "big")
                info = fields(c.command("CLIENT", "INFO").decode())
                self.assertEqual(info["omem"], "0", srv)

    def test_client_errors(self):
        for args in (("CLIENT", "LIST", "ID", "abc"), ("CLIENT", "LIST", "TYPE", "foo"),
                     ("CLIENT", "LIST", "foo"), ("CLIENT", "KILL", "TYPE", "wrong"),
                     ("CLIENT", "KILL", "USER", "nouser"), ("CLIENT", "KILL", "ID", "0"),
                     ("CLIENT", "KILL", "ID", "10", "x"), ("CLIENT", "KILL", "SKIPME", "maybe"),
                     ("CLIENT", "KILL", "MAXAGE", "x"), ("CLIENT", "KILL", "MAXAGE", "10"), ("CLIENT", "REPLY", "maybe"),
                     ("CLIENT", "REPLY"), ("CLIENT", "KILL", "ID", "123456")):
            self.same(*args)

    def test_client_kill_type_and_skipme(self):
        for srv in (self.peer, self.lfdb):
            with RawConnection(srv.port) as me, RawConnection(srv.port) as other:
                self.assertEqual(other.command("PING"), b"PONG")
                self.assertGreaterEqual(me.command("CLIENT", "KILL", "TYPE", "normal"), 1)
                self.assertTrue(other.is_closed(), srv)
                self.assertEqual(me.command("PING"), b"PONG")  # SKIPME yes by default

    def test_client_reply(self):
        for srv in (self.peer, self.lfdb):
            with RawConnection(srv.port) as c:
                c.send(b"CLIENT REPLY OFF\r\nPING a\r\nSET k v\r\nCLIENT REPLY ON\r\nPING b\r\n"
                       b"CLIENT REPLY SKIP\r\nPING c\r\nPING d\r\n"
                       b"CLIENT REPLY SKIP\r\nCLIENT REPLY ON\r\nPING e\r\n")
                got = [c.read_parsed() for _ in range(5)]
                self.assertEqual(got, [b"OK", b"b", b"d", b"OK", b"e"], srv)
                c.expect_silence()

    def test_monitor(self):
        for srv in (self.peer, self.lfdb):
            with RawConnection(srv.port) as mon, RawConnection(srv.port) as c:
                self.assertEqual(mon.command("MONITOR"), b"OK")
                c.command("SET", "foo", 'b"r\n')
                c.command("EVAL", "return redis.call('get', KEYS[1])", "1", "foo")
                c.command("MULTI")
                c.command("INCR", "n")
                c.command("EXEC")
                c.command("AUTH", "u", "p")
                c.command("CONFIG", "GET", "maxmemory")  # admin: not shown
                c.command("PING")
                lines = [mon.read_parsed().decode() for _ in range(8)]
                rest = [re.sub(r"^\d+\.\d{6} \[0 [^\]]+\] ", "", l) for l in lines]
                self.assertEqual(rest, ['"SET" "foo" "b\\"r\\n"',
                                        '"EVAL" "return redis.call(\'get\', KEYS[1])" "1" "foo"',
                                        '"get" "foo"', '"MULTI"', '"INCR" "n"', '"EXEC"',
                                        '"AUTH" "(redacted)" "(redacted)"', '"PING"'], srv)
                self.assertIn("[0 lua]", lines[2])
                self.assertRegex(lines[0], r"^\d+\.\d{6} \[0 127\.0\.0\.1:\d+\] ")

    def test_reset(self):
        for srv in (self.peer, self.lfdb):
            with RawConnection(srv.port) as c, RawConnection(srv.port) as mon:
                self.assertEqual(mon.command("MONITOR"), b"OK")
                self.assertEqual(mon.command("RESET"), b"RESET")  # no longer a monitor
                c.command("SELECT", "3")
                c.command("CLIENT", "SETNAME", "someone")
                c.send_command("CLIENT", "REPLY", "SKIP")  # no reply, and none to HELLO
                c.send_command("HELLO", "3")
                c.command("MULTI")
                c.command("SET", "reset-k", "v")
                self.assertEqual(c.command("RESET"), b"RESET")  # not queued
                info = fields(c.command("CLIENT", "INFO").decode())
                self.assertEqual((info["db"], info["name"], info["flags"], info["resp"], info["multi"]),
                                 ("0", "", "N", "2", "-1"), srv)
                self.assertEqual(c.command("EXEC"), RespError("ERR EXEC without MULTI"))
                c.command("SUBSCRIBE", "ch")
                self.assertEqual(c.command("RESET"), b"RESET")
                self.assertEqual(c.command("GET", "reset-k"), None)  # not subscribed; never set
                self.assertEqual(mon.command("PING"), b"PONG")
                mon.expect_silence()

    def test_slowlog(self):
        for srv in (self.peer, self.lfdb):
            with RawConnection(srv.port) as c:
                self.assertEqual(c.command("SLOWLOG", "RESET"), b"OK")
                pairs = c.command("CONFIG", "GET", "slowlog-*")
                self.assertEqual(dict(zip(pairs[0::2], pairs[1::2])),
                                 {b"slowlog-max-len": b"128", b"slowlog-log-slower-than": b"10000"})
                c.command("CONFIG", "SET", "slowlog-log-slower-than", "0")
                c.command("CONFIG", "SET", "slowlog-max-len", "10")
                c.command("CLIENT", "SETNAME", "slowpoke")
                for i in range(20):
                    c.command("PING", str(i))
                self.assertEqual(c.command("SLOWLOG", "LEN"), 10, srv)
                self.assertEqual(len(c.command("SLOWLOG", "GET", "5")), 5)
                c.command("SET", "big", "x" * 200)
                c.command("RPUSH", "many", *[str(i) for i in range(40)])
                entries = c.command("SLOWLOG", "GET", "-1")
                self.assertEqual(len(entries), 10)
                many, big = entries[0], entries[1]
                self.assertEqual(len(many), 6)
                self.assertEqual(many[3][-1], b"... (11 more arguments)")
                self.assertEqual(len(many[3]), 32)
                self.assertEqual(big[3][2], b"x" * 128 + b"... (72 more bytes)")
                self.assertEqual(many[5], b"slowpoke")
                self.assertRegex(many[4].decode(), r"^127\.0\.0\.1:\d+$")
                self.assertGreater(many[0], big[0])
                c.command("CONFIG", "SET", "slowlog-log-slower-than", "-1")
                c.command("SLOWLOG", "RESET")
                c.command("PING")
                self.assertEqual(c.command("SLOWLOG", "LEN"), 0)
                c.command("CONFIG", "SET", "slowlog-log-slower-than", "10000")
        for args in (("SLOWLOG", "GET", "-2"), ("SLOWLOG", "GET", "x"), ("SLOWLOG", "NOPE"),
                     ("SLOWLOG", "LEN", "x"), ("CONFIG", "SET", "slowlog-max-len", "-1")):
            self.same(*args)

    def test_slowlog_has_blocked_commands_when_served(self):
        # A command that blocks is logged once a writer serves it, with its own arguments: not
        # when it blocks (the log is read between the two), nor when it times out.
        for srv in (self.peer, self.lfdb):
            with RawConnection(srv.port) as c, RawConnection(srv.port) as b:
                c.command("DEL", "slowq")
                c.command("CONFIG", "SET", "slowlog-log-slower-than", "0")
                b.send_command("BLPOP", "slowq", "0")
                deadline = time.monotonic() + 10
                while b"blocked_clients:1\r\n" not in c.command("INFO", "clients"):
                    self.assertLess(time.monotonic(), deadline, srv)
                    time.sleep(0.01)
                c.command("SLOWLOG", "RESET")
                self.assertNotIn([b"BLPOP", b"slowq", b"0"],
                                 [e[3] for e in c.command("SLOWLOG", "GET", "-1")], srv)
                c.command("RPUSH", "slowq", "v")
                self.assertEqual(b.read_parsed(), [b"slowq", b"v"])
                entries = c.command("SLOWLOG", "GET", "-1")
                self.assertIn([b"BLPOP", b"slowq", b"0"], [e[3] for e in entries], srv)
                # One that times out is not logged.
                c.command("SLOWLOG", "RESET")
                self.assertIsNone(b.command("BLPOP", "slowq", "0.05"))
                self.assertNotIn([b"BLPOP", b"slowq", b"0.05"],
                                 [e[3] for e in c.command("SLOWLOG", "GET", "-1")], srv)
                c.command("CONFIG", "SET", "slowlog-log-slower-than", "10000")

    def test_command_getkeys(self):
        for args in (("SET", "a", "b"), ("MSET", "k1", "v1", "k2", "v2"),
                     ("SORT", "abc", "STORE", "bad", "STORE", "def"), ("SORT", "a", "LIMIT", "0", "STORE", "b"),
                     ("EVAL", "return 1", "1", "key"), ("EVAL", "return 1", "0"),
                     ("ZUNIONSTORE", "d", "2", "a", "b"), ("ZUNIONSTORE", "d", "2", "a"),
                     ("LCS", "k1", "k2"), ("PING", "x"), ("NOSUCH", "x"), ("GET", "a", "b"),
                     ("CONFIG", "NOSUCH"), ("XREAD", "COUNT", "1", "STREAMS", "a", "b", "0", "0"),
                     ("XREAD", "BLOCK", "0", "STREAMS", "x", "y", "z", "1", "2", "3"),
                     ("XREADGROUP", "GROUP", "g", "c", "NOACK", "STREAMS", "a", "b", ">", ">"),
                     ("XADD", "s", "*", "f", "v"),
                     ("GEORADIUS", "k", "0", "0", "1", "m", "STORE", "d", "STOREDIST", "e"),
                     ("GEORADIUSBYMEMBER", "k", "m", "1", "km", "STOREDIST", "d", "COUNT", "1")):
            self.same("COMMAND", "GETKEYS", *args)
        self.same("COMMAND", "GETKEYS")
        for args in (("SET", "k1", "v1"), ("MSET", "k1", "v1", "k2", "v2"),
                     ("LMOVE", "k1", "k2", "left", "right"), ("SORT", "k1", "STORE", "k2"),
                     ("XREAD", "STREAMS", "a", "b", "0", "0"),
                     ("XREADGROUP", "GROUP", "g", "c", "STREAMS", "a", ">"), ("XADD", "s", "*", "f", "v"),
                     ("XTRIM", "s", "MAXLEN", "1"), ("XDEL", "s", "1-1"), ("XACK", "s", "g", "1-1"),
                     ("XCLAIM", "s", "g", "c", "0", "1-1"), ("XAUTOCLAIM", "s", "g", "c", "0", "0"),
                     ("XSETID", "s", "1-1"), ("XGROUP", "CREATE", "s", "g", "0"),
                     ("XGROUP", "SETID", "s", "g", "0"), ("XGROUP", "DESTROY", "s", "g"),
                     ("XGROUP", "CREATECONSUMER", "s", "g", "c"), ("XGROUP", "DELCONSUMER", "s", "g", "c"),
                     ("XLEN", "s"), ("XRANGE", "s", "-", "+"), ("XPENDING", "s", "g"),
                     ("XINFO", "STREAM", "s"),
                     # the key specs' flags, and SET's and BITFIELD's by their arguments
                     ("APPEND", "k"), ("SETNX", "k", "v"), ("HSET", "h", "f", "v"), ("ZREM", "z", "m"),
                     ("EXPIRE", "k", "1"), ("LPOP", "l"), ("PFMERGE", "d", "a", "b"),
                     ("BITOP", "AND", "d", "a", "b"), ("SUNIONSTORE", "d", "a", "b"),
                     ("ZUNIONSTORE", "d", "2", "a", "b"), ("ZRANGESTORE", "d", "s", "0", "1"),
                     ("GEORADIUS", "k", "0", "0", "1", "m", "STORE", "d", "STOREDIST", "e"),
                     ("GEORADIUS", "k", "0", "0", "1", "m", "STOREDIST", "e", "store", "d"),
                     ("GEORADIUSBYMEMBER", "k", "store", "1", "km", "STORE", "d"),
                     ("GEORADIUS", "k", "0", "0", "1", "m", "STORE"),
                     ("GEOSEARCHSTORE", "d", "s", "FROMLONLAT", "0", "0", "BYRADIUS", "1", "m"),
                     ("EVAL", "return 1", "2", "a", "b"), ("SORT", "k", "BY", "x", "STORE", "d"),
                     ("SET", "k", "v"), ("SET", "k", "v", "EX", "10", "get"), ("BITFIELD", "k", "GET", "u8", "0"),
                     ("BITFIELD", "k", "OVERFLOW", "WRAP", "GET", "u8", "0"), ("BITFIELD", "k", "GET", "u8"),
                     ("BITFIELD", "k", "SET", "u8", "0", "1"), ("BITFIELD", "k", "nope"),
                     ("MIGRATE", "h", "1", "k", "0", "1"), ("EXISTS", "a", "b"), ("TYPE", "k")):
            self.same("COMMAND", "GETKEYSANDFLAGS", *args)

    def test_key_specs_as_redis(self):
        """COMMAND INFO's key specifications (each one's flags, begin_search and find_keys; not
        Redis's prose notes) are Redis 7.0's, for every command and subcommand both know."""
        def infos(srv):
            out = {}
            def walk(info):
                out[info[0]] = info
                for sub in info[9]:
                    walk(sub)
            with RawConnection(srv.port) as c:
                for info in c.command("COMMAND"):
                    walk(info)
            return out

        def specs(info):
            out = []
            for ks in info[8]:
                d = dict(zip(ks[0::2], ks[1::2]))
                out.append((d[b"flags"], d[b"begin_search"], d[b"find_keys"]))
            return out
        want, got = infos(self.peer), infos(self.lfdb)
        common = sorted(set(want) & set(got))
        self.assertGreater(len(common), 300)
        self.assertGreater(sum(1 for n in common if want[n][8]), 150)
        for name in common:
            self.assertEqual(specs(got[name]), specs(want[name]), name)

    def test_client_reply_off_keeps_resp3_pushes(self):
        """RESP3 (un)subscribe confirmations are pushes: CLIENT REPLY OFF drops replies only."""
        for srv in (self.peer, self.lfdb):
            with RawConnection(srv.port) as c, RawConnection(srv.port) as pub:
                c.command("HELLO", "3")
                c.send(b"CLIENT REPLY OFF\r\nSUBSCRIBE ch\r\nPING\r\n")
                self.assertEqual(c.read_parsed(), [b"subscribe", b"ch", 1], srv)
                self.assertEqual(pub.command("PUBLISH", "ch", "hi"), 1)
                self.assertEqual(c.read_parsed(), [b"message", b"ch", b"hi"], srv)
                c.send(b"UNSUBSCRIBE ch\r\n")
                self.assertEqual(c.read_parsed(), [b"unsubscribe", b"ch", 0], srv)
                c.expect_silence()

    def test_command_list_subcommands_and_movablekeys(self):
        for srv in (self.peer, self.lfdb):
            with RawConnection(srv.port) as c:
                names = c.command("COMMAND", "LIST")
                self.assertIn(b"client|list", names, srv)
                self.assertIn(b"config|rewrite", c.command("COMMAND", "LIST", "FILTERBY", "PATTERN", "config|*re*"))
                for cmd in ("zunionstore", "xread", "eval", "sort", "sort_ro", "georadius", "fcall"):
                    flags = c.command("COMMAND", "INFO", cmd)[0][2]
                    self.assertIn(b"movablekeys", flags, (srv, cmd))
                for cmd in ("get", "mset", "zadd"):
                    self.assertNotIn(b"movablekeys", c.command("COMMAND", "INFO", cmd)[0][2], cmd)

    def test_getkeys_of_malformed_xread(self):
        """COMMAND GETKEYS follows Redis's key specification for XREAD: the first half of what
        follows STREAMS, whatever the options or an odd argument out."""
        for args in (("XREAD", "STREAMS", "a", "b", "c"), ("XREAD", "foo", "STREAMS", "a", "b"),
                     ("XREAD", "COUNT", "STREAMS", "a", "b"), ("XREAD", "STREAMS", "a", "b", "c", "d", "e"),
                     ("XREAD", "COUNT", "1", "STREAMS", "a"), ("XREAD", "STREAMS"),
                     ("XREADGROUP", "GROUP", "g", "c", "STREAMS", "a", "b", "c"),
                     ("XREAD", "BLOCK", "x", "streams", "a", "0")):
            self.same("COMMAND", "GETKEYS", *args)

    def test_lolwut(self):
        for args in (("LOLWUT",), ("LOLWUT", "VERSION", "7"), ("LOLWUT", "VERSION", "x"),
                     ("LOLWUT", "VERSION", "8", "1", "2"), ("lolwut", "foo")):
            self.same(*args)
        for srv in (self.peer, self.lfdb):
            with RawConnection(srv.port) as c:
                c.command("HELLO", "3")
                c.send(b"LOLWUT\r\n")
                self.assertEqual(c.read_reply(), b"=22\r\ntxt:Redis ver. 7.0.15\n\r\n", srv)

    def test_command_list_filterby(self):
        for args in (("FILTERBY", "PATTERN", "config*"), ("FILTERBY", "ACLCAT", "hyperloglog"),
                     ("FILTERBY", "MODULE", "x"), ("FILTERBY", "nope", "x"), ("FILTERBY",)):
            want, got = self.both("COMMAND", "LIST", *args)
            if isinstance(want, list):  # lfdb's table may lack a command Redis has
                self.assertTrue(set(got) <= set(want), (args, set(got) - set(want)))
                self.assertTrue(got or not want, args)
            else:
                self.assertEqual(got, want, args)
        want, got = self.both("COMMAND", "INFO", "get", "set")
        for w, g in zip(want, got):
            # name, arity, first/last/step and the ACL categories (the flags are the table's)
            self.assertEqual(g[:2] + g[3:7], w[:2] + w[3:7])

    def test_info_commandstats_and_sections(self):
        for srv in (self.peer, self.lfdb):
            with RawConnection(srv.port) as c:
                c.command("CONFIG", "RESETSTAT")
                c.command("SET", "foo", "1")
                c.command("GEOADD", "foo", "0", "0", "bar")  # WRONGTYPE: a failed call
                c.command("EVAL", "redis.call('expire', KEYS[1], 100)", "1", "foo")
                stats = c.command("INFO", "commandstats").decode()
                self.assertRegex(stats, r"cmdstat_geoadd:calls=1,usec=\d+,usec_per_call=[\d.]+,"
                                        r"rejected_calls=0,failed_calls=1", srv)
                self.assertIn("cmdstat_expire:calls=1,", stats)
                self.assertIn("cmdstat_set:calls=1,", stats)
                self.assertNotIn("cmdstat_zadd", stats)
                everything = c.command("INFO", "cpu", "all").decode()
                self.assertEqual(everything.count("used_cpu_user_children"), 1)
                self.assertIn("rejected_calls", everything)
                self.assertIn("latency_percentiles_usec_set:p50=", everything)
                default = c.command("INFO").decode()
                self.assertIn("used_cpu_user", default)
                self.assertNotIn("rejected_calls", default)

    def test_latency(self):
        for srv in (self.peer, self.lfdb):
            with RawConnection(srv.port) as c:
                c.command("CONFIG", "RESETSTAT")
                c.command("SET", "a", "b")
                c.command("CLIENT", "ID")
                histo = c.command("LATENCY", "HISTOGRAM", "set", "client", "nosuch")
                self.assertEqual(sorted(histo[0::2]), [b"client|id", b"set"], srv)
                entry = histo[histo.index(b"set") + 1]
                self.assertEqual(entry[:3], [b"calls", 1, b"histogram_usec"])
                self.assertEqual(c.command("LATENCY", "HISTORY", "nosuch"), [])
                self.assertEqual(c.command("LATENCY", "RESET", "nosuch"), 0)
                self.assertGreater(len(c.command("LATENCY", "DOCTOR")), 0)
                # A command past the threshold is an event, kept until LATENCY RESET.
                c.command("CONFIG", "SET", "latency-monitor-threshold", "1")
                c.command("EVAL", "local x = 0 for i = 1, 3000000 do x = x + i end return 1", "0")
                # Wall time: on a loaded machine anything the server does can pass 1 ms while it
                # is descheduled (redis-server's expire cycle is an event of its own then).
                latest = c.command("LATENCY", "LATEST")
                names = [e[0] for e in latest]
                self.assertIn(b"command", names, srv)
                self.assertGreaterEqual(latest[names.index(b"command")][3], 1)
                # At least the EVAL's (on a sanitizer build other commands may pass 1 ms too).
                self.assertGreaterEqual(len(c.command("LATENCY", "HISTORY", "command")), 1)
                # Monitoring off first, or LATENCY RESET's own time could be an event after it.
                c.command("CONFIG", "SET", "latency-monitor-threshold", "0")
                self.assertGreaterEqual(c.command("LATENCY", "RESET"), 1)
                self.assertEqual(c.command("LATENCY", "LATEST"), [])
        self.same("LATENCY", "HELP", "x")
        self.same("LATENCY", "GRAPH", "nosuch")

    def replies(self, *args):
        """Both servers' replies to one command (an error reply is a RespError)."""
        out = []
        for srv in (self.peer, self.lfdb):
            with RawConnection(srv.port) as c:
                try:
                    out.append(c.command(*args))
                except RespError as e:
                    out.append(e)
        return out

    def test_cluster_without_cluster_mode(self):
        """lfdb-server is no cluster node: CLUSTER (every subcommand, HELP too), READONLY,
        READWRITE and ASKING answer as a redis-server without cluster mode, and COMMAND lists
        them as it does."""
        for args in (("CLUSTER", "HELP"), ("CLUSTER", "INFO"), ("CLUSTER", "NODES"), ("CLUSTER", "SLOTS"),
                     ("CLUSTER", "SHARDS"), ("CLUSTER", "MYID"), ("CLUSTER", "KEYSLOT", "foo"),
                     ("CLUSTER", "COUNTKEYSINSLOT", "1"), ("CLUSTER", "GETKEYSINSLOT", "1", "1"),
                     ("CLUSTER", "RESET", "HARD"), ("CLUSTER", "ADDSLOTS", "1"), ("CLUSTER", "MEET", "h", "1"),
                     ("CLUSTER", "LINKS"), ("cluster", "info", "extra"), ("CLUSTER", "nosuch"), ("CLUSTER",),
                     ("READONLY",), ("READWRITE",), ("ASKING",), ("READONLY", "x"),
                     ("EVAL", "return redis.call('cluster', 'reset', 'hard')", "0"),
                     ("EVAL", "return redis.call('cluster', 'info')", "0")):
            want, got = self.replies(*args)
            self.assertEqual(got, want, args)
        want, got = self.both("COMMAND", "LIST", "FILTERBY", "PATTERN", "cluster*")
        self.assertEqual(sorted(got), sorted(want))
        for cmd in ("cluster", "readonly", "readwrite", "asking"):
            (w,), (g,) = self.both("COMMAND", "INFO", cmd)
            # name, arity, first/last/step and the ACL categories, subcommands likewise
            self.assertEqual(g[:2] + g[3:6], w[:2] + w[3:6], cmd)
            subs_w = sorted((s[0], s[1], s[3:6]) for s in w[9])
            subs_g = sorted((s[0], s[1], s[3:6]) for s in g[9])
            self.assertEqual(subs_g, subs_w, cmd)
        want, got = self.both("COMMAND", "DOCS", "cluster")
        self.assertEqual(sorted(got[1][got[1].index(b"subcommands") + 1][0::2]),
                         sorted(want[1][want[1].index(b"subcommands") + 1][0::2]))

    def test_hidden_config_and_evict_field(self):
        """key-load-delay answers its exact name only; INFO memory has mem_not_counted_for_evict
        (0 on lfdb: eviction weighs all of used_memory)."""
        for args in (("CONFIG", "GET", "key-load-delay"), ("CONFIG", "SET", "key-load-delay", "-5"),
                     ("CONFIG", "GET", "key-load-delay"), ("CONFIG", "SET", "key-load-delay", "abc"),
                     ("CONFIG", "SET", "key-load-delay", "99999999999"), ("CONFIG", "SET", "key-load-delay", "0"),
                     ("CONFIG", "GET", "*load-delay*")):
            want, got = self.replies(*args)
            self.assertEqual(got, want, args)
        for srv in (self.peer, self.lfdb):
            with RawConnection(srv.port) as c:
                self.assertNotIn(b"key-load-delay", c.command("CONFIG", "GET", "*")[0::2], srv)
                memory = dict(l.split(":", 1) for l in c.command("INFO", "memory").decode().split("\r\n")
                              if ":" in l)
                self.assertEqual(memory.get("mem_not_counted_for_evict"), "0", srv)

    @unittest.skipIf(lfdb_arg("handle-set") or lfdb_arg("model", "lf") != "lf",
                     "starts lf-model servers of its own on each handle set")
    def test_info_names_the_demultiplexer(self):
        """INFO server's multiplexing_api says what the threads wait on (redis-server: epoll), and
        lfdb_handle_set the set chosen: both io_uring sets wait on a ring."""
        with RawConnection(self.peer.port) as c:
            self.assertIn("multiplexing_api:epoll\r\n", c.command("INFO", "server").decode())
        for handle_set, api in (("epoll-et", "epoll"), ("epoll-oneshot", "epoll"),
                                ("io_uring", "io_uring"), ("uring-completion", "io_uring")):
            srv = ServerProcess([("model", "lf"), ("threads", 2), ("handle-set", handle_set)]).start()
            try:
                with RawConnection(srv.port) as c:
                    info = c.command("INFO", "server").decode()
                self.assertIn("multiplexing_api:%s\r\n" % api, info, handle_set)
                self.assertIn("lfdb_handle_set:%s\r\n" % handle_set, info)
            finally:
                srv.stop()
        # Where io_uring is unavailable (LF_NO_IO_URING: the probe fails as on a kernel that
        # refuses it) the completion set's server starts on epoll-et, says why, and INFO says so.
        with mock.patch.dict(os.environ, {"LF_NO_IO_URING": "1"}):
            srv = ServerProcess([("model", "lf"), ("threads", 2), ("handle-set", "uring-completion")]).start()
        try:
            with RawConnection(srv.port) as c:
                info = c.command("INFO", "server").decode()
                self.assertEqual(c.command("PING"), b"PONG")
            self.assertIn("multiplexing_api:epoll\r\n", info)
            self.assertIn("lfdb_handle_set:epoll-et\r\n", info)
            self.assertIn("handle set uring-completion unavailable (LF_NO_IO_URING is set): running on epoll-et",
                          srv.log())
        finally:
            srv.stop()

    def test_info_server_fields(self):
        """INFO server has Redis 7.0's fields but those that describe Redis's own build (git
        sha1 and dirty flag, build id, atomicvar_api) and lru_clock; run_id is 40 hex digits,
        new each run; hz follows CONFIG SET (held within 1..500); config_file is absolute."""
        def server_fields(c):
            text = c.command("INFO", "server").decode()
            return dict(l.split(":", 1) for l in text.split("\r\n") if ":" in l)

        redis_only = {"redis_git_sha1", "redis_git_dirty", "redis_build_id", "atomicvar_api", "lru_clock"}
        with RawConnection(self.peer.port) as c:
            want = set(server_fields(c)) - redis_only
        with RawConnection(self.lfdb.port) as c:
            got = server_fields(c)
            self.assertEqual(want - set(got), set())
            self.assertRegex(got["run_id"], r"^[0-9a-f]{40}$")
            self.assertEqual(got["io_threads_active"], "0")
            self.assertTrue(os.path.isabs(got["executable"]), got["executable"])
            self.assertLess(abs(int(got["server_time_usec"]) / 1e6 - time.time()), 60)
            try:
                for value, shown in (("100", "100"), ("0", "1"), ("100000", "500")):
                    self.assertEqual(c.command("CONFIG", "SET", "hz", value), b"OK")
                    f = server_fields(c)
                    self.assertEqual((f["hz"], f["configured_hz"]), (shown, shown), value)
            finally:
                c.command("CONFIG", "SET", "hz", "10")

    def test_net_input_and_output_bytes(self):
        """INFO stats' total_net_input_bytes / total_net_output_bytes (dashboards' network
        graphs): the bytes of the requests read and of the replies written since CONFIG
        RESETSTAT, the INFO request itself included but not its reply."""
        def traffic(c):
            stats = c.command("INFO", "stats").decode()
            return tuple(int(re.search(r"^%s:(\d+)\r$" % f, stats, re.M).group(1))
                         for f in ("total_net_input_bytes", "total_net_output_bytes"))

        requests = [("SET", "a", "hello"), ("GET", "a"), ("GET", "nokey")]
        sent = sum(len(encode_command(*r)) for r in requests) + len(encode_command("INFO", "stats"))
        replied = len(b"+OK\r\n") * 2 + len(b"$5\r\nhello\r\n") + len(b"$-1\r\n")
        for srv in (self.peer, self.lfdb):
            with RawConnection(srv.port) as c:
                c.command("CONFIG", "RESETSTAT")
                for r in requests:
                    c.command(*r)
                self.assertEqual(traffic(c), (sent, replied), srv)

    def test_keyspace_hits_and_misses(self):
        """INFO stats' keyspace_hits / keyspace_misses (a cache's hit ratio): each key a read
        looks up is a hit or a miss; writes count neither; CONFIG RESETSTAT starts them over."""
        def counts(c):
            stats = c.command("INFO", "stats").decode()
            return tuple(int(re.search(r"^%s:(\d+)\r$" % f, stats, re.M).group(1))
                         for f in ("keyspace_hits", "keyspace_misses"))

        got = []
        for srv in (self.peer, self.lfdb):
            with RawConnection(srv.port) as c:
                c.command("FLUSHALL")
                c.command("CONFIG", "RESETSTAT")
                self.assertEqual(counts(c), (0, 0), srv)
                c.command("SET", "a", "1")
                c.command("RPUSH", "l", "x")
                c.command("GET", "a")
                c.command("GET", "nokey")
                c.command("MGET", "a", "nokey", "a")
                c.command("EXISTS", "a")
                c.command("LRANGE", "l", "0", "-1")
                c.command("HGET", "a", "f")  # a hit, then WRONGTYPE
                c.command("INCR", "counter")  # a write: neither
                c.command("DEL", "nokey")
                got.append(counts(c))
                c.command("CONFIG", "RESETSTAT")
                self.assertEqual(counts(c), (0, 0), srv)
        self.assertEqual(got[1], got[0])
        self.assertEqual(got[0], (6, 2))

    def test_instantaneous_ops_per_sec(self):
        """INFO stats' instantaneous_ops_per_sec (monitoring dashboards read it): the mean of the
        last 16 rates sampled by the server's cron (1/hz), above 0 while a client keeps sending,
        0 again after 16 idle samples (an INFO between two samples adds 1/16 of 10/s: still 0).
        Deadlines, not a timer: a loaded machine may sample late."""
        def rate(c):
            stats = c.command("INFO", "stats").decode()
            m = re.search(r"^instantaneous_ops_per_sec:(\d+)\r$", stats, re.M)
            self.assertIsNotNone(m, stats)
            return int(m.group(1))

        for srv in (self.peer, self.lfdb):
            with RawConnection(srv.port) as c:
                deadline = time.monotonic() + 10
                while True:
                    for _ in range(50):
                        c.command("PING")
                    if rate(c) > 0:
                        break
                    self.assertLess(time.monotonic(), deadline, "%s: still 0 while busy" % srv)
                deadline = time.monotonic() + 20
                while True:
                    time.sleep(2)  # well past 16 samples of 100 ms
                    if rate(c) == 0:
                        break
                    self.assertLess(time.monotonic(), deadline, "%s: not 0 when idle" % srv)

    def test_select_in_a_script_is_a_call(self):
        """SELECT called by a script counts in INFO commandstats: a call, failed when refused."""
        for srv in (self.peer, self.lfdb):
            with RawConnection(srv.port) as c:
                c.command("CONFIG", "RESETSTAT")
                self.assertIsInstance(c.command("EVAL", "return redis.call('select', 99)", "0"), RespError)
                c.command("EVAL", "return redis.call('select', 1)", "0")
                stats = c.command("INFO", "commandstats").decode()
                self.assertRegex(stats, r"cmdstat_select:calls=2,usec=\d+,usec_per_call=[\d.]+,"
                                        r"rejected_calls=0,failed_calls=1", srv)


if __name__ == "__main__":
    unittest.main()
