"""Differential test of pub/sub sessions: the same script of commands on several connections
(RESP2 and RESP3 subscribers, publishers, one that switches protocol while subscribed) is run
against a redis-server 7.0 and the lfdb-server under test, started side by side, and after
every step each connection's bytes must be the same, byte for byte. Only HELLO's client id is
masked (the servers number their clients differently). Runs only against lfdb-server."""

import re
import select
import socket
import time
import unittest

from lfdb_testlib import HOST, RedisPeer, ServerProcess, encode_command, is_lfdb

QUIET = 0.1  # a connection has said all it will for this step after this much silence


# (connection, command) steps; a command given as bytes is sent as it is (a pipeline).
SCRIPT = [
    ("A", ["SUBSCRIBE", "news", "sport"]),
    ("A", ["PSUBSCRIBE", "n*"]),
    ("B", ["HELLO", "3"]),
    ("B", ["SUBSCRIBE", "news"]),
    ("B", ["SSUBSCRIBE", "{s}1"]),
    ("P", ["PUBLISH", "news", "hello"]),
    ("P", ["PUBLISH", "nope", "x"]),
    ("P", ["PUBLISH", "sport", ""]),
    ("P", ["PUBLISH", "zzz", "nobody"]),
    ("P", ["SPUBLISH", "{s}1", "shard"]),
    ("A", ["GET", "k"]),
    ("A", ["CONFIG", "GET", "maxclients"]),
    ("A", ["PING"]),
    ("A", ["PING", "arg"]),
    ("B", ["GET", "k"]),
    ("B", ["PING"]),
    ("P", ["PUBSUB", "CHANNELS", "s*"]),
    ("P", ["PUBSUB", "NUMSUB", "news", "sport", "x"]),
    ("P", ["PUBSUB", "NUMSUB"]),
    ("P", ["PUBSUB", "NUMPAT"]),
    ("P", ["PUBSUB", "SHARDCHANNELS"]),
    ("P", ["PUBSUB", "SHARDNUMSUB", "{s}1", "{s}2"]),
    ("P", ["PUBSUB", "CHANNELS", "a", "b"]),
    ("P", ["PUBSUB", "NUMPAT", "x"]),
    ("P", ["PUBSUB", "FOO"]),
    ("P", ["PUBSUB"]),
    ("P", ["PUBLISH", "a"]),
    ("P", ["SUBSCRIBE"]),
    ("P", ["SSUBSCRIBE"]),
    ("A", ["UNSUBSCRIBE", "sport", "never"]),
    ("P", b"*3\r\n$7\r\nPUBLISH\r\n$4\r\nnews\r\n$1\r\n1\r\n"
          b"*3\r\n$7\r\nPUBLISH\r\n$4\r\nnews\r\n$1\r\n2\r\n"
          b"*3\r\n$7\r\nPUBLISH\r\n$4\r\nnews\r\n$1\r\n3\r\n"),
    ("A", ["PUNSUBSCRIBE"]),
    ("A", ["PUNSUBSCRIBE"]),
    ("A", ["UNSUBSCRIBE"]),
    ("A", ["UNSUBSCRIBE"]),
    ("A", ["SUNSUBSCRIBE"]),
    ("A", ["GET", "k"]),
    ("B", ["PUBLISH", "news", "self"]),
    ("B", ["SPUBLISH", "{s}1", "self"]),
    ("B", ["SUNSUBSCRIBE", "{s}1"]),
    ("B", ["UNSUBSCRIBE", "news"]),
    ("B", ["HELLO", "2"]),
    ("Q", ["HELLO", "3"]),
    ("Q", ["SUBSCRIBE", "x"]),
    ("A", ["SUBSCRIBE", "x"]),
    ("P", ["PUBLISH", "x", "both protocols"]),
    ("Q", ["HELLO", "2"]),
    ("P", ["PUBLISH", "x", "now resp2"]),
    ("Q", ["GET", "k"]),
    ("Q", ["PSUBSCRIBE", "x*"]),
    ("P", ["PUBLISH", "x", "twice"]),
    ("P", ["MULTI"]),
    ("P", ["PUBLISH", "x", "in multi"]),
    ("P", ["SET", "k", "v"]),
    ("P", ["EXEC"]),
    ("Q", ["UNSUBSCRIBE", "x"]),
    ("Q", ["PUNSUBSCRIBE", "x*"]),
    ("A", ["QUIT"]),
    ("P", ["PUBLISH", "x", "after quit"]),
    ("Q", ["HELLO", "3"]),
    ("Q", ["PSUBSCRIBE", "*"]),
    ("P", ["PUBLISH", "anything", "goes"]),
    ("Q", ["PUNSUBSCRIBE"]),
    # Keyspace notifications: Q (RESP3) and B (RESP2) listen to every event.
    ("P", ["CONFIG", "SET", "notify-keyspace-events", "KEA"]),
    ("P", ["CONFIG", "GET", "notify-keyspace-events"]),
    ("Q", ["PSUBSCRIBE", "__key*__:*"]),
    ("B", ["SUBSCRIBE", "__keyevent@0__:set", "__keyspace@0__:k"]),
    ("P", ["SET", "k", "v"]),
    ("P", ["SET", "k", "v", "EX", "100"]),
    ("P", ["SET", "k", "v", "NX"]),
    ("P", ["EXPIRE", "k", "200"]),
    ("P", ["PERSIST", "k"]),
    ("P", ["APPEND", "k", "x"]),
    ("P", ["SETRANGE", "k", "0", "z"]),
    ("P", ["INCR", "n"]),
    ("P", ["INCRBY", "n", "5"]),
    ("P", ["INCRBYFLOAT", "f", "1.5"]),
    ("P", ["RENAME", "k", "k2"]),
    ("P", ["MSET", "a", "1", "b", "2"]),
    ("P", ["GETDEL", "a"]),
    ("P", ["SETEX", "s", "100", "v"]),
    ("P", ["GETEX", "s", "PERSIST"]),
    ("P", ["GETEX", "s", "EX", "50"]),
    ("P", ["GETSET", "s", "w"]),
    ("P", ["SETNX", "s2", "w"]),
    ("P", ["DEL", "k2", "n", "f", "missing"]),
    ("P", ["EXPIRE", "b", "-1"]),
    ("P", ["RPUSH", "l", "a", "b"]),
    ("P", ["LPUSH", "l", "c"]),
    ("P", ["LPOP", "l"]),
    ("P", ["RPOP", "l", "5"]),
    ("P", ["HSET", "h", "f", "1", "g", "2"]),
    ("P", ["HSET", "h", "f", "1"]),
    ("P", ["HDEL", "h", "f", "nope"]),
    ("P", ["HDEL", "h", "g"]),
    ("P", ["SADD", "s1", "a", "b"]),
    ("P", ["SADD", "s1", "a"]),
    ("P", ["SREM", "s1", "a", "b"]),
    ("P", ["ZADD", "z", "1", "a", "2", "b"]),
    ("P", ["ZADD", "z", "1", "a"]),
    ("P", ["ZADD", "z", "INCR", "5", "a"]),
    ("P", ["ZREM", "z", "a", "b"]),
    ("P", ["CONFIG", "SET", "notify-keyspace-events", "gKxn$"]),
    ("P", ["CONFIG", "GET", "notify-keyspace-events"]),
    ("P", ["SET", "k", "only keyspace"]),
    ("P", ["CONFIG", "SET", "notify-keyspace-events", "KQ"]),
    ("P", ["CONFIG", "SET", "notify-keyspace-events", "Anm"]),
    ("P", ["CONFIG", "GET", "notify-keyspace-events"]),
    ("P", ["CONFIG", "SET", "notify-keyspace-events", ""]),
    ("P", ["SET", "k", "silent"]),
    ("P", ["CONFIG", "GET", "notify-keyspace-events"]),
    # Inside EXEC: SSUBSCRIBE is refused (a transaction's client may not block), PING answers.
    ("P", ["MULTI"]),
    ("P", ["SSUBSCRIBE", "{s}9"]),
    ("P", ["PING"]),
    ("P", ["EXEC"]),
    ("P", ["PUBSUB", "SHARDNUMSUB", "{s}9"]),
    # CLIENT REPLY OFF / SKIP drop replies, not the subscribe family's confirmations nor the
    # messages: a RESP2 subscriber (R) gets them as a RESP3 one does; errors stay dropped.
    ("P", ["CONFIG", "SET", "notify-keyspace-events", "KA"]),
    ("R", ["CLIENT", "REPLY", "OFF"]),
    ("R", ["PSUBSCRIBE", "__keyspace@0__:*"]),
    ("P", ["SET", "foo", "bar"]),
    ("P", ["PUBLISH", "__keyspace@0__:x", "direct"]),
    ("R", ["PING"]),
    ("R", ["GET", "foo"]),
    ("R", ["SUBSCRIBE"]),
    ("R", ["SUBSCRIBE", "c1"]),
    ("R", ["PUNSUBSCRIBE"]),
    ("R", ["UNSUBSCRIBE"]),
    ("R", ["UNSUBSCRIBE"]),
    ("R", ["GET", "foo"]),
    ("R", ["CLIENT", "REPLY", "ON"]),
    ("R", ["CLIENT", "REPLY", "SKIP"]),
    ("R", ["PSUBSCRIBE", "*"]),
    ("P", ["SET", "foo", "baz"]),
    ("R", ["PUNSUBSCRIBE", "*"]),
    ("R", ["CLIENT", "REPLY", "SKIP"]),
    ("R", ["GET", "foo"]),
    ("R", ["GET", "foo"]),
]


def drain_step(ref, dut):
    """Everything each connection of both servers sends for one step, read at the same time so
    the two servers' quiet windows overlap. The step ends once every connection has been quiet
    for QUIET seconds and each connection of one server has sent as much as its twin on the
    other (or 10 s passed), so a loaded machine does not shift either server's late reply into
    the next step, and extra or missing bytes still show (after the 10 s)."""
    names = list(ref)
    out = {(side, n): b"" for side in ("ref", "dut") for n in names}
    live = {("ref", n): s for n, s in ref.items()}
    live.update({("dut", n): s for n, s in dut.items()})
    deadline = time.monotonic() + 10
    while live and time.monotonic() < deadline:
        short = any(len(mask(out[("dut", n)])) != len(mask(out[("ref", n)]))
                    for (side, n) in live)
        ready, _, _ = select.select(list(live.values()), [], [], 0.5 if short else QUIET)
        if not ready:
            if short:
                continue
            break
        for key, s in list(live.items()):
            if s not in ready:
                continue
            try:
                d = s.recv(65536)
            except ConnectionResetError:
                d = b""
            if not d:
                out[key] += b"<closed>"
                del live[key]
            else:
                out[key] += d
    return ({n: mask(out[("ref", n)]) for n in names}, {n: mask(out[("dut", n)]) for n in names})


def mask(data):
    return re.sub(rb"\$2\r\nid\r\n:\d+\r\n", b"$2\r\nid\r\n:N\r\n", data)


def run_script(ref_port, dut_port):
    """The script against both servers, step by step: (reference, under test) transcripts."""
    ref = {name: socket.create_connection((HOST, ref_port)) for name in "ABPQR"}
    dut = {name: socket.create_connection((HOST, dut_port)) for name in "ABPQR"}
    want, got = [], []
    for name, cmd in SCRIPT:
        wire = cmd if isinstance(cmd, bytes) else encode_command(*cmd)
        ref[name].sendall(wire)
        dut[name].sendall(wire)
        w, g = drain_step(ref, dut)
        want.append(w)
        got.append(g)
    for c in list(ref.values()) + list(dut.values()):
        c.close()
    return want, got


@unittest.skipUnless(is_lfdb(), "compares lfdb-server with redis-server")
class PubSubDiff(unittest.TestCase):
    def test_sessions_byte_for_byte(self):
        peer = RedisPeer().start()
        lfdb = ServerProcess().start()
        try:
            want, got = run_script(peer.port, lfdb.port)
        finally:
            peer.stop()
            lfdb.stop()
        for i, (name, cmd) in enumerate(SCRIPT):
            self.assertEqual(got[i], want[i], "step %d: %s %r" % (i, name, cmd))


if __name__ == "__main__":
    unittest.main()
