"""Client-side caching (NOLOOP and scripts included), RESET, and PUBLISH and the subscribe family
inside MULTI through lfdb-gateway (docs/gateway.md, "Client-side caching" and "Pub/sub").

Real back-ends (redis-server or lfdb-server), the real gateway, redis-py and raw sockets. The
gateway keeps the tracking table itself, fed by one tracker connection per back-end in BCAST
mode; what its clients see must be what redis-server shows a client of its own: each session
below runs through the gateway and straight against a back-end, and the bytes are compared
(client ids masked).
"""

import re
import threading
import unittest

from gateway_testlib import GatewayTestCase, RawConnection, backend_is_redis, keys_for_shard, wait_until
from lfdb_testlib import RespError

ID = re.compile(rb":\d+\r\n")


def run_session(port, steps, ids=None):
    """Runs `steps` over named raw connections: (name, argv, frames to read). argv items may be
    callables of the ids seen so far ("CLIENT ID" replies, by connection name). Returns the
    bytes each step read, in order."""
    conns, out, ids = {}, [], {} if ids is None else ids
    try:
        for name, argv, frames in steps:
            if name not in conns:
                conns[name] = RawConnection(port, timeout=10)
            c = conns[name]
            if argv:
                c.send_command(*[a(ids) if callable(a) else a for a in argv])
            got = b"".join(c.read_reply() for _ in range(frames))
            if argv and argv[0] == "CLIENT" and argv[1] == "ID":
                ids[name] = int(got[1:-2])
            out.append((name, " ".join(a if isinstance(a, str) else "<id>" for a in argv), got))
        # Nothing more than the steps expect (an invalidation too many would show here).
        for name, c in conns.items():
            c.sock.settimeout(0.3)
            try:
                extra = c.sock.recv(65536)
            except OSError:
                extra = b""
            out.append((name, "(silence)", c.buf + extra))
    finally:
        for c in conns.values():
            c.close()
    return out


def masked(session):
    """HELLO's reply names the server (the gateway says proxy); client ids differ."""
    def mask(s, b):
        if s.startswith("HELLO"):
            return b"<hello>"
        if "CLIENT ID" in s or "TRACKINGINFO" in s or "GETREDIR" in s or "silence" in s:
            return ID.sub(b":<n>\r\n", b)
        return b
    return [(n, s, mask(s, b)) for n, s, b in session]


class TrackingTest(GatewayTestCase):
    maxDiff = None

    def keys_on(self, shard, n=1, prefix="t"):
        return keys_for_shard(shard, len(self.servers), n, prefix)

    def compare(self, steps):
        """The session's bytes through the gateway equal those of back-end 0 directly."""
        through = run_session(self.port, steps)
        # The gateway gives its upstream subscriptions back once the session's clients have
        # gone, a moment after they close: until then back-end 0 would count them as receivers
        # of the direct session's PUBLISHes.
        back = self.direct(0)
        self.assertTrue(wait_until(lambda: back.pubsub_numpat() == 0 and not back.pubsub_channels()),
                        "the gateway kept its upstream subscriptions after the clients left")
        back.flushall()
        direct = run_session(self.servers[0].port, steps)
        self.assertEqual(masked(through), masked(direct))
        return through

    def test_resp3_default_mode_invalidates_reads_on_every_shard(self):
        a, b = self.keys_on(0)[0], self.keys_on(1)[0]
        steps = [
            ("w", ["SET", a, "1"], 1), ("w", ["SET", b, "2"], 1),
            ("t", ["HELLO", "3"], 1), ("t", ["CLIENT", "TRACKING", "ON"], 1),
            ("t", ["GET", a], 1), ("t", ["MGET", b], 1),
            ("w", ["SET", a, "x"], 1), ("t", [], 1),  # >2 invalidate [a]
            ("w", ["SET", b, "y"], 1), ("t", [], 1),  # >2 invalidate [b]
            ("w", ["SET", a, "z"], 1),                # forgotten: no second message
            ("t", ["PING"], 1),
            ("t", ["GET", a], 1), ("w", ["DEL", a], 1), ("t", [], 1),
        ]
        got = self.compare(steps)
        self.assertIn(b">2\r\n$10\r\ninvalidate\r\n*1\r\n", got[7][2])

    def test_resp2_redirect_to_a_subscribed_connection(self):
        a, b = self.keys_on(0)[0], self.keys_on(1)[0]
        steps = [
            ("s", ["CLIENT", "ID"], 1), ("s", ["SUBSCRIBE", "__redis__:invalidate"], 1),
            ("t", ["CLIENT", "TRACKING", "ON", "REDIRECT", lambda ids: str(ids["s"])], 1),
            ("t", ["CLIENT", "GETREDIR"], 1),
            ("t", ["GET", a], 1), ("t", ["GET", b], 1),
            ("w", ["SET", a, "1"], 1), ("s", [], 1),
            ("w", ["SET", b, "1"], 1), ("s", [], 1),
            ("t", ["CLIENT", "TRACKING", "ON", "REDIRECT", "999999"], 1),
            ("t", ["CLIENT", "TRACKINGINFO"], 1),
        ]
        got = self.compare(steps)
        self.assertIn(b"__redis__:invalidate", got[7][2])

    def test_bcast_prefixes_optin_optout_and_errors(self):
        a = self.keys_on(0, 1, "user:")[0]
        b = self.keys_on(1, 1, "user:")[0]
        steps = [
            ("t", ["HELLO", "3"], 1),
            ("t", ["CLIENT", "TRACKING", "ON", "PREFIX", "x"], 1),
            ("t", ["CLIENT", "TRACKING", "ON", "BCAST", "OPTIN"], 1),
            ("t", ["CLIENT", "TRACKING", "ON", "OPTIN", "OPTOUT"], 1),
            ("t", ["CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "ab", "PREFIX", "abc"], 1),
            ("t", ["CLIENT", "TRACKING", "MAYBE"], 1),
            ("t", ["CLIENT", "CACHING", "YES"], 1),
            ("t", ["CLIENT", "GETREDIR"], 1),
            ("t", ["CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "user:"], 1),
            ("t", ["CLIENT", "TRACKING", "ON", "OPTIN"], 1),  # can't switch BCAST off
            ("t", ["CLIENT", "TRACKINGINFO"], 1),
            ("w", ["SET", a, "1"], 1), ("t", [], 1),
            ("w", ["SET", b, "1"], 1), ("t", [], 1),
            ("w", ["SET", "other", "1"], 1),
            ("t", ["CLIENT", "TRACKING", "OFF"], 1),
            ("o", ["HELLO", "3"], 1),
            ("o", ["CLIENT", "TRACKING", "ON", "OPTIN"], 1),
            ("o", ["CLIENT", "CACHING", "NO"], 1),
            ("o", ["GET", a], 1),                       # not cached: no invalidation later
            ("o", ["CLIENT", "CACHING", "YES"], 1),
            ("o", ["CLIENT", "TRACKINGINFO"], 1),
            ("o", ["GET", b], 1),                       # cached
            ("w", ["SET", a, "2"], 1), ("w", ["SET", b, "2"], 1),
            ("o", [], 1),
            ("p", ["HELLO", "3"], 1),
            ("p", ["CLIENT", "TRACKING", "ON", "OPTOUT"], 1),
            ("p", ["CLIENT", "CACHING", "NO"], 1),
            ("p", ["GET", a], 1),                       # not tracked
            ("p", ["GET", b], 1),                       # tracked
            ("w", ["SET", a, "3"], 1), ("w", ["SET", b, "3"], 1),
            ("p", [], 1),
        ]
        self.compare(steps)

    def test_noloop_own_writes_are_not_told(self):
        # NOLOOP: a client is not told about its own writes (keyed, split over both shards), in
        # the default mode and BCAST; another client's later write still is.
        a, b = self.keys_on(0)[0], self.keys_on(1)[0]
        steps = [
            ("w", ["SET", a, "0"], 1), ("w", ["SET", b, "0"], 1),
            ("t", ["HELLO", "3"], 1), ("t", ["CLIENT", "TRACKING", "ON", "NOLOOP"], 1),
            ("t", ["GET", a], 1), ("t", ["SET", a, "1"], 1),       # its own: nothing
            ("t", ["GET", a], 1), ("w", ["SET", a, "2"], 1),       # another's, later: told
            ("t", [], 1),
            ("t", ["GET", a], 1), ("t", ["GET", b], 1),
            ("t", ["DEL", a, b], 1),                               # both shards, its own
            ("t", ["GET", a], 1), ("t", ["MGET", b], 1),
            ("w", ["SET", b, "3"], 1), ("t", [], 1),               # b is told
            ("t", ["GET", a], 1), ("w", ["SET", a, "4"], 1), ("t", [], 1),
            ("t", ["SET", a, "5"], 1),                             # nothing read: nothing
            ("t", ["PING"], 1),
            ("c", ["HELLO", "3"], 1), ("c", ["CLIENT", "TRACKING", "ON", "BCAST", "NOLOOP"], 1),
            ("c", ["SET", a, "6"], 1), ("c", ["MSET", a, "7", b, "7"], 1),  # its own
            ("w", ["SET", b, "8"], 1), ("c", [], 1),               # another's: told
            ("c", ["PING"], 1),
        ]
        got = self.compare(steps)
        self.assertEqual(got[8][2], b">2\r\n$10\r\ninvalidate\r\n*1\r\n$%d\r\n%s\r\n" % (len(a), a.encode()))

    def test_noloop_with_a_concurrent_writer_is_never_left_stale(self):
        # A NOLOOP client writes and reads a key while another client writes it too: whatever it
        # was told or not meanwhile, a write made after its last read reaches it.
        k = self.keys_on(1)[0]
        t = RawConnection(self.port, timeout=20)
        t.command("HELLO", "3")
        self.assertEqual(t.command("CLIENT", "TRACKING", "ON", "NOLOOP"), b"OK")

        def call(*argv):  # the reply, past any invalidation pushed before it
            t.send_command(*argv)
            while True:
                r = t.read_reply()
                if not r.startswith(b">"):
                    return r

        stop = threading.Event()

        def write():
            w = self.client()
            i = 0
            while not stop.is_set():
                w.set(k, "w%d" % i)
                i += 1

        writer = threading.Thread(target=write)
        writer.start()
        try:
            for i in range(200):
                call("SET", k, "t%d" % i)
                call("GET", k)
        finally:
            stop.set()
            writer.join()
        self.client().set(k, "final")
        told = b">2\r\n$10\r\ninvalidate\r\n*1\r\n$%d\r\n%s\r\n" % (len(k), k.encode())
        # What it read last is dropped by the next invalidation after that read's reply: the
        # final write's, or one of the other client's late ones (then the cache is empty too).
        self.assertEqual(t.read_reply(), told)
        t.close()

    def test_script_reads_are_tracked(self):
        # Redis tracks the keys a script reads for the client that called it (EVAL, EVALSHA,
        # FCALL and their read-only forms).
        a, b = self.keys_on(0)[0], self.keys_on(1)[0]
        lib = ("#!lua name=gwtrack\nredis.register_function{function_name='rd', flags={'no-writes'}, "
               "callback=function(k) return redis.call('get', k[1]) end}")
        get = "return redis.call('get', KEYS[1])"
        steps = [
            ("w", ["SET", a, "1"], 1), ("w", ["SET", b, "1"], 1),
            ("w", ["FUNCTION", "LOAD", "REPLACE", lib], 1),
            ("t", ["HELLO", "3"], 1), ("t", ["CLIENT", "TRACKING", "ON"], 1),
            ("t", ["EVAL", get, "1", a], 1), ("w", ["SET", a, "2"], 1), ("t", [], 1),
            ("t", ["EVAL_RO", get, "1", b], 1), ("w", ["SET", b, "2"], 1), ("t", [], 1),
            ("t", ["FCALL", "rd", "1", a], 1), ("w", ["SET", a, "3"], 1), ("t", [], 1),
            ("t", ["FCALL_RO", "rd", "1", b], 1), ("w", ["SET", b, "3"], 1), ("t", [], 1),
            ("t", ["PING"], 1),
        ]
        try:
            got = self.compare(steps)
        finally:
            self.direct(0).execute_command("FUNCTION", "FLUSH")
            self.direct(1).execute_command("FUNCTION", "FLUSH")
        self.assertEqual(got[7][2], b">2\r\n$10\r\ninvalidate\r\n*1\r\n$%d\r\n%s\r\n" % (len(a), a.encode()))

    def test_flushall_invalidates_everything(self):
        a = self.keys_on(0)[0]
        c = RawConnection(self.port)
        c.command("HELLO", "3")
        self.assertEqual(c.command("CLIENT", "TRACKING", "ON"), b"OK")
        # (The setUp's FLUSHALL may reach the gateway's feed only now: a null before the GET's
        # reply is possible here, and harmless.)
        c.send_command("GET", a)
        while c.read_reply() != b"_\r\n":
            pass
        self.direct(0).flushall()  # on the back-end itself: the gateway hears it from the feed
        self.assertEqual(c.read_reply(), b">2\r\n$10\r\ninvalidate\r\n_\r\n")
        c.close()

    def test_client_side_cache_with_redis_py(self):
        """A cache on redis-py: RESP2 connections, invalidations redirected to a PubSub."""
        keys = self.keys_on(0, 3, "c") + self.keys_on(1, 3, "c")
        w = self.client()
        for k in keys:
            w.set(k, "v0")
        reader = self.client()
        pubsub = self.client().pubsub()
        # The target's id first (a RESP2 connection runs nothing else once subscribed).
        pubsub.connection = pubsub.connection_pool.get_connection("pubsub")
        pubsub.connection.send_command("CLIENT", "ID")
        target_id = int(pubsub.connection.read_response())
        pubsub.subscribe("__redis__:invalidate")
        self.assertEqual(pubsub.get_message(timeout=5)["type"], "subscribe")
        reader.execute_command("CLIENT", "TRACKING", "ON", "REDIRECT", target_id)
        cache, lock = {}, threading.Lock()

        def get(k):
            with lock:
                if k in cache:
                    return cache[k]
            v = reader.get(k)
            with lock:
                cache[k] = v
            return v

        stop = threading.Event()

        def listen():
            while not stop.is_set():
                m = pubsub.get_message(timeout=0.2)
                if m and m["type"] == "message":
                    with lock:
                        if m["data"] is None:
                            cache.clear()
                        else:
                            for k in m["data"]:
                                cache.pop(k, None)

        t = threading.Thread(target=listen)
        t.start()
        try:
            for k in keys:
                self.assertEqual(get(k), "v0")
            for round_ in range(1, 4):
                for k in keys:
                    w.set(k, "v%d" % round_)
                for k in keys:
                    self.assertTrue(wait_until(lambda: get(k) == "v%d" % round_, timeout=10),
                                    "%s stayed %r" % (k, get(k)))
        finally:
            stop.set()
            t.join()
            pubsub.close()
            reader.connection_pool.disconnect()

    def test_reset(self):
        a = self.keys_on(0)[0]
        steps = [
            ("c", ["HELLO", "3"], 1),
            ("c", ["CLIENT", "SETNAME", "me"], 1),
            ("c", ["CLIENT", "TRACKING", "ON"], 1),
            ("c", ["SUBSCRIBE", "ch"], 1),
            ("c", ["MULTI"], 1), ("c", ["SET", a, "1"], 1),
            ("c", ["RESET"], 1),
            ("c", ["EXEC"], 1), ("c", ["GET", a], 1),
            ("c", ["CLIENT", "GETNAME"], 1),
            ("c", ["CLIENT", "TRACKINGINFO"], 1),
            ("c", ["PING"], 1),
            ("p", ["PUBLISH", "ch", "x"], 1),
            ("s", ["SUBSCRIBE", "ch"], 1),
            ("s", ["GET", a], 1),
            ("s", ["RESET"], 1),
            ("s", ["GET", a], 1),
            ("s", ["WATCH", a], 1), ("s", ["RESET"], 1),
            ("s", ["MULTI"], 1), ("s", ["SET", a, "2"], 1), ("s", ["EXEC"], 1),
        ]
        self.compare(steps)

    def test_publish_inside_multi(self):
        # Redis's own "publish to self inside multi" (unit/pubsub), and a RESP2 subscriber.
        steps = [
            ("s", ["SUBSCRIBE", "foo"], 1),
            ("c", ["HELLO", "3"], 1), ("c", ["SUBSCRIBE", "foo"], 1),
            ("c", ["MULTI"], 1), ("c", ["PING", "abc"], 1),
            ("c", ["PUBLISH", "foo", "bar"], 1), ("c", ["PUBLISH", "foo", "vaz"], 1),
            ("c", ["PING", "def"], 1),
            ("c", ["EXEC"], 3),  # the reply, then both messages
            ("s", [], 2),
        ]
        through = run_session(self.port, steps)
        direct = run_session(self.servers[0].port, steps)
        # Redis writes a RESP3 client's own messages into the EXEC reply as they are published;
        # through the gateway they follow it (a push never goes inside a reply there). The
        # count is the back-end's: the gateway's subscriber connection counts once per channel.
        msg = lambda p: b">3\r\n$7\r\nmessage\r\n$3\r\nfoo\r\n$3\r\n%s\r\n" % p
        self.assertEqual(direct[8][2], b"*4\r\n$3\r\nabc\r\n" + msg(b"bar") + b":2\r\n" + msg(b"vaz") +
                         b":2\r\n$3\r\ndef\r\n")
        self.assertEqual(through[8][2], b"*4\r\n$3\r\nabc\r\n:1\r\n:1\r\n$3\r\ndef\r\n" + msg(b"bar") + msg(b"vaz"))
        del through[8], direct[8]
        self.assertEqual(masked(through), masked(direct))

    def test_subscribe_inside_multi(self):
        # redis-server queues the subscribe family inside MULTI and runs it at EXEC, writing the
        # confirmations into the EXEC reply (SUBSCRIBE a b: two frames where the count says
        # one; SSUBSCRIBE: an error); after EXEC the client is subscribed. Nothing runs when
        # EXEC does not (WATCH, DISCARD).
        k = self.keys_on(0)[0]
        steps = [
            ("c", ["MULTI"], 1), ("c", ["SUBSCRIBE", "a", "b"], 1), ("c", ["PING"], 1),
            ("c", ["SET", k, "1"], 1), ("c", ["PSUBSCRIBE", "p*"], 1), ("c", ["UNSUBSCRIBE", "x"], 1),
            ("c", ["PING", "a", "b"], 1),
            ("c", ["EXEC"], 2),
            ("p", ["PUBLISH", "a", "hello"], 1), ("c", [], 1),
            ("p", ["PUBLISH", "pz", "hi"], 1), ("c", [], 1),
            ("c", ["PING"], 1), ("c", ["GET", k], 1),
            ("d", ["HELLO", "3"], 1), ("d", ["WATCH", k], 1), ("w", ["SET", k, "2"], 1),
            ("d", ["MULTI"], 1), ("d", ["SUBSCRIBE", "q"], 1), ("d", ["EXEC"], 1),
            ("p", ["PUBLISH", "q", "lost"], 1),
            ("d", ["MULTI"], 1), ("d", ["SUBSCRIBE", "q"], 1), ("d", ["GET", k], 1), ("d", ["EXEC"], 1),
            ("p", ["PUBLISH", "q", "got"], 1), ("d", [], 1),
            ("e", ["MULTI"], 1), ("e", ["SUBSCRIBE", "z"], 1), ("e", ["PING"], 1), ("e", ["EXEC"], 1),
            ("f", ["MULTI"], 1), ("f", ["SUBSCRIBE", "z"], 1), ("f", ["DISCARD"], 1),
            ("p", ["PUBLISH", "z", "m"], 1), ("e", [], 1),
            ("f", ["MULTI"], 1), ("f", ["UNSUBSCRIBE"], 1), ("f", ["EXEC"], 1),
        ]
        got = self.compare(steps)
        self.assertEqual(got[7][2], b"*6\r\n*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n"
                         b"*3\r\n$9\r\nsubscribe\r\n$1\r\nb\r\n:2\r\n*2\r\n$4\r\npong\r\n$0\r\n\r\n+OK\r\n"
                         b"*3\r\n$10\r\npsubscribe\r\n$2\r\np*\r\n:3\r\n*3\r\n$11\r\nunsubscribe\r\n$1\r\nx\r\n:3\r\n"
                         b"-ERR wrong number of arguments for 'ping' command\r\n")

    def test_ssubscribe_inside_multi(self):
        # redis-server 7.0 answers SSUBSCRIBE inside MULTI with an error in the EXEC reply (the
        # transaction's other commands run); lfdb-server runs it, so the bytes are redis-server's.
        steps = [("c", ["MULTI"], 1), ("c", ["SSUBSCRIBE", "s"], 1), ("c", ["PING"], 1), ("c", ["EXEC"], 1),
                 ("c", ["GET", "s"], 1)]
        expected = [b"+OK\r\n", b"+QUEUED\r\n", b"+QUEUED\r\n",
                    b"*2\r\n-ERR SSUBSCRIBE isn't allowed for a DENY BLOCKING client\r\n+PONG\r\n", b"$-1\r\n"]
        through = run_session(self.port, steps)
        self.assertEqual([b for _, _, b in through[:5]], expected)
        if backend_is_redis():
            self.assertEqual(masked(through), masked(run_session(self.servers[0].port, steps)))

    def test_subscribe_inside_multi_then_publish(self):
        # A pipelined MULTI/SUBSCRIBE/EXEC: once EXEC is answered, the connection receives messages.
        c = RawConnection(self.port)
        c.send_command("MULTI")
        c.send_command("SUBSCRIBE", "news")
        c.send_command("EXEC")
        self.assertEqual(c.read_reply(), b"+OK\r\n")
        self.assertEqual(c.read_reply(), b"+QUEUED\r\n")
        self.assertEqual(c.read_reply(), b"*1\r\n*3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n")
        # Confirmed: a message published right after reaches it.
        self.assertEqual(self.client().publish("news", "x"), 1)
        self.assertEqual(c.read_reply(), b"*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$1\r\nx\r\n")
        c.close()


class TrackingBackendLossTest(GatewayTestCase):
    """A gateway of its own: a back-end is killed and comes back."""

    def keys_on(self, shard, n=1, prefix="t"):
        return keys_for_shard(shard, len(self.servers), n, prefix)

    def try_set(self, k, v):
        try:
            return self.client().set(k, v)
        except Exception:
            return False

    def test_backend_loss_invalidates_everything(self):
        a = self.keys_on(1)[0]
        c = RawConnection(self.port, timeout=20)
        c.command("HELLO", "3")
        self.assertEqual(c.command("CLIENT", "TRACKING", "ON"), b"OK")
        c.command("GET", a)
        self.servers[1].kill()
        # The feed is gone: whatever the client cached may change unseen.
        self.assertEqual(c.read_reply(timeout=20), b">2\r\n$10\r\ninvalidate\r\n_\r\n")
        self.servers[1].start(self.servers[1].port)
        # Back: everything again (what was read meanwhile was not watched), then reads are
        # tracked as before.
        self.assertEqual(c.read_reply(timeout=20), b">2\r\n$10\r\ninvalidate\r\n_\r\n")
        self.assertTrue(wait_until(lambda: self.try_set(a, "1"), timeout=20))
        c.command("GET", a)
        self.client().set(a, "2")
        self.assertEqual(c.read_reply(timeout=20),
                         b">2\r\n$10\r\ninvalidate\r\n*1\r\n$%d\r\n%s\r\n" % (len(a), a.encode()))
        c.close()


if __name__ == "__main__":
    unittest.main()
