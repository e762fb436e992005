# Shared by the bench/*.sh comparison scripts (source it): free ports, waiting for a RESP
# server, starting and stopping servers, medians and ranges of numbers.
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {  # port: until it answers PING (10 s), else exit the script
  for _ in $(seq 200); do redis-cli -p "$1" ping >/dev/null 2>&1 && return 0; sleep 0.05; done
  echo "server on $1 did not start" >&2; exit 1
}
stop_pid() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# Servers a script starts: start_lfdb / start_redis put each pid in `pids` (and LAST_PID) and
# wait until it answers; `trap stop_started EXIT` stops them all.
pids=()
stop_started() { for p in "${pids[@]:-}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
start_lfdb() {  # binary port [lfdb-server args...]
  local bin=$1 port=$2; shift 2
  "$bin" --port "$port" "$@" >/dev/null 2>&1 &
  pids+=($!); LAST_PID=$!; wait_port "$port"
}
start_redis() {  # port [redis-server args...]: no persistence
  local port=$1; shift
  redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no "$@" >/dev/null 2>&1 &
  pids+=($!); LAST_PID=$!; wait_port "$port"
}
# The CPU comparisons' contenders: redis-server, lfdb-server --model reactor (one thread) and
# --model lf (two), lf-uring (the same on --handle-set uring-completion; URING=0: not), plus
# reactor-other / lf-other from $OTHER when set; fills names, PORT, PID
# (declare -A PORT PID first) and warms each up.
start_cpu_contenders() {  # lfdb-server binary
  local p
  names=(redis reactor lf)
  p=$(free_port); start_redis "$p"; PORT[redis]=$p; PID[redis]=$LAST_PID
  p=$(free_port); start_lfdb "$1" "$p" --model reactor --threads 1; PORT[reactor]=$p; PID[reactor]=$LAST_PID
  p=$(free_port); start_lfdb "$1" "$p" --model lf --threads 2; PORT[lf]=$p; PID[lf]=$LAST_PID
  # LF1=1 adds "lf1": the lf model with one thread (one thread of work, like redis and the
  # reactor, but the lf model's turn: what the second thread costs or saves).
  if [ -n "${LF1:-}" ]; then
    names+=(lf1)
    p=$(free_port); start_lfdb "$1" "$p" --model lf --threads 1; PORT[lf1]=$p; PID[lf1]=$LAST_PID
  fi
  # lf on the completion handle set (io_uring, multishot recv into provided buffers); URING=0
  # leaves it out (a kernel or build without it).
  if [ "${URING:-1}" != 0 ]; then
    names+=(lf-uring)
    p=$(free_port); start_lfdb "$1" "$p" --model lf --threads 2 --handle-set uring-completion
    PORT[lf-uring]=$p; PID[lf-uring]=$LAST_PID
  fi
  if [ -n "${OTHER:-}" ]; then
    names+=(reactor-other lf-other)
    p=$(free_port); start_lfdb "$OTHER" "$p" --model reactor --threads 1; PORT[reactor-other]=$p; PID[reactor-other]=$LAST_PID
    p=$(free_port); start_lfdb "$OTHER" "$p" --model lf --threads 2; PORT[lf-other]=$p; PID[lf-other]=$LAST_PID
    if [ "${URING:-1}" != 0 ]; then
      names+=(lf-uring-other)
      p=$(free_port); start_lfdb "$OTHER" "$p" --model lf --threads 2 --handle-set uring-completion
      PORT[lf-uring-other]=$p; PID[lf-uring-other]=$LAST_PID
    fi
  fi
  for s in "${names[@]}"; do redis-benchmark -p "${PORT[$s]}" -c 50 -n 20000 -t set,get -r 100000 -q >/dev/null 2>&1; done
}
# Median, lowest and highest of whitespace-separated numbers.
med() { printf '%s\n' $1 | median; }
lo() { printf '%s\n' $1 | sort -g | head -1; }
hi() { printf '%s\n' $1 | sort -g | tail -1; }
