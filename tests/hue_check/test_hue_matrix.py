"""The matrix hue-check derives from the handlers' code against the one lfdb-server runs with
(DEBUG HUES), for every pair of commands. A pair the code makes conflict more than the runtime
lets it is an under-declaration and fails; a pair the runtime keeps apart more than the code
needs (concurrency left on the table) is only reported. And DEBUG HUES EXPLAIN says why in the
very words `hue-check --explain` uses.

Run by ctest (hue_check.matrix) with HUE_CHECK_BUILD (the build directory) and LFDB_SERVER
(lfdb-server) set."""
import json
import os
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.realpath(__file__))
REPO = os.path.realpath(os.path.join(HERE, "..", ".."))
TOOL = os.path.join(REPO, "tools", "hue-check", "hue-check")
BUILD = os.environ.get("HUE_CHECK_BUILD", os.path.join(REPO, "build"))
os.environ.setdefault("LFDB_SERVER", os.path.join(BUILD, "bin", "lfdb-server"))
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))
sys.path.insert(0, os.path.join(REPO, "tools", "hue-check"))
import hue_check  # noqa: E402  (the tool's own bits() and Touches: one definition of a cell)
from lfdb_testlib import RawConnection, RespError, ServerProcess  # noqa: E402

# Pairs whose derived declarations differ from the declared ones in nothing that makes these two
# conflict, so both explanations must be the same sentence. (CONFIG SET and CONFIG GET would
# not do: the code shows Config's own mutex, so they derive free.)
EXPLAINED = [("GET", "SET"), ("SET", "FLUSHALL"), ("GET", "DBSIZE"), ("PUBLISH", "SUBSCRIBE"),
             ("SET", "SET"), ("LPUSH", "FLUSHALL"), ("SUBSCRIBE", "SUBSCRIBE")]


def tool(*args):
    p = subprocess.run([TOOL, "--build", BUILD, *args], capture_output=True, text=True,
                       timeout=900)
    if p.returncode != 0:
        raise AssertionError(f"hue-check {' '.join(args)} exited {p.returncode}:\n"
                             f"{p.stdout}{p.stderr}")
    return p.stdout


def parse_debug_hues(text):
    """DEBUG HUES: {class: describe}, {(class, class): bits}, {COMMAND: class}."""
    sections, current = {}, None
    for line in text.splitlines():
        if line.startswith("# "):
            current = sections.setdefault(line[2:], [])
        elif line.strip() and current is not None:
            current.append(line)
    classes = dict(line.split(" ", 1) for line in sections["classes"])
    rows = [line.split() for line in sections["matrix"] if not line.startswith("cell =")
            and " is undeclared" not in line]
    names = rows[0]
    bits = {}
    for row in rows[1:]:
        a = row[0]
        for b, cell in zip(names, row[1:]):
            bits[(a, b)] = bits[(b, a)] = int(cell[0]) * 2 + int(cell[1])
    commands = dict(line.split(" ", 1) for line in sections["commands"])
    return classes, bits, commands


def allowed(cell):
    """What a cell lets two invocations do: 2 anything, 1 run on different colors, 0 nothing."""
    return 0 if cell & 1 else (1 if cell & 2 else 2)


class DerivedAgainstRuntime(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.derived = json.loads(tool("--declarations"))
        cls.touches = {}
        for name, d in cls.derived["commands"].items():
            cls.touches[name] = hue_check.Touches(name, d["reads"], d["writes"], d["context"],
                                                  d["declared"])
        cls.server = ServerProcess([("enable-debug-command", "yes")]).start()
        cls.conn = RawConnection(cls.server.port)
        cls.classes, cls.bits, cls.commands = parse_debug_hues(cls.debug("HUES").decode())

    @classmethod
    def tearDownClass(cls):
        cls.conn.close()
        cls.server.stop()

    @classmethod
    def debug(cls, *args):
        return cls.conn.command("DEBUG", *args, timeout=30)

    def test_every_command_is_known_to_both_with_the_same_class(self):
        for name, d in self.derived["commands"].items():
            self.assertIn(name, self.commands, f"{name}: checked by hue-check, not in DEBUG HUES")
            self.assertEqual(self.commands[name], d["class"], name)
        self.assertGreater(len(self.derived["commands"]), 200)

    def test_every_handler_of_the_server_is_checked(self):
        # What the server runs and hue-check does not check: only the containers (their
        # subcommands are checked) and EXEC (the session's own: it runs the queued commands, each
        # checked). The streams' handler tables, local statics, were missed this way once.
        containers = {name.split("|")[0] for name in self.commands if "|" in name}
        unchecked = sorted(set(self.commands) - set(self.derived["commands"]) - containers)
        self.assertEqual(unchecked, ["EXEC"])

    def test_no_pair_is_under_declared(self):
        names = sorted(self.derived["commands"])
        under, over = [], 0
        for i, a in enumerate(names):
            for b in names[i:]:
                derived = hue_check.bits(self.touches[a], self.touches[b])
                runtime = self.bits[(self.commands[a], self.commands[b])]
                if allowed(runtime) > allowed(derived):
                    under.append(f"{a} {b}: the code needs {derived >> 1}{derived & 1}, the runtime "
                                 f"runs them with {runtime >> 1}{runtime & 1} ({self.commands[a]}, "
                                 f"{self.commands[b]})")
                elif allowed(runtime) < allowed(derived):
                    over += 1
        print(f"\n{len(names) * (len(names) + 1) // 2} pairs of {len(names)} commands: "
              f"{len(under)} under-declared, {over} over-declared (reported only)", file=sys.stderr)
        self.assertEqual(under, [], "under-declared pairs:\n" + "\n".join(under[:50]))

    def test_explain_in_the_same_words(self):
        args = []
        for a, b in EXPLAINED:
            args += ["--explain", a, b]
        derived = tool(*args).strip().split("\n")
        for (a, b), line in zip(EXPLAINED, derived):
            self.assertEqual(self.debug("HUES", "EXPLAIN", a, b).decode(), line)

    def test_declarations_in_the_same_words(self):
        # Where a command's derived declaration is exactly its class's, the two spell it alike.
        same = 0
        for name, d in self.derived["commands"].items():
            if d["describe"] == self.classes[d["class"]]:
                same += 1
        self.assertGreater(same, 50)

    def test_explain_unknown_command(self):
        reply = self.debug("HUES", "EXPLAIN", "GET", "NOSUCH")
        self.assertIsInstance(reply, RespError)
        self.assertEqual(reply.message, "ERR unknown command 'NOSUCH'")


if __name__ == "__main__":
    unittest.main()
