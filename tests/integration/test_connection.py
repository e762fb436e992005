"""Connection and server commands: PING ECHO HELLO AUTH SELECT QUIT CLIENT COMMAND INFO CONFIG
DBSIZE FLUSHDB FLUSHALL TIME, unknown-command and arity errors."""

import re
import socket
import time
import unittest

from lfdb_testlib import (RawConnection, RespError, ServerTestCase, is_redis, parse_reply,
                          skip_unless_lfdb)

NOAUTH = "NOAUTH Authentication required."
WRONGPASS = "WRONGPASS invalid username-password pair or user is disabled."


class PingEchoTest(ServerTestCase):
    def test_ping(self):
        self.assertEqual(self.raw_command("PING"), b"+PONG\r\n")
        self.assertTrue(self.r.ping())

    def test_ping_with_argument_is_bulk(self):
        self.assertEqual(self.raw_command("PING", "hello world"), b"$11\r\nhello world\r\n")

    def test_ping_arity(self):
        self.assertErrorReply("ERR wrong number of arguments for 'ping' command", "PING", "a", "b")

    def test_echo(self):
        self.assertEqual(self.raw_command("ECHO", "hi"), b"$2\r\nhi\r\n")
        self.assertEqual(self.raw_command("ECHO", ""), b"$0\r\n\r\n")
        self.assertEqual(self.rb.echo(b"a\r\nb\x00c"), b"a\r\nb\x00c")

    def test_echo_arity(self):
        self.assertErrorReply("ERR wrong number of arguments for 'echo' command", "ECHO")
        self.assertErrorReply("ERR wrong number of arguments for 'echo' command", "ECHO", "a", "b")

    def test_commands_are_case_insensitive(self):
        self.assertEqual(self.raw_command("pInG"), b"+PONG\r\n")
        self.assertEqual(self.call("set", "k", "v"), b"OK")
        self.assertEqual(self.call("GeT", "k"), b"v")


class HalfCloseTest(ServerTestCase):
    def test_every_reply_then_the_end_after_shutdown_wr(self):
        # The requests and the client's FIN may come in one packet: the server answers them all,
        # then closes (it missed the end under the edge-triggered handle set, and the client
        # waited forever).
        for n in (1, 100):
            s = socket.create_connection(("127.0.0.1", self.port), timeout=10)
            s.sendall(b"".join(b"SET hc%d x\r\n" % i for i in range(n)))
            s.shutdown(socket.SHUT_WR)
            got = b""
            while chunk := s.recv(65536):
                got += chunk
            s.close()
            self.assertEqual(got, b"+OK\r\n" * n)


class HelloTest(ServerTestCase):
    def test_hello_2(self):
        with RawConnection(self.port) as c:
            reply = c.command("HELLO", "2")
            self.assertIsInstance(reply, list)
            self.assertEqual(len(reply) % 2, 0)
            m = dict(zip(reply[::2], reply[1::2]))
            for key in (b"server", b"version", b"proto", b"id", b"mode", b"role", b"modules"):
                self.assertIn(key, m)
            self.assertEqual(m[b"proto"], 2)
            self.assertIsInstance(m[b"id"], int)
            # RESP2: a missing key is the null bulk string
            c.send_command("GET", "nosuchkey")
            self.assertEqual(c.read_reply(), b"$-1\r\n")

    def test_hello_3_map_reply_and_resp3_nulls(self):
        with RawConnection(self.port) as c:
            c.send_command("HELLO", "3")
            raw = c.read_reply()
            self.assertTrue(raw.startswith(b"%"), raw)
            m = parse_reply(raw)
            self.assertIsInstance(m, dict)
            for key in (b"server", b"version", b"proto", b"id", b"mode", b"role", b"modules"):
                self.assertIn(key, m)
            self.assertEqual(m[b"proto"], 3)
            # RESP3 null, and maps for HGETALL
            c.send_command("GET", "nosuchkey")
            self.assertEqual(c.read_reply(), b"_\r\n")
            c.send_command("HSET", "h", "f", "v")
            self.assertEqual(c.read_reply(), b":1\r\n")
            c.send_command("HGETALL", "h")
            self.assertEqual(c.read_reply(), b"%1\r\n$1\r\nf\r\n$1\r\nv\r\n")
            # back to RESP2
            reply = c.command("HELLO", "2")
            self.assertIsInstance(reply, list)
            c.send_command("GET", "nosuchkey")
            self.assertEqual(c.read_reply(), b"$-1\r\n")

    def test_hello_without_version_reports_current_protocol(self):
        with RawConnection(self.port) as c:
            reply = c.command("HELLO")
            m = dict(zip(reply[::2], reply[1::2]))
            self.assertEqual(m[b"proto"], 2)

    def test_hello_setname(self):
        with RawConnection(self.port) as c:
            c.command("HELLO", "2", "SETNAME", "myconn")
            self.assertEqual(c.command("CLIENT", "GETNAME"), b"myconn")

    def test_hello_bad_versions(self):
        self.assertErrorReply("NOPROTO unsupported protocol version", "HELLO", "4")
        self.assertErrorReply("NOPROTO unsupported protocol version", "HELLO", "1")
        self.assertErrorReply("ERR Protocol version is not an integer or out of range", "HELLO", "foo")

    def test_hello_bad_option(self):
        self.assertErrorReply("ERR Syntax error in HELLO option 'foo'", "HELLO", "3", "foo")


class AuthWithoutPasswordTest(ServerTestCase):
    def test_auth_without_requirepass(self):
        self.assertErrorReply(
            "ERR AUTH <password> called without any password configured for the default user. "
            "Are you sure your configuration is correct?", "AUTH", "whatever")

    def test_auth_default_user_nopass_accepts_anything(self):
        # The default user has 'nopass': AUTH default <anything> succeeds.
        self.assertEqual(self.call("AUTH", "default", "whatever"), b"OK")

    def test_auth_arity(self):
        self.assertErrorReply("ERR wrong number of arguments for 'auth' command", "AUTH")
        self.assertErrorReply("ERR syntax error", "AUTH", "a", "b", "c")


class AuthWithPasswordTest(ServerTestCase):
    server_config = [("requirepass", "s3cret")]
    flush_before_each = False

    def test_commands_before_auth_are_refused(self):
        with RawConnection(self.port) as c:
            for cmd in (("PING",), ("GET", "k"), ("SET", "k", "v"), ("ECHO", "x"),
                        ("FLUSHALL",), ("CLIENT", "ID")):
                reply = c.command(*cmd)
                self.assertEqual(reply, RespError(NOAUTH), cmd)
            # the connection is still open and usable after NOAUTH errors
            self.assertEqual(c.command("AUTH", "s3cret"), b"OK")
            self.assertEqual(c.command("PING"), b"PONG")

    def test_checks_before_auth(self):
        # redis looks the command up (and checks its arity) before checking authentication
        with RawConnection(self.port) as c:
            self.assertEqual(c.command("NOSUCHCOMMAND", "a"), RespError(
                "ERR unknown command 'NOSUCHCOMMAND', with args beginning with: 'a' "))
            self.assertEqual(c.command("GET"), RespError(
                "ERR wrong number of arguments for 'get' command"))
            self.assertEqual(c.command("GET", "k"), RespError(NOAUTH))

    def test_wrong_password(self):
        with RawConnection(self.port) as c:
            self.assertEqual(c.command("AUTH", "wrong"), RespError(WRONGPASS))
            self.assertEqual(c.command("AUTH", "default", "wrong"), RespError(WRONGPASS))
            self.assertEqual(c.command("AUTH", "nosuchuser", "s3cret"), RespError(WRONGPASS))
            # still not authenticated
            self.assertEqual(c.command("PING"), RespError(NOAUTH))

    def test_auth_then_commands_work(self):
        with RawConnection(self.port) as c:
            self.assertEqual(c.command("AUTH", "s3cret"), b"OK")
            self.assertEqual(c.command("SET", "k", "v"), b"OK")
            self.assertEqual(c.command("GET", "k"), b"v")
        with RawConnection(self.port) as c:
            self.assertEqual(c.command("AUTH", "default", "s3cret"), b"OK")
            self.assertEqual(c.command("GET", "k"), b"v")
            self.assertEqual(c.command("DEL", "k"), 1)

    def test_redis_py_with_password(self):
        c = self.client(password="s3cret")
        self.assertTrue(c.ping())
        c.set("a", "1")
        self.assertEqual(c.get("a"), "1")
        c.delete("a")

    def test_hello_before_auth(self):
        with RawConnection(self.port) as c:
            self.assertEqual(
                c.command("HELLO", "3"),
                RespError("NOAUTH HELLO must be called with the client already authenticated, "
                          "otherwise the HELLO AUTH <user> <pass> option can be used to "
                          "authenticate the client and select the RESP protocol version at "
                          "the same time"))

    def test_hello_with_auth(self):
        with RawConnection(self.port) as c:
            self.assertEqual(c.command("HELLO", "3", "AUTH", "default", "bad"), RespError(WRONGPASS))
            reply = c.command("HELLO", "3", "AUTH", "default", "s3cret")
            self.assertIsInstance(reply, dict)
            self.assertEqual(reply[b"proto"], 3)
            self.assertEqual(c.command("PING"), b"PONG")

    def test_quit_before_auth(self):
        with RawConnection(self.port) as c:
            c.send_command("QUIT")
            self.assertEqual(c.read_reply(), b"+OK\r\n")
            self.assertTrue(c.is_closed())


class SelectTest(ServerTestCase):
    def test_select_0(self):
        self.assertEqual(self.call("SELECT", "0"), b"OK")
        self.assertEqual(self.call("SET", "k", "v"), b"OK")
        self.assertEqual(self.call("SELECT", "0"), b"OK")
        self.assertEqual(self.call("GET", "k"), b"v")

    def test_select_out_of_range(self):
        self.assertErrorReply("ERR DB index is out of range", "SELECT", "99")
        self.assertErrorReply("ERR DB index is out of range", "SELECT", "-1")
        self.assertErrorReply("ERR value is not an integer or out of range", "SELECT", "abc")
        self.assertErrorReply("ERR wrong number of arguments for 'select' command", "SELECT")


class QuitTest(ServerTestCase):
    def test_quit_replies_ok_and_closes(self):
        with RawConnection(self.port) as c:
            c.send_command("QUIT")
            self.assertEqual(c.read_reply(), b"+OK\r\n")
            self.assertTrue(c.is_closed())

    def test_quit_discards_pipelined_commands_after_it(self):
        with RawConnection(self.port) as c:
            c.send(b"*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n*1\r\n$4\r\nQUIT\r\n"
                   b"*3\r\n$3\r\nSET\r\n$1\r\nb\r\n$1\r\n2\r\n")
            self.assertEqual(c.read_reply(), b"+OK\r\n")
            self.assertEqual(c.read_reply(), b"+OK\r\n")
            self.assertTrue(c.is_closed())
        self.assertEqual(self.r.get("a"), "1")
        self.assertIsNone(self.r.get("b"))

    def test_inline_quit(self):
        with RawConnection(self.port) as c:
            c.send(b"QUIT\r\n")
            self.assertEqual(c.read_reply(), b"+OK\r\n")
            self.assertTrue(c.is_closed())


class ClientCommandTest(ServerTestCase):
    def test_client_id_is_per_connection(self):
        with RawConnection(self.port) as a, RawConnection(self.port) as b:
            ida = a.command("CLIENT", "ID")
            idb = b.command("CLIENT", "ID")
            self.assertIsInstance(ida, int)
            self.assertGreater(ida, 0)
            self.assertNotEqual(ida, idb)
            self.assertEqual(a.command("CLIENT", "ID"), ida)

    def test_setname_getname(self):
        with RawConnection(self.port) as c:
            c.send_command("CLIENT", "GETNAME")
            self.assertEqual(c.read_reply(), b"$-1\r\n")
            self.assertEqual(c.command("CLIENT", "SETNAME", "worker-1"), b"OK")
            self.assertEqual(c.command("CLIENT", "GETNAME"), b"worker-1")
            self.assertEqual(c.command("CLIENT", "SETNAME", ""), b"OK")
            c.send_command("CLIENT", "GETNAME")
            self.assertEqual(c.read_reply(), b"$-1\r\n")

    def test_setname_invalid(self):
        msg = "ERR Client names cannot contain spaces, newlines or special characters."
        self.assertErrorReply(msg, "CLIENT", "SETNAME", "a b")
        self.assertErrorReply(msg, "CLIENT", "SETNAME", "a\nb")

    def test_client_list(self):
        with RawConnection(self.port) as c:
            myid = c.command("CLIENT", "ID")
            c.command("CLIENT", "SETNAME", "lister")
            listing = c.command("CLIENT", "LIST").decode()
            lines = [l for l in listing.split("\n") if l]
            self.assertGreaterEqual(len(lines), 1)
            mine = [l for l in lines if ("id=%d " % myid) in l + " "]
            self.assertEqual(len(mine), 1, listing)
            fields = dict(kv.split("=", 1) for kv in mine[0].split(" ") if "=" in kv)
            self.assertEqual(fields["id"], str(myid))
            self.assertEqual(fields["name"], "lister")
            self.assertEqual(fields["db"], "0")
            self.assertEqual(fields["cmd"], "client|list")
            self.assertRegex(fields["addr"], r"^127\.0\.0\.1:\d+$")
            for f in ("age", "idle", "flags"):
                self.assertIn(f, fields)
            # another connection shows up too
            with RawConnection(self.port) as other:
                oid = other.command("CLIENT", "ID")
                listing = c.command("CLIENT", "LIST").decode()
                self.assertIn("id=%d " % oid, listing)

    def test_client_info(self):
        with RawConnection(self.port) as c:
            myid = c.command("CLIENT", "ID")
            info = c.command("CLIENT", "INFO").decode()
            self.assertTrue(info.startswith("id=%d " % myid), info)
            self.assertEqual(info.count("\n"), 1)
            self.assertIn(" cmd=client|info", info)

    def test_client_kill_by_id(self):
        with RawConnection(self.port) as victim:
            vid = victim.command("CLIENT", "ID")
            self.assertEqual(self.call("CLIENT", "KILL", "ID", str(vid)), 1)
            self.assertTrue(victim.is_closed())
        self.assertEqual(self.call("CLIENT", "KILL", "ID", "999999"), 0)
        self.assertErrorReply("ERR client-id should be greater than 0", "CLIENT", "KILL", "ID", "abc")
        # MAXAGE came in Redis 7.2: 7.0 knows no such filter, and kills nobody for it.
        with RawConnection(self.port) as bystander:
            self.assertErrorReply("ERR syntax error", "CLIENT", "KILL", "MAXAGE", "0")
            self.assertErrorReply("ERR syntax error", "CLIENT", "KILL", "ID", str(bystander.command("CLIENT", "ID")),
                                  "MAXAGE", "10")
            self.assertEqual(bystander.command("PING"), b"PONG")

    def test_client_kill_by_addr(self):
        with RawConnection(self.port) as victim:
            vid = victim.command("CLIENT", "ID")
            info = victim.command("CLIENT", "INFO").decode()
            addr = re.search(r" addr=(\S+)", info).group(1)
            # old form: CLIENT KILL addr:port -> +OK
            self.assertEqual(self.call("CLIENT", "KILL", addr), b"OK")
            self.assertTrue(victim.is_closed())
        self.assertErrorReply("ERR No such client", "CLIENT", "KILL", "127.0.0.1:1")
        with RawConnection(self.port) as victim:
            info = victim.command("CLIENT", "INFO").decode()
            addr = re.search(r" addr=(\S+)", info).group(1)
            self.assertEqual(self.call("CLIENT", "KILL", "ADDR", addr), 1)
            self.assertTrue(victim.is_closed())
        self.assertEqual(self.call("CLIENT", "KILL", "ADDR", "127.0.0.1:1"), 0)

    def test_client_kill_self_skipme(self):
        with RawConnection(self.port) as c:
            myid = c.command("CLIENT", "ID")
            # SKIPME yes (the default): killing myself by id does nothing
            self.assertEqual(c.command("CLIENT", "KILL", "ID", str(myid), "SKIPME", "yes"), 0)
            self.assertEqual(c.command("PING"), b"PONG")

    def test_no_evict(self):
        self.assertEqual(self.call("CLIENT", "NO-EVICT", "on"), b"OK")
        self.assertEqual(self.call("CLIENT", "NO-EVICT", "off"), b"OK")
        self.assertErrorReply("ERR syntax error", "CLIENT", "NO-EVICT", "maybe")
        self.assertErrorReply("ERR wrong number of arguments for 'client|no-evict' command",
                              "CLIENT", "NO-EVICT")

    def test_no_touch_not_in_redis_7_0(self):
        if is_redis():
            # CLIENT NO-TOUCH arrived in redis 7.2; 7.0 does not know it.
            self.assertErrorReply("ERR unknown subcommand 'NO-TOUCH'. Try CLIENT HELP.",
                                  "CLIENT", "NO-TOUCH", "on")

    @skip_unless_lfdb("CLIENT NO-TOUCH is a redis 7.2 command; the peer (redis 7.0) lacks it")
    def test_no_touch_lfdb(self):
        self.assertEqual(self.call("CLIENT", "NO-TOUCH", "on"), b"OK")
        self.assertEqual(self.call("CLIENT", "NO-TOUCH", "off"), b"OK")
        self.assertErrorReply("ERR syntax error", "CLIENT", "NO-TOUCH", "maybe")

    def test_unknown_subcommand(self):
        # the subcommand is echoed as the client sent it
        self.assertErrorReply("ERR unknown subcommand 'foo'. Try CLIENT HELP.", "CLIENT", "foo")
        self.assertErrorReply("ERR unknown subcommand 'FoO'. Try CLIENT HELP.", "CLIENT", "FoO")

    def test_subcommand_arity(self):
        self.assertErrorReply("ERR wrong number of arguments for 'client|getname' command",
                              "CLIENT", "GETNAME", "x")
        self.assertErrorReply("ERR wrong number of arguments for 'client|id' command",
                              "CLIENT", "ID", "x")
        self.assertErrorReply("ERR wrong number of arguments for 'client|kill' command",
                              "CLIENT", "KILL")


class CommandCommandTest(ServerTestCase):
    def test_command_count(self):
        n = self.call("COMMAND", "COUNT")
        self.assertIsInstance(n, int)
        self.assertGreater(n, 50)

    def test_info_sections_as_redis_orders_them(self):
        def headers(*section):
            return [l for l in self.call("INFO", *section).decode().split("\r\n") if l.startswith("#")]
        default = ["# Server", "# Clients", "# Memory", "# Persistence", "# Stats", "# Replication",
                   "# CPU", "# Modules", "# Errorstats", "# Cluster", "# Keyspace"]
        self.assertEqual(headers()[:len(default)], default)  # lfdb's own Threads come after
        everything = default[:8] + ["# Commandstats", "# Errorstats", "# Latencystats", "# Cluster", "# Keyspace"]
        self.assertEqual(headers("everything")[:len(everything)], everything)
        # Clients read cluster_enabled to tell a cluster from a lone server.
        self.assertEqual(self.call("INFO", "cluster"), b"# Cluster\r\ncluster_enabled:0\r\n")
        self.assertEqual(self.call("INFO", "modules"), b"# Modules\r\n")

    def test_command_info_get(self):
        reply = self.call("COMMAND", "INFO", "get")
        self.assertEqual(len(reply), 1)
        info = reply[0]
        self.assertEqual(info[0], b"get")
        self.assertEqual(info[1], 2)
        self.assertIn(b"readonly", info[2])
        self.assertEqual(info[3:6], [1, 1, 1])  # first key, last key, step

    def test_command_info_set_and_missing(self):
        reply = self.call("COMMAND", "INFO", "set", "nosuchcommand", "mset")
        self.assertEqual(len(reply), 3)
        self.assertEqual(reply[0][0], b"set")
        self.assertEqual(reply[0][1], -3)
        self.assertIn(b"write", reply[0][2])
        self.assertIsNone(reply[1])
        self.assertEqual(reply[2][0], b"mset")
        self.assertEqual(reply[2][3:6], [1, -1, 2])

    def test_command_info_names_subcommands_and_the_legacy_key_range(self):
        reply = self.call("COMMAND", "INFO", "config|get", "CONFIG|SET", "config|nosuch", "get|x")
        self.assertEqual([r[:2] if r else r for r in reply], [[b"config|get", -3], [b"config|set", -4], None, None])
        self.assertEqual(self.call("COMMAND", "DOCS", "config|get")[0], b"config|get")
        # First key, last key, step: what one index/range key spec (or a run of them) covers;
        # keys found by a count or a keyword are 0 0 0 (movablekeys).
        for name, keys in (("eval", [0, 0, 0]), ("zunionstore", [1, 1, 1]), ("zunion", [0, 0, 0]),
                           ("blmpop", [0, 0, 0]), ("xread", [0, 0, 0]), ("spublish", [1, 1, 1]),
                           ("ssubscribe", [1, -1, 1]), ("mset", [1, -1, 2]), ("lmove", [1, 2, 1]),
                           ("georadius", [1, 1, 1]), ("command|getkeys", [0, 0, 0])):
            self.assertEqual(self.call("COMMAND", "INFO", name)[0][3:6], keys, name)
        self.assertErrorReply("ERR wrong number of arguments for 'command|getkeys' command",
                              "COMMAND", "GETKEYS", "get")
        self.assertErrorReply("ERR wrong number of arguments for 'command|getkeysandflags' command",
                              "COMMAND", "GETKEYSANDFLAGS", "ping")

    def test_command_docs_shape(self):
        reply = self.call("COMMAND", "DOCS", "get")
        # RESP2: flat [name, doc, ...]; doc is a flat list of field/value pairs
        self.assertIsInstance(reply, list)
        self.assertEqual(reply[0], b"get")
        doc = reply[1]
        fields = dict(zip(doc[::2], doc[1::2]))
        self.assertIn(b"summary", fields)
        self.assertEqual(fields[b"group"], b"string")

    def test_command_lists_commands(self):
        reply = self.call("COMMAND")
        names = {entry[0] for entry in reply}
        for name in (b"get", b"set", b"multi", b"exec", b"hset", b"scan"):
            self.assertIn(name, names)


class InfoTest(ServerTestCase):
    def sections(self, text):
        return [l[2:].strip() for l in text.split("\r\n") if l.startswith("# ")]

    def fields(self, text):
        out = {}
        for l in text.split("\r\n"):
            if l and not l.startswith("#") and ":" in l:
                k, v = l.split(":", 1)
                out[k] = v
        return out

    def test_default_sections(self):
        info = self.call("INFO").decode()
        sections = self.sections(info)
        for s in ("Server", "Clients", "Stats", "Keyspace"):
            self.assertIn(s, sections)

    def test_single_section(self):
        info = self.call("INFO", "clients").decode()
        self.assertEqual(self.sections(info), ["Clients"])
        f = self.fields(info)
        self.assertGreaterEqual(int(f["connected_clients"]), 1)

    def test_stats(self):
        f = self.fields(self.call("INFO", "stats").decode())
        for k in ("total_connections_received", "total_commands_processed"):
            self.assertGreaterEqual(int(f[k]), 0, k)

    def test_keyspace_line(self):
        info = self.call("INFO", "keyspace").decode()
        self.assertNotIn("db0:", info)
        self.r.set("a", "1")
        self.r.set("b", "2", ex=100)
        self.r.set("c", "3", px=100000)
        info = self.call("INFO", "keyspace").decode()
        m = re.search(r"^db0:keys=(\d+),expires=(\d+),avg_ttl=(\d+)\r$", info, re.M)
        self.assertIsNotNone(m, info)
        self.assertEqual(m.group(1), "3")
        self.assertEqual(m.group(2), "2")
        self.r.flushall()
        self.assertNotIn("db0:", self.call("INFO", "keyspace").decode())

    def test_unknown_section_is_empty(self):
        self.assertEqual(self.call("INFO", "nosuchsection"), b"")

    def test_config_resetstat(self):
        for _ in range(20):
            self.r.ping()
        before = int(self.fields(self.call("INFO", "stats").decode())["total_commands_processed"])
        self.assertGreaterEqual(before, 20)
        self.assertEqual(self.call("CONFIG", "RESETSTAT"), b"OK")
        after = int(self.fields(self.call("INFO", "stats").decode())["total_commands_processed"])
        self.assertLess(after, 5)


class ConfigTest(ServerTestCase):
    def test_config_get_maxclients(self):
        reply = self.call("CONFIG", "GET", "maxclients")
        self.assertEqual(len(reply), 2)
        self.assertEqual(reply[0], b"maxclients")
        self.assertGreater(int(reply[1]), 0)

    def test_config_get_unknown_is_empty(self):
        self.assertEqual(self.call("CONFIG", "GET", "nosuchparameter"), [])

    def test_config_set_unknown(self):
        self.assertErrorReply(
            "ERR Unknown option or number of arguments for CONFIG SET - 'nosuchparameter'",
            "CONFIG", "SET", "nosuchparameter", "1")

    def test_config_arity(self):
        self.assertErrorReply("ERR wrong number of arguments for 'config|set' command",
                              "CONFIG", "SET", "maxclients")
        self.assertErrorReply("ERR wrong number of arguments for 'config|get' command",
                              "CONFIG", "GET")

    def test_config_unknown_subcommand(self):
        self.assertErrorReply("ERR unknown subcommand 'foo'. Try CONFIG HELP.", "CONFIG", "foo")


class ConfigParamsTest(ServerTestCase):
    """The parameters Redis's test suite sets at the start of its units (encodings, lazy freeing,
    the latency monitor): accepted, validated with Redis's errors, reported back (issue 13)."""

    DEFAULTS = {"list-max-listpack-size": "-2", "list-max-ziplist-size": "-2",
                "list-compress-depth": "0",
                "hash-max-listpack-entries": "512", "hash-max-ziplist-entries": "512",
                "hash-max-listpack-value": "64", "hash-max-ziplist-value": "64",
                "set-max-intset-entries": "512",
                "zset-max-listpack-entries": "128", "zset-max-ziplist-entries": "128",
                "zset-max-listpack-value": "64", "zset-max-ziplist-value": "64",
                "stream-node-max-bytes": "4096",
                "stream-node-max-entries": "100", "lazyfree-lazy-eviction": "no",
                "lazyfree-lazy-expire": "no", "lazyfree-lazy-server-del": "no",
                "lazyfree-lazy-user-del": "no", "lazyfree-lazy-user-flush": "no",
                "latency-monitor-threshold": "0"}

    def tearDown(self):
        pairs = [x for k, v in self.DEFAULTS.items() if "ziplist" not in k for x in (k, v)]
        self.assertEqual(self.call("CONFIG", "SET", *pairs), b"OK")
        super().tearDown()

    def failed(self, name, why):
        return "ERR CONFIG SET failed (possibly related to argument '%s') - %s" % (name, why)

    def test_defaults(self):
        for name, value in self.DEFAULTS.items():
            self.assertEqual(self.r.config_get(name), {name: value}, name)

    def test_set_and_get_back_under_either_name(self):
        self.assertEqual(self.call("CONFIG", "SET", "list-max-ziplist-size", "1",
                                   "list-compress-depth", "2"), b"OK")
        self.assertEqual(self.r.config_get("list-max-*"), {"list-max-listpack-size": "1",
                                                           "list-max-ziplist-size": "1"})
        self.assertEqual(self.r.config_get("list-compress-depth"), {"list-compress-depth": "2"})
        self.assertEqual(self.call("CONFIG", "SET", "hash-max-listpack-value", "1kb"), b"OK")
        self.assertEqual(self.r.config_get("hash-max-ziplist-value"), {"hash-max-ziplist-value": "1024"})
        self.assertEqual(self.call("CONFIG", "SET", "zset-max-ziplist-entries", "0",
                                   "set-max-intset-entries", "100", "lazyfree-lazy-user-del", "YES",
                                   "latency-monitor-threshold", "200"), b"OK")
        self.assertEqual(self.r.config_get("zset-max-listpack-entries"), {"zset-max-listpack-entries": "0"})
        self.assertEqual(self.r.config_get("lazyfree-lazy-user-del"), {"lazyfree-lazy-user-del": "yes"})
        self.assertEqual(self.r.config_get("latency-monitor-threshold"), {"latency-monitor-threshold": "200"})

    def test_bad_values_get_redis_errors_and_change_nothing(self):
        self.assertErrorReply(self.failed("list-compress-depth", "argument must be between 0 and 2147483647 inclusive"),
                              "CONFIG", "SET", "list-compress-depth", "-1")
        self.assertErrorReply(self.failed("list-max-ziplist-size", "argument couldn't be parsed into an integer"),
                              "CONFIG", "SET", "list-max-ziplist-size", "x")
        self.assertErrorReply(self.failed("hash-max-ziplist-value", "argument must be a memory value"),
                              "CONFIG", "SET", "hash-max-ziplist-value", "lots")
        self.assertErrorReply(self.failed("set-max-intset-entries", "argument couldn't be parsed into an integer"),
                              "CONFIG", "SET", "set-max-intset-entries", "1kb")
        self.assertErrorReply(self.failed("lazyfree-lazy-expire", "argument must be 'yes' or 'no'"),
                              "CONFIG", "SET", "lazyfree-lazy-expire", "maybe")
        self.assertErrorReply(self.failed("latency-monitor-threshold", "argument couldn't be parsed into an integer"),
                              "CONFIG", "SET", "latency-monitor-threshold", "1.5")
        # Atomic: a bad pair leaves the good one unset.
        self.assertIsInstance(self.call("CONFIG", "SET", "set-max-intset-entries", "7",
                                        "zset-max-listpack-value", "bad"), RespError)
        self.assertEqual(self.r.config_get("set-max-intset-entries"), {"set-max-intset-entries": "512"})
        self.assertErrorReply(self.failed("set-max-intset-entries", "duplicate parameter"),
                              "CONFIG", "SET", "set-max-intset-entries", "1", "set-max-intset-entries", "2")
        # A setting's two names in one CONFIG SET: the last one wins.
        self.assertEqual(self.call("CONFIG", "SET", "hash-max-ziplist-entries", "1",
                                   "hash-max-listpack-entries", "2"), b"OK")
        self.assertEqual(self.r.config_get("hash-max-ziplist-entries"), {"hash-max-ziplist-entries": "2"})
        self.assertErrorReply(self.failed("databases", "can't set immutable config"),
                              "CONFIG", "SET", "databases", "4")


class KeyspaceAdminTest(ServerTestCase):
    def test_dbsize(self):
        self.assertEqual(self.call("DBSIZE"), 0)
        self.r.mset({"a": 1, "b": 2, "c": 3})
        self.r.hset("h", "f", "v")
        self.assertEqual(self.call("DBSIZE"), 4)
        self.r.delete("a")
        self.assertEqual(self.call("DBSIZE"), 3)
        self.assertErrorReply("ERR wrong number of arguments for 'dbsize' command", "DBSIZE", "x")

    def test_flushdb(self):
        self.r.mset({"a": 1, "b": 2})
        self.assertEqual(self.call("FLUSHDB"), b"OK")
        self.assertEqual(self.call("DBSIZE"), 0)
        self.r.mset({"a": 1, "b": 2})
        self.assertEqual(self.call("FLUSHDB", "ASYNC"), b"OK")
        self.assertEqual(self.call("DBSIZE"), 0)
        self.r.mset({"a": 1})
        self.assertEqual(self.call("FLUSHDB", "SYNC"), b"OK")
        self.assertEqual(self.call("DBSIZE"), 0)
        self.assertErrorReply("ERR syntax error", "FLUSHDB", "foo")

    def test_flushall(self):
        for i in range(100):
            self.r.set("k%d" % i, i)
        self.r.set("e", "1", ex=100)
        self.assertEqual(self.call("FLUSHALL"), b"OK")
        self.assertEqual(self.call("DBSIZE"), 0)
        self.assertIsNone(self.r.get("k1"))
        self.assertEqual(self.call("FLUSHALL", "SYNC"), b"OK")
        self.assertEqual(self.call("FLUSHALL", "ASYNC"), b"OK")
        self.assertErrorReply("ERR syntax error", "FLUSHALL", "foo")

    def test_time(self):
        reply = self.call("TIME")
        self.assertEqual(len(reply), 2)
        secs, usecs = int(reply[0]), int(reply[1])
        self.assertLess(abs(secs - time.time()), 5)
        self.assertTrue(0 <= usecs < 1000000)
        self.assertErrorReply("ERR wrong number of arguments for 'time' command", "TIME", "x")


class ErrorsTest(ServerTestCase):
    def test_unknown_command_exact(self):
        self.assertEqual(self.raw_command("foo", "a", "b"),
                         b"-ERR unknown command 'foo', with args beginning with: 'a' 'b' \r\n")
        self.assertEqual(self.raw_command("foo"),
                         b"-ERR unknown command 'foo', with args beginning with: \r\n")

    def test_unknown_command_keeps_case_and_connection(self):
        with RawConnection(self.port) as c:
            self.assertEqual(c.command("FooBar", "X"),
                             RespError("ERR unknown command 'FooBar', with args beginning with: 'X' "))
            self.assertEqual(c.command("PING"), b"PONG")

    def test_unknown_command_args_are_truncated(self):
        # Arguments are listed until their text reaches 128 characters; each is cut to fit.
        reply = self.call("foo", "a" * 50, "b" * 50, "c" * 50, "d")
        self.assertEqual(reply, RespError(
            "ERR unknown command 'foo', with args beginning with: '%s' '%s' '%s' "
            % ("a" * 50, "b" * 50, "c" * 22)))
        reply = self.call("f" * 200, "y")
        self.assertEqual(reply, RespError(
            "ERR unknown command '%s', with args beginning with: 'y' " % ("f" * 128)))

    def test_unknown_command_newlines_are_sanitized(self):
        # An error line cannot contain CR or LF: they are replaced by spaces.
        self.assertEqual(self.raw_command("foo", "a\r\nb"),
                         b"-ERR unknown command 'foo', with args beginning with: 'a  b' \r\n")

    def test_wrong_arity(self):
        self.assertEqual(self.raw_command("get"),
                         b"-ERR wrong number of arguments for 'get' command\r\n")
        self.assertEqual(self.raw_command("GET", "a", "b"),
                         b"-ERR wrong number of arguments for 'get' command\r\n")
        self.assertEqual(self.raw_command("SET", "a"),
                         b"-ERR wrong number of arguments for 'set' command\r\n")


if __name__ == "__main__":
    unittest.main()
