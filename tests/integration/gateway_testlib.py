"""Harness for the lfdb-gateway integration tests: real back-ends, a real gateway, real clients.

Environment:
  LFDB_GATEWAY          path of the lfdb-gateway binary (required)
  LFDB_GATEWAY_BACKEND  "redis" (default: redis-server from PATH) or the path of lfdb-server
  LFDB_GATEWAY_ARGS     extra gateway flags, e.g. "--forwarding bound --threads 2"
  LFDB_GATEWAY_BACKEND_ARGS  extra lfdb-server flags for the back-ends, e.g.
                        "--model lf --handle-set uring-completion"
  LFDB_SANITIZED        1 when the binaries are built with a sanitizer (see SLOWDOWN)

A GatewayTestCase class starts `backends` back-end servers (each on a free port) and one
gateway in front of them (a YAML config written to a temp dir), once per class.
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

from lfdb_testlib import HOST, SANITIZED, RawConnection, RespError, free_port  # noqa: F401

GATEWAY = os.environ.get("LFDB_GATEWAY", "")
# Built with a sanitizer (lfdb_testlib.SANITIZED): the binaries are several times slower and
# carry shadow memory, so the few tests whose timeouts must exceed what a back-end takes, or
# that bound the gateway's memory, scale those by these factors.
SLOWDOWN = 5 if SANITIZED else 1
SHADOW_MEMORY = 8 if SANITIZED else 1
BACKEND = os.environ.get("LFDB_GATEWAY_BACKEND", "redis")
GATEWAY_ARGS = shlex.split(os.environ.get("LFDB_GATEWAY_ARGS", ""))
BACKEND_ARGS = shlex.split(os.environ.get("LFDB_GATEWAY_BACKEND_ARGS", ""))
REDIS_SERVER = os.environ.get("LFDB_REDIS_SERVER", "redis-server")


def backend_is_redis():
    return BACKEND == "redis"


def _wait_port(port, proc, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with socket.create_connection((HOST, port), timeout=1.0) as s:
                s.sendall(b"*1\r\n$4\r\nPING\r\n")
                if s.recv(64)[:1] in (b"+", b"-"):
                    return True
        except OSError:
            pass
        time.sleep(0.05)
    return False


class Process:
    """A child process with its output in a log file. `preexec` (if set) runs in the child
    before exec, e.g. to lower a resource limit."""

    preexec = None

    def __init__(self, name, directory):
        self.name = name
        self.dir = directory
        self.log_path = os.path.join(directory, name + ".log")
        self.proc = None
        self.port = None

    def spawn(self, cmd):
        log = open(self.log_path, "ab")
        log.write(("$ " + " ".join(shlex.quote(c) for c in cmd) + "\n").encode())
        log.flush()
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, cwd=self.dir,
                                     preexec_fn=self.preexec)
        log.close()

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return "(no log)"

    def kill(self, sig=signal.SIGKILL):
        if self.alive():
            self.proc.send_signal(sig)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Backend(Process):
    def __init__(self, index, directory):
        super().__init__("backend%d" % index, directory)

    def command(self, port):
        if backend_is_redis():
            return [REDIS_SERVER, "--port", str(port), "--bind", HOST, "--save", "",
                    "--appendonly", "no", "--daemonize", "no", "--dir", self.dir]
        return [BACKEND, "--port", str(port), "--bind", HOST, "--threads", "2"] + BACKEND_ARGS

    def start(self, port=None):
        for _ in range(3):
            p = port or free_port()
            self.spawn(self.command(p))
            self.port = p
            if _wait_port(p, self.proc):
                return self
            self.kill()
            if port is not None:
                time.sleep(0.2)  # the same port again (a restart): it may still be in TIME_WAIT use
        raise AssertionError("%s did not start\n%s" % (self.name, self.log()))


class Gateway(Process):
    def __init__(self, directory, config_text, extra_args=()):
        super().__init__("gateway", directory)
        self.config_path = os.path.join(directory, "gateway.yml")
        self.config_text = config_text
        self.extra_args = list(extra_args)

    def start(self):
        with open(self.config_path, "w") as f:
            f.write(self.config_text)
        for _ in range(3):
            port = free_port()
            self.spawn([GATEWAY, "--config", self.config_path, "--port", str(port)]
                       + self.extra_args + GATEWAY_ARGS)
            self.port = port
            if _wait_port(port, self.proc):
                return self
            self.kill()
        raise AssertionError("gateway did not start\n%s" % self.log())


def lfdb_config(backend_ports, **options):
    """lfdb's YAML: one shard per back-end port, then any top-level options."""
    lines = []
    for k, v in options.items():
        if isinstance(v, bool):
            v = "true" if v else "false"
        lines.append("%s: %s" % (k, v))
    lines.append("shards:")
    for p in backend_ports:
        lines.append("  - primary: %s:%d" % (HOST, p))
    return "\n".join(lines) + "\n"


def run_gateway(args, timeout=10):
    """Run the gateway binary to completion (for config errors): (exit status, output)."""
    p = subprocess.run([GATEWAY] + args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=timeout)
    return p.returncode, p.stdout.decode("utf-8", "replace")


class GatewayTestCase(unittest.TestCase):
    """`backends` back-ends and one gateway per class; FLUSHALL on every back-end before each test."""

    backends = 2
    gateway_options = {"timeout_ms": 2000}
    gateway_args = ()

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if not GATEWAY:
            raise unittest.SkipTest("LFDB_GATEWAY is not set")
        cls.dir = tempfile.mkdtemp(prefix="lfdb-gw-itest-")
        cls.servers = []
        cls._clients = []
        try:
            for i in range(cls.backends):
                cls.servers.append(Backend(i, cls.dir).start())
            cls.gateway = Gateway(cls.dir, lfdb_config([s.port for s in cls.servers],
                                                       **cls.gateway_options),
                                  cls.gateway_args).start()
        except Exception:
            cls._stop_all()
            raise
        cls.port = cls.gateway.port

    @classmethod
    def _stop_all(cls):
        for c in getattr(cls, "_clients", []):
            try:
                c.close()
            except Exception:
                pass
        g = getattr(cls, "gateway", None)
        if g is not None:
            g.kill(signal.SIGTERM)
        for s in cls.servers:
            s.kill(signal.SIGTERM)

    @classmethod
    def tearDownClass(cls):
        g = cls.gateway
        died = not g.alive()
        cls._stop_all()
        if died:
            sys.stderr.write("\n----- gateway log -----\n%s\n" % g.log())
            raise AssertionError("the gateway died during %s" % cls.__name__)
        shutil.rmtree(cls.dir, ignore_errors=True)
        super().tearDownClass()

    @classmethod
    def client(cls, decode=True, port=None, **kw):
        kw.setdefault("socket_timeout", 10)
        c = redis.Redis(host=HOST, port=port or cls.port, decode_responses=decode, **kw)
        cls._clients.append(c)
        return c

    @classmethod
    def direct(cls, i, decode=True):
        """A client straight to back-end i (bypassing the gateway)."""
        return cls.client(decode=decode, port=cls.servers[i].port)

    def setUp(self):
        super().setUp()
        self.assertTrue(self.gateway.alive(), "gateway died:\n" + self.gateway.log())
        for i, s in enumerate(self.servers):
            if s.alive():
                self.direct(i).flushall()
        self.r = self.client()

    def raw(self, timeout=5.0):
        c = RawConnection(self.port, timeout=timeout)
        self._clients.append(c)
        return c

    def info(self):
        c = RawConnection(self.port)
        try:
            text = c.command("INFO")
        finally:
            c.close()
        text = text.decode()
        out = {}
        for line in text.splitlines():
            if ":" in line and not line.startswith("#"):
                k, v = line.split(":", 1)
                out[k] = v
        return out

    def run(self, result=None):
        if result is None:
            return super().run(result)
        before = len(result.failures) + len(result.errors)
        out = super().run(result)
        if len(result.failures) + len(result.errors) > before and getattr(self, "gateway", None):
            sys.stderr.write("\n----- gateway log tail for %s -----\n%s\n----- end -----\n"
                             % (self.id(), self.gateway.log()[-6000:]))
        return out


def wait_until(pred, timeout=20.0, step=0.05):
    """Polls pred until it is true or timeout seconds passed; its last value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(step)
    return pred()


def key_slot(key):
    """CRC16 (XMODEM) of the hash tag, mod 16384: Redis Cluster's slot, as the gateway computes it."""
    if isinstance(key, str):
        key = key.encode()
    o = key.find(b"{")
    if o >= 0:
        c = key.find(b"}", o + 1)
        if c > o + 1:
            key = key[o + 1:c]
    crc = 0
    for b in key:
        crc ^= b << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
            crc &= 0xFFFF
    return crc % 16384


def shard_of(key, shards):
    """The shard of `key` when the slots are split evenly over `shards` shards."""
    slot = key_slot(key)
    for i in range(shards):
        if slot <= (i + 1) * 16384 // shards - 1:
            return i
    return shards - 1


def keys_for_shard(shard, shards, n, prefix="k"):
    """n keys that live in `shard`."""
    out, i = [], 0
    while len(out) < n:
        k = "%s%d" % (prefix, i)
        if shard_of(k, shards) == shard:
            out.append(k)
        i += 1
    return out
