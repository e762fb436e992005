#!/usr/bin/python3
"""Memory per idle connection: opens N connections to a RESP server, PINGs each once (so the
server has really set the connection up), and reports the server's RSS growth per connection.
Usage: idle_connections.py PORT PID N"""
import os
import resource
import socket
import sys
import time


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def main():
    port, pid, n = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, n + 100), max(hard, n + 100)))
    time.sleep(0.2)
    before = rss_kb(pid)
    socks = []
    for i in range(n):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(b"*1\r\n$4\r\nPING\r\n")
        socks.append(s)
    for s in socks:
        data = b""
        while not data.endswith(b"\r\n"):
            chunk = s.recv(64)
            if not chunk:
                raise RuntimeError("connection closed by server")
            data += chunk
    time.sleep(0.5)
    after = rss_kb(pid)
    per = (after - before) * 1024 / n
    print(f"{n} connections: rss {before} kB -> {after} kB, {per:.0f} bytes per connection")
    for s in socks:
        s.close()


if __name__ == "__main__":
    main()
