#!/usr/bin/env bash
# lfdb-server under every --model x --data against redis-server 7.0, driven by lfdb-bench with the
# same work for all (not part of CI). Workloads: getset unpipelined and with -P 16, reservation
# as WATCH/MULTI/EXEC and as EVAL, transfer. Contenders are interleaved within each round (A B C
# ..., ROUNDS times) and the medians reported, with the ratio to redis-server. Each run starts a
# fresh server. PNG bar charts via gnuplot when it is installed.
# Writes markdown to stdout; `make bench-oltp` saves docs/bench-runs/oltp.md and docs/img/oltp-*.png.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
BIN=build/bin
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-3}
CONNS=${CONNS:-50}
THREADS=${THREADS:-2}
MODELS=${MODELS:-"lf lf-multi hsha tpc reactor"}
DATAS=${DATAS:-"colors global"}
WORKLOADS=${WORKLOADS:-"getset getset-p16 reservation reservation-eval transfer"}
IMG=${IMG:-docs/img}
WORK=$(mktemp -d /tmp/lfdb-oltp-XXXXXX)

pids=()
cleanup() { for p in "${pids[@]:-}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT


start() {  # contender -> PORT PID
  PORT=$(free_port)
  case $1 in
    redis) redis-server --port "$PORT" --bind 127.0.0.1 --save "" --appendonly no >/dev/null 2>&1 & ;;
    lfdb-*) local m=${1#lfdb-}; local model=${m%.*} data=${m##*.}
            $BIN/lfdb-server --port "$PORT" --threads "$THREADS" --model "$model" --data "$data" >/dev/null 2>&1 & ;;
  esac
  PID=$!; pids+=("$PID"); wait_port "$PORT"
}
stop() { kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; }

bench_args() {
  case $1 in
    getset) echo "-w getset --keys 100000" ;;
    getset-p16) echo "-w getset --keys 100000 -P 16" ;;
    reservation) echo "-w reservation --flights 1000 --seats 1000000" ;;
    reservation-eval) echo "-w reservation --txn eval --flights 1000 --seats 1000000" ;;
    transfer) echo "-w transfer --branches 100 --accounts 1000" ;;
  esac
}
# ops/s and p99 (ms) of one run, from lfdb-bench --json.
measure() {  # port workload -> "ops p99ms"
  # shellcheck disable=SC2046
  $BIN/lfdb-bench -p "$1" -c "$CONNS" -t 2 -d "$DURATION" --quiet $(bench_args "$2") --json "$WORK/out.json" \
    >/dev/null 2>"$WORK/err" || { echo "lfdb-bench failed on $2: $(tail -3 "$WORK/err")" >&2; echo "0 0"; return; }
  /usr/bin/python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print("%.0f %.3f" % (j["ops_per_sec"], j["latency_us"]["p99"]/1000))' "$WORK/out.json"
}

contenders=(redis)
for m in $MODELS; do for d in $DATAS; do contenders+=("lfdb-$m.$d"); done; done

echo "# lfdb-server under every model and data mode vs redis-server, lfdb-bench workloads"
echo
echo "Machine: $(nproc) cores, $(uname -sr); $(date -u +%F). Server and client share the cores."
echo "lfdb-server --threads $THREADS; redis-server $(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/') --save \"\" --appendonly no (persistence off for both)."
echo "Client: \`lfdb-bench -p PORT -c $CONNS -t 2 -d $DURATION <workload options>\`; $ROUNDS rounds, contenders interleaved within each round, a fresh server per run, medians."
echo

mkdir -p "$IMG"
for w in $WORKLOADS; do
  declare -A ops=() p99=()
  for _ in $(seq "$ROUNDS"); do
    for c in "${contenders[@]}"; do
      start "$c"
      read -r o p < <(measure "$PORT" "$w")
      stop
      ops[$c]+="$o "; p99[$c]+="$p "
    done
  done
  echo "## $w (\`$(bench_args "$w")\`)"
  echo
  echo "| server | ops/s | p99 ms | ops ratio to redis |"
  echo "|---|---|---|---|"
  rmed=$(printf '%s\n' ${ops[redis]} | median)
  : > "$WORK/$w.dat"
  for c in "${contenders[@]}"; do
    om=$(printf '%s\n' ${ops[$c]} | median); pm=$(printf '%s\n' ${p99[$c]} | median)
    printf '| %s | %.0f | %s | %.2fx |\n' "$c" "$om" "$pm" "$(echo "$om / ($rmed + 0.000001)" | bc -l)"
    printf '"%s" %s\n' "$c" "$om" >> "$WORK/$w.dat"
  done
  echo
  if command -v gnuplot >/dev/null; then
    gnuplot <<EOF
set terminal pngcairo size 900,420 noenhanced
set output "$IMG/oltp-$w.png"
set title "$w: operations/s (median of $ROUNDS), higher is better"
set style fill solid 0.8
set boxwidth 0.7
set xtics rotate by -30
set yrange [0:*]
set grid ytics
plot "$WORK/$w.dat" using 0:2:xtic(1) with boxes notitle
EOF
    echo "![$w]($(realpath --relative-to="${REPORT_DIR:-docs}" "$IMG")/oltp-$w.png)"
    echo
  fi
  unset ops p99
done
