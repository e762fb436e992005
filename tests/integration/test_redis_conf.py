"""A Redis 7.0 user's configuration starts lfdb-server, side by side with redis-server 7.0:
Debian's stock /etc/redis/redis.conf and the shape of Redis's own test harness's default.conf
(each with port, dir, pidfile, logfile, daemonize and supervised pointed at the test's temp
dir); CONFIG GET * lists the same names (lfdb's own parameters aside) with the same defaults;
CONFIG SET validates each type with Redis's errors and normalizes as Redis does; the parameters
lfdb makes take effect do (timeout, tcp-keepalive, tcp-backlog, pidfile, logfile,
oom-score-adj); and the switches of features lfdb does not have are refused, not swallowed.
Runs only against lfdb-server (it starts the redis peer itself)."""

import os
import re
import signal
import subprocess
import time
import unittest

from lfdb_testlib import (REDIS_SERVER, SERVER, SERVER_ARGS, HOST, RawConnection, RespError,
                          ServerProcess, free_port, is_lfdb)

DEBIAN_CONF = "/etc/redis/redis.conf"

# lfdb-server's own parameters, which redis-server does not have (docs/server.md).
LFDB_ONLY = {"backup-dir", "colors", "data", "events-per-turn", "handle-set", "lazy-promotion",
             "model", "threads"}
# Defaults that differ on purpose or by the way the test starts the servers (docs/server.md):
# the listening port, the working dir, lfdb's snapshot file name, its thread count
# (io-threads is Redis's name for it) and its larger replication backlog.
DIFFERENT_DEFAULTS = {"port", "dir", "dbfilename", "io-threads", "repl-backlog-size"}
# Redis's hidden parameters: CONFIG GET * leaves them out, their exact names answer.
HIDDEN = ["use-exit-on-panic", "lua-enable-deprecated-api", "rdb-key-save-delay", "key-load-delay",
          "watchdog-period", "loading-process-events-interval-bytes"]


class ConfServer(ServerProcess):
    """redis-server or lfdb-server started with a config file as its first argument; `lines`
    are its directives, with {dir} and {port} filled in."""

    def __init__(self, redis, lines, extra_args=()):
        super().__init__()
        self.redis = redis
        self.lines = lines
        self.extra_args = list(extra_args)
        self.conf = os.path.join(self.dir, "server.conf")
        self.pidfile = os.path.join(self.dir, "server.pid")
        self.logfile = os.path.join(self.dir, "server-own.log")

    def command(self, port):
        with open(self.conf, "w") as f:
            f.write("\n".join(self.lines).format(dir=self.dir, port=port, pidfile=self.pidfile,
                                                 logfile=self.logfile) + "\n")
        if self.redis:
            return [REDIS_SERVER, self.conf] + self.extra_args
        return [SERVER, self.conf] + self.extra_args + SERVER_ARGS

    def name(self):
        return "redis" if self.redis else "lfdb"


def rewrite_for_test(text):
    """Debian's redis.conf with the directives that reach outside the test pointed into it."""
    out = []
    own = {"port": "port {port}", "dir": "dir {dir}", "pidfile": "pidfile {pidfile}",
           "logfile": "logfile {logfile}", "daemonize": "daemonize no", "supervised": "supervised no",
           "bind": "bind 127.0.0.1"}
    for line in text.splitlines():
        words = line.split()
        if words and words[0].lower() in own:
            out.append(own.pop(words[0].lower()))
        else:
            out.append(line.replace("{", "{{").replace("}", "}}"))
    out.extend(own.values())
    return out


# The shape of Redis's harness's tests/assets/default.conf (a handful of its directives).
DEFAULT_CONF_SHAPE = [
    "always-show-logo yes",
    "notify-keyspace-events KEA",
    "daemonize no",
    "pidfile {pidfile}",
    "port {port}",
    "timeout 0",
    "bind 127.0.0.1",
    "loglevel verbose",
    "logfile ''",
    "databases 16",
    "latency-monitor-threshold 1",
    "repl-diskless-sync-delay 0",
    "save 900 1",
    "rdbcompression yes",
    "dir {dir}",
    "slave-serve-stale-data yes",
    "appendonly no",
    "appendfsync everysec",
    "no-appendfsync-on-rewrite no",
    "activerehashing yes",
    "enable-protected-configs yes",
    "enable-debug-command yes",
    "enable-module-command yes",
    "propagation-error-behavior panic",
]


def pairs(reply):
    return {k.decode(): v.decode() for k, v in zip(reply[0::2], reply[1::2])}


def command(srv, *args):
    with RawConnection(srv.port) as c:
        try:
            return c.command(*args)
        except RespError as e:
            return e


def socket_line(kind, port):
    """`ss`'s line for the server's side of its listening socket (kind "l") or of an accepted
    connection (kind "e"), with timers (-o)."""
    state = ["-l"] if kind == "l" else ["state", "established"]
    out = subprocess.run(["ss", "-tnoH"] + state + ["( sport = :%d )" % port],
                         capture_output=True, text=True, check=True).stdout
    return out.strip()


@unittest.skipUnless(is_lfdb(), "compares lfdb-server with redis-server")
class RedisConfFilesTest(unittest.TestCase):
    def start_both(self, lines, extra_args=()):
        servers = [ConfServer(True, lines, extra_args), ConfServer(False, lines, extra_args)]
        for s in servers:
            self.addCleanup(s.stop)
            s.start()
        return servers

    @unittest.skipUnless(os.path.exists(DEBIAN_CONF), "needs Debian's redis.conf")
    def test_debian_redis_conf_starts_and_serves(self):
        with open(DEBIAN_CONF) as f:
            lines = rewrite_for_test(f.read())
        for srv in self.start_both(lines):
            self.assertEqual(command(srv, "PING"), b"PONG", srv.name())
            got = pairs(command(srv, "CONFIG", "GET", "tcp-backlog", "timeout", "tcp-keepalive",
                                "stop-writes-on-bgsave-error", "rdbcompression", "appenddirname",
                                "activerehashing", "jemalloc-bg-thread", "oom-score-adj"))
            self.assertEqual(got, {"tcp-backlog": "511", "timeout": "0", "tcp-keepalive": "300",
                                   "stop-writes-on-bgsave-error": "yes", "rdbcompression": "yes",
                                   "appenddirname": "appendonlydir", "activerehashing": "yes",
                                   "jemalloc-bg-thread": "yes", "oom-score-adj": "no"}, srv.name())

    def test_harness_default_conf_shape_starts(self):
        for srv in self.start_both(DEFAULT_CONF_SHAPE):
            self.assertEqual(command(srv, "PING"), b"PONG", srv.name())
            got = pairs(command(srv, "CONFIG", "GET", "repl-diskless-sync-delay",
                                "enable-protected-configs", "propagation-error-behavior",
                                "slave-serve-stale-data", "replica-serve-stale-data"))
            self.assertEqual(got, {"repl-diskless-sync-delay": "0", "enable-protected-configs": "yes",
                                   "propagation-error-behavior": "panic",
                                   "slave-serve-stale-data": "yes",
                                   "replica-serve-stale-data": "yes"}, srv.name())
            # enable-protected-configs yes: dir may be set at run time.
            self.assertEqual(command(srv, "CONFIG", "SET", "dir", srv.dir), b"OK", srv.name())

    def test_names_defaults_and_hidden_parameters_match(self):
        redis, lfdb = self.start_both(["port {port}", "dir {dir}", "save ''"])
        want = pairs(command(redis, "CONFIG", "GET", "*"))
        got = pairs(command(lfdb, "CONFIG", "GET", "*"))
        self.assertEqual(len(want), 192)
        self.assertEqual(set(got) - LFDB_ONLY, set(want))
        differ = {k for k in want if want[k] != got[k]}
        self.assertEqual(differ - DIFFERENT_DEFAULTS, set(),
                         {k: (want[k], got[k]) for k in differ - DIFFERENT_DEFAULTS})
        for name in HIDDEN:
            self.assertNotIn(name, got)
            self.assertEqual(command(lfdb, "CONFIG", "GET", name), command(redis, "CONFIG", "GET", name))

    def test_config_set_validates_and_normalizes_as_redis(self):
        redis, lfdb = self.start_both(["port {port}", "dir {dir}", "save ''"])
        cases = [
            ("activerehashing", "maybe"), ("activerehashing", "NO"),            # yes/no
            ("timeout", "-1"), ("timeout", "abc"), ("timeout", "7"),            # integers
            ("repl-timeout", "0"), ("active-expire-effort", "11"),
            ("auto-aof-rewrite-min-size", "1xb"), ("auto-aof-rewrite-min-size", "1mb"),  # memory
            ("active-defrag-ignore-bytes", "0"), ("cluster-link-sendbuf-limit", "2gb"),
            ("maxmemory-clients", "101%"), ("maxmemory-clients", "abc"),          # memory or %
            ("maxmemory-clients", "10%"),
            ("repl-diskless-load", "sometimes"), ("repl-diskless-load", "SWAPDB"),  # enums
            ("propagation-error-behavior", "panic-on-replicas"),
            ("shutdown-on-sigterm", "save nosave"), ("shutdown-on-sigterm", "later"),  # flags
            ("shutdown-on-sigterm", "now save"),
            ("oom-score-adj-values", "1 2"), ("oom-score-adj-values", "0 0 3000"),
            ("latency-tracking-info-percentiles", "101"),
            ("latency-tracking-info-percentiles", "x"),
            ("latency-tracking-info-percentiles", "50 99.99"),
            ("slave-priority", "5"), ("replica-announce-ip", "10.0.0.1"),      # aliases, strings
            ("tcp-backlog", "7"), ("pidfile", "/x"), ("logfile", "/x"),       # immutable
            ("cluster-enabled", "yes"), ("appenddirname", "d"), ("unixsocketperm", "700"),
            ("dir", "/tmp"), ("dbfilename", "x.rdb"),                          # protected
            ("hz", "1000"), ("hz", "0"), ("hz", "-1"), ("hz", "10"),          # clamped to 1-500
        ]
        for name, value in cases:
            want = command(redis, "CONFIG", "SET", name, value)
            got = command(lfdb, "CONFIG", "SET", name, value)
            self.assertEqual(got, want, (name, value))
            if name not in DIFFERENT_DEFAULTS:
                self.assertEqual(command(lfdb, "CONFIG", "GET", name),
                                 command(redis, "CONFIG", "GET", name), (name, value))
        self.assertEqual(pairs(command(lfdb, "CONFIG", "GET", "replica-priority"))["replica-priority"], "5")

    def test_include_reads_another_file_in_place(self):
        servers = [ConfServer(r, ["port {port}", "dir {dir}", "save ''", "timeout 5",
                                  "include {dir}/extra.conf", "tcp-keepalive 60"]) for r in (True, False)]
        for srv in servers:
            with open(os.path.join(srv.dir, "extra.conf"), "w") as f:
                f.write("timeout 9\ntcp-keepalive 99\nrepl-diskless-sync-delay 0\n")
            self.addCleanup(srv.stop)
            srv.start()
            got = pairs(command(srv, "CONFIG", "GET", "timeout", "tcp-keepalive", "repl-diskless-sync-delay"))
            self.assertEqual(got, {"timeout": "9", "tcp-keepalive": "60", "repl-diskless-sync-delay": "0"},
                             srv.name())

    def test_rewrite_writes_the_new_parameters(self):
        redis, lfdb = self.start_both(["port {port}", "dir {dir}", "save ''", "timeout 0"])
        for srv in (redis, lfdb):
            self.assertEqual(command(srv, "CONFIG", "SET", "timeout", "30", "repl-diskless-sync-delay",
                                     "0", "shutdown-on-sigint", "nosave now",
                                     "auto-aof-rewrite-min-size", "32mb"), b"OK")
            self.assertEqual(command(srv, "CONFIG", "REWRITE"), b"OK")
            with open(srv.conf) as f:
                text = f.read()
            for line in ("timeout 30", "repl-diskless-sync-delay 0", "auto-aof-rewrite-min-size 32mb"):
                self.assertIn("\n" + line + "\n", text, srv.name())
            self.assertRegex(text, r"\nshutdown-on-sigint \"?nosave now\"?\n", srv.name())


@unittest.skipUnless(is_lfdb(), "compares lfdb-server with redis-server")
class TakesEffectTest(unittest.TestCase):
    def start_both(self, lines):
        servers = [ConfServer(True, lines), ConfServer(False, lines)]
        for s in servers:
            self.addCleanup(s.stop)
            s.start()
        return servers

    def test_pidfile_exists_while_running_and_goes_at_exit(self):
        for srv in self.start_both(["port {port}", "dir {dir}", "save ''", "pidfile {pidfile}"]):
            with open(srv.pidfile) as f:
                self.assertEqual(int(f.read().strip()), srv.proc.pid, srv.name())
            srv.proc.send_signal(signal.SIGTERM)
            srv.proc.wait(10)
            self.assertFalse(os.path.exists(srv.pidfile), srv.name())

    def test_a_second_server_that_cannot_listen_leaves_the_pidfile(self):
        for srv in self.start_both(["port {port}", "dir {dir}", "save ''", "pidfile {pidfile}"]):
            binary = REDIS_SERVER if srv.redis else SERVER
            second = subprocess.run([binary, "--port", str(srv.port), "--pidfile", srv.pidfile,
                                     "--save", "", "--dir", srv.dir],
                                    capture_output=True, timeout=30)
            self.assertNotEqual(second.returncode, 0, srv.name())
            with open(srv.pidfile) as f:
                self.assertEqual(int(f.read().strip()), srv.proc.pid, srv.name())

    def test_logfile_receives_the_log(self):
        for srv in self.start_both(["port {port}", "dir {dir}", "save ''", "logfile {logfile}"]):
            # Each server's line that it serves: Redis's "Ready to accept connections", lfdb's
            # "listening on" with its port (written just after the first PING can be answered:
            # read until it is there, or the deadline).
            wanted = ("Ready to accept connections", "listening on port %d " % srv.port)
            text = ""
            deadline = time.monotonic() + 10
            while not any(w in text for w in wanted) and time.monotonic() < deadline:
                time.sleep(0.05)
                with open(srv.logfile) as f:
                    text = f.read()
            self.assertTrue(any(w in text for w in wanted), (srv.name(), text))
            # The server's own output went to the file, not to stdout.
            self.assertFalse(any(w in srv.log() for w in wanted), srv.name())

    def test_idle_timeout_closes_a_normal_client_only(self):
        for srv in self.start_both(["port {port}", "dir {dir}", "save ''", "timeout 1"]):
            idle = RawConnection(srv.port)
            subscriber = RawConnection(srv.port)
            blocked = RawConnection(srv.port)
            try:
                self.assertEqual(idle.command("PING"), b"PONG")
                subscriber.command("SUBSCRIBE", "ch")
                blocked.send_command("BLPOP", "nothing", "0")
                # Redis checks idle clients a few times a second, lfdb once a second: give both
                # several seconds.
                self.assertTrue(idle.is_closed(timeout=8.0), srv.name())
                self.assertTrue(subscriber.expect_silence(0.5), srv.name())
                self.assertTrue(blocked.expect_silence(0.5), srv.name())
                self.assertEqual(command(srv, "PUBLISH", "ch", "still here"), 1, srv.name())
            finally:
                for c in (idle, subscriber, blocked):
                    c.close()

    def test_idle_timeout_spares_a_client_still_sending_its_command(self):
        # Every read is an interaction: a command trickling in over more than `timeout` is
        # answered, not cut off.
        for srv in self.start_both(["port {port}", "dir {dir}", "save ''", "timeout 1"]):
            with RawConnection(srv.port) as c:
                request = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$10\r\n0123456789\r\n"
                for i in range(0, len(request), 4):
                    c.send(request[i:i + 4])
                    time.sleep(0.3)  # 11 pieces: 3.3 s in all, each gap under the 1 s timeout
                self.assertEqual(c.read_parsed(), b"OK", srv.name())

    def test_tcp_keepalive_and_backlog_reach_the_sockets(self):
        for srv in self.start_both(["port {port}", "dir {dir}", "save ''", "tcp-keepalive 77",
                                    "tcp-backlog 37"]):
            listening = socket_line("l", srv.port)
            self.assertEqual(listening.split()[2], "37", (srv.name(), listening))
            with RawConnection(srv.port) as c:
                self.assertEqual(c.command("PING"), b"PONG")
                accepted = socket_line("e", srv.port)
                self.assertRegex(accepted, r"timer:\(keepalive,(1min1[0-7]|1min|[0-9]+)", srv.name())
            # 0 turns it off for the connections accepted after.
            self.assertEqual(command(srv, "CONFIG", "SET", "tcp-keepalive", "0"), b"OK")
            with RawConnection(srv.port) as c:
                self.assertEqual(c.command("PING"), b"PONG")
                self.assertNotIn("keepalive", socket_line("e", srv.port), srv.name())

    def test_oom_score_adj_absolute(self):
        for srv in self.start_both(["port {port}", "dir {dir}", "save ''", "oom-score-adj absolute",
                                    "oom-score-adj-values 345 400 500"]):
            with open("/proc/%d/oom_score_adj" % srv.proc.pid) as f:
                self.assertEqual(f.read().strip(), "345", srv.name())
            self.assertEqual(command(srv, "CONFIG", "SET", "oom-score-adj-values", "456 400 500"), b"OK")
            with open("/proc/%d/oom_score_adj" % srv.proc.pid) as f:
                self.assertEqual(f.read().strip(), "456", srv.name())

    def test_oom_score_adj_follows_the_role_and_the_background_child(self):
        for srv in self.start_both(["port {port}", "dir {dir}", "save ''", "oom-score-adj no"]):
            base = oom_score(srv.proc.pid)
            self.assertEqual(command(srv, "CONFIG", "SET", "oom-score-adj-values", "10 20 30",
                                     "oom-score-adj", "yes"), b"OK")
            self.assertEqual(oom_score(srv.proc.pid), base + 10, srv.name())
            self.assertEqual(command(srv, "REPLICAOF", "127.0.0.1", "1"), b"OK")
            self.assertEqual(oom_score(srv.proc.pid), base + 20, srv.name())  # a replica's class
            self.assertEqual(command(srv, "REPLICAOF", "NO", "ONE"), b"OK")
            self.assertEqual(oom_score(srv.proc.pid), base + 10, srv.name())
            command(srv, "SET", "k", "v")
            self.assertEqual(command(srv, "CONFIG", "SET", "rdb-key-save-delay", "1000000"), b"OK")
            self.assertIn(b"started", command(srv, "BGSAVE"))
            deadline = time.monotonic() + 20
            while True:  # the child writes its own score once forked
                kids = subprocess.run(["pgrep", "-P", str(srv.proc.pid)], capture_output=True,
                                      text=True).stdout.split()
                if kids and oom_score(int(kids[0])) == base + 30:
                    break
                self.assertLess(time.monotonic(), deadline, "%s: child %s" % (srv.name(), kids))
                time.sleep(0.01)

    def test_oom_score_adj_takes_its_base_again_once_given_back(self):
        for srv in self.start_both(["port {port}", "dir {dir}", "save ''", "oom-score-adj no"]):
            base = oom_score(srv.proc.pid)
            self.assertEqual(command(srv, "CONFIG", "SET", "oom-score-adj-values", "9 9 9",
                                     "oom-score-adj", "yes"), b"OK")
            self.assertEqual(oom_score(srv.proc.pid), base + 9, srv.name())
            self.assertEqual(command(srv, "CONFIG", "SET", "oom-score-adj", "no"), b"OK")
            self.assertEqual(oom_score(srv.proc.pid), base, srv.name())
            with open("/proc/%d/oom_score_adj" % srv.proc.pid, "w") as f:  # someone else's score
                f.write("%d\n" % (base + 5))
            # Off: the values change nothing; on again: relative to the score it finds now.
            self.assertEqual(command(srv, "CONFIG", "SET", "oom-score-adj-values", "1 1 1"), b"OK")
            self.assertEqual(oom_score(srv.proc.pid), base + 5, srv.name())
            self.assertEqual(command(srv, "CONFIG", "SET", "oom-score-adj", "yes"), b"OK")
            self.assertEqual(oom_score(srv.proc.pid), base + 6, srv.name())
            self.assertEqual(command(srv, "CONFIG", "SET", "oom-score-adj", "no"), b"OK")
            self.assertEqual(oom_score(srv.proc.pid), base + 5, srv.name())


def oom_score(pid):
    with open("/proc/%d/oom_score_adj" % pid) as f:
        return int(f.read().strip())


@unittest.skipUnless(is_lfdb(), "lfdb-server's refusals")
class RefusedFeaturesTest(unittest.TestCase):
    def start_fails(self, *args):
        d = ConfServer(False, ["port {port}", "dir {dir}"])
        self.addCleanup(d.stop)
        d.start()
        d.stop(keep_dir=True)
        proc = subprocess.run([SERVER, d.conf, "--port", str(free_port())] + list(args) + SERVER_ARGS,
                              capture_output=True, text=True, timeout=10, cwd=d.dir)
        self.assertNotEqual(proc.returncode, 0, args)
        return proc.stderr

    def test_switched_on_features_refuse_to_start(self):
        for args, word in ((["--cluster-enabled", "yes"], "cluster"), (["--tls-port", "6390"], "TLS"),
                           (["--daemonize", "yes"], "foreground"), (["--syslog-enabled", "yes"], "syslog"),
                           (["--loadmodule", "/x.so"], "modules"), (["--supervised", "systemd"], "systemd")):
            err = self.start_fails(*args)
            self.assertIn("not supported" if args[0] != "--loadmodule" else "no modules", err, args)
            self.assertIn(word, err, args)

    def test_off_values_are_accepted_and_on_values_refused_by_config_set(self):
        srv = ConfServer(False, ["port {port}", "dir {dir}", "cluster-enabled no", "tls-port 0",
                                 "daemonize no", "supervised no", "tls-replication no"])
        self.addCleanup(srv.stop)
        srv.start()
        err = command(srv, "CONFIG", "SET", "tls-replication", "yes")
        self.assertIsInstance(err, RespError)
        self.assertIn("(possibly related to argument 'tls-replication')", err.message)
        self.assertIn("TLS", err.message)
        self.assertEqual(command(srv, "CONFIG", "SET", "tls-replication", "no"), b"OK")


if __name__ == "__main__":
    unittest.main()
