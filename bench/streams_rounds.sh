#!/usr/bin/env bash
# Interleaved rounds against redis-server (docs/streams.md): both servers run side by side and
# each round measures lfdb-server then redis-server, so a change in the machine's load lands on
# both within seconds instead of on one server's whole run. Per round and measure, the two
# rates and their ratio; then the medians and how many rounds lfdb-server won.
#   * XADD, redis-benchmark -c 50 (unpipelined), REQ requests (default 100,000);
#   * XREADGROUP + XACK pairs, lfdb-bench -w xqueue -c 50, REQ pairs.
# Usage: bench/streams_rounds.sh [path/to/lfdb-server] [rounds]   (LFDB_BENCH: path to lfdb-bench)
set -euo pipefail
LFDB=${1:-build/bin/lfdb-server}
ROUNDS=${2:-3}
REQ=${REQ:-100000}
BENCH=${LFDB_BENCH:-$(dirname "$LFDB")/lfdb-bench}
WORK=$(mktemp -d /tmp/lfdb-streams-rounds.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT

PORT_L=$((20000 + RANDOM % 10000))
PORT_R=$((PORT_L + 1))
"$LFDB" --port "$PORT_L" --bind 127.0.0.1 --threads 2 > "$WORK/lfdb.log" 2>&1 &
redis-server --port "$PORT_R" --bind 127.0.0.1 --save '' --appendonly no --dir "$WORK" > "$WORK/redis.log" 2>&1 &
sleep 1

xadd() {  # port -> requests per second
  redis-cli -p "$1" del bench > /dev/null
  redis-benchmark -p "$1" -c 50 -n "$REQ" -q xadd bench '*' f1 1 f2 ok f3 v1 | tr '\r' '\n' |
    grep -o '[0-9.]* requests per second' | tail -1 | cut -d' ' -f1
}
pairs() {  # port -> pairs per second
  "$BENCH" -p "$1" -w xqueue -c 50 -n "$REQ" --quiet --json - 2>/dev/null |
    python3 -c 'import json,sys; j = json.load(sys.stdin); assert j["errors"] == 0, j["errors_by_kind"]; print("%.0f" % j["ops_per_sec"])'
}

: > "$WORK/results"
for round in $(seq 1 "$ROUNDS"); do
  for m in xadd pairs; do
    l=$($m "$PORT_L")
    r=$($m "$PORT_R")
    echo "$m $l $r" >> "$WORK/results"
    awk -v round="$round" -v m="$m" -v l="$l" -v r="$r" -v load="$(cut -d' ' -f1 /proc/loadavg)" \
        'BEGIN { printf "round %d %-5s lfdb %9.0f/s  redis %9.0f/s  %.2fx  (load %s)\n", round, m, l, r, l / r, load }'
  done
done
python3 - "$WORK/results" <<'EOF'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
names = {"xadd": "XADD -c 50", "pairs": "XREADGROUP+XACK -c 50"}
for m in ("xadd", "pairs"):
    l = [float(r[1]) for r in rows if r[0] == m]
    r = [float(r[2]) for r in rows if r[0] == m]
    won = sum(1 for a, b in zip(l, r) if a > b)
    print("median %s: lfdb %.0f/s, redis %.0f/s, %.2fx; lfdb-server ahead in %d of %d rounds"
          % (names[m], statistics.median(l), statistics.median(r),
             statistics.median(l) / statistics.median(r), won, len(l)))
EOF
