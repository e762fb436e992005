#!/usr/bin/env bash
# Redis 7.0.15's own test suite as lfdb's conformance gate (docs/conformance.md).
#
#   scripts/redis-suite.sh [--ci | --own] [unit ...]
#
# Fetches the suite from Debian's redis source package (cached under build/redis-suite/, never
# copied into the repository), then runs each unit in external-server mode against a fresh
# redis-server and a fresh lfdb-server, and prints per unit what each passes, what lfdb fails and
# why a unit aborted. Units: the arguments, else scripts/redis-suite/units.txt (--ci: its `ci`
# ones; --own: its `own` ones). The last line is `N passed, M failed`: N tests lfdb-server
# passes, M tests redis-server passes that lfdb-server does not.
#
# --own: the harness's own-server mode instead. The harness starts the server itself for each of
# a unit's start_server blocks (tests/assets/default.conf, the block's overrides, a unixsocket),
# so the tests tagged external:skip run too: src/redis-server is redis-server in one run and
# lfdb-server in the other. The floors are the `own` rows'.
#
# Exit status: 0, or 1 when lfdb-server passes fewer tests in a unit than the unit's floor in
# units.txt, or 2 when the harness itself is broken (the suite cannot be fetched, a server does
# not start, redis-server aborts a unit or passes nothing in it).
#
# Environment: LFDB_SERVER (build/bin/lfdb-server), REDIS_SERVER (redis-server on PATH),
# REDIS_SUITE_DIR (build/redis-suite), REDIS_SUITE_UNIT_LIMIT (seconds a unit may run against one
# server before it is killed and reported as an abort; 600), REDIS_SUITE_STALL (seconds without a
# test finishing after which the harness gives up and names the test in progress; 120),
# LFDB_SERVER_ARGS (more arguments for lfdb-server, e.g. --handle-set uring-completion).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
HERE="$ROOT/scripts/redis-suite"
PY=/usr/bin/python3
LFDB_SERVER="$(realpath -m "${LFDB_SERVER:-$ROOT/build/bin/lfdb-server}")"
REDIS_SERVER="${REDIS_SERVER:-$(command -v redis-server || true)}"
CACHE="$(realpath -m "${REDIS_SUITE_DIR:-$ROOT/build/redis-suite}")"
UNIT_LIMIT="${REDIS_SUITE_UNIT_LIMIT:-600}"
STALL="${REDIS_SUITE_STALL:-120}"
LFDB_SERVER_ARGS="${LFDB_SERVER_ARGS:-}"
WANT_UPSTREAM=7.0.15   # the Redis release whose behaviour is lfdb's spec

die() { echo "redis-suite: $*" >&2; exit 2; }

# ---- which units ----------------------------------------------------------------------------
ci=0
own=0
units=()
for a in "$@"; do
  case "$a" in
    --ci) ci=1 ;;
    --own) own=1 ;;
    -h|--help) sed -n '2,21p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) die "unknown option $a" ;;
    *) units+=("$a") ;;
  esac
done
[ $((ci + own)) -le 1 ] || die "--ci and --own: one or the other"
if [ ${#units[@]} -eq 0 ]; then
  want=ci; [ $ci -eq 1 ] || want='ci|full'; [ $own -eq 0 ] || want=own
  mapfile -t units < <(awk -v want="^($want)\$" '!/^#/ && NF >= 2 && $2 ~ want {print $1}' "$HERE/units.txt")
fi
[ ${#units[@]} -gt 0 ] || die "no units to run"

# ---- the suite: Debian's source package of the installed redis-server, cached ------------------
# tclsh8.6 (tcl), dpkg-source (dpkg-dev), redis-server, redis-cli (redis-tools): setup.sh installs
# them, and takes seconds to check them, so it runs only when one is missing.
for tool in tclsh8.6 dpkg-source redis-server redis-cli redis-benchmark; do
  command -v "$tool" >/dev/null || { bash "$ROOT/scripts/setup.sh"; break; }
done
[ -x "$LFDB_SERVER" ] || die "$LFDB_SERVER is missing: run make build"
[ -n "$REDIS_SERVER" ] || die "redis-server is not installed"

src_version="$(dpkg-query -W -f='${source:Version}' redis-server)"   # e.g. 5:7.0.15-1~deb12u10
upstream="${src_version#*:}"; upstream="${upstream%-*}"
[ "$upstream" = "$WANT_UPSTREAM" ] ||
  die "the installed redis-server is Redis $upstream; this gate runs Redis $WANT_UPSTREAM's suite"
SUITE="$CACHE/redis-${src_version#*:}"

fetch_suite() {
  # apt-get source needs deb-src entries, which a stock Debian machine lacks. Rather than touch
  # /etc/apt, a private apt configuration under the cache lists the machine's own Debian sources
  # (deb_src.py derives them) as deb-src, with its own index lists.
  local apt="$CACHE/apt" dl="$CACHE/download"
  rm -rf "$apt" "$dl"
  mkdir -p "$apt/sources.list.d" "$apt/lists/partial" "$apt/cache/archives/partial" "$dl"
  "$PY" "$HERE/deb_src.py" > "$apt/sources.list.d/deb-src.sources"
  [ -s "$apt/sources.list.d/deb-src.sources" ] || die "no deb entry in the machine's apt sources to mirror"
  local opts=(-o "Dir::Etc::SourceList=/dev/null" -o "Dir::Etc::SourceParts=$apt/sources.list.d"
              -o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache" -q)
  # As root apt downloads as the _apt user, who cannot write to the cache: keep it root.
  [ "$(id -u)" -ne 0 ] || opts+=(-o "APT::Sandbox::User=root")
  echo "redis-suite: fetching Debian's redis $src_version source package" >&2
  apt-get "${opts[@]}" update >"$dl/update.log" 2>&1 || { cat "$dl/update.log" >&2; die "apt-get update failed"; }
  (cd "$dl" && apt-get "${opts[@]}" source --download-only "redis=$src_version") >"$dl/source.log" 2>&1 ||
    { cat "$dl/source.log" >&2; die "apt-get source redis=$src_version failed"; }
  # dpkg-source checks the tarballs against the .dsc, whose hash apt checked against the signed
  # index; it applies Debian's patches, so the suite matches the redis-server Debian built.
  dpkg-source -q -x "$dl"/redis_*.dsc "$SUITE.tmp" >"$dl/unpack.log" 2>&1 ||
    { cat "$dl/unpack.log" >&2; die "dpkg-source -x failed"; }
  mv "$SUITE.tmp" "$SUITE"
  rm -rf "$dl" "$apt" "$CACHE"/redis_*.orig.tar.*   # dpkg-source leaves the tarball beside its output
}
mkdir -p "$CACHE"
rm -rf "$SUITE.tmp"
[ -x "$SUITE/runtest" ] && [ -d "$SUITE/tests/unit" ] || fetch_suite
for unit in "${units[@]}"; do
  [ -f "$SUITE/tests/$unit.tcl" ] || die "no unit $unit in Redis $upstream's suite"
done

# ---- one run: a directory per server with the harness and its src/ programs --------------------
# Each run gets its own directory, so two runs at once (two worktrees sharing the cache, or a
# full run beside a CI one) never delete each other's harness; `run` points at the latest. A
# run's directory outlives it for reading its logs, until a later run finds its owner gone.
for old in "$CACHE"/run.*; do
  [ -d "$old" ] || continue
  owner=$(cat "$old/owner" 2>/dev/null || echo 0)
  [ "$owner" -gt 0 ] && kill -0 "$owner" 2>/dev/null && continue
  [ "$(readlink -f "$CACHE/run" 2>/dev/null)" = "$(readlink -f "$old")" ] && continue
  rm -rf "$old"
done
RUN=$(mktemp -d "$CACHE/run.XXXXXX")
echo $$ >"$RUN/owner"
[ ! -e "$CACHE/run" ] || [ -L "$CACHE/run" ] || rm -rf "$CACHE/run"   # a real directory: an older script's
ln -sfn "$(basename "$RUN")" "$CACHE/run"
for target in redis lfdb; do
  w="$RUN/$target"
  mkdir -p "$w/src" "$w/logs"
  cp -r "$SUITE/runtest" "$SUITE/tests" "$w/"
  # The harness calls src/redis-cli and src/redis-benchmark as clients, and src/redis-server only
  # to check how the server binary itself handles bad arguments: that is the server under test.
  ln -s "$(command -v redis-cli)" "$w/src/redis-cli"
  ln -s "$(command -v redis-benchmark)" "$w/src/redis-benchmark"
done
ln -s "$REDIS_SERVER" "$RUN/redis/src/redis-server"
if [ -n "$LFDB_SERVER_ARGS" ]; then
  # The harness starts src/redis-server <config file> (own-server mode): the extra arguments
  # follow it, and exec keeps the PID the harness looks for in the log.
  printf '#!/bin/sh\nexec %q "$@" %s\n' "$LFDB_SERVER" "$LFDB_SERVER_ARGS" >"$RUN/lfdb/src/redis-server"
  chmod +x "$RUN/lfdb/src/redis-server"
else
  ln -s "$LFDB_SERVER" "$RUN/lfdb/src/redis-server"
fi

# The harness listens on a port of its own (for its test clients) in the 32 ports below
# --baseport, and spawns servers (own-server mode) from --baseport on: a range of this run's, so
# that runs at the same time do not take each other's, split between the two servers' harnesses,
# which run side by side. (It also wants port+10000 free, Redis Cluster's bus: the ranges stay
# below the ephemeral ports.)
BASEPORT=$((21100 + ($$ % 10) * 1000))
PORTCOUNT=400
server_pid=""
runtest_pid=""
cleanup() {
  [ -z "$runtest_pid" ] || kill -KILL -- "-$runtest_pid" 2>/dev/null || true
  [ -z "$server_pid" ] || kill -KILL "$server_pid" 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Starts a fresh server (each unit gets one: units leave configuration behind, e.g. a raised
# proto-max-bulk-len, that changes how the next unit behaves). Sets server_pid and port.
start_server() {
  local target=$1 dir=$2
  rm -rf "$dir"; mkdir -p "$dir"
  if [ "$target" = redis ]; then
    port=$(free_port)
    "$REDIS_SERVER" --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$dir" \
      >"$dir/server.log" 2>&1 &
  else
    # shellcheck disable=SC2086  # LFDB_SERVER_ARGS: words, as the integration tests take them
    "$LFDB_SERVER" --port 0 --port-file "$dir/port" --dir "$dir" $LFDB_SERVER_ARGS >"$dir/server.log" 2>&1 &
  fi
  server_pid=$!
  local i
  for i in $(seq 100); do
    [ "$target" = redis ] || [ ! -s "$dir/port" ] || port=$(cat "$dir/port")
    if [ -n "${port:-}" ] && [ "$(redis-cli -p "$port" ping 2>/dev/null)" = PONG ]; then return 0; fi
    alive "$server_pid" || break
    sleep 0.1
  done
  cat "$dir/server.log" >&2
  die "$target server did not start"
}

# Whether the process runs (a child that exited stays a zombie until waited for: kill -0 says yes).
alive() {
  local line
  while read -r line; do
    case "$line" in State:*Z*) return 1 ;; State:*) return 0 ;; esac
  done 2>/dev/null <"/proc/$1/status"   # gone, or going while read
  return 1
}

# Stops the server; records in the unit's meta file whether it had died during the unit, or did
# not stop when asked (a thread still busy on the unit's last command).
stop_server() {
  local meta=$1 status=0 i
  if alive "$server_pid"; then
    kill -TERM "$server_pid"
    for i in $(seq 100); do alive "$server_pid" || break; sleep 0.1; done
    if alive "$server_pid"; then
      echo "stuck=did not exit within 10 s of SIGTERM: killed" >>"$meta"
      kill -KILL "$server_pid"
    fi
    wait "$server_pid" 2>/dev/null || true
  else
    wait "$server_pid" 2>/dev/null || status=$?
    if [ "$status" -gt 128 ]; then
      echo "died=was killed by signal $((status - 128)) during the unit" >>"$meta"
    else
      echo "died=exited with status $status during the unit" >>"$meta"
    fi
  fi
  server_pid=""
}

# Runs one unit against one server under the time limit; the log and a meta file land in logs/.
run_unit() {
  local target=$1 unit=$2
  local w="$RUN/$target" name="${unit//\//_}"
  local log="$w/logs/$name.log" meta="$w/logs/$name.meta"
  local server=() baseport=$BASEPORT
  [ "$target" = redis ] || baseport=$((BASEPORT + PORTCOUNT + 32))
  port=""
  if [ $own -eq 0 ]; then
    start_server "$target" "$w/server"
    server=(--host 127.0.0.1 --port "$port")
  fi
  : >"$meta"
  # timeout leads its own process group: on the limit it kills the harness, its test client and
  # whatever they started (in own-server mode, the servers too).
  (cd "$w" && exec env TERM=dumb timeout -k 10 "$UNIT_LIMIT" ./runtest "${server[@]}" \
     --single "$unit" --ignore-encoding --ignore-digest --tags -needs:debug --tags -needs:repl \
     --baseport "$baseport" --portcount "$PORTCOUNT" \
     --timeout "$STALL") >"$log" 2>&1 &
  runtest_pid=$!
  local rc=0
  wait "$runtest_pid" || rc=$?
  runtest_pid=""
  echo "rc=$rc" >>"$meta"
  [ "$rc" -ne 124 ] && [ "$rc" -ne 137 ] || echo "limit=$UNIT_LIMIT" >>"$meta"
  [ $own -eq 1 ] || stop_server "$meta"
}

mode="external-server mode"; [ $own -eq 0 ] || mode="own-server mode (the harness starts each server)"
echo "redis-suite: Redis $upstream's suite (Debian $src_version), ${#units[@]} units, $mode; lfdb-server: $LFDB_SERVER"
"$PY" "$HERE/report.py" header
# The two servers run each unit side by side, each with its own harness, directory, port range
# and server; the unit's report waits for both. Most of a unit's time is waiting (on replies,
# timers, the harness's own sleeps), so side by side takes about as long as the slower one.
# Each side is a subshell with its own server_pid and runtest_pid: a signal to this script stops
# both sides, and each side's EXIT trap kills its harness and server.
side_pids=()
cleanup_sides() {
  local p
  for p in "${side_pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${side_pids[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap 'cleanup_sides; cleanup' EXIT
run_side() {
  trap cleanup EXIT
  trap 'exit 130' INT TERM
  run_unit "$@"
}
for unit in "${units[@]}"; do
  side_pids=()
  run_side redis "$unit" & side_pids+=($!)
  run_side lfdb "$unit" & side_pids+=($!)
  for p in "${side_pids[@]}"; do
    rc=0; wait "$p" || rc=$?
    [ "$rc" -eq 0 ] || exit "$rc"   # die() in a side (a server did not start): already said why
  done
  side_pids=()
  "$PY" "$HERE/report.py" unit "$RUN" "$unit"
done
floors=external; [ $own -eq 0 ] || floors=own
"$PY" "$HERE/report.py" summary "$RUN" "$HERE/units.txt" "$floors" "${units[@]}"
