#!/usr/bin/python3
"""Pub/sub fan-out, one run against a server already listening: S subscribers (one socket
each, all read by this process with epoll), one publisher sending N messages of B bytes,
pipelined in batches of P. Prints deliveries per second (first publish to last byte read by
every subscriber) and the p99 publish-to-receive latency of timestamped probe messages.

  bench/pubsub_fanout.py PORT [--subscribers 1000] [--messages 2000] [--size 64]
"""
import argparse
import select
import socket
import struct
import time


def cmd(*args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("port", type=int)
    ap.add_argument("--subscribers", type=int, default=1000)
    ap.add_argument("--messages", type=int, default=2000)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--pipeline", type=int, default=50)
    a = ap.parse_args()
    subs = []
    confirm = b"*3\r\n$9\r\nsubscribe\r\n$3\r\nfan\r\n:1\r\n"
    for _ in range(a.subscribers):
        s = socket.create_connection(("127.0.0.1", a.port))
        s.sendall(cmd("SUBSCRIBE", "fan"))
        subs.append(s)
    for s in subs:
        got = b""
        while len(got) < len(confirm):
            got += s.recv(100)
    frame_len = len(b"*3\r\n$7\r\nmessage\r\n$3\r\nfan\r\n$%d\r\n" % a.size) + a.size + 2
    want = frame_len * a.messages
    ep = select.epoll()
    fd_to = {}
    for s in subs:
        s.setblocking(False)
        ep.register(s.fileno(), select.EPOLLIN)
        fd_to[s.fileno()] = [s, 0, b""]
    pub = socket.create_connection(("127.0.0.1", a.port))
    pad = b"x" * (a.size - 8)
    latencies = []
    done = 0
    t0 = time.perf_counter()
    sent = 0
    replies = 0
    while done < len(subs):
        if sent < a.messages:
            batch = b""
            for _ in range(min(a.pipeline, a.messages - sent)):
                batch += cmd("PUBLISH", "fan", struct.pack("<d", time.perf_counter()) + pad)
                sent += 1
            pub.sendall(batch)
        try:
            replies += len(pub.recv(1 << 20, socket.MSG_DONTWAIT))
        except BlockingIOError:
            pass
        for fd, _ in ep.poll(0.01):
            st = fd_to[fd]
            try:
                d = st[0].recv(1 << 20)
            except BlockingIOError:
                continue
            if st[1] == 0 and d and fd == subs[0].fileno():
                pass
            # Probe: the first subscriber's frames carry the publish time.
            if fd == subs[0].fileno():
                buf = st[2] + d
                n = len(buf) // frame_len
                now = time.perf_counter()
                for i in range(n):
                    off = i * frame_len + frame_len - a.size - 2
                    latencies.append(now - struct.unpack("<d", buf[off:off + 8])[0])
                st[2] = buf[n * frame_len:]
            before = st[1]
            st[1] += len(d)
            if before < want <= st[1]:
                done += 1
    elapsed = time.perf_counter() - t0
    latencies.sort()
    p99 = latencies[int(len(latencies) * 0.99)] * 1000 if latencies else float("nan")
    print("subscribers=%d messages=%d size=%d deliveries/s=%.0f p99_ms=%.2f elapsed_s=%.2f" % (
        a.subscribers, a.messages, a.size, a.subscribers * a.messages / elapsed, p99, elapsed))


if __name__ == "__main__":
    main()
