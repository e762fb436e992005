#!/usr/bin/env bash
# Server CPU time per request, lfdb-server against redis-server, measured so that the machine's
# load blurs it as little as it can (not part of CI). The figure is the server's own CPU over a
# fixed number of requests, not over a fixed time, so a starved client changes how long a run
# takes but not what it asks for.
#
#   servers   redis-server (one thread of work), lfdb-server --model reactor --threads 1 (one
#             thread of work, like redis), lfdb-server --model lf --threads 2 (two), the same
#             with --handle-set uring-completion (lf-uring; URING=0 leaves it out); each with
#             its defaults otherwise. Extra lfdb binaries: OTHER=path (adds "lf-other",
#             "reactor-other" and "lf-uring-other", e.g. a build of main, for a before/after in
#             the same run). LF1=1 adds "lf1": --model lf --threads 1.
#   workload  redis-benchmark -c 50 -r 100000 -n N -t T [-P 16], after a warm-up.
#   per run   CPU: utime+stime from /proc/PID/stat (10 ms ticks) and the sum of every thread's
#             sum_exec_runtime from /proc/PID/task/*/schedstat (ns), before and after, / N;
#             context switches: voluntary+involuntary over every thread (/proc/PID/task/*/status).
#   rounds    ROUNDS rounds; in each, every server runs once, the order rotated each round so no
#             server always follows the same one; medians and [min-max].
#             The kernel share comes from the scheduler tick (250 Hz here): about 100 ticks in a
#             400,000-GET run, too few to split user from kernel within 15%; bench/server_kernel.sh
#             splits the same CPU by perf samples, with sizes and counts per system call.
#   counts    then one run per server and workload under perf stat: system calls, futex,
#             epoll_wait, epoll_ctl, context switches and migrations per request (NO_COUNTS=1: skip).
# Writes a markdown section to stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
BIN=${BIN:-build/bin}
ROUNDS=${ROUNDS:-5}
N1=${N1:-50000}     # requests per run, unpipelined
N16=${N16:-400000}  # requests per run, -P 16
TESTS=${TESTS:-"get set"}
PIPES=${PIPES:-"1 16"}
TICK=$(getconf CLK_TCK)

trap stop_started EXIT

# "utime stime ns ctx" of a process: ticks in user and kernel mode, every thread's run time,
# every thread's context switches.
sample() {
  local pid=$1 ticks ns=0 ctx=0 t
  ticks=$(awk '{print $14, $15}' "/proc/$pid/stat")
  for t in /proc/"$pid"/task/*; do
    ns=$((ns + $(awk '{print $1}' "$t/schedstat" 2>/dev/null || echo 0)))
    ctx=$((ctx + $(awk '/^(non)?voluntary_ctxt_switches/ {s += $2} END {print s + 0}' "$t/status" 2>/dev/null || echo 0)))
  done
  echo "$ticks $ns $ctx"
}
bench_run() {  # port test pipeline n -> requests/s
  redis-benchmark -p "$1" -c 50 -n "$4" -P "$3" -t "$2" -r 100000 --csv 2>/dev/null | tail -1 | cut -d, -f2 | tr -d '"'
}

declare -A PORT PID
start_cpu_contenders "$BIN/lfdb-server"

declare -A TK NS CX RPS SY
load0=$(cut -d' ' -f1 /proc/loadavg)
for t in $TESTS; do
  for pl in $PIPES; do
    n=$N1; [ "$pl" = 16 ] && n=$N16
    for r in $(seq 0 $((ROUNDS - 1))); do
      k=${#names[@]}
      for i in $(seq 0 $((k - 1))); do
        s=${names[$(((i + r) % k))]}
        pid=${PID[$s]}
        read -r u0 s0 n0 c0 < <(sample "$pid")
        q=$(bench_run "${PORT[$s]}" "$t" "$pl" "$n")
        read -r u1 s1 n1 c1 < <(sample "$pid")
        TK[$s,$t,$pl]+="$(echo "scale=3; ($u1 + $s1 - $u0 - $s0) * 1000000 / $TICK / $n" | bc) "
        SY[$s,$t,$pl]+="$(echo "scale=3; ($s1 - $s0) * 100 / ($u1 + $s1 - $u0 - $s0 + 0.0001)" | bc) "
        NS[$s,$t,$pl]+="$(echo "scale=3; ($n1 - $n0) / 1000 / $n" | bc) "
        CX[$s,$t,$pl]+="$(echo "scale=4; ($c1 - $c0) / $n" | bc) "
        RPS[$s,$t,$pl]+="$q "
      done
    done
  done
done
load1=$(cut -d' ' -f1 /proc/loadavg)

fmt() { printf '%.2f [%.2f-%.2f]' "$(med "$1")" "$(lo "$1")" "$(hi "$1")"; }

echo "Machine: $(nproc) cores, $(uname -sr); $(date -u '+%F %H:%M') UTC; load average $load0 at the start, $load1 at the end."
echo "Command: \`ROUNDS=$ROUNDS N1=$N1 N16=$N16 bash bench/server_cpu.sh\`. redis-benchmark -c 50 -r 100000, $N1 requests a run"
echo "unpipelined, $N16 at -P 16; $ROUNDS rounds, every server once a round in a rotated order; medians [min-max]."
echo "CPU µs/req from schedstat (every thread's run time, ns) and from /proc/PID/stat (utime+stime, 10 ms ticks); kernel share: stime / (utime+stime)."
echo
echo "| test | pipeline | server | CPU µs/req (schedstat) | vs redis | CPU µs/req (stat ticks) | vs redis | kernel share | ctx switches/req | requests/s |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for t in $TESTS; do
  for pl in $PIPES; do
    rn=$(med "${NS[redis,$t,$pl]}"); rt=$(med "${TK[redis,$t,$pl]}")
    for s in "${names[@]}"; do
      printf '| %s | %s | %s | %s | %.2fx | %s | %.2fx | %.0f%% | %.3f | %.0f |\n' "$t" "$pl" "$s" \
        "$(fmt "${NS[$s,$t,$pl]}")" "$(echo "$(med "${NS[$s,$t,$pl]}") / $rn" | bc -l)" \
        "$(fmt "${TK[$s,$t,$pl]}")" "$(echo "$(med "${TK[$s,$t,$pl]}") / $rt" | bc -l)" "$(med "${SY[$s,$t,$pl]}")" \
        "$(med "${CX[$s,$t,$pl]}")" "$(med "${RPS[$s,$t,$pl]}")"
    done
  done
done

# Where the kernel time goes: one more run per server and workload under perf stat (software
# events and system-call tracepoints only; the virtual CPUs have no hardware counters), counts
# per request. Not interleaved with the CPU rounds above, since perf's own cost lands on the server.
[ -n "${NO_COUNTS:-}" ] && exit 0
EVENTS=raw_syscalls:sys_enter,syscalls:sys_enter_futex,syscalls:sys_enter_epoll_wait,syscalls:sys_enter_epoll_ctl,syscalls:sys_enter_io_uring_enter,context-switches,cpu-migrations
echo
echo "Per request under \`perf stat -e $EVENTS -p PID\`, one run each:"
echo
echo "| test | pipeline | server | syscalls | futex | epoll_wait | epoll_ctl | io_uring_enter | context switches | migrations |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for t in $TESTS; do
  for pl in $PIPES; do
    n=$N1; [ "$pl" = 16 ] && n=$N16
    for s in "${names[@]}"; do
      out=$(mktemp)
      perf stat -x, -e "$EVENTS" -p "${PID[$s]}" -o "$out" &
      perf_pid=$!
      sleep 0.3
      bench_run "${PORT[$s]}" "$t" "$pl" "$n" >/dev/null
      kill -INT "$perf_pid"; wait "$perf_pid" 2>/dev/null || true
      per() { echo "scale=4; $(grep ",$1," "$out" | head -1 | cut -d, -f1) / $n" | bc; }
      echo "| $t | $pl | $s | $(per raw_syscalls:sys_enter) | $(per syscalls:sys_enter_futex) | $(per syscalls:sys_enter_epoll_wait) | $(per syscalls:sys_enter_epoll_ctl) | $(per syscalls:sys_enter_io_uring_enter) | $(per context-switches) | $(per cpu-migrations) |"
      rm -f "$out"
    done
  done
done
