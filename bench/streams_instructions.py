#!/usr/bin/python3
"""Instructions per stream request, server side (callgrind), lfdb-server against redis-server.

Wall-clock rates on a shared machine swing by a third from one run to the next; the
instructions a server spends per request do not. Each server runs under callgrind with
instrumentation off; per measure the set-up runs uninstrumented, then instrumentation is
switched on, N requests are sent one at a time (as redis-benchmark -c 1), and the counters are
dumped: the dump's total over N is the whole process's cost per request (reading, parsing,
running, replying, and whatever else the server's threads did meanwhile).

Measures (the ones of bench/streams.sh):
  XADD     XADD s * f1 1 f2 ok f3 v1
  XRANGE   XRANGE r - + COUNT 100 over a stream of 200 such entries
  XQUEUE   one XREADGROUP GROUP g c COUNT 1 STREAMS q > and the XACK of what it delivered

Usage: bench/streams_instructions.py [path/to/lfdb-server] [requests]
       (KEEP=dir keeps the callgrind dumps there, for callgrind_annotate)
"""
import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import redis

LFDB = sys.argv[1] if len(sys.argv) > 1 else "build/bin/lfdb-server"
N = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
LOG = None  # callgrind_control's output, in the work directory


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def control(pid, poke, *args):
    """callgrind_control, while a PING wakes a server that sleeps in epoll_wait (callgrind reads
    its commands only while the program runs)."""
    # (its output goes to a log: with stdout on /dev/null it did not see its answers.)
    proc = subprocess.Popen(["callgrind_control", *args, str(pid)], stdout=LOG, stderr=LOG)
    while proc.poll() is None:
        poke.ping()
        time.sleep(0.05)


def dump_total(work, pid, poke, label):
    """Dumps the counters since the last zeroing and returns their total (the dump's file is
    the one whose trigger names the label)."""
    control(pid, poke, "--dump=" + label)
    for _ in range(600):
        for path in glob.glob(os.path.join(work, "cg.out.*")):
            with open(path) as f:
                text = f.read()
            if "\ndesc: Trigger: dump %s\n" % label not in text:
                continue
            for line in text.splitlines():
                if line.startswith("totals:"):
                    return int(line.split()[1]), path
        time.sleep(0.1)
    raise RuntimeError("no callgrind dump for " + label)


def measure(name, cmd, work, keep):
    port = free_port()
    argv = ["valgrind", "--tool=callgrind", "--instr-atstart=no",
            "--callgrind-out-file=" + os.path.join(work, "cg.out")] + cmd(port)
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    r = redis.Redis(port=port)
    for _ in range(600):
        try:
            r.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.1)
    results = {}

    def phase(label, setup, run):
        setup()
        control(proc.pid, r, "--instr=on")
        control(proc.pid, r, "--zero")
        run()
        total, path = dump_total(work, proc.pid, r, label)
        control(proc.pid, r, "--instr=off")
        results[label] = total / N
        if keep:
            shutil.copy(path, os.path.join(keep, "%s-%s.out" % (name, label)))

    def xadd_setup():
        r.delete("s")
        r.xadd("s", {"f1": 1, "f2": "ok", "f3": "v1"})

    def xadd_run():
        for _ in range(N):
            r.execute_command("XADD", "s", "*", "f1", "1", "f2", "ok", "f3", "v1")

    def xrange_setup():
        r.delete("r")
        for i in range(200):
            r.xadd("r", {"f1": i, "f2": "ok", "f3": "v%d" % i})
        r.execute_command("XRANGE", "r", "-", "+", "COUNT", "100")

    def xrange_run():
        for _ in range(N):
            r.execute_command("XRANGE", "r", "-", "+", "COUNT", "100")

    def xqueue_setup():
        r.delete("q")
        p = r.pipeline(transaction=False)
        for i in range(N + 10):
            p.execute_command("XADD", "q", "*", "job", str(i), "state", "new")
        p.execute()
        r.execute_command("XGROUP", "CREATE", "q", "g", "0")
        # The consumer exists before the measure, as it does for a long-running worker.
        got = r.execute_command("XREADGROUP", "GROUP", "g", "c", "COUNT", "1", "STREAMS", "q", ">")
        r.execute_command("XACK", "q", "g", got[0][1][0][0])

    def xqueue_run():
        for _ in range(N):
            got = r.execute_command("XREADGROUP", "GROUP", "g", "c", "COUNT", "1", "STREAMS", "q", ">")
            assert r.execute_command("XACK", "q", "g", got[0][1][0][0]) == 1

    try:
        phase("XADD", xadd_setup, xadd_run)
        phase("XRANGE", xrange_setup, xrange_run)
        phase("XQUEUE", xqueue_setup, xqueue_run)
        r.shutdown(nosave=True)
    except redis.ConnectionError:
        pass  # the shutdown's own connection drop
    finally:
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()  # a failed measure leaves no server behind
            proc.wait()
    return results


def main():
    keep = os.environ.get("KEEP")
    if keep:
        os.makedirs(keep, exist_ok=True)
    work = tempfile.mkdtemp(prefix="lfdb-streams-cg.")
    global LOG
    LOG = open(os.path.join(work, "control.log"), "w")
    try:
        lfdb = measure("lfdb", lambda p: [LFDB, "--port", str(p), "--bind", "127.0.0.1",
                                          "--threads", "2"], work, keep)
        red = measure("redis", lambda p: ["redis-server", "--port", str(p), "--bind", "127.0.0.1",
                                          "--save", "", "--appendonly", "no", "--dir", work],
                      work, keep)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("| request | lfdb-server instructions | redis-server instructions | lfdb / redis |")
    print("|---|---|---|---|")
    for label, what in (("XADD", "XADD"), ("XRANGE", "XRANGE of 100"),
                        ("XQUEUE", "XREADGROUP + XACK pair")):
        print("| %s | %.0f | %.0f | %.2fx |" % (what, lfdb[label], red[label],
                                                lfdb[label] / red[label]))


if __name__ == "__main__":
    main()
