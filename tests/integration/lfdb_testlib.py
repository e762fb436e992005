"""Harness for the lfdb-server integration tests.

The server under test is chosen by the environment variable LFDB_SERVER:

  LFDB_SERVER=redis (default)   redis-server (from PATH, or $LFDB_REDIS_SERVER), the reference
                                ("peer") implementation
  LFDB_SERVER=/path/to/binary   lfdb-server, started as
                                <path> --port P --bind 127.0.0.1 [--name value ...] $LFDB_SERVER_ARGS

Every test class gets its own server process (started in setUpClass, on a free port); setUp runs
FLUSHALL. A server that dies during a class is a failure, and the server log is printed to stderr
whenever a test of the class fails.

Run with /usr/bin/python3 (the interpreter that has the `redis` package), e.g.
  cd tests/integration && /usr/bin/python3 -m unittest -v test_strings
"""

import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

import redis

SERVER = os.environ.get("LFDB_SERVER", "redis")
REDIS_SERVER = os.environ.get("LFDB_REDIS_SERVER", "redis-server")  # the binary used for "redis"
SERVER_ARGS = shlex.split(os.environ.get("LFDB_SERVER_ARGS", ""))
HOST = "127.0.0.1"
# Built with a sanitizer (a server start costs several times more): exhaustive loops may sample.
SANITIZED = os.environ.get("LFDB_SANITIZED", "") not in ("", "0")
# A suite's copy under another model or handle set (labels matrix / extended): what it checks is
# lfdb-server's side. A side-by-side test checks redis-server's half in the suite's first copy only
# (redis-server is the same whatever lfdb-server's model).
MATRIX_COPY = os.environ.get("LFDB_MATRIX_COPY", "") not in ("", "0")
START_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0


def is_redis():
    """True when the server under test is the reference redis-server."""
    return SERVER == "redis"


def is_lfdb():
    """True when the server under test is lfdb-server."""
    return not is_redis()


def lfdb_arg(name, default=None):
    """The value of `--name value` in LFDB_SERVER_ARGS (lfdb only), or default."""
    flag = "--" + name
    for i, a in enumerate(SERVER_ARGS):
        if a == flag and i + 1 < len(SERVER_ARGS):
            return SERVER_ARGS[i + 1]
        if a.startswith(flag + "="):
            return a[len(flag) + 1:]
    return default


def skip_unless_lfdb(reason):
    return unittest.skipUnless(is_lfdb(), reason)


def skip_unless_redis(reason):
    return unittest.skipUnless(is_redis(), reason)


def free_port():
    """A TCP port that was free a moment ago (bind port 0, read it, close)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


# --------------------------------------------------------------------------------------------
# Server process
# --------------------------------------------------------------------------------------------

class ServerError(Exception):
    pass


class ServerProcess:
    """One server process on a free port, its output in a log file in a temp dir."""

    def __init__(self, extra=None):
        # extra: list of (name, value) directives, passed as --name value
        self.extra = list(extra or [])
        self.port = None
        self.proc = None
        self.dir = tempfile.mkdtemp(prefix="lfdb-itest-")
        self.log_path = os.path.join(self.dir, "server.log")
        self._log = None

    # (name, value) directives that must win over LFDB_SERVER_ARGS (lfdb only; the last of a
    # flag counts): what a test cannot run without, e.g. a thread count the suite's lower.
    final = ()

    def command(self, port):
        directives = []
        for name, value in self.extra:
            directives += ["--" + name, str(value)]
        if is_redis():
            return self.redis_command(port) + directives
        final = []
        for name, value in self.final:
            final += ["--" + name, str(value)]
        return [SERVER, "--port", str(port), "--bind", HOST] + directives + SERVER_ARGS + final

    def redis_command(self, port):
        return [REDIS_SERVER, "--port", str(port), "--bind", HOST, "--save", "",
                "--appendonly", "no", "--daemonize", "no", "--dir", self.dir]

    def start(self):
        # The port can be taken between free_port() and the server's bind: retry a few times.
        last = None
        for _ in range(3):
            port = free_port()
            self._log = open(self.log_path, "ab")
            cmd = self.command(port)
            self._log.write(("$ " + " ".join(shlex.quote(c) for c in cmd) + "\n").encode())
            self._log.flush()
            self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, cwd=self.dir)
            self.port = port
            try:
                self._wait_ready()
                return self
            except ServerError as e:
                last = e
                self._kill()
                if "in use" not in self.log().lower():
                    break
        raise ServerError("%s\n----- server log (%s) -----\n%s" % (last, self.log_path, self.log()))

    def _wait_ready(self):
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ServerError("server exited with status %s during startup" % self.proc.returncode)
            try:
                with socket.create_connection((HOST, self.port), timeout=1.0) as s:
                    s.sendall(b"*1\r\n$4\r\nPING\r\n")
                    data = s.recv(64)
                    # +PONG, or -NOAUTH when a password is configured: either means it is serving.
                    if data[:1] in (b"+", b"-"):
                        return
            except OSError:
                pass
            time.sleep(0.05)
        raise ServerError("server did not answer PING on port %d within %.0f s" % (self.port, START_TIMEOUT))

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return "(no log)"

    def _kill(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self._log:
            self._log.close()
            self._log = None

    def stop(self, keep_dir=False):
        """SIGTERM, wait up to 5 s, then SIGKILL. Returns the exit status."""
        self._kill()
        rc = self.proc.returncode if self.proc else None
        if not keep_dir:
            shutil.rmtree(self.dir, ignore_errors=True)
        return rc


# --------------------------------------------------------------------------------------------
# Raw RESP connection (for malformed-protocol tests and RESP3 replies)
# --------------------------------------------------------------------------------------------

class Closed(Exception):
    """The server closed the connection before a full reply arrived."""


class Timeout(Exception):
    """No full reply within the timeout."""


class RawConnection:
    """A plain socket speaking RESP by hand.

    read_reply() returns the raw bytes of one complete RESP2/RESP3 reply (e.g. b"+PONG\\r\\n");
    read_parsed() returns it decoded into Python values (bytes, int, list, dict, RespError...).
    """

    def __init__(self, port, host=HOST, timeout=5.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.timeout = timeout
        self.buf = b""

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def send_command(self, *args):
        self.send(encode_command(*args))

    def _fill(self, deadline):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise Timeout("no complete reply; got %r" % self.buf)
        self.sock.settimeout(remaining)
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            raise Timeout("no complete reply; got %r" % self.buf)
        except ConnectionResetError:
            data = b""
        if not data:
            raise Closed("connection closed; unparsed %r" % self.buf)
        self.buf += data

    def read_reply(self, timeout=None):
        """Raw bytes of the next complete reply."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            end = _reply_end(self.buf, 0)
            if end is not None:
                reply, self.buf = self.buf[:end], self.buf[end:]
                return reply
            self._fill(deadline)

    def read_parsed(self, timeout=None):
        return parse_reply(self.read_reply(timeout))

    def command(self, *args, timeout=None):
        """Send one command, return the parsed reply."""
        self.send_command(*args)
        return self.read_parsed(timeout)

    def is_closed(self, timeout=2.0):
        """True if the server closes the connection within timeout (pending data is discarded)."""
        deadline = time.monotonic() + timeout
        try:
            while True:
                self.buf = b""
                self._fill(deadline)
        except Closed:
            return True
        except Timeout:
            return False

    def expect_silence(self, timeout=0.3):
        """True if nothing arrives and the connection stays open for `timeout` seconds."""
        try:
            self._fill(time.monotonic() + timeout)
        except Timeout:
            return True
        except Closed:
            return False
        return False


class RespError(Exception):
    def __init__(self, message):
        super().__init__(message)
        self.message = message

    def __eq__(self, other):
        return isinstance(other, RespError) and other.message == self.message

    def __hash__(self):
        return hash(self.message)

    def __repr__(self):
        return "RespError(%r)" % self.message


class RedisPeer(ServerProcess):
    """redis-server on a free port, whatever server the suite is run against: the peer the
    side-by-side tests compare lfdb-server with."""

    def command(self, port):
        return self.redis_command(port)


class SideBySideTestCase(unittest.TestCase):
    """A redis-server (peer) and the server under test (lfdb), started once for the class;
    `servers` names them "redis" and "lfdb"."""

    @classmethod
    def setUpClass(cls):
        cls.peer = RedisPeer().start()
        cls.lfdb = ServerProcess().start()
        cls.servers = {"redis": cls.peer, "lfdb": cls.lfdb}

    @classmethod
    def tearDownClass(cls):
        cls.peer.stop()
        cls.lfdb.stop()


def encode_command(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if isinstance(a, str):
            a = a.encode()
        elif isinstance(a, int):
            a = str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def _line_end(buf, pos):
    i = buf.find(b"\r\n", pos)
    return None if i < 0 else i


def _reply_end(buf, pos):
    """Index just past the complete reply starting at pos, or None if incomplete."""
    if pos >= len(buf):
        return None
    t = buf[pos:pos + 1]
    eol = _line_end(buf, pos)
    if eol is None:
        return None
    head = buf[pos + 1:eol]
    nxt = eol + 2
    if t in b"+-:_,#(":
        return nxt
    if t in b"$!=":
        n = int(head)
        if n < 0:
            return nxt
        end = nxt + n + 2
        return end if len(buf) >= end else None
    if t in b"*~>%|":
        n = int(head)
        if n < 0:
            return nxt
        if t in b"%|":
            n *= 2
        for _ in range(n):
            nxt = _reply_end(buf, nxt)
            if nxt is None:
                return None
        if t == b"|":  # attribute: followed by the actual reply
            return _reply_end(buf, nxt)
        return nxt
    raise ValueError("bad RESP type byte %r in %r" % (t, buf[pos:pos + 40]))


def parse_reply(data):
    value, end = _parse(data, 0)
    assert end == len(data), "trailing data %r" % data[end:]
    return value


def _parse(buf, pos):
    t = buf[pos:pos + 1]
    eol = buf.index(b"\r\n", pos)
    head = buf[pos + 1:eol]
    nxt = eol + 2
    if t == b"+":
        return head, nxt
    if t == b"-":
        return RespError(head.decode("utf-8", "replace")), nxt
    if t == b":":
        return int(head), nxt
    if t == b"_":
        return None, nxt
    if t == b",":
        return float(head), nxt
    if t == b"#":
        return head == b"t", nxt
    if t == b"(":
        return int(head), nxt
    if t in b"$!=":
        n = int(head)
        if n < 0:
            return None, nxt
        data = buf[nxt:nxt + n]
        if t == b"!":
            data = RespError(data.decode("utf-8", "replace"))
        return data, nxt + n + 2
    if t in b"*~>":
        n = int(head)
        if n < 0:
            return None, nxt
        items = []
        for _ in range(n):
            v, nxt = _parse(buf, nxt)
            items.append(v)
        return items, nxt
    if t == b"%":
        d = {}
        for _ in range(int(head)):
            k, nxt = _parse(buf, nxt)
            v, nxt = _parse(buf, nxt)
            d[k] = v
        return d, nxt
    if t == b"|":
        for _ in range(int(head) * 2):
            _, nxt = _parse(buf, nxt)
        return _parse(buf, nxt)
    raise ValueError("bad RESP type byte %r" % t)


def raw_exchange(port, data, timeout=2.0):
    """Send data on a fresh connection; return (bytes received, closed_by_server)."""
    with socket.create_connection((HOST, port), timeout=timeout) as s:
        s.sendall(data)
        out = b""
        closed = False
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            s.settimeout(remaining)
            try:
                d = s.recv(65536)
            except socket.timeout:
                break
            except ConnectionResetError:
                closed = True
                break
            if not d:
                closed = True
                break
            out += d
        return out, closed


# --------------------------------------------------------------------------------------------
# Test case base class
# --------------------------------------------------------------------------------------------

class ServerTestCase(unittest.TestCase):
    """One server per test class; FLUSHALL before each test.

    Subclasses may set `server_config = [("requirepass", "x"), ...]` (passed as --name value)
    and `flush_before_each = False`.
    """

    server_config = []
    flush_before_each = True
    server = None
    _r = _rb = _raw_conn = None

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._clients = []
        cls._r = cls._rb = cls._raw_conn = None
        cls.server = ServerProcess(cls.server_config).start()
        cls.port = cls.server.port

    @classmethod
    def tearDownClass(cls):
        for c in cls._clients:
            try:
                c.close()
            except Exception:
                pass
        cls._clients = []
        cls._r = cls._rb = cls._raw_conn = None
        server, cls.server = cls.server, None
        if server is None:
            return
        was_alive = server.alive()
        if not was_alive:
            log = server.log()
            rc = server.stop(keep_dir=True)
            sys.stderr.write("\n----- server log (%s) -----\n%s\n" % (server.log_path, log))
            raise AssertionError("server process died during %s (exit status %s)" % (cls.__name__, rc))
        server.stop()
        super().tearDownClass()

    @classmethod
    def client(cls, decode=True, **kw):
        """A new redis-py client (its own connection pool) to the server under test."""
        kw.setdefault("socket_timeout", 10)
        c = redis.Redis(host=HOST, port=cls.port, decode_responses=decode, **kw)
        cls._clients.append(c)
        return c

    @classmethod
    def raw(cls, timeout=5.0):
        c = RawConnection(cls.port, timeout=timeout)
        cls._clients.append(c)
        return c

    @property
    def r(self):
        cls = type(self)
        if cls._r is None:
            cls._r = cls.client()
        return cls._r

    @property
    def rb(self):
        """A client without response decoding (bytes)."""
        cls = type(self)
        if cls._rb is None:
            cls._rb = cls.client(decode=False)
        return cls._rb

    def setUp(self):
        super().setUp()
        self.assertServerAlive()
        if self.flush_before_each:
            self.r.flushall()

    def tearDown(self):
        self.assertServerAlive()
        super().tearDown()

    def assertServerAlive(self):
        if not self.server.alive():
            self.fail("server process died (exit status %s)\n----- server log -----\n%s"
                      % (self.server.proc.returncode, self.server.log()))

    def raw_command(self, *args):
        """Send one command on a fresh raw connection; return the raw reply bytes."""
        with RawConnection(self.port) as c:
            c.send_command(*args)
            return c.read_reply()

    def call(self, *args):
        """Send one command on this class's raw connection; return the parsed reply.

        Errors come back as RespError values (not raised), with the exact text the server
        sent, e.g. RespError('ERR syntax error'). Reconnects if the server closed it."""
        cls = type(self)
        conn = cls._raw_conn
        if conn is None:
            conn = cls._raw_conn = cls.raw()
        try:
            conn.send_command(*args)
            return conn.read_parsed()
        except Timeout:
            # a late reply would be taken for the next command's: drop the connection
            conn.close()
            cls._raw_conn = None
            raise
        except (Closed, OSError):
            conn.close()
            conn = cls._raw_conn = cls.raw()
            conn.send_command(*args)
            return conn.read_parsed()

    def assertErrorReply(self, expected, *args):
        """The command must get exactly the error line `expected` (without the leading '-')."""
        reply = self.call(*args)
        self.assertIsInstance(reply, RespError, "%r -> %r, expected error %r" % (args, reply, expected))
        self.assertEqual(reply.message, expected, "error text for %r" % (args,))

    def assertErrorPrefix(self, prefix, *args):
        reply = self.call(*args)
        self.assertIsInstance(reply, RespError, "%r -> %r, expected an error" % (args, reply))
        self.assertTrue(reply.message.startswith(prefix), "%r -> %r" % (args, reply.message))

    def run(self, result=None):
        # Print the server log when this test fails or errors.
        if result is None:
            return super().run(result)
        before = len(result.failures) + len(result.errors)
        out = super().run(result)
        if len(result.failures) + len(result.errors) > before and self.server is not None:
            log = self.server.log()
            tail = log[-8000:]
            sys.stderr.write("\n----- server log tail (%s) for %s -----\n%s\n----- end -----\n"
                             % (self.server.log_path, self.id(), tail))
        return out

