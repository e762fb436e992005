#!/usr/bin/env bash
# Where a proxy spends its work per request: lfdb-gateway (async, 2 threads) against twemproxy
# (Debian's nutcracker) over the same two redis-servers, with counts that do not drift:
#   - instructions per request: callgrind, two runs with different request counts, the
#     difference divided by the difference in requests (start-up and connection set-up cancel);
#   - system calls per request: strace -c -f attached for one redis-benchmark run;
#   - context switches per request: /proc/PID/task/*/status before and after one run (no tool
#     attached), with -c 200 as in bench/gateway.sh.
# Prints markdown. Not part of CI.
set -euo pipefail
BUILD=${BUILD:-build}
# Gateways to profile, as name=binary[=flags,comma,separated] (e.g. a build of the previous
# commit as "before"); without flags they get GW_ARGS.
GATEWAYS=${GATEWAYS:-lfdb=$BUILD/bin/lfdb-gateway}
GW_ARGS=${GW_ARGS:---threads 2 --forwarding async}
N1=${N1:-20000}       # callgrind: requests in the short run
N2=${N2:-60000}       # ... and in the long one
NS=${NS:-100000}      # strace / context switches: requests per run
CLIENTS=${CLIENTS:-50}
PIPE=${PIPE:-1}
DIR=$(mktemp -d /tmp/lfdb-gw-prof.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$DIR"; }
trap cleanup EXIT
port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 600); do redis-cli -p "$1" ping >/dev/null 2>&1 && return 0; sleep 0.1; done; echo "port $1 not up" >&2; exit 1; }

R1=$(port); R2=$(port)
for p in $R1 $R2; do
  redis-server --port "$p" --bind 127.0.0.1 --save "" --appendonly no --daemonize no --dir "$DIR" >"$DIR/redis-$p.log" 2>&1 &
  pids+=($!); wait_port "$p"
done
cat >"$DIR/nc.yml.in" <<YML
pool:
  listen: 127.0.0.1:PORT
  hash: fnv1a_64
  hash_tag: "{}"
  distribution: ketama
  redis: true
  timeout: 2000
  servers:
   - 127.0.0.1:$R1:1
   - 127.0.0.1:$R2:1
YML

# start NAME PORT [wrapper...]: runs the contender, sets PID
start() {
  local name=$1 p=$2; shift 2
  sed "s/PORT/$p/" "$DIR/nc.yml.in" >"$DIR/$name-$p.yml"
  if [ "$name" = nutcracker ]; then
    "$@" nutcracker -c "$DIR/$name-$p.yml" -o "$DIR/$name-$p.log" 2>>"$DIR/$name-$p.err" &
  else
    local gw=${GWBIN[$name]} args=${GWARGS[$name]:-$GW_ARGS}
    # shellcheck disable=SC2086
    "$@" "$gw" --config "$DIR/$name-$p.yml" --port "$p" $args 2>>"$DIR/$name-$p.err" &
  fi
  PID=$!; pids+=("$PID"); wait_port "$p"
}
stop() {  # PID: SIGINT ends both cleanly (callgrind then writes its file)
  kill -INT "$1" 2>/dev/null || true
  for _ in $(seq 600); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
  kill -9 "$1" 2>/dev/null || true
}
load() {  # PORT N [clients]
  redis-benchmark -p "$1" -c "${3:-$CLIENTS}" -n "$2" -r 100000 -P "$PIPE" -t get,set -q >/dev/null 2>&1
}

declare -A IR SYS CS CPU GWBIN
NAMES=(nutcracker)
declare -A GWARGS
for g in $GATEWAYS; do
  IFS='=' read -r gname gbin gflags <<<"$g"
  NAMES+=("$gname"); GWBIN[$gname]=$gbin
  GWARGS[$gname]=${gflags:+$(echo "$gflags" | tr ',' ' ')}
done
for name in "${NAMES[@]}"; do
  # Instructions: callgrind, two request counts (QUICK=1 skips callgrind and strace,
  # NO_CALLGRIND=1 only callgrind).
  tot=(0 0)
  [ -n "${QUICK:-}${NO_CALLGRIND:-}" ] || for n in "$N1" "$N2"; do
    p=$(port)
    start "$name" "$p" valgrind --tool=callgrind --callgrind-out-file="$DIR/cg-$name-$n.out"
    load "$p" "$n"
    stop "$PID"
    wait "$PID" 2>/dev/null || true
    t=$(grep -h '^totals:' "$DIR"/cg-"$name"-"$n".out* | awk '{s+=$2} END {print s}')
    tot=("${tot[1]}" "$t")
  done
  # redis-benchmark -t get,set: n GETs and n SETs.
  IR[$name]=$(awk -v a="${tot[0]}" -v b="${tot[1]}" -v n1="$N1" -v n2="$N2" 'BEGIN {printf "%.0f", (b-a)/(2*(n2-n1))}')
  [ -n "${KEEP:-}" ] && cp "$DIR/cg-$name-$N2.out"* "$KEEP"/ 2>/dev/null

  # System calls: strace -c -f for one run.
  p=$(port)
  start "$name" "$p"
  touch "$DIR/strace-$name.txt"
  if [ -z "${QUICK:-}" ]; then
    strace -c -f -p "$PID" -o "$DIR/strace-$name.txt" &
    SPID=$!
    sleep 1
    load "$p" "$NS"
    kill -INT "$SPID"; wait "$SPID" 2>/dev/null || true
  fi
  # Columns: % time, seconds, usecs/call, calls, [errors,] syscall; only calls >= 0.01/request.
  SYS[$name]=$(awk -v n="$NS" '/^ *[0-9.]+ +[0-9.]+ +[0-9]+ +[0-9]+/ && $NF != "total" {c[$NF]+=$4; t+=$4}
    END {printf "total=%.2f", t/(2*n); for (k in c) if (c[k]/(2*n) >= 0.01) printf " %s=%.2f", k, c[k]/(2*n)}' "$DIR/strace-$name.txt")

  # Context switches and CPU time: no tool attached, -c 200. CPU of the proxy and of both
  # redis-servers from /proc/PID/stat (utime+stime, clock ticks), of redis-benchmark from
  # /usr/bin/time: where the two shared cores go per request.
  cs() { cat /proc/"$1"/task/*/status | awk '/^(voluntary|nonvoluntary)_ctxt_switches/ {s+=$2} END {print s}'; }
  ticks() { local t=0; for q in "$@"; do t=$((t + $(awk '{print $14 + $15}' /proc/"$q"/stat))); done; echo "$t"; }
  c0=$(cs "$PID"); p0=$(ticks "$PID"); r0=$(ticks "${pids[0]}" "${pids[1]}")
  /usr/bin/time -f "%U %S %e" -o "$DIR/time-$name" redis-benchmark -p "$p" -c 200 -n "$NS" -r 100000 -P "$PIPE" -t get,set -q >/dev/null 2>&1
  c1=$(cs "$PID"); p1=$(ticks "$PID"); r1=$(ticks "${pids[0]}" "${pids[1]}")
  CS[$name]=$(awk -v a="$c0" -v b="$c1" -v n="$NS" 'BEGIN {printf "%.3f", (b-a)/(2*n)}')
  hz=$(getconf CLK_TCK)
  CPU[$name]=$(awk -v p="$((p1 - p0))" -v r="$((r1 - r0))" -v hz="$hz" -v n="$NS" -v t="$(cat "$DIR/time-$name")" 'BEGIN {
    split(t, a, " "); us = 1e6 / (2 * n)
    printf "%.1f | %.1f | %.1f | %.1f | %.0f", p / hz * us, r / hz * us, (a[1] + a[2]) * us, (p / hz + r / hz + a[1] + a[2]) * us, 2 * n / a[3] }')
  stop "$PID"
done

echo "redis-benchmark -c $CLIENTS -P $PIPE -t get,set -r 100000 over two redis-servers; lfdb-gateway $GW_ARGS ($GATEWAYS)"
echo
echo "| proxy | instructions/request (callgrind, ($N2-$N1) x 2 requests) | syscalls/request (strace -c -f, $NS x 2) | context switches/request (-c 200) |"
echo "|---|---|---|---|"
for name in "${NAMES[@]}"; do
  echo "| $name | ${IR[$name]} | $(echo "${SYS[$name]}" | awk '{print $1}' | cut -d= -f2) | ${CS[$name]} |"
done
echo
echo "CPU microseconds per request in the -c 200 run (user+system; the two cores give 2,000,000 per second):"
echo
echo "| proxy | proxy | both redis-servers | redis-benchmark | all | requests/s in that run |"
echo "|---|---|---|---|---|---|"
for name in "${NAMES[@]}"; do
  echo "| $name | ${CPU[$name]} |"
done
echo
for name in "${NAMES[@]}"; do
  echo "syscalls per request, $name: ${SYS[$name]}"
  echo
done
