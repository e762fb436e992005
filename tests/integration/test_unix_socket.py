"""`unixsocket` and `unixsocketperm`: a UNIX domain socket served besides the TCP port, side by
side with redis-server (both started here with the same directives): redis-py over the socket,
CLIENT LIST's view of such a client, protected mode, CONFIG GET/SET, the file's mode, its removal
at exit, and the start and ready lines in the server's log that tools wait for."""
import os
import stat
import time
import unittest

import redis

from lfdb_testlib import ServerProcess, is_redis


class SocketServer(ServerProcess):
    """A server (redis-server for "redis", the server under test for "lfdb") with a UNIX domain
    socket in its directory, protected mode on and no password."""

    def __init__(self, kind):
        super().__init__()
        self.kind = kind
        self.path = os.path.join(self.dir, "socket")
        self.extra = [("unixsocket", self.path), ("unixsocketperm", "700"),
                      ("protected-mode", "yes"), ("always-show-logo", "yes")]

    def command(self, port):
        if self.kind == "redis" or is_redis():
            directives = []
            for name, value in self.extra:
                directives += ["--" + name, str(value)]
            return self.redis_command(port) + directives
        return super().command(port)


class UnixSocketTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.servers = {}
        for kind in ("redis", "lfdb"):
            cls.servers[kind] = SocketServer(kind).start()

    @classmethod
    def tearDownClass(cls):
        for s in cls.servers.values():
            s.stop()

    def each(self):
        for kind, server in self.servers.items():
            with self.subTest(server=kind):
                yield kind, server

    def test_redis_py_over_the_socket(self):
        for kind, server in self.each():
            r = redis.Redis(unix_socket_path=server.path, decode_responses=True)
            self.assertTrue(r.set("k", "over the socket"))
            self.assertEqual(r.get("k"), "over the socket")
            tcp = redis.Redis(host="127.0.0.1", port=server.port, decode_responses=True)
            self.assertEqual(tcp.get("k"), "over the socket")
            r.close()
            tcp.close()

    def test_client_list_shows_the_path_and_flag_U(self):
        lines = {}
        for kind, server in self.each():
            r = redis.Redis(unix_socket_path=server.path, decode_responses=True)
            r.client_setname("viasocket")
            tcp = redis.Redis(host="127.0.0.1", port=server.port, decode_responses=True)
            mine = [c for c in tcp.client_list() if c["name"] == "viasocket"]
            self.assertEqual(len(mine), 1, tcp.client_list())
            c = mine[0]
            self.assertEqual(c["addr"], server.path + ":0")
            self.assertEqual(c["laddr"], server.path + ":0")
            self.assertEqual(c["flags"], "U")
            own = tcp.client_info()
            self.assertNotIn("U", own["flags"])
            # CLIENT KILL ADDR takes the same spelling.
            killed = tcp.execute_command("CLIENT", "KILL", "ADDR", server.path + ":0")
            self.assertTrue(killed)
            lines[kind] = (c["addr"].replace(server.path, "PATH"), c["flags"], killed)
            r.close()
            tcp.close()
        self.assertEqual(lines["redis"], lines["lfdb"])

    def test_config_get_and_set(self):
        answers = {}
        for kind, server in self.each():
            r = redis.Redis(host="127.0.0.1", port=server.port, decode_responses=True)
            got = r.config_get("unixsocket*")
            self.assertEqual(got, {"unixsocket": server.path, "unixsocketperm": "700"})
            errors = []
            for name, value in (("unixsocketperm", "755"), ("unixsocket", "/tmp/elsewhere")):
                with self.assertRaises(redis.ResponseError) as e:
                    r.config_set(name, value)
                errors.append(str(e.exception))
            answers[kind] = errors
            r.close()
        self.assertEqual(answers["redis"], answers["lfdb"])

    def test_the_file_is_a_socket_with_the_mode_asked_for(self):
        for kind, server in self.each():
            st = os.stat(server.path)
            self.assertTrue(stat.S_ISSOCK(st.st_mode))
            self.assertEqual(stat.S_IMODE(st.st_mode), 0o700)

    def test_the_log_names_the_pid_and_says_ready(self):
        for kind, server in self.each():
            # Both servers accept on the port a moment before they write these lines: wait for
            # them (they failed once under load when read at once).
            want = (" PID: %d" % server.proc.pid, "Ready to accept connections")
            deadline = time.monotonic() + 10
            while not all(w in server.log() for w in want) and time.monotonic() < deadline:
                time.sleep(0.02)
            log = server.log()
            self.assertIn(want[0], log)
            self.assertIn(want[1], log)


class SocketLifetimeTest(unittest.TestCase):
    def test_a_stale_file_is_replaced_and_the_socket_removed_at_exit(self):
        for kind in ("redis", "lfdb"):
            with self.subTest(server=kind):
                server = SocketServer(kind)
                with open(server.path, "w") as f:
                    f.write("left by an earlier run\n")
                server.start()
                try:
                    r = redis.Redis(unix_socket_path=server.path)
                    self.assertTrue(r.ping())
                    r.close()
                finally:
                    rc = server.stop(keep_dir=True)
                self.assertEqual(rc, 0)
                deadline = time.monotonic() + 5
                while os.path.exists(server.path) and time.monotonic() < deadline:
                    time.sleep(0.05)
                self.assertFalse(os.path.exists(server.path), "the socket file outlived the server")


if __name__ == "__main__":
    unittest.main()
