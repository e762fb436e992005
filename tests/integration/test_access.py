"""Who may talk to the server, as Redis 7.0 decides it: password guessing (a pipelined guesser is
dropped once its replies pile up; failed AUTHs are counted in INFO errorstats) and protected mode
(no password set: only clients from 127.0.0.1 are served, others get the DENIED line).

Written against redis-server (the peer run checks every expectation there) and run unchanged
against lfdb-server. Only local addresses are used: 127.0.0.1, 127.0.0.2 and this machine's own
interface address.
"""

import re
import socket
import subprocess
import unittest

from lfdb_testlib import RawConnection, RespError, ServerTestCase

WRONGPASS = b"-WRONGPASS invalid username-password pair or user is disabled.\r\n"
NOAUTH = b"-NOAUTH Authentication required.\r\n"
# Redis 7.0's protected-mode refusal, the exact error line redis-server sends.
DENIED = (
    b"-DENIED Redis is running in protected mode because protected mode is enabled and no "
    b"password is set for the default user. In this mode connections are only accepted from the "
    b"loopback interface. If you want to connect from external computers to Redis you may adopt "
    b"one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG "
    b"SET protected-mode no' from the loopback interface by connecting to Redis from the same "
    b"host the server is running, however MAKE SURE Redis is not publicly accessible from "
    b"internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively "
    b"you can just disable the protected mode by editing the Redis configuration file, and "
    b"setting the protected mode option to 'no', and then restarting the server. 3) If you "
    b"started the server manually just for testing, restart it with the '--protected-mode no' "
    b"option. 4) Setup a an authentication password for the default user. NOTE: You only need "
    b"to do one of the above things in order for the server to start accepting connections from "
    b"the outside.\r\n")


def burst(port, data, source="127.0.0.1", dest="127.0.0.1", wait=2.0):
    """Sends `data` in one write and reads without sending more: (bytes received, closed?).
    closed is False when the connection was still open after `wait` seconds of silence."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(5)
        s.bind((source, 0))
        s.connect((dest, port))
        if data:
            s.sendall(data)
        s.settimeout(wait)
        got = b""
        while True:
            try:
                chunk = s.recv(1 << 20)
            except socket.timeout:
                return got, False
            except ConnectionResetError:
                return got, True
            if not chunk:
                return got, True
            got += chunk


def interface_address():
    """This machine's own non-loopback IPv4 address, or None."""
    try:
        out = subprocess.run(["ip", "-4", "-o", "addr", "show", "scope", "global"],
                             capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    m = re.search(r"\binet (\d+\.\d+\.\d+\.\d+)/", out)
    return m.group(1) if m else None


def errorstats(conn):
    """INFO errorstats as {prefix: count}."""
    text = conn.command("INFO", "errorstats").decode()
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^errorstat_(\w+):count=(\d+)", text, re.M)}


class PasswordGuessingTest(ServerTestCase):
    server_config = [("requirepass", "s3cret")]
    flush_before_each = False

    def admin(self):
        c = RawConnection(self.port)
        self.assertEqual(c.command("AUTH", "s3cret"), b"OK")
        return c

    def test_guesses_whose_replies_fit_are_all_answered(self):
        # 256 WRONGPASS replies are 16384 bytes: what Redis keeps for a client that has not
        # authenticated.
        got, closed = burst(self.port, b"AUTH guess\r\n" * 256)
        self.assertEqual(got, WRONGPASS * 256)
        self.assertFalse(closed)

    def test_a_pipelined_guesser_is_dropped_with_nothing_sent(self):
        got, closed = burst(self.port, b"AUTH guess\r\n" * 400)
        self.assertTrue(closed)
        self.assertEqual(got, b"")

    def test_piled_up_refusals_drop_the_client_too(self):
        got, closed = burst(self.port, b"GET k\r\n" * 1000)
        self.assertTrue(closed)
        self.assertEqual(got, b"")

    def test_a_client_that_reads_its_replies_is_not_dropped(self):
        with RawConnection(self.port) as c:
            for _ in range(3):
                c.send(b"AUTH guess\r\n" * 200)
                for _ in range(200):
                    self.assertEqual(c.read_reply(), WRONGPASS)
            self.assertEqual(c.command("AUTH", "s3cret"), b"OK")
            self.assertEqual(c.command("PING"), b"PONG")

    def test_an_authenticated_client_may_pile_up_replies(self):
        with RawConnection(self.port) as c:
            c.send(b"AUTH s3cret\r\n" + b"PING\r\n" * 4000)
            self.assertEqual(c.read_reply(), b"+OK\r\n")
            for _ in range(4000):
                self.assertEqual(c.read_reply(), b"+PONG\r\n")

    def test_failed_auths_are_counted_in_errorstats(self):
        with self.admin() as admin:
            self.assertEqual(admin.command("CONFIG", "RESETSTAT"), b"OK")
            self.assertEqual(errorstats(admin), {})
            with RawConnection(self.port) as c:
                self.assertEqual(c.command("AUTH", "wrong"), RespError(WRONGPASS[1:-2].decode()))
                self.assertEqual(c.command("AUTH", "default", "wrong"),
                                 RespError(WRONGPASS[1:-2].decode()))
                self.assertIsInstance(c.command("HELLO", "3", "AUTH", "default", "wrong"), RespError)
                self.assertEqual(c.command("GET", "k"), RespError(NOAUTH[1:-2].decode()))
                self.assertEqual(c.command("AUTH", "s3cret"), b"OK")
            # Dropped: the 257th reply is the one past the limit, and nothing after it runs;
            # the 257 guesses count, though none was answered.
            self.assertEqual(burst(self.port, b"AUTH guess\r\n" * 400), (b"", True))
            self.assertEqual(errorstats(admin), {"WRONGPASS": 3 + 257, "NOAUTH": 1})
            stats = admin.command("INFO", "stats").decode()
            self.assertEqual(int(re.search(r"total_error_replies:(\d+)", stats).group(1)), 261)


class ProtectedModeTest(ServerTestCase):
    """The server listens on every address and has no password: protected mode (on by default)
    serves 127.0.0.1 only. The refusal comes unasked, then the connection closes."""

    server_config = [("bind", "0.0.0.0")]
    flush_before_each = False

    def test_a_loopback_client_is_served(self):
        self.assertEqual(burst(self.port, b"PING\r\n", wait=0.5), (b"+PONG\r\n", False))

    def test_another_loopback_address_is_refused(self):
        # 127.0.0.2 is on the loopback interface too, but only 127.0.0.1 counts as local.
        self.assertEqual(burst(self.port, b"", source="127.0.0.2"), (DENIED, True))

    def test_this_machines_interface_address_is_refused(self):
        addr = interface_address()
        if addr is None:
            self.skipTest("this machine has no non-loopback IPv4 address")
        self.assertEqual(burst(self.port, b"", source=addr, dest=addr), (DENIED, True))

    def test_refusals_count_as_rejected_connections(self):
        with RawConnection(self.port) as admin:
            def rejected():
                stats = admin.command("INFO", "stats").decode()
                return int(re.search(r"rejected_connections:(\d+)", stats).group(1))
            before = rejected()
            burst(self.port, b"", source="127.0.0.2")
            self.assertEqual(rejected(), before + 1)

    def test_turned_off_it_serves_everyone(self):
        with RawConnection(self.port) as admin:
            self.assertEqual(admin.command("CONFIG", "GET", "protected-mode"), [b"protected-mode", b"yes"])
            self.assertEqual(admin.command("CONFIG", "SET", "protected-mode", "no"), b"OK")
            try:
                self.assertEqual(burst(self.port, b"PING\r\n", source="127.0.0.2", wait=0.5),
                                 (b"+PONG\r\n", False))
            finally:
                self.assertEqual(admin.command("CONFIG", "SET", "protected-mode", "yes"), b"OK")
            self.assertEqual(burst(self.port, b"", source="127.0.0.2"), (DENIED, True))
            self.assertEqual(admin.command("CONFIG", "SET", "protected-mode", "maybe"), RespError(
                "ERR CONFIG SET failed (possibly related to argument 'protected-mode') - "
                "argument must be 'yes' or 'no'"))

    def test_a_password_lifts_it(self):
        with RawConnection(self.port) as admin:  # authenticated: it connected without a password
            self.assertEqual(admin.command("CONFIG", "SET", "requirepass", "pw"), b"OK")
            try:
                self.assertEqual(burst(self.port, b"PING\r\n", source="127.0.0.2", wait=0.5),
                                 (NOAUTH, False))
            finally:
                self.assertEqual(admin.command("CONFIG", "SET", "requirepass", ""), b"OK")


if __name__ == "__main__":
    unittest.main()
