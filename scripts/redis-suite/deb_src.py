#!/usr/bin/python3
"""Prints a deb822 stanza of `deb-src` entries mirroring the machine's enabled `deb` entries.

apt-get source needs deb-src entries, and a stock Debian 12 machine has none. Rather than naming a
mirror in the repository, this reads the apt sources the machine already uses (the one-line
format of sources.list / *.list and the deb822 format of *.sources) and repeats each binary entry
as a source entry with the same URIs, suites, components and keyring. Prints nothing when there is
no binary entry to mirror.
"""
import glob
import sys


def one_line_entries(path):
    """`deb [opts] uri suite comp...` lines of the one-line format."""
    with open(path, encoding="utf-8") as f:
        for line in f:
            words = line.split("#", 1)[0].split()
            if not words or words[0] != "deb":
                continue
            words = words[1:]
            options = {}
            if words and words[0].startswith("["):
                opts = []
                while words:
                    w = words.pop(0)
                    opts.append(w)
                    if w.endswith("]"):
                        break
                for o in " ".join(opts).strip("[] ").split():
                    if "=" in o:
                        k, v = o.split("=", 1)
                        options[k.lower()] = v
            if len(words) < 2:
                continue
            entry = {"uris": words[0], "suites": words[1], "components": " ".join(words[2:])}
            if "signed-by" in options:
                entry["signed-by"] = options["signed-by"]
            yield entry


def deb822_stanzas(path):
    """Stanzas of the deb822 format as {lowercase field: value} (continuation lines kept)."""
    stanza, field = {}, None
    with open(path, encoding="utf-8") as f:
        for raw in f.read().splitlines() + [""]:
            if raw.startswith("#"):
                continue
            if not raw.strip():
                if stanza:
                    yield stanza
                stanza, field = {}, None
            elif raw[0] in " \t" and field:
                stanza[field] += "\n" + raw
            elif ":" in raw:
                field, value = raw.split(":", 1)
                field = field.strip().lower()
                stanza[field] = value.strip()


def deb822_entries(path):
    for s in deb822_stanzas(path):
        if "deb" not in s.get("types", "").split():
            continue
        if s.get("enabled", "yes").lower() == "no":
            continue
        entry = {k: s[k] for k in ("uris", "suites", "components", "signed-by") if k in s}
        if "uris" in entry and "suites" in entry:
            yield entry


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else "/etc/apt"
    entries = []
    for path in [f"{root}/sources.list"] + sorted(glob.glob(f"{root}/sources.list.d/*.list")):
        try:
            entries += one_line_entries(path)
        except FileNotFoundError:
            pass
    for path in sorted(glob.glob(f"{root}/sources.list.d/*.sources")):
        entries += deb822_entries(path)
    stanzas = []
    for e in entries:
        lines = ["Types: deb-src", f"URIs: {e['uris']}", f"Suites: {e['suites']}"]
        if e.get("components"):
            lines.append(f"Components: {e['components']}")
        if e.get("signed-by"):
            lines.append(f"Signed-By: {e['signed-by']}")
        stanzas.append("\n".join(lines))
    if stanzas:
        print("\n\n".join(stanzas))


if __name__ == "__main__":
    main()
