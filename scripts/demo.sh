#!/usr/bin/env bash
# `make demo`: the Leader/Followers pattern's OLTP system on loopback. Two lfdb-server shards (durable: every booking
# is on disk before its terminal hears "booked", with group commit), one lfdb-gateway in front of
# them, and 1,000 lfdb-bench travel agents booking seats through the gateway for DEMO_SECONDS
# (20) with live progress. Then the summary, the invariant check (no seat sold twice, no booking
# lost), each tier's own numbers, and a clean stop: no process is left behind.
#
#   DEMO_SECONDS=60 DEMO_TERMINALS=2000 make demo     a longer, bigger run
#   DEMO_TXN=multi make demo                          WATCH/MULTI/EXEC instead of stored procedures
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=build/bin
SECONDS_RUN=${DEMO_SECONDS:-20}
TERMINALS=${DEMO_TERMINALS:-1000}
TXN=${DEMO_TXN:-eval}
WORK=$(mktemp -d /tmp/lfdb-demo-XXXXXX)
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

pids=()
stop_all() {
  for p in "${pids[@]:-}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${pids[@]:-}"; do
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  pids=()
}
cleanup() { stop_all; rm -rf "$WORK"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_ready() {  # port name
  for _ in $(seq 100); do redis-cli -p "$1" ping >/dev/null 2>&1 && return 0; sleep 0.05; done
  echo "demo: $2 on port $1 did not start; its log:" >&2; cat "$WORK/$2.log" >&2; exit 1
}
info() { redis-cli -p "$1" info "${2:-everything}" | tr -d '\r'; }
field() { awk -F: -v k="$1" '$1 == k {print $2; exit}'; }
ratio() { awk -v a="${1:-0}" -v b="${2:-0}" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "-" }'; }

bold=""; plain=""
if [ -t 1 ]; then bold=$(tput bold 2>/dev/null || true); plain=$(tput sgr0 2>/dev/null || true); fi
say() { echo "${bold}== $*${plain}"; }

say "lfdb demo: the Leader/Followers pattern's OLTP system on 127.0.0.1 (work dir $WORK)"
S1=$(free_port); S2=$(free_port); GW=$(free_port)
for i in 1 2; do
  port=S$i; mkdir -p "$WORK/shard$i"
  $BIN/lfdb-server --port "${!port}" --threads 2 --appendonly yes --appendfsync always \
    --dir "$WORK/shard$i" >"$WORK/shard$i.log" 2>&1 &
  pids+=($!)
done
wait_ready "$S1" shard1; wait_ready "$S2" shard2
cat >"$WORK/gateway.yml" <<EOF
listen: 127.0.0.1:$GW
threads: 2
model: lf
forwarding: async
connections_per_backend: 2
shards:
  - primary: 127.0.0.1:$S1
  - primary: 127.0.0.1:$S2
EOF
$BIN/lfdb-gateway --config "$WORK/gateway.yml" >"$WORK/gateway.log" 2>&1 &
pids+=($!)
wait_ready "$GW" gateway
echo "   back-ends  lfdb-server :$S1 and :$S2 (Leader/Followers, 2 threads, hue colors, append-only log with appendfsync always)"
echo "   gateway    lfdb-gateway :$GW (Leader/Followers, 2 threads, slot routing, 2 multiplexed connections per back-end)"
echo "   terminals  $TERMINALS travel agents (lfdb-bench reservation, transactions as $TXN), ${SECONDS_RUN} s"
echo

say "booking seats (one line a second: bookings/s, latency, errors)"
set +e
$BIN/lfdb-bench -p "$GW" -c "$TERMINALS" -t 2 -w reservation --txn "$TXN" --flights 2000 --seats 500 \
  -d "$SECONDS_RUN" --progress
bench_rc=$?
set -e
echo

say "per tier"
G=$(info "$GW")
fwd=$(echo "$G" | field forwarded_requests)
g_cs=$(( $(echo "$G" | field voluntary_context_switches) + $(echo "$G" | field involuntary_context_switches) ))
printf '   %-28s requests %-9s promotions/request %-7s replies by another thread %-7s context switches/request %s\n' \
  "gateway :$GW" "$fwd" "$(ratio "$(echo "$G" | field promotions)" "$fwd")" \
  "$(echo "$G" | field async_other_thread_per_reply)" "$(ratio "$g_cs" "$fwd")"
for i in 1 2; do
  port=S$i; I=$(info "${!port}")
  cmds=$(echo "$I" | field total_commands_processed)
  printf '   %-28s commands %-9s promotions/command %-7s context switches/command %s  fsyncs/write %s  parked %s\n' \
    "shard$i :${!port}" "$cmds" "$(echo "$I" | field promotions_per_command)" \
    "$(echo "$I" | field context_switches_per_command)" "$(echo "$I" | field lfdb_aof_fsyncs_per_record)" \
    "$(echo "$I" | field lfdb_parked_commands)"
done
echo

say "stopping everything"
stop_all
left=$(pgrep -f "$WORK" || true)
if [ -n "$left" ]; then echo "demo: processes left behind: $left" >&2; exit 1; fi
echo "   all stopped; no process left behind"
if [ "$bench_rc" -ne 0 ]; then
  echo "demo: lfdb-bench failed (exit $bench_rc): see its report above" >&2
  exit "$bench_rc"
fi
say "demo OK"
