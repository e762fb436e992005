#!/usr/bin/python3
"""Loading a snapshot of many intsets: time and memory, lfdb-server against redis-server 7.0
(not part of CI).

One lfdb-server is filled with `--keys` sets of `--members` integers (SADD, pipelined) and
SAVEs its snapshot; redis-server gets the same commands and SAVEs its RDB. Then, `--rounds`
times and in turn, each server (and each extra lfdb-server binary given with --also NAME=PATH,
e.g. a build of main: they read the same snapshot) starts on its file; printed per start: the
time from exec to the first PING answered (the load happens before the server listens), RSS
(/proc/PID/statm) and INFO's used_memory once it answers (or --settle seconds later), and the ratios to redis-server's in
the same round.

  bench/snapshot_load.py [--server build/bin/lfdb-server] [--also before=/tmp/lfdb-before]
                         [--keys 10000] [--members 500] [--rounds 3] [--settle 0]
"""
import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

from memory import ROOT, free_port, resp, rss  # bench/memory.py: the same requests and RSS


def call(port, *args, timeout=600):
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(resp(*args))
        buf = b""
        while True:
            chunk = s.recv(1 << 16)
            if not chunk:
                raise RuntimeError("connection closed")
            buf += chunk
            if buf.startswith(b"$"):
                n = int(buf[1:buf.index(b"\r\n")])
                if n < 0 or len(buf) >= buf.index(b"\r\n") + 2 + n + 2:
                    return buf
            elif buf.endswith(b"\r\n"):
                return buf


def info_field(port, section, field):
    text = call(port, "INFO", section).decode()
    for line in text.split("\r\n"):
        if line.startswith(field + ":"):
            return int(line.split(":", 1)[1])
    raise RuntimeError("no %s in INFO %s" % (field, section))


def start(binary, port, dirpath, dbfile):
    # The same options for both: no save points, no log, the snapshot file in dirpath.
    args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "no", "--dir", dirpath, "--dbfilename", dbfile]
    t0 = time.monotonic()
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while True:
        if proc.poll() is not None:
            raise RuntimeError("%s exited with %d" % (binary, proc.returncode))
        try:
            if call(port, "PING", timeout=5).startswith(b"+PONG"):
                return proc, time.monotonic() - t0
        except OSError:
            pass
        except RuntimeError:
            pass  # redis-server answers LOADING while it loads
        time.sleep(0.002)


def stop(proc):
    proc.terminate()
    proc.wait(timeout=60)


def fill(binary, dirpath, dbfile, keys, members):
    port = free_port()
    proc, _ = start(binary, port, dirpath, dbfile)
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=600) as s:
            batch = []
            for i in range(keys):
                base = i * members
                batch.append(resp("SADD", "iset:%d" % i, *[base + j for j in range(members)]))
                if len(batch) == 100 or i == keys - 1:
                    s.sendall(b"".join(batch))
                    want, got = len(batch), 0
                    buf = b""
                    while got < want:
                        buf += s.recv(1 << 16)
                        got = buf.count(b"\r\n")
                    batch = []
        call(port, "SAVE")
    finally:
        stop(proc)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--server", default=os.path.join(ROOT, "build/bin/lfdb-server"))
    ap.add_argument("--redis", default=shutil.which("redis-server") or "redis-server")
    ap.add_argument("--also", action="append", default=[], metavar="NAME=PATH")
    ap.add_argument("--keys", type=int, default=10000)
    ap.add_argument("--members", type=int, default=500)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--settle", type=float, default=0,
                    help="seconds to wait after the first answer before reading RSS (the "
                         "allocator returns freed pages after a delay)")
    a = ap.parse_args()
    lfdbs = [("lfdb", a.server)] + [tuple(x.split("=", 1)) for x in a.also]
    with tempfile.TemporaryDirectory(prefix="snapload-") as d:
        fill(a.server, d, "lfdb.snap", a.keys, a.members)
        fill(a.redis, d, "redis.rdb", a.keys, a.members)
        print("%d sets of %d integers; snapshot %d bytes, RDB %d bytes" % (
            a.keys, a.members, os.path.getsize(os.path.join(d, "lfdb.snap")),
            os.path.getsize(os.path.join(d, "redis.rdb"))))
        print()
        print("| round | server | load s | RSS MB | used_memory MB | load / redis | RSS / redis |")
        print("|---|---|---:|---:|---:|---:|---:|")
        for rnd in range(1, a.rounds + 1):
            rows = []
            for name, binary, dbfile in ([("redis-server", a.redis, "redis.rdb")] +
                                         [(n, b, "lfdb.snap") for n, b in lfdbs]):
                port = free_port()
                proc, secs = start(binary, port, d, dbfile)
                try:
                    keys = call(port, "DBSIZE")
                    if keys.strip() != b":%d" % a.keys:
                        raise RuntimeError("%s loaded %r keys" % (name, keys))
                    time.sleep(a.settle)
                    resident = rss(proc.pid)
                    used = info_field(port, "memory", "used_memory")
                finally:
                    stop(proc)
                rows.append((name, secs, resident, used))
            r_secs, r_rss = rows[0][1], rows[0][2]
            for name, secs, resident, used in rows:
                print("| %d | %s | %.3f | %.1f | %.1f | %.2f | %.2f |" % (
                    rnd, name, secs, resident / 1e6, used / 1e6, secs / r_secs, resident / r_rss))
            sys.stdout.flush()


if __name__ == "__main__":
    main()
