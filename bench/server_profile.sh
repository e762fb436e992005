#!/usr/bin/env bash
# Where lfdb-server spends its instructions per request, by function (callgrind counts exactly,
# so a loaded machine does not move them). For each test (get, set) and pipeline depth (1, 16):
# one server under callgrind with one serving thread, a warm-up, the counters zeroed
# (callgrind_control -z), N requests from redis-benchmark (one connection; the key exists, so
# GET hits), the counters dumped; instructions of the whole process over that window / N, and
# the functions' exclusive cost per request (code inlined into a function counts as its own).
#   MODEL=reactor|lf|...  (default: the server's default)  N=20000  TOP=40  TESTS="get set"
#   PIPES="1 16"  BIN=build/bin/lfdb-server  ARGS="extra server flags"  KEEP=dir (keep dumps)
#   TTL=1 (the key gets a deadline before the warm-up)
# Prints markdown. Not part of CI.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
BIN=${BIN:-build/bin/lfdb-server}
N=${N:-20000}
TOP=${TOP:-40}
TESTS=${TESTS:-get set}
PIPES=${PIPES:-1 16}
DIR=$(mktemp -d /tmp/lfdb-srv-prof.XXXXXX)
VP=
cleanup() { [ -n "$VP" ] && kill "$VP" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$DIR"; }
trap cleanup EXIT
model_args=(--threads 1)
[ -n "${MODEL:-}" ] && model_args+=(--model "$MODEL")

# Exclusive cost per request by function (dump, requests): the file and the object stripped,
# the parts inlined from headers merged into the function they were inlined into.
by_function() {
  callgrind_annotate --auto=no --threshold=100 "$1" 2>/dev/null |
    awk -v n="$2" '/^ *[0-9,]+ \( *[0-9.]+%\)  / {
        c = $1; gsub(",", "", c); line = $0
        if (line ~ /PROGRAM TOTALS/) { total = c; next }
        sub(/^ *[0-9,]+ \( *[0-9.]+%\)  /, "", line); sub(/ \[[^]]*\]$/, "", line)
        if (match(line, /^[^ :]*[\/?][^ :]*:/)) line = substr(line, RLENGTH + 1)
        sub(/\(.*$/, "", line)            # the name without its parameters
        cost[line] += c }
      # (the threads entry frames are listed with their callees: they carry nearly the total)
      END { for (f in cost) if (cost[f] < total / 2) printf "%.1f %s\n", cost[f] / n, f }' |
    sort -gr | awk -v top="$TOP" 'NR <= top'
}

profile() {  # test pipeline -> prints "total per request" then "cost function" lines
  local t=$1 p=$2 port out
  port=$(free_port); out=$DIR/cg-$t-$p.out
  # shellcheck disable=SC2086
  valgrind --tool=callgrind --callgrind-out-file="$out" "$BIN" --port "$port" "${model_args[@]}" ${ARGS:-} >"$DIR/vg.log" 2>&1 &
  VP=$!
  for _ in $(seq 600); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
  redis-cli -p "$port" set key:__rand_int__ xxx >/dev/null
  # TTL=1: the key has a deadline (a GET then reads the expires index too; SET clears it)
  [ -n "${TTL:-}" ] && redis-cli -p "$port" expire key:__rand_int__ 1000000 >/dev/null
  redis-benchmark -p "$port" -c 1 -n 2000 -P "$p" -t "$t" -q >/dev/null 2>&1
  callgrind_control -z "$VP" >/dev/null
  redis-benchmark -p "$port" -c 1 -n "$N" -P "$p" -t "$t" -q >/dev/null 2>&1
  callgrind_control -d "$VP" >/dev/null
  redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true
  wait "$VP" 2>/dev/null || true; VP=
  [ -n "${KEEP:-}" ] && cp "$out.1" "$KEEP/cg-$t-$p.out"
  awk -v n="$N" '/^totals:/ {printf "%.0f\n", $2 / n}' "$out.1"
  by_function "$out.1" "$N"
}

# ANNOTATE="dump..." N=requests: only the by-function tables of dumps kept with KEEP.
if [ -n "${ANNOTATE:-}" ]; then
  for f in $ANNOTATE; do echo "### $f"; by_function "$f" "$N"; done
  exit 0
fi

echo "lfdb-server ${model_args[*]} ${ARGS:-} under callgrind; \`redis-benchmark -c 1 -n $N -P p -t T\` after a 2000-request warm-up; instructions per request"
for t in $TESTS; do
  for p in $PIPES; do
    profile "$t" "$p" >"$DIR/res"
    echo
    echo "### $t, pipeline $p: $(head -1 "$DIR/res") instructions per request (whole process)"
    echo
    echo "| instructions/request | function (exclusive, inlined code included) |"
    echo "|---|---|"
    tail -n +2 "$DIR/res" | awk '{c=$1; $1=""; sub(/^ /, ""); printf "| %s | `%s` |\n", c, $0}'
  done
done
