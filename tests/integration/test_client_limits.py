"""Replies that stream instead of piling up, and the client limits (docs/memory.md).

A pipeline of large GETs from a client that reads slowly, or not at all, is read on and its
replies wait in the server, as Redis holds them (bounded only by the limits below, maxmemory-clients
and maxmemory): lfdb's pile must be no larger than redis-server's, show in CLIENT LIST's omem, and
the memory of the spike must be given back once the client is gone. Memory is read from
/proc/<pid>/status (VmRSS) with generous bounds; nothing here asserts a duration.

The limits (client-output-buffer-limit normal, client-query-buffer-limit, proto-max-bulk-len,
maxclients) run against a redis-server 7.0 started next to the lfdb-server under test, so each
check is known to be fair. Runs only against lfdb-server (it starts its own redis-server)."""

import socket
import threading
import time
import unittest

import redis

from lfdb_testlib import HOST, MATRIX_COPY, RedisPeer, SANITIZED, ServerProcess, SideBySideTestCase, is_lfdb

MB = 1024 * 1024
VALUE_SIZE = 512 * 1024
# Inline GETs, as the case: 7 bytes each, so one 16 KB read brings in 2,340 of them.
GET = b"GET big\r\n"
REPLY_SIZE = len(b"$%d\r\n" % VALUE_SIZE) + VALUE_SIZE + 2


def rss(proc):
    with open("/proc/%d/status" % proc.pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def connect(server, timeout=30.0):
    s = socket.create_connection((HOST, server.port), timeout=timeout)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)  # a slow reader's small window
    return s


def closed_without_reply(s, timeout=10.0):
    """True when the server closes `s` having sent nothing (b"" before any byte)."""
    s.settimeout(timeout)
    try:
        return s.recv(1) == b""
    except ConnectionResetError:
        return True


@unittest.skipUnless(is_lfdb(), "starts its own redis-server next to lfdb-server")
class ClientLimitsTest(SideBySideTestCase):
    def client(self, name, **kw):
        return redis.Redis(host=HOST, port=self.servers[name].port, socket_timeout=30, **kw)

    def setUp(self):
        for name in self.servers:
            r = self.client(name)
            r.config_set("client-output-buffer-limit", "normal 0 0 0")
            r.config_set("client-query-buffer-limit", "1gb")
            r.config_set("proto-max-bulk-len", "512mb")
            r.flushall()
            r.close()

    def both(self):
        names = ("lfdb",) if MATRIX_COPY else ("redis", "lfdb")
        return [(name, self.client(name)) for name in names]

    # ---- replies that stream ------------------------------------------------------------------

    def pipeline_of_big_gets(self, name, count, bound=None):
        """Sends `count` GETs of a 512 KB value in one write and reads nothing for a while, then
        reads the replies slowly. Returns (RSS growth while nothing was read, the largest RSS
        growth while reading, RSS growth once the client left and the server settled); with a
        `bound`, fails as soon as one of them passes it."""
        server = self.servers[name]
        r = self.client(name)
        r.set("big", b"x" * VALUE_SIZE)
        base = rss(server.proc)
        s = connect(server)
        s.sendall(GET * count)
        # Not reading: whatever the server built and could not send is in its memory now.
        stalled = 0
        for _ in range(20):
            time.sleep(0.1)
            stalled = max(stalled, rss(server.proc) - base)
        if bound is not None:
            self.assertLess(stalled, bound, "RSS growth while the client did not read")
        want, got, peak, chunks = count * REPLY_SIZE, 0, stalled, 0
        while got < want:
            data = s.recv(64 * 1024)
            self.assertTrue(data, "%s closed the connection after %d of %d bytes" % (name, got, want))
            got += len(data)
            chunks += 1
            if chunks % 64 == 0:
                peak = max(peak, rss(server.proc) - base)
                time.sleep(0.001)  # a slow reader
        self.assertEqual(got, want)
        if bound is not None:
            self.assertLess(peak, bound, "RSS growth while the client read slowly")
        s.close()
        # After the spike: RSS goes back near where it was (the allocator returns freed pages
        # with a delay of its own, so poll, with a generous upper bound for liveness).
        after = rss(server.proc) - base
        deadline = time.monotonic() + 30
        while after > 48 * MB and time.monotonic() < deadline:
            time.sleep(0.5)
            after = rss(server.proc) - base
        self.assertEqual(r.ping(), True)
        r.close()
        return stalled, peak, after

    @unittest.skipIf(SANITIZED, "ASan keeps freed memory in its quarantine (256 MB): RSS says "
                                "nothing of what the server holds")
    def test_slow_reader_of_pipelined_big_gets_holds_no_more_than_redis(self):
        count = 400  # 200 MB of replies
        lfdb = self.pipeline_of_big_gets("lfdb", count)
        red = None if MATRIX_COPY else self.pipeline_of_big_gets("redis", count)
        report = "RSS growth (stalled, peak, after leaving): lfdb %s, redis-server %s MB" % (
            tuple(x // MB for x in lfdb), red and tuple(x // MB for x in red))
        # Both read the whole pipeline and hold its replies until the client takes them (no
        # limit is set): about the 200 MB. lfdb's blocks free as they are sent; its buffers are
        # the replies' own (moved, not copied), so it holds no more than Redis's reply list.
        if red is not None:
            self.assertLess(lfdb[0], red[0] * 5 // 4 + 32 * MB, report)
            self.assertLess(lfdb[1], red[1] * 5 // 4 + 32 * MB, report)
        self.assertLess(lfdb[2], 48 * MB, report)

    def test_other_clients_are_served_while_one_does_not_read(self):
        for name, r in self.both():
            with self.subTest(server=name):
                r.set("big", b"x" * VALUE_SIZE)
                base = rss(self.servers[name].proc)
                hog = connect(self.servers[name])
                hog.sendall(b"CLIENT SETNAME hog\r\n" + GET * 200)  # 100 MB of replies, unread
                other = self.client(name)
                # The pile shows in the hog's omem (what it holds, as CLIENT LIST counts it).
                deadline = time.monotonic() + 30
                omem = 0
                while omem < 90 * MB and time.monotonic() < deadline:
                    for c in other.client_list():
                        if c["name"] == "hog":
                            omem = int(c["omem"])
                    time.sleep(0.05)
                self.assertGreaterEqual(omem, 90 * MB, "%s: the hog's omem" % name)
                for i in range(100):
                    self.assertEqual(other.set("k%d" % i, i), True)
                    self.assertEqual(other.get("big"), b"x" * VALUE_SIZE)
                hog.close()
                # The hog gone, its pile is given back (the allocator's own delay: poll).
                after = rss(self.servers[name].proc) - base
                deadline = time.monotonic() + 30
                while after > 48 * MB and time.monotonic() < deadline:
                    time.sleep(0.2)
                    after = rss(self.servers[name].proc) - base
                if not SANITIZED:  # ASan's quarantine keeps what was freed
                    self.assertLess(after, 48 * MB, name)
                other.close()
                self.assertEqual(r.ping(), True)

    # ---- client-output-buffer-limit normal ----------------------------------------------------

    def test_no_reply_for_a_single_reply_over_the_hard_limit(self):
        for name, r in self.both():
            with self.subTest(server=name):
                self.assertTrue(r.config_set("client-output-buffer-limit", "normal 100000 0 0"))
                self.assertIn("normal 100000 0 0",
                              r.config_get("client-output-buffer-limit")["client-output-buffer-limit"])
                r.set("v", b"x" * 200000)
                s = connect(self.servers[name])
                s.settimeout(10)
                s.sendall(b"CLIENT SETNAME obufvictim\r\n")
                self.assertEqual(s.recv(5), b"+OK\r\n")
                s.sendall(b"GET v\r\n")
                self.assertTrue(closed_without_reply(s))
                s.close()
                self.assertNotIn("obufvictim", str(r.client_list()))
                self.assertEqual(r.strlen("v"), 200000)
                r.close()
        self.assertIn("output buffer limits", self.lfdb.log())
        info = self.client("lfdb").info("stats")
        self.assertGreaterEqual(info["client_output_buffer_limit_disconnections"], 1)

    def test_a_reply_without_bound_stops_at_the_hard_limit(self):
        # HRANDFIELD, SRANDMEMBER and ZRANDMEMBER with a huge negative count ask for gigabytes
        # of reply: the server breaks off at the limit and closes the client, having sent
        # nothing, and stays up for the others. Built whole, the reply would not fit in memory
        # (a socket timeout or a dead server here).
        for name, r in self.both():
            with self.subTest(server=name):
                r.config_set("client-output-buffer-limit", "normal 1000000 0 0")
                r.hset("h", "a", "b")
                r.sadd("s", "a")
                r.zadd("z", {"a": 1})
                for cmd in (b"HRANDFIELD h -999999999", b"HRANDFIELD h -999999999 WITHVALUES",
                            b"SRANDMEMBER s -999999999", b"ZRANDMEMBER z -999999999 WITHSCORES"):
                    s = connect(self.servers[name])
                    s.sendall(cmd + b"\r\n")
                    self.assertTrue(closed_without_reply(s, timeout=30), cmd)
                    s.close()
                    self.assertEqual(r.ping(), True)
                r.close()

    def test_a_reply_cut_at_the_limit_is_never_sent_when_the_limit_is_lifted_meanwhile(self):
        # The limit a reply without bound stopped at decides the client's fate once: when
        # CONFIG SET lifts it while the command runs, the client still gets nothing and is
        # closed; it never sees a reply cut short (an array missing elements, the connection
        # left open). Either outcome of the race is fine: the whole reply, or nothing.
        count = 1000000
        whole = len(b"*%d\r\n" % count) + count * len(b"$1\r\na\r\n")
        for name, r in self.both():
            with self.subTest(server=name):
                r.hset("h", "a", "b")
                lifter = self.client(name)
                for i in range(20):
                    r.config_set("client-output-buffer-limit", "normal 1000000 0 0")
                    s = connect(self.servers[name])
                    s.settimeout(30)
                    lift = threading.Thread(target=lambda d=i: (time.sleep(d / 2000.0),
                                                                lifter.config_set("client-output-buffer-limit",
                                                                                  "normal 0 0 0")))
                    s.sendall(b"HRANDFIELD h -%d\r\n" % count)
                    lift.start()
                    got = 0
                    while True:
                        try:
                            chunk = s.recv(1 << 20)
                        except ConnectionResetError:
                            chunk = b""
                        if not chunk or got + len(chunk) >= whole:
                            got += len(chunk)
                            break
                        got += len(chunk)
                    lift.join()
                    s.close()
                    self.assertIn(got, (0, whole), "a reply cut short was sent (%d of %d bytes)" % (got, whole))
                lifter.close()
                r.close()

    def test_client_list_shows_a_subscribers_unsent_messages(self):
        # A subscriber that does not read: what waits for it (messages not yet sent) shows in
        # CLIENT LIST's omem, and it is dropped at the pubsub class's hard limit.
        for name, r in self.both():
            with self.subTest(server=name):
                r.config_set("client-output-buffer-limit", "pubsub 100000 0 0")
                s = connect(self.servers[name])
                s.sendall(b"CLIENT SETNAME slowsub\r\nSUBSCRIBE foo\r\n")
                s.settimeout(10)
                got = b""
                while got.count(b"\r\n") < 7:
                    got += s.recv(4096)
                # The kernel's socket buffers fill first (some 50,000 messages on loopback),
                # then omem: 100 messages (3.3 KB) a round trip, not one, so a loaded machine
                # does not take minutes over it (a CLIENT LIST after each message ran past
                # ctest's 120 s under the itest sweep's load).
                seen, gone = 0, False
                for _ in range(4000):
                    p = r.pipeline(transaction=False)
                    for _ in range(100):
                        p.publish("foo", "bar")
                    p.execute()
                    line = [c for c in r.client_list() if c["name"] == "slowsub"]
                    if not line:
                        gone = True
                        break
                    seen = max(seen, int(line[0]["omem"]))
                self.assertTrue(gone, "the subscriber was never dropped")
                self.assertGreaterEqual(seen, 70000)
                self.assertLess(seen, 200000)
                s.close()
                r.config_set("client-output-buffer-limit", "pubsub 32mb 8mb 60")
                r.close()

    def subscribe_raw(self, name, client_name):
        s = connect(self.servers[name])
        s.sendall(b"CLIENT SETNAME " + client_name + b"\r\nSUBSCRIBE foo\r\n")
        s.settimeout(10)
        got = b""
        while got.count(b"\r\n") < 7:  # +OK, then the subscribe reply's six lines
            got += s.recv(4096)
        return s

    @staticmethod
    def omem_of(r, client_name):
        line = [c for c in r.client_list() if c["name"] == client_name]
        return int(line[0]["omem"]) if line else None

    def test_a_quiet_subscriber_over_the_soft_limit_is_dropped(self):
        # Over the pubsub class's soft limit, then no message more: no post is left to check the
        # limit, and the server's cron drops the subscriber once its seconds have passed (Redis's
        # unit/obuf-limits '... enforced when no traffic').
        for name, r in self.both():
            with self.subTest(server=name):
                r.config_set("client-output-buffer-limit", "pubsub 0 100000 1")
                s = self.subscribe_raw(name, b"quietsub")
                for _ in range(100000):
                    r.publish("foo", b"x" * 1000)
                    if (self.omem_of(r, "quietsub") or 0) > 100000:
                        break
                self.assertGreater(self.omem_of(r, "quietsub") or 0, 100000)
                deadline = time.monotonic() + 10  # no more messages: wait for the drop
                while self.omem_of(r, "quietsub") is not None and time.monotonic() < deadline:
                    time.sleep(0.05)
                self.assertIsNone(self.omem_of(r, "quietsub"), "the quiet subscriber over the soft limit stayed")
                s.close()
                r.config_set("client-output-buffer-limit", "pubsub 32mb 8mb 60")
                r.close()

    def test_a_subscriber_that_caught_up_is_not_dropped_by_the_soft_limit(self):
        # 2 MB of messages reach a subscriber that reads nothing at first, so they pile up over
        # the soft limit; then it reads them all and no message follows. With nothing waiting
        # for it, its soft limit's seconds pass and it stays. (lfdb counted the last batch its
        # session handed the connection until the session ran again, even once the socket had
        # taken it: a check of that figure closed subscribers that had read everything.)
        for name, r in self.both():
            with self.subTest(server=name):
                r.config_set("client-output-buffer-limit", "pubsub 0 100000 1")
                s = self.subscribe_raw(name, b"readsub")
                message = b"y" * (50 * 1024)
                frame = b"*3\r\n$7\r\nmessage\r\n$3\r\nfoo\r\n$%d\r\n%s\r\n" % (len(message), message)
                p = r.pipeline(transaction=False)
                for _ in range(40):
                    p.publish("foo", message)
                self.assertEqual(p.execute(), [1] * 40)
                got = 0
                while got < 40 * len(frame):
                    chunk = s.recv(1 << 20)
                    self.assertTrue(chunk, "dropped while it read (%d of %d bytes)" % (got, 40 * len(frame)))
                    got += len(chunk)
                self.assertEqual(got, 40 * len(frame))
                # Longer than the soft limit's second, and several turns of the cron (hz 10).
                time.sleep(2.5)
                self.assertIsNotNone(self.omem_of(r, "readsub"), "a subscriber that read everything was dropped")
                self.assertEqual(r.publish("foo", "after"), 1)
                tail = b"*3\r\n$7\r\nmessage\r\n$3\r\nfoo\r\n$5\r\nafter\r\n"
                got = b""
                while len(got) < len(tail):
                    chunk = s.recv(4096)
                    self.assertTrue(chunk, "closed")
                    got += chunk
                self.assertEqual(got, tail)
                s.close()
                r.config_set("client-output-buffer-limit", "pubsub 32mb 8mb 60")
                r.close()

    def test_a_client_that_never_reads_is_dropped_at_the_hard_limit(self):
        # One GET of 200 KB at a time, never read: the server reads on and the replies pile up
        # until the hard limit closes the client (its replies dropped, not sent); the other
        # clients are served meanwhile. Without the limit the model would stop reading it.
        for name, r in self.both():
            with self.subTest(server=name):
                r.config_set("client-output-buffer-limit", "normal 4mb 0 0")
                r.set("v", b"x" * 200000)
                s = connect(self.servers[name])
                s.sendall(b"CLIENT SETNAME neverreads\r\n")
                s.setblocking(False)
                dropped = False
                for i in range(20000):
                    try:
                        s.send(b"GET v\r\n")
                    except BlockingIOError:
                        pass
                    except (BrokenPipeError, ConnectionResetError):
                        dropped = True
                        break
                    if i % 50 == 0:
                        time.sleep(0.01)
                        self.assertEqual(r.ping(), True)
                        if "neverreads" not in str(r.client_list()):
                            dropped = True
                            break
                self.assertTrue(dropped, "the client that never reads is still connected")
                self.assertEqual(r.strlen("v"), 200000)
                s.close()
                r.close()

    def test_a_transaction_runs_whole_even_when_its_replies_pass_the_limit(self):
        for name, r in self.both():
            with self.subTest(server=name):
                r.config_set("client-output-buffer-limit", "normal 100000 0 0")
                for _ in range(150):
                    r.lpush("mylist", b"x" * 1000)
                r.set("k1", "v1")
                s = connect(self.servers[name])
                s.sendall(b"MULTI\r\nSET k2 v2\r\nGET k2\r\nLRANGE mylist 0 -1\r\n"
                          b"SET k3 v3\r\nDEL k1\r\nEXEC\r\n")
                s.settimeout(10)
                got = b""
                while True:
                    data = s.recv(65536)
                    if not data:
                        break
                    got += data
                self.assertNotIn(b"*5\r\n", got)  # EXEC's reply never came
                s.close()
                self.assertEqual(r.get("k1"), None)
                self.assertEqual(r.get("k2"), b"v2")
                self.assertEqual(r.get("k3"), b"v3")
                r.close()

    def test_soft_limit_for_its_seconds(self):
        for name, r in self.both():
            with self.subTest(server=name):
                r.config_set("client-output-buffer-limit", "normal 0 100000 1")
                r.set("v", b"x" * 200000)
                s = connect(self.servers[name])
                s.settimeout(10)
                # Over the soft limit once: served (the seconds have not passed).
                s.sendall(b"GET v\r\n")
                got = 0
                while got < 200000 + 11:
                    got += len(s.recv(65536))
                time.sleep(2.5)  # Redis counts whole seconds and wants more than the limit's
                s.sendall(b"GET v\r\n")  # still over, seconds later: closed
                self.assertTrue(closed_without_reply(s))
                s.close()
                r.close()

    # ---- client-query-buffer-limit, proto-max-bulk-len ----------------------------------------

    def test_query_buffer_limit_closes_a_client_with_a_command_too_big(self):
        for name, r in self.both():
            with self.subTest(server=name):
                self.assertTrue(r.config_set("client-query-buffer-limit", "1mb"))
                self.assertEqual(r.config_get("client-query-buffer-limit"),
                                 {"client-query-buffer-limit": "1048576"})
                s = connect(self.servers[name])
                try:
                    s.sendall(b"*3\r\n$3\r\nSET\r\n$1\r\nq\r\n$3000000\r\n" + b"x" * 2000000)
                except (BrokenPipeError, ConnectionResetError):
                    pass
                self.assertTrue(closed_without_reply(s))
                s.close()
                self.assertEqual(r.exists("q"), 0)
                r.config_set("client-query-buffer-limit", "1gb")
                r.set("q", b"y" * 3000000)  # the same command is fine under the default
                self.assertEqual(r.strlen("q"), 3000000)
                r.close()
        self.assertIn("max query buffer length", self.lfdb.log())
        info = self.client("lfdb").info("stats")
        self.assertGreaterEqual(info["client_query_buffer_limit_disconnections"], 1)

    def test_limits_refuse_values_below_one_megabyte(self):
        for name, r in self.both():
            with self.subTest(server=name):
                for param in ("client-query-buffer-limit", "proto-max-bulk-len"):
                    with self.assertRaises(redis.ResponseError) as e:
                        r.config_set(param, "100")
                    self.assertEqual(
                        str(e.exception),
                        "CONFIG SET failed (possibly related to argument '%s') - argument must "
                        "be between 1048576 and 9223372036854775807 inclusive" % param)
                    with self.assertRaises(redis.ResponseError) as e:
                        r.config_set(param, "abc")
                    self.assertEqual(
                        str(e.exception),
                        "CONFIG SET failed (possibly related to argument '%s') - argument must "
                        "be a memory value" % param)
                r.close()

    def test_proto_max_bulk_len_takes_effect(self):
        for name, r in self.both():
            with self.subTest(server=name):
                self.assertTrue(r.config_set("proto-max-bulk-len", "1mb"))
                self.assertEqual(r.config_get("proto-max-bulk-len"),
                                 {"proto-max-bulk-len": "1048576"})
                s = connect(self.servers[name])
                s.settimeout(10)
                s.sendall(b"*3\r\n$3\r\nSET\r\n$1\r\np\r\n$1048577\r\n")
                self.assertEqual(s.recv(100), b"-ERR Protocol error: invalid bulk length\r\n")
                s.close()
                s = connect(self.servers[name])
                s.settimeout(10)
                s.sendall(b"*3\r\n$3\r\nSET\r\n$1\r\np\r\n$1048576\r\n" + b"z" * 1048576 + b"\r\n")
                self.assertEqual(s.recv(100), b"+OK\r\n")
                s.close()
                r.config_set("proto-max-bulk-len", "512mb")
                r.close()


@unittest.skipUnless(is_lfdb(), "starts its own redis-server next to lfdb-server")
class MaxClientsTest(unittest.TestCase):
    def test_past_maxclients_a_connection_gets_the_error(self):
        for name, server in (("redis", RedisPeer()), ("lfdb", ServerProcess([("maxclients", 3)]))):
            with self.subTest(server=name):
                server.start()
                try:
                    admin = redis.Redis(host=HOST, port=server.port, socket_timeout=10)
                    if name == "redis":  # the peer takes no directives: set it live
                        admin.config_set("maxclients", 3)
                    self.assertEqual(admin.ping(), True)  # one of the three
                    # The start-up probe's connection may still count until the server has
                    # seen its close (a thread pool sees it a moment later): wait for it.
                    deadline = time.monotonic() + 10
                    while admin.info("clients")["connected_clients"] != 1 \
                            and time.monotonic() < deadline:
                        time.sleep(0.05)
                    held = [connect(server) for _ in range(2)]
                    for s in held:
                        s.sendall(b"PING\r\n")
                        self.assertEqual(s.recv(100), b"+PONG\r\n")
                    extra = connect(server)
                    extra.settimeout(10)
                    self.assertEqual(extra.recv(100), b"-ERR max number of clients reached\r\n")
                    extra.close()
                    held.pop().close()
                    # Room again once the server has seen the close (poll: no timing assumed).
                    deadline = time.monotonic() + 10
                    while True:
                        again = connect(server)
                        again.settimeout(10)
                        again.sendall(b"PING\r\n")
                        got = again.recv(100)
                        again.close()
                        if got == b"+PONG\r\n" or time.monotonic() > deadline:
                            break
                        time.sleep(0.1)
                    self.assertEqual(got, b"+PONG\r\n")
                    for s in held:
                        s.close()
                    admin.close()
                finally:
                    server.stop()


if __name__ == "__main__":
    unittest.main()
