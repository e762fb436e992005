"""The stock redis tools against the server: redis-cli (scripted sessions, --no-raw, --pipe,
--scan, -x, -r, -3) and redis-benchmark (plain and pipelined)."""

import re
import shutil
import subprocess
import unittest

from lfdb_testlib import ServerTestCase

CLI = shutil.which("redis-cli")
BENCH = shutil.which("redis-benchmark")


@unittest.skipUnless(CLI, "redis-cli not installed")
class RedisCliTest(ServerTestCase):
    def run_cli(self, *args, stdin=None):
        return subprocess.run([CLI, "-h", "127.0.0.1", "-p", str(self.port)] + list(args),
                              input=stdin, capture_output=True, timeout=30)

    def cli(self, *args, stdin=None):
        p = self.run_cli(*args, stdin=stdin)
        self.assertEqual(p.returncode, 0, p.stderr)
        return p.stdout.decode()

    SESSION = ("SET a 1\n"
               "GET a\n"
               "INCR a\n"
               "APPEND a xyz\n"
               "GET a\n"
               "HSET h f v\n"
               "HGET h f\n"
               "HGETALL h\n"
               "GET nokey\n"
               "FOO bar\n"
               "MULTI\n"
               "SET b 2\n"
               "INCR b\n"
               "EXEC\n"
               "MGET a b nokey\n"
               "EXISTS a b h nokey\n"
               "TYPE h\n"
               "SET \"with space\" \"quoted value\"\n"
               "GET \"with space\"\n"
               "DEL a b h \"with space\"\n"
               "DBSIZE\n"
               "PING\n")

    def test_scripted_session_raw(self):
        # stdin is not a terminal: redis-cli prints raw replies, one per line
        out = self.cli(stdin=self.SESSION.encode())
        self.assertEqual(out, (
            "OK\n"
            "1\n"
            "2\n"
            "4\n"
            "2xyz\n"
            "1\n"
            "v\n"
            "f\nv\n"
            "\n"
            "ERR unknown command 'FOO', with args beginning with: 'bar' \n"
            "\n"      # redis-cli prints an empty line after an error in raw mode
            "OK\n"
            "QUEUED\n"
            "QUEUED\n"
            "OK\n3\n"
            "2xyz\n3\n\n"
            "3\n"
            "hash\n"
            "OK\n"
            "quoted value\n"
            "4\n"
            "0\n"
            "PONG\n"))

    def test_scripted_session_no_raw(self):
        out = self.cli("--no-raw", stdin=self.SESSION.encode())
        self.assertEqual(out, (
            "OK\n"
            "\"1\"\n"
            "(integer) 2\n"
            "(integer) 4\n"
            "\"2xyz\"\n"
            "(integer) 1\n"
            "\"v\"\n"
            "1) \"f\"\n2) \"v\"\n"
            "(nil)\n"
            "(error) ERR unknown command 'FOO', with args beginning with: 'bar' \n"
            "OK\n"
            "QUEUED\n"
            "QUEUED\n"
            "1) OK\n2) (integer) 3\n"
            "1) \"2xyz\"\n2) \"3\"\n3) (nil)\n"
            "(integer) 3\n"
            "hash\n"
            "OK\n"
            "\"quoted value\"\n"
            "(integer) 4\n"
            "(integer) 0\n"
            "PONG\n"))

    def test_no_raw_single_commands(self):
        self.assertEqual(self.cli("--no-raw", "GET", "nokey"), "(nil)\n")
        self.assertEqual(self.cli("--no-raw", "SET", "k", "a\nb"), "OK\n")
        self.assertEqual(self.cli("--no-raw", "GET", "k"), "\"a\\nb\"\n")
        self.assertEqual(self.cli("--no-raw", "INCR", "n"), "(integer) 1\n")
        self.assertEqual(self.cli("--no-raw", "KEYS", "nothing*"), "(empty array)\n")
        self.assertEqual(self.cli("--no-raw", "SCAN", "0", "MATCH", "nothing*"),
                         "1) \"0\"\n2) (empty array)\n")
        self.assertEqual(self.cli("--no-raw", "GET"),
                         "(error) ERR wrong number of arguments for 'get' command\n")
        self.assertEqual(self.cli("--no-raw", "HSET", "k", "f", "v"),
                         "(error) WRONGTYPE Operation against a key holding the wrong kind of value\n")
        self.assertEqual(self.cli("--no-raw", "INCRBYFLOAT", "f", "10.5"), "\"10.5\"\n")

    def test_no_raw_nested_arrays(self):
        out = self.cli("--no-raw", "COMMAND", "INFO", "get")
        lines = out.splitlines()
        self.assertEqual(lines[0], "1)  1) \"get\"")
        self.assertEqual(lines[1], "    2) (integer) 2")
        self.assertIn("readonly", out)

    def test_resp3_map(self):
        self.cli("HSET", "h", "f", "v")
        self.assertEqual(self.cli("-3", "--no-raw", "HGETALL", "h"), "1# \"f\" => \"v\"\n")
        self.assertEqual(self.cli("-3", "--no-raw", "GET", "nokey"), "(nil)\n")

    def test_pipe_mode(self):
        n = 10000
        data = b"".join(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n"
                        % (len(b"key:%d" % i), b"key:%d" % i, len(b"v%d" % i), b"v%d" % i)
                        for i in range(n))
        out = self.cli("--pipe", stdin=data)
        self.assertIn("All data transferred", out)
        self.assertIn("errors: 0, replies: %d" % n, out)
        self.assertEqual(self.r.dbsize(), n)
        self.assertEqual(self.r.get("key:9999"), "v9999")

    def test_pipe_mode_with_errors(self):
        data = (b"*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\nx\r\n"
                b"*2\r\n$4\r\nINCR\r\n$1\r\na\r\n"       # error reply
                b"*2\r\n$4\r\nINCR\r\n$1\r\nn\r\n")
        p = self.run_cli("--pipe", stdin=data)
        self.assertEqual(p.returncode, 1)
        self.assertIn(b"ERR value is not an integer or out of range", p.stderr)
        self.assertIn(b"errors: 1, replies: 3", p.stdout)
        self.assertEqual(self.r.get("n"), "1")

    def test_scan_pattern(self):
        for i in range(300):
            self.r.set("user:%d" % i, "x")
            self.r.set("other:%d" % i, "x")
        out = self.cli("--scan", "--pattern", "user:*")
        self.assertEqual(sorted(set(out.split())), sorted("user:%d" % i for i in range(300)))

    def test_stdin_argument_and_repeat(self):
        self.assertEqual(self.cli("-x", "SET", "bin", stdin=b"bin\x00ary\r\n"), "OK\n")
        self.assertEqual(self.rb.get(b"bin"), b"bin\x00ary\r\n")
        self.assertEqual(self.cli("-r", "3", "INCR", "rep"), "1\n2\n3\n")

    def test_info_and_dbsize(self):
        self.r.set("a", "1")
        self.assertEqual(self.cli("DBSIZE"), "1\n")
        out = self.cli("INFO", "keyspace")
        self.assertRegex(out, r"(?m)^db0:keys=1,expires=0,avg_ttl=\d+")


@unittest.skipUnless(BENCH, "redis-benchmark not installed")
class RedisBenchmarkTest(ServerTestCase):
    TESTS = ["SET", "GET", "INCR", "HSET", "MSET (10 keys)"]

    def bench(self, *extra, tests="set,get,incr,mset,hset", names=None, n=5000):
        cmd = [BENCH, "-h", "127.0.0.1", "-p", str(self.port), "-q", "-n", str(n), "-c", "20",
               "-t", tests] + list(extra)
        p = subprocess.run(cmd, capture_output=True, timeout=90)
        out = p.stdout.decode(errors="replace")
        err = p.stderr.decode(errors="replace")
        self.assertEqual(p.returncode, 0, out + err)
        # progress lines are overwritten with \r; keep what is left of each line
        lines = [l.strip() for l in re.split(r"[\r\n]", out + "\n" + err) if l.strip()]
        results = {}
        for line in lines:
            if "rps=" in line and "requests per second" not in line:
                continue  # progress report
            m = re.match(r"^(.+?): ([\d.]+) requests per second", line)
            self.assertIsNotNone(m, "unexpected output line: %r\n%s" % (line, out + err))
            results[m.group(1)] = float(m.group(2))
        self.assertEqual(sorted(results), sorted(names or self.TESTS))
        for name, rps in results.items():
            self.assertGreater(rps, 0, name)
        for word in ("ERR", "Error", "error", "WARN", "Could not"):
            self.assertNotIn(word, out + err)

    def check_state(self, pipeline=1):
        # redis-benchmark without -r uses the literal key names; with -P it may overshoot
        # -n by up to one pipeline per client
        count = int(self.r.get("counter:__rand_int__"))
        self.assertGreaterEqual(count, 5000)
        self.assertLessEqual(count, 5000 + 20 * (pipeline - 1))
        self.assertEqual(self.r.hlen("myhash"), 1)
        self.assertEqual(self.r.strlen("key:__rand_int__"), 3)  # default -d 3

    def test_benchmark(self):
        self.bench()
        self.check_state()

    def test_benchmark_containers(self):
        # Lists, sets and sorted sets (redis-benchmark's keys: mylist, myset, myzset): no errors.
        self.bench(tests="lpush,rpush,lpop,rpop,sadd,spop,zadd,zpopmin,lrange_100", n=20000,
                   names=["LPUSH", "RPUSH", "LPOP", "RPOP", "SADD", "SPOP", "ZADD", "ZPOPMIN",
                          "LPUSH (needed to benchmark LRANGE)", "LRANGE_100 (first 100 elements)"])
        self.assertEqual(self.r.type("mylist"), "list")
        self.assertGreaterEqual(self.r.llen("mylist"), 100)

    def test_benchmark_pipelined(self):
        self.bench("-P", "16")
        self.check_state(pipeline=16)


if __name__ == "__main__":
    unittest.main()
