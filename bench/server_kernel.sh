#!/usr/bin/env bash
# Where a request's kernel time goes, lfdb-server against redis-server (not part of CI; issue 18).
# bench/server_cpu.sh gives CPU per request and its kernel share from /proc/PID/stat, whose
# user/kernel split comes from the scheduler tick (250 Hz here: a 1.5 s run is about 375 ticks,
# so a third of them in the kernel is a 130-tick sample, +-9%). This script splits the same CPU
# with a sampling profiler instead, and counts what the kernel is asked to do.
#
#   servers   as server_cpu.sh: redis-server, lfdb-server --model reactor --threads 1 ("reactor")
#             and --model lf --threads 2 ("lf"); OTHER=path adds "reactor-other", "lf-other";
#             LF1=1 adds "lf1" (--model lf --threads 1).
#   split     ROUNDS rounds, every server once a round in a rotated order: one run of
#             redis-benchmark -c 50 -r 100000 -n N -t T [-P 16] under `perf record -F FREQ -g -p PID`
#             (cpu-clock: the virtual CPUs have no hardware counters). A sample is the kernel's
#             when its leaf is a kernel address; a kernel sample belongs to the system call whose
#             entry is on its chain (recv = recv/read, send = send/write, epoll_wait), else to
#             "other" (interrupts, faults). Samples whose leaf is a libc system-call wrapper are
#             counted apart ("at return"): on this VM an interrupt held while the kernel returns
#             from a call lands on the next user instruction, so they are mostly the call's
#             exit. The fractions are scaled by the run's CPU (every thread's schedstat run
#             time), so perf's effective sampling rate does not matter. Medians over the rounds.
#   counts    one run per server under perf stat: system calls by kind, context switches,
#             migrations, wake-ups the server did, softirqs, page faults; per request.
#   syscall   bench/syscall_cost.c: the CPU of a system call with no work (getppid, and recv on an
#             empty socket), for what a completion design's fewer calls could save.
#   sizes     one short run per server under strace: bytes per recv and per send, events per
#             epoll_wait (strace slows the server: more events wait per epoll_wait than without it).
# Writes a markdown section to stdout.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
BIN=${BIN:-build/bin}
ROUNDS=${ROUNDS:-3}
N1=${N1:-50000}
N16=${N16:-400000}
NS=${NS:-50000}     # requests of the strace run
FREQ=${FREQ:-4999}
TESTS=${TESTS:-"get"}
PIPES=${PIPES:-"16"}
TMP=$(mktemp -d)

cleanup() { stop_started; rm -rf "$TMP"; }
trap cleanup EXIT

cpu_ns() {  # every thread's run time (ns)
  local ns=0 t
  for t in /proc/"$1"/task/*; do ns=$((ns + $(awk '{print $1}' "$t/schedstat" 2>/dev/null || echo 0))); done
  echo "$ns"
}
bench_run() {  # port test pipeline n
  redis-benchmark -p "$1" -c 50 -n "$4" -P "$3" -t "$2" -r 100000 -q >/dev/null 2>&1
}
# perf script's call chains (ip sym dso per line, a blank line between samples) -> counts:
# "total user ret recv send epoll other".
classify() {
  awk 'BEGIN { RS = "" }
    {
      n = split($0, l, "\n"); tot++
      if (l[1] !~ /kernel\.kallsyms|\[kernel/) {
        split(l[1], f, " ")
        if (f[2] ~ /^(__libc_recv|__libc_read|__send|__libc_send|__libc_write|__GI___libc_write|__GI___libc_read|read|write|recv|send|epoll_wait|__recv|__write|__read)$/) ret++
        else user++
        next
      }
      cls = "other"
      for (i = 2; i < n; i++) {
        if (l[i] ~ /entry_SYSCALL_64/) {
          split(l[i + 1], g, " "); w = g[2]
          if (w ~ /recv|read/) cls = "recv"
          else if (w ~ /send|write/) cls = "send"
          else if (w ~ /epoll_wait/) cls = "epoll"
          break
        }
      }
      c[cls]++
    }
    END { printf "%d %d %d %d %d %d %d\n", tot, user, ret, c["recv"], c["send"], c["epoll"], c["other"] }'
}

declare -A PORT PID
start_cpu_contenders "$BIN/lfdb-server"

declare -A V
cols=(cpu user ret kern recv send epoll other)
load0=$(cut -d' ' -f1 /proc/loadavg)
for t in $TESTS; do
  for pl in $PIPES; do
    n=$N1; [ "$pl" = 16 ] && n=$N16
    for r in $(seq 0 $((ROUNDS - 1))); do
      k=${#names[@]}
      for i in $(seq 0 $((k - 1))); do
        s=${names[$(((i + r) % k))]}
        pid=${PID[$s]}
        perf record -q -F "$FREQ" -g -p "$pid" -o "$TMP/perf.data" >/dev/null 2>&1 &
        pp=$!
        sleep 0.3
        c0=$(cpu_ns "$pid")
        bench_run "${PORT[$s]}" "$t" "$pl" "$n"
        c1=$(cpu_ns "$pid")
        kill -INT "$pp"; wait "$pp" 2>/dev/null || true
        read -r tot user ret recv send epoll other < <(perf script -i "$TMP/perf.data" -F ip,sym,dso 2>/dev/null | classify)
        cpu=$(echo "scale=4; ($c1 - $c0) / 1000 / $n" | bc)  # µs per request
        per() { echo "scale=4; $cpu * $1 / $tot" | bc; }
        V[$s,$t,$pl,cpu]+="$cpu "
        V[$s,$t,$pl,user]+="$(per "$user") "
        V[$s,$t,$pl,ret]+="$(per "$ret") "
        V[$s,$t,$pl,kern]+="$(per $((recv + send + epoll + other))) "
        V[$s,$t,$pl,recv]+="$(per "$recv") "
        V[$s,$t,$pl,send]+="$(per "$send") "
        V[$s,$t,$pl,epoll]+="$(per "$epoll") "
        V[$s,$t,$pl,other]+="$(per "$other") "
      done
    done
  done
done
load1=$(cut -d' ' -f1 /proc/loadavg)

echo "Machine: $(nproc) cores, $(uname -sr); $(date -u '+%F %H:%M') UTC; load average $load0 at the start, $load1 at the end."
echo "Command: \`ROUNDS=$ROUNDS N1=$N1 N16=$N16 TESTS=\"$TESTS\" PIPES=\"$PIPES\" bash bench/server_kernel.sh\`; redis-benchmark -c 50 -r 100000;"
echo "$ROUNDS rounds of one run per server under perf record -F $FREQ -g, rotated; medians. µs per request: CPU from schedstat,"
echo "split by the samples (user; at return: leaf in a libc system-call wrapper; kernel, and the kernel's by system call)."
cc -O2 -o "$TMP/syscall_cost" bench/syscall_cost.c
read -r null_us eagain_us < <("$TMP/syscall_cost")
echo "A system call with no work costs $null_us µs of CPU here (getppid), a recv that finds nothing $eagain_us µs (bench/syscall_cost.c)."
echo
echo "| test | pipeline | server | CPU | vs redis | user | at return | kernel | vs redis | recv | send | epoll_wait | other |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
for t in $TESTS; do
  for pl in $PIPES; do
    rc=$(med "${V[redis,$t,$pl,cpu]}"); rk=$(med "${V[redis,$t,$pl,kern]}")
    for s in "${names[@]}"; do
      m() { med "${V[$s,$t,$pl,$1]}"; }
      printf '| %s | %s | %s | %.3f | %.2fx | %.3f | %.3f | %.3f | %.2fx | %.3f | %.3f | %.3f | %.3f |\n' "$t" "$pl" "$s" \
        "$(m cpu)" "$(echo "$(m cpu) / $rc" | bc -l)" "$(m user)" "$(m ret)" "$(m kern)" \
        "$(echo "$(m kern) / $rk" | bc -l)" "$(m recv)" "$(m send)" "$(m epoll)" "$(m other)"
    done
  done
done

[ -n "${NO_COUNTS:-}" ] && exit 0
EVENTS=raw_syscalls:sys_enter,syscalls:sys_enter_recvfrom,syscalls:sys_enter_read,syscalls:sys_enter_sendto,syscalls:sys_enter_write,syscalls:sys_enter_epoll_wait,syscalls:sys_enter_epoll_ctl,syscalls:sys_enter_futex,syscalls:sys_enter_setsockopt,context-switches,cpu-migrations,sched:sched_wakeup,irq:softirq_entry,page-faults
echo
echo "Per request under \`perf stat -e ... -p PID\`, one run each (recv: recvfrom+read, send: sendto+write; wake-ups: sched_wakeup in the server's threads):"
echo
echo "| test | pipeline | server | syscalls | recv | send | epoll_wait | epoll_ctl | futex | setsockopt | context switches | migrations | wake-ups | softirqs | page faults |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
for t in $TESTS; do
  for pl in $PIPES; do
    n=$N1; [ "$pl" = 16 ] && n=$N16
    for s in "${names[@]}"; do
      out=$TMP/stat
      perf stat -x, -e "$EVENTS" -p "${PID[$s]}" -o "$out" &
      perf_pid=$!
      sleep 0.3
      bench_run "${PORT[$s]}" "$t" "$pl" "$n"
      kill -INT "$perf_pid"; wait "$perf_pid" 2>/dev/null || true
      cnt() { grep ",$1," "$out" | head -1 | cut -d, -f1; }
      per() { echo "scale=4; ($1) / $n" | bc; }
      echo "| $t | $pl | $s | $(per "$(cnt raw_syscalls:sys_enter)") | $(per "$(cnt syscalls:sys_enter_recvfrom) + $(cnt syscalls:sys_enter_read)") | $(per "$(cnt syscalls:sys_enter_sendto) + $(cnt syscalls:sys_enter_write)") | $(per "$(cnt syscalls:sys_enter_epoll_wait)") | $(per "$(cnt syscalls:sys_enter_epoll_ctl)") | $(per "$(cnt syscalls:sys_enter_futex)") | $(per "$(cnt syscalls:sys_enter_setsockopt)") | $(per "$(cnt context-switches)") | $(per "$(cnt cpu-migrations)") | $(per "$(cnt sched:sched_wakeup)") | $(per "$(cnt irq:softirq_entry)") | $(per "$(cnt page-faults)") |"
    done
  done
done

echo
echo "Sizes under \`strace -f -e trace=read,write,recvfrom,sendto,epoll_wait -p PID\`, one run of $NS requests each (strace slows the server):"
echo
echo "| test | pipeline | server | recv calls/req | bytes per recv | send calls/req | bytes per send | epoll_wait calls/req | events per epoll_wait |"
echo "|---|---|---|---|---|---|---|---|---|"
for t in $TESTS; do
  for pl in $PIPES; do
    for s in "${names[@]}"; do
      strace -f -qq -e trace=read,write,recvfrom,sendto,epoll_wait -o "$TMP/strace" -p "${PID[$s]}" &
      st_pid=$!
      sleep 0.5
      bench_run "${PORT[$s]}" "$t" "$pl" "$NS"
      kill "$st_pid" 2>/dev/null || true; wait "$st_pid" 2>/dev/null || true
      awk -v n="$NS" -v row="| $t | $pl | $s" '
        match($0, /(read|recvfrom|write|sendto|epoll_wait)\(/) {
          call = substr($0, RSTART, RLENGTH - 1); r = $NF + 0
          k = call; if (call == "read") k = "recvfrom"; if (call == "write") k = "sendto"
          c[k]++; if (r > 0) s[k] += r
        }
        END {
          printf "%s | %.4f | %.0f | %.4f | %.0f | %.4f | %.1f |\n", row,
            c["recvfrom"] / n, s["recvfrom"] / (c["recvfrom"] + 0.0001), c["sendto"] / n,
            s["sendto"] / (c["sendto"] + 0.0001), c["epoll_wait"] / n, s["epoll_wait"] / (c["epoll_wait"] + 0.0001)
        }' "$TMP/strace"
    done
  done
done
