#!/usr/bin/env bash
# liblf's echo over three handle sets, same run, interleaved (not part of CI; issue 18 item 2):
#   epoll-et           the readiness set the lf models use by default;
#   io_uring           the readiness set over io_uring (one multishot poll per handle);
#   uring-completion   lf::UringProactor, the completion set (multishot accept and recv into
#                      provided buffers, sends submitted with the leader's wait).
# lf-echo-server --model lf --threads T (T = 2 and 4), 100 connections, 64-byte messages, not
# pipelined and -P 16, driven in turn by one lf-echo-load. Per server, in each round:
#   requests/s          what lf-echo-load printed (measured window of SECONDS_ seconds);
#   CPU µs/message      utime+stime of the server (/proc/PID/stat) around that same run,
#                       divided by the messages it echoed over the whole run (lf-echo-load's
#                       `messages`, warm-up included, so both cover the same interval);
#   ctx switches/msg    voluntary+involuntary context switches of every server thread
#                       (/proc/PID/task/*/status) around that run, over the same messages;
#   syscalls/message    a second, shorter run under `strace -c -f` attached to the server:
#                       every system call of every server thread, divided by the messages of
#                       that run (strace slows the server: read the count, not the speed).
# Medians of ROUNDS rounds, the range in brackets. Prints markdown.
# BEFORE=dir: also runs dir/lf-echo-server (another build, e.g. the base commit's) with
# uring-completion, as "uring-completion@before", for a before/after in the same run; MID=dir
# likewise as "uring-completion@mid" (an intermediate build).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
BIN=build/bin
ROUNDS=${ROUNDS:-3}
SECONDS_=${SECONDS_:-2}
TICK=$(getconf CLK_TCK)
SETS="epoll-et io_uring uring-completion"
[ -n "${BEFORE:-}" ] && SETS+=" uring-completion@before"
[ -n "${MID:-}" ] && SETS+=" uring-completion@mid"

pids=()
cleanup() { for p in "${pids[@]:-}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

declare -A PORT PID
names=()
for t in 2 4; do
  for hs in $SETS; do
    s="$hs/$t"; names+=("$s")
    pf=$(mktemp); rm -f "$pf"
    bin=$BIN
    case "$hs" in *@before) bin=$BEFORE ;; *@mid) bin=$MID ;; esac
    "$bin"/lf-echo-server --model lf --threads "$t" --handle-set "${hs%@*}" --port 0 --port-file "$pf" >/dev/null 2>&1 &
    pids+=($!); PID[$s]=$!
    for _ in $(seq 200); do [ -s "$pf" ] && break; sleep 0.05; done
    PORT[$s]=$(cat "$pf"); rm -f "$pf"
  done
done
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
ctx_switches() { cat /proc/"$1"/task/*/status 2>/dev/null | awk '/^(non)?voluntary_ctxt_switches/ {s += $2} END {print s + 0}'; }
load() { $BIN/lf-echo-load --port "$1" -c 100 --size 64 -P "$2" --seconds "$3"; }
field() { awk -v k="$1" '{for (i = 1; i < NF; i++) if ($i == k) print $(i + 1)}'; }

declare -A RPS CPU SYS DETAIL CTX
load0=$(cut -d' ' -f1-3 /proc/loadavg)
for pl in 1 16; do
  for _ in $(seq "$ROUNDS"); do
    for s in "${names[@]}"; do
      port=${PORT[$s]}; pid=${PID[$s]}
      c0=$(cpu_ticks "$pid"); x0=$(ctx_switches "$pid")
      line=$(load "$port" "$pl" "$SECONDS_")
      c1=$(cpu_ticks "$pid"); x1=$(ctx_switches "$pid")
      msgs=$(echo "$line" | field messages)
      RPS[$s,$pl]+="$(echo "$line" | field requests/s) "
      CPU[$s,$pl]+="$(echo "scale=3; ($c1 - $c0) * 1000000 / $TICK / $msgs" | bc) "
      CTX[$s,$pl]+="$(echo "scale=4; ($x1 - $x0) / $msgs" | bc) "
      out=$(mktemp)
      strace -c -f -q -o "$out" -p "$pid" &
      tpid=$!
      sleep 0.5
      line=$(load "$port" "$pl" 1)
      kill -INT "$tpid"; wait "$tpid" 2>/dev/null || true
      msgs=$(echo "$line" | field messages)
      total=$(awk '$NF == "total" {print $4}' "$out")
      SYS[$s,$pl]+="$(echo "scale=3; $total / $msgs" | bc) "
      DETAIL[$s,$pl]=$(awk 'NR>2 && $NF != "total" && $1 ~ /^[0-9.]+$/ && NF>=5 {print $NF, $4}' "$out" | sort -k2 -n -r | head -4 |
        awk -v m="$msgs" '{printf "%s %.3f, ", $1, $2/m}')
      rm -f "$out"
    done
  done
done

med() { printf '%s\n' $1 | median; }
rng() { printf '%s\n' $1 | sort -g | awk 'NR == 1 {lo = $1} {hi = $1} END {printf "%s-%s", lo, hi}'; }
echo "Machine: $(nproc) cores, $(uname -sr); $(date -u '+%F %H:%M') UTC; load average $load0 before, $(cut -d' ' -f1-3 /proc/loadavg) after. Command: \`bash bench/echo_uring.sh\`"
echo "(ROUNDS=$ROUNDS, SECONDS_=$SECONDS_): lf-echo-server --model lf --threads 2|4 --handle-set epoll-et |"
echo "io_uring | uring-completion, all running at once, driven in turn by \`lf-echo-load -c 100 --size 64 [-P 16]\`."
echo
echo "| pipeline | threads | handle set | requests/s | vs epoll-et | CPU µs/message | vs epoll-et | ctx switches/message | syscalls/message |"
echo "|---|---|---|---|---|---|---|---|---|"
for pl in 1 16; do
  for t in 2 4; do
    rb=$(med "${RPS[epoll-et/$t,$pl]}"); cb=$(med "${CPU[epoll-et/$t,$pl]}")
    for hs in $SETS; do
      s="$hs/$t"; r=$(med "${RPS[$s,$pl]}"); c=$(med "${CPU[$s,$pl]}")
      printf '| %s | %s | %s | %s [%s] | %.2fx | %s [%s] | %.2fx | %s | %s [%s] |\n' "$pl" "$t" "$hs" \
        "$r" "$(rng "${RPS[$s,$pl]}")" "$(echo "$r / $rb" | bc -l)" "$c" "$(rng "${CPU[$s,$pl]}")" \
        "$(echo "$c / $cb" | bc -l)" "$(med "${CTX[$s,$pl]}")" "$(med "${SYS[$s,$pl]}")" "$(rng "${SYS[$s,$pl]}")"
    done
  done
done
echo
echo "The four most frequent system calls per message in the last round's traced run:"
echo
echo '```'
for pl in 1 16; do
  for s in "${names[@]}"; do echo "-P $pl $s: ${DETAIL[$s,$pl]%, }"; done
done
echo '```'
