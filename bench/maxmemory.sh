#!/usr/bin/env bash
# Throughput and server CPU per request at maxmemory, lfdb-server against redis-server in the
# same run (issue 17; docs/memory.md "## Numbers"). Not part of CI.
#
#   servers   redis-server and lfdb-server (its defaults: --model lf --threads 2), both fresh for
#             each policy, with the same maxmemory and policy. OTHER=path adds a second lfdb
#             binary ("other", e.g. a build of the branch point, for a before/after in one run).
#   fill      redis-benchmark -t set -r 1000000 -d 100 -n FILL -P 16: a working set about 3x a
#             64 MB limit, so every measured write evicts.
#   workloads set-P16   redis-benchmark -c 50 -t set -r 1000000 -d 100 -P 16 -n N16
#             set-P1    the same unpipelined, -n N1
#             get-mix   90% GET and 10% SET at once: two redis-benchmarks side by side (-c 40 GET
#                       and -c 10 SET, -P 16), N16 requests together; req/s from the wall time
#   rounds    ROUNDS rounds; each round runs every workload on every server, the servers'
#             order rotated each round; medians [min-max].
#   CPU       the server's utime+stime from /proc/PID/stat (clock ticks) over the measured
#             requests only, divided by them: µs of server CPU per request.
#
# POLICIES="allkeys-lru allkeys-lfu" MAXMEMORY=64mb ROUNDS=3 N16=400000 N1=40000 FILL=1000000
# Writes a markdown table to stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
BIN=${BIN:-build/bin}
ROUNDS=${ROUNDS:-3}
N16=${N16:-400000}
N1=${N1:-40000}
FILL=${FILL:-1000000}
MAXMEMORY=${MAXMEMORY:-64mb}
POLICIES=${POLICIES:-"allkeys-lru allkeys-lfu"}
WORKLOADS=${WORKLOADS:-"set-P16 set-P1 get-mix"}
TICK=$(getconf CLK_TCK)

trap stop_started EXIT

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
now() { date +%s.%N; }
bench() {  # port n pipeline clients test [extra args] -> requests/s
  local port=$1 n=$2 pl=$3 c=$4 t=$5; shift 5
  redis-benchmark -p "$port" -c "$c" -n "$n" -P "$pl" -t "$t" -r 1000000 -d 100 --csv "$@" 2>/dev/null |
    tail -1 | cut -d, -f2 | tr -d '"'
}
# One measured run: "requests/s µs-per-request".
measure() {  # workload port pid
  local w=$1 port=$2 pid=$3 n t0 t1 c0 c1 q
  c0=$(ticks "$pid")
  case $w in
    set-P16) n=$N16; q=$(bench "$port" "$n" 16 50 set) ;;
    set-P1) n=$N1; q=$(bench "$port" "$n" 1 50 set) ;;
    get-mix)
      n=$N16
      t0=$(now)
      bench "$port" $((n / 10)) 16 10 set >/dev/null &
      local setter=$!
      bench "$port" $((n - n / 10)) 16 40 get >/dev/null
      wait "$setter"
      t1=$(now)
      q=$(echo "$n / ($t1 - $t0)" | bc -l) ;;
  esac
  c1=$(ticks "$pid")
  printf '%.0f %.3f\n' "$q" "$(echo "($c1 - $c0) * 1000000 / $TICK / $n" | bc -l)"
}

declare -A RPS CPU
names=(redis lfdb)
[ -n "${OTHER:-}" ] && names+=(other)
load0=$(cut -d' ' -f1 /proc/loadavg)
for pol in $POLICIES; do
  declare -A PORT PID
  limit=(--maxmemory "$MAXMEMORY" --maxmemory-policy "$pol")
  p=$(free_port); start_redis "$p" "${limit[@]}"; PORT[redis]=$p; PID[redis]=$LAST_PID
  p=$(free_port); start_lfdb "$BIN/lfdb-server" "$p" "${limit[@]}"; PORT[lfdb]=$p; PID[lfdb]=$LAST_PID
  if [ -n "${OTHER:-}" ]; then p=$(free_port); start_lfdb "$OTHER" "$p" "${limit[@]}"; PORT[other]=$p; PID[other]=$LAST_PID; fi
  for s in "${names[@]}"; do bench "${PORT[$s]}" "$FILL" 16 50 set >/dev/null; done  # the fill pass
  for r in $(seq 0 $((ROUNDS - 1))); do
    for w in $WORKLOADS; do
      k=${#names[@]}
      for i in $(seq 0 $((k - 1))); do
        s=${names[$(((i + r) % k))]}
        read -r q c < <(measure "$w" "${PORT[$s]}" "${PID[$s]}")
        RPS[$pol,$w,$s]+="$q "
        CPU[$pol,$w,$s]+="$c "
      done
    done
  done
  for s in "${names[@]}"; do
    echo "$pol $s: evicted_keys $(redis-cli -p "${PORT[$s]}" info stats | tr -d '\r' | awk -F: '/^evicted_keys/ {print $2}'), used_memory $(redis-cli -p "${PORT[$s]}" info memory | tr -d '\r' | awk -F: '/^used_memory:/ {print $2}')" >&2
    stop_pid "${PID[$s]}"
  done
  unset PORT PID
done
load1=$(cut -d' ' -f1 /proc/loadavg)


echo "Machine: $(nproc) cores; $(date -u '+%F %H:%M') UTC; load average $load0 at the start, $load1 at the end."
echo "Command: \`ROUNDS=$ROUNDS N16=$N16 N1=$N1 FILL=$FILL MAXMEMORY=$MAXMEMORY bash bench/maxmemory.sh\`${OTHER:+ (OTHER=$OTHER)}; medians [min-max] of $ROUNDS rounds."
echo
echo "| policy | workload | server | req/s | vs redis | server CPU µs/req | vs redis |"
echo "|---|---|---|---|---|---|---|"
for pol in $POLICIES; do
  for w in $WORKLOADS; do
    rq=$(med "${RPS[$pol,$w,redis]}"); rc=$(med "${CPU[$pol,$w,redis]}")
    for s in "${names[@]}"; do
      q=$(med "${RPS[$pol,$w,$s]}"); c=$(med "${CPU[$pol,$w,$s]}")
      printf '| %s | %s | %s | %.0f [%.0f-%.0f] | %.2fx | %.2f [%.2f-%.2f] | %.2fx |\n' "$pol" "$w" "$s" \
        "$q" "$(lo "${RPS[$pol,$w,$s]}")" "$(hi "${RPS[$pol,$w,$s]}")" "$(echo "$q / $rq" | bc -l)" \
        "$c" "$(lo "${CPU[$pol,$w,$s]}")" "$(hi "${CPU[$pol,$w,$s]}")" "$(echo "$c / $rc" | bc -l)"
    done
  done
done
