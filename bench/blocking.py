#!/usr/bin/python3
"""Blocking commands, measured against any RESP server (docs/blocking.md has the results):

  blocking.py PORT PID blocked N      N clients blocked at once (BLPOP on a key each): the
                                      server's RSS per blocked client over an idle one, a PING
                                      from another client while they wait, each woken once
  blocking.py PORT PID latency N      wake-up latency, LPUSH sent -> blocked client's reply
                                      (one thread, raw sockets, select): p50 / p99 over N
  blocking.py PORT PID queue P C S    P producer and C consumer processes for S seconds:
                                      LPUSH / BRPOP items per second

Python clients: absolute rates are the client's as much as the server's; run both servers the
same way and compare."""
import multiprocessing
import os
import resource
import select
import socket
import sys
import time


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def cmd(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def read_some(s, need_lines):
    """Reads until `need_lines` CRLF-terminated lines arrived (small replies only)."""
    data = b""
    while data.count(b"\r\n") < need_lines:
        chunk = s.recv(4096)
        if not chunk:
            raise RuntimeError("connection closed by server")
        data += chunk
    return data


def blocked(port, pid, n):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, n + 100), max(hard, n + 100)))
    socks = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(cmd("PING"))
        socks.append(s)
    for s in socks:
        read_some(s, 1)
    time.sleep(0.5)
    idle = rss_kb(pid)
    for i, s in enumerate(socks):
        s.sendall(cmd("BLPOP", "bq:%d" % i, 0))
    ctl = socket.create_connection(("127.0.0.1", port))
    while True:
        ctl.sendall(cmd("INFO", "clients"))
        info = ctl.recv(65536).decode()
        line = [l for l in info.split("\r\n") if l.startswith("blocked_clients:")]
        if line and int(line[0].split(":")[1]) == n:
            break
        time.sleep(0.05)
    time.sleep(0.5)
    waiting = rss_kb(pid)
    t0 = time.perf_counter()
    ctl.sendall(cmd("PING"))
    read_some(ctl, 1)
    ping_ms = (time.perf_counter() - t0) * 1000
    pipe = b"".join(cmd("LPUSH", "bq:%d" % i, "v") for i in range(n))
    ctl.sendall(pipe)
    read_some(ctl, n)
    for s in socks:
        data = read_some(s, 5)  # *2 $k key $v v
        if data.count(b"*2\r\n") != 1:
            raise RuntimeError("a client was woken more than once: %r" % data)
    print(f"{n} blocked clients: rss idle {idle} kB -> blocked {waiting} kB, "
          f"{(waiting - idle) * 1024 / n:.0f} bytes per blocked client over an idle one; "
          f"PING while they wait {ping_ms:.2f} ms; each woken once")
    for s in socks:
        s.close()


def latency(port, n):
    a = socket.create_connection(("127.0.0.1", port))
    b = socket.create_connection(("127.0.0.1", port))
    for s in (a, b):
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    samples = []
    for i in range(n):
        a.sendall(cmd("BLPOP", "lat", 0))
        time.sleep(0.001)  # let it block
        t0 = time.perf_counter()
        b.sendall(cmd("LPUSH", "lat", i))
        got = b""
        while got.count(b"\r\n") < 5:
            select.select([a], [], [])
            got += a.recv(4096)
        samples.append((time.perf_counter() - t0) * 1e6)
        read_some(b, 1)
    samples.sort()
    p = lambda q: samples[min(len(samples) - 1, int(q * len(samples)))]
    print(f"wake-up latency over {n}: p50 {p(0.50):.0f} us, p99 {p(0.99):.0f} us")


def producer(port, stop_at, counter):
    s = socket.create_connection(("127.0.0.1", port))
    n = 0
    while time.time() < stop_at:
        s.sendall(cmd("LPUSH", "jobs", n))
        read_some(s, 1)
        n += 1
    with counter.get_lock():
        counter.value += n


def consumer(port, stop_at, counter):
    s = socket.create_connection(("127.0.0.1", port))
    n = 0
    while time.time() < stop_at:
        s.sendall(cmd("BRPOP", "jobs", "0.1"))
        data = read_some(s, 1)
        if data.startswith(b"*-1") or data.startswith(b"_"):
            continue
        while data.count(b"\r\n") < 5:
            data += s.recv(4096)
        n += 1
    with counter.get_lock():
        counter.value += n


def queue(port, producers, consumers, seconds):
    stop_at = time.time() + seconds
    pushed, popped = multiprocessing.Value("q", 0), multiprocessing.Value("q", 0)
    procs = [multiprocessing.Process(target=producer, args=(port, stop_at, pushed))
             for _ in range(producers)]
    procs += [multiprocessing.Process(target=consumer, args=(port, stop_at, popped))
              for _ in range(consumers)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    print(f"queue {producers} producers / {consumers} consumers, {seconds} s: "
          f"{pushed.value / seconds:.0f} LPUSH/s, {popped.value / seconds:.0f} items/s consumed")


def main():
    port, pid, what = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    if what == "blocked":
        blocked(port, pid, int(sys.argv[4]))
    elif what == "latency":
        latency(port, int(sys.argv[4]))
    elif what == "queue":
        queue(port, int(sys.argv[4]), int(sys.argv[5]), float(sys.argv[6]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
