"""Client eviction (maxmemory-clients, CLIENT NO-EVICT), from Redis 7.0's documentation.

When the memory of every client together passes maxmemory-clients (bytes, or a percentage of
maxmemory), the server closes the heaviest clients first until the sum is under it again; a
client under CLIENT NO-EVICT on is never closed that way; each eviction counts in INFO stats
evicted_clients (docs/memory.md, "Client eviction").

Redis's own client-eviction unit is external:skip (it starts its own server), so each case here
runs against a redis-server 7.0 started next to the lfdb-server under test: it is known to be
fair. Clients are made heavy the way the documentation names: a large query buffer (a command
not yet complete), a large MULTI queue, a large reply not yet read. Nothing asserts a duration:
polls have generous deadlines."""

import time
import unittest

import redis

from lfdb_testlib import HOST, Closed, RawConnection, SideBySideTestCase, is_lfdb

KB = 1024


def info_stat(r, field):
    return int(r.info("stats")[field])


def eventually(check, timeout=20.0):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.02)


@unittest.skipUnless(is_lfdb(), "starts its own redis-server next to lfdb-server")
class ClientEvictionTest(SideBySideTestCase):
    def setUp(self):
        self.opened = []

    def tearDown(self):
        for c in self.opened:
            c.close()
        for name in self.servers:
            r = self.control(name)
            r.config_set("maxmemory-clients", "0")
            r.config_set("maxmemory", "0")
            r.config_set("maxmemory-policy", "noeviction")
            r.flushall()
            r.close()

    def control(self, name):
        """A client of the test's own, under CLIENT NO-EVICT (as Redis's test harness makes its
        own): a sum over the limit that nothing else can bring down would close it too."""
        r = redis.Redis(host=HOST, port=self.servers[name].port, socket_timeout=30,
                        single_connection_client=True)
        r.execute_command("CLIENT", "NO-EVICT", "on")
        self.opened.append(r)
        return r

    def raw(self, name, client_name):
        c = RawConnection(self.servers[name].port, timeout=30.0)
        self.opened.append(c)
        self.assertEqual(c.command("CLIENT", "SETNAME", client_name), b"OK")
        return c

    def tot_mem(self, r, client_name):
        """CLIENT LIST's tot-mem of the client named so (None when it is gone)."""
        for c in r.client_list():
            if c["name"] == client_name:
                return int(c["tot-mem"])
        return None

    def send_until_evicted(self, c, data):
        """Sends a command that takes the client past the limit. The server may close the
        connection before the last byte is sent (it evicts as the buffer grows): that is the
        behaviour under test, so a reset here is not an error."""
        try:
            c.send(data)
        except (ConnectionResetError, BrokenPipeError):
            pass

    def grow_query_buffer(self, r, c, client_name, size):
        """A SET whose value is `size` bytes long, sent but for its last 10 bytes: the command
        stays in the client's query buffer. Waits until CLIENT LIST shows it."""
        c.send(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$%d\r\n" % size + b"x" * (size - 10))
        ok = eventually(lambda: (self.tot_mem(r, client_name) or 0) >= size - 10)
        self.assertTrue(ok, "tot-mem of %s: %s" % (client_name, self.tot_mem(r, client_name)))

    def keys_under_both_limits(self, r):
        """unit/maxmemory's set-up for eviction by clients' buffers: 50 keys of 100 KB,
        allkeys-lru with maxmemory 4 MB above what they use, maxmemory-clients 3 MB, fresh
        counters."""
        r.config_set("maxmemory-policy", "allkeys-lru")
        for j in range(50):
            r.setrange(str(j), 100000, "x")
        used = int(r.info("memory")["used_memory"])
        r.config_set("maxmemory", str(used + 4 * 1024 * KB))
        r.config_set("maxmemory-clients", "3mb")
        r.config_resetstat()

    # ---- cases ------------------------------------------------------------------------------

    def test_query_buffer_client_is_evicted(self):
        """A client whose unfinished command passes maxmemory-clients is closed; the others go
        on; evicted_clients counts it; lfdb logs it."""
        for name in self.servers:
            with self.subTest(server=name):
                r = self.control(name)
                before = info_stat(r, "evicted_clients")
                r.config_set("maxmemory-clients", "400kb")
                other = self.raw(name, "bystander")
                heavy = self.raw(name, "heavy")
                self.send_until_evicted(heavy, b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1000000\r\n" + b"x" * 600000)
                self.assertTrue(heavy.is_closed(timeout=20.0))
                self.assertEqual(other.command("PING"), b"PONG")
                self.assertIsNone(self.tot_mem(r, "heavy"))
                self.assertEqual(info_stat(r, "evicted_clients"), before + 1)
                if name == "lfdb":
                    self.assertIn("evicting client", self.lfdb.log())

    def test_lower_limit_evicts_at_once(self):
        """CONFIG SET maxmemory-clients below what the clients use evicts the heavy one."""
        for name in self.servers:
            with self.subTest(server=name):
                r = self.control(name)
                before = info_stat(r, "evicted_clients")
                heavy = self.raw(name, "heavy")
                self.grow_query_buffer(r, heavy, "heavy", 500 * KB)
                r.config_set("maxmemory-clients", "300kb")
                self.assertTrue(heavy.is_closed(timeout=20.0))
                self.assertEqual(info_stat(r, "evicted_clients"), before + 1)

    def test_heaviest_first_and_only_until_under(self):
        """Two heavy clients and a limit that only one of them passes with the rest: the
        heavier goes, the lighter stays (the sum is under the limit without it)."""
        for name in self.servers:
            with self.subTest(server=name):
                r = self.control(name)
                before = info_stat(r, "evicted_clients")
                big = self.raw(name, "big")
                small = self.raw(name, "small")
                self.grow_query_buffer(r, big, "big", 700 * KB)
                self.grow_query_buffer(r, small, "small", 300 * KB)
                r.config_set("maxmemory-clients", "900kb")
                self.assertTrue(big.is_closed(timeout=20.0))
                # The lighter one finishes its command: it was never closed.
                small.send(b"x" * 10 + b"\r\n")
                self.assertEqual(small.read_parsed(timeout=20.0), b"OK")
                self.assertEqual(info_stat(r, "evicted_clients"), before + 1)

    def test_an_idle_client_stays_when_a_piler_is_evicted(self):
        """Only the client over the limit goes: one that pipelines MGETs and never reads is
        evicted, an idle one beside it answers PING after. lfdb once evicted the idle one too:
        the evicted client's session, run until its thread closed it, counted its pile back into
        the sum, and the next heaviest client paid for it."""
        for name in self.servers:
            with self.subTest(server=name):
                r = self.control(name)
                r.set("v", b"x" * (100 * KB))
                before = info_stat(r, "evicted_clients")
                bystander = self.raw(name, "bystander")
                r.config_set("maxmemory-clients", "5mb")
                piler = self.raw(name, "piler")
                self.send_until_evicted(piler, b"*2\r\n$4\r\nMGET\r\n$1\r\nv\r\n" * 300)
                # Waited for without reading the piler: a reader would drain the pile it makes
                # (a loaded run read it down faster than the server built it, and nobody went).
                self.assertTrue(eventually(lambda: info_stat(r, "evicted_clients") >= before + 1, timeout=30))
                self.assertTrue(piler.is_closed(timeout=20.0))
                self.assertEqual(bystander.command("PING"), b"PONG")
                self.assertEqual(info_stat(r, "evicted_clients"), before + 1)

    def test_no_evict_client_is_kept(self):
        """CLIENT NO-EVICT on: the client is not evicted however much it holds; off again, it
        is."""
        for name in self.servers:
            with self.subTest(server=name):
                r = self.control(name)
                before = info_stat(r, "evicted_clients")
                heavy = self.raw(name, "heavy")
                self.assertEqual(heavy.command("CLIENT", "NO-EVICT", "on"), b"OK")
                r.config_set("maxmemory-clients", "300kb")
                self.grow_query_buffer(r, heavy, "heavy", 600 * KB)
                heavy.send(b"x" * 10 + b"\r\n")
                self.assertEqual(heavy.read_parsed(timeout=20.0), b"OK")
                self.assertEqual(info_stat(r, "evicted_clients"), before)
                self.assertEqual(heavy.command("CLIENT", "NO-EVICT", "off"), b"OK")
                self.send_until_evicted(heavy, b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1000000\r\n" + b"x" * 600000)
                self.assertTrue(heavy.is_closed(timeout=20.0))
                self.assertEqual(info_stat(r, "evicted_clients"), before + 1)

    def test_percentage_of_maxmemory(self):
        """maxmemory-clients as a percentage: of maxmemory (1% of 50 MB: 512 KB). A client
        holding 300 KB stays, one holding 900 KB goes."""
        for name in self.servers:
            with self.subTest(server=name):
                r = self.control(name)
                before = info_stat(r, "evicted_clients")
                r.config_set("maxmemory", "50mb")
                r.config_set("maxmemory-clients", "1%")
                self.assertEqual(r.config_get("maxmemory-clients")["maxmemory-clients"], "1%")
                light = self.raw(name, "light")
                self.grow_query_buffer(r, light, "light", 300 * KB)
                light.send(b"x" * 10 + b"\r\n")
                self.assertEqual(light.read_parsed(timeout=20.0), b"OK")
                self.assertEqual(info_stat(r, "evicted_clients"), before)
                # Gone before the next one grows: redis-server keeps a big query buffer's room
                # for a while after the command, which would make it a candidate too.
                light.close()
                self.assertTrue(eventually(lambda: self.tot_mem(r, "light") is None))
                heavy = self.raw(name, "heavy")
                self.send_until_evicted(heavy, b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1000000\r\n" + b"x" * 900000)
                self.assertTrue(heavy.is_closed(timeout=20.0))
                self.assertEqual(info_stat(r, "evicted_clients"), before + 1)

    def test_multi_queue_counts(self):
        """The commands queued in MULTI are the client's memory: a large queue is evicted."""
        for name in self.servers:
            with self.subTest(server=name):
                r = self.control(name)
                before = info_stat(r, "evicted_clients")
                r.config_set("maxmemory-clients", "300kb")
                heavy = self.raw(name, "heavy")
                self.assertEqual(heavy.command("MULTI"), b"OK")
                value = b"v" * (10 * KB)
                closed = False
                for i in range(100):  # 1 MB of queued SETs, each answered QUEUED until evicted
                    try:
                        heavy.send_command("SET", "k%d" % i, value)
                        heavy.read_parsed(timeout=20.0)
                    except Exception:  # the server closed it
                        closed = True
                        break
                self.assertTrue(closed or heavy.is_closed(timeout=20.0))
                self.assertEqual(info_stat(r, "evicted_clients"), before + 1)
                self.assertEqual(r.dbsize(), 0)

    def test_unread_large_reply_counts(self):
        """A reply larger than the limit that the client has not read yet: evicted."""
        for name in self.servers:
            with self.subTest(server=name):
                r = self.control(name)
                before = info_stat(r, "evicted_clients")
                # Written by a connection that then leaves: redis-server keeps a large query
                # buffer's room with its client for a while, which would keep the sum over the
                # limit with nothing evictable but the next client.
                writer = redis.Redis(host=HOST, port=self.servers[name].port, socket_timeout=30)
                writer.set("big", b"x" * (2 * 1024 * KB))
                gone = writer.client_id()
                writer.connection_pool.disconnect()
                self.assertTrue(eventually(lambda: all(int(c["id"]) != gone for c in r.client_list())))
                r.config_set("maxmemory-clients", "500kb")
                heavy = self.raw(name, "heavy")
                heavy.send(b"GET big\r\n" * 4)
                closed = eventually(lambda: info_stat(r, "evicted_clients") == before + 1)
                self.assertTrue(closed)
                self.assertEqual(self.tot_mem(r, "heavy"), None)

    def test_piled_up_replies_count_what_they_hold(self):
        """Replies a client does not read pile up in the server (Redis's reply list; lfdb's
        connection buffer, read on while maxmemory-clients is set): the client's tot-mem covers
        the memory they hold, not only their bytes. lfdb once counted a 100 KB MGET reply as
        100 KB while its buffer held 224 KB (the CRLF after the value doubled it, and the
        waiting buffer doubles as replies join it), so keys were evicted before any client
        reached maxmemory-clients (unit/maxmemory's eviction-by-client-buffers tests)."""
        for name in self.servers:
            with self.subTest(server=name):
                r = self.control(name)
                r.set("v", b"x" * (100 * KB))
                r.config_set("maxmemory-clients", "100mb")  # far off: nobody is evicted
                r.config_resetstat()
                used = int(r.info("memory")["used_memory"])
                piler = self.raw(name, "piler")
                piler.send(b"*2\r\n$4\r\nMGET\r\n$1\r\nv\r\n" * 80)  # 8 MB of replies, never read
                done = eventually(lambda: int(r.info("commandstats").get("cmdstat_mget", {}).get("calls", 0)) == 80)
                self.assertTrue(done)

                # The server goes on moving replies into the kernel until the socket is full:
                # the two figures are taken with nothing moved in between (tot-mem the same
                # before and after used_memory), not one after the other (redis-server once
                # sent 1.9 MB between them under load, and the test failed on the peer).
                def snapshot():
                    before = self.tot_mem(r, "piler")
                    grown = int(r.info("memory")["used_memory"]) - used
                    return (grown, before) if self.tot_mem(r, "piler") == before else None
                measured = eventually(snapshot)
                self.assertTrue(measured)
                grown, held = measured
                # What the kernel took is in neither figure; what the server holds must show.
                self.assertGreater(grown, 1024 * KB, "the replies piled up in the server")
                self.assertGreaterEqual(held, grown * 3 // 4, "tot-mem %d, used_memory grew %d" % (held, grown))

    def test_clients_go_before_keys(self):
        """Clients whose unread replies fill memory are evicted, and no key is: Redis evicts
        clients as their memory passes maxmemory-clients, before the next command can evict
        keys, and frees them at once (unit/maxmemory's 'eviction due to output buffers of many
        MGET clients, client eviction: true'). 50 keys of 100 KB, maxmemory 4 MB above what
        they use, maxmemory-clients 3 MB: 20 clients send MGETs of a key and never read.
        lfdb-server once evicted keys too: this read's 100 KB replies counted as 100 KB while
        their buffers held 224 KB, the drain trusted a cached figure a burst of replies had
        pushed over, and evicted clients still held their piles until their threads closed
        them (docs/memory.md, "Client eviction")."""
        for name in self.servers:
            with self.subTest(server=name):
                r = self.control(name)
                self.keys_under_both_limits(r)
                mget = b"*2\r\n$4\r\nMGET\r\n$1\r\n1\r\n"
                clients = [RawConnection(self.servers[name].port, timeout=5.0) for _ in range(20)]
                self.opened.extend(clients)

                def some_evicted():
                    for c in list(clients):
                        try:
                            c.send(mget)
                        except OSError:  # evicted (reset), or its socket is full
                            clients.remove(c)
                    return info_stat(r, "evicted_clients") > 0 or not clients

                self.assertTrue(eventually(some_evicted, timeout=20.0))
                self.assertGreater(info_stat(r, "evicted_clients"), 0)
                self.assertEqual(info_stat(r, "evicted_keys"), 0)
                self.assertEqual(r.dbsize(), 50)
                # CONFIG RESETSTAT clears the eviction counters, as the unit's tests expect.
                r.config_resetstat()
                self.assertEqual(info_stat(r, "evicted_clients"), 0)
                self.assertEqual(info_stat(r, "evicted_keys"), 0)
                r.config_set("maxmemory-policy", "noeviction")

    def subscribers(self, name, count, channel="bla", no_evict=()):
        """`count` connections subscribed to `channel` that never read again. Those whose
        number is in `no_evict` are under CLIENT NO-EVICT on and the heaviest: subscribed to a
        pattern that matches the channel too, they get every message twice."""
        subs = []
        for i in range(count):
            c = self.raw(name, "sub%d" % i)
            if i in no_evict:
                self.assertEqual(c.command("CLIENT", "NO-EVICT", "on"), b"OK")
                c.send_command("PSUBSCRIBE", channel[:-1] + "*")
                self.assertEqual(c.read_parsed(timeout=20.0), [b"psubscribe", channel[:-1].encode() + b"*", 1])
            c.send_command("SUBSCRIBE", channel)
            self.assertEqual(c.read_parsed(timeout=20.0)[:2], [b"subscribe", channel.encode()])
            subs.append(c)
        return subs

    def test_subscribers_backlog_is_in_the_clients_sum(self):
        """Messages a subscriber does not read wait in the server (Redis's reply list, lfdb's
        outbox, filled by the publisher's thread while the subscriber's socket is full): they are
        the subscriber's tot-mem and in the clients' sum maxmemory-clients compares
        (mem_clients_normal, which Redis 7.0 makes of the normal and the pub/sub clients).
        lfdb-server once showed them in CLIENT LIST's tot-mem only: 5 subscribers held 4 MB and
        mem_clients_normal said a fraction of it."""
        for name in self.servers:
            with self.subTest(server=name):
                r = self.control(name)
                before = info_stat(r, "evicted_clients")
                r.config_set("maxmemory-clients", "100mb")  # on, far off: nobody is evicted
                names = ["sub%d" % i for i in range(5)]
                self.subscribers(name, 5)
                message = b"x" * (100 * KB)

                def piled():
                    return sum(self.tot_mem(r, n) or 0 for n in names)

                # The kernel takes the first MBs of each socket; then they pile up in the server.
                for _ in range(2000):
                    if piled() >= 6 * 1024 * KB:
                        break
                    for _ in range(10):
                        self.assertEqual(r.publish("bla", message), 5)
                self.assertGreaterEqual(piled(), 6 * 1024 * KB)

                # Both figures with nothing moved in between (the publisher is idle now, and the
                # subscribers' sockets are full).
                def snapshot():
                    before = piled()
                    total = int(r.info("memory")["mem_clients_normal"])
                    return (total, before) if piled() == before else None
                measured = eventually(snapshot)
                self.assertTrue(measured)
                total, held = measured
                self.assertGreaterEqual(total, held, "mem_clients_normal %d, the subscribers' tot-mem %d"
                                        % (total, held))
                self.assertEqual(info_stat(r, "evicted_clients"), before)

    def test_subscribers_that_do_not_read_are_evicted(self):
        """Subscribers that never read while a publisher floods them are evicted under
        maxmemory-clients, before any key: their backlog counts as it is posted, and the
        publisher's check of the limit finds it (unit/maxmemory's 'eviction due to output
        buffers of pubsub, client eviction: true'). 50 keys of 100 KB, maxmemory 4 MB above them,
        maxmemory-clients 3 MB, 20 subscribers, 100 KB messages. The publisher (NO-EVICT) and a
        bystander go on; the evicted subscribers leave CLIENT LIST. lfdb-server once counted
        only what had reached the subscribers' connections: keys went instead when the
        sockets' buffers filled first."""
        for name in self.servers:
            with self.subTest(server=name):
                r = self.control(name)
                self.keys_under_both_limits(r)
                bystander = self.raw(name, "bystander")
                self.subscribers(name, 20)
                message = b"x" * (100 * KB)
                published = 0
                while info_stat(r, "evicted_clients") == 0 and info_stat(r, "evicted_keys") == 0 \
                        and published < 3000:
                    r.publish("bla", message)
                    published += 1
                evicted = info_stat(r, "evicted_clients")
                self.assertGreater(evicted, 0, "%d messages published" % published)
                self.assertEqual(info_stat(r, "evicted_keys"), 0)
                self.assertEqual(r.dbsize(), 50)

                # The evicted ones are gone (lfdb's close on their own threads, a moment later).
                def left():
                    return sum(1 for c in r.client_list() if c["name"].startswith("sub"))
                self.assertTrue(eventually(lambda: left() == 20 - info_stat(r, "evicted_clients")),
                                "%d subscribers left, %d evicted" % (left(), info_stat(r, "evicted_clients")))
                self.assertEqual(bystander.command("PING"), b"PONG")
                self.assertTrue(eventually(lambda: r.publish("bla", b"after") == left()))
                r.config_set("maxmemory-policy", "noeviction")

    def test_no_evict_subscriber_is_never_picked(self):
        """A subscriber under CLIENT NO-EVICT on is never evicted, though it is the heaviest
        (it gets every message twice); the others are, as the publisher floods them."""
        for name in self.servers:
            with self.subTest(server=name):
                r = self.control(name)
                before = info_stat(r, "evicted_clients")
                r.config_set("maxmemory-clients", "3mb")
                self.subscribers(name, 5, no_evict=(0,))
                message = b"x" * (100 * KB)
                published = 0
                while info_stat(r, "evicted_clients") == before and published < 3000:
                    r.publish("bla", message)
                    published += 1
                self.assertGreater(info_stat(r, "evicted_clients"), before, "%d messages published" % published)
                self.assertIsNotNone(self.tot_mem(r, "sub0"), "the NO-EVICT subscriber was evicted")
                self.assertGreater(self.tot_mem(r, "sub0"), 100 * KB)

    def test_monitor_that_does_not_read_is_evicted(self):
        """A MONITOR that never reads while commands with 100 KB arguments run: their lines pile
        up for it (lfdb: in its outbox, as a subscriber's messages) and it is evicted under
        maxmemory-clients (a monitor is a normal client to Redis's eviction); the client running
        the commands goes on."""
        for name in self.servers:
            with self.subTest(server=name):
                r = self.control(name)
                before = info_stat(r, "evicted_clients")
                r.config_set("maxmemory-clients", "3mb")
                monitor = self.raw(name, "monitor")
                self.assertEqual(monitor.command("MONITOR"), b"OK")
                value = b"x" * (100 * KB)
                runs = 0
                while info_stat(r, "evicted_clients") == before and runs < 3000:
                    r.set("k", value)
                    runs += 1
                self.assertEqual(info_stat(r, "evicted_clients"), before + 1, "%d SETs" % runs)
                self.assertTrue(monitor.is_closed(timeout=20.0))
                self.assertIsNone(self.tot_mem(r, "monitor"))
                self.assertEqual(r.get("k"), value)

    def test_a_big_argument_counts_whole_from_its_header(self):
        """A client that announces a 3 MB argument under a 3 MB limit is evicted at once, and
        one announcing half the limit shows at least that much in tot-mem, however little of it
        has arrived: the server reserves a big argument's length on its header. qbuf shows the
        argument's bytes alone."""
        for name in self.servers:
            with self.subTest(server=name):
                r = self.control(name)
                r.config_set("maxmemory-clients", "3000000")
                half = self.raw(name, "half")
                half.send(b"*2\r\n$3\r\nGET\r\n$1500000\r\n" + b"v" * 1000)
                self.assertTrue(eventually(lambda: (self.tot_mem(r, "half") or 0) >= 1500000),
                                "tot-mem %s" % self.tot_mem(r, "half"))
                qbuf = [int(c["qbuf"]) for c in r.client_list() if c["name"] == "half"]
                self.assertEqual(qbuf, [1000])
                half.close()
                heavy = self.raw(name, "heavy")
                self.send_until_evicted(heavy, b"*2\r\n$3\r\nGET\r\n$3000000\r\n" + b"v" * 1000)
                self.assertTrue(heavy.is_closed(timeout=20.0))

    def test_tracking_prefixes_count(self):
        """CLIENT TRACKING BCAST prefixes are the client's memory: adding them one by one under
        a small limit ends in its eviction."""
        for name in self.servers:
            with self.subTest(server=name):
                r = self.control(name)
                r.config_set("maxmemory-clients", "200000")
                c = self.raw(name, "prefixes")
                evicted = False
                for j in range(20000):
                    try:
                        reply = c.command("CLIENT", "TRACKING", "on", "PREFIX", "%012d" % j, "BCAST")
                    except (Closed, ConnectionError):
                        evicted = True
                        break
                    if reply != b"OK":
                        evicted = True
                        break
                self.assertTrue(evicted, "20000 prefixes and still connected")
                self.assertIsNone(self.tot_mem(r, "prefixes"))

    def test_client_list_shows_memory(self):
        """tot-mem grows with what the client holds and falls back once its command is done."""
        for name in self.servers:
            with self.subTest(server=name):
                r = self.control(name)
                c = self.raw(name, "grower")
                idle = self.tot_mem(r, "grower")
                self.grow_query_buffer(r, c, "grower", 400 * KB)
                c.send(b"x" * 10 + b"\r\n")
                self.assertEqual(c.read_parsed(timeout=20.0), b"OK")
                self.assertTrue(eventually(lambda: self.tot_mem(r, "grower") < 100 * KB),
                                "tot-mem %s (idle %s)" % (self.tot_mem(r, "grower"), idle))
                mem = r.info("memory")
                self.assertIn("mem_clients_normal", mem)
                self.assertGreater(int(mem["mem_clients_normal"]), 0)


if __name__ == "__main__":
    unittest.main()
