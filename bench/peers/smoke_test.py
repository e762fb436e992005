#!/usr/bin/python3
"""Smoke test for one echo server of bench/echo_peers.sh: NAME=PATH on the command line.

Starts the server on a free loopback port with 2 threads and checks, with plain sockets, that
every byte comes back in order: single messages, a pipelined burst, several connections at once,
and 16 MiB sent to a client that does not read at first (more than the socket buffers hold,
so the server must cope with replies it cannot send whole). Then SIGUSR1 must write the counters file
and SIGTERM must stop the server with status 0. lf-echo-server runs the same test as the
reference, so a peer is held to exactly what liblf's server does.
"""
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

EXTRA_ARGS = {"ace-tp": ["--reactor", "tp"], "ace-dev-poll": ["--reactor", "dev-poll"],
              "lf-uring": ["--handle-set", "uring-completion"]}
# Exit status ctest reads as "skipped": lf-uring where the kernel or the build has no io_uring.
SKIP = 77


def recv_exact(sock, n):
    chunks, got = [], 0
    while got < n:
        b = sock.recv(min(65536, n - got))
        if not b:
            raise AssertionError(f"connection closed after {got} of {n} bytes")
        chunks.append(b)
        got += len(b)
    return b"".join(chunks)


def wait_for_file(path, proc, what):
    deadline = time.monotonic() + 20
    while not os.path.exists(path):
        if proc.poll() is not None:
            raise AssertionError(f"server exited with {proc.returncode} before writing its {what}")
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} after 20 s")
        time.sleep(0.02)


def connect(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=20)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def check_echo(port):
    # One message at a time, 64 bytes like the benchmark, and odd sizes.
    with connect(port) as s:
        for i in range(50):
            msg = bytes((i + k) % 256 for k in range(64 if i % 2 == 0 else 1 + i * 37))
            s.sendall(msg)
            assert recv_exact(s, len(msg)) == msg, f"message {i} came back different"
    # A pipelined burst: 16 messages in one send, as the benchmark's pipeline 16.
    with connect(port) as s:
        burst = b"".join(bytes([65 + m]) * 64 for m in range(16))
        for _ in range(20):
            s.sendall(burst)
            assert recv_exact(s, len(burst)) == burst, "pipelined burst came back different"
    # Several connections at once; each must get its own bytes.
    socks = [connect(port) for _ in range(20)]
    try:
        for i, s in enumerate(socks):
            s.sendall(f"conn-{i:04d}-".encode() * 8)
        for i, s in enumerate(socks):
            want = f"conn-{i:04d}-".encode() * 8
            assert recv_exact(s, len(want)) == want, f"connection {i} got another's bytes"
    finally:
        for s in socks:
            s.close()
    # 16 MiB to a client that reads nothing for half a second, through a small receive buffer:
    # the server's replies back up, its sends come up short or would block, and it must keep
    # the rest for later (and stop reading meanwhile) without losing or reordering a byte.
    big = os.urandom(16 * 1024 * 1024)
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32 * 1024)
    s.settimeout(30)
    with s:
        s.connect(("127.0.0.1", port))
        writer = threading.Thread(target=s.sendall, args=(big,))
        writer.start()
        time.sleep(0.5)
        back = recv_exact(s, len(big))
        writer.join(30)
        assert not writer.is_alive(), "16 MiB send did not complete in 30 s"
        assert back == big, "16 MiB echo came back different"


def main():
    name, _, path = sys.argv[1].partition("=")
    with tempfile.TemporaryDirectory() as tmp:
        port_file, stats_file = os.path.join(tmp, "port"), os.path.join(tmp, "stats")
        cmd = [path, "--port", "0", "--threads", "2", "--port-file", port_file,
               "--stats-file", stats_file] + EXTRA_ARGS.get(name, [])
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            try:
                wait_for_file(port_file, proc, "port file")
            except AssertionError:
                err = proc.stderr.read().decode(errors="replace") if proc.poll() is not None else ""
                if name == "lf-uring" and "io_uring" in err:
                    print(f"{name}: skipped, {err.strip()}")
                    sys.exit(SKIP)
                raise
            port = int(open(port_file).read())
            check_echo(port)
            proc.send_signal(signal.SIGUSR1)
            wait_for_file(stats_file, proc, "stats file")
            stats = dict(line.split() for line in open(stats_file) if line.strip())
            for key in ("allocs", "vcs", "ivcs"):
                assert key in stats, f"stats file lacks '{key}': {stats}"
            assert int(stats["vcs"]) + int(stats["ivcs"]) > 0, f"no context switch counted: {stats}"
            proc.send_signal(signal.SIGTERM)
            rc = proc.wait(20)
            assert rc == 0, f"server exited with {rc} on SIGTERM"
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
                print(proc.stderr.read().decode(errors="replace"), file=sys.stderr)
    print(f"{name}: echo, pipelined, 20 connections, 16 MiB, SIGUSR1 stats, SIGTERM: ok")


if __name__ == "__main__":
    main()
