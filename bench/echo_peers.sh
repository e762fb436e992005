#!/usr/bin/env bash
# liblf's echo server under each concurrency model against the peers in bench/peers/: ACE's
# TP_Reactor and Dev_Poll_Reactor run by N threads (ACE's own Leader/Followers), and Asio's
# io_context run by N threads. Everyone is driven by the same client (lf-echo-load, closed loop,
# 100 connections, 64-byte messages) and measured the same way:
#   - throughput and p99 from the client; contenders interleaved within each round, ROUNDS
#     rounds, medians and the ratio of medians to lf;
#   - per request, counted on the server over a window inside the client's measured one:
#     context switches (voluntary + involuntary, summed over /proc/PID/task/*/status),
#     allocations (the LD_PRELOAD counter build/lib/liblf_alloccount.so, read through SIGUSR1),
#     and CPU (utime + stime) of server and client, to say which side was saturated;
#   - system calls per request in a separate pass: strace -c -f on the server (counts only: it
#     slows the server), requests taken from the kernel's bytes_sent on the server's sockets.
# Prints markdown; `make bench-echo` saves it to docs/bench-runs/echo-peers.md.
#   ROUNDS=3 SECONDS_=3 THREADS="4 2" PIPELINES="1 16" bash bench/echo_peers.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-build/bin}
SHIM=${SHIM:-build/lib/liblf_alloccount.so}
ROUNDS=${ROUNDS:-3}
SECONDS_=${SECONDS_:-3}
THREADS=${THREADS:-"4 2"}
PIPELINES=${PIPELINES:-"1 16"}
CONNS=${CONNS:-100}
SIZE=${SIZE:-64}
CLIENT_THREADS=${CLIENT_THREADS:-1}
STRACE_SECONDS=${STRACE_SECONDS:-3}
CONTENDERS=${CONTENDERS:-"lf lf-lazy lf-uring lf-multi hsha reactor ace-tp ace-dev-poll asio"}
PY=/usr/bin/python3

for b in lf-echo-server lf-echo-load ace-echo-server asio-echo-server; do
  [ -x "$BIN/$b" ] || { echo "echo_peers.sh: $BIN/$b missing (cmake --build build --target echo-peers)" >&2; exit 1; }
done
[ -f "$SHIM" ] || { echo "echo_peers.sh: $SHIM missing (cmake --build build --target lf_alloccount)" >&2; exit 1; }
command -v strace >/dev/null || { echo "echo_peers.sh: strace missing (scripts/setup.sh installs it)" >&2; exit 1; }

WORK=$(mktemp -d)
SERVER_PID=
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

# The command line that starts contender $1 with $2 threads (port, port file and stats file are
# added by start_server).
server_cmd() {
  case "$1" in
    lf | lf-multi | hsha | reactor) echo "$BIN/lf-echo-server --model $1 --threads $2" ;;
    lf-lazy) echo "$BIN/lf-echo-server --model lf --lazy-promotion --threads $2" ;;
    lf-uring) echo "$BIN/lf-echo-server --model lf --handle-set uring-completion --threads $2" ;;
    # Another build's completion set (BEFORE=dir holding its lf-echo-server), for a before/after.
    lf-uring-before) echo "${BEFORE:?lf-uring-before needs BEFORE=dir}/lf-echo-server --model lf --handle-set uring-completion --threads $2" ;;
    ace-tp) echo "$BIN/ace-echo-server --reactor tp --threads $2" ;;
    ace-dev-poll) echo "$BIN/ace-echo-server --reactor dev-poll --threads $2" ;;
    asio) echo "$BIN/asio-echo-server --threads $2" ;;
    *) echo "echo_peers.sh: unknown contender $1" >&2; exit 1 ;;
  esac
}

# start_server CONTENDER THREADS PRELOAD -> sets SERVER_PID and PORT.
start_server() {
  rm -f "$WORK/port" "$WORK/stats"
  local cmd
  cmd=$(server_cmd "$1" "$2")
  if [ -n "$3" ]; then
    LD_PRELOAD="$3" $cmd --port 0 --port-file "$WORK/port" --stats-file "$WORK/stats" 2>"$WORK/server.err" &
  else
    $cmd --port 0 --port-file "$WORK/port" --stats-file "$WORK/stats" 2>"$WORK/server.err" &
  fi
  SERVER_PID=$!
  for _ in $(seq 200); do [ -s "$WORK/port" ] && break; sleep 0.02; done
  [ -s "$WORK/port" ] || { echo "echo_peers.sh: $1 did not start: $(cat "$WORK/server.err")" >&2; exit 1; }
  PORT=$(cat "$WORK/port")
}

stop_server() {
  kill "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=
}

# Context switches of every thread of the server (/proc/PID/status alone is the main thread).
ctx_switches() {
  cat /proc/"$SERVER_PID"/task/*/status 2>/dev/null |
    awk '/^(voluntary|nonvoluntary)_ctxt_switches/ {n += $2} END {print n + 0}'
}

# Server CPU in clock ticks (utime + stime of all threads).
cpu_ticks() { awk '{print $14 + $15}' /proc/"$SERVER_PID"/stat; }

allocs() {
  rm -f "$WORK/stats"
  kill -USR1 "$SERVER_PID"
  for _ in $(seq 100); do [ -s "$WORK/stats" ] && break; sleep 0.01; done
  awk '$1 == "allocs" {print $2}' "$WORK/stats"
}

# Bytes the server has sent on its established sockets (the kernel's count, any server; ss
# leaves the field out while it is 0). A socket dump can come back short while other
# processes open and close sockets, so it is retried until it lists every connection.
bytes_sent() {
  local out
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    out=$(ss -tinH state established "( sport = :$PORT )" |
      awk '/^[^ \t]/ {socks++} {for (i = 1; i <= NF; i++) if ($i ~ /^bytes_sent:/) {split($i, f, ":"); n += f[2]}}
           END {print socks + 0, n + 0}')
    if [ "${out%% *}" -ge "$CONNS" ]; then echo "${out#* }"; return; fi
  done
  echo "echo_peers.sh: ss listed ${out%% *} of $CONNS connections" >&2
  echo 0
}

# Waits until the client has all its connections (established, accepted or not): its warm-up
# starts then, so the server-side window can be placed inside the client's measured one.
wait_connected() {
  for _ in $(seq 500); do
    [ "$(ss -tnH state established "( sport = :$PORT )" | wc -l)" -ge "$CONNS" ] && return 0
    sleep 0.02
  done
  echo "echo_peers.sh: the client did not connect $CONNS connections in 10 s" >&2
  exit 1
}

now() { date +%s.%N; }

sleep_until() {
  local d
  d=$(echo "$1 - $(now)" | bc -l)
  if [ "$(echo "$d > 0" | bc -l)" = 1 ]; then sleep "$d"; fi
}

RAW=$WORK/raw.tsv
: >"$RAW"
TICK=$(getconf CLK_TCK)
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)

# One measured run: the client measures SECONDS_ after a 0.5 s warm-up that starts once it is
# connected; the server's counters are sampled from 0.7 s to SECONDS_ - 0.5 s after
# that, inside the client's window. The last column (window rate / client rate) shows that
# the two windows saw the same load: near 1.
measure() {  # contender threads pipeline round
  start_server "$1" "$2" "$SHIM"
  local load_out=$WORK/load.out
  (
    TIMEFORMAT='%U %S %R'
    { time "$BIN"/lf-echo-load --port "$PORT" -c "$CONNS" --size "$SIZE" -P "$3" \
        --threads "$CLIENT_THREADS" --seconds "$SECONDS_" >"$load_out" 2>&1; } 2>"$WORK/client.time"
  ) &
  local cpid=$!
  wait_connected
  local connected t0 c0 a0 k0 b0 t1 c1 a1 k1 b1 reqs
  connected=$(now)
  # Deadlines, not sleeps: on a loaded machine every fork of a sample takes its time.
  sleep_until "$(echo "$connected + 0.7" | bc -l)"
  t0=$(now); b0=$(bytes_sent); c0=$(ctx_switches); k0=$(cpu_ticks); a0=$(allocs)
  sleep_until "$(echo "$connected + $SECONDS_ - 0.5" | bc -l)"
  t1=$(now); b1=$(bytes_sent); c1=$(ctx_switches); k1=$(cpu_ticks); a1=$(allocs)
  wait "$cpid" || true
  stop_server
  # Requests the server answered inside this window, by the kernel's byte count: the per-request
  # counts below divide by these, so they hold even if a loaded machine stretches the sleeps.
  reqs=$(( (b1 - b0) / SIZE ))
  if [ "$reqs" -le 0 ]; then
    echo "echo_peers.sh: $1 threads $2 pipeline $3: no request answered inside the sampling window (bytes_sent $b0 -> $b1 from $t0 to $t1, client connected at $connected; a stalled machine?; client: $(cat "$load_out" "$WORK/client.time" | tr "\n" " ")); again" >&2
    return 1
  fi
  # requests/s 123  p50 1.0 us  p99 2.0 us  max 3.0 us  errors 0  messages 456
  # (read by name: the client's line grows fields)
  local rate p99 errors
  field() { awk -v k="$1" '{for (i = 1; i < NF; i++) if ($i == k) print $(i + 1)}' "$load_out"; }
  rate=$(field requests/s)
  p99=$(field p99)
  errors=$(field errors)
  if [ -z "$rate" ] || [ "$errors" != 0 ]; then
    echo "echo_peers.sh: $1 threads $2 pipeline $3: client failed: $(cat "$load_out")" >&2
    exit 1
  fi
  # client CPU over its whole run (connect, warm-up, window) in cores
  local client_cores
  client_cores=$(awk 'NF == 3 {u = $1; s = $2; r = $3} END {printf "%.2f", (u + s) / r}' "$WORK/client.time")
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$rate" "$p99" \
    "$(echo "($c1 - $c0) / $reqs" | bc -l)" "$(echo "($a1 - $a0) / $reqs" | bc -l)" \
    "$(echo "($k1 - $k0) / $TICK / ($t1 - $t0)" | bc -l)" "$client_cores" \
    "$(echo "$reqs / ($t1 - $t0) / $rate" | bc -l)" >>"$RAW"
}

# The completion handle set needs io_uring with multishot recv (Linux 6.0); where the kernel
# refuses it, its row is left out rather than failing the run.
case " $CONTENDERS " in
  *" lf-uring "*)
    if ! (start_server lf-uring 2 "" && stop_server) 2>/dev/null; then
      echo "echo_peers.sh: lf-uring left out: $(cat "$WORK/server.err")" >&2
      CONTENDERS=$(echo " $CONTENDERS " | sed 's/ lf-uring / /; s/^ //; s/ $//')
    fi ;;
esac

for threads in $THREADS; do
  for round in $(seq "$ROUNDS"); do
    for pipeline in $PIPELINES; do
      for c in $CONTENDERS; do
        measure "$c" "$threads" "$pipeline" "$round" || measure "$c" "$threads" "$pipeline" "$round" ||
          { echo "echo_peers.sh: giving up on $c" >&2; exit 1; }
      done
    done
  done
done

# System calls: one pass per contender and pipeline at the first thread count, strace -c -f on
# the server for STRACE_SECONDS inside a longer client run.
SYS=$WORK/sys.tsv
: >"$SYS"
STRACE_THREADS=${THREADS%% *}
for pipeline in $PIPELINES; do
  for c in $CONTENDERS; do
    start_server "$c" "$STRACE_THREADS" ""
    "$BIN"/lf-echo-load --port "$PORT" -c "$CONNS" --size "$SIZE" -P "$pipeline" --threads "$CLIENT_THREADS" \
      --seconds "$(echo "$STRACE_SECONDS + 10" | bc -l)" >/dev/null 2>&1 &
    lpid=$!
    wait_connected
    sleep 0.8
    strace -c -f -q -o "$WORK/strace.out" -p "$SERVER_PID" &
    spid=$!
    # Requests are counted between two samples taken once strace is attached and right before
    # the detach, so the milliseconds strace takes to detach are the only mismatch (the send
    # column at pipeline 1, where each request is one send, shows how small it is).
    # strace stops every thread to attach; count requests only once all of them are traced.
    for _ in $(seq 200); do
      untraced=$(grep -h '^TracerPid:' /proc/"$SERVER_PID"/task/*/status | awk '$2 == 0' | wc -l)
      [ "$untraced" -eq 0 ] && break
      sleep 0.01
    done
    b0=$(bytes_sent)
    sleep "$STRACE_SECONDS"
    b1=$(bytes_sent)
    kill -INT "$spid"; wait "$spid" 2>/dev/null || true
    kill "$lpid" 2>/dev/null || true  # it runs long enough for a slow attach; not needed now
    wait "$lpid" 2>/dev/null || true
    stop_server
    reqs=$(( (b1 - b0) / SIZE ))
    if [ "$reqs" -le 0 ]; then
      echo "echo_peers.sh: strace pass for $c pipeline $pipeline counted no request; left out" >&2
      continue
    fi
    total=$(awk '$NF == "total" {print $4}' "$WORK/strace.out")
    top=$(awk 'NR > 2 && $NF != "total" && $1 ~ /^[0-9.]+$/ && NF >= 5 {print $NF, $4}' "$WORK/strace.out" |
          sort -k2 -n -r | head -5 | awk -v r="$reqs" '{printf "%s %.2f, ", $1, $2 / r}')
    printf '%s\t%s\t%s\t%s\t%s\n' "$c" "$pipeline" "$reqs" "$(echo "$total / $reqs" | bc -l)" "${top%, }" >>"$SYS"
  done
done

LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# The report.
RAW="$RAW" SYS="$SYS" ROUNDS="$ROUNDS" SECONDS_="$SECONDS_" CONNS="$CONNS" SIZE="$SIZE" \
CLIENT_THREADS="$CLIENT_THREADS" STRACE_SECONDS="$STRACE_SECONDS" STRACE_THREADS="$STRACE_THREADS" \
LOAD_BEFORE="$LOAD_BEFORE" LOAD_AFTER="$LOAD_AFTER" CONTENDERS="$CONTENDERS" "$PY" - <<'EOF'
import os, platform, statistics, subprocess
from collections import defaultdict

env = os.environ
rows = defaultdict(list)
for line in open(env["RAW"]):
    c, t, p, r, rate, p99, cs, al, scpu, ccpu, agree = line.rstrip("\n").split("\t")
    rows[(int(t), int(p), c)].append(dict(rate=float(rate), p99=float(p99), cs=float(cs), allocs=float(al),
                                          scpu=float(scpu), ccpu=float(ccpu), agree=float(agree)))
med = lambda xs: statistics.median(xs)
contenders = env["CONTENDERS"].split()
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
print("# Echo servers: liblf against ACE and Asio\n")
print(f"One run of `bench/echo_peers.sh` on a noisy shared machine: {os.cpu_count()} cores ({cpu}), "
      f"Linux {platform.release()}, load average {env['LOAD_BEFORE']} before and {env['LOAD_AFTER']} after "
      "(other engineers compile on the same cores). Server and client share the two cores. "
      "Compare rows within a table, not against other days.\n")
print(f"Client: `lf-echo-load -c {env['CONNS']} --size {env['SIZE']} -P <pipeline> --threads {env['CLIENT_THREADS']} "
      f"--seconds {env['SECONDS_']}` (closed loop, 0.5 s warm-up). {env['ROUNDS']} rounds, contenders interleaved "
      "within each round; every number is the median of the rounds. Servers (all with "
      "`LD_PRELOAD=build/lib/liblf_alloccount.so`, `--port 0 --port-file F --stats-file S`):\n")
print("| name | command |\n|---|---|")
cmds = {"lf": "lf-echo-server --model lf --threads N", "lf-multi": "lf-echo-server --model lf-multi --threads N",
        "hsha": "lf-echo-server --model hsha --threads N", "reactor": "lf-echo-server --model reactor (one thread)",
        "ace-tp": "ace-echo-server --reactor tp --threads N", "ace-dev-poll": "ace-echo-server --reactor dev-poll --threads N",
        "asio": "asio-echo-server --threads N",
        "lf-lazy": "lf-echo-server --model lf --lazy-promotion --threads N",
        "lf-uring": "lf-echo-server --model lf --handle-set uring-completion --threads N",
        "lf-uring-before": "$BEFORE/lf-echo-server --model lf --handle-set uring-completion --threads N"}
for c in contenders:
    print(f"| {c} | `{cmds.get(c, c)}` |")
print()
print("Columns: *x lf* is the ratio of median requests/s to lf's in the same table; *ctx/req* context "
      "switches per request (all server threads, voluntary + involuntary); *allocs/req* heap allocations "
      "per request (malloc, calloc, realloc, memalign: operator new included); *server CPU* and *client CPU* "
      "in cores (2.00 = the whole machine). Per-request counts are taken on the server over a window inside "
      "the client's and divided by the requests the kernel saw answered in it (bytes sent / message size); "
      "*window* is that window's rate over the client's rate (near 1: both saw the same load).\n")
for t in sorted({k[0] for k in rows}, reverse=True):
    for p in sorted({k[1] for k in rows}):
        print(f"## {t} server threads, pipeline {p}\n")
        print("| server | requests/s | x lf | p99 us | ctx/req | allocs/req | server CPU | client CPU | window |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        base = rows.get((t, p, "lf"))
        base_rate = med([r["rate"] for r in base]) if base else None
        for c in contenders:
            rs = rows.get((t, p, c))
            if not rs:
                continue
            rate = med([r["rate"] for r in rs])
            ratio = f"{rate / base_rate:.2f}" if base_rate else "-"
            print(f"| {c} | {rate:.0f} | {ratio} | {med([r['p99'] for r in rs]):.0f} | "
                  f"{med([r['cs'] for r in rs]):.3f} | {med([r['allocs'] for r in rs]):.3f} | "
                  f"{med([r['scpu'] for r in rs]):.2f} | {med([r['ccpu'] for r in rs]):.2f} | "
                  f"{med([r['agree'] for r in rs]):.2f} |")
        print()
print(f"## System calls per request ({env['STRACE_THREADS']} server threads)\n")
print(f"`strace -c -f -p PID` on the server for {env['STRACE_SECONDS']} s under the same load (strace slows "
      "the server several times over: read the counts, not the speed). Requests = bytes the server's sockets "
      "sent in that window (`ss -ti` bytes_sent) / message size. One pass, not a median.\n")
print("| pipeline | server | requests | syscalls/req | top calls per request |")
print("|---:|---|---:|---:|---|")
for line in open(env["SYS"]):
    c, p, reqs, per, top = line.rstrip("\n").split("\t")
    print(f"| {p} | {c} | {reqs} | {float(per):.2f} | {top} |")
EOF
