"""Pub/sub through lfdb-gateway: one subscriber connection per back-end, the gateway fans the
messages out to its clients (docs/gateway.md, "Pub/sub").

Real back-ends (redis-server or lfdb-server), the real gateway, redis-py and raw sockets. Where
the bytes are Redis's own (subscribed mode in RESP2, pushes in RESP3), the same session is also
run straight against a back-end and the bytes compared.
"""

import resource
import socket
import threading
import time
import unittest

import redis

from gateway_testlib import (GatewayTestCase, RawConnection, keys_for_shard, shard_of,
                             wait_until)
from lfdb_testlib import HOST, encode_command


def raise_fd_limit(n):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < n:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(n, hard), hard))


def message_bytes(channel, payload, kind=b"*"):
    c, p = channel.encode(), payload.encode()
    return kind + b"3\r\n$7\r\nmessage\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(c), c, len(p), p)


def backend_clients(r):
    """CLIENT LIST of a back-end, without the asking connection itself."""
    return [c for c in r.client_list() if c.get("cmd") != "client|list"]


class PubSubTest(GatewayTestCase):
    def channel_on(self, shard, prefix="ch"):
        return keys_for_shard(shard, len(self.servers), 1, prefix)[0]

    def test_redis_py_pubsub_listen_and_get_message(self):
        p = self.client().pubsub()
        p.subscribe("news")
        first = p.get_message(timeout=5)
        self.assertEqual(first["type"], "subscribe")
        self.assertEqual(first["channel"], "news")
        self.assertEqual(first["data"], 1)
        pub = self.client()
        self.assertGreaterEqual(pub.publish("news", "hello"), 1)
        m = p.get_message(timeout=5)
        self.assertEqual((m["type"], m["channel"], m["data"]), ("message", "news", "hello"))
        for i in range(20):
            pub.publish("news", "n%d" % i)
        got = []
        for m in p.listen():
            if m["type"] == "message":
                got.append(m["data"])
            if len(got) == 20:
                break
        self.assertEqual(got, ["n%d" % i for i in range(20)])  # publish order
        p.unsubscribe("news")
        u = p.get_message(timeout=5)
        self.assertEqual((u["type"], u["data"]), ("unsubscribe", 0))
        p.close()

    def test_run_in_thread(self):
        got = []
        done = threading.Event()

        def handler(m):
            got.append(m["data"])
            if len(got) == 5:
                done.set()
        p = self.client().pubsub()
        p.subscribe(**{"jobs": handler})
        self.assertTrue(wait_until(lambda: self.r.pubsub_numsub("jobs")[0][1] == 1, 5))
        t = p.run_in_thread(sleep_time=0.01)
        try:
            for i in range(5):
                self.r.publish("jobs", str(i))
            self.assertTrue(done.wait(10), got)
        finally:
            t.stop()
            t.join(5)
            p.close()
        self.assertEqual(got, ["0", "1", "2", "3", "4"])

    def test_patterns_listen_on_every_shard(self):
        a, b = self.channel_on(0, "ev:"), self.channel_on(1, "ev:")
        self.assertNotEqual(shard_of(a, 2), shard_of(b, 2))
        p = self.client().pubsub()
        p.psubscribe("ev:*")
        self.assertEqual(p.get_message(timeout=5)["type"], "psubscribe")
        # Subscribed once on each back-end (the gateway's subscriber connection).
        for i in range(len(self.servers)):
            self.assertEqual(self.direct(i).pubsub_numpat(), 1)
        self.r.publish(a, "on0")
        self.r.publish(b, "on1")
        got = set()
        for _ in range(2):
            m = p.get_message(timeout=5)
            self.assertEqual(m["type"], "pmessage")
            self.assertEqual(m["pattern"], "ev:*")
            got.add((m["channel"], m["data"]))
        self.assertEqual(got, {(a, "on0"), (b, "on1")})
        self.assertEqual(self.r.pubsub_numpat(), 1)
        p.punsubscribe("ev:*")
        self.assertEqual(p.get_message(timeout=5)["type"], "punsubscribe")
        self.assertTrue(wait_until(lambda: self.direct(1).pubsub_numpat() == 0, 5))
        p.close()

    def test_channel_subscribed_on_its_shard_only(self):
        ch = self.channel_on(1)
        p = self.client().pubsub()
        p.subscribe(ch)
        p.get_message(timeout=5)
        self.assertEqual(self.direct(1).pubsub_numsub(ch), [(ch, 1)])
        self.assertEqual(self.direct(0).pubsub_numsub(ch), [(ch, 0)])
        self.assertEqual(self.r.publish(ch, "x"), 1)  # the back-end's count: the gateway's one connection
        self.assertEqual(self.r.pubsub_numsub(ch), [(ch, 1)])  # the gateway's clients
        self.assertIn(ch, self.r.pubsub_channels())
        p.close()

    def test_sharded_pubsub(self):
        ch = self.channel_on(1, "s:")
        c = self.raw()  # (this redis-py has no ssubscribe)
        c.send_command("SSUBSCRIBE", ch)
        self.assertEqual(c.read_parsed(), [b"ssubscribe", ch.encode(), 1])
        self.assertEqual(self.direct(1).execute_command("PUBSUB", "SHARDNUMSUB", ch), [ch, 1])
        self.assertEqual(self.r.execute_command("SPUBLISH", ch, "sm"), 1)
        self.assertEqual(c.read_parsed(), [b"smessage", ch.encode(), b"sm"])
        self.assertEqual(self.r.execute_command("PUBSUB", "SHARDNUMSUB", ch), [ch, 1])
        self.assertEqual(self.r.execute_command("PUBSUB", "SHARDCHANNELS"), [ch])
        # As Redis Cluster: one SSUBSCRIBE's channels live in one shard.
        other = self.channel_on(0, "s:")
        self.assertEqual(self.raw().command("SSUBSCRIBE", ch, other).message,
                         "CROSSSLOT Keys in request don't hash to the same shard")
        c.send_command("SUNSUBSCRIBE", ch)
        self.assertEqual(c.read_parsed(), [b"sunsubscribe", ch.encode(), 0])

    def session(self, port, resp3):
        """One pub/sub session's raw bytes, against a gateway or a back-end."""
        c = RawConnection(port)
        pub = RawConnection(port)

        def send(*cmd, replies=1):
            c.send_command(*cmd)
            return [c.read_reply() for _ in range(replies)]
        out = []
        try:
            if resp3:
                c.command("HELLO", "3")
            out += send("SUBSCRIBE", "sess", "sess2", replies=2)
            out += send("PSUBSCRIBE", "se*")
            out += send("GET", "k") + send("PING") + send("PING", "hi")
            pub.command("PUBLISH", "sess", "m1")
            out += [c.read_reply(), c.read_reply()]  # message, pmessage
            out += send("UNSUBSCRIBE", "sess", "sess2", replies=2)
            out += send("PUNSUBSCRIBE")
            out += send("UNSUBSCRIBE")  # none left: a null channel
            out += send("PING")
        finally:
            c.close()
            pub.close()
        return out

    def test_session_bytes_match_the_back_end(self):
        # "sess" is subscribed on the back-end of its shard: the direct session runs there.
        shard = shard_of("sess", 2)
        for resp3 in (False, True):
            via = self.session(self.port, resp3)
            direct = self.session(self.servers[shard].port, resp3)
            self.assertEqual(via, direct, "resp3=%s" % resp3)

    def test_subscribed_mode_refuses_other_commands(self):
        c = self.raw()
        c.command("SUBSCRIBE", "x")
        self.assertEqual(c.command("GET", "k").message,
                         "ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET "
                         "are allowed in this context")
        self.assertEqual(c.command("PING"), [b"pong", b""])

    def test_resp3_client_gets_pushes_between_replies(self):
        c = self.raw()
        c.command("HELLO", "3")
        c.send_command("SUBSCRIBE", "p3")
        self.assertEqual(c.read_reply(), b">3\r\n$9\r\nsubscribe\r\n$2\r\np3\r\n:1\r\n")
        self.assertEqual(c.command("SET", "k3", "v"), b"OK")  # RESP3: ordinary commands still run
        self.r.publish("p3", "hey")
        self.assertEqual(c.read_reply(), message_bytes("p3", "hey", b">"))
        self.assertEqual(c.command("GET", "k3"), b"v")
        # Back to RESP2 while subscribed: the messages come as RESP2 arrays from then on.
        c.send_command("HELLO", "2")
        c.read_reply()
        self.r.publish("p3", "two")
        self.assertEqual(c.read_reply(), message_bytes("p3", "two"))


class ManySubscribersTest(GatewayTestCase):
    """1,000 subscribed clients over a bounded number of upstream connections."""

    N = 1000

    def test_thousand_subscribers_few_upstream_connections(self):
        raise_fd_limit(4096)
        ch0 = keys_for_shard(0, 2, 1, "fan")[0]
        ch1 = keys_for_shard(1, 2, 1, "fan")[0]
        socks = []
        try:
            for i in range(self.N):
                s = socket.create_connection((HOST, self.port), timeout=20)
                s.sendall(encode_command("SUBSCRIBE", ch0 if i % 2 == 0 else ch1))
                socks.append(s)
            for i, s in enumerate(socks):
                ch = ch0 if i % 2 == 0 else ch1
                want = b"*3\r\n$9\r\nsubscribe\r\n$%d\r\n%s\r\n:1\r\n" % (len(ch), ch.encode())
                self.assertEqual(self.read_exact(s, len(want)), want)
            self.assertEqual(self.r.pubsub_numsub(ch0, ch1), [(ch0, self.N // 2), (ch1, self.N // 2)])
            # Every back-end sees a handful of the gateway's connections, one of them subscribed.
            for i in range(2):
                clients = backend_clients(self.direct(i))
                self.assertLessEqual(len(clients), 6, clients)
                subscribed = [c for c in clients if int(c.get("sub", 0)) > 0]
                self.assertEqual(len(subscribed), 1, clients)
            msgs = 20
            for k in range(msgs):
                self.r.publish(ch0, "m%d" % k)
                self.r.publish(ch1, "m%d" % k)
            for i, s in enumerate(socks):
                ch = ch0 if i % 2 == 0 else ch1
                want = b"".join(message_bytes(ch, "m%d" % k) for k in range(msgs))
                self.assertEqual(self.read_exact(s, len(want)), want, "subscriber %d" % i)
        finally:
            for s in socks:
                s.close()
        # The last subscriber gone, the channels leave the back-ends too.
        self.assertTrue(wait_until(lambda: self.direct(0).pubsub_numsub(ch0) == [(ch0, 0)], 10))

    @staticmethod
    def read_exact(s, n):
        buf = b""
        while len(buf) < n:
            d = s.recv(n - len(buf))
            if not d:
                break
            buf += d
        return buf


class BackendReturnsTest(GatewayTestCase):
    """A back-end that dies and returns gets its subscriptions back; the client notices nothing."""
    gateway_options = {"timeout_ms": 1000, "server_failure_limit": 0}

    def test_subscriptions_come_back_with_the_back_end(self):
        ch = keys_for_shard(1, 2, 1, "back")[0]
        pat_ch = keys_for_shard(1, 2, 1, "pat.")[0]
        p = self.client().pubsub()
        p.subscribe(ch)
        p.psubscribe("pat.*")
        self.assertEqual(p.get_message(timeout=5)["type"], "subscribe")
        self.assertEqual(p.get_message(timeout=5)["type"], "psubscribe")
        dead = self.servers[1]
        dead.kill()
        dead.start(port=dead.port)
        # The housekeeper subscribes again: the back-end counts the gateway's connection once more.
        self.assertTrue(wait_until(lambda: self.direct(1).pubsub_numsub(ch) == [(ch, 1)], 20),
                        self.info())
        self.assertTrue(wait_until(lambda: self.direct(1).pubsub_numpat() == 1, 20))
        pub = self.client()
        self.assertTrue(wait_until(lambda: self._publish(pub, ch, "after") == 1, 20))
        m = p.get_message(timeout=5)
        self.assertEqual((m["type"], m["data"]), ("message", "after"))
        pub.publish(pat_ch, "pat-after")
        m = p.get_message(timeout=5)
        self.assertEqual((m["type"], m["data"]), ("pmessage", "pat-after"))
        self.assertGreaterEqual(int(self.info()["pubsub_resyncs"]), 2)
        p.close()

    @staticmethod
    def _publish(c, ch, msg):
        try:
            return c.publish(ch, msg)
        except redis.RedisError:
            return -1


class SlowSubscriberTest(GatewayTestCase):
    """A subscriber that never reads is dropped at client-output-buffer-limit pubsub; the others
    get every message."""
    gateway_options = {"timeout_ms": 2000, "client_output_buffer_limit": "'normal 0 0 0 pubsub 1mb 512kb 60'"}

    def test_slow_subscriber_is_disconnected(self):
        slow = socket.socket()
        slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        slow.connect((HOST, self.port))
        slow.sendall(encode_command("SUBSCRIBE", "flood"))
        fast = RawConnection(self.port, timeout=20)
        fast.send_command("SUBSCRIBE", "flood")
        fast.read_reply()
        self.assertTrue(wait_until(lambda: self.r.pubsub_numsub("flood") == [("flood", 2)], 5))
        payload = "x" * 4000
        n = 3000  # 12 MB: far past the socket buffers and the 1 MB limit
        got = 0
        pipe = self.r.pipeline(transaction=False)
        for i in range(n):
            pipe.publish("flood", payload)
            if i % 100 == 99:
                pipe.execute()
                # The fast one reads as it goes.
                while True:
                    try:
                        fast.read_reply(timeout=0.01 if got < i - 50 else 5)
                        got += 1
                    except Exception:
                        break
                    if got > i:
                        break
        while got < n:
            fast.read_reply(timeout=10)
            got += 1
        self.assertEqual(got, n)
        self.assertTrue(wait_until(lambda: int(self.info()["pubsub_limit_disconnections"]) >= 1, 10),
                        self.info())
        # The slow one's connection is closed (what it holds in its socket buffers, then EOF).
        slow.settimeout(10)
        total = 0
        while True:
            try:
                d = slow.recv(65536)
            except OSError:
                break
            if not d:
                break
            total += len(d)
        self.assertLess(total, n * len(payload))
        slow.close()


if __name__ == "__main__":
    unittest.main()
