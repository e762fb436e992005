"""Functions through lfdb-gateway: FUNCTION LOAD, DELETE, FLUSH and RESTORE reach every shard
(so FCALL finds its function wherever its keys live), FCALL and FCALL_RO go to the shard of
their keys (CROSSSLOT across shards), and LIST/DUMP read any shard. Against redis-server and
lfdb-server back-ends alike."""

import unittest

import redis

from gateway_testlib import GatewayTestCase, keys_for_shard
from lfdb_testlib import RespError

LIB = """#!lua name=gwlib
redis.register_function('put', function(keys, args) return redis.call('set', keys[1], args[1]) end)
redis.register_function{function_name='get', callback=function(keys) return redis.call('get', keys[1]) end, flags={'no-writes'}}
"""


def names(listing):
    return sorted(l[l.index("library_name") + 1] for l in listing)


class GatewayFunctions(GatewayTestCase):
    def setUp(self):
        super().setUp()
        for i in range(self.backends):
            self.direct(i).function_flush()

    def test_load_reaches_every_shard_and_fcall_follows_the_keys(self):
        c = self.client()
        self.assertEqual(c.function_load(LIB), "gwlib")
        for i in range(self.backends):
            self.assertEqual(names(self.direct(i).function_list()), ["gwlib"])
        with self.assertRaises(redis.ResponseError) as e:
            c.function_load(LIB)
        self.assertEqual(str(e.exception), "Library 'gwlib' already exists")
        for shard in range(self.backends):
            key = keys_for_shard(shard, self.backends, 1, prefix="fn")[0]
            self.assertEqual(c.fcall("put", 1, key, "v%d" % shard), "OK")
            self.assertEqual(c.fcall_ro("get", 1, key), "v%d" % shard)
            # The write landed on the key's shard, and only there.
            for i in range(self.backends):
                self.assertEqual(self.direct(i).get(key), "v%d" % shard if i == shard else None)
        a = keys_for_shard(0, self.backends, 1, prefix="x")[0]
        b = keys_for_shard(1, self.backends, 1, prefix="x")[0]
        with self.raw() as r:
            self.assertEqual(r.command("FCALL", "put", "2", a, b, "v"),
                             RespError("CROSSSLOT Keys in request don't hash to the same shard"))
            self.assertEqual(r.command("FCALL_RO", "put", "1", a, "v"),
                             RespError("ERR Can not execute a script with write flag using *_ro command."))

    def test_delete_flush_and_restore_reach_every_shard(self):
        c = self.client()
        c.function_load(LIB)
        payload = self.client(decode=False).function_dump()
        with self.raw() as r:
            self.assertEqual(r.command("FUNCTION", "DELETE", "gwlib"), b"OK")
        for i in range(self.backends):
            self.assertEqual(self.direct(i).function_list(), [])
        with self.assertRaises(redis.ResponseError) as e:
            c.function_delete("gwlib")
        self.assertEqual(str(e.exception), "Library not found")
        with self.raw() as r:
            self.assertEqual(r.command("FUNCTION", "RESTORE", payload), b"OK")
        for i in range(self.backends):
            self.assertEqual(names(self.direct(i).function_list()), ["gwlib"])
        key = keys_for_shard(1, self.backends, 1, prefix="r")[0]
        self.assertEqual(c.fcall("put", 1, key, "restored"), "OK")
        with self.raw() as r:
            self.assertEqual(r.command("FUNCTION", "FLUSH"), b"OK")
        for i in range(self.backends):
            self.assertEqual(self.direct(i).function_list(), [])
        with self.assertRaises(redis.ResponseError) as e:
            c.fcall("put", 1, key, "x")
        self.assertEqual(str(e.exception), "Function not found")


if __name__ == "__main__":
    unittest.main()
