#!/usr/bin/python3
"""Reads the Redis test harness's output for scripts/redis-suite.sh and applies the gate's policy.

  report.py header                         the column titles
  report.py unit RUN UNIT                  one line for a unit both servers ran
  report.py summary RUN UNITS_FILE MODE UNIT..  totals, the details file, the floors (MODE
                                           external: the ci and full rows'; own: the own rows',
                                           redis-suite.sh --own); exit status

RUN holds redis/logs/ and lfdb/logs/, one <unit>.log (runtest's output) and <unit>.meta (the exit
status, whether the unit limit killed it, whether the server died) per unit and server.

The harness reports each test as [ok], [err] (an assertion failed), [skip] or [ignore] (left out
by a tag, e.g. external:skip); an [exception] (any other error, e.g. an unknown command) or a
[TIMEOUT] (no progress) ends the whole unit: an abort.
"""
import collections
import os
import re
import sys

ANSI = re.compile(r"\x1b\[[0-9;]*m")
OK = re.compile(r"^\[ok\]: (.*) \(\d+ ms\)$")
ERR = re.compile(r"^\[err\]: (.*) in tests/\S+\.tcl$")
IGNORE = re.compile(r"^\[ignore\]: (.*)$")
EXCEPTION = re.compile(r"^\[exception\]: (.*)$")
DONE = re.compile(r"^\[\d+/\d+ done\]: (\S+) \(\d+ seconds\)$")
CLIENT_STATE = re.compile(r"=> \(([A-Z ]+)\) (.*?)(?: in tests/\S+\.tcl)?$")
TAG_LINE = re.compile(r"^\[[a-zA-Z0-9/ ]+\]: ")
TEST_CALL = re.compile(r'^"test [{"]([^}"]+)[}"]')
UNKNOWN_ARGS = re.compile(r", with args beginning with: .*$")
# Traceback frames of the harness's client plumbing (the `r` proc), not of the unit's own code.
HARNESS_FRAME = re.compile(r"\{\*\}\$args|^uplevel |^::redis::")
# What a test reports as its reason when it is left out in external-server mode.
LEFT_OUT = ("Not supported on external server", "Tag: ")

COLUMNS = f"{'unit':<26} {'redis':>6} {'lfdb':>6} {'missing':>8}  result"


class Outcome:
    """What one run of runtest over one unit against one server did."""

    def __init__(self, log_path, meta_path):
        self.passed = collections.Counter()   # test name -> times it passed
        self.failures = []                    # (test name, first line of the message)
        self.left_out = []                    # reasons of [ignore] lines
        self.last_ok = None                   # the last test that passed
        self.done = False                     # the harness finished the unit
        self.abort = None                     # why the unit stopped early, or None
        meta = {}
        if os.path.exists(meta_path):
            with open(meta_path) as f:
                meta = dict(line.rstrip("\n").split("=", 1) for line in f if "=" in line)
        self.died = meta.get("died")          # how the server died during the unit, or None
        self.stuck = meta.get("stuck")        # why the server was killed after it, or None
        lines = []
        if os.path.exists(log_path):
            with open(log_path, errors="replace") as f:
                lines = [ANSI.sub("", line.rstrip("\n")) for line in f]
        self._parse(lines)
        if not self.done and self.abort is None:
            if "limit" in meta:
                last = f" (last finished test: {self.last_ok})" if self.last_ok else ""
                self.abort = f"killed at the {meta['limit']} s unit limit{last}"
            else:
                self.abort = f"runtest exited with status {meta.get('rc', '?')} without finishing the unit"

    def _parse(self, lines):
        for i, line in enumerate(lines):
            m = OK.match(line)
            if m:
                self.passed[m.group(1)] += 1
                self.last_ok = m.group(1)
            elif line.startswith("[err]: "):
                m = ERR.match(line)
                message = lines[i + 1] if i + 1 < len(lines) and not TAG_LINE.match(lines[i + 1]) else ""
                if m:
                    self.failures.append((m.group(1), message.strip()))
                else:   # an error in a unit's code between tests (reported so with --durable only)
                    self.failures.append(("(code outside any test)", message.strip()))
            elif IGNORE.match(line):
                self.left_out.append(IGNORE.match(line).group(1))
            elif DONE.match(line):
                self.done = True
            elif EXCEPTION.match(line):
                self.abort = self._exception(EXCEPTION.match(line).group(1), lines[i + 1:])
            elif line.startswith("[TIMEOUT]"):
                # The harness's report of its client: the test in progress, or the last one done.
                state = next((CLIENT_STATE.search(l) for l in lines[i + 1:i + 3] if CLIENT_STATE.search(l)), None)
                if state and state.group(1) == "IN PROGRESS":
                    self.abort = f"hung in test '{state.group(2)}' (no progress for the stall limit)"
                elif state:
                    self.abort = f"hung after test '{state.group(2)}' (no progress for the stall limit)"
                else:
                    self.abort = "hung (no progress for the stall limit)"

    @staticmethod
    def _exception(first, rest):
        """The error, the suite's line that raised it and the test it was in."""
        cause = first.removeprefix("Executing test client: ").rstrip(".")
        cause = UNKNOWN_ARGS.sub("", cause)   # the arguments show in the code quoted next
        where, test = None, None
        for j, line in enumerate(rest):
            if line.startswith("[") or line.startswith("Killing"):
                break
            # Tcl's traceback: each frame's code follows "while executing" / "invoked from within".
            frame = line.strip() in ("while executing", "invoked from within") and j + 1 < len(rest)
            code = rest[j + 1].strip().strip('"') if frame else ""
            if code and where is None and not HARNESS_FRAME.search(code):
                where = code
            m = TEST_CALL.match(rest[j + 1].strip()) if frame else None
            if m and test is None:
                test = m.group(1)
        if where:
            cause += f" (at: {where[:60]}{'...' if len(where) > 60 else ''})"
        if test:
            cause += f" in test '{test}'"
        return cause

    @property
    def ran(self):
        return sum(self.passed.values()) + len(self.failures)

    @property
    def npassed(self):
        return sum(self.passed.values())


class Unit:
    def __init__(self, run, unit):
        name = unit.replace("/", "_")
        self.unit = unit
        self.redis = Outcome(f"{run}/redis/logs/{name}.log", f"{run}/redis/logs/{name}.meta")
        self.lfdb = Outcome(f"{run}/lfdb/logs/{name}.log", f"{run}/lfdb/logs/{name}.meta")
        # Tests redis-server passes that lfdb-server does not (names can repeat within a unit).
        self.missing = self.redis.passed - self.lfdb.passed

    @property
    def not_counted(self):
        """Why the unit says nothing in external mode (it starts its own servers), or None."""
        r = self.redis
        if r.done and r.ran == 0 and r.left_out and all(any(x in reason for x in LEFT_OUT) for reason in r.left_out):
            return "not counted: every test is external:skip or left out by the tags"
        return None

    @property
    def harness_broken(self):
        """Why redis-server's own run shows the harness is broken, or None."""
        if self.not_counted:
            return None
        if self.redis.abort:
            return f"redis-server aborted {self.unit}: {self.redis.abort}"
        if self.redis.npassed == 0:
            return f"redis-server passed no test of {self.unit}"
        return None

    def result(self):
        if self.not_counted:
            return self.not_counted
        parts = []
        if self.lfdb.abort:
            parts.append(f"abort: {self.lfdb.abort}")
        if self.lfdb.failures:
            parts.append(f"{len(self.lfdb.failures)} failed")
        if not parts:
            parts.append("pass" if not self.missing else "incomplete")
        if self.lfdb.died:   # each unit starts a fresh server: the next one has its own
            parts.append(f"lfdb-server {self.lfdb.died} (restarted for the next unit)")
        if self.lfdb.stuck:
            parts.append(f"lfdb-server {self.lfdb.stuck}")
        if self.harness_broken:
            parts.append(f"HARNESS: {self.harness_broken}")
        elif self.redis.failures:
            parts.append(f"(redis-server fails {len(self.redis.failures)})")
        return "; ".join(parts)

    def line(self):
        if self.not_counted:
            return f"{self.unit:<26} {'-':>6} {'-':>6} {'-':>8}  {self.result()}"
        missing = sum(self.missing.values())
        return f"{self.unit:<26} {self.redis.npassed:>6} {self.lfdb.npassed:>6} {missing:>8}  {self.result()}"

    def details(self):
        out = [f"== {self.unit}: {self.result()}"]
        for name, message in self.lfdb.failures:
            out.append(f"  lfdb [err] {name}: {message}")
        reached = set(self.lfdb.passed) | {name for name, _ in self.lfdb.failures}
        for name in sorted(self.missing):
            if name not in reached:
                out.append(f"  lfdb never ran: {name}")
        for name, message in self.redis.failures:
            out.append(f"  redis-server [err] {name}: {message}")
        return "\n".join(out)


def read_floors(path, mode):
    """unit -> floor, from the rows of the mode's sets (own-server mode has floors of its own)."""
    floors = {}
    with open(path) as f:
        for line in f:
            words = line.split("#", 1)[0].split()
            if len(words) >= 3 and (words[1] == "own") == (mode == "own"):
                floors[words[0]] = int(words[2])
    return floors


def summary(run, units_file, mode, units):
    results = [Unit(run, u) for u in units]
    floors = read_floors(units_file, mode)
    with open(f"{run}/details.txt", "w") as f:
        f.write("\n\n".join(u.details() for u in results) + "\n")
    counted = [u for u in results if not u.not_counted]
    n = sum(u.lfdb.npassed for u in counted)
    m = sum(sum(u.missing.values()) for u in counted)
    redis_total = sum(u.redis.npassed for u in counted)
    aborted = [u.unit for u in counted if u.lfdb.abort]
    print(f"\nredis-server passes {redis_total} tests in {len(counted)} counted units; lfdb-server {n};"
          f" lfdb aborts {len(aborted)} units; failures and never-run tests: {run}/details.txt")
    status = 0
    for u in counted:
        floor = floors.get(u.unit, 0)
        if u.lfdb.npassed < floor:
            print(f"BELOW FLOOR: {u.unit}: lfdb-server passes {u.lfdb.npassed}, the floor is {floor}")
            status = max(status, 1)
        elif u.lfdb.npassed > floor:
            print(f"floor can be raised: {u.unit} {floor} -> {u.lfdb.npassed} (scripts/redis-suite/units.txt)")
    for u in results:
        if u.harness_broken:
            print(f"HARNESS BROKEN: {u.harness_broken}")
            status = 2
    print(f"{n} passed, {m} failed")
    return status


def main(argv):
    if argv[1] == "header":
        print(COLUMNS)
        return 0
    if argv[1] == "unit":
        print(Unit(argv[2], argv[3]).line(), flush=True)
        return 0
    if argv[1] == "summary":
        return summary(argv[2], argv[3], argv[4], argv[5:])
    raise SystemExit(f"usage: {argv[0]} header | unit RUN UNIT | summary RUN UNITS_FILE MODE UNIT...")


if __name__ == "__main__":
    sys.exit(main(sys.argv))
