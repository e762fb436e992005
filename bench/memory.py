#!/usr/bin/python3
"""Bytes per key, lfdb-server against redis-server 7.0, side by side in one run (not part of CI).

For each type and size class, the same commands are loaded (redis-cli --pipe) into a fresh
redis-server and a fresh lfdb-server; what each process's RSS (/proc/PID/statm) and INFO's
used_memory grew by, divided by the number of keys, is printed as a markdown table with the
ratio lfdb/redis. Optional extra lfdb-server binaries (--also NAME=PATH, e.g. a build of main)
get their own columns in the same run, so a change is measured against its base on the same
loaded machine.

  bench/memory.py [--scale 1.0] [--only short,counters] [--also main=/tmp/lfdb-main]
                  [--config list-compress-depth=1]   (given to every server, redis-server too)
"""
import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PAGE = os.sysconf("SC_PAGE_SIZE")


def resp(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def job(i, j):
    # A queued job as text: a few fields, ids that differ from one element to the next.
    return ("{\"id\":%d,\"list\":%d,\"kind\":\"resize\",\"user\":\"u%d\",\"state\":\"queued\"}"
            % (j, i, j % 977)).ljust(100, " ")


# name -> (keys at scale 1, description, the commands that create key i)
CASES = {
    "short": (1_000_000, "string `key:N` -> `value:N`",
              lambda i: resp("SET", "key:%d" % i, "value:%d" % i)),
    "counters": (1_000_000, "string `counter:N` -> N (an integer)",
                 lambda i: resp("SET", "counter:%d" % i, i)),
    "str100": (1_000_000, "string `key:N` -> 100 bytes",
               lambda i: resp("SET", "key:%d" % i, ("%d:" % i).ljust(100, "x"))),
    "hash5": (300_000, "hash of 5 short fields",
              lambda i: resp("HSET", "hash:%d" % i, *sum((["f%d" % j, "v%d" % (i + j)]
                                                           for j in range(5)), []))),
    "intset5": (300_000, "set of 5 integers",
                lambda i: resp("SADD", "iset:%d" % i, *[i * 5 + j for j in range(5)])),
    "set5": (300_000, "set of 5 short strings",
             lambda i: resp("SADD", "set:%d" % i, *["m%d:%d" % (j, i) for j in range(5)])),
    "zset5": (300_000, "sorted set of 5 short members",
              lambda i: resp("ZADD", "zset:%d" % i, *sum(([j + 1, "m%d:%d" % (j, i)]
                                                          for j in range(5)), []))),
    "list5": (300_000, "list of 5 short strings",
              lambda i: resp("RPUSH", "list:%d" % i, *["e%d:%d" % (j, i) for j in range(5)])),
    # Past the compact encodings (issue 17 item 5): what a member costs in the full structures,
    # Redis's hashtable (hash, set), intset (up to 512) and skiplist + dict (sorted set).
    "hash1000": (3_000, "hash of 1000 short fields",
                 lambda i: resp("HSET", "bighash:%d" % i, *sum((["f%d" % j, "v%d" % (i + j)]
                                                              for j in range(1000)), []))),
    "set1000": (3_000, "set of 1000 short strings",
                lambda i: resp("SADD", "bigset:%d" % i, *["m%d:%d" % (j, i) for j in range(1000)])),
    "intset500": (10_000, "set of 500 integers",
                  lambda i: resp("SADD", "bigiset:%d" % i, *[i * 500 + j for j in range(500)])),
    "zset1000": (3_000, "sorted set of 1000 short members",
                 lambda i: resp("ZADD", "bigzset:%d" % i, *sum(([j + 1, "m%d:%d" % (j, i)]
                                                                for j in range(1000)), []))),
    # Long enough for several 8 KB nodes: what a list costs per element once it has many.
    "list1000": (3_000, "list of 1000 short strings",
                 lambda i: resp("RPUSH", "biglist:%d" % i, *["e%d:%d" % (j, i) for j in range(1000)])),
    # Job queues and timelines (list-compress-depth): 100-byte elements of text, and 10000-long.
    "list1000x100": (600, "list of 1000 100-byte strings",
                     lambda i: resp("RPUSH", "biglist:%d" % i, *[job(i, j) for j in range(1000)])),
    "list10000": (300, "list of 10000 short strings",
                  lambda i: resp("RPUSH", "biglist:%d" % i, *["e%d:%d" % (j, i) for j in range(10000)])),
    "list10000x100": (60, "list of 10000 100-byte strings",
                      lambda i: resp("RPUSH", "biglist:%d" % i, *[job(i, j) for j in range(10000)])),
}


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def cli(port, *args):
    return subprocess.run(["redis-cli", "-p", str(port)] + list(args), capture_output=True,
                          text=True, timeout=60).stdout


def wait_ready(port):
    for _ in range(400):
        if cli(port, "PING").strip() == "PONG":
            return
        time.sleep(0.05)
    raise SystemExit("server on %d did not start" % port)


def rss(pid):
    with open("/proc/%d/statm" % pid) as f:
        return int(f.read().split()[1]) * PAGE


def used_memory(port):
    for line in cli(port, "INFO", "memory").splitlines():
        if line.startswith("used_memory:"):
            return int(line.split(":")[1])
    return 0


def settle(port):
    # Let background frees finish (lazy freeing, jemalloc's decay does not matter: RSS counts).
    time.sleep(0.5)
    cli(port, "PING")


def measure(cmd, port, load_file, keys):
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            stdin=subprocess.DEVNULL, cwd=tempfile.gettempdir())
    try:
        wait_ready(port)
        settle(port)
        # The first INFO faults its code in (lfdb-server: 64 KB of its own text and 64 KB of
        # libc's, file pages that count in RSS): asked once before the baseline, it stays out of
        # the keys' growth (docs/memory.md, "Allocator settings").
        used_memory(port)
        r0, u0 = rss(proc.pid), used_memory(port)
        with open(load_file, "rb") as f:
            out = subprocess.run(["redis-cli", "-p", str(port), "--pipe"], stdin=f,
                                 capture_output=True, text=True, timeout=1800).stdout
        if "errors: 0" not in out:
            raise SystemExit("load failed on %s: %s" % (cmd[0], out))
        settle(port)
        n = int(cli(port, "DBSIZE").strip())
        if n != keys:
            raise SystemExit("%s holds %d keys, expected %d" % (cmd[0], n, keys))
        return (rss(proc.pid) - r0) / keys, (used_memory(port) - u0) / keys
    finally:
        proc.terminate()
        proc.wait()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", type=float, default=1.0, help="multiplies every key count")
    ap.add_argument("--only", default="", help="comma-separated case names")
    ap.add_argument("--server", default=os.path.join(ROOT, "build/bin/lfdb-server"))
    ap.add_argument("--threads", default="2")
    ap.add_argument("--also", action="append", default=[], help="NAME=PATH: another lfdb-server")
    ap.add_argument("--config", action="append", default=[], help="NAME=VALUE for every server")
    a = ap.parse_args()
    extra = [x for kv in a.config for x in ("--" + kv.split("=", 1)[0], kv.split("=", 1)[1])]
    lfdbs = [("lfdb", a.server)] + [tuple(x.split("=", 1)) for x in a.also]
    names = [n for n in CASES if not a.only or n in a.only.split(",")]

    head = ["case", "keys", "redis RSS", "redis used"]
    for name, _ in lfdbs:
        head += ["%s RSS" % name, "%s used" % name, "%s/redis RSS" % name]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for case in names:
        count, desc, make = CASES[case]
        keys = max(1, int(count * a.scale))
        with tempfile.NamedTemporaryFile(prefix="lfdb-mem-", suffix=".resp", delete=False) as f:
            for i in range(keys):
                f.write(make(i))
            path = f.name
        try:
            port = free_port()
            r = measure(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                         "--appendonly", "no"] + extra, port, path, keys)
            row = [desc, str(keys), "%.1f" % r[0], "%.1f" % r[1]]
            for _, binary in lfdbs:
                port = free_port()
                l = measure([binary, "--port", str(port), "--bind", "127.0.0.1",
                             "--threads", a.threads] + extra, port, path, keys)
                row += ["%.1f" % l[0], "%.1f" % l[1], "%.2f" % (l[0] / r[0])]
            print("| " + " | ".join(row) + " |")
            sys.stdout.flush()
        finally:
            os.unlink(path)


if __name__ == "__main__":
    main()
