"""CONFIG SET port / bind at run time. The server moves its listening socket: it answers on the
new port, the old one refuses, connections made before carry on. When the new socket cannot be
opened (another socket holds the port) the whole CONFIG SET fails with Redis's error and every
parameter it named keeps the value it had (Redis rolls back on an apply error). `bind` is a list:
each address gets a socket, "-" marks one the machine may not have, an empty list none. Started
without `bind`, a server listens on every address ("* -::*") and protected mode turns away the
clients that are not local. Written against redis-server 7.0; run unchanged against
lfdb-server, under every --model (the listener is the concurrency model's)."""

import socket
import subprocess
import unittest

import redis

from lfdb_testlib import HOST, ServerProcess, ServerTestCase, free_port


def has_ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def nonloopback_addr():
    """An IPv4 address of this machine other than 127.x (as Redis's harness finds it), or None."""
    try:
        out = subprocess.run(["hostname", "-I"], capture_output=True, text=True, timeout=10).stdout.split()
    except OSError:
        return None
    v4 = [a for a in out if ":" not in a and not a.startswith("127.")]
    return v4[0] if v4 else None


def first_reply(host, port):
    """What the server says to a PING on a new connection, read until it closes or answers."""
    with socket.create_connection((host, port), timeout=10) as c:
        c.sendall(b"PING\r\n")
        got = b""
        while not got.endswith(b"\r\n"):
            chunk = c.recv(4096)
            if not chunk:
                break
            got += chunk
        return got.decode()


class DefaultBindServer(ServerProcess):
    """A server started as Redis's harness starts one from minimal.conf: no `bind` given."""

    def command(self, port):
        cmd = super().command(port)
        i = cmd.index("--bind")
        return cmd[:i] + cmd[i + 2:]


def refuses(host, port):
    """True when nothing listens at host:port (the connection is refused)."""
    try:
        socket.create_connection((host, port), timeout=5).close()
        return False
    except ConnectionRefusedError:
        return True


class ListenerMoves(ServerTestCase):
    flush_before_each = False

    def config(self, c, name):
        return c.config_get(name)[name]

    def at(self, port, host=HOST):
        c = redis.Redis(host=host, port=port, decode_responses=True, socket_timeout=10)
        type(self)._clients.append(c)
        return c

    def test_a_taken_port_fails_and_rolls_back_every_parameter(self):
        r = self.r
        names = ("maxmemory", "port", "client-query-buffer-limit")
        before = {n: self.config(r, n) for n in names}
        with socket.socket() as taken:
            taken.bind((HOST, 0))
            taken.listen()
            with self.assertRaises(redis.ResponseError) as e:
                r.execute_command("CONFIG", "SET", "maxmemory", "10000001", "port",
                                  str(taken.getsockname()[1]), "client-query-buffer-limit", "10m")
        self.assertEqual(str(e.exception), "CONFIG SET failed (possibly related to argument 'port') "
                         "- Unable to listen on this port. Check server logs.")
        self.assertEqual({n: self.config(r, n) for n in names}, before)
        self.assertTrue(self.at(self.port).ping())  # still listening where it was
        self.assertEqual(int(r.info("server")["tcp_port"]), self.port)

    def test_moves_to_a_free_port_and_back(self):
        kept = self.client()
        self.assertTrue(kept.ping())
        new = free_port()
        self.assertTrue(self.r.config_set("port", new))
        moved = self.at(new)
        self.assertTrue(moved.ping())
        self.assertEqual(self.config(moved, "port"), str(new))
        self.assertEqual(int(moved.info("server")["tcp_port"]), new)
        self.assertTrue(refuses(HOST, self.port), "the old port still listens")
        self.assertTrue(kept.ping())  # a connection made before the move carries on
        self.assertTrue(moved.config_set("port", self.port))
        self.assertTrue(self.at(self.port).ping())
        self.assertTrue(refuses(HOST, new))
        self.assertTrue(kept.ping())

    def test_each_client_shows_and_is_killed_by_its_own_laddr(self):
        old = self.client()
        old.client_setname("came-in-before")
        new_port = free_port()
        self.assertTrue(self.r.config_set("port", new_port))
        try:
            moved = self.at(new_port)
            moved.client_setname("came-in-after")
            laddr = {c["name"]: c["laddr"] for c in moved.client_list()
                     if c["name"].startswith("came-in")}
            self.assertEqual(laddr, {"came-in-before": f"{HOST}:{self.port}",
                                     "came-in-after": f"{HOST}:{new_port}"})
            self.assertEqual(moved.client_info()["laddr"], f"{HOST}:{new_port}")
            # Only the connections that came in on the old port go.
            killed = moved.execute_command("CLIENT", "KILL", "LADDR", f"{HOST}:{self.port}",
                                           "SKIPME", "yes")
            self.assertGreaterEqual(killed, 1)
            names = [c["name"] for c in moved.client_list()]
            self.assertNotIn("came-in-before", names)
            self.assertIn("came-in-after", names)
            self.assertEqual(moved.execute_command("CLIENT", "KILL", "LADDR", "127.0.0.1:1"), 0)
        finally:
            self.assertTrue(self.at(new_port).config_set("port", self.port))

    def test_a_port_out_of_range_is_refused(self):
        with self.assertRaises(redis.ResponseError) as e:
            self.r.config_set("port", 65536)
        self.assertEqual(str(e.exception), "CONFIG SET failed (possibly related to argument 'port') "
                         "- argument must be between 0 and 65535 inclusive")
        self.assertEqual(self.config(self.r, "port"), str(self.port))

    def test_bind_moves_to_another_address_and_back(self):
        kept = self.client()
        self.assertTrue(kept.ping())
        self.assertTrue(self.r.config_set("bind", "127.0.0.2"))  # loopback too, on Linux
        moved = self.at(self.port, host="127.0.0.2")
        self.assertTrue(moved.ping())
        self.assertEqual(self.config(moved, "bind"), "127.0.0.2")
        self.assertTrue(refuses(HOST, self.port))
        self.assertTrue(kept.ping())
        self.assertTrue(moved.config_set("bind", HOST))
        self.assertTrue(self.at(self.port).ping())
        self.assertTrue(refuses("127.0.0.2", self.port))

    def test_bind_widens_to_the_wildcard_on_the_same_port(self):
        kept = self.client()
        self.assertTrue(kept.ping())
        try:
            # The wildcard overlaps the address listened on: Redis closes its listeners first.
            self.assertTrue(self.r.config_set("bind", "0.0.0.0"))
            self.assertEqual(self.config(kept, "bind"), "0.0.0.0")
            self.assertTrue(self.at(self.port, host="127.0.0.2").ping())
            self.assertTrue(self.at(self.port).ping())
            self.assertTrue(kept.ping())
        finally:
            self.assertTrue(kept.config_set("bind", HOST))
        self.assertTrue(self.at(self.port).ping())
        self.assertTrue(refuses("127.0.0.2", self.port))

    def test_an_address_it_cannot_bind_fails_and_keeps_the_old(self):
        with self.assertRaises(redis.ResponseError) as e:
            self.r.config_set("bind", "192.0.2.1")  # TEST-NET-1: no interface has it
        self.assertEqual(str(e.exception), "CONFIG SET failed (possibly related to argument 'bind') "
                         "- Failed to bind to specified addresses.")
        self.assertEqual(self.config(self.r, "bind"), HOST)
        self.assertTrue(self.at(self.port).ping())

    @unittest.skipUnless(has_ipv6_loopback(), "no IPv6 loopback here")
    def test_bind_takes_several_addresses_and_optional_ones(self):
        r = self.r
        kept = self.client()
        self.assertTrue(kept.ping())  # connected before the moves
        try:
            self.assertTrue(r.config_set("bind", "127.0.0.1 ::1"))
            self.assertEqual(self.config(r, "bind"), "127.0.0.1 ::1")
            self.assertTrue(self.at(self.port).ping())
            self.assertTrue(self.at(self.port, host="::1").ping())  # ::1 is local: no DENIED
            # An optional address the machine does not have is skipped; a required one fails all.
            self.assertTrue(r.config_set("bind", "::1 -192.0.2.1"))
            self.assertEqual(self.config(r, "bind"), "::1 -192.0.2.1")
            self.assertTrue(self.at(self.port, host="::1").ping())
            self.assertTrue(refuses(HOST, self.port))
            with self.assertRaises(redis.ResponseError) as e:
                kept.config_set("bind", "::1 192.0.2.1")
            self.assertIn("Failed to bind to specified addresses", str(e.exception))
            self.assertEqual(self.config(kept, "bind"), "::1 -192.0.2.1")
            # No address: no TCP listener at all; the connections made before carry on.
            self.assertTrue(kept.config_set("bind", ""))
            self.assertEqual(self.config(kept, "bind"), "")
            self.assertTrue(refuses("::1", self.port))
            self.assertTrue(refuses(HOST, self.port))
            self.assertTrue(kept.ping())
        finally:
            self.assertTrue(kept.config_set("bind", HOST))
        self.assertTrue(self.at(self.port).ping())

    def test_too_many_bind_addresses_are_refused(self):
        with self.assertRaises(redis.ResponseError) as e:
            self.r.config_set("bind", " ".join(["127.0.0.1"] * 17))
        self.assertEqual(str(e.exception), "CONFIG SET failed (possibly related to argument 'bind') "
                         "- Too many bind addresses specified.")
        self.assertEqual(self.config(self.r, "bind"), HOST)


class DefaultBind(unittest.TestCase):
    """A server of its own, started with no `bind`: Redis's default and protected mode."""

    def test_default_is_every_address_with_protected_mode(self):
        sp = DefaultBindServer()
        sp.start()
        self.addCleanup(sp.stop)
        r = redis.Redis(host=HOST, port=sp.port, decode_responses=True, socket_timeout=10)
        self.assertEqual(r.config_get("bind")["bind"], "* -::*")
        if has_ipv6_loopback():
            self.assertTrue(redis.Redis(host="::1", port=sp.port, socket_timeout=10).ping())
        mine = nonloopback_addr()
        if mine is not None:
            denied = ("-DENIED Redis is running in protected mode because protected mode is enabled "
                      "and no password is set for the default user.")
            self.assertTrue(first_reply(mine, sp.port).startswith(denied))
            self.assertEqual(first_reply(HOST, sp.port), "+PONG\r\n")
            # A password for the default user lets the others in; none again shuts them out.
            self.assertTrue(r.config_set("requirepass", "secret"))
            other = redis.Redis(host=mine, port=sp.port, password="secret", socket_timeout=10)
            self.assertTrue(other.ping())
            other.close()
            self.assertTrue(r.config_set("requirepass", ""))
            self.assertTrue(first_reply(mine, sp.port).startswith(denied))
            self.assertTrue(r.config_set("protected-mode", "no"))
            self.assertEqual(first_reply(mine, sp.port), "+PONG\r\n")
        # The listeners close before any client sees its connection end (every --model): one
        # that reconnects at once is refused.
        try:
            r.execute_command("SHUTDOWN", "NOSAVE")
        except redis.ConnectionError:
            pass
        self.assertTrue(refuses(HOST, sp.port))
        sp.proc.wait(20)


if __name__ == "__main__":
    unittest.main()
