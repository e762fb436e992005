"""Client-side caching (CLIENT TRACKING) side by side with redis-server 7.0: the same script of
commands on several connections (RESP3 trackers, a RESP2 subscriber to __redis__:invalidate as a
redirection target, writers) runs against a redis-server and the lfdb-server under test, and
after every step each connection's bytes must be the same, byte for byte (client ids masked).
Then a client-side cache built on redis-py (RESP2 redirection, as redis-py 4 does it) is
invalidated by another client's writes, and tracking-table-max-keys trims the table.
Runs only against lfdb-server."""

import itertools
import os
import re
import select
import socket
import time
import unittest

import redis

from lfdb_testlib import HOST, RedisPeer, ServerProcess, SideBySideTestCase, encode_command, is_lfdb

QUIET = 0.15  # a connection has said all it will for this step after this much silence
# The server under test, once every connection has sent as much as the reference did: a shorter
# wait for anything extra (what comes later still shows, as a difference in the next step).
QUIET_MATCHED = 0.03

# Connections: T (tracker, RESP3), U (a second tracker), S (RESP2 subscriber of
# __redis__:invalidate: the redirection target), R (a RESP3 redirection target that never
# subscribes), W (writer). "{S}" in an argument is replaced by S's client id.
SCRIPT = [
    ("S", ["SUBSCRIBE", "__redis__:invalidate"]),
    ("R", ["HELLO", "3"]),
    ("T", ["HELLO", "3"]),
    # errors, as Redis words them
    ("T", ["CLIENT", "TRACKING", "maybe"]),
    ("T", ["CLIENT", "TRACKING", "on", "FOO"]),
    ("T", ["CLIENT", "TRACKING", "on", "PREFIX", "a"]),
    ("T", ["CLIENT", "TRACKING", "on", "BCAST", "OPTIN"]),
    ("T", ["CLIENT", "TRACKING", "on", "OPTIN", "OPTOUT"]),
    ("T", ["CLIENT", "TRACKING", "on", "REDIRECT", "999999"]),
    ("T", ["CLIENT", "TRACKING", "on", "REDIRECT", "x"]),
    ("T", ["CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "ab", "PREFIX", "a"]),
    ("T", ["CLIENT", "CACHING", "yes"]),
    ("T", ["CLIENT", "GETREDIR"]),
    ("T", ["CLIENT", "TRACKINGINFO"]),
    # RESP3, no redirection: the invalidation follows the reply of the write that caused it
    ("T", ["CLIENT", "TRACKING", "on"]),
    ("T", ["CLIENT", "GETREDIR"]),
    ("T", ["CLIENT", "TRACKINGINFO"]),
    ("W", ["SET", "k1", "1"]),
    ("T", ["GET", "k1"]),
    ("W", ["SET", "k1", "2"]),
    ("W", ["SET", "k1", "3"]),
    ("T", ["MGET", "k1", "k2"]),
    ("T", ["HSET", "h", "f", "1"]),
    ("T", ["HGET", "h", "f"]),
    ("T", ["HDEL", "h", "f"]),
    ("T", ["GET", "k1"]),
    ("T", ["MULTI"]),
    ("T", ["INCR", "k1"]),
    ("T", ["GET", "k2"]),
    ("T", ["EXEC"]),
    ("W", ["DEL", "k2"]),
    ("T", ["CLIENT", "CACHING", "yes"]),
    ("T", ["CLIENT", "TRACKING", "on", "BCAST"]),
    ("T", ["CLIENT", "TRACKING", "on", "OPTOUT"]),
    ("T", ["CLIENT", "TRACKING", "off"]),
    # OPTIN: only what follows CLIENT CACHING yes
    ("T", ["CLIENT", "TRACKING", "on", "OPTIN"]),
    ("T", ["GET", "o1"]),
    ("T", ["CLIENT", "CACHING", "yes"]),
    ("T", ["CLIENT", "TRACKINGINFO"]),
    ("T", ["GET", "o2"]),
    ("T", ["GET", "o3"]),
    ("W", ["MSET", "o1", "1", "o2", "2", "o3", "3"]),
    ("T", ["CLIENT", "TRACKING", "off"]),
    # OPTOUT: all but what follows CLIENT CACHING no
    ("T", ["CLIENT", "TRACKING", "on", "OPTOUT", "NOLOOP"]),
    ("T", ["CLIENT", "CACHING", "no"]),
    ("T", ["GET", "o1"]),
    ("T", ["GET", "o2"]),
    ("W", ["MSET", "o1", "1", "o2", "2"]),
    ("T", ["GET", "o3"]),
    ("T", ["SET", "o3", "mine"]),
    ("T", ["CLIENT", "TRACKINGINFO"]),
    ("T", ["CLIENT", "TRACKING", "off"]),
    # redirection to a RESP2 subscriber, and to a RESP3 connection
    ("U", ["CLIENT", "TRACKING", "on", "REDIRECT", "{S}"]),
    ("U", ["CLIENT", "GETREDIR"]),
    ("U", ["GET", "r1"]),
    ("W", ["SET", "r1", "x"]),
    ("U", ["CLIENT", "TRACKING", "on", "REDIRECT", "{R}"]),
    ("U", ["GET", "r1"]),
    ("W", ["APPEND", "r1", "y"]),
    ("U", ["CLIENT", "TRACKING", "off"]),
    # BCAST with prefixes: one message per prefix for a transaction
    ("U", ["CLIENT", "TRACKING", "on", "BCAST", "REDIRECT", "{S}", "PREFIX", "a:", "PREFIX", "b:"]),
    ("U", ["CLIENT", "TRACKING", "on", "BCAST", "REDIRECT", "{S}", "PREFIX", "a"]),
    ("U", ["CLIENT", "TRACKING", "on", "BCAST", "REDIRECT", "{S}", "PREFIX", "c:"]),
    ("U", ["CLIENT", "TRACKINGINFO"]),
    ("W", ["MULTI"]),
    ("W", ["INCR", "a:1"]),
    ("W", ["INCR", "a:2"]),
    ("W", ["INCR", "b:1"]),
    ("W", ["INCR", "z:1"]),
    ("W", ["EXEC"]),
    ("W", ["SET", "c:1", "v"]),
    ("U", ["CLIENT", "TRACKING", "off"]),
    # FLUSHALL: a null invalidation to every tracking client
    ("T", ["CLIENT", "TRACKING", "on"]),
    ("T", ["GET", "f1"]),
    ("U", ["CLIENT", "TRACKING", "on", "REDIRECT", "{S}"]),
    ("W", ["FLUSHALL"]),
    ("W", ["FLUSHDB"]),
    ("U", ["CLIENT", "TRACKING", "off"]),
    ("T", ["CLIENT", "TRACKING", "off"]),
    ("T", ["CLIENT", "TRACKINGINFO"]),
    ("T", ["CLIENT", "GETREDIR"]),
    # a redirection whose target has gone: tracking-redir-broken, once
    ("T", ["CLIENT", "TRACKING", "on", "REDIRECT", "{R}"]),
    ("T", ["GET", "g1"]),
    ("R", ["QUIT"]),
    ("W", ["SET", "g1", "1"]),
    ("T", ["PING"]),
    ("T", ["CLIENT", "TRACKINGINFO"]),
    ("T", ["CLIENT", "TRACKING", "off"]),
    # PUBLISH and SPUBLISH from scripts; a subscribed RESP3 caller gets its copy before the reply
    ("T", ["SUBSCRIBE", "chan"]),
    ("T", ["SSUBSCRIBE", "schan"]),
    ("W", ["EVAL", "return redis.call('publish', '__redis__:invalidate', 'from a script')", "0"]),
    ("T", ["EVAL", "return redis.call('publish', 'chan', 'mine')", "0"]),
    ("T", ["EVAL", "return redis.call('spublish', 'schan', 'shard')", "0"]),
    ("W", ["EVAL", "return redis.call('pubsub', 'numsub', 'chan')", "0"]),
    ("W", ["FCALL_RO", "nope", "0"]),
    ("T", ["UNSUBSCRIBE"]),
    ("T", ["SUNSUBSCRIBE"]),
]


def drain_all(conns, expect=None, mask=lambda data: data, own=None):
    """Everything each connection sends for one step (as test_pubsub_diff does it). `expect`
    holds the reference's masked bytes, so lengths are compared masked too. `own`: the
    connection that sent the step's command, which every step answers: silence is only judged
    once its reply began (a loaded machine's redis-server once took longer than QUIET to
    answer a SET, and the reference recorded the step as silent)."""
    out = {n: b"" for n in conns}
    live = {n: s for n, s in conns.items() if s is not None}
    deadline = time.monotonic() + 10
    while live and time.monotonic() < deadline:
        short = expect is not None and any(len(mask(out[n])) < len(expect[n]) for n in live)
        short = short or (own in live and not out[own])
        quiet = QUIET if expect is None else QUIET_MATCHED
        ready, _, _ = select.select(list(live.values()), [], [], 0.5 if short else quiet)
        if not ready:
            if short:
                continue
            break
        for n, s in list(live.items()):
            if s not in ready:
                continue
            try:
                d = s.recv(65536)
            except ConnectionResetError:
                d = b""
            if not d:
                out[n] += b"<closed>"
                del live[n]
            else:
                out[n] += d
    return out


def run_script(port, expect=None):
    # Client ids above the small numbers the replies carry, so masking them cannot hit those.
    for _ in range(20):
        socket.create_connection((HOST, port)).close()
    names = "TUSRW"
    conns = {n: socket.create_connection((HOST, port)) for n in names}
    ids = {}
    for n, s in conns.items():
        s.sendall(encode_command("CLIENT", "ID"))
        data = b""
        while not data.endswith(b"\r\n"):
            data += s.recv(100)
        ids[n] = data[1:-2].decode()

    def mask(data):
        for n, i in ids.items():
            data = re.sub(rb"(:)%s(\r\n)" % i.encode(), rb"\1ID_" + n.encode() + rb"\2", data)
        return data

    transcript = []
    for i, (name, cmd) in enumerate(SCRIPT):
        args = [a.replace("{S}", ids["S"]).replace("{R}", ids["R"]) for a in cmd]
        conns[name].sendall(encode_command(*args))
        got = drain_all(conns, expect[i] if expect else None, mask, own=name)
        got = {n: mask(v) for n, v in got.items()}
        for n, v in got.items():
            if v.endswith(b"<closed>"):
                conns[n].close()
                conns[n] = None
        transcript.append(got)
    for c in conns.values():
        if c is not None:
            c.close()
    return transcript


_names = itertools.count()


def info_tracking(r):
    info = r.info()
    return {k: info[k] for k in ("tracking_clients", "tracking_total_keys", "tracking_total_items",
                                 "tracking_total_prefixes")}


class ClientSideCache:
    """A client-side cache as redis-py 4 applications build one: reads go through a local dict,
    the server tracks them, and its invalidations arrive on a pub/sub connection subscribed to
    __redis__:invalidate (RESP2 redirection)."""

    def __init__(self, port):
        self.r = redis.Redis(host=HOST, port=port, decode_responses=True, single_connection_client=True)
        # The subscriber's connection is named, to find its id for REDIRECT.
        self.name = "csc-%d-%d" % (os.getpid(), next(_names))
        self.inval = redis.Redis(host=HOST, port=port, decode_responses=True, client_name=self.name)
        self.ps = self.inval.pubsub()
        self.ps.subscribe("__redis__:invalidate")
        msg = self.ps.get_message(timeout=5)
        assert msg["type"] == "subscribe", msg
        ids = [int(c["id"]) for c in self.r.client_list() if c["name"] == self.name]
        assert len(ids) == 1, ids
        self.r.client_tracking_on(clientid=ids[0])
        self.cache = {}
        self.invalidations = 0

    def poll(self, timeout=0.0):
        while True:
            msg = self.ps.get_message(timeout=timeout)
            if msg is None:
                return
            if msg["type"] != "message":
                continue
            self.invalidations += 1
            if msg["data"] is None:
                self.cache.clear()
            else:
                for k in msg["data"]:
                    self.cache.pop(k, None)
            timeout = 0.0

    def get(self, key):
        self.poll()
        if key not in self.cache:
            self.cache[key] = self.r.get(key)
        return self.cache[key]

    def close(self):
        self.ps.close()
        self.r.close()
        self.inval.close()


@unittest.skipUnless(is_lfdb(), "compares lfdb-server with redis-server")
class TrackingDiff(unittest.TestCase):
    def test_sessions_byte_for_byte(self):
        peer = RedisPeer().start()
        lfdb = ServerProcess().start()
        try:
            want = run_script(peer.port)
            got = run_script(lfdb.port, want)
        finally:
            peer.stop()
            lfdb.stop()
        for i, (name, cmd) in enumerate(SCRIPT):
            self.assertEqual(got[i], want[i], "step %d: %s %r" % (i, name, cmd))


@unittest.skipUnless(is_lfdb(), "compares lfdb-server with redis-server")
class TrackingSideBySide(SideBySideTestCase):
    def each(self, fn):
        """fn(port) on both servers; its results must be equal."""
        want = fn(self.peer.port)
        got = fn(self.lfdb.port)
        self.assertEqual(got, want)
        return got

    def test_info_and_client_list(self):
        def scenario(port):
            a = redis.Redis(host=HOST, port=port, decode_responses=True)
            b = redis.Redis(host=HOST, port=port, decode_responses=True)
            a.flushall()
            seen = [info_tracking(a)]
            a.execute_command("CLIENT", "TRACKING", "ON")
            b.set("k1", 1)
            a.get("k1")
            a.mget("k2", "k3")
            b.execute_command("CLIENT", "TRACKING", "ON", "BCAST", "PREFIX", "p:", "PREFIX", "q:")
            seen.append(info_tracking(a))
            flags = sorted(c["flags"] for c in a.client_list() if c["flags"] != "N")
            seen.append(flags)
            b.set("k2", 1)  # forgets k2
            seen.append(info_tracking(a))
            a.execute_command("CLIENT", "TRACKING", "OFF")
            b.execute_command("CLIENT", "TRACKING", "OFF")
            seen.append(info_tracking(a))
            a.close()
            b.close()
            return seen
        self.each(scenario)

    def test_expired_keys_invalidate(self):
        def scenario(port):
            r = redis.Redis(host=HOST, port=port, decode_responses=True)
            t = socket.create_connection((HOST, port))
            t.sendall(encode_command("HELLO", "3") + encode_command("CLIENT", "TRACKING", "ON") +
                      encode_command("GET", "e1"))
            r.set("e1", "v", px=50)
            time.sleep(0.1)
            t.sendall(encode_command("GET", "e1"))
            deadline = time.monotonic() + 10
            data = b""
            while b"invalidate" not in data and time.monotonic() < deadline:
                ready, _, _ = select.select([t], [], [], 0.5)
                if ready:
                    data += t.recv(65536)
            # The active expiry cycle (or the lazy one) tells the tracker.
            found = b">2\r\n$10\r\ninvalidate\r\n*1\r\n$2\r\ne1\r\n" in data
            t.close()
            r.close()
            return found
        self.assertTrue(self.each(scenario))

    def test_table_max_keys_trims(self):
        def scenario(port):
            r = redis.Redis(host=HOST, port=port, decode_responses=True)
            r.flushall()  # the table starts empty (FLUSHALL forgets every tracked key)
            cache = ClientSideCache(port)
            try:
                for i in range(30):
                    r.set("m%d" % i, i)
                    cache.get("m%d" % i)
                before = r.info()["tracking_total_keys"]
                r.config_set("tracking-table-max-keys", 5)
                r.ping()  # the table is trimmed before (Redis) or after (lfdb) a command
                deadline = time.monotonic() + 10
                while cache.invalidations < 25 and time.monotonic() < deadline:
                    cache.poll(timeout=0.2)
                after = r.info()["tracking_total_keys"]
                r.config_set("tracking-table-max-keys", 1000000)
                return before, cache.invalidations, after, len(cache.cache)
            finally:
                cache.close()
                r.close()
        self.assertEqual(self.each(scenario), (30, 25, 5, 5))

    def test_redis_py_client_side_cache(self):
        def scenario(port):
            w = redis.Redis(host=HOST, port=port, decode_responses=True)
            w.flushall()
            cache = ClientSideCache(port)
            try:
                w.set("user:1", "ann")
                w.set("user:2", "bob")
                seen = [cache.get("user:1"), cache.get("user:2"), cache.get("user:1")]
                w.set("user:1", "amy")  # another client's write
                deadline = time.monotonic() + 10
                while "user:1" in cache.cache and time.monotonic() < deadline:
                    cache.poll(timeout=0.2)
                seen.append(sorted(cache.cache))
                seen.append(cache.get("user:1"))
                w.flushall()
                deadline = time.monotonic() + 10
                while cache.cache and time.monotonic() < deadline:
                    cache.poll(timeout=0.2)
                seen.append(sorted(cache.cache))
                seen.append(cache.get("user:2"))
                return seen
            finally:
                cache.close()
                w.close()
        self.assertEqual(self.each(scenario),
                         ["ann", "bob", "ann", ["user:2"], "amy", [], None])


class RedisWithDirectives(RedisPeer):
    def command(self, port):
        out = self.redis_command(port)
        for name, value in self.extra:
            out += ["--" + name] + str(value).split(" ")
        return out


def wait_for_replica(port):
    r = redis.Redis(host=HOST, port=port, decode_responses=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        info = r.info("replication")
        if info.get("connected_slaves") == 1 and "online" in str(info.get("slave0", "")):
            r.close()
            return
        time.sleep(0.05)
    raise AssertionError("the replica did not connect: %r" % info)


def wait_scenario(primary_port, replica_port):
    """WAIT as an application uses it, with no replica and with one; what both servers say."""
    seen = []
    r = redis.Redis(host=HOST, port=primary_port, decode_responses=True)
    for args in (["WAIT", "x", "0"], ["WAIT", "1", "-1"], ["WAIT", "1", "x"], ["WAIT", "1"]):
        try:
            seen.append(r.execute_command(*args))
        except redis.ResponseError as e:
            seen.append("error: %s" % e)
    seen.append(r.execute_command("WAIT", "0", "0"))
    if replica_port is None:
        r.set("k", "v")
        start = time.monotonic()
        seen.append(r.execute_command("WAIT", "1", "200"))  # no replica: waits out its timeout
        seen.append(time.monotonic() - start >= 0.15)
        r.close()
        return seen
    rep = redis.Redis(host=HOST, port=replica_port, decode_responses=True)
    for i in range(20):
        r.set("k%d" % i, i)
        seen.append(r.execute_command("WAIT", "1", "0"))  # forever: until the replica acks
        seen.append(rep.get("k%d" % i))
    r.incr("n")
    # The replica's ack first (WAIT 1 0 waits for it however long it takes), so what the
    # timeout answers below is the replica count, never a race between its ack and 300 ms.
    seen.append(r.execute_command("WAIT", "1", "0"))
    start = time.monotonic()
    seen.append(r.execute_command("WAIT", "2", "300"))  # only one replica: the timeout answers
    seen.append(time.monotonic() - start >= 0.25)
    p = r.pipeline(transaction=True)
    p.set("m", 1)
    p.execute_command("WAIT", "5", "0")  # cannot block inside MULTI
    got = p.execute()
    seen.append([got[0], isinstance(got[1], int)])
    try:
        rep.execute_command("WAIT", "0", "0")
        seen.append("no error on the replica")
    except redis.ResponseError as e:
        seen.append("replica: %s" % e)
    rep.close()
    r.close()
    return seen


@unittest.skipUnless(is_lfdb(), "compares lfdb-server with redis-server")
class WaitSideBySide(unittest.TestCase):
    def pair(self, make, primary_extra):
        primary = make(primary_extra).start()
        replica = make([("replicaof", "%s %d" % (HOST, primary.port))]).start()
        return primary, replica

    def test_wait_without_replicas(self):
        peer = RedisPeer().start()
        lfdb = ServerProcess([("appendonly", "yes")]).start()
        try:
            self.assertEqual(wait_scenario(lfdb.port, None), wait_scenario(peer.port, None))
        finally:
            peer.stop()
            lfdb.stop()

    def test_wait_with_one_replica(self):
        results = []
        for make, extra in ((RedisWithDirectives, []), (ServerProcess, [("appendonly", "yes")])):
            primary, replica = self.pair(make, extra)
            try:
                wait_for_replica(primary.port)
                results.append(wait_scenario(primary.port, replica.port))
            finally:
                replica.stop()
                primary.stop()
        want, got = results
        self.assertEqual(got, want)


if __name__ == "__main__":
    unittest.main()
