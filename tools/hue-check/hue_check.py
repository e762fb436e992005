#!/usr/bin/python3
"""hue-check: each command handler's hue declaration checked against what its code touches.

Reads compile_commands.json, parses lfdb-server's translation units with libclang, finds each
command's handler in the registration tables and its hue class in the command table, follows
the handler's calls through the project's code and derives its effects from effects.map. A
handler whose effects its class does not cover fails the check (exit status 1), with the call
path to the access; a class wider than the effects need is reported, not failed.

  hue-check [--build DIR]               the check
  hue-check --explain GET SET           why two commands conflict, derived (lf::hue's words);
                                        repeatable, one line per pair
  hue-check --declarations              every command's declared class and derived declaration,
                                        as JSON (compared with DEBUG HUES by tests/hue_check)
  hue-check --matrix                    the derived two-bit constraint matrix
  hue-check --effects GET               a command's derived effects and their call paths
See docs/hue.md ("Checking the declarations").
"""
import argparse
import fnmatch
import hashlib
import json
import multiprocessing
import os
import pickle
import shutil
import sys
import time

HERE = os.path.dirname(os.path.realpath(__file__))
sys.path.insert(0, HERE)
import extract  # noqa: E402

REPO = os.path.realpath(os.path.join(HERE, "..", ".."))
DEFAULT_TUS = ["src/db/*.cpp", "src/db/*/*.cpp", "src/commands/*.cpp", "src/resp/*.cpp"]
ORDER = {"none": 0, "read": 1, "write": 2}


# ---------------------------------------------------------------- the effect map
class EffectMap:
    def __init__(self, path):
        self.effects, self.internal, self.follow, self.indirect, self.virtual = [], [], [], [], []
        self.alias, self.all_colors, self.followed = {}, set(), set()
        for n, raw in enumerate(open(path), 1):
            line = raw.split("#", 1)[0].split()
            if not line:
                continue
            kind, rest = line[0], line[1:]
            where = f"{path}:{n}"
            if kind == "effect":
                const = None
                if len(rest) > 1 and rest[1] in ("const", "nonconst"):
                    const = rest[1] == "const"
                    accesses = rest[2:]
                else:
                    accesses = rest[1:]
                # `internal` alone: a call that touches nothing a hue declares (not followed).
                # `follow`: the access, and the function's own code followed as well.
                follow = "follow" in accesses
                accesses = [tuple(a.split(":")) for a in accesses if a not in ("internal", "follow")]
                if follow:
                    self.followed.add(rest[0] + (f" {const}" if const is not None else ""))
                self.effects.append((rest[0], const, accesses, where))
            elif kind == "internal":
                self.internal.append(rest[0])
            elif kind == "follow":
                self.follow.append((rest[0], rest[1]))
            elif kind == "indirect":
                self.indirect.append((rest[0], [tuple(a.split(":")) for a in rest[1:]]))
            elif kind == "virtual":
                self.virtual.append((rest[0], [tuple(a.split(":")) for a in rest[1:]]))
            elif kind == "alias":
                self.alias[rest[0]] = rest[1]
            elif kind == "placement":
                self.all_colors.add(rest[0])
            else:
                raise SystemExit(f"{where}: unknown rule '{kind}'")

    def effect_of(self, name, const):
        for glob, c, accesses, _ in reversed(self.effects):  # later lines win
            if fnmatch.fnmatchcase(name, glob) and (c is None or c == const):
                return accesses
        for glob in self.internal:
            if fnmatch.fnmatchcase(name, glob):
                return []
        return None

    def follows(self, name, const):
        """Whether the rule that gives `name` its effect also has its code followed."""
        for glob, c, _, _ in reversed(self.effects):
            if fnmatch.fnmatchcase(name, glob) and (c is None or c == const):
                return glob + (f" {c}" if c is not None else "") in self.followed
        return False

    def rule(self, rules, name):
        for glob, value in reversed(rules):
            if fnmatch.fnmatchcase(name, glob):
                return value
        return None


# ---------------------------------------------------------------- parsing
def digest(*parts):
    h = hashlib.sha1()
    for p in parts:
        h.update(p if isinstance(p, bytes) else repr(p).encode())
        h.update(b"\0")
    return h.hexdigest()


def content(path):
    with open(path, "rb") as f:
        return f.read()


def prelude_of(paths):
    """Every #include line of the units, once each, in first-seen order: the header the units
    share, compiled once into a precompiled header (each unit's own #include of it is then a
    no-op: every header has an include guard or #pragma once)."""
    lines, seen = [], set()
    for path in paths:
        for raw in content(path).decode("utf-8", "replace").splitlines():
            line = raw.strip()
            # The project's headers and C++'s own (<vector>): a C header may be included inside
            # an extern "C" block (Lua's), which the prelude cannot repeat.
            if line.startswith(("#include \"", "#include <")) and line not in seen \
                    and (line.startswith("#include \"") or "." not in line):
                seen.add(line)
                lines.append(line)
    return "\n".join(lines) + "\n"


def sources_of(entries):
    """The compile database by source. A unity build's (CMAKE_UNITY_BUILD, docs/build.md) names
    its batches, CMake's Unity/unity_N_cxx.cxx, each #including the sources it merges: each of
    those sources stands for itself here, with its batch's command."""
    out = []
    for e in entries:
        if os.path.basename(os.path.dirname(e["file"])) != "Unity":
            out.append(e)
            continue
        for line in content(e["file"]).decode("utf-8", "replace").splitlines():
            if line.startswith('#include "'):
                source = line[len('#include "'):line.rindex('"')]
                batch = dict(e, file=source)
                if "arguments" in e:
                    batch["arguments"] = [source if a == e["file"] else a for a in e["arguments"]]
                else:
                    batch["command"] = e["command"].replace(e["file"], source)
                out.append(batch)
    return out


def parse(compdb, tus, extra, jobs, use_cache):
    entries = sources_of(json.load(open(compdb)))
    chosen = [e for e in entries
              if any(fnmatch.fnmatchcase(os.path.realpath(e["file"]), "*/" + g)
                     for g in tus)]
    if not chosen:
        raise SystemExit(f"hue-check: no translation unit of {compdb} matches {tus}")
    roots = [os.path.join(REPO, "src"), os.path.join(REPO, "include"), os.path.join(REPO, "tests")]
    # The compile command's own paths (a worktree's build may point at another checkout).
    src_root = os.path.dirname(os.path.dirname(os.path.realpath(chosen[0]["file"])))
    roots.append(os.path.dirname(src_root))
    units = [(os.path.realpath(e["file"]), extract.compile_args(e)) for e in chosen]
    units += [(os.path.realpath(f), extract.compile_args(chosen[0])) for f in extra]
    # One set of flags for all: the most common. A unit whose flags differ from it only in
    # include directories (src/commands and src/resp do not see include/) is parsed with it
    # too (more directories to search change nothing for a unit that compiles without them);
    # any other is parsed alone, without the precompiled header.
    flags = max({tuple(a) for _, a in units}, key=lambda a: sum(tuple(u[1]) == a for u in units))
    flags = list(flags)
    shared = [(path, flags) for path, a in units if extract.sans_includes(a) == extract.sans_includes(flags)]
    apart = [(path, a) for path, a in units if extract.sans_includes(a) != extract.sans_includes(flags)]

    # The cache (BUILD/hue-check-cache) is keyed by contents, not times: a unit is parsed again
    # when its own text, a project header, its flags or the extractor changed.
    cache_dir = os.path.join(os.path.dirname(os.path.realpath(compdb)), "hue-check-cache")
    headers = []
    for root in roots[:2] + [src_root]:
        for dirpath, _, files in sorted(os.walk(root)):
            headers += [os.path.join(dirpath, f) for f in sorted(files) if f.endswith((".hpp", ".h"))]
    tool = content(extract.__file__)
    header_stamp = digest(tool, *[(h, content(h)) for h in sorted(set(headers))])
    prelude = prelude_of([p for p, _ in shared])
    pch_key = digest(header_stamp, prelude, flags)

    def cached(key, make):
        path = os.path.join(cache_dir, key + ".pickle")
        if use_cache:
            try:
                with open(path, "rb") as f:
                    os.utime(path)  # used: kept by the pruning below
                    return pickle.load(f), True
            except (OSError, EOFError, pickle.UnpicklingError):
                pass
        return make(), False

    def store(key, value):
        if not use_cache or value["errors"]:
            return
        os.makedirs(cache_dir, exist_ok=True)
        # Written aside, then renamed: two checks at once (ctest -j) never read half a file.
        path = os.path.join(cache_dir, key + ".pickle")
        tmp = f"{path}.{os.getpid()}"
        with open(tmp, "wb") as f:
            pickle.dump(value, f)
        os.replace(tmp, path)

    unit_keys = [digest(pch_key, path, content(path)) for path, _ in shared] + \
                [digest(header_stamp, path, a, content(path)) for path, a in apart]
    jobs_list = [(path, a, roots, None) for path, a in shared + apart]
    results, todo = [None] * len(jobs_list), []
    for i, k in enumerate(unit_keys):
        results[i], hit = cached(k, lambda: None)
        if not hit or results[i] is None:
            todo.append(i)
    # The shared headers: compiled once (their functions and tables are read from that parse),
    # and each unit then parses only its own text on top.
    pch = os.path.join(cache_dir, pch_key + ".pch")
    head, _ = cached(pch_key, lambda: None)
    # The facts read from the shared headers stay valid while their contents do; the
    # precompiled header itself is refused by clang once a header's time changed (a checkout),
    # so it is made again then.
    stale = head is None or not os.path.exists(pch) or extract.moved(head.get("inputs", []))
    if shared and (head is None or (stale and any(i < len(shared) for i in todo))):
        os.makedirs(cache_dir, exist_ok=True)
        head = extract.precompile(prelude, flags, roots, pch)
        store(pch_key, head)
        stale = False
    use_pch = head is not None and not head["errors"] and not stale
    if head is not None and head["errors"]:
        head = None  # the units are parsed without it, each with its headers (slower, as sound)
    if use_pch and use_cache:
        os.utime(pch)  # used: kept by the pruning below
    for i in todo:
        if i < len(shared) and use_pch:
            jobs_list[i] = jobs_list[i][:3] + (pch,)
    # Largest first, so the two workers finish together.
    todo.sort(key=lambda i: -os.path.getsize(jobs_list[i][0]))
    if jobs > 1 and len(todo) > 1:
        with multiprocessing.Pool(min(jobs, len(todo))) as pool:
            fresh = pool.map(extract.work, [jobs_list[i] for i in todo], chunksize=1)
    else:
        fresh = [extract.work(jobs_list[i]) for i in todo]
    for i, r in zip(todo, fresh):
        results[i] = r
        store(unit_keys[i], r)
    if use_cache and os.path.isdir(cache_dir):
        # What no run has used for a week; a precompiled header (28 MB) after a day.
        for f in os.listdir(cache_dir):
            age = 86400 if ".pch" in f and not f.startswith(pch_key) else 7 * 86400
            try:
                if time.time() - os.stat(os.path.join(cache_dir, f)).st_mtime > age:
                    os.unlink(os.path.join(cache_dir, f))
            except OSError:
                pass
    if head is not None:
        results.append(head)
    db = {"functions": {}, "handlers": [], "commands": [], "classes": [], "addressed": set(),
          "errors": []}
    for r in results:
        db["errors"] += r["errors"]
        for usr, fn in r["functions"].items():
            db["functions"].setdefault(usr, fn)
        db["handlers"] += r["handlers"]
        db["commands"] += r["commands"]
        db["classes"] += r["classes"]
    db["by_name"], db["by_short"] = {}, {}
    for usr, fn in db["functions"].items():
        db["by_name"].setdefault(fn["name"], []).append(usr)
        db["by_short"].setdefault(fn["name"].rsplit("::", 1)[-1], []).append(usr)
    for fn in db["functions"].values():
        db["addressed"].update(fn.get("addressed", []))
    db["alone"] = sum(1 for r in results[:len(jobs_list)] if r.get("alone"))
    return db, len(jobs_list)


# ---------------------------------------------------------------- the analysis
def rel(loc):
    path, _, line = loc.rpartition(":")
    for root in (REPO,):
        if path.startswith(root + os.sep):
            path = os.path.relpath(path, root)
    if "/src/" in path and not path.startswith("src/"):
        path = path[path.index("/src/") + 1:]
    return f"{path}:{line}"


def evaluate(e, env):
    """A guard's value under the parameters' known constants: True, False or None."""
    k = e[0]
    if k == "c":
        return e[1]
    if k == "p":
        return env[e[1]] if e[1] < len(env) else None
    if k == "not":
        v = evaluate(e[1], env)
        return None if v is None else not v
    if k == "eq":
        a, b = evaluate(e[1], env), evaluate(e[2], env)
        return None if a is None or b is None else a == b
    if k in ("and", "or"):
        a, b = evaluate(e[1], env), evaluate(e[2], env)
        if k == "and":
            return False if False in (a, b) else (True if a is True and b is True else None)
        return True if True in (a, b) else (False if a is False and b is False else None)
    return None


def dead(call, env):
    return any(evaluate(e, env) is (not want) for e, want in call.get("guards", ()))


def derive(db, emap, start):
    """Effects reached from the function `start`: {(resource, access): path}, path a list of
    (function name, location, call line) down to the access. A function is followed once per
    set of constants its bool parameters get (calls under a guard those constants make false are
    dead for that caller)."""
    fns = db["functions"]
    root = (start, tuple(None for _ in fns[start].get("defaults", [])))
    parent = {root: None}
    queue = [root]
    effects = {}

    def path_to(state, line, what):
        steps = [(what, None, None)]
        st, ln = state, line
        while st is not None:
            fn = fns[st[0]]
            steps.append((fn["name"], fn["loc"], ln))
            st, ln = parent[st] if parent[st] else (None, None)
        return list(reversed(steps))

    def record(access, state, line, what):
        if access not in effects:
            effects[access] = path_to(state, line, what)

    def visit(target, call, env, state, line):
        defaults = fns[target].get("defaults", [])
        args = call.get("args") or []
        bound = []
        for i, d in enumerate(defaults):
            a = args[i] if i < len(args) and args[i] != ("d",) else None
            if a is None and (i >= len(args) or args[i] == ("d",)) and d is not None:
                a = ("c", d)
            if a is None:
                bound.append(None)
            elif a[0] == "c":
                bound.append(a[1])
            else:
                bound.append(env[a[1]] if a[1] < len(env) else None)
        nxt = (target, tuple(bound))
        if nxt not in parent:
            parent[nxt] = (state, line)
            queue.append(nxt)

    while queue:
        state = queue.pop(0)
        usr, env = state
        for c in fns[usr]["calls"]:
            if dead(c, env):
                continue
            kind, name, line = c["kind"], c["name"], c["line"]
            if kind in ("direct", "virtual", "library"):
                acc = emap.effect_of(name, c.get("const", False))
                if acc is not None:
                    for a in acc:
                        record(a, state, line, name)
                    # Followed as well when the map says so and its code is in the analysed
                    # units (the fixtures' run does not parse keyspace.cpp: the effect stands).
                    if not (kind == "direct" and emap.follows(name, c.get("const", False))
                            and (c["usr"] in fns or db["by_name"].get(name))):
                        continue
            if kind == "direct":
                # A template's instance has a USR of its own: follow the template by name (every
                # overload of that name, to be safe).
                targets = [c["usr"]] if c["usr"] in fns else db["by_name"].get(name, [])
                for target in targets:
                    visit(target, c, env, state, line)
                if targets or c.get("special"):
                    continue  # followed, or a constructor, destructor or assignment the compiler made
                # Declared in a project namespace (lfdb::, resp::; liblf's are `internal` in the
                # map) but defined in no analysed unit: what it runs is not known. A global C
                # function a project file declares (jemalloc's mallctl, weak) is a library's.
                if "::" in name:
                    record(("world", "write"), state, line,
                           f"{name} (no definition in the analysed translation units)")
            elif kind == "dependent":
                # Resolved only per instantiation: followed by name (dependent_targets).
                found, library = dependent_targets(db, emap, c)
                for target, glob, accesses in found:
                    if target is None:
                        for a in accesses:
                            record(a, state, line, glob)
                        continue
                    const = fns[target].get("const", False)
                    acc = emap.effect_of(fns[target]["name"], const)
                    if acc is not None:
                        for a in acc:
                            record(a, state, line, fns[target]["name"])
                    if acc is None or emap.follows(fns[target]["name"], const):
                        visit(target, c, env, state, line)
                if not found and not library:
                    record(("world", "write"), state, line,
                           f"{c.get('text', name)} (a template's dependent call to '{name}', "
                           "which no project function and no library container has)")
            elif kind == "virtual":
                acc = emap.rule(emap.virtual, name)
                if acc is None:
                    record(("world", "write"), state, line, f"{name} (a virtual call)")
                else:
                    for a in acc:
                        record(a, state, line, f"{name} (virtual, declared in effects.map)")
            elif kind == "library":
                glob = emap.rule(emap.follow, name)
                if glob is None:
                    continue  # a library function touches what it is given, nothing shared
                for target in sorted(db["addressed"]):
                    if target in fns and fnmatch.fnmatchcase(fns[target]["name"], glob):
                        visit(target, {}, env, state, line)
            elif kind == "indirect":
                if c.get("callable"):
                    continue
                acc = emap.rule(emap.indirect, name)
                if acc is None:
                    record(("world", "write"), state, line, f"a call through {name} (a function pointer)")
                else:
                    for a in acc:
                        record(a, state, line, f"a call through {name} (declared in effects.map)")
    return effects


# The member functions of the C++ library's containers, strings, views, smart pointers and
# optionals that a template calls on an object of a dependent type (members.size()): when no
# project function has the name, such a call is the library's, and a library function touches
# only what it is given. Any other name no project function has is the worst case.
LIBRARY_MEMBERS = set("""
    size empty begin end cbegin cend rbegin rend data front back at find count contains
    lower_bound upper_bound equal_range push_back emplace_back pop_back push_front emplace_front
    pop_front insert emplace emplace_hint try_emplace insert_or_assign erase clear reserve resize
    capacity shrink_to_fit swap assign append substr compare starts_with ends_with c_str length
    get reset release value value_or has_value max_size bucket_count load_factor
    """.split())


def dependent_targets(db, emap, call):
    """What a template's dependent call may run: [(usr or None, glob, accesses)], and whether it
    is the library's. By its name: every project function of that name (the union of their
    effects: the template may be instantiated with any of their classes), and the mapped
    functions without a body in the analysed units (Partition::erase...). A call qualified by
    std:: is the library's (a qualified name has no argument-dependent lookup); so is one whose
    name no project function has, when it is a library container's member."""
    name = call["name"]
    if call.get("std") or ("class" in call and not call["ours"]):
        return [], True  # std::move(x), or a member of a library class (map_.count(k))
    if "class" in call:
        # The object's class is known: its member of that name (declared in a base class when
        # the class has none, so then by the name alone).
        own = call["class"] + "::" + name
        found = [(usr, None, None) for usr in db["by_name"].get(own, [])]
        found += [(None, glob, accesses) for glob, _, accesses, _ in emap.effects
                  if glob == own]
        if found:
            return found, False
    found = [(usr, None, None) for usr in db["by_short"].get(name, [])]
    for glob, _, accesses, _ in emap.effects:
        if glob.endswith("::" + name) and not glob.endswith("*"):
            found.append((None, glob, accesses))
    # An operator no project function overloads is the built-in one or the library's.
    return found, name in LIBRARY_MEMBERS or call.get("operator", False)


class Touches:
    """A declaration in lf::hue's terms: globals read and written, the context's access."""

    def __init__(self, name, reads=(), writes=(), context="none", declared=True):
        self.name, self.declared, self.context = name, declared, context
        self.writes = set(writes)
        self.reads = set(reads) - self.writes

    def key(self):
        return (self.declared, self.context, tuple(sorted(self.reads)), tuple(sorted(self.writes)))

    def describe(self):
        if not self.declared:
            return "undeclared"
        parts = [f'reads("{g}")' for g in sorted(self.reads)] + \
                [f'writes("{g}")' for g in sorted(self.writes)]
        if self.context != "none":
            parts.append(f"{self.context}s_context()")
        return "Touches()" + "".join("." + p for p in parts)


def touches_of(effects, emap, name):
    t = Touches(name)
    for (res, acc) in effects:
        if acc == "internal":
            continue
        if res == "world":
            return Touches(name, declared=False)
        if res == "context":
            t.context = max(t.context, acc, key=ORDER.get)
            t.reads.add("keyspace")  # a partition is found through the partition table
        elif res == "every-partition":
            if acc == "write":
                t.writes.add("keyspace")
            else:
                t.context = max(t.context, "read", key=ORDER.get)
                t.reads.add("keyspace")
        else:
            g = emap.alias.get(res, res)
            (t.writes if acc == "write" else t.reads).add(g)
    t.reads -= t.writes
    return t


def uncovered(effect, cls, emap, all_colors):
    """Why the class does not allow the effect, or None when it does."""
    res, acc = effect
    if acc == "internal" or not cls.declared:
        return None
    if res == "world":
        return "an unfollowable call (only an undeclared class allows it)"
    alone = "keyspace" in cls.writes
    if res == "context":
        if ORDER[cls.context] >= ORDER[acc] or alone:
            return None
        return f"{'writes' if acc == 'write' else 'reads'} its keys' entries (the context)"
    if res == "every-partition":
        if alone or (acc == "read" and cls.context != "none" and all_colors):
            return None
        return f"{'writes' if acc == 'write' else 'reads'} every partition (all colors)"
    g = emap.alias.get(res, res)
    if g in cls.writes or (acc == "read" and g in cls.reads):
        return None
    return f"{'writes' if acc == 'write' else 'reads'} global '{g}'" + \
        (f" ({res})" if g != res else "")


def bits(a, b):
    if not a.declared or not b.declared:
        return 1
    x = 0
    if (a.writes & (b.reads | b.writes)) or (b.writes & (a.reads | a.writes)):
        x |= 1
    if "write" in (a.context, b.context) and a.context != "none" and b.context != "none":
        x |= 2
    return x


def explain(a, b, globals_order):
    """lf::hue::HueMatrix::explain's words, over derived declarations."""
    head = f"{a.name} and {b.name}"
    if bits(a, b) == 0:
        return head + ": no conflict"
    clauses = []
    if not a.declared or not b.declared:
        if a is b or a.name == b.name:
            clauses.append(f"on every global: {a.name} is undeclared (an undeclared handler conflicts with everything)")
        elif not a.declared and not b.declared:
            clauses.append("on every global: both are undeclared")
        else:
            who = b.name if a.declared else a.name
            clauses.append(f"on every global: {who} is undeclared (an undeclared handler conflicts with everything)")
    else:
        for g in globals_order:
            aw, bw, ar, br = g in a.writes, g in b.writes, g in a.reads, g in b.reads
            if aw and bw:
                why = "both write it"
            elif aw and br:
                why = f"{a.name} writes it, {b.name} reads it"
            elif bw and ar:
                why = f"{b.name} writes it, {a.name} reads it"
            else:
                continue
            clauses.append(f"on global '{g}': {why}")
    if bits(a, b) & 2:
        aw, bw = a.context == "write", b.context == "write"
        clauses.append("through the context: " + ("both write it" if aw and bw else
                                                  f"{a.name if aw else b.name} writes it"))
    return head + " conflict " + "; ".join(clauses)


def matrix(rows):
    """lf::hue's rendering (HueMatrix::to_string) over the derived declarations."""
    width = max([2] + [len(t.name) for t in rows]) + 2
    pad = lambda s: s.ljust(width)  # noqa: E731
    out = [(pad("") + "".join(pad(t.name) for t in rows)).rstrip()]
    for i, a in enumerate(rows):
        cells = "".join(pad(f"{(bits(a, b) >> 1) & 1}{bits(a, b) & 1}") for b in rows[:i + 1])
        out.append((pad(a.name) + cells).rstrip())
    out.append("cell = <bit 1><bit 0>; bit 0: conflict on a global (never concurrent); "
               "bit 1: conflict through the context (concurrent only on different colors)")
    out += [f"{t.name} is undeclared: it conflicts with everything" for t in rows if not t.declared]
    return "\n".join(out)


def format_path(path):
    lines = []
    for i, (name, loc, line) in enumerate(path):
        arrow = "    " if i == 0 else "      -> "
        if loc is None:
            lines.append(f"{arrow}{name}")
        else:
            at = f" (call at line {line})" if line else ""
            lines.append(f"{arrow}{name}  [{rel(loc)}]{at}")
    return "\n".join(lines)


# ---------------------------------------------------------------- main
def main():
    ap = argparse.ArgumentParser(prog="hue-check", description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(REPO, "build"),
                    help="the build directory holding compile_commands.json")
    ap.add_argument("--map", default=os.path.join(HERE, "effects.map"))
    ap.add_argument("--tu", action="append", help="translation units to analyse (globs from the "
                    "repository root; default: lfdb-server's src/db, src/commands, src/resp)")
    ap.add_argument("--extra", action="append", default=[],
                    help="one more source file, compiled with the first unit's flags (test fixtures)")
    ap.add_argument("--accepted", default=os.path.join(HERE, "accepted.txt"),
                    help="effects vouched for by a reviewer (see the file)")
    ap.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    ap.add_argument("--explain", nargs=2, metavar=("A", "B"), action="append")
    ap.add_argument("--declarations", action="store_true")
    ap.add_argument("--matrix", action="store_true")
    ap.add_argument("--effects", metavar="COMMAND")
    ap.add_argument("--no-cache", action="store_true",
                    help="parse every unit again (the cache lives in BUILD/hue-check-cache)")
    ap.add_argument("--quiet", action="store_true", help="no over-declaration notes")
    args = ap.parse_args()

    t0 = time.monotonic()
    emap = EffectMap(args.map)
    db, units = parse(os.path.join(args.build, "compile_commands.json"),
                      args.tu or DEFAULT_TUS, args.extra, args.jobs, not args.no_cache)
    if db["errors"]:
        print("hue-check: the sources do not parse:\n  " + "\n  ".join(db["errors"][:20]))
        return 2
    classes = {}
    globals_order = []
    for d in db["classes"]:
        classes[d["class"]] = (Touches(d["class"], d["reads"], d["writes"], d["context"]), d["loc"])
        for g in d["reads"] + d["writes"]:
            if g not in globals_order:
                globals_order.append(g)
    if not classes:
        print("hue-check: no class declarations found (build_matrix's add(HueClass::..., Touches()...))")
        return 2
    handlers = {}
    for h in db["handlers"]:
        handlers.setdefault(h["name"], h)
    accepted = load_accepted(args.accepted)
    used = set()
    checked, failures, notes = [], [], []
    for spec in db["commands"]:
        h = handlers.get(spec["name"])
        if h is None or h["usr"] not in db["functions"]:
            continue  # a container, EXEC (the session's own), or a table of another binary
        cls_name = spec["hue"]
        cls, cls_loc = classes.get(cls_name, (Touches(cls_name, declared=False), None))
        effects = derive(db, emap, h["usr"])
        upper = spec["name"].upper()
        for eff in list(effects):
            if (upper, f"{eff[0]}:{eff[1]}") in accepted:
                used.add((upper, f"{eff[0]}:{eff[1]}"))
                del effects[eff]  # vouched for in accepted.txt: not derived, not checked
        derived = touches_of(effects, emap, upper)
        checked.append((spec, h, cls, effects, derived))
        label = extract_label(cls_name)
        for eff, path in sorted(effects.items()):
            why = uncovered(eff, cls, emap, label in emap.all_colors)
            if why:
                failures.append(
                    f"hue-check: {upper} is declared {label} ({rel(spec['loc'])}) but {why}:\n"
                    f"  handler {h['function']} (registered in {h['table']}, {rel(h['loc'])})\n"
                    + format_path(path))
        over = over_declared(cls, derived, label in emap.all_colors, effects)
        if over:
            notes.append(f"hue-check: note: {upper} is declared {label}; {over}")

    for (cmd, eff), (why, where) in sorted(accepted.items()):
        if (cmd, eff) not in used:
            failures.append(f"hue-check: {where}: {cmd} {eff} is accepted but no longer derived: "
                            "remove the line (an acceptance must not outlive its reason)")
    by_name = {spec["name"].upper(): derived for spec, _, _, _, derived in checked}
    if args.effects:
        name = args.effects.upper()
        for spec, h, cls, effects, derived in checked:
            if spec["name"].upper() == name:
                print(f"{name}: handler {h['function']}, declared {extract_label(spec['hue'])}")
                print(f"derived: {derived.describe()}")
                for eff, path in sorted(effects.items()):
                    print(f"  {eff[0]}:{eff[1]}\n" + format_path(path))
                return 0
        print(f"hue-check: no handler for {name}")
        return 2
    every_global = globals_order + sorted(
        set().union(*(t.reads | t.writes for t in by_name.values())) - set(globals_order))
    if args.explain:
        for pair in args.explain:
            a, b = (by_name.get(x.upper()) for x in pair)
            if a is None or b is None:
                print(f"hue-check: unknown command among {pair}")
                return 2
            print(explain(a, b, every_global))
        return 0
    if args.declarations:
        out = {"globals": every_global, "commands": {}}
        for spec, _, _, _, derived in checked:
            out["commands"][derived.name] = {
                "class": extract_label(spec["hue"]), "declared": derived.declared,
                "context": derived.context, "reads": sorted(derived.reads),
                "writes": sorted(derived.writes), "describe": derived.describe()}
        print(json.dumps(out, indent=1, sort_keys=True))
        return 0
    if args.matrix:
        groups = {}
        for spec, _, _, _, derived in checked:
            groups.setdefault(derived.key(), []).append(derived)
        rows = []
        for members in groups.values():
            rep = Touches(members[0].name, members[0].reads, members[0].writes,
                          members[0].context, members[0].declared)
            rows.append((rep, members))
        print(matrix([r for r, _ in rows]))
        print()
        for rep, members in rows:
            print(f"{rep.name} ({rep.describe()}): {' '.join(m.name for m in members)}")
        return 0

    for n in notes if not args.quiet else []:
        print(n)
    for f in failures:
        print(f)
    print(f"hue-check: {len(checked)} handlers checked over {units} translation units "
          f"({db['alone']} without the shared precompiled header), "
          f"{len(failures)} under-declared, {len(notes)} over-declared, "
          f"{len(used)} accepted ({os.path.relpath(args.accepted, REPO)}), "
          f"{time.monotonic() - t0:.1f} s")
    return 1 if failures else 0


def load_accepted(path):
    """accepted.txt: `COMMAND resource:access reason...`, effects the analysis derives only
    because it does not follow values (a read-only variant's flag that keeps it off a shared
    body's write path). Each line says what keeps the access from happening."""
    out = {}
    if not os.path.exists(path):
        return out
    for n, raw in enumerate(open(path), 1):
        if raw.lstrip().startswith("#") or not raw.strip():
            continue
        parts = raw.split(None, 2)
        if len(parts) < 3:
            raise SystemExit(f"{path}:{n}: COMMAND resource:access reason")
        out[(parts[0].upper(), parts[1])] = (parts[2].strip(), f"{os.path.relpath(path, REPO)}:{n}")
    return out


def extract_label(cls_name):
    """kKeyspaceRead -> keyspace-read (commands::to_string's spelling)."""
    out = ""
    for ch in cls_name[1:]:
        out += ("-" + ch.lower()) if ch.isupper() and out else ch.lower()
    return out


def over_declared(cls, derived, all_colors, effects):
    if not cls.declared:
        return f"its code is followable and needs only {derived.describe()}" if derived.declared else None
    if not derived.declared:
        return None
    wider = []
    if ORDER[cls.context] > ORDER[derived.context] and "keyspace" not in derived.writes:
        wider.append(f"context {cls.context} where its code {('only reads it' if derived.context == 'read' else 'touches none')}")
    for g in sorted(cls.writes):
        if g not in derived.writes:
            wider.append(f"writes '{g}' where its code {'only reads it' if g in derived.reads else 'touches none of it'}")
    for g in sorted(cls.reads):
        if g not in derived.reads and g not in derived.writes:
            wider.append(f"reads '{g}' where its code touches none of it")
    return "; ".join(wider) if wider else None


if __name__ == "__main__":
    sys.exit(main())
