#!/usr/bin/python3
"""LPUSH / LPOP / LRANGE throughput, lfdb-server builds against redis-server 7.0 in one run (not
part of CI).

Each round starts a fresh redis-server and a fresh server of every build named, one after the
other (interleaved, so a change and its base see the same loaded machine), and runs
redis-benchmark's lpush, lpop and lrange_100 tests against each (-c 50 -P 16). Prints requests/s
per round and server, and each build's ratio to redis-server's in the same round.

  bench/list_throughput.py --also base=/tmp/lfdb-base [--rounds 2] [-n 200000]
                           [--config list-compress-depth=1]   (given to every server)
"""
import argparse
import csv
import io
import os
import socket
import subprocess
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TESTS = "lpush,lpop,lrange_100"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_up(port):
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("server on port %d did not start" % port)


def run_one(cmd, port, n):
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_up(port)
        out = subprocess.run(["redis-benchmark", "-p", str(port), "-c", "50", "-n", str(n), "-P", "16",
                              "-t", TESTS, "--csv"], capture_output=True, text=True, check=True).stdout
    finally:
        proc.terminate()
        proc.wait()
    rps = {}
    for row in csv.reader(io.StringIO(out)):
        if row and row[0] != "test":
            rps[row[0]] = float(row[1])
    return rps


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", default=os.path.join(ROOT, "build/bin/lfdb-server"))
    ap.add_argument("--also", action="append", default=[], help="NAME=PATH: another lfdb-server")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("-n", type=int, default=200000)
    ap.add_argument("--config", action="append", default=[], help="NAME=VALUE for every server")
    a = ap.parse_args()
    extra = [x for kv in a.config for x in ("--" + kv.split("=", 1)[0], kv.split("=", 1)[1])]
    lfdbs = [tuple(x.split("=", 1)) for x in a.also] + [("lfdb", a.server)]
    print("| round | test | redis-server | " + " | ".join("%s | ratio" % name for name, _ in lfdbs) + " |")
    print("|---|---|---:|" + "---:|---:|" * len(lfdbs))
    for rnd in range(1, a.rounds + 1):
        port = free_port()
        results = [run_one(["redis-server", "--port", str(port), "--save", "", "--appendonly", "no"] + extra,
                           port, a.n)]
        for _, path in lfdbs:
            port = free_port()
            results.append(run_one([path, "--port", str(port)] + extra, port, a.n))
        for test in results[0]:
            base = results[0][test]
            cells = ["%.0f | %.2f" % (r.get(test, 0), r.get(test, 0) / base) for r in results[1:]]
            print("| %d | %s | %.0f | %s |" % (rnd, test, base, " | ".join(cells)))


if __name__ == "__main__":
    main()
