#!/usr/bin/env bash
# Streams against redis-server, one run (docs/streams.md has the results):
#   * memory per entry: N entries (default 1,000,000) of 3 small fields, XADD with `*` ids,
#     loaded through redis-cli --pipe into each server in turn; the RSS delta per entry (and
#     redis-server's INFO used_memory delta);
#   * XADD throughput with redis-benchmark, -c 50 and -c 50 -P 16;
#   * XRANGE of 100 entries with redis-benchmark, -c 50;
#   * XREADGROUP + XACK pairs (a consumer group as a work queue, one entry per pair) with
#     lfdb-bench -w xqueue, -c 50;
# then each measure's lfdb/redis ratio.
# Usage: bench/streams.sh [path/to/lfdb-server] [entries]   (LFDB_BENCH: path to lfdb-bench)
set -euo pipefail
LFDB=${1:-build/bin/lfdb-server}
N=${2:-1000000}
REQ=${REQ:-200000}
BENCH=${LFDB_BENCH:-$(dirname "$LFDB")/lfdb-bench}
declare -A RESULT
WORK=$(mktemp -d /tmp/lfdb-streams-bench.XXXXXX)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

# The load: RESP XADD commands, fields f1 <i> f2 <word> f3 <short>.
python3 - "$N" > "$WORK/load.resp" <<'EOF'
import sys
n = int(sys.argv[1])
out = sys.stdout
words = ["ok", "warn", "fail", "retry"]
for i in range(n):
    args = ["XADD", "s", "*", "f1", str(i), "f2", words[i % 4], "f3", "v%d" % (i % 100)]
    out.write("*%d\r\n" % len(args))
    for a in args:
        out.write("$%d\r\n%s\r\n" % (len(a), a))
EOF

measure() {  # name port pid
  local name=$1 port=$2 pid=$3
  sleep 0.5
  local before used_before
  before=$(rss_kb "$pid")
  used_before=$(redis-cli -p "$port" info memory | awk -F: '/^used_memory:/ {print $2}' | tr -d '\r')
  redis-cli -p "$port" --pipe < "$WORK/load.resp" > /dev/null
  sleep 0.5
  local after used_after len
  after=$(rss_kb "$pid")
  used_after=$(redis-cli -p "$port" info memory | awk -F: '/^used_memory:/ {print $2}' | tr -d '\r')
  len=$(redis-cli -p "$port" xlen s)
  RESULT[$name.memory]=$(( (after - before) * 1024 / len ))
  echo "$name: $len entries, RSS +$(( (after - before) )) kB = $(( (after - before) * 1024 / len )) bytes/entry" \
       "${used_before:+(used_memory +$(( (used_after - used_before) / len )) bytes/entry)}"
  redis-cli -p "$port" del s > /dev/null
  local rate
  for args in "-c 50" "-c 50 -P 16"; do
    rate=$(redis-benchmark -p "$port" $args -n "$REQ" -q xadd bench '*' f1 1 f2 ok f3 v1 | tr '\r' '\n' | grep -o '[0-9.]* requests per second' | tail -1 | cut -d' ' -f1)
    RESULT["$name.XADD $args"]=$rate
    echo "$name XADD $args: $rate requests per second"
  done
  redis-cli -p "$port" del r > /dev/null
  for i in $(seq 1 200); do echo "XADD r * f1 $i f2 ok f3 v$i"; done | redis-cli -p "$port" > /dev/null
  rate=$(redis-benchmark -p "$port" -c 50 -n $(( REQ / 4 )) -q xrange r - + COUNT 100 | tr '\r' '\n' | grep -o '[0-9.]* requests per second' | tail -1 | cut -d' ' -f1)
  RESULT["$name.XRANGE 100 -c 50"]=$rate
  echo "$name XRANGE 100 -c 50: $rate requests per second"
  rate=$("$BENCH" -p "$port" -w xqueue -c 50 -n "$REQ" --quiet --json - 2>/dev/null | python3 -c 'import json,sys; j = json.load(sys.stdin); assert j["errors"] == 0, j["errors_by_kind"]; print("%.0f" % j["ops_per_sec"])')
  RESULT["$name.XREADGROUP+XACK -c 50"]=$rate
  echo "$name XREADGROUP+XACK pairs -c 50: $rate pairs per second"
  redis-cli -p "$port" del xqueue > /dev/null
}

PORT_L=$((20000 + RANDOM % 10000))
PORT_R=$((PORT_L + 1))
"$LFDB" --port "$PORT_L" --bind 127.0.0.1 --threads 2 > "$WORK/lfdb.log" 2>&1 &
PID_L=$!
redis-server --port "$PORT_R" --bind 127.0.0.1 --save '' --appendonly no --dir "$WORK" > "$WORK/redis.log" 2>&1 &
PID_R=$!
sleep 1
measure lfdb-server "$PORT_L" "$PID_L"
measure redis-server "$PORT_R" "$PID_R"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
for m in "XADD -c 50" "XADD -c 50 -P 16" "XRANGE 100 -c 50" "XREADGROUP+XACK -c 50"; do
  awk -v m="$m" -v l="${RESULT[lfdb-server.$m]}" -v r="${RESULT[redis-server.$m]}" \
      'BEGIN { printf "ratio %s: %.2fx (throughput, lfdb/redis)\n", m, l / r }'
done
awk -v l="${RESULT[lfdb-server.memory]}" -v r="${RESULT[redis-server.memory]}" \
    'BEGIN { printf "ratio memory per entry: %.2fx (lfdb/redis)\n", l / r }'
