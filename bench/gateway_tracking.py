#!/usr/bin/python3
"""What the gateway's tracking feed costs writers: redis-benchmark SETs through a gateway that is
already listening, without any tracking client and with one RESP3 client in CLIENT TRACKING ON
(so the back-ends report every written key to the gateway), interleaved ROUNDS times. Prints
requests per second of each run and the gateway's tracking_* INFO counters.

  bench/gateway_tracking.py PORT [--rounds 3] [--requests 100000] [--clients 50]
"""
import argparse
import re
import socket
import subprocess
import time


def bench(port, requests, clients):
    out = subprocess.run(["redis-benchmark", "-p", str(port), "-c", str(clients), "-n", str(requests),
                          "-t", "set", "-r", "100000", "-q"], capture_output=True, text=True).stdout
    return float(re.findall(r"([\d.]+) requests per second", out)[-1])


def tracker(port):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"HELLO 3\r\nCLIENT TRACKING ON\r\n")
    time.sleep(0.3)
    s.recv(65536)
    return s


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("port", type=int)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--requests", type=int, default=100000)
    ap.add_argument("--clients", type=int, default=50)
    a = ap.parse_args()
    off, on = [], []
    for _ in range(a.rounds):
        off.append(bench(a.port, a.requests, a.clients))
        t = tracker(a.port)
        on.append(bench(a.port, a.requests, a.clients))
        t.close()
        time.sleep(0.5)
    print("no tracking client:  " + " / ".join("%.0f" % x for x in off) + " requests/s")
    print("one tracking client: " + " / ".join("%.0f" % x for x in on) + " requests/s")
    info = subprocess.run(["redis-cli", "-p", str(a.port), "info"], capture_output=True, text=True).stdout
    print(" ".join(l for l in info.splitlines() if l.startswith("tracking_")))


if __name__ == "__main__":
    main()
