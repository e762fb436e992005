"""Keyspace commands: DEL UNLINK EXISTS TYPE RENAME RENAMENX KEYS SCAN RANDOMKEY TOUCH, the EXPIRE
family with NX/XX/GT/LT, TTL PTTL EXPIRETIME PEXPIRETIME PERSIST, OBJECT ENCODING, and expiry
actually happening (lazily on access, and actively in the background)."""

import re
import time
import unittest

from lfdb_testlib import RespError, ServerTestCase

WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"
NX_XX = "ERR NX and XX, GT or LT options at the same time are not compatible"
GT_LT = "ERR GT and LT options at the same time are not compatible"


class BasicKeysTest(ServerTestCase):
    def test_del(self):
        self.r.mset({"a": 1, "b": 2, "c": 3})
        self.assertEqual(self.call("DEL", "a", "b", "missing"), 2)
        self.assertEqual(self.call("DEL", "a"), 0)
        self.assertEqual(self.call("DEL", "c", "c"), 1)
        self.assertEqual(self.call("DBSIZE"), 0)

    def test_del_any_type(self):
        self.r.set("s", "v")
        self.r.hset("h", "f", "v")
        self.assertEqual(self.call("DEL", "s", "h"), 2)

    def test_unlink(self):
        self.r.mset({"a": 1, "b": 2})
        self.assertEqual(self.call("UNLINK", "a", "a", "b", "missing"), 2)
        self.assertEqual(self.call("EXISTS", "a", "b"), 0)

    def test_exists_counts_duplicates(self):
        self.r.set("a", "1")
        self.assertEqual(self.call("EXISTS", "a"), 1)
        self.assertEqual(self.call("EXISTS", "a", "a", "a", "missing"), 3)
        self.assertEqual(self.call("EXISTS", "missing"), 0)

    def test_type(self):
        self.r.set("s", "v")
        self.r.set("n", "12")
        self.r.hset("h", "f", "v")
        self.assertEqual(self.raw_command("TYPE", "s"), b"+string\r\n")
        self.assertEqual(self.raw_command("TYPE", "n"), b"+string\r\n")
        self.assertEqual(self.raw_command("TYPE", "h"), b"+hash\r\n")
        self.assertEqual(self.raw_command("TYPE", "missing"), b"+none\r\n")

    def test_touch(self):
        self.r.mset({"a": 1, "b": 2})
        self.assertEqual(self.call("TOUCH", "a", "b", "missing"), 2)
        self.assertEqual(self.call("TOUCH", "a", "a"), 2)

    def test_randomkey(self):
        self.assertIsNone(self.call("RANDOMKEY"))
        keys = {"k%d" % i for i in range(20)}
        for k in keys:
            self.r.set(k, "v")
        seen = set()
        for _ in range(50):
            k = self.call("RANDOMKEY").decode()
            self.assertIn(k, keys)
            seen.add(k)
        self.assertGreater(len(seen), 1)

    def test_arity(self):
        for cmd in ("DEL", "UNLINK", "EXISTS", "TYPE", "TOUCH", "KEYS", "TTL", "PERSIST"):
            self.assertErrorReply("ERR wrong number of arguments for '%s' command" % cmd.lower(), cmd)
        self.assertErrorReply("ERR wrong number of arguments for 'keys' command", "KEYS", "a", "b")
        self.assertErrorReply("ERR wrong number of arguments for 'rename' command", "RENAME", "a")
        self.assertErrorReply("ERR wrong number of arguments for 'expire' command", "EXPIRE", "a")
        self.assertErrorReply("ERR wrong number of arguments for 'randomkey' command", "RANDOMKEY", "x")


class RenameTest(ServerTestCase):
    def test_rename(self):
        self.r.set("a", "1")
        self.assertEqual(self.call("RENAME", "a", "b"), b"OK")
        self.assertIsNone(self.r.get("a"))
        self.assertEqual(self.r.get("b"), "1")

    def test_rename_overwrites_any_type(self):
        self.r.set("a", "1")
        self.r.hset("h", "f", "v")
        self.assertEqual(self.call("RENAME", "h", "a"), b"OK")
        self.assertEqual(self.r.type("a"), "hash")
        self.assertEqual(self.r.hgetall("a"), {"f": "v"})
        self.assertEqual(self.call("EXISTS", "h"), 0)

    def test_rename_missing(self):
        self.assertErrorReply("ERR no such key", "RENAME", "missing", "x")
        self.assertErrorReply("ERR no such key", "RENAMENX", "missing", "x")

    def test_rename_to_itself(self):
        self.r.set("a", "1")
        self.assertEqual(self.call("RENAME", "a", "a"), b"OK")
        self.assertEqual(self.r.get("a"), "1")
        self.assertEqual(self.call("RENAMENX", "a", "a"), 0)

    def test_rename_keeps_ttl(self):
        self.r.set("t", "v", ex=100)
        self.r.set("u", "v", ex=1000)
        self.call("RENAME", "t", "t2")
        self.assertIn(self.r.ttl("t2"), (99, 100))
        # the destination's own TTL is replaced
        self.r.set("plain", "v")
        self.call("RENAME", "plain", "u")
        self.assertEqual(self.r.ttl("u"), -1)

    def test_renamenx(self):
        self.r.mset({"a": "1", "b": "2"})
        self.assertEqual(self.call("RENAMENX", "a", "b"), 0)
        self.assertEqual(self.r.mget("a", "b"), ["1", "2"])
        self.assertEqual(self.call("RENAMENX", "a", "c"), 1)
        self.assertEqual(self.r.mget("a", "c"), [None, "1"])


class KeysPatternTest(ServerTestCase):
    KEYS = ["hello", "hallo", "hxllo", "hllo", "heeeello", "hbllo", "hcllo", "hdllo",
            "h*llo", "h?llo", "h[llo", "h\\llo", "foo", "foo:1", "foo:2", "bar"]

    def setUp(self):
        super().setUp()
        self.r.mset({k: "v" for k in self.KEYS})

    def keys(self, pattern):
        return sorted(k.decode() for k in self.call("KEYS", pattern))

    def test_star(self):
        self.assertEqual(self.keys("*"), sorted(self.KEYS))

    def test_more_than_a_thousand_stars_never_match(self):
        # Redis's guard against abusive patterns: no match past 1000 nested `*`, quickly.
        self.call("SET", "a" * 3000, "1")
        self.assertEqual(self.call("KEYS", "*?" * 1001), [])
        self.assertEqual(self.call("KEYS", "*?" * 1000 + "*"), [b"a" * 3000])
        self.assertEqual(self.call("KEYS", "*?" * 3000), [])
        self.assertEqual(self.keys("foo*"), ["foo", "foo:1", "foo:2"])
        self.assertEqual(self.keys("h*llo"), sorted(k for k in self.KEYS if k.startswith("h")
                                                  and k.endswith("llo")))
        self.assertEqual(self.keys("*:*"), ["foo:1", "foo:2"])

    def test_question_mark(self):
        self.assertEqual(self.keys("h?llo"), sorted(k for k in self.KEYS
                                                  if len(k) == 5 and k[0] == "h" and k[2:] == "llo"))
        self.assertEqual(self.keys("foo:?"), ["foo:1", "foo:2"])
        self.assertEqual(self.keys("???"), ["bar", "foo"])

    def test_brackets(self):
        self.assertEqual(self.keys("h[ae]llo"), ["hallo", "hello"])
        self.assertEqual(self.keys("h[a-c]llo"), ["hallo", "hbllo", "hcllo"])
        self.assertEqual(self.keys("h[^e]llo"), sorted(k for k in self.KEYS
                                                     if len(k) == 5 and k[0] == "h"
                                                     and k[2:] == "llo" and k[1] != "e"))
        self.assertEqual(self.keys("foo:[12]"), ["foo:1", "foo:2"])
        self.assertEqual(self.keys("foo:[^1]"), ["foo:2"])

    def test_escaping(self):
        self.assertEqual(self.keys("h\\*llo"), ["h*llo"])
        self.assertEqual(self.keys("h\\?llo"), ["h?llo"])
        self.assertEqual(self.keys("h\\[llo"), ["h[llo"])
        self.assertEqual(self.keys("h\\\\llo"), ["h\\llo"])

    def test_no_match(self):
        self.assertEqual(self.call("KEYS", "nothing*"), [])
        self.assertEqual(self.call("KEYS", "hell"), [])
        self.assertEqual(self.keys("hello"), ["hello"])

    def test_many_stars_answer_at_once(self):
        # Thirty `*a` then `b` over a key of sixty `a`s: a matcher that tries every split at
        # every star never returns, and its thread (and SIGTERM) is lost with it.
        self.r.set("a" * 60, "v")
        self.assertEqual(self.call("KEYS", "*a" * 30 + "b"), [])
        self.assertEqual(self.keys("*a" * 30), ["a" * 60])
        self.assertEqual(self.r.ping(), True)

    def test_keys_skips_expired(self):
        self.r.set("foo:3", "v", px=1)
        time.sleep(0.05)
        self.assertEqual(self.keys("foo:*"), ["foo:1", "foo:2"])


class ScanTest(ServerTestCase):
    def scan_all(self, *opts, cmd=("SCAN",)):
        cursor = b"0"
        seen = []
        rounds = 0
        while True:
            reply = self.call(*cmd, cursor, *opts)
            self.assertEqual(len(reply), 2)
            cursor, batch = reply
            seen.extend(k.decode() for k in batch)
            rounds += 1
            self.assertLess(rounds, 100000)
            if cursor == b"0":
                return seen

    def test_scan_returns_every_key(self):
        keys = {"key:%d" % i for i in range(1000)}
        p = self.r.pipeline(transaction=False)
        for k in keys:
            p.set(k, "v")
        p.execute()
        seen = self.scan_all()
        self.assertEqual(set(seen), keys)  # every key at least once (duplicates allowed)

    def test_scan_empty(self):
        self.assertEqual(self.call("SCAN", "0"), [b"0", []])

    def test_scan_match(self):
        for i in range(300):
            self.r.set("a:%d" % i, "v")
            self.r.set("b:%d" % i, "v")
        seen = self.scan_all("MATCH", "a:*")
        self.assertEqual(set(seen), {"a:%d" % i for i in range(300)})
        seen = self.scan_all("MATCH", "b:1?", "COUNT", "7")
        self.assertEqual(set(seen), {"b:1%d" % i for i in range(10)})

    def test_scan_count(self):
        for i in range(500):
            self.r.set("k%d" % i, "v")
        seen = self.scan_all("COUNT", "1")
        self.assertEqual(set(seen), {"k%d" % i for i in range(500)})
        seen = self.scan_all("COUNT", "1000")
        self.assertEqual(set(seen), {"k%d" % i for i in range(500)})

    def test_scan_type(self):
        for i in range(100):
            self.r.set("s%d" % i, "v")
            self.r.hset("h%d" % i, "f", "v")
        self.assertEqual(set(self.scan_all("TYPE", "string")), {"s%d" % i for i in range(100)})
        self.assertEqual(set(self.scan_all("TYPE", "hash")), {"h%d" % i for i in range(100)})
        self.assertEqual(self.scan_all("TYPE", "list"), [])
        self.assertEqual(set(self.scan_all("MATCH", "*1*", "TYPE", "hash", "COUNT", "20")),
                         {"h%d" % i for i in range(100) if "1" in str(i)})

    def test_scan_with_concurrent_writes(self):
        # keys present for the whole scan are returned even while others are added and removed
        stable = {"stable:%d" % i for i in range(300)}
        for k in stable:
            self.r.set(k, "v")
        writer = self.client()
        cursor, seen, i = b"0", set(), 0
        while True:
            cursor, batch = self.call("SCAN", cursor, "COUNT", "10")
            seen.update(k.decode() for k in batch)
            writer.set("tmp:%d" % i, "v")
            if i >= 5:
                writer.delete("tmp:%d" % (i - 5))
            i += 1
            if cursor == b"0":
                break
        self.assertTrue(stable <= seen)

    def test_scan_errors(self):
        self.assertErrorReply("ERR invalid cursor", "SCAN", "abc")
        self.assertErrorReply("ERR syntax error", "SCAN", "0", "COUNT", "0")
        self.assertErrorReply("ERR syntax error", "SCAN", "0", "FOO")
        self.assertErrorReply("ERR syntax error", "SCAN", "0", "MATCH")
        self.assertErrorReply("ERR value is not an integer or out of range", "SCAN", "0", "COUNT", "x")


class ExpireTest(ServerTestCase):
    def test_expire_ttl(self):
        self.r.set("k", "v")
        self.assertEqual(self.call("EXPIRE", "k", "100"), 1)
        self.assertIn(self.call("TTL", "k"), (99, 100))
        self.assertTrue(99000 <= self.call("PTTL", "k") <= 100000)
        self.assertEqual(self.call("PEXPIRE", "k", "50000"), 1)
        self.assertTrue(49000 <= self.call("PTTL", "k") <= 50000)
        self.assertIn(self.call("TTL", "k"), (49, 50))

    def test_ttl_missing_and_persistent(self):
        self.assertEqual(self.call("TTL", "missing"), -2)
        self.assertEqual(self.call("PTTL", "missing"), -2)
        self.assertEqual(self.call("EXPIRETIME", "missing"), -2)
        self.assertEqual(self.call("PEXPIRETIME", "missing"), -2)
        self.r.set("k", "v")
        self.assertEqual(self.call("TTL", "k"), -1)
        self.assertEqual(self.call("PTTL", "k"), -1)
        self.assertEqual(self.call("EXPIRETIME", "k"), -1)
        self.assertEqual(self.call("PEXPIRETIME", "k"), -1)

    def test_expire_missing_key(self):
        for cmd in ("EXPIRE", "PEXPIRE", "EXPIREAT", "PEXPIREAT"):
            self.assertEqual(self.call(cmd, "missing", "100"), 0)
        self.assertEqual(self.call("EXISTS", "missing"), 0)

    def test_expireat_expiretime(self):
        self.r.set("k", "v")
        at = int(time.time()) + 1000
        self.assertEqual(self.call("EXPIREAT", "k", str(at)), 1)
        self.assertEqual(self.call("EXPIRETIME", "k"), at)
        self.assertEqual(self.call("PEXPIRETIME", "k"), at * 1000)
        self.assertEqual(self.call("PEXPIREAT", "k", str(at * 1000 + 123)), 1)
        self.assertEqual(self.call("PEXPIRETIME", "k"), at * 1000 + 123)
        self.assertEqual(self.call("EXPIRETIME", "k"), at)  # rounded
        self.assertEqual(self.call("EXPIREAT", "k", "99999999999"), 1)
        self.assertEqual(self.call("EXPIRETIME", "k"), 99999999999)

    def test_non_positive_expire_deletes(self):
        for cmd, val in (("EXPIRE", "0"), ("EXPIRE", "-5"), ("PEXPIRE", "0"), ("EXPIREAT", "1"),
                         ("PEXPIREAT", "1000")):
            self.r.set("k", "v")
            self.assertEqual(self.call(cmd, "k", val), 1, cmd)
            self.assertEqual(self.call("EXISTS", "k"), 0, cmd)

    def test_persist(self):
        self.r.set("k", "v")
        self.assertEqual(self.call("PERSIST", "k"), 0)
        self.r.expire("k", 100)
        self.assertEqual(self.call("PERSIST", "k"), 1)
        self.assertEqual(self.call("TTL", "k"), -1)
        self.assertEqual(self.call("PERSIST", "k"), 0)
        self.assertEqual(self.call("PERSIST", "missing"), 0)

    def test_overwrite_clears_ttl_but_modify_keeps_it(self):
        self.r.set("k", "v", ex=100)
        self.r.append("k", "x")
        self.assertIn(self.r.ttl("k"), (99, 100))
        self.r.set("k", "v")
        self.assertEqual(self.r.ttl("k"), -1)
        self.r.hset("h", "f", "v")
        self.r.expire("h", 100)
        self.r.hset("h", "g", "v")
        self.assertIn(self.r.ttl("h"), (99, 100))

    def test_nx_xx(self):
        self.r.set("k", "v")
        self.assertEqual(self.call("EXPIRE", "k", "100", "XX"), 0)
        self.assertEqual(self.call("TTL", "k"), -1)
        self.assertEqual(self.call("EXPIRE", "k", "100", "NX"), 1)
        self.assertEqual(self.call("EXPIRE", "k", "200", "NX"), 0)
        self.assertIn(self.call("TTL", "k"), (99, 100))
        self.assertEqual(self.call("EXPIRE", "k", "300", "XX"), 1)
        self.assertIn(self.call("TTL", "k"), (299, 300))

    def test_gt_lt(self):
        self.r.set("k", "v")
        # no TTL counts as infinite: GT never applies, LT always does
        self.assertEqual(self.call("EXPIRE", "k", "100", "GT"), 0)
        self.assertEqual(self.call("TTL", "k"), -1)
        self.assertEqual(self.call("EXPIRE", "k", "100", "LT"), 1)
        self.assertIn(self.call("TTL", "k"), (99, 100))
        self.assertEqual(self.call("EXPIRE", "k", "50", "GT"), 0)
        self.assertEqual(self.call("EXPIRE", "k", "200", "GT"), 1)
        self.assertIn(self.call("TTL", "k"), (199, 200))
        self.assertEqual(self.call("EXPIRE", "k", "300", "LT"), 0)
        self.assertEqual(self.call("EXPIRE", "k", "150", "LT"), 1)
        self.assertIn(self.call("TTL", "k"), (149, 150))
        self.assertEqual(self.call("EXPIRE", "k", "140", "XX", "GT"), 0)
        self.assertEqual(self.call("EXPIRE", "k", "500", "XX", "GT"), 1)

    def test_options_on_other_variants(self):
        self.r.set("k", "v")
        now = int(time.time())
        self.assertEqual(self.call("PEXPIRE", "k", "100000", "NX"), 1)
        self.assertEqual(self.call("PEXPIRE", "k", "200000", "LT"), 0)
        self.assertEqual(self.call("EXPIREAT", "k", str(now + 1000), "GT"), 1)
        self.assertEqual(self.call("EXPIRETIME", "k"), now + 1000)
        self.assertEqual(self.call("PEXPIREAT", "k", str((now + 500) * 1000), "LT"), 1)
        self.assertEqual(self.call("EXPIRETIME", "k"), now + 500)
        self.assertEqual(self.call("PEXPIREAT", "k", str((now + 600) * 1000), "NX"), 0)

    def test_incompatible_options(self):
        self.r.set("k", "v")
        for cmd in ("EXPIRE", "PEXPIRE", "EXPIREAT", "PEXPIREAT"):
            self.assertErrorReply(NX_XX, cmd, "k", "100", "NX", "XX")
            self.assertErrorReply(NX_XX, cmd, "k", "100", "NX", "GT")
            self.assertErrorReply(NX_XX, cmd, "k", "100", "LT", "NX")
            self.assertErrorReply(GT_LT, cmd, "k", "100", "GT", "LT")
        self.assertErrorReply("ERR Unsupported option FOO", "EXPIRE", "k", "100", "FOO")
        self.assertErrorReply("ERR value is not an integer or out of range", "EXPIRE", "k", "abc")
        self.assertEqual(self.call("TTL", "k"), -1)

    def test_expire_overflow(self):
        self.r.set("k", "v")
        self.assertErrorReply("ERR invalid expire time in 'expire' command",
                              "EXPIRE", "k", "9999999999999999")
        self.assertErrorReply("ERR invalid expire time in 'pexpire' command",
                              "PEXPIRE", "k", "9223372036854775807")
        self.assertEqual(self.call("TTL", "k"), -1)


class ObjectEncodingTest(ServerTestCase):
    def test_string_encodings(self):
        cases = [("123", b"int"), ("-5", b"int"), ("0", b"int"),
                 ("hello", b"embstr"), ("x" * 44, b"embstr"), ("x" * 45, b"raw"),
                 ("12345678901234567890", b"embstr"), ("1.5", b"embstr"), ("x" * 1000, b"raw")]
        for value, enc in cases:
            self.r.set("k", value)
            self.assertEqual(self.call("OBJECT", "ENCODING", "k"), enc, value)

    def test_append_makes_raw(self):
        self.r.set("k", "hello")
        self.r.append("k", "x")
        self.assertEqual(self.call("OBJECT", "ENCODING", "k"), b"raw")

    def test_each_string_write_leaves_the_encoding_redis_does(self):
        # The encoding a string was made with stays: INCRBYFLOAT's text is never an "int" (not
        # even "11"), a counter is, a value changed in place is "raw"; COPY and RENAME keep it.
        steps = [
            (("SET", "k", "10"), ("INCRBYFLOAT", "k", "1.5"), b"embstr"),
            (("SET", "k", "10"), ("INCRBYFLOAT", "k", "1"), b"embstr"),
            (("DEL", "k"), ("INCRBYFLOAT", "k", "3"), b"embstr"),
            (("SET", "k", "1"), ("INCRBYFLOAT", "k", "1e60"), b"raw"),
            (("INCRBYFLOAT", "k", "1"), ("INCR", "k"), b"int"),
            (("SET", "k", "x"), ("SET", "k", "10"), b"int"),
            (("SET", "k", "10"), ("DECRBY", "k", "3"), b"int"),
            (("DEL", "k"), ("APPEND", "k", "12"), b"int"),
            (("SET", "k", "12"), ("APPEND", "k", "3"), b"raw"),
            (("DEL", "k"), ("SETRANGE", "k", "0", "12"), b"raw"),
            (("SET", "k", "12"), ("SETRANGE", "k", "0", ""), b"int"),
            (("SET", "k", "12"), ("SETBIT", "k", "0", "0"), b"raw"),
            (("SET", "k", "12"), ("BITFIELD", "k", "GET", "u8", "0"), b"int"),
            (("SET", "k", "12"), ("BITFIELD", "k", "OVERFLOW", "FAIL", "INCRBY", "u2", "0", "10"), b"raw"),
            (("INCRBYFLOAT", "k", "1"), ("GETSET", "k", "5"), b"int"),
            (("INCRBYFLOAT", "k", "1"), ("GETEX", "k", "PERSIST"), b"embstr"),
        ]
        for before, write, enc in steps:
            self.call("DEL", "k")
            self.call(*before)
            self.call(*write)
            self.assertEqual(self.call("OBJECT", "ENCODING", "k"), enc, (before, write))
        self.call("SET", "k", "10")
        self.call("INCRBYFLOAT", "k", "1")
        self.call("COPY", "k", "copied")
        self.call("RENAME", "k", "renamed")
        self.assertEqual(self.call("OBJECT", "ENCODING", "copied"), b"embstr")
        self.assertEqual(self.call("OBJECT", "ENCODING", "renamed"), b"embstr")
        # A short HLL stored by SET is "embstr"; a command that may change it (PFADD, PFCOUNT of
        # one key, PFMERGE's destination, PFDEBUG) makes it "raw", a read of many keys does not.
        self.call("PFADD", "hll")
        value = self.call("GET", "hll")
        for cmd, enc in ((("PFCOUNT", "k", "k"), b"embstr"), (("PFADD", "k"), b"raw"), (("PFCOUNT", "k"), b"raw"),
                         (("PFMERGE", "k", "hll"), b"raw"), (("PFDEBUG", "ENCODING", "k"), b"raw")):
            self.call("SET", "k", value)
            self.assertEqual(self.call("OBJECT", "ENCODING", "k"), b"embstr")
            self.call(*cmd)
            self.assertEqual(self.call("OBJECT", "ENCODING", "k"), enc, cmd)

    def test_hash_encodings(self):
        self.r.hset("small", mapping={"f%d" % i: "v" for i in range(10)})
        self.assertEqual(self.call("OBJECT", "ENCODING", "small"), b"listpack")
        self.r.hset("many", mapping={"f%d" % i: "v" for i in range(600)})
        self.assertEqual(self.call("OBJECT", "ENCODING", "many"), b"hashtable")
        self.r.hset("longval", "f", "x" * 65)
        self.assertEqual(self.call("OBJECT", "ENCODING", "longval"), b"hashtable")
        self.r.hset("grow", mapping={"f%d" % i: "v" for i in range(512)})
        self.assertEqual(self.call("OBJECT", "ENCODING", "grow"), b"listpack")
        self.r.hset("grow", "one-more", "v")
        self.assertEqual(self.call("OBJECT", "ENCODING", "grow"), b"hashtable")

    def test_missing_and_errors(self):
        self.assertIsNone(self.call("OBJECT", "ENCODING", "missing"))
        self.assertErrorReply("ERR unknown subcommand 'foo'. Try OBJECT HELP.", "OBJECT", "foo", "k")
        self.assertErrorReply("ERR wrong number of arguments for 'object|encoding' command",
                              "OBJECT", "ENCODING")


class ExpiryHappensTest(ServerTestCase):
    def keyspace(self):
        info = self.call("INFO", "keyspace").decode()
        m = re.search(r"^db0:keys=(\d+),expires=(\d+),", info, re.M)
        return (int(m.group(1)), int(m.group(2))) if m else (0, 0)

    def test_lazy_expiry(self):
        self.assertEqual(self.call("SET", "k", "v", "PX", "50"), b"OK")
        self.r.hset("h", "f", "v")
        self.call("PEXPIRE", "h", "50")
        time.sleep(0.1)
        self.assertIsNone(self.call("GET", "k"))
        self.assertEqual(self.call("EXISTS", "k"), 0)
        self.assertEqual(self.call("TTL", "k"), -2)
        self.assertEqual(self.call("HGETALL", "h"), [])
        self.assertEqual(self.call("TYPE", "h"), b"none")

    def test_expired_key_is_not_visible_to_any_command(self):
        self.r.set("k", "10", px=50)
        time.sleep(0.1)
        self.assertEqual(self.call("INCR", "k"), 1)
        self.assertEqual(self.call("TTL", "k"), -1)
        self.r.set("a", "v", px=50)
        time.sleep(0.1)
        self.assertErrorReply("ERR no such key", "RENAME", "a", "b")
        self.assertEqual(self.call("SETNX", "a", "new"), 1)

    def test_active_expiry(self):
        # 1000 volatile keys that nobody touches after setting them disappear on their own
        # A second to live: the count right after the pipeline must see them all, and under
        # appendfsync always on a loaded machine 1,010 writes have taken more than 100 ms.
        p = self.r.pipeline(transaction=False)
        for i in range(1000):
            p.set("vol:%d" % i, "v", px=1000)
        for i in range(10):
            p.set("keep:%d" % i, "v")
        p.execute()
        self.assertEqual(self.keyspace(), (1010, 1000))
        # The cycle runs ten times a second; a sanitizer build on a busy machine needs several
        # seconds for the thousand, so wait for it (liveness) rather than a fixed time.
        deadline = time.monotonic() + 20
        while self.call("DBSIZE") != 10 and time.monotonic() < deadline:
            time.sleep(0.1)
        self.assertEqual(self.call("DBSIZE"), 10)
        self.assertEqual(self.keyspace(), (10, 0))

    def wait_keys(self, n, deadline_s=10.0):
        # Active expiry is what removes them (nothing reads them); the deadline only bounds a hang.
        end = time.time() + deadline_s
        while self.keyspace()[0] != n and time.time() < end:
            time.sleep(0.05)
        return self.keyspace()

    def test_active_expiry_resumes(self):
        # The cycle skips its walk while no key anywhere has a deadline; it must take it up again
        # whenever one gets one again, however the deadline came.
        for _ in range(2):  # the count of volatile partitions falls to 0, then rises again
            p = self.r.pipeline(transaction=False)
            for i in range(300):
                p.set("vol:%d" % i, "v", px=100)
            p.execute()
            self.assertEqual(self.wait_keys(0), (0, 0))
        self.r.set("k", "v", px=100000)
        self.call("PERSIST", "k")  # back to no deadline at all
        self.call("PEXPIRE", "k", "100")
        self.assertEqual(self.wait_keys(0), (0, 0))
        # Volatile keys that arrive in db0 by SWAPDB, and from a FLUSHALL'd state.
        self.r.set("s", "v", px=100)
        self.call("FLUSHALL")
        # One round trip, and a deadline long enough that none expires before the swap is
        # counted on a loaded machine (50 round trips of PX 200 once lost 22 keys there).
        p = self.r.pipeline(transaction=False)
        p.execute_command("SELECT", "1")
        for i in range(50):
            p.execute_command("SET", "sw:%d" % i, "v", "PX", "1500")
        p.execute_command("SELECT", "0")
        p.execute_command("SWAPDB", "0", "1")
        p.execute()
        self.assertEqual(self.keyspace()[1], 50)
        self.assertEqual(self.wait_keys(0), (0, 0))


if __name__ == "__main__":
    unittest.main()
