#!/usr/bin/env bash
# GEOSEARCH over a big geo set: lfdb-server against redis-server in the same run (not part of
# CI). Every server gets the same 1M points (POINTS=...), uniform over about 200 km x 200 km
# around Palermo, so a 1 km circle holds about 80 of them; then redis-benchmark sends
#   GEOSEARCH g FROMLONLAT 13.4 38.1 BYRADIUS 1 km
# N times from 4 clients, ROUNDS rounds, the servers' order rotated each round. Per server:
# requests/s (redis-benchmark) and server CPU per search (utime+stime from /proc/PID/stat over
# the run, / N). OTHER=path adds a second lfdb binary (e.g. a build before a change), timed over
# N_OTHER requests (a full scan per search is thousands of times slower).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
BIN=${BIN:-build/bin}
POINTS=${POINTS:-1000000}
ROUNDS=${ROUNDS:-3}
N=${N:-20000}
N_OTHER=${N_OTHER:-$N}
TICK=$(getconf CLK_TCK)
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]:-}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

/usr/bin/python3 - "$POINTS" >"$work/load.resp" <<'PY'
import random, sys
rnd, n, batch = random.Random(1), int(sys.argv[1]), []
out = sys.stdout.buffer
def flush():
    args = [b"GEOADD", b"g"] + batch
    out.write(b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args))
for i in range(n):
    batch += [b"%.6f" % (13.4 + rnd.uniform(-1.15, 1.15)), b"%.6f" % (38.1 + rnd.uniform(-0.9, 0.9)), b"m%d" % i]
    if len(batch) >= 3000: flush(); batch = []
if batch: flush()
PY

names=(); ports=(); spids=()
add_server() {  # name port pid
  names+=("$1"); ports+=("$2"); spids+=("$3")
  redis-cli -p "$2" --pipe <"$work/load.resp" >/dev/null
  [ "$(redis-cli -p "$2" zcard g)" = "$POINTS" ] || { echo "$1: load failed" >&2; exit 1; }
}
p=$(free_port); redis-server --port "$p" --save '' --appendonly no >/dev/null 2>&1 & pids+=($!); wait_port "$p"
add_server redis "$p" "$!"
p=$(free_port); "$BIN/lfdb-server" --port "$p" >/dev/null 2>&1 & pids+=($!); wait_port "$p"
add_server lfdb "$p" "$!"
if [ -n "${OTHER:-}" ]; then
  p=$(free_port); "$OTHER" --port "$p" >/dev/null 2>&1 & pids+=($!); wait_port "$p"
  add_server lfdb-other "$p" "$!"
fi
# Every server must answer the search alike before it is timed.
want=$(redis-cli -p "${ports[0]}" geosearch g fromlonlat 13.4 38.1 byradius 1 km)
for i in "${!names[@]}"; do
  [ "$(redis-cli -p "${ports[$i]}" geosearch g fromlonlat 13.4 38.1 byradius 1 km)" = "$want" ] ||
    echo "note: ${names[$i]}'s unsorted reply differs from redis's" >&2
done
ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
declare -A rps cpu
for r in $(seq "$ROUNDS"); do
  for k in "${!names[@]}"; do
    i=$(( (k + r) % ${#names[@]} ))
    n=$N; [ "${names[$i]}" = lfdb-other ] && n=$N_OTHER
    t0=$(ticks "${spids[$i]}")
    q=$(redis-benchmark -p "${ports[$i]}" -c 4 -n "$n" -q geosearch g fromlonlat 13.4 38.1 byradius 1 km |
        tr '\r' '\n' | sed -n 's/.*: \([0-9.]*\) requests per second.*/\1/p' | tail -1)
    t1=$(ticks "${spids[$i]}")
    rps[${names[$i]}]+="$q "
    cpu[${names[$i]}]+="$(awk -v d=$((t1 - t0)) -v n="$n" -v t="$TICK" 'BEGIN {printf "%.1f", d / t * 1e6 / n}') "
  done
done
echo "| server | GEOSEARCH 1 km over $POINTS points: requests/s (median of $ROUNDS) | server CPU per search, us |"
echo "|---|---|---|"
for n in "${names[@]}"; do
  echo "| $n | $(tr ' ' '\n' <<<"${rps[$n]}" | grep . | median) | $(tr ' ' '\n' <<<"${cpu[$n]}" | grep . | median) |"
done
