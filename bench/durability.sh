#!/usr/bin/env bash
# Durability costs, side by side in one run (not part of CI): lfdb-server with
# `appendfsync always` (group commit) against redis-server with `appendfsync always`, and
# against lfdb-server with `appendfsync no`, at 1, 10 and 50 writing clients; plus fsyncs per
# acknowledged write (INFO persistence). ROUNDS interleaved rounds, medians.
# Writes the markdown report to stdout; `make bench-durability` saves docs/bench-runs/durability.md.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
BIN=build/bin
ROUNDS=${ROUNDS:-3}
THREADS=${THREADS:-2}
WORK=$(mktemp -d /var/tmp/lfdb-durability-XXXXXX)  # a real disk, not tmpfs

pids=()
cleanup() { for p in "${pids[@]:-}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT


start() {  # kind dir -> sets PORT PID
  local kind=$1 dir=$2; mkdir -p "$dir"; PORT=$(free_port)
  case $kind in
    lfdb-always) $BIN/lfdb-server --port "$PORT" --threads "$THREADS" --appendonly yes --appendfsync always --dir "$dir" >/dev/null 2>&1 & ;;
    lfdb-no)     $BIN/lfdb-server --port "$PORT" --threads "$THREADS" --appendonly yes --appendfsync no --dir "$dir" >/dev/null 2>&1 & ;;
    redis-always) redis-server --port "$PORT" --bind 127.0.0.1 --save "" --appendonly yes --appendfsync always --dir "$dir" >/dev/null 2>&1 & ;;
  esac
  PID=$!; pids+=("$PID"); wait_port "$PORT"
}
rps() {  # port clients requests
  redis-benchmark -p "$1" -c "$2" -n "$3" -t set -r 100000 --csv 2>/dev/null | tail -1 | cut -d, -f2 | tr -d '"'
}

echo "# Durability: group commit under appendfsync always"
echo
echo "Machine: $(nproc) cores, $(uname -sr), log on $(df -P "$WORK" | awk 'NR==2 {print $1}'); $(date -u +%F)."
echo "lfdb-server --threads $THREADS --appendonly yes; redis-server $(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/') --appendonly yes --save \"\"."
echo "Load: \`redis-benchmark -c C -n N -t set -r 100000\`, $ROUNDS interleaved rounds, medians; a fresh log per run."
echo
echo "| clients | lfdb always (req/s) | redis always (req/s) | ratio | lfdb no (req/s) | always / no | lfdb fsyncs per write |"
echo "|---|---|---|---|---|---|---|"
for c in 1 10 50; do
  case $c in 1) n=2000 ;; 10) n=10000 ;; *) n=30000 ;; esac
  la=(); ra=(); ln=(); fs=()
  for round in $(seq "$ROUNDS"); do
    for kind in lfdb-always redis-always lfdb-no; do
      start "$kind" "$WORK/$kind-$c-$round"
      v=$(rps "$PORT" "$c" "$n")
      case $kind in
        lfdb-always)
          la+=("$v")
          info=$(redis-cli -p "$PORT" info persistence | tr -d '\r')
          rec=$(echo "$info" | awk -F: '/^lfdb_aof_records:/ {print $2}')
          fsy=$(echo "$info" | awk -F: '/^lfdb_aof_fsyncs:/ {print $2}')
          fs+=("$(echo "scale=4; $fsy / $rec" | bc)") ;;
        redis-always) ra+=("$v") ;;
        lfdb-no) ln+=("$v") ;;
      esac
      stop_pid "$PID"
    done
  done
  a=$(printf '%s\n' "${la[@]}" | median); r=$(printf '%s\n' "${ra[@]}" | median)
  no=$(printf '%s\n' "${ln[@]}" | median); f=$(printf '%s\n' "${fs[@]}" | median)
  printf '| %s | %.0f | %.0f | %.2fx | %.0f | %.2fx | %s |\n' "$c" "$a" "$r" \
    "$(echo "$a / $r" | bc -l)" "$no" "$(echo "$a / $no" | bc -l)" "$f"
done
