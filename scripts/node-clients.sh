#!/usr/bin/env bash
# Installs the npm test clients (tests/clients/node: ioredis, node-redis, BullMQ) into a build
# tree: node-clients.sh <dir of package.json and package-lock.json> <destination dir>.
# `npm ci` from the pinned lock, once: a stamp holding the lock's sha256 skips the install while
# the lock is unchanged. ctest runs it as the fixture node_clients.install before the tests that
# drive servers with these clients (tests/integration/test_node_clients.py).
set -euo pipefail
src=$1
dest=$2
want=$(sha256sum "$src/package-lock.json" | cut -d' ' -f1)
stamp=$dest/node_modules/.lfdb-lock-sha256

[ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && exit 0
for tool in node npm; do
  command -v "$tool" >/dev/null || { echo "node-clients: $tool not found (scripts/setup.sh installs it)" >&2; exit 1; }
done

mkdir -p "$dest"
exec 9>"$dest/.install-lock"
flock 9
[ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && exit 0  # another run installed it meanwhile
cp "$src/package.json" "$src/package-lock.json" "$dest/"
# --ignore-scripts: no package's install script runs (msgpackr's optional native build among
# them; it falls back to plain JavaScript).
(cd "$dest" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
echo "$want" > "$stamp"
echo "node-clients: installed $(cd "$dest" && node -p 'Object.entries(require("./package.json").dependencies).map(([n, v]) => n + "@" + v).join(" ")') into $dest"
