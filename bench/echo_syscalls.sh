#!/usr/bin/env bash
# System calls per request of the echo server under each concurrency model (strace -c -f on the
# server while lf-echo-load drives it). strace slows the server a lot, so read the counts, not
# the speed. Non-pipelined 64-byte echo: every request gets exactly one reply and each reply
# goes out in one send call, so requests = send calls (sendto/sendmsg/write). Prints markdown.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=build/bin
SECONDS_=${SECONDS_:-2}
echo "| model | requests | syscalls/request | top calls per request |"
echo "|---|---|---|---|"
for model in lf lf-multi hsha tpc reactor; do
  port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  $BIN/lf-echo-server --model "$model" --threads 4 --port "$port" >/dev/null 2>&1 &
  spid=$!
  sleep 0.3
  out=$(mktemp)
  strace -c -f -q -o "$out" -p "$spid" &
  tpid=$!
  sleep 0.5
  $BIN/lf-echo-load --port "$port" -c 50 --size 64 --seconds "$SECONDS_" >/dev/null 2>&1
  kill -INT "$tpid"; wait "$tpid" 2>/dev/null || true
  kill "$spid"; wait "$spid" 2>/dev/null || true
  total=$(awk '$NF == "total" {print $4}' "$out")
  reqs=$(awk '$NF ~ /^(sendto|sendmsg|write)$/ {n += $4} END {print n+0}' "$out")
  top=$(awk 'NR>2 && $NF != "total" && $1 ~ /^[0-9.]+$/ && NF>=5 {print $NF, $4}' "$out" | sort -k2 -n -r | head -4 |
        awk -v r="$reqs" '{printf "%s %.2f, ", $1, $2/r}')
  printf '| %s | %s | %.2f | %s |\n' "$model" "$reqs" "$(echo "$total / $reqs" | bc -l)" "${top%, }"
  rm -f "$out"
done
