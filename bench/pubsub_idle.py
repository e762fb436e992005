#!/usr/bin/python3
"""Memory per idle subscriber: opens N connections to a running server, each subscribed to a
channel of its own, and prints the server's RSS growth per subscriber (VmRSS of PID, before
and after; run it against a fresh server).

  bench/pubsub_idle.py PORT PID [N]
"""
import socket
import sys
import time


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def main():
    port, pid = int(sys.argv[1]), int(sys.argv[2])
    n = int(sys.argv[3]) if len(sys.argv) > 3 else 10000
    before = rss_kb(pid)
    conns = []
    for i in range(n):
        s = socket.create_connection(("127.0.0.1", port))
        ch = b"channel:%d" % i
        s.sendall(b"*2\r\n$9\r\nSUBSCRIBE\r\n$%d\r\n%s\r\n" % (len(ch), ch))
        conns.append(s)
    for s in conns:
        s.recv(100)
    time.sleep(1)
    after = rss_kb(pid)
    print("subscribers=%d rss_before_kb=%d rss_after_kb=%d bytes_per_subscriber=%.0f" % (
        n, before, after, (after - before) * 1024.0 / n))
    for s in conns:
        s.close()


if __name__ == "__main__":
    main()
