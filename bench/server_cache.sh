#!/usr/bin/env bash
# Simulated cache misses per request, lfdb-server against redis-server (not part of CI): where a
# server's time goes beyond its instruction count. This machine's virtual CPUs expose no hardware
# counters to perf, so callgrind's cache simulation (--cache-sim=yes: first-level and last-level
# caches, the machine's sizes) stands in. Each server runs under callgrind with one thread of work;
# KEYS keys are written first (SET -r KEYS, 2 x KEYS requests, so most keys exist and the index is
# as large as in bench/server_cpu.sh), the counters are zeroed, N requests of
# `redis-benchmark -c 50 -r KEYS -P p -t T` run, the counters are dumped. Per request: instructions
# (Ir), first-level data misses (D1mr+D1mw), last-level misses (DLmr+DLmw, the ones that go to
# memory), and the TOP functions by first-level read misses (with the machine's
# 32 MiB last-level cache simulated, KEYS=100000 fits in it: the first level is where they differ).
#   SERVERS="lfdb redis"  BIN=build/bin/lfdb-server  ARGS="--model reactor --threads 1"
#   KEYS=100000  N=20000  TESTS="get set"  PIPES="1 16"  TOP=8
# Prints markdown.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
BIN=${BIN:-build/bin/lfdb-server}
ARGS=${ARGS:---model reactor --threads 1}
SERVERS=${SERVERS:-lfdb redis}
KEYS=${KEYS:-100000}
N=${N:-20000}
TESTS=${TESTS:-get set}
PIPES=${PIPES:-1 16}
TOP=${TOP:-8}
DIR=$(mktemp -d /tmp/lfdb-cache.XXXXXX)
VP=
cleanup() { [ -n "$VP" ] && kill "$VP" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$DIR"; }
trap cleanup EXIT

measure() {  # server test pipeline -> "Ir D1 LL" per request, then "LL function" lines
  local s=$1 t=$2 p=$3 port out
  port=$(free_port); out=$DIR/cg-$s-$t-$p.out
  if [ "$s" = lfdb ]; then
    # shellcheck disable=SC2086
    valgrind --tool=callgrind --cache-sim=yes --callgrind-out-file="$out" "$BIN" --port "$port" $ARGS >"$DIR/vg.log" 2>&1 &
  else
    valgrind --tool=callgrind --cache-sim=yes --callgrind-out-file="$out" redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no >"$DIR/vg.log" 2>&1 &
  fi
  VP=$!
  for _ in $(seq 600); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
  redis-benchmark -p "$port" -c 50 -n $((2 * KEYS)) -P 16 -r "$KEYS" -t set -q >/dev/null 2>&1
  redis-benchmark -p "$port" -c 50 -n 5000 -P "$p" -r "$KEYS" -t "$t" -q >/dev/null 2>&1
  callgrind_control -z "$VP" >/dev/null 2>&1
  redis-benchmark -p "$port" -c 50 -n "$N" -P "$p" -r "$KEYS" -t "$t" -q >/dev/null 2>&1
  callgrind_control -d "$VP" >/dev/null 2>&1; [ -n "${KEEP:-}" ] && cp "$out.1" "$KEEP/" 
  redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true
  wait "$VP" 2>/dev/null || true; VP=
  # events: Ir Dr Dw I1mr D1mr D1mw ILmr DLmr DLmw
  awk -v n="$N" '/^totals:/ {printf "%.0f %.1f %.2f\n", $2 / n, ($6 + $7) / n, ($9 + $10) / n}' "$out.1"
  # First-level read misses by function: the path stripped, the parts inlined from headers merged
  # into the function they were inlined into, long template names cut.
  callgrind_annotate --auto=no --show=D1mr --sort=D1mr --threshold=100 "$out.1" 2>/dev/null |
    awk -v n="$N" '/^ *[0-9,]+ \( *[0-9.]+%\)  / {
        c = $1; gsub(",", "", c); line = $0
        if (line ~ /PROGRAM TOTALS/) { total = c; next }
        sub(/^ *[0-9,]+ \( *[0-9.]+%\)  /, "", line); sub(/ \[[^]]*\]$/, "", line)
        if (match(line, /^[^ :]*[\/?][^ :]*:/)) line = substr(line, RLENGTH + 1)
        sub(/\(.*$/, "", line)
        if (line ~ /_Hashtable</) line = "std::unordered_map lookup"
        if (length(line) > 60) line = substr(line, 1, 60) "..."
        cost[line] += c }
      END { for (f in cost) if (cost[f] < total / 2) printf "%.2f %s\n", cost[f] / n, f }' |
    sort -gr | head -"$TOP"
}

echo "Simulated caches (callgrind --cache-sim=yes), $KEYS keys, \`redis-benchmark -c 50 -r $KEYS -n $N -P p -t T\` after the keys are written and a 5000-request warm-up."
echo "lfdb-server $ARGS; redis-server --save \"\" --appendonly no. Per request, whole process."
echo
echo "| test | pipeline | server | instructions | D1 misses | LL misses |"
echo "|---|---|---|---|---|---|"
for t in $TESTS; do
  for p in $PIPES; do
    for s in $SERVERS; do
      measure "$s" "$t" "$p" >"$DIR/res-$s-$t-$p"
      read -r ir d1 ll < "$DIR/res-$s-$t-$p"
      echo "| $t | $p | $s | $ir | $d1 | $ll |"
    done
  done
done
echo
echo "First-level read misses per request by function (the TOP functions):"
for t in $TESTS; do
  for p in $PIPES; do
    for s in $SERVERS; do
      echo
      echo "$t -P $p, $s: $(tail -n +2 "$DIR/res-$s-$t-$p" | awk '{f=$2; for (i=3;i<=NF;i++) f=f" "$i; printf "%s%s %s", sep, f, $1; sep="; "}')"
    done
  done
done
