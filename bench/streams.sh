#!/usr/bin/env bash
# Streams against redis-server, one run (docs/streams.md has the results):
#   * memory per entry: N entries (default 1,000,000) of 3 small fields, XADD with `*` ids,
#     loaded through redis-cli --pipe into each server in turn; the RSS delta per entry (and
#     redis-server's INFO used_memory delta);
#   * XADD throughput with redis-benchmark, -c 50 and -c 50 -P 16;
#   * XRANGE of 100 entries with redis-benchmark, -c 50.
# Usage: bench/streams.sh [path/to/lfdb-server] [entries]
set -euo pipefail
LFDB=${1:-build/bin/lfdb-server}
N=${2:-1000000}
REQ=${REQ:-200000}
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
  echo "$name: $len entries, RSS +$(( (after - before) )) kB = $(( (after - before) * 1024 / len )) bytes/entry" \
       "${used_before:+(used_memory +$(( (used_after - used_before) / len )) bytes/entry)}"
  redis-cli -p "$port" del s > /dev/null
  for args in "-c 50" "-c 50 -P 16"; do
    echo -n "$name XADD $args: "
    redis-benchmark -p "$port" $args -n "$REQ" -q xadd bench '*' f1 1 f2 ok f3 v1 | tr '\r' '\n' | grep -o '[0-9.]* requests per second' | tail -1
  done
  redis-cli -p "$port" del r > /dev/null
  for i in $(seq 1 200); do echo "XADD r * f1 $i f2 ok f3 v$i"; done | redis-cli -p "$port" > /dev/null
  echo -n "$name XRANGE 100 -c 50: "
  redis-benchmark -p "$port" -c 50 -n $(( REQ / 4 )) -q xrange r - + COUNT 100 | tr '\r' '\n' | grep -o '[0-9.]* requests per second' | tail -1
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
