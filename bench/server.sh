#!/usr/bin/env bash
# lfdb-server against Debian's redis-server 7.0, side by side in one run (not part of CI):
#   1. redis-benchmark -c 50 -t set,get, with and without -P 16, interleaved, ROUNDS rounds, medians:
#      requests/s, and each server's CPU time per request (utime+stime from /proc/PID/stat over
#      the run / N: the figure the client's share of the two cores does not blur)
#   2. memory per idle connection at 10,000 connections
#   3. server-side instructions per GET (callgrind; repeatable on a noisy machine)
#   4. --data colors vs --data global on a multi-key workload (MSET of 4 keys)
# Writes the markdown report to stdout; `make bench-server` saves it in docs/bench-runs/server.md.
# ONLY_THROUGHPUT=1 stops after section 1. Per function: bench/server_profile.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
BIN=build/bin
ROUNDS=${ROUNDS:-3}
N=${N:-200000}
THREADS=${THREADS:-2}
ulimit -n 20000 || true

pids=()
cleanup() { for p in "${pids[@]:-}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT


start_lfdb() {  # port, extra args...
  local port=$1; shift
  $BIN/lfdb-server --port "$port" --threads "$THREADS" "$@" >/dev/null 2>&1 &
  pids+=($!); LAST_PID=$!; wait_port "$port"
}
start_redis() {
  redis-server --port "$1" --bind 127.0.0.1 --save "" --appendonly no --maxclients 20000 >/dev/null 2>&1 &
  pids+=($!); LAST_PID=$!; wait_port "$1"
}

rps() {  # port test pipeline -> requests per second
  redis-benchmark -p "$1" -c 50 -n "$N" -P "$3" -t "$2" --csv 2>/dev/null | tail -1 | cut -d, -f2 | tr -d '"'
}
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }  # utime + stime, clock ticks
HZ=$(getconf CLK_TCK)
rps_cpu() {  # port pid test pipeline -> "requests/s CPU-microseconds-per-request"
  local t0 r t1
  t0=$(ticks "$2"); r=$(rps "$1" "$3" "$4"); t1=$(ticks "$2")
  echo "$r $(echo "($t1 - $t0) * 1000000 / $HZ / $N" | bc -l)"
}

echo "# lfdb-server vs redis-server $(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/')"
echo
echo "Machine: $(nproc) cores, $(uname -sr); $(date -u +%F), load average $(cut -d" " -f1-3 /proc/loadavg) at the start. lfdb-server --threads $THREADS --model lf (lazy promotion: the default)."
echo "Commands: \`redis-benchmark -c 50 -n $N -t T [-P 16]\`, $ROUNDS interleaved rounds, medians."
echo

LP=$(free_port); start_lfdb "$LP"; LFDB_PID=$LAST_PID
RP=$(free_port); start_redis "$RP"; REDIS_PID=$LAST_PID

echo "## Throughput (requests/s)"
echo
echo "| test | pipeline | lfdb-server | redis-server | ratio | lfdb CPU µs/req | redis CPU µs/req | CPU ratio |"
echo "|---|---|---|---|---|---|---|---|"
for t in set get; do
  for p in 1 16; do
    l=(); r=(); lc=(); rc=()
    for _ in $(seq "$ROUNDS"); do
      read -r a b < <(rps_cpu "$LP" "$LFDB_PID" $t $p); l+=("$a"); lc+=("$b")
      read -r a b < <(rps_cpu "$RP" "$REDIS_PID" $t $p); r+=("$a"); rc+=("$b")
    done
    lm=$(printf '%s\n' "${l[@]}" | median); rm=$(printf '%s\n' "${r[@]}" | median)
    lcm=$(printf '%s\n' "${lc[@]}" | median); rcm=$(printf '%s\n' "${rc[@]}" | median)
    printf '| %s | %s | %.0f | %.0f | %.2fx | %.2f | %.2f | %.2fx |\n' "$t" "$p" "$lm" "$rm" \
      "$(echo "$lm / $rm" | bc -l)" "$lcm" "$rcm" "$(echo "$lcm / $rcm" | bc -l)"
  done
done
echo
[ -n "${ONLY_THROUGHPUT:-}" ] && exit 0
echo "## Memory per idle connection (10,000 connections)"
echo
echo '```'
echo "lfdb-server:  $(/usr/bin/python3 bench/idle_connections.py "$LP" "$LFDB_PID" 10000)"
echo "redis-server: $(/usr/bin/python3 bench/idle_connections.py "$RP" "$REDIS_PID" 10000)"
echo '```'
stop_pid "$LFDB_PID"; stop_pid "$REDIS_PID"

echo
echo "## Instructions per GET (callgrind, server side)"
echo
# Two runs per server with different request counts; the difference cancels start-up and
# shutdown, leaving the cost of the extra GETs.
per_get() {  # kind
  local counts=(5000 15000) totals=()
  for n in "${counts[@]}"; do
    local port; port=$(free_port)
    local out; out=$(mktemp)
    if [ "$1" = lfdb ]; then
      valgrind --tool=callgrind --callgrind-out-file="$out" $BIN/lfdb-server --port "$port" --threads 1 --model reactor >/dev/null 2>&1 &
    else
      valgrind --tool=callgrind --callgrind-out-file="$out" redis-server --port "$port" --save "" --appendonly no >/dev/null 2>&1 &
    fi
    local vp=$!
    for _ in $(seq 400); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
    redis-cli -p "$port" set key:000000000001 xxx >/dev/null
    redis-benchmark -p "$port" -c 1 -n "$n" -t get -r 1 -q >/dev/null 2>&1
    redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true
    wait "$vp" 2>/dev/null || true
    totals+=("$(grep -E '^(summary|totals):' "$out" | head -1 | awk '{print $2}')")
    rm -f "$out"
  done
  echo "(${totals[1]} - ${totals[0]}) / (${counts[1]} - ${counts[0]})" | bc
}
lg=$(per_get lfdb); rg=$(per_get redis)
echo "| server | instructions per GET | ratio |"
echo "|---|---|---|"
echo "| lfdb-server (reactor, 1 thread) | $lg | $(echo "scale=2; $lg / $rg" | bc)x |"
echo "| redis-server | $rg | 1.00x |"

echo
echo "## --data colors vs --data global (MSET of 4 keys, 50 clients)"
echo
echo "| data | MSET requests/s |"
echo "|---|---|"
for d in colors global; do
  p=$(free_port); start_lfdb "$p" --data "$d"; pid=$LAST_PID
  v=(); for _ in $(seq "$ROUNDS"); do v+=("$(rps "$p" mset 1)"); done
  printf '| %s | %.0f |\n' "$d" "$(printf '%s\n' "${v[@]}" | median)"
  stop_pid "$pid"
done

echo
# The handle sets' section (its own servers and rounds).
bash bench/handle_sets.sh
