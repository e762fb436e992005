"""Pub/sub against the server under test (redis-server 7.0 is the reference): redis-py's PubSub
(get_message, listen, run_in_thread), RESP2 subscribed mode and RESP3 pushes on raw sockets,
patterns, shard channels, PUBSUB introspection, CLIENT LIST's counts, per-publisher order with
several publishers and subscribers, and a slow subscriber dropped at its output limit while the
others get every message."""

import socket
import threading
import time
import unittest

from lfdb_testlib import HOST, RawConnection, RespError, ServerTestCase


def wait_for(pred, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.01)
    return False


class PubSubTestCase(ServerTestCase):
    """Closes the connections a test opened, so no subscription outlives its test."""

    def setUp(self):
        super().setUp()
        self._opened = len(type(self)._clients)

    def tearDown(self):
        cls = type(self)
        mine = cls._clients[self._opened:]
        del cls._clients[self._opened:]
        for c in mine:
            c.close()
        wait_for(lambda: self.r.pubsub_channels() == [] and self.r.pubsub_numpat() == 0, 5)
        super().tearDown()


class PubSubClients(PubSubTestCase):
    def test_get_message(self):
        p = self.client().pubsub()
        p.subscribe("news")
        self.assertEqual(p.get_message(timeout=5),
                         {"type": "subscribe", "pattern": None, "channel": "news", "data": 1})
        self.assertEqual(self.r.publish("news", "hello"), 1)
        self.assertEqual(self.r.publish("other", "x"), 0)
        m = p.get_message(timeout=5)
        self.assertEqual((m["type"], m["channel"], m["data"]), ("message", "news", "hello"))
        p.unsubscribe("news")
        self.assertEqual(p.get_message(timeout=5)["type"], "unsubscribe")
        self.assertEqual(self.r.publish("news", "late"), 0)
        p.close()

    def test_patterns_match_as_keys_does(self):
        p = self.client().pubsub()
        p.psubscribe("h?llo", "n[ae]ws.*", "x\\*")
        for _ in range(3):
            self.assertEqual(p.get_message(timeout=5)["type"], "psubscribe")
        self.assertEqual(self.r.publish("hallo", "1"), 1)
        self.assertEqual(self.r.publish("news.sport", "2"), 1)
        self.assertEqual(self.r.publish("x*", "3"), 1)
        self.assertEqual(self.r.publish("xy", "4"), 0)
        got = [p.get_message(timeout=5) for _ in range(3)]
        self.assertEqual([(m["type"], m["pattern"], m["channel"], m["data"]) for m in got],
                         [("pmessage", "h?llo", "hallo", "1"),
                          ("pmessage", "n[ae]ws.*", "news.sport", "2"),
                          ("pmessage", "x\\*", "x*", "3")])
        self.assertEqual(self.r.pubsub_numpat(), 3)
        p.close()

    def test_channel_and_pattern_both_deliver(self):
        p = self.client().pubsub()
        p.subscribe("a.b")
        p.psubscribe("a.*")
        p.get_message(timeout=5)
        p.get_message(timeout=5)
        self.assertEqual(self.r.publish("a.b", "m"), 2)
        kinds = sorted(p.get_message(timeout=5)["type"] for _ in range(2))
        self.assertEqual(kinds, ["message", "pmessage"])
        p.close()

    def test_listen(self):
        p = self.client().pubsub(ignore_subscribe_messages=True)
        p.subscribe("ch")
        p.get_message(timeout=5)  # the confirmation, ignored
        for i in range(5):
            self.r.publish("ch", str(i))
        got = []
        for m in p.listen():
            got.append(m["data"])
            if len(got) == 5:
                break
        self.assertEqual(got, ["0", "1", "2", "3", "4"])
        p.close()

    def test_run_in_thread(self):
        got = []
        done = threading.Event()

        def handler(m):
            got.append(m["data"])
            if len(got) == 100:
                done.set()
        p = self.client().pubsub()
        p.subscribe(**{"t": handler})
        t = p.run_in_thread(sleep_time=0.01)
        try:
            self.assertTrue(wait_for(lambda: self.r.pubsub_numsub("t")[0][1] == 1))
            for i in range(100):
                self.r.publish("t", str(i))
            self.assertTrue(done.wait(10))
            self.assertEqual(got, [str(i) for i in range(100)])
        finally:
            t.stop()
            t.join(5)
            p.close()

    def test_pubsub_introspection(self):
        a = self.client().pubsub()
        b = self.client().pubsub()
        a.subscribe("c1", "c2")
        b.subscribe("c2")
        b.psubscribe("p*")
        for _ in range(2):
            a.get_message(timeout=5)
            b.get_message(timeout=5)
        self.assertEqual(sorted(self.r.pubsub_channels()), ["c1", "c2"])
        self.assertEqual(self.r.pubsub_channels("*1"), ["c1"])
        self.assertEqual(self.r.pubsub_numsub("c1", "c2", "c3"), [("c1", 1), ("c2", 2), ("c3", 0)])
        self.assertEqual(self.r.pubsub_numpat(), 1)
        self.assertEqual(self.r.execute_command("PUBSUB", "NUMSUB"), [])
        stats = self.r.info("stats")
        self.assertEqual((stats["pubsub_channels"], stats["pubsub_patterns"]), (2, 1))
        a.close()
        b.close()
        # A closed connection's subscriptions go with it.
        self.assertTrue(wait_for(lambda: self.r.pubsub_channels() == [] and self.r.pubsub_numpat() == 0))

    def test_shard_channels(self):
        s = self.raw()
        self.assertEqual(s.command("SSUBSCRIBE", "{u}a", "{u}b"), [b"ssubscribe", b"{u}a", 1])
        self.assertEqual(s.read_parsed(), [b"ssubscribe", b"{u}b", 2])
        self.assertEqual(self.r.execute_command("SPUBLISH", "{u}a", "hi"), 1)
        self.assertEqual(s.read_parsed(), [b"smessage", b"{u}a", b"hi"])
        self.assertEqual(self.r.publish("{u}a", "not shard"), 0)
        self.assertEqual(sorted(self.r.execute_command("PUBSUB", "SHARDCHANNELS")), ["{u}a", "{u}b"])
        self.assertEqual(self.r.execute_command("PUBSUB", "SHARDNUMSUB", "{u}a", "x"), ["{u}a", 1, "x", 0])
        self.assertEqual(s.command("SUNSUBSCRIBE", "{u}a"), [b"sunsubscribe", b"{u}a", 1])

    def test_client_list_counts(self):
        s = self.raw()
        s.command("SUBSCRIBE", "x", "y")
        s.read_parsed()
        s.send_command("PSUBSCRIBE", "z*")
        s.read_parsed()
        line = [l for l in self.r.execute_command("CLIENT", "LIST").splitlines() if "cmd=psubscribe" in l]
        self.assertEqual(len(line), 1)
        self.assertIn(" sub=2 psub=1 ssub=0 ", line[0])
        self.assertIn(" flags=P ", line[0])


class SubscribedModeRaw(PubSubTestCase):
    def test_resp2_subscribed_mode(self):
        s = self.raw()
        self.assertEqual(s.command("SUBSCRIBE", "a"), [b"subscribe", b"a", 1])
        self.assertEqual(s.command("GET", "x"), RespError(
            "ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / "
            "RESET are allowed in this context"))
        self.assertEqual(s.command("PING"), [b"pong", b""])
        self.assertEqual(s.command("PING", "x"), [b"pong", b"x"])
        self.assertEqual(s.command("UNSUBSCRIBE"), [b"unsubscribe", b"a", 0])
        self.assertEqual(s.command("PING"), b"PONG")
        self.assertEqual(s.command("UNSUBSCRIBE"), [b"unsubscribe", None, 0])

    def test_resp3_push_interleaved_with_replies(self):
        s = self.raw()
        s.command("HELLO", "3")
        s.send_command("SUBSCRIBE", "a")
        self.assertEqual(s.read_reply(), b">3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n")
        s.send_command("SET", "k", "v")
        self.assertEqual(s.read_reply(), b"+OK\r\n")
        # Its own message comes before PUBLISH's count, as Redis writes it.
        s.send_command("PUBLISH", "a", "self")
        self.assertEqual(s.read_reply(), b">3\r\n$7\r\nmessage\r\n$1\r\na\r\n$4\r\nself\r\n")
        self.assertEqual(s.read_reply(), b":1\r\n")
        self.assertEqual(self.r.publish("a", "other"), 1)
        self.assertEqual(s.read_reply(), b">3\r\n$7\r\nmessage\r\n$1\r\na\r\n$5\r\nother\r\n")
        s.send_command("GET", "k")
        self.assertEqual(s.read_reply(), b"$1\r\nv\r\n")

    def test_no_message_after_unsubscribe_reply(self):
        s = self.raw()
        s.command("SUBSCRIBE", "u")
        pub = self.client()
        for i in range(50):
            pub.publish("u", str(i))
        s.send_command("UNSUBSCRIBE", "u")
        seen = []
        while True:
            m = s.read_parsed()
            if m[0] == b"unsubscribe":
                break
            seen.append(int(m[2]))
        self.assertEqual(seen, list(range(50)))
        self.assertEqual(pub.publish("u", "late"), 0)
        self.assertTrue(s.expect_silence(0.3))


class KeyspaceExpiry(PubSubTestCase):
    """`expired` events: by the active cycle, and lazily when a write meets the key."""

    def test_expired_events(self):
        self.r.config_set("notify-keyspace-events", "Ex")
        try:
            p = self.client().pubsub()
            p.subscribe("__keyevent@0__:expired")
            p.get_message(timeout=5)
            self.r.set("t", "v", px=50)  # nothing touches it: the active cycle expires it
            m = p.get_message(timeout=10)
            self.assertEqual((m["channel"], m["data"]), ("__keyevent@0__:expired", "t"))
            self.r.set("u", "v", px=1)
            time.sleep(0.05)
            self.assertFalse(self.r.expire("u", 100))  # a write meets it expired
            m = p.get_message(timeout=10)
            self.assertEqual((m["channel"], m["data"]), ("__keyevent@0__:expired", "u"))
            p.close()
        finally:
            self.r.config_set("notify-keyspace-events", "")


class Ordering(PubSubTestCase):
    """Every subscriber sees each publisher's messages in publish order."""
    PUBLISHERS = 4
    SUBSCRIBERS = 6
    MESSAGES = 500

    def test_each_publisher_in_order(self):
        subs = []
        for _ in range(self.SUBSCRIBERS):
            s = self.raw(timeout=20)
            s.command("SUBSCRIBE", "ord")
            subs.append(s)
        psub = self.raw(timeout=20)
        psub.command("PSUBSCRIBE", "or?")

        def publish(pid):
            c = RawConnection(self.port, timeout=20)
            batch = b"".join(b"*3\r\n$7\r\nPUBLISH\r\n$3\r\nord\r\n" + ("$%d\r\n%s\r\n" % (
                len("%d:%d" % (pid, i)), "%d:%d" % (pid, i))).encode() for i in range(self.MESSAGES))
            c.send(batch)
            for _ in range(self.MESSAGES):
                self.assertEqual(c.read_parsed(), self.SUBSCRIBERS + 1)
            c.close()
        threads = [threading.Thread(target=publish, args=(p,)) for p in range(self.PUBLISHERS)]
        for t in threads:
            t.start()
        for s in subs + [psub]:
            nxt = [0] * self.PUBLISHERS
            for _ in range(self.PUBLISHERS * self.MESSAGES):
                m = s.read_parsed()
                pid, i = map(int, m[-1].split(b":"))
                self.assertEqual(i, nxt[pid])
                nxt[pid] += 1
        for t in threads:
            t.join()


class SlowSubscriber(PubSubTestCase):
    """client-output-buffer-limit pubsub: a subscriber that does not read is dropped and the
    others still get every message."""

    def test_slow_subscriber_is_dropped(self):
        self.assertEqual(self.r.config_set("client-output-buffer-limit", "pubsub 1mb 256kb 60"), True)
        self.assertIn("pubsub 1048576 262144 60", self.r.config_get("client-output-buffer-limit")["client-output-buffer-limit"])
        slow = socket.create_connection((HOST, self.port))
        slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        slow.sendall(b"*2\r\n$9\r\nSUBSCRIBE\r\n$4\r\nslow\r\n")
        fast = self.raw(timeout=30)
        fast.command("SUBSCRIBE", "slow")
        self.assertTrue(wait_for(lambda: self.r.pubsub_numsub("slow")[0][1] == 2))
        payload = "x" * 1000
        total = 20000  # 20 MB: far past the limit and the kernel's buffers
        frame = b"*3\r\n$7\r\nmessage\r\n$4\r\nslow\r\n$1000\r\n" + payload.encode() + b"\r\n"
        got = [0]

        def read_fast():
            # Every frame is the same: compare the stream against it, frame by frame.
            buf = fast.buf
            fast.sock.settimeout(30)
            while got[0] < total:
                while len(buf) < len(frame):
                    d = fast.sock.recv(1 << 16)
                    if not d:
                        return
                    buf += d
                n = len(buf) // len(frame)
                if buf[:n * len(frame)] != frame * n:
                    return
                got[0] += n
                buf = buf[n * len(frame):]
        t = threading.Thread(target=read_fast)
        t.start()
        pub = self.client()
        pipe_n = 200
        for i in range(0, total, pipe_n):
            pipe = pub.pipeline(transaction=False)
            for _ in range(pipe_n):
                pipe.publish("slow", payload)
            pipe.execute()
            # The reader keeps up (within 400 KB, under the 1 MB limit) however slowly the
            # server runs (a sanitizer build); the slow one falls behind without bound.
            self.assertTrue(wait_for(lambda: got[0] >= i + pipe_n - 400, 30))
        t.join(60)
        self.assertEqual(got[0], total)
        self.assertTrue(wait_for(lambda: self.r.pubsub_numsub("slow")[0][1] == 1))
        # The server dropped the slow connection (what the kernel still holds for it trickles
        # through its tiny window: not waited for).
        subscribers = lambda: [l for l in self.r.execute_command("CLIENT", "LIST").splitlines()
                               if " sub=1 " in l]
        self.assertTrue(wait_for(lambda: len(subscribers()) == 1))
        slow.close()
        self.r.config_set("client-output-buffer-limit", "pubsub 32mb 8mb 60")


if __name__ == "__main__":
    unittest.main()
