#!/usr/bin/env bash
# LIFO against FIFO follower promotion (docs/claims.md, row 3: "LIFO promotion beats FIFO on cache
# affinity"), one run, interleaved (not part of CI). Two lf-echo-servers, --model lf --threads
# THREADS --promotion lifo | fifo (no lazy promotion: every turn promotes a follower), driven in
# turn by `lf-echo-load -c 100 --size 64 -P P --seconds S`, ROUNDS rounds, medians [min-max].
# Per server and round, under `perf stat -e task-clock,context-switches,cpu-migrations -p PID`:
#   requests/s and p99      what lf-echo-load printed;
#   CPU µs/req              the server's task-clock over the load's whole run (its 0.5 s warm-up
#                           included) / (requests/s x (S + 0.5));
#   ctx/req, migrations/req the same way.
# The cache affinity itself (misses) cannot be counted here: the virtual CPUs expose no hardware
# counters. What LIFO saves shows, if at all, as CPU time per request and migrations.
# Prints markdown.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
BIN=${BIN:-build/bin}
ROUNDS=${ROUNDS:-5}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-2}
THREADS=${THREADS:-4}
PER_TURN=${PER_TURN:-1}
PIPES=${PIPES:-1 16}

pids=()
cleanup() { for p in "${pids[@]:-}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

declare -A PORT PID
names=(lifo fifo)
for s in "${names[@]}"; do
  pf=$(mktemp)
  "$BIN/lf-echo-server" --model lf --port 0 --port-file "$pf" --threads "$THREADS" --promotion "$s" \
    --events-per-turn "$PER_TURN" >/dev/null 2>&1 &
  pids+=($!); PID[$s]=$!
  for _ in $(seq 200); do [ -s "$pf" ] && break; sleep 0.05; done
  PORT[$s]=$(cat "$pf"); rm -f "$pf"
done

declare -A RPS P99 CPU CTX MIG
load0=$(cut -d' ' -f1 /proc/loadavg)
for pl in $PIPES; do
  for r in $(seq 0 $((ROUNDS - 1))); do
    for i in 0 1; do
      s=${names[$(((i + r) % 2))]}
      out=$(mktemp)
      perf stat -x, -e task-clock,context-switches,cpu-migrations -p "${PID[$s]}" -o "$out" &
      perf_pid=$!
      sleep 0.2
      line=$("$BIN/lf-echo-load" --port "${PORT[$s]}" -c 100 --size 64 -P "$pl" --seconds "$SECONDS_PER_RUN")
      kill -INT "$perf_pid"; wait "$perf_pid" 2>/dev/null || true
      rps=$(echo "$line" | awk '{print $2}')
      reqs=$(echo "$rps * ($SECONDS_PER_RUN + 0.5)" | bc -l)
      ev() { grep ",$1," "$out" | head -1 | cut -d, -f1; }
      RPS[$s,$pl]+="$rps "
      P99[$s,$pl]+="$(echo "$line" | awk '{print $7}') "
      CPU[$s,$pl]+="$(echo "$(ev task-clock) * 1000 / $reqs" | bc -l) "   # task-clock is in ms
      CTX[$s,$pl]+="$(echo "$(ev context-switches) / $reqs" | bc -l) "
      MIG[$s,$pl]+="$(echo "$(ev cpu-migrations) / $reqs" | bc -l) "
      rm -f "$out"
    done
  done
done
load1=$(cut -d' ' -f1 /proc/loadavg)

med() { printf '%s\n' $1 | median; }
rng() { printf '%s\n' $1 | sort -g | awk 'NR == 1 {lo = $1} {hi = $1} END {printf "%.2f-%.2f", lo, hi}'; }
echo "Machine: $(nproc) cores, $(uname -sr); $(date -u '+%F %H:%M') UTC; load average $load0 at the start, $load1 at the end."
echo "Command: \`ROUNDS=$ROUNDS THREADS=$THREADS PER_TURN=$PER_TURN bash bench/promotion.sh\` (lf-echo-server --model lf --threads $THREADS"
echo "--events-per-turn $PER_TURN; lf-echo-load -c 100 --size 64 --seconds $SECONDS_PER_RUN), $ROUNDS interleaved rounds, medians [min-max]."
echo
echo "| pipeline | promotion | requests/s | p99 µs | CPU µs/req | ctx switches/req | migrations/req |"
echo "|---|---|---|---|---|---|---|"
for pl in $PIPES; do
  for s in "${names[@]}"; do
    printf '| %s | %s | %.0f [%s] | %.0f | %.2f [%s] | %.3f | %.4f |\n' "$pl" "$s" \
      "$(med "${RPS[$s,$pl]}")" "$(rng "${RPS[$s,$pl]}")" "$(med "${P99[$s,$pl]}")" \
      "$(med "${CPU[$s,$pl]}")" "$(rng "${CPU[$s,$pl]}")" "$(med "${CTX[$s,$pl]}")" "$(med "${MIG[$s,$pl]}")"
  done
done
