"""Malformed and hostile input over raw sockets. The exact error lines are redis 7.0's.

After a protocol error the server sends one error line and closes that connection; it stays up,
and a bystander client connected all along keeps working and loses nothing."""

import random
import socket
import struct
import time
import unittest

from lfdb_testlib import RawConnection, ServerTestCase, encode_command, raw_exchange

PROTO = b"-ERR Protocol error: "


class ProtocolErrorTest(ServerTestCase):
    """Each case: bytes sent on a fresh connection -> the exact error, then the server closes."""

    CASES = [
        (b"*abc\r\n", b"invalid multibulk length"),
        (b"*1x\r\n", b"invalid multibulk length"),
        (b"*\r\n", b"invalid multibulk length"),
        (b"*2147483648\r\n", b"invalid multibulk length"),          # > INT_MAX
        (b"*99999999999999999999\r\n", b"invalid multibulk length"),
        (b"*1\r\n$abc\r\n", b"invalid bulk length"),
        (b"*1\r\n$1a\r\n", b"invalid bulk length"),
        (b"*1\r\n$\r\n", b"invalid bulk length"),
        (b"*1\r\n$-1\r\n", b"invalid bulk length"),
        (b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$-5\r\n", b"invalid bulk length"),
        (b"*1\r\n$600000000\r\n", b"invalid bulk length"),          # > proto-max-bulk-len
        (b"*1\r\n$536870913\r\n", b"invalid bulk length"),          # 512 MB + 1
        (b"*1\r\n$99999999999999999999\r\n", b"invalid bulk length"),
        (b"*1\r\nx3\r\nfoo\r\n", b"expected '$', got 'x'"),
        (b"*2\r\n$4\r\nECHO\r\n:5\r\n", b"expected '$', got ':'"),
        (b'set a "b\r\n', b"unbalanced quotes in request"),
        (b'set "a\r\n', b"unbalanced quotes in request"),
        (b"set 'a\r\n", b"unbalanced quotes in request"),
        (b'set "a"b c\r\n', b"unbalanced quotes in request"),
        (b"ECHO 'it''s'\r\n", b"unbalanced quotes in request"),
    ]

    def setUp(self):
        super().setUp()
        self.bystander = RawConnection(self.port)
        self.assertEqual(self.bystander.command("SET", "bystander", "0"), b"OK")

    def tearDown(self):
        # the server is up and the bystander's connection was never disturbed
        self.assertEqual(self.bystander.command("INCR", "bystander"), 1)
        self.assertEqual(self.bystander.command("PING"), b"PONG")
        self.bystander.close()
        super().tearDown()

    def check(self, data, message):
        out, closed = raw_exchange(self.port, data, timeout=2.0)
        self.assertEqual(out, PROTO + message + b"\r\n", data)
        self.assertTrue(closed, "server kept the connection open after %r" % data)

    def test_protocol_errors(self):
        for data, message in self.CASES:
            with self.subTest(data=data):
                self.check(data, message)

    def test_error_after_valid_pipelined_commands(self):
        # commands before the bad one run and are answered; nothing after it runs
        data = (encode_command("SET", "before", "1") + b"*1\r\n$4\r\nPING\r\n" + b"*abc\r\n"
                + encode_command("SET", "after", "1"))
        out, closed = raw_exchange(self.port, data)
        self.assertEqual(out, b"+OK\r\n+PONG\r\n" + PROTO + b"invalid multibulk length\r\n")
        self.assertTrue(closed)
        self.assertEqual(self.r.get("before"), "1")
        self.assertIsNone(self.r.get("after"))

    def test_too_big_inline_request(self):
        self.check(b"a" * 70000, b"too big inline request")

    def test_too_big_count_strings(self):
        self.check(b"*" + b"1" * 70000, b"too big mbulk count string")
        self.check(b"*1\r\n$" + b"1" * 70000, b"too big bulk count string")

    def test_error_sent_in_pieces(self):
        with RawConnection(self.port) as c:
            c.send(b"*1\r\n")
            self.assertTrue(c.expect_silence(0.2))
            c.send(b"$ab")
            c.send(b"c\r\n")
            self.assertEqual(c.read_reply(), PROTO + b"invalid bulk length\r\n")
            self.assertTrue(c.is_closed())


class ProtocolToleranceTest(ServerTestCase):
    """Inputs that are not errors."""

    def setUp(self):
        super().setUp()
        self.c = RawConnection(self.port)

    def tearDown(self):
        self.c.close()
        super().tearDown()

    def test_inline_commands(self):
        self.c.send(b"PING\r\n")
        self.assertEqual(self.c.read_reply(), b"+PONG\r\n")
        self.c.send(b"ECHO hi\r\n")
        self.assertEqual(self.c.read_reply(), b"$2\r\nhi\r\n")
        self.c.send(b"SET k v\r\nGET k\r\n")
        self.assertEqual(self.c.read_reply(), b"+OK\r\n")
        self.assertEqual(self.c.read_reply(), b"$1\r\nv\r\n")

    def test_inline_lf_only_and_whitespace(self):
        self.c.send(b"PING\n")
        self.assertEqual(self.c.read_reply(), b"+PONG\r\n")
        self.c.send(b"   PING    \r\n")
        self.assertEqual(self.c.read_reply(), b"+PONG\r\n")
        self.c.send(b"ECHO\t\"a b\"\r\n")
        self.assertEqual(self.c.read_reply(), b"$3\r\na b\r\n")

    def test_inline_quoting(self):
        self.c.send(b'SET k "a\\r\\nb\\x41"\r\nGET k\r\n')
        self.assertEqual(self.c.read_reply(), b"+OK\r\n")
        self.assertEqual(self.c.read_reply(), b"$5\r\na\r\nbA\r\n")
        self.c.send(b"ECHO 'single \"quoted\"'\r\n")
        self.assertEqual(self.c.read_reply(), b'$15\r\nsingle "quoted"\r\n')
        self.c.send(b'ECHO "a\\"b"\r\n')
        self.assertEqual(self.c.read_reply(), b'$3\r\na"b\r\n')

    def test_empty_lines_and_empty_multibulk_are_ignored(self):
        self.c.send(b"\r\n\r\n*0\r\n*-1\r\nPING\r\n")
        self.assertEqual(self.c.read_reply(), b"+PONG\r\n")
        self.assertTrue(self.c.expect_silence(0.2))

    def test_empty_command_name(self):
        self.c.send(b"*1\r\n$0\r\n\r\n")
        self.assertEqual(self.c.read_reply(),
                         b"-ERR unknown command '', with args beginning with: \r\n")

    def test_mixed_inline_and_multibulk(self):
        self.c.send(b"PING\r\n*2\r\n$4\r\nECHO\r\n$1\r\nx\r\nPING\r\n")
        self.assertEqual(self.c.read_reply(), b"+PONG\r\n")
        self.assertEqual(self.c.read_reply(), b"$1\r\nx\r\n")
        self.assertEqual(self.c.read_reply(), b"+PONG\r\n")

    def test_byte_by_byte(self):
        data = encode_command("SET", "slow", "value") + encode_command("GET", "slow")
        for i in range(len(data)):
            self.c.send(data[i:i + 1])
            if i % 7 == 0:
                time.sleep(0.002)
        self.assertEqual(self.c.read_reply(), b"+OK\r\n")
        self.assertEqual(self.c.read_reply(), b"$5\r\nvalue\r\n")

    def test_max_bulk_length_is_accepted(self):
        # 512 MB exactly is a legal length: the server waits for the data
        self.c.send(b"*1\r\n$536870912\r\n")
        self.assertTrue(self.c.expect_silence(0.3))

    def test_huge_multibulk_count_waits(self):
        # a count below INT_MAX is legal: the server waits for the arguments (and must not
        # try to allocate them up front)
        self.c.send(b"*2000000000\r\n")
        self.assertTrue(self.c.expect_silence(0.3))
        with RawConnection(self.port) as other:
            self.assertEqual(other.command("PING"), b"PONG")

    def test_large_pipeline(self):
        data = b"".join(encode_command("INCR", "n") for _ in range(10000))
        self.c.send(data)
        for i in range(1, 10001):
            self.assertEqual(self.c.read_reply(), b":%d\r\n" % i)

    def test_pipeline_without_reading_replies(self):
        # a client that writes a lot and reads late still gets every reply in order
        value = b"x" * 1000
        data = b"".join(encode_command("SET", "k%d" % i, value) for i in range(2000))
        data += b"".join(encode_command("GET", "k%d" % i) for i in range(2000))
        self.c.send(data)
        time.sleep(0.2)
        for i in range(2000):
            self.assertEqual(self.c.read_reply(), b"+OK\r\n")
        for i in range(2000):
            self.assertEqual(self.c.read_reply(), b"$1000\r\n" + value + b"\r\n")


class CommandErrorsKeepConnectionTest(ServerTestCase):
    """Command-level errors are ordinary replies: the connection stays open."""

    def test_errors_then_more_commands(self):
        with RawConnection(self.port) as c:
            c.send_command("SET", "s", "v")
            self.assertEqual(c.read_reply(), b"+OK\r\n")
            c.send_command("GET")
            self.assertEqual(c.read_reply(), b"-ERR wrong number of arguments for 'get' command\r\n")
            c.send_command("HGET", "s", "f")
            self.assertEqual(c.read_reply(),
                             b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n")
            c.send_command("NOPE", "x", "y")
            self.assertEqual(c.read_reply(),
                             b"-ERR unknown command 'NOPE', with args beginning with: 'x' 'y' \r\n")
            c.send_command("SET", "s", "v", "EX", "abc")
            self.assertEqual(c.read_reply(), b"-ERR value is not an integer or out of range\r\n")
            c.send_command("PING")
            self.assertEqual(c.read_reply(), b"+PONG\r\n")

    def test_pipelined_errors(self):
        with RawConnection(self.port) as c:
            c.send(encode_command("GET") + encode_command("NOPE") + encode_command("PING"))
            self.assertEqual(c.read_reply(), b"-ERR wrong number of arguments for 'get' command\r\n")
            self.assertEqual(c.read_reply(), b"-ERR unknown command 'NOPE', with args beginning with: \r\n")
            self.assertEqual(c.read_reply(), b"+PONG\r\n")

    def test_inline_errors(self):
        with RawConnection(self.port) as c:
            c.send(b"GET\r\nfoo bar\r\nPING\r\n")
            self.assertEqual(c.read_reply(), b"-ERR wrong number of arguments for 'get' command\r\n")
            self.assertEqual(c.read_reply(),
                             b"-ERR unknown command 'foo', with args beginning with: 'bar' \r\n")
            self.assertEqual(c.read_reply(), b"+PONG\r\n")


class AbruptClientsTest(ServerTestCase):
    def test_truncated_request_loses_nothing(self):
        # Keys of its own: connections of earlier tests (reset, unread replies) may still be
        # drained by a slow (sanitized) server after this test's FLUSHALL.
        bystander = RawConnection(self.port)
        try:
            self.assertEqual(bystander.command("SET", "trunc:k", "old"), b"OK")
            self.assertEqual(bystander.command("SET", "trunc:other", "1"), b"OK")
            full = encode_command("SET", "trunc:k", "new-value")
            for cut in range(1, len(full)):
                with socket.create_connection(("127.0.0.1", self.port)) as s:
                    s.sendall(full[:cut])
            inline = b"SET trunc:k inline-value\r\n"
            for cut in (1, 5, len(inline) - 2):
                with socket.create_connection(("127.0.0.1", self.port)) as s:
                    s.sendall(inline[:cut])
            time.sleep(0.2)
            self.assertEqual(bystander.command("GET", "trunc:k"), b"old")
            self.assertEqual(sorted(bystander.command("KEYS", "trunc:*")),
                             [b"trunc:k", b"trunc:other"])
            self.assertEqual(bystander.command("INCR", "trunc:other"), 2)
        finally:
            bystander.close()

    def test_truncated_transaction_loses_nothing(self):
        with socket.create_connection(("127.0.0.1", self.port)) as s:
            s.sendall(encode_command("MULTI") + encode_command("SET", "t", "1")
                      + encode_command("EXEC")[:-3])
            time.sleep(0.1)
        time.sleep(0.1)
        self.assertIsNone(self.r.get("t"))

    def test_close_with_unread_replies(self):
        value = b"y" * 100000
        self.rb.set(b"big", value)
        for _ in range(20):
            with socket.create_connection(("127.0.0.1", self.port)) as s:
                s.sendall(encode_command("GET", "big") * 50)
        self.assertEqual(self.rb.get(b"big"), value)

    def test_reset_connections(self):
        for _ in range(20):
            s = socket.create_connection(("127.0.0.1", self.port))
            s.sendall(encode_command("SET", "rst", "v") + b"*3\r\n$3\r\nSET")
            # SO_LINGER 0: close sends RST instead of FIN
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            s.close()
        self.assertTrue(self.r.ping())

    def test_random_garbage(self):
        rnd = random.Random(12345)
        alphabet = b"*$\r\n:+-0123456789abcPINGSET \"'\\\x00\xff"
        for _ in range(200):
            n = rnd.randint(1, 200)
            if rnd.random() < 0.5:
                data = bytes(rnd.choice(alphabet) for _ in range(n))
            else:
                data = bytes(rnd.getrandbits(8) for _ in range(n))
            with socket.create_connection(("127.0.0.1", self.port)) as s:
                s.sendall(data)
        self.r.set("after", "garbage")
        self.assertEqual(self.r.get("after"), "garbage")


class UnauthenticatedLimitsTest(ServerTestCase):
    """redis 7.0 caps what an unauthenticated client may send, when a password is set."""

    server_config = [("requirepass", "pw")]
    flush_before_each = False

    def test_unauthenticated_multibulk_length(self):
        out, closed = raw_exchange(self.port, b"*11\r\n")
        self.assertEqual(out, PROTO + b"unauthenticated multibulk length\r\n")
        self.assertTrue(closed)
        out, closed = raw_exchange(self.port, b"*10\r\n", timeout=0.3)
        self.assertEqual((out, closed), (b"", False))

    def test_unauthenticated_bulk_length(self):
        out, closed = raw_exchange(self.port, b"*1\r\n$16385\r\n")
        self.assertEqual(out, PROTO + b"unauthenticated bulk length\r\n")
        self.assertTrue(closed)
        out, closed = raw_exchange(self.port, b"*1\r\n$16384\r\n", timeout=0.3)
        self.assertEqual((out, closed), (b"", False))

    def test_limits_lifted_after_auth(self):
        with RawConnection(self.port) as c:
            self.assertEqual(c.command("AUTH", "pw"), b"OK")
            args = ["MSET"] + ["k%d" % (i // 2) if i % 2 == 0 else "v" for i in range(20)]
            self.assertEqual(c.command(*args), b"OK")
            self.assertEqual(c.command("SET", "big", "x" * 20000), b"OK")
            self.assertEqual(c.command("STRLEN", "big"), 20000)
            self.assertEqual(c.command("FLUSHALL"), b"OK")

    # The limits change between two commands of one read: each command is cut with the limits in
    # force once the commands before it have run (lfdb reads a pipelined batch ahead).
    def test_limits_lifted_by_auth_earlier_in_the_same_read(self):
        data = (encode_command("AUTH", "pw") + encode_command("SET", "big", "x" * 20000) +
                encode_command("STRLEN", "big") + encode_command("DEL", "big"))
        out, closed = raw_exchange(self.port, data, timeout=0.5)
        self.assertEqual((out, closed), (b"+OK\r\n+OK\r\n:20000\r\n:1\r\n", False))

    def test_limits_back_after_reset_earlier_in_the_same_read(self):
        data = (encode_command("AUTH", "pw") + encode_command("PING") + encode_command("RESET") +
                encode_command("SET", "big", "x" * 20000) + encode_command("PING"))
        out, closed = raw_exchange(self.port, data)
        self.assertEqual(out, b"+OK\r\n+PONG\r\n+RESET\r\n" + PROTO + b"unauthenticated bulk length\r\n")
        self.assertTrue(closed)


if __name__ == "__main__":
    unittest.main()
