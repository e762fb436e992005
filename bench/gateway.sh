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

declare -A RPS P99
run() {  # name port pipeline test
  local out
  out=$(redis-benchmark -p "$2" -c 200 -n "$N" -r 100000 -P "$3" -t "$4" --csv 2>/dev/null | tail -1)
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
echo "redis-benchmark -c 200 -n $N -r 100000, two redis-servers, medians of $ROUNDS interleaved rounds"
echo
echo "| proxy | -P | test | requests/s | p99 ms |"
echo "|---|---|---|---|---|"
for P in 1 16; do for t in get set; do for n in "${NAMES[@]}"; do
  echo "| $n | $P | $t | $(echo "${RPS[$n|$P|$t]}" | median) | $(echo "${P99[$n|$P|$t]}" | median) |"
done; done; done
echo
for n in "${NAMES[@]:1}"; do
  echo "    $n:"
  redis-cli -p "${PORT[$n]}" info | grep -E "^(forwarding|async_|bound_|promotions|events|voluntary|involuntary)" | tr -d '\r' | sed 's/^/    /'
  echo
done
