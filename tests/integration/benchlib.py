"""Helpers for the lfdb-bench integration tests (test_bench_*.py): find the binary, run it
against the server under test with --json, and hand back the exit status, the parsed summary and
the output. The bench is a client like redis-cli: the server comes from lfdb_testlib's harness.

LFDB_BENCH names the binary (CTest sets it); by default ../../build/bin/lfdb-bench.
"""

import json
import os
import subprocess
import tempfile

from lfdb_testlib import HOST

HERE = os.path.dirname(os.path.abspath(__file__))
BENCH = os.environ.get("LFDB_BENCH", os.path.join(HERE, "..", "..", "build", "bin", "lfdb-bench"))
RUN_TIMEOUT = 90


class BenchRun:
    def __init__(self, rc, summary, stdout, stderr):
        self.rc = rc
        self.summary = summary  # the --json document, or None
        self.stdout = stdout
        self.stderr = stderr

    def __repr__(self):
        return "lfdb-bench exit %s\n--- stdout ---\n%s\n--- stderr ---\n%s" % (
            self.rc, self.stdout, self.stderr[-4000:])


def bench_command(port, *args):
    return [BENCH, "--host", HOST, "--port", str(port)] + [str(a) for a in args]


def run_bench(port, *args, timeout=RUN_TIMEOUT):
    """Runs lfdb-bench to completion; its JSON summary is parsed when it wrote one."""
    with tempfile.TemporaryDirectory(prefix="lfdb-bench-itest-") as d:
        path = os.path.join(d, "summary.json")
        proc = subprocess.run(bench_command(port, "--json", path, *args), stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
        summary = None
        if os.path.exists(path):
            with open(path) as f:
                summary = json.load(f)
        return BenchRun(proc.returncode, summary, proc.stdout.decode("utf-8", "replace"),
                        proc.stderr.decode("utf-8", "replace"))


def start_bench(port, json_path, *args):
    """Starts lfdb-bench in the background with --progress (a line a second on stderr)."""
    return subprocess.Popen(bench_command(port, "--json", json_path, "--progress", *args),
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
