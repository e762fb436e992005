#!/usr/bin/env bash
# lfdb-server --model lf over its handle sets (epoll-oneshot, epoll-et, io_uring; epoll-et also with
# a leader that takes a whole epoll_wait's batch, --events-per-turn 64) against redis-server,
# one run, interleaved (not part of CI). Per server and workload, in each round:
#   system calls per request   perf stat -e raw_syscalls:sys_enter (and the epoll_ctl, epoll_wait,
#                              read/recv and write/send tracepoints) attached to the server over
#                              one redis-benchmark run, divided by the requests;
#   CPU time per request        utime+stime of the server (/proc/PID/stat) over a second run,
#                              without perf, divided by the requests; the client's share of the
#                              two cores drops out of it;
#   requests/s                  what redis-benchmark printed for that second run.
# Medians of ROUNDS rounds; the spread (min-max) is printed next to each.
# Writes a markdown section to stdout; bench/server.sh includes it in its report.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
BIN=build/bin
ROUNDS=${ROUNDS:-3}
N1=${N1:-100000}     # requests per run, unpipelined
N16=${N16:-1000000}  # requests per run, -P 16
THREADS=${THREADS:-2}
TICK=$(getconf CLK_TCK)

pids=()
cleanup() { for p in "${pids[@]:-}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

start_lfdb() {  # port, handle set, more options
  $BIN/lfdb-server --port "$1" --threads "$THREADS" --model lf --handle-set "$2" ${3:-} >/dev/null 2>&1 &
  pids+=($!); LAST_PID=$!; wait_port "$1"
}
start_redis() {
  redis-server --port "$1" --bind 127.0.0.1 --save "" --appendonly no >/dev/null 2>&1 &
  pids+=($!); LAST_PID=$!; wait_port "$1"
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }  # utime + stime, in clock ticks
bench_run() {  # port test pipeline n -> requests/s
  redis-benchmark -p "$1" -c 50 -n "$4" -P "$3" -t "$2" -r 100000 --csv 2>/dev/null | tail -1 | cut -d, -f2 | tr -d '"'
}
EVENTS=raw_syscalls:sys_enter,syscalls:sys_enter_futex,syscalls:sys_enter_io_uring_enter,syscalls:sys_enter_epoll_ctl,syscalls:sys_enter_epoll_wait,syscalls:sys_enter_read,syscalls:sys_enter_recvfrom,syscalls:sys_enter_write,syscalls:sys_enter_sendto

declare -A PORT PID
names=(oneshot et et64 uring64 redis)
p=$(free_port); start_lfdb "$p" epoll-oneshot; PORT[oneshot]=$p; PID[oneshot]=$LAST_PID
p=$(free_port); start_lfdb "$p" epoll-et "--events-per-turn 8"; PORT[et]=$p; PID[et]=$LAST_PID
p=$(free_port); start_lfdb "$p" epoll-et "--events-per-turn 64"; PORT[et64]=$p; PID[et64]=$LAST_PID
p=$(free_port); start_lfdb "$p" io_uring "--events-per-turn 64"; PORT[uring64]=$p; PID[uring64]=$LAST_PID
p=$(free_port); start_redis "$p"; PORT[redis]=$p; PID[redis]=$LAST_PID
for s in "${names[@]}"; do redis-benchmark -p "${PORT[$s]}" -c 50 -n 20000 -t set,get -r 100000 -q >/dev/null 2>&1; done  # warm up

declare -A SYS CTL CPU RPS DETAIL
for t in get set; do
  for pl in 1 16; do
    n=$N1; [ "$pl" = 16 ] && n=$N16
    for _ in $(seq "$ROUNDS"); do
      for s in "${names[@]}"; do
        port=${PORT[$s]}; pid=${PID[$s]}
        out=$(mktemp)
        perf stat -x, -e "$EVENTS" -p "$pid" -o "$out" &
        perf_pid=$!
        sleep 0.3
        bench_run "$port" "$t" "$pl" "$n" >/dev/null
        kill -INT "$perf_pid"; wait "$perf_pid" 2>/dev/null || true
        count() { grep ",$1," "$out" | head -1 | cut -d, -f1; }
        total=$(count raw_syscalls:sys_enter)
        SYS[$s,$t,$pl]+="$(echo "scale=3; $total / $n" | bc) "
        CTL[$s,$t,$pl]+="$(echo "scale=3; $(count syscalls:sys_enter_epoll_ctl) / $n" | bc) "
        DETAIL[$s,$t,$pl]="futex $(echo "scale=3; $(count syscalls:sys_enter_futex) / $n" | bc), io_uring_enter $(echo "scale=3; $(count syscalls:sys_enter_io_uring_enter) / $n" | bc), epoll_wait $(echo "scale=3; $(count syscalls:sys_enter_epoll_wait) / $n" | bc), read+recv $(echo "scale=3; ($(count syscalls:sys_enter_read) + $(count syscalls:sys_enter_recvfrom)) / $n" | bc), write+send $(echo "scale=3; ($(count syscalls:sys_enter_write) + $(count syscalls:sys_enter_sendto)) / $n" | bc)"
        rm -f "$out"
        c0=$(cpu_ticks "$pid")
        r=$(bench_run "$port" "$t" "$pl" "$n")
        c1=$(cpu_ticks "$pid")
        CPU[$s,$t,$pl]+="$(echo "scale=3; ($c1 - $c0) * 1000000 / $TICK / $n" | bc) "
        RPS[$s,$t,$pl]+="$r "
      done
    done
  done
done

med() { printf '%s\n' $1 | median; }
spread() { printf '%s\n' $1 | sort -g | awk 'NR==1{lo=$1} {hi=$1} END {printf "%s-%s", lo, hi}'; }
echo "## Handle sets: system calls and CPU time per request"
echo
echo "Machine: $(nproc) cores, $(uname -sr); $(date -u '+%F %H:%M') UTC. Command: \`bash bench/handle_sets.sh\`"
echo "(ROUNDS=$ROUNDS). lfdb-server --model lf --threads $THREADS --handle-set epoll-oneshot | epoll-et | io_uring"
echo "(et: --events-per-turn 8; et64 and uring64: --events-per-turn 64; oneshot: the server's default),"
echo "and redis-server --save \"\" --appendonly no, all running at once, driven in turn by"
echo "\`redis-benchmark -c 50 -r 100000 -t T [-P 16]\` ($N1 requests unpipelined, $N16 at -P 16)."
echo "System calls: \`perf stat -e raw_syscalls:sys_enter -p PID\` over one run; CPU time: utime+stime"
echo "from /proc/PID/stat over a second run without perf; both divided by the requests. Medians of"
echo "$ROUNDS interleaved rounds, the range in brackets."
echo
echo "| test | pipeline | server | syscalls/req | epoll_ctl/req | CPU µs/req | CPU vs redis | requests/s | rps vs redis |"
echo "|---|---|---|---|---|---|---|---|---|"
for t in get set; do
  for pl in 1 16; do
    rc=$(med "${CPU[redis,$t,$pl]}"); rr=$(med "${RPS[redis,$t,$pl]}")
    for s in "${names[@]}"; do
      c=$(med "${CPU[$s,$t,$pl]}"); r=$(med "${RPS[$s,$t,$pl]}")
      printf '| %s | %s | %s | %s [%s] | %s | %s [%s] | %.2fx | %.0f [%s] | %.2fx |\n' "$t" "$pl" "$s" \
        "$(med "${SYS[$s,$t,$pl]}")" "$(spread "${SYS[$s,$t,$pl]}")" "$(med "${CTL[$s,$t,$pl]}")" \
        "$c" "$(spread "${CPU[$s,$t,$pl]}")" "$(echo "$c / $rc" | bc -l)" \
        "$r" "$(spread "${RPS[$s,$t,$pl]}")" "$(echo "$r / $rr" | bc -l)"
    done
  done
done
echo
echo "Per request in the last round's traced run (futex, io_uring_enter, epoll_wait, read+recv, write+send):"
echo
echo '```'
for t in get set; do
  for pl in 1 16; do
    for s in "${names[@]}"; do echo "$t -P $pl $s: ${DETAIL[$s,$t,$pl]}"; done
  done
done
echo '```'
