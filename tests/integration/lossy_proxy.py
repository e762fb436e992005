"""A deliberately broken server for the lfdb-bench invariant tests: a RESP proxy that forwards
every command to a real server but silently loses one write in `drop_every`.

A lost write is not forwarded to its key: it is rewritten into a write of the same reply type on
a key nobody reads (SET -> SET void, HSET -> HSET void, INCR/DECR/INCRBY/DECRBY -> INCRBY void 0),
so the client gets the reply it expects (+OK, an integer, +QUEUED inside MULTI, the right number
of EXEC results) and nothing on the wire says the write went missing. Only an end-to-end check of
the data can notice, which is what the test wants to show lfdb-bench does.

The first drop is the drop_every-th rewritable write, so a short set-up (fewer writes) is
never touched. One thread per client connection, each with its own upstream connection;
commands are forwarded one at a time (pipelined requests are answered in order).

Run by hand:  /usr/bin/python3 lossy_proxy.py LISTEN_PORT UPSTREAM_PORT [DROP_EVERY]
"""

import socket
import sys
import threading

from lfdb_testlib import HOST, encode_command, _reply_end

VOID_KEY = b"lossy-proxy:void"


def _rewrite(args):
    """The lost version of a write, or None when the command is no write this proxy drops."""
    name = args[0].upper()
    if name == b"SET" and len(args) >= 3:
        return [b"SET", VOID_KEY, args[2]]
    if name == b"HSET" and len(args) >= 4:
        return [b"HSET", VOID_KEY + b":h"] + args[2:]
    if name in (b"INCR", b"DECR", b"INCRBY", b"DECRBY") and len(args) >= 2:
        return [b"INCRBY", VOID_KEY + b":n", b"0"]
    return None


class _Reader:
    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def _fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise EOFError
        self.buf += data

    def line(self):
        while True:
            i = self.buf.find(b"\r\n")
            if i >= 0:
                out, self.buf = self.buf[:i], self.buf[i + 2:]
                return out
            self._fill()

    def exact(self, n):
        while len(self.buf) < n:
            self._fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def command(self):
        """One multibulk request as a list of bytes arguments."""
        head = self.line()
        if not head.startswith(b"*"):
            raise ValueError("lossy proxy: only multibulk requests, got %r" % head[:40])
        args = []
        for _ in range(int(head[1:])):
            size = self.line()
            if not size.startswith(b"$"):
                raise ValueError("lossy proxy: bad bulk header %r" % size[:40])
            args.append(self.exact(int(size[1:])))
            self.exact(2)
        return args

    def reply(self):
        """The raw bytes of one complete reply."""
        while True:
            end = _reply_end(self.buf, 0)
            if end is not None:
                out, self.buf = self.buf[:end], self.buf[end:]
                return out
            self._fill()


class LossyProxy:
    def __init__(self, upstream_port, drop_every=100, upstream_host=HOST):
        self.upstream = (upstream_host, upstream_port)
        self.drop_every = drop_every
        self.lock = threading.Lock()
        self.writes = 0    # rewritable writes seen
        self.dropped = 0   # of those, lost
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind((HOST, 0))
        self.listener.listen(512)
        self.port = self.listener.getsockname()[1]
        self.stopping = False
        self.conns = []

    def start(self):
        threading.Thread(target=self._accept_loop, daemon=True).start()
        return self

    def stop(self):
        self.stopping = True
        try:
            self.listener.close()
        except OSError:
            pass
        with self.lock:
            conns, self.conns = self.conns, []
        for c in conns:
            try:
                c.close()
            except OSError:
                pass

    def _accept_loop(self):
        while not self.stopping:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _lose_this_one(self):
        with self.lock:
            self.writes += 1
            if self.drop_every and self.writes % self.drop_every == 0:
                self.dropped += 1
                return True
            return False

    def _serve(self, client):
        try:
            upstream = socket.create_connection(self.upstream, timeout=30)
        except OSError:
            client.close()
            return
        # Without TCP_NODELAY every pipelined command waits out Nagle and a delayed ACK.
        for s in (client, upstream):
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.lock:
            self.conns += [client, upstream]
        cin, uin = _Reader(client), _Reader(upstream)
        try:
            while True:
                args = cin.command()
                lost = _rewrite(args)
                if lost is not None and self._lose_this_one():
                    args = lost
                upstream.sendall(encode_command(*args))
                client.sendall(uin.reply())
        except (EOFError, OSError, ValueError):
            pass
        finally:
            for s in (client, upstream):
                try:
                    s.close()
                except OSError:
                    pass


if __name__ == "__main__":
    listen_port, upstream_port = int(sys.argv[1]), int(sys.argv[2])
    drop_every = int(sys.argv[3]) if len(sys.argv) > 3 else 100
    p = LossyProxy(upstream_port, drop_every)
    p.listener.close()
    p.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    p.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    p.listener.bind((HOST, listen_port))
    p.listener.listen(512)
    p.port = listen_port
    print("lossy proxy on %d -> %d, losing one write in %d" % (listen_port, upstream_port, drop_every))
    p._accept_loop()
