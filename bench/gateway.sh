#!/usr/bin/env bash
# lfdb-gateway (async and bound forwarding, 2 threads) against twemproxy (Debian's nutcracker)
# over the same two redis-servers, with the same client: redis-benchmark -c 200, unpipelined
# and -P 16 (GATEWAYS and BEFORE below choose the lfdb-gateway contenders). Contenders are interleaved, ROUNDS times; medians are reported. Prints markdown.
# Not part of CI: a benchmark never gates anything on a timing.
set -euo pipefail
BUILD=${BUILD:-build}
ROUNDS=${ROUNDS:-3}
N=${N:-100000}
GW=$BUILD/bin/lfdb-gateway
DIR=$(mktemp -d /tmp/lfdb-gw-bench.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$DIR"; }
trap cleanup EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 100); do redis-cli -p "$1" ping >/dev/null 2>&1 && return 0; sleep 0.05; done; echo "port $1 not up" >&2; exit 1; }

R1=$(port); R2=$(port)
for p in $R1 $R2; do
  redis-server --port "$p" --bind 127.0.0.1 --save "" --appendonly no --daemonize no --dir "$DIR" >"$DIR/redis-$p.log" 2>&1 &
  pids+=($!); wait_port "$p"
done
NC=$(port)
cat >"$DIR/nutcracker.yml" <<YML
pool:
  listen: 127.0.0.1:$NC
  hash: fnv1a_64
  hash_tag: "{}"
  distribution: ketama
  redis: true
  timeout: 2000
  servers:
   - 127.0.0.1:$R1:1
   - 127.0.0.1:$R2:1
YML
nutcracker -c "$DIR/nutcracker.yml" -o "$DIR/nutcracker.log" &
pids+=($!); wait_port "$NC"
# Gateways: name=binary=flags, space-separated (flags with commas for spaces). BEFORE=binary adds
# a build of an earlier version as "before-async", for before/after in one interleaved run.
GATEWAYS=${GATEWAYS:-"lfdb-async=$GW=--threads,2,--forwarding,async lfdb-bound=$GW=--threads,2,--forwarding,bound"}
if [ -n "${BEFORE:-}" ]; then GATEWAYS="before-async=$BEFORE=--threads,2,--forwarding,async $GATEWAYS"; fi
NAMES=(nutcracker)
declare -A PORT
PORT[nutcracker]=$NC
for g in $GATEWAYS; do
  IFS='=' read -r name bin flags <<<"$g"
  p=$(port)
  # shellcheck disable=SC2046
  "$bin" --config "$DIR/nutcracker.yml" --port "$p" $(echo "$flags" | tr ',' ' ') 2>"$DIR/gw-$name.log" &
  pids+=($!); wait_port "$p"
  NAMES+=("$name"); PORT[$name]=$p
done

# The ceiling: the same client straight to one of the redis-servers, no proxy in between. A
# proxy adds work to every request, so on a machine whose cores the client and the back-ends
# already fill, no proxy can go much past this line (NO_DIRECT=1 leaves it out).
if [ -z "${NO_DIRECT:-}" ]; then NAMES+=(no-proxy); PORT[no-proxy]=$R1; fi

# CLIENT=lfdb-bench drives the same runs with lfdb-bench (one client thread, closed loop,
# DURATION seconds each), a cheaper client than redis-benchmark: more of the cores are left
# to the proxies, so their own cost shows more.
CLIENT=${CLIENT:-redis-benchmark}
DURATION=${DURATION:-5}
LFDB_BENCH=$BUILD/bin/lfdb-bench
declare -A RPS P99
run() {  # name port pipeline test
  local out
  if [ "$CLIENT" = lfdb-bench ]; then
    local ratio=0:1; [ "$4" = set ] && ratio=1:0
    out=$("$LFDB_BENCH" -p "$2" -c 200 -t 1 -P "$3" --ratio "$ratio" --keys 100000 -d "$DURATION" \
          --json - 2>/dev/null | /usr/bin/python3 -c 'import json,sys; j=json.load(sys.stdin); print("x,%.0f,0,0,0,0,%.3f" % (j["ops_per_sec"], j["latency_us"]["p99"] / 1000.0))')
  else
    out=$(redis-benchmark -p "$2" -c 200 -n "$N" -r 100000 -P "$3" -t "$4" --csv 2>/dev/null | tail -1)
  fi
  RPS["$1|$3|$4"]+="$(echo "$out" | cut -d, -f2 | tr -d '"') "
  P99["$1|$3|$4"]+="$(echo "$out" | cut -d, -f7 | tr -d '"') "
}
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
for r in $(seq "$ROUNDS"); do
  for P in 1 16; do
    for t in get set; do
      for n in "${NAMES[@]}"; do run "$n" "${PORT[$n]}" "$P" "$t"; done
    done
  done
done
if [ "$CLIENT" = lfdb-bench ]; then
  echo "lfdb-bench -c 200 -t 1 --keys 100000 -d $DURATION (GET: --ratio 0:1, SET: 1:0), two redis-servers, medians of $ROUNDS interleaved rounds; no-proxy: straight to one redis-server"
else
  echo "redis-benchmark -c 200 -n $N -r 100000, two redis-servers, medians of $ROUNDS interleaved rounds; no-proxy: straight to one redis-server"
fi
echo
echo "| proxy | -P | test | requests/s | p99 ms |"
echo "|---|---|---|---|---|"
for P in 1 16; do for t in get set; do for n in "${NAMES[@]}"; do
  echo "| $n | $P | $t | $(echo "${RPS[$n|$P|$t]}" | median) | $(echo "${P99[$n|$P|$t]}" | median) |"
done; done; done
echo
echo "Throughput ratios (medians): to nutcracker, and to the same client with no proxy at all"
echo
echo "| proxy | -P | test | x nutcracker | x no-proxy |"
echo "|---|---|---|---|---|"
for P in 1 16; do for t in get set; do for n in "${NAMES[@]}"; do
  [ "$n" = nutcracker ] || [ "$n" = no-proxy ] && continue
  me=$(echo "${RPS[$n|$P|$t]}" | median); nc=$(echo "${RPS[nutcracker|$P|$t]}" | median)
  np=$(echo "${RPS[no-proxy|$P|$t]:-}" | median)
  echo "| $n | $P | $t | $(awk -v a="$me" -v b="$nc" 'BEGIN{printf "%.2f", (b > 0 ? a / b : 0)}') | $(awk -v a="$me" -v b="${np:-0}" 'BEGIN{if (b > 0) printf "%.2f", (a / b); else printf "-"}') |"
done; done; done
echo
for n in "${NAMES[@]:1}"; do
  [ "$n" = no-proxy ] && continue
  echo "    $n:"
  redis-cli -p "${PORT[$n]}" info | grep -E "^(forwarding|async_|bound_|promotions|events|voluntary|involuntary)" | tr -d '\r' | sed 's/^/    /'
  echo
done
