#!/usr/bin/env bash
# XREADGROUP+XACK pairs (lfdb-bench -w xqueue -c 50) against redis-server and one or two
# lfdb-server builds, in interleaved rounds, with what each pair cost the server and the client
# in CPU and in context switches (docs/streams.md, "Where a work queue's time goes"). The
# server's involuntary switches per pair are the figure to watch: a client woken in the middle
# of the server's turn preempts its thread (the reason a leader's turn sends its replies after
# its last dispatch).
#   per run   server: utime+stime from /proc/PID/stat, voluntary and involuntary switches over
#             every thread (/proc/PID/task/*/status); client: /usr/bin/time's user, system,
#             voluntary and involuntary switches; all over the run's pairs (the set-up's
#             pipelined XADDs included, the same for every server).
#   NICE=1    runs it all in an autogroup of its own at nice -20 (root): on a shared machine the
#             other processes then take as little of the cores as they can.
# Usage: bench/streams_preemptions.sh [lfdb-server] [other lfdb-server] (ROUNDS, REQ: defaults 3, 100000)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${NICE:-0}" = 1 ] && [ -z "${STREAMS_PREEMPTIONS_NICED:-}" ]; then
  exec setsid env STREAMS_PREEMPTIONS_NICED=1 bash -c 'echo -20 > /proc/self/autogroup && exec "$0" "$@"' "$0" "$@"
fi
source bench/lib.sh
LFDB=${1:-build/bin/lfdb-server}
OTHER=${2:-}
ROUNDS=${ROUNDS:-3}
REQ=${REQ:-100000}
BENCH=${LFDB_BENCH:-$(dirname "$LFDB")/lfdb-bench}
WORK=$(mktemp -d /tmp/lfdb-streams-preempt.XXXXXX)
pids=()
trap 'for p in "${pids[@]:-}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"' EXIT

declare -A PORT PID
names=(redis lfdb)
p=$(free_port); redis-server --port "$p" --bind 127.0.0.1 --save '' --appendonly no --dir "$WORK" >/dev/null 2>&1 &
pids+=($!); PID[redis]=$!; PORT[redis]=$p; wait_port "$p"
p=$(free_port); "$LFDB" --port "$p" --bind 127.0.0.1 --threads 2 >/dev/null 2>&1 &
pids+=($!); PID[lfdb]=$!; PORT[lfdb]=$p; wait_port "$p"
if [ -n "$OTHER" ]; then
  names+=(other)
  p=$(free_port); "$OTHER" --port "$p" --bind 127.0.0.1 --threads 2 >/dev/null 2>&1 &
  pids+=($!); PID[other]=$!; PORT[other]=$p; wait_port "$p"
fi

switches() {  # pid -> "voluntary involuntary", every thread
  local v=0 i=0 t
  for t in /proc/"$1"/task/*; do
    v=$((v + $(awk '/^voluntary_ctxt/ {print $2}' "$t/status" 2>/dev/null || echo 0)))
    i=$((i + $(awk '/^nonvoluntary_ctxt/ {print $2}' "$t/status" 2>/dev/null || echo 0)))
  done
  echo "$v $i"
}

echo "| round | server | pairs/s | server CPU µs/pair | client CPU µs/pair | server vol / invol switches per pair | client vol / invol per pair | load |"
echo "|---|---|---|---|---|---|---|---|"
for round in $(seq 1 "$ROUNDS"); do
  for s in "${names[@]}"; do
    pid=${PID[$s]}
    t0=$(awk '{print $14 + $15}' "/proc/$pid/stat"); read -r v0 i0 < <(switches "$pid")
    /usr/bin/time -f "%U %S %w %c" -o "$WORK/time" \
      "$BENCH" -p "${PORT[$s]}" -w xqueue -c 50 -n "$REQ" --quiet --json "$WORK/json" >/dev/null 2>&1
    t1=$(awk '{print $14 + $15}' "/proc/$pid/stat"); read -r v1 i1 < <(switches "$pid")
    rate=$(/usr/bin/python3 -c 'import json,sys; j = json.load(open(sys.argv[1])); assert j["errors"] == 0, j["errors_by_kind"]; print("%.0f" % j["ops_per_sec"])' "$WORK/json")
    read -r cu cs cv ci < "$WORK/time"
    awk -v r="$round" -v s="$s" -v rate="$rate" -v st=$((t1 - t0)) -v tick="$(getconf CLK_TCK)" \
        -v sv=$((v1 - v0)) -v si=$((i1 - i0)) -v cu="$cu" -v cs="$cs" -v cv="$cv" -v ci="$ci" -v n="$REQ" \
        -v load="$(cut -d' ' -f1 /proc/loadavg)" \
        'BEGIN { printf "| %d | %s | %d | %.1f | %.1f | %.3f / %.3f | %.2f / %.2f | %s |\n", r, s, rate, st / tick * 1e6 / n, (cu + cs) * 1e6 / n, sv / n, si / n, cv / n, ci / n, load }'
  done
done
