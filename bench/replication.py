#!/usr/bin/python3
"""Replication's cost and lag, measured (docs/replication.md).

Runs redis-benchmark SET against an lfdb primary (appendonly yes, appendfsync everysec) without
and with one lfdb replica attached, alternating A/B rounds, and meanwhile probes the lag: a SET
on the primary every 20 ms and the time until a GET on the replica returns it.

  /usr/bin/python3 bench/replication.py build/bin/lfdb-server [rounds] [requests]
"""

import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import redis

SERVER = sys.argv[1] if len(sys.argv) > 1 else "build/bin/lfdb-server"
ROUNDS = int(sys.argv[2]) if len(sys.argv) > 2 else 3
REQUESTS = int(sys.argv[3]) if len(sys.argv) > 3 else 200000


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(args):
    d = tempfile.mkdtemp(prefix="lfdb-replbench-")
    port = free_port()
    p = subprocess.Popen([SERVER, "--port", str(port), "--dir", d, "--threads", "2"] + args,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            redis.Redis(port=port).ping()
            return p, port, d
        except redis.ConnectionError:
            time.sleep(0.02)
    raise RuntimeError("server did not start")


def stop(p, d):
    p.terminate()
    p.wait()
    shutil.rmtree(d, ignore_errors=True)


def one_round(with_replica):
    p, pport, pdir = start(["--appendonly", "yes", "--appendfsync", "everysec"])
    r = None
    lags = []
    if with_replica:
        r, rport, rdir = start(["--replicaof", "127.0.0.1", str(pport)])
        rc = redis.Redis(port=rport)
        while rc.info("replication").get("master_link_status") != "up":
            time.sleep(0.02)
    stop_probe = threading.Event()

    def probe():
        pc = redis.Redis(port=pport)
        rc = redis.Redis(port=rport)
        n = 0
        while not stop_probe.is_set():
            n += 1
            t0 = time.monotonic()
            pc.set("probe", n)
            while int(rc.get("probe") or 0) < n:
                if time.monotonic() - t0 > 5:
                    break
            lags.append(time.monotonic() - t0)
            time.sleep(0.02)

    t = threading.Thread(target=probe) if with_replica else None
    if t:
        t.start()
    out = subprocess.run(["redis-benchmark", "-p", str(pport), "-t", "set", "-n", str(REQUESTS),
                          "-c", "50", "-r", "100000", "-q"], capture_output=True, text=True).stdout
    if t:
        stop_probe.set()
        t.join()
    rps = float(re.findall(r"([0-9.]+) requests per second", out)[-1])
    if r:
        i = redis.Redis(port=rport).info("replication")
        if i["lfdb_full_syncs"] != 1 or i["lfdb_partial_syncs"] != 0:
            print("  (the link dropped during the round: %s full, %s partial resyncs)"
                  % (i["lfdb_full_syncs"], i["lfdb_partial_syncs"]))
        stop(r, rdir)
    stop(p, pdir)
    return rps, lags


def main():
    base, repl, lags = [], [], []
    for _ in range(ROUNDS):
        base.append(one_round(False)[0])
        rps, l = one_round(True)
        repl.append(rps)
        lags += l
    lags.sort()
    print("SET, 50 clients, %d requests, %d rounds (A/B alternating)" % (REQUESTS, ROUNDS))
    print("  no replica:  median %.0f req/s  %s" % (statistics.median(base), base))
    print("  one replica: median %.0f req/s  %s" % (statistics.median(repl), repl))
    print("  ratio: %.2f" % (statistics.median(repl) / statistics.median(base)))
    print("  write-to-visible-on-replica under that load: p50 %.2f ms, p99 %.2f ms, max %.2f ms (%d probes)"
          % (lags[len(lags) // 2] * 1e3, lags[int(len(lags) * 0.99)] * 1e3, lags[-1] * 1e3, len(lags)))


if __name__ == "__main__":
    main()
